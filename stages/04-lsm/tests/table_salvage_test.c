/*
 * table_salvage_test.c: what kv repair reads of a damaged table
 * (table_salvage, table.h), whatever the format: every entry of an intact
 * table; around a flipped byte, every entry but the ones it falls in, in
 * order, with the lost region between the keys around it; of a table cut
 * short, the entries before the cut; of a table whose footer alone is cut,
 * every entry.  Stage 04 runs it on format v1, stage 05 on v2.
 */
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "kv.h"
#include "table.h"
#include "table_test_util.h"

/* Entries as a table or a salvage hands them out, copied. */
typedef struct ts_entry {
    uint8_t *k, *v;
    size_t kn, vn;
} ts_entry;

typedef struct ts_list {
    ts_entry *e;
    size_t n, cap;
    size_t losses_seen;
    int loss_order_ok;       /* every loss lies between the entries around it */
} ts_list;

static int ts_add(void *ctx, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn)
{
    ts_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->e = realloc(l->e, l->cap * sizeof *l->e);
        CHECK(l->e != NULL);
    }
    ts_entry *e = &l->e[l->n++];
    e->k = malloc(kn);
    e->v = malloc(vn ? vn : 1);
    CHECK(e->k != NULL && e->v != NULL);
    memcpy(e->k, k, kn);
    memcpy(e->v, v, vn);
    e->kn = kn;
    e->vn = vn;
    return KV_OK;
}

static void ts_loss(void *ctx, const table_loss *loss)
{
    ts_list *l = ctx;
    l->losses_seen++;
    /* `after` is the last entry handed out so far. */
    const ts_entry *last = l->n ? &l->e[l->n - 1] : NULL;
    if ((last == NULL) != (loss->after == NULL) ||
        (last != NULL && (last->kn != loss->after_len ||
                          memcmp(last->k, loss->after, last->kn) != 0)))
        l->loss_order_ok = 0;
    if (loss->end <= loss->offset)
        l->loss_order_ok = 0;
}

static void ts_free(ts_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->e[i].k);
        free(l->e[i].v);
    }
    free(l->e);
    memset(l, 0, sizeof *l);
}

/* Every entry of the intact table at path, through its iterator. */
static void ts_reference(table_ctx *ctx, const char *path, ts_list *ref)
{
    table *t = NULL;
    iter *it = NULL;
    CHECK_KV(table_open(ctx, path, &t), KV_OK);
    CHECK_KV(table_iter_new(t, &it), KV_OK);
    for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
        size_t kn, vn;
        const uint8_t *k = iter_key(it, &kn), *v = iter_value(it, &vn);
        ts_add(ref, k, kn, v, vn);
    }
    CHECK_KV(iter_status(it), KV_OK);
    iter_free(it);
    table_unref(t);
}

/* got is ref with some entries left out, in order; returns how many. */
static size_t ts_subsequence(const ts_list *ref, const ts_list *got)
{
    size_t j = 0;
    for (size_t i = 0; i < got->n; i++) {
        while (j < ref->n && (ref->e[j].kn != got->e[i].kn ||
                              memcmp(ref->e[j].k, got->e[i].k, got->e[i].kn) != 0))
            j++;
        CHECK_MSG(j < ref->n, "salvaged entry %zu is not the table's (or out of order)", i);
        CHECK_EQ(ref->e[j].vn, got->e[i].vn);
        CHECK(memcmp(ref->e[j].v, got->e[i].v, got->e[i].vn) == 0);
        j++;
    }
    return ref->n - got->n;
}

/* A table of a few thousand entries, its reference list, and its bytes. */
static const char *ts_build(ts_list *ref, uint8_t **bytes, size_t *n)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(5, 1500, 2, 120);
    table_ctx *ctx = tt_ctx();
    table_unref(tt_build_and_open(ctx, m, dir, "t.tbl"));
    const char *path = harness_join(dir, "t.tbl");
    ts_reference(ctx, path, ref);
    table_ctx_free(ctx);
    memtable_unref(m);
    *n = tt_read_file(path, bytes);
    return path;
}

