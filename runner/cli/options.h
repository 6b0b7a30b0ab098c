/* options.h - the one getopt_long loop every command shares: --help (and
 * -h) print the command's usage on stdout, an unknown option or a missing
 * value is one error naming the option with a pointer to --help (exit
 * 125).  The command's handler turns each option into its request struct;
 * below cli/, nothing sees argv. */
#ifndef PGO_CLI_OPTIONS_H
#define PGO_CLI_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "base/util.h"

/* One option as getopt_long returned it. */
struct cli_opt {
	int id;           /* the option's value in the table (or its short letter) */
	const char *arg;  /* its value, NULL for a flag */
	const char *name; /* its long name, NULL when given as a short option */
	int argc;         /* the command line, for options taking two values */
	char **argv;
};

struct cli_parser {
	const char *command; /* "run", "stage": in messages */
	/* getopt's short options, ':' first after an optional '+' (stop at
	 * the first operand, for commands that take one after "--") */
	const char *shortopts;
	const struct option *longopts;
	int help; /* the value --help has in longopts; -h is always help */
	void (*usage)(FILE *out, const char *command);
	/* 0, or -1 + err naming the option and the reason */
	int (*handle)(void *request, const struct cli_opt *o, struct error *err);
};

/* Parse argv[1..] (argv[0] is the command's name).  Returns 1 after
 * printing the usage for --help, 0 with *operand set to the index of the
 * first operand (argc when none), -1 + err (exit code 125). */
int cli_parse(const struct cli_parser *p, int argc, char **argv, void *request, int *operand,
              struct error *err);

/* The second value of a two-value option (--bind SRC DST), consumed from
 * the command line; NULL when there is none or it is "--". */
const char *cli_take_value(const struct cli_opt *o);

/* Print err and return its exit code (125 unless it says otherwise). */
int cli_fail(const struct error *err);

/* "pgo-sandbox: MESSAGE" and "usage: pgo-sandbox USAGE" on stderr; 125. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --help or -h anywhere before "--" (pack, unpack: it wins over any
 * other mistake on the line). */
bool cli_wants_help(int argc, char **argv);

#endif
