/*
 * partitioned_lookup_test.c: exercise partitioned_lookup, parted_find_block
 * (stages/09-cache/partitioned/parted_read.c): a lookup in a table of
 * partitions finds its partition in the top level, asks that partition's
 * filter, then searches its index partition for the data block.  Through
 * kv.h only: a database that writes tables of partitions
 * (table_partitions = KV_PARTITIONS) in blocks of 256 bytes, so that a
 * table has many partitions, compacted into one level and opened again;
 * then every key put is found, the keys between them and around them are
 * not, and kv_cost says what each get asked and read.  One test calls
 * parted_find_block itself, on a table opened through table.h: an error
 * from the top level, which the open's walk of every top-level entry (P1)
 * keeps kv.h from ever reaching.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "coding.h"
#include "crc32c.h"
#include "exercise.h"
#include "bloom.h"
#include "internal_key.h"
#include "kv.h"
#include "parted_format.h"
#include "table_v2_format.h"

#define PL_KEYS 4000

static void pl_key(char *buf, size_t cap, int i) { snprintf(buf, cap, "k%05d", i); }

static void pl_value(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "value-%05d-of-a-table-of-partitions", i);
}

static kv_options pl_options(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.create_if_missing = 1;
    opt.table_partitions = KV_PARTITIONS;
    opt.block_bytes = 256;
    /* Every table's filter partition asked, the one table's too (this
     * stage's default skips the last table's: kv.h's filters_for_hits). */
    opt.filters_for_hits = KV_FILTERS_ALWAYS;
    return opt;
}

/* Even keys k00000 .. k07998 with their values, compacted, closed: the
 * next open starts with empty caches.  compression and bloom_bits_per_key:
 * kv_options's. */
static const char *pl_build_opts(int compression, int bloom_bits_per_key)
{
    const char *dir = harness_tmpdir();
    kv_options opt = pl_options();
    opt.compression = compression;
    opt.bloom_bits_per_key = bloom_bits_per_key;
    kv_db *db = ex_open(dir, &opt, "a database of tables of partitions opens");
    char k[32], v[64];
    for (int i = 0; i < PL_KEYS; i++) {
        pl_key(k, sizeof k, 2 * i);
        pl_value(v, sizeof v, 2 * i);
        ex_put(db, k, v, "a put is taken");
    }
    int rc = EX_KV(kv_compact(db));
    EX_CHECK(rc == KV_OK, "kv_compact: %s (%s)", kv_strerror(rc), ex_errmsg(rc));
    rc = EX_KV(kv_close(db));
    EX_CHECK(rc == KV_OK, "kv_close: %s (%s)", kv_strerror(rc), ex_errmsg(rc));
    return dir;
}

static const char *pl_build_with(int compression) { return pl_build_opts(compression, 0); }

static const char *pl_build(void) { return pl_build_with(KV_COMPRESSION_DEFAULT); }

static kv_db *pl_reopen(const char *dir)
{
    kv_options opt = pl_options();
    return ex_open(dir, &opt, "the database opens again");
}

/* What one get of k cost; *found whether it found it. */
static kv_cost pl_get(kv_db *db, const char *k, int *found)
{
    kv_cost c;
    void *v = NULL;
    size_t vlen = 0;
    kv_cost_reset();
    int rc = EX_KV(kv_get(db, k, strlen(k), &v, &vlen));
    kv_cost_get(&c);
    EX_CHECK(rc == KV_OK || rc == KV_NOT_FOUND, "kv_get(\"%s\") in a table of partitions "
             "answers found or not found: %s (%s)", k, kv_strerror(rc), ex_errmsg(rc));
    *found = rc == KV_OK;
    kv_free(v);
    return c;
}

static void partitioned_lookup_every_key_is_found(void)
{
    EX_RULE_BEGIN(3, "the index partition's first entry >= the key is the data block");
    const char *dir = pl_build();
    kv_db *db = pl_reopen(dir);
    char k[32], v[64];
    for (int i = 0; i < PL_KEYS; i++) {
        pl_key(k, sizeof k, 2 * i);
        pl_value(v, sizeof v, 2 * i);
        harness_context("kv_get(\"%s\"), one of %d keys in partitions of about 256 bytes", k,
                        PL_KEYS);
        ex_expect(db, k, v, "every key put is found, with its value: the top level's first "
                  "entry whose separator is >= the key names its partition, and the index "
                  "partition's first entry >= the key its data block");
    }
    for (int i = 0; i < PL_KEYS; i++) {
        pl_key(k, sizeof k, 2 * i + 1);
        harness_context("kv_get(\"%s\"), a key between two keys put", k);
        ex_absent(db, k, "a key never put is not found");
    }
    static const char *const around[] = {"a", "k", "k0", "k07999", "k08000", "k1", "z"};
    for (size_t i = 0; i < sizeof around / sizeof around[0]; i++) {
        harness_context("kv_get(\"%s\"), a key before, between or past the keys put", around[i]);
        ex_absent(db, around[i], "a key before the first or past the last key put is not found");
    }
    kv_close(db);
}

/* Through a block cache of 4 KiB, whose shards are too small to keep a
 * partition, each partition a lookup reads is the lookup's alone, freed
 * by table_v2_block_release: a lookup that does not release the index
 * partition it searched leaves it allocated, and the test ends holding it
 * (exercise.h). */
