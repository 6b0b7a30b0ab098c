/* hosttune.c - see hosttune.h
 *
 * State file (<state_dir>/host-state/state), rewritten atomically under
 * flock(<state_dir>/host-state/lock):
 *
 *	pgo-sandbox-host-state 1
 *	root /tmp/fake-sysfs
 *	run <pid> <starttime> <token>
 *	orig <path below root> <original value> <value set>
 *
 * Originals are recorded (and fsynced) before sysfs is written, so a dead
 * runner never leaves a change that nothing remembers. */
#define _GNU_SOURCE
#include "host/hosttune.h"
#include "base/string_table.h"
#include "host/hosttune_state.h"

_Static_assert(HT_TOKEN_LEN == HOSTTUNE_TOKEN_LEN, "one token length");

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

struct tune_item {
	char *rel; /* path below the sysfs root */
	char *value;
};

struct tune_plan {
	struct tune_item *items;
	size_t n;
};

/* ---- sysfs helpers ---- */

int hosttune_read_value(const char *path, char **out, struct error *err)
{
	size_t len;
	char *buf;

	if (read_file(path, &buf, &len, err) < 0)
		return -1;
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	*out = buf;
	return 0;
}

static bool path_exists(const char *root, const char *rel)
{
	char *p = ht_full_path(root, rel);
	bool ok = access(p, F_OK) == 0;

	free(p);
	return ok;
}

static int policy_number(const char *name, unsigned long *out)
{
	char *end;

	if (strncmp(name, "policy", 6) != 0 || !isdigit((unsigned char)name[6]))
		return -1;
	*out = strtoul(name + 6, &end, 10);
	return *end == '\0' ? 0 : -1;
}

static int cmp_policy(const void *a, const void *b)
{
	unsigned long na = 0, nb = 0;

	policy_number(((const struct cpufreq_policy *)a)->name, &na);
	policy_number(((const struct cpufreq_policy *)b)->name, &nb);
	return (na > nb) - (na < nb);
}

static void read_policy_cpus(struct cpufreq_policy *p)
{
	static const char *const files[] = {"related_cpus", "affected_cpus"};
	struct error ignored;

	memset(p->cpus, 0, sizeof(p->cpus));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = xasprintf("%s/%s", p->dir, files[i]);
		char *text = NULL;
		int rc = hosttune_read_value(path, &text, &ignored);

		free(path);
		if (rc < 0)
			continue;
		/* an offline policy lists no CPUs; it covers nothing */
		if (text[0] != '\0' && parse_cpu_list(text, p->cpus, &ignored) < 0)
			memset(p->cpus, 0, sizeof(p->cpus));
		free(text);
		return;
	}
}

int hosttune_list_policies(const char *sysfs_root, struct cpufreq_policy **out, size_t *n,
                           struct error *err)
{
	char *root = ht_root_norm(sysfs_root);
	char *dir = xasprintf("%s/" CPU_REL "cpufreq", root);
	struct cpufreq_policy *list = NULL;
	size_t count = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	free(root);
	d = opendir(dir);
	if (d == NULL) {
		int saved = errno;
		int rc = saved == ENOENT
		             ? 0
		             : error_set(err, EXIT_RUNNER_ERROR, saved, "opening %s", dir);
		free(dir);
		return rc;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		unsigned long num;

		if (policy_number(de->d_name, &num) < 0)
			continue;
		list = xrealloc(list, (count + 1) * sizeof(*list));
		list[count].name = xstrdup(de->d_name);
		list[count].dir = xasprintf("%s/%s", dir, de->d_name);
		read_policy_cpus(&list[count]);
		count++;
	}
	if (errno != 0) {
		int saved = errno;
		closedir(d);
		hosttune_free_policies(list, count);
		error_set(err, EXIT_RUNNER_ERROR, saved, "reading %s", dir);
		free(dir);
		return -1;
	}
	closedir(d);
	free(dir);
	if (count > 1)
		qsort(list, count, sizeof(*list), cmp_policy);
	*out = list;
	*n = count;
	return 0;
}

void hosttune_free_policies(struct cpufreq_policy *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].dir);
	}
	free(p);
}

static bool policy_has(const struct cpufreq_policy *p, const char *file)
{
	char *path = xasprintf("%s/%s", p->dir, file);
	bool ok = access(path, F_OK) == 0;

	free(path);
	return ok;
}

