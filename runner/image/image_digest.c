/* image_digest.c - digests of an image (host toolchain facts, a
 * directory, a tarball with its sidecar): see image.h */
#define _GNU_SOURCE
#include "image/image.h"
#include "sandbox/mount_plan.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "sandbox/path_resolve.h"
#include "image/tool_cache.h"

#include "image/image_proc.h"

/* ------------------------------------------------------------------ */
/* dpkg status                                                         */
/* ------------------------------------------------------------------ */

struct dpkg_para {
	char *package, *version, *arch, *status;
};

static void dpkg_para_reset(struct dpkg_para *p)
{
	free(p->package);
	free(p->version);
	free(p->arch);
	free(p->status);
	memset(p, 0, sizeof(*p));
}

/* "install ok installed", "hold ok installed": the third word counts. */
static bool dpkg_installed(const char *status)
{
	const char *last = status ? strrchr(status, ' ') : NULL;

	return last != NULL && strcmp(last + 1, "installed") == 0;
}

static void dpkg_commit(struct dpkg_para *p, json_t *out)
{
	json_t *v;

	if (p->package && p->version && dpkg_installed(p->status)) {
		v = json_string(p->version);
		if (v != NULL) {
			if (json_object_get(out, p->package) == NULL) {
				json_object_set_new(out, p->package, v);
			} else {
				char *key = xasprintf("%s:%s", p->package, p->arch ? p->arch : "?");
				json_object_set_new(out, key, v);
				free(key);
			}
		}
	}
	dpkg_para_reset(p);
}

static void dpkg_field(struct dpkg_para *p, const char *line)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
	    {"Package:", offsetof(struct dpkg_para, package)},
	    {"Version:", offsetof(struct dpkg_para, version)},
	    {"Architecture:", offsetof(struct dpkg_para, arch)},
	    {"Status:", offsetof(struct dpkg_para, status)},
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		size_t n = strlen(fields[i].name);
		char **slot = (char **)((char *)p + fields[i].off);

		if (strncasecmp(line, fields[i].name, n) != 0)
			continue;
		line += n;
		while (*line == ' ' || *line == '\t')
			line++;
		free(*slot);
		*slot = xstrdup(line);
		return;
	}
}

int image_dpkg_packages(const char *status_path, json_t **out, struct error *err)
{
	struct dpkg_para p = {0};
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;

	if (read_file(status_path, &text, &len, err) < 0)
		return -1;
	*out = json_object();
	/* strtok_r would merge blank lines, which end paragraphs: split by hand */
	for (line = text; line != NULL; line = save) {
		save = strchr(line, '\n');
		if (save != NULL)
			*save++ = '\0';
		if (line[0] == '\0')
			dpkg_commit(&p, *out);
		else if (line[0] != ' ' && line[0] != '\t')
			dpkg_field(&p, line);
	}
	dpkg_commit(&p, *out);
	free(text);
	return 0;
}

/* The toolchain packages of interest out of a full package map. */
static json_t *toolchain_packages(json_t *all)
{
	static const char *const names[] = {IMAGE_HOST_PACKAGES};
	json_t *pick = json_object();

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		json_t *v = json_object_get(all, names[i]);
		if (v != NULL)
			json_object_set(pick, names[i], v);
	}
	return pick;
}

/* debian_version and toolchain packages of the tree at root, if any. */
static void add_distribution_facts(const char *root, json_t *facts)
{
	char *path = xasprintf("%s/etc/debian_version", root);
	char *debian = image_read_trimmed(path);
	struct error ignored = {0};
	json_t *all = NULL;

	free(path);
	if (debian != NULL) {
		json_t *v = json_string(debian);
		json_object_set_new(facts, "debian_version", v ? v : json_null());
		free(debian);
	}
	path = xasprintf("%s/var/lib/dpkg/status", root);
	if (access(path, F_OK) == 0 && image_dpkg_packages(path, &all, &ignored) == 0) {
		json_object_set_new(facts, "packages", toolchain_packages(all));
		json_decref(all);
	}
	free(path);
}