static void partitioned_lookup_releases_each_partition_it_reads(void)
{
    EX_RULE_BEGIN(5, "every partition's block released");
    const char *dir = pl_build();
    kv_options opt = pl_options();
    opt.cache_bytes = 4096;
    opt.record_cache_percent = KV_NO_RECORD_CACHE;
    kv_db *db = ex_open(dir, &opt, "the database opens again, with a block cache of 4 KiB");
    char k[32], v[64];
    for (int i = 0; i < PL_KEYS; i += 7) {
        pl_key(k, sizeof k, 2 * i);
        pl_value(v, sizeof v, 2 * i);
        harness_context("kv_get(\"%s\") through a block cache of 4 KiB: each partition it "
                        "reads is its own, released when its search is done", k);
        ex_expect(db, k, v, "every key put is found, with its value, through a small cache");
    }
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
}

/* Keys of 300 bytes that differ only at their end: every separator of
 * the top level and of the index partitions is as long, past the 128
 * bytes a block iterator keeps inline, so each iterator a lookup makes
 * holds a key buffer of its own, freed by block_iter_free: a lookup that
 * does not free one leaves it allocated, and the test ends holding it. */
static void partitioned_lookup_long_keys_keep_no_memory(void)
{
    EX_RULE_BEGIN(5, "every iterator freed");
    const char *dir = harness_tmpdir();
    kv_options opt = pl_options();
    kv_db *db = ex_open(dir, &opt, "a database of tables of partitions opens");
    enum { LONG_KEYS = 200 };
    static char k[320];
    char v[64];
    memset(k, 'p', 295);
    for (int i = 0; i < LONG_KEYS; i++) {
        snprintf(k + 295, sizeof k - 295, "%05d", 2 * i);
        pl_value(v, sizeof v, 2 * i);
        ex_put(db, k, v, "a put is taken");
    }
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "kv_compact: %s", ex_kv_errmsg());
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
    db = pl_reopen(dir);
    for (int i = 0; i < LONG_KEYS; i += 9) {
        snprintf(k + 295, sizeof k - 295, "%05d", 2 * i);
        pl_value(v, sizeof v, 2 * i);
        harness_context("kv_get of a 300-byte key (number %d of %d): the top level's and the "
                        "partition's iterators hold separators longer than their 128 inline "
                        "bytes, each freed (block_iter_free) once its search is done",
                        2 * i, LONG_KEYS);
        ex_expect(db, k, v, "every 300-byte key put is found, with its value");
    }
    /* Memory that runs out during a lookup (an iterator's key buffer, a
     * partition read): the lookup fails with KV_ERR_NOMEM, or goes on
     * without what it could not have (an uncached block) and finds the
     * key; a key put is never answered "absent". */
    EX_RULE_BEGIN(1, "a top-level iterator that failed is that failure, never past every "
                  "partition");
    snprintf(k + 295, sizeof k - 295, "%05d", 2 * 101);
    pl_value(v, sizeof v, 2 * 101);
    for (long n = 1; n < 200; n++) {
        if (!ex_alloc_fail_at(n))
            break; /* a sanitizer's build: nothing is made to fail */
        void *got = NULL;
        size_t gl = 0;
        harness_context("kv_get of a 300-byte key put before, its allocation number %ld from "
                        "now failing", n);
        int rc = kv_get(db, k, strlen(k), &got, &gl);
        int failed = ex_alloc_failed();
        ex_alloc_fail_at(0);
        kv_free(got);
        EX_CHECK(rc != KV_NOT_FOUND, "a lookup whose allocation number %ld failed (an "
                 "iterator's key buffer, a block read) fails with KV_ERR_NOMEM or finds the "
                 "key all the same, never answers that a key put is absent: a top-level "
                 "iterator that stopped for memory is that failure (parted_iter_failed), "
                 "not a key past every partition (got KV_NOT_FOUND)", n);
        if (!failed)
            break;
    }
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
}

/* An error from the top level: parted_top_entry refusing the entry the
 * top level gives (KV_ERR_CORRUPT).  The open walks every top-level entry
 * (P1), so no table kv.h opens has one; here parted_find_block is called
 * on a table of 300-byte keys opened through table.h, with a copy of its
 * kept whose partitions' range [D, P) is empty (meta_at = data_end), so
 * that every handle of the top level lies outside it.  The top-level
 * iterator holds a key buffer of its own (separators past its 128 inline
 * bytes): a lookup that returns the error before block_iter_free leaves
 * it allocated, and the test ends holding it (exercise.h). */
