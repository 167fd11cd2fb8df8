/*
 * index_put_test.c: exercise index_put, hash_index_put and
 * hash_index_adopt (stages/02-hash/index/hash_index.c): a key's place set,
 * replacing the one it had, the key copied in when it is new.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ex_hash.h"
#include "exercise.h"
#include "kv.h"

static void index_put_new_keys(void)
{
    hash_index ix;
    hash_index_init(&ix);
    char k[16];
    for (int i = 0; i < 1000; i++) {
        int kl = snprintf(k, sizeof k, "p%d", i);
        hash_loc loc = {.offset = (uint64_t)i * 10, .seg = 3, .size = 7}, old;
        int replaced = -1;
        ex_context(EX_RULES("3 and 4", "a present key replaced in place, a new key made room for "
                   "and adopted") "hash_index_put(\"%s\"), new key %d, into %zu keys in %zu slots: grow "
                        "first if it would pass 3/4 full, copy the key in, *replaced = 0", k, i,
                        ix.count, ix.cap);
        int rc = hash_index_put(&ix, k, (size_t)kl, &loc, &old, &replaced);
        EX_CHECK(rc == KV_OK, EX_RULE(4, "a new key") "hash_index_put of a new key returns "
                 "KV_OK (key %d: %d)", i, rc);
        EX_CHECK(replaced == 0, EX_RULE(2, "a new key") "a new key: *replaced = 0 (key %d)", i);
        EX_CHECK(ix.count == (size_t)i + 1, EX_RULE(2, "count grows") "count grows by one per "
                 "new key");
        EX_CHECK(ix.count * 4 <= ix.cap * 3,
                 EX_RULE(4, "room made first") "invariant 1: the table grows before it passes "
                 "3/4 full (%zu keys in %zu "
                 "slots)", ix.count, ix.cap);
    }
    ex_hash_check(&ix, EX_RULE(4, "a new key") "after 1000 new keys");
    for (int i = 0; i < 1000; i++) {
        int kl = snprintf(k, sizeof k, "p%d", i);
        hash_slot *s = ex_hash_slot(&ix, k, (size_t)kl);
        EX_CHECK(s != NULL && s->loc.offset == (uint64_t)i * 10 && s->loc.seg == 3 &&
                     s->loc.size == 7,
                 EX_RULE(2, "a new key") "each key holds the place it was put with: %s", k);
    }
    hash_index_free(&ix);
}

static void index_put_grows_only_when_full(void)
{
    hash_index ix;
    hash_index_init(&ix);
    char k[16];
    for (int i = 0; i < 13; i++) {
        int kl = snprintf(k, sizeof k, "q%d", i);
        hash_loc loc = {.offset = (uint64_t)i, .seg = 1, .size = 1}, old;
        int replaced = -1;
        ex_context(EX_RULES("3 and 4", "a present key replaced in place, a new key made room for "
                   "and adopted") "hash_index_put(\"%s\"), new key %d, into %zu keys in %zu slots: a put "
                        "makes room for the one key it adds (grow only past 3/4 full: 16 slots up "
                        "to 12 keys)", k, i, ix.count, ix.cap);
        EX_CHECK(hash_index_put(&ix, k, (size_t)kl, &loc, &old, &replaced) == KV_OK,
                 "hash_index_put of a new key (key %d)", i);
        size_t want = i < 12 ? 16 : 32;
        EX_CHECK(ix.cap == want,
                 EX_RULE(4, "room made first") "a put makes room for the one key it adds "
                 "(hash_index_reserve(ix, 1)): %d "
                 "keys fit in 3/4 of 16 slots up to 12, so the table is %zu slots after key "
                 "%d (got %zu)", i + 1, want, i, ix.cap);
    }
    ex_hash_check(&ix, EX_RULE(4, "room made first") "after 13 new keys");
    hash_index_free(&ix);
}

static void index_put_replaces_a_present_key(void)
{
    hash_index ix;
    hash_index_init(&ix);
    hash_loc a = {.offset = 16, .seg = 1, .size = 20}, b = {.offset = 99, .seg = 2, .size = 30};
    hash_loc old = {0};
    int replaced = -1;
    ex_context(EX_RULES("3 and 4", "a present key replaced in place, a new key made room for "
                   "and adopted") "hash_index_put(\"key\") twice (places 16, then 99): the second replaces the "
                    "place, *replaced = 1, *old the previous place, the key stored once with its "
                    "first copy");
    EX_CHECK(hash_index_put(&ix, "key", 3, &a, &old, &replaced) == KV_OK, "the first put");
    uint8_t *copy = ex_hash_slot(&ix, "key", 3)->key;
    EX_CHECK(hash_index_put(&ix, "key", 3, &b, &old, &replaced) == KV_OK, "the second put");
    EX_CHECK(replaced == 1, EX_RULE(3, "a present key") "a put of a present key: *replaced = 1");
    EX_CHECK(old.offset == 16 && old.seg == 1 && old.size == 20,
             EX_RULE(3, "a present key") "*old gets the key's previous place (the caller counts "
             "its bytes as dead)");
    EX_CHECK(ix.count == 1 && ix.key_bytes == 3,
             EX_RULE(3, "a present key") "invariant 3: a key is stored once: count stays 1, "
             "key_bytes 3 (got %zu, %llu)",
             ix.count, (unsigned long long)ix.key_bytes);
    hash_slot *s = ex_hash_slot(&ix, "key", 3);
    EX_CHECK(s->loc.offset == 99 && s->loc.seg == 2, EX_RULE(3, "a present key") "the key now "
             "holds the new place");
    EX_CHECK(s->key == copy, EX_RULE(3, "copying nothing") "replacing a place keeps the key's "
             "copy");
    ex_hash_check(&ix, "after replacing a key's place");
    hash_index_free(&ix);
}

static void index_put_copies_the_key(void)
{
    hash_index ix;
    hash_index_init(&ix);
    char buf[8] = "mine";
    hash_loc loc = {.offset = 1}, old;
    int replaced;
    ex_context(EX_RULES("3 and 4", "a present key replaced in place, a new key made room for "
                   "and adopted") "hash_index_put(\"mine\") from the caller's buffer: the index keeps its own "
                    "malloc'd copy of a new key, never the caller's pointer");
    EX_CHECK(hash_index_put(&ix, buf, 4, &loc, &old, &replaced) == KV_OK, "put");
    memcpy(buf, "XXXX", 4);
    EX_CHECK(ex_hash_slot(&ix, "mine", 4) != NULL,
             EX_RULE(4, "the key copied") "the index keeps its own copy of a new key: the "
             "caller's buffer may change "
             "after the call");
    EX_CHECK(ex_hash_slot(&ix, "mine", 4)->key != (uint8_t *)buf,
             EX_RULE(4, "the key copied") "the stored key is a malloc'd copy, not the caller's "
             "pointer");
    hash_index_free(&ix);
}

static void index_put_adopt_takes_the_copy(void)
{
    hash_index ix;
    hash_index_init(&ix);
    harness_context("hash_index_reserve(2), then hash_index_adopt of two malloc'd copies of "
                    "\"abc\": adopt stores the caller's copy itself; for a present key it keeps "
                    "the first copy, frees the second, *old the previous place");
    EX_CHECK(hash_index_reserve(&ix, 2) == KV_OK, "reserve");
    uint8_t *c1 = malloc(3), *c2 = malloc(3);
    memcpy(c1, "abc", 3);
    memcpy(c2, "abc", 3);
    hash_loc a = {.offset = 1}, b = {.offset = 2}, old = {0};
    int replaced = -1;
    hash_index_adopt(&ix, c1, 3, &a, &old, &replaced);
    EX_CHECK(replaced == 0 && ix.count == 1, EX_RULE(2, "adopt of a new key") "hash_index_adopt "
             "of a new key stores it");
    EX_CHECK(ex_hash_slot(&ix, "abc", 3)->key == c1,
             EX_RULE(2, "adopt of a new key") "hash_index_adopt stores the caller's copy itself "
             "(the index takes ownership)");
    hash_index_adopt(&ix, c2, 3, &b, &old, &replaced);
    EX_CHECK(replaced == 1 && old.offset == 1 && ix.count == 1,
             EX_RULE(1, "adopt of a present key") "hash_index_adopt of a present key replaces "
             "its place, *old the previous one");
    EX_CHECK(ex_hash_slot(&ix, "abc", 3)->key == c1 && ex_hash_slot(&ix, "abc", 3)->loc.offset == 2,
             EX_RULE(1, "adopt of a present key") "the present key keeps its first copy (the "
             "second is freed) and the new place");
    ex_hash_check(&ix, "after adopting");
    /* The second copy is adopt's to free: a block left at the end is that. */
    EX_RULE_BEGIN(1, "adopt of a present key frees the copy it was given");
    hash_index_free(&ix);
}

