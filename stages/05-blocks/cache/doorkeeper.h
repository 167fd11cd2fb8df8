/*
 * doorkeeper.h: which blocks a full block cache takes in, the doorkeeper.
 * An optimisation of block_cache.h: a first reading skips this file.
 *
 * Once the block cache is full, every block put in it pushes another out.
 * A database many times larger than the cache, read at random, would then
 * spend part of every get inserting a block that no get asks for again
 * before it is pushed out in turn, and evicting and freeing the block it
 * replaced.  The doorkeeper lets a block in only on its second miss while
 * the first is remembered: a table of 2^k slots (about one per block the
 * cache holds), each holding a 32-bit fingerprint of the last block that
 * missed there.  A block whose slot holds its fingerprint missed not long
 * ago, so it is likely to be asked for again while it would be cached:
 * it is admitted.  Any other block leaves its fingerprint in its slot and
 * is read once, into its reader's own buffer.  A hot block (a hot key's,
 * or the blocks a skewed workload keeps coming back to) gets in on its
 * second miss; a block read once in a long while never pushes one out.
 * The idea is TinyLFU's doorkeeper (Einziger, Friedman and Manes, "TinyLFU:
 * A Highly Efficient Cache Admission Policy", ACM ToS 2017), here with one
 * fingerprint per slot in place of a bloom filter.
 *
 * Invariants:
 *   A1. Until the charges inserted reach the cache's capacity, every block
 *       is admitted: a cache with room takes everything, so a database
 *       that fits reads each block once, as block_cache.h says.
 *   A2. It decides only whether a block is kept: a block turned away is
 *       read, checked and searched exactly like one admitted (C2 holds).
 *   A3. Without locks: a slot is one relaxed atomic word.  Two readers
 *       racing on a slot can at worst admit a block once too often or once
 *       too rarely, never hand out a wrong block (it holds no blocks).
 */
#ifndef KV_BLOCKS_DOORKEEPER_H
#define KV_BLOCKS_DOORKEEPER_H

#include <stddef.h>
#include <stdint.h>

typedef struct doorkeeper doorkeeper;

/* A doorkeeper for a cache of capacity_bytes, about one slot per 4 KiB of
 * it (4 bytes a slot), allocated by the first doorkeeper_ask once the
 * cache is full (a cache that never fills never zeroes them; if they
 * cannot be allocated then, that ask admits the block, as A1).  NULL if
 * memory runs out. */
doorkeeper *doorkeeper_new(size_t capacity_bytes);
void doorkeeper_free(doorkeeper *a);

/* Counts `charge` more bytes put in the cache (A1). */
void doorkeeper_charged(doorkeeper *a, size_t charge);

/* 1 if the block (id, offset), just missed, should go in the cache; 0 if
 * it is read once and not kept (counted as declined). */
int doorkeeper_ask(doorkeeper *a, uint64_t id, uint64_t offset);

/* Blocks declined since the cache was made (readers declining at the
 * same moment may be counted once). */
uint64_t doorkeeper_declined(doorkeeper *a);

#endif
