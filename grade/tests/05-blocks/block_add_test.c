/*
 * block_add_test.c: exercise block_add, block_builder_add
 * (stages/05-blocks/blocks/block_builder.c): entries whose keys share prefixes,
 * and a restart point every `interval` entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_builder.h"
#include "coding.h"
#include "ex_block.h"
#include "exercise.h"
#include "kv.h"

/* Adds keys[0..n) with values "v<i>" and compares the builder's entries
 * and restart offsets with the tests' own block. */
static void add_and_compare(uint8_t keys[][EX_KEY_MAX], const size_t *lens, int n,
                            unsigned interval, const char *what)
{
    static uint8_t want[64 * 1024];
    uint32_t offsets[1024];
    size_t wn = ex_block(want, keys, lens, n, (int)interval, offsets);
    int nr = (n + (int)interval - 1) / (int)interval;
    size_t entries_len = wn - 4 - 4 * (size_t)nr;
    block_builder b;
    block_builder_init(&b, interval);
    for (int i = 0; i < n; i++) {
        char v[16];
        int vl = snprintf(v, sizeof v, "v%d", i);
        ex_context(EX_RULES("1, 2 and 3", "a restart point or the shared prefix, then the entry "
                            "written") "block_builder_add of entry %d (%zu-byte key), %s: shared 0 at a "
                        "restart point (BB1), else the bytes shared with the previous key (BB2)",
                        i, lens[i], what);
        size_t start = b.len;
        int rc = block_builder_add(&b, keys[i], lens[i], (const uint8_t *)v, (size_t)vl);
        EX_CHECK(rc == KV_OK, "%s: " EX_RULE(3, "an entry written") "block_builder_add returns "
                 "KV_OK (entry %d: %d)", what, i, rc);
        EX_CHECK(b.entries == (uint64_t)i + 1, "%s: " EX_RULE(3, "an entry written") "b->entries "
                 "counts the entries", what);
        size_t end = i + 1 < n ? offsets[i + 1] : entries_len;
        /* Its shared count, the entry's first varint, says which rule an
         * entry that differs breaks. */
        uint32_t got_shared = 0, want_shared = 0;
        if (b.len > start)
            coding_get_varint32(b.buf + start, b.buf + b.len, &got_shared);
        coding_get_varint32(want + offsets[i], want + end, &want_shared);
        EX_CHECK(i % (int)interval != 0 || got_shared == 0,
                 "%s: " EX_RULE(1, "a restart point shares nothing") "entry %d starts a restart "
                 "point (the first entry, then one every %u entries): its key is whole, "
                 "shared = 0 (got %u)", what, i, interval, got_shared);
        EX_CHECK(i % (int)interval == 0 || got_shared != 0 || want_shared == 0 ||
                     b.nrestarts == (size_t)(i / (int)interval) + 1,
                 "%s: " EX_RULE(1, "a restart point every `interval` entries") "entry %d is no "
                 "restart point (one every %u entries, counted from the last): it shares %u "
                 "bytes with the previous key (got shared = 0)", what, i, interval, want_shared);
        EX_CHECK(got_shared == want_shared,
                 "%s: " EX_RULES("2 and 4", "the bytes shared with the previous key, kept whole") ""
                 "entry %d shares the %u leading bytes its key has in common with the previous "
                 "key, which the builder keeps whole (got shared = %u)", what, i, want_shared,
                 got_shared);
        /* The entry's bytes as far as both have them, before its length:
         * an entry that shares what it should not is shorter, and its
         * first byte (shared) says why. */
        size_t upto = b.len < end ? b.len : end;
        EX_CHECK(upto <= offsets[i] ||
                     memcmp(b.buf + offsets[i], want + offsets[i], upto - offsets[i]) == 0,
                 "%s: " EX_RULE(3, "the entry's layout") "entry %d is shared, unshared, value_len "
                 "(varints), the key's unshared "
                 "bytes, the value; shared = 0 at a restart point, else every byte the key "
                 "has in common with the previous one (BB2)", what, i);
        EX_CHECK(b.len == end, "%s: " EX_RULE(3, "the entry's layout") "after entry %d, b->len is "
                 "the bytes the entries take so "
                 "far, where the next one starts: %zu (got %zu)", what, i, end, b.len);
        EX_CHECK(b.nrestarts <= b.restarts_cap, "%s: " EX_RULE(1, "the restart point noted") ""
                 "after entry %d, restarts[] has room for "
                 "its %zu restart points: restarts_cap (%zu) is what was allocated, and grows "
                 "before a restart point is added past it", what, i, b.nrestarts,
                 b.restarts_cap);
    }
    EX_CHECK(b.nrestarts == (size_t)nr,
             "%s: " EX_RULE(1, "a restart point every `interval` entries") "a restart point every "
             "%u entries, the first entry one (BB1): %d restart points "
             "for %d entries (got %zu)", what, interval, nr, n, b.nrestarts);
    for (int r = 0; r < nr; r++)
        EX_CHECK(b.restarts[r] == offsets[r * (int)interval],
                 "%s: " EX_RULE(1, "the restart point's offset noted") "restart point %d is the "
                 "offset of entry %d, %u (got %u)", what, r,
                 r * (int)interval, offsets[r * (int)interval], b.restarts[r]);
    EX_CHECK(b.len == entries_len, "%s: " EX_RULE(3, "the entry's layout") "the entries take %zu "
             "bytes (got %zu)", what, entries_len,
             b.len);
    for (int i = 0; i < n; i++) {
        size_t end = i + 1 < n ? offsets[i + 1] : entries_len;
        EX_CHECK(memcmp(b.buf + offsets[i], want + offsets[i], end - offsets[i]) == 0,
                 "%s: entry %d is shared, unshared, value_len (varints), the key's unshared "
                 "bytes, the value; shared = 0 at a restart point, else every byte the key "
                 "has in common with the previous one (BB2)", what, i);
    }
    block_builder_free(&b);
}

