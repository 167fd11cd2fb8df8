/*
 * vec_iter.h: an iterator over an array of entries, for tests: the model
 * the merging iterator and the user's view are compared with, and a
 * source that fails on demand.
 */
#ifndef KV_LSM_VEC_ITER_H
#define KV_LSM_VEC_ITER_H

#include <stddef.h>
#include <stdint.h>

#include "iterator.h"

typedef struct vec_entry {
    uint8_t *key;
    size_t klen;
    uint8_t *val;
    size_t vlen;
} vec_entry;

/* A growable array of entries (copies of the bytes). */
typedef struct vec {
    vec_entry *e;
    size_t n, cap;
} vec;

void vec_add(vec *v, const void *key, size_t klen, const void *val, size_t vlen);
void vec_free(vec *v);

/* An iterator over v's entries, which must be sorted: by internal key if
 * internal_keys, else bytewise (user keys).  After fail_after moves
 * (seeks and steps; -1 = never) it fails with KV_ERR_IO.  v must outlive
 * it. */
iter *vec_iter_new(const vec *v, int internal_keys, long fail_after);

#endif