static void salvage_of_an_intact_table_reads_every_entry(void)
{
    ts_list ref = {0}, got = {.loss_order_ok = 1};
    uint8_t *bytes;
    size_t n;
    const char *path = ts_build(&ref, &bytes, &n);
    table_salvage_info info;
    CHECK_KV(table_salvage(path, ts_add, ts_loss, &got, &info), KV_OK);
    CHECK_EQ(ts_subsequence(&ref, &got), 0);
    CHECK_EQ(info.entries, ref.n);
    CHECK_EQ(info.expected, ref.n);
    CHECK_EQ(info.losses, 0);
    CHECK_EQ(got.losses_seen, 0);
    CHECK_EQ(info.file_bytes, n);
    free(bytes);
    ts_free(&ref);
    ts_free(&got);
}

static void salvage_around_a_flipped_byte_keeps_the_rest(void)
{
    ts_list ref = {0}, got = {.loss_order_ok = 1};
    uint8_t *bytes;
    size_t n;
    const char *path = ts_build(&ref, &bytes, &n);
    bytes[n / 3] ^= 0x40; /* among the entries, in both formats */
    tt_write_file(path, bytes, n);
    table_salvage_info info;
    CHECK_KV(table_salvage(path, ts_add, ts_loss, &got, &info), KV_OK);
    size_t lost = ts_subsequence(&ref, &got);
    CHECK_MSG(lost > 0 && lost < ref.n / 10, "lost %zu of %zu", lost, ref.n);
    CHECK_EQ(info.entries, got.n);
    CHECK_EQ(info.expected, ref.n); /* the footer still counts them */
    CHECK(info.losses >= 1 && got.losses_seen == info.losses && got.loss_order_ok);
    free(bytes);
    ts_free(&ref);
    ts_free(&got);
}

static void salvage_of_a_table_cut_short_keeps_what_comes_before(void)
{
    ts_list ref = {0}, got = {.loss_order_ok = 1};
    uint8_t *bytes;
    size_t n;
    const char *path = ts_build(&ref, &bytes, &n);
    tt_write_file(path, bytes, n / 2);
    table_salvage_info info;
    CHECK_KV(table_salvage(path, ts_add, ts_loss, &got, &info), KV_OK);
    size_t lost = ts_subsequence(&ref, &got);
    CHECK(lost > 0 && got.n > 0);
    for (size_t i = 0; i < got.n; i++) /* a prefix */
        CHECK(got.e[i].kn == ref.e[i].kn && memcmp(got.e[i].k, ref.e[i].k, ref.e[i].kn) == 0);
    CHECK_EQ(info.expected, 0); /* the footer is gone: the count is unknown */
    CHECK_EQ(info.losses, 1);
    CHECK(got.loss_order_ok);
    free(bytes);
    ts_free(&ref);
    ts_free(&got);
}

static void salvage_of_a_table_whose_footer_is_cut_keeps_every_entry(void)
{
    ts_list ref = {0}, got = {.loss_order_ok = 1};
    uint8_t *bytes;
    size_t n;
    const char *path = ts_build(&ref, &bytes, &n);
    tt_write_file(path, bytes, n - 10);
    table_salvage_info info;
    CHECK_KV(table_salvage(path, ts_add, ts_loss, &got, &info), KV_OK);
    CHECK_EQ(ts_subsequence(&ref, &got), 0);
    CHECK_EQ(info.losses, 0);
    CHECK_EQ(info.expected, ref.n); /* the table's own structure says so */
    free(bytes);
    ts_free(&ref);
    ts_free(&got);
}

static const harness_test table_salvage_tests[] = {
    HARNESS_TEST(salvage_of_an_intact_table_reads_every_entry),
    HARNESS_TEST(salvage_around_a_flipped_byte_keeps_the_rest),
    HARNESS_TEST(salvage_of_a_table_cut_short_keeps_what_comes_before),
    HARNESS_TEST(salvage_of_a_table_whose_footer_is_cut_keeps_every_entry),
};
const harness_suite table_salvage_suite = HARNESS_SUITE("table_salvage", table_salvage_tests);
