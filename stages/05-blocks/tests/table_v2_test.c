/*
 * table_v2_test.c: table format v2 through table.h: what is built is read
 * back exactly (lookups at every sequence, iteration both ways, seeks),
 * with every block size, compression and filter setting; a lookup reads
 * one block or none; lz4 only where it saves an eighth; blocks within
 * block_bytes; separators between blocks; options out of range refused.
 * What every format promises is stage 04's table_contract_test.c and
 * table_fault_test.c, which this stage runs too; damage as v2 names it,
 * kv check and kv dump: table_v2_fault_test.c.
 */
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../04-lsm/tests/table_test_util.h"
#include "kv.h"
#include "memtable.h"
#include "table_v2_format.h"
#include "table_v2_test_util.h"

/* table_contract_test.c's lookups, in blocks of several sizes. */
static void lookups_match_in_blocks_of_every_size(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(7, 300, 3, 199);
    static const size_t sizes[] = {64, 512, 4096};
    for (size_t s = 0; s < 3; s++) {
        harness_context("block_bytes %zu", sizes[s]);
        table_ctx *ctx = tv_ctx(sizes[s], s == 1 ? KV_COMPRESSION_NONE : 0, 0);
        table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
        tt_expect_same_lookups(m, t, 600);
        table_unref(t);
        table_ctx_free(ctx);
    }
    memtable_unref(m);
}

/* table_contract_test.c's iteration, with each block size, compression
 * and filter setting. */
static void iteration_matches_with_every_setting(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(11, 2000, 4, 199);
    for (int v = 0; v < 4; v++) {
        harness_context("variant %d", v);
        table_ctx *ctx = tv_ctx(v < 2 ? 64 : 0, v % 2 ? KV_COMPRESSION_NONE : 0,
                                v == 3 ? KV_NO_BLOOM : 0);
        table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
        iter *a, *b;
        CHECK_KV(memtable_iter_new(m, &a), KV_OK);
        CHECK_KV(table_iter_new(t, &b), KV_OK);
        table_unref(t); /* the iterator keeps the table open */
        tt_expect_same_iteration(a, b);
        iter_free(a);
        iter_free(b);
        table_ctx_free(ctx);
    }
    memtable_unref(m);
}

/* A lookup of key k at the newest sequence: its reads. */
static unsigned tv_get_reads(table *t, int k, ikey_lookup_state want)
{
    char key[32];
    size_t klen = tt_key(key, k);
    ikey_lookup lk;
    table_get_result r;
    CHECK_KV(ikey_lookup_init(&lk, key, klen, IKEY_MAX_SEQ), KV_OK);
    CHECK_KV(table_get(t, &lk, &r), KV_OK);
    CHECK_EQ(r.state, want);
    free(r.value);
    ikey_lookup_free(&lk);
    return r.reads;
}

static void a_lookup_reads_one_block_or_none(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_sequential_memtable(2000, 100);
    table_ctx *ctx = tt_ctx();
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    table_unref(t);
    /* A fresh context: an empty block cache. */
    table_ctx_free(ctx);
    ctx = tt_ctx();
    CHECK_KV(table_open(ctx, harness_join(dir, "t.tbl"), &t), KV_OK);
    unsigned reads = 0;
    for (int k = 0; k < 2000; k += 7) {
        harness_context("key %d", k);
        unsigned first = tv_get_reads(t, k, IKEY_FOUND);
        CHECK(first <= 1);   /* its block: one read, or none if cached */
        CHECK(k > 0 || first == 1);
        CHECK_EQ(tv_get_reads(t, k, IKEY_FOUND), 0);  /* now cached */
        reads += first;
    }
    /* One read per block, each put in the cache. */
    CHECK(reads > 1);
    CHECK_EQ(tv_stat(ctx, "session.table.blocks_read"), reads);
    CHECK_EQ(tv_stat(ctx, "session.block_cache.inserts"), reads);
    /* Keys outside the table's range cost nothing, not even the filter. */
    CHECK_EQ(tv_get_reads(t, 5000, IKEY_ABSENT), 0);
    double gets = tv_stat(ctx, "session.table.gets");
    CHECK_EQ(tv_get_reads(t, -1, IKEY_ABSENT), 0);
    CHECK_EQ(tv_stat(ctx, "session.table.gets"), gets);
    table_unref(t);
    table_ctx_free(ctx);
    memtable_unref(m);
}

