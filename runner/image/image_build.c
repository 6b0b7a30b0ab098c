/* image_build.c - a reproducible image build: debootstrap from a pinned snapshot,
 * cleaned, packed, with its sidecar (image.h) */
#define _GNU_SOURCE
#include "base/strbuf.h"
#include "base/bytes_json.h"
#include "base/mountinfo.h"
#include "base/strv.h"
#include "image/image.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/archive.h"
#include "base/json_file.h"

#include "image/image_proc.h"

#define SNAPSHOT_URL_FMT "https://snapshot.debian.org/archive/debian/%s"
#define DEBOOTSTRAP "/usr/sbin/debootstrap"
#define WGET "/usr/bin/wget"
#define APT_GET "/usr/bin/apt-get"
#define MIRROR_CHECK_TIMEOUT "20"
#define DEFAULT_OUT_DIR "build/images"

struct mounts_below_ctx {
	const char *dir;
	size_t dlen;
	struct strv *out;
};

static int mount_below_add(const struct mountinfo_entry *e, void *arg)
{
	struct mounts_below_ctx *c = arg;
	const char *mp = e->mount_point;

	if (strncmp(mp, c->dir, c->dlen) == 0 && (mp[c->dlen] == '/' || mp[c->dlen] == '\0'))
		strv_push(c->out, mp);
	return 0;
}

/* Mount points at or below dir, in mountinfo order (parents first). */
static int mounts_below(const char *dir, struct strv *out, struct error *err)
{
	struct mounts_below_ctx c = {dir, strlen(dir), out};
	char *text = NULL;
	size_t len;

	if (read_file("/proc/self/mountinfo", &text, &len, err) < 0)
		return -1;
	mountinfo_foreach(text, mount_below_add, &c);
	free(text);
	return 0;
}

/* debootstrap unmounts what it mounted, unless it was killed: never walk
 * into (let alone delete) a /proc or /sys still mounted inside the tree. */