enum turbo_interface hosttune_turbo_interface(const char *sysfs_root)
{
	enum turbo_interface t = TURBO_NONE;
	char *root = ht_root_norm(sysfs_root);
	struct cpufreq_policy *pol;
	struct error ignored;
	size_t n;

	if (path_exists(root, CPU_REL "intel_pstate/no_turbo"))
		t = TURBO_INTEL_PSTATE;
	else if (path_exists(root, CPU_REL "cpufreq/boost"))
		t = TURBO_CPUFREQ_BOOST;
	else if (hosttune_list_policies(root, &pol, &n, &ignored) == 0) {
		for (size_t i = 0; i < n && t == TURBO_NONE; i++)
			if (policy_has(&pol[i], "boost"))
				t = TURBO_POLICY_BOOST;
		hosttune_free_policies(pol, n);
	}
	free(root);
	return t;
}

static const char *const turbo_interface_names[] = {
    [TURBO_NONE] = "none",
    [TURBO_INTEL_PSTATE] = "intel_pstate/no_turbo",
    [TURBO_CPUFREQ_BOOST] = "cpufreq/boost",
    [TURBO_POLICY_BOOST] = "cpufreq/policyN/boost",
};
DEFINE_STRING_TABLE_TO_NAME(turbo_interface_name, enum turbo_interface, turbo_interface_names,
                            "unknown");

/* ---- planning: which files get which value ---- */

static void plan_add(struct tune_plan *plan, const char *rel, const char *value)
{
	plan->items = xrealloc(plan->items, (plan->n + 1) * sizeof(*plan->items));
	plan->items[plan->n].rel = xstrdup(rel);
	plan->items[plan->n].value = xstrdup(value);
	plan->n++;
}

static void plan_free(struct tune_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++) {
		free(plan->items[i].rel);
		free(plan->items[i].value);
	}
	free(plan->items);
	plan->items = NULL;
	plan->n = 0;
}

static char *policy_rel(const struct cpufreq_policy *p, const char *file)
{
	return xasprintf(CPU_REL "cpufreq/%s/%s", p->name, file);
}

static void append_name(char *buf, size_t size, const char *name)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s%s", len ? "," : "", name);
}

/* Per-policy boost is turned off on every policy, not only the pinned
 * ones: boosting siblings eats the package power budget the pinned CPUs
 * would otherwise get. */
static void plan_turbo(const char *root, const struct cpufreq_policy *pol, size_t n_pol,
                       struct tune_plan *plan, struct run_report *r)
{
	char names[CONTROL_DETAIL_MAX] = "";

	switch (hosttune_turbo_interface(root)) {
	case TURBO_INTEL_PSTATE:
		plan_add(plan, CPU_REL "intel_pstate/no_turbo", "1");
		report_control(r, "host.turbo", CONTROL_APPLIED, "intel_pstate/no_turbo=1");
		return;
	case TURBO_CPUFREQ_BOOST:
		plan_add(plan, CPU_REL "cpufreq/boost", "0");
		report_control(r, "host.turbo", CONTROL_APPLIED, "cpufreq/boost=0");
		return;
	case TURBO_POLICY_BOOST:
		for (size_t i = 0; i < n_pol; i++) {
			char *rel;

			if (!policy_has(&pol[i], "boost"))
				continue;
			rel = policy_rel(&pol[i], "boost");
			plan_add(plan, rel, "0");
			free(rel);
			append_name(names, sizeof(names), pol[i].name);
		}
		report_control(r, "host.turbo", CONTROL_APPLIED, "boost=0 on %s", names);
		return;
	case TURBO_NONE: break;
	}
	report_control(r, "host.turbo", CONTROL_UNAVAILABLE,
	               "no intel_pstate/no_turbo, cpufreq/boost or per-policy boost under %s/sys",
	               root);
}

static bool valid_governor_name(const char *g)
{
	if (*g == '\0' || strlen(g) > 64)
		return false;
	for (; *g; g++)
		if (!isalnum((unsigned char)*g) && *g != '_' && *g != '-')
			return false;
	return true;
}

static int check_governor_available(const struct cpufreq_policy *p, const char *gov,
                                    struct error *err)
{
	char *path = xasprintf("%s/scaling_available_governors", p->dir);
	char *list = NULL, *save = NULL, *copy;
	bool found = false;
	struct error ignored;