/* doorkeeper.h: a cache much smaller than the table takes a block on its
 * second miss; the blocks it turns away answer lookups just the same. */
static void a_small_cache_turns_blocks_away_and_lookups_stay_right(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(11, 3000, 2, 150);
    kv_options opt;
    kv_options_init(&opt);
    opt.cache_bytes = 128 * 1024;
    table_ctx *ctx;
    CHECK_KV(table_ctx_new(&opt, &ctx), KV_OK);
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    /* Twice over every key and sequence: the second pass finds the cache
     * full and its blocks asked for once before. */
    tt_expect_same_lookups(m, t, 6000);
    tt_expect_same_lookups(m, t, 6000);
    CHECK(tv_stat(ctx, "session.block_cache.evictions") > 0);
    CHECK(tv_stat(ctx, "session.block_cache.declined") > 0);
    CHECK(tv_stat(ctx, "session.block_cache.inserts") > 0);
    table_unref(t);
    table_ctx_free(ctx);
    memtable_unref(m);
}

/* kv_options.map_tables: by default a table's file is mapped (where the
 * backend can: file_cache.h, F4) and table_cache.mapped_bytes counts it;
 * with KV_NO_MAP nothing is mapped, every block comes by a positioned read
 * into the cache or a lookup's buffer, and lookups answer the same, cache
 * big or small. */
static void unmapped_tables_answer_by_positioned_reads(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(17, 3000, 2, 150);
    table_ctx *ctx = tt_ctx();
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    tt_expect_same_lookups(m, t, 6000);
    CHECK_EQ(tv_stat(ctx, "table_cache.mapped_bytes"), table_file_bytes(t));
    table_unref(t);
    CHECK_EQ(tv_stat(ctx, "table_cache.mapped_bytes"), 0); /* closed with its table */
    table_ctx_free(ctx);
    for (size_t cache = 128 * 1024; cache <= 8u << 20; cache *= 64) {
        harness_context("cache_bytes %zu", cache);
        kv_options opt;
        kv_options_init(&opt);
        opt.map_tables = KV_NO_MAP;
        opt.cache_bytes = cache;
        CHECK_KV(table_ctx_new(&opt, &ctx), KV_OK);
        CHECK_KV(table_open(ctx, harness_join(dir, "t.tbl"), &t), KV_OK);
        double reads = tv_stat(ctx, "session.table.reads");
        tt_expect_same_lookups(m, t, 6000);
        tt_expect_same_lookups(m, t, 6000);
        CHECK_EQ(tv_stat(ctx, "table_cache.mapped_bytes"), 0);
        CHECK(tv_stat(ctx, "session.table.reads") - reads >=
              tv_stat(ctx, "session.table.blocks_read"));
        CHECK(tv_stat(ctx, "session.table.blocks_read") > 0);
        table_unref(t);
        table_ctx_free(ctx);
    }
    memtable_unref(m);
}

/* A lookup in a block the full cache turned away, decoded only as far as
 * its answer (table_v2_scan.c), answers as the whole block's search does:
 * present keys at every sequence, absent keys past a block's last entry
 * (no filter, so they reach the block; the walk then hands the block to
 * the whole search), keys too long for the walk's buffer, and blocks
 * stored raw, searched where they lie: in the file's mapping, or, with
 * map_tables = KV_NO_MAP, in the lookup's read buffer. */
