/*
 * block_hash_test.c: a data block's hash index (block_hash.h): built
 * when asked for and only then, of the size block_builder_size says; a
 * get through it lands on the entry the binary search lands on whenever
 * the block holds the key's user key, versions that cross a restart
 * point included (their bucket a collision); a block of more restart
 * points than a bucket can name gets none; and damage to the index is
 * refused by block_init or named by the get (KV_ERR_CORRUPT) and by kv
 * check's reading of every key's bucket, never a read outside the block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "block.h"
#include "block_builder.h"
#include "block_hash.h"
#include "coding.h"
#include "internal_key.h"
#include "kv.h"

typedef struct bh_entry {
    uint8_t key[32];
    size_t klen;
    char value[32];
} bh_entry;

/* n user keys "u00000", "u00002", ... with `versions` versions each
 * (seq versions down to 1), in internal-key order.  *count: entries. */
static bh_entry *bh_entries(int n, int versions, int *count)
{
    bh_entry *e = calloc((size_t)n * (size_t)versions, sizeof *e);
    CHECK(e != NULL);
    int c = 0;
    for (int i = 0; i < n; i++) {
        char u[16];
        int ul = snprintf(u, sizeof u, "u%05d", 2 * i);
        for (int v = versions; v >= 1; v--, c++) {
            ikey_encode(e[c].key, u, (size_t)ul, (uint64_t)v, IKEY_PUT);
            e[c].klen = (size_t)ul + IKEY_TRAILER_SIZE;
            snprintf(e[c].value, sizeof e[c].value, "v%d.%d", i, v);
        }
    }
    *count = c;
    return e;
}

/* Builds the block of e[0..n) (with a hash index if hashed) into bb, and
 * checks its size was foretold exactly. */
static block bh_build(block_builder *bb, int hashed, const bh_entry *e, int n,
                      const uint8_t **c, size_t *len)
{
    if (hashed)
        CHECK_KV(block_builder_hash_index(bb), KV_OK);
    for (int i = 0; i < n; i++)
        CHECK_KV(block_builder_add(bb, e[i].key, e[i].klen, (const uint8_t *)e[i].value,
                                   strlen(e[i].value)), KV_OK);
    size_t foretold = block_builder_size(bb);
    CHECK_KV(block_builder_finish(bb, c, len), KV_OK);
    CHECK_EQ(*len, foretold);
    block b;
    const char *why = block_init(&b, *c, *len);
    CHECK_MSG(why == NULL, "block_init: %s", why);
    return b;
}

/* The get of target through the index agrees with the binary search: on
 * the same entry if that entry has target's user key; else on none, or on
 * an entry of another user key. */
static void bh_agree(block_iter *h, block_iter *s, const uint8_t *target, size_t tlen)
{
    block_iter_seek(s, target, tlen);
    block_hash_seek(h, target, tlen);
    CHECK_KV(s->status, KV_OK);
    CHECK_KV(h->status, KV_OK);
    size_t ulen = tlen - IKEY_TRAILER_SIZE;
    int found = s->valid && ikey_user_compare(s->key, s->key_len - IKEY_TRAILER_SIZE, target,
                                              ulen) == 0;
    if (found) {
        CHECK(h->valid);
        CHECK_EQ(h->at, s->at);
        CHECK_MEM(h->key, h->key_len, s->key, s->key_len);
        CHECK_MEM(h->value, h->value_len, s->value, s->value_len);
    } else if (h->valid) {
        CHECK(ikey_user_compare(h->key, h->key_len - IKEY_TRAILER_SIZE, target, ulen) != 0);
    }
}

static void gets_by_the_index_land_where_the_search_does(void)
{
    static const unsigned intervals[] = {1, 2, 4, 16};
    static const int users[] = {1, 7, 40, 120};
    for (size_t ii = 0; ii < sizeof intervals / sizeof intervals[0]; ii++) {
        for (size_t ui = 0; ui < sizeof users / sizeof users[0]; ui++) {
            for (int versions = 1; versions <= 3; versions++) {
                harness_context("interval %u, %d user keys, %d versions", intervals[ii],
                                users[ui], versions);
                int n;
                bh_entry *e = bh_entries(users[ui], versions, &n);
                block_builder bb;
                block_builder_init(&bb, intervals[ii]);
                const uint8_t *c;
                size_t len;
                block b = bh_build(&bb, 1, e, n, &c, &len);
                uint32_t want_r = (uint32_t)((n + (int)intervals[ii] - 1) / (int)intervals[ii]);
                CHECK_EQ(b.nrestarts, want_r);
                if (want_r <= BLOCK_HASH_MAX_RESTARTS) {
                    CHECK(b.buckets != NULL);
                    CHECK_EQ(b.nbuckets, block_hash_buckets_for((uint64_t)n));
                } else {
                    CHECK(b.buckets == NULL);
                }
                block_iter h = {0}, s = {0};
                block_iter_init(&h, &b, 9);
                block_iter_init(&s, &b, 9);
                /* Every entry's own key (its bucket agrees: kv check's
                 * reading), every user key at every snapshot from 0 to one
                 * past its newest, and the absent user keys between. */
                block_iter_seek_first(&s);
                for (int i = 0; i < n; i++, block_iter_next(&s)) {
                    CHECK(s.valid);
                    const char *why = block_hash_check_entry(&b, s.key, s.key_len, s.restart);
                    CHECK_MSG(why == NULL, "entry %d: %s", i, why);
                }
                for (int i = 0; i < n; i++)
                    bh_agree(&h, &s, e[i].key, e[i].klen);
                for (int u = 0; u <= 2 * users[ui]; u++) {
                    char uk[16];
                    int ul = snprintf(uk, sizeof uk, "u%05d", u);
                    for (int seq = 0; seq <= versions + 1; seq++) {
                        uint8_t t[32];
                        ikey_encode(t, uk, (size_t)ul, (uint64_t)seq, IKEY_PUT);
                        bh_agree(&h, &s, t, (size_t)ul + IKEY_TRAILER_SIZE);
                    }
                }
                block_iter_free(&h);
                block_iter_free(&s);
                block_builder_free(&bb);
                free(e);
            }
        }
    }
}

