/*
 * engine.h: the one adapter interface kvbench drives every engine through.
 *
 * kvbench.c holds the workloads; each engine_*.c wraps one engine behind
 * this table and defines `bench_engine_impl`.  One binary per engine:
 *   build/S/kvbench                engine_kv.c over stage S's libkv.a
 *   build/bench/kvbench-leveldb    engine_leveldb.c over LevelDB's C API
 *   build/bench/kvbench-rocksdb    engine_rocksdb.c over RocksDB's C API
 *   build/bench/kvbench-lmdb       engine_lmdb.c
 *   build/bench/kvbench-sqlite     engine_sqlite.c (WITHOUT ROWID table, WAL)
 * and likewise build/S/txnbench and build/bench/txnbench-rocksdb, the
 * transactions' benchmark (bench/txnbench.c).
 * Every stage exports the same symbols, so stages cannot share a binary.
 *
 * Rules for adapters:
 *   - Every call returns 0 on success and -1 on failure, except get (1 = not
 *     found) and iter_get (1 = an entry, 0 = the end).  On failure the
 *     adapter leaves a message for errmsg() (bench_sys.h: bench_error()).
 *   - open creates the directory if needed.  sync = 1: each write is on
 *     stable storage when it returns (the engine's own notion of it).
 *   - put, get and del may be called from several threads at once; an
 *     iterator is used by the thread that made it.
 *   - get copies at most cap bytes of the value into buf and sets *vlen to
 *     the value's full length.
 *   - An iterator is made by iter_new and positioned by iter_seek (key NULL:
 *     the first key); the pointers iter_get hands out stay valid until the
 *     next iter_next or iter_free.  REQUIRES: iterators freed before close.
 *   - compact reclaims what the engine can reclaim and returns when done (a
 *     no-op for an engine that has no such operation).
 *   - Transactions (txn_*) are optional: NULL in an adapter that has none
 *     (bench/txnbench.c needs them; kvbench never calls them).  Their
 *     isolation is snapshot isolation: a transaction's reads see the
 *     database as it was at txn_begin, with its own writes over it, and
 *     its commit applies every write at once or none, refusing if anyone
 *     committed a write to a key it writes since txn_begin (first
 *     committer wins; stages 01 to 06 compare values, so for them a key
 *     written back to the value it had does not count: include/kv.h).
 *     txn_get is as get; txn_commit returns 0
 *     (committed), 1 (a conflict: nothing applied, begin again), 2 (the
 *     engine could not tell, e.g. RocksDB whose memtables no longer reach
 *     back to the snapshot: nothing applied, begin again) or -1; commit
 *     and abort end the transaction whatever they return.  A transaction
 *     is used by one thread; several threads may each run their own.
 */
#ifndef BENCH_ENGINE_H
#define BENCH_ENGINE_H

#include <stddef.h>

typedef struct bench_engine {
    const char *(*name)(void);       /* "01-log", "leveldb", ... */
    const char *(*version)(void);    /* the library's version, as text */
    /* What sync = 1 does here: 1 = each write is on stable storage when it
     * returns (the engine syncs), 0 = the engine ignores it (no fsync at
     * all), -1 = not known.  kvbench --describe prints it, so the report
     * can mark figures of sync = 1 workloads that no fsync paid for. */
    int (*syncs)(void);
    int (*open)(const char *dir, int sync, void **h);
    int (*close)(void *h);
    int (*put)(void *h, const void *key, size_t klen, const void *val, size_t vlen);
    int (*get)(void *h, const void *key, size_t klen, void *buf, size_t cap, size_t *vlen);
    int (*del)(void *h, const void *key, size_t klen);
    int (*compact)(void *h);
    int (*iter_new)(void *h, void **it);
    int (*iter_seek)(void *it, const void *key, size_t klen);
    int (*iter_get)(void *it, const void **key, size_t *klen, const void **val, size_t *vlen);
    int (*iter_next)(void *it);
    void (*iter_free)(void *it);
    int (*txn_begin)(void *h, void **txn);
    int (*txn_get)(void *txn, const void *key, size_t klen, void *buf, size_t cap, size_t *vlen);
    int (*txn_put)(void *txn, const void *key, size_t klen, const void *val, size_t vlen);
    int (*txn_commit)(void *txn);
    void (*txn_abort)(void *txn);
    const char *(*errmsg)(void);     /* this thread's last failure */
} bench_engine;

/* Defined by the one engine_*.c linked into the binary. */
extern const bench_engine bench_engine_impl;

#endif
