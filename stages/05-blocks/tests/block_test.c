/*
 * block_test.c: one block's contents (block_builder.h, block.h): built
 * and read back both ways, seeks to and between every key, restart
 * points where they belong, shared prefixes at their edges (a key that is
 * a prefix of the next, equal prefixes, keys longer than the iterator's
 * inline buffer), and damaged contents refused without a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "block.h"
#include "block_builder.h"
#include "coding.h"
#include "internal_key.h"
#include "kv.h"

/* Internal key of user key `u` at seq into out; returns its length. */
static size_t bt_ikey(uint8_t *out, const char *u, size_t ulen, uint64_t seq)
{
    ikey_encode(out, u, ulen, seq, IKEY_PUT);
    return ulen + IKEY_TRAILER_SIZE;
}

typedef struct bt_entry {
    uint8_t key[80];
    size_t klen;
    char value[16];
} bt_entry;

/* n entries "k0000".."k<n-1>" (one version each), values "v<i>". */
static bt_entry *bt_entries(int n)
{
    bt_entry *e = calloc((size_t)n, sizeof *e);
    CHECK(e != NULL);
    for (int i = 0; i < n; i++) {
        char u[16];
        int ul = snprintf(u, sizeof u, "k%04d", 2 * i);
        e[i].klen = bt_ikey(e[i].key, u, (size_t)ul, 1);
        snprintf(e[i].value, sizeof e[i].value, "v%d", i);
    }
    return e;
}

static block bt_build(block_builder *bb, const bt_entry *e, int n, const uint8_t **contents,
                      size_t *len)
{
    for (int i = 0; i < n; i++)
        CHECK_KV(block_builder_add(bb, e[i].key, e[i].klen, (const uint8_t *)e[i].value,
                                   strlen(e[i].value)), KV_OK);
    CHECK(block_builder_size(bb) == bb->len + 4 * bb->nrestarts + 4);
    CHECK_KV(block_builder_finish(bb, contents, len), KV_OK);
    block b;
    const char *why = block_init(&b, *contents, *len);
    CHECK_MSG(why == NULL, "block_init: %s", why);
    return b;
}

static void bt_expect(const block_iter *it, const bt_entry *e)
{
    CHECK(it->valid);
    CHECK_MEM(it->key, it->key_len, e->key, e->klen);
    CHECK_MEM(it->value, it->value_len, e->value, strlen(e->value));
}

static void round_trip_with_restarts_both_ways(void)
{
    for (unsigned interval = 1; interval <= 16; interval *= 4) {
        for (int n = 1; n <= 100; n += 33) {
            harness_context("interval %u, %d entries", interval, n);
            bt_entry *e = bt_entries(n);
            block_builder bb;
            block_builder_init(&bb, interval);
            const uint8_t *c;
            size_t len;
            block b = bt_build(&bb, e, n, &c, &len);
            CHECK_EQ(b.nrestarts, (n + (int)interval - 1) / (int)interval);
            for (uint32_t r = 0; r < b.nrestarts; r++) {
                uint32_t shared, unshared, vlen;
                const uint8_t *k = block_entry_decode(c + block_restart(&b, r),
                                                      c + b.entries_end, &shared, &unshared, &vlen);
                CHECK(k != NULL);
                CHECK_EQ(shared, 0); /* a restart point's key is whole */
                CHECK_MEM(k, unshared, e[r * interval].key, e[r * interval].klen);
            }
            block_iter it = {0};
            block_iter_init(&it, &b, 9);
            int i = 0;
            for (block_iter_seek_first(&it); it.valid; block_iter_next(&it), i++)
                bt_expect(&it, &e[i]);
            CHECK_EQ(i, n);
            for (block_iter_seek_last(&it); it.valid; block_iter_prev(&it))
                bt_expect(&it, &e[--i]);
            CHECK_EQ(i, 0);
            CHECK_KV(it.status, KV_OK);
            /* A seek to every key, and to the absent key just after it. */
            for (int k = 0; k < n; k++) {
                block_iter_seek(&it, e[k].key, e[k].klen);
                bt_expect(&it, &e[k]);
                uint8_t gap[32];
                char u[16];
                int ul = snprintf(u, sizeof u, "k%04d", 2 * k + 1);
                block_iter_seek(&it, gap, bt_ikey(gap, u, (size_t)ul, 1));
                if (k + 1 < n)
                    bt_expect(&it, &e[k + 1]);
                else
                    CHECK(!it.valid);
                if (k > 0) { /* and back from there */
                    block_iter_seek(&it, e[k].key, e[k].klen);
                    block_iter_prev(&it);
                    bt_expect(&it, &e[k - 1]);
                }
            }
            uint8_t before[16];
            block_iter_seek(&it, before, bt_ikey(before, "a", 1, 1));
            bt_expect(&it, &e[0]);
            CHECK_KV(it.status, KV_OK);
            block_iter_free(&it);
            block_builder_free(&bb);
            free(e);
        }
    }
}