static void a_turned_away_block_answers_as_the_whole_block_does(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(5, 3000, 3, 150);
    uint64_t seq = memtable_entries(m);
    char longkey[400];
    uint8_t val[120];
    for (int k = 1; k < 6000; k += 97) {
        size_t klen = tt_key(longkey, k);
        memset(longkey + klen, 'x', 300);
        for (size_t j = 0; j < sizeof val; j++)
            val[j] = (uint8_t)(k + j % 40);
        CHECK_KV(memtable_add(m, ++seq, IKEY_PUT, longkey, klen + 300, val, sizeof val), KV_OK);
    }
    for (int run = 0; run < 4; run++) {
        int v = run & 1, unmapped = run >> 1;
        harness_context("compression %s%s", v ? "none" : "lz4", unmapped ? ", unmapped" : "");
        kv_options opt;
        kv_options_init(&opt);
        opt.cache_bytes = 64 * 1024;
        opt.bloom_bits_per_key = KV_NO_BLOOM;
        opt.compression = v ? KV_COMPRESSION_NONE : 0;
        opt.map_tables = unmapped ? KV_NO_MAP : 0;
        table_ctx *ctx;
        CHECK_KV(table_ctx_new(&opt, &ctx), KV_OK);
        const char *names[] = {"lz4.tbl", "raw.tbl", "lz4-unmapped.tbl", "raw-unmapped.tbl"};
        table *t = tt_build_and_open(ctx, m, dir, names[run]);
        CHECK(!unmapped || tv_stat(ctx, "table_cache.mapped_bytes") == 0);
        for (int pass = 0; pass < 2; pass++) {
            tt_expect_same_lookups(m, t, 6000);
            for (int k = 0; k < 6000; k += 97) {
                size_t klen = tt_key(longkey, k);
                memset(longkey + klen, 'x', 300);
                for (uint64_t s = 0; s <= seq + 1; s += 1 + s / 3) {
                    harness_context("compression %s%s, long key %d at %llu",
                                    v ? "none" : "lz4", unmapped ? ", unmapped" : "", k,
                                    (unsigned long long)s);
                    tt_expect_same(m, t, longkey, klen + 300, s);
                }
            }
        }
        if (v && !unmapped) /* raw blocks of the mapping: searched in place, never cached */
            CHECK_EQ(tv_stat(ctx, "session.block_cache.inserts"), 0u);
        else
            CHECK(tv_stat(ctx, "session.block_cache.declined") > 0);
        table_unref(t);
        table_ctx_free(ctx);
    }
    memtable_unref(m);
}

static void filtered_misses_read_nothing(void)
{
    const char *dir = harness_tmpdir();
    /* Keys of even number are in the table; odd ones are not. */
    memtable *m = tt_random_memtable(3, 4000, 1, 50);
    table_ctx *ctx = tt_ctx();
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    unsigned reads = 0;
    for (int k = 1; k < 8000; k += 2)
        reads += tv_get_reads(t, k, IKEY_ABSENT);
    /* Each lookup the filter let through read its one block (or found it
     * cached); the rest read nothing.  At 10 bits per key, about 1% get
     * through. */
    double passed = tv_stat(ctx, "session.table.filter_false_positives");
    CHECK_EQ(tv_stat(ctx, "session.table.filter_useful") + passed, tv_stat(ctx, "session.table.gets"));
    CHECK(reads <= passed);
    CHECK_MSG(passed < 4000 * 0.03, "%.0f of 4000 absent keys passed the filter", passed);
    table_unref(t);
    table_ctx_free(ctx);
    /* Without a filter every absent key in range reads (or finds cached)
     * its block. */
    ctx = tv_ctx(0, 0, KV_NO_BLOOM);
    t = tt_build_and_open(ctx, m, dir, "n.tbl");
    for (int k = 1; k < 8000; k += 2)
        tv_get_reads(t, k, IKEY_ABSENT);
    CHECK_EQ(tv_stat(ctx, "session.table.filter_useful"), 0);
    CHECK_EQ(tv_stat(ctx, "session.table.blocks_per_get"), 1);
    table_unref(t);
    table_ctx_free(ctx);
    memtable_unref(m);
}

/* Builds a table of 500 entries whose values are made by fill(i, value). */
/* table_get_last (table.h) asks the filter unless the context's
 * filters_for_hits is 1 (by default, and with KV_FILTERS_ALWAYS, it is
 * asked); table_get asks it always.  The answers are the same: present
 * keys found, absent ones not, the filter asked or not. */