	/* drivers without the list (rare) let the kernel reject the write */
	if (hosttune_read_value(path, &list, &ignored) < 0) {
		free(path);
		return 0;
	}
	copy = xstrdup(list);
	for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
		if (strcmp(w, gov) == 0)
			found = true;
	free(copy);
	if (!found)
		error_set(err, EXIT_RUNNER_ERROR, 0, "governor '%s' is not available: %s lists: %s",
		          gov, path, list[0] ? list : "(nothing)");
	free(list);
	free(path);
	return found ? 0 : -1;
}

static bool mask_any(const uint8_t *m)
{
	for (size_t i = 0; i < CPU_LIST_MAX / 8; i++)
		if (m[i])
			return true;
	return false;
}

static int plan_governor(const struct sandbox_spec *spec, const char *root,
                         const struct cpufreq_policy *pol, size_t n_pol, struct tune_plan *plan,
                         struct run_report *r, struct error *err)
{
	uint8_t want[CPU_LIST_MAX / 8], uncovered[CPU_LIST_MAX / 8];
	char names[CONTROL_DETAIL_MAX] = "";
	char *cpus_text, *uncovered_text;
	size_t used = 0;

	if (!valid_governor_name(spec->governor))
		return error_set(err, EXIT_RUNNER_ERROR, 0, "invalid governor name '%s'",
		                 spec->governor);
	memset(want, 0xff, sizeof(want));
	if (spec->cpus_set)
		memcpy(want, spec->cpus, sizeof(want));
	memcpy(uncovered, want, sizeof(uncovered));
	for (size_t i = 0; i < n_pol; i++) {
		bool covers = !spec->cpus_set;
		char *rel;

		for (size_t b = 0; b < CPU_LIST_MAX / 8; b++)
			if (pol[i].cpus[b] & want[b])
				covers = true;
		if (!covers || !policy_has(&pol[i], "scaling_governor"))
			continue;
		if (check_governor_available(&pol[i], spec->governor, err) < 0)
			return -1;
		rel = policy_rel(&pol[i], "scaling_governor");
		plan_add(plan, rel, spec->governor);
		free(rel);
		append_name(names, sizeof(names), pol[i].name);
		for (size_t b = 0; b < CPU_LIST_MAX / 8; b++)
			uncovered[b] &= (uint8_t)~pol[i].cpus[b];
		used++;
	}
	cpus_text = spec->cpus_set ? format_cpu_list(spec->cpus) : xstrdup("all");
	if (used == 0) {
		report_control(r, "host.governor", CONTROL_UNAVAILABLE,
		               "no cpufreq policy with scaling_governor for CPUs %s under "
		               "%s/" CPU_REL "cpufreq",
		               cpus_text, root);
	} else if (spec->cpus_set && mask_any(uncovered)) {
		uncovered_text = format_cpu_list(uncovered);
		report_control(r, "host.governor", CONTROL_DEGRADED,
		               "%s on %s; CPUs %s have no cpufreq policy", spec->governor, names,
		               uncovered_text);
		free(uncovered_text);
	} else {
		report_control(r, "host.governor", CONTROL_APPLIED, "%s on %s (CPUs %s)",
		               spec->governor, names, cpus_text);
	}
	free(cpus_text);
	return 0;
}

static int build_plan(const struct sandbox_spec *spec, const char *root, struct tune_plan *plan,
                      struct run_report *r, struct error *err)
{
	struct cpufreq_policy *pol;
	size_t n_pol;
	int rc = 0;

	if (hosttune_list_policies(root, &pol, &n_pol, err) < 0)
		return -1;
	if (spec->no_turbo)
		plan_turbo(root, pol, n_pol, plan, r);
	if (spec->governor)
		rc = plan_governor(spec, root, pol, n_pol, plan, r, err);
	hosttune_free_policies(pol, n_pol);
	return rc;
}

/* ---- liveness of registered runs ---- */

/* ---- the state file ---- */

/* ---- locking ---- */

/* ---- apply / restore / recover ---- */

static char *host_dir(const char *state_dir)
{
	return xasprintf("%s/host-state", state_dir ? state_dir : HOSTTUNE_DEFAULT_STATE_DIR);
}

