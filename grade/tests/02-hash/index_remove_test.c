/*
 * index_remove_test.c: exercise index_remove, hash_index_remove
 * (stages/02-hash/index/hash_index.c): a key removed without tombstones, the
 * entries after it shifted back so that each stays reachable.
 */
#include <stdio.h>
#include <string.h>

#include "ex_hash.h"
#include "exercise.h"
#include "kv.h"

static void index_remove_a_lone_key(void)
{
    EX_BOUND(3, EX_RULE(3, "close the hole: the run after it, wrapping") "every remove returns: the walk after the hole moves j = (j + 1) & (cap - 1) "
                "and stops at the first empty slot, which a table at most 3/4 full always has");
    hash_index ix;
    ex_hash_table(&ix, 16);
    ex_hash_place(&ix, "alone", 7);
    hash_loc old = {0};
    ex_context(EX_RULE(3, "close the hole: the run after it, wrapping") "hash_index_remove(\"alone\"), the one key in 16 slots, then again when absent "
                    "(old NULL): 1 with *old its place, its slot empty again (no tombstone); then "
                    "0, not touching old");
    int rc = hash_index_remove(&ix, "alone", 5, &old);
    EX_CHECK(rc == 1, EX_RULE(4, "return 1") "removing a present key returns 1 (got %d)", rc);
    EX_CHECK(old.offset == 7, EX_RULE(2, "*old") "*old gets the removed key's place");
    EX_CHECK(ix.count == 0 && ix.key_bytes == 0, EX_RULE(2, "count and key_bytes") "count and "
             "key_bytes drop back to 0");
    for (size_t i = 0; i < ix.cap; i++)
        EX_CHECK(ix.slots[i].key == NULL, EX_RULE(4, "the final hole emptied") "its slot is "
                 "empty again (no tombstone)");
    EX_CHECK(hash_index_remove(&ix, "alone", 5, NULL) == 0,
             "removing an absent key returns 0 (and *old may be NULL)");
    hash_index_free(&ix);
}

static void index_remove_shifts_the_run_back(void)
{
    EX_BOUND(3, EX_RULE(3, "close the hole: the run after it, wrapping") "every remove returns: the walk after the hole moves j = (j + 1) & (cap - 1) "
                "and stops at the first empty slot, which a table at most 3/4 full always has");
    hash_index ix;
    ex_hash_table(&ix, 32);
    char keys[6][32];
    ex_hash_colliding(keys, 6, "s", 32, 4);
    for (int i = 0; i < 6; i++)
        ex_hash_place(&ix, keys[i], (uint64_t)i); /* slots 4..9 */
    harness_context("hash_index_remove of the 2nd of 6 keys in slots 4..9, all with home 4, of 32: "
                    "the keys after the hole move back into it (backward-shift), each staying "
                    "reachable");
    EX_CHECK(hash_index_remove(&ix, keys[1], strlen(keys[1]), NULL) == 1, "remove the 2nd");
    ex_hash_check(&ix, "after removing the second of 6 keys sharing home slot 4");
    for (int i = 0; i < 6; i++) {
        hash_slot *s = ex_hash_slot(&ix, keys[i], strlen(keys[i]));
        EX_CHECK(i == 1 ? s == NULL : (s != NULL && s->loc.offset == (uint64_t)i),
                 EX_RULE(3, "close the hole") "after removing one key of a run, every other key "
                 "of the run is still "
                 "found: a hole in the middle of a run cuts off the keys after it, so they "
                 "move back into it (backward-shift deletion)");
    }
    EX_CHECK(ix.slots[9].key == NULL, EX_RULE(4, "the final hole emptied") "the run is one slot "
             "shorter: slot 9 is empty again");
    hash_index_free(&ix);
}

static void index_remove_leaves_keys_at_home_in_place(void)
{
    EX_BOUND(3, EX_RULE(3, "close the hole: the run after it, wrapping") "every remove returns: the walk after the hole moves j = (j + 1) & (cap - 1) "
                "and stops at the first empty slot, which a table at most 3/4 full always has");
    hash_index ix;
    ex_hash_table(&ix, 32);
    char a[3][32], b[2][32];
    ex_hash_colliding(a, 3, "a", 32, 10); /* slots 10, 11, 12 */
    ex_hash_colliding(b, 2, "b", 32, 12); /* homes 12: slots 13, 14 */
    for (int i = 0; i < 3; i++)
        ex_hash_place(&ix, a[i], (uint64_t)i);
    for (int i = 0; i < 2; i++)
        ex_hash_place(&ix, b[i], (uint64_t)(10 + i));
    /* Remove a[0] (slot 10): a[1] and a[2] move back; b[0], whose home is
     * 12, may move to 12 but never before its home. */
    harness_context("hash_index_remove of the key in slot 10 of a run 10..14 (homes 10 and 12) of "
                    "32: keys shift back, but a key never moves before its home slot");
    EX_CHECK(hash_index_remove(&ix, a[0], strlen(a[0]), NULL) == 1, "remove");
    ex_hash_check(&ix, "after removing the head of a run that holds keys of two homes");
    for (int i = 0; i < 2; i++) {
        hash_slot *s = ex_hash_slot(&ix, b[i], strlen(b[i]));
        EX_CHECK(s != NULL, EX_RULE(3, "entries whose home is in (hole, slot] stay") "a key is "
                 "never moved before its home slot: it would be lost");
        EX_CHECK((size_t)(s - ix.slots) >= 12, EX_RULE(3, "entries whose home is in (hole, "
                 "slot] stay") "a key with home 12 stays at or after slot 12");
    }
    hash_index_free(&ix);
}

