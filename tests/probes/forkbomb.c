/* forkbomb - fork children that wait, until fork fails:
 *
 *     forkbomb [MAX]    stop after MAX children (default 100000)
 *
 * Prints "forkbomb: fork failed after N children: ERRNO-NAME" and exits 0
 * when the failure is EAGAIN (what pids.max produces), 1 for any other
 * error, 2 when MAX children were created without any failure.  Children
 * die with the parent (PR_SET_PDEATHSIG), so the run ends when it does. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long max = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
	pid_t parent = getpid();

	for (long n = 0; n < max; n++) {
		pid_t pid = fork();

		if (pid == 0) {
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
				_exit(0);
			pause();
			_exit(0);
		}
		if (pid < 0) {
			int e = errno;

			printf("forkbomb: fork failed after %ld children: %s\n", n,
			       strerrorname_np(e) ? strerrorname_np(e) : "unknown");
			fflush(stdout);
			return e == EAGAIN ? 0 : 1;
		}
	}
	printf("forkbomb: created %ld children, fork never failed\n", max);
	fflush(stdout);
	return 2;
}
