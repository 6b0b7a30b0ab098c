/* seccomp_probe - attempt every call the seccomp policy denies, plus a few
 * it must keep allowing, and print one line per attempt:
 *
 *     <name> <result> <ok|ERRNO-NAME>      e.g. "mount -1 EPERM"
 *     <name> signal <SIGNAME>              the attempt was killed
 *
 * Names are "<syscall>" or "<syscall>:<variant>"; allowed controls start
 * with "control:".  Then the seccomp, no_new_privs and speculation lines of
 * /proc/self/status as "status:<Key> <value>".
 *
 * Standalone (no runner code).  Every argument is chosen so that the call
 * fails or does nothing even when run unconfined as root: nonexistent
 * paths, bad descriptors, invalid flags, a reboot without its magic.  Each
 * attempt runs in its own forked child so namespaces, personas or a
 * session change die with it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asm/unistd.h>

#ifndef SYS_open_tree_attr
#define SYS_open_tree_attr 467
#endif

#define NO_PATH "/nonexistent-pgo-seccomp-probe"
#define NO_PID 0x7ffffff0L /* above PID_MAX_LIMIT */
#define BAD_FLAGS 0x8000UL /* unknown to kexec, fsopen... */
#define BAD_CLOCK 0x7fffL  /* no such clock id */
#define I386_NR_GETPID 20

extern char **environ;

struct outcome {
	long ret;
	int err;
};

struct attempt {
	const char *name;
	long (*fn)(void);
};

/* --- namespaces and mounts --- */

static long try_mount(void)
{
	return syscall(SYS_mount, "none", NO_PATH, "tmpfs", 0UL, NULL);
}

static long try_umount2(void)
{
	return syscall(SYS_umount2, NO_PATH, 0);
}

static long try_pivot_root(void)
{
	return syscall(SYS_pivot_root, NO_PATH, NO_PATH);
}

static long try_move_mount(void)
{
	return syscall(SYS_move_mount, -1, NO_PATH, -1, NO_PATH, 0);
}

static long try_open_tree(void)
{
	return syscall(SYS_open_tree, -1, NO_PATH, 0);
}

static long try_open_tree_attr(void)
{
	return syscall(SYS_open_tree_attr, -1, NO_PATH, 0, NULL, 0);
}

static long try_fsopen(void)
{
	return syscall(SYS_fsopen, "tmpfs", BAD_FLAGS);
}

static long try_fsconfig(void)
{
	return syscall(SYS_fsconfig, -1, 0 /* FSCONFIG_SET_FLAG */, "ro", NULL, 0);
}

static long try_fsmount(void)
{
	return syscall(SYS_fsmount, -1, 0, 0);
}

static long try_fspick(void)
{
	return syscall(SYS_fspick, -1, NO_PATH, 0);
}

static long try_mount_setattr(void)
{
	return syscall(SYS_mount_setattr, -1, NO_PATH, 0, NULL, 0);
}

static long try_unshare(void)
{
	return syscall(SYS_unshare, CLONE_NEWUTS);
}

static long try_setns(void)
{
	return syscall(SYS_setns, -1, 0);
}

/* A raw clone without CLONE_VM returns in a copy of this child, like fork. */
static long raw_clone(unsigned long flags)
{
	long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0UL);

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, __WALL);
	return pid;
}

static long try_clone_newns(void)
{
	return raw_clone(CLONE_NEWNS);
}
static long try_clone_newcgroup(void)
{
	return raw_clone(CLONE_NEWCGROUP);
}
static long try_clone_newuts(void)
{
	return raw_clone(CLONE_NEWUTS);
}
static long try_clone_newipc(void)
{
	return raw_clone(CLONE_NEWIPC);
}
static long try_clone_newuser(void)
{
	return raw_clone(CLONE_NEWUSER);
}
static long try_clone_newpid(void)
{
	return raw_clone(CLONE_NEWPID);
}
static long try_clone_newnet(void)
{
	return raw_clone(CLONE_NEWNET);
}
static long try_clone_newtime(void)
{
	return raw_clone(CLONE_NEWTIME);
}

static long try_clone3(void)
{
	return syscall(SYS_clone3, NULL, 0UL); /* size 0: EINVAL if it ran */
}

/* --- tracing --- */

static long try_ptrace(void)
{
	return syscall(SYS_ptrace, 16L /* PTRACE_ATTACH */, NO_PID, NULL, NULL);
}

static long try_process_vm_readv(void)
{
	return syscall(SYS_process_vm_readv, NO_PID, NULL, 0UL, NULL, 0UL, 0UL);
}