/* Keys that share everything, or are prefixes of the next, or longer than
 * the iterator's inline buffer: each comes back exactly. */
static void shared_prefixes_at_their_edges(void)
{
    static const size_t lens[] = {1, 2, 3, 200, 201, 1000, 65535};
    size_t n = sizeof lens / sizeof lens[0];
    uint8_t **keys = calloc(2 * n, sizeof *keys);
    size_t *klens = calloc(2 * n, sizeof *klens);
    char *base = malloc(KV_MAX_KEY);
    CHECK(keys != NULL && klens != NULL && base != NULL);
    memset(base, 'p', KV_MAX_KEY);
    /* "p" < "p"@older < "pp" < ... : each key a prefix of the next, and
     * every user key twice (two versions: equal user keys, trailers differ). */
    for (size_t i = 0; i < n; i++) {
        for (int v = 0; v < 2; v++) {
            size_t j = 2 * i + (size_t)v;
            keys[j] = malloc(lens[i] + 8);
            CHECK(keys[j] != NULL);
            klens[j] = bt_ikey(keys[j], base, lens[i], (uint64_t)(2 - v));
        }
    }
    block_builder bb;
    block_builder_init(&bb, 3);
    for (size_t j = 0; j < 2 * n; j++)
        CHECK_KV(block_builder_add(&bb, keys[j], klens[j], (const uint8_t *)"x", j % 2), KV_OK);
    const uint8_t *c;
    size_t len;
    CHECK_KV(block_builder_finish(&bb, &c, &len), KV_OK);
    /* Prefix compression paid: every key but the restart points' is
     * stored as its difference from the one before. */
    size_t whole = 0;
    for (size_t j = 0; j < 2 * n; j++)
        whole += klens[j];
    CHECK(len < whole / 2);
    block b;
    CHECK(block_init(&b, c, len) == NULL);
    block_iter it = {0};
    block_iter_init(&it, &b, 9);
    size_t j = 0;
    for (block_iter_seek_first(&it); it.valid; block_iter_next(&it), j++) {
        CHECK_MEM(it.key, it.key_len, keys[j], klens[j]);
        CHECK_EQ(it.value_len, j % 2);
    }
    CHECK_EQ(j, 2 * n);
    for (block_iter_seek_last(&it); it.valid; block_iter_prev(&it)) {
        j--;
        CHECK_MEM(it.key, it.key_len, keys[j], klens[j]);
    }
    CHECK_EQ(j, 0);
    for (j = 0; j < 2 * n; j++) {
        block_iter_seek(&it, keys[j], klens[j]);
        CHECK_MEM(it.key, it.key_len, keys[j], klens[j]);
    }
    CHECK_KV(it.status, KV_OK);
    block_iter_free(&it);
    block_builder_free(&bb);
    for (j = 0; j < 2 * n; j++)
        free(keys[j]);
    free(keys);
    free(klens);
    free(base);
}

/* Rewrites a built block with one change and expects the reader to stop
 * with a reason, never to crash or read outside the contents. */
static void bt_expect_damage(const uint8_t *c, size_t len, const char *what)
{
    uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
    CHECK(copy != NULL);
    memcpy(copy, c, len);
    block b;
    const char *why = block_init(&b, copy, len);
    if (why == NULL) {
        block_iter it = {0};
        block_iter_init(&it, &b, 9);
        int steps = 0;
        for (block_iter_seek_first(&it); it.valid && steps < 1000; block_iter_next(&it))
            steps++;
        if (it.status == KV_OK)
            for (block_iter_seek_last(&it); it.valid && steps < 2000; block_iter_prev(&it))
                steps++;
        CHECK_MSG(it.status == KV_ERR_CORRUPT, "%s: not caught", what);
        why = it.why;
        block_iter_free(&it);
    }
    CHECK(why != NULL && why[0] != '\0');
    free(copy);
}

