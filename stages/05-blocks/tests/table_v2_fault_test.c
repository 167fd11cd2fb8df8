/*
 * table_v2_fault_test.c: damage to a v2 table, as each reader meets it:
 * a damaged data block is KV_ERR_CORRUPT naming the file and the block's
 * offset, for a lookup, a scan, kv check (which goes on to the next
 * block) and kv dump; damage the checksums cannot see because they were
 * made to match (a trailer's type or raw size, lz4 contents, the footer's
 * numbers, the index, the filter, the properties) is refused by the
 * checks behind them; a cut file, and another stage's table, are refused
 * at open.  Stage 04's table_fault_test.c (which this stage runs too)
 * flips every byte, fails every I/O call and shares a table among threads.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../04-lsm/tests/table_test_util.h"
#include "crc32c.h"
#include "kv.h"
#include "memtable.h"
#include "io.h"
#include "table_v2_format.h"
#include "table_v2_test_util.h"

/* A table of 400 keys in small blocks (so there are many), built at
 * dir/name with the default compression and filter. */
static memtable *tv_many_blocks(const char *dir, const char *name, tv_file *f)
{
    memtable *m = tt_sequential_memtable(400, 60);
    table_ctx *ctx = tv_ctx(256, 0, 0);
    table_unref(tt_build_and_open(ctx, m, dir, name));
    table_ctx_free(ctx);
    tv_file_read(harness_join(dir, name), f);
    CHECK(f->nblocks > 10);
    return m;
}

/* Makes the checksum of the stored block at `at` (size bytes) match. */
static void tv_fix_block_crc(uint8_t *bytes, uint64_t at, uint32_t size)
{
    uint8_t *tr = bytes + at + size;
    coding_put_u32(tr + 5, crc32c_extend(crc32c_value(bytes + at, size), tr, 5));
}

static void tv_fix_footer_crc(uint8_t *bytes, size_t n)
{
    uint8_t *f = bytes + n - TABLE_V2_FOOTER;
    coding_put_u32(f + 44, crc32c_value(f, 44));
}

/* table_open of the bytes must fail with KV_ERR_CORRUPT and a message
 * naming the file and containing `says`. */
static void tv_expect_open_refused(const char *path, const uint8_t *bytes, size_t n,
                                   const char *says)
{
    tt_write_file(path, bytes, n);
    table_ctx *ctx = tt_ctx();
    table *t = NULL;
    CHECK_KV(table_open(ctx, path, &t), KV_ERR_CORRUPT);
    CHECK(t == NULL);
    CHECK_MSG(strstr(kv_errmsg(), path) != NULL && strstr(kv_errmsg(), says) != NULL,
              "message: %s (wanted \"%s\")", kv_errmsg(), says);
    table_ctx_free(ctx);
}

/* A lookup of key number k. */
static int tv_lookup(table *t, int k)
{
    char key[32];
    size_t klen = tt_key(key, k);
    ikey_lookup lk;
    table_get_result r;
    CHECK_KV(ikey_lookup_init(&lk, key, klen, IKEY_MAX_SEQ), KV_OK);
    int rc = table_get(t, &lk, &r);
    CHECK(rc != KV_OK || r.state == IKEY_FOUND);
    free(r.value);
    ikey_lookup_free(&lk);
    return rc;
}

static void damaged_data_block_is_named_by_file_and_offset(void)
{
    const char *dir = harness_tmpdir();
    tv_file f;
    memtable *m = tv_many_blocks(dir, "d.tbl", &f);
    const char *path = harness_join(dir, "d.tbl");
    tv_block *b = &f.blocks[3];
    f.bytes[b->offset + b->stored / 2] ^= 0x10;
    tt_write_file(path, f.bytes, f.size);
    char where[64];
    snprintf(where, sizeof where, "offset %" PRIu64 ":", b->offset);
    table_ctx *ctx = tt_ctx();
    table *t;
    CHECK_KV(table_open(ctx, path, &t), KV_OK); /* an open reads no data block */
    int damaged = 0;
    for (int k = 0; k < 400; k++) {
        int rc = tv_lookup(t, k);
        if (rc != KV_OK) {
            CHECK_KV(rc, KV_ERR_CORRUPT);
            CHECK_MSG(strstr(kv_errmsg(), path) && strstr(kv_errmsg(), where) &&
                      strstr(kv_errmsg(), "checksum"), "%s", kv_errmsg());
            damaged++;
        }
    }
    /* Only the keys of that block, every one of them. */
    CHECK(damaged > 0 && damaged < 400 / 5);
    iter *it;
    CHECK_KV(table_iter_new(t, &it), KV_OK);
    for (iter_seek_first(it); iter_valid(it); iter_next(it))
        ;
    CHECK_KV(iter_status(it), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), where) != NULL);
    iter_free(it);
    table_unref(t);
    /* kv check names the block and goes on to the others; kv dump stops. */
    tt_lines l = {0};
    CHECK_KV(table_check(path, "d.tbl", tt_collect, &l), KV_ERR_CORRUPT);
    CHECK(strstr(l.text, "block 3:") != NULL && strstr(l.text, where) != NULL);
    CHECK(strstr(l.text, ": CORRUPT") != NULL);
    tt_lines_clear(&l);
    CHECK_KV(table_dump(path, "d.tbl", tt_collect, &l), KV_ERR_CORRUPT);
    CHECK(strstr(l.text, "block 2 at") != NULL && strstr(l.text, "block 4 at") == NULL);
    tt_lines_clear(&l);
    table_ctx_free(ctx);
    tv_file_free(&f);
    memtable_unref(m);
}