static void partitioned_lookup_top_level_error_frees_the_iterator(void)
{
    EX_RULE_BEGIN(5, "every iterator freed when the top level's entry is an error too");
    const char *dir = harness_tmpdir();
    kv_options opt = pl_options();
    kv_db *db = ex_open(dir, &opt, "a database of tables of partitions opens");
    static char k[320];
    char v[64];
    memset(k, 'q', 295);
    for (int i = 0; i < 50; i++) {
        snprintf(k + 295, sizeof k - 295, "%05d", 2 * i);
        pl_value(v, sizeof v, 2 * i);
        ex_put(db, k, v, "a put is taken");
    }
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "kv_compact: %s", ex_kv_errmsg());
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
    DIR *d = opendir(dir);
    EX_CHECK(d != NULL, "test setup: the database's directory can be listed");
    char path[4096] = "";
    for (struct dirent *e; path[0] == '\0' && (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n >= 5 && strcmp(e->d_name + n - 4, ".tbl") == 0)
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    EX_CHECK(path[0] != '\0', "test setup: the compaction wrote a table");
    table_ctx *ctx = NULL;
    EX_CHECK(table_ctx_new(&opt, &ctx) == KV_OK, "test setup: table_ctx_new: %s", kv_errmsg());
    table *t = NULL;
    EX_CHECK(table_open(ctx, path, &t) == KV_OK, "test setup: table_open(%s): %s", path,
             kv_errmsg());
    table_v2_kept bad = *table_v2_kept_of(t);
    EX_CHECK(bad.version == PARTED_VERSION, "test setup: %s is a table of partitions", path);
    bad.meta_at = bad.data_end;
    snprintf(k + 295, sizeof k - 295, "%05d", 2 * 25);
    ikey_lookup lk;
    EX_CHECK(ikey_lookup_init(&lk, k, strlen(k), IKEY_MAX_SEQ) == KV_OK,
             "test setup: ikey_lookup_init: %s", kv_errmsg());
    table_get_result r;
    memset(&r, 0, sizeof r);
    table_v2_handle h;
    int found = -1;
    harness_context("parted_find_block of a 300-byte key in %s, whose top-level entry "
                    "parted_top_entry refuses (its handles lie outside [D, P))", path);
    int rc = EX_KV(parted_find_block(t, &bad, &lk, bloom_hash(k, strlen(k)), 1, &r, &h,
                                     &found));
    ikey_lookup_free(&lk);
    EX_CHECK(rc == KV_ERR_CORRUPT, "a top-level entry parted_top_entry refuses is that "
             "error, KV_ERR_CORRUPT, returned as it is (parted_find_block returned %s: %s)",
             kv_strerror(rc), ex_errmsg(rc));
    table_unref(t);
    table_ctx_free(ctx);
}

static void partitioned_lookup_asks_the_filter_partition(void)
{
    EX_RULE_BEGIN(2, "the filter partition asked first");
    const char *dir = pl_build();
    kv_db *db = pl_reopen(dir);
    char k[32];
    int found;
    unsigned long long asked = 0, ruled_out = 0, searched = 0, passed = 0;
    uint64_t fp_before = ex_stat(db, "session.table.filter_false_positives");
    uint64_t useful_before = ex_stat(db, "session.table.filter_useful");
    uint64_t gets_before = ex_stat(db, "session.table.gets");
    for (int i = 0; i < 400; i++) {
        pl_key(k, sizeof k, 20 * i + 1);
        kv_cost c = pl_get(db, k, &found);
        EX_CHECK(!found, "\"%s\" was never put", k);
        asked += c.bloom_checks;
        ruled_out += c.bloom_skips;
        searched += c.tables_searched;
        passed += c.bloom_false_positives;
    }
    uint64_t fp = ex_stat(db, "session.table.filter_false_positives") - fp_before;
    uint64_t useful = ex_stat(db, "session.table.filter_useful") - useful_before;
    uint64_t gets = ex_stat(db, "session.table.gets") - gets_before;
    harness_context("400 absent keys inside the table's range");
    EX_CHECK(asked == 400, "each absent key in range asks its filter partition once, before "
             "any index partition: 400 keys asked it %llu times", asked);
    EX_CHECK(ruled_out >= 360 && searched <= 40, "the filter partition of an absent key rules "
             "most out (10 bits a key: about 1%% pass), so their index partitions are not "
             "searched: %llu of 400 ruled out, %llu searched", ruled_out, searched);
    EX_CHECK(fp == passed, "a key its filter partition rules out is ruled out "
             "(TABLE_V2_RULED_OUT), not \"no block\" (TABLE_V2_NO_BLOCK, a search that found "
             "nothing): the table counts a filter's false positive for each absent key the "
             "filter let through, so its kv_stats line session.table.filter_false_positives "
             "grew by %llu over the 400 gets, where the filter let %llu through (kv_cost's "
             "bloom_false_positives)", (unsigned long long)fp, passed);
    EX_CHECK(useful == ruled_out && gets == asked, "a key its filter partition rules out "
             "counts once in ctx->filter_negatives, and not in ctx->searches (a get of the "
             "table is one or the other): over the 400 gets, kv_stats' "
             "session.table.filter_useful grew by %llu, want %llu (the keys ruled out), and "
             "session.table.gets by %llu, want %llu (the gets of the table)",
             (unsigned long long)useful, ruled_out, (unsigned long long)gets, asked);
    kv_close(db);
}

/* A table written without filters (bloom_bits_per_key KV_NO_BLOOM): its
 * top level names no filter partition, so no lookup asks one, and a key
 * it does not hold is no filter's false positive. */
static void partitioned_lookup_a_table_without_filters_asks_none(void)
{
    EX_RULE_BEGIN(2, "only a partition with a filter has it asked");
    const char *dir = pl_build_opts(KV_COMPRESSION_DEFAULT, KV_NO_BLOOM);
    kv_db *db = pl_reopen(dir);
    char k[32];
    int found;
    unsigned long long asked = 0, passed = 0;
    uint64_t fp_before = ex_stat(db, "session.table.filter_false_positives");
    for (int i = 0; i < 100; i++) {
        pl_key(k, sizeof k, 80 * i + (i % 2));
        harness_context("kv_get(\"%s\") in a table written without filters (%s)", k,
                        i % 2 ? "a key never put" : "a key put");
        kv_cost c = pl_get(db, k, &found);
        EX_CHECK(found == !(i % 2), "\"%s\" is %s", k, i % 2 ? "never put" : "found");
        asked += c.bloom_checks;
        passed += c.bloom_false_positives;
    }
    uint64_t fp = ex_stat(db, "session.table.filter_false_positives") - fp_before;
    harness_context("100 gets (50 keys put, 50 never put) in a table written without filters");
    EX_CHECK(asked == 0 && passed == 0 && fp == 0, "a table written without filters "
             "(bloom_bits_per_key KV_NO_BLOOM) has no filter partition: r->filter_asked is 1 "
             "only when the partition has a filter and ask_filter is 1, so no get asks one and "
             "no absent key is a filter's false positive; over 100 gets kv_cost counted %llu "
             "filters asked and %llu false positives, and kv_stats' "
             "session.table.filter_false_positives grew by %llu",
             asked, passed, (unsigned long long)fp);
    kv_close(db);
    db = pl_reopen(dir);
    pl_key(k, sizeof k, 4000);
    kv_cost c = pl_get(db, k, &found);
    harness_context("a get of %s right after the database opened, its table written without "
                    "filters", k);
    EX_CHECK(found && c.reads == 2 && c.bloom_checks == 0, "a cold get of a key a table "
             "without filters holds reads its index partition and its data block, 2 reads, "
             "and asks no filter (got %llu reads, %llu filters asked)", c.reads,
             c.bloom_checks);
    kv_close(db);
}

