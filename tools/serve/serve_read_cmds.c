/*
 * serve_read_cmds.c: the commands that read the engine, each one function
 * from a view to a reply (serve_view, server.h): PING, ECHO, GET, MGET,
 * EXISTS, TYPE, STRLEN, RANGE.  The command table names them as rows'
 * `read` (serve_cmd_table.c); SCAN, KEYS and DBSIZE, which walk the
 * whole database over budgets of their own, are serve_scan.c's,
 * serve_keys.c's and serve_info.c's.
 *
 * One function answers every way a read runs: on the loop against the
 * database now (serve_cmd_run.c), inside EXEC against the transaction's
 * kv_txn (serve_txn.c), between WATCH and EXEC against the WATCH's
 * kv_txn (serve_watch.c), and for an extension's EXEC against a list
 * that records the keys asked for, then hands out the answers found
 * where the transaction applied (serve_readlist.c, serve_queue.c).
 *
 * Rules:
 *   - A read touches nothing but its view and its reply: inside EXEC it
 *     runs on the thread applying the batch.
 *   - A read of several keys (MGET, EXISTS) from the database reads them
 *     all at one snapshot (kv_snapshot_new, O(1) on every stage): writer
 *     threads apply batches meanwhile (serve_commit.c), and an MSET or an
 *     EXEC must be seen whole or not at all, as Redis's one thread
 *     guarantees.  A transaction's view is one snapshot already.
 *   - A key out of kv.h's range (empty, or longer than KV_MAX_KEY) is
 *     absent: no such key can exist.  So is a key of the extension's own
 *     (serve_ext.h, E3).
 *   - No reply grows past SERVE_MAX_REPLY bytes, and RANGE walks at most
 *     SERVE_WALK_KEYS pairs, so that no read holds up the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static void read_kv_error(serve_out *o, int rc)
{
    out_error(o, "ERR %s: %s", kv_strerror(rc), kv_errmsg());
}

/* kv_get of word i's key from the view: a list of answers (an
 * extension's EXEC), the transaction's view, the database at snap (not
 * NULL: a read of several keys), or the database now.  A key out of
 * kv.h's range, or the extension's own, is KV_NOT_FOUND, asked of no one. */
static int view_get(const serve_view *v, const kv_snapshot *snap, const serve_req *r, size_t i,
                    void **val, size_t *vl)
{
    const char *k = req_ptr(r, i);
    size_t kl = req_len(r, i);
    if (!serve_key_ok(kl) || serve_key_hidden(v->hidden, v->hidden_len, k, kl))
        return KV_NOT_FOUND;
    if (v->list != NULL)
        return serve_readlist_get(v->list, k, kl, val, vl);
    if (v->txn != NULL)
        return kv_txn_get(v->txn, k, kl, val, vl);
    return snap != NULL ? kv_get_at(v->db, snap, k, kl, val, vl) : kv_get(v->db, k, kl, val, vl);
}

/* For a read of nkeys keys: *snap = a snapshot of the database now, if
 * the view is the database and there are several keys (else NULL: one
 * key, or a transaction, which reads one snapshot already).  0, or -1
 * after answering the error. */
static int view_snapshot(const serve_view *v, serve_out *o, size_t nkeys,
                         const kv_snapshot **snap)
{
    *snap = NULL;
    if (v->txn != NULL || v->list != NULL || nkeys < 2)
        return 0;
    int rc = kv_snapshot_new(v->db, snap);
    if (rc != KV_OK) {
        read_kv_error(o, rc);
        return -1;
    }
    return 0;
}

void serve_ping_read(const serve_view *v, serve_out *o, const serve_req *r)
{
    (void)v;
    if (r->argc == 1)
        out_simple(o, "PONG");
    else if (r->argc == 2)
        out_bulk(o, req_ptr(r, 1), req_len(r, 1));
    else
        out_error(o, "ERR wrong number of arguments for 'ping' command");
}

void serve_echo_read(const serve_view *v, serve_out *o, const serve_req *r)
{
    (void)v;
    out_bulk(o, req_ptr(r, 1), req_len(r, 1));
}

/* Appends the value of word i's key as a bulk string, or nil. */
static void read_one(const serve_view *v, const kv_snapshot *snap, serve_out *o,
                     const serve_req *r, size_t i)
{
    void *val;
    size_t vlen;
    int rc = view_get(v, snap, r, i, &val, &vlen);
    if (rc == KV_OK) {
        out_bulk(o, val, vlen);
        kv_free(val);
    } else if (rc == KV_NOT_FOUND) {
        out_nil(o);
    } else {
        read_kv_error(o, rc);
    }
}

void serve_get_read(const serve_view *v, serve_out *o, const serve_req *r)
{
    read_one(v, NULL, o, r, 1);
}

void serve_mget_read(const serve_view *v, serve_out *o, const serve_req *r)
{
    const kv_snapshot *snap = NULL;
    if (view_snapshot(v, o, r->argc - 1, &snap) != 0)
        return;
    size_t mark = o->len;
    out_array(o, r->argc - 1);
    for (size_t i = 1; i < r->argc; i++) {
        read_one(v, snap, o, r, i);
        if (o->len - mark > SERVE_MAX_REPLY) {
            out_truncate(o, mark);
            out_error(o, "ERR reply larger than %u bytes", SERVE_MAX_REPLY);
            break;
        }
    }
    kv_snapshot_free(v->db, snap);
}

