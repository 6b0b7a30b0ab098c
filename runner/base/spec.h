/* spec.h - one struct describes a run.  It is built from the command line
 * (cli.c) or from a profile file, and passed down to every module; no module
 * keeps global state of its own. */
#ifndef PGO_SPEC_H
#define PGO_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

enum image_kind {
	IMAGE_HOST,    /* host /usr read-only + generated /etc */
	IMAGE_DIR,     /* a rootfs directory, bound read-only */
	IMAGE_TARBALL, /* a rootfs tarball, extracted safely first */
};

enum mount_kind {
	MOUNT_BIND_RO,
	MOUNT_BIND_RW,
	MOUNT_BIND_RO_IDMAP, /* read-only, the tree's owner seen as the sandbox user */
	MOUNT_TMPFS,
};

struct mount_spec {
	enum mount_kind kind;
	char *src;     /* host path; NULL for tmpfs */
	char *dst;     /* absolute path inside the sandbox */
	uint64_t size; /* tmpfs size in bytes */
};

struct rlimit_spec {
	int resource; /* RLIMIT_* */
	uint64_t soft;
	uint64_t hard;
};

#define SPEC_MAX_RLIMITS 16
#define DEFAULT_TMPFS_SIZE (1024ULL * 1024 * 1024)
#define DEFAULT_KILL_GRACE_NS (2ULL * 1000 * 1000 * 1000)
#define DEFAULT_HOSTNAME "pgo-sandbox"
#define DEFAULT_UNPRIVILEGED_ID 65534u

#define SPEC_WARN_CPUS 1u
#define SPEC_WARN_MEMORY 2u
#define SPEC_WARN_PIDS 4u
#define SPEC_WARN_TURBO 8u

struct sandbox_spec {
	char **argv; /* the command, NULL-terminated */

	/* root filesystem */
	enum image_kind image_kind;
	char *image_path;
	struct mount_spec *mounts;
	size_t n_mounts;
	char *chdir;          /* working directory inside, default "/" */
	uint64_t tmpfs_size;  /* bound for /tmp, /dev/shm and --tmpfs */
	bool force_path_walk; /* test hook: resolve without openat2 */
	bool no_idmap;        /* test hook: behave as if no filesystem could idmap */

	/* identity and environment */
	char *hostname;
	uint32_t uid, gid; /* inside the sandbox */
	bool uid_set, gid_set;
	bool userns;     /* use a user namespace (always when not root) */
	char **keep_env; /* names of caller variables passed through */
	size_t n_keep_env;
	char **set_env; /* "K=V" */
	size_t n_set_env;
	char *source_date_epoch;
	int *pass_fds;
	size_t n_pass_fds;

	/* limits */
	uint64_t timeout_ns; /* 0 = none */
	uint64_t kill_grace_ns;
	struct rlimit_spec rlimits[SPEC_MAX_RLIMITS];
	size_t n_rlimits;

	/* seccomp */
	bool seccomp_log; /* log instead of deny, to learn a workload */
	bool allow_ptrace;
	bool allow_perf; /* perf_event_open for counter stages */
	bool no_aslr;    /* personality(ADDR_NO_RANDOMIZE) */
	/* Deterministic entropy (sandbox/entropy.h) keyed by this seed:
	 * getrandom answers ENOSYS, /dev/urandom and /dev/random are a
	 * reproducible stream.  NULL: the host's entropy. */
	char *entropy_seed;

	/* cgroup v2 */
	char *cgroup_parent; /* NULL = pgo-sandbox below the cgroup2 root */
	uint8_t cpus[CPU_LIST_MAX / 8];
	bool cpus_set;
	uint64_t memory_max;       /* 0 = unset */
	uint64_t pids_max;         /* 0 = unset */
	uint64_t cpu_weight;       /* 0 = unset */
	uint64_t cpu_max_quota_us; /* 0 = unset */
	uint64_t cpu_max_period_us;

	/* host tuning */
	bool no_turbo;
	char *governor;
	char *sysfs_root; /* "/" normally; a fake tree in tests */
	char *state_dir;  /* where host-tuning state lives (/run/pgo-sandbox) */

	bool strict; /* any degraded control is an error */
	/* SPEC_WARN_* bits: the limits the caller asked for explicitly.  One
	 * that is degraded or unavailable gets a line on stderr even without
	 * strict (the report alone is too easy to miss). */
	unsigned warn_limits;
	char *report_path; /* --report FILE.json */

	/* Called by the runner right after the sandbox's setup process is
	 * cloned and before it is released: `pid` (a host pid) has not run
	 * anything of the sandbox yet, so what the hook attaches to it (perf
	 * counters with inherit=1) follows it into the command.  Returning
	 * -1 aborts the run with err.  Owned by the caller, never freed. */
	int (*on_spawn)(pid_t pid, void *arg, struct error *err);
	void *on_spawn_arg;
};

void spec_init(struct sandbox_spec *spec);
void spec_free(struct sandbox_spec *spec);

#endif
