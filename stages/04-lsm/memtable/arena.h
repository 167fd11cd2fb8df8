/*
 * arena.h: a bump allocator, so that the memtable costs no malloc per write.
 *
 * The arena takes memory from malloc in blocks and hands out pieces of the
 * current block by moving a pointer.  Pieces are never freed one by one:
 * the whole arena goes at once (arena_destroy), when the memtable that
 * owns it is dropped.  That suits a memtable exactly: it only grows, and it
 * dies whole once it is written to a table.  LevelDB's util/arena.h is the
 * same idea.
 *
 * Invariants:
 *   1. arena_memory_usage() is exactly the number of bytes the arena has
 *      asked malloc for (every block, header included).  It is what the
 *      stage compares with kv_options.memtable_bytes.  (malloc's own
 *      bookkeeping per block is not counted: the arena cannot see it, and
 *      with blocks of kilobytes it is a fraction of a percent.)
 *   2. A piece never moves and stays valid until arena_destroy.
 *   3. A request that does not fit in what is left of the current block
 *      gets a block of its own if it is larger than a quarter of a block
 *      (the current block keeps serving); otherwise a new block becomes
 *      the current one.  So at most a quarter of a block is ever wasted at
 *      its end.
 *   4. arena_alloc_aligned returns addresses that are multiples of
 *      ARENA_ALIGN (a pointer's size, at least 8).
 *   5. After arena_reserve(a, n) succeeds, allocations adding up to n bytes
 *      (each counted with ARENA_ALIGN - 1 bytes of padding if aligned) are
 *      served from the current block and cannot fail.  The write path
 *      reserves a group's room before the group goes to the log, so that
 *      inserting it into the memtable afterwards cannot fail (a record in
 *      the log whose insert failed would be readable only after a reopen).
 *      A reservation the current block cannot hold starts a new block of
 *      at least n bytes and ends the old one early (its rest is unused).
 *
 * Threads: one thread allocates (the memtable's writer); any thread may
 * call arena_memory_usage at any time.
 */
#ifndef KV_LSM_ARENA_H
#define KV_LSM_ARENA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define ARENA_ALIGN (sizeof(void *) > 8 ? sizeof(void *) : 8)
#define ARENA_MIN_BLOCK 256u

typedef struct arena_block arena_block;

/* REQUIRES: only arena.c looks inside. */
typedef struct arena {
    size_t block_bytes;          /* usable bytes of a normal block */
    uint8_t *ptr;                /* next free byte of the current block */
    size_t left;                 /* bytes left after ptr */
    arena_block *blocks;         /* every block, newest first */
    atomic_size_t usage;         /* invariant 1 */
} arena;

/* An empty arena whose blocks hold block_bytes each (at least
 * ARENA_MIN_BLOCK).  Allocates nothing yet. */
void arena_init(arena *a, size_t block_bytes);

/* Frees every block.  Every piece handed out becomes invalid. */
void arena_destroy(arena *a);

/* n bytes (n >= 1), with no alignment promised, or NULL with kv_errmsg set
 * (KV_ERR_NOMEM) if malloc failed. */
void *arena_alloc(arena *a, size_t n);

/* n bytes (n >= 1) at a multiple of ARENA_ALIGN, or NULL as above. */
void *arena_alloc_aligned(arena *a, size_t n);

/* Invariant 5.  KV_OK, or KV_ERR_NOMEM (message set; nothing changed). */
int arena_reserve(arena *a, size_t n);

/* What arena_reserve(a, n) would add to arena_memory_usage: 0 if the
 * current block has the room, else the new block's bytes.  So an owner
 * with a budget can tell whether n more bytes still fit in it. */
size_t arena_reserve_growth(const arena *a, size_t n);

/* Invariant 1.  Safe from any thread. */
static inline size_t arena_memory_usage(const arena *a)
{
    return atomic_load_explicit(&a->usage, memory_order_relaxed);
}

#endif
