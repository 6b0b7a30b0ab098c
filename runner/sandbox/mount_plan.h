/* mount_plan.h - what the sandbox's root filesystem is made of, in order:
 * from a spec and a listing of the image's top level to a list of steps.
 *
 * Pure: no syscall, no file is read (the caller lists the image,
 * mounts.c).  mounts.c realises each step (clones, new filesystems) while
 * the host's tree is still visible and then attaches them in this order,
 * so a later step's mount lies over an earlier one's: the image, /etc,
 * /dev, /proc, /tmp, then the spec's mounts in their order (a mount
 * inside another comes after it).  A spec mount whose target is not a
 * plain absolute path is refused here, before anything is mounted. */
#ifndef PGO_MOUNT_PLAN_H
#define PGO_MOUNT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/spec.h"
#include "base/util.h"

enum mount_step_kind {
	STEP_BIND,     /* a clone of the host path `src` at `dst` */
	STEP_PREPARED, /* the runner's detached mount `index` (bind_idmap.h) at `dst` */
	STEP_TMPFS,    /* a new tmpfs of `size` bytes and `mode` at `dst` */
	STEP_SYMLINK,  /* `dst` (relative to the root) -> `src` */
	STEP_ETC,      /* the generated /etc files, written into the root */
	STEP_DEV,      /* /dev: its tmpfs, nodes, links, /dev/shm, /dev/pts */
	STEP_PROC,     /* a fresh /proc, hardened, once the root is attached */
};

struct mount_step {
	enum mount_step_kind kind;
	char *src; /* STEP_BIND: host path; STEP_SYMLINK: link target */
	char *dst;
	bool read_only;   /* STEP_BIND */
	uint64_t size;    /* STEP_TMPFS */
	const char *mode; /* STEP_TMPFS: "1777", "0755" */
	size_t index;     /* STEP_PREPARED */
	/* the spec mount it comes from (spec->mounts[spec_mount]); -1 for the
	 * runner's own steps */
	long spec_mount;
};

struct mount_plan {
	struct mount_step *steps;
	size_t n;
};

/* One entry of the image's top level (for the host image: /bin, /lib...
 * as they are on the host). */
enum root_entry_type { ROOT_ENTRY_DIR, ROOT_ENTRY_FILE, ROOT_ENTRY_LINK, ROOT_ENTRY_OTHER };

struct root_entry {
	char *name; /* "bin" */
	enum root_entry_type type;
	char *target; /* ROOT_ENTRY_LINK */
};

struct root_listing {
	struct root_entry *entries;
	size_t n;
	bool has_alternatives; /* the host image: /etc/alternatives exists */
};

/* The host's top-level names the host image takes from the host (links
 * into /usr on merged-/usr hosts, directories otherwise), in order. */
extern const char *const mount_plan_host_top[];
extern const size_t mount_plan_n_host_top;

/* Directories the runner always provides fresh, never from an image. */
bool mount_plan_is_fresh_dir(const char *name);
/* Whether an absolute path names one of them ("/tmp", "//tmp/"): a bind
 * there would cover the fresh one (a path below it is fine). */
bool mount_plan_path_is_fresh_dir(const char *path);

/* `image_dir`: the rootfs directory for IMAGE_DIR and IMAGE_TARBALL
 * (NULL for IMAGE_HOST); `top`: its listing (or the host's).  `prepared`
 * as rootfs_setup's (NULL: none).  On failure (a spec mount's target that
 * is relative or has "." or ".." components, a bind without a source)
 * err names the option, the path and why. */
int mount_plan_build(const struct sandbox_spec *spec, const char *image_dir,
                     const struct root_listing *top, const int *prepared, struct mount_plan *plan,
                     struct error *err);
void mount_plan_free(struct mount_plan *plan);

/* A target inside the sandbox must be a plain absolute path: "/" and then
 * names, none of them "." or "..", and not "/" itself. */
int mount_plan_check_target(const char *dst, struct error *err);
/* "--bind", "--ro-bind", "--ro-bind-idmap", "--tmpfs". */
const char *mount_option_name(enum mount_kind kind);

/* Appends a mount to the spec a plan is built from: copies of `src` (NULL
 * for a tmpfs) and `dst`; `size` is a tmpfs's bytes, 0 otherwise.  It
 * checks nothing: mount_plan_build refuses a bad target, naming it. */
void mount_spec_add(struct sandbox_spec *spec, enum mount_kind kind, const char *src,
                    const char *dst, uint64_t size);

void root_listing_add(struct root_listing *l, const char *name, enum root_entry_type type,
                      const char *target);
void root_listing_free(struct root_listing *l);

#endif