static int new_token(char *token, struct error *err)
{
	unsigned char raw[HOSTTUNE_TOKEN_LEN / 2];
	ssize_t n;

	do
		n = getrandom(raw, sizeof(raw), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(raw))
		return error_set(err, EXIT_RUNNER_ERROR, n < 0 ? errno : EIO, "getrandom");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

static struct ht_orig *state_find_orig(struct ht_state *st, const char *rel)
{
	for (size_t i = 0; i < st->n_origs; i++)
		if (strcmp(st->origs[i].rel, rel) == 0)
			return &st->origs[i];
	return NULL;
}

/* Record the original of every planned file (unless a live run already
 * did); a file held at another value by a live run is a conflict. */
static int record_originals(struct ht_state *st, const struct tune_plan *plan, struct error *err)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct tune_item *it = &plan->items[i];
		struct ht_orig *o = state_find_orig(st, it->rel);
		char *path, *cur;

		if (o && st->n_runs > 0 && strcmp(o->set, it->value) != 0)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "host tuning conflict: %s/%s is held at '%s' by a "
			                 "concurrent run, this run asks for '%s'",
			                 st->root, it->rel, o->set, it->value);
		if (o) {
			free(o->set);
			o->set = xstrdup(it->value);
			continue;
		}
		path = ht_full_path(st->root, it->rel);
		if (hosttune_read_value(path, &cur, err) < 0) {
			free(path);
			return -1;
		}
		if (!ht_is_token(cur)) {
			error_set(err, EXIT_RUNNER_ERROR, 0, "unexpected value '%s' in %s", cur,
			          path);
			free(cur);
			free(path);
			return -1;
		}
		free(path);
		st->origs = xrealloc(st->origs, (st->n_origs + 1) * sizeof(*st->origs));
		st->origs[st->n_origs].rel = xstrdup(it->rel);
		st->origs[st->n_origs].orig = cur;
		st->origs[st->n_origs].set = xstrdup(it->value);
		st->n_origs++;
	}
	return 0;
}

static int register_and_write(struct ht_state *st, const struct tune_plan *plan,
                              const struct hosttune *ht, struct error *err)
{
	size_t n_old = st->n_origs;
	struct ht_run *run;
	char state;

	if (record_originals(st, plan, err) < 0) {
		struct error ignored;

		/* nothing written yet: forget the new originals, keep the pruning */
		while (st->n_origs > n_old)
			ht_state_drop_orig(st, st->n_origs - 1);
		ht_state_save(ht->host_dir, st, &ignored);
		return -1;
	}
	st->runs = xrealloc(st->runs, (st->n_runs + 1) * sizeof(*st->runs));
	run = &st->runs[st->n_runs++];
	run->pid = (long)getpid();
	run->start = ht_proc_start_time(run->pid, &state);
	memcpy(run->token, ht->token, sizeof(run->token));
	if (ht_state_save(ht->host_dir, st, err) < 0)
		return -1;
	for (size_t i = 0; i < plan->n; i++) {
		struct error ignored;

		if (ht_write_value(st->root, plan->items[i].rel, plan->items[i].value, err) == 0)
			continue;
		/* undo what this run introduced; shared entries stay with their
		 * owners, files not written yet need no write-back */
		for (size_t j = i; j < plan->n; j++) {
			struct ht_orig *o = state_find_orig(st, plan->items[j].rel);

			if (o != NULL && (size_t)(o - st->origs) >= n_old)
				ht_state_drop_orig(st, (size_t)(o - st->origs));
		}
		ht_state_drop_run(st, st->n_runs - 1);
		if (st->n_runs == 0)
			n_old = 0;
		ht_restore_origs(st, n_old, &ignored);
		ht_state_save(ht->host_dir, st, &ignored);
		return -1;
	}
	return 0;
}

static void hosttune_clear(struct hosttune *ht)
{
	free(ht->host_dir);
	free(ht->sysfs_root);
	memset(ht, 0, sizeof(*ht));
}

int hosttune_apply(const struct sandbox_spec *spec, struct hosttune *ht, struct run_report *r,
                   struct error *err)
{
	struct run_report scratch;
	struct tune_plan plan = {0};
	struct ht_state st;
	int lock_fd, rc;

