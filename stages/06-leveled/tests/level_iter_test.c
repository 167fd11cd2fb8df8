/*
 * level_iter_test.c: the level iterator over table v2 tables of one level
 * reads exactly what one source holding all their entries reads, both
 * ways, after any seek and turning around; it opens a table only when the
 * walk reaches it; an empty level is never valid; a table that cannot be
 * opened fails it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "error.h"
#include "internal_key.h"
#include "kv.h"
#include "level_iter.h"
#include "memtable.h"
#include "table.h"
#include "../../04-lsm/tests/table_test_util.h"
#include "version.h"

#define MAX_TABLES 8

typedef struct built_level {
    table *tables[MAX_TABLES];
    int ntables;
    int opens;          /* table iterators opened */
    int fail_number;    /* the table whose iterator will not open (0: none) */
    table_ctx *ctx;     /* freed by the test once its version is gone */
} built_level;

static int open_known_table(void *ctx, const edit_file *f, vfile **out)
{
    built_level *b = ctx;
    int rc = vfile_new(f, out);
    if (rc == KV_OK) {
        (*out)->t = b->tables[f->number - 1];
        table_ref((*out)->t);
    }
    return rc;
}

static void close_table(void *ctx, vfile *f)
{
    (void)ctx;
    table_unref(f->t);
}

static int counting_table_iter(void *ctx, vfile *f, iter **out)
{
    built_level *b = ctx;
    b->opens++;
    if ((int)f->number == b->fail_number) {
        *out = NULL;
        return kv_error(KV_ERR_IO, "table %llu: cannot read", (unsigned long long)f->number);
    }
    return table_iter_new(f->t, out);
}

/* Splits every entry of `all` (keys key00000..) into k tables by key
 * number, table j holding numbers [j * step, (j + 1) * step), and makes a
 * version with them at level 2. */
static version *level_of_tables(memtable *all, int k, int step, built_level *b)
{
    const char *dir = harness_tmpdir();
    table_ctx *ctx = tt_ctx();
    memtable *part[MAX_TABLES];
    for (int j = 0; j < k; j++)
        CHECK_KV(memtable_new(1 << 20, &part[j]), KV_OK);
    iter *it;
    CHECK_KV(memtable_iter_new(all, &it), KV_OK);
    for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
        ikey_parsed p;
        CHECK(ikey_decode(it->key, it->key + it->key_len, &p));
        int number = 0; /* "key00042" is 42 */
        for (size_t i = 3; i < p.user_len; i++)
            number = number * 10 + (p.user_key[i] - '0');
        int j = number / step < k ? number / step : k - 1;
        CHECK_KV(memtable_add(part[j], p.seq, p.type, p.user_key, p.user_len, it->value,
                              it->value_len), KV_OK);
    }
    iter_free(it);
    memset(b, 0, sizeof *b);
    b->ctx = ctx;
    version_edit e;
    version_edit_init(&e);
    for (int j = 0; j < k; j++) {
        char name[32];
        snprintf(name, sizeof name, "%06d.tbl", j + 1);
        table *t = tt_build_and_open(ctx, part[j], dir, name);
        memtable_unref(part[j]);
        b->tables[b->ntables++] = t;
        size_t sl, ll;
        const uint8_t *s = table_smallest(t, &sl), *l = table_largest(t, &ll);
        CHECK_KV(version_edit_add_file(&e, 2, (uint64_t)j + 1, table_file_bytes(t),
                                       table_entries(t), s, sl, l, ll), KV_OK);
    }
    version *v0, *v;
    CHECK_KV(version_new_empty(close_table, NULL, &v0), KV_OK);
    CHECK_KV(version_apply(v0, &e, open_known_table, b, &v), KV_OK);
    version_edit_free(&e);
    version_unref(v0);
    for (int j = 0; j < k; j++) /* the version holds them now */
        table_unref(b->tables[j]);
    return v;
}

static void a_level_reads_as_one_source(void)
{
    for (int k = 1; k <= 5; k++) {
        harness_context("%d tables", k);
        memtable *all = tt_random_memtable((uint64_t)k, 120, 3, 30);
        built_level b;
        version *v = level_of_tables(all, k, 240 / k, &b);
        iter *want, *got;
        CHECK_KV(memtable_iter_new(all, &want), KV_OK);
        CHECK_KV(level_iter_new(v, 2, NULL, NULL, &got), KV_OK);
        version_unref(v); /* the iterator keeps the version */
        tt_expect_same_iteration(want, got);
        CHECK_KV(iter_status(got), KV_OK);
        iter_free(want);
        iter_free(got);
        memtable_unref(all);
        table_ctx_free(b.ctx);
    }
}

