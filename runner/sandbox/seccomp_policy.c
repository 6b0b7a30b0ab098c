/* seccomp_policy.c - see seccomp_policy.h */
#define _GNU_SOURCE
#include "sandbox/seccomp_policy.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"

enum deny_gate {
	ALWAYS,
	UNLESS_PTRACE,
	UNLESS_PERF,
};

enum deny_args {
	ANY_ARGS,
	CLONE_NS_FLAGS,    /* only when a CLONE_NEW* flag is set */
	PERSONA_NOT_KNOWN, /* only personas other than 0, ADDR_NO_RANDOMIZE, query */
	TTY_INJECTION,     /* only the TIOCSTI and TIOCLINUX requests */
};

/* The policy, one X(name, errno, gate, argument filter) per syscall.
 * Calls that do not exist on the build architecture (stime on x86_64) are
 * skipped when the filter is built. */
#define DENY_RULES(X)                                                                              \
	/* Mounts and namespaces are the runner's job: changing them from                          \
	 * inside could undo the isolation or reach the host's mounts. */                          \
	X(mount, EPERM, ALWAYS, ANY_ARGS)                                                          \
	X(umount2, EPERM, ALWAYS, ANY_ARGS)                                                        \
	X(pivot_root, EPERM, ALWAYS, ANY_ARGS)                                                     \
	X(move_mount, EPERM, ALWAYS, ANY_ARGS)                                                     \
	X(open_tree, EPERM, ALWAYS, ANY_ARGS)                                                      \
	X(open_tree_attr, EPERM, ALWAYS, ANY_ARGS)                                                 \
	X(fsopen, EPERM, ALWAYS, ANY_ARGS)                                                         \
	X(fsconfig, EPERM, ALWAYS, ANY_ARGS)                                                       \
	X(fsmount, EPERM, ALWAYS, ANY_ARGS)                                                        \
	X(fspick, EPERM, ALWAYS, ANY_ARGS)                                                         \
	X(mount_setattr, EPERM, ALWAYS, ANY_ARGS)                                                  \
	X(unshare, EPERM, ALWAYS, ANY_ARGS)                                                        \
	X(setns, EPERM, ALWAYS, ANY_ARGS)                                                          \
	X(clone, EPERM, ALWAYS, CLONE_NS_FLAGS)                                                    \
	/* clone3 passes its flags in a struct that seccomp cannot read, so                        \
	 * it cannot be filtered by flags.  ENOSYS (not EPERM) makes glibc                         \
	 * (pthread_create, posix_spawn, fork) fall back to clone, whose                           \
	 * flags are filtered above. */                                                            \
	X(clone3, ENOSYS, ALWAYS, ANY_ARGS)                                                        \
	/* Reading or steering other processes; sanitizers (LeakSanitizer)                         \
	 * and debuggers need it, hence the option. */                                             \
	X(ptrace, EPERM, UNLESS_PTRACE, ANY_ARGS)                                                  \
	X(process_vm_readv, EPERM, UNLESS_PTRACE, ANY_ARGS)                                        \
	X(process_vm_writev, EPERM, UNLESS_PTRACE, ANY_ARGS)                                       \
	X(pidfd_getfd, EPERM, UNLESS_PTRACE, ANY_ARGS)                                             \
	/* Replacing or extending the running kernel. */                                           \
	X(kexec_load, EPERM, ALWAYS, ANY_ARGS)                                                     \
	X(kexec_file_load, EPERM, ALWAYS, ANY_ARGS)                                                \
	X(init_module, EPERM, ALWAYS, ANY_ARGS)                                                    \
	X(finit_module, EPERM, ALWAYS, ANY_ARGS)                                                   \
	X(delete_module, EPERM, ALWAYS, ANY_ARGS)                                                  \
	/* Large kernel attack surface with a record of exploits and no use                        \
	 * in a build; perf_event_open is wanted by counter stages only. */                        \
	X(bpf, EPERM, ALWAYS, ANY_ARGS)                                                            \
	X(userfaultfd, EPERM, ALWAYS, ANY_ARGS)                                                    \
	X(keyctl, EPERM, ALWAYS, ANY_ARGS)                                                         \
	X(add_key, EPERM, ALWAYS, ANY_ARGS)                                                        \
	X(request_key, EPERM, ALWAYS, ANY_ARGS)                                                    \
	X(perf_event_open, EPERM, UNLESS_PERF, ANY_ARGS)                                           \
	/* Personas like READ_IMPLIES_EXEC or MMAP_PAGE_ZERO weaken W^X and                        \
	 * NULL-page protection; disabling ASLR is what benchmarks need. */                        \
	X(personality, EPERM, ALWAYS, PERSONA_NOT_KNOWN)                                           \
	/* Faking input on the caller's terminal (CVE-2017-5226). */                               \
	X(ioctl, EPERM, ALWAYS, TTY_INJECTION)                                                     \
	/* File handles skip the path walk, so they reach files outside the                        \
	 * sandbox root on the same filesystem ("shocker"). */                                     \
	X(open_by_handle_at, EPERM, ALWAYS, ANY_ARGS)                                              \
	X(name_to_handle_at, EPERM, ALWAYS, ANY_ARGS)                                              \
	/* Host-wide administration that outlives the run. */                                      \
	X(swapon, EPERM, ALWAYS, ANY_ARGS)                                                         \
	X(swapoff, EPERM, ALWAYS, ANY_ARGS)                                                        \
	X(reboot, EPERM, ALWAYS, ANY_ARGS)                                                         \
	X(acct, EPERM, ALWAYS, ANY_ARGS)                                                           \
	X(quotactl, EPERM, ALWAYS, ANY_ARGS)                                                       \
	X(quotactl_fd, EPERM, ALWAYS, ANY_ARGS)                                                    \
	X(sethostname, EPERM, ALWAYS, ANY_ARGS)                                                    \
	X(setdomainname, EPERM, ALWAYS, ANY_ARGS)                                                  \
	X(vhangup, EPERM, ALWAYS, ANY_ARGS)                                                        \
	/* The kernel log may hold other tenants' secrets and addresses. */                        \
	X(syslog, EPERM, ALWAYS, ANY_ARGS)                                                         \
	/* The system clock is shared and timings depend on it; read-only                          \
	 * adjtimex/ntp_gettime queries are denied too. */                                         \
	X(settimeofday, EPERM, ALWAYS, ANY_ARGS)                                                   \
	X(clock_settime, EPERM, ALWAYS, ANY_ARGS)                                                  \
	X(clock_adjtime, EPERM, ALWAYS, ANY_ARGS)                                                  \
	X(adjtimex, EPERM, ALWAYS, ANY_ARGS)                                                       \
	X(stime, EPERM, ALWAYS, ANY_ARGS)                                                          \
	/* Raw I/O port access. */                                                                 \
	X(iopl, EPERM, ALWAYS, ANY_ARGS)                                                           \
	X(ioperm, EPERM, ALWAYS, ANY_ARGS)                                                         \
	/* Obsolete interfaces: nothing current uses them, old exploits did. */                    \
	X(lookup_dcookie, EPERM, ALWAYS, ANY_ARGS)                                                 \
	X(nfsservctl, EPERM, ALWAYS, ANY_ARGS)                                                     \
	X(uselib, EPERM, ALWAYS, ANY_ARGS)