static void partitioned_lookup_cold_reads(void)
{
    EX_RULE_BEGIN(2, "a key the filter rules out costs one read");
    const char *dir = pl_build();
    kv_db *db = pl_reopen(dir);
    int found;
    kv_cost c = pl_get(db, "k04000", &found);
    harness_context("a get of k04000 right after the database opened: nothing cached");
    EX_CHECK(found, "k04000 is found");
    EX_CHECK(c.reads == 3, "a cold get of a key a table holds reads three blocks: its filter "
             "partition, its index partition and its data block (the top level is kept by "
             "the open table): %llu reads", c.reads);
    c = pl_get(db, "k04002", &found);
    harness_context("a get of k04002 after k04000: its neighbour");
    EX_CHECK(found && c.reads == 0, "its neighbour's partitions and block are in the block "
             "cache: no read (%llu reads)", c.reads);
    EX_CHECK(c.tables_in_range == 1, "a key inside the table's range is asked of it, and "
             "the lookup says so (table_get_result's in_range, kv_cost's tables_in_range): "
             "%llu tables in range", c.tables_in_range);
    c = pl_get(db, "z", &found);
    EX_CHECK(!found && c.tables_in_range == 0 && c.reads == 0, "a key past the table's range "
             "is ruled out before any partition is asked: %llu tables in range, %llu reads",
             c.tables_in_range, c.reads);
    kv_close(db);
    /* A cold get of an absent key its filter rules out: one read. */
    char k[32];
    int seen = 0;
    for (int i = 0; i < 20 && !seen; i++) {
        db = pl_reopen(dir);
        pl_key(k, sizeof k, 400 * i + 201);
        c = pl_get(db, k, &found);
        if (c.bloom_skips == 1) {
            seen = 1;
            harness_context("a get of %s, never put, right after the database opened", k);
            EX_CHECK(c.reads == 1, "a cold get of an absent key that its filter partition "
                     "rules out reads that partition and nothing else: %llu reads", c.reads);
            EX_CHECK(c.tables_in_range == 1, "a key its filter partition rules out was "
                     "still inside the table's range, and asked of it: the lookup says so "
                     "(in_range) before it asks the top level (%llu tables in range)",
                     c.tables_in_range);
        }
        kv_close(db);
    }
    EX_CHECK(seen, "of 20 absent keys, one at least is ruled out by its filter partition");
    /* The same key with filters_for_hits on: the one table is the last a
     * get reaches, and its filter is not asked (ask_filter 0). */
    kv_options opt = pl_options();
    opt.filters_for_hits = 1;
    db = ex_open(dir, &opt, "the database opens again, filters_for_hits on");
    c = pl_get(db, k, &found);
    harness_context("a get of %s, never put, right after the database opened with "
                    "filters_for_hits on", k);
    EX_CHECK(!found && c.bloom_skips == 0 && c.reads == 2,
             "with filters_for_hits on, the last table a get reaches is searched without "
             "asking its filter (ask_filter 0): a cold get of an absent key there reads its "
             "index partition and its data block, 2 reads, and no filter rules it out (got "
             "%llu reads, %llu filter skips)", c.reads, c.bloom_skips);
    kv_close(db);
}

