/*
 * index_find_test.c: exercise index_find, hash_index_find and
 * hash_index_probe (stages/02-hash/index/hash_index.c): a key found by walking
 * from its home slot to the key or to an empty slot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ex_hash.h"
#include "exercise.h"
#include "kv.h"

static void index_find_keys_in_their_home_slots(void)
{
    EX_BOUND(3, EX_RULES("1, 2 and 4", "one slot at a time from the home slot, wrapping, "
             "stopping at an empty slot") "every lookup returns: a probe moves i = (i + 1) & (cap - 1) and stops at "
                "the key or at an empty slot, which a table at most 3/4 full always has");
    hash_index ix;
    ex_hash_table(&ix, 64);
    char k[16];
    for (int i = 0; i < 40; i++) {
        snprintf(k, sizeof k, "key%d", i);
        ex_hash_place(&ix, k, (uint64_t)i);
    }
    for (int i = 0; i < 40; i++) {
        snprintf(k, sizeof k, "key%d", i);
        ex_context(EX_RULES("1 and 2", "the walk from the home slot, one slot at a time, "
                   "wrapping") "hash_index_find(\"%s\") in a table of 64 slots holding 40 keys: walk from "
                        "the home slot to the key (found, its slot's place) or to an empty slot",
                        k);
        hash_loc *loc = hash_index_find(&ix, k, strlen(k));
        EX_CHECK(loc != NULL, EX_RULE(3, "the key's slot") "a stored key is found: \"%s\"", k);
        EX_CHECK(loc == &ex_hash_slot(&ix, k, strlen(k))->loc,
                 EX_RULES("1, 2, 3 and 5", "the walk to the key's slot") "hash_index_find "
                 "returns the place "
                 "stored in the key's slot, not a copy");
        EX_CHECK(loc->offset == (uint64_t)i, "\"%s\" has its own place", k);
    }
    for (int i = 40; i < 200; i++) {
        snprintf(k, sizeof k, "key%d", i);
        ex_context(EX_RULES("1 and 2", "the walk from the home slot, one slot at a time, "
                   "wrapping") "hash_index_find(\"%s\"), a key that is absent from 40 in 64 slots: the "
                        "walk stops at an empty slot, NULL", k);
        EX_CHECK(hash_index_find(&ix, k, strlen(k)) == NULL, EX_RULE(4, "the first empty slot") "an absent key is NULL: \"%s\"", k);
    }
    hash_index_free(&ix);
}

static void index_find_walks_a_run_of_collisions(void)
{
    EX_BOUND(3, EX_RULES("1, 2 and 4", "one slot at a time from the home slot, wrapping, "
             "stopping at an empty slot") "every lookup returns: a probe moves i = (i + 1) & (cap - 1) and stops at "
                "the key or at an empty slot, which a table at most 3/4 full always has");
    hash_index ix;
    ex_hash_table(&ix, 32);
    char keys[8][32];
    ex_hash_colliding(keys, 8, "c", 32, 5);
    for (int i = 0; i < 6; i++)
        ex_hash_place(&ix, keys[i], (uint64_t)i); /* slots 5..10 */
    for (int i = 0; i < 6; i++) {
        harness_context("hash_index_find of the key in slot %d, 6 keys sharing home slot 5 of 32: "
                         "linear probing walks 5, 6, ... to the key", 5 + i);
        hash_loc *loc = hash_index_find(&ix, keys[i], strlen(keys[i]));
        EX_CHECK(loc != NULL && loc->offset == (uint64_t)i,
                 EX_RULE(1, "the walk from the home slot") "a key whose home slot holds another "
                 "key is found further along the run "
                 "(linear probing: slot 5, 6, ... until the key or an empty slot)");
    }
    harness_context("hash_index_find of an absent key with home slot 5, where a run of 6 "
                    "starts: NULL once the walk meets an empty slot (slot 11)");
    EX_CHECK(hash_index_find(&ix, keys[6], strlen(keys[6])) == NULL,
             EX_RULE(4, "the first empty slot") "an absent key whose home starts a run is NULL "
             "once the walk meets an empty slot");
    hash_index_free(&ix);
}

static void index_find_wraps_around_the_end(void)
{
    EX_BOUND(3, EX_RULES("1, 2 and 4", "one slot at a time from the home slot, wrapping, "
             "stopping at an empty slot") "every lookup returns: a probe moves i = (i + 1) & (cap - 1) and stops at "
                "the key or at an empty slot, which a table at most 3/4 full always has");
    hash_index ix;
    ex_hash_table(&ix, 16);
    char keys[4][32];
    ex_hash_colliding(keys, 4, "w", 16, 14);
    for (int i = 0; i < 4; i++)
        ex_hash_place(&ix, keys[i], (uint64_t)i); /* slots 14, 15, 0, 1 */
    for (int i = 0; i < 4; i++) {
        harness_context("hash_index_find of key %d of 4 with home slot 14 of 16, in slots 14, 15, "
                        "0, 1: the walk wraps, i = (i + 1) & (cap - 1)", i);
        hash_loc *loc = hash_index_find(&ix, keys[i], strlen(keys[i]));
        EX_CHECK(loc != NULL && loc->offset == (uint64_t)i,
                 EX_RULE(2, "the walk wraps") "the walk wraps from the last slot to slot 0: (i "
                 "+ 1) & (cap - 1)");
    }
    hash_index_free(&ix);
}