static long try_process_vm_writev(void)
{
	return syscall(SYS_process_vm_writev, NO_PID, NULL, 0UL, NULL, 0UL, 0UL);
}

static long try_pidfd_getfd(void)
{
	return syscall(SYS_pidfd_getfd, -1, 0, 0);
}

/* --- kernel loading --- */

static long try_kexec_load(void)
{
	return syscall(SYS_kexec_load, 0UL, 0UL, NULL, BAD_FLAGS);
}

static long try_kexec_file_load(void)
{
	return syscall(SYS_kexec_file_load, -1, -1, 0UL, NULL, BAD_FLAGS);
}

static long try_init_module(void)
{
	return syscall(SYS_init_module, NULL, 0UL, ""); /* too short for an ELF header */
}

static long try_finit_module(void)
{
	return syscall(SYS_finit_module, -1, "", 0);
}

static long try_delete_module(void)
{
	return syscall(SYS_delete_module, "pgo_no_such_module", O_NONBLOCK);
}

/* --- kernel attack surface --- */

static long try_bpf(void)
{
	return syscall(SYS_bpf, 0x7fff, NULL, 0);
}

static long try_userfaultfd(void)
{
	return syscall(SYS_userfaultfd, 0x7fffffff);
}

static long try_keyctl(void)
{
	return syscall(SYS_keyctl, 0x7fff, 0, 0, 0, 0);
}

static long try_add_key(void)
{
	return syscall(SYS_add_key, NULL, NULL, NULL, 0UL, 0);
}

static long try_request_key(void)
{
	return syscall(SYS_request_key, NULL, NULL, NULL, 0);
}

static long try_perf_event_open(void)
{
	return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0UL);
}

/* --- personality and terminals --- */

static long try_personality_linux32(void)
{
	return syscall(SYS_personality, (unsigned long)PER_LINUX32);
}

static long try_personality_high_bits(void)
{
	/* The kernel sees 0x8; a filter comparing 64 bits would see neither. */
	return syscall(SYS_personality, (1UL << 32) | PER_LINUX32);
}

static long try_ioctl_tiocsti(void)
{
	return syscall(SYS_ioctl, -1, (unsigned long)TIOCSTI, NULL);
}

static long try_ioctl_tiocsti_high(void)
{
	return syscall(SYS_ioctl, -1, (1UL << 32) | TIOCSTI, NULL);
}

static long try_ioctl_tioclinux(void)
{
	return syscall(SYS_ioctl, -1, (unsigned long)TIOCLINUX, NULL);
}

/* --- file handles --- */

static long try_open_by_handle_at(void)
{
	return syscall(SYS_open_by_handle_at, -1, NULL, 0);
}

static long try_name_to_handle_at(void)
{
	return syscall(SYS_name_to_handle_at, AT_FDCWD, NO_PATH, NULL, NULL, 0);
}

/* --- host administration --- */

static long try_swapon(void)
{
	return syscall(SYS_swapon, NO_PATH, 0);
}

static long try_swapoff(void)
{
	return syscall(SYS_swapoff, NO_PATH);
}

static long try_reboot(void)
{
	return syscall(SYS_reboot, 0, 0, 0, NULL); /* no magic: EINVAL */
}

static long try_acct(void)
{
	return syscall(SYS_acct, NO_PATH);
}

static long try_quotactl(void)
{
	return syscall(SYS_quotactl, -1, NULL, 0, NULL); /* bad quota type */
}

static long try_quotactl_fd(void)
{
	return syscall(SYS_quotactl_fd, -1, 0, 0, NULL);
}

static long try_sethostname(void)
{
	return syscall(SYS_sethostname, NULL, 1000UL); /* longer than allowed */
}

static long try_setdomainname(void)
{
	return syscall(SYS_setdomainname, NULL, 1000UL);
}

static long try_vhangup(void)
{
	/* Without a controlling terminal there is nothing to hang up. */
	if (setsid() < 0)
		return -1;
	return syscall(SYS_vhangup);
}

static long try_syslog(void)
{
	return syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
}

/* --- clocks --- */

static long try_settimeofday(void)
{
	struct timeval bad = {.tv_sec = 0, .tv_usec = 2000000};

	return syscall(SYS_settimeofday, &bad, NULL);
}

static long try_clock_settime(void)
{
	return syscall(SYS_clock_settime, BAD_CLOCK, NULL);
}

static long try_clock_adjtime(void)
{
	return syscall(SYS_clock_adjtime, BAD_CLOCK, NULL);
}

static long try_adjtimex(void)
{
	return syscall(SYS_adjtimex, NULL);
}

