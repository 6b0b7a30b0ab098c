/* image.h - root filesystem images: `pgo-sandbox image build|digest` and
 * the digest of an image (host, directory or tarball) for provenance.
 *
 * The digest names what a stage's commands could see:
 *   host       sha256 of the canonical JSON (sorted keys, compact) of the
 *              toolchain facts: for each tool of IMAGE_HOST_TOOLS present
 *              in /usr/bin its resolved path, the sha256 of that file and
 *              the first line of its `--version` (run with a clean
 *              environment, bounded in time and output), /etc/debian_version
 *              and the installed versions of IMAGE_HOST_PACKAGES.  A changed
 *              compiler changes the digest.
 *   directory  sha256 of a manifest of a sorted walk: per entry its path,
 *              type, permission bits, owner, size, symlink target or the
 *              sha256 of its contents.  mtimes are left out; so are the
 *              top-level proc, dev, sys, tmp and run, which the sandbox
 *              always provides fresh.
 *   tarball    sha256 of the file.
 * `facts` describes the image for provenance (for a tarball built by
 * `image build`, the toolchain versions from its NAME.json). */
#ifndef PGO_IMAGE_H
#define PGO_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/strv.h"
#include "artifacts/digest.h"
#include "base/util.h"

#define IMAGE_HOST_TOOLS                                                                           \
	"gcc", "cc", "g++", "clang", "llvm-profdata", "ld", "ld.lld", "gcov-tool", "ar", "make"
#define IMAGE_HOST_PACKAGES "gcc-12", "clang-14", "llvm-14", "binutils", "libc6"

/* A tool's `--version` that runs longer is killed and the digest fails:
 * a digest that depends on the machine's load would be worse than none. */
#define IMAGE_VERSION_TIMEOUT_NS (10ULL * 1000 * 1000 * 1000)
/* Output past this is not read; the tool is killed. */
#define IMAGE_VERSION_OUTPUT_MAX (64 * 1024)

/* "host", a directory or a tarball.  On success *facts (when facts is not
 * NULL) is a new JSON object the caller frees with json_decref. */
int image_digest(const char *image, char out[DIGEST_STR_MAX], json_t **facts, struct error *err);

/* The host digest of the tree at `root` ("/" for the real host): tools are
 * looked up under root/usr/bin with symlinks resolved inside root, and run
 * from there; paths in the facts are relative to root. */
int image_digest_host_at(const char *root, uint64_t version_timeout_ns, char out[DIGEST_STR_MAX],
                         json_t **facts, struct error *err);

int image_digest_dir(const char *dir, char out[DIGEST_STR_MAX], json_t **facts, struct error *err);

/* An image definition, images/NAME.ini:
 *   [image]
 *   suite = bookworm
 *   variant = minbase          (minbase | buildd | default)
 *   snapshot = 20261101T000000Z
 *   arch = amd64
 *   components = main          (optional, default main)
 *   packages = gcc make        (spaces or commas; may continue on
 *                               indented lines)                     */
struct image_definition {
	char *name; /* NAME: the file name without .ini */
	char *path; /* the .ini file read */
	char *suite;
	char *variant;
	char *snapshot;
	int64_t snapshot_epoch;
	char *arch;
	struct strv components;
	struct strv packages;
};

/* `path` is images/NAME or images/NAME.ini. */
int image_definition_load(const char *path, struct image_definition *def, struct error *err);
void image_definition_free(struct image_definition *def);
json_t *image_definition_json(const struct image_definition *def);

/* "20261101T000000Z" (snapshot.debian.org's form) -> seconds since the epoch. */
int image_snapshot_epoch(const char *snapshot, int64_t *out, struct error *err);

/* Installed packages of a dpkg status file: {"name": "version"}; a second
 * architecture of the same name is keyed "name:arch". */
int image_dpkg_packages(const char *status_path, json_t **out, struct error *err);

/* The first Debian mirror this machine's apt uses for `suite` (component
 * main, type deb), read from apt_dir/sources.list and then
 * apt_dir/sources.list.d/ (*.list and deb822 *.sources) in name order.
 * *url is allocated, without a trailing '/'. */
int image_apt_mirror(const char *apt_dir, const char *suite, char **url, struct error *err);
/* The first len bytes of uri as a mirror URL (trailing slashes dropped;
 * caller frees), or NULL unless it is http:// or https://. */
char *image_mirror_url(const char *uri, size_t len);

/* Remove what varies between two debootstraps of the same package set, or
 * what the sandbox provides fresh (see images/README.md); every path
 * removed or emptied is appended to `cleaned` ("/var/log/dpkg.log").
 * Paths are resolved inside rootfs, never outside it. */
int image_clean_rootfs(const char *rootfs, json_t *cleaned, struct error *err);

/* `pgo-sandbox image build DEFINITION`: what to build, and where. */
struct image_build_request {
	const char *definition; /* images/NAME(.ini) */
	const char *out_dir;    /* NULL: build/images */
	const char *mirror;     /* NULL: the snapshot; "apt": this machine's apt mirror */
	const char *cache_dir;  /* NULL: OUT/debootstrap-cache */
};

/* Build, pack and record the image; prints "sha256:<hex>  OUT/NAME.tar.zst". */
int image_build(const struct image_build_request *rq, struct error *err);

#endif
