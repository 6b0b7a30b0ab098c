/* test_provenance.c - the digest sidecar's refusal says which repair is
 * needed: a record never written ("missing") and one that cannot be read
 * ("unreadable") were one message that guessed. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifacts/provenance.h"

struct tmp {
	char dir[64];
	char tarball[128];
	char sidecar[160];
};

static void make_tarball(struct tmp *t)
{
	FILE *f;

	snprintf(t->dir, sizeof(t->dir), "/tmp/pgo-test-prov-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->tarball, sizeof(t->tarball), "%s/a.tar.zst", t->dir);
	snprintf(t->sidecar, sizeof(t->sidecar), "%s.sha256", t->tarball);
	f = fopen(t->tarball, "w");
	assert_non_null(f);
	fputs("not really a tarball", f);
	fclose(f);
}

static void remove_tmp(struct tmp *t)
{
	struct error err = {0};

	assert_int_equal(remove_tree(t->dir, &err), 0);
}

static void test_missing_sidecar_says_missing(void **state)
{
	char digest[DIGEST_STR_MAX];
	struct error err = {0};
	struct tmp t;

	(void)state;
	make_tarball(&t);
	assert_int_equal(sidecar_verify(t.tarball, digest, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "the digest record of"));
	assert_non_null(strstr(err.msg, "is missing: opening"));
	assert_null(strstr(err.msg, "unreadable"));
	remove_tmp(&t);
}

static void test_unreadable_sidecar_says_unreadable(void **state)
{
	char digest[DIGEST_STR_MAX];
	struct error err = {0};
	struct tmp t;

	(void)state;
	make_tarball(&t);
	assert_int_equal(mkdir(t.sidecar, 0755), 0); /* read(2) gives EISDIR */
	assert_int_equal(sidecar_verify(t.tarball, digest, &err), -1);
	assert_int_equal(err.errnum, EISDIR);
	assert_non_null(strstr(err.msg, "is unreadable: reading"));
	assert_null(strstr(err.msg, "missing"));
	remove_tmp(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_sidecar_says_missing),
	    cmocka_unit_test(test_unreadable_sidecar_says_unreadable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
