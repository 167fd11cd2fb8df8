/*
 * api_check.h: the API fuzz harness's comparisons: every answer the engine
 * gives through kv.h must be the model's (tests/model_map.h).
 *
 * A view is the model frozen at one moment, shared by everything that must
 * keep seeing that moment: a snapshot and every iterator made at it, or an
 * iterator made "now" (kv.h: an iterator sees the database as it was when
 * it was made).  Views are reference-counted because an iterator outlives
 * the snapshot it was made at when the snapshot is freed first.
 *
 * A broken promise prints what the harness was doing (api_context), what
 * was expected and what came, and calls abort(): the fuzzers save the input
 * and the replay driver dies on it.  That is on purpose; this is a test
 * program, not the library.
 */
#ifndef KV_FUZZ_API_CHECK_H
#define KV_FUZZ_API_CHECK_H

#include <stddef.h>

#include "../tests/model_map.h"
#include "kv.h"

typedef struct api_view {
    model_map m;
    int refs;
} api_view;

/* A view holding a copy of m, with one reference. */
api_view *api_view_new(const model_map *m);
api_view *api_view_ref(api_view *v);
void api_view_unref(api_view *v);   /* NULL is a no-op */

/* Says what the harness is doing, for the message of a failure. */
void api_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

_Noreturn void api_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A kv call returned `got`; anything but `want` fails. */
void api_expect_rc(const char *call, int got, int want);

/* kv_get (snap NULL) or kv_get_at of key must answer as m does. */
void api_check_get(kv_db *db, const kv_snapshot *snap, const model_map *m,
                   const void *key, size_t klen);

/* kv_multi_get of keys[0..n) must answer KV_OK, and for each key what m
 * answers (KV_OK and its value, or KV_NOT_FOUND with vals[i] NULL and
 * vlens[i] 0), every value its own allocation (a key asked twice gets
 * two). */
void api_check_multi_get(kv_db *db, const model_map *m, size_t n, const void *const keys[],
                         const size_t klens[]);

/* `it` must stand on m's entry pos (key and value), or, when pos == m->n,
 * not be valid; its status must be KV_OK either way. */
void api_check_position(kv_iter *it, const model_map *m, size_t pos);

/* Everything a reader can ask, at snap (NULL: now) against m: kv_get of
 * every key m holds, and a new iterator walked from the first key to the
 * end and from the last key back to the start. */
void api_check_all(kv_db *db, const kv_snapshot *snap, const model_map *m);

#endif
