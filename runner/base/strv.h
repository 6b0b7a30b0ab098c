/* strv.h - a growable, NULL-terminated list of strings, written once (the
 * idea of systemd's strv.h): command lines, "K=V" environments, the words
 * of a variant.  The list owns its strings; allocation failure aborts, as
 * xrealloc does.  `struct strv` grows; the functions on plain `char **`
 * serve arrays that other structures keep (NULL-terminated). */
#ifndef PGO_STRV_H
#define PGO_STRV_H

#include <stdbool.h>
#include <stddef.h>

struct strv {
	char **v; /* NULL-terminated once anything was pushed; NULL when empty */
	size_t n;
};

/* Append a copy of `item`. */
void strv_push(struct strv *s, const char *item);
void strv_pushf(struct strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Free every string and the array; the list is empty afterwards. */
void strv_free(struct strv *s);
/* Hand the NULL-terminated array to the caller (never NULL: an empty list
 * gives an array holding only NULL); the list is empty afterwards. */
char **strv_steal(struct strv *s);
/* The value of K in a "K=V" list (last one wins), or NULL. */
const char *strv_env_get(const struct strv *s, const char *name);

/* Plain NULL-terminated arrays (`v` may be NULL: no strings). */
size_t strv_length(char *const *v);
/* A deep copy, NULL-terminated (an empty one when `v` is NULL). */
char **strv_copy(char *const *v);
/* A deep copy of the first `n` strings, not NULL-terminated: the arrays
 * that keep their count beside them (NULL when n is 0). */
char **strv_copy_n(char *const *v, size_t n);
void strv_free_array(char **v);
/* Append `item` (taken, not copied) to a counted array that is kept
 * NULL-terminated as well; returns the array.  For the arrays that live
 * beside their count in a struct (options, evidence lines, words). */
char **strv_append_n(char **v, size_t *n, char *item);
/* The same with a copy of `s`. */
char **strv_append_copy_n(char **v, size_t *n, const char *s);
/* The `n` strings of a counted array, then the array. */
void strv_free_n(char **v, size_t n);

#endif
