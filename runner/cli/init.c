/* init.c - see init.h */
#define _GNU_SOURCE
#include "cli/init.h"
#include "cli/options.h"
#include "cli/commands.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/util.h"

/* The default of `pipeline --pipeline`: `pgo-sandbox pipeline` in the
 * project finds the file without options. */
#define DEFAULT_OUTPUT "pgo-pipeline.ini"
#define RUST_TARGET "x86_64-unknown-linux-gnu"

/* The flags of each build of a C project, by stage. */
#define C_FLAGS_INSTRUMENT "$PGO_LTO_FLAGS $PGO_GENERATE_FLAGS"
#define C_FLAGS_BUILD "$PGO_LTO_FLAGS $PGO_CFLAGS $PGO_USE_FLAGS"
#define C_FLAGS_BASELINE "$PGO_LTO_FLAGS $PGO_CFLAGS"

static void usage(FILE *out)
{
	fputs("usage: pgo-sandbox init [DIR] [--output FILE] [--compiler gcc|clang]\n"
	      "\n"
	      "Write a commented starter pipeline for the project in DIR (default: the\n"
	      "current directory) to FILE (default DIR/" DEFAULT_OUTPUT "): for a cargo\n"
	      "project from Cargo.toml (binary targets, --target " RUST_TARGET ",\n"
	      "[profile.release] lto and codegen-units, vendored crates for offline stages),\n"
	      "for a CMake, make or plain C project the gcc (or --compiler clang) variant.\n"
	      "The train and bench commands are PLACEHOLDERs that fail until written.\n"
	      "Never overwrites a file.  Check the result with\n"
	      "  pgo-sandbox pipeline --check --pipeline FILE\n",
	      out);
}

/* One line per fact the pipeline depends on; the same lines go into the
 * file's header and onto stdout. */
static void cargo_findings(const struct project *p, struct strbuf *b)
{
	const struct cargo_facts *c = &p->cargo;
	bool fat = c->lto && (strcmp(c->lto, "fat") == 0 || strcmp(c->lto, "true") == 0);
	bool one_unit = c->codegen_units && strcmp(c->codegen_units, "1") == 0;

	if (c->n_bins == 0)
		strbuf_printf(b,
		              "MISSING: no binary target (no [[bin]], no src/main.rs%s): the "
		              "pipeline assumes a binary named %s\n",
		              c->workspace ? "; a workspace: name a member's binary" : "",
		              p->binary);
	else {
		strbuf_printf(b, "binary targets:");
		for (size_t i = 0; i < c->n_bins; i++)
			strbuf_printf(b, " %s", c->bins[i]);
		strbuf_printf(b, " (all shipped; train and bench run %s)\n", p->binary);
	}
	if (fat)
		strbuf_printf(b, "[profile.release] lto = \"%s\": fat LTO, as PGO should sit on\n",
		              c->lto);
	else
		strbuf_printf(b,
		              "MISSING: [profile.release] lto = \"fat\" in Cargo.toml (found: %s): "
		              "PGO is measured on top of the LTO you ship\n",
		              c->lto ? c->lto : "none");
	if (one_unit)
		strbuf_printf(b, "[profile.release] codegen-units = 1: yes\n");
	else
		strbuf_printf(b,
		              "MISSING: [profile.release] codegen-units = 1 in Cargo.toml (found: "
		              "%s): more units split what the profile sees\n",
		              c->codegen_units ? c->codegen_units : "none");
	switch (c->vendor) {
	case VENDOR_NOT_NEEDED:
		strbuf_printf(b, "no dependencies: cargo builds offline as is (stages have no "
		                 "network)\n");
		break;
	case VENDOR_CONFIGURED:
		strbuf_printf(b,
		              "vendored sources: .cargo/config.toml replaces crates-io with %s "
		              "(stages have no network)\n",
		              c->vendor_dir);
		break;
	case VENDOR_DIR_MISSING:
		strbuf_printf(b,
		              "MISSING: .cargo/config.toml names vendored sources in %s, which "
		              "does not exist: run `cargo vendor %s` (stages have no network)\n",
		              c->vendor_dir, c->vendor_dir);
		break;
	case VENDOR_MISSING:
		strbuf_printf(b, "MISSING: vendored sources: stages run without network, so cargo "
		                 "cannot download the dependencies; run `cargo vendor` and add the "
		                 "[source] lines it prints to .cargo/config.toml\n");
		break;
	}
	if (c->has_lock)
		strbuf_printf(b, "Cargo.lock: yes (builds use --locked)\n");
	else
		strbuf_printf(b,
		              "MISSING: Cargo.lock (run `cargo generate-lockfile` and commit it): "
		              "without it builds are not pinned, and --locked is left out\n");
}