/* ------------------------------------------------------------------ */
/* host digest                                                         */
/* ------------------------------------------------------------------ */

static int canonical_digest(json_t *facts, char out[DIGEST_STR_MAX], struct error *err)
{
	char *text = json_dumps(facts, JSON_SORT_KEYS | JSON_COMPACT);

	if (text == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "encoding the image facts");
	digest_buffer_sha256(text, strlen(text), out);
	free(text);
	return 0;
}

/* The file a tool name leads to, resolved inside root: its host path and
 * its path as seen from the root.  0 = absent, 1 = found. */
static int resolve_tool(int root_fd, const char *real_root, const char *name, char **host_path,
                        char **in_root, struct error *err)
{
	char *rel = xasprintf("/usr/bin/%s", name);
	char link[64], target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd = resolve_in_root(root_fd, rel, O_PATH, false);
	size_t root_len = strcmp(real_root, "/") == 0 ? 0 : strlen(real_root);

	if (fd < 0) {
		int saved = errno;
		if (saved == ENOENT || saved == ENOTDIR) {
			free(rel);
			return 0;
		}
		error_set(err, EXIT_RUNNER_ERROR, saved, "resolving %s in %s", rel, real_root);
		free(rel);
		return -1;
	}
	free(rel);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0 || fstat(fd, &st) < 0) {
		int saved = errno;
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "resolving tool %s", name);
	}
	close(fd);
	target[n] = '\0';
	if (!S_ISREG(st.st_mode))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "tool %s: %s is not a regular file",
		                 name, target);
	if (root_len && (strncmp(target, real_root, root_len) != 0 || target[root_len] != '/'))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "tool %s: %s is outside %s", name,
		                 target, real_root);
	*host_path = xstrdup(target);
	*in_root = xstrdup(target + root_len);
	return 1;
}

static int tool_facts(int root_fd, const char *real_root, const char *name, uint64_t timeout_ns,
                      struct tool_cache *cache, json_t *tools, struct error *err)
{
	char digest[DIGEST_STR_MAX];
	char *host_path = NULL, *in_root = NULL;
	/* llvm-profdata before LLVM 15 knows --version only after a command */
	bool needs_command = strcmp(name, "llvm-profdata") == 0;
	char *argv[] = {(char *)name, needs_command ? "merge" : "--version",
	                needs_command ? "--version" : NULL, NULL};
	struct captured c;
	json_t *t;
	int found = resolve_tool(root_fd, real_root, name, &host_path, &in_root, err);

	if (found <= 0)
		return found;
	t = tool_cache_lookup(cache, name, host_path);
	if (t != NULL) {
		json_object_set_new(t, "path", json_string(in_root));
		json_object_set_new(tools, name, t);
		free(host_path);
		free(in_root);
		return 1;
	}
	if (digest_file_sha256(host_path, digest, err) < 0 ||
	    image_capture_first_line(host_path, argv, timeout_ns, &c, err) < 0) {
		free(host_path);
		free(in_root);
		return error_prefix(err, "toolchain of image host");
	}
	t = json_pack("{s:s, s:s, s:s}", "path", in_root, "sha256", digest, "version",
	              c.first_line);
	if (t == NULL) {
		error_set(err, EXIT_RUNNER_ERROR, 0, "tool %s: path %s is not UTF-8", name,
		          in_root);
		free(c.first_line);
		free(host_path);
		free(in_root);
		return -1;
	}
	if (c.truncated)
		json_object_set_new(t, "version_output_truncated", json_true());
	else if (WIFEXITED(c.status) && WEXITSTATUS(c.status) != 0)
		json_object_set_new(t, "version_exit", json_integer(WEXITSTATUS(c.status)));
	else if (WIFSIGNALED(c.status))
		json_object_set_new(t, "version_signal", json_integer(WTERMSIG(c.status)));
	/* Only a clean answer is worth remembering. */
	if (!c.truncated && WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0)
		tool_cache_store(cache, name, host_path, t);
	json_object_set_new(tools, name, t);
	free(c.first_line);
	free(host_path);
	free(in_root);
	return 1;
}

