/*
 * doorkeeper.c: the doorkeeper of doorkeeper.h.
 */
#include "doorkeeper.h"

#include <stdatomic.h>
#include <stdlib.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a slot is a lock-free word (calloc's zeros are 0)");
_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2, "the slots' pointer is a lock-free word");

#define BLOCK_ADMIT_SLOT_BYTES 4096u
#define BLOCK_ADMIT_MIN_SLOTS 64u
#define BLOCK_ADMIT_MAX_SLOTS (1u << 22)

typedef _Atomic uint32_t doorkeeper_slot; /* a fingerprint (never 0), or 0 */

struct doorkeeper {
    uint64_t capacity;
    atomic_uint_fast64_t charged; /* up to capacity, then no longer counted */
    atomic_int full;              /* charged reached capacity (A1) */
    atomic_uint_fast64_t declined;
    uint32_t mask;                /* slots - 1 */
    /* The slots, made by the first ask once the cache is full (NULL
     * before): a cache that never fills (most of them: every kv check's,
     * every short-lived open's) never zeroes 4 bytes per 4 KiB of it. */
    _Atomic(doorkeeper_slot *) slot;
};

doorkeeper *doorkeeper_new(size_t capacity_bytes)
{
    uint32_t slots = BLOCK_ADMIT_MIN_SLOTS;
    while (slots < BLOCK_ADMIT_MAX_SLOTS && (uint64_t)slots * BLOCK_ADMIT_SLOT_BYTES < capacity_bytes)
        slots *= 2;
    doorkeeper *a = malloc(sizeof *a);
    if (a == NULL)
        return NULL;
    a->capacity = capacity_bytes;
    a->mask = slots - 1;
    atomic_init(&a->charged, 0);
    atomic_init(&a->full, capacity_bytes == 0);
    atomic_init(&a->declined, 0);
    atomic_init(&a->slot, NULL);
    return a;
}

void doorkeeper_free(doorkeeper *a)
{
    if (a != NULL)
        free(atomic_load_explicit(&a->slot, memory_order_relaxed));
    free(a);
}

/* The slots, made now if no ask has made them yet: every slot empty (0)
 * as calloc leaves it (a lock-free atomic word is its value's bytes
 * alone, so no atomic_init of each: a million slots for a cache of
 * 4 GiB).  Two readers making them at once keep the first one published
 * (A3).  NULL if memory runs out. */
static doorkeeper_slot *doorkeeper_slots(doorkeeper *a)
{
    doorkeeper_slot *slot = atomic_load_explicit(&a->slot, memory_order_acquire);
    if (slot != NULL)
        return slot;
    doorkeeper_slot *made = calloc((size_t)a->mask + 1, sizeof *made);
    if (made == NULL)
        return NULL;
    if (atomic_compare_exchange_strong_explicit(&a->slot, &slot, made, memory_order_acq_rel,
                                                memory_order_acquire))
        return made;
    free(made); /* another reader's are published: slot holds them */
    return slot;
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
    doorkeeper_slot *slots = doorkeeper_slots(a);
    if (slots == NULL)
        return 1; /* no memory for the slots: every block admitted, as A1 */
    doorkeeper_slot *slot = &slots[(uint32_t)h & a->mask];
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
