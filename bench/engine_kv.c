/*
 * engine_kv.c: kvbench's adapter for a stage of this project, through
 * include/kv.h.  The same object is linked with each stage's libkv.a into
 * build/S/kvbench; the stage names itself with kv_stage().  Whether the
 * stage honours sync = 1 comes from the table of what each stage promises
 * (tests/stage_caps.c, checked against every stage by its tests).  Every
 * option is the stage's default (memtable_bytes included: 4 MiB from stage
 * 04 on), unless the environment variable KV_MEMTABLE_BYTES says otherwise
 * (and KV_RECORD_CACHE_PERCENT, KV_BACKGROUND_BYTES_PER_SEC, and
 * KV_MAP_TABLES=no for kv_options.map_tables = KV_NO_MAP, and
 * KV_TABLE_PARTITIONS=yes for table_partitions = KV_PARTITIONS, and
 * KV_COMPRESSION=none, lz4 or lz4-values for compression =
 * KV_COMPRESSION_NONE, _LZ4 or _LZ4_VALUES, and
 * KV_FILTERS_FOR_HITS=yes or no for filters_for_hits = 1 or
 * KV_FILTERS_ALWAYS, and KV_BLOCK_HASH=yes or no for block_hash_index = 1
 * or KV_NO_BLOCK_HASH, and KV_BLOCK_RESTART_INTERVAL).
 * With KVBENCH_KV_STATS set to prefixes separated by spaces ("write. flush."),
 * each database prints the lines of its kv_stats that start with one of
 * them to standard error when it closes: what the engine did under a
 * workload (its switches, stalls, flushes, compactions).  Transactions are
 * kv.h's (kv_txn_*) at KV_TXN_SNAPSHOT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/stage_caps.h"
#include "engine.h"
#include "kv.h"

static const char *kve_name(void) { return kv_stage(); }
static const char *kve_version(void) { return "libkv.a of this project"; }

static int kve_syncs(void)
{
    const stage_caps *caps = stage_caps_find();
    return caps == NULL ? -1 : caps->durable_sync;
}

static int kve_status(int rc) { return rc == KV_OK ? 0 : rc == KV_NOT_FOUND ? 1 : -1; }

static int kve_open(const char *dir, int sync, void **h)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.sync = sync;
    const char *mb = getenv("KV_MEMTABLE_BYTES");
    if (mb != NULL)
        opt.memtable_bytes = (size_t)strtoull(mb, NULL, 10);
    const char *rp = getenv("KV_RECORD_CACHE_PERCENT"); /* stage 09 on */
    if (rp != NULL)
        opt.record_cache_percent = (int)strtol(rp, NULL, 10);
    const char *bw = getenv("KV_BACKGROUND_BYTES_PER_SEC"); /* stage 09 on */
    if (bw != NULL)
        opt.background_bytes_per_sec = (size_t)strtoull(bw, NULL, 10);
    const char *mt = getenv("KV_MAP_TABLES"); /* stage 05 on */
    if (mt != NULL && strcmp(mt, "no") == 0)
        opt.map_tables = KV_NO_MAP;
    const char *cp = getenv("KV_COMPRESSION"); /* stage 05 on */
    if (cp != NULL && strcmp(cp, "none") == 0)
        opt.compression = KV_COMPRESSION_NONE;
    else if (cp != NULL && strcmp(cp, "lz4") == 0)
        opt.compression = KV_COMPRESSION_LZ4;
    else if (cp != NULL && strcmp(cp, "lz4-values") == 0)
        opt.compression = KV_COMPRESSION_LZ4_VALUES;
    const char *fh = getenv("KV_FILTERS_FOR_HITS"); /* stage 05 on */
    if (fh != NULL)
        opt.filters_for_hits = strcmp(fh, "yes") == 0 ? 1 : KV_FILTERS_ALWAYS;
    const char *ri = getenv("KV_BLOCK_RESTART_INTERVAL"); /* stage 05 on */
    if (ri != NULL)
        opt.block_restart_interval = (int)strtol(ri, NULL, 10);
    const char *bh = getenv("KV_BLOCK_HASH"); /* stage 05 on */
    if (bh != NULL)
        opt.block_hash_index = strcmp(bh, "yes") == 0 ? 1 : KV_NO_BLOCK_HASH;
    const char *tp = getenv("KV_TABLE_PARTITIONS"); /* stage 09 on */
    if (tp != NULL && strcmp(tp, "yes") == 0)
        opt.table_partitions = KV_PARTITIONS;
    return kve_status(kv_open(dir, &opt, (kv_db **)h));
}

