/*
 * table_contract_test.c: what table.h promises, whatever the format: what
 * is built is read back exactly (lookups at every sequence, iteration both
 * ways, seeks, the largest keys and values), a key outside the table's
 * range costs no read, the builder refuses what a table cannot hold and
 * goes on, and a table needs an entry.  Every stage that implements
 * table.h runs these (stage 04 with format v1, stage 05 with v2); each
 * format's own tests add what is particular to it (table_test.c here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "io.h"
#include "kv.h"
#include "memtable.h"
#include "table.h"
#include "table_test_util.h"

static void lookups_match_the_memtable_at_every_sequence(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(7, 300, 3, 199);
    table_ctx *ctx = tt_ctx();
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    tt_expect_same_lookups(m, t, 300);
    table_unref(t);
    table_ctx_free(ctx);
    memtable_unref(m);
}

static void keys_outside_the_range_cost_no_read(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(3, 50, 1, 199);
    table_ctx *ctx = tt_ctx();
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    ikey_lookup lk;
    table_get_result r;
    CHECK_KV(ikey_lookup_init(&lk, "a", 1, IKEY_MAX_SEQ), KV_OK); /* before "key..." */
    CHECK_KV(table_get(t, &lk, &r), KV_OK);
    CHECK_EQ(r.state, IKEY_ABSENT);
    CHECK_EQ(r.reads, 0);
    ikey_lookup_free(&lk);
    CHECK_KV(ikey_lookup_init(&lk, "z", 1, IKEY_MAX_SEQ), KV_OK);
    CHECK_KV(table_get(t, &lk, &r), KV_OK);
    CHECK_EQ(r.state, IKEY_ABSENT);
    CHECK_EQ(r.reads, 0);
    ikey_lookup_free(&lk);
    table_unref(t);
    table_ctx_free(ctx);
    memtable_unref(m);
}

static void iteration_matches_the_memtable_both_ways(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(11, 2000, 4, 199);
    table_ctx *ctx = tt_ctx();
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    iter *a, *b;
    CHECK_KV(memtable_iter_new(m, &a), KV_OK);
    CHECK_KV(table_iter_new(t, &b), KV_OK);
    table_unref(t); /* the iterator keeps the table open */
    tt_expect_same_iteration(a, b);
    iter_free(a);
    iter_free(b);
    table_ctx_free(ctx);
    memtable_unref(m);
}

static void largest_key_and_values_larger_than_every_buffer(void)
{
    const char *dir = harness_tmpdir();
    table_ctx *ctx = tt_ctx();
    memtable *m;
    CHECK_KV(memtable_new(1 << 20, &m), KV_OK);
    char *key = malloc(KV_MAX_KEY);
    uint8_t *val = malloc(3u << 20);
    CHECK(key != NULL && val != NULL);
    for (size_t i = 0; i < (3u << 20); i++)
        val[i] = (uint8_t)(i * 31 + (i >> 12));
    memset(key, 'k', KV_MAX_KEY);
    /* A 64 KiB key (longer than a probe reads), a 3 MiB value (larger
     * than the builder's buffer and the iterator's window), empty ones. */
    CHECK_KV(memtable_add(m, 1, IKEY_PUT, key, KV_MAX_KEY, val, 3u << 20), KV_OK);
    key[KV_MAX_KEY - 1] = 'l';
    CHECK_KV(memtable_add(m, 2, IKEY_PUT, key, KV_MAX_KEY, "", 0), KV_OK);
    CHECK_KV(memtable_add(m, 3, IKEY_PUT, "a", 1, val, 300), KV_OK);
    CHECK_KV(memtable_add(m, 4, IKEY_DELETE, "b", 1, NULL, 0), KV_OK);
    CHECK_KV(memtable_add(m, 5, IKEY_PUT, "c", 1, val + 7, 1u << 20), KV_OK);
    table *t = tt_build_and_open(ctx, m, dir, "big.tbl");
    tt_expect_same(m, t, key, KV_MAX_KEY, 9);
    key[KV_MAX_KEY - 1] = 'k';
    tt_expect_same(m, t, key, KV_MAX_KEY, 9);
    tt_expect_same(m, t, "a", 1, 9);
    tt_expect_same(m, t, "b", 1, 9);
    tt_expect_same(m, t, "c", 1, 9);
    iter *a, *b;
    CHECK_KV(memtable_iter_new(m, &a), KV_OK);
    CHECK_KV(table_iter_new(t, &b), KV_OK);
    tt_expect_same_iteration(a, b);
    iter_free(a);
    iter_free(b);
    table_unref(t);
    table_ctx_free(ctx);
    memtable_unref(m);
    free(key);
    free(val);
}