static void the_last_tables_filter_is_skipped_only_when_asked(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(5, 1000, 4, 50);
    int settings[] = {0, 1, KV_FILTERS_ALWAYS};
    for (size_t s = 0; s < 3; s++) {
        harness_context("filters_for_hits %d", settings[s]);
        kv_options opt;
        kv_options_init(&opt);
        opt.filters_for_hits = settings[s];
        table_ctx *ctx = NULL;
        CHECK_KV(table_ctx_new(&opt, &ctx), KV_OK);
        table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
        unsigned asked[2] = {0, 0}, searched[2] = {0, 0}, in_range = 0;
        for (int k = 0; k < 2000; k++) {
            char key[32];
            size_t klen = tt_key(key, k);
            ikey_lookup lk;
            CHECK_KV(ikey_lookup_init(&lk, key, klen, IKEY_MAX_SEQ), KV_OK);
            ikey_lookup_state first = IKEY_ABSENT;
            for (int last = 0; last < 2; last++) {
                table_get_result r;
                CHECK_KV(last ? table_get_last(t, &lk, &r) : table_get(t, &lk, &r), KV_OK);
                /* Odd keys were never written. */
                CHECK(k % 2 == 0 || r.state == IKEY_ABSENT);
                if (last)
                    CHECK_EQ(r.state, first);
                first = r.state;
                asked[last] += r.filter_asked;
                in_range += !last && r.in_range;
                searched[last] += k % 2 == 1 && r.searched;
                free(r.value);
            }
            ikey_lookup_free(&lk);
        }
        CHECK(in_range >= 1990); /* the keys past the largest are not */
        CHECK_EQ(asked[0], in_range);
        CHECK_EQ(asked[1], settings[s] == 1 ? 0 : in_range);
        /* Asked, the filter turns most absent keys away (10 bits a key:
         * about 1% pass); skipped, every one in range is searched. */
        CHECK(searched[0] < 1000 * 3 / 100);
        CHECK(settings[s] == 1 ? searched[1] >= 990 : searched[1] == searched[0]);
        table_unref(t);
        table_ctx_free(ctx);
    }
    memtable_unref(m);
}

static void tv_build_values(table_ctx *ctx, const char *path, void (*fill)(int, uint8_t *))
{
    table_builder *b;
    CHECK_KV(table_builder_new(ctx, path, &b), KV_OK);
    for (int i = 0; i < 500; i++) {
        char u[16];
        uint8_t k[32], v[100];
        int ul = snprintf(u, sizeof u, "v%06d", i);
        ikey_encode(k, u, (size_t)ul, 1, IKEY_PUT);
        fill(i, v);
        CHECK_KV(table_builder_add(b, k, (size_t)ul + 8, v, sizeof v), KV_OK);
    }
    CHECK_KV(table_builder_finish(b, NULL), KV_OK);
}

static void tv_fill_half_repeated(int i, uint8_t *v)
{
    for (int j = 0; j < 50; j++)
        v[j] = v[j + 50] = (uint8_t)(' ' + (i * 7 + j * 13) % 95);
}

static void tv_fill_random(int i, uint8_t *v)
{
    uint64_t s = (uint64_t)i * 2654435761u + 12345;
    for (int j = 0; j < 100; j++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v[j] = (uint8_t)s;
    }
}

/* Every lz4 block saves at least an eighth; when compressing, every raw
 * block is one lz4 could not shrink that much.  Returns the number of lz4
 * blocks. */
static size_t tv_check_compression(const char *path, int compressing)
{
    tv_file f;
    tv_file_read(path, &f);
    size_t lz4 = 0;
    for (size_t i = 0; i < f.nblocks; i++) {
        tv_block *b = &f.blocks[i];
        size_t limit = b->raw - (b->raw + 7) / 8;
        uint8_t *raw = tv_block_contents(&f, i);
        char *out = malloc(limit);
        CHECK(out != NULL);
        int n = LZ4_compress_default((const char *)raw, out, (int)b->raw, (int)limit);
        if (b->type == TABLE_V2_LZ4) {
            CHECK(b->stored <= limit);
            lz4++;
        } else {
            CHECK_EQ(b->stored, b->raw);
            CHECK_MSG(!compressing || n == 0, "block %zu: lz4 would save an eighth (%d of %u)", i, n, b->raw);
        }
        free(out);
        free(raw);
    }
    tv_file_free(&f);
    return lz4;
}

static void lz4_only_where_it_saves_an_eighth(void)
{
    const char *dir = harness_tmpdir();
    table_ctx *ctx = tt_ctx();
    const char *half = harness_join(dir, "half.tbl"), *rnd = harness_join(dir, "rand.tbl");
    tv_build_values(ctx, half, tv_fill_half_repeated);
    tv_build_values(ctx, rnd, tv_fill_random);
    CHECK(tv_check_compression(half, 1) > 0);
    CHECK_EQ(tv_check_compression(rnd, 1), 0); /* incompressible: stored raw */
    table_ctx_free(ctx);
    /* compression = none: nothing compressed, and the file is larger. */
    ctx = tv_ctx(0, KV_COMPRESSION_NONE, 0);
    const char *none = harness_join(dir, "none.tbl");
    tv_build_values(ctx, none, tv_fill_half_repeated);
    CHECK_EQ(tv_check_compression(none, 0), 0);
    uint8_t *bytes;
    size_t n_none = tt_read_file(none, &bytes);
    free(bytes);
    size_t n_half = tt_read_file(half, &bytes);
    free(bytes);
    CHECK(n_half < n_none * 3 / 4);
    table_ctx_free(ctx);
}

