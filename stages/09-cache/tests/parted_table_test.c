/*
 * parted_table_test.c: tables of partitions (format v2's version 2,
 * parted_format.h; kv_options.table_partitions = KV_PARTITIONS) against a
 * memtable: lookups at every sequence and
 * iteration with every setting (blocks small enough for many partitions,
 * with filters and without, lz4 and raw); version-1 tables, written by
 * stage 05's builder, still read; a cold lookup's reads and what an open
 * table keeps; every byte from D to the end damaged in turn, each found
 * (and by kv check), never a wrong answer; kv dump's, kv check's and
 * kv_inspect's lines for the partitions; kv repair's salvage of a
 * whole table losing nothing; and kv_options.table_partitions: a database
 * written with whole tables (version 1, the default) read with
 * KV_PARTITIONS, then compacted into tables of partitions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "../../04-lsm/tests/table_test_util.h"
#include "crc32c.h"
#include "kv.h"
#include "memtable.h"
#include "parted_format.h"
#include "table_inspect.h"
#include "table_salvage.h"
#include "table_v2_format.h" /* a test looks inside: whether a table keeps a filter */
#include "../../05-blocks/tests/table_v2_test_util.h"

/* A context whose new tables are tables of partitions (tv_ctx's options
 * with table_partitions = KV_PARTITIONS). */
static table_ctx *pt_ctx(size_t block_bytes, int compression, int bloom_bits_per_key)
{
    kv_options o;
    kv_options_init(&o);
    o.block_bytes = block_bytes;
    o.compression = compression;
    o.bloom_bits_per_key = bloom_bits_per_key;
    o.table_partitions = KV_PARTITIONS;
    table_ctx *ctx;
    CHECK_KV(table_ctx_new(&o, &ctx), KV_OK);
    return ctx;
}

