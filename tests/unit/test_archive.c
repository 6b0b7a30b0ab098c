/* test_archive.c - reproducible packing and safe extraction.
 *
 * Hostile tarballs are written here with libarchive's own writer, then
 * extracted into an empty directory beside a sentinel file and an empty
 * "outside" directory: every one must be refused with a message naming the
 * entry, the destination must be empty again, and nothing beside it may
 * have appeared or changed.  Packing is checked for byte-identical output
 * across runs, source paths, umasks, on-disk times, TZ and locale, and for
 * a faithful round trip. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifacts/archive.h"
#include "base/util.h"
#include "unit_fixture.h"
/* libarchive's own header: the runner's is artifacts/archive.h, so
 * nothing shadows it. */
#include <archive.h>
#include <archive_entry.h>

#define MTIME 1234567890

/* ---- scratch directories ---- */

struct box {
	char base[64];
	char *dest;
	char *outside;
	char *sentinel;
	char *tar;
};

static void box_init(struct box *b)
{
	strcpy(b->base, "/tmp/pgo-archive-test.XXXXXX");
	assert_non_null(mkdtemp(b->base));
	b->dest = xasprintf("%s/dest", b->base);
	b->outside = xasprintf("%s/outside", b->base);
	b->sentinel = xasprintf("%s/sentinel", b->base);
	b->tar = xasprintf("%s/t.tar", b->base);
	assert_int_equal(mkdir(b->dest, 0755), 0);
	assert_int_equal(mkdir(b->outside, 0755), 0);
	unit_write_text(b->sentinel, "sentinel\n");
}

static int make_writable(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D && !S_ISLNK(st->st_mode))
		chmod(path, 0755);
	return 0;
}

/* Runs after failed tests too: read-only directories the test made are
 * opened up first so the tree can go. */
static void box_free(struct box *b)
{
	struct error err = {0};

	nftw(b->base, make_writable, 16, FTW_PHYS);
	assert_int_equal(remove_tree(b->base, &err), 0);
	free(b->dest);
	free(b->outside);
	free(b->sentinel);
	free(b->tar);
}

static int setup_box(void **state)
{
	struct box *b = xcalloc(1, sizeof(*b));

	box_init(b);
	*state = b;
	return 0;
}

static int teardown_box(void **state)
{
	box_free(*state);
	free(*state);
	return 0;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* ---- hostile tarball writer ---- */

enum { F_NONE, F_ZSTD, F_GZIP };

#define HARDLINK ((mode_t)1)

struct tent {
	const char *path;
	mode_t type; /* AE_IF*, or HARDLINK */
	mode_t perm;
	const char *data; /* regular file contents */
	const char *link; /* symlink or hardlink target */
};

static struct archive *open_tar_writer(const char *out, int filter)
{
	struct archive *a = archive_write_new();

	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	if (filter == F_ZSTD)
		assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	else if (filter == F_GZIP)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, out), ARCHIVE_OK);
	return a;
}

