/*
 * merge_iter_test.c: the merging iterator (merge_iter.h) over memtables
 * and tables gives exactly what one source holding every entry gives,
 * both ways and turning around; equal keys come in child order; a failing
 * child stops it.
 */
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "internal_key.h"
#include "io.h"
#include "kv.h"
#include "memtable.h"
#include "merge_iter.h"
#include "table.h"
#include "table_test_util.h"
#include "vec_iter.h"

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Splits every entry of `all` among k children at random; children of odd
 * number become tables.  Returns the merging iterator over them. */
static iter *split_and_merge(memtable *all, int k, uint64_t seed, table_ctx *ctx,
                             const char *dir)
{
    memtable *part[8];
    for (int c = 0; c < k; c++)
        CHECK_KV(memtable_new(1 << 20, &part[c]), KV_OK);
    iter *it;
    CHECK_KV(memtable_iter_new(all, &it), KV_OK);
    uint64_t s = seed;
    for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
        ikey_parsed p;
        CHECK(ikey_decode(it->key, it->key + it->key_len, &p));
        int c = (int)(rng(&s) % (uint64_t)k);
        CHECK_KV(memtable_add(part[c], p.seq, p.type, p.user_key, p.user_len, it->value,
                              it->value_len), KV_OK);
    }
    iter_free(it);
    iter *children[8];
    int n = 0;
    for (int c = 0; c < k; c++) {
        if (memtable_entries(part[c]) == 0) {
            memtable_unref(part[c]);
            continue;
        }
        if (c % 2 == 1) {
            char name[16] = "part0.tbl";
            name[4] = (char)('0' + c);
            table *t = tt_build_and_open(ctx, part[c], dir, name);
            CHECK_KV(table_iter_new(t, &children[n]), KV_OK);
            table_unref(t);
        } else {
            CHECK_KV(memtable_iter_new(part[c], &children[n]), KV_OK);
        }
        memtable_unref(part[c]); /* iterators keep what they read */
        n++;
    }
    iter *merged;
    CHECK_KV(merge_iter_new(children, (size_t)n, &merged), KV_OK);
    return merged;
}

static void merge_equals_one_source_holding_everything(void)
{
    const char *dir = harness_tmpdir();
    table_ctx *ctx = tt_ctx();
    for (int k = 1; k <= 6; k++) {
        harness_context("%d children", k);
        memtable *all = tt_random_memtable((uint64_t)k, 150, 4, 40);
        iter *want, *got = split_and_merge(all, k, 1000 + (uint64_t)k, ctx, dir);
        CHECK_KV(memtable_iter_new(all, &want), KV_OK);
        tt_expect_same_iteration(want, got);
        /* Seeks to keys no source holds, at several sequences. */
        for (int key = -1; key < 300; key += 7) {
            for (uint64_t seq = 0; seq < 700; seq += 97) {
                uint8_t t[32];
                char u[16];
                size_t ulen = tt_key(u, key);
                ikey_encode(t, u, ulen, seq, IKEY_TYPE_FOR_SEEK);
                iter_seek(want, t, ulen + 8);
                iter_seek(got, t, ulen + 8);
                CHECK_EQ(iter_valid(got), iter_valid(want));
                if (iter_valid(want))
                    CHECK_MEM(got->key, got->key_len, want->key, want->key_len);
            }
        }
        iter_free(want);
        iter_free(got);
        memtable_unref(all);
        for (int c = 1; c < k; c += 2) {
            char name[16] = "part0.tbl";
            name[4] = (char)('0' + c);
            io_unlink(harness_join(dir, name));
        }
    }
    table_ctx_free(ctx);
}

static void no_children_is_never_valid_and_one_child_is_itself(void)
{
    iter *m;
    CHECK_KV(merge_iter_new(NULL, 0, &m), KV_OK);
    iter_seek_first(m);
    CHECK(!iter_valid(m));
    iter_seek_last(m);
    CHECK(!iter_valid(m));
    iter_seek(m, (const uint8_t *)"abcdefghi", 9);
    CHECK(!iter_valid(m));
    CHECK_KV(iter_status(m), KV_OK);
    iter_free(m);
    vec v = {0};
    iter *child = vec_iter_new(&v, 1, -1);
    CHECK_KV(merge_iter_new(&child, 1, &m), KV_OK);
    CHECK(m == child);
    iter_free(m);
    vec_free(&v);
}

/* Equal internal keys in two children (which the stage never makes, but
 * the order is defined): both come back, the lower child first going
 * forward, last going backward, also across turns. */