static void index_put_many_against_a_model(void)
{
    hash_index ix;
    hash_index_init(&ix);
    enum { KEYS = 3000 };
    static uint64_t model[KEYS];
    memset(model, 0, sizeof model);
    uint64_t r = 88172645463325252ull;
    char k[16];
    for (int step = 1; step <= 20000; step++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        int i = (int)(r % KEYS);
        int kl = snprintf(k, sizeof k, "%d", i);
        hash_loc loc = {.offset = (uint64_t)step}, old = {0};
        int replaced = -1;
        harness_context("step %d of 20000 random puts: hash_index_put(\"%s\") into %zu keys in %zu "
                        "slots; *replaced and *old agree with what was put before", step, k,
                        ix.count, ix.cap);
        EX_CHECK(hash_index_put(&ix, k, (size_t)kl, &loc, &old, &replaced) == KV_OK, "put");
        EX_CHECK(replaced == (model[i] != 0) && (!replaced || old.offset == model[i]),
                 EX_RULE(3, "a present key") "step %d: *replaced and *old agree with what was "
                 "put before", step);
        model[i] = (uint64_t)step;
    }
    ex_hash_check(&ix, "after 20000 random puts");
    for (int i = 0; i < KEYS; i++) {
        int kl = snprintf(k, sizeof k, "%d", i);
        hash_slot *s = ex_hash_slot(&ix, k, (size_t)kl);
        EX_CHECK(model[i] ? s != NULL && s->loc.offset == model[i] : s == NULL,
                 EX_RULE(3, "a present key") "after 20000 random puts key %s holds its last "
                 "place", k);
    }
    hash_index_free(&ix);
}

