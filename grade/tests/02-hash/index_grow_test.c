/*
 * index_grow_test.c: exercise index_grow, hash_index_grow
 * (stages/02-hash/index/hash_index.c), reached through hash_index_reserve: the
 * slot array doubled, every entry moved to its home in the new one.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ex_hash.h"
#include "exercise.h"
#include "kv.h"

static void index_grow_from_nothing(void)
{
    EX_BOUND(5, EX_RULES("1 and 2", "twice as large, every entry moved to the first free "
                                 "slot from its home") "hash_index_reserve(1) on an empty table returns: the first growth makes 16 "
                "slots and sets cap to them, and then 1 key fits in 3/4 of cap");
    hash_index ix;
    hash_index_init(&ix);
    harness_context("hash_index_reserve(1) on an empty table (cap 0): the first growth makes 16 "
                    "empty slots and sets cap");
    EX_CHECK(hash_index_reserve(&ix, 1) == KV_OK, "hash_index_reserve(1) on an empty table");
    EX_CHECK(ix.cap == 16, EX_RULE(1, "16 slots the first time") "the first growth makes the "
             "smallest table, 16 slots (got %zu)",
             ix.cap);
    EX_CHECK(ix.slots != NULL, "with its slots allocated");
    for (size_t i = 0; i < ix.cap; i++)
        EX_CHECK(ix.slots[i].key == NULL, EX_RULE(1, "a new slot array") "a new table's slots "
                 "are empty");
    ex_hash_check(&ix, "after the first growth");
    hash_index_free(&ix);
}

static void index_grow_doubles_and_moves_every_entry(void)
{
    EX_BOUND(5, EX_RULES("1 and 2", "twice as large, every entry moved to the first free "
                                 "slot from its home") "hash_index_reserve(1) with 12 keys in 16 slots returns: one growth doubles "
                "cap to 32, and every entry finds an empty slot probing (i + 1) & (32 - 1), "
                "which visits every slot");
    hash_index ix;
    ex_hash_table(&ix, 16);
    char k[16];
    uint8_t *ptrs[12];
    for (int i = 0; i < 12; i++) {
        snprintf(k, sizeof k, "g%d", i);
        ex_hash_place(&ix, k, (uint64_t)(100 + i));
        ptrs[i] = ex_hash_slot(&ix, k, strlen(k))->key;
    }
    harness_context("hash_index_reserve(1) with 12 keys in 16 slots: the table doubles to 32, "
                    "every entry moved whole (its key copy kept) to its home in the new slots");
    EX_CHECK(hash_index_reserve(&ix, 1) == KV_OK, "hash_index_reserve(1) with 12 keys in 16");
    EX_CHECK(ix.cap == 32, EX_RULE(1, "twice as large") "13 keys do not fit in 3/4 of 16 slots: "
             "the table doubles to 32 "
             "(got %zu)", ix.cap);
    ex_hash_check(&ix, EX_RULE(2, "every entry moved to its new home") "after doubling 16 -> 32");
    for (int i = 0; i < 12; i++) {
        snprintf(k, sizeof k, "g%d", i);
        hash_slot *s = ex_hash_slot(&ix, k, strlen(k));
        EX_CHECK(s != NULL, EX_RULE(2, "every entry moved") "every key is still there after "
                 "growing: %s", k);
        EX_CHECK(s->loc.offset == (uint64_t)(100 + i), EX_RULE(2, "the entry moves whole") "every key keeps its place: %s", k);
        EX_CHECK(s->key == ptrs[i], EX_RULE(2, "the entry moves whole") "an entry moves whole: "
                 "its key copy is not copied again "
                 "(%s)", k);
    }
    hash_index_free(&ix);
}

/* Entries whose stored hash is not their key's (made by hand): a growth
 * moves each to the home its stored hash names in the new array, never
 * hashing its key again. */
