/*
 * doorkeeper.c: the doorkeeper of doorkeeper.h.
 */
#include "doorkeeper.h"

#include <stdatomic.h>
#include <stdlib.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a slot is a lock-free word (calloc's zeros are 0)");

#define BLOCK_ADMIT_SLOT_BYTES 4096u
#define BLOCK_ADMIT_MIN_SLOTS 64u
#define BLOCK_ADMIT_MAX_SLOTS (1u << 22)

struct doorkeeper {
    uint64_t capacity;
    atomic_uint_fast64_t charged; /* up to capacity, then no longer counted */
    atomic_int full;              /* charged reached capacity (A1) */
    atomic_uint_fast64_t declined;
    uint32_t mask;                /* slots - 1 */
    _Atomic uint32_t slot[];      /* a fingerprint (never 0), or 0 */
};

doorkeeper *doorkeeper_new(size_t capacity_bytes)
{
    uint32_t slots = BLOCK_ADMIT_MIN_SLOTS;
    while (slots < BLOCK_ADMIT_MAX_SLOTS && (uint64_t)slots * BLOCK_ADMIT_SLOT_BYTES < capacity_bytes)
        slots *= 2;
    doorkeeper *a = calloc(1, sizeof *a + slots * sizeof a->slot[0]);
    if (a == NULL)
        return NULL;
    a->capacity = capacity_bytes;
    a->mask = slots - 1;
    atomic_init(&a->charged, 0);
    atomic_init(&a->full, capacity_bytes == 0);
    atomic_init(&a->declined, 0);
    /* Every slot starts empty (0) as calloc left it: a lock-free atomic
     * word is its value's bytes alone, so no atomic_init of each (a
     * million slots for a cache of 4 GiB, and every kv check opens one). */
    return a;
}

void doorkeeper_free(doorkeeper *a)
{
    free(a);
}

void doorkeeper_charged(doorkeeper *a, size_t charge)
{
    if (atomic_load_explicit(&a->full, memory_order_relaxed))
        return;
    uint64_t was = atomic_fetch_add_explicit(&a->charged, charge, memory_order_relaxed);
    if (was + charge >= a->capacity)
        atomic_store_explicit(&a->full, 1, memory_order_relaxed);
}

int doorkeeper_ask(doorkeeper *a, uint64_t id, uint64_t offset)
{
    if (!atomic_load_explicit(&a->full, memory_order_relaxed))
        return 1;
    uint64_t h = (id * 0x9e3779b97f4a7c15ull) ^ (offset * 0xc2b2ae3d27d4eb4full);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    uint32_t fp = (uint32_t)(h >> 32) | 1u;
    _Atomic uint32_t *slot = &a->slot[(uint32_t)h & a->mask];
    if (atomic_load_explicit(slot, memory_order_relaxed) == fp) {
        atomic_store_explicit(slot, 0, memory_order_relaxed);
        return 1;
    }
    atomic_store_explicit(slot, fp, memory_order_relaxed);
    /* A load and a store, no locked add: two readers declining at once
     * may count one (as the tables' counters, table_v2_count). */
    atomic_store_explicit(&a->declined,
                          atomic_load_explicit(&a->declined, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return 0;
}

uint64_t doorkeeper_declined(doorkeeper *a)
{
    return atomic_load_explicit(&a->declined, memory_order_relaxed);
}