/* --- I/O ports and obsolete calls --- */

static long try_iopl(void)
{
	return syscall(SYS_iopl, 4); /* levels stop at 3 */
}

static long try_ioperm(void)
{
	return syscall(SYS_ioperm, 0UL, 0UL, 0); /* empty range */
}

static long try_lookup_dcookie(void)
{
	return syscall(SYS_lookup_dcookie, 0ULL, NULL, 0UL);
}

static long try_nfsservctl(void)
{
	return syscall(SYS_nfsservctl, 0, NULL, NULL);
}

static long try_uselib(void)
{
	return syscall(SYS_uselib, NULL);
}

/* --- other ABIs --- */

/* int $0x80 enters the i386 table even from a 64-bit process; the kernel
 * returns a 32-bit result in eax. */
static long try_i386_getpid(void)
{
	long ret = I386_NR_GETPID;

	__asm__ volatile("int $0x80" : "+a"(ret) : : "r8", "r9", "r10", "r11", "cc", "memory");
	ret = (int)ret;
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

static long try_x32_getpid(void)
{
	return syscall(__X32_SYSCALL_BIT | __NR_getpid);
}

/* --- controls: these must keep working --- */

static long control_getpid(void)
{
	return syscall(SYS_getpid);
}

static long control_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return pid;
}

static long control_clone_plain(void)
{
	return raw_clone(0);
}

static void *thread_main(void *arg)
{
	return arg;
}

/* glibc tries clone3 first and falls back to clone on ENOSYS. */
static long control_pthread_create(void)
{
	pthread_t t;
	int rc = pthread_create(&t, NULL, thread_main, NULL);

	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return pthread_join(t, NULL) == 0 ? 0 : -1;
}

static long control_posix_spawn(void)
{
	char *argv[] = {"seccomp_probe", "--exit", NULL};
	int status;
	pid_t pid;
	int rc = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ);

	if (rc != 0) {
		errno = rc;
		return -1;
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		errno = ECHILD;
		return -1;
	}
	return pid;
}

static long control_personality(unsigned long persona)
{
	long old = syscall(SYS_personality, persona);

	if (old < 0)
		return old;
	/* Read back what the kernel now holds (0xffffffff only queries). */
	return syscall(SYS_personality, 0xffffffffUL);
}

static long control_personality_linux(void)
{
	return control_personality(PER_LINUX);
}
static long control_personality_no_aslr(void)
{
	return control_personality(ADDR_NO_RANDOMIZE);
}
static long control_personality_query(void)
{
	return control_personality(0xffffffffUL);
}

static long control_personality_no_aslr_high(void)
{
	/* The kernel ignores the high half: this is ADDR_NO_RANDOMIZE. */
	return control_personality((1UL << 32) | ADDR_NO_RANDOMIZE);
}

static long control_ioctl_tcgets(void)
{
	return syscall(SYS_ioctl, -1, (unsigned long)TCGETS, NULL); /* EBADF */
}