/* A new key into a table 3/4 full, which must grow first, when the
 * memory for the growth cannot be had: the put fails with the growth's
 * error and changes nothing (invariant 1: never past 3/4 full). */
static void index_put_fails_when_the_table_cannot_grow(void)
{
    enum { CAP = 1 << 18 };
    hash_index ix;
    ex_hash_table(&ix, CAP);
    char k[16];
    for (int i = 0; i < CAP / 4 * 3; i++) {
        snprintf(k, sizeof k, "f%d", i);
        ex_hash_place(&ix, k, (uint64_t)i);
    }
    size_t count = ix.count;
    /* 2^19 slots are 16 MiB: more than the process may map from here. */
    if (!ex_memory_cap(0)) {
        hash_index_free(&ix);
        return; /* a sanitizer's build: no cap, no failing allocation */
    }
    harness_context("hash_index_put of a new key into %d slots holding %zu keys, the process's "
                    "memory capped 8 MiB above what it maps: the growth fails, so the put returns "
                    "KV_ERR_NOMEM and changes nothing", (int)CAP, count);
    hash_loc loc = {.offset = 1, .seg = 0, .size = 1}, old = {0};
    int replaced = -1;
    int rc = hash_index_put(&ix, "new-key", 7, &loc, &old, &replaced);
    ex_memory_uncap();
    EX_CHECK(rc == KV_ERR_NOMEM, EX_RULE(5, "out of memory") "a new key into a table 3/4 full "
             "(%zu keys in %d slots) makes "
             "it grow first; when the growth cannot have its memory, hash_index_put returns "
             "its KV_ERR_NOMEM (got %d)", count, (int)CAP, rc);
    EX_CHECK(ix.count == count && ex_hash_slot(&ix, "new-key", 7) == NULL,
             EX_RULES("4 and 5", "room made before the key goes in: out of memory, the "
                      "table unchanged") "a put that fails changes "
             "nothing: the key is not added, the table is never past "
             "3/4 full (count %zu, want %zu)", ix.count, count);
    hash_index_free(&ix);
}

/* A new key whose own copy (or any allocation of the put) cannot be
 * had: each allocation of the put failing in turn, the put returns
 * KV_ERR_NOMEM with a message of its own, and changes nothing. */
