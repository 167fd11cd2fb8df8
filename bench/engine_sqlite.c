/*
 * engine_sqlite.c: kvbench's adapter for SQLite (sqlite3.h, Debian's
 * libsqlite3-dev).
 *
 * The database is DIR/kv.sqlite with one table,
 *   CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID
 * (a B-tree keyed by k, bytewise order, the values in the tree), in WAL
 * mode, as LevelDB's db_bench_sqlite3 sets it up.  Each put, delete and get
 * is one statement in autocommit mode, i.e. its own transaction.  sync = 0
 * is PRAGMA synchronous = OFF (commits reach the OS, no fsync); sync = 1 is
 * synchronous = FULL (an fsync of the WAL per commit).  compact is
 * wal_checkpoint(TRUNCATE) and VACUUM.
 *
 * A connection is not for several threads at once, so each thread opens
 * its own on first use (readers and the writer then run concurrently, as
 * WAL mode allows).  Prepared statements are kept per connection.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "bench_sys.h"
#include "engine.h"

enum { SQ_PUT, SQ_GET, SQ_DEL, SQ_SEEK, SQ_FIRST, SQ_NSTMT };

static const char *const sq_sql[SQ_NSTMT] = {
    "INSERT OR REPLACE INTO kv(k, v) VALUES (?1, ?2)",
    "SELECT v FROM kv WHERE k = ?1",
    "DELETE FROM kv WHERE k = ?1",
    "SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k",
    "SELECT k, v FROM kv ORDER BY k",
};

typedef struct sq_conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[SQ_NSTMT];
    struct sq_conn *next;
} sq_conn;

typedef struct sq_db {
    char *path;
    int sync;
    uint64_t generation;      /* tells this handle's connections from older ones */
    pthread_mutex_t lock;     /* guards conns */
    sq_conn *conns;           /* every thread's connection */
} sq_db;

typedef struct sq_iter {
    sq_conn *c;
    sqlite3_stmt *st;         /* the statement stepping; NULL before a seek */
    int row;                  /* 1 while st is on a row */
} sq_iter;

static uint64_t sq_generations;
static _Thread_local sq_conn *tl_conn;
static _Thread_local uint64_t tl_generation;

static const char *sq_name(void) { return "sqlite"; }
static const char *sq_version(void) { return sqlite3_libversion(); }