struct deny_rule {
	const char *name;
	int errnum;
	enum deny_gate gate;
	enum deny_args args;
};

#define DENY_RULE_ENTRY(name, errnum, gate, args) {#name, errnum, gate, args},
static const struct deny_rule deny_rules[] = {DENY_RULES(DENY_RULE_ENTRY)};

#define DENY_NAME_ENTRY(name, errnum, gate, args) #name,
static const char *const denied_names[] = {DENY_RULES(DENY_NAME_ENTRY) NULL};

/* Syscalls newer than libseccomp 2.5.4, by their number in the unified
 * table (424 and up), which x86_64 and arm64 share. */
static const struct {
	const char *name;
	int nr;
} newer_syscalls[] = {
#if defined(__x86_64__) || defined(__aarch64__)
    {"open_tree_attr", 467},
#endif
    {NULL, 0},
};

/* Bits of CLONE_NEW*; CLONE_NEWTIME shares its bit with the exit signal
 * byte of clone(2), where it never means a valid signal either. */
#define CLONE_NS_MASK                                                                              \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
	 CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME)

/* s390 swaps the first two clone arguments. */
#if defined(__s390__) || defined(__s390x__)
#define CLONE_FLAGS_ARG 1
#else
#define CLONE_FLAGS_ARG 0
#endif