static void blocks_stay_within_block_bytes_and_separators_between_them(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(5, 3000, 2, 150);
    table_ctx *ctx = tv_ctx(512, KV_COMPRESSION_NONE, 0);
    table *t = tt_build_and_open(ctx, m, dir, "s.tbl");
    table_unref(t);
    tv_file f;
    tv_file_read(harness_join(dir, "s.tbl"), &f);
    CHECK(f.nblocks > 20);
    uint64_t at = TABLE_V2_DATA_AT;
    for (size_t i = 0; i < f.nblocks; i++) {
        tv_block *b = &f.blocks[i];
        harness_context("block %zu", i);
        CHECK_EQ(b->offset, at); /* the blocks tile the data region */
        at += b->stored + TABLE_V2_TRAILER;
        CHECK(b->raw <= 512);
        /* Its keys lie at or below its separator, above the previous. */
        uint8_t *raw = tv_block_contents(&f, i);
        block blk;
        CHECK(block_init(&blk, raw, b->raw) == NULL);
        block_iter it = {0};
        block_iter_init(&it, &blk, TABLE_V2_IKEY_MIN);
        block_iter_seek_last(&it);
        CHECK(it.valid);
        CHECK(ikey_compare(it.key, it.key_len, b->sep, b->sep_len) <= 0);
        CHECK(b->sep_len <= it.key_len);
        block_iter_seek_first(&it);
        if (i > 0)
            CHECK(ikey_compare(it.key, it.key_len, f.blocks[i - 1].sep,
                               f.blocks[i - 1].sep_len) > 0);
        block_iter_free(&it);
        free(raw);
    }
    CHECK_EQ(at, f.data_end);
    tv_file_free(&f);
    table_ctx_free(ctx);
    memtable_unref(m);
}

/* Blocks of one entry each, keys "a" + 40 x "q", "b" + 40 x "q", ...: the
 * separator after "aqqq..q" (below "bqq..q") is "ar" and the smallest
 * trailer: 2 + 8 bytes where the keys take 49.  The last block's is the
 * largest key itself. */
static void separators_are_as_short_as_the_keys_allow(void)
{
    const char *dir = harness_tmpdir();
    const char *path = harness_join(dir, "p.tbl");
    table_ctx *ctx = tv_ctx(64, KV_COMPRESSION_NONE, 0);
    table_builder *b;
    CHECK_KV(table_builder_new(ctx, path, &b), KV_OK);
    for (int i = 0; i < 20; i++) {
        uint8_t k[64], v[40] = {0};
        char u[48];
        memset(u, 'q', 41);
        u[0] = (char)('a' + i);
        ikey_encode(k, u, 41, 1, IKEY_PUT);
        CHECK_KV(table_builder_add(b, k, 49, v, sizeof v), KV_OK);
    }
    CHECK_KV(table_builder_finish(b, NULL), KV_OK);
    tv_file f;
    tv_file_read(path, &f);
    CHECK_EQ(f.nblocks, 20);
    for (size_t i = 0; i + 1 < 20; i++) {
        CHECK_EQ(f.blocks[i].sep_len, 10);
        CHECK_EQ(f.blocks[i].sep[0], 'a' + (int)i);
        CHECK_EQ(f.blocks[i].sep[1], 'r');
        CHECK_EQ(ikey_seq(f.blocks[i].sep, 10), IKEY_MAX_SEQ);
    }
    CHECK_EQ(f.blocks[19].sep_len, 49);
    tv_file_free(&f);
    table *t;
    CHECK_KV(table_open(ctx, path, &t), KV_OK);
    for (int i = 0; i < 20; i++) { /* each lookup lands in its own block */
        char u[48];
        memset(u, 'q', 41);
        u[0] = (char)('a' + i);
        ikey_lookup lk;
        table_get_result r;
        CHECK_KV(ikey_lookup_init(&lk, u, 41, 1), KV_OK);
        CHECK_KV(table_get(t, &lk, &r), KV_OK);
        CHECK_EQ(r.state, IKEY_FOUND);
        free(r.value);
        ikey_lookup_free(&lk);
    }
    table_unref(t);
    table_ctx_free(ctx);
}

