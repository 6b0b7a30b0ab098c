/* namespaces.c - see namespaces.h */
#define _GNU_SOURCE
#include "namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

uint64_t namespaces_clone_flags(const struct sandbox_spec *spec)
{
	uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC |
	                 CLONE_NEWCGROUP;

	if (spec->userns)
		flags |= CLONE_NEWUSER;
	return flags;
}

static int write_proc_file(pid_t pid, const char *name, const char *text, struct error *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	return write_file(path, text, strlen(text), err);
}

int namespaces_write_id_maps(pid_t child, const struct sandbox_spec *spec, struct error *err)
{
	uid_t outside_uid = getuid();
	gid_t outside_gid = getgid();
	char map[64];

	/* Root asking for uid 0 inside gets it only through the user
	 * namespace, mapped to an unprivileged host id, so the command can
	 * never act as real host root. */
	if (outside_uid == 0) {
		outside_uid = DEFAULT_UNPRIVILEGED_ID;
		outside_gid = DEFAULT_UNPRIVILEGED_ID;
	} else if (write_proc_file(child, "setgroups", "deny", err) < 0) {
		return error_prefix(err, "user namespace");
	}
	snprintf(map, sizeof(map), "%u %u 1\n", spec->uid, (unsigned)outside_uid);
	if (write_proc_file(child, "uid_map", map, err) < 0)
		return error_prefix(err, "user namespace");
	snprintf(map, sizeof(map), "%u %u 1\n", spec->gid, (unsigned)outside_gid);
	if (write_proc_file(child, "gid_map", map, err) < 0)
		return error_prefix(err, "user namespace");
	return 0;
}

/* Consumes fd, a socket of the namespace whose lo comes up. */
static int loopback_up_on(int fd, struct error *err)
{
	struct ifreq ifr;

	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "socket for loopback setup");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		int saved = errno;
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "reading flags of lo");
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		int saved = errno;
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved, "bringing lo up");
	}
	close(fd);
	return 0;
}

static int loopback_up(struct error *err)
{
	return loopback_up_on(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err);
}

static bool runner_brings_lo_up(const struct sandbox_spec *spec)
{
	/* Entering a network namespace owned by the sandbox's user
	 * namespace needs privileges there the runner does not have. */
	return !spec->userns;
}

int namespaces_loopback_up_from_outside(const struct sandbox_spec *spec, int pidfd,
                                        struct error *err)
{
	int self, sock, saved;

	if (!runner_brings_lo_up(spec))
		return 0;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening /proc/self/ns/net");
	if (setns(pidfd, CLONE_NEWNET) < 0) {
		saved = errno;
		close(self);
		return error_set(err, EXIT_RUNNER_ERROR, saved,
		                 "entering the sandbox's network namespace");
	}
	/* A socket stays in the namespace it was made in. */
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	saved = errno;
	if (setns(self, CLONE_NEWNET) < 0) {
		int e = errno;
		close(self);
		if (sock >= 0)
			close(sock);
		return error_set(err, EXIT_RUNNER_ERROR, e,
		                 "returning to the host network namespace");
	}
	close(self);
	errno = saved;
	return loopback_up_on(sock, err);
}

int namespaces_setup_inside(const struct sandbox_spec *spec, struct run_report *r,
                            struct error *err)
{
	if (sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "setting hostname %s",
		                 spec->hostname);
	if (setdomainname("", 0) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "clearing domainname");
	if (!runner_brings_lo_up(spec) && loopback_up(err) < 0)
		return -1;
	report_control(r, "ns.mount", CONTROL_APPLIED, "new mount namespace");
	report_control(r, "ns.pid", CONTROL_APPLIED, "new pid namespace, minimal init as pid 1");
	report_control(r, "ns.net", CONTROL_APPLIED, "new network namespace, only lo up");
	report_control(r, "ns.uts", CONTROL_APPLIED, "hostname %s", spec->hostname);
	report_control(r, "ns.ipc", CONTROL_APPLIED, "new ipc namespace");
	report_control(r, "ns.cgroup", CONTROL_APPLIED, "new cgroup namespace");
	report_control(
	    r, "ns.user", CONTROL_APPLIED, "%s",
	    spec->userns ? "new user namespace, single-id maps"
	                 : "none needed: started as root, the command runs as an unprivileged uid");
	return 0;
}
