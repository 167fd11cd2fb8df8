/*
 * block_seek_test.c: exercise block_seek, block_iter_seek
 * (stages/05-blocks/blocks/block.c): the first entry whose key is >= a target, by
 * binary search over the restart points, then the entries of one run (and
 * the next run's first entry when none of them is >= the target); targets
 * between keys and at exact (key, sequence) ones.
 */
#include <stdio.h>
#include <string.h>

#include "block.h"
#include "ex_block.h"
#include "exercise.h"
#include "internal_key.h"
#include "kv.h"

enum { N = 100 };
static uint8_t keys[N][EX_KEY_MAX];
static size_t lens[N];
static uint8_t contents[64 * N + 16];

static block seek_block(int interval, size_t *size)
{
    for (int i = 0; i < N; i++)
        lens[i] = ex_ikey(keys[i], i);
    *size = ex_block(contents, keys, lens, N, interval, NULL);
    block b;
    const char *why = block_init(&b, contents, *size);
    EX_CHECK(why == NULL, "test setup: block_init: %s", why);
    return b;
}

/* The lookup key for user key "key%03d" % u: sequence max, so that it
 * sorts before every version of the key. */
static size_t target(uint8_t *out, int u)
{
    char k[16];
    int kl = snprintf(k, sizeof k, "key%03d", u);
    ikey_encode(out, k, (size_t)kl, IKEY_MAX_SEQ, IKEY_TYPE_FOR_SEEK);
    return (size_t)kl + IKEY_TRAILER_SIZE;
}

static void seek_all(int interval)
{
    size_t size;
    block b = seek_block(interval, &size);
    block_iter it;
    memset(&it, 0, sizeof it);
    for (int u = -1; u <= 2 * N; u++) {
        uint8_t t[EX_KEY_MAX];
        size_t tl = target(t, u < 0 ? 0 : u);
        if (u < 0)
            tl = 8 + 1, t[0] = ' '; /* a user key " " before every key */
        block_iter_init(&it, &b, 8);
        ex_context(EX_RULES("1 and 3", "the first entry >= target, from a binary search of the "
                            "restart points") "block_iter_seek to user key %d in a block of %d "
                   "keys (0, 2, ..., %d), "
                        "a restart point every %d", u, N, 2 * (N - 1), interval);
        block_iter_seek(&it, t, tl);
        int want = u < 0 ? 0 : (u + 1) / 2; /* the first key >= u */
        if (want >= N) {
            EX_CHECK(!it.valid && it.status == KV_OK,
                     EX_RULE(2, "not valid if none") "a seek past the last key leaves the "
                     "iterator not valid, status KV_OK "
                     "(interval %d, target %d)", interval, u);
            continue;
        }
        EX_CHECK(it.valid || want % interval != 0 || want == 0,
                 EX_RULE(3, "the next run's first entry") "a seek to user key %d (interval %d) "
                 "finds key%03d, the first entry of restart point %d's run: the walk from the "
                 "run before it, none of whose entries is >= the target, goes on to the next "
                 "run's first entry, which is (status %d)", u, interval, want * 2,
                 want / interval, it.status);
        EX_CHECK(it.valid, EX_RULE(1, "the first entry >= target") "a seek to user key %d "
                 "(interval %d) finds an entry: the first "
                 "whose key is >= the target (status %d)", u, interval, it.status);
        EX_CHECK(it.key_len == lens[want] && memcmp(it.key, keys[want], lens[want]) == 0,
                 EX_RULE(1, "the first entry >= target") "a seek to user key %d (interval %d) "
                 "lands on key%03d, the first key >= it: "
                 "search the restart points for the last one whose key is below the target, "
                 "then walk forward from it", u, interval, want * 2);
        char v[16];
        snprintf(v, sizeof v, "v%d", want);
        EX_CHECK(it.value_len == strlen(v) && memcmp(it.value, v, it.value_len) == 0,
                 EX_RULE(1, "the first entry >= target") "the iterator shows that entry's value");
    }
    block_iter_free(&it);
}

