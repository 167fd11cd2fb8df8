/*
 * engine_rocksdb.c: kvbench's adapter for RocksDB, through its C API
 * (rocksdb/c.h, Debian's librocksdb-dev).
 *
 * Options are RocksDB's defaults as rocksdb_options_create() gives them (as
 * a user gets them, no tuning), plus create_if_missing; sync = 1 sets
 * WriteOptions.sync on every write.  compact is CompactRange over the whole
 * key space.  The C API has no version call: scripts/bench.sh records the
 * package's version.
 *
 * KVBENCH_BLOOM_BITS=N (N > 0) gives every table a bloom filter of N bits
 * per key, as RocksDB's documentation shows a user
 * (BlockBasedTableOptions.filter_policy = NewBloomFilterPolicy(10), a full
 * filter per table), the rest of the table options left at their
 * defaults; the engine then names itself "rocksdb-bloom" (N = 10) or
 * "rocksdb-bloomN".  scripts/bench.sh runs RocksDB both ways.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

#include "bench_sys.h"
#include "engine.h"

typedef struct rde_db {
    rocksdb_t *db;
    rocksdb_options_t *opt;
    rocksdb_writeoptions_t *wopt;
    rocksdb_readoptions_t *ropt;
} rde_db;

static const char *rde_name(void) { return bench_bloom_name("rocksdb"); }

static const char *rde_version(void)
{
    static char text[64];
    int bits = bench_bloom_bits();
    if (bits == 0)
        return "RocksDB, C API";
    snprintf(text, sizeof text, "RocksDB, C API, bloom filter of %d bits/key", bits);
    return text;
}

/* Turns RocksDB's error string (if any) into our message; frees it. */
static int rde_check(char *err, const char *what)
{
    if (err == NULL)
        return 0;
    bench_error("rocksdb %s: %s", what, err);
    rocksdb_free(err);
    return -1;
}

static int rde_close(void *h)
{
    rde_db *d = h;
    if (d->db)
        rocksdb_close(d->db);
    rocksdb_options_destroy(d->opt);
    rocksdb_writeoptions_destroy(d->wopt);
    rocksdb_readoptions_destroy(d->ropt);
    free(d);
    return 0;
}

static int rde_open(const char *dir, int sync, void **h)
{
    rde_db *d = calloc(1, sizeof *d);
    if (d == NULL)
        return bench_error("out of memory");
    d->opt = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(d->opt, 1);
    if (bench_bloom_bits() > 0) {
        /* The table options own the policy, the options copy the table
         * options: only the table options are ours to destroy. */
        rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
        rocksdb_block_based_options_set_filter_policy(
            t, rocksdb_filterpolicy_create_bloom_full(bench_bloom_bits()));
        rocksdb_options_set_block_based_table_factory(d->opt, t);
        rocksdb_block_based_options_destroy(t);
    }
    d->wopt = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(d->wopt, (unsigned char)sync);
    d->ropt = rocksdb_readoptions_create();
    char *err = NULL;
    d->db = rocksdb_open(d->opt, dir, &err);
    if (rde_check(err, "open") < 0) {
        rde_close(d);
        return -1;
    }
    *h = d;
    return 0;
}

static int rde_put(void *h, const void *key, size_t klen, const void *val, size_t vlen)
{
    rde_db *d = h;
    char *err = NULL;
    rocksdb_put(d->db, d->wopt, key, klen, val, vlen, &err);
    return rde_check(err, "put");
}

static int rde_get(void *h, const void *key, size_t klen, void *buf, size_t cap, size_t *vlen)
{
    rde_db *d = h;
    char *err = NULL;
    char *val = rocksdb_get(d->db, d->ropt, key, klen, vlen, &err);
    if (rde_check(err, "get") < 0)
        return -1;
    if (val == NULL)
        return 1;
    memcpy(buf, val, *vlen < cap ? *vlen : cap);
    rocksdb_free(val);
    return 0;
}

static int rde_del(void *h, const void *key, size_t klen)
{
    rde_db *d = h;
    char *err = NULL;
    rocksdb_delete(d->db, d->wopt, key, klen, &err);
    return rde_check(err, "delete");
}

static int rde_compact(void *h)
{
    rocksdb_compact_range(((rde_db *)h)->db, NULL, 0, NULL, 0);
    return 0;
}

static int rde_iter_new(void *h, void **it)
{
    rde_db *d = h;
    *it = rocksdb_create_iterator(d->db, d->ropt);
    return *it ? 0 : bench_error("rocksdb: no iterator");
}

static int rde_iter_status(void *it, const char *what)
{
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    return rde_check(err, what);
}

static int rde_iter_seek(void *it, const void *key, size_t klen)
{
    if (key == NULL)
        rocksdb_iter_seek_to_first(it);
    else
        rocksdb_iter_seek(it, key, klen);
    return rde_iter_status(it, "iterator seek");
}

static int rde_iter_get(void *it, const void **key, size_t *klen, const void **val, size_t *vlen)
{
    if (!rocksdb_iter_valid(it))
        return rde_iter_status(it, "iterator");
    *key = rocksdb_iter_key(it, klen);
    *val = rocksdb_iter_value(it, vlen);
    return 1;
}

static int rde_iter_next(void *it)
{
    rocksdb_iter_next(it);
    return rde_iter_status(it, "iterator next");
}

static void rde_iter_free(void *it) { rocksdb_iter_destroy(it); }

/* sync = 1 is honoured: WriteOptions.sync: the WAL is synced before a write returns. */
static int rde_syncs(void) { return 1; }

const bench_engine bench_engine_impl = {
    .name = rde_name,
    .version = rde_version,
    .syncs = rde_syncs,
    .open = rde_open,
    .close = rde_close,
    .put = rde_put,
    .get = rde_get,
    .del = rde_del,
    .compact = rde_compact,
    .iter_new = rde_iter_new,
    .iter_seek = rde_iter_seek,
    .iter_get = rde_iter_get,
    .iter_next = rde_iter_next,
    .iter_free = rde_iter_free,
    .errmsg = bench_errmsg,
};
