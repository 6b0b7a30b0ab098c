/* cgroup_file.h - what the host/cgroup*.c files share: reading and
 * writing the small files of a cgroup.  The file
 * helpers return 0 or -1 with errno preserved for the caller (no struct
 * error: most callers record a degraded control rather than fail). */
#ifndef PGO_CGROUP_FILE_H
#define PGO_CGROUP_FILE_H

#include <stddef.h>
#include <stdint.h>

/* The largest cgroup file read in one go (cpu.stat, cgroup.controllers). */
#define CGROUP_FILE_MAX 4096

/* Read a whole small file into buf (NUL-terminated, at most len - 1 bytes). */
int cgroup_read_small_at(int dfd, const char *name, char *buf, size_t len);
int cgroup_read_small(const char *path, char *buf, size_t len);
/* cgroup files take one value per write(2): never O_CREAT, never split. */
int cgroup_write_string_at(int dfd, const char *name, const char *value);
int cgroup_write_string(const char *path, const char *value);
/* DIR/NAME */
int cgroup_write_in(const char *dir, const char *name, const char *value);
int cgroup_read_in(const char *dir, const char *name, char *buf, size_t len);
/* Drop trailing white space. */
void cgroup_chomp(char *s);
/* One number and its newline ("max" is not one). */
int cgroup_parse_single_u64(char *text, uint64_t *out);

#endif