static void block_seek_every_key_interval_16(void) { seek_all(16); }
static void block_seek_every_key_interval_1(void) { seek_all(1); }
static void block_seek_every_key_interval_3(void) { seek_all(3); }
static void block_seek_every_key_one_restart(void) { seek_all(N); }


/* Seeks at exact targets: three versions of each of 30 user keys
 * ("key000", "key002", ...; sequences 3, 2, 1, newest first, as internal
 * keys sort), a restart point every `interval` entries.  Each entry is
 * sought at its own key (user key, sequence, type): the first entry >= it
 * is that entry; and at (user key, its sequence, IKEY_TYPE_FOR_SEEK),
 * which sorts just before it: the same entry. */
static void seek_exact(int interval)
{
    enum { U = 30, V = 3, E = U * V };
    static uint8_t xk[E][EX_KEY_MAX];
    static size_t xl[E];
    static uint8_t xc[64 * E + 16];
    for (int i = 0; i < E; i++) {
        char u[16];
        int ul = snprintf(u, sizeof u, "key%03d", (i / V) * 2);
        ikey_encode(xk[i], u, (size_t)ul, (uint64_t)(V - i % V), IKEY_PUT);
        xl[i] = (size_t)ul + IKEY_TRAILER_SIZE;
    }
    size_t size = ex_block(xc, xk, xl, E, interval, NULL);
    block b;
    const char *why = block_init(&b, xc, size);
    EX_CHECK(why == NULL, "test setup: block_init: %s", why);
    block_iter it;
    memset(&it, 0, sizeof it);
    for (int i = 0; i < E; i++) {
        for (int form = 0; form < 2; form++) {
            uint8_t t[EX_KEY_MAX];
            size_t tl = xl[i];
            memcpy(t, xk[i], tl);
            if (form == 1) {
                char u[16];
                int ul = snprintf(u, sizeof u, "key%03d", (i / V) * 2);
                ikey_encode(t, u, (size_t)ul, (uint64_t)(V - i % V), IKEY_TYPE_FOR_SEEK);
            }
            block_iter_init(&it, &b, 8);
            ex_context(EX_RULE(1, "the first entry >= target: one equal to it") "block_iter_seek "
                       "to (key%03d, sequence %d%s), entry %d of a block of %d versions of %d "
                       "user keys, a restart point every %d", (i / V) * 2, V - i % V,
                       form ? ", IKEY_TYPE_FOR_SEEK" : ", its own type: the entry's own key",
                       i, E, U, interval);
            block_iter_seek(&it, t, tl);
            int on = it.valid && it.key_len == xl[i] && memcmp(it.key, xk[i], xl[i]) == 0;
            int next = i + 1 < E && it.valid && it.key_len == xl[i + 1] &&
                       memcmp(it.key, xk[i + 1], xl[i + 1]) == 0;
            EX_CHECK(on, EX_RULE(1, "the first entry >= target: one equal to it") "a seek to "
                     "(key%03d, sequence %d%s) lands on entry %d, %s: the first entry whose "
                     "key is >= the target, and an entry equal to it is (ikey_compare 0 is not "
                     "below it); interval %d (got %s, status %d)", (i / V) * 2, V - i % V,
                     form ? ", the seek's type" : "", i,
                     form ? "the version at that sequence, just after the target"
                          : "the entry whose key the target is",
                     interval, !it.valid ? "not valid" : next ? "the entry after it" : "another entry",
                     it.status);
        }
    }
    block_iter_free(&it);
}

/* Keys of exactly min_key bytes at restart points: versions 3, 2, 1 of the
 * empty user key, then of "a", a restart point at each.  Such a key is
 * whole (damage is a key shorter than min_key), and a seek to each lands
 * on it. */
