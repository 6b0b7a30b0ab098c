/* pgo.c - see pgo.h */
#define _GNU_SOURCE
#include "pipeline/pgo.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/shellwords.h"
#include "base/strbuf.h"
#include "sandbox/environment.h"

/* ---- flags and environment ---- */

void pgo_stage_env(enum profile_format format, enum stage_role role, const char *profile_input,
                   unsigned shard, unsigned shards, const char *path_prefix, struct strv *env)
{
	strv_pushf(env, "PGO_SRC=%s", PGO_SRC_DIR);
	strv_pushf(env, "PGO_OUT=%s", PGO_OUT_DIR);
	strv_pushf(env, "PGO_IN=%s", PGO_IN_DIR);
	strv_pushf(env, "PATH=%s:%s%s%s", PGO_HELPER_DIR, path_prefix ? path_prefix : "",
	           path_prefix ? ":" : "", SANDBOX_PATH);
	if (role == ROLE_BUILD && profile_input) {
		char *prof = pgo_profile_path(format, profile_input);

		strv_pushf(env, "PGO_PROFILE=%s", prof);
		free(prof);
	}
	if (pgo_role_trains(role)) {
		strv_pushf(env, "PGO_SHARD=%u", shard ? shard : 1);
		strv_pushf(env, "PGO_SHARDS=%u", shards ? shards : 1);
	}
}

const char *pgo_raw_suffix(enum profile_format format)
{
	return format == PROFILE_LLVM_RAW ? ".profraw" : ".gcda";
}

char *pgo_profile_path(enum profile_format format, const char *profile_input)
{
	if (format == PROFILE_GCDA)
		return xasprintf("%s/%s/%s", PGO_IN_DIR, profile_input, PGO_PROFILE_SUBDIR);
	return xasprintf("%s/%s/%s/%s", PGO_IN_DIR, profile_input, PGO_PROFILE_SUBDIR,
	                 PGO_MERGED_PROFDATA);
}

bool pgo_role_trains(enum stage_role role)
{
	return role == ROLE_TRAIN || role == ROLE_CS_TRAIN;
}

void pgo_forced_env(enum profile_format format, enum stage_role role, struct strv *env)
{
	if (!pgo_role_trains(role))
		return;
	if (format == PROFILE_LLVM_RAW) {
		/* %p is deterministic: every stage has its own pid namespace. */
		strv_push(env,
		          "LLVM_PROFILE_FILE=" PGO_OUT_DIR "/" PGO_PROFILE_SUBDIR "/%m-%p.profraw");
	} else {
		/* The instrumented binary names its .gcda after the absolute
		 * object path (/build/out/...); re-root it under the output. */
		strv_push(env, "GCOV_PREFIX=" PGO_OUT_DIR "/" PGO_PROFILE_SUBDIR);
		strv_push(env, "GCOV_PREFIX_STRIP=0");
	}
}

/* ---- training = threaded ---- */

void pgo_env_append(struct strv *env, const char *name, const char *extra)
{
	size_t nl = strlen(name);

	for (size_t i = env->n; i-- > 0;) {
		char *old = env->v[i];

		if (strncmp(old, name, nl) != 0 || old[nl] != '=')
			continue;
		env->v[i] =
		    old[nl + 1] ? xasprintf("%s %s", old, extra) : xasprintf("%s%s", old, extra);
		free(old);
		return;
	}
	strv_pushf(env, "%s=%s", name, extra);
}

static bool cpu_in(const uint8_t mask[CPU_LIST_MAX / 8], unsigned cpu)
{
	return mask[cpu / 8] & (1u << (cpu % 8));
}