static void index_remove_across_the_end(void)
{
    EX_BOUND(3, EX_RULE(3, "close the hole: the run after it, wrapping") "every remove returns: the walk after the hole moves j = (j + 1) & (cap - 1) "
                "and stops at the first empty slot, which a table at most 3/4 full always has");
    hash_index ix;
    ex_hash_table(&ix, 16);
    char keys[5][32];
    ex_hash_colliding(keys, 5, "e", 16, 14); /* slots 14, 15, 0, 1, 2 */
    char other[1][32];
    ex_hash_colliding(other, 1, "o", 16, 1); /* home 1: slot 3 */
    for (int i = 0; i < 5; i++)
        ex_hash_place(&ix, keys[i], (uint64_t)i);
    ex_hash_place(&ix, other[0], 99);
    harness_context("hash_index_remove of the key in slot 14 of a run 14, 15, 0, 1, 2, 3 of 16 "
                    "(home 14, and home 1 in slot 3): the shift wraps, j = (j + 1) & (cap - 1)");
    EX_CHECK(hash_index_remove(&ix, keys[0], strlen(keys[0]), NULL) == 1, "remove");
    ex_hash_check(&ix, "after removing the head of a run that wraps past the last slot");
    harness_context("hash_index_remove of a key in the wrapped part of the run (slots 0..3 of 16): "
                    "a key whose home lies after the hole stays reachable");
    EX_CHECK(hash_index_remove(&ix, keys[2], strlen(keys[2]), NULL) == 1, "remove");
    ex_hash_check(&ix, "after removing a key from the wrapped part of the run");
    EX_CHECK(ex_hash_slot(&ix, other[0], strlen(other[0])) != NULL,
             EX_RULE(3, "(hole, j] taken cyclically") "a key whose home lies after the hole, in "
             "a run that wrapped, stays reachable");
    hash_index_free(&ix);
}

static void index_remove_against_a_model(void)
{
    EX_BOUND(3, EX_RULE(3, "close the hole: the run after it, wrapping") "every remove returns: the walk after the hole moves j = (j + 1) & (cap - 1) "
                "and stops at the first empty slot, which a table at most 3/4 full always has");
    hash_index ix;
    hash_index_init(&ix);
    enum { KEYS = 500 };
    static int present[KEYS];
    memset(present, 0, sizeof present);
    uint64_t r = 2463534242ull;
    char k[16];
    for (int step = 0; step < 30000; step++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        int i = (int)(r % KEYS), del = (int)((r >> 20) % 3) == 0;
        int kl = snprintf(k, sizeof k, "x%d", i);
        if (del) {
            harness_context("step %d of 30000: hash_index_remove(\"%s\") from %zu keys in %zu "
                            "slots: 1 exactly when the key is there, every other key still "
                            "reachable", step, k, ix.count, ix.cap);
            int rc = hash_index_remove(&ix, k, (size_t)kl, NULL);
            EX_CHECK(rc == 1 || !present[i],
                     EX_RULE(3, "close the hole") "step %d: \"%s\", put and not removed since, "
                     "is not found by its removal: an earlier removal left a hole that cuts it "
                     "off from its home slot", step, k);
            EX_CHECK(rc == present[i], EX_RULE(1, "absent: 0") "step %d: remove returns 1 "
                     "exactly when the key is there",
                     step);
            present[i] = 0;
        } else {
            hash_loc loc = {.offset = (uint64_t)step}, old;
            int replaced;
            harness_context("step %d of 30000: hash_index_put(\"%s\") into %zu keys in %zu slots",
                            step, k, ix.count, ix.cap);
            EX_CHECK(hash_index_put(&ix, k, (size_t)kl, &loc, &old, &replaced) == KV_OK, "put");
            present[i] = 1;
        }
        if (step % 1000 == 0)
            ex_hash_check(&ix, EX_RULE(3, "close the hole") "during 30000 random puts and "
                          "removes");
    }
    ex_hash_check(&ix, EX_RULE(3, "close the hole") "after 30000 random puts and removes");
    for (int i = 0; i < KEYS; i++) {
        int kl = snprintf(k, sizeof k, "x%d", i);
        EX_CHECK((ex_hash_slot(&ix, k, (size_t)kl) != NULL) == present[i],
                 EX_RULE(3, "close the hole") "after random puts and removes, key %s is there "
                 "exactly when it should be", k);
    }
    hash_index_free(&ix);
}

static const harness_test index_remove_tests[] = {
    HARNESS_TEST(index_remove_a_lone_key),
    HARNESS_TEST(index_remove_shifts_the_run_back),
    HARNESS_TEST(index_remove_leaves_keys_at_home_in_place),
    HARNESS_TEST(index_remove_across_the_end),
    HARNESS_TEST(index_remove_against_a_model),
};
const harness_suite index_remove_suite = HARNESS_SUITE("index_remove", index_remove_tests);