static void c_findings(const struct project *p, const char *compiler, struct strbuf *b)
{
	static const char *const kinds[] = {
	    [PROJECT_CMAKE] = "CMake project (CMakeLists.txt)",
	    [PROJECT_MAKE] = "make project (Makefile)",
	    [PROJECT_C_SOURCES] = "C sources without a build system",
	};

	strbuf_printf(b, "%s, built with %s%s%s\n", kinds[p->kind], compiler,
	              p->kind == PROJECT_C_SOURCES ? " from " : "",
	              p->kind == PROJECT_C_SOURCES ? p->c_sources : "");
	if (p->binary_guessed)
		strbuf_printf(b,
		              "CHECK: the binary is assumed to be named %s (after the directory)\n",
		              p->binary);
	else
		strbuf_printf(b, "binary: %s (the first add_executable)\n", p->binary);
	if (p->kind == PROJECT_MAKE)
		strbuf_printf(b, "CHECK: the Makefile must honour CC, CFLAGS and LDFLAGS from the "
		                 "command line (the PGO flags come through them)\n");
}

/* Every finding line as a comment. */
static void comment_lines(struct strbuf *b, const char *lines)
{
	const char *s = lines;

	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		strbuf_printf(b, "#   %.*s\n", (int)n, s);
		s += n + (nl ? 1 : 0);
	}
}

static void header(struct strbuf *b, const struct project *p, const char *what,
                   const char *findings)
{
	strbuf_printf(
	    b,
	    "# A starter PGO pipeline for %s (%s), written by `pgo-sandbox init`.\n"
	    "#   pgo-sandbox pipeline --check --pipeline FILE   validates it, runs nothing\n"
	    "#   pgo-sandbox pipeline --pipeline FILE           runs every stage\n"
	    "# instrument -> train -> merge -> build (PGO), baseline (no PGO), bench\n"
	    "# (baseline against build, gated).  Lines marked PLACEHOLDER are what init\n"
	    "# cannot know: the training workload and the benchmarks.  Those stages fail,\n"
	    "# saying so, until you write them.\n"
	    "#\n"
	    "# What init found:\n",
	    p->name, what);
	comment_lines(b, findings);
}

static void pipeline_section(struct strbuf *b, const struct project *p, const char *compiler,
                             const char *source)
{
	char *dotgit = xasprintf("%s/.git", p->dir);
	bool git = access(dotgit, F_OK) == 0;

	free(dotgit);
	strbuf_printf(b, "\n[pipeline]\nname = %s\nsource = %s\ncompiler = %s\n", p->name, source,
	              compiler);
	if (git)
		strbuf_printf(b, "# the last commit's date: tarballs are the same bytes from every "
		                 "checkout\nsource-date-epoch = git\n");
	else
		strbuf_printf(b,
		              "# the release's date (seconds): every tarball's mtime; `git` in a "
		              "checkout\nsource-date-epoch = 0\n");
}

static void train_merge_stages(struct strbuf *b, const struct project *p)
{
	strbuf_printf(
	    b,
	    "\n[stage train]\n"
	    "profile = train\n"
	    "inputs = instrument source\n"
	    "# PLACEHOLDER: run /build/in/instrument/%s on inputs like production's (the\n"
	    "# profile is only as good as this).  To shard, set shards = N and loop over\n"
	    "# $(pgo-shard FILES...).  For example:\n"
	    "#\tfor f in $(pgo-shard /src/testdata/*); do /build/in/instrument/%s \"$f\" "
	    ">/dev/null; done\n"
	    "command = echo \"PLACEHOLDER: the train stage has no command yet: write it (see the "
	    "comment above it)\" >&2; exit 1\n"
	    "outputs = profile\n"
	    "\n[stage merge]\nprofile = merge\ninputs = train\ncommand = pgo-merge\noutputs = "
	    "profile\n",
	    p->binary, p->binary);
}

