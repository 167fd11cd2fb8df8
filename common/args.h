/*
 * args.h: checks of the arguments every kv.h entry point receives.
 *
 * Each returns KV_OK, or KV_ERR_INVALID with kv_errmsg() saying which
 * argument of which call is wrong, so a bad call is refused before anything
 * is written.
 */
#ifndef KV_COMMON_ARGS_H
#define KV_COMMON_ARGS_H

#include <stddef.h>

#include "kv.h"

/* `call` names the entry point in the message ("kv_put"). */
int args_check_key(const char *call, const void *key, size_t klen);
int args_check_value(const char *call, const void *val, size_t vlen);
int args_check_ptr(const char *call, const void *p, const char *what);
/* kv_open's first steps: checks the out-pointer (and sets *out = NULL) and
 * copies the options, or the defaults when opt_in is NULL, into *opt. */
int args_open_options(kv_db **out, const kv_options *opt_in, kv_options *opt);
/* Everything kv_get checks (db, key, both out-pointers); on KV_OK it has
 * also set *val = NULL and *vlen = 0. */
int args_check_get(const void *db, const void *key, size_t klen, void **val, size_t *vlen);
/* The same for kv_get_at, and a snapshot that is not NULL. */
int args_check_get_at(const void *db, const void *snap, const void *key, size_t klen,
                      void **val, size_t *vlen);
/* Everything kv_multi_get checks before any lookup (kv.h): db; for n > 0
 * each array, n at most KV_MAX_BATCH_OPS, and every key as kv_get checks
 * it (the message names the first bad key by its index).  Writes nothing
 * to vals, vlens or rcs. */
int args_check_multi_get(const void *db, size_t n, const void *const keys[],
                         const size_t klens[], void *vals[], size_t vlens[], int rcs[]);

#endif