static void index_grow_moves_with_the_stored_hash(void)
{
    EX_BOUND(5, EX_RULES("1 and 2", "twice as large, every entry moved to the first free "
                                 "slot from its home") "hash_index_reserve(1) with 12 keys in 16 slots returns: one growth doubles "
                "cap to 32, and every entry finds an empty slot probing (i + 1) & (32 - 1), "
                "which visits every slot");
    hash_index ix;
    ex_hash_table(&ix, 16);
    for (uint32_t i = 0; i < 12; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "s%u", i);
        uint8_t *copy = malloc((size_t)kl);
        EX_CHECK(copy != NULL, "out of memory");
        memcpy(copy, k, (size_t)kl);
        /* stored hash: home i in 16 slots, home 16 + i in 32 */
        ix.slots[i] = (hash_slot){.key = copy, .hash = 16 + i, .klen = (uint16_t)kl,
                                  .loc = {.offset = i}};
        ix.count++;
        ix.key_bytes += (size_t)kl;
    }
    harness_context("hash_index_reserve(1) with 12 entries in slots 0..11 whose stored hashes "
                    "are 16..27 (not their keys' hashes): each moves to slot 16 + i of 32, the "
                    "home its stored hash names");
    EX_CHECK(hash_index_reserve(&ix, 1) == KV_OK, "hash_index_reserve(1) with 12 keys in 16");
    EX_CHECK(ix.cap == 32, EX_RULE(1, "twice as large") "the table doubles to 32 (got %zu)",
             ix.cap);
    for (uint32_t i = 0; i < 12; i++)
        EX_CHECK(ix.slots[16 + i].key != NULL && ix.slots[16 + i].hash == 16 + i &&
                     ix.slots[16 + i].loc.offset == i,
                 EX_RULE(2, "moved with the hash stored in the slot") "the entry whose stored "
                 "hash is %u is in slot %u of 32, its home by that hash: an entry moves with "
                 "the hash it stored, its key never hashed again", 16 + i, 16 + i);
    hash_index_free(&ix);
}

/* 200 tables grown from 16 slots to 4096 (nine growths each) and freed:
 * the arrays a growth leaves behind are freed as it goes. */
static void index_grow_frees_the_old_array(void)
{
    EX_BOUND(10, EX_RULES("1 and 2", "twice as large, every entry moved to the first free "
                                 "slot from its home") "200 tables grown to 4096 slots: each growth doubles cap");
    size_t before = mallinfo2().uordblks;
    for (int t = 0; t < 200; t++) {
        hash_index ix;
        ex_hash_table(&ix, 16);
        ex_hash_place(&ix, "k", 1);
        harness_context("hash_index_reserve(3000) of table %d of 200 (1 key in 16 slots): nine "
                        "growths, each freeing the array it leaves", t);
        EX_CHECK(hash_index_reserve(&ix, 3000) == KV_OK, "hash_index_reserve(3000)");
        hash_index_free(&ix);
    }
    size_t after = mallinfo2().uordblks;
    EX_CHECK(after < before + 65536,
             EX_RULE(3, "the old array freed") "a growth frees the slot array it leaves: 200 "
             "tables grown from 16 to 4096 slots and freed left %zu more bytes in use (the "
             "arrays of 16 to 2048 slots are 2 MiB a table)", after > before ? after - before : 0);
}

static void index_grow_as_often_as_needed(void)
{
    EX_BOUND(5, EX_RULES("1 and 2", "twice as large, every entry moved to the first free "
                                 "slot from its home") "hash_index_reserve(1000) returns: each growth doubles cap (and only cap: "
                "count stays the number of keys) until 1010 keys fit in 3/4 of it");
    hash_index ix;
    ex_hash_table(&ix, 16);
    char k[16];
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "m%d", i);
        ex_hash_place(&ix, k, (uint64_t)i);
    }
    harness_context("hash_index_reserve(1000) with 10 keys in 16 slots: double cap until 1010 keys "
                    "fit in 3/4 of it (2048), every entry moved each time");
    EX_CHECK(hash_index_reserve(&ix, 1000) == KV_OK, "hash_index_reserve(1000)");
    EX_CHECK(ix.cap == 2048, EX_RULE(1, "twice as large, as often as needed") "room for 1010 "
             "keys at 3/4 full takes 2048 slots (got %zu)",
             ix.cap);
    ex_hash_check(&ix, "after growing 16 -> 2048");
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "m%d", i);
        EX_CHECK(ex_hash_slot(&ix, k, strlen(k)) != NULL, "%s survives every doubling", k);
    }
    hash_index_free(&ix);
}

