/* Unit tests: command-line words into JSON without losing a byte
 * (base/bytes_json): UTF-8 validity, the lossy text, base64 both ways. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes_json.h"

static void test_utf8_validity(void **state)
{
	(void)state;
	assert_true(utf8_valid(""));
	assert_true(utf8_valid("plain ascii"));
	assert_true(utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
	assert_false(utf8_valid("a\xe9"
	                        "b"));                /* Latin-1 byte */
	assert_false(utf8_valid("\xc0\xaf"));         /* overlong '/' */
	assert_false(utf8_valid("\xe0\x80\xaf"));     /* overlong, 3 bytes */
	assert_false(utf8_valid("\xed\xa0\x80"));     /* surrogate */
	assert_false(utf8_valid("\xf4\x90\x80\x80")); /* beyond U+10FFFF */
	assert_false(utf8_valid("\xe2\x82"));         /* truncated at the end */
}

static void test_lossy_text_marks_each_bad_byte(void **state)
{
	char *s;

	(void)state;
	s = utf8_lossy("a\xe9"
	               "b\xc3\xa9\xff");
	assert_string_equal(s, "a\xef\xbf\xbd"
	                       "b\xc3\xa9\xef\xbf\xbd");
	free(s);
}

static void test_base64_round_trip_every_length(void **state)
{
	unsigned char data[64], *back;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + 1);
	for (size_t n = 0; n < sizeof(data); n++) {
		char *text = base64_encode(data, n);

		assert_int_equal(strlen(text), (n + 2) / 3 * 4);
		assert_int_equal(base64_decode(text, &back, &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(back, data, n);
		free(back);
		free(text);
	}
	assert_int_equal(base64_decode("Yeli", &back, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(back,
	                    "a\xe9"
	                    "b",
	                    3);
	free(back);
	{
		char *t = base64_encode((const unsigned char *)"echo", 4);

		assert_string_equal(t, "ZWNobw==");
		free(t);
	}
}

static void test_base64_decode_rejects(void **state)
{
	static const char *bad[] = {"abc", "ab=c", "a===", "ab!d", "YQ==YQ==", "=AAA"};
	unsigned char *out;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(base64_decode(bad[i], &out, &len), -1);
		assert_null(out);
	}
}

static void test_words_round_trip_through_json(void **state)
{
	char *words[] = {"echo", "one",
	                 "a\xe9"
	                 "b",
	                 "three", NULL};
	char *plain[] = {"echo", "plain", NULL};
	struct error err = {0};
	bool needs;
	json_t *text, *b64, *bad;
	char **back;

	(void)state;
	text = strv_text_json(words, &needs);
	assert_true(needs);
	assert_int_equal(json_array_size(text), 4); /* nothing dropped */
	assert_string_equal(json_string_value(json_array_get(text, 2)), "a\xef\xbf\xbd"
	                                                                "b");
	b64 = strv_b64_json(words);
	assert_int_equal(strv_from_b64_json(b64, &back, &err), 0);
	for (size_t i = 0; words[i]; i++)
		assert_string_equal(back[i], words[i]);
	assert_null(back[4]);
	for (size_t i = 0; back[i]; i++)
		free(back[i]);
	free(back);
	json_decref(text);
	json_decref(b64);

	text = strv_text_json(plain, &needs);
	assert_false(needs);
	json_decref(text);

	/* a NUL inside cannot be an argument; a number is no base64 */
	bad = json_pack("[s, s]", "AGE=", "YQ==");
	assert_int_equal(strv_from_b64_json(bad, &back, &err), -1);
	assert_non_null(strstr(err.msg, "element 0"));
	json_decref(bad);
	bad = json_pack("[s, i]", "YQ==", 3);
	assert_int_equal(strv_from_b64_json(bad, &back, &err), -1);
	assert_non_null(strstr(err.msg, "element 1"));
	json_decref(bad);
}

static void test_string_or_null(void **state)
{
	json_t *s = json_string_or_null("x"), *n = json_string_or_null(NULL);

	(void)state;
	assert_true(json_is_string(s));
	assert_string_equal(json_string_value(s), "x");
	assert_true(json_is_null(n));
	json_decref(s);
	json_decref(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8_validity),
	    cmocka_unit_test(test_lossy_text_marks_each_bad_byte),
	    cmocka_unit_test(test_base64_round_trip_every_length),
	    cmocka_unit_test(test_base64_decode_rejects),
	    cmocka_unit_test(test_words_round_trip_through_json),
	    cmocka_unit_test(test_string_or_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