void serve_exists_read(const serve_view *v, serve_out *o, const serve_req *r)
{
    const kv_snapshot *snap = NULL;
    if (view_snapshot(v, o, r->argc - 1, &snap) != 0)
        return;
    long long n = 0;
    int rc = KV_OK;
    for (size_t i = 1; i < r->argc && (rc == KV_OK || rc == KV_NOT_FOUND); i++) {
        void *val;
        size_t vlen;
        rc = view_get(v, snap, r, i, &val, &vlen);
        if (rc == KV_OK) {
            kv_free(val);
            n++;
        }
    }
    kv_snapshot_free(v->db, snap);
    if (rc == KV_OK || rc == KV_NOT_FOUND)
        out_int(o, n);
    else
        read_kv_error(o, rc);
}

/* The length of word 1's key's value, -1 if it has none, or -2 after
 * answering the engine's error. */
static long long read_length(const serve_view *v, serve_out *o, const serve_req *r)
{
    void *val;
    size_t vlen;
    int rc = view_get(v, NULL, r, 1, &val, &vlen);
    if (rc == KV_OK) {
        kv_free(val);
        return (long long)vlen;
    }
    if (rc != KV_NOT_FOUND)
        read_kv_error(o, rc);
    return rc == KV_NOT_FOUND ? -1 : -2;
}

/* TYPE key: "string" if it exists (the only type there is), else "none". */
void serve_type_read(const serve_view *v, serve_out *o, const serve_req *r)
{
    long long n = read_length(v, o, r);
    if (n > -2)
        out_simple(o, n >= 0 ? "string" : "none");
}

/* STRLEN key: the value's length in bytes, 0 if there is none. */
void serve_strlen_read(const serve_view *v, serve_out *o, const serve_req *r)
{
    long long n = read_length(v, o, r);
    if (n > -2)
        out_int(o, n >= 0 ? n : 0);
}

/* An iterator over the view: the database's or the transaction's. */
typedef struct view_iter {
    kv_iter *db;
    kv_txn_iter *txn;
} view_iter;

static int view_iter_new(const serve_view *v, view_iter *it, const void *start, size_t slen)
{
    it->db = NULL;
    it->txn = NULL;
    int rc = v->txn != NULL ? kv_txn_iter_new(v->txn, &it->txn) : kv_iter_new(v->db, &it->db);
    if (rc != KV_OK)
        return rc;
    if (it->txn != NULL)
        slen > 0 ? kv_txn_iter_seek(it->txn, start, slen) : kv_txn_iter_seek_first(it->txn);
    else
        slen > 0 ? kv_iter_seek(it->db, start, slen) : kv_iter_seek_first(it->db);
    return KV_OK;
}

/* RANGE start end limit: the first `limit` pairs with start <= key < end
 * (an empty end: no upper bound), in key order, as one array of key,
 * value, key, value...  kvgrade's range read (docs/kvgrade.md says why
 * this shape).  A limit above SERVE_WALK_KEYS is refused, as a reply over
 * SERVE_MAX_REPLY bytes is, so that no RANGE holds up the loop. */
void serve_range_read(const serve_view *v, serve_out *o, const serve_req *r)
{
    char num[16];
    size_t n = req_len(r, 3);
    char *end;
    if (n == 0 || n >= sizeof num) {
        out_error(o, "ERR the limit must be a number from 1 to %d", SERVE_WALK_KEYS);
        return;
    }
    memcpy(num, req_ptr(r, 3), n);
    num[n] = '\0';
    long limit = strtol(num, &end, 10);
    if (*end != '\0' || limit < 1 || limit > SERVE_WALK_KEYS) {
        out_error(o, "ERR the limit must be a number from 1 to %d", SERVE_WALK_KEYS);
        return;
    }
    view_iter it;
    int rc = view_iter_new(v, &it, req_ptr(r, 1), req_len(r, 1));
    if (rc != KV_OK) {
        read_kv_error(o, rc);
        return;
    }
    serve_out items;
    memset(&items, 0, sizeof items);
    long pairs = 0;
    const void *bound = req_ptr(r, 2);
    size_t blen = req_len(r, 2);
    while (pairs < limit && (it.txn != NULL ? kv_txn_iter_valid(it.txn) : kv_iter_valid(it.db))) {
        size_t kl, vl;
        const void *k = it.txn != NULL ? kv_txn_iter_key(it.txn, &kl) : kv_iter_key(it.db, &kl);
        if (blen > 0) {
            int c = memcmp(k, bound, kl < blen ? kl : blen);
            if (c > 0 || (c == 0 && kl >= blen))
                break;
        }
        if (serve_key_hidden(v->hidden, v->hidden_len, k, kl)) {
            it.txn != NULL ? kv_txn_iter_next(it.txn) : kv_iter_next(it.db);
            continue; /* the extension's own key: not there for clients */
        }
        const void *val = it.txn != NULL ? kv_txn_iter_value(it.txn, &vl) : kv_iter_value(it.db, &vl);
        if (val == NULL)
            break; /* the status says why */
        out_bulk(&items, k, kl);
        out_bulk(&items, val, vl);
        pairs++;
        if (items.len > SERVE_MAX_REPLY)
            break;
        it.txn != NULL ? kv_txn_iter_next(it.txn) : kv_iter_next(it.db);
    }
    rc = it.txn != NULL ? kv_txn_iter_status(it.txn) : kv_iter_status(it.db);
    if (rc != KV_OK)
        read_kv_error(o, rc);
    else if (items.failed)
        out_error(o, "ERR out of memory");
    else if (items.len > SERVE_MAX_REPLY)
        out_error(o, "ERR reply larger than %u bytes", SERVE_MAX_REPLY);
    else {
        out_array(o, (size_t)pairs * 2);
        out_bytes(o, items.buf, items.len);
    }
    out_free(&items);
    if (it.txn != NULL)
        kv_txn_iter_free(it.txn);
    else
        kv_iter_free(it.db);
}