unsigned pgo_widen_cpus(uint8_t mask[CPU_LIST_MAX / 8], bool *set,
                        const uint8_t allowed[CPU_LIST_MAX / 8], unsigned want)
{
	unsigned have = 0;

	if (!*set) {
		for (unsigned cpu = 0; cpu < CPU_LIST_MAX; cpu++)
			have += cpu_in(allowed, cpu);
		return have;
	}
	for (unsigned cpu = 0; cpu < CPU_LIST_MAX; cpu++)
		have += cpu_in(mask, cpu);
	for (unsigned cpu = 0; have < want && cpu < CPU_LIST_MAX; cpu++) {
		if (!cpu_in(allowed, cpu) || cpu_in(mask, cpu))
			continue;
		mask[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
		have++;
	}
	return have;
}

bool pgo_merge_covers(size_t n, size_t n_bad)
{
	return n > n_bad && (n - n_bad) * 100 >= n * PGO_MERGE_MIN_READABLE_PCT;
}

char *pgo_quarantine_name(const char *label)
{
	char *name = xasprintf("%s/%s.quarantined", PGO_QUARANTINE_SUBDIR, label);

	for (char *c = name + strlen(PGO_QUARANTINE_SUBDIR) + 1; *c; c++)
		if (*c == '/' || *c == ':')
			*c = '_';
	return name;
}

void pgo_quarantine_script(struct strbuf *s, const struct raw_profile *p, size_t n)
{
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		char *name, *src, *dst, *line;

		if (!p[i].bad)
			continue;
		if (!any)
			strbuf_printf(s, "mkdir -p %s/%s\n", PGO_OUT_DIR, PGO_QUARANTINE_SUBDIR);
		any = true;
		name = pgo_quarantine_name(p[i].label);
		src = shellwords_quote_always(p[i].sandbox_path);
		dst = xasprintf("%s/%s", PGO_OUT_DIR, name);
		free(name);
		name = shellwords_quote_always(dst);
		line = xasprintf("%s: %s", p[i].label, p[i].why);
		free(dst);
		dst = shellwords_quote_always(line);
		strbuf_printf(s, "cp %s %s\nprintf '%%s\\n' %s >>%s/%s/REASONS\n", src, name, dst,
		              PGO_OUT_DIR, PGO_QUARANTINE_SUBDIR);
		free(src);
		free(name);
		free(dst);
		free(line);
	}
}

/* ---- build log diagnostics ---- */

static char *line_at(const char *log, size_t len, const char *hit)
{
	const char *start = hit, *end = hit;

	while (start > log && start[-1] != '\n')
		start--;
	while ((size_t)(end - log) < len && *end != '\n')
		end++;
	return xasprintf("%.*s", (int)(end - start), start);
}

unsigned pgo_count_in_log(const char *log, size_t len, const char *needle)
{
	size_t nl = strlen(needle);
	unsigned count = 0;

	for (const char *p = memmem(log, len, needle, nl); p;
	     p = memmem(p + nl, len - (size_t)(p + nl - log), needle, nl))
		count++;
	return count;
}

int pgo_scan_build_log(const struct diag_pattern *pats, size_t n_pats, const char *log, size_t len,
                       struct error *err)
{
	for (size_t i = 0; i < n_pats; i++) {
		const char *hit = memmem(log, len, pats[i].needle, strlen(pats[i].needle));
		unsigned count;
		char *first;

		if (hit == NULL)
			continue;
		count = pgo_count_in_log(log, len, pats[i].needle);
		first = line_at(log, len, hit);
		error_set(err, EXIT_RUNNER_ERROR, 0,
		          "the profile was not used as built: %s, %u time%s; first: \"%s\". %s",
		          pats[i].what, count, count == 1 ? "" : "s", first,
		          pats[i].stale
		              ? "The profile is out of date for these sources or flags: "
		                "rerun instrument, train and merge"
		              : "Build from the same build root (" PGO_BUILD_DIR
		                "), with the same -o path and the same relative source paths "
		                "as the instrument stage");
		free(first);
		return -1;
	}
	return 0;
}

/* ---- coverage sets ---- */

struct coverage_key {
	uint64_t a, b;
	bool executed;
};

struct coverage_set {
	struct coverage_key *keys;
	size_t n, cap;
};

struct coverage_set *coverage_set_new(void)
{
	return xcalloc(1, sizeof(struct coverage_set));
}