/* The lines of h's kv_stats that KVBENCH_KV_STATS asks for. */
static void kve_print_stats(kv_db *h)
{
    const char *want = getenv("KVBENCH_KV_STATS");
    char *text = NULL;
    if (want == NULL || kv_stats(h, &text) != KV_OK)
        return;
    for (char *line = text; *line != '\0';) {
        size_t len = strcspn(line, "\n");
        for (const char *p = want; *p != '\0';) {
            size_t n = strcspn(p, " ");
            if (n > 0 && n <= len && strncmp(line, p, n) == 0) {
                fprintf(stderr, "kv_stats: %.*s\n", (int)len, line);
                break;
            }
            p += n + (p[n] == ' ');
        }
        line += len + (line[len] == '\n');
    }
    kv_free(text);
}

static int kve_close(void *h)
{
    kve_print_stats(h);
    return kve_status(kv_close(h));
}

static int kve_put(void *h, const void *key, size_t klen, const void *val, size_t vlen)
{
    return kve_status(kv_put(h, key, klen, val, vlen));
}

static int kve_get(void *h, const void *key, size_t klen, void *buf, size_t cap, size_t *vlen)
{
    void *val;
    int rc = kv_get(h, key, klen, &val, vlen);
    if (rc != KV_OK)
        return kve_status(rc);
    memcpy(buf, val, *vlen < cap ? *vlen : cap);
    kv_free(val);
    return 0;
}

static int kve_del(void *h, const void *key, size_t klen)
{
    return kve_status(kv_delete(h, key, klen));
}

static int kve_compact(void *h) { return kve_status(kv_compact(h)); }

static int kve_iter_new(void *h, void **it) { return kve_status(kv_iter_new(h, (kv_iter **)it)); }

static int kve_iter_seek(void *it, const void *key, size_t klen)
{
    if (key == NULL)
        kv_iter_seek_first(it);
    else
        kv_iter_seek(it, key, klen);
    return kve_status(kv_iter_status(it));
}

static int kve_iter_get(void *it, const void **key, size_t *klen, const void **val, size_t *vlen)
{
    if (!kv_iter_valid(it))
        return kv_iter_status(it) == KV_OK ? 0 : -1;
    *key = kv_iter_key(it, klen);
    *val = kv_iter_value(it, vlen);
    return *val != NULL ? 1 : -1;
}

static int kve_iter_next(void *it)
{
    kv_iter_next(it);
    return kve_status(kv_iter_status(it));
}

static void kve_iter_free(void *it) { kv_iter_free(it); }

/* Transactions: kv.h's, at KV_TXN_SNAPSHOT (engine.h's isolation). */
static int kve_txn_begin(void *h, void **txn)
{
    return kve_status(kv_txn_begin(h, KV_TXN_SNAPSHOT, (kv_txn **)txn));
}

static int kve_txn_get(void *txn, const void *key, size_t klen, void *buf, size_t cap,
                       size_t *vlen)
{
    void *val;
    int rc = kv_txn_get(txn, key, klen, &val, vlen);
    if (rc != KV_OK)
        return kve_status(rc);
    memcpy(buf, val, *vlen < cap ? *vlen : cap);
    kv_free(val);
    return 0;
}

static int kve_txn_put(void *txn, const void *key, size_t klen, const void *val, size_t vlen)
{
    return kve_status(kv_txn_put(txn, key, klen, val, vlen));
}

static int kve_txn_commit(void *txn)
{
    int rc = kv_txn_commit(txn);
    return rc == KV_ERR_CONFLICT ? 1 : kve_status(rc);
}

static void kve_txn_abort(void *txn) { kv_txn_abort(txn); }

const bench_engine bench_engine_impl = {
    .name = kve_name,
    .version = kve_version,
    .syncs = kve_syncs,
    .open = kve_open,
    .close = kve_close,
    .put = kve_put,
    .get = kve_get,
    .del = kve_del,
    .compact = kve_compact,
    .iter_new = kve_iter_new,
    .iter_seek = kve_iter_seek,
    .iter_get = kve_iter_get,
    .iter_next = kve_iter_next,
    .iter_free = kve_iter_free,
    .txn_begin = kve_txn_begin,
    .txn_get = kve_txn_get,
    .txn_put = kve_txn_put,
    .txn_commit = kve_txn_commit,
    .txn_abort = kve_txn_abort,
    .errmsg = kv_errmsg,
};
