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
 *
 * For the transactions' benchmark (bench/txnbench.c, scripts/bench_txn.sh):
 *   KVBENCH_ROCKSDB_TXN=1  opens the database as an OptimisticTransactionDB
 *       (the engine is then "rocksdb-otxn"; its plain calls go to the base
 *       DB).  A transaction is rocksdb_optimistictransaction_begin with
 *       set_snapshot, its reads are rocksdb_transaction_get at that
 *       snapshot, its writes rocksdb_transaction_put; at commit RocksDB
 *       checks each key written for a newer write than the snapshot,
 *       looking in the memtables only (it keeps flushed memtables for
 *       this: OptimisticTransactionDB::Open sets
 *       max_write_buffer_size_to_maintain), so a conflict is Status::Busy
 *       and a snapshot older than the memtables Status::TryAgain (engine.h:
 *       txn_commit's 1 and 2).  Without it the adapter has no transactions.
 *
 * For stage 09's benchmark (make bench-cache), KVBENCH_ROCKSDB_CACHE=1 gives
 * RocksDB the read path stage 09 has, sizes matched to the stages'
 * defaults (the engine is then "rocksdb-cache"): one budget of
 * KVBENCH_CACHE_BYTES (default 8 MiB, the stages' cache_bytes) split as
 * stage 09 splits it, KV_RECORD_CACHE_PERCENT (default 25) to a row cache
 * (Options.row_cache) and the rest to the LRU block cache; a full bloom
 * filter of 10 bits per key; the index and the filter partitioned
 * (kTwoLevelIndexSearch, partition_filters, metadata_block_size 4096),
 * their partitions in the block cache with the top level pinned
 * (cache_index_and_filter_blocks, pin_top_level_index_and_filter); the
 * stages' 4 MiB memtable (write_buffer_size, unless
 * KVBENCH_WRITE_BUFFER_BYTES says otherwise); and, if
 * KV_BACKGROUND_BYTES_PER_SEC is set, its rate limiter at that rate (as
 * stage 09's kvbench reads it).  RocksDB's "Partitioned Index/Filters"
 * and "Block Cache" wiki pages describe these options.
 *   KVBENCH_WRITE_BUFFER_BYTES=N  Options.write_buffer_size = N (RocksDB's
 *       default is 64 MiB; the stages' memtable, 4 MiB).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

#include "bench_sys.h"
#include "engine.h"

typedef struct rde_db {
    rocksdb_t *db;                               /* the base DB, when otxn */
    rocksdb_optimistictransactiondb_t *otxn;     /* KVBENCH_ROCKSDB_TXN=1 */
    rocksdb_optimistictransaction_options_t *topt;
    pthread_mutex_t spare_lock;
    struct rde_txn *spare;                       /* ended transactions, to reuse */
    rocksdb_options_t *opt;
    rocksdb_writeoptions_t *wopt;
    rocksdb_readoptions_t *ropt;
} rde_db;

/* KVBENCH_ROCKSDB_TXN=1: an OptimisticTransactionDB. */
static int rde_with_txn(void)
{
    const char *v = getenv("KVBENCH_ROCKSDB_TXN");
    return v != NULL && strcmp(v, "1") == 0;
}

/* KVBENCH_WRITE_BUFFER_BYTES, or 0: RocksDB's default. */
static size_t rde_write_buffer(void)
{
    const char *v = getenv("KVBENCH_WRITE_BUFFER_BYTES");
    return v != NULL ? (size_t)strtoull(v, NULL, 10) : 0;
}

/* KVBENCH_ROCKSDB_CACHE=1: stage 09's read path (the opening comment). */
static int rde_with_cache(void)
{
    const char *v = getenv("KVBENCH_ROCKSDB_CACHE");
    return v != NULL && strcmp(v, "1") == 0;
}

/* The environment variable `name` as a number, or dflt. */
static unsigned long long rde_env_number(const char *name, unsigned long long dflt)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? strtoull(v, NULL, 10) : dflt;
}

static const char *rde_name(void)
{
    if (rde_with_cache())
        return "rocksdb-cache";
    return bench_bloom_name(rde_with_txn() ? "rocksdb-otxn" : "rocksdb");
}

static const char *rde_version(void)
{
    static char text[160];
    int bits = bench_bloom_bits(), n = 0;
    n += snprintf(text + n, sizeof text - (size_t)n, "RocksDB, C API");
    if (bits > 0)
        n += snprintf(text + n, sizeof text - (size_t)n, ", bloom filter of %d bits/key", bits);
    if (rde_with_txn())
        n += snprintf(text + n, sizeof text - (size_t)n, ", optimistic transactions");
    if (rde_with_cache())
        n += snprintf(text + n, sizeof text - (size_t)n,
                      ", bloom 10 bits/key, row cache + block cache %llu bytes (%llu%% rows), "
                      "partitioned index/filters, rate limit %llu B/s (0: none)",
                      rde_env_number("KVBENCH_CACHE_BYTES", 8u << 20),
                      rde_env_number("KV_RECORD_CACHE_PERCENT", 25),
                      rde_env_number("KV_BACKGROUND_BYTES_PER_SEC", 0));
    if (rde_write_buffer() > 0)
        snprintf(text + n, sizeof text - (size_t)n, ", write buffer %zu bytes", rde_write_buffer());
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

static void rde_txn_free_spares(rde_db *d);

static int rde_close(void *h)
{
    rde_db *d = h;
    rde_txn_free_spares(d);
    if (d->otxn) {
        rocksdb_optimistictransactiondb_close_base_db(d->db);
        rocksdb_optimistictransactiondb_close(d->otxn);
    } else if (d->db) {
        rocksdb_close(d->db);
    }
    if (d->topt)
        rocksdb_optimistictransaction_options_destroy(d->topt);
    rocksdb_options_destroy(d->opt);
    rocksdb_writeoptions_destroy(d->wopt);
    rocksdb_readoptions_destroy(d->ropt);
    pthread_mutex_destroy(&d->spare_lock);
    free(d);
    return 0;
}

/* KVBENCH_ROCKSDB_CACHE=1's options (the opening comment).  The options
 * and table options keep their own references to the caches, the filter
 * policy and the rate limiter: only the handles made here are freed. */
static void rde_set_read_path(rocksdb_options_t *opt)
{
    size_t budget = (size_t)rde_env_number("KVBENCH_CACHE_BYTES", 8u << 20);
    unsigned long long pct = rde_env_number("KV_RECORD_CACHE_PERCENT", 25);
    size_t rows = pct <= 90 ? budget / 100 * pct : budget / 4;
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_filter_policy(t, rocksdb_filterpolicy_create_bloom_full(10));
    rocksdb_block_based_options_set_index_type(t, rocksdb_block_based_table_index_type_two_level_index_search);
    rocksdb_block_based_options_set_partition_filters(t, 1);
    rocksdb_block_based_options_set_metadata_block_size(t, 4096);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(t, 1);
    rocksdb_block_based_options_set_pin_top_level_index_and_filter(t, 1);
    rocksdb_cache_t *blocks = rocksdb_cache_create_lru(budget - rows);
    rocksdb_block_based_options_set_block_cache(t, blocks);
    rocksdb_options_set_block_based_table_factory(opt, t);
    rocksdb_block_based_options_destroy(t);
    rocksdb_cache_destroy(blocks);
    if (rows > 0) {
        rocksdb_cache_t *row_cache = rocksdb_cache_create_lru(rows);
        rocksdb_options_set_row_cache(opt, row_cache);
        rocksdb_cache_destroy(row_cache);
    }
    rocksdb_options_set_write_buffer_size(opt, 4u << 20);
    unsigned long long rate = rde_env_number("KV_BACKGROUND_BYTES_PER_SEC", 0);
    if (rate > 0) {
        rocksdb_ratelimiter_t *rl = rocksdb_ratelimiter_create((int64_t)rate, 100000, 10);
        rocksdb_options_set_ratelimiter(opt, rl);
        rocksdb_ratelimiter_destroy(rl);
    }
}

static int rde_open(const char *dir, int sync, void **h)
{
    rde_db *d = calloc(1, sizeof *d);
    if (d == NULL)
        return bench_error("out of memory");
    pthread_mutex_init(&d->spare_lock, NULL);
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
    if (rde_with_cache())
        rde_set_read_path(d->opt);
    if (rde_write_buffer() > 0)
        rocksdb_options_set_write_buffer_size(d->opt, rde_write_buffer());
    d->wopt = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(d->wopt, (unsigned char)sync);
    d->ropt = rocksdb_readoptions_create();
    char *err = NULL;
    if (rde_with_txn()) {
        d->topt = rocksdb_optimistictransaction_options_create();
        rocksdb_optimistictransaction_options_set_set_snapshot(d->topt, 1);
        d->otxn = rocksdb_optimistictransactiondb_open(d->opt, dir, &err);
        if (d->otxn != NULL)
            d->db = rocksdb_optimistictransactiondb_get_base_db(d->otxn);
    } else {
        d->db = rocksdb_open(d->opt, dir, &err);
    }
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

/* ---- optimistic transactions (KVBENCH_ROCKSDB_TXN=1) ------------------------ */

/* A transaction.  An ended one goes to its database's list of spares and
 * is handed to the next begin as old_txn, which RocksDB reinitializes in
 * place instead of allocating a new one (the optimisation its header,
 * utilities/optimistic_transaction_db.h, offers for repeated transactions). */
typedef struct rde_txn {
    rde_db *d;
    rocksdb_transaction_t *t;
    const rocksdb_snapshot_t *snap;  /* the transaction's, as of its begin */
    rocksdb_readoptions_t *ropt;     /* reads at snap */
    struct rde_txn *next;            /* in d->spare */
} rde_txn;

static void rde_txn_end(rde_txn *x)
{
    rocksdb_free((void *)x->snap); /* c.h: "should be freed using rocksdb_free" */
    x->snap = NULL;
    pthread_mutex_lock(&x->d->spare_lock);
    x->next = x->d->spare;
    x->d->spare = x;
    pthread_mutex_unlock(&x->d->spare_lock);
}

static void rde_txn_free_spares(rde_db *d)
{
    while (d->spare != NULL) {
        rde_txn *x = d->spare;
        d->spare = x->next;
        rocksdb_transaction_destroy(x->t);
        rocksdb_readoptions_destroy(x->ropt);
        free(x);
    }
}

static int rde_txn_begin(void *h, void **txn)
{
    rde_db *d = h;
    if (d->otxn == NULL)
        return bench_error("rocksdb: no transactions (KVBENCH_ROCKSDB_TXN=1 opens an "
                           "OptimisticTransactionDB)");
    pthread_mutex_lock(&d->spare_lock);
    rde_txn *x = d->spare;
    if (x != NULL)
        d->spare = x->next;
    pthread_mutex_unlock(&d->spare_lock);
    if (x == NULL) {
        if ((x = calloc(1, sizeof *x)) == NULL)
            return bench_error("out of memory");
        x->d = d;
        x->ropt = rocksdb_readoptions_create();
    }
    x->t = rocksdb_optimistictransaction_begin(d->otxn, d->wopt, d->topt, x->t);
    x->snap = rocksdb_transaction_get_snapshot(x->t);
    rocksdb_readoptions_set_snapshot(x->ropt, x->snap);
    *txn = x;
    return 0;
}

static int rde_txn_get(void *txn, const void *key, size_t klen, void *buf, size_t cap,
                       size_t *vlen)
{
    rde_txn *x = txn;
    char *err = NULL;
    char *val = rocksdb_transaction_get(x->t, x->ropt, key, klen, vlen, &err);
    if (rde_check(err, "transaction get") < 0)
        return -1;
    if (val == NULL)
        return 1;
    memcpy(buf, val, *vlen < cap ? *vlen : cap);
    rocksdb_free(val);
    return 0;
}

static int rde_txn_put(void *txn, const void *key, size_t klen, const void *val, size_t vlen)
{
    char *err = NULL;
    rocksdb_transaction_put(((rde_txn *)txn)->t, key, klen, val, vlen, &err);
    return rde_check(err, "transaction put");
}

/* Status::Busy is a write conflict, Status::TryAgain a snapshot older than
 * the memtables RocksDB keeps (their messages start so: status.cc). */
static int rde_txn_commit(void *txn)
{
    rde_txn *x = txn;
    char *err = NULL;
    rocksdb_transaction_commit(x->t, &err);
    rde_txn_end(x);
    if (err != NULL && strncmp(err, "Resource busy", 13) == 0) {
        rocksdb_free(err);
        return 1;
    }
    if (err != NULL && strncmp(err, "Operation failed. Try again.", 28) == 0) {
        rocksdb_free(err);
        return 2;
    }
    return rde_check(err, "transaction commit");
}

static void rde_txn_abort(void *txn)
{
    rde_txn *x = txn;
    char *err = NULL;
    rocksdb_transaction_rollback(x->t, &err);
    rocksdb_free(err);
    rde_txn_end(x);
}

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
    .txn_begin = rde_txn_begin,
    .txn_get = rde_txn_get,
    .txn_put = rde_txn_put,
    .txn_commit = rde_txn_commit,
    .txn_abort = rde_txn_abort,
    .errmsg = bench_errmsg,
};