static void add_tent(struct archive *a, const struct tent *t)
{
	struct archive_entry *e = archive_entry_new();
	size_t len = t->data ? strlen(t->data) : 0;

	archive_entry_set_pathname(e, t->path);
	archive_entry_set_filetype(e, t->type == HARDLINK ? AE_IFREG : t->type);
	archive_entry_set_perm(e, t->perm ? t->perm : 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, MTIME, 0);
	if (t->type == AE_IFLNK)
		archive_entry_set_symlink(e, t->link);
	if (t->type == HARDLINK)
		archive_entry_set_hardlink(e, t->link);
	if (t->type == AE_IFCHR || t->type == AE_IFBLK)
		archive_entry_set_rdev(e, makedev(1, 3));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (len > 0)
		assert_int_equal(archive_write_data(a, t->data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

static void write_tar(const char *out, int filter, const struct tent *t, size_t n)
{
	struct archive *a = open_tar_writer(out, filter);

	for (size_t i = 0; i < n; i++)
		add_tent(a, &t[i]);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* Refused, naming `entry` and `reason`; dest empty again; nothing new or
 * changed outside dest. */
static void expect_refused(struct box *b, const struct extract_limits *l, const char *entry,
                           const char *reason)
{
	struct error err = {0};
	char want[512], *text = NULL;

	assert_int_equal(archive_extract_safe(b->tar, b->dest, l, &err), -1);
	snprintf(want, sizeof(want), "entry '%s'", entry);
	if (strstr(err.msg, want) == NULL || strstr(err.msg, reason) == NULL)
		fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", err.msg, want, reason);
	assert_int_equal(count_entries(b->dest), 0);
	assert_int_equal(count_entries(b->outside), 0);
	assert_int_equal(count_entries(b->base), 4); /* dest outside sentinel t.tar */
	assert_int_equal(read_file(b->sentinel, &text, NULL, &err), 0);
	assert_string_equal(text, "sentinel\n");
	free(text);
}

#define REFUSED(b, l, entry, reason, ...)                                                          \
	do {                                                                                       \
		const struct tent t_[] = {__VA_ARGS__};                                            \
		write_tar((b)->tar, F_NONE, t_, sizeof(t_) / sizeof(t_[0]));                       \
		expect_refused(b, l, entry, reason);                                               \
	} while (0)

static void test_refuses_absolute_paths(void **state)
{
	struct box b = *(struct box *)*state;
	char *abs;

	abs = xasprintf("%s/pwned", b.outside);
	REFUSED(&b, NULL, abs, "absolute path", {"ok", AE_IFREG, 0644, "fine\n", NULL},
	        {abs, AE_IFREG, 0644, "owned\n", NULL});
	free(abs);
}

static void test_refuses_dotdot(void **state)
{
	struct box b = *(struct box *)*state;

	REFUSED(&b, NULL, "../pwned", "'..' component", {"ok", AE_IFREG, 0644, "fine\n", NULL},
	        {"../pwned", AE_IFREG, 0644, "owned\n", NULL});
	REFUSED(&b, NULL, "a/../../pwned", "'..' component", {"a/", AE_IFDIR, 0755, NULL, NULL},
	        {"a/../../pwned", AE_IFREG, 0644, "owned\n", NULL});
	REFUSED(&b, NULL, "a/./../../outside/pwned", "'..' component",
	        {"a/./../../outside/pwned", AE_IFREG, 0644, "owned\n", NULL});
}

static void test_refuses_absolute_symlinks(void **state)
{
	struct box b = *(struct box *)*state;
	char *abs;

	REFUSED(&b, NULL, "etc", "symlink to absolute path '/etc'",
	        {"etc", AE_IFLNK, 0777, NULL, "/etc"},
	        {"etc/passwd", AE_IFREG, 0644, "root::0:0::/:/bin/sh\n", NULL});
	abs = xasprintf("%s", b.outside);
	REFUSED(&b, NULL, "dir", "symlink to absolute path", {"dir", AE_IFLNK, 0777, NULL, abs},
	        {"dir/pwned", AE_IFREG, 0644, "owned\n", NULL});
	free(abs);
}

/* In-tree symlinks are fine as links, never as a way to a write. */
static void test_refuses_writing_through_symlinks(void **state)
{
	struct box b = *(struct box *)*state;

	REFUSED(&b, NULL, "link/pwned", "'link' is a symlink or not a directory",
	        {"sub/", AE_IFDIR, 0755, NULL, NULL}, {"link", AE_IFLNK, 0777, NULL, "sub"},
	        {"link/pwned", AE_IFREG, 0644, "owned\n", NULL});
	REFUSED(&b, NULL, "dot/x", "'dot' is a symlink", {"dot", AE_IFLNK, 0777, NULL, "."},
	        {"dot/x", AE_IFREG, 0644, "owned\n", NULL});
	REFUSED(&b, NULL, "dot/../x", "'..' component", {"dot", AE_IFLNK, 0777, NULL, "."},
	        {"dot/../x", AE_IFREG, 0644, "owned\n", NULL});
	REFUSED(&b, NULL, "a/b/c", "'a/b' is a symlink", {"a/", AE_IFDIR, 0755, NULL, NULL},
	        {"a/b", AE_IFLNK, 0777, NULL, "../outside"},
	        {"a/b/c", AE_IFREG, 0644, "owned\n", NULL});
	/* a regular file in the way of a directory */
	REFUSED(&b, NULL, "f/x", "'f' is a symlink or not a directory",
	        {"f", AE_IFREG, 0644, "data\n", NULL}, {"f/x", AE_IFREG, 0644, "owned\n", NULL});
	/* replacing what an earlier entry made */
	REFUSED(&b, NULL, "f", "already exists", {"f", AE_IFREG, 0644, "data\n", NULL},
	        {"f", AE_IFREG, 0644, "again\n", NULL});
	REFUSED(&b, NULL, "l/", "already exists and is not a directory",
	        {"l", AE_IFLNK, 0777, NULL, "f"}, {"l/", AE_IFDIR, 0755, NULL, NULL});
}

static void test_refuses_escaping_symlinks(void **state)
{
	struct box b = *(struct box *)*state;

	REFUSED(&b, NULL, "x", "escapes the root", {"x", AE_IFLNK, 0777, NULL, "../outside"});
	REFUSED(&b, NULL, "d/y", "escapes the root", {"d/", AE_IFDIR, 0755, NULL, NULL},
	        {"d/y", AE_IFLNK, 0777, NULL, "./../../sentinel"});
	/* a chain: a/b/up resolves to the root, harmless on its own, but
	 * "up/.." taken through it would climb above the root */
	REFUSED(&b, NULL, "esc", "'..' after a name", {"a/b/", AE_IFDIR, 0755, NULL, NULL},
	        {"a/b/up", AE_IFLNK, 0777, NULL, "../.."},
	        {"esc", AE_IFLNK, 0777, NULL, "a/b/up/../outside"});
	REFUSED(&b, NULL, "s", "symlink without a target", {"s", AE_IFLNK, 0777, NULL, ""});
}

static void test_refuses_bad_hardlinks(void **state)
{
	struct box b = *(struct box *)*state;

	REFUSED(&b, NULL, "pw", "absolute hardlink target '/etc/passwd'",
	        {"pw", HARDLINK, 0644, NULL, "/etc/passwd"});
	REFUSED(&b, NULL, "pw", "'..' component in hardlink target",
	        {"pw", HARDLINK, 0644, NULL, "../sentinel"});
	REFUSED(&b, NULL, "h", "not an earlier regular file",
	        {"h", HARDLINK, 0644, NULL, "missing"});
	REFUSED(&b, NULL, "h", "not an earlier regular file", {"h", HARDLINK, 0644, NULL, "f"},
	        {"f", AE_IFREG, 0644, "later\n", NULL});
	REFUSED(&b, NULL, "h", "not an earlier regular file", {"f", AE_IFREG, 0644, "data\n", NULL},
	        {"l", AE_IFLNK, 0777, NULL, "f"}, {"h", HARDLINK, 0644, NULL, "l"});
	REFUSED(&b, NULL, "h", "not an earlier regular file", {"d/", AE_IFDIR, 0755, NULL, NULL},
	        {"h", HARDLINK, 0644, NULL, "d"});
}

static void test_refuses_special_files(void **state)
{
	struct box b = *(struct box *)*state;

	REFUSED(&b, NULL, "dev/null", "character device not allowed",
	        {"dev/", AE_IFDIR, 0755, NULL, NULL}, {"dev/null", AE_IFCHR, 0666, NULL, NULL});
	REFUSED(&b, NULL, "sda", "block device not allowed", {"sda", AE_IFBLK, 0660, NULL, NULL});
	REFUSED(&b, NULL, "pipe", "fifo not allowed", {"pipe", AE_IFIFO, 0644, NULL, NULL});
}

static void test_refuses_special_modes(void **state)
{
	struct box b = *(struct box *)*state;

	REFUSED(&b, NULL, "su", "setuid/setgid/sticky mode 4755",
	        {"ok", AE_IFREG, 0755, "#!/bin/sh\n", NULL},
	        {"su", AE_IFREG, 04755, "#!/bin/sh\n", NULL});
	REFUSED(&b, NULL, "sg/", "setuid/setgid/sticky mode 2755",
	        {"sg/", AE_IFDIR, 02755, NULL, NULL});
	REFUSED(&b, NULL, "tmp/", "setuid/setgid/sticky mode 1777",
	        {"tmp/", AE_IFDIR, 01777, NULL, NULL});
}

static void test_limits(void **state)
{
	struct extract_limits l;
	struct box b = *(struct box *)*state;

	extract_limits_default(&l);
	l.max_entries = 3;
	REFUSED(&b, &l, "d", "more than 3 entries", {"a", AE_IFREG, 0644, "1", NULL},
	        {"b", AE_IFREG, 0644, "2", NULL}, {"c", AE_IFREG, 0644, "3", NULL},
	        {"d", AE_IFREG, 0644, "4", NULL});

	extract_limits_default(&l);
	l.max_entry_bytes = 10;
	REFUSED(&b, &l, "big", "beyond the per-entry limit of 10",
	        {"small", AE_IFREG, 0644, "0123456789", NULL},
	        {"big", AE_IFREG, 0644, "0123456789a", NULL});

	extract_limits_default(&l);
	l.max_total_bytes = 25;
	REFUSED(&b, &l, "c", "total content beyond the limit of 25",
	        {"a", AE_IFREG, 0644, "0123456789", NULL},
	        {"b", AE_IFREG, 0644, "0123456789", NULL},
	        {"c", AE_IFREG, 0644, "0123456789", NULL});
}

static void write_zeros_tar(const char *out, int filter, const char *name, uint64_t size)
{
	const size_t chunk = 1 << 20;
	struct archive *a = open_tar_writer(out, filter);
	struct archive_entry *e = archive_entry_new();
	char *zeros = xcalloc(1, chunk);

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	for (uint64_t done = 0; done < size; done += chunk)
		assert_int_equal(archive_write_data(a, zeros, chunk), (la_ssize_t)chunk);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	free(zeros);
}

/* 1 GiB of zeros in ~40 KB of zstd: within the default size limits, so only
 * the ratio can stop it, and it must do so long before the end. */
static void test_refuses_zstd_bomb(void **state)
{
	struct error err = {0};
	struct stat st;
	long long produced = -1;
	const char *p;
	struct box b = *(struct box *)*state;

	write_zeros_tar(b.tar, F_ZSTD, "zeros", 1ULL << 30);
	assert_int_equal(stat(b.tar, &st), 0);
	assert_true(st.st_size < (1 << 20));
	expect_refused(&b, NULL, "zeros", "compression ratio beyond 1000");
	assert_int_equal(archive_extract_safe(b.tar, b.dest, NULL, &err), -1);
	p = strstr(err.msg, "(");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "(%lld bytes from", &produced), 1);
	assert_true(produced > (long long)EXTRACT_RATIO_GRACE_BYTES);
	assert_true(produced < (1LL << 30) / 4);
}

/* gzip cannot go past ~1030:1, so the total size is what stops it. */
static void test_refuses_gzip_beyond_total(void **state)
{
	struct extract_limits l;
	struct box b = *(struct box *)*state;

	write_zeros_tar(b.tar, F_GZIP, "zeros.gz-bomb", 96ULL << 20);
	extract_limits_default(&l);
	l.max_total_bytes = 64ULL << 20;
	expect_refused(&b, &l, "zeros.gz-bomb", "total content beyond the limit");
}

static void truncate_file(const char *path, off_t keep)
{
	assert_int_equal(truncate(path, keep), 0);
}

static void flip_byte(const char *path, off_t at)
{
	unsigned char c;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x5a;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

static char *pattern(size_t len)
{
	char *s = xcalloc(1, len + 1);

	for (size_t i = 0; i < len; i++)
		s[i] = (char)('a' + (i * 7 + i / 13) % 26);
	return s;
}

static void test_refuses_truncated(void **state)
{
	char *data = pattern(200000);
	struct box b = *(struct box *)*state;
	struct tent t[] = {
	    {"first", AE_IFREG, 0644, "first\n", NULL},
	    {"big", AE_IFREG, 0644, data, NULL},
	};

	write_tar(b.tar, F_NONE, t, 2);
	truncate_file(b.tar, 100000);
	expect_refused(&b, NULL, "big", "runcated");

	write_tar(b.tar, F_ZSTD, t, 2);
	{
		struct stat st;
		struct error err = {0};

		assert_int_equal(stat(b.tar, &st), 0);
		truncate_file(b.tar, st.st_size / 2);
		assert_int_equal(archive_extract_safe(b.tar, b.dest, NULL, &err), -1);
		assert_non_null(strstr(err.msg, b.tar));
		assert_int_equal(count_entries(b.dest), 0);
	}
	free(data);
}

static void test_refuses_corrupted(void **state)
{
	char *data = pattern(100000);
	struct error err = {0};
	struct stat st;
	struct box b = *(struct box *)*state;
	struct tent t[] = {
	    {"first", AE_IFREG, 0644, "first\n", NULL},
	    {"second", AE_IFREG, 0644, data, NULL},
	};

	/* second header: 512 (first header) + 512 (its data block) */
	write_tar(b.tar, F_NONE, t, 2);
	flip_byte(b.tar, 1024 + 3);
	assert_int_equal(archive_extract_safe(b.tar, b.dest, NULL, &err), -1);
	if (strstr(err.msg, "after entry 'first'") == NULL)
		fail_msg("unexpected message: %s", err.msg);
	assert_int_equal(count_entries(b.dest), 0);

	write_tar(b.tar, F_ZSTD, t, 2);
	assert_int_equal(stat(b.tar, &st), 0);
	for (off_t at = st.st_size / 3; at < st.st_size / 3 + 16; at++)
		flip_byte(b.tar, at);
	memset(&err, 0, sizeof(err));
	assert_int_equal(archive_extract_safe(b.tar, b.dest, NULL, &err), -1);
	assert_non_null(strstr(err.msg, b.tar));
	assert_int_equal(count_entries(b.dest), 0);
	free(data);
}

static void test_dest_must_be_empty(void **state)
{
	struct error err = {0};
	char *keep, *text = NULL;
	struct box b = *(struct box *)*state;
	const struct tent t[] = {{"a", AE_IFREG, 0644, "a\n", NULL}};

	write_tar(b.tar, F_NONE, t, 1);
	keep = xasprintf("%s/keep", b.dest);
	unit_write_text(keep, "mine\n");
	assert_int_equal(archive_extract_safe(b.tar, b.dest, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "is not empty"));
	assert_int_equal(read_file(keep, &text, NULL, &err), 0);
	assert_string_equal(text, "mine\n");
	assert_int_equal(count_entries(b.dest), 1);
	free(text);
	free(keep);
}

/* Accepted: "./" for the root, implied parents, in-tree relative links,
 * hardlinks to earlier files, a directory declared after its contents. */
static void test_accepts_benign_tarball(void **state)
{
	struct error err = {0};
	char *p, buf[64];
	struct stat st, st2;
	struct box b = *(struct box *)*state;
	const struct tent t[] = {
	    {"./", AE_IFDIR, 0755, NULL, NULL},
	    {"./a/b/c.txt", AE_IFREG, 0600, "c\n", NULL},
	    {"a/b/up", AE_IFLNK, 0777, NULL, "../../a/./b/c.txt"},
	    {"a/b/h", HARDLINK, 0600, NULL, "./a/b/c.txt"},
	    {"a/", AE_IFDIR, 0700, NULL, NULL},
	    {"ro/", AE_IFDIR, 0555, NULL, NULL},
	    {"ro/f", AE_IFREG, 0444, "ro\n", NULL},
	};

	write_tar(b.tar, F_GZIP, t, sizeof(t) / sizeof(t[0]));
	if (archive_extract_safe(b.tar, b.dest, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	p = xasprintf("%s/a/b/c.txt", b.dest);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_mtime, MTIME);
	free(p);
	p = xasprintf("%s/a/b/h", b.dest);
	assert_int_equal(lstat(p, &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	free(p);
	p = xasprintf("%s/a/b/up", b.dest);
	assert_int_equal(readlink(p, buf, sizeof(buf)), strlen("../../a/./b/c.txt"));
	free(p);
	p = xasprintf("%s/a", b.dest);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_mtime, MTIME);
	free(p);
	p = xasprintf("%s/a/b", b.dest); /* implied: 0755, no mtime */
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	free(p);
	p = xasprintf("%s/ro", b.dest);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0555);
	assert_int_equal(st.st_mtime, MTIME);
	free(p);
}

/* ---- packing ---- */

/* The fixture: how each entry is made on disk and what the archive must
 * say about it. disk 0 = as the umask leaves it. */
struct fx {
	const char *path;
	char kind; /* 'f' file, 'd' dir, 'l' symlink, 'h' hardlink */
	mode_t disk;
	mode_t want;
	const char *data; /* file contents, symlink or hardlink target */
};

static const char long_name[] = "a-file-name-longer-than-one-hundred-bytes-so-ustar-cannot-hold-it-"
                                "and-a-pax-path-record-is-needed.txt";
static const char long_dir[] =
    "deep/directory-0123456789-0123456789-0123456789-0123456789-0123456789/"
    "directory-0123456789-0123456789-0123456789-0123456789-0123456789/"
    "directory-0123456789-0123456789-0123456789-0123456789-0123456789/"
    "directory-0123456789-0123456789-0123456789-0123456789-0123456789";

static const struct fx fixture[] = {
    {"a", 'd', 0, 0755, NULL},
    {"a/x", 'f', 0, 0644, "x\n"},
    {"a-b", 'f', 0, 0644, "sorts after a/ in tar order\n"},
    {"bin", 'd', 0700, 0755, NULL},
    {"bin/tool", 'f', 0700, 0755, "#!/bin/sh\necho tool\n"},
    {"bin/tool-hard", 'h', 0, 0755, "bin/tool"},
    {"bin/group-exec", 'f', 0610, 0755, "x"},
    {"lib", 'd', 0775, 0755, NULL},
    {"lib/libx.so.1", 'f', 0664, 0644, "\177ELF-ish\n"},
    {"lib/libx.so", 'l', 0, 0755, "libx.so.1"},
    {"lib/up", 'l', 0, 0755, "../bin/tool"},
    {"private", 'f', 0600, 0644, "secret-ish\n"},
    {"readonly", 'f', 0400, 0644, "ro\n"},
    {"world-w", 'f', 0666, 0644, "ww\n"},
    {"sgid", 'd', 02775, 0755, NULL},
    {"ro-dir", 'd', 0500, 0755, NULL},
    {"empty", 'f', 0, 0644, ""},
    {"emptydir", 'd', 0, 0755, NULL},
    {"caf\xc3\xa9", 'f', 0, 0644, "utf-8 name\n"},
    {"deep", 'd', 0, 0755, NULL},
};

static void make_path(const char *root, const char *rel, struct error *err)
{
	char *p = xasprintf("%s/%s", root, rel);

	assert_int_equal(mkdir_p(p, 0777, err), 0);
	free(p);
}

static void make_fx(const char *root, const struct fx *f)
{
	char *p = xasprintf("%s/%s", root, f->path), *t;
	struct error err = {0};
	int fd;

	switch (f->kind) {
	case 'd': assert_int_equal(mkdir(p, 0777), 0); break;
	case 'f':
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		assert_true(fd >= 0);
		assert_int_equal(write_all(fd, f->data, strlen(f->data)), 0);
		close(fd);
		break;
	case 'l': assert_int_equal(symlink(f->data, p), 0); break;
	case 'h':
		t = xasprintf("%s/%s", root, f->data);
		assert_int_equal(link(t, p), 0);
		free(t);
		break;
	}
	if (f->disk != 0 && f->kind != 'd')
		assert_int_equal(chmod(p, f->disk), 0);
	(void)err;
	free(p);
}

/* Directory modes last: a 0500 directory would refuse its contents. */
static void chmod_dirs(const char *root)
{
	for (size_t i = 0; i < sizeof(fixture) / sizeof(fixture[0]); i++) {
		char *p;

		if (fixture[i].kind != 'd' || fixture[i].disk == 0)
			continue;
		p = xasprintf("%s/%s", root, fixture[i].path);
		assert_int_equal(chmod(p, fixture[i].disk), 0);
		free(p);
	}
}

static char *big_data(size_t len)
{
	char *d = xcalloc(1, len);
	uint64_t x = 88172645463325252ULL;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		d[i] = (char)(i % 3 ? x : 0);
	}
	return d;
}

#define BIG_LEN (3 * 256 * 1024 + 777)
#define ZERO_LEN (2 << 20)

/* Build the fixture under root; `reverse` creates names in the opposite
 * order so readdir order differs. */
static void make_tree(const char *root, bool reverse)
{
	const size_t n = sizeof(fixture) / sizeof(fixture[0]);
	struct error err = {0};
	char *p, *d;

	assert_int_equal(mkdir(root, 0777), 0);
	for (size_t k = 0; k < n; k++) {
		const struct fx *f = &fixture[reverse ? n - 1 - k : k];

		if (f->kind == 'd')
			make_fx(root, f);
	}
	for (size_t k = 0; k < n; k++) {
		const struct fx *f = &fixture[reverse ? n - 1 - k : k];

		if (f->kind == 'f' || f->kind == 'l')
			make_fx(root, f);
	}
	for (size_t k = 0; k < n; k++)
		if (fixture[k].kind == 'h')
			make_fx(root, &fixture[k]);
	make_path(root, long_dir, &err);
	p = xasprintf("%s/%s/%s", root, long_dir, long_name);
	unit_write_text(p, "long\n");
	free(p);
	p = xasprintf("%s/big", root);
	d = big_data(BIG_LEN);
	unit_write(p, d, BIG_LEN);
	free(d);
	free(p);
	/* highly compressible, but under the ratio grace */
	p = xasprintf("%s/zeros", root);
	d = xcalloc(1, ZERO_LEN);
	unit_write(p, d, ZERO_LEN);
	free(d);
	free(p);
	chmod_dirs(root);
}

static void pack(const char *src, const char *out, enum archive_compression c)
{
	struct pack_options o;
	struct error err = {0};

	pack_options_default(&o);
	o.mtime = MTIME;
	o.compression = c;
	if (archive_pack_dir(src, out, &o, &err) < 0)
		fail_msg("%s", err.msg);
}

static void assert_same_bytes(const char *a, const char *b)
{
	struct error err = {0};
	char *da = NULL, *db = NULL;
	size_t la = 0, lb = 0;

	assert_int_equal(read_file(a, &da, &la, &err), 0);
	assert_int_equal(read_file(b, &db, &lb, &err), 0);
	assert_true(la > 0);
	assert_int_equal(la, lb);
	assert_memory_equal(da, db, la);
	free(da);
	free(db);
}

static void assert_file_is(const char *path, const void *data, size_t len)
{
	struct error err = {0};
	char *got = NULL;
	size_t n = 0;

	assert_int_equal(read_file(path, &got, &n, &err), 0);
	assert_int_equal(n, len);
	assert_memory_equal(got, data, len);
	free(got);
}

static void check_extracted(const char *dst)
{
	struct stat st, st2;
	char buf[256], *p;
	ssize_t n;

	for (size_t i = 0; i < sizeof(fixture) / sizeof(fixture[0]); i++) {
		const struct fx *f = &fixture[i];

		p = xasprintf("%s/%s", dst, f->path);
		assert_int_equal(lstat(p, &st), 0);
		if (f->kind != 'l') {
			if ((st.st_mode & 07777) != f->want)
				fail_msg("%s: mode %o, want %o", f->path, st.st_mode & 07777,
				         f->want);
			assert_int_equal(st.st_mtime, MTIME);
		}
		switch (f->kind) {
		case 'd': assert_true(S_ISDIR(st.st_mode)); break;
		case 'f':
			assert_true(S_ISREG(st.st_mode));
			assert_file_is(p, f->data, strlen(f->data));
			break;
		case 'l':
			assert_true(S_ISLNK(st.st_mode));
			n = readlink(p, buf, sizeof(buf));
			assert_int_equal(n, strlen(f->data));
			assert_memory_equal(buf, f->data, (size_t)n);
			break;
		case 'h': {
			char *t = xasprintf("%s/%s", dst, f->data);

			assert_int_equal(lstat(t, &st2), 0);
			assert_int_equal(st.st_ino, st2.st_ino);
			free(t);
			break;
		}
		}
		free(p);
	}
	p = xasprintf("%s/%s/%s", dst, long_dir, long_name);
	assert_file_is(p, "long\n", 5);
	free(p);
	p = xasprintf("%s/big", dst);
	{
		char *d = big_data(BIG_LEN);

		assert_file_is(p, d, BIG_LEN);
		free(d);
	}
	free(p);
	p = xasprintf("%s/zeros", dst);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_size, ZERO_LEN);
	free(p);
	/* fixture + big + zeros, and nothing else at the top */
	assert_int_equal(count_entries(dst), 15);
}

static void test_roundtrip(void **state)
{
	static const enum archive_compression comps[] = {
	    ARCHIVE_COMP_NONE,
	    ARCHIVE_COMP_ZSTD,
	    ARCHIVE_COMP_GZIP,
	};
	struct box b = *(struct box *)*state;
	char *src;

	src = xasprintf("%s/src", b.base);
	make_tree(src, false);
	for (size_t i = 0; i < 3; i++) {
		struct error err = {0};
		char *dst = xasprintf("%s/x%zu", b.base, i);

		pack(src, b.tar, comps[i]);
		assert_int_equal(mkdir(dst, 0755), 0);
		if (archive_extract_safe(b.tar, dst, NULL, &err) < 0)
			fail_msg("%s", err.msg);
		check_extracted(dst);
		free(dst);
	}
	free(src);
}

static void set_times(const char *root, time_t t)
{
	struct timespec ts[2] = {{t, 123}, {t, 456}};
	char *p;

	for (size_t i = 0; i < sizeof(fixture) / sizeof(fixture[0]); i++) {
		p = xasprintf("%s/%s", root, fixture[i].path);
		assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
		free(p);
	}
}

/* Same tree, another path, umask, creation order, on-disk times, TZ and
 * locale: the same bytes, for every compression. */
static void test_pack_reproducible(void **state)
{
	static const enum archive_compression comps[] = {
	    ARCHIVE_COMP_NONE,
	    ARCHIVE_COMP_ZSTD,
	    ARCHIVE_COMP_GZIP,
	};
	char *src1, *src2, *out1, *out2, *out3;
	mode_t old_umask;
	struct box b = *(struct box *)*state;

	src1 = xasprintf("%s/src", b.base);
	src2 = xasprintf("%s/elsewhere/with/another-name", b.base);
	out1 = xasprintf("%s/1.tar", b.base);
	out2 = xasprintf("%s/2.tar", b.base);
	out3 = xasprintf("%s/3.tar", b.base);
	old_umask = umask(022);
	make_tree(src1, false);
	umask(077);
	{
		struct error err = {0};
		char *parent = xasprintf("%s/elsewhere/with", b.base);

		assert_int_equal(mkdir_p(parent, 0755, &err), 0);
		free(parent);
	}
	make_tree(src2, true);
	umask(old_umask);
	set_times(src1, 1000000000);
	set_times(src2, 1700000000);
	for (size_t i = 0; i < 3; i++) {
		pack(src1, out1, comps[i]);
		pack(src1, out2, comps[i]);
		assert_same_bytes(out1, out2);
		setenv("TZ", "Pacific/Chatham", 1);
		tzset();
		assert_non_null(setlocale(LC_ALL, "C.UTF-8"));
		pack(src2, out3, comps[i]);
		setlocale(LC_ALL, "C");
		unsetenv("TZ");
		tzset();
		assert_same_bytes(out1, out3);
	}
	free(src1);
	free(src2);
	free(out1);
	free(out2);
	free(out3);
}

static void test_gzip_header(void **state)
{
	unsigned char h[10];
	struct box b = *(struct box *)*state;
	char *src;
	int fd;

	src = xasprintf("%s/src", b.base);
	make_tree(src, false);
	pack(src, b.tar, ARCHIVE_COMP_GZIP);
	fd = open(b.tar, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, h, sizeof(h)), sizeof(h));
	close(fd);
	assert_int_equal(h[0], 0x1f);
	assert_int_equal(h[1], 0x8b);
	assert_int_equal(h[3], 0);                      /* FLG: no FNAME, FCOMMENT, FEXTRA */
	assert_int_equal(h[4] | h[5] | h[6] | h[7], 0); /* MTIME */
	free(src);
}

struct listing {
	size_t n;
	char *paths[64];
	enum archive_entry_kind kinds[64];
	mode_t modes[64];
	uint32_t ids;
	int64_t mtimes;
};

static int collect(const struct archive_list_entry *e, void *ctx)
{
	struct listing *l = ctx;

	if (l->n < 64) {
		l->paths[l->n] = xstrdup(e->path);
		l->kinds[l->n] = e->kind;
		l->modes[l->n] = e->mode;
	}
	l->ids |= e->uid | e->gid;
	if (e->mtime != MTIME)
		l->mtimes++;
	l->n++;
	return 0;
}

static int find(const struct listing *l, const char *path)
{
	for (size_t i = 0; i < l->n && i < 64; i++)
		if (strcmp(l->paths[i], path) == 0)
			return (int)i;
	return -1;
}

/* GNU tar --sort=name order: "a/" and its contents before "a-b". */
static void test_pack_order_and_listing(void **state)
{
	struct listing l = {0};
	struct error err = {0};
	struct box b = *(struct box *)*state;
	char *src;
	int h;

	src = xasprintf("%s/src", b.base);
	make_tree(src, true);
	pack(src, b.tar, ARCHIVE_COMP_ZSTD);
	assert_int_equal(archive_list(b.tar, NULL, collect, &l, &err), 0);
	assert_string_equal(l.paths[0], "a/");
	assert_string_equal(l.paths[1], "a/x");
	assert_string_equal(l.paths[2], "a-b");
	assert_string_equal(l.paths[3], "big");
	assert_string_equal(l.paths[4], "bin/");
	assert_string_equal(l.paths[5], "bin/group-exec");
	assert_string_equal(l.paths[6], "bin/tool");
	assert_string_equal(l.paths[7], "bin/tool-hard");
	assert_int_equal(l.kinds[6], ARCHIVE_ENTRY_FILE);
	assert_int_equal(l.kinds[7], ARCHIVE_ENTRY_HARDLINK);
	assert_int_equal(l.kinds[find(&l, "lib/libx.so")], ARCHIVE_ENTRY_SYMLINK);
	assert_int_equal(l.kinds[find(&l, "emptydir/")], ARCHIVE_ENTRY_DIR);
	h = find(&l, "sgid/");
	assert_true(h >= 0);
	assert_int_equal(l.modes[h], 0755);
	assert_int_equal(l.ids, 0);
	assert_int_equal(l.mtimes, 0);
	for (size_t i = 0; i < l.n && i < 64; i++)
		free(l.paths[i]);
	free(src);
}

static void assert_no_output(const char *dir, const char *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".tmp.") != NULL)
			fail_msg("temporary %s/%s left behind", dir, de->d_name);
	closedir(d);
	assert_int_equal(access(out, F_OK), -1);
}