static void index_put_fails_when_the_key_cannot_be_copied(void)
{
    hash_index ix;
    ex_hash_table(&ix, 16);
    ex_hash_place(&ix, "there", 5);
    for (long n = 1;; n++) {
        if (!ex_alloc_fail_at(n)) {
            hash_index_free(&ix);
            return; /* a sanitizer's build: no failing allocation */
        }
        ex_context(EX_RULE(5, "out of memory") "hash_index_put of the new key \"copy-me\" into "
                   "1 key in 16 slots (room enough), allocation %ld of the put failing", n);
        hash_loc loc = {.offset = 9, .seg = 0, .size = 9}, old = {0};
        int replaced = -1;
        int rc = EX_KV(hash_index_put(&ix, "copy-me", 7, &loc, &old, &replaced));
        int failed = ex_alloc_failed();
        ex_alloc_fail_at(0);
        if (!failed) {
            EX_CHECK(rc == KV_OK, "with every allocation granted the key is put (got %d)", rc);
            break;
        }
        EX_CHECK(rc == KV_ERR_NOMEM, EX_RULE(5, "out of memory") "a put whose allocation %ld "
                 "fails returns KV_ERR_NOMEM (got %d)", n, rc);
        EX_CHECK(kv_errmsg()[0] != '\0', EX_RULE(5, "out of memory") "a put whose allocation "
                 "%ld fails says so in kv_errmsg(), a message of its own (error.h: the failing "
                 "path sets it), not the empty one or an earlier call's", n);
        EX_CHECK(ix.count == 1 && ex_hash_slot(&ix, "copy-me", 7) == NULL,
                 EX_RULE(5, "out of memory: the table unchanged") "a put that fails changes "
                 "nothing: the key is not added (count %zu, want 1)", ix.count);
    }
    hash_index_free(&ix);
}

static void index_put_of_a_present_key_takes_no_room(void)
{
    hash_index ix;
    hash_index_init(&ix);
    char k[16];
    hash_loc loc = {.offset = 1, .seg = 1, .size = 7}, old;
    int replaced;
    for (int i = 0; i < 300; i++) {
        int kl = snprintf(k, sizeof k, "r%d", i);
        ex_context(EX_RULES("3 and 4", "a present key replaced in place, a new key made room for "
                   "and adopted") "hash_index_put(\"%s\"), new key %d, into %zu keys in %zu slots", k, i,
                        ix.count, ix.cap);
        EX_CHECK(hash_index_put(&ix, k, (size_t)kl, &loc, &old, &replaced) == KV_OK,
                 "hash_index_put of new key %s", k);
        /* At every fill, the table at or just below its growth point:
         * replacing a present key's place takes no slot, so it never
         * grows the table, whatever the fill. */
        size_t cap = ix.cap;
        int rl = snprintf(k, sizeof k, "r%d", i / 2);
        hash_loc newer = {.offset = (uint64_t)i + 100, .seg = 2, .size = 7};
        ex_context(EX_RULES("3 and 4", "a present key replaced in place, a new key made room for "
                   "and adopted") "hash_index_put(\"%s\"), a present key, with %zu keys in %zu slots: "
                        "replacing a place takes no room, so the table does not grow", k, ix.count,
                        ix.cap);
        int rc = hash_index_put(&ix, k, (size_t)rl, &newer, &old, &replaced);
        EX_CHECK(rc == KV_OK && replaced == 1, EX_RULE(3, "a present key") "a put of present "
                 "key %s replaces its place "
                 "(got %d, replaced %d)", k, rc, replaced);
        EX_CHECK(ix.cap == cap, EX_RULE(3, "copying nothing") "a put of a present key takes no "
                 "room: the table grows for "
                 "new keys only (invariant 1 counts keys, and a replaced key is not a new "
                 "one): with %zu keys in %zu slots, replacing %s grew it to %zu slots",
                 ix.count, cap, k, ix.cap);
    }
    hash_index_free(&ix);
}

static const harness_test index_put_tests[] = {
    HARNESS_TEST(index_put_new_keys),
    HARNESS_TEST(index_put_grows_only_when_full),
    HARNESS_TEST(index_put_replaces_a_present_key),
    HARNESS_TEST(index_put_of_a_present_key_takes_no_room),
    HARNESS_TEST(index_put_copies_the_key),
    HARNESS_TEST(index_put_adopt_takes_the_copy),
    HARNESS_TEST(index_put_many_against_a_model),
    HARNESS_TEST(index_put_fails_when_the_table_cannot_grow),
    HARNESS_TEST(index_put_fails_when_the_key_cannot_be_copied),
};
const harness_suite index_put_suite = HARNESS_SUITE("index_put", index_put_tests);