static void block_seek_keys_of_min_key_bytes(void)
{
    enum { E = 6 };
    static uint8_t mk[E][EX_KEY_MAX];
    static size_t ml[E];
    static uint8_t mc[64 * E + 16];
    for (int i = 0; i < E; i++) {
        ikey_encode(mk[i], "a", (size_t)(i / 3), (uint64_t)(3 - i % 3), IKEY_PUT);
        ml[i] = (size_t)(i / 3) + IKEY_TRAILER_SIZE;
    }
    size_t size = ex_block(mc, mk, ml, E, 1, NULL);
    block b;
    const char *why = block_init(&b, mc, size);
    EX_CHECK(why == NULL, "test setup: block_init: %s", why);
    block_iter it;
    memset(&it, 0, sizeof it);
    for (int i = 0; i < E; i++) {
        block_iter_init(&it, &b, 8);
        harness_context("block_iter_seek to entry %d's own key (%zu bytes) in a block of the "
                        "empty user key's and \"a\"'s versions, a restart point at each", i, ml[i]);
        block_iter_seek(&it, mk[i], ml[i]);
        EX_CHECK(it.status == KV_OK,
                 EX_RULE(4, "a key not whole is damage, one of min_key bytes is not") "a restart "
                 "point's key of %zu bytes, min_key (the empty user key and its trailer), is "
                 "whole: damage is a key shorter than min_key (got status %d)", ml[i], it.status);
        EX_CHECK(it.valid && it.key_len == ml[i] && memcmp(it.key, mk[i], ml[i]) == 0,
                 EX_RULE(1, "the first entry >= target: one equal to it") "a seek to entry %d's "
                 "own key lands on it", i);
    }
    block_iter_free(&it);
}

static void block_seek_exact_keys_interval_1(void) { seek_exact(1); }
static void block_seek_exact_keys_interval_2(void) { seek_exact(2); }
static void block_seek_exact_keys_interval_16(void) { seek_exact(16); }

static void block_seek_then_next(void)
{
    size_t size;
    block b = seek_block(16, &size);
    block_iter it;
    memset(&it, 0, sizeof it);
    block_iter_init(&it, &b, 8);
    uint8_t t[EX_KEY_MAX];
    block_iter_seek(&it, t, target(t, 61));
    for (int i = 31; i < N; i++) {
        EX_CHECK(it.valid && it.key_len == lens[i] && memcmp(it.key, keys[i], lens[i]) == 0,
                 EX_RULE(1, "positioned") "after a seek, next walks on in order: entry %d", i);
        block_iter_next(&it);
    }
    EX_CHECK(!it.valid && it.status == KV_OK, "then the end");
    block_iter_free(&it);
}

static void block_seek_uses_the_restart_points(void)
{
    size_t size;
    block b = seek_block(16, &size);
    /* Damage the second entry of the block (in the first restart
     * interval): its shared count becomes larger than the key before it.
     * A seek to a key in a later interval never needs that entry. */
    uint32_t offs[N];
    ex_block(contents, keys, lens, N, 16, offs);
    contents[offs[1]] = 60;
    block_init(&b, contents, size);
    block_iter it;
    memset(&it, 0, sizeof it);
    uint8_t t[EX_KEY_MAX];
    for (int u = 40; u < 2 * N; u += 7) {
        block_iter_init(&it, &b, 8);
        block_iter_seek(&it, t, target(t, u));
        int want = (u + 1) / 2;
        EX_CHECK(it.status == KV_OK && it.valid && memcmp(it.key, keys[want], lens[want]) == 0,
                 EX_RULE(3, "the binary search over restart points") "a seek to a key in a "
                 "later restart interval does not decode the entries before "
                 "it: it binary-searches the restart points (whose keys are whole) and decodes "
                 "at most one interval; a seek that walks from the first entry meets the "
                 "damaged entry 1 (target %d, status %d)", u, it.status);
    }
    block_iter_init(&it, &b, 8);
    block_iter_seek(&it, t, target(t, 4));
    EX_CHECK(it.status == KV_ERR_CORRUPT && !it.valid,
             EX_RULE(4, "KV_ERR_CORRUPT") "a seek that must walk over the damaged entry reports "
             "it: status KV_ERR_CORRUPT, "
             "not valid (got %d)", it.status);
    /* Failed, it stays failed: a seek whose path avoids the damage does
     * nothing. */
    harness_context("block_iter_seek to user key 150, after a seek that stopped with "
                    "KV_ERR_CORRUPT at the damaged entry 1");
    block_iter_seek(&it, t, target(t, 150));
    EX_CHECK(it.status == KV_ERR_CORRUPT && !it.valid,
             EX_RULE(5, "a failed iterator stays failed") "a seek of an iterator that failed "
             "does nothing, even to a key it could reach without the damage: it stays not "
             "valid, status KV_ERR_CORRUPT (got valid %d, status %d)", it.valid, it.status);
    block_iter_free(&it);
}