static void block_add_shares_prefixes(void)
{
    uint8_t keys[40][EX_KEY_MAX];
    size_t lens[40];
    for (int i = 0; i < 40; i++)
        lens[i] = ex_ikey(keys[i], i);
    add_and_compare(keys, lens, 40, 16, "40 internal keys, interval 16");
}

static void block_add_restart_intervals(void)
{
    uint8_t keys[33][EX_KEY_MAX];
    size_t lens[33];
    for (int i = 0; i < 33; i++)
        lens[i] = ex_ikey(keys[i], i);
    add_and_compare(keys, lens, 33, 1, "interval 1: every entry a restart point");
    add_and_compare(keys, lens, 33, 2, "interval 2");
    add_and_compare(keys, lens, 33, 33, "interval 33: one restart point");
    add_and_compare(keys, lens, 1, 16, "a single entry");
    size_t none[33] = {0};
    add_and_compare(keys, none, 33, 1, "33 empty keys, interval 1: the restart points outgrow "
                    "restarts[] twice, though the previous key is empty");
}

/* Restart points counted apart from entries: at interval 3 the 17th
 * restart point comes with entry 48, and restarts[] must have grown for
 * it whatever the count of entries then. */
static void block_add_restart_points_outgrow_their_room(void)
{
    static uint8_t keys[100][EX_KEY_MAX];
    size_t lens[100];
    for (int i = 0; i < 100; i++)
        lens[i] = ex_ikey(keys[i], i);
    add_and_compare(keys, lens, 100, 3, "100 entries, interval 3: 34 restart points, so "
                    "restarts[] grows when the restart points fill it (nrestarts == "
                    "restarts_cap), not when the entries reach its size");
}

/* Every allocation of an add made to fail in turn (a 64 KiB value and a
 * longer key: the buffer and the previous key grow): KV_ERR_NOMEM, and the
 * builder as it was, so that the same add then succeeds and the block is
 * the one of the entries added. */