static void pt_no_line(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

static void lookups_and_iteration_match_with_every_setting(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(17, 1500, 4, 199);
    for (int v = 0; v < 4; v++) {
        harness_context("variant %d", v);
        table_ctx *ctx = pt_ctx(v < 3 ? 64 : 0, v % 2 ? KV_COMPRESSION_NONE : 0,
                                v == 2 ? KV_NO_BLOOM : 0);
        table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
        CHECK_EQ(table_v2_kept_of(t)->version, PARTED_VERSION);
        /* Blocks of 64 bytes: index partitions of a few entries each. */
        CHECK(v == 3 || table_v2_kept_of(t)->index.nrestarts >= 20);
        tt_expect_same_lookups(m, t, 3000);
        iter *a, *b;
        CHECK_KV(memtable_iter_new(m, &a), KV_OK);
        CHECK_KV(table_iter_new(t, &b), KV_OK);
        table_unref(t); /* the iterator keeps the table open */
        tt_expect_same_iteration(a, b);
        iter_free(a);
        iter_free(b);
        CHECK_KV(table_check(harness_join(dir, "t.tbl"), "t.tbl", pt_no_line, NULL), KV_OK);
        table_ctx_free(ctx);
    }
    memtable_unref(m);
}

/* A key with many versions, so that its versions fill several data
 * blocks and straddle partitions: every version found at its sequence
 * (P3: the key is in each partition's filter). */
static void a_key_across_partitions_is_found_at_every_sequence(void)
{
    const char *dir = harness_tmpdir();
    memtable *m;
    CHECK_KV(memtable_new(0, &m), KV_OK);
    char key[32], val[64];
    uint64_t seq = 1;
    for (int k = 0; k < 40; k++) {
        size_t klen = tt_key(key, k);
        for (int v = 0; v < (k % 10 == 5 ? 200 : 1); v++) {
            int n = snprintf(val, sizeof val, "k%d v%d", k, v);
            CHECK_KV(memtable_add(m, seq++, IKEY_PUT, key, klen, val, (size_t)n), KV_OK);
        }
    }
    table_ctx *ctx = pt_ctx(64, 0, 0);
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    CHECK(table_v2_kept_of(t)->index.nrestarts >= 20);
    tt_expect_same_lookups(m, t, 45);
    for (uint64_t s = 1; s < seq; s++) {
        harness_context("sequence %llu", (unsigned long long)s);
        tt_expect_same(m, t, key, tt_key(key, 5), s);
        tt_expect_same(m, t, key, tt_key(key, 15), s);
    }
    table_unref(t);
    table_ctx_free(ctx);
    memtable_unref(m);
}

/* m's entries written at path as stage 05 writes them: version 1. */
static void pt_build_v1(table_ctx *ctx, memtable *m, const char *path)
{
    table_v2_builder *b;
    CHECK_KV(table_v2_builder_new(ctx, path, TABLE_V2_VERSION, 1, &b), KV_OK);
    iter *it;
    table_v2_progress p;
    CHECK_KV(memtable_iter_new(m, &it), KV_OK);
    for (iter_seek_first(it); iter_valid(it); iter_next(it))
        CHECK_KV(table_v2_builder_add(b, it->key, it->key_len, it->value, it->value_len, &p),
                 KV_OK);
    iter_free(it);
    CHECK_KV(table_v2_builder_finish(b, NULL), KV_OK);
}

/* Stage 05's builder writes version 1; this stage reads it as stage 05
 * does. */
static void version_one_tables_are_still_read(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(23, 800, 3, 199);
    table_ctx *ctx = tv_ctx(256, 0, 0);
    const char *path = harness_join(dir, "v1.tbl");
    pt_build_v1(ctx, m, path);
    iter *it;
    table *t;
    CHECK_KV(table_open(ctx, path, &t), KV_OK);
    CHECK_EQ(table_v2_kept_of(t)->version, 1u);
    CHECK(table_v2_kept_of(t)->filter != NULL);
    tt_expect_same_lookups(m, t, 1700);
    iter *a;
    CHECK_KV(memtable_iter_new(m, &a), KV_OK);
    CHECK_KV(table_iter_new(t, &it), KV_OK);
    tt_expect_same_iteration(a, it);
    iter_free(a);
    iter_free(it);
    table_unref(t);
    CHECK_KV(table_check(path, "v1.tbl", pt_no_line, NULL), KV_OK);
    table_ctx_free(ctx);
    memtable_unref(m);
}

/* A cold lookup reads its filter partition, its index partition and its
 * data block; what the table keeps open is its top level, far less than
 * version 1's whole index and filter (P4). */
static void a_cold_lookup_reads_three_blocks_and_the_table_keeps_little(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_sequential_memtable(20000, 20);
    table_ctx *ctx = pt_ctx(0, 0, 0);
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    double kept = tv_stat(ctx, "table.meta_bytes");
    table_unref(t);
    table_ctx_free(ctx);
    /* The same entries in version 1. */
    ctx = tv_ctx(0, 0, 0);
    const char *v1 = harness_join(dir, "v1.tbl");
    pt_build_v1(ctx, m, v1);
    CHECK_KV(table_open(ctx, v1, &t), KV_OK);
    double whole = tv_stat(ctx, "table.meta_bytes");
    table_unref(t);
    CHECK_MSG(kept * 10 < whole, "version 2 keeps %.0f bytes, version 1 %.0f", kept, whole);
    printf("    note: 20,000 keys: an open table keeps %.0f bytes (version 2), %.0f (version "
           "1)\n", kept, whole);
    /* Cold: a fresh context, its block cache empty. */
    table_ctx_free(ctx);
    ctx = tv_ctx(0, 0, 0);
    CHECK_KV(table_open(ctx, harness_join(dir, "t.tbl"), &t), KV_OK);
    char key[32];
    ikey_lookup lk;
    table_get_result r;
    CHECK_KV(ikey_lookup_init(&lk, key, tt_key(key, 12345), IKEY_MAX_SEQ), KV_OK);
    CHECK_KV(table_get(t, &lk, &r), KV_OK);
    CHECK_EQ(r.state, IKEY_FOUND);
    CHECK_EQ(r.reads, 3u);
    free(r.value);
    ikey_lookup_free(&lk);
    /* Its neighbour: every block it needs is cached. */
    CHECK_KV(ikey_lookup_init(&lk, key, tt_key(key, 12346), IKEY_MAX_SEQ), KV_OK);
    CHECK_KV(table_get(t, &lk, &r), KV_OK);
    CHECK_EQ(r.state, IKEY_FOUND);
    CHECK_EQ(r.reads, 0u);
    free(r.value);
    ikey_lookup_free(&lk);
    table_unref(t);
    table_ctx_free(ctx);
    memtable_unref(m);
}

/* Every byte from D to the end is in a checksummed block or the footer:
 * each flip is found by a read (open, scans, lookups of every key) and by
 * kv check, and no read answers wrongly (tt_reads_right_or_corrupt). */
static void every_flip_of_the_partitions_and_kept_blocks_is_found(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(29, 60, 2, 40);
    table_ctx *ctx = pt_ctx(64, 0, 0);
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    uint64_t d = table_v2_kept_of(t)->data_end;
    CHECK(table_v2_kept_of(t)->index.nrestarts >= 3);
    table_unref(t);
    table_ctx_free(ctx);
    uint8_t *bytes;
    size_t n = tt_read_file(harness_join(dir, "t.tbl"), &bytes);
    const char *bad = harness_join(dir, "bad.tbl");
    for (size_t at = (size_t)d; at < n; at++) {
        harness_context("flip of byte %zu of %zu (D = %llu)", at, n, (unsigned long long)d);
        bytes[at] ^= 0xff;
        tt_write_file(bad, bytes, n);
        bytes[at] ^= 0xff;
        ctx = tv_ctx(64, 0, 0);
        CHECK(tt_reads_right_or_corrupt(ctx, m, bad));
        table_ctx_free(ctx);
        CHECK_KV(table_check(bad, "bad.tbl", pt_no_line, NULL), KV_ERR_CORRUPT);
    }
    free(bytes);
    memtable_unref(m);
}

/* kv dump prints a line per partition, kv_inspect's parts one filter
 * line for the table, and a damaged filter partition is named by kv check
 * and kv dump. */
static void dump_inspect_and_check_name_the_partitions(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(37, 300, 2, 40);
    table_ctx *ctx = pt_ctx(64, 0, 0);
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    uint32_t parts = table_v2_kept_of(t)->index.nrestarts;
    CHECK(parts >= 5);
    const char *path = harness_join(dir, "t.tbl");
    tt_lines l = {0};
    CHECK_KV(table_dump(path, "t.tbl", tt_collect, &l), KV_OK);
    CHECK_MSG(strstr(l.text, "t.tbl: version 2: partitions [") != NULL, "%s", l.text);
    unsigned lines = 0;
    for (const char *q = l.text; (q = strstr(q, "# partition ")) != NULL; q++)
        lines++;
    CHECK_EQ(lines, parts);
    tt_lines_clear(&l);
    CHECK_KV(table_inspect_parts(t, "t.tbl", tt_collect, &l), KV_OK);
    CHECK_MSG(strstr(l.text, "filter table=t.tbl off=") != NULL, "%s", l.text);
    CHECK_MSG(strstr(l.text, " k=7 ") != NULL, "%s", l.text);
    /* A "partition" line each, in order, its index partition then its
     * filter partition, tiling [D, P) (P1). */
    lines = 0;
    uint64_t at = table_v2_kept_of(t)->data_end;
    for (const char *q = l.text; (q = strstr(q, "partition table=t.tbl n=")) != NULL; q++) {
        unsigned long long n, io, is, fo, fs;
        CHECK_EQ(sscanf(q, "partition table=t.tbl n=%llu index_off=%llu index_size=%llu "
                        "filter_off=%llu filter_size=%llu last=", &n, &io, &is, &fo, &fs), 5);
        CHECK_EQ(n, lines);
        CHECK(io == at && fo == io + is);
        at = fo + fs;
        lines++;
    }
    CHECK_EQ(lines, parts);
    CHECK(at == table_v2_kept_of(t)->meta_at);
    tt_lines_clear(&l);
    /* The first filter partition, damaged past its first bytes. */
    block_iter top = {0};
    block_iter_init(&top, &table_v2_kept_of(t)->index, TABLE_V2_IKEY_MIN);
    block_iter_seek_first(&top);
    table_v2_handle ih, fh;
    int has_filter = 0;
    CHECK(top.valid);
    CHECK_KV(parted_top_entry(t, table_v2_kept_of(t), &top, &ih, &fh, &has_filter), KV_OK);
    CHECK(has_filter);
    block_iter_free(&top);
    table_unref(t);
    table_ctx_free(ctx);
    uint8_t *bytes;
    size_t n = tt_read_file(path, &bytes);
    bytes[fh.offset + fh.size / 2] ^= 0x5a;
    const char *bad = harness_join(dir, "bad.tbl");
    tt_write_file(bad, bytes, n);
    free(bytes);
    CHECK_KV(table_check(bad, "bad.tbl", tt_collect, &l), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(l.text, "bad.tbl: partition 0: the filter partition at") != NULL, "%s",
              l.text);
    tt_lines_clear(&l);
    CHECK_KV(table_dump(bad, "bad.tbl", tt_collect, &l), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(l.text, "# bad.tbl: partition 0: the filter partition at") != NULL, "%s",
              l.text);
    tt_lines_clear(&l);
    memtable_unref(m);
}

/* A top-level key below its partition's last separator, every checksum
 * right (a writer's bug, or a forged file): lookups of the partition's
 * last keys go to the next partition and miss them, so kv check, which
 * the walk of the joined index alone would pass, names it (P2). */
static void check_names_a_top_level_key_out_of_place(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(41, 200, 1, 40);
    table_ctx *ctx = pt_ctx(64, 0, 0); /* no filters: none to rule the keys out first */
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    table_v2_handle top = table_v2_kept_of(t)->index_h;
    CHECK(table_v2_kept_of(t)->index.nrestarts >= 3);
    table_unref(t);
    table_ctx_free(ctx);
    const char *path = harness_join(dir, "t.tbl");
    tt_lines l = {0};
    CHECK_KV(table_check(path, "t.tbl", tt_collect, &l), KV_OK);
    tt_lines_clear(&l);
    uint8_t *bytes;
    size_t n = tt_read_file(path, &bytes);
    /* The first entry of the top level: a restart point (shared 0), its
     * key's last user byte made smaller; then its block's crc32c. */
    uint8_t *e = bytes + top.offset;
    CHECK(e[0] == 0 && e[1] < 128 && e[2] < 128 && e[1] > IKEY_TRAILER_SIZE);
    e[3 + e[1] - IKEY_TRAILER_SIZE - 1]--;
    uint8_t *tr = bytes + top.offset + top.size;
    coding_put_u32(tr + 5, crc32c_extend(crc32c_value(bytes + top.offset, top.size), tr, 5));
    const char *bad = harness_join(dir, "bad.tbl");
    tt_write_file(bad, bytes, n);
    free(bytes);
    CHECK_KV(table_check(bad, "bad.tbl", tt_collect, &l), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(l.text, "bad.tbl: partition 0: the index partition at") != NULL &&
              strstr(l.text, "its last separator is not the top level's key") != NULL, "%s",
              l.text);
    tt_lines_clear(&l);
    memtable_unref(m);
}

typedef struct pt_salvaged {
    uint64_t entries;
    int losses;
} pt_salvaged;

static int pt_entry(void *ctx, const uint8_t *ikey, size_t ikey_len, const uint8_t *value,
                    size_t value_len)
{
    (void)ikey;
    (void)ikey_len;
    (void)value;
    (void)value_len;
    ((pt_salvaged *)ctx)->entries++;
    return KV_OK;
}

static void pt_loss(void *ctx, const table_loss *loss)
{
    (void)loss;
    ((pt_salvaged *)ctx)->losses++;
}

static void repair_salvages_a_whole_table_without_loss(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(31, 700, 3, 199);
    table_ctx *ctx = pt_ctx(128, 0, 0);
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    table_unref(t);
    table_ctx_free(ctx);
    pt_salvaged got = {0};
    table_salvage_info info;
    CHECK_KV(table_salvage(harness_join(dir, "t.tbl"), pt_entry, pt_loss, &got, &info), KV_OK);
    CHECK_EQ(got.entries, memtable_entries(m));
    CHECK_EQ(got.losses, 0);
    memtable_unref(m);
}

/* The option's range; a database of whole tables (the default) keeps
 * their indexes and filters open, and is read as it is once opened with
 * KV_PARTITIONS, whose compaction writes tables of partitions. */
static void whole_tables_then_partitions_by_compaction(void)
{
    const char *dir = NULL;
    kv_db *db = testdb_fresh(&dir);
    CLOSE(db);
    kv_options opt;
    kv_options_init(&opt);
    kv_db *bad = NULL;
    opt.table_partitions = 2;
    CHECK_KV(kv_open(dir, &opt, &bad), KV_ERR_INVALID);
    CHECK(strstr(kv_errmsg(), "table_partitions") != NULL);
    opt.table_partitions = -1;
    CHECK_KV(kv_open(dir, &opt, &bad), KV_ERR_INVALID);
    opt.table_partitions = 0;
    db = OPEN(dir, &opt);
    char key[32], val[64];
    for (int i = 0; i < 5000; i++) {
        int kn = snprintf(key, sizeof key, "key%05d", i);
        int vn = snprintf(val, sizeof val, "value %d", i);
        PUT(db, key, (size_t)kn, val, (size_t)vn);
    }
    CHECK_KV(kv_flush(db), KV_OK);
    double whole = testdb_stat(db, "table.meta_bytes");
    CLOSE(db);
    opt.table_partitions = KV_PARTITIONS;
    db = OPEN(dir, &opt);
    CHECK_EQ(testdb_stat(db, "table.meta_bytes"), whole);
    EXPECT(db, S("key01234"), S("value 1234"));
    ABSENT(db, S("key01234x"));
    /* New versions over the same keys, so the compaction merges (a table
     * with nothing to merge would move down as it is). */
    for (int i = 0; i < 5000; i += 2) {
        int kn = snprintf(key, sizeof key, "key%05d", i);
        int vn = snprintf(val, sizeof val, "value %d", i);
        PUT(db, key, (size_t)kn, val, (size_t)vn);
    }
    CHECK_KV(kv_flush(db), KV_OK);
    CHECK_KV(kv_compact(db), KV_OK);
    double parted = testdb_stat(db, "table.meta_bytes");
    CHECK_MSG(parted * 10 < whole, "after the compaction %.0f bytes kept, before %.0f", parted,
              whole);
    for (int i = 0; i < 5000; i += 97) {
        int kn = snprintf(key, sizeof key, "key%05d", i);
        int vn = snprintf(val, sizeof val, "value %d", i);
        EXPECT(db, key, (size_t)kn, val, (size_t)vn);
    }
    CLOSE(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(whole_tables_then_partitions_by_compaction),
    HARNESS_TEST(lookups_and_iteration_match_with_every_setting),
    HARNESS_TEST(a_key_across_partitions_is_found_at_every_sequence),
    HARNESS_TEST(version_one_tables_are_still_read),
    HARNESS_TEST(a_cold_lookup_reads_three_blocks_and_the_table_keeps_little),
    HARNESS_TEST(every_flip_of_the_partitions_and_kept_blocks_is_found),
    HARNESS_TEST(repair_salvages_a_whole_table_without_loss),
    HARNESS_TEST(dump_inspect_and_check_name_the_partitions),
    HARNESS_TEST(check_names_a_top_level_key_out_of_place),
};

const harness_suite parted_table_suite = HARNESS_SUITE("parted_table", tests);
