/*
 * ex_lru.h: a cache of one shard for the LRU tests, whose entries carry a
 * number and whose frees are counted.
 */
#ifndef KV_GRADE_EX_LRU_H
#define KV_GRADE_EX_LRU_H

#include <stdint.h>

#include "lru_cache.h"

extern int ex_lru_freed[64];    /* how often entry i was freed */
/* A cache of one shard; also bounds the test at 5 s of CPU (ex_bound_work). */
lru_cache *ex_lru_new(size_t capacity);
/* Inserts entry i under key (i, 0) with charge 1; returns it, still held
 * by the caller unless release is set. */
lru_entry *ex_lru_insert(lru_cache *c, int i, int release);
/* 1 if key (i, 0) is in the cache (the lookup's reference is released). */
int ex_lru_has(lru_cache *c, int i);

#endif
