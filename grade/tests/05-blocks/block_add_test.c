/*
 * block_add_test.c: exercise block_add, block_builder_add
 * (stages/05-blocks/blocks/block_builder.c): entries whose keys share prefixes,
 * and a restart point every `interval` entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_builder.h"
#include "block_hash.h"
#include "coding.h"
#include "ex_block.h"
#include "exercise.h"
#include "internal_key.h"
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


/* ---- the hash index (rule 6), and out of memory where an array must grow
 * (rule 5) ---------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The note the hash index must hold for internal key k (klen bytes) in run
 * `run` (block_hash.h: its user key's block_hash_of, then the run). */
static uint64_t want_note(const uint8_t *k, size_t klen, uint32_t run)
{
    size_t ulen = klen >= IKEY_TRAILER_SIZE ? klen - IKEY_TRAILER_SIZE : 0;
    return (uint64_t)block_hash_of(k, ulen) << 32 | run;
}

/* Adds keys[0..n) with a hash index on, and compares the index's notes
 * with the tests' own: one per entry, its user key's hash and its run. */
static void add_with_index(uint8_t keys[][EX_KEY_MAX], const size_t *lens, int n,
                           unsigned interval, const char *what)
{
    static uint64_t want[1024], got[1024];
    block_builder b;
    block_builder_init(&b, interval);
    EX_CHECK(block_builder_hash_index(&b) == KV_OK && b.hash != NULL,
             "test setup: block_builder_hash_index");
    for (int i = 0; i < n; i++) {
        char v[16];
        int vl = snprintf(v, sizeof v, "v%d", i);
        ex_context(EX_RULE(6, "each entry noted in the hash index") "block_builder_add of "
                   "entry %d with a hash index (block_builder_hash_index), %s", i, what);
        int rc = block_builder_add(&b, keys[i], lens[i], (const uint8_t *)v, (size_t)vl);
        EX_CHECK(rc == KV_OK, "%s: " EX_RULE(3, "an entry written") "block_builder_add with a "
                 "hash index returns KV_OK (entry %d: %d)", what, i, rc);
        want[i] = want_note(keys[i], lens[i], (uint32_t)(i / (int)interval));
        EX_CHECK(b.hash->n == (size_t)i + 1,
                 "%s: " EX_RULE(6, "each entry noted in the hash index") "with a hash index "
                 "(b->hash not NULL), each entry is noted in it (block_hash_builder_note): after "
                 "entry %d it holds %d notes (got %zu)", what, i, i + 1, b.hash->n);
        uint64_t note = b.hash->hashes[i];
        EX_CHECK((note >> 32) == (want[i] >> 32) || cmp_u64(&note, &want[i]) == 0,
                 "%s: " EX_RULE(6, "the entry's key noted") "entry %d is noted with its key, "
                 "the internal key whole (%zu bytes: the note takes the 8-byte trailer off "
                 "itself and hashes the user key)", what, i, lens[i]);
        EX_CHECK((uint32_t)note == (uint32_t)want[i],
                 "%s: " EX_RULE(6, "the entry's run noted") "entry %d lies in run %u, the "
                 "restart point it follows (nrestarts - 1 once its own restart point, if it "
                 "starts one, is counted; a restart point every %u entries): noted in run %u",
                 what, i, (uint32_t)want[i], interval, (uint32_t)note);
    }
    /* The notes as a set (their order makes the same buckets). */
    memcpy(got, b.hash->hashes, (size_t)n * sizeof got[0]);
    qsort(got, (size_t)n, sizeof got[0], cmp_u64);
    qsort(want, (size_t)n, sizeof want[0], cmp_u64);
    EX_CHECK(memcmp(got, want, (size_t)n * sizeof got[0]) == 0,
             "%s: " EX_RULE(6, "each entry noted in the hash index") "the hash index holds one "
             "note per entry, each its key's and its run's", what);
    /* The next block: the builder reset, its index too. */
    block_builder_reset(&b);
    ex_context(EX_RULE(6, "each entry noted in the hash index") "block_builder_add after "
               "block_builder_reset, with a hash index, %s", what);
    EX_CHECK(block_builder_add(&b, keys[n - 1], lens[n - 1], (const uint8_t *)"x", 1) == KV_OK,
             EX_RULE(3, "an entry written") "add after a reset");
    uint64_t first = want_note(keys[n - 1], lens[n - 1], 0);
    EX_CHECK(b.hash->n == 1 && b.hash->hashes[0] == first,
             "%s: " EX_RULE(6, "each entry noted in the hash index") "after block_builder_reset "
             "the first entry of the next block is noted in run 0 (got %zu notes, the first "
             "in run %u)", what, b.hash->n, b.hash->n ? (uint32_t)b.hash->hashes[0] : 0);
    block_builder_free(&b);
}

