/* namespaces.c - see namespaces.h */
#define _GNU_SOURCE
#include "sandbox/namespaces.h"

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
	uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;

	if (spec->userns)
		flags |= CLONE_NEWUSER;
	if (!namespaces_runner_makes_net(spec))
		flags |= CLONE_NEWNET;
	return flags;
}

int namespaces_write_proc_file(pid_t pid, const char *name, const char *text, struct error *err)
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
	} else if (namespaces_write_proc_file(child, "setgroups", "deny", err) < 0) {
		return error_prefix(err, "user namespace");
	}
	snprintf(map, sizeof(map), "%u %u 1\n", spec->uid, (unsigned)outside_uid);
	if (namespaces_write_proc_file(child, "uid_map", map, err) < 0)
		return error_prefix(err, "user namespace");
	snprintf(map, sizeof(map), "%u %u 1\n", spec->gid, (unsigned)outside_gid);
	if (namespaces_write_proc_file(child, "gid_map", map, err) < 0)
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

bool namespaces_runner_makes_net(const struct sandbox_spec *spec)
{
	/* A network namespace the sandbox's root must own has to come from
	 * the clone into its user namespace; the runner holds no privilege
	 * there (and none at all when rootless). */
	return !spec->userns;
}

/* Runs in the runner: unshare moves only the runner itself, which returns
 * to the namespace it came from before anything else happens. */
int namespaces_net_create(int *net_fd, struct error *err)
{
	int home, sock, saved, sock_errno;

	*net_fd = -1;
	home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening /proc/thread-self/ns/net");
	if (unshare(CLONE_NEWNET) < 0) {
		saved = errno;
		close(home);
		return error_set(err, EXIT_RUNNER_ERROR, saved,
		                 "creating the sandbox's network namespace");
	}
	*net_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	saved = errno;
	/* A socket stays in the namespace it was made in. */
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sock_errno = errno;
	if (setns(home, CLONE_NEWNET) < 0) {
		int e = errno;
		close(home);
		if (sock >= 0)
			close(sock);
		return error_set(err, EXIT_RUNNER_ERROR, e,
		                 "returning to the host network namespace");
	}
	close(home);
	if (*net_fd < 0) {
		if (sock >= 0)
			close(sock);
		return error_set(err, EXIT_RUNNER_ERROR, saved,
		                 "opening the new network namespace");
	}
	errno = sock_errno; /* what loopback_up_on reports if there is no socket */
	if (loopback_up_on(sock, err) < 0) {
		close(*net_fd);
		*net_fd = -1;
		return -1;
	}
	return 0;
}

int namespaces_net_send(int sock_fd, int net_fd, struct error *err)
{
	char tag = 'n';
	ssize_t n;

	n = send_fd(sock_fd, net_fd, &tag, 1);
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
		return 1;
	if (n != 1)
		return error_set(err, EXIT_RUNNER_ERROR, n < 0 ? errno : EIO,
		                 "handing the network namespace to the sandbox");
	return 0;
}

int namespaces_net_enter(int sock_fd, struct error *err)
{
	char tag = 0;
	int fd = -1;
	ssize_t n;

	n = recv_fd(sock_fd, &fd, &tag, 1);
	if (n != 1 || tag != 'n' || fd < 0) {
		int saved = n < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved,
		                 "receiving the network namespace from the runner");
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		int saved = errno;
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, saved,
		                 "entering the sandbox's network namespace");
	}
	close(fd);
	return 0;
}

int namespaces_setup_inside(const struct sandbox_spec *spec, struct run_report *r,
                            struct error *err)
{
	if (sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "setting hostname %s",
		                 spec->hostname);
	if (setdomainname("", 0) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "clearing domainname");
	if (!namespaces_runner_makes_net(spec) && loopback_up(err) < 0)
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
