/*
 * snapshot_copy.h: the layout of a sorted copy (snapshot_iter.h), which
 * snapshot_copy.c builds and releases and snapshot_iter.c's iterators
 * walk; no other file reads it.
 */
#ifndef KV_SNAPSHOT_COPY_H
#define KV_SNAPSHOT_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot_iter.h"

typedef struct snapshot_entry {
    uint64_t key_off;   /* into the key arena */
    uint32_t klen;
    uint32_t is_delete;
    uint64_t seq;       /* order of snapshot_add calls: later wins */
    snapshot_loc loc;
} snapshot_entry;

struct snapshot_builder {
    const char *call;   /* for messages */
    snapshot_entry *entries;
    size_t count, cap;
    uint8_t *arena;     /* every key's bytes, end to end */
    size_t arena_len, arena_cap;
};

struct snapshot_copy {
    uint64_t *live;            /* invariant 3 */
    int refs;                  /* invariant 2; changed with atomics */
    snapshot_entry *entries;   /* sorted, live keys only (invariant 1) */
    size_t count;
    uint8_t *arena;
    snapshot_source src;
};

/* Drops a reference on s; the last releases it (invariant 2) and counts it
 * out of *live (invariant 3). */
void   snapshot_copy_unref(snapshot_copy *s);
/* Index of the first entry of s >= key (s->count: none). */
size_t snapshot_copy_lower_bound(const snapshot_copy *s, const void *key, size_t klen);

#endif