static void block_add_notes_each_entry_in_the_hash_index(void)
{
    static uint8_t keys[200][EX_KEY_MAX];
    size_t lens[200];
    for (int i = 0; i < 200; i++)
        lens[i] = ex_ikey(keys[i], i);
    add_with_index(keys, lens, 40, 16, "40 internal keys, interval 16");
    add_with_index(keys, lens, 33, 1, "33 internal keys, interval 1: every entry a run of its own");
    add_with_index(keys, lens, 200, 3, "200 internal keys, interval 3: the index's notes outgrow "
                   "their first room");
    /* Versions of one user key (sequences 9 down to 1) crossing restart
     * points: each noted with its user key's hash, in its own run. */
    for (int i = 0; i < 30; i++) {
        char u[16];
        int ul = snprintf(u, sizeof u, "user%02d", i / 9);
        ikey_encode(keys[i], u, (size_t)ul, (uint64_t)(9 - i % 9), IKEY_PUT);
        lens[i] = (size_t)ul + IKEY_TRAILER_SIZE;
    }
    add_with_index(keys, lens, 30, 4, "versions 9 to 1 of user keys user00 to user03, interval "
                   "4: one key's versions in two runs");
}

/* Every allocation of the add after `before` entries made to fail in turn
 * (its value of 64 KiB: the buffer grows too): KV_ERR_NOMEM, and the
 * builder as it was, its restart points and its index's notes too; the
 * same add then succeeds.  `what` says which array is full. */