static void test_pack_failures_leave_nothing(void **state)
{
	struct pack_options o;
	struct error err = {0};
	char *src, *fifo, *out, *text = NULL;
	struct box b = *(struct box *)*state;

	pack_options_default(&o);
	src = xasprintf("%s/src", b.base);
	make_tree(src, false);
	fifo = xasprintf("%s/zz-fifo", src);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	out = xasprintf("%s/out.tar.zst", b.base);
	assert_int_equal(archive_pack_dir(src, out, &o, &err), -1);
	assert_non_null(strstr(err.msg, fifo));
	assert_non_null(strstr(err.msg, "fifo"));
	assert_no_output(b.base, out);

	/* an existing output is left as it was */
	unit_write_text(out, "previous\n");
	assert_int_equal(archive_pack_dir(src, out, &o, &err), -1);
	assert_int_equal(read_file(out, &text, NULL, &err), 0);
	assert_string_equal(text, "previous\n");
	free(text);
	assert_int_equal(unlink(out), 0);
	assert_int_equal(unlink(fifo), 0);

	/* the output inside the tree it packs */
	free(out);
	out = xasprintf("%s/a/out.tar", src);
	memset(&err, 0, sizeof(err));
	assert_int_equal(archive_pack_dir(src, out, &o, &err), -1);
	assert_non_null(strstr(err.msg, "inside the tree"));
	{
		char *dir = xasprintf("%s/a", src);

		assert_no_output(dir, out);
		free(dir);
	}
	assert_int_equal(archive_pack_dir("/nonexistent/pgo-src", b.tar, &o, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/pgo-src"));
	free(out);
	free(fifo);
	free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_refuses_absolute_paths, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_refuses_dotdot, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_refuses_absolute_symlinks, setup_box,
	                                    teardown_box),
	    cmocka_unit_test_setup_teardown(test_refuses_writing_through_symlinks, setup_box,
	                                    teardown_box),
	    cmocka_unit_test_setup_teardown(test_refuses_escaping_symlinks, setup_box,
	                                    teardown_box),
	    cmocka_unit_test_setup_teardown(test_refuses_bad_hardlinks, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_refuses_special_files, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_refuses_special_modes, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_limits, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_refuses_zstd_bomb, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_refuses_gzip_beyond_total, setup_box,
	                                    teardown_box),
	    cmocka_unit_test_setup_teardown(test_refuses_truncated, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_refuses_corrupted, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_dest_must_be_empty, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_accepts_benign_tarball, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_roundtrip, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_pack_reproducible, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_gzip_header, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_pack_order_and_listing, setup_box, teardown_box),
	    cmocka_unit_test_setup_teardown(test_pack_failures_leave_nothing, setup_box,
	                                    teardown_box),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