	memset(ht, 0, sizeof(*ht));
	if (!spec->no_turbo && spec->governor == NULL)
		return 0;
	if (r == NULL) {
		memset(&scratch, 0, sizeof(scratch));
		r = &scratch;
	}
	ht->sysfs_root = ht_root_norm(spec->sysfs_root);
	ht->host_dir = host_dir(spec->state_dir);
	rc = build_plan(spec, ht->sysfs_root, &plan, r, err);
	if (rc < 0 || plan.n == 0)
		goto out_clear;
	rc = new_token(ht->token, err);
	if (rc == 0)
		rc = ht_lock_state_dir(ht->host_dir, &lock_fd, err);
	if (rc < 0)
		goto out_clear;
	rc = ht_state_load(ht->host_dir, ht->sysfs_root, &st, err);
	if (rc == 0)
		rc = ht_state_prune(&st, false, err);
	if (rc == 0)
		rc = register_and_write(&st, &plan, ht, err);
	if (rc == 0)
		ht->active = true;
	ht_state_free(&st);
	close(lock_fd);
out_clear:
	plan_free(&plan);
	if (!ht->active)
		hosttune_clear(ht);
	return rc;
}

int hosttune_restore(struct hosttune *ht, struct error *err)
{
	struct ht_state st;
	int lock_fd, rc;

	if (!ht->active) {
		hosttune_clear(ht);
		return 0;
	}
	if (ht_lock_state_dir(ht->host_dir, &lock_fd, err) < 0) {
		hosttune_clear(ht);
		return -1;
	}
	rc = ht_state_load(ht->host_dir, ht->sysfs_root, &st, err);
	if (rc == 0) {
		for (size_t i = st.n_runs; i-- > 0;)
			if (strcmp(st.runs[i].token, ht->token) == 0)
				ht_state_drop_run(&st, i);
		rc = ht_prune_and_save(ht->host_dir, &st, false, err);
		ht_state_free(&st);
	}
	close(lock_fd);
	hosttune_clear(ht);
	return rc;
}

static int recover(const char *state_dir, const char *sysfs_root, bool force, struct error *err)
{
	char *dir = host_dir(state_dir);
	char *root = ht_root_norm(sysfs_root);
	char *path = xasprintf("%s/state", dir);
	bool none = access(path, F_OK) < 0 && errno == ENOENT;
	struct ht_state st;
	int lock_fd, rc = 0;

	/* the common case, nothing was ever tuned: don't create the directory */
	if (!none && (rc = ht_lock_state_dir(dir, &lock_fd, err)) == 0) {
		rc = ht_state_load(dir, root, &st, err);
		if (rc == 0) {
			rc = ht_prune_and_save(dir, &st, force, err);
			ht_state_free(&st);
		}
		close(lock_fd);
	}
	free(path);
	free(root);
	free(dir);
	return rc;
}

int hosttune_recover(const char *state_dir, const char *sysfs_root, struct error *err)
{
	return recover(state_dir, sysfs_root, false, err);
}

/* ---- what `pgo-sandbox host` does ---- */

int hosttune_host_restore(const char *state_dir, const char *sysfs_root, bool force,
                          struct error *err)
{
	return recover(state_dir, sysfs_root, force, err);
}

int hosttune_host_status(const char *state_dir, const char *sysfs_root, struct error *err)
{
	char *dir = host_dir(state_dir);
	char *root = ht_root_norm(sysfs_root);
	char *path = xasprintf("%s/state", dir);
	struct ht_state st;
	int rc;

	if (access(path, F_OK) < 0 && errno == ENOENT) {
		printf("no host tuning state in %s: host settings are untouched\n", dir);
		free(dir);
		free(path);
		free(root);
		return 0;
	}
	rc = ht_state_load(dir, root, &st, err);
	if (rc == 0) {
		printf("host tuning state %s (sysfs root %s)\n", path, ht_root_display(st.root));
		for (size_t i = 0; i < st.n_runs; i++)
			printf("  run pid %ld: %s\n", st.runs[i].pid,
			       ht_run_alive(&st.runs[i]) ? "alive" : "dead (restore pending)");
		for (size_t i = 0; i < st.n_origs; i++) {
			char *fp = ht_full_path(st.root, st.origs[i].rel), *cur = NULL;
			struct error ignored;

			if (hosttune_read_value(fp, &cur, &ignored) < 0)
				cur = xstrdup("(unreadable)");
			printf("  %s: original %s, set %s, now %s\n", fp, st.origs[i].orig,
			       st.origs[i].set, cur);
			free(cur);
			free(fp);
		}
		ht_state_free(&st);
	}
	free(dir);
	free(path);
	free(root);
	return rc;
}
