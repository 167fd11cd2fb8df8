/*
 * lsm_read.c: kv_get and kv_get_at: the newest version of a key at a
 * sequence number, looked for in the newest source first: mem, then imm,
 * then the tables, newest first (D2).  The first source that has a version
 * of the key at or below the sequence answers (a tombstone answers "not
 * found"); a table whose key range excludes the key costs nothing, one
 * whose range holds it costs about 2 log2(N) positioned reads (table.h).
 * kv_stats counts them: session.get.table_reads_per_get, session.get.tables_per_get;
 * so does the calling thread's kv_cost (kv.h), one lookup at a time.
 */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cost.h"
#include "error.h"
#include "lsm_db.h"
#include "lsm_elsewhere.h"

/* A malloc'd copy of [p, p + n): never NULL, even for an empty value. */
static int lsm_copy_value(const uint8_t *p, size_t n, void **val, size_t *vlen)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (copy == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_get: out of memory for a value of %zu bytes", n);
    if (n > 0)
        memcpy(copy, p, n);
    *val = copy;
    *vlen = n;
    return KV_OK;
}

/* The lookup in v at lk's sequence, its work added to *cost.  KV_OK,
 * KV_NOT_FOUND or an error. */
static int lsm_get_in(kv_db *db, const lsm_view *v, const ikey_lookup *lk, void **val,
                      size_t *vlen, table_get_cost *cost)
{
    memtable *mems[2] = {v->mem, v->imm};
    for (int i = 0; i < 2; i++) {
        const uint8_t *p = NULL;
        size_t n = 0;
        cost->kv.memtables += mems[i] != NULL;
        ikey_lookup_state st = mems[i] ? memtable_get(mems[i], lk, &p, &n) : IKEY_ABSENT;
        if (st == IKEY_FOUND)
            return lsm_copy_value(p, n, val, vlen);
        if (st == IKEY_DELETED)
            return KV_NOT_FOUND;
    }
    int elsewhere = 0;
    int rc = table_set_get(v->tables, lk, NULL, NULL, val, vlen, &elsewhere, cost);
    lsm_count(&db->count.stats, LSM_GET_TABLE_READS, cost->reads);
    lsm_count(&db->count.stats, LSM_GET_TABLES_SEARCHED, cost->searched);
    if (rc == KV_OK && elsewhere)
        rc = lsm_value_load(db, val, vlen); /* kept elsewhere */
    return rc;
}

/* snap NULL: now. */
static int lsm_get(kv_db *db, const kv_snapshot *snap, const void *key, size_t klen,
                   void **val, size_t *vlen)
{
    lsm_count(&db->count.stats, LSM_GETS, 1);
    uint64_t seq = 0, t0 = cost_start(); /* (or 0: not timed, cost.h) */
    table_get_cost cost = {.kv.gets = 1};
    uint64_t pin = value_store_pin(db->values.store); /* before the view (value_store.h) */
    lsm_view *v = lsm_view_get(db, snap ? NULL : &seq);
    if (snap != NULL)
        seq = snap->seq;
    ikey_lookup lk;
    int rc = ikey_lookup_init(&lk, key, klen, seq);
    if (rc == KV_OK)
        rc = lsm_get_in(db, v, &lk, val, vlen, &cost);
    ikey_lookup_free(&lk);
    lsm_view_unref(v);
    value_store_unpin(db->values.store, pin);
    cost.kv.nanos = latency_call_ns(LATENCY_GET, t0);
    latency_record_ns(&db->count.stats.lat, LATENCY_GET, cost.kv.nanos);
    cost_add(&cost.kv); /* the thread's kv_cost */
    return rc;
}

int kv_get(kv_db *db, const void *key, size_t klen, void **val, size_t *vlen)
{
    int rc = args_check_get(db, key, klen, val, vlen);
    return rc == KV_OK ? lsm_get(db, NULL, key, klen, val, vlen) : rc;
}

int kv_get_at(kv_db *db, const kv_snapshot *snap, const void *key, size_t klen, void **val,
              size_t *vlen)
{
    int rc = args_check_get_at(db, snap, key, klen, val, vlen);
    if (rc == KV_OK && snap->db != db)
        rc = kv_error(KV_ERR_INVALID, "kv_get_at: the snapshot belongs to another database");
    return rc == KV_OK ? lsm_get(db, snap, key, klen, val, vlen) : rc;
}