/* Damage with a checksum made to match: the checks behind it refuse it. */
static void trailer_and_lz4_damage_behind_a_good_checksum(void)
{
    const char *dir = harness_tmpdir();
    tv_file f;
    memtable *m = tv_many_blocks(dir, "t.tbl", &f);
    const char *path = harness_join(dir, "t.tbl");
    size_t lz4 = 0;
    while (lz4 < f.nblocks && f.blocks[lz4].type != TABLE_V2_LZ4)
        lz4++;
    CHECK(lz4 < f.nblocks);
    tv_block *b = &f.blocks[lz4];
    uint8_t *orig = malloc(f.size);
    CHECK(orig != NULL);
    memcpy(orig, f.bytes, f.size);
    static const struct {
        int field;        /* 0 type, 1 raw size, 2 contents */
        uint32_t value;
        const char *says;
    } cases[] = {
        {0, 7, "compression type is unknown"},
        {1, 0, "raw size is impossible"},
        {1, 0x7fffffffu, "raw size is impossible"},
        {1, 1, "do not decompress"},
        {2, 0xff, "do not decompress"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        harness_context("case %zu", c);
        memcpy(f.bytes, orig, f.size);
        uint8_t *tr = f.bytes + b->offset + b->stored;
        if (cases[c].field == 0)
            tr[0] = (uint8_t)cases[c].value;
        else if (cases[c].field == 1)
            coding_put_u32(tr + 1, cases[c].value);
        else
            memset(f.bytes + b->offset, (int)cases[c].value, b->stored / 2);
        tv_fix_block_crc(f.bytes, b->offset, b->stored);
        tt_write_file(path, f.bytes, f.size);
        table_ctx *ctx = tt_ctx();
        table *t;
        CHECK_KV(table_open(ctx, path, &t), KV_OK);
        int refused = 0;
        for (int k = 0; k < 400; k++)
            if (tv_lookup(t, k) != KV_OK) {
                CHECK_MSG(strstr(kv_errmsg(), cases[c].says) != NULL, "%s", kv_errmsg());
                refused++;
            }
        CHECK(refused > 0);
        table_unref(t);
        table_ctx_free(ctx);
    }
    free(orig);
    tv_file_free(&f);
    memtable_unref(m);
}

/* A raw block whose restart array is damaged behind a good checksum:
 * every lookup of its keys refuses it, the second time as the first.  A
 * raw block of the mapping that passed its checks is searched in place
 * without its restart array read again (table_v2_checked.c), so the
 * check it remembers must cover that array: this one never passes. */
static void restart_damage_behind_a_good_checksum_is_refused_every_time(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_sequential_memtable(400, 60);
    table_ctx *ctx = tv_ctx(256, KV_COMPRESSION_NONE, 0);
    table_unref(tt_build_and_open(ctx, m, dir, "r.tbl"));
    table_ctx_free(ctx);
    const char *path = harness_join(dir, "r.tbl");
    tv_file f;
    tv_file_read(path, &f);
    CHECK(f.nblocks > 10);
    tv_block *b = &f.blocks[3];
    CHECK(b->type == TABLE_V2_RAW);
    /* The first restart offset (0 in every block) made 1. */
    uint8_t *contents = f.bytes + b->offset;
    block blk;
    CHECK(block_init(&blk, contents, b->stored) == NULL);
    coding_put_u32(contents + blk.entries_end, 1);
    tv_fix_block_crc(f.bytes, b->offset, b->stored);
    tt_write_file(path, f.bytes, f.size);
    ctx = tt_ctx();
    table *t;
    CHECK_KV(table_open(ctx, path, &t), KV_OK);
    int refused[2] = {0, 0};
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < 400; k++)
            if (tv_lookup(t, k) != KV_OK) {
                CHECK_MSG(strstr(kv_errmsg(), "first restart point") != NULL, "%s",
                          kv_errmsg());
                refused[pass]++;
            }
    CHECK(refused[0] > 0 && refused[1] == refused[0]);
    table_unref(t);
    table_ctx_free(ctx);
    tv_file_free(&f);
    memtable_unref(m);
}

