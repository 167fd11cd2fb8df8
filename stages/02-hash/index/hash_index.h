/*
 * hash_index.h: stage 02's in-memory index, key -> where its latest record is.
 *
 * An open-addressing hash table with linear probing, written for this
 * project (docs/02-hash.md, "The index").  Each slot holds a pointer to a
 * private copy of the key, the key's 32-bit hash, its length, and the place
 * of the key's latest put record: segment id, offset, record size.  Looking a
 * key up hashes it, goes to slot hash & (capacity - 1), and walks forward
 * until it finds the key or an empty slot.
 *
 * Invariants:
 *   1. capacity is 0 or a power of two, and count <= 3/4 of capacity, so
 *      there is always an empty slot and probe runs stay short.
 *   2. Every stored key is reachable from its home slot (hash & mask) without
 *      crossing an empty slot.  Removal keeps this by shifting later entries
 *      of the run back (no tombstones), so a table never fills with them.
 *   3. Each key is stored once; a put of a present key replaces its place.
 *
 * The table is not thread-safe: the database guards it with its index lock.
 * Pointers returned by hash_index_find are valid until the next put or
 * remove.
 */
#ifndef KV_HASH_INDEX_H
#define KV_HASH_INDEX_H

#include <stddef.h>
#include <stdint.h>

/* Where a key's latest record lives. */
typedef struct hash_loc {
    uint64_t offset;   /* of the record in its segment */
    uint32_t seg;      /* the segment's id */
    uint32_t size;     /* of the whole record, header included */
} hash_loc;

/* One slot: 32 bytes on a 64-bit machine. */
typedef struct hash_slot {
    uint8_t *key;      /* NULL = empty; else a malloc'd copy of the key */
    hash_loc loc;
    uint32_t hash;
    uint16_t klen;     /* keys are 1..65535 bytes (KV_MAX_KEY) */
} hash_slot;

typedef struct hash_index {
    hash_slot *slots;
    size_t cap;        /* a power of two, or 0 */
    size_t count;
    uint64_t key_bytes; /* sum of the stored keys' lengths */
} hash_index;

void hash_index_init(hash_index *ix);
void hash_index_free(hash_index *ix);

/* The hash every slot stores (FNV-1a 64, folded to 32 bits after a mix). */
uint32_t hash_index_hash(const void *key, size_t klen);

/* The place of key, or NULL if the key is absent. */
hash_loc *hash_index_find(const hash_index *ix, const void *key, size_t klen);

/* Sets key's place.  If the key was present, *old gets its previous place
 * and *replaced is 1; else *replaced is 0 and the key is copied in.
 * KV_ERR_NOMEM (table unchanged) if memory runs out.
 * REQUIRES: 1 <= klen <= 65535. */
int hash_index_put(hash_index *ix, const void *key, size_t klen, const hash_loc *loc,
                   hash_loc *old, int *replaced);

/* Makes room for `more` new keys, so that the next `more` hash_index_adopt
 * calls cannot fail.  KV_ERR_NOMEM (table unchanged) if memory runs out. */
int  hash_index_reserve(hash_index *ix, size_t more);

/* hash_index_put for a caller that made the key's copy itself (a malloc'd
 * block of klen bytes), so that it cannot fail: the index takes ownership
 * of `copy` (freeing it if the key was already present).
 * REQUIRES: room reserved with hash_index_reserve. */
void hash_index_adopt(hash_index *ix, uint8_t *copy, size_t klen, const hash_loc *loc,
                      hash_loc *old, int *replaced);

/* Removes key; returns 1 and fills *old (if not NULL) if it was present. */
int hash_index_remove(hash_index *ix, const void *key, size_t klen, hash_loc *old);

/* Calls fn on every entry, in table order, until fn returns non-zero (which
 * is returned).  REQUIRES: fn does not change the table. */
typedef int (*hash_index_fn)(void *ctx, const uint8_t *key, size_t klen, const hash_loc *loc);
int hash_index_foreach(const hash_index *ix, hash_index_fn fn, void *ctx);

/* Bytes the index asked malloc for: the slot array plus the key copies.
 * (malloc adds its own few bytes per key copy; docs/02-hash.md measures the
 * real figure.) */
uint64_t hash_index_bytes(const hash_index *ix);

#endif
