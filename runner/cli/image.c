/* image.c - `pgo-sandbox image build|digest`: a pinned Debian root
 * filesystem image, and the digest stage provenance records of an image
 * (image/image.h). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "image/image.h"

enum { OPT_OUT = 256, OPT_MIRROR, OPT_CACHE_DIR, OPT_JSON, OPT_HELP };

static const struct option build_options[] = {
    {"out", required_argument, NULL, OPT_OUT},
    {"mirror", required_argument, NULL, OPT_MIRROR},
    {"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static const struct option digest_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out, const char *command)
{
	(void)command;
	fputs("usage: pgo-sandbox image build DEFINITION [--out DIR] [--mirror URL|apt]\n"
	      "                               [--cache-dir DIR]\n"
	      "       pgo-sandbox image digest IMAGE [--json]\n"
	      "\n"
	      "build   Build a pinned Debian root filesystem from images/NAME.ini with\n"
	      "        debootstrap (needs root), pack it as a reproducible tarball and write\n"
	      "        DIR/NAME.tar.zst and DIR/NAME.json (definition, digest, package\n"
	      "        versions); prints \"sha256:<hex>  DIR/NAME.tar.zst\".\n"
	      "          --out DIR        output directory (default build/images)\n"
	      "          --mirror URL     Debian mirror to use instead of the definition's\n"
	      "                           snapshot (recorded: snapshot_honoured false);\n"
	      "                           'apt' = the mirror this machine's apt uses\n"
	      "          --cache-dir DIR  keep downloaded .debs here (default\n"
	      "                           DIR/debootstrap-cache)\n"
	      "digest  Print the digest of IMAGE (host, a directory or a tarball), the one\n"
	      "        stage provenance records; --json adds the facts it is computed from\n"
	      "        (for host: compiler, linker, llvm-profdata paths, sha256, versions).\n"
	      "\n"
	      "Examples:\n"
	      "  sudo pgo-sandbox image build images/bookworm-gcc\n"
	      "  pgo-sandbox run --image build/images/bookworm-gcc.tar.zst -- gcc --version\n"
	      "  pgo-sandbox image digest host --json\n",
	      out);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("pgo-sandbox: image: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see pgo-sandbox image --help)\n", stderr);
	return EXIT_RUNNER_ERROR;
}

static int build_option(void *request, const struct cli_opt *c, struct error *err)
{
	struct image_build_request *rq = request;

	switch (c->id) {
	case OPT_OUT: rq->out_dir = c->arg; return 0;
	case OPT_MIRROR: rq->mirror = c->arg; return 0;
	case OPT_CACHE_DIR: rq->cache_dir = c->arg; return 0;
	default:
		return error_set(err, EXIT_RUNNER_ERROR, 0, "image build: option %s is not handled",
		                 c->name ? c->name : "?");
	}
}

static const struct cli_parser build_parser = {
    .command = "image build",
    .shortopts = ":h",
    .longopts = build_options,
    .help = OPT_HELP,
    .usage = usage,
    .handle = build_option,
};

static int build_main(int argc, char **argv)
{
	struct image_build_request rq = {0};
	struct error err = {0};
	int first;
	int rc = cli_parse(&build_parser, argc, argv, &rq, &first, &err);

	if (rc != 0)
		return rc > 0 ? 0 : cli_fail(&err);
	if (argc - first != 1)
		return usage_error("build needs one DEFINITION (images/NAME)");
	rq.definition = argv[first];
	if (image_build(&rq, &err) < 0)
		return cli_fail(&err);
	return fflush(stdout) == 0 ? 0 : EXIT_RUNNER_ERROR;
}

static int digest_option(void *request, const struct cli_opt *c, struct error *err)
{
	bool *as_json = request;

	if (c->id != OPT_JSON)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "image digest: option %s is not handled", c->name ? c->name : "?");
	*as_json = true;
	return 0;
}

static const struct cli_parser digest_parser = {
    .command = "image digest",
    .shortopts = ":h",
    .longopts = digest_options,
    .help = OPT_HELP,
    .usage = usage,
    .handle = digest_option,
};

static void print_digest(const char *image, const char *digest, json_t *facts)
{
	if (facts) {
		json_t *doc =
		    json_pack("{s:s, s:s, s:o}", "image", image, "digest", digest, "facts", facts);
		char *text = json_dumps(doc, JSON_SORT_KEYS | JSON_INDENT(2));

		printf("%s\n", text ? text : "null");
		free(text);
		json_decref(doc);
	} else {
		printf("%s\n", digest);
	}
}

static int digest_main(int argc, char **argv)
{
	char digest[DIGEST_STR_MAX];
	struct error err = {0};
	json_t *facts = NULL;
	bool as_json = false;
	int first;
	int rc = cli_parse(&digest_parser, argc, argv, &as_json, &first, &err);

	if (rc != 0)
		return rc > 0 ? 0 : cli_fail(&err);
	if (argc - first != 1)
		return usage_error("digest needs one IMAGE (host, a directory or a tarball)");
	if (image_digest(argv[first], digest, as_json ? &facts : NULL, &err) < 0)
		return cli_fail(&err);
	print_digest(argv[first], digest, facts);
	return fflush(stdout) == 0 ? 0 : EXIT_RUNNER_ERROR;
}

int cli_image(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr, "image");
		return EXIT_RUNNER_ERROR;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout, "image");
		return 0;
	}
	if (strcmp(argv[1], "build") == 0)
		return build_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "digest") == 0)
		return digest_main(argc - 1, argv + 1);
	return usage_error("unknown subcommand '%s' (build, digest)", argv[1]);
}