void coverage_set_free(struct coverage_set *s)
{
	if (s == NULL)
		return;
	free(s->keys);
	free(s);
}

static void coverage_add(struct coverage_set *s, uint64_t a, uint64_t b, bool executed)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct coverage_key *k = &s->keys[mid];

		if (k->a == a && k->b == b) {
			s->keys[mid].executed |= executed;
			return;
		}
		if (k->a < a || (k->a == a && k->b < b))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->keys = xrealloc(s->keys, s->cap * sizeof(*s->keys));
	}
	memmove(&s->keys[lo + 1], &s->keys[lo], (s->n - lo) * sizeof(*s->keys));
	s->keys[lo] = (struct coverage_key){.a = a, .b = b, .executed = executed};
	s->n++;
}

void coverage_set_result(const struct coverage_set *s, struct profile_coverage *out)
{
	out->functions = s->n;
	out->executed = 0;
	for (size_t i = 0; i < s->n; i++)
		out->executed += s->keys[i].executed;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* ---- clang raw profiles ---- */

#define PROFRAW_MAGIC64 0xff6c70726f667281ULL
#define PROFRAW_MAGIC32 0xff6c70726f665281ULL
#define PROFRAW_VERSION_MASK 0x00ffffffffffffffULL
#define PROFRAW_V8_HEADER_WORDS 11
#define PROFRAW_V8_DATA_SIZE 48

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int profraw_v8(const char *path, const unsigned char *buf, size_t len,
                      struct coverage_set *cov, struct error *err)
{
	uint64_t h[PROFRAW_V8_HEADER_WORDS];
	uint64_t data_off, counters_off, counters_bytes, need;

	if (len < sizeof(h))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s: truncated raw profile (%zu bytes, the header alone is %zu)",
		                 path, len, sizeof(h));
	for (int i = 0; i < PROFRAW_V8_HEADER_WORDS; i++)
		h[i] = rd64(buf + 8 * i);
	/* binary ids, data, padding, counters, padding, names */
	data_off = sizeof(h) + h[2];
	counters_off = data_off + h[3] * PROFRAW_V8_DATA_SIZE + h[4];
	counters_bytes = h[5] * 8;
	need = counters_off + counters_bytes + h[6] + h[7];
	if (h[2] > len || h[3] > len || h[5] > len || h[7] > len || need > len)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s: truncated or corrupt raw profile: the header announces %llu "
		                 "bytes of sections, the file has %zu",
		                 path, (unsigned long long)need, len);
	for (uint64_t i = 0; i < h[3]; i++) {
		const unsigned char *d = buf + data_off + i * PROFRAW_V8_DATA_SIZE;
		uint64_t delta = h[8] - i * PROFRAW_V8_DATA_SIZE;
		uint64_t off = rd64(d + 16) - delta;
		uint32_t n = rd32(d + 40);
		bool executed = false;

		if (off % 8 != 0 || off > counters_bytes || (uint64_t)n * 8 > counters_bytes - off)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "%s: corrupt raw profile: function record %llu points "
			                 "outside the counters",
			                 path, (unsigned long long)i);
		for (uint32_t c = 0; c < n && !executed; c++)
			executed = rd64(buf + counters_off + off + 8 * c) != 0;
		if (cov)
			coverage_add(cov, rd64(d), rd64(d + 8), executed);
	}
	return 0;
}

int profraw_check(const char *path, uint64_t expected_version, struct coverage_set *cov,
                  struct error *err)
{
	char *data = NULL;
	size_t len = 0;
	uint64_t magic, version;
	int rc;

