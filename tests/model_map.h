/*
 * model_map.h: the in-memory model of a database that tests compare the
 * engine with: a sorted array of (key, value) pairs, nothing more.
 *
 * Two programs use it: the randomized model test (tests/model.c) and the
 * API-sequence fuzz harness (fuzz/api_fuzz.c).  Both apply every write to
 * the engine and to a model_map, and require every read of the engine to
 * answer as the model does; a snapshot of the database is a copy of the
 * model (model_map_copy) taken at the same moment.
 *
 * Invariants:
 *   1. e[0..n) is sorted by key in kv.h's order (bytewise, a prefix first:
 *      model_map_keycmp), with no key twice.
 *   2. Every entry owns its key and value bytes (a value of length 0 still
 *      has a 1-byte allocation, so k and v are never NULL).
 * The functions that allocate return 0, or -1 when an allocation failed;
 * the map is then as it was before the call.  Not thread-safe.
 */
#ifndef KV_TESTS_MODEL_MAP_H
#define KV_TESTS_MODEL_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct model_entry {
    uint8_t *k, *v;
    size_t kl, vl;
} model_entry;

typedef struct model_map {
    model_entry *e;
    size_t n, cap;
} model_map;   /* {0} is an empty map */

/* <0, 0, >0 as key a sorts before, equal to, after key b (kv.h's order). */
int model_map_keycmp(const void *a, size_t al, const void *b, size_t bl);

/* Index of the first entry whose key is >= key (m->n if none). */
size_t model_map_lower_bound(const model_map *m, const void *k, size_t kl);

/* The entry of key, or NULL. */
const model_entry *model_map_find(const model_map *m, const void *k, size_t kl);

/* Sets key to the value (inserting it, or replacing its value). */
int model_map_put(model_map *m, const void *k, size_t kl, const void *v, size_t vl);

/* Removes key if present. */
void model_map_del(model_map *m, const void *k, size_t kl);

/* *dst becomes a deep copy of src.  REQUIRES: dst holds no map (or an
 * emptied one); on failure *dst is an empty map. */
int model_map_copy(model_map *dst, const model_map *src);

/* Frees every entry; *m becomes an empty map. */
void model_map_free(model_map *m);

#endif