static int sq_fail(sqlite3 *db, const char *what)
{
    return bench_error("sqlite %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

static void sq_conn_close(sq_conn *c)
{
    for (int i = 0; i < SQ_NSTMT; i++)
        sqlite3_finalize(c->stmt[i]);
    sqlite3_close(c->db);
    free(c);
}

static int sq_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK)
        return 0;
    bench_error("sqlite %s: %s", sql, err ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    return -1;
}

/* Opens a connection with the pragmas and statements every one needs. */
static int sq_conn_open(sq_db *d, int create, sq_conn **out)
{
    sq_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return bench_error("out of memory");
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(d->path, &c->db, flags, NULL) != SQLITE_OK) {
        sq_fail(c->db, "open");
        sq_conn_close(c);
        return -1;
    }
    sqlite3_busy_timeout(c->db, 60000);
    if ((create && (sq_exec(c->db, "PRAGMA journal_mode = WAL") < 0 ||
                    sq_exec(c->db, "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, "
                                   "v BLOB) WITHOUT ROWID") < 0)) ||
        sq_exec(c->db, d->sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF") < 0) {
        sq_conn_close(c);
        return -1;
    }
    for (int i = 0; i < SQ_NSTMT; i++)
        if (sqlite3_prepare_v3(c->db, sq_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[i],
                               NULL) != SQLITE_OK) {
            sq_fail(c->db, sq_sql[i]);
            sq_conn_close(c);
            return -1;
        }
    *out = c;
    return 0;
}

/* This thread's connection to d, opened on first use. */
static sq_conn *sq_conn_get(sq_db *d)
{
    if (tl_conn != NULL && tl_generation == d->generation)
        return tl_conn;
    sq_conn *c;
    if (sq_conn_open(d, 0, &c) < 0)
        return NULL;
    pthread_mutex_lock(&d->lock);
    c->next = d->conns;
    d->conns = c;
    pthread_mutex_unlock(&d->lock);
    tl_conn = c;
    tl_generation = d->generation;
    return c;
}

static int sq_close(void *h)
{
    sq_db *d = h;
    while (d->conns) {
        sq_conn *next = d->conns->next;
        sq_conn_close(d->conns);
        d->conns = next;
    }
    pthread_mutex_destroy(&d->lock);
    free(d->path);
    free(d);
    return 0;
}

static int sq_open(const char *dir, int sync, void **h)
{
    if (bench_mkdir(dir) < 0)
        return -1;
    sq_db *d = calloc(1, sizeof *d);
    if (d == NULL || asprintf(&d->path, "%s/kv.sqlite", dir) < 0) {
        free(d);
        return bench_error("out of memory");
    }
    d->sync = sync;
    d->generation = __atomic_add_fetch(&sq_generations, 1, __ATOMIC_RELAXED);
    pthread_mutex_init(&d->lock, NULL);
    sq_conn *c;
    if (sq_conn_open(d, 1, &c) < 0) {
        sq_close(d);
        return -1;
    }
    d->conns = c;
    tl_conn = c;
    tl_generation = d->generation;
    *h = d;
    return 0;
}

/* Runs a statement that returns no rows, with key and value bound. */
static int sq_run(sq_db *d, int which, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
    sq_conn *c = sq_conn_get(d);
    if (c == NULL)
        return -1;
    sqlite3_stmt *st = c->stmt[which];
    sqlite3_bind_blob(st, 1, key, (int)klen, SQLITE_STATIC);
    if (which == SQ_PUT)
        sqlite3_bind_blob(st, 2, val, (int)vlen, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(c->db, sq_sql[which]);
}

static int sq_put(void *h, const void *key, size_t klen, const void *val, size_t vlen)
{
    return sq_run(h, SQ_PUT, key, klen, val ? val : "", vlen);
}

static int sq_del(void *h, const void *key, size_t klen)
{
    return sq_run(h, SQ_DEL, key, klen, NULL, 0);
}

static int sq_get(void *h, const void *key, size_t klen, void *buf, size_t cap, size_t *vlen)
{
    sq_conn *c = sq_conn_get(h);
    if (c == NULL)
        return -1;
    sqlite3_stmt *st = c->stmt[SQ_GET];
    sqlite3_bind_blob(st, 1, key, (int)klen, SQLITE_STATIC);
    int rc = sqlite3_step(st), out;
    if (rc == SQLITE_ROW) {
        const void *v = sqlite3_column_blob(st, 0);
        *vlen = (size_t)sqlite3_column_bytes(st, 0);
        memcpy(buf, v, *vlen < cap ? *vlen : cap);
        out = 0;
    } else {
        out = rc == SQLITE_DONE ? 1 : sq_fail(c->db, "get");
    }
    sqlite3_reset(st);
    return out;
}

static int sq_compact(void *h)
{
    sq_conn *c = sq_conn_get(h);
    if (c == NULL)
        return -1;
    if (sq_exec(c->db, "PRAGMA wal_checkpoint(TRUNCATE)") < 0 || sq_exec(c->db, "VACUUM") < 0 ||
        sq_exec(c->db, "PRAGMA wal_checkpoint(TRUNCATE)") < 0)
        return -1;
    return 0;
}

static int sq_iter_new(void *h, void **out)
{
    sq_iter *it = calloc(1, sizeof *it);
    if (it == NULL)
        return bench_error("out of memory");
    if ((it->c = sq_conn_get(h)) == NULL) {
        free(it);
        return -1;
    }
    *out = it;
    return 0;
}

static int sq_iter_step(sq_iter *it)
{
    int rc = sqlite3_step(it->st);
    it->row = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_fail(it->c->db, "iterator");
}

static int sq_iter_seek(void *p, const void *key, size_t klen)
{
    sq_iter *it = p;
    if (it->st)
        sqlite3_reset(it->st);
    it->st = it->c->stmt[key ? SQ_SEEK : SQ_FIRST];
    if (key)
        sqlite3_bind_blob(it->st, 1, key, (int)klen, SQLITE_TRANSIENT);
    return sq_iter_step(it);
}

static int sq_iter_get(void *p, const void **key, size_t *klen, const void **val, size_t *vlen)
{
    sq_iter *it = p;
    if (!it->row)
        return 0;
    *key = sqlite3_column_blob(it->st, 0);
    *klen = (size_t)sqlite3_column_bytes(it->st, 0);
    *val = sqlite3_column_blob(it->st, 1);
    *vlen = (size_t)sqlite3_column_bytes(it->st, 1);
    return 1;
}

static int sq_iter_next(void *p)
{
    sq_iter *it = p;
    return it->row ? sq_iter_step(it) : 0;
}

static void sq_iter_free(void *p)
{
    sq_iter *it = p;
    if (it->st)
        sqlite3_reset(it->st);
    free(it);
}

/* sync = 1 is honoured: synchronous = FULL: each commit is synced before it returns. */
static int sq_syncs(void) { return 1; }

const bench_engine bench_engine_impl = {
    .name = sq_name,
    .version = sq_version,
    .syncs = sq_syncs,
    .open = sq_open,
    .close = sq_close,
    .put = sq_put,
    .get = sq_get,
    .del = sq_del,
    .compact = sq_compact,
    .iter_new = sq_iter_new,
    .iter_seek = sq_iter_seek,
    .iter_get = sq_iter_get,
    .iter_next = sq_iter_next,
    .iter_free = sq_iter_free,
    .errmsg = bench_errmsg,
};