static void index_grow_keeps_colliding_runs_reachable(void)
{
    EX_BOUND(5, EX_RULES("1 and 2", "twice as large, every entry moved to the first free "
                                 "slot from its home") "hash_index_reserve(8) of a table holding a wrapped run returns: each growth "
                "doubles cap, and every entry finds an empty slot probing (i + 1) & (cap - 1), "
                "which visits every slot");
    hash_index ix;
    ex_hash_table(&ix, 16);
    char keys[10][32];
    ex_hash_colliding(keys, 10, "r", 16, 15); /* a run wrapping around the end */
    for (int i = 0; i < 10; i++)
        ex_hash_place(&ix, keys[i], (uint64_t)i);
    harness_context("hash_index_reserve(8) with a run of 10 keys from home slot 15 of 16 wrapping "
                    "around the end: each key reachable from its home slot in the new table");
    EX_CHECK(hash_index_reserve(&ix, 8) == KV_OK, "hash_index_reserve(8)");
    ex_hash_check(&ix, "after growing a table holding a run that wrapped around");
    for (int i = 0; i < 10; i++)
        EX_CHECK(ex_hash_slot(&ix, keys[i], strlen(keys[i])) != NULL,
                 EX_RULE(2, "its home in the new array") "each key of a wrapped run is "
                 "reachable from its new home slot");
    hash_index_free(&ix);
}

static void index_grow_an_emptied_table(void)
{
    EX_BOUND(5, EX_RULES("1 and 2", "twice as large, every entry moved to the first free "
                                 "slot from its home") "hash_index_reserve(20) on a table of 16 empty slots returns: a growth "
                "doubles the capacity the table has (cap, not count: its keys may all have "
                "been removed)");
    hash_index ix;
    ex_hash_table(&ix, 16); /* 16 slots, no key: what removing every key leaves */
    harness_context("hash_index_reserve(20) on 16 empty slots (count 0): a growth doubles cap, to "
                    "32; only a table of no slots starts at 16");
    EX_CHECK(hash_index_reserve(&ix, 20) == KV_OK, "hash_index_reserve(20)");
    EX_CHECK(ix.cap == 32, EX_RULE(1, "twice as large") "room for 20 keys at 3/4 full in a "
             "table of 16 slots, all empty: "
             "it doubles to 32 (a growth doubles cap; only a table of no slots starts at 16) "
             "(got %zu)", ix.cap);
    ex_hash_check(&ix, "after growing an empty table of 16 slots");
    hash_index_free(&ix);
}