	if (read_file(path, &data, &len, err) < 0)
		return -1;
	if (len < 16) {
		free(data);
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: truncated raw profile (%zu bytes)",
		                 path, len);
	}
	magic = rd64((unsigned char *)data);
	version = rd64((unsigned char *)data + 8) & PROFRAW_VERSION_MASK;
	if (magic != PROFRAW_MAGIC64) {
		free(data);
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s: not a 64-bit LLVM raw profile (%s)", path,
		                 magic == PROFRAW_MAGIC32 ? "32-bit raw profile" : "bad magic");
	}
	if (expected_version && version != expected_version) {
		free(data);
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s: raw profile format version %llu, but this image's "
		                 "llvm-profdata reads only version %llu: the instrumented binary "
		                 "was built by a different LLVM than the one merging. Instrument "
		                 "and merge with the same LLVM release",
		                 path, (unsigned long long)version,
		                 (unsigned long long)expected_version);
	}
	rc = version == 8 ? profraw_v8(path, (unsigned char *)data, len, cov, err) : 0;
	free(data);
	return rc;
}

/* ---- gcc .gcda ---- */

#define GCDA_MAGIC 0x67636461u
#define GCOV_TAG_FUNCTION 0x01000000u
#define GCOV_TAG_OBJECT_SUMMARY 0xa1000000u
#define GCOV_TAG_ARCS 0x01a10000u
/* counter tags are 0x01a10000 + (kind << 17) */
#define GCOV_TAG_COUNTER_LOW 0x1ffffu
#define GCOV_TAG_TIME_PROFILER 0x01af0000u

static unsigned gcda_major(uint32_t version)
{
	unsigned hi = (version >> 24) & 0xff, lo = (version >> 16) & 0xff;

	if (hi >= 'A')
		return (hi - 'A') * 10 + (lo - '0');
	return (hi - '0');
}

struct gcda_walk {
	const char *path;
	const unsigned char *buf;
	size_t len, pos;
	bool *has_values;
	struct coverage_set *cov;
	uint64_t file_key;
	bool in_function;
	uint32_t ident;
	bool executed;
};

static void gcda_flush(struct gcda_walk *w)
{
	if (w->in_function && w->cov)
		coverage_add(w->cov, w->file_key, w->ident, w->executed);
	w->in_function = false;
}

static int gcda_record(struct gcda_walk *w, uint32_t tag, int32_t length)
{
	size_t bytes = length < 0 ? 0 : (size_t)length;

	if (bytes > w->len - w->pos)
		return -1;
	if (tag == GCOV_TAG_FUNCTION) {
		gcda_flush(w);
		if (bytes >= 4) {
			w->in_function = true;
			w->ident = rd32(w->buf + w->pos);
			w->executed = false;
		}
	} else if (tag >= GCOV_TAG_ARCS && tag <= GCOV_TAG_TIME_PROFILER &&
	           (tag & GCOV_TAG_COUNTER_LOW) == 0x10000u) {
		if (tag == GCOV_TAG_ARCS) {
			for (size_t i = 0; i + 8 <= bytes && !w->executed; i += 8)
				w->executed = rd64(w->buf + w->pos + i) != 0;
		} else if (tag != GCOV_TAG_TIME_PROFILER && length != 0 && w->has_values) {
			*w->has_values = true;
		}
	}
	w->pos += bytes;
	return 0;
}

int gcda_check(const char *path, uint32_t expected_version, bool *has_values,
               struct coverage_set *cov, struct error *err)
{
	char *data = NULL;
	size_t len = 0;
	struct gcda_walk w = {.path = path, .has_values = has_values, .cov = cov};
	uint32_t version;
	const char *base = strrchr(path, '/');