static void add_out_of_memory(unsigned interval, int hash, int before, const char *what)
{
    static uint8_t keys[80][EX_KEY_MAX];
    size_t lens[80];
    for (int i = 0; i <= before; i++)
        lens[i] = ex_ikey(keys[i], i);
    static uint8_t big[65536];
    memset(big, 'v', sizeof big);
    for (long n = 1;; n++) {
        block_builder b;
        block_builder_init(&b, interval);
        if (hash)
            EX_CHECK(block_builder_hash_index(&b) == KV_OK, "test setup: block_builder_hash_index");
        for (int i = 0; i < before; i++)
            EX_CHECK(block_builder_add(&b, keys[i], lens[i], (const uint8_t *)"v", 1) == KV_OK,
                     "%s: " EX_RULE(3, "an entry written") "entry %d is added (KV_OK)", what, i);
        size_t len = b.len, nr = b.nrestarts, hn = hash ? b.hash->n : 0;
        uint64_t entries = b.entries;
        if (!ex_alloc_fail_at(n)) {
            block_builder_free(&b);
            return; /* a sanitizer's build: no failing allocation */
        }
        ex_context(EX_RULE(5, "out of memory: grow first, then write") "block_builder_add of "
                   "entry %d (a 64 KiB value), %s, allocation %ld of the add failing", before,
                   what, n);
        int rc = EX_KV(block_builder_add(&b, keys[before], lens[before], big, sizeof big));
        int failed = ex_alloc_failed();
        ex_alloc_fail_at(0);
        if (!failed) {
            EX_CHECK(rc == KV_OK, "%s: with every allocation granted the entry is added (got %d)",
                     what, rc);
            block_builder_free(&b);
            return;
        }
        EX_CHECK(rc == KV_ERR_NOMEM, "%s: " EX_RULE(5, "out of memory") "an add whose "
                 "allocation %ld fails is KV_ERR_NOMEM (got %d)", what, n, rc);
        EX_CHECK(kv_errmsg()[0] != '\0', "%s: " EX_RULE(5, "out of memory") "an add whose "
                 "allocation %ld fails says so in kv_errmsg(), a message of its own (error.h: "
                 "the failing path sets it), not the empty one or an earlier call's", what, n);
        EX_CHECK(b.len == len && b.entries == entries && b.nrestarts == nr &&
                     (!hash || b.hash->n == hn),
                 "%s: " EX_RULE(5, "out of memory: the builder as it was") "an add that failed "
                 "for want of memory (allocation %ld) leaves the builder as it was: %zu bytes, "
                 "%llu entries, %zu restart points, %zu notes in its hash index (got %zu, %llu, "
                 "%zu, %zu): grow the restart array, the index's room, the buffer and the "
                 "previous key first, then write", what, n, len, (unsigned long long)entries, nr,
                 hn, b.len, (unsigned long long)b.entries, b.nrestarts, hash ? b.hash->n : 0);
        ex_context(EX_RULE(5, "out of memory: the builder as it was") "block_builder_add of "
                   "entry %d again, %s, after the add whose allocation %ld failed", before, what,
                   n);
        EX_CHECK(block_builder_add(&b, keys[before], lens[before], big, sizeof big) == KV_OK,
                 "%s: " EX_RULE(5, "out of memory: the builder as it was") "after an add that "
                 "failed for want of memory, the same add succeeds", what);
        size_t want_nr = (size_t)(before / (int)interval) + 1;
        EX_CHECK(b.entries == entries + 1 && b.nrestarts == want_nr &&
                     b.nrestarts <= b.restarts_cap,
                 "%s: " EX_RULE(5, "out of memory: the builder as it was") "then the builder "
                 "holds %llu entries, %zu restart points (got %llu, %zu, restarts_cap %zu)",
                 what, (unsigned long long)entries + 1, want_nr, (unsigned long long)b.entries,
                 b.nrestarts, b.restarts_cap);
        EX_CHECK(!hash || b.hash->n == hn + 1,
                 "%s: " EX_RULE(6, "each entry noted in the hash index") "then its hash index "
                 "holds a note per entry, %zu (got %zu)", what, hn + 1, b.hash->n);
        block_builder_free(&b);
    }
}

/* The reference's restart array holds 16, then 32, 64: at interval 1 the
 * 17th and the 65th entries need it grown (another doubling from another
 * start is as right, and meets its own growth here or at another entry). */
static void block_add_out_of_memory_as_the_restart_array_grows(void)
{
    add_out_of_memory(1, 0, 16, "interval 1, 16 entries before it: restarts[] is full, and "
                      "this entry's restart point needs it grown");
    add_out_of_memory(1, 1, 64, "interval 1 with a hash index, 64 entries before it: "
                      "restarts[] and the index's notes are both full");
}

static void block_add_out_of_memory_as_the_hash_index_grows(void)
{
    add_out_of_memory(16, 1, 64, "interval 16 with a hash index, 64 entries before it: the "
                      "index's room for notes is full (block_hash_builder_room grows it)");
}

static const harness_test block_add_tests[] = {
    HARNESS_TEST(block_add_shares_prefixes),
    HARNESS_TEST(block_add_restart_intervals),
    HARNESS_TEST(block_add_restart_points_outgrow_their_room),
    HARNESS_TEST(block_add_keys_of_any_length),
    HARNESS_TEST(block_add_notes_each_entry_in_the_hash_index),
    HARNESS_TEST(block_add_out_of_memory_leaves_the_builder),
    HARNESS_TEST(block_add_out_of_memory_as_the_restart_array_grows),
    HARNESS_TEST(block_add_out_of_memory_as_the_hash_index_grows),
    HARNESS_TEST(block_add_reset_reuses_the_builder),
};
const harness_suite block_add_suite = HARNESS_SUITE("block_add", block_add_tests);
