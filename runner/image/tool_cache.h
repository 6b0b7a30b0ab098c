/* tool_cache.h - remembered toolchain facts (sha256 of a tool binary and
 * the first line of its --version), so a pipeline does not hash and run
 * ten compilers on every start.
 *
 * An entry is keyed by the tool's name, its path and its stat identity (device,
 * inode, size, mtime and ctime in ns); any change to the file, including a
 * package upgrade that replaces it, misses.  Files changed in the last
 * TOOL_CACHE_SETTLE_S seconds are never stored: timestamps have coarse
 * granularity, and a file rewritten within the same tick would look
 * unchanged (git's "racily clean" problem).
 *
 * Where: $PGO_SANDBOX_CACHE_DIR (empty: no cache), else
 * /var/cache/pgo-sandbox as root, else $XDG_CACHE_HOME/pgo-sandbox or
 * ~/.cache/pgo-sandbox.  The file must belong to the caller and be writable
 * by no one else, or it is ignored.  Every failure only costs the cache:
 * the facts are then computed as if it were empty. */
#ifndef PGO_TOOL_CACHE_H
#define PGO_TOOL_CACHE_H

#include <stdbool.h>

#include <jansson.h>

#define TOOL_CACHE_SETTLE_S 2
#define TOOL_CACHE_FILE "tool-facts.json"

struct tool_cache;

/* Never NULL; a cache that could not be loaded starts empty. */
struct tool_cache *tool_cache_open(void);

/* A new reference to the stored facts of the file at host_path run under
 * `name` (its argv[0]: gcc and cc are one file with two version lines), or
 * NULL. */
json_t *tool_cache_lookup(struct tool_cache *tc, const char *name, const char *host_path);

/* Remember facts (a copy is kept) for the file at host_path run as name. */
void tool_cache_store(struct tool_cache *tc, const char *name, const char *host_path,
                      json_t *facts);

/* With `save_used`, write the entries used in this run back when they
 * changed (a failed run passes false: its partial set would forget good
 * entries); then free. */
void tool_cache_close(struct tool_cache *tc, bool save_used);

#endif
