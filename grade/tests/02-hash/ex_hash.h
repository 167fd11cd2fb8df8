/*
 * ex_hash.h: the tests' own view of stage 02's hash table
 * (stages/02-hash/index/hash_index.h), so that the tests of one exercise do not
 * lean on the learner's answer to another: a table filled by hand, the
 * slot a key is in, the table's invariants checked slot by slot, and keys
 * that share a home slot.
 */
#ifndef KV_GRADE_EX_HASH_H
#define KV_GRADE_EX_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "hash_index.h"

/* An empty table of cap slots (a power of two), allocated by the test. */
void ex_hash_table(hash_index *ix, size_t cap);
/* Puts key into the table by linear probing, as the invariants want; the
 * key is copied (malloc), its place is {offset, 0, 1}. */
void ex_hash_place(hash_index *ix, const char *key, uint64_t offset);
/* The slot holding key, found by the test's own probe, or NULL. */
hash_slot *ex_hash_slot(const hash_index *ix, const void *key, size_t klen);
/* Checks invariants 1 and 2 of hash_index.h, count and key_bytes, and that
 * each stored hash is the key's; fails the test naming the broken rule. */
void ex_hash_check(const hash_index *ix, const char *when);
/* n distinct keys "<prefix><i>" whose home slot in a table of cap slots is
 * `home`, written to out[i] (each up to 31 bytes). */
void ex_hash_colliding(char out[][32], size_t n, const char *prefix, size_t cap, size_t home);

#endif
