/* main.c - subcommand dispatch: one table, one row per command. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "cli/commands.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
    {"run", cli_run},
    {"stage", cli_stage},
    {"pipeline", cli_pipeline},
    {"verify", cli_verify},
    {"inspect", cli_inspect},
    {"bench", cli_bench},
    {"forensics", cli_forensics},
    {"image", cli_image},
    {"history", cli_history},
    {"init", cli_init},
    {"doctor", cli_doctor},
    {"host", cli_host},
    {"pack", cli_pack},
    {"unpack", cli_unpack},
    {"profile-normalise", cli_profile_normalise},
    {"version", cli_version},
    {"--version", cli_version},
    {"-V", cli_version},
    {"help", cli_help},
    {"--help", cli_help},
    {"-h", cli_help},
};

int main(int argc, char **argv)
{
	if (argc < 2)
		return cli_help(0, NULL); /* usage on stderr, 125 */
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "pgo-sandbox: unknown command '%s' (see pgo-sandbox --help)\n", argv[1]);
	return EXIT_RUNNER_ERROR;
}