static void index_find_compares_whole_keys(void)
{
    EX_BOUND(3, EX_RULES("1, 2 and 4", "one slot at a time from the home slot, wrapping, "
             "stopping at an empty slot") "every lookup returns: a probe moves i = (i + 1) & (cap - 1) and stops at "
                "the key or at an empty slot, which a table at most 3/4 full always has");
    hash_index ix;
    ex_hash_table(&ix, 16);
    ex_hash_place(&ix, "ab", 1);
    ex_hash_place(&ix, "abc", 2);
    ex_context(EX_RULES("1 and 2", "the walk from the home slot, one slot at a time, "
                   "wrapping") "hash_index_find(\"a\"), then \"abc\" and \"ab\", in 16 slots holding \"ab\" "
                    "and \"abc\": a key matches only a key of the same length and bytes");
    EX_CHECK(hash_index_find(&ix, "a", 1) == NULL, EX_RULE(3, "same length") "\"a\" is not "
             "\"ab\": lengths must match");
    hash_loc *loc = hash_index_find(&ix, "abc", 3);
    EX_CHECK(loc != NULL && loc->offset == 2, EX_RULE(3, "same bytes") "\"abc\" is found, not "
             "\"ab\"");
    loc = hash_index_find(&ix, "ab", 2);
    EX_CHECK(loc != NULL && loc->offset == 1, EX_RULE(3, "same bytes") "\"ab\" is found, not "
             "\"abc\"");
    hash_index_free(&ix);
}

/* A slot holding "abd" with the stored hash and length of "abc": only the
 * bytes tell them apart (no two short keys share a 32-bit hash, so the
 * table is made by hand). */
static void index_find_compares_bytes_under_an_equal_hash(void)
{
    EX_BOUND(3, EX_RULES("1, 2 and 4", "one slot at a time from the home slot, wrapping, "
             "stopping at an empty slot") "every lookup returns: a probe moves i = (i + 1) & (cap - 1) and stops at "
                "the key or at an empty slot, which a table at most 3/4 full always has");
    hash_index ix;
    ex_hash_table(&ix, 16);
    uint32_t h = hash_index_hash("abc", 3);
    uint8_t *copy = malloc(3);
    EX_CHECK(copy != NULL, "out of memory");
    memcpy(copy, "abd", 3);
    ix.slots[h & 15] = (hash_slot){.key = copy, .hash = h, .klen = 3, .loc = {.offset = 7}};
    ix.count = 1;
    ix.key_bytes = 3;
    ex_context(EX_RULES("1 and 2", "the walk from the home slot, one slot at a time, "
                   "wrapping") "hash_index_find(\"abc\") in 16 slots whose only key, in abc's home slot, "
                    "is \"abd\" stored with abc's hash and length: same hash, same length, "
                    "other bytes");
    EX_CHECK(hash_index_find(&ix, "abc", 3) == NULL,
             EX_RULE(3, "same hash, same length, same bytes") "a slot whose hash and length "
             "match but whose bytes differ holds another key: \"abc\" is absent (a 32-bit "
             "hash is shared by many keys)");
    hash_index_free(&ix);
}

static void index_find_in_an_empty_table(void)
{
    EX_BOUND(3, EX_RULES("1, 2 and 4", "one slot at a time from the home slot, wrapping, "
             "stopping at an empty slot") "every lookup returns: a probe moves i = (i + 1) & (cap - 1) and stops at "
                "the key or at an empty slot, which a table at most 3/4 full always has");
    hash_index ix;
    hash_index_init(&ix);
    /* A crash here is a probe of no slots (mask cap - 1 is every bit):
     * rule 5's, not the walk's. */
    ex_context(EX_RULE(5, "a table with no slots") "hash_index_find(k) in a table of 0 slots "
               "(capacity 0): NULL, without touching slots, which is NULL");
    EX_CHECK(hash_index_find(&ix, "k", 1) == NULL,
             EX_RULE(5, "a table with no slots") "a table with no slots (capacity 0) holds "
             "nothing: NULL, without touching slots");
}

static const harness_test index_find_tests[] = {
    HARNESS_TEST(index_find_keys_in_their_home_slots),
    HARNESS_TEST(index_find_walks_a_run_of_collisions),
    HARNESS_TEST(index_find_wraps_around_the_end),
    HARNESS_TEST(index_find_compares_whole_keys),
    HARNESS_TEST(index_find_compares_bytes_under_an_equal_hash),
    HARNESS_TEST(index_find_in_an_empty_table),
};
const harness_suite index_find_suite = HARNESS_SUITE("index_find", index_find_tests);
