/* mountinfo.h - the one reader of /proc/PID/mountinfo lines (proc(5)):
 *
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   id par dev root  mount  options   optional - type source  super options
 *
 * Fields are separated by single spaces; the kernel writes a space, tab,
 * newline or backslash inside a path as \ooo (octal), which is decoded
 * here.  Parsing is in place: the entry points into the line it was given,
 * nothing is allocated. */
#ifndef PGO_MOUNTINFO_H
#define PGO_MOUNTINFO_H

struct mountinfo_entry {
	const char *root;          /* the directory of the file system mounted here */
	const char *mount_point;   /* where, in this mount namespace */
	const char *options;       /* per-mount options ("rw,nosuid") */
	const char *fstype;        /* after the "-" separator ("cgroup2") */
	const char *source;        /* "" when the line has none */
	const char *super_options; /* per-superblock options, "" when none */
};

/* Decode the \ooo escapes of `s` in place. */
void mountinfo_unescape(char *s);

/* Split one line (without its newline) in place.  -1 when it is not a
 * mountinfo line: fewer than six fields or no "-" followed by a type. */
int mountinfo_parse_line(char *line, struct mountinfo_entry *e);

/* Call `fn` on every line of `text` that parses, in order, until it
 * returns non-zero; returns that value, or 0 after the last line. */
int mountinfo_foreach(const char *text, int (*fn)(const struct mountinfo_entry *e, void *ctx),
                      void *ctx);

#endif
