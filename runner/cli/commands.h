/* commands.h - the entry point of every command, one cli/NAME.c each,
 * dispatched from the table in main.c.  argv[0] is the command's name;
 * each returns the process's exit code (README "Exit codes"). */
#ifndef PGO_CLI_COMMANDS_H
#define PGO_CLI_COMMANDS_H

int cli_run(int argc, char **argv);
int cli_stage(int argc, char **argv);
int cli_pipeline(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_inspect(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_forensics(int argc, char **argv);
int cli_image(int argc, char **argv);
int cli_history(int argc, char **argv);
int cli_doctor(int argc, char **argv);
int cli_host(int argc, char **argv);
int cli_pack(int argc, char **argv);
int cli_unpack(int argc, char **argv);
int cli_init(int argc, char **argv);
int cli_version(int argc, char **argv);
int cli_help(int argc, char **argv);
/* internal: the merge stage's pgo-merge runs it inside the sandbox */
int cli_profile_normalise(int argc, char **argv);

#endif