static void bench_stage(struct strbuf *b, const char *bench_eg)
{
	strbuf_printf(
	    b,
	    "\n[stage bench]\n"
	    "profile = bench\n"
	    "inputs = baseline build source\n"
	    "# PLACEHOLDER: one benchmark run; {input} is the baseline's, then the build's\n"
	    "# output directory, {bench} each name of PGO_BENCHMARKS.  For example:\n"
	    "#   command = %s\n"
	    "#   env = PGO_BENCHMARKS=small,large\n"
	    "command = echo \"PLACEHOLDER: the bench stage has no command yet: write it (see the "
	    "comment above it)\" >&2; exit 1\n"
	    "env = PGO_BENCHMARKS=PLACEHOLDER\n"
	    "env = PGO_BENCH_RUNS=10\n"
	    "# exit 1 when the PGO build is slower by more than 2 %%\n"
	    "env = PGO_BENCH_FAIL_ON_REGRESSION=2\n",
	    bench_eg);
}

/* One cargo build; copies `bins` (the first only when !all) to /build/out. */
static void cargo_stage(struct strbuf *b, const struct project *p, const char *name,
                        const char *inputs, const char *rustflags, bool all)
{
	const struct cargo_facts *c = &p->cargo;
	size_t n = all && c->n_bins > 0 ? c->n_bins : 1;

	strbuf_printf(b,
	              "\n[stage %s]\nprofile = build\ninputs = %s\ncommand = set -e\n\tcd /src\n",
	              name, inputs);
	strbuf_printf(b, "\t%scargo build --release --offline%s --target " RUST_TARGET "\n",
	              rustflags, c->has_lock ? " --locked" : "");
	for (size_t i = 0; i < n; i++) {
		const char *bin = c->n_bins ? c->bins[i] : p->binary;

		strbuf_printf(b, "\tcp /build/target/" RUST_TARGET "/release/%s /build/out/%s\n",
		              bin, bin);
	}
	strbuf_printf(b, "outputs =");
	for (size_t i = 0; i < n; i++)
		strbuf_printf(b, " %s", c->n_bins ? c->bins[i] : p->binary);
	strbuf_printf(b, "\n");
}

static void cargo_text(struct strbuf *b, const struct project *p, const char *source)
{
	struct strbuf findings = {0};
	char *f, *eg;

	cargo_findings(p, &findings);
	f = strbuf_take(&findings);
	header(b, p, "cargo", f);
	free(f);
	strbuf_printf(b, "#\n# compiler = rustc: cargo runs offline with CARGO_HOME and "
	                 "CARGO_TARGET_DIR under\n# /build; --target " RUST_TARGET " keeps "
	                 "RUSTFLAGS away from build scripts\n# and proc-macros.\n");
	pipeline_section(b, p, "rustc", source);
	cargo_stage(b, p, "instrument", "source", "RUSTFLAGS=\"$PGO_GENERATE_FLAGS\" ", false);
	train_merge_stages(b, p);
	cargo_stage(b, p, "build", "merge source", "RUSTFLAGS=\"$PGO_USE_FLAGS\" ", true);
	cargo_stage(b, p, "baseline", "source", "", true);
	eg = xasprintf("{input}/%s bench {bench}", p->binary);
	bench_stage(b, eg);
	free(eg);
}

/* gcc -fprofile-use=DIR looks for the profile of an object named by a
 * relative path (make's and CMake's -o) under its mangled absolute name,
 * DIR/#build#src#x.gcda, while training wrote DIR/build/src/x.gcda: the
 * build stage copies the profile to the mangled names and points gcc at
 * the copy (the last -fprofile-use wins). */
#define GCC_MANGLED_PROFILE                                                                        \
	"\t# gcc wants the profile of a relative -o under mangled names (#build#src#x.gcda)\n"     \
	"\tmkdir -p /build/gcc-profile\n"                                                          \
	"\tfor f in $(cd \"$PGO_PROFILE\" && find . -name '*.gcda'); do f=${f#./}; "               \
	"cp \"$PGO_PROFILE/$f\" \"/build/gcc-profile/#$(echo \"$f\" | tr / '#')\"; done\n"
#define GCC_MANGLED_FLAG " -fprofile-use=/build/gcc-profile"