static const struct attempt attempts[] = {
    {"mount", try_mount},
    {"umount2", try_umount2},
    {"pivot_root", try_pivot_root},
    {"move_mount", try_move_mount},
    {"open_tree", try_open_tree},
    {"open_tree_attr", try_open_tree_attr},
    {"fsopen", try_fsopen},
    {"fsconfig", try_fsconfig},
    {"fsmount", try_fsmount},
    {"fspick", try_fspick},
    {"mount_setattr", try_mount_setattr},
    {"unshare", try_unshare},
    {"setns", try_setns},
    {"clone:CLONE_NEWNS", try_clone_newns},
    {"clone:CLONE_NEWCGROUP", try_clone_newcgroup},
    {"clone:CLONE_NEWUTS", try_clone_newuts},
    {"clone:CLONE_NEWIPC", try_clone_newipc},
    {"clone:CLONE_NEWUSER", try_clone_newuser},
    {"clone:CLONE_NEWPID", try_clone_newpid},
    {"clone:CLONE_NEWNET", try_clone_newnet},
    {"clone:CLONE_NEWTIME", try_clone_newtime},
    {"clone3", try_clone3},
    {"ptrace", try_ptrace},
    {"process_vm_readv", try_process_vm_readv},
    {"process_vm_writev", try_process_vm_writev},
    {"pidfd_getfd", try_pidfd_getfd},
    {"kexec_load", try_kexec_load},
    {"kexec_file_load", try_kexec_file_load},
    {"init_module", try_init_module},
    {"finit_module", try_finit_module},
    {"delete_module", try_delete_module},
    {"bpf", try_bpf},
    {"userfaultfd", try_userfaultfd},
    {"keyctl", try_keyctl},
    {"add_key", try_add_key},
    {"request_key", try_request_key},
    {"perf_event_open", try_perf_event_open},
    {"personality:PER_LINUX32", try_personality_linux32},
    {"personality:PER_LINUX32|1<<32", try_personality_high_bits},
    {"ioctl:TIOCSTI", try_ioctl_tiocsti},
    {"ioctl:TIOCSTI|1<<32", try_ioctl_tiocsti_high},
    {"ioctl:TIOCLINUX", try_ioctl_tioclinux},
    {"open_by_handle_at", try_open_by_handle_at},
    {"name_to_handle_at", try_name_to_handle_at},
    {"swapon", try_swapon},
    {"swapoff", try_swapoff},
    {"reboot", try_reboot},
    {"acct", try_acct},
    {"quotactl", try_quotactl},
    {"quotactl_fd", try_quotactl_fd},
    {"sethostname", try_sethostname},
    {"setdomainname", try_setdomainname},
    {"vhangup", try_vhangup},
    {"syslog", try_syslog},
    {"settimeofday", try_settimeofday},
    {"clock_settime", try_clock_settime},
    {"clock_adjtime", try_clock_adjtime},
    {"adjtimex", try_adjtimex},
    {"iopl", try_iopl},
    {"ioperm", try_ioperm},
    {"lookup_dcookie", try_lookup_dcookie},
    {"nfsservctl", try_nfsservctl},
    {"uselib", try_uselib},
    {"i386:getpid", try_i386_getpid},
    {"x32:getpid", try_x32_getpid},
    {"control:getpid", control_getpid},
    {"control:fork", control_fork},
    {"control:clone", control_clone_plain},
    {"control:pthread_create", control_pthread_create},
    {"control:posix_spawn", control_posix_spawn},
    {"control:personality:PER_LINUX", control_personality_linux},
    {"control:personality:ADDR_NO_RANDOMIZE", control_personality_no_aslr},
    {"control:personality:ADDR_NO_RANDOMIZE|1<<32", control_personality_no_aslr_high},
    {"control:personality:0xffffffff", control_personality_query},
    {"control:ioctl:TCGETS", control_ioctl_tcgets},
};

static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "E?";
}

static void report(const char *name, const struct outcome *o)
{
	if (o->ret == -1)
		printf("%s -1 %s\n", name, errno_name(o->err));
	else
		printf("%s %ld ok\n", name, o->ret);
}

static void run_attempt(const struct attempt *a)
{
	struct outcome o = {.ret = -1, .err = 0};
	int fds[2];
	int status;
	ssize_t n;
	pid_t pid;

	fflush(stdout);
	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		printf("%s -1 %s\n", a->name, errno_name(errno));
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		errno = 0;
		o.ret = a->fn();
		o.err = errno;
		_exit(write(fds[1], &o, sizeof(o)) == (ssize_t)sizeof(o) ? 0 : 1);
	}
	close(fds[1]);
	do
		n = read(fds[0], &o, sizeof(o));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0)
		status = 0;
	if (n == (ssize_t)sizeof(o))
		report(a->name, &o);
	else if (WIFSIGNALED(status))
		printf("%s signal SIG%s\n", a->name, sigabbrev_np(WTERMSIG(status)));
	else
		printf("%s -1 no-result\n", a->name);
}

static void print_status(void)
{
	static const char *const keys[] = {
	    "Seccomp:", "Seccomp_filters:", "NoNewPrivs:", "Speculation_Store_Bypass:"};
	FILE *f = fopen("/proc/self/status", "re");
	char *line = NULL;
	size_t cap = 0;

	if (f == NULL) {
		printf("status:error -1 %s\n", errno_name(errno));
		return;
	}
	while (getline(&line, &cap, f) > 0) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t len = strlen(keys[i]);
			const char *value = line + len;

			if (strncmp(line, keys[i], len) != 0)
				continue;
			value += strspn(value, " \t");
			printf("status:%.*s %s", (int)len - 1, line, value);
		}
	}
	free(line);
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--exit") == 0)
		return 0;
	/* --only NAME: one harmless attempt, e.g. whether the host itself
	 * offers the i386 ABI (tests run it outside any sandbox) */
	for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++)
		if (argc < 3 || strcmp(argv[1], "--only") != 0 ||
		    strcmp(argv[2], attempts[i].name) == 0)
			run_attempt(&attempts[i]);
	if (argc > 2)
		return fflush(stdout) == 0 ? 0 : 1;
	print_status();
	return fflush(stdout) == 0 ? 0 : 1;
}
