/* profdata.c - see profdata.h */
#define _GNU_SOURCE
#include "pipeline/profdata.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/environment.h"

#define RUSTLIB_BIN "/lib/rustlib/x86_64-unknown-linux-gnu/bin/llvm-profdata"

struct candidate {
	char *host, *sandbox;
};

static void add(struct candidate **v, size_t *n, const char *host, const char *sandbox)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i].host, host) == 0)
			return;
	if (access(host, X_OK) < 0)
		return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].host = xstrdup(host);
	(*v)[*n].sandbox = xstrdup(sandbox);
	(*n)++;
}

/* PATH first (the user's choice), then Debian's versioned installs,
 * then rustup's llvm-tools. */
static void find_candidates(const struct toolchain_site *site, struct candidate **v, size_t *n)
{
	char *path = xstrdup(SANDBOX_PATH);
	glob_t g;

	for (char *save = NULL, *dir = strtok_r(path, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/llvm-profdata", dir);
		char *real = realpath(p, NULL);

		if (real)
			add(v, n, real, real);
		free(real);
		free(p);
	}
	free(path);
	if (glob("/usr/lib/llvm-*/bin/llvm-profdata", 0, NULL, &g) == 0) {
		/* newest first: glob sorts names, "llvm-19" after "llvm-14" */
		for (size_t i = g.gl_pathc; i-- > 0;)
			add(v, n, g.gl_pathv[i], g.gl_pathv[i]);
		globfree(&g);
	}
	if (site && site->host_sysroot) {
		char *host = xasprintf("%s%s", site->host_sysroot, RUSTLIB_BIN);
		char *sbx = site->mount_src ? xasprintf("%s%s", site->mount_dst, RUSTLIB_BIN)
		                            : xstrdup(host);

		add(v, n, host, sbx);
		free(host);
		free(sbx);
	}
}

static const char *package_for(uint64_t raw_version)
{
	switch (raw_version) {
	case 8: return "llvm-14 (Debian 12's default llvm)";
	case 9: return "llvm-18";
	case 10: return "llvm-19 (Debian 12: apt-get install llvm-19)";
	default: return "an llvm-profdata of the compiler's LLVM release";
	}
}

int profdata_choose(uint64_t raw_version, const char *writer, const struct toolchain_site *site,
                    struct profdata_choice *out, struct error *err)
{
	struct candidate *v = NULL;
	size_t n = 0;
	char *tried = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	find_candidates(site, &v, &n);
	for (size_t i = 0; i < n; i++) {
		unsigned major = pgo_llvm_major_of(v[i].host);
		uint64_t reads = pgo_raw_version_for_llvm(major);
		char *more;

		if (rc < 0 && reads == raw_version) {
			out->host_path = xstrdup(v[i].host);
			out->sandbox_path = xstrdup(v[i].sandbox);
			out->llvm_major = major;
			out->raw_version = reads;
			rc = 0;
		}
		more = xasprintf("%s%s%s (LLVM %u, reads version %llu)", tried ? tried : "",
		                 tried ? ", " : "", v[i].host, major, (unsigned long long)reads);
		free(tried);
		tried = more;
		free(v[i].host);
		free(v[i].sandbox);
	}
	free(v);
	if (rc < 0)
		error_set(err, EXIT_RUNNER_ERROR, 0,
		          "%s writes raw profile format version %llu, and no installed "
		          "llvm-profdata reads it (found: %s). Install %s, or rustup's llvm-tools "
		          "(rustup component add llvm-tools) for a rustup toolchain",
		          writer, (unsigned long long)raw_version, tried ? tried : "none",
		          package_for(raw_version));
	free(tried);
	return rc;
}

void profdata_choice_free(struct profdata_choice *c)
{
	free(c->host_path);
	free(c->sandbox_path);
	memset(c, 0, sizeof(*c));
}

json_t *profdata_choice_json(const struct profdata_choice *c)
{
	return json_pack("{s:s, s:i, s:I}", "path", c->sandbox_path, "llvm_major",
	                 (int)c->llvm_major, "reads_raw_version", (json_int_t)c->raw_version);
}

int profdata_coverage(const char *host_profdata, const char *profile, struct profile_coverage *pc,
                      struct error *err)
{
	char *const show[] = {(char *)host_profdata, "show", (char *)profile, NULL};
	char *const covered[] = {(char *)host_profdata, "show", "--covered", (char *)profile, NULL};
	char *out = pgo_probe_output(show);
	const char *total = out ? strstr(out, "Total functions: ") : NULL;
	char *list;

	memset(pc, 0, sizeof(*pc));
	if (total == NULL) {
		free(out);
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s show %s: no function count",
		                 host_profdata, profile);
	}
	pc->functions = strtoull(total + strlen("Total functions: "), NULL, 10);
	free(out);
	list = pgo_probe_output(covered);
	for (const char *p = list; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
		if (*p != '\n')
			pc->executed++;
	free(list);
	return 0;
}