/* The command that builds a C project with `flags` into /build/out. */
static void c_build(struct strbuf *b, const struct project *p, const char *compiler,
                    const char *flags)
{
	const char *bin = p->binary;
	bool mangle = strcmp(compiler, "gcc") == 0 && strcmp(flags, C_FLAGS_BUILD) == 0 &&
	              p->kind != PROJECT_C_SOURCES;

	if (p->kind == PROJECT_C_SOURCES) {
		strbuf_printf(b, "command = cd /src && $PGO_CC -O2 %s -o /build/out/%s %s -lm\n",
		              flags, bin, p->c_sources);
		strbuf_printf(b, "outputs = %s\n", bin);
		return;
	}
	strbuf_printf(b, "command = set -e\n%s\tflags=\"%s%s\"\n",
	              mangle ? GCC_MANGLED_PROFILE : "", flags, mangle ? GCC_MANGLED_FLAG : "");
	if (p->kind == PROJECT_CMAKE)
		strbuf_printf(b,
		              "\tcmake -S /src -B /build/cmake -DCMAKE_BUILD_TYPE=Release \\\n"
		              "\t\t-DCMAKE_C_COMPILER=\"$PGO_CC\" -DCMAKE_C_FLAGS=\"$flags\" "
		              "-DCMAKE_EXE_LINKER_FLAGS=\"$flags\"\n"
		              "\tcmake --build /build/cmake\n"
		              "\tcp /build/cmake/%s /build/out/%s\n",
		              bin, bin);
	else
		/* /src is read-only: build a copy, at the same path in every stage */
		strbuf_printf(b,
		              "\tcp -R /src/. /build/src\n"
		              "\tmake -C /build/src CC=\"$PGO_CC\" CFLAGS=\"-O2 $flags\" "
		              "LDFLAGS=\"$flags\"\n"
		              "\tcp /build/src/%s /build/out/%s\n",
		              bin, bin);
	strbuf_printf(b, "outputs = %s\n", bin);
}

static void c_text(struct strbuf *b, const struct project *p, const char *compiler,
                   const char *source)
{
	struct strbuf findings = {0};
	char *f, *eg;

	c_findings(p, compiler, &findings);
	f = strbuf_take(&findings);
	header(b, p, compiler, f);
	free(f);
	strbuf_printf(b, "#\n# The runner exports PGO_CC, PGO_LTO_FLAGS, PGO_CFLAGS, "
	                 "PGO_GENERATE_FLAGS\n# (instrument) and PGO_USE_FLAGS (build), and "
	                 "decides where profiles go.\n");
	pipeline_section(b, p, compiler, source);
	strbuf_printf(b, "\n[stage instrument]\nprofile = build\ninputs = source\n");
	c_build(b, p, compiler, C_FLAGS_INSTRUMENT);
	train_merge_stages(b, p);
	strbuf_printf(b, "\n[stage build]\nprofile = build\ninputs = merge source\n");
	c_build(b, p, compiler, C_FLAGS_BUILD);
	strbuf_printf(b, "\n[stage baseline]\nprofile = build\ninputs = source\n");
	c_build(b, p, compiler, C_FLAGS_BASELINE);
	eg = xasprintf("{input}/%s /src/bench/{bench}.input", p->binary);
	bench_stage(b, eg);
	free(eg);
}

char *init_pipeline_text(const struct project *p, const char *compiler, const char *source)
{
	struct strbuf b = {0};

	if (p->kind == PROJECT_CARGO)
		cargo_text(&b, p, source);
	else
		c_text(&b, p, compiler, source);
	return strbuf_take(&b);
}

/* ---- the command ---- */

struct init_cli {
	const char *dir;
	const char *output; /* NULL: DIR/pgo-pipeline.ini */
	const char *compiler;
};

static const struct option init_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"compiler", required_argument, NULL, 'c'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int init_option(void *request, const struct cli_opt *opt, struct error *err)
{
	struct init_cli *o = request;

	switch (opt->id) {
	case 'o': o->output = opt->arg; return 0;
	case 'c':
		if (strcmp(opt->arg, "gcc") != 0 && strcmp(opt->arg, "clang") != 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "init: --compiler %s: expected gcc or clang", opt->arg);
		o->compiler = opt->arg;
		return 0;
	default:
		return error_set(err, EXIT_RUNNER_ERROR, 0, "init: option %s is not handled",
		                 opt->name ? opt->name : "?");
	}
}

