/* test_shellwords.c - the bench's command splitter against what POSIX sh
 * gives for the same strings (checked by hand with dash: set -- STRING;
 * printf '<%s>' "$@"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/shellwords.h"

static void expect_words(const char *text, const char *const *want)
{
	struct error err = {0};
	char **words;
	size_t n, k = 0;

	if (shellwords_split(text, &words, &n, &err) < 0)
		fail_msg("split(%s) failed: %s", text, err.msg);
	while (want[k])
		k++;
	if (n != k)
		fail_msg("split(%s): %zu words, expected %zu", text, n, k);
	for (size_t i = 0; i < n; i++)
		if (strcmp(words[i], want[i]) != 0)
			fail_msg("split(%s)[%zu] = <%s>, expected <%s>", text, i, words[i],
			         want[i]);
	assert_null(words[n]);
	shellwords_free(words);
}

static void expect_error(const char *text, const char *needle)
{
	struct error err = {0};
	char **words = (char **)1;
	size_t n;

	assert_int_equal(shellwords_split(text, &words, &n, &err), -1);
	assert_null(words);
	assert_int_equal(err.exit_code, EXIT_RUNNER_ERROR);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error for <%s> is '%s', expected it to mention '%s'", text, err.msg,
		         needle);
}

static void test_blanks_separate(void **state)
{
	(void)state;
	expect_words("a b  c", (const char *[]){"a", "b", "c", NULL});
	expect_words("  \t lead and trail \n ", (const char *[]){"lead", "and", "trail", NULL});
	expect_words("./minilang bench/fib.ml",
	             (const char *[]){"./minilang", "bench/fib.ml", NULL});
}

static void test_single_quotes_are_literal(void **state)
{
	(void)state;
	expect_words("'a b' c", (const char *[]){"a b", "c", NULL});
	expect_words("'$HOME \\n \"x\"'", (const char *[]){"$HOME \\n \"x\"", NULL});
	expect_words("pre'fix suf'fix", (const char *[]){"prefix suffix", NULL});
}

static void test_double_quotes_escape_only_some(void **state)
{
	(void)state;
	expect_words("\"a b\"", (const char *[]){"a b", NULL});
	/* \" \\ \$ \` lose the backslash; \n and \a keep it */
	expect_words("\"q\\\" b\\\\ d\\$ t\\` n\\n a\\a\"",
	             (const char *[]){"q\" b\\ d$ t` n\\n a\\a", NULL});
	expect_words("\"it's\"", (const char *[]){"it's", NULL});
	expect_words("\"a\\\nb\"", (const char *[]){"ab", NULL});
}

static void test_backslash_outside_quotes(void **state)
{
	(void)state;
	expect_words("a\\ b c", (const char *[]){"a b", "c", NULL});
	expect_words("\\'x\\\"", (const char *[]){"'x\"", NULL});
	expect_words("a\\\nb", (const char *[]){"ab", NULL});
	expect_words("a \\\n b", (const char *[]){"a", "b", NULL});
}

static void test_empty_quotes_make_a_word(void **state)
{
	(void)state;
	expect_words("a '' \"\" b", (const char *[]){"a", "", "", "b", NULL});
	expect_words("''", (const char *[]){"", NULL});
}

static void test_no_expansion_no_operators(void **state)
{
	(void)state;
	expect_words("echo $HOME *.c ~ a|b c;d >out",
	             (const char *[]){"echo", "$HOME", "*.c", "~", "a|b", "c;d", ">out", NULL});
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("echo 'open", "unterminated quote");
	expect_error("echo \"open", "unterminated quote");
	expect_error("echo \"a\\\"", "unterminated quote");
	expect_error("trailing\\", "trailing backslash");
	expect_error("", "no words");
	expect_error(" \t\n", "no words");
}

static void test_quote_round_trips(void **state)
{
	static const char *const words[] = {"plain", "with space", "it's",      "",
	                                    "$x*",   "a\"b\\c",    "tab\there", "--opt=v,w"};

	(void)state;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		struct error err = {0};
		char *q = shellwords_quote(words[i]);
		char **back;
		size_t n;

		assert_int_equal(shellwords_split(q, &back, &n, &err), 0);
		assert_int_equal(n, 1);
		assert_string_equal(back[0], words[i]);
		shellwords_free(back);
		free(q);
	}
	{
		char *argv[] = {"./a b", "x", "it's", NULL};
		char *joined = shellwords_join(argv);

		assert_string_equal(joined, "'./a b' x 'it'\\''s'");
		free(joined);
	}
	{
		char *q = shellwords_quote("simple-word_1.0");
		assert_string_equal(q, "simple-word_1.0");
		free(q);
	}
}

/* What generated helper scripts write around paths: always quoted, even
 * a plain word, so a script's bytes do not depend on the path's spelling. */
static void test_quote_always(void **state)
{
	const char *in[] = {"plain", "", "it's", "a b", "$HOME", NULL};
	const char *want[] = {"'plain'", "''", "'it'\\''s'", "'a b'", "'$HOME'", NULL};

	(void)state;
	for (size_t i = 0; in[i]; i++) {
		char *q = shellwords_quote_always(in[i]);

		assert_string_equal(q, want[i]);
		expect_words(q, (const char *[]){in[i], NULL});
		free(q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blanks_separate),
	    cmocka_unit_test(test_single_quotes_are_literal),
	    cmocka_unit_test(test_double_quotes_escape_only_some),
	    cmocka_unit_test(test_backslash_outside_quotes),
	    cmocka_unit_test(test_empty_quotes_make_a_word),
	    cmocka_unit_test(test_no_expansion_no_operators),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_quote_round_trips),
	    cmocka_unit_test(test_quote_always),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
