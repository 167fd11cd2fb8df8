/*
 * engine_lmdb.c: kvbench's adapter for LMDB (lmdb.h, Debian's liblmdb-dev).
 *
 * A B+tree in one memory-mapped file (DIR/data.mdb, with DIR/lock.mdb).
 * Every put and delete is its own write transaction, every get its own read
 * transaction: what one kv_put or kv_get is in this project.  sync = 0 opens
 * the environment with MDB_NOSYNC (commits reach the OS, no fsync, like the
 * others' sync = 0); sync = 1 uses LMDB's default, an fdatasync per commit.
 * The map is 64 GiB of address space (the file grows only as pages are
 * used), or KVBENCH_LMDB_MAP_MB mebibytes (valgrind cannot reserve 64 GiB:
 * scripts/get_cost.sh sets it to a few times the database's size).  LMDB has no compaction: freed pages are reused in place, so
 * compact does nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "bench_sys.h"
#include "engine.h"

#define LME_MAP_BYTES (64ull << 30)

typedef struct lme_db {
    MDB_env *env;
    MDB_dbi dbi;
} lme_db;

typedef struct lme_iter {
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val key, val;
    int valid;
} lme_iter;

static const char *lme_name(void) { return "lmdb"; }
static const char *lme_version(void) { return mdb_version(NULL, NULL, NULL); }

static int lme_fail(const char *what, int rc)
{
    return bench_error("lmdb %s: %s", what, mdb_strerror(rc));
}

static int lme_close(void *h)
{
    lme_db *d = h;
    if (d->env)
        mdb_env_close(d->env);
    free(d);
    return 0;
}

static int lme_open(const char *dir, int sync, void **h)
{
    if (bench_mkdir(dir) < 0)
        return -1;
    lme_db *d = calloc(1, sizeof *d);
    if (d == NULL)
        return bench_error("out of memory");
    int rc;
    MDB_txn *txn = NULL;
    const char *mb = getenv("KVBENCH_LMDB_MAP_MB");
    size_t map_bytes = mb != NULL ? (size_t)strtoull(mb, NULL, 10) << 20 : (size_t)LME_MAP_BYTES;
    if ((rc = mdb_env_create(&d->env)) != 0 ||
        (rc = mdb_env_set_mapsize(d->env, map_bytes)) != 0 ||
        (rc = mdb_env_open(d->env, dir, sync ? 0 : MDB_NOSYNC, 0644)) != 0 ||
        (rc = mdb_txn_begin(d->env, NULL, 0, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, NULL, 0, &d->dbi)) != 0 ||
        (rc = mdb_txn_commit(txn)) != 0) {
        if (txn)
            mdb_txn_abort(txn);
        lme_close(d);
        return lme_fail("open", rc);
    }
    *h = d;
    return 0;
}

/* One write transaction: a put (val != NULL) or a delete. */
static int lme_write(lme_db *d, const void *key, size_t klen, const void *val, size_t vlen)
{
    MDB_txn *txn;
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
    MDB_val v = {.mv_size = vlen, .mv_data = (void *)val};
    int rc = mdb_txn_begin(d->env, NULL, 0, &txn);
    if (rc != 0)
        return lme_fail("begin", rc);
    rc = val ? mdb_put(txn, d->dbi, &k, &v, 0) : mdb_del(txn, d->dbi, &k, NULL);
    if (rc != 0 && !(val == NULL && rc == MDB_NOTFOUND)) {
        mdb_txn_abort(txn);
        return lme_fail(val ? "put" : "delete", rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return lme_fail("commit", rc);
    return 0;
}

static int lme_put(void *h, const void *key, size_t klen, const void *val, size_t vlen)
{
    return lme_write(h, key, klen, val ? val : "", vlen);
}

static int lme_del(void *h, const void *key, size_t klen)
{
    return lme_write(h, key, klen, NULL, 0);
}

static int lme_get(void *h, const void *key, size_t klen, void *buf, size_t cap, size_t *vlen)
{
    lme_db *d = h;
    MDB_txn *txn;
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key}, v;
    int rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return lme_fail("begin", rc);
    rc = mdb_get(txn, d->dbi, &k, &v);
    if (rc == 0) {
        *vlen = v.mv_size;
        memcpy(buf, v.mv_data, v.mv_size < cap ? v.mv_size : cap);
    }
    mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND)
        return 1;
    return rc == 0 ? 0 : lme_fail("get", rc);
}

static int lme_compact(void *h)
{
    (void)h;
    return 0;
}

static void lme_iter_free(void *p)
{
    lme_iter *it = p;
    if (it->cur)
        mdb_cursor_close(it->cur);
    if (it->txn)
        mdb_txn_abort(it->txn);
    free(it);
}

static int lme_iter_new(void *h, void **out)
{
    lme_db *d = h;
    lme_iter *it = calloc(1, sizeof *it);
    if (it == NULL)
        return bench_error("out of memory");
    int rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &it->txn);
    if (rc == 0)
        rc = mdb_cursor_open(it->txn, d->dbi, &it->cur);
    if (rc != 0) {
        lme_iter_free(it);
        return lme_fail("iterator", rc);
    }
    *out = it;
    return 0;
}

static int lme_iter_move(lme_iter *it, MDB_cursor_op op)
{
    int rc = mdb_cursor_get(it->cur, &it->key, &it->val, op);
    it->valid = rc == 0;
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : lme_fail("cursor", rc);
}

static int lme_iter_seek(void *p, const void *key, size_t klen)
{
    lme_iter *it = p;
    if (key == NULL)
        return lme_iter_move(it, MDB_FIRST);
    it->key.mv_size = klen;
    it->key.mv_data = (void *)key;
    return lme_iter_move(it, MDB_SET_RANGE);
}

static int lme_iter_get(void *p, const void **key, size_t *klen, const void **val, size_t *vlen)
{
    lme_iter *it = p;
    if (!it->valid)
        return 0;
    *key = it->key.mv_data;
    *klen = it->key.mv_size;
    *val = it->val.mv_data;
    *vlen = it->val.mv_size;
    return 1;
}

static int lme_iter_next(void *p)
{
    lme_iter *it = p;
    return it->valid ? lme_iter_move(it, MDB_NEXT) : 0;
}

/* sync = 1 is honoured: without MDB_NOSYNC each commit is synced before it returns. */
static int lme_syncs(void) { return 1; }

const bench_engine bench_engine_impl = {
    .name = lme_name,
    .version = lme_version,
    .syncs = lme_syncs,
    .open = lme_open,
    .close = lme_close,
    .put = lme_put,
    .get = lme_get,
    .del = lme_del,
    .compact = lme_compact,
    .iter_new = lme_iter_new,
    .iter_seek = lme_iter_seek,
    .iter_get = lme_iter_get,
    .iter_next = lme_iter_next,
    .iter_free = lme_iter_free,
    .errmsg = bench_errmsg,
};