	if (has_values)
		*has_values = false;
	if (read_file(path, &data, &len, err) < 0)
		return -1;
	w.buf = (const unsigned char *)data;
	w.len = len;
	w.file_key = fnv1a(base ? base + 1 : path);
	if (len < 12 || rd32(w.buf) != GCDA_MAGIC) {
		free(data);
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: not a gcc .gcda file (%s)", path,
		                 len < 12 ? "truncated header" : "bad magic");
	}
	version = rd32(w.buf + 4);
	if (expected_version && (version >> 8) != (expected_version >> 8)) {
		free(data);
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "%s: .gcda version '%c%c%c' but this image's gcc writes '%c%c%c': the "
		    "profile comes from another gcc release",
		    path, version >> 24, (version >> 16) & 0xff, (version >> 8) & 0xff,
		    expected_version >> 24, (expected_version >> 16) & 0xff,
		    (expected_version >> 8) & 0xff);
	}
	w.pos = gcda_major(version) >= 12 ? 16 : 12;
	while (w.pos < len) {
		size_t at = w.pos;
		uint32_t tag = 0;
		int32_t length = 0;

		/* a zero tag ends the records (libgcov writes one) */
		if (len - w.pos >= 4 && rd32(w.buf + w.pos) == 0)
			break;
		if (len - w.pos >= 8) {
			tag = rd32(w.buf + w.pos);
			length = (int32_t)rd32(w.buf + w.pos + 4);
			w.pos += 8;
		}
		if (len - at < 8 || gcda_record(&w, tag, length) < 0) {
			free(data);
			return error_set(
			    err, EXIT_RUNNER_ERROR, 0,
			    "%s: truncated or corrupt .gcda (the record at byte %zu runs "
			    "past the end of the file)",
			    path, at);
		}
	}
	gcda_flush(&w);
	free(data);
	return 0;
}

/* ---- host tool probes ---- */

char *pgo_probe_output(char *const argv[])
{
	char *envp[] = {"PATH=" SANDBOX_PATH, "LANG=C", "LC_ALL=C", NULL};

	return pgo_command_output(argv, envp);
}

