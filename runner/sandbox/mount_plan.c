/* mount_plan.c - see mount_plan.h */
#include "sandbox/mount_plan.h"

#include <stdlib.h>
#include <string.h>

#include "base/string_table.h"

const char *const mount_plan_host_top[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};
const size_t mount_plan_n_host_top = sizeof(mount_plan_host_top) / sizeof(mount_plan_host_top[0]);

static const char *const fresh_dirs[] = {"proc", "dev", "tmp", "sys", "run"};

bool mount_plan_is_fresh_dir(const char *name)
{
	for (size_t i = 0; i < sizeof(fresh_dirs) / sizeof(fresh_dirs[0]); i++)
		if (strcmp(name, fresh_dirs[i]) == 0)
			return true;
	return false;
}

bool mount_plan_path_is_fresh_dir(const char *path)
{
	char name[16];
	size_t len;

	if (path[0] != '/')
		return false;
	path += strspn(path, "/");
	len = strcspn(path, "/");
	if (len == 0 || len >= sizeof(name) || path[len + strspn(path + len, "/")] != '\0')
		return false;
	memcpy(name, path, len);
	name[len] = '\0';
	return mount_plan_is_fresh_dir(name);
}

static const char *const mount_option_names[] = {
    [MOUNT_BIND_RO] = "--ro-bind",
    [MOUNT_BIND_RW] = "--bind",
    [MOUNT_BIND_RO_IDMAP] = "--ro-bind-idmap",
    [MOUNT_TMPFS] = "--tmpfs",
};
DEFINE_STRING_TABLE_TO_NAME(mount_option_name, enum mount_kind, mount_option_names, "--bind");

static struct mount_step *push(struct mount_plan *plan, enum mount_step_kind kind, const char *src,
                               const char *dst)
{
	struct mount_step *s;

	plan->steps = xrealloc(plan->steps, (plan->n + 1) * sizeof(*plan->steps));
	s = &plan->steps[plan->n++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->src = src ? xstrdup(src) : NULL;
	s->dst = xstrdup(dst);
	s->spec_mount = -1;
	return s;
}

static void push_bind_ro(struct mount_plan *plan, const char *src, const char *dst)
{
	push(plan, STEP_BIND, src, dst)->read_only = true;
}

static void push_tmpfs(struct mount_plan *plan, const char *dst, uint64_t size, const char *mode)
{
	struct mount_step *s = push(plan, STEP_TMPFS, NULL, dst);

	s->size = size;
	s->mode = mode;
}

/* The path resolution inside the new root keeps ".." from leaving it, but
 * a target that says where it goes is what the caller meant; one that
 * needs resolving is refused. */
int mount_plan_check_target(const char *dst, struct error *err)
{
	const char *p = dst;

	if (dst[0] != '/')
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "the path inside the sandbox must be absolute");
	while (*p) {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return error_set(
			    err, EXIT_RUNNER_ERROR, 0,
			    "the path inside the sandbox may not have a '%.*s' component", (int)len,
			    p);
		p += len;
	}
	if (strspn(dst, "/") == strlen(dst))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "the sandbox's root is the image's: mount below it");
	return 0;
}

/* The host image: /usr read-only, the top-level links into it (or
 * read-only binds of directories), a generated /etc and the host's
 * alternatives (Debian's toolchain names: cc -> gcc, c++...). */
static void plan_host_image(struct mount_plan *plan, const struct root_listing *top)
{
	push_bind_ro(plan, "/usr", "/usr");
	for (size_t i = 0; i < top->n; i++) {
		const struct root_entry *e = &top->entries[i];
		char *path = xasprintf("/%s", e->name);

		if (e->type == ROOT_ENTRY_LINK)
			push(plan, STEP_SYMLINK, e->target, e->name);
		else if (e->type == ROOT_ENTRY_DIR)
			push_bind_ro(plan, path, path);
		free(path);
	}
	push(plan, STEP_ETC, NULL, "/etc");
	if (top->has_alternatives)
		push_bind_ro(plan, "/etc/alternatives", "/etc/alternatives");
}

