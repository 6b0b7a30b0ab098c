/* unpack.c - `pgo-sandbox unpack TARBALL DIR`: safe extraction, hostile
 * entries refused (artifacts/archive.h). */
#define _GNU_SOURCE
#include <stdio.h>

#include "artifacts/archive.h"
#include "cli/commands.h"
#include "cli/options.h"

static const char unpack_help[] =
    "usage: pgo-sandbox unpack TARBALL DIR [OPTIONS]\n"
    "\n"
    "Extract TARBALL into the empty directory DIR, refusing (naming the entry)\n"
    "absolute paths, '..', links leading out, writes through links, device nodes,\n"
    "fifos, setuid/setgid/sticky bits and decompression bombs.  On a refusal DIR\n"
    "is emptied again (and removed, when unpack created it); a TARBALL that\n"
    "cannot be opened is refused before DIR is created.\n"
    "\n"
    "  --max-bytes SIZE        total content (default 16G)\n"
    "  --max-entries N         (default 1000000)\n"
    "  --max-ratio N           uncompressed/compressed (default 1000)\n"
    "  --max-entry-bytes SIZE  one entry (default 8G)\n"
    "\n"
    "Example:\n"
    "  pgo-sandbox unpack artifacts/build.tar.zst /tmp/build\n";

static const char unpack_usage[] =
    "unpack TARBALL DIR [--max-bytes SIZE] [--max-entries N] [--max-ratio N] "
    "[--max-entry-bytes SIZE]";

enum { OPT_MAX_BYTES = 256, OPT_MAX_ENTRIES, OPT_MAX_RATIO, OPT_MAX_ENTRY_BYTES, OPT_HELP };

static const struct option unpack_options[] = {
    {"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
    {"max-entries", required_argument, NULL, OPT_MAX_ENTRIES},
    {"max-ratio", required_argument, NULL, OPT_MAX_RATIO},
    {"max-entry-bytes", required_argument, NULL, OPT_MAX_ENTRY_BYTES},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out, const char *command)
{
	(void)command;
	fputs(unpack_help, out);
}

static int handle(void *request, const struct cli_opt *c, struct error *err)
{
	struct extract_limits *l = request;

	switch (c->id) {
	case OPT_MAX_BYTES: return parse_size(c->arg, &l->max_total_bytes, err);
	case OPT_MAX_ENTRIES: return parse_u64(c->arg, &l->max_entries, err);
	case OPT_MAX_RATIO: return parse_u64(c->arg, &l->max_ratio, err);
	case OPT_MAX_ENTRY_BYTES: return parse_size(c->arg, &l->max_entry_bytes, err);
	default:
		return error_set(err, EXIT_RUNNER_ERROR, 0, "unpack: option %s is not handled",
		                 c->name ? c->name : "?");
	}
}

static const struct cli_parser unpack_parser = {
    .command = "unpack",
    .shortopts = ":h",
    .longopts = unpack_options,
    .help = OPT_HELP,
    .usage = usage,
    .handle = handle,
};

int cli_unpack(int argc, char **argv)
{
	struct extract_limits l;
	struct error err = {0};
	int first;

	if (cli_wants_help(argc, argv)) {
		fputs(unpack_help, stdout);
		return 0;
	}
	extract_limits_default(&l);
	if (cli_parse(&unpack_parser, argc, argv, &l, &first, &err) < 0)
		return cli_usage_error(unpack_usage, "%s", err.msg);
	if (argc - first != 2)
		return cli_usage_error(unpack_usage, "%s", "unpack needs TARBALL and DIR");
	if (archive_unpack_dir(argv[first], argv[first + 1], &l, &err) < 0) {
		error_print(&err);
		return err.exit_code;
	}
	return 0;
}