static int unmount_below(const char *dir, struct error *err)
{
	struct strv mps = {0};
	size_t n;

	if (mounts_below(dir, &mps, err) < 0)
		return -1;
	for (size_t i = mps.n; i > 0; i--)
		if (umount2(mps.v[i - 1], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
			fprintf(stderr, "pgo-sandbox: warning: unmounting %s: %s\n", mps.v[i - 1],
			        strerror(errno));
	strv_free(&mps);
	if (mounts_below(dir, &mps, err) < 0)
		return -1;
	n = mps.n;
	strv_free(&mps);
	if (n > 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s still has %zu mounts below it", dir,
		                 n);
	return 0;
}

struct build {
	struct image_definition def;
	char *out_dir;   /* absolute */
	char *cache_dir; /* absolute */
	char *rootfs;    /* absolute, below out_dir */
	char *mirror;
	char *snapshot_url;
	bool snapshot_honoured;
	char **env;
	json_t *packages;
	json_t *cleaned;
	char *tarball;
	char digest[DIGEST_STR_MAX];
};

static void build_free(struct build *b)
{
	image_definition_free(&b->def);
	free(b->out_dir);
	free(b->cache_dir);
	free(b->rootfs);
	free(b->mirror);
	free(b->snapshot_url);
	if (b->env)
		image_env_free(b->env);
	json_decref(b->packages);
	json_decref(b->cleaned);
	free(b->tarball);
}

static int absolute_dir(const char *path, char **out, struct error *err)
{
	if (mkdir_p(path, 0755, err) < 0)
		return -1;
	*out = realpath(path, NULL);
	if (*out == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "resolving %s", path);
	return 0;
}

static int choose_mirror(struct build *b, const char *mirror, struct error *err)
{
	b->snapshot_url = xasprintf(SNAPSHOT_URL_FMT, b->def.snapshot);
	if (mirror == NULL) {
		b->mirror = xstrdup(b->snapshot_url);
	} else if (strcmp(mirror, "apt") == 0) {
		if (image_apt_mirror("/etc/apt", b->def.suite, &b->mirror, err) < 0)
			return -1;
	} else {
		b->mirror = image_mirror_url(mirror, strlen(mirror));
		if (b->mirror == NULL || strpbrk(b->mirror, " \t\n,") != NULL)
			return error_set(
			    err, EXIT_RUNNER_ERROR, 0,
			    "--mirror '%s': expected an http:// or https:// URL or 'apt'", mirror);
	}
	b->snapshot_honoured = strcmp(b->mirror, b->snapshot_url) == 0;
	return 0;
}

static int ensure_debootstrap(struct build *b, struct error *err)
{
	char *update[] = {"apt-get", "update", "-qq", NULL};
	char *install[] = {"apt-get",     "install", "-y", "-qq", "--no-install-recommends",
	                   "debootstrap", NULL};

	if (access(DEBOOTSTRAP, X_OK) == 0)
		return 0;
	if (access(APT_GET, X_OK) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s is missing and there is no apt-get to install it: install "
		                 "debootstrap",
		                 DEBOOTSTRAP);
	fprintf(stderr, "pgo-sandbox: installing the Debian package debootstrap\n");
	if (image_run_tool(APT_GET, update, b->env, err) != 0 ||
	    image_run_tool(APT_GET, install, b->env, err) != 0 || access(DEBOOTSTRAP, X_OK) < 0) {
		if (err->msg[0] == '\0' || err->exit_code == 0)
			error_set(err, EXIT_RUNNER_ERROR, 0,
			          "apt-get could not install debootstrap");
		return error_prefix(err, "installing debootstrap");
	}
	return 0;
}

static const char *wget_meaning(int code)
{
	switch (code) {
	case 4: return "network failure";
	case 5: return "TLS failure";
	case 8: return "the server answered with an error";
	default: return "failed";
	}
}

static int check_mirror(struct build *b, struct error *err)
{
	char *url = xasprintf("%s/dists/%s/Release", b->mirror, b->def.suite);
	char *argv[] = {"wget", "-q", "--spider", "-T", MIRROR_CHECK_TIMEOUT, "-t", "1", url, NULL};
	int rc;

	if (access(WGET, X_OK) < 0) {
		free(url);
		return error_set(err, EXIT_RUNNER_ERROR, errno, "%s (debootstrap needs it)", WGET);
	}
	rc = image_run_tool(WGET, argv, b->env, err);
	if (rc > 0 && b->snapshot_honoured)
		error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "the Debian snapshot %s is unreachable (%s: wget exit %d, %s); pass "
		    "--mirror URL to build from another Debian mirror, or --mirror apt for the "
		    "one this machine's apt uses: the image then records that the snapshot "
		    "pin was not honoured",
		    b->def.snapshot, url, rc, wget_meaning(rc));
	else if (rc > 0)
		error_set(err, EXIT_RUNNER_ERROR, 0,
		          "mirror %s is unreachable (%s: wget exit %d, %s)", b->mirror, url, rc,
		          wget_meaning(rc));
	free(url);
	return rc == 0 ? 0 : -1;
}

static int run_debootstrap(struct build *b, struct error *err)
{
	struct strv argv = {0};
	int rc;

	strv_push(&argv, "debootstrap");
	if (strcmp(b->def.variant, "default") != 0)
		strv_pushf(&argv, "--variant=%s", b->def.variant);
	strv_pushf(&argv, "--arch=%s", b->def.arch);
	for (size_t i = 0; i < 2; i++) {
		const struct strv *words = i == 0 ? &b->def.components : &b->def.packages;
		struct strbuf arg = {0};
		char *joined;

		if (words->n == 0)
			continue;
		strbuf_printf(&arg, "%s", i == 0 ? "--components=" : "--include=");
		for (size_t j = 0; j < words->n; j++)
			strbuf_printf(&arg, "%s%s", j ? "," : "", words->v[j]);
		joined = strbuf_take(&arg);
		strv_push(&argv, joined);
		free(joined);
	}
	strv_pushf(&argv, "--cache-dir=%s", b->cache_dir);
	strv_push(&argv, b->def.suite);
	strv_push(&argv, b->rootfs);
	strv_push(&argv, b->mirror);
	rc = image_run_tool(DEBOOTSTRAP, argv.v, b->env, err);
	strv_free(&argv);
	if (rc > 0)
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "debootstrap failed (exit %d): its log is above and in %s/debootstrap/"
		    "debootstrap.log",
		    rc, b->rootfs);
	return rc;
}

static json_t *host_package_version(const char *name)
{
	json_t *all = NULL, *v = NULL;
	struct error ignored = {0};

	if (image_dpkg_packages("/var/lib/dpkg/status", &all, &ignored) == 0) {
		v = json_object_get(all, name);
		v = v ? json_incref(v) : NULL;
		json_decref(all);
	}
	return v ? v : json_null();
}

