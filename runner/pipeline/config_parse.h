/* config_parse.h - what the three parts of the configuration reader share:
 * config_ini.c (the INI reader of ours around inih, "file:line: key"
 * errors, key tables, value helpers), config_profile.c (profiles) and
 * config_pipeline.c (pipeline files).  Internal to them; config.h is the
 * interface. */
#ifndef PGO_CONFIG_PARSE_H
#define PGO_CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pipeline/config.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define INCLUDE_MAX_DEPTH 16
#define INI_NAME_MAX 48 /* inih truncates section and key names at 49 */
#define STAGE_NAME_MAX 32
#define PIPELINE_NAME_MAX 64
#define PROFILE_NAME_MAX 64
#define GOVERNOR_MAX 32
#define SHARDS_MAX 64
#define GIT_OUTPUT_MAX 4096
#define ENTRIES_MAX 4096 /* keys per file; duplicate checks are quadratic */

/* ---- collecting a file: struct ini_doc ---- */

struct ini_section {
	char *name;
	int line;
};

struct ini_entry {
	int section; /* index into sections, -1 before any */
	char *key;
	char *value;
	int line;
	bool cont; /* an indented continuation of `key` */
};

struct ini_doc {
	const char *path; /* as given: errors name it */
	struct ini_section *sections;
	size_t n_sections;
	struct ini_entry *entries;
	size_t n_entries;
};

struct pipe_ctx;
typedef int (*profile_setter)(struct profile *p, const char *v, struct error *err);
typedef int (*pipe_setter)(struct pipe_ctx *c, const struct ini_entry *e, struct error *err);

struct key_rule {
	const char *name;
	bool repeat;            /* may appear more than once per section */
	bool cont;              /* takes indented continuation lines */
	profile_setter profile; /* profiles: the key's setter */
	pipe_setter pipe;       /* pipelines: the key's setter */
};

/* Unknown key, duplicate of a non-repeatable key, or a continuation where
 * none is taken; returns the rule's index. */

#define N_RULES(r) (sizeof(r) / sizeof((r)[0]))

/* config_ini.c */
int entry_error(struct error *err, const struct ini_doc *doc, const struct ini_entry *e,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void ini_doc_free(struct ini_doc *doc);
/* For `_cleanup_(ini_doc_freep) struct ini_doc doc = {0};`: ini_doc_load
 * zeroes the document first and frees it on failure, so it is safe to free
 * whether the load ran, failed or succeeded. */
static inline void ini_doc_freep(struct ini_doc *doc)
{
	ini_doc_free(doc);
}
bool is_blank(char c);
int ini_doc_load(const char *path, struct ini_doc *doc, struct error *err);
int entry_prefix(struct error *err, const struct ini_doc *doc, const struct ini_entry *e);
int check_entry(const struct ini_doc *doc, size_t idx, const struct key_rule *rules, size_t n_rules,
                const char *where, struct error *err);
bool all_chars(const char *s, const char *extra, bool upper);
bool valid_env_name(const char *s, size_t n);
int check_env_assignment(const char *kv, struct error *err);
size_t env_name_len(const char *kv);
void env_assign(char ***v, size_t *n, const char *kv);
bool strv_contains(char *const *v, size_t n, const char *s);
int parse_bool(const char *v, bool *out, struct error *err);
int check_i64(uint64_t v, const char *text, struct error *err);
int parse_positive_size(const char *v, uint64_t *out, struct error *err);
void replace_str(char **dst, const char *v);
char *clean_path(const char *path);
char *relative_to_file(const char *file, const char *rel);
char *relative_to_dir(const char *dir, const char *rel);
char *realpath_or_error(const char *path, struct error *err);
char *file_stem(const char *path);

/* config_profile.c, for pipelines */
int check_profile_name(const char *name, struct error *err);
bool is_dir(const char *path);
json_t *env_json(char *const *env, size_t n);
json_t *strv_json(char *const *v, size_t n, bool sort);

#endif