/* The kernel reads the personality and the ioctl request as unsigned int:
 * compare only the low 32 bits so high garbage cannot hide a value. */
#define LOW32 0xffffffffULL

const char *const *seccomp_policy_denied_syscalls(void)
{
	return denied_names;
}

static int resolve_syscall(const char *name, int *nr, struct error *err)
{
	*nr = seccomp_syscall_resolve_name(name);
	if (*nr != __NR_SCMP_ERROR)
		return 0;
	for (size_t i = 0; newer_syscalls[i].name != NULL; i++) {
		if (strcmp(newer_syscalls[i].name, name) == 0) {
			*nr = newer_syscalls[i].nr;
			return 0;
		}
	}
	return error_set(err, EXIT_RUNNER_ERROR, 0,
	                 "seccomp: libseccomp does not know the syscall %s", name);
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, int nr, unsigned n_cmp,
                    const struct scmp_arg_cmp *cmp, struct error *err)
{
	int rc = seccomp_rule_add_array(ctx, action, nr, n_cmp, cmp);

	if (rc < 0)
		return error_set(err, EXIT_RUNNER_ERROR, -rc, "seccomp: adding the rule for %s",
		                 name);
	return 0;
}

static int add_masked_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, int nr,
                           unsigned arg, uint64_t mask, uint64_t value, struct error *err)
{
	struct scmp_arg_cmp cmp = SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, mask, value);

	return add_rule(ctx, action, name, nr, 1, &cmp, err);
}

/* Bit i of a 32-bit value, wrapping around. */
static uint64_t bit32(unsigned i)
{
	return 1ULL << (i % 32);
}

/* One rule per namespace flag: libseccomp has no "masked not equal". */
static int add_clone_rules(scmp_filter_ctx ctx, uint32_t action, const char *name, int nr,
                           struct error *err)
{
	for (unsigned i = 0; i < 32; i++) {
		uint64_t bit = bit32(i);

		if ((CLONE_NS_MASK & bit) &&
		    add_masked_rule(ctx, action, name, nr, CLONE_FLAGS_ARG, bit, bit, err) < 0)
			return -1;
	}
	return 0;
}

/* Deny every 32-bit persona except 0, ADDR_NO_RANDOMIZE and 0xffffffff.
 * libseccomp 2.5 rejects several comparisons of one argument in a rule, so
 * the complement is a union of single masked comparisons.  Any other value
 * has a set bit besides ADDR_NO_RANDOMIZE's bit a, and a clear bit; the run
 * of set bits starting there (cyclically) ends at a set bit k whose next
 * bit is clear.  Rule k is "bit k set, bit k+1 clear", for every k but a;
 * a run ending at a began below it, so bit a-1 is set and a+1 clear: one
 * extra rule.  No rule matches the three allowed values. */
static int add_personality_rules(scmp_filter_ctx ctx, uint32_t action, const char *name, int nr,
                                 struct error *err)
{
	unsigned a = (unsigned)__builtin_ctz(ADDR_NO_RANDOMIZE);

	for (unsigned k = 0; k < 32; k++) {
		if (k != a && add_masked_rule(ctx, action, name, nr, 0, bit32(k) | bit32(k + 1),
		                              bit32(k), err) < 0)
			return -1;
	}
	return add_masked_rule(ctx, action, name, nr, 0, bit32(a - 1) | bit32(a + 1), bit32(a - 1),
	                       err);
}

static int add_tty_rules(scmp_filter_ctx ctx, uint32_t action, const char *name, int nr,
                         struct error *err)
{
	if (add_masked_rule(ctx, action, name, nr, 1, LOW32, TIOCSTI, err) < 0)
		return -1;
	return add_masked_rule(ctx, action, name, nr, 1, LOW32, TIOCLINUX, err);
}

static bool rule_applies(const struct deny_rule *r, const struct seccomp_options *o)
{
	switch (r->gate) {
	case UNLESS_PTRACE: return !o->allow_ptrace;
	case UNLESS_PERF: return !o->allow_perf;
	case ALWAYS: break;
	}
	return true;
}