static void partitioned_lookup_past_every_partition_is_no_block(void)
{
    EX_RULE_BEGIN(1, "no top-level entry >= the key: past every partition");
    /* The top level's last separator is the table's last internal key,
     * (k07998, its sequence number).  A lookup of k07998 at a snapshot
     * older than that write is past it: past every partition.  No record
     * cache, so that the lookup is the table's alone (a record cache would
     * look the key up at its newest version too). */
    const char *dir = harness_tmpdir();
    kv_options opt = pl_options();
    opt.record_cache_percent = KV_NO_RECORD_CACHE;
    kv_db *db = ex_open(dir, &opt, "a database of tables of partitions opens");
    const kv_snapshot *snap = NULL;
    int rc = EX_KV(kv_snapshot_new(db, &snap));
    EX_CHECK(rc == KV_OK, "kv_snapshot_new: %s (%s)", kv_strerror(rc), ex_errmsg(rc));
    char k[32], v[64];
    for (int i = 0; i < PL_KEYS; i++) {
        pl_key(k, sizeof k, 2 * i);
        pl_value(v, sizeof v, 2 * i);
        ex_put(db, k, v, "a put is taken");
    }
    rc = EX_KV(kv_compact(db));
    EX_CHECK(rc == KV_OK, "kv_compact: %s (%s)", kv_strerror(rc), ex_errmsg(rc));
    pl_key(k, sizeof k, 2 * (PL_KEYS - 1));
    uint64_t gets = ex_stat(db, "session.table.gets");
    void *val = NULL;
    size_t vlen = 0;
    kv_cost_reset();
    harness_context("kv_get_at(\"%s\") at a snapshot taken before any write, the table's "
                    "last key: past the top level's last separator", k);
    rc = EX_KV(kv_get_at(db, snap, k, strlen(k), &val, &vlen));
    kv_free(val);
    kv_cost c;
    kv_cost_get(&c);
    EX_CHECK(rc == KV_NOT_FOUND, "a lookup past the top level's last separator (the table's "
             "last key, at a snapshot older than its write) is past every partition: "
             "TABLE_V2_NO_BLOCK with KV_OK, the table holds no version the snapshot sees, and "
             "the get says not found (kv_get_at returned %s: %s); an iterator that found no "
             "entry failed only if its status says so", kv_strerror(rc), ex_errmsg(rc));
    uint64_t more = ex_stat(db, "session.table.gets") - gets;
    EX_CHECK(more == 1 && c.tables_in_range == 1, "that lookup is one get of the table "
             "(session.table.gets grew by %llu, want 1: a lookup past every partition counts "
             "one search, ctx->searches by 1) of a key in its range (%llu tables in range)",
             (unsigned long long)more, c.tables_in_range);
    kv_snapshot_free(db, snap);
    ex_expect(db, k, v, "the table's last key is found now");
    kv_close(db);
}

/* ---- a data block's handle outside the data blocks --------------------------- */
/* Damage a table's checksums cannot see (a writer's bug, or a file made to
 * deceive): an entry of an index partition whose handle names a block
 * that is not a data block, but whose checksum holds (an index
 * partition, in [D, P), or the top level at P).  The index partition is rewritten with
 * that handle in place of its own, of the same length, and its trailer's
 * CRC-32C made to match again (table_v2_format.h: a stored block's
 * trailer).  Found in dir's tables: *key, a key put that the changed
 * entry's data block holds, and *at, where the handle now points. */
static int pl_misdirect(const char *dir, char *key, size_t cap, uint64_t *at)
{
    DIR *d = opendir(dir);
    EX_CHECK(d != NULL, "test setup: the database's directory can be listed");
    int done = 0;
    for (struct dirent *e; !done && (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".tbl") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t size;
        uint8_t *f = ex_read_file(path, &size);
        EX_CHECK(size > TABLE_V2_FILE_MIN, "test setup: %s is a table", path);
        const uint8_t *foot = f + size - TABLE_V2_FOOTER;
        uint64_t data_end = coding_get_u64(foot);
        table_v2_handle top_h = {.offset = coding_get_u64(foot + 8),
                                 .size = coding_get_u32(foot + 16)};
        EX_CHECK(coding_get_u32(foot + 40) == 2 && top_h.offset + top_h.size < size,
                 "test setup: %s is a table of partitions (format v2, version 2)", path);
        /* Blocks whose checksum holds, which are not data blocks, but
         * whose entries are internal keys as a data block's are (so that
         * only the handle's check can tell): the index partitions and
         * the top level. */
        table_v2_handle not_data[2049], index_parts[2048];
        size_t nnot = 0, nix = 0;
        not_data[nnot++] = top_h;
        block top;
        EX_CHECK(block_init(&top, f + top_h.offset, top_h.size) == NULL,
                 "test setup: %s's top level is a block", path);
        block_iter it = {0};
        block_iter_init(&it, &top, TABLE_V2_IKEY_MIN);
        for (block_iter_seek_first(&it); it.valid; block_iter_next(&it)) {
            table_v2_handle h;
            EX_CHECK(table_v2_handle_decode(it.value, it.value + it.value_len, &h) != NULL,
                     "test setup: %s's top level names index partitions", path);
            if (nix < 2048) {
                index_parts[nix++] = h;
                not_data[nnot++] = h;
            }
        }
        block_iter_free(&it);
        /* From the last index partition back: an entry whose handle has
         * the encoded length of one of not_data's. */
        for (size_t j = nix; !done && j-- > 0;) {
            table_v2_handle ih = index_parts[j];
            block part;
            EX_CHECK(block_init(&part, f + ih.offset, ih.size) == NULL,
                     "test setup: %s's index partition at %llu is a block", path,
                     (unsigned long long)ih.offset);
            block_iter ix = {0};
            block_iter_init(&ix, &part, TABLE_V2_IKEY_MIN);
            for (block_iter_seek_first(&ix); !done && ix.valid; block_iter_next(&ix)) {
                for (size_t c = 0; c < nnot && !done; c++) {
                    uint8_t enc[32];
                    size_t len = (size_t)(table_v2_handle_encode(enc, not_data[c]) - enc);
                    if (len != ix.value_len || not_data[c].offset < data_end)
                        continue;
                    /* The entry's data block holds the largest key put
                     * at or below its separator's user key. */
                    size_t slen = ix.key_len - 8;
                    int best = -1;
                    for (int i = 0; i < PL_KEYS; i++) {
                        char k[32];
                        pl_key(k, sizeof k, 2 * i);
                        size_t kl = strlen(k), m = kl < slen ? kl : slen;
                        int cmp = memcmp(k, ix.key, m);
                        if (cmp < 0 || (cmp == 0 && kl <= slen))
                            best = 2 * i;
                    }
                    if (best < 0)
                        continue;
                    pl_key(key, cap, best);
                    memcpy((uint8_t *)ix.value, enc, len);
                    uint8_t *trailer = f + ih.offset + ih.size;
                    coding_put_u32(trailer + 5, crc32c_value(f + ih.offset, ih.size + 5));
                    *at = not_data[c].offset;
                    done = 1;
                }
            }
            block_iter_free(&ix);
        }
        if (done) {
            FILE *out = fopen(path, "r+b");
            EX_CHECK(out != NULL && fwrite(f, 1, size, out) == size && fclose(out) == 0,
                     "test setup: %s rewritten", path);
        }
        free(f);
    }
    closedir(d);
    return done;
}

