/* inspect.c - `pgo-sandbox inspect ARTIFACT.tar.zst [--json]`: an
 * artifact's digest check, provenance and contents. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "artifacts/archive.h"
#include "artifacts/digest.h"
#include "artifacts/provenance.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/stage_options.h"

static const char *kind_char(enum archive_entry_kind k)
{
	switch (k) {
	case ARCHIVE_ENTRY_FILE: return "-";
	case ARCHIVE_ENTRY_DIR: return "d";
	case ARCHIVE_ENTRY_SYMLINK: return "l";
	case ARCHIVE_ENTRY_HARDLINK: return "h";
	default: return "?";
	}
}

static int entry_json(const struct archive_list_entry *e, void *ctx)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:I, s:I}", "path", e->path, "type", kind_char(e->kind),
	              "mode", "", "size", (json_int_t)e->size, "mtime", (json_int_t)e->mtime);
	char mode[8];

	snprintf(mode, sizeof(mode), "%04o", (unsigned)e->mode & 07777);
	json_object_set_new(o, "mode", json_string(mode));
	if (e->link)
		json_object_set_new(o, "link", json_string(e->link));
	json_array_append_new(ctx, o);
	return 0;
}

static void print_kv(const char *key, json_t *v)
{
	char *text = json_is_string(v)
	                 ? xstrdup(json_string_value(v))
	                 : json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);

	printf("%-14s %s\n", key, text ? text : "null");
	free(text);
}

static void print_inputs(json_t *inputs)
{
	for (size_t i = 0; i < json_array_size(inputs); i++) {
		json_t *in = json_array_get(inputs, i);
		const char *name = json_string_value(json_object_get(in, "name"));
		json_t *arts = json_object_get(in, "artifacts");

		if (!arts) {
			printf("  %-12s %s\n", name,
			       json_string_value(json_object_get(in, "digest")));
			continue;
		}
		for (size_t j = 0; j < json_array_size(arts); j++) {
			json_t *art = json_array_get(arts, j);

			printf("  %-12s %s %s\n", name,
			       json_string_value(json_object_get(art, "file")),
			       json_string_value(json_object_get(art, "digest")));
		}
	}
}

static void print_image(json_t *image)
{
	json_t *tools = json_object_get(json_object_get(image, "facts"), "tools");

	printf("%-14s %s %s\n", "image", json_string_value(json_object_get(image, "kind")),
	       json_string_value(json_object_get(image, "digest")));
	for (void *it = json_object_iter(tools); it; it = json_object_iter_next(tools, it))
		printf("  %-12s %s\n", json_object_iter_key(it),
		       json_string_value(json_object_get(json_object_iter_value(it), "version")));
}

static void print_lines(const char *title, json_t *strings)
{
	printf("%-14s\n", title);
	for (size_t i = 0; i < json_array_size(strings); i++)
		printf("  %s\n", json_string_value(json_array_get(strings, i)));
}

static void print_provenance(json_t *p)
{
	json_t *stage = json_object_get(p, "stage");
	json_t *pipe = json_object_get(p, "pipeline");

	print_kv("stage", json_object_get(stage, "name"));
	print_kv("role", json_object_get(p, "role"));
	print_kv("shard", json_object_get(p, "shard"));
	print_kv("pipeline", json_object_get(pipe, "name"));
	print_kv("compiler", json_object_get(pipe, "compiler"));
	print_kv("tool", json_object_get(p, "tool"));
	print_image(json_object_get(p, "image"));
	print_kv("profile", json_object_get(p, "profile"));
	print_kv("cache key", json_object_get(p, "cache_key"));
	printf("%-14s\n", "inputs");
	print_inputs(json_object_get(p, "inputs"));
	print_lines("command", json_object_get(p, "command"));
	print_lines("environment", json_object_get(p, "environment"));
	print_kv("results", json_object_get(p, "results"));
}

static void print_entries(json_t *entries)
{
	printf("%-14s\n", "contents");
	for (size_t i = 0; i < json_array_size(entries); i++) {
		json_t *e = json_array_get(entries, i);
		json_t *link = json_object_get(e, "link");

		printf("  %s%s %10lld  %s%s%s\n", json_string_value(json_object_get(e, "type")),
		       json_string_value(json_object_get(e, "mode")),
		       (long long)json_integer_value(json_object_get(e, "size")),
		       json_string_value(json_object_get(e, "path")), link ? " -> " : "",
		       link ? json_string_value(link) : "");
	}
}

static void print_digest_check(const char *tarball, json_t *doc, bool quiet)
{
	char digest[DIGEST_STR_MAX];
	struct error err = {0};
	int rc = sidecar_verify(tarball, digest, &err);

	if (rc < 0 && digest_file_sha256(tarball, digest, &err) < 0)
		digest[0] = '\0';
	json_object_set_new(doc, "sha256", json_string(digest));
	json_object_set_new(doc, "digest_verified", json_boolean(rc == 0));
	if (!quiet)
		printf("%-14s %s (%s)\n", "sha256", digest,
		       rc == 0 ? "matches its .sha256 record" : err.msg);
}

int cli_inspect(int argc, char **argv)
{
	struct stage_cli o;
	struct error err = {0};
	json_t *doc = json_object(), *entries = json_array(), *prov;
	int rc = stage_cli_parse(argc, argv, true, &o, &err);

	if (rc != 0) {
		json_decref(doc);
		json_decref(entries);
		return rc > 0 ? 0 : cli_fail(&err);
	}
	prov = provenance_load_tarball(o.name, &err);
	if (prov == NULL || archive_list(o.name, NULL, entry_json, entries, &err) < 0) {
		json_decref(prov);
		json_decref(doc);
		json_decref(entries);
		return cli_fail(&err);
	}
	json_object_set_new(doc, "artifact", json_string(o.name));
	if (!o.json)
		printf("%-14s %s\n", "artifact", o.name);
	print_digest_check(o.name, doc, o.json);
	json_object_set(doc, "provenance", prov);
	json_object_set(doc, "entries", entries);
	if (o.json) {
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
		puts(text);
		free(text);
	} else {
		print_provenance(prov);
		print_entries(entries);
	}
	json_decref(prov);
	json_decref(entries);
	json_decref(doc);
	return 0;
}
