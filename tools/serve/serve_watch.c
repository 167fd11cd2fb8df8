/*
 * serve_watch.c: WATCH and UNWATCH, on the engine's transactions.
 *
 * WATCH k makes the client's next EXEC answer a null array (*-1) if k was
 * written since the WATCH.  Here the engine finds that out, not the
 * server: the first WATCH begins a kv_txn for the client
 * (KV_TXN_SERIALIZABLE), which is a snapshot (O(1) to take on every stage,
 * include/kv.h), and notes the keys.  EXEC reads each watched key in that
 * transaction, present or not, so that it is in the transaction's read
 * set, then runs its queue in it (serve_txn.c): a queue that writes
 * commits it, and KV_ERR_CONFLICT from kv_txn_commit is the null array; a
 * queue that only reads (or an empty one) asks kv_txn_check, whose
 * KV_ERR_CONFLICT is the null array too, as in Redis.  A later WATCH adds
 * keys to the same transaction; UNWATCH, DISCARD, RESET and closing the
 * connection abort it.
 *
 * Why the watched keys are read at EXEC and not at WATCH: the reads are
 * at the transaction's snapshot either way, so they answer the same; at
 * EXEC they run on the thread applying the batch, not on the loop, and a
 * read costs what the stage makes it cost (stage 01 scans its log).  A
 * WATCH itself costs the loop a snapshot and a copy of its keys.
 *
 * What "written" means is the stage's (kv.h, docs/server.md):
 *   stages 01-06  compare values: a watched key rewritten with the value
 *                 it had at the WATCH (or written and written back) does
 *                 not count; a changed value or a delete does.
 *   stage 07      compares versions: any write counts, as in Redis.
 * And since the transaction is serializable, a conflict on any key the
 * queue reads or writes makes EXEC answer *-1 too, watched or not: what
 * EXEC reports is "something this transaction depends on changed since
 * the WATCH".
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
 * pending waits before it runs WATCH (serve_cmd_run.c).
 *
 * The cost: a live kv_txn is a snapshot, which keeps the versions written
 * since it began (docs/07-txn.md).  So a WATCH lives at most
 * --watch-max-age seconds (SERVE_WATCH_MAX_AGE, 60, by default; 0: no
 * bound): serve_watch_expire, called by the loop every
 * SERVE_WATCH_CHECK_MS, aborts an older one, freeing its snapshot, and its
 * EXEC answers *-1 (Redis answers so when a watched key expires: the
 * client retries, with a new WATCH).  Reads after that look at the
 * database as it is.  Limits: SERVE_WATCH_KEYS keys and SERVE_WATCH_BYTES
 * bytes of keys per client, counted per key named by a WATCH or by a read
 * after it (each is in the transaction's read set).
 */
#include <stdlib.h>
#include <string.h>

#include "serve_queue.h"