static void block_seek_damaged_restart_key(void)
{
    size_t size;
    block b = seek_block(16, &size);
    uint32_t offs[N];
    ex_block(contents, keys, lens, N, 16, offs);
    contents[offs[48]] = 2; /* a restart point's entry that claims a shared prefix */
    block_init(&b, contents, size);
    block_iter it;
    memset(&it, 0, sizeof it);
    block_iter_init(&it, &b, 8);
    uint8_t t[EX_KEY_MAX];
    harness_context("block_iter_seek in a block whose restart point 3 has shared = 2");
    block_iter_seek(&it, t, target(t, 97));
    EX_CHECK(it.status == KV_ERR_CORRUPT && !it.valid,
             EX_RULE(4, "a restart key not whole: KV_ERR_CORRUPT") "a restart point's key must "
             "be whole (shared = 0): a seek whose search meets one "
             "that is not stops with KV_ERR_CORRUPT, never compares a partial key (got %d)",
             it.status);
    EX_CHECK(it.why != NULL && it.why[0] != '\0' && it.why_at == offs[48],
             EX_RULE(4, "the damage named, at the entry's offset") "it->why says what is wrong, "
             "and it->why_at where: a restart point's key that is not whole (its shared count "
             "is not 0), at offset %u, the restart point's entry (got \"%s\" at %zu)", offs[48],
             it.why ? it.why : "(null)", it.why_at);
    harness_context("block_iter_seek again, after the seek that stopped with KV_ERR_CORRUPT");
    block_iter_seek(&it, t, target(t, 3));
    EX_CHECK(it.status == KV_ERR_CORRUPT && !it.valid,
             EX_RULE(5, "a failed iterator stays failed") "a seek of an iterator that failed "
             "does nothing: it stays not valid, status KV_ERR_CORRUPT (got valid %d, status %d)",
             it.valid, it.status);
    /* A target in the first interval: the binary search meets restart
     * point 3 (of 7) on its way, and must stop there rather than compare a
     * partial key. */
    block_iter_free(&it);
    memset(&it, 0, sizeof it);
    block_iter_init(&it, &b, 8);
    harness_context("block_iter_seek to user key 5 in a block whose restart point 3 has shared = 2 "
                    "(the binary search probes it first)");
    block_iter_seek(&it, t, target(t, 5));
    EX_CHECK(it.status == KV_ERR_CORRUPT && !it.valid,
             EX_RULE(4, "a restart key not whole: KV_ERR_CORRUPT") "a seek whose binary search "
             "meets a restart point whose key is not whole stops there with KV_ERR_CORRUPT, "
             "whatever target it was after: a partial key compared says nothing (got valid %d, "
             "status %d)", it.valid, it.status);
    /* The other damage a restart point can have, for its reason: an entry
     * that runs past the end of the entries. */
    char not_whole[256];
    snprintf(not_whole, sizeof not_whole, "%s", it.why ? it.why : "");
    contents[offs[48]] = 0;
    contents[offs[96] + 2] = 127;
    block_init(&b, contents, size);
    block_iter_free(&it);
    memset(&it, 0, sizeof it);
    block_iter_init(&it, &b, 8);
    harness_context("block_iter_seek in a block whose last restart point's entry runs past the "
                    "end of the entries, after one whose restart point 3 had shared = 2");
    block_iter_seek(&it, t, target(t, 199));
    EX_CHECK(it.status == KV_ERR_CORRUPT && it.why != NULL && strcmp(it.why, not_whole) != 0,
             EX_RULE(4, "a reason that says which of the two it is") "a restart point's entry "
             "that does not decode and one whose key is not whole are told apart by their "
             "reasons (both got \"%s\")", it.why ? it.why : "(null)");
    block_iter_free(&it);
}