int image_digest_host_at(const char *root, uint64_t version_timeout_ns, char out[DIGEST_STR_MAX],
                         json_t **facts, struct error *err)
{
	static const char *const names[] = {IMAGE_HOST_TOOLS};
	char *real_root = realpath(root, NULL);
	struct tool_cache *cache;
	json_t *f, *tools;
	int root_fd, rc = 0;

	if (real_root == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "image root %s", root);
	root_fd = open(real_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		error_set(err, EXIT_RUNNER_ERROR, errno, "opening image root %s", real_root);
		free(real_root);
		return -1;
	}
	f = json_pack("{s:s}", "kind", "host");
	tools = json_object();
	json_object_set_new(f, "tools", tools);
	cache = tool_cache_open();
	for (size_t i = 0; rc >= 0 && i < sizeof(names) / sizeof(names[0]); i++)
		rc =
		    tool_facts(root_fd, real_root, names[i], version_timeout_ns, cache, tools, err);
	tool_cache_close(cache, rc >= 0);
	close(root_fd);
	if (rc >= 0) {
		add_distribution_facts(real_root, f);
		rc = canonical_digest(f, out, err);
	}
	free(real_root);
	if (rc < 0 || facts == NULL)
		json_decref(f);
	else
		*facts = f;
	return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* directory digest                                                    */
/* ------------------------------------------------------------------ */

struct manifest {
	struct strbuf text;
	uint64_t entries, bytes;
};

static int walk_dir(struct manifest *m, const char *abs, const char *rel, int depth,
                    struct error *err);

/* One line per entry: type, mode, owner, size, content, then the path
 * length-prefixed so no name can forge another line. */
static int manifest_entry(struct manifest *m, const char *abs, const char *rel,
                          const struct stat *st, int depth, struct error *err)
{
	char content[PATH_MAX + 32] = "-";
	char type = '?';

	if (S_ISREG(st->st_mode)) {
		type = 'f';
		if (digest_file_sha256(abs, content, err) < 0)
			return -1;
		m->bytes += (uint64_t)st->st_size;
	} else if (S_ISDIR(st->st_mode)) {
		type = 'd';
	} else if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(abs, target, sizeof(target) - 1);
		if (n < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "reading link %s", abs);
		target[n] = '\0';
		type = 'l';
		snprintf(content, sizeof(content), "%zd:%s", n, target);
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		type = S_ISCHR(st->st_mode) ? 'c' : 'b';
		snprintf(content, sizeof(content), "%u,%u", major(st->st_rdev), minor(st->st_rdev));
	} else if (S_ISFIFO(st->st_mode)) {
		type = 'p';
	} else if (S_ISSOCK(st->st_mode)) {
		type = 's';
	}
	strbuf_printf(&m->text, "%c %04o %u:%u %llu %s %zu:%s\n", type,
	              (unsigned)(st->st_mode & 07777), (unsigned)st->st_uid, (unsigned)st->st_gid,
	              S_ISREG(st->st_mode) ? (unsigned long long)st->st_size : 0ULL, content,
	              strlen(rel), rel);
	m->entries++;
	if (S_ISDIR(st->st_mode))
		return walk_dir(m, abs, rel, depth + 1, err);
	return 0;
}

static int walk_dir(struct manifest *m, const char *abs, const char *rel, int depth,
                    struct error *err)
{
	char **names;
	size_t n;
	int rc = 0;

	if (depth > WALK_MAX_DEPTH)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: deeper than %d levels", abs,
		                 WALK_MAX_DEPTH);
	if (image_list_sorted(abs, &names, &n, err) < 0)
		return -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char *child_abs, *child_rel;
		struct stat st;

		if (depth == 0 && mount_plan_is_fresh_dir(names[i]))
			continue;
		child_abs = xasprintf("%s/%s", abs, names[i]);
		child_rel = xasprintf("%s/%s", rel, names[i]);
		if (lstat(child_abs, &st) < 0)
			rc = error_set(err, EXIT_RUNNER_ERROR, errno, "stat %s", child_abs);
		else
			rc = manifest_entry(m, child_abs, child_rel, &st, depth, err);
		free(child_abs);
		free(child_rel);
	}
	strv_free_n(names, n);
	return rc;
}

