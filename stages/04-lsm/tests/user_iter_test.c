/*
 * user_iter_test.c: the user's view (user_iter.h) at a sequence number:
 * one entry per visible key, its newest visible version, no deleted keys,
 * forward, backward and turning around, checked against a model computed
 * from every version.
 */
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "internal_key.h"
#include "kv.h"
#include "memtable.h"
#include "table_test_util.h"
#include "user_iter.h"
#include "vec_iter.h"

/* The model: what a reader at seq sees, from every version in m. */
static void visible_at(memtable *m, uint64_t seq, vec *out)
{
    iter *it;
    CHECK_KV(memtable_iter_new(m, &it), KV_OK);
    const uint8_t *done = NULL; /* the user key already decided */
    size_t done_len = 0;
    for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
        ikey_parsed p;
        CHECK(ikey_decode(it->key, it->key + it->key_len, &p));
        if (p.seq > seq)
            continue;
        if (done != NULL && ikey_user_compare(p.user_key, p.user_len, done, done_len) == 0)
            continue; /* an older version */
        done = p.user_key; /* memtable memory: stable */
        done_len = p.user_len;
        if (p.type == IKEY_PUT)
            vec_add(out, p.user_key, p.user_len, it->value, it->value_len);
    }
    iter_free(it);
}

static iter *view_of(memtable *m, uint64_t seq)
{
    iter *in, *u;
    CHECK_KV(memtable_iter_new(m, &in), KV_OK);
    CHECK_KV(user_iter_new(in, seq, &u), KV_OK);
    return u;
}

static void view_matches_the_model_at_every_sequence(void)
{
    memtable *m = tt_random_memtable(21, 80, 5, 30);
    uint64_t last = memtable_entries(m);
    for (uint64_t seq = 0; seq <= last + 1; seq += 1 + seq / 5) {
        harness_context("seq %llu", (unsigned long long)seq);
        vec model = {0};
        visible_at(m, seq, &model);
        iter *want = vec_iter_new(&model, 0, -1), *got = view_of(m, seq);
        tt_expect_same_iteration(want, got);
        /* Seeks to keys that were never written (odd numbers), and before
         * and after everything. */
        for (int k = -1; k < 170; k += 3) {
            char u[16];
            size_t ulen = tt_key(u, k);
            iter_seek(want, (const uint8_t *)u, ulen);
            iter_seek(got, (const uint8_t *)u, ulen);
            CHECK_EQ(iter_valid(got), iter_valid(want));
            if (iter_valid(want)) {
                CHECK_MEM(got->key, got->key_len, want->key, want->key_len);
                CHECK_MEM(got->value, got->value_len, want->value, want->value_len);
                iter_prev(want);
                iter_prev(got);
                CHECK_EQ(iter_valid(got), iter_valid(want));
                if (iter_valid(want))
                    CHECK_MEM(got->key, got->key_len, want->key, want->key_len);
            }
        }
        iter_free(want);
        iter_free(got);
        vec_free(&model);
    }
    memtable_unref(m);
}

static void tombstones_and_newer_versions_are_hidden(void)
{
    memtable *m;
    CHECK_KV(memtable_new(4096, &m), KV_OK);
    CHECK_KV(memtable_add(m, 1, IKEY_PUT, "a", 1, "a1", 2), KV_OK);
    CHECK_KV(memtable_add(m, 2, IKEY_PUT, "b", 1, "b2", 2), KV_OK);
    CHECK_KV(memtable_add(m, 3, IKEY_DELETE, "a", 1, NULL, 0), KV_OK);
    CHECK_KV(memtable_add(m, 4, IKEY_PUT, "c", 1, "c4", 2), KV_OK);
    CHECK_KV(memtable_add(m, 5, IKEY_PUT, "b", 1, "b5", 2), KV_OK);
    CHECK_KV(memtable_add(m, 6, IKEY_DELETE, "c", 1, NULL, 0), KV_OK);
    static const struct { uint64_t seq; const char *want; } cases[] = {
        {0, ""}, {1, "a1"}, {2, "a1 b2"}, {3, "b2"}, {4, "b2 c4"}, {5, "b5 c4"}, {6, "b5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        harness_context("seq %llu", (unsigned long long)cases[i].seq);
        char fwd[64] = "", bwd[64] = "";
        iter *u = view_of(m, cases[i].seq);
        for (iter_seek_first(u); iter_valid(u); iter_next(u)) {
            CHECK_EQ(u->key_len, 1);
            CHECK_EQ(u->key[0], u->value[0]);
            strncat(fwd, fwd[0] ? " " : "", 2);
            strncat(fwd, (const char *)u->value, u->value_len);
        }
        for (iter_seek_last(u); iter_valid(u); iter_prev(u)) {
            char item[8];
            memcpy(item, u->value, 2);
            item[2] = '\0';
            if (bwd[0]) {
                memmove(bwd + 3, bwd, strlen(bwd) + 1);
                memcpy(bwd, item, 2);
                bwd[2] = ' ';
            } else {
                memcpy(bwd, item, 3);
            }
        }
        CHECK_MSG(strcmp(fwd, cases[i].want) == 0, "forward \"%s\"", fwd);
        CHECK_MSG(strcmp(bwd, cases[i].want) == 0, "backward \"%s\"", bwd);
        CHECK_KV(iter_status(u), KV_OK);
        iter_free(u);
    }
    memtable_unref(m);
}

static void an_internal_failure_stops_the_view(void)
{
    vec v = {0};
    for (int i = 0; i < 10; i++) {
        uint8_t k[32];
        char u[16];
        size_t ulen = tt_key(u, i);
        ikey_encode(k, u, ulen, 9, IKEY_DELETE);
        vec_add(&v, k, ulen + 8, "", 0);
        ikey_encode(k, u, ulen, 5, IKEY_PUT);
        vec_add(&v, k, ulen + 8, "x", 1);
    }
    for (long fail = 0; fail < 45; fail++) {
        harness_context("fails after %ld moves", fail);
        iter *u;
        CHECK_KV(user_iter_new(vec_iter_new(&v, 1, fail), 7, &u), KV_OK);
        int n = 0;
        for (iter_seek_last(u); iter_valid(u); iter_prev(u))
            n++;
        iter_seek_first(u);
        while (iter_valid(u)) {
            iter_next(u);
            n++;
        }
        /* Both scans take 42 moves: a seek and 20 steps each. */
        if (fail < 42) {
            CHECK_KV(iter_status(u), KV_ERR_IO);
            CHECK(!iter_valid(u));
        } else {
            CHECK_KV(iter_status(u), KV_OK);
            CHECK_EQ(n, 20);
        }
        iter_free(u);
    }
    vec_free(&v);
}

static const harness_test user_iter_tests[] = {
    HARNESS_TEST(view_matches_the_model_at_every_sequence),
    HARNESS_TEST(tombstones_and_newer_versions_are_hidden),
    HARNESS_TEST(an_internal_failure_stops_the_view),
};
const harness_suite user_iter_suite = HARNESS_SUITE("user_iter", user_iter_tests);