/* Appends key to the client's list; 0, or -1 when out of memory. */
static int watch_note_key(serve_client *c, const char *key, size_t klen)
{
    serve_keylist *l = c->watched;
    if (l == NULL && (l = c->watched = calloc(1, sizeof *l)) == NULL)
        return -1;
    if (l->n == l->kcap) {
        size_t cap = l->kcap == 0 ? 8 : 2 * l->kcap;
        resp_span *grown = realloc(l->keys, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        l->keys = grown;
        l->kcap = cap;
    }
    if (l->bcap - l->blen < klen) {
        size_t cap = l->bcap == 0 ? 256 : l->bcap;
        while (cap - l->blen < klen)
            cap *= 2;
        char *grown = realloc(l->bytes, cap);
        if (grown == NULL)
            return -1;
        l->bytes = grown;
        l->bcap = cap;
    }
    memcpy(l->bytes + l->blen, key, klen);
    l->keys[l->n++] = (resp_span){l->blen, klen};
    l->blen += klen;
    return 0;
}

/* Notes r's keys (the command table's positions: serve_cmd_key), but
 * those out of kv.h's range, which no write can have; 0, or -1 when out
 * of memory. */
static int watch_note_keys(serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    for (size_t i = serve_cmd_key(cmd, r, 0); i != 0; i = serve_cmd_key(cmd, r, i)) {
        size_t klen = req_len(r, i);
        if (klen >= 1 && klen <= KV_MAX_KEY && watch_note_key(c, req_ptr(r, i), klen) != 0)
            return -1;
    }
    return 0;
}

void serve_watch_drop(server *s, serve_client *c)
{
    if (c->watch_txn != NULL)
        s->nwatching--;
    kv_txn_abort(c->watch_txn); /* NULL is a no-op */
    c->watch_txn = NULL;
    c->watch_expired = 0;
    serve_keylist_free(c->watched);
    c->watched = NULL;
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
    if (watch_count(c, r) != 0)
        return;
    /* Its keys (the command table's key positions) are noted as the
     * WATCH's are: an extension that applies an EXEC elsewhere takes them
     * as the transaction's conditions (serve_handoff.c). */
    if (watch_note_keys(c, cmd, r) != 0) {
        serve_watch_drop(s, c);
        out_error(&c->out, "ERR %s: noting a key read after WATCH; the watches are dropped",
                  kv_strerror(KV_ERR_NOMEM));
        return;
    }
    serve_view v = {NULL, c->watch_txn, s->hidden_prefix, s->hidden_len, NULL};
    cmd->read(&v, &c->out, r);
}

void serve_watch_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    if (serve_multi_queuing(c)) {
        out_error(&c->out, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    if (watch_count(c, r) != 0)
        return;
    if (c->watch_expired) { /* the EXEC will answer *-1 anyway */
        out_simple(&c->out, "OK");
        return;
    }
    int rc;
    if (c->watch_txn == NULL) {
        if ((rc = kv_txn_begin(s->db, KV_TXN_SERIALIZABLE, &c->watch_txn)) != KV_OK) {
            c->watch_txn = NULL;
            out_error(&c->out, "ERR %s: %s (beginning the transaction WATCH needs)",
                      kv_strerror(rc), kv_errmsg());
            return;
        }
        c->watch_since_ms = serve_now_ms();
        s->nwatching++;
    }
    if (watch_note_keys(c, cmd, r) != 0) {
        serve_watch_drop(s, c);
        out_error(&c->out, "ERR %s: noting a watched key; the watches are dropped",
                  kv_strerror(KV_ERR_NOMEM));
        return;
    }
    out_simple(&c->out, "OK");
}

void serve_unwatch_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    (void)r;
    serve_watch_drop(s, c);
    out_simple(&c->out, "OK");
}

void serve_unwatch_read(const serve_view *v, serve_out *o, const serve_req *r)
{
    (void)v, (void)r;
    out_simple(o, "OK");
}

/* Ends c's WATCH: its EXEC will answer *-1. */
static void watch_end(server *s, serve_client *c)
{
    kv_txn_abort(c->watch_txn); /* its snapshot goes now */
    c->watch_txn = NULL;
    c->watch_expired = 1;
    serve_keylist_free(c->watched);
    c->watched = NULL;
    s->nwatching--;
    s->stats.watch_expired++;
}

void serve_watch_end_all(server *s)
{
    for (serve_client *c = s->clients; c != NULL; c = c->next)
        if (c->watch_txn != NULL)
            watch_end(s, c);
}

int serve_watch_expire(server *s)
{
    if (s->nwatching == 0 || s->cfg.watch_max_age <= 0)
        return -1;
    long long now = serve_now_ms();
    if (now >= s->watch_check_ms) {
        long long max_ms = s->cfg.watch_max_age * 1000LL;
        for (serve_client *c = s->clients; c != NULL; c = c->next) {
            if (c->watch_txn == NULL || now - c->watch_since_ms < max_ms)
                continue;
            watch_end(s, c);
        }
        s->watch_check_ms = now + SERVE_WATCH_CHECK_MS;
    }
    return s->nwatching == 0 ? -1 : (int)(s->watch_check_ms - now);
}