static int add_deny_rule(scmp_filter_ctx ctx, const struct deny_rule *r,
                         const struct seccomp_options *o, struct error *err)
{
	uint32_t action = o->log ? SCMP_ACT_LOG : SCMP_ACT_ERRNO((uint32_t)r->errnum);
	int nr;

	if (resolve_syscall(r->name, &nr, err) < 0)
		return -1;
	if (nr < 0)
		return 0; /* not on this architecture */
	switch (r->args) {
	case CLONE_NS_FLAGS: return add_clone_rules(ctx, action, r->name, nr, err);
	case PERSONA_NOT_KNOWN: return add_personality_rules(ctx, action, r->name, nr, err);
	case TTY_INJECTION: return add_tty_rules(ctx, action, r->name, nr, err);
	case ANY_ARGS: break;
	}
	return add_rule(ctx, action, r->name, nr, 0, NULL, err);
}

static int set_attr(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value,
                    const char *what, struct error *err)
{
	int rc = seccomp_attr_set(ctx, attr, value);

	if (rc < 0)
		return error_set(err, EXIT_RUNNER_ERROR, -rc, "seccomp: setting %s", what);
	return 0;
}

static int set_attrs(scmp_filter_ctx ctx, const struct seccomp_options *o, struct error *err)
{
	/* Native ABI only (seccomp_init adds no other): i386 and x32 calls
	 * would bypass every rule, so they fail like a denied call; killing
	 * would turn a stray 32-bit helper into a crash with no message. */
	if (set_attr(ctx, SCMP_FLTATR_ACT_BADARCH, o->log ? SCMP_ACT_LOG : SCMP_ACT_ERRNO(EPERM),
	             "the foreign ABI action", err) < 0)
		return -1;
	/* The runner sets no_new_privs itself, before dropping capabilities. */
	if (set_attr(ctx, SCMP_FLTATR_CTL_NNP, 0, "no_new_privs off", err) < 0)
		return -1;
	/* Deliberate trade-off: by default a seccomp filter may force the
	 * speculative store bypass mitigation on the task, which slows
	 * benchmarks by 15-50% and would make the measured binary
	 * unrepresentative.  SECCOMP_FILTER_FLAG_SPEC_ALLOW keeps the
	 * system's own SSB policy (prctl/boot parameter) instead. */
	if (set_attr(ctx, SCMP_FLTATR_CTL_SSB, 1, "SPEC_ALLOW (keep the SSB mitigation off)", err) <
	    0)
		return -1;
	/* A binary tree of syscall numbers instead of a linear list: the
	 * kernel emulates the filter for every syscall number when it loads
	 * it (to find the always-allowed ones), which took 107-148 us for the
	 * list and 60 us for the tree here; argument-filtered calls (ioctl,
	 * clone, personality) also reach their rules in fewer steps. */
	if (set_attr(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2, "binary tree optimisation", err) < 0)
		return -1;
	/* Report the kernel's errno from seccomp_load, not ECANCELED. */
	return set_attr(ctx, SCMP_FLTATR_API_SYSRAWRC, 1, "raw return codes", err);
}

/* Not a denial but a redirection: with ENOSYS glibc (its one early
 * GRND_NONBLOCK call), Rust std and CPython fall back to /dev/urandom
 * (measured, docs/entropy.md); EPERM or EAGAIN would make some of them
 * fail or spin instead.  It also keeps glibc's vDSO getrandom unused: the
 * vDSO needs a getrandom call to allocate its state.  Log mode logs it
 * like every rule (the run report then calls entropy degraded). */
static int add_entropy_rule(scmp_filter_ctx ctx, const struct seccomp_options *o, struct error *err)
{
	int nr;

	if (!o->deterministic_entropy)
		return 0;
	if (resolve_syscall("getrandom", &nr, err) < 0)
		return -1;
	return add_rule(ctx, o->log ? SCMP_ACT_LOG : SCMP_ACT_ERRNO(ENOSYS), "getrandom", nr, 0,
	                NULL, err);
}

static void filter_releasep(scmp_filter_ctx *ctx)
{
	int saved = errno;

	if (*ctx)
		seccomp_release(*ctx);
	errno = saved;
}