static void index_grow_without_memory_changes_nothing(void)
{
    EX_BOUND(10, EX_RULES("1 and 2", "twice as large, every entry moved to the first free "
                                 "slot from its home") "hash_index_reserve(2^20) on a table of 2^20 slots returns when the memory "
                "for 2^21 slots cannot be had");
    hash_index ix;
    ex_hash_table(&ix, (size_t)1 << 20);
    char k[16];
    for (int i = 0; i < 5; i++) {
        snprintf(k, sizeof k, "m%d", i);
        ex_hash_place(&ix, k, (uint64_t)(100 + i));
    }
    hash_slot *slots = ix.slots;
    /* 2^21 slots are 64 MiB: more than the process may map from here. */
    if (!ex_memory_cap((size_t)16 << 20)) {
        hash_index_free(&ix);
        return; /* a sanitizer's build: no cap, no failing allocation */
    }
    harness_context("hash_index_reserve(2^20) with 5 keys in 2^20 slots, the process's memory "
                    "capped 16 MiB above what it maps: KV_ERR_NOMEM, the table left as it was");
    int rc = EX_KV(hash_index_reserve(&ix, (size_t)1 << 20));
    ex_memory_uncap();
    EX_CHECK(rc == KV_ERR_NOMEM, EX_RULE(4, "out of memory") "a growth whose new slot array "
             "cannot be allocated returns "
             "KV_ERR_NOMEM (got %d)", rc);
    EX_CHECK(ix.slots == slots && ix.cap == (size_t)1 << 20 && ix.count == 5,
             EX_RULE(4, "out of memory: the table unchanged") "a growth that fails leaves the "
             "table as it was: the same slots, cap 1048576, "
             "count 5 (got cap %zu, count %zu%s)", ix.cap, ix.count,
             ix.slots == slots ? "" : ", other slots");
    ex_hash_check(&ix, "after a growth that failed");
    const char *msg = kv_errmsg();
    EX_CHECK(ex_names_number(msg, (unsigned long long)1 << 21) && ex_names_number(msg, 5),
             EX_RULE(4, "the message names the slots and the keys") "kv_errmsg() says what "
             "could not be had: the slots the growth wanted (2097152) "
             "and the keys the table holds (count, 5; not cap) (got \"%s\")", msg);
    hash_index_free(&ix);
}

/* A table of 2^32 slots, 3/4 full, that must double: more slots than a
 * 32-bit hash reaches, or than memory holds.  The table is only counted
 * (no slot array: the growth must fail before it reads one). */
static void index_grow_past_2_32_slots_says_why(void)
{
#if SIZE_MAX > UINT32_MAX
    hash_index ix = {.slots = NULL, .cap = (size_t)1 << 32, .count = (size_t)3 << 30};
    if (!ex_memory_cap(0))
        return; /* a sanitizer's build: no cap, and 2^33 slots might be granted */
    harness_context("hash_index_reserve(1) on a table of 2^32 slots holding 3 * 2^30 keys, the "
                    "process's memory capped: the growth to 2^33 slots cannot be had");
    int rc = EX_KV(hash_index_reserve(&ix, 1));
    ex_memory_uncap();
    EX_CHECK(rc == KV_ERR_NOMEM, EX_RULE(4, "out of memory") "a growth past what can be had "
             "returns KV_ERR_NOMEM (got %d)", rc);
    EX_CHECK(ix.slots == NULL && ix.cap == (size_t)1 << 32 && ix.count == (size_t)3 << 30,
             EX_RULE(4, "out of memory: the table unchanged") "a growth that fails leaves the "
             "table as it was (got cap %zu, count %zu)", ix.cap, ix.count);
    EX_CHECK(kv_errmsg()[0] != '\0', EX_RULE(4, "out of memory: a message") "a growth that "
             "fails says why in kv_errmsg(), a message of its own (error.h: the failing path "
             "sets it), not the empty one or an earlier call's");
#endif
}

static const harness_test index_grow_tests[] = {
    HARNESS_TEST(index_grow_from_nothing),
    HARNESS_TEST(index_grow_doubles_and_moves_every_entry),
    HARNESS_TEST(index_grow_moves_with_the_stored_hash),
    HARNESS_TEST(index_grow_frees_the_old_array),
    HARNESS_TEST(index_grow_as_often_as_needed),
    HARNESS_TEST(index_grow_keeps_colliding_runs_reachable),
    HARNESS_TEST(index_grow_an_emptied_table),
    HARNESS_TEST(index_grow_without_memory_changes_nothing),
    HARNESS_TEST(index_grow_past_2_32_slots_says_why),
};
const harness_suite index_grow_suite = HARNESS_SUITE("index_grow", index_grow_tests);