static void footer_and_meta_damage_is_refused_at_open(void)
{
    const char *dir = harness_tmpdir();
    tv_file f;
    memtable *m = tv_many_blocks(dir, "f.tbl", &f);
    const char *path = harness_join(dir, "f.tbl");
    uint8_t *orig = malloc(f.size);
    CHECK(orig != NULL);
    memcpy(orig, f.bytes, f.size);
    uint8_t *foot = f.bytes + f.size - TABLE_V2_FOOTER;
    /* Without fixing the footer's checksum: it is caught. */
    foot[3] ^= 1;
    tv_expect_open_refused(path, f.bytes, f.size, "checksum");
    memcpy(f.bytes, orig, f.size);
    foot[33] ^= 1;
    tv_expect_open_refused(path, f.bytes, f.size, "KVS05TBL");
    /* With it fixed: the numbers are checked against the file. */
    static const struct {
        unsigned at;
        uint64_t value;
        int wide;
        const char *says;
    } cases[] = {
        {0, UINT64_MAX - 5, 1, "end of the data blocks"},
        {0, 10, 1, "end of the data blocks"},
        {8, 3, 1, "index handle"},
        {16, 0xffffff, 0, "index handle"},
        {20, UINT64_MAX, 1, "metaindex handle"},
        {40, 2, 0, "another version"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        harness_context("footer case %zu", c);
        memcpy(f.bytes, orig, f.size);
        if (cases[c].wide)
            coding_put_u64(foot + cases[c].at, cases[c].value);
        else
            coding_put_u32(foot + cases[c].at, (uint32_t)cases[c].value);
        tv_fix_footer_crc(f.bytes, f.size);
        tv_expect_open_refused(path, f.bytes, f.size, cases[c].says);
    }
    /* A flipped byte in the index, caught by its checksum. */
    memcpy(f.bytes, orig, f.size);
    f.bytes[f.index_at + 2] ^= 0x20;
    char where[64];
    snprintf(where, sizeof where, "offset %" PRIu64 ": the index block", f.index_at);
    tv_expect_open_refused(path, f.bytes, f.size, where);
    /* An index whose restart count says one less, made to look intact. */
    memcpy(f.bytes, orig, f.size);
    uint32_t isize = coding_get_u32(foot + 16);
    uint8_t *ix = f.bytes + f.index_at;
    coding_put_u32(ix + isize - 4, coding_get_u32(ix + isize - 4) - 1);
    tv_fix_block_crc(f.bytes, f.index_at, isize);
    tv_expect_open_refused(path, f.bytes, f.size, "the index block: the first restart point");
    /* The filter, then the properties: a flip is caught by their
     * checksums, which lie in the meta region an open reads whole. */
    memcpy(f.bytes, orig, f.size);
    f.bytes[f.data_end + 5] ^= 0x01;
    tv_expect_open_refused(path, f.bytes, f.size, "the filter block");
    free(orig);
    tv_file_free(&f);
    memtable_unref(m);
}

static void cut_files_and_other_formats_are_refused(void)
{
    const char *dir = harness_tmpdir();
    tv_file f;
    memtable *m = tv_many_blocks(dir, "c.tbl", &f);
    const char *path = harness_join(dir, "c.tbl");
    static const size_t cuts[] = {0, 5, 16, 40, 100, 1000};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        harness_context("cut to %zu", cuts[i]);
        tv_expect_open_refused(path, f.bytes, cuts[i], "offset");
    }
    tv_expect_open_refused(path, f.bytes, f.size - 1, "KVS05TBL");
    tv_expect_open_refused(path, f.bytes, f.size - TABLE_V2_FOOTER, "KVS05TBL");
    /* A stage-04 table in its place: its header says what it is. */
    uint8_t v1[64];
    file_header_encode(v1, FILE_MAGIC_TBL04, 1);
    memset(v1 + 16, 0, sizeof v1 - 16);
    tv_expect_open_refused(path, v1, sizeof v1, "a stage-04 table, not a stage-05 table");
    tv_file_free(&f);
    memtable_unref(m);
}

/* Damage only kv check looks for: a filter that rules out keys the table
 * holds, properties that miscount. */