/* ---- an index partition that ends below the key the top level sends -------- */
/* Damage a table's checksums cannot see: a separator of the top level
 * (not the last) raised past every key of the partition it names, but
 * kept below the next separator (a byte of its user key not shared with
 * the next one, raised), the top level's trailer CRC-32C made to match
 * again.  A key between the partition's last key and the raised
 * separator is sent there by the top level, and the partition has no
 * entry at or above it: P2 broken.  Found in dir's tables (built without
 * filters, so that no filter partition answers first): *probe (*plen
 * bytes), such a key, and *at, the partition's offset. */
static int pl_raise_separator(const char *dir, uint8_t *probe, size_t cap, size_t *plen,
                              uint64_t *at)
{
    DIR *d = opendir(dir);
    EX_CHECK(d != NULL, "test setup: the database's directory can be listed");
    int done = 0;
    for (struct dirent *e; !done && (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".tbl") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t size;
        uint8_t *f = ex_read_file(path, &size);
        EX_CHECK(size > TABLE_V2_FILE_MIN, "test setup: %s is a table", path);
        const uint8_t *foot = f + size - TABLE_V2_FOOTER;
        table_v2_handle top_h = {.offset = coding_get_u64(foot + 8),
                                 .size = coding_get_u32(foot + 16)};
        EX_CHECK(coding_get_u32(foot + 40) == 2 && top_h.offset + top_h.size < size,
                 "test setup: %s is a table of partitions (format v2, version 2)", path);
        uint8_t *contents = f + top_h.offset;
        block top;
        EX_CHECK(block_init(&top, contents, top_h.size) == NULL,
                 "test setup: %s's top level is a block", path);
        /* The entries' offsets, and the keys of the one looked at and the
         * next. */
        size_t offs[2048], nent = 0;
        block_iter it = {0};
        block_iter_init(&it, &top, TABLE_V2_IKEY_MIN);
        for (block_iter_seek_first(&it); it.valid && nent < 2048; block_iter_next(&it))
            offs[nent++] = it.at;
        /* From the middle on: an entry whose last user-key byte is in its
         * own bytes (not shared with the one before) and not shared with
         * the next entry's key either. */
        for (size_t j = nent / 2; !done && j + 1 < nent; j++) {
            uint32_t shared, unshared, vlen, next_shared;
            const uint8_t *limit = contents + top.entries_end;
            const uint8_t *q = coding_get_varint32(contents + offs[j], limit, &shared);
            q = q ? coding_get_varint32(q, limit, &unshared) : NULL;
            q = q ? coding_get_varint32(q, limit, &vlen) : NULL;
            EX_CHECK(q != NULL && coding_get_varint32(contents + offs[j + 1], limit,
                                                      &next_shared) != NULL,
                     "test setup: %s's top-level entries decode", path);
            uint8_t *delta = (uint8_t *)q;
            /* The entry's key and value, and the next key. */
            block_iter_seek_first(&it);
            for (size_t i = 0; i < j; i++)
                block_iter_next(&it);
            size_t klen = it.key_len;
            uint8_t key[256], next[256];
            if (klen > sizeof key || klen <= 8 + 1)
                continue;
            memcpy(key, it.key, klen);
            table_v2_handle ih;
            EX_CHECK(table_v2_handle_decode(it.value, it.value + it.value_len, &ih) != NULL,
                     "test setup: %s's top level names index partitions", path);
            block_iter_next(&it);
            if (!it.valid || it.key_len > sizeof next)
                continue;
            memcpy(next, it.key, it.key_len);
            size_t last = klen - 8 - 1; /* the last byte of the user key */
            uint8_t raised;
            if (last < shared || last < next_shared)
                continue;
            if (last > next_shared)
                raised = 0xff;
            else if (next[last] > key[last] + 1)
                raised = (uint8_t)(next[last] - 1);
            else
                continue;
            if (raised <= key[last] || klen - 8 + 1 > cap)
                continue;
            delta[last - shared] = raised;
            uint8_t *trailer = contents + top_h.size;
            coding_put_u32(trailer + 5, crc32c_value(contents, top_h.size + 5));
            /* The user key, and a byte more: above the partition's keys,
             * below the raised separator. */
            memcpy(probe, key, klen - 8);
            probe[klen - 8] = 1;
            *plen = klen - 8 + 1;
            *at = ih.offset;
            done = 1;
        }
        block_iter_free(&it);
        if (done) {
            FILE *out = fopen(path, "r+b");
            EX_CHECK(out != NULL && fwrite(f, 1, size, out) == size && fclose(out) == 0,
                     "test setup: %s rewritten", path);
        }
        free(f);
    }
    closedir(d);
    return done;
}