static void tables_are_opened_only_when_reached(void)
{
    memtable *all = tt_sequential_memtable(100, 8);
    built_level b;
    version *v = level_of_tables(all, 4, 25, &b); /* keys 0-24, 25-49, ... */
    iter *it;
    CHECK_KV(level_iter_new(v, 2, counting_table_iter, &b, &it), KV_OK);
    CHECK_EQ(b.opens, 0);
    ikey_lookup lk;
    char key[16];
    size_t klen = tt_key(key, 60);
    CHECK_KV(ikey_lookup_init(&lk, key, klen, IKEY_MAX_SEQ), KV_OK);
    size_t ilen;
    const uint8_t *ik = ikey_lookup_ikey(&lk, &ilen);
    iter_seek(it, ik, ilen);
    CHECK(iter_valid(it));
    CHECK_MEM(it->key, it->key_len - IKEY_TRAILER_SIZE, key, klen);
    CHECK_EQ(b.opens, 1);
    iter_seek(it, ik, ilen); /* the same table: nothing opened again */
    CHECK_EQ(b.opens, 1);
    ikey_lookup_free(&lk);
    int n = 0;
    for (iter_seek_first(it); iter_valid(it); iter_next(it))
        n++;
    CHECK_EQ(n, 100);
    CHECK_EQ(b.opens, 5);
    /* A seek past the last key opens nothing. */
    klen = tt_key(key, 100);
    CHECK_KV(ikey_lookup_init(&lk, key, klen, IKEY_MAX_SEQ), KV_OK);
    ik = ikey_lookup_ikey(&lk, &ilen);
    iter_seek(it, ik, ilen);
    CHECK(!iter_valid(it));
    CHECK_EQ(b.opens, 5);
    ikey_lookup_free(&lk);
    CHECK_KV(iter_status(it), KV_OK);
    iter_free(it);
    version_unref(v);
    memtable_unref(all);
    table_ctx_free(b.ctx);
}

static void an_empty_level_is_never_valid(void)
{
    version *v;
    CHECK_KV(version_new_empty(NULL, NULL, &v), KV_OK);
    iter *it;
    CHECK_KV(level_iter_new(v, 1, NULL, NULL, &it), KV_OK);
    iter_seek_first(it);
    CHECK(!iter_valid(it));
    iter_seek_last(it);
    CHECK(!iter_valid(it));
    uint8_t k[16];
    ikey_encode(k, "a", 1, 1, IKEY_PUT);
    iter_seek(it, k, 9);
    CHECK(!iter_valid(it));
    CHECK_KV(iter_status(it), KV_OK);
    iter_free(it);
    version_unref(v);
}

static void a_table_that_cannot_be_read_fails_the_level(void)
{
    memtable *all = tt_sequential_memtable(30, 8);
    built_level b;
    version *v = level_of_tables(all, 3, 10, &b);
    b.fail_number = 2;
    iter *it;
    CHECK_KV(level_iter_new(v, 2, counting_table_iter, &b, &it), KV_OK);
    int n = 0;
    for (iter_seek_first(it); iter_valid(it); iter_next(it))
        n++;
    CHECK_EQ(n, 10);
    CHECK_KV(iter_status(it), KV_ERR_IO);
    CHECK(strstr(kv_errmsg(), "table 2: cannot read") != NULL);
    iter_seek_last(it); /* failed for good (iterator.h rule 5) */
    CHECK(!iter_valid(it));
    iter_free(it);
    /* Backward from the last table, the same. */
    CHECK_KV(level_iter_new(v, 2, counting_table_iter, &b, &it), KV_OK);
    n = 0;
    for (iter_seek_last(it); iter_valid(it); iter_prev(it))
        n++;
    CHECK_EQ(n, 10);
    CHECK_KV(iter_status(it), KV_ERR_IO);
    iter_free(it);
    version_unref(v);
    memtable_unref(all);
    table_ctx_free(b.ctx);
}

static const harness_test level_iter_tests[] = {
    HARNESS_TEST(a_level_reads_as_one_source),
    HARNESS_TEST(tables_are_opened_only_when_reached),
    HARNESS_TEST(an_empty_level_is_never_valid),
    HARNESS_TEST(a_table_that_cannot_be_read_fails_the_level),
};
const harness_suite level_iter_suite = HARNESS_SUITE("level_iter", level_iter_tests);