static void block_seek_restart_entry_past_the_end(void)
{
    size_t size;
    block b = seek_block(16, &size);
    uint32_t offs[N];
    ex_block(contents, keys, lens, N, 16, offs);
    /* The last restart point's entry (key 96 of 100) claims a value of
     * 127 bytes: it runs past the end of the entries. */
    contents[offs[96] + 2] = 127;
    block_init(&b, contents, size);
    block_iter it;
    memset(&it, 0, sizeof it);
    block_iter_init(&it, &b, 8);
    uint8_t t[EX_KEY_MAX];
    harness_context("block_iter_seek to user key 199 in a block whose last restart point's "
                    "entry runs past the end of the entries");
    block_iter_seek(&it, t, target(t, 199));
    EX_CHECK(it.status == KV_ERR_CORRUPT && !it.valid,
             EX_RULE(4, "an entry that does not decode: KV_ERR_CORRUPT") "a restart point's "
             "entry that does not decode (it runs past the end of the "
             "entries) stops a seek whose search meets it with KV_ERR_CORRUPT (got %d)",
             it.status);
    EX_CHECK(it.why != NULL && it.why[0] != '\0' && it.why_at == offs[96],
             EX_RULE(4, "the damage named, at the entry's offset") "it->why says what is wrong, "
             "and it->why_at where: an entry that runs past the end of the entries (its key may "
             "be whole), at offset %u, the restart point's entry (got \"%s\" at %zu)", offs[96],
             it.why ? it.why : "(null)", it.why_at);
    block_iter_free(&it);
}

static void block_seek_again_over_keys_of_every_length(void)
{
    /* User keys "b", "bb", ..., 40 b's (ascending), a restart point at
     * each; one iterator seeks to the longest key, then back to each of
     * the shorter ones. */
    enum { M = 40 };
    static uint8_t vk[M][EX_KEY_MAX];
    static size_t vl[M];
    static uint8_t vc[64 * M + 16];
    char u[M + 1];
    for (int i = 0; i < M; i++) {
        memset(u, 'b', (size_t)i + 1);
        ikey_encode(vk[i], u, (size_t)i + 1, 1, IKEY_PUT);
        vl[i] = (size_t)i + 1 + IKEY_TRAILER_SIZE;
    }
    size_t size = ex_block(vc, vk, vl, M, 1, NULL);
    block b;
    const char *why = block_init(&b, vc, size);
    EX_CHECK(why == NULL, "test setup: block_init: %s", why);
    block_iter it;
    memset(&it, 0, sizeof it);
    block_iter_init(&it, &b, 8);
    for (int k = M - 1; k >= 0; k--) {
        harness_context("block_iter_seek to the user key of %d b's, the iterator last on the "
                        "key of %d", k + 1, k == M - 1 ? 0 : k + 2);
        block_iter_seek(&it, vk[k], vl[k]);
        EX_CHECK(it.valid && it.status == KV_OK && it.key_len == vl[k] &&
                     memcmp(it.key, vk[k], vl[k]) == 0,
                 EX_RULE(1, "the first entry >= target: one equal to it") "a seek to the key "
                 "of %d b's, an entry's own key, lands on that entry, whatever key the iterator "
                 "showed before (status %d): an entry equal to the target is the first >= it, "
                 "each entry's key is compared at its own length (it->key_len), and a restart "
                 "point's key is damage only if shorter than min_key", k + 1, it.status);
    }
    block_iter_free(&it);
}