static void builder_refuses_bad_entries_and_goes_on(void)
{
    const char *dir = harness_tmpdir();
    table_ctx *ctx = tt_ctx();
    table_builder *b;
    const char *path = harness_join(dir, "b.tbl");
    CHECK_KV(table_builder_new(ctx, path, &b), KV_OK);
    uint8_t k1[9], k2[9], bad[9];
    ikey_encode(k1, "m", 1, 5, IKEY_PUT);
    CHECK_KV(table_builder_add(b, k1, 9, (const uint8_t *)"v", 1), KV_OK);
    /* the same key again, an older-sorting key, a key of the wrong shape */
    CHECK_KV(table_builder_add(b, k1, 9, (const uint8_t *)"v", 1), KV_ERR_INVALID);
    ikey_encode(k2, "a", 1, 9, IKEY_PUT);
    CHECK_KV(table_builder_add(b, k2, 9, (const uint8_t *)"v", 1), KV_ERR_INVALID);
    CHECK(strstr(kv_errmsg(), "order") != NULL);
    ikey_encode(k2, "m", 1, 6, IKEY_PUT); /* newer: sorts before */
    CHECK_KV(table_builder_add(b, k2, 9, (const uint8_t *)"v", 1), KV_ERR_INVALID);
    ikey_encode(bad, "z", 1, 1, IKEY_PUT);
    bad[1] = 7; /* unknown type */
    CHECK_KV(table_builder_add(b, bad, 9, (const uint8_t *)"v", 1), KV_ERR_INVALID);
    CHECK_KV(table_builder_add(b, bad + 1, 8, (const uint8_t *)"v", 1), KV_ERR_INVALID);
    CHECK_KV(table_builder_add(b, k2, 9, (const uint8_t *)"v", KV_MAX_VALUE + 1), KV_ERR_INVALID);
    ikey_encode(k2, "m", 1, 4, IKEY_DELETE); /* older: sorts after; value dropped */
    CHECK_KV(table_builder_add(b, k2, 9, (const uint8_t *)"ignored", 7), KV_OK);
    CHECK_EQ(table_builder_entries(b), 2);
    uint64_t predicted = table_builder_file_bytes(b);
    table_meta meta;
    CHECK_KV(table_builder_finish(b, &meta), KV_OK);
    CHECK_EQ(meta.entries, 2);
    CHECK_EQ(meta.deletes, 1);
    CHECK(meta.file_bytes <= predicted); /* exact in v1, from above with compression */
    table *t;
    CHECK_KV(table_open(ctx, path, &t), KV_OK);
    CHECK_EQ(table_file_bytes(t), meta.file_bytes);
    CHECK_EQ(table_entries(t), 2);
    size_t len;
    const uint8_t *s = table_smallest(t, &len);
    CHECK_MEM(s, len, k1, 9);
    s = table_largest(t, &len);
    CHECK_MEM(s, len, k2, 9);
    table_unref(t);
    table_ctx_free(ctx);
}

static void empty_table_is_refused_and_removed(void)
{
    const char *dir = harness_tmpdir();
    table_ctx *ctx = tt_ctx();
    table_builder *b;
    const char *path = harness_join(dir, "e.tbl");
    CHECK_KV(table_builder_new(ctx, path, &b), KV_OK);
    CHECK_KV(table_builder_finish(b, NULL), KV_ERR_INVALID);
    int exists = 1;
    CHECK_KV(io_exists(path, &exists), KV_OK);
    CHECK(!exists);
    CHECK_KV(table_builder_new(ctx, path, &b), KV_OK);
    table_builder_abandon(b);
    CHECK_KV(io_exists(path, &exists), KV_OK);
    CHECK(!exists);
    table_ctx_free(ctx);
}

static const harness_test table_contract_tests[] = {
    HARNESS_TEST(lookups_match_the_memtable_at_every_sequence),
    HARNESS_TEST(keys_outside_the_range_cost_no_read),
    HARNESS_TEST(iteration_matches_the_memtable_both_ways),
    HARNESS_TEST(largest_key_and_values_larger_than_every_buffer),
    HARNESS_TEST(builder_refuses_bad_entries_and_goes_on),
    HARNESS_TEST(empty_table_is_refused_and_removed),
};
const harness_suite table_contract_suite = HARNESS_SUITE("table_contract", table_contract_tests);