static void equal_keys_come_in_child_order(void)
{
    vec a = {0}, b = {0};
    uint8_t k[3][9];
    ikey_encode(k[0], "a", 1, 1, IKEY_PUT);
    ikey_encode(k[1], "b", 1, 1, IKEY_PUT);
    ikey_encode(k[2], "c", 1, 1, IKEY_PUT);
    vec_add(&a, k[0], 9, "a0", 2);
    vec_add(&a, k[1], 9, "b0", 2);
    vec_add(&b, k[1], 9, "b1", 2);
    vec_add(&b, k[2], 9, "c1", 2);
    iter *ch[2] = {vec_iter_new(&a, 1, -1), vec_iter_new(&b, 1, -1)};
    iter *m;
    CHECK_KV(merge_iter_new(ch, 2, &m), KV_OK);
    static const char *const order[] = {"a0", "b0", "b1", "c1"};
    size_t i = 0;
    for (iter_seek_first(m); iter_valid(m); iter_next(m))
        CHECK_MEM(m->value, m->value_len, order[i++], 2);
    CHECK_EQ(i, 4);
    for (iter_seek_last(m); iter_valid(m); iter_prev(m))
        CHECK_MEM(m->value, m->value_len, order[--i], 2);
    CHECK_EQ(i, 0);
    /* Turning around at each position. */
    for (size_t at = 0; at < 4; at++) {
        iter_seek_first(m);
        for (size_t j = 0; j < at; j++)
            iter_next(m);
        CHECK_MSG(iter_valid(m) && m->value_len == 2 && memcmp(m->value, order[at], 2) == 0,
                  "seek_first then %zu nexts: the merge is at entry %zu, \"%.2s\"", at, at,
                  order[at]);
        iter_prev(m);
        if (at == 0) {
            CHECK_MSG(!iter_valid(m), "prev from the first entry leaves the merge invalid");
            continue;
        }
        CHECK_MSG(iter_valid(m) && m->value_len == 2 && memcmp(m->value, order[at - 1], 2) == 0,
                  "prev from entry %zu turns around: the merge is at entry %zu, \"%.2s\" (every "
                  "other child must first be moved before the current key)", at, at - 1,
                  order[at - 1]);
        iter_next(m);
        CHECK_MSG(iter_valid(m) && m->value_len == 2 && memcmp(m->value, order[at], 2) == 0,
                  "next after that prev turns around again: the merge is back at entry %zu, "
                  "\"%.2s\" (every other child must first be moved past the current key)", at,
                  order[at]);
    }
    iter_free(m);
    vec_free(&a);
    vec_free(&b);
}

static void a_failing_child_stops_the_merge(void)
{
    vec a = {0}, b = {0};
    for (int i = 0; i < 20; i++) {
        uint8_t k[16];
        char u[16];
        size_t ulen = tt_key(u, i);
        ikey_encode(k, u, ulen, 1, IKEY_PUT);
        vec_add(i % 2 ? &a : &b, k, ulen + 8, "v", 1);
    }
    for (long fail = 0; fail < 25; fail++) {
        harness_context("child fails after %ld moves", fail);
        iter *ch[2] = {vec_iter_new(&a, 1, fail), vec_iter_new(&b, 1, -1)};
        iter *m;
        CHECK_KV(merge_iter_new(ch, 2, &m), KV_OK);
        int n = 0;
        for (iter_seek_first(m); iter_valid(m); iter_next(m))
            n++;
        /* Child a's part of a full scan is 11 moves (a seek, 10 steps). */
        if (fail < 11) {
            CHECK(n < 20 || fail == 10);
            CHECK_KV(iter_status(m), KV_ERR_IO);
            iter_next(m); /* stays failed */
            iter_seek_first(m);
            CHECK(!iter_valid(m));
            CHECK_KV(iter_status(m), KV_ERR_IO);
        } else {
            CHECK_EQ(n, 20);
            CHECK_KV(iter_status(m), KV_OK);
        }
        iter_free(m);
    }
    vec_free(&a);
    vec_free(&b);
}

static const harness_test merge_iter_tests[] = {
    HARNESS_TEST(merge_equals_one_source_holding_everything),
    HARNESS_TEST(no_children_is_never_valid_and_one_child_is_itself),
    HARNESS_TEST(equal_keys_come_in_child_order),
    HARNESS_TEST(a_failing_child_stops_the_merge),
};
const harness_suite merge_iter_suite = HARNESS_SUITE("merge_iter", merge_iter_tests);