int image_digest_dir(const char *dir, char out[DIGEST_STR_MAX], json_t **facts, struct error *err)
{
	struct manifest m = {0};
	char *real = realpath(dir, NULL);
	json_t *f;

	if (real == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "image directory %s", dir);
	strbuf_printf(&m.text, "pgo-sandbox image directory manifest v1\n");
	if (walk_dir(&m, real, "", 0, err) < 0) {
		free(m.text.s);
		free(real);
		return error_prefix(err, "digest of image %s", dir);
	}
	digest_buffer_sha256(m.text.s, m.text.len, out);
	if (facts != NULL) {
		f = json_pack("{s:s, s:I, s:I}", "kind", "directory", "entries",
		              (json_int_t)m.entries, "bytes", (json_int_t)m.bytes);
		add_distribution_facts(real, f);
		*facts = f;
	}
	free(m.text.s);
	free(real);
	return 0;
}

/* ------------------------------------------------------------------ */
/* tarball digest                                                      */
/* ------------------------------------------------------------------ */

/* NAME.tar.zst -> NAME.json beside it (what `image build` writes). */
static char *image_json_path(const char *tarball)
{
	static const char *const exts[] = {".tar.zst", ".tar.gz", ".tar.xz", ".tar.bz2", ".tar"};

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		if (image_has_suffix(tarball, exts[i])) {
			size_t base = strlen(tarball) - strlen(exts[i]);
			return xasprintf("%.*s.json", (int)base, tarball);
		}
	}
	return NULL;
}

/* The toolchain facts of a built image, when its NAME.json describes
 * exactly this tarball. */
static void add_sidecar_facts(const char *tarball, const char *digest, json_t *facts)
{
	char *path = image_json_path(tarball);
	json_t *doc, *d;

	if (path == NULL)
		return;
	doc = json_load_file(path, 0, NULL);
	d = json_object_get(doc, "digest");
	if (json_is_string(d) && strcmp(json_string_value(d), digest) == 0) {
		static const char *const keys[] = {"name", "definition", "debian_version",
		                                   "snapshot_honoured"};
		json_t *all = json_object_get(doc, "packages");

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			json_t *v = json_object_get(doc, keys[i]);
			if (v != NULL)
				json_object_set(facts, keys[i], v);
		}
		if (json_is_object(all))
			json_object_set_new(facts, "packages", toolchain_packages(all));
	}
	json_decref(doc);
	free(path);
}

static int digest_tarball(const char *path, const struct stat *st, char out[DIGEST_STR_MAX],
                          json_t **facts, struct error *err)
{
	if (digest_file_sha256(path, out, err) < 0)
		return error_prefix(err, "digest of image");
	if (facts != NULL) {
		*facts =
		    json_pack("{s:s, s:I}", "kind", "tarball", "bytes", (json_int_t)st->st_size);
		add_sidecar_facts(path, out, *facts);
	}
	return 0;
}

int image_digest(const char *image, char out[DIGEST_STR_MAX], json_t **facts, struct error *err)
{
	struct stat st;

	if (facts != NULL)
		*facts = NULL;
	if (strcmp(image, "host") == 0)
		return image_digest_host_at("/", IMAGE_VERSION_TIMEOUT_NS, out, facts, err);
	if (stat(image, &st) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "image %s (expected host, a directory or a tarball)", image);
	if (S_ISDIR(st.st_mode))
		return image_digest_dir(image, out, facts, err);
	if (S_ISREG(st.st_mode))
		return digest_tarball(image, &st, out, facts, err);
	return error_set(err, EXIT_RUNNER_ERROR, 0,
	                 "image %s is neither host, a directory nor a tarball", image);
}