static void partitioned_lookup_a_partition_below_its_key_is_damage(void)
{
    EX_RULE_BEGIN(4, "an index partition with no entry >= the key is damage");
    const char *dir = pl_build_opts(KV_COMPRESSION_NONE, KV_NO_BLOOM);
    uint8_t probe[64];
    size_t plen = 0;
    uint64_t at = 0;
    EX_CHECK(pl_raise_separator(dir, probe, sizeof probe, &plen, &at),
             "test setup: a separator of the top level that can be raised past its "
             "partition's keys");
    kv_db *db = pl_reopen(dir);
    void *v = NULL;
    size_t vlen = 0;
    harness_context("kv_get(\"%.*s\\x01\") in a table whose top level sends it to the index "
                    "partition at offset %llu, whose keys all lie below it", (int)plen - 1,
                    (const char *)probe, (unsigned long long)at);
    int rc = EX_KV(kv_get(db, probe, plen, &v, &vlen));
    kv_free(v);
    const char *msg = kv_errmsg();
    EX_CHECK(rc == KV_ERR_CORRUPT && ex_names_number(msg, at) && strstr(msg, "(null)") == NULL,
             "a partition the top level sends a key to, but whose last entry lies below that "
             "key (its search ends with no entry and no damage in the block: ix.status "
             "KV_OK), breaks P2: KV_ERR_CORRUPT naming the partition's offset %llu and what is "
             "wrong (parted_corrupt); table_v2_block_iter_error reports an iterator that met "
             "damage, and here has no reason to give (kv_get returned %s: \"%s\")",
             (unsigned long long)at, kv_strerror(rc), msg);
    kv_close(db);
    /* Again, with no block cache and tables read into memory: the
     * partition read is the lookup's alone, and one not released is a
     * block still allocated when the test ends. */
    EX_RULE_BEGIN(5, "the index partition's block released on the path that finds damage too");
    kv_options opt = pl_options();
    opt.cache_bytes = 1;
    opt.map_tables = KV_NO_MAP;
    db = ex_open(dir, &opt, "the database opens again, with no block cache");
    rc = kv_get(db, probe, plen, &v, &vlen);
    kv_free(v);
    EX_CHECK(rc == KV_ERR_CORRUPT, "the partition below its key is damage with no block "
             "cache too (kv_get returned %s)", kv_strerror(rc));
    kv_close(db);
}

static void partitioned_lookup_checks_a_data_handle_is_in_the_data_blocks(void)
{
    EX_RULE_BEGIN(4, "a data block's handle within [TABLE_V2_DATA_AT, D)");
    /* Uncompressed, so that data blocks and index partitions are about
     * the same size, and a handle of one has the length of the other's. */
    const char *dir = pl_build_with(KV_COMPRESSION_NONE);
    char key[32];
    uint64_t at = 0;
    EX_CHECK(pl_misdirect(dir, key, sizeof key, &at), "test setup: an entry of an index "
             "partition whose handle can be swapped for an index partition's, of the same length");
    kv_db *db = pl_reopen(dir);
    void *v = NULL;
    size_t vlen = 0;
    harness_context("kv_get(\"%s\") in a table whose index partition sends it to offset %llu, "
                    "past the data blocks, where an index partition or the top level lies", key,
                    (unsigned long long)at);
    int rc = kv_get(db, key, strlen(key), &v, &vlen);
    kv_free(v);
    EX_CHECK(rc == KV_ERR_CORRUPT, "an index partition's entry must name a data block: a "
             "handle outside [TABLE_V2_DATA_AT, t->data_end) (here offset %llu, an index partition or "
             "the top level, whose checksum holds) is damage, KV_ERR_CORRUPT "
             "(parted_corrupt; table_v2_format.h's T2: every offset read from the file is "
             "checked against what holds it); read as a data block, it gives a key the "
             "table holds a wrong answer (kv_get returned %s)", (unsigned long long)at,
             kv_strerror(rc));
    kv_close(db);
    EX_RULE_BEGIN(5, "the index partition's block released on the path that finds damage too");
    kv_options opt = pl_options();
    opt.cache_bytes = 1;
    opt.map_tables = KV_NO_MAP;
    db = ex_open(dir, &opt, "the database opens again, with no block cache");
    v = NULL;
    rc = kv_get(db, key, strlen(key), &v, &vlen);
    kv_free(v);
    EX_CHECK(rc == KV_ERR_CORRUPT, "the misdirected handle is damage with no block cache too "
             "(kv_get returned %s)", kv_strerror(rc));
    kv_close(db);
}

/* In the first table of dir that has one: an entry of an index partition
 * whose value becomes the handle of another data block, one byte shorter
 * encoded, and a zero byte after it (the entry as long as before), the
 * partition's checksum made to hold again.  *key gets a key of the entry's
 * own data block, *at where the other block starts.  1 if one was found. */