static void block_add_out_of_memory_leaves_the_builder(void)
{
    uint8_t keys[4][EX_KEY_MAX];
    size_t lens[4];
    for (int i = 0; i < 4; i++)
        lens[i] = ex_ikey(keys[i], i);
    static uint8_t big[65536];
    memset(big, 'v', sizeof big);
    for (long n = 1;; n++) {
        block_builder b;
        block_builder_init(&b, 1);
        for (int i = 0; i < 3; i++)
            EX_CHECK(block_builder_add(&b, keys[i], lens[i], big, 10) == KV_OK,
                     "test setup: entry %d", i);
        size_t len = b.len, nr = b.nrestarts;
        uint64_t entries = b.entries;
        if (!ex_alloc_fail_at(n)) {
            block_builder_free(&b);
            return; /* a sanitizer's build: no failing allocation */
        }
        harness_context("block_builder_add of a restart point's entry with a 64 KiB value, "
                        "allocation %ld of the add failing", n);
        int rc = block_builder_add(&b, keys[3], lens[3], big, sizeof big);
        int failed = ex_alloc_failed();
        ex_alloc_fail_at(0);
        if (!failed) {
            EX_CHECK(rc == KV_OK, "with every allocation granted the entry is added (got %d)",
                     rc);
            block_builder_free(&b);
            return;
        }
        EX_CHECK(rc == KV_ERR_NOMEM,
                 EX_RULE(5, "out of memory") "an add whose allocation %ld fails is "
                 "KV_ERR_NOMEM (got %d)", n, rc);
        EX_CHECK(b.len == len && b.entries == entries && b.nrestarts == nr,
                 EX_RULE(5, "out of memory: the builder as it was") "an add that failed for "
                 "want of memory (allocation %ld) leaves the builder as it was: %zu bytes, "
                 "%llu entries, %zu restart points (got %zu, %llu, %zu): grow everything first, "
                 "then write", n, len, (unsigned long long)entries, nr, b.len,
                 (unsigned long long)b.entries, b.nrestarts);
        EX_CHECK(block_builder_add(&b, keys[3], lens[3], big, sizeof big) == KV_OK,
                 EX_RULE(5, "out of memory: the builder as it was") "after an add that failed "
                 "for want of memory, the same add succeeds");
        EX_CHECK(b.nrestarts == 4 && b.entries == 4,
                 EX_RULE(5, "out of memory: the builder as it was") "then the builder holds 4 "
                 "entries, 4 restart points at interval 1 (got %llu, %zu)",
                 (unsigned long long)b.entries, b.nrestarts);
        block_builder_free(&b);
    }
}

static void block_add_keys_of_any_length(void)
{
    /* A key that is a prefix of the next, a shorter next key, empty
     * values' neighbours, long keys. */
    static const char *k[] = {"a", "ab", "abc", "abd", "b", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                              "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbc", "c"};
    uint8_t keys[8][EX_KEY_MAX];
    size_t lens[8];
    for (int i = 0; i < 8; i++) {
        lens[i] = strlen(k[i]);
        memcpy(keys[i], k[i], lens[i]);
    }
    add_and_compare(keys, lens, 8, 3, "keys of different lengths, interval 3");
    /* After abcd, abd leaves "abdd" in the builder's copy of the last key,
     * of which only 3 bytes are abd's: abdd shares 3 with abd, not 4. */
    static const char *m[] = {"abcd", "abd", "abdd"};
    for (int i = 0; i < 3; i++) {
        lens[i] = strlen(m[i]);
        memcpy(keys[i], m[i], lens[i]);
    }
    add_and_compare(keys, lens, 3, 16, "abcd, abd, abdd: a key shares bytes with the previous "
                    "key only within that key's length (abd), not with bytes left of a longer "
                    "key before it");
}

static void block_add_reset_reuses_the_builder(void)
{
    uint8_t keys[10][EX_KEY_MAX];
    size_t lens[10];
    for (int i = 0; i < 10; i++)
        lens[i] = ex_ikey(keys[i], i);
    block_builder b;
    harness_context("block_builder_add of 10 internal keys at interval 4, block_builder_reset, "
                    "then one more: after a reset the next entry starts a new block, a restart "
                    "point at offset 0, shared = 0");
    block_builder_init(&b, 4);
    for (int i = 0; i < 10; i++)
        block_builder_add(&b, keys[i], lens[i], (const uint8_t *)"x", 1);
    block_builder_reset(&b);
    EX_CHECK(block_builder_add(&b, keys[5], lens[5], (const uint8_t *)"y", 1) == KV_OK, "add");
    EX_CHECK(b.nrestarts == 1 && b.restarts[0] == 0,
             "after block_builder_reset, the next entry starts a new block: a restart point at "
             "offset 0 (BB1)");
    EX_CHECK(b.buf[0] == 0, "the first entry of a block shares nothing (shared = 0)");
    block_builder_free(&b);
}

static const harness_test block_add_tests[] = {
    HARNESS_TEST(block_add_shares_prefixes),
    HARNESS_TEST(block_add_restart_intervals),
    HARNESS_TEST(block_add_restart_points_outgrow_their_room),
    HARNESS_TEST(block_add_keys_of_any_length),
    HARNESS_TEST(block_add_out_of_memory_leaves_the_builder),
    HARNESS_TEST(block_add_reset_reuses_the_builder),
};
const harness_suite block_add_suite = HARNESS_SUITE("block_add", block_add_tests);
