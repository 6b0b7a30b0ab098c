/* verify_diff.c - see verify_diff.h */
#define _GNU_SOURCE
#include "pipeline/verify_diff.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <jansson.h>

#include "artifacts/archive.h"
#include "artifacts/digest.h"
#include "pipeline/profile_diff.h"
#include "pipeline/roles.h"

extern char **environ;

struct entry_info {
	char *path;
	char *meta; /* kind, mode, size, mtime, uid/gid, link */
};

struct entry_list {
	struct entry_info *e;
	size_t n;
};

static int collect_entry(const struct archive_list_entry *e, void *ctx)
{
	struct entry_list *l = ctx;

	l->e = xrealloc(l->e, (l->n + 1) * sizeof(*l->e));
	l->e[l->n].path = xstrdup(e->path);
	l->e[l->n].meta =
	    xasprintf("kind %d mode %04o size %llu mtime %lld uid %u gid %u%s%s", (int)e->kind,
	              (unsigned)e->mode & 07777, (unsigned long long)e->size, (long long)e->mtime,
	              e->uid, e->gid, e->link ? " -> " : "", e->link ? e->link : "");
	l->n++;
	return 0;
}

static void entry_list_free(struct entry_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].path);
		free(l->e[i].meta);
	}
	free(l->e);
}

static const struct entry_info *find_entry(const struct entry_list *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->e[i].path, path) == 0)
			return &l->e[i];
	return NULL;
}

static bool contents_differ(const char *dir_a, const char *dir_b, const char *path)
{
	char *a = xasprintf("%s/%s", dir_a, path);
	char *b = xasprintf("%s/%s", dir_b, path);
	char da[DIGEST_STR_MAX] = "", db[DIGEST_STR_MAX] = "";
	struct error err = {0};
	struct stat st;
	bool differ = false;

	if (lstat(a, &st) == 0 && S_ISREG(st.st_mode)) {
		digest_file_sha256(a, da, &err);
		digest_file_sha256(b, db, &err);
		differ = strcmp(da, db) != 0;
	}
	free(a);
	free(b);
	return differ;
}

/* List what differs between two tarballs, entry by entry. */
static unsigned list_differences(const char *ta, const char *tb, const char *scratch)
{
	struct entry_list la = {0}, lb = {0};
	struct extract_limits lim;
	struct error err = {0};
	char *xa = xasprintf("%s/xa", scratch), *xb = xasprintf("%s/xb", scratch);
	bool extracted;
	unsigned n = 0;

	extract_limits_default(&lim);
	if (archive_list(ta, &lim, collect_entry, &la, &err) < 0 ||
	    archive_list(tb, &lim, collect_entry, &lb, &err) < 0)
		printf("  cannot list: %s\n", err.msg);
	extracted = mkdir_p(xa, 0755, &err) == 0 && mkdir_p(xb, 0755, &err) == 0 &&
	            archive_extract_safe(ta, xa, &lim, &err) == 0 &&
	            archive_extract_safe(tb, xb, &lim, &err) == 0;
	for (size_t i = 0; i < la.n; i++) {
		const struct entry_info *o = find_entry(&lb, la.e[i].path);

		if (o == NULL)
			printf("  %s: only in run 1 (%u)\n", la.e[i].path, ++n);
		else if (strcmp(o->meta, la.e[i].meta) != 0)
			printf("  %s: metadata differs: %s | %s (%u)\n", la.e[i].path, la.e[i].meta,
			       o->meta, ++n);
		else if (extracted && contents_differ(xa, xb, la.e[i].path))
			printf("  %s: content differs (%u)\n", la.e[i].path, ++n);
	}
	for (size_t i = 0; i < lb.n; i++)
		if (find_entry(&la, lb.e[i].path) == NULL)
			printf("  %s: only in run 2 (%u)\n", lb.e[i].path, ++n);
	if (n == 0)
		printf("  every entry is identical: the difference is in the archive encoding\n");
	entry_list_free(&la);
	entry_list_free(&lb);
	free(xa);
	free(xb);
	return n;
}

static void run_diffoscope(const char *a, const char *b)
{
	char *argv[] = {"diffoscope", (char *)a, (char *)b, NULL};
	pid_t pid;
	int status;

	if (posix_spawnp(&pid, "diffoscope", NULL, NULL, argv, environ) != 0) {
		printf("  (diffoscope is not installed: no deeper comparison)\n");
		return;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* A train stage's runs differ in their profiles: say which functions and
 * why (profile_diff.h). */
static void explain_training(const struct pipeline *pl, const char *root)
{
	char *xa = xasprintf("%s/xa", root), *xb = xasprintf("%s/xb", root);

	char *prov = xasprintf("%s/provenance.json", xa);
	json_t *doc = json_load_file(prov, 0, NULL);
	const char *entropy = json_string_value(json_object_get(doc, "entropy"));

	profile_diff_explain(pl, xa, xb, root, 30);
	if (entropy && strcmp(entropy, "deterministic") == 0)
		printf("verify: entropy was deterministic in both runs: getrandom and /dev/urandom "
		       "are ruled out; look at threads, time, addresses, AT_RANDOM or rdrand "
		       "(docs/entropy.md)\n");
	else
		printf("verify: entropy was the host's (profile key entropy = host): seeded hash "
		       "tables vary from run to run; the train default, entropy = deterministic, "
		       "removes that (docs/entropy.md)\n");
	json_decref(doc);
	free(prov);
	free(xa);
	free(xb);
}

int verify_compare(const struct pipeline *pl, const struct stage_def *d, const char *a,
                   const char *b, const char *root, struct error *err)
{
	char da[DIGEST_STR_MAX], db[DIGEST_STR_MAX];

	if (digest_file_sha256(a, da, err) < 0 || digest_file_sha256(b, db, err) < 0)
		return -1;
	if (strcmp(da, db) == 0) {
		printf("verify: identical: %s in both runs\n", da);
		return 0;
	}
	printf("verify: DIFFERENT: run 1 %s, run 2 %s\n", da, db);
	list_differences(a, b, root);
	if (stage_role_of(d->name) == ROLE_TRAIN)
		explain_training(pl, root);
	run_diffoscope(a, b);
	return 1;
}
