/* config_profile.c - profiles (see config.h): INI files of sandbox
 * settings with `include`, their canonical JSON and how they apply to a
 * sandbox spec. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bytes_json.h"
#include "base/cleanup.h"
#include "pipeline/config_parse.h"
#include "sandbox/privileges.h"
#include "base/strv.h"

/* ---- profiles ---- */

static int set_cpus(struct profile *p, const char *v, struct error *err)
{
	uint8_t mask[CPU_LIST_MAX / 8];

	if (parse_cpu_list(v, mask, err) < 0)
		return -1;
	replace_str(&p->cpus, v);
	return 0;
}

static int set_memory(struct profile *p, const char *v, struct error *err)
{
	return parse_positive_size(v, &p->memory_max, err);
}

static int set_pids(struct profile *p, const char *v, struct error *err)
{
	if (parse_u64(v, &p->pids_max, err) < 0 || check_i64(p->pids_max, v, err) < 0)
		return -1;
	if (p->pids_max == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "must be above 0");
	return 0;
}

static int set_timeout(struct profile *p, const char *v, struct error *err)
{
	if (parse_duration_ns(v, &p->timeout_ns, err) < 0)
		return -1;
	return check_i64(p->timeout_ns, v, err);
}

static int set_tmpfs_size(struct profile *p, const char *v, struct error *err)
{
	return parse_positive_size(v, &p->tmpfs_size, err);
}

static int set_turbo(struct profile *p, const char *v, struct error *err)
{
	bool on = false;

	if (parse_bool(v, &on, err) < 0)
		return -1;
	p->no_turbo = !on;
	return 0;
}

static int set_governor(struct profile *p, const char *v, struct error *err)
{
	if (!all_chars(v, "_-", false) || strlen(v) > GOVERNOR_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%s' is not a cpufreq governor name (a-z 0-9 _ -)", v);
	replace_str(&p->governor, v);
	return 0;
}

static int set_aslr(struct profile *p, const char *v, struct error *err)
{
	bool on = false;

	if (parse_bool(v, &on, err) < 0)
		return -1;
	p->no_aslr = !on;
	return 0;
}

static const char *const entropy_names[] = {
    [PROFILE_ENTROPY_DEFAULT] = "default",
    [PROFILE_ENTROPY_DETERMINISTIC] = "deterministic",
    [PROFILE_ENTROPY_HOST] = "host",
};

static int set_entropy(struct profile *p, const char *v, struct error *err)
{
	for (size_t i = 0; i < sizeof(entropy_names) / sizeof(entropy_names[0]); i++) {
		if (strcmp(v, entropy_names[i]) == 0) {
			p->entropy = (enum profile_entropy)i;
			return 0;
		}
	}
	return error_set(err, EXIT_RUNNER_ERROR, 0,
	                 "'%s' is not an entropy mode (deterministic, host or default)", v);
}

static int set_network(struct profile *p, const char *v, struct error *err)
{
	(void)p;
	if (strcmp(v, "off") != 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "network must stay off: stages never have network");
	return 0;
}

static int set_env(struct profile *p, const char *v, struct error *err)
{
	if (check_env_assignment(v, err) < 0)
		return -1;
	env_assign(&p->env, &p->n_env, v);
	return 0;
}

static int set_keep_env(struct profile *p, const char *v, struct error *err)
{
	if (!valid_env_name(v, strlen(v)))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "'%s' is not a variable name (A-Z a-z 0-9 _, no leading digit)",
		                 v);
	if (!strv_contains(p->keep_env, p->n_keep_env, v))
		p->keep_env = strv_append_copy_n(p->keep_env, &p->n_keep_env, v);
	return 0;
}

static int set_seccomp_allow(struct profile *p, const char *v, struct error *err)
{
	bool perf = false, ptrace = false;
	char *copy, *tok, *save = NULL;

	if (strcmp(v, "none") == 0) {
		p->allow_perf = p->allow_ptrace = false;
		return 0;
	}
	copy = xstrdup(v);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end = tok + strlen(tok);

		while (is_blank(*tok))
			tok++;
		while (end > tok && is_blank(end[-1]))
			*--end = '\0';
		if (strcmp(tok, "perf_event_open") == 0) {
			perf = true;
		} else if (strcmp(tok, "ptrace") == 0) {
			ptrace = true;
		} else {
			error_set(err, EXIT_RUNNER_ERROR, 0,
			          "'%s' cannot be allowed (perf_event_open, ptrace or none)", tok);
			free(copy);
			return -1;
		}
	}
	free(copy);
	if (!perf && !ptrace)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "empty list (perf_event_open, ptrace or none)");
	p->allow_perf = perf;
	p->allow_ptrace = ptrace;
	return 0;
}

