/* libFuzzer target: `pgo-sandbox run` argument parsing and the value
 * parsers behind it.  Input: NUL-separated arguments. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/run_options.h"
#include "base/util.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	struct sandbox_spec spec;
	struct error err = { 0 };
	uint8_t mask[CPU_LIST_MAX / 8];
	uint64_t v;

	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "run";
	for (char *p = buf; p < buf + size && argc < MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	spec_init(&spec);
	cli_parse_run(argc, argv, &spec, &err);
	spec_free(&spec);
	/* the raw value parsers, on the first argument */
	if (argc > 1) {
		parse_size(argv[1], &v, &err);
		parse_duration_ns(argv[1], &v, &err);
		if (parse_cpu_list(argv[1], mask, &err) == 0)
			free(format_cpu_list(mask));
	}
	free(buf);
	return 0;
}