static void options_out_of_range_are_refused(void)
{
    static const struct {
        size_t block_bytes;
        int compression, bloom, files;
        const char *named;
    } bad[] = {
        {63, 0, 0, 0, "block_bytes"},
        {(1u << 20) + 1, 0, 0, 0, "block_bytes"},
        {0, 4, 0, 0, "compression"},
        {0, -1, 0, 0, "compression"},
        {0, 0, -2, 0, "bloom_bits_per_key"},
        {0, 0, 65, 0, "bloom_bits_per_key"},
        {0, 0, 0, -1, "max_open_files"},
    };
    const char *dir = harness_tmpdir();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        harness_context("case %zu", i);
        kv_options opt;
        kv_options_init(&opt);
        opt.block_bytes = bad[i].block_bytes;
        opt.compression = bad[i].compression;
        opt.bloom_bits_per_key = bad[i].bloom;
        opt.max_open_files = bad[i].files;
        table_ctx *ctx = NULL;
        CHECK_KV(table_ctx_new(&opt, &ctx), KV_ERR_INVALID);
        CHECK(ctx == NULL);
        CHECK(strstr(kv_errmsg(), bad[i].named) != NULL);
        /* kv_open refuses them before it makes the directory. */
        kv_db *db = NULL;
        const char *path = harness_join(dir, "db");
        CHECK_KV(kv_open(path, &opt, &db), KV_ERR_INVALID);
        CHECK(strstr(kv_errmsg(), bad[i].named) != NULL);
        int exists = 1;
        CHECK_KV(io_exists(path, &exists), KV_OK);
        CHECK(!exists);
    }
    /* filters_for_hits is 0, 1 or KV_FILTERS_ALWAYS. */
    for (int hits = -2; hits <= 2; hits += 4) {
        harness_context("filters_for_hits %d", hits);
        kv_options opt;
        kv_options_init(&opt);
        opt.filters_for_hits = hits;
        table_ctx *ctx = NULL;
        CHECK_KV(table_ctx_new(&opt, &ctx), KV_ERR_INVALID);
        CHECK(ctx == NULL);
        CHECK(strstr(kv_errmsg(), "filters_for_hits") != NULL);
    }
    /* map_tables is 0 or KV_NO_MAP. */
    for (int map = -2; map <= 1; map += 3) {
        harness_context("map_tables %d", map);
        kv_options opt;
        kv_options_init(&opt);
        opt.map_tables = map;
        table_ctx *ctx = NULL;
        CHECK_KV(table_ctx_new(&opt, &ctx), KV_ERR_INVALID);
        CHECK(ctx == NULL);
        CHECK(strstr(kv_errmsg(), "map_tables") != NULL);
    }
    /* The edges of each range are accepted. */
    kv_options opt;
    kv_options_init(&opt);
    opt.block_bytes = 64;
    opt.bloom_bits_per_key = 64;
    opt.compression = KV_COMPRESSION_LZ4;
    opt.max_open_files = 1;
    opt.cache_bytes = 1;
    table_ctx *ctx;
    CHECK_KV(table_ctx_new(&opt, &ctx), KV_OK);
    table_ctx_free(ctx);
}

/* The table of docs/05-blocks.md's worked example, byte for byte. */
static void bytes_match_the_worked_example(void)
{
    const char *dir = harness_tmpdir();
    table_ctx *ctx = tv_ctx(80, 0, 0);
    table_builder *b;
    const char *path = harness_join(dir, "x.tbl");
    CHECK_KV(table_builder_new(ctx, path, &b), KV_OK);
    static const struct {
        const char *key, *value;
        uint64_t seq;
    } e[] = {{"apple", "red", 4}, {"apricot", "orange", 3}, {"banana", NULL, 2},
             {"blueberry", "blue", 1}};
    for (size_t i = 0; i < 4; i++) {
        uint8_t k[32];
        size_t ulen = strlen(e[i].key);
        ikey_encode(k, e[i].key, ulen, e[i].seq, e[i].value ? IKEY_PUT : IKEY_DELETE);
        CHECK_KV(table_builder_add(b, k, ulen + 8, (const uint8_t *)e[i].value,
                                   e[i].value ? strlen(e[i].value) : 0), KV_OK);
    }
    CHECK_KV(table_builder_finish(b, NULL), KV_OK);
    tt_expect_file_hex(path, TV_WORKED_EXAMPLE_HEX);
    table_ctx_free(ctx);
}