/* A rootfs directory: each top-level entry bound read-only (symlinks
 * recreated as they are), so the fresh /proc, /dev and /tmp still fit. */
static void plan_dir_image(struct mount_plan *plan, const char *image_dir,
                           const struct root_listing *top)
{
	for (size_t i = 0; i < top->n; i++) {
		const struct root_entry *e = &top->entries[i];
		char *src, *dst;

		if (mount_plan_is_fresh_dir(e->name))
			continue;
		if (e->type == ROOT_ENTRY_LINK) {
			push(plan, STEP_SYMLINK, e->target, e->name);
			continue;
		}
		if (e->type != ROOT_ENTRY_DIR && e->type != ROOT_ENTRY_FILE)
			continue;
		src = xasprintf("%s/%s", image_dir, e->name);
		dst = xasprintf("/%s", e->name);
		push_bind_ro(plan, src, dst);
		free(src);
		free(dst);
	}
}

static int plan_spec_mount(struct mount_plan *plan, const struct sandbox_spec *spec, size_t i,
                           const int *prepared, uint64_t tmpfs_size, struct error *err)
{
	const struct mount_spec *m = &spec->mounts[i];

	if (m->dst == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: no path inside the sandbox",
		                 mount_option_name(m->kind));
	if (mount_plan_check_target(m->dst, err) < 0)
		return error_prefix(err, "%s %s", mount_option_name(m->kind), m->dst);
	if (m->kind == MOUNT_TMPFS) {
		push_tmpfs(plan, m->dst, m->size ? m->size : tmpfs_size, "0755");
	} else if (prepared && prepared[i] >= 0) {
		push(plan, STEP_PREPARED, NULL, m->dst)->index = i;
	} else if (m->src == NULL) {
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s %s: no host path to bind",
		                 mount_option_name(m->kind), m->dst);
	} else {
		push(plan, STEP_BIND, m->src, m->dst)->read_only = m->kind != MOUNT_BIND_RW;
	}
	plan->steps[plan->n - 1].spec_mount = (long)i;
	return 0;
}

int mount_plan_build(const struct sandbox_spec *spec, const char *image_dir,
                     const struct root_listing *top, const int *prepared, struct mount_plan *plan,
                     struct error *err)
{
	uint64_t tmpfs_size = spec->tmpfs_size ? spec->tmpfs_size : DEFAULT_TMPFS_SIZE;

	memset(plan, 0, sizeof(*plan));
	if (spec->image_kind == IMAGE_HOST)
		plan_host_image(plan, top);
	else
		plan_dir_image(plan, image_dir, top);
	push(plan, STEP_DEV, NULL, "/dev");
	push(plan, STEP_PROC, NULL, "/proc");
	push_tmpfs(plan, "/tmp", tmpfs_size, "1777");
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (plan_spec_mount(plan, spec, i, prepared, tmpfs_size, err) < 0)
			return -1;
	return 0;
}

void mount_plan_free(struct mount_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++) {
		free(plan->steps[i].src);
		free(plan->steps[i].dst);
	}
	free(plan->steps);
	plan->steps = NULL;
	plan->n = 0;
}

void mount_spec_add(struct sandbox_spec *spec, enum mount_kind kind, const char *src,
                    const char *dst, uint64_t size)
{
	struct mount_spec *m;

	spec->mounts = xrealloc(spec->mounts, (spec->n_mounts + 1) * sizeof(*spec->mounts));
	m = &spec->mounts[spec->n_mounts++];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->src = src ? xstrdup(src) : NULL;
	m->dst = xstrdup(dst);
	m->size = size;
}

void root_listing_add(struct root_listing *l, const char *name, enum root_entry_type type,
                      const char *target)
{
	struct root_entry *e;

	l->entries = xrealloc(l->entries, (l->n + 1) * sizeof(*l->entries));
	e = &l->entries[l->n++];
	e->name = xstrdup(name);
	e->type = type;
	e->target = target ? xstrdup(target) : NULL;
}

void root_listing_free(struct root_listing *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->entries[i].name);
		free(l->entries[i].target);
	}
	free(l->entries);
	l->entries = NULL;
	l->n = 0;
}