static void init_usage(FILE *out, const char *command)
{
	(void)command;
	usage(out);
}

static const struct cli_parser init_parser = {
    .command = "init",
    .shortopts = ":ho:",
    .longopts = init_options,
    .help = 'h',
    .usage = init_usage,
    .handle = init_option,
};

static int parse_cli(int argc, char **argv, struct init_cli *o, struct error *err)
{
	int first, rc;

	*o = (struct init_cli){.dir = ".", .compiler = NULL};
	rc = cli_parse(&init_parser, argc, argv, o, &first, err);
	if (rc != 0)
		return rc;
	if (first < argc)
		o->dir = argv[first++];
	if (first < argc)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "init: unexpected argument '%s'",
		                 argv[first]);
	return 0;
}

/* "." when the pipeline file sits in the project, else its absolute path:
 * `source` is relative to the pipeline file. */
static char *source_for(const struct project *p, const char *output)
{
	char *copy = xstrdup(output);
	char *dir = realpath(dirname(copy), NULL);
	char *source = xstrdup(dir && strcmp(dir, p->dir) == 0 ? "." : p->dir);

	free(dir);
	free(copy);
	return source;
}

/* Written and fsynced under a temporary name, then linked to `output`:
 * link(2) fails when the name exists, so nothing is ever overwritten and
 * nothing half-written appears there. */
static int write_new_file(const char *output, const char *text, struct error *err)
{
	char *tmp = xasprintf("%s.tmp.%d", output, (int)getpid());
	char *copy = xstrdup(output);
	int rc = write_file_temp(tmp, output, text, strlen(text), 0644, err);

	if (rc == 0 && link(tmp, output) < 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno,
		               errno == EEXIST ? "init: %s exists; init never overwrites a file "
		                                 "(remove it or choose --output)"
		                               : "init: writing %s",
		               output);
	if (rc == 0)
		rc = fsync_dir(dirname(copy), err);
	if (access(tmp, F_OK) == 0)
		unlink(tmp);
	free(copy);
	free(tmp);
	return rc;
}

static int init_write(const struct init_cli *o, const char *output, struct error *err)
{
	struct project p;
	char *source, *text;
	int rc;

	if (project_detect(o->dir, &p, err) < 0)
		return -1;
	if (p.kind == PROJECT_CARGO && o->compiler) {
		project_free(&p);
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "init: --compiler is for C projects; %s/Cargo.toml builds with rustc", o->dir);
	}
	source = source_for(&p, output);
	text = init_pipeline_text(&p, o->compiler ? o->compiler : "gcc", source);
	rc = write_new_file(output, text, err);
	if (rc == 0) {
		printf("wrote %s: a starter pipeline for %s\n", output, p.name);
		/* the findings, as in the file's header */
		for (const char *s = strstr(text, "# What init found:\n") + 19;
		     strncmp(s, "#   ", 4) == 0; s = strchr(s, '\n') + 1)
			printf("  %.*s\n", (int)(strchr(s, '\n') - s - 4), s + 4);
		printf("next: replace the PLACEHOLDER train and bench commands, then\n"
		       "  pgo-sandbox pipeline --check --pipeline %s\n",
		       output);
	}
	free(text);
	free(source);
	project_free(&p);
	return rc;
}

int cli_init(int argc, char **argv)
{
	struct init_cli o;
	struct error err = {0};
	struct stat st;
	char *output;
	int rc = parse_cli(argc, argv, &o, &err);

	if (rc != 0) {
		if (rc < 0)
			error_print(&err);
		return rc < 0 ? EXIT_RUNNER_ERROR : 0;
	}
	output = o.output ? xstrdup(o.output) : xasprintf("%s/%s", o.dir, DEFAULT_OUTPUT);
	/* refused before anything is read: the common case of a second run */
	if (lstat(output, &st) == 0)
		rc = error_set(&err, EXIT_RUNNER_ERROR, 0,
		               "init: %s exists; init never overwrites a file (remove it or choose "
		               "--output)",
		               output);
	else
		rc = init_write(&o, output, &err);
	free(output);
	if (rc < 0) {
		error_print(&err);
		return EXIT_RUNNER_ERROR;
	}
	return 0;
}
