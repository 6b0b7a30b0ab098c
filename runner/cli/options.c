/* options.c - see options.h */
#define _GNU_SOURCE
#include "cli/options.h"

#include <stdarg.h>
#include <string.h>

static int bad_option(const struct cli_parser *p, int opt, char **argv, struct error *err)
{
	/* getopt has consumed the offending word: argv[optind - 1] */
	if (opt == ':')
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: option '%s' needs a value",
		                 p->command, argv[optind - 1]);
	return error_set(err, EXIT_RUNNER_ERROR, 0,
	                 "%s: unknown option '%s' (see pgo-sandbox %s --help)", p->command,
	                 argv[optind - 1], p->command);
}

int cli_parse(const struct cli_parser *p, int argc, char **argv, void *request, int *operand,
              struct error *err)
{
	int opt, li;

	optind = 0; /* full getopt re-initialisation, also between fuzz inputs */
	opterr = 0;
	for (;;) {
		struct cli_opt o = {.argc = argc, .argv = argv};

		li = -1;
		opt = getopt_long(argc, argv, p->shortopts, p->longopts, &li);
		if (opt == -1)
			break;
		if (opt == p->help || opt == 'h') {
			p->usage(stdout, p->command);
			return 1;
		}
		if (opt == ':' || opt == '?')
			return bad_option(p, opt, argv, err);
		o.id = opt;
		o.arg = optarg;
		o.name = li >= 0 ? p->longopts[li].name : NULL;
		if (p->handle(request, &o, err) < 0)
			return -1;
	}
	*operand = optind;
	return 0;
}

const char *cli_take_value(const struct cli_opt *o)
{
	if (optind >= o->argc || strcmp(o->argv[optind], "--") == 0)
		return NULL;
	return o->argv[optind++];
}

int cli_fail(const struct error *err)
{
	error_print(err);
	return err->exit_code ? err->exit_code : EXIT_RUNNER_ERROR;
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	struct error err = {.exit_code = EXIT_RUNNER_ERROR};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	error_print(&err);
	fprintf(stderr, "usage: pgo-sandbox %s\n", usage);
	return EXIT_RUNNER_ERROR;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}
