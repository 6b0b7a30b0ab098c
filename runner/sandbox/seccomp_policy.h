/* seccomp_policy.h - the syscall filter loaded into the command's process
 * last, right before execve: default allow, and EPERM for the calls a build
 * or a benchmark has no business making (mount and namespace changes,
 * kernel loading, tracing, host clocks and administration, terminal
 * injection...).  The full list, with the reason for each group, is at the
 * top of seccomp_policy.c.
 *
 * Only the native ABI is allowed: i386 (int $0x80) and x32 calls get EPERM
 * instead of running unfiltered. */
#ifndef PGO_SECCOMP_POLICY_H
#define PGO_SECCOMP_POLICY_H

#include <stdbool.h>

#include <linux/filter.h>

#include <seccomp.h>

#include "base/util.h"

struct seccomp_options {
	bool log;          /* SCMP_ACT_LOG instead of EPERM for denied calls, to learn a workload */
	bool allow_ptrace; /* ptrace, process_vm_readv/writev, pidfd_getfd */
	bool allow_perf;   /* perf_event_open allowed (counter stages) */
	/* getrandom answers ENOSYS, so libraries read /dev/urandom, which a
	 * deterministic-entropy sandbox replaces (sandbox/entropy.h) */
	bool deterministic_entropy;
};

/* Build the filter without loading it; the caller owns *out and frees it
 * with seccomp_release().  *out is NULL on failure. */
int seccomp_policy_build(const struct seccomp_options *o, scmp_filter_ctx *out, struct error *err);

/* The filter compiled to classic BPF, ready for seccomp(2). */
struct seccomp_program {
	struct sock_filter *insns;
	unsigned short len;
};

/* Build the filter and compile it to BPF; free with seccomp_program_free.
 * The runner compiles while the sandbox's mounts are being set up and hands
 * the program over (seccomp_program_send/receive), so libseccomp's work is
 * off the start-up path. */
int seccomp_policy_compile(const struct seccomp_options *o, struct seccomp_program *p,
                           struct error *err);
void seccomp_program_free(struct seccomp_program *p);

/* One SOCK_SEQPACKET message carries the whole program; a closed socket
 * without a message is an error (the runner failed to compile it).  Send
 * returns 1, without an error, when the receiving end is closed. */
int seccomp_program_send(const struct seccomp_program *p, int sock_fd, struct error *err);
int seccomp_program_receive(int sock_fd, struct seccomp_program *p, struct error *err);

/* Load into the calling thread only (no TSYNC), with SPEC_ALLOW.  Call it
 * last before execve, after PR_SET_NO_NEW_PRIVS and dropping capabilities:
 * loading fails with EACCES when the caller forgot no_new_privs and lacks
 * CAP_SYS_ADMIN. */
int seccomp_program_load(const struct seccomp_program *p, struct error *err);

/* Compile and load in one step (tests, tools). */
int seccomp_policy_install(const struct seccomp_options *o, struct error *err);

/* Write the filter to fd as libseccomp pseudo filter code (pfc = true,
 * human readable) or as the raw BPF program (for --seccomp-export). */
int seccomp_policy_export(const struct seccomp_options *o, int fd, bool pfc, struct error *err);

/* NULL-terminated list of every syscall the policy may deny, gated ones
 * (ptrace, perf_event_open...) and argument-filtered ones (clone,
 * personality, ioctl) included; for docs and the prober test. */
const char *const *seccomp_policy_denied_syscalls(void);

#endif