char *pgo_command_output(char *const argv[], char *const envp[])
{
	posix_spawn_file_actions_t fa;
	int pipefd[2];
	pid_t pid;
	char *out = NULL;
	size_t len = 0;
	int status;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		return NULL;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	for (;;) {
		char buf[4096];
		ssize_t n = read(pipefd[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		out = xrealloc(out, len + (size_t)n + 1);
		memcpy(out + len, buf, (size_t)n);
		len += (size_t)n;
		out[len] = '\0';
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

unsigned pgo_probe_llvm_major(void)
{
	return pgo_llvm_major_of("llvm-profdata");
}

unsigned pgo_llvm_major_of(const char *profdata)
{
	/* before LLVM 15 it knows --version only after a command */
	char *const argv[] = {(char *)profdata, "merge", "--version", NULL};
	char *out = pgo_probe_output(argv);
	const char *v = out ? strstr(out, "LLVM version ") : NULL;
	unsigned major = 0;

	if (v)
		major = (unsigned)strtoul(v + strlen("LLVM version "), NULL, 10);
	free(out);
	return major;
}

uint64_t pgo_raw_version_for_llvm(unsigned llvm_major)
{
	/* INSTR_PROF_RAW_VERSION by LLVM release (InstrProfData.inc); a raw
	 * profile is read only by the release that wrote its version.
	 * Checked here: 14 reads 8, 19 reads 10 (what rustc 1.82+ writes). */
	if (llvm_major >= 23)
		return 11;
	if (llvm_major >= 19)
		return 10;
	if (llvm_major == 18)
		return 9;
	if (llvm_major >= 14)
		return 8;
	return 0;
}

uint32_t pgo_probe_gcda_version(void)
{
	char *const argv[] = {"gcc", "-dumpfullversion", NULL};
	char *out = pgo_probe_output(argv);
	unsigned major = 0, minor = 0;
	uint32_t v = 0;

	if (out && sscanf(out, "%u.%u", &major, &minor) == 2 && major < 260 && minor < 10)
		v = ((uint32_t)(major >= 10 ? 'A' + major / 10 : '0' + major) << 24) |
		    ((uint32_t)(major >= 10 ? '0' + major % 10 : '0' + minor) << 16) |
		    ((uint32_t)(major >= 10 ? '0' + minor : '*') << 8) | '*';
	free(out);
	return v;
}

/* ---- helper scripts ---- */

/* The symbol order comes from the merged profile's temporal traces;
 * llvm-profdata's comment lines (a count, a Mach-O note) are dropped so
 * the file holds symbols only. */
static void merge_llvm_order(struct strbuf *s, const char *tool, const struct merge_extras *x)
{
	const char *dir = PGO_OUT_DIR "/" PGO_PROFILE_SUBDIR;

	if (x && x->carry_order) {
		char *q = shellwords_quote_always(x->carry_order);

		strbuf_printf(s, "cp %s %s/%s\n", q, dir, PGO_SYMBOL_ORDER);
		free(q);
	} else if (x && x->symbol_order) {
		strbuf_printf(s, "%s order %s/%s -o %s/.order.raw\n", tool, dir,
		              PGO_MERGED_PROFDATA, PGO_BUILD_DIR);
		strbuf_printf(s, "sed '/^#/d' %s/.order.raw > %s/%s\n", PGO_BUILD_DIR, dir,
		              PGO_SYMBOL_ORDER);
	}
}

/* The merge's inputs: the first pass's indexed profile (cs-merge), then
 * every good raw profile. */
static void merge_inputs(struct strbuf *s, const struct raw_profile *p, size_t n,
                         const struct merge_extras *x)
{
	if (x && x->base_profile) {
		char *q = shellwords_quote_always(x->base_profile);

		strbuf_printf(s, " \\\n\t%s", q);
		free(q);
	}
	for (size_t i = 0; i < n; i++) {
		char *q;

		if (p[i].bad)
			continue;
		q = shellwords_quote_always(p[i].sandbox_path);
		strbuf_printf(s, " \\\n\t%s", q);
		free(q);
	}
	strbuf_printf(s, "\n");
}

/* With normalisation: merge, write the text form, round it with the
 * runner's own profile-normalise (awk and friends are not reliable in
 * the sandbox), and index the result: every step in this sandbox.  The
 * symbol order, when asked, is read from the profile the build uses. */
static void merge_llvm(struct strbuf *s, const char *profdata, const struct raw_profile *p,
                       size_t n, bool all, const struct merge_extras *x)
{
	char *tool = shellwords_quote_always(profdata);
	const char *stage = PGO_BUILD_DIR "/.merge";
	unsigned normalise = x ? x->normalise : 0;

	/* --num-threads=1: with several inputs llvm-profdata merges them on
	 * worker threads, and which thread took which input decides the order
	 * records are written in.  The text form stays the same, the indexed
	 * file does not: a full check saw cs-merge's merged.profdata differ
	 * between two checkouts from the same raw profiles. */
	if (normalise == 0) {
		strbuf_printf(s, "%s merge --num-threads=1%s -o %s/%s/%s", tool,
		              all ? " --failure-mode=all" : "", PGO_OUT_DIR, PGO_PROFILE_SUBDIR,
		              PGO_MERGED_PROFDATA);
		merge_inputs(s, p, n, x);
	} else {
		strbuf_printf(
		    s, "rm -rf %s\nmkdir -p %s\n%s merge --num-threads=1%s -o %s/raw.profdata",
		    stage, stage, tool, all ? " --failure-mode=all" : "", stage);
		merge_inputs(s, p, n, x);
		strbuf_printf(s,
		              "%s merge --text -o %s/raw.proftext %s/raw.profdata\n"
		              "%s/%s profile-normalise %s/raw.proftext %s/normalised.proftext %u\n"
		              "%s merge -o %s/%s/%s %s/normalised.proftext\n",
		              tool, stage, stage, PGO_HELPER_DIR, PGO_NORMALISER, stage, stage,
		              normalise, tool, PGO_OUT_DIR, PGO_PROFILE_SUBDIR, PGO_MERGED_PROFDATA,
		              stage);
	}
	merge_llvm_order(s, tool, x);
	free(tool);
}

/* Copy each shard's good .gcda into a staging tree, then fold the shards
 * together with gcov-tool merge, two at a time (no -w: it crashed in gcc
 * 12.2). */
static void merge_gcc(struct strbuf *s, const struct raw_profile *p, size_t n,
                      const char *const *dirs, size_t n_dirs)
{
	const char *stage = PGO_BUILD_DIR "/.merge";

	strbuf_printf(s, "rm -rf %s\nmkdir -p %s\n", stage, stage);
	for (size_t i = 0; i < n; i++) {
		const char *dir = dirs[p[i].shard];
		const char *rel = p[i].sandbox_path + strlen(dir);
		char *dst, *qsrc, *qdst;

		if (p[i].bad)
			continue;
		dst = xasprintf("%s/%u%s", stage, p[i].shard + 1, rel);
		qsrc = shellwords_quote_always(p[i].sandbox_path);
		qdst = shellwords_quote_always(dst);
		strbuf_printf(s, "mkdir -p \"$(dirname %s)\" && cp %s %s\n", qdst, qsrc, qdst);
		free(dst);
		free(qsrc);
		free(qdst);
	}
	if (n_dirs == 1) {
		strbuf_printf(s, "mkdir -p %s/1\nmv %s/1 %s/%s\n", stage, stage, PGO_OUT_DIR,
		              PGO_PROFILE_SUBDIR);
		return;
	}
	for (size_t i = 1; i < n_dirs; i++) {
		char *prev = i == 1 ? xasprintf("%s/1", stage) : xasprintf("%s/m%zu", stage, i);
		char *out = i + 1 == n_dirs ? xasprintf("%s/%s", PGO_OUT_DIR, PGO_PROFILE_SUBDIR)
		                            : xasprintf("%s/m%zu", stage, i + 1);

		strbuf_printf(s, "mkdir -p %s/%zu\ngcov-tool merge -o %s %s %s/%zu\n", stage, i + 1,
		              out, prev, stage, i + 1);
		free(prev);
		free(out);
	}
}

int pgo_write_merge_script(const char *path, enum profile_format format, const char *profdata,
                           const struct raw_profile *profiles, size_t n_profiles,
                           const char *const *shard_dirs, size_t n_shards, bool failure_mode_all,
                           const struct merge_extras *extras, struct error *err)
{
	struct strbuf s = {0};
	int rc;

	strbuf_printf(&s,
	              "#!/bin/sh\n# pgo-merge: written by pgo-sandbox for this merge stage\n"
	              "set -eu\nmkdir -p %s\n",
	              PGO_OUT_DIR);
	if (format == PROFILE_LLVM_RAW) {
		strbuf_printf(&s, "mkdir -p %s/%s\n", PGO_OUT_DIR, PGO_PROFILE_SUBDIR);
		merge_llvm(&s, profdata ? profdata : "llvm-profdata", profiles, n_profiles,
		           failure_mode_all, extras);
	} else {
		merge_gcc(&s, profiles, n_profiles, shard_dirs, n_shards);
	}
	/* after the merge: gcc's merge moves a whole tree into place */
	pgo_quarantine_script(&s, profiles, n_profiles);
	rc = pgo_write_helper(path, s.s ? s.s : "", s.len, err);
	free(s.s);
	return rc;
}

int pgo_write_shard_script(const char *path, struct error *err)
{
	/* No awk: in the sandbox /etc is generated, and Debian's awk is an
	 * /etc/alternatives link. */
	static const char text[] =
	    "#!/bin/sh\n"
	    "# pgo-shard FILE...: print the FILEs that belong to this training shard\n"
	    "# (round robin over the byte-sorted list; PGO_SHARD of PGO_SHARDS).\n"
	    "i=0\n"
	    "printf '%s\\n' \"$@\" | LC_ALL=C sort | while IFS= read -r f; do\n"
	    "\ti=$((i + 1))\n"
	    "\tif [ $(((i - 1) % ${PGO_SHARDS:-1})) -eq $((${PGO_SHARD:-1} - 1)) ]; then\n"
	    "\t\tprintf '%s\\n' \"$f\"\n"
	    "\tfi\n"
	    "done\n";

	return pgo_write_helper(path, text, sizeof(text) - 1, err);
}

int pgo_write_helper(const char *path, const char *text, size_t len, struct error *err)
{
	if (write_file_atomic(path, text, len, 0755, err) < 0)
		return -1;
	/* 0755 whatever the umask: the sandbox's user runs it */
	if (chmod(path, 0755) < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "chmod %s", path);
	return 0;
}
