/* privileges.c - see privileges.h */
#define _GNU_SOURCE
#include "sandbox/privileges.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
    {"as", RLIMIT_AS},
    {"core", RLIMIT_CORE},
    {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},
    {"fsize", RLIMIT_FSIZE},
    {"memlock", RLIMIT_MEMLOCK},
    {"nofile", RLIMIT_NOFILE},
    {"nproc", RLIMIT_NPROC},
    {"stack", RLIMIT_STACK},
    {"msgqueue", RLIMIT_MSGQUEUE},
    {"nice", RLIMIT_NICE},
    {"rtprio", RLIMIT_RTPRIO},
    {"sigpending", RLIMIT_SIGPENDING},
};

int privileges_rlimit_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (strcmp(rlimit_names[i].name, name) == 0)
			return rlimit_names[i].resource;
	return -1;
}

int privileges_apply_rlimits(const struct sandbox_spec *spec, struct run_report *r,
                             struct error *err)
{
	bool core_set = false;

	for (size_t i = 0; i < spec->n_rlimits; i++) {
		struct rlimit rl = {.rlim_cur = spec->rlimits[i].soft,
		                    .rlim_max = spec->rlimits[i].hard};
		if (spec->rlimits[i].resource == RLIMIT_CORE)
			core_set = true;
		if (setrlimit(spec->rlimits[i].resource, &rl) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "setrlimit %d to %llu",
			                 spec->rlimits[i].resource,
			                 (unsigned long long)spec->rlimits[i].soft);
	}
	if (!core_set) {
		struct rlimit zero = {0, 0};
		if (setrlimit(RLIMIT_CORE, &zero) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "setting RLIMIT_CORE to 0");
	}
	report_control(r, "rlimits", CONTROL_APPLIED, "core %s, %zu explicit",
	               core_set ? "as given" : "0", spec->n_rlimits);
	return 0;
}

/* The bounding set must go while we still hold CAP_SETPCAP, i.e. before
 * the uid change clears the permitted set. */
static int drop_bounding_set(struct error *err)
{
	for (cap_value_t cap = 0; cap <= CAP_LAST_CAP || cap_valid(cap); cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) <= 0)
			continue;
		if (cap_drop_bound(cap) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "dropping capability %d from the bounding set", cap);
	}
	return 0;
}

static int clear_all_capabilities(struct error *err)
{
	cap_t empty = cap_init();
	int rc = 0;

	if (empty == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "cap_init");
	if (cap_set_proc(empty) < 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "clearing capability sets");
	cap_free(empty);
	if (rc == 0 && cap_reset_ambient() < 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "clearing ambient capabilities");
	return rc;
}

static int verify_no_capabilities(struct error *err)
{
	cap_t now = cap_get_proc();
	cap_t empty = cap_init();
	int differs;

	if (now == NULL || empty == NULL) {
		cap_free(now);
		cap_free(empty);
		return error_set(err, EXIT_RUNNER_ERROR, errno, "reading capabilities");
	}
	differs = cap_compare(now, empty);
	cap_free(now);
	cap_free(empty);
	if (differs)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "capabilities remain after dropping them");
	return 0;
}

int privileges_drop(const struct sandbox_spec *spec, struct run_report *r, struct error *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "PR_SET_NO_NEW_PRIVS");
	if (drop_bounding_set(err) < 0)
		return -1;
	/* Outside a user namespace we can and must shed the runner's
	 * supplementary groups; inside one setgroups is denied (rootless) or
	 * only affects mapped ids. */
	if (setgroups(0, NULL) < 0) {
		if (!spec->userns)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "clearing supplementary groups");
		report_control(
		    r, "groups", CONTROL_DEGRADED,
		    "setgroups denied in the user namespace; unmapped groups show as nogroup");
	} else {
		report_control(r, "groups", CONTROL_APPLIED, "supplementary groups cleared");
	}
	if (setresgid(spec->gid, spec->gid, spec->gid) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "setting gid %u", spec->gid);
	if (setresuid(spec->uid, spec->uid, spec->uid) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "setting uid %u", spec->uid);
	if (clear_all_capabilities(err) < 0 || verify_no_capabilities(err) < 0)
		return -1;
	report_control(r, "no_new_privs", CONTROL_APPLIED, "PR_SET_NO_NEW_PRIVS");
	report_control(r, "capabilities", CONTROL_APPLIED,
	               "all sets empty: effective, permitted, inheritable, bounding, ambient");
	report_control(r, "identity", CONTROL_APPLIED, "uid %u gid %u%s", spec->uid, spec->gid,
	               spec->userns ? " inside a user namespace" : "");
	return 0;
}

int privileges_close_fds(const struct sandbox_spec *spec, struct run_report *r, struct error *err)
{
	/* Mark rather than close: the exec-status pipe must survive until
	 * execve succeeds, and close-on-exec leaves nothing behind after. */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "marking descriptors close-on-exec");
	for (size_t i = 0; i < spec->n_pass_fds; i++) {
		int fd = spec->pass_fds[i];
		int flags = fcntl(fd, F_GETFD);

		if (flags < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "--pass-fd %d", fd);
		if (fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno, "--pass-fd %d", fd);
	}
	report_control(r, "fds", CONTROL_APPLIED, "every fd >= 3 close-on-exec, %zu passed",
	               spec->n_pass_fds);
	return 0;
}
