/* hosttune_state.h - what hosttune.c keeps between runs (internal to
 * host/): the state file of the runs that tuned the host and the
 * originals they changed, and the sysfs path helpers both halves use. */
#ifndef PGO_HOSTTUNE_STATE_H
#define PGO_HOSTTUNE_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* hosttune.h: HOSTTUNE_TOKEN_LEN (not included here: hosttune.c includes
 * this; a static assertion there keeps the two equal) */
#define HT_TOKEN_LEN 32
#define CPU_REL "sys/devices/system/cpu/"
#define STATE_MAGIC "pgo-sandbox-host-state 1"

struct ht_run {
	long pid;
	unsigned long long start; /* /proc/<pid>/stat starttime, 0 if unknown */
	char token[HT_TOKEN_LEN + 1];
};

struct ht_orig {
	char *rel;
	char *orig;
	char *set;
};

struct ht_state {
	char *root; /* normalised, "" for the real root */
	struct ht_run *runs;
	size_t n_runs;
	struct ht_orig *origs;
	size_t n_origs;
};

/* The sysfs root without trailing slashes ("" for the real root; caller
 * frees), as shown in messages, and ROOT/REL (caller frees). */
char *ht_root_norm(const char *root);
const char *ht_root_display(const char *root);
char *ht_full_path(const char *root, const char *rel);
/* A run's token: HT_TOKEN_LEN hex digits. */
bool ht_is_token(const char *s);
/* /proc/PID/stat's start time (0 when unknown; state: its state letter),
 * and whether the recorded run is that same process, still alive. */
unsigned long long ht_proc_start_time(long pid, char *state);
bool ht_run_alive(const struct ht_run *run);
/* The state file in dir: loaded (a missing file is an empty state under
 * root), rewritten atomically. */
void ht_state_free(struct ht_state *st);
int ht_state_load(const char *dir, const char *root, struct ht_state *st, struct error *err);
int ht_state_save(const char *dir, const struct ht_state *st, struct error *err);
void ht_state_drop_run(struct ht_state *st, size_t i);
void ht_state_drop_orig(struct ht_state *st, size_t i);
/* Write value to ROOT/REL; put back the originals from index from on;
 * drop dead runs (all with force) and, when none is left, restore; the
 * same, saved; the state directory's flock. */
int ht_write_value(const char *root, const char *rel, const char *value, struct error *err);
int ht_restore_origs(struct ht_state *st, size_t from, struct error *err);
int ht_state_prune(struct ht_state *st, bool force, struct error *err);
int ht_prune_and_save(const char *dir, struct ht_state *st, bool force, struct error *err);
int ht_lock_state_dir(const char *dir, int *lock_fd, struct error *err);

#endif