static void damaged_contents_are_refused(void)
{
    bt_entry *e = bt_entries(40);
    block_builder bb;
    block_builder_init(&bb, 4);
    const uint8_t *c;
    size_t len;
    block b = bt_build(&bb, e, 40, &c, &len);
    uint8_t *d = malloc(len);
    CHECK(d != NULL);
    bt_expect_damage(c, 3, "shorter than a count");
    bt_expect_damage(c, len - 4, "cut before the count");
    memcpy(d, c, len);
    coding_put_u32(d + len - 4, 0);
    bt_expect_damage(d, len, "no restart point");
    coding_put_u32(d + len - 4, (uint32_t)len);
    bt_expect_damage(d, len, "a count larger than the block");
    memcpy(d, c, len);
    coding_put_u32(d + b.entries_end, 5);
    bt_expect_damage(d, len, "the first restart not at 0");
    memcpy(d, c, len);
    coding_put_u32(d + b.entries_end + 8, block_restart(&b, 1));
    bt_expect_damage(d, len, "restarts not increasing");
    memcpy(d, c, len);
    coding_put_u32(d + b.entries_end + 4, block_restart(&b, 1) + 1);
    bt_expect_damage(d, len, "a restart inside an entry");
    memcpy(d, c, len);
    d[block_restart(&b, 1)] = 3;
    bt_expect_damage(d, len, "a restart point sharing bytes");
    memcpy(d, c, len);
    d[block_restart(&b, 1) + 1] = 100;
    bt_expect_damage(d, len, "an entry past the entries");
    memcpy(d, c, len);
    d[block_restart(&b, 1) + 1] = 2;
    bt_expect_damage(d, len, "a key shorter than an internal key");
    /* The second entry shares more bytes than the first key has. */
    memcpy(d, c, len);
    uint32_t shared, unshared, vlen;
    const uint8_t *k = block_entry_decode(d, d + b.entries_end, &shared, &unshared, &vlen);
    d[k + unshared + vlen - d] = 120;
    bt_expect_damage(d, len, "shares more than the previous key");
    /* Every cut and every flip: refused or read within the bytes. */
    for (size_t at = 0; at < len; at++) {
        harness_context("flip at %zu", at);
        memcpy(d, c, len);
        d[at] ^= 0xff;
        block bb2;
        if (block_init(&bb2, d, len) == NULL) {
            block_iter it = {0};
            block_iter_init(&it, &bb2, 9);
            for (block_iter_seek_first(&it); it.valid; block_iter_next(&it))
                ;
            for (int i = 0; i < 40; i++)
                block_iter_seek(&it, e[i].key, e[i].klen);
            block_iter_free(&it);
        }
        harness_context("cut at %zu", at);
        uint8_t *cut = malloc(at ? at : 1);
        CHECK(cut != NULL);
        memcpy(cut, c, at);
        if (block_init(&bb2, cut, at) == NULL) {
            block_iter it = {0};
            block_iter_init(&it, &bb2, 9);
            for (block_iter_seek_last(&it); it.valid; block_iter_prev(&it))
                ;
            block_iter_free(&it);
        }
        free(cut);
    }
    free(d);
    block_builder_free(&bb);
    free(e);
}

static void reset_builder_reuses_its_buffers(void)
{
    bt_entry *e = bt_entries(50);
    block_builder bb;
    block_builder_init(&bb, 16);
    const uint8_t *c;
    size_t len;
    bt_build(&bb, e, 50, &c, &len);
    uint8_t *buf = bb.buf;
    size_t first = len;
    block_builder_reset(&bb);
    CHECK(block_builder_empty(&bb));
    block b = bt_build(&bb, e, 50, &c, &len);
    CHECK(bb.buf == buf);
    CHECK_EQ(len, first);
    CHECK_EQ(b.nrestarts, 4);
    block_builder_free(&bb);
    free(e);
}

static const harness_test block_tests[] = {
    HARNESS_TEST(round_trip_with_restarts_both_ways),
    HARNESS_TEST(shared_prefixes_at_their_edges),
    HARNESS_TEST(damaged_contents_are_refused),
    HARNESS_TEST(reset_builder_reuses_its_buffers),
};

const harness_suite block_suite = HARNESS_SUITE("block", block_tests);