static int write_sidecar(struct build *b, struct error *err)
{
	char ini_digest[DIGEST_STR_MAX];
	char *path = xasprintf("%s/%s.json", b->out_dir, b->def.name);
	char *debian_path = xasprintf("%s/etc/debian_version", b->rootfs);
	char *debian = image_read_trimmed(debian_path);
	json_t *doc;
	int rc;

	free(debian_path);
	if (digest_file_sha256(b->def.path, ini_digest, err) < 0) {
		free(path);
		free(debian);
		return -1;
	}
	doc = json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:O, s:O, s:o, s:s}", "name",
	                b->def.name, "definition", image_definition_json(&b->def),
	                "definition_sha256", ini_digest, "tarball", strrchr(b->tarball, '/') + 1,
	                "digest", b->digest, "mirror", b->mirror, "snapshot_url", b->snapshot_url,
	                "snapshot_honoured", b->snapshot_honoured, "source_date_epoch",
	                (json_int_t)b->def.snapshot_epoch, "packages", b->packages, "cleaned",
	                b->cleaned, "debootstrap_version", host_package_version("debootstrap"),
	                "pgo_sandbox_version", PGO_VERSION);
	json_object_set_new(doc, "debian_version", json_string_or_null(debian));
	rc = json_file_write(path, doc, JSON_SORT_KEYS | JSON_INDENT(2), 0644, err);
	json_decref(doc);
	free(debian);
	free(path);
	return rc;
}

static int pack_rootfs(struct build *b, struct error *err)
{
	struct pack_options o;
	char *status = xasprintf("%s/var/lib/dpkg/status", b->rootfs);
	int rc = image_dpkg_packages(status, &b->packages, err);

	free(status);
	if (rc < 0)
		return -1;
	b->cleaned = json_array();
	if (image_clean_rootfs(b->rootfs, b->cleaned, err) < 0)
		return error_prefix(err, "cleaning %s", b->rootfs);
	pack_options_default(&o);
	o.mtime = b->def.snapshot_epoch;
	o.compression = ARCHIVE_COMP_ZSTD;
	b->tarball = xasprintf("%s/%s.tar.zst", b->out_dir, b->def.name);
	fprintf(stderr, "pgo-sandbox: image %s: packing %s\n", b->def.name, b->tarball);
	if (archive_pack_dir(b->rootfs, b->tarball, &o, err) < 0 ||
	    digest_file_sha256(b->tarball, b->digest, err) < 0)
		return -1;
	return write_sidecar(b, err);
}

static int build_prepare(struct build *b, const struct image_build_request *o, struct error *err)
{
	if (image_definition_load(o->definition, &b->def, err) < 0)
		return -1;
	if (geteuid() != 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "image build needs root: debootstrap creates device nodes, sets "
		                 "file owners and chroots into the new tree (run it with sudo, or "
		                 "in a root CI container)");
	b->env = image_tool_env(b->def.snapshot_epoch);
	return choose_mirror(b, o->mirror, err);
}

/* Made only once the mirror answered, so a refused build leaves nothing. */
static int build_dirs(struct build *b, const struct image_build_request *o, struct error *err)
{
	char *path;
	int rc;

	if (absolute_dir(o->out_dir ? o->out_dir : DEFAULT_OUT_DIR, &b->out_dir, err) < 0)
		return -1;
	path = o->cache_dir ? xstrdup(o->cache_dir) : xasprintf("%s/debootstrap-cache", b->out_dir);
	rc = absolute_dir(path, &b->cache_dir, err);
	free(path);
	if (rc < 0)
		return -1;
	path = xasprintf("%s/.%s.rootfs.%d", b->out_dir, b->def.name, (int)getpid());
	if (mkdir(path, 0755) < 0) {
		error_set(err, EXIT_RUNNER_ERROR, errno, "creating %s", path);
		free(path);
		return -1;
	}
	b->rootfs = path;
	return 0;
}

int image_build(const struct image_build_request *o, struct error *err)
{
	struct build b = {0};
	struct error cleanup = {0};
	int rc = build_prepare(&b, o, err);

	if (rc == 0)
		rc = ensure_debootstrap(&b, err);
	if (rc == 0)
		rc = check_mirror(&b, err);
	if (rc == 0)
		rc = build_dirs(&b, o, err);
	if (rc == 0) {
		fprintf(stderr, "pgo-sandbox: image %s: debootstrap %s %s from %s%s\n", b.def.name,
		        b.def.suite, b.def.variant, b.mirror,
		        b.snapshot_honoured ? ""
		                            : " (not the snapshot: recorded in the image JSON)");
		rc = run_debootstrap(&b, err);
	}
	if (rc == 0)
		rc = unmount_below(b.rootfs, err);
	if (rc == 0)
		rc = pack_rootfs(&b, err);
	if (rc == 0)
		printf("%s  %s\n", b.digest, b.tarball);
	if (b.rootfs &&
	    (unmount_below(b.rootfs, &cleanup) < 0 || remove_tree(b.rootfs, &cleanup) < 0))
		fprintf(stderr, "pgo-sandbox: warning: %s\n", cleanup.msg);
	build_free(&b);
	return rc;
}
