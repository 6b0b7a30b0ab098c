/* test_dl_lazy.c - the one dlopen loader against libc itself: every member
 * resolved, or an error naming the library, the symbol and the hint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/dl_lazy.h"

struct libc_api {
	size_t (*strlen)(const char *);
	int (*abs)(int);
};

static const struct dl_symbol libc_symbols[] = {
    DL_SYMBOL(struct libc_api, strlen),
    DL_SYMBOL(struct libc_api, abs),
};

static void test_resolves_every_member(void **state)
{
	struct libc_api api = {0};
	struct error err = {0};
	void *handle = NULL;

	(void)state;
	assert_int_equal(dl_lazy_load("libc.so.6", "hint", libc_symbols, 2, &api, &handle, &err),
	                 0);
	assert_non_null(handle);
	assert_int_equal(api.strlen("four"), 4);
	assert_int_equal(api.abs(-3), 3);
	dl_lazy_unload(handle);
	dl_lazy_unload(NULL);
}

static void test_missing_symbol_named(void **state)
{
	static const struct dl_symbol missing[] = {
	    {"strlen", offsetof(struct libc_api, strlen)},
	    {"no_such_function_pgo", offsetof(struct libc_api, abs)},
	};
	struct libc_api api = {0};
	struct error err = {0};
	void *handle = (void *)1;

	(void)state;
	assert_int_equal(dl_lazy_load("libc.so.6", "install libc", missing, 2, &api, &handle, &err),
	                 -1);
	assert_null(handle);
	assert_int_equal(err.exit_code, 125);
	assert_non_null(strstr(err.msg, "loading libc.so.6: no_such_function_pgo: "));
	assert_non_null(strstr(err.msg, "(install libc)"));
}

static void test_missing_library_named(void **state)
{
	struct libc_api api = {0};
	struct error err = {0};
	void *handle = (void *)1;

	(void)state;
	assert_int_equal(dl_lazy_load("libpgo-none.so.9", "needs pgo-none", libc_symbols, 2, &api,
	                              &handle, &err),
	                 -1);
	assert_null(handle);
	assert_non_null(strstr(err.msg, "loading libpgo-none.so.9: dlopen: "));
	assert_non_null(strstr(err.msg, "libpgo-none.so.9: cannot open shared object file"));
	assert_non_null(strstr(err.msg, "(needs pgo-none)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolves_every_member),
	    cmocka_unit_test(test_missing_symbol_named),
	    cmocka_unit_test(test_missing_library_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