static int parse_rlimit_value(const char *text, uint64_t *out, struct error *err)
{
	if (strcmp(text, "unlimited") == 0) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (parse_size(text, out, err) < 0)
		return -1;
	return check_i64(*out, text, err);
}

static int set_rlimit(struct profile *p, const char *v, struct error *err)
{
	struct rlimit_spec rl;
	_cleanup_free_ char *copy = xstrdup(v);
	char *eq = strchr(copy, '='), *colon;
	size_t i;

	if (eq == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s' is not NAME=SOFT[:HARD]", v);
	*eq = '\0';
	rl.resource = privileges_rlimit_by_name(copy);
	if (rl.resource < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "unknown limit '%s' (core, nofile, fsize, ...)", copy);
	colon = strchr(eq + 1, ':');
	if (colon)
		*colon = '\0';
	if (parse_rlimit_value(eq + 1, &rl.soft, err) < 0)
		return -1;
	rl.hard = rl.soft;
	if (colon && parse_rlimit_value(colon + 1, &rl.hard, err) < 0)
		return -1;
	if (rl.soft > rl.hard)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s': soft limit above hard", v);
	for (i = 0; i < p->n_rlimits; i++)
		if (p->rlimits[i].resource == rl.resource)
			break;
	if (i < p->n_rlimits) {
		free(p->rlimit_names[i]);
		memmove(&p->rlimits[i], &p->rlimits[i + 1],
		        (p->n_rlimits - i - 1) * sizeof(p->rlimits[0]));
		memmove(&p->rlimit_names[i], &p->rlimit_names[i + 1],
		        (p->n_rlimits - i - 1) * sizeof(p->rlimit_names[0]));
		p->n_rlimits--;
	}
	if (p->n_rlimits >= SPEC_MAX_RLIMITS)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "at most %d limits", SPEC_MAX_RLIMITS);
	p->rlimits[p->n_rlimits] = rl;
	p->rlimit_names[p->n_rlimits] = xstrdup(copy);
	p->n_rlimits++;
	return 0;
}

static int set_strict(struct profile *p, const char *v, struct error *err)
{
	return parse_bool(v, &p->strict, err);
}

/* include (no setter) is handled apart: it applies before the other keys. */
static const struct key_rule profile_rules[] = {
    {"include", true, false, NULL, NULL},
    {"cpus", false, false, set_cpus, NULL},
    {"memory", false, false, set_memory, NULL},
    {"pids", false, false, set_pids, NULL},
    {"timeout", false, false, set_timeout, NULL},
    {"tmpfs-size", false, false, set_tmpfs_size, NULL},
    {"turbo", false, false, set_turbo, NULL},
    {"governor", false, false, set_governor, NULL},
    {"aslr", false, false, set_aslr, NULL},
    {"entropy", false, false, set_entropy, NULL},
    {"network", false, false, set_network, NULL},
    {"env", true, false, set_env, NULL},
    {"keep-env", true, false, set_keep_env, NULL},
    {"seccomp-allow", false, false, set_seccomp_allow, NULL},
    {"rlimit", true, false, set_rlimit, NULL},
    {"strict", false, false, set_strict, NULL},
};

struct include_chain {
	const char *shown[INCLUDE_MAX_DEPTH + 1]; /* paths as written: errors show them */
	char *real[INCLUDE_MAX_DEPTH + 1];
	size_t n;
};

static int profile_load_file(const char *shown, struct include_chain *chain, struct profile *p,
                             struct error *err);

static int cycle_error(const struct include_chain *chain, size_t from, const char *shown,
                       struct error *err)
{
	char msg[ERROR_MSG_MAX];
	size_t len = 0;