static void check_finds_what_lookups_do_not_look_for(void)
{
    const char *dir = harness_tmpdir();
    tv_file f;
    memtable *m = tv_many_blocks(dir, "k.tbl", &f);
    const char *path = harness_join(dir, "k.tbl");
    tt_lines l = {0};
    CHECK_KV(table_check(path, "k.tbl", tt_collect, &l), KV_OK);
    CHECK(strstr(l.text, ": ok") != NULL);
    tt_lines_clear(&l);
    /* The filter with every bit clear (its k kept). */
    table_ctx *ctx = tt_ctx();
    table *t;
    CHECK_KV(table_open(ctx, path, &t), KV_OK);
    table_v2_handle fh = t->filter_h, ph = t->props_h;
    table_unref(t);
    table_ctx_free(ctx);
    uint8_t *orig = malloc(f.size);
    CHECK(orig != NULL);
    memcpy(orig, f.bytes, f.size);
    memset(f.bytes + fh.offset, 0, fh.size - 1);
    tv_fix_block_crc(f.bytes, fh.offset, fh.size);
    tt_write_file(path, f.bytes, f.size);
    CHECK_KV(table_check(path, "k.tbl", tt_collect, &l), KV_ERR_CORRUPT);
    CHECK(strstr(l.text, "the filter rules out the key") != NULL);
    tt_lines_clear(&l);
    /* One entry too many in the properties. */
    memcpy(f.bytes, orig, f.size);
    coding_put_u64(f.bytes + ph.offset, coding_get_u64(f.bytes + ph.offset) + 1);
    tv_fix_block_crc(f.bytes, ph.offset, ph.size);
    tt_write_file(path, f.bytes, f.size);
    CHECK_KV(table_check(path, "k.tbl", tt_collect, &l), KV_ERR_CORRUPT);
    CHECK(strstr(l.text, "the properties count 401 entries") != NULL);
    tt_lines_clear(&l);
    free(orig);
    tv_file_free(&f);
    memtable_unref(m);
}

static void dump_shows_blocks_filter_and_compression(void)
{
    const char *dir = harness_tmpdir();
    tv_file f;
    memtable *m = tv_many_blocks(dir, "s.tbl", &f);
    tt_lines l = {0};
    CHECK_KV(table_dump(harness_join(dir, "s.tbl"), "s.tbl", tt_collect, &l), KV_OK);
    static const char *const want[] = {
        "# s.tbl: table v2, ", "400 entries (0 tombstones) in ", "# smallest key: \"key00000\"",
        "# filter at ", "7 hashes", "bits set (fill ", "10.0 bits per entry",
        "# properties at ", "block 0 at 16: ", " restart points; index key ",
        "seq=1 put value_len=60 value=\"", "# s.tbl: data blocks: ",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK_MSG(strstr(l.text, want[i]) != NULL, "no \"%s\" in the dump", want[i]);
    /* One line per entry, one per block, six about the table. */
    CHECK_EQ(l.count, 400 + f.nblocks + 6);
    tt_lines_clear(&l);
    tv_file_free(&f);
    memtable_unref(m);
}

/* With one file open at most, reading another table closes the first
 * table's file; an iterator keeps its own open, so it reads on after the
 * file is deleted (table.h: an iterator holds its table). */
static void an_iterator_reads_on_after_its_file_is_deleted(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt;
    kv_options_init(&opt);
    opt.max_open_files = 1;
    opt.block_bytes = 256;
    table_ctx *ctx;
    CHECK_KV(table_ctx_new(&opt, &ctx), KV_OK);
    memtable *m = tt_sequential_memtable(300, 60);
    table *a = tt_build_and_open(ctx, m, dir, "a.tbl");
    table *b = tt_build_and_open(ctx, m, dir, "b.tbl");
    iter *it, *want;
    CHECK_KV(table_iter_new(a, &it), KV_OK);
    table_unref(a);
    CHECK_KV(io_unlink(harness_join(dir, "a.tbl")), KV_OK);
    for (int k = 0; k < 300; k += 10)
        CHECK_KV(tv_lookup(b, k), KV_OK); /* b's file is the one open */
    CHECK_KV(memtable_iter_new(m, &want), KV_OK);
    tt_expect_same_iteration(want, it);
    iter_free(want);
    iter_free(it);
    table_unref(b);
    table_ctx_free(ctx);
    memtable_unref(m);
}

static const harness_test table_v2_fault_tests[] = {
    HARNESS_TEST(damaged_data_block_is_named_by_file_and_offset),
    HARNESS_TEST(trailer_and_lz4_damage_behind_a_good_checksum),
    HARNESS_TEST(restart_damage_behind_a_good_checksum_is_refused_every_time),
    HARNESS_TEST(footer_and_meta_damage_is_refused_at_open),
    HARNESS_TEST(cut_files_and_other_formats_are_refused),
    HARNESS_TEST(check_finds_what_lookups_do_not_look_for),
    HARNESS_TEST(dump_shows_blocks_filter_and_compression),
    HARNESS_TEST(an_iterator_reads_on_after_its_file_is_deleted),
};

const harness_suite table_v2_fault_suite = HARNESS_SUITE("table_v2_fault", table_v2_fault_tests);