static int pl_trail_a_handle(const char *dir, char *key, size_t cap, uint64_t *at)
{
    DIR *d = opendir(dir);
    EX_CHECK(d != NULL, "test setup: the database's directory can be listed");
    int done = 0;
    for (struct dirent *e; !done && (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".tbl") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t size;
        uint8_t *f = ex_read_file(path, &size);
        EX_CHECK(size > TABLE_V2_FILE_MIN, "test setup: %s is a table", path);
        const uint8_t *foot = f + size - TABLE_V2_FOOTER;
        table_v2_handle top_h = {.offset = coding_get_u64(foot + 8),
                                 .size = coding_get_u32(foot + 16)};
        EX_CHECK(coding_get_u32(foot + 40) == 2 && top_h.offset + top_h.size < size,
                 "test setup: %s is a table of partitions (format v2, version 2)", path);
        static table_v2_handle index_parts[2048], data[16384];
        size_t nix = 0, ndata = 0;
        block top;
        EX_CHECK(block_init(&top, f + top_h.offset, top_h.size) == NULL,
                 "test setup: %s's top level is a block", path);
        block_iter it = {0};
        block_iter_init(&it, &top, TABLE_V2_IKEY_MIN);
        for (block_iter_seek_first(&it); it.valid && nix < 2048; block_iter_next(&it))
            EX_CHECK(table_v2_handle_decode(it.value, it.value + it.value_len,
                                            &index_parts[nix++]) != NULL,
                     "test setup: %s's top level names index partitions", path);
        block_iter_free(&it);
        /* Every data block's handle, from the index partitions. */
        for (size_t j = 0; j < nix; j++) {
            block part;
            EX_CHECK(block_init(&part, f + index_parts[j].offset, index_parts[j].size) == NULL,
                     "test setup: an index partition is a block");
            block_iter ix = {0};
            block_iter_init(&ix, &part, TABLE_V2_IKEY_MIN);
            for (block_iter_seek_first(&ix); ix.valid && ndata < 16384; block_iter_next(&ix))
                EX_CHECK(table_v2_handle_decode(ix.value, ix.value + ix.value_len,
                                                &data[ndata++]) != NULL,
                         "test setup: an index partition names data blocks");
            block_iter_free(&ix);
        }
        for (size_t j = nix; !done && j-- > 0;) {
            table_v2_handle ih = index_parts[j];
            block part;
            EX_CHECK(block_init(&part, f + ih.offset, ih.size) == NULL,
                     "test setup: an index partition is a block");
            block_iter ix = {0};
            block_iter_init(&ix, &part, TABLE_V2_IKEY_MIN);
            for (block_iter_seek_first(&ix); !done && ix.valid; block_iter_next(&ix)) {
                for (size_t c = 0; c < ndata && !done; c++) {
                    uint8_t enc[32];
                    size_t len = (size_t)(table_v2_handle_encode(enc, data[c]) - enc);
                    if (len + 1 != ix.value_len)
                        continue;
                    size_t slen = ix.key_len - 8;
                    int best = -1;
                    for (int i = 0; i < PL_KEYS; i++) {
                        char k[32];
                        pl_key(k, sizeof k, 2 * i);
                        size_t kl = strlen(k), m = kl < slen ? kl : slen;
                        int cmp = memcmp(k, ix.key, m);
                        if (cmp < 0 || (cmp == 0 && kl <= slen))
                            best = 2 * i;
                    }
                    if (best < 0)
                        continue;
                    pl_key(key, cap, best);
                    memcpy((uint8_t *)ix.value, enc, len);
                    ((uint8_t *)ix.value)[len] = 0;
                    uint8_t *trailer = f + ih.offset + ih.size;
                    coding_put_u32(trailer + 5, crc32c_value(f + ih.offset, ih.size + 5));
                    *at = data[c].offset;
                    done = 1;
                }
            }
            block_iter_free(&ix);
        }
        if (done) {
            FILE *out = fopen(path, "r+b");
            EX_CHECK(out != NULL && fwrite(f, 1, size, out) == size && fclose(out) == 0,
                     "test setup: %s rewritten", path);
        }
        free(f);
    }
    closedir(d);
    return done;
}

/* An index partition's entry is exactly a handle: a handle of a data block
 * followed by a byte more is no data block's handle, but damage. */
static void partitioned_lookup_refuses_bytes_after_a_handle(void)
{
    EX_RULE_BEGIN(4, "an entry that is no data block's handle is damage");
    const char *dir = pl_build_with(KV_COMPRESSION_NONE);
    char key[32];
    uint64_t at = 0;
    EX_CHECK(pl_trail_a_handle(dir, key, sizeof key, &at), "test setup: an entry of an index "
             "partition whose value can be another data block's handle, a byte shorter, and "
             "a zero byte after it");
    kv_db *db = pl_reopen(dir);
    void *v = NULL;
    size_t vlen = 0;
    harness_context("kv_get(\"%s\") in a table whose index partition's entry for it holds the "
                    "handle of the data block at offset %llu and one byte more", key,
                    (unsigned long long)at);
    int rc = kv_get(db, key, strlen(key), &v, &vlen);
    kv_free(v);
    EX_CHECK(rc == KV_ERR_CORRUPT, "an index partition's entry is exactly a data block's "
             "handle: one whose handle decodes with a byte left after it (here the handle of "
             "the block at offset %llu, then a zero) is not one, and is damage, KV_ERR_CORRUPT "
             "(table_v2_handle_read returns where the handle ends, which must be the entry's "
             "end); read as it is, it sends a key the table holds to another block (kv_get "
             "returned %s)", (unsigned long long)at, kv_strerror(rc));
    kv_close(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(partitioned_lookup_every_key_is_found),
    HARNESS_TEST(partitioned_lookup_releases_each_partition_it_reads),
    HARNESS_TEST(partitioned_lookup_long_keys_keep_no_memory),
    HARNESS_TEST(partitioned_lookup_top_level_error_frees_the_iterator),
    HARNESS_TEST(partitioned_lookup_asks_the_filter_partition),
    HARNESS_TEST(partitioned_lookup_cold_reads),
    HARNESS_TEST(partitioned_lookup_a_table_without_filters_asks_none),
    HARNESS_TEST(partitioned_lookup_past_every_partition_is_no_block),
    HARNESS_TEST(partitioned_lookup_checks_a_data_handle_is_in_the_data_blocks),
    HARNESS_TEST(partitioned_lookup_refuses_bytes_after_a_handle),
    HARNESS_TEST(partitioned_lookup_a_partition_below_its_key_is_damage),
};
const harness_suite partitioned_lookup_suite = HARNESS_SUITE("partitioned_lookup", tests);
