/* test_mountinfo.c - the one mountinfo reader: fields around the optional
 * ones, octal escapes, lines that are not mountinfo lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mountinfo.h"
#include "base/util.h"

static void test_fields_around_optional_ones(void **state)
{
	char line[] = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root "
	              "rw,errors=continue";
	struct mountinfo_entry e;

	(void)state;
	assert_int_equal(mountinfo_parse_line(line, &e), 0);
	assert_string_equal(e.root, "/mnt1");
	assert_string_equal(e.mount_point, "/mnt2");
	assert_string_equal(e.options, "rw,noatime");
	assert_string_equal(e.fstype, "ext3");
	assert_string_equal(e.source, "/dev/root");
	assert_string_equal(e.super_options, "rw,errors=continue");
}

static void test_octal_escapes(void **state)
{
	char line[] =
	    "40 1 0:33 /a\\040b /mnt/with\\040space\\011tab\\134back rw - tmpfs my\\040src rw";
	char loose[] = "x\\0 y\\400 \\1234";
	struct mountinfo_entry e;

	(void)state;
	assert_int_equal(mountinfo_parse_line(line, &e), 0);
	assert_string_equal(e.root, "/a b");
	assert_string_equal(e.mount_point, "/mnt/with space\ttab\\back");
	assert_string_equal(e.source, "my src");
	/* only complete \ooo escapes of a byte decode */
	mountinfo_unescape(loose);
	assert_string_equal(loose, "x\\0 y\\400 S4");
}

static void test_not_mountinfo_lines(void **state)
{
	char short_line[] = "36 35 98:0 / /sys";
	char no_separator[] = "36 35 98:0 / /sys rw shared:1";
	char no_type[] = "36 35 98:0 / /sys rw -";
	char early_dash[] = "36 35 98:0 / - rw cgroup2";
	char bare[] = "36 35 98:0 / /sys rw - cgroup2";
	struct mountinfo_entry e;

	(void)state;
	assert_int_equal(mountinfo_parse_line(short_line, &e), -1);
	assert_int_equal(mountinfo_parse_line(no_separator, &e), -1);
	assert_int_equal(mountinfo_parse_line(no_type, &e), -1);
	assert_int_equal(mountinfo_parse_line(early_dash, &e), -1);
	assert_int_equal(mountinfo_parse_line(bare, &e), 0);
	assert_string_equal(e.fstype, "cgroup2");
	assert_string_equal(e.source, "");
	assert_string_equal(e.super_options, "");
}

struct collect {
	char seen[256];
	int stop_after;
	int calls;
};

static int collect_points(const struct mountinfo_entry *e, void *ctx)
{
	struct collect *c = ctx;

	strncat(c->seen, e->mount_point, sizeof(c->seen) - strlen(c->seen) - 1);
	strncat(c->seen, ";", sizeof(c->seen) - strlen(c->seen) - 1);
	return ++c->calls == c->stop_after ? 7 : 0;
}

static void test_foreach_order_and_stop(void **state)
{
	const char *text = "1 0 0:1 / / rw - ext4 /dev/vda rw\n"
	                   "garbage\n"
	                   "\n"
	                   "2 1 0:2 / /proc rw - proc proc rw\n"
	                   "3 1 0:3 / /sys rw - sysfs sysfs rw";
	struct collect all = {.stop_after = 0}, first_two = {.stop_after = 2};

	(void)state;
	assert_int_equal(mountinfo_foreach(text, collect_points, &all), 0);
	assert_string_equal(all.seen, "/;/proc;/sys;");
	assert_int_equal(mountinfo_foreach(text, collect_points, &first_two), 7);
	assert_string_equal(first_two.seen, "/;/proc;");
	assert_int_equal(mountinfo_foreach("", collect_points, &all), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields_around_optional_ones),
	    cmocka_unit_test(test_octal_escapes),
	    cmocka_unit_test(test_not_mountinfo_lines),
	    cmocka_unit_test(test_foreach_order_and_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