int seccomp_policy_build(const struct seccomp_options *o, scmp_filter_ctx *out, struct error *err)
{
	_cleanup_(filter_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

	*out = NULL;
	if (ctx == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "seccomp: creating the filter failed");
	if (set_attrs(ctx, o, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(deny_rules) / sizeof(deny_rules[0]); i++) {
		if (rule_applies(&deny_rules[i], o) &&
		    add_deny_rule(ctx, &deny_rules[i], o, err) < 0)
			return -1;
	}
	if (add_entropy_rule(ctx, o, err) < 0)
		return -1;
	*out = TAKE_PTR(ctx);
	return 0;
}

int seccomp_policy_compile(const struct seccomp_options *o, struct seccomp_program *p,
                           struct error *err)
{
	scmp_filter_ctx ctx;
	struct stat st;
	int fd, rc;

	memset(p, 0, sizeof(*p));
	if (seccomp_policy_build(o, &ctx, err) < 0)
		return -1;
	/* libseccomp 2.5 exports to a descriptor only. */
	fd = memfd_create("pgo-sandbox-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		seccomp_release(ctx);
		return error_set(err, EXIT_RUNNER_ERROR, errno, "seccomp: memfd_create");
	}
	rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (rc < 0) {
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, -rc, "seccomp: compiling the filter");
	}
	if (fstat(fd, &st) < 0) {
		int saved = errno;
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved,
		                 "seccomp: fstat of the compiled filter");
	}
	if (st.st_size <= 0 || st.st_size > (off_t)(BPF_MAXINSNS * sizeof(struct sock_filter)) ||
	    st.st_size % (off_t)sizeof(struct sock_filter) != 0) {
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "seccomp: compiled filter has a bad size (%lld bytes)",
		                 (long long)st.st_size);
	}
	p->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
	p->insns = xcalloc((size_t)p->len, sizeof(struct sock_filter));
	if (pread(fd, p->insns, (size_t)st.st_size, 0) != st.st_size) {
		close(fd);
		seccomp_program_free(p);
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "seccomp: reading the compiled filter");
	}
	close(fd);
	return 0;
}

void seccomp_program_free(struct seccomp_program *p)
{
	free(p->insns);
	p->insns = NULL;
	p->len = 0;
}

int seccomp_program_send(const struct seccomp_program *p, int sock_fd, struct error *err)
{
	size_t size = (size_t)p->len * sizeof(struct sock_filter);
	ssize_t n;

	do
		n = send(sock_fd, p->insns, size, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
		return 1;
	if (n != (ssize_t)size)
		return error_set(err, EXIT_RUNNER_ERROR, n < 0 ? errno : EMSGSIZE,
		                 "seccomp: handing the filter to the sandbox");
	return 0;
}

int seccomp_program_receive(int sock_fd, struct seccomp_program *p, struct error *err)
{
	size_t max = BPF_MAXINSNS * sizeof(struct sock_filter);
	ssize_t n;

	memset(p, 0, sizeof(*p));
	p->insns = xcalloc(BPF_MAXINSNS, sizeof(struct sock_filter));
	do
		n = recv(sock_fd, p->insns, max, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n <= 0 || (size_t)n > max || n % (ssize_t)sizeof(struct sock_filter) != 0) {
		int saved = n < 0 ? errno : 0;
		seccomp_program_free(p);
		return error_set(err, EXIT_RUNNER_ERROR, saved,
		                 n == 0 ? "seccomp: the runner sent no filter"
		                        : "seccomp: receiving the filter");
	}
	p->len = (unsigned short)((size_t)n / sizeof(struct sock_filter));
	return 0;
}

int seccomp_program_load(const struct seccomp_program *p, struct error *err)
{
	struct sock_fprog prog = {.len = p->len, .filter = p->insns};

	/* Deliberate trade-off, see set_attrs: SPEC_ALLOW keeps the system's
	 * own speculative store bypass policy for the measured workload. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog) <
	    0)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 errno == EACCES
		                     ? "seccomp: loading the filter (set no_new_privs first)"
		                     : "seccomp: loading the filter");
	return 0;
}

int seccomp_policy_install(const struct seccomp_options *o, struct error *err)
{
	struct seccomp_program p;
	int rc;

	if (seccomp_policy_compile(o, &p, err) < 0)
		return -1;
	rc = seccomp_program_load(&p, err);
	seccomp_program_free(&p);
	return rc;
}

int seccomp_policy_export(const struct seccomp_options *o, int fd, bool pfc, struct error *err)
{
	scmp_filter_ctx ctx;
	int rc;

	if (seccomp_policy_build(o, &ctx, err) < 0)
		return -1;
	rc = pfc ? seccomp_export_pfc(ctx, fd) : seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (rc < 0)
		return error_set(err, EXIT_RUNNER_ERROR, -rc, "seccomp: exporting the filter");
	return 0;
}
