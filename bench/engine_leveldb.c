/*
 * engine_leveldb.c: kvbench's adapter for LevelDB, through its C API
 * (leveldb/c.h, Debian's libleveldb-dev).
 *
 * Options are LevelDB's defaults (4 MiB write buffer, 8 MiB block cache,
 * Snappy compression, no bloom filter), as a user gets them, plus
 * create_if_missing; sync = 1 sets WriteOptions.sync on every write.
 * compact is CompactRange over the whole key space.
 *
 * KVBENCH_BLOOM_BITS=N (N > 0) gives every table a bloom filter of N bits
 * per key, the way LevelDB's documentation tells a user to
 * (options.filter_policy = NewBloomFilterPolicy(10)); the engine then
 * names itself "leveldb-bloom" (N = 10) or "leveldb-bloomN".
 * scripts/bench.sh runs LevelDB both ways.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "bench_sys.h"
#include "engine.h"

typedef struct lde_db {
    leveldb_t *db;
    leveldb_options_t *opt;
    leveldb_filterpolicy_t *filter; /* NULL: no bloom filter */
    leveldb_writeoptions_t *wopt;
    leveldb_readoptions_t *ropt;
} lde_db;

static const char *lde_name(void) { return bench_bloom_name("leveldb"); }

static const char *lde_version(void)
{
    static char text[64];
    int bits = bench_bloom_bits();
    snprintf(text, sizeof text, "LevelDB %d.%d%s", leveldb_major_version(),
             leveldb_minor_version(), bits ? ", bloom filter" : "");
    if (bits)
        snprintf(text + strlen(text), sizeof text - strlen(text), " of %d bits/key", bits);
    return text;
}

/* Turns LevelDB's error string (if any) into our message; frees it. */
static int lde_check(char *err, const char *what)
{
    if (err == NULL)
        return 0;
    bench_error("leveldb %s: %s", what, err);
    leveldb_free(err);
    return -1;
}

static int lde_close(void *h)
{
    lde_db *d = h;
    if (d->db)
        leveldb_close(d->db);
    leveldb_options_destroy(d->opt);
    if (d->filter)
        leveldb_filterpolicy_destroy(d->filter);
    leveldb_writeoptions_destroy(d->wopt);
    leveldb_readoptions_destroy(d->ropt);
    free(d);
    return 0;
}

static int lde_open(const char *dir, int sync, void **h)
{
    lde_db *d = calloc(1, sizeof *d);
    if (d == NULL)
        return bench_error("out of memory");
    d->opt = leveldb_options_create();
    leveldb_options_set_create_if_missing(d->opt, 1);
    if (bench_bloom_bits() > 0) {
        d->filter = leveldb_filterpolicy_create_bloom(bench_bloom_bits());
        leveldb_options_set_filter_policy(d->opt, d->filter);
    }
    d->wopt = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(d->wopt, (uint8_t)sync);
    d->ropt = leveldb_readoptions_create();
    char *err = NULL;
    d->db = leveldb_open(d->opt, dir, &err);
    if (lde_check(err, "open") < 0) {
        lde_close(d);
        return -1;
    }
    *h = d;
    return 0;
}

static int lde_put(void *h, const void *key, size_t klen, const void *val, size_t vlen)
{
    lde_db *d = h;
    char *err = NULL;
    leveldb_put(d->db, d->wopt, key, klen, val, vlen, &err);
    return lde_check(err, "put");
}

static int lde_get(void *h, const void *key, size_t klen, void *buf, size_t cap, size_t *vlen)
{
    lde_db *d = h;
    char *err = NULL;
    char *val = leveldb_get(d->db, d->ropt, key, klen, vlen, &err);
    if (lde_check(err, "get") < 0)
        return -1;
    if (val == NULL)
        return 1;
    memcpy(buf, val, *vlen < cap ? *vlen : cap);
    leveldb_free(val);
    return 0;
}

static int lde_del(void *h, const void *key, size_t klen)
{
    lde_db *d = h;
    char *err = NULL;
    leveldb_delete(d->db, d->wopt, key, klen, &err);
    return lde_check(err, "delete");
}

static int lde_compact(void *h)
{
    leveldb_compact_range(((lde_db *)h)->db, NULL, 0, NULL, 0);
    return 0;
}

static int lde_iter_new(void *h, void **it)
{
    lde_db *d = h;
    *it = leveldb_create_iterator(d->db, d->ropt);
    return *it ? 0 : bench_error("leveldb: no iterator");
}

static int lde_iter_status(void *it, const char *what)
{
    char *err = NULL;
    leveldb_iter_get_error(it, &err);
    return lde_check(err, what);
}

static int lde_iter_seek(void *it, const void *key, size_t klen)
{
    if (key == NULL)
        leveldb_iter_seek_to_first(it);
    else
        leveldb_iter_seek(it, key, klen);
    return lde_iter_status(it, "iterator seek");
}

static int lde_iter_get(void *it, const void **key, size_t *klen, const void **val, size_t *vlen)
{
    if (!leveldb_iter_valid(it))
        return lde_iter_status(it, "iterator");
    *key = leveldb_iter_key(it, klen);
    *val = leveldb_iter_value(it, vlen);
    return 1;
}

static int lde_iter_next(void *it)
{
    leveldb_iter_next(it);
    return lde_iter_status(it, "iterator next");
}

static void lde_iter_free(void *it) { leveldb_iter_destroy(it); }

/* sync = 1 is honoured: WriteOptions.sync: the log is synced before a write returns. */
static int lde_syncs(void) { return 1; }

const bench_engine bench_engine_impl = {
    .name = lde_name,
    .version = lde_version,
    .syncs = lde_syncs,
    .open = lde_open,
    .close = lde_close,
    .put = lde_put,
    .get = lde_get,
    .del = lde_del,
    .compact = lde_compact,
    .iter_new = lde_iter_new,
    .iter_seek = lde_iter_seek,
    .iter_get = lde_iter_get,
    .iter_next = lde_iter_next,
    .iter_free = lde_iter_free,
    .errmsg = bench_errmsg,
};
