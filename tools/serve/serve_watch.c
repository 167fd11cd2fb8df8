/*
 * serve_watch.c: WATCH and UNWATCH, on the engine's transactions.
 *
 * WATCH k makes the client's next EXEC answer a null array (*-1) if k was
 * written since the WATCH.  Here the engine finds that out, not the
 * server: the first WATCH begins a kv_txn for the client
 * (KV_TXN_SERIALIZABLE) and reads each watched key in it, present or not,
 * so the key is in the transaction's read set.  EXEC then runs its queue
 * in that same transaction and commits it (serve_txn.c); KV_ERR_CONFLICT
 * from kv_txn_commit is the null array.  A later WATCH adds keys to the
 * same transaction; UNWATCH, DISCARD, RESET and closing the connection
 * abort it.
 *
 * What "written" means is the stage's (kv.h, docs/server.md):
 *   stages 01-06  compare values: a watched key rewritten with the value
 *                 it had at the WATCH (or written and written back) does
 *                 not count; a changed value or a delete does.
 *   stage 07      compares versions: any write counts, as in Redis.
 * And since the transaction is serializable, a conflict on any key the
 * queue reads or writes makes EXEC answer *-1 too, watched or not: what
 * EXEC reports is "something this transaction depends on changed since
 * the WATCH".  A queue that writes nothing commits without a check (kv.h)
 * and answers what the database held at the WATCH, a consistent view,
 * where Redis would answer *-1 if a watched key had changed.
 *
 * Between WATCH and EXEC the client's reads (GET, MGET, EXISTS, TYPE,
 * STRLEN) are the transaction's reads too (serve_watch_read): they see the
 * database as it was at the WATCH, and the commit checks them.  This is
 * what makes a check by values sound.  Were a GET to read the database as
 * it is now, a client could read a balance of 980 written by another,
 * which a third then puts back to the 1000 the WATCH saw; the commit would
 * compare 1000 with 1000, find no change, and apply a new balance computed
 * from 980: a lost update.  Reading in the transaction, the client sees
 * 1000, and whatever the commit lets through was computed from values the
 * database still holds.  (By versions, stage 07 would catch it either way.)
 * The price: after WATCH a client does not see writes made since, its own
 * included, until EXEC, DISCARD or UNWATCH; one to a key it watched or
 * read (in the queue too) makes EXEC answer *-1, unless it put back the
 * value the WATCH saw (stages 01-06), so a stale read is never applied.
 *
 * A write gathered before the WATCH but not applied yet counts as written
 * after it (it is not acknowledged yet, so no client can tell).  The
 * client's own earlier writes are applied first: a client with writes
 * pending waits before it runs WATCH (serve_cmd.c).
 *
 * The cost: a live kv_txn is a snapshot, which keeps the versions written
 * since it began (docs/07-txn.md).  Limits: SERVE_WATCH_KEYS keys and
 * SERVE_WATCH_BYTES bytes of keys per client, counted per key named by a
 * WATCH or by a read after it (each is in the transaction's read set).
 */
#include <stdlib.h>

#include "server.h"

void serve_watch_drop(server *s, serve_client *c)
{
    (void)s;
    kv_txn_abort(c->watch_txn); /* NULL is a no-op */
    c->watch_txn = NULL;
    c->nwatch = c->watch_bytes = 0;
}

/* Counts the keys of r (its words after the first) against the WATCH
 * limits; 0, or -1 after answering the error. */
static int watch_count(serve_client *c, const serve_req *r)
{
    size_t bytes = 0;
    for (size_t i = 1; i < r->argc; i++)
        bytes += req_len(r, i);
    if (c->nwatch + (r->argc - 1) > SERVE_WATCH_KEYS || c->watch_bytes + bytes > SERVE_WATCH_BYTES) {
        out_error(&c->out, "ERR a client may watch at most %u keys and %u bytes of keys "
                  "(reads after WATCH count too); UNWATCH or EXEC ends them",
                  SERVE_WATCH_KEYS, SERVE_WATCH_BYTES);
        return -1;
    }
    c->nwatch += r->argc - 1;
    c->watch_bytes += bytes;
    return 0;
}

void serve_watch_read(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)s;
    if (watch_count(c, r) != 0)
        return;
    serve_view v = {NULL, c->watch_txn};
    cmd->read(&v, &c->out, r);
}

void serve_watch_cmd(server *s, serve_client *c, const serve_req *r)
{
    if (serve_multi_queuing(c)) {
        out_error(&c->out, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    if (watch_count(c, r) != 0)
        return;
    int rc;
    if (c->watch_txn == NULL &&
        (rc = kv_txn_begin(s->db, KV_TXN_SERIALIZABLE, &c->watch_txn)) != KV_OK) {
        c->watch_txn = NULL;
        out_error(&c->out, "ERR %s: %s (beginning the transaction WATCH needs)",
                  kv_strerror(rc), kv_errmsg());
        return;
    }
    for (size_t i = 1; i < r->argc; i++) {
        size_t klen = req_len(r, i);
        if (klen < 1 || klen > KV_MAX_KEY)
            continue; /* no write can have such a key */
        void *val;
        size_t vlen;
        rc = kv_txn_get(c->watch_txn, req_ptr(r, i), klen, &val, &vlen);
        if (rc == KV_OK)
            kv_free(val);
        else if (rc != KV_NOT_FOUND) {
            out_error(&c->out, "ERR %s: %s (reading a watched key)", kv_strerror(rc),
                      kv_errmsg());
            return;
        }
    }
    out_simple(&c->out, "OK");
}

void serve_unwatch_cmd(server *s, serve_client *c, const serve_req *r)
{
    (void)r;
    serve_watch_drop(s, c);
    out_simple(&c->out, "OK");
}
