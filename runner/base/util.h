/* util.h - error reporting, allocation and small parsing helpers shared by
 * every module.  Functions that can fail return 0 on success and -1 on
 * failure after filling a `struct error`; nothing prints from deep inside. */
#ifndef PGO_UTIL_H
#define PGO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Documented exit codes of the runner itself (see README "Exit codes"). */
enum exit_code {
	EXIT_OOM = 122,            /* the command was killed by the OOM killer */
	EXIT_TIMEOUT = 124,        /* --timeout expired, the tree was killed */
	EXIT_RUNNER_ERROR = 125,   /* bad usage or a setup step failed */
	EXIT_NOT_EXECUTABLE = 126, /* COMMAND exists but cannot be executed */
	EXIT_NOT_FOUND = 127,      /* COMMAND not found */
};

#define ERROR_MSG_MAX 1024

struct error {
	int exit_code;           /* one of enum exit_code, 0 when unset */
	int errnum;              /* the errno behind it, 0 when none: callers test it */
	char msg[ERROR_MSG_MAX]; /* "what: which path: why" */
};

/* Fill `err` with a formatted message; when `errnum` is non-zero its
 * strerror text is appended (": No such file or directory").  Always
 * returns -1 so callers can `return error_set(...)`. */
int error_set(struct error *err, int exit_code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefix an existing message with more context ("mounting /usr: " + msg). */
int error_prefix(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "pgo-sandbox: <msg>" on stderr as one line. */
void error_print(const struct error *err);

void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parsers: strict, whole string, no overflow; -1 + err on failure. */
int parse_u64(const char *text, uint64_t *out, struct error *err);
int parse_uid(const char *text, uint32_t *out, struct error *err);
/* "512M", "2G", "1048576", "4k": binary multiples (K=1024). */
int parse_size(const char *text, uint64_t *out, struct error *err);
/* "1.5", "30", "0.25": seconds to nanoseconds. */
int parse_duration_ns(const char *text, uint64_t *out, struct error *err);
/* "0-3,6,8-9" -> bitmask of up to CPU_LIST_MAX cpus; rejects reversed
 * ranges, duplicates are fine, empty list is an error. */
#define CPU_LIST_MAX 1024
int parse_cpu_list(const char *text, uint8_t mask[CPU_LIST_MAX / 8], struct error *err);
/* Inverse: canonical "0-3,6" text (caller frees). */
char *format_cpu_list(const uint8_t mask[CPU_LIST_MAX / 8]);

/* Whole-file helpers.  write_file_atomic writes to "<path>.tmp.<pid>",
 * fsyncs, renames; the final path never holds a partial file. */
int read_file(const char *path, char **out, size_t *len, struct error *err);
int write_file(const char *path, const char *data, size_t len, struct error *err);
/* A file a sandboxed command could write: never follow a link it planted,
 * never block on a fifo, never read more than `max` bytes (-1 + err for
 * anything but a regular file of at most that size).  NUL-terminated. */
int read_file_untrusted(const char *path, size_t max, char **text, struct error *err);
int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode,
                      struct error *err);
/* The first half of write_file_atomic: `data` written to `tmp` (created
 * exclusively with `mode`) and fsynced; `what` names the file in errors
 * (its final path).  On failure `tmp` is removed.  base/file_commit.h
 * puts several such files in place together. */
int write_file_temp(const char *tmp, const char *what, const void *data, size_t len, mode_t mode,
                    struct error *err);

/* fsync a directory, so a rename into it survives a crash. */
int fsync_dir(const char *dir, struct error *err);

/* Write a whole buffer, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);

/* One message of `len` bytes carrying descriptor `fd` (SCM_RIGHTS) on a
 * SOCK_SEQPACKET socket; send_fd never raises SIGPIPE.  recv_fd stores the
 * received descriptor, close-on-exec, in *fd (-1 when the message carried
 * none).  Both return the byte count or -1 with errno, retrying EINTR. */
ssize_t send_fd(int sock_fd, int fd, const void *buf, size_t len);
ssize_t recv_fd(int sock_fd, int *fd, void *buf, size_t len);

/* mkdir -p with mode; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode, struct error *err);

/* Remove a directory tree without following symlinks. */
int remove_tree(const char *path, struct error *err);
/* Remove everything inside a directory (remove_tree on each entry),
 * keeping the directory itself. */
int remove_dir_contents(const char *path, struct error *err);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t monotonic_ns(void);
/* Sleep `ns` nanoseconds, the whole of it: a signal's EINTR resumes the
 * sleep with the time that is left. */
void sleep_ns(uint64_t ns);

#endif