	msg[0] = '\0';
	for (size_t i = from; i < chain->n && len < sizeof(msg); i++)
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s -> ", chain->shown[i]);
	if (len < sizeof(msg))
		snprintf(msg + len, sizeof(msg) - len, "%s", shown);
	return error_set(err, EXIT_RUNNER_ERROR, 0, "include cycle: %s", msg);
}

static int profile_include(const struct ini_doc *doc, const struct ini_entry *e,
                           struct include_chain *chain, struct profile *p, struct error *err)
{
	_cleanup_free_ char *shown = NULL;
	_cleanup_free_ char *real = NULL;
	int rc;

	if (e->value[0] == '\0')
		return entry_error(err, doc, e, "needs a file name");
	shown = relative_to_file(doc->path, e->value);
	real = realpath(shown, NULL);
	if (real == NULL) {
		error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", shown);
		entry_prefix(err, doc, e);
		return -1;
	}
	for (size_t i = 0; i < chain->n; i++) {
		if (strcmp(chain->real[i], real) == 0) {
			cycle_error(chain, i, shown, err);
			entry_prefix(err, doc, e);
			return -1;
		}
	}
	if (chain->n >= INCLUDE_MAX_DEPTH)
		return entry_error(err, doc, e, "includes nested deeper than %d",
		                   INCLUDE_MAX_DEPTH);
	chain->shown[chain->n] = shown;
	chain->real[chain->n] = real;
	chain->n++;
	rc = profile_load_file(shown, chain, p, err);
	chain->n--;
	if (rc == 0) {
		p->includes = xrealloc(p->includes, (p->n_includes + 1) * sizeof(*p->includes));
		p->includes[p->n_includes++] = file_stem(shown);
	}
	return rc;
}