/* Gets through a database whose tables are read by block_iter_seek, after
 * opens that ran out of memory: the open whose failed allocation was the
 * block cache's doorkeeper leaves its message ("block cache: cannot
 * allocate its doorkeeper") as this thread's kv_errmsg, and a get that
 * then misses (KV_NOT_FOUND) sets none: its failure must say so, not quote
 * that message, which names another cause (exercise.h, EX_KV).  The
 * tables have no bloom filter (KV_NO_BLOOM), so that a get leans on the
 * block's exercises alone: a filter that answers "absent" for a key it
 * holds fails bloom_build's tests, not this one. */
static void block_seek_gets_after_an_open_out_of_memory(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = NULL;
    kv_options opt;
    kv_options_init(&opt);
    opt.bloom_bits_per_key = KV_NO_BLOOM;
    int named = 0;
    for (long n = 1; n < 1000 && !named; n++) {
        if (!ex_alloc_fail_at(n))
            return; /* a sanitizer's build: no failing allocation */
        db = NULL;
        int rc = kv_open(dir, &opt, &db);
        int failed = ex_alloc_failed();
        ex_alloc_fail_at(0);
        if (rc == KV_OK)
            kv_close(db);
        EX_CHECK(rc == KV_OK || rc == KV_ERR_NOMEM, "test setup: kv_open with allocation %ld "
                 "failing returns KV_OK or KV_ERR_NOMEM (got %d)", n, rc);
        named = rc == KV_ERR_NOMEM && strstr(kv_errmsg(), "doorkeeper") != NULL;
        EX_CHECK(failed || named, "test setup: an open whose block cache's doorkeeper cannot "
                 "be allocated (none of its %ld allocations was)", n);
    }
    /* kv_errmsg names the doorkeeper now; opening, writing and flushing
     * succeed without a word. */
    EX_CHECK(kv_open(dir, &opt, &db) == KV_OK, "test setup: kv_open");
    char k[16], v[16];
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof k, "key%03d", i);
        snprintf(v, sizeof v, "v%d", i);
        EX_CHECK(kv_put(db, k, strlen(k), v, strlen(v)) == KV_OK, "test setup: kv_put(%s)", k);
    }
    EX_CHECK(kv_flush(db) == KV_OK, "test setup: kv_flush");
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof k, "key%03d", i);
        snprintf(v, sizeof v, "v%d", i);
        ex_expect(db, k, v, EX_RULE(1, "the first entry at or after the target")
                  "a get through a table's blocks finds every key it holds");
    }
    kv_close(db);
}

static const harness_test block_seek_tests[] = {
    HARNESS_TEST(block_seek_every_key_interval_16),
    HARNESS_TEST(block_seek_every_key_interval_1),
    HARNESS_TEST(block_seek_every_key_interval_3),
    HARNESS_TEST(block_seek_every_key_one_restart),
    HARNESS_TEST(block_seek_exact_keys_interval_1),
    HARNESS_TEST(block_seek_exact_keys_interval_2),
    HARNESS_TEST(block_seek_exact_keys_interval_16),
    HARNESS_TEST(block_seek_keys_of_min_key_bytes),
    HARNESS_TEST(block_seek_then_next),
    HARNESS_TEST(block_seek_again_over_keys_of_every_length),
    HARNESS_TEST(block_seek_uses_the_restart_points),
    HARNESS_TEST(block_seek_damaged_restart_key),
    HARNESS_TEST(block_seek_restart_entry_past_the_end),
    HARNESS_TEST(block_seek_gets_after_an_open_out_of_memory),
};
const harness_suite block_seek_suite = HARNESS_SUITE("block_seek", block_seek_tests);