/* Keys that share 13 bytes, then 8 equal bytes within each group of 20
 * (so index fences tie: table_v2_fences.c), then a number; plus keys that
 * are prefixes of them and keys between: every lookup, present or absent,
 * at every sequence, answers as the memtable does, in blocks of 64 bytes
 * (an index entry per key or two) and of 4 KiB, stored raw and lz4. */
static void fences_narrow_the_index_and_lookups_stay_right(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = NULL;
    CHECK_KV(memtable_new(1 << 20, &m), KV_OK);
    char key[64];
    uint64_t seq = 0;
    const char *extra[] = {"fence", "fence-shared-", "fence-shared-0", "fence-shared-g007"};
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++)
        CHECK_KV(memtable_add(m, ++seq, IKEY_PUT, extra[i], strlen(extra[i]), "e", 1), KV_OK);
    for (int k = 0; k < 400; k++) {
        int n = snprintf(key, sizeof key, "fence-shared-g%03dTIEDTIED%05d", k / 20, k * 7);
        CHECK_KV(memtable_add(m, ++seq, k % 9 == 0 ? IKEY_DELETE : IKEY_PUT, key, (size_t)n,
                              "v", 1), KV_OK);
        if (k % 3 == 0) /* a newer version of some */
            CHECK_KV(memtable_add(m, 5000 + (uint64_t)k, IKEY_PUT, key, (size_t)n, "w", 1), KV_OK);
    }
    for (int run = 0; run < 4; run++) {
        harness_context("block_bytes %d, %s", run & 1 ? 4096 : 64, run & 2 ? "lz4" : "raw");
        table_ctx *ctx = tv_ctx(run & 1 ? 4096 : 64, run & 2 ? 0 : KV_COMPRESSION_NONE, 0);
        char name[32];
        snprintf(name, sizeof name, "fences%d.tbl", run);
        table *t = tt_build_and_open(ctx, m, dir, name);
        for (int k = -1; k < 402; k++)
            for (int d = -1; d <= 1; d++) {
                int n = snprintf(key, sizeof key, "fence-shared-g%03dTIEDTIED%05d",
                                 (k < 0 ? 0 : k) / 20, k * 7 + d);
                for (uint64_t s = 0; s <= 5500; s += 1 + s / 2)
                    tt_expect_same(m, t, key, (size_t)n, s);
            }
        for (size_t i = 0; i < sizeof extra / sizeof *extra; i++)
            tt_expect_same(m, t, extra[i], strlen(extra[i]), 6000);
        tt_expect_same(m, t, "fence-shared-g", 14, 6000);
        tt_expect_same(m, t, "fence-shared-g999", 17, 6000);
        table_unref(t);
        table_ctx_free(ctx);
    }
    memtable_unref(m);
}

static const harness_test table_v2_tests[] = {
    HARNESS_TEST(lookups_match_in_blocks_of_every_size),
    HARNESS_TEST(iteration_matches_with_every_setting),
    HARNESS_TEST(a_lookup_reads_one_block_or_none),
    HARNESS_TEST(a_small_cache_turns_blocks_away_and_lookups_stay_right),
    HARNESS_TEST(a_turned_away_block_answers_as_the_whole_block_does),
    HARNESS_TEST(filtered_misses_read_nothing),
    HARNESS_TEST(the_last_tables_filter_is_skipped_only_when_asked),
    HARNESS_TEST(lz4_only_where_it_saves_an_eighth),
    HARNESS_TEST(blocks_stay_within_block_bytes_and_separators_between_them),
    HARNESS_TEST(separators_are_as_short_as_the_keys_allow),
    HARNESS_TEST(options_out_of_range_are_refused),
    HARNESS_TEST(unmapped_tables_answer_by_positioned_reads),
    HARNESS_TEST(bytes_match_the_worked_example),
    HARNESS_TEST(fences_narrow_the_index_and_lookups_stay_right),
};

const harness_suite table_v2_suite = HARNESS_SUITE("table_v2", table_v2_tests);