/* A builder not asked for an index writes the block as it always did. */
static void no_index_unless_asked(void)
{
    int n;
    bh_entry *e = bh_entries(50, 1, &n);
    block_builder bb;
    block_builder_init(&bb, 4);
    const uint8_t *c;
    size_t len;
    block b = bh_build(&bb, 0, e, n, &c, &len);
    CHECK(b.buckets == NULL);
    CHECK_EQ(b.nbuckets, 0u);
    CHECK_EQ(coding_get_u32(c + len - 4), b.nrestarts); /* no flag */
    CHECK_EQ(len, b.entries_end + 4 * (size_t)b.nrestarts + 4);
    /* The get without an index is the binary search. */
    block_iter it = {0};
    block_iter_init(&it, &b, 9);
    block_hash_seek(&it, e[17].key, e[17].klen);
    CHECK(it.valid);
    CHECK_MEM(it.key, it.key_len, e[17].key, e[17].klen);
    block_iter_free(&it);
    block_builder_free(&bb);
    free(e);
}

/* Copies the block; the caller changes the copy. */
static uint8_t *bh_copy(const uint8_t *c, size_t len)
{
    uint8_t *d = malloc(len);
    CHECK(d != NULL);
    memcpy(d, c, len);
    return d;
}

static void a_damaged_index_is_refused_or_named(void)
{
    int n;
    bh_entry *e = bh_entries(40, 1, &n);
    block_builder bb;
    block_builder_init(&bb, 4);
    const uint8_t *c;
    size_t len;
    block b = bh_build(&bb, 1, e, n, &c, &len);
    CHECK(b.buckets != NULL);
    size_t nb_at = len - 6, buckets_at = (size_t)(b.buckets - c);
    block d;
    /* block_init: no buckets, or more than the block holds. */
    uint8_t *x = bh_copy(c, len);
    coding_put_u16(x + nb_at, 0);
    CHECK(strstr(block_init(&d, x, len), "no buckets") != NULL);
    coding_put_u16(x + nb_at, (uint16_t)(len - 5));
    CHECK(strstr(block_init(&d, x, len), "do not fit") != NULL);
    coding_put_u16(x + nb_at, (uint16_t)(len - 6)); /* the buckets fit; the restarts do not */
    CHECK(strstr(block_init(&d, x, len), "restart count does not fit") != NULL);
    CHECK(strstr(block_init(&d, x + len - 5, 5), "bucket count") != NULL);
    free(x);
    /* A bucket naming a restart point past the last: the get says so. */
    uint32_t h = block_hash_of(e[5].key, e[5].klen - IKEY_TRAILER_SIZE);
    size_t at = buckets_at + block_hash_bucket(h, b.nbuckets);
    x = bh_copy(c, len);
    x[at] = (uint8_t)b.nrestarts;
    CHECK(block_init(&d, x, len) == NULL);
    block_iter it = {0};
    block_iter_init(&it, &d, 9);
    block_hash_seek(&it, e[5].key, e[5].klen);
    CHECK(!it.valid);
    CHECK_KV(it.status, KV_ERR_CORRUPT);
    CHECK(strstr(it.why, "past the last") != NULL);
    CHECK_EQ(it.why_at, at);
    CHECK(block_hash_check_entry(&d, e[5].key, e[5].klen, 5 / 4) != NULL);
    /* Naming another run, or none: kv check's reading says so. */
    x[at] = (uint8_t)(5 / 4 + 1);
    CHECK(strstr(block_hash_check_entry(&d, e[5].key, e[5].klen, 5 / 4), "another run") != NULL);
    x[at] = BLOCK_HASH_EMPTY;
    CHECK(strstr(block_hash_check_entry(&d, e[5].key, e[5].klen, 5 / 4), "empty") != NULL);
    x[at] = BLOCK_HASH_COLLISION; /* the search decides: found */
    CHECK(block_hash_check_entry(&d, e[5].key, e[5].klen, 5 / 4) == NULL);
    block_iter_init(&it, &d, 9);
    block_hash_seek(&it, e[5].key, e[5].klen);
    CHECK(it.valid);
    CHECK_MEM(it.key, it.key_len, e[5].key, e[5].klen);
    block_iter_free(&it);
    free(x);
    /* Any byte of the tail changed: init refuses, or a get of every key
     * answers without reading outside the block (ASan). */
    for (size_t i = buckets_at - 4 * (size_t)b.nrestarts; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            x = bh_copy(c, len);
            x[i] ^= (uint8_t)(1u << bit);
            if (block_init(&d, x, len) == NULL) {
                block_iter_init(&it, &d, 9);
                for (int k = 0; k < n; k++) {
                    block_hash_seek(&it, e[k].key, e[k].klen);
                    CHECK(it.status == KV_OK || it.status == KV_ERR_CORRUPT);
                    block_iter_init(&it, &d, 9);
                }
                block_iter_free(&it);
            }
            free(x);
        }
    }
    block_builder_free(&bb);
    free(e);
}

static const harness_test tests[] = {
    HARNESS_TEST(gets_by_the_index_land_where_the_search_does),
    HARNESS_TEST(no_index_unless_asked),
    HARNESS_TEST(a_damaged_index_is_refused_or_named),
};
const harness_suite block_hash_suite = HARNESS_SUITE("block_hash", tests);