static int profile_check_sections(const struct ini_doc *doc, struct error *err)
{
	for (size_t i = 0; i < doc->n_sections; i++) {
		const struct ini_section *s = &doc->sections[i];

		if (strcmp(s->name, "sandbox") != 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s:%d: unknown section [%s] (profiles have one [sandbox] "
			                 "section)",
			                 doc->path, s->line, s->name);
		if (i > 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s:%d: duplicate section [sandbox] (first at line %d)",
			                 doc->path, s->line, doc->sections[0].line);
	}
	for (size_t i = 0; i < doc->n_entries; i++)
		if (doc->entries[i].section < 0)
			return entry_error(err, doc, &doc->entries[i],
			                   "key outside a section (put it under [sandbox])");
	return 0;
}

/* Includes first, in file order, then this file's own keys. */
static int profile_load_file(const char *shown, struct include_chain *chain, struct profile *p,
                             struct error *err)
{
	_cleanup_(ini_doc_freep) struct ini_doc doc = {0};

	if (ini_doc_load(shown, &doc, err) < 0)
		return -1;
	if (profile_check_sections(&doc, err) < 0)
		return -1;
	for (size_t i = 0; i < doc.n_entries; i++) {
		int k =
		    check_entry(&doc, i, profile_rules, N_RULES(profile_rules), "[sandbox]", err);

		if (k < 0)
			return -1;
		if (profile_rules[k].profile == NULL &&
		    profile_include(&doc, &doc.entries[i], chain, p, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < doc.n_entries; i++) {
		const struct ini_entry *e = &doc.entries[i];
		int k =
		    check_entry(&doc, i, profile_rules, N_RULES(profile_rules), "[sandbox]", err);

		if (k < 0)
			return -1;
		if (profile_rules[k].profile == NULL)
			continue;
		if (profile_rules[k].profile(p, e->value, err) < 0) {
			entry_prefix(err, &doc, e);
			return -1;
		}
	}
	return 0;
}

int profile_load(const char *path, struct profile *out, struct error *err)
{
	struct include_chain chain = {.n = 0};
	int rc;

	memset(out, 0, sizeof(*out));
	out->path = realpath(path, NULL);
	if (out->path == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", path);
	out->name = file_stem(path);
	chain.shown[0] = path;
	chain.real[0] = out->path;
	chain.n = 1;
	rc = profile_load_file(path, &chain, out, err);
	if (rc < 0)
		profile_free(out);
	return rc;
}

int check_profile_name(const char *name, struct error *err)
{
	if (!all_chars(name, "_-", false) || strlen(name) > PROFILE_NAME_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "profile name '%s': use only a-z, 0-9, '_' and '-'", name);
	return 0;
}

int profile_load_named(const char *profiles_dir, const char *name, struct profile *out,
                       struct error *err)
{
	char *path;
	int rc;

	memset(out, 0, sizeof(*out));
	if (check_profile_name(name, err) < 0)
		return -1;
	path = xasprintf("%s/%s.ini", profiles_dir, name);
	rc = profile_load(path, out, err);
	free(path);
	return rc;
}

bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int profile_default_dir(char **out, struct error *err)
{
	const char *env = getenv("PGO_SANDBOX_PROFILES");
	char exe[PATH_MAX];
	char *slash, *share, *repo;
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		*out = xstrdup(env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "reading /proc/self/exe");
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "/proc/self/exe: '%s' is not absolute",
		                 exe);
	*slash = '\0';
	share = xasprintf("%s/../share/pgo-sandbox/profiles", exe);
	repo = xasprintf("%s/../profiles", exe);
	*out = clean_path(is_dir(share) ? share : repo);
	free(share);
	free(repo);
	return 0;
}

static void merge_rlimit(struct sandbox_spec *spec, const struct rlimit_spec *rl)
{
	for (size_t i = 0; i < spec->n_rlimits; i++) {
		if (spec->rlimits[i].resource == rl->resource) {
			spec->rlimits[i] = *rl;
			return;
		}
	}
	spec->rlimits[spec->n_rlimits++] = *rl;
}

static size_t rlimits_missing(const struct sandbox_spec *spec, const struct profile *p)
{
	size_t missing = 0;

	for (size_t i = 0; i < p->n_rlimits; i++) {
		size_t j;

		for (j = 0; j < spec->n_rlimits; j++)
			if (spec->rlimits[j].resource == p->rlimits[i].resource)
				break;
		missing += j == spec->n_rlimits;
	}
	return missing;
}

int profile_apply(const struct profile *p, struct sandbox_spec *spec, struct error *err)
{
	uint8_t mask[CPU_LIST_MAX / 8];

	/* Everything that can fail first: the spec is changed all or not at all. */
	if (p->cpus != NULL && parse_cpu_list(p->cpus, mask, err) < 0)
		return error_prefix(err, "profile %s: cpus", p->name ? p->name : "?");
	if (spec->n_rlimits + rlimits_missing(spec, p) > SPEC_MAX_RLIMITS)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "profile %s: more than %d rlimits",
		                 p->name ? p->name : "?", SPEC_MAX_RLIMITS);
	if (p->cpus != NULL) {
		memcpy(spec->cpus, mask, sizeof(mask));
		spec->cpus_set = true;
	}
	for (size_t i = 0; i < p->n_rlimits; i++)
		merge_rlimit(spec, &p->rlimits[i]);
	if (p->memory_max)
		spec->memory_max = p->memory_max;
	if (p->pids_max)
		spec->pids_max = p->pids_max;
	if (p->timeout_ns)
		spec->timeout_ns = p->timeout_ns;
	if (p->tmpfs_size)
		spec->tmpfs_size = p->tmpfs_size;
	if (p->governor)
		replace_str(&spec->governor, p->governor);
	for (size_t i = 0; i < p->n_env; i++)
		env_assign(&spec->set_env, &spec->n_set_env, p->env[i]);
	for (size_t i = 0; i < p->n_keep_env; i++)
		if (!strv_contains(spec->keep_env, spec->n_keep_env, p->keep_env[i]))
			spec->keep_env =
			    strv_append_copy_n(spec->keep_env, &spec->n_keep_env, p->keep_env[i]);
	spec->no_turbo = p->no_turbo;
	spec->no_aslr = p->no_aslr;
	spec->allow_perf = p->allow_perf;
	spec->allow_ptrace = p->allow_ptrace;
	spec->strict = p->strict;
	return 0;
}

/* ---- canonical JSON ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_env(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t nx = env_name_len(x), ny = env_name_len(y);
	int c = strncmp(x, y, nx < ny ? nx : ny);

	return c ? c : (nx > ny) - (nx < ny);
}

static char **sorted_copy(char *const *v, size_t n, int (*cmp)(const void *, const void *))
{
	char **copy = xcalloc(n + 1, sizeof(*copy));

	if (n > 0)
		memcpy(copy, v, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), cmp);
	return copy;
}

json_t *env_json(char *const *env, size_t n)
{
	json_t *obj = json_object();
	char **sorted = sorted_copy(env, n, cmp_env);

	for (size_t i = 0; obj && i < n; i++) {
		size_t len = env_name_len(sorted[i]);
		char *name = xasprintf("%.*s", (int)len, sorted[i]);

		if (json_object_set_new(obj, name, json_string(sorted[i] + len + 1)))
			json_decref(obj), obj = NULL;
		free(name);
	}
	free(sorted);
	return obj;
}

json_t *strv_json(char *const *v, size_t n, bool sort)
{
	json_t *arr = json_array();
	char **items = sort ? sorted_copy(v, n, cmp_str) : NULL;

	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, json_string(sort ? items[i] : v[i])))
			json_decref(arr), arr = NULL;
	free(items);
	return arr;
}

static json_t *rlimit_value_json(uint64_t v)
{
	if (v == RLIM_INFINITY)
		return json_string("unlimited");
	return json_integer((json_int_t)v);
}

static json_t *rlimits_json(const struct profile *p)
{
	json_t *obj = json_object();
	size_t order[SPEC_MAX_RLIMITS];

	for (size_t i = 0; i < p->n_rlimits; i++)
		order[i] = i;
	for (size_t i = 1; i < p->n_rlimits; i++)
		for (size_t j = i;
		     j > 0 && strcmp(p->rlimit_names[order[j - 1]], p->rlimit_names[order[j]]) > 0;
		     j--) {
			size_t t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (size_t i = 0; obj && i < p->n_rlimits; i++) {
		const struct rlimit_spec *rl = &p->rlimits[order[i]];

		if (json_object_set_new(obj, p->rlimit_names[order[i]],
		                        json_pack("{s:o, s:o}", "hard", rlimit_value_json(rl->hard),
		                                  "soft", rlimit_value_json(rl->soft))))
			json_decref(obj), obj = NULL;
	}
	return obj;
}

static json_t *cpus_json(const char *cpus)
{
	uint8_t mask[CPU_LIST_MAX / 8];
	json_t *j;
	char *text;

	if (cpus == NULL || parse_cpu_list(cpus, mask, NULL) < 0)
		return json_null();
	text = format_cpu_list(mask);
	j = json_string(text);
	free(text);
	return j;
}

json_t *profile_to_json(const struct profile *p)
{
	/* Keys in sorted order; json_pack inserts in the order given. */
	return json_pack("{s:b, s:b, s:o, s:s, s:o, s:o, s:o, s:o, s:I, s:s, s:s, s:b, s:b, s:I, "
	                 "s:o, s:b, s:I, s:I}",
	                 "allow_perf", p->allow_perf, "allow_ptrace", p->allow_ptrace, "cpus",
	                 cpus_json(p->cpus), "entropy", entropy_names[p->entropy], "env",
	                 env_json(p->env, p->n_env), "governor", json_string_or_null(p->governor),
	                 "includes", strv_json(p->includes, p->n_includes, false), "keep_env",
	                 strv_json(p->keep_env, p->n_keep_env, true), "memory_max",
	                 (json_int_t)p->memory_max, "name", p->name ? p->name : "", "network",
	                 "off", "no_aslr", p->no_aslr, "no_turbo", p->no_turbo, "pids_max",
	                 (json_int_t)p->pids_max, "rlimits", rlimits_json(p), "strict", p->strict,
	                 "timeout_ns", (json_int_t)p->timeout_ns, "tmpfs_size",
	                 (json_int_t)p->tmpfs_size);
}

void profile_free(struct profile *p)
{
	free(p->name);
	free(p->path);
	free(p->cpus);
	free(p->governor);
	strv_free_n(p->env, p->n_env);
	strv_free_n(p->keep_env, p->n_keep_env);
	strv_free_n(p->includes, p->n_includes);
	for (size_t i = 0; i < p->n_rlimits; i++)
		free(p->rlimit_names[i]);
	memset(p, 0, sizeof(*p));
}
