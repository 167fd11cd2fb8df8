/*
 * serve_handoff.c: a batch handed to the server's extension as writes
 * with ids, and answered from their outcomes (serve_ext.h: steps 1, 3
 * and 4 of a write's round).
 *
 * The batch (serve_batch.h) is cut as for the writers (serve_commit.c);
 * here its plain chunks in a row become one write, in their order, and
 * each EXEC becomes one of its own: its conditions are what its WATCH's
 * kv_txn reads for each watched key (the value, or its absence: the
 * extension checks them where it applies the write), its ops those its
 * queued commands make, in their order: a write's puts and deletes (the
 * command table's effects: server.h), and a read's read ops, one for
 * each key the read asks for, found by running it once against a view
 * that records them (serve_readlist.c).  The reads are answered where
 * the write applies, after the ops before them, so a GET after a SET of
 * the same EXEC sees it, as in Redis.  A read that looks past the keys it
 * names (RANGE: its words are bounds) has no read ops to become: an EXEC
 * holding one fails whole (an extension's gate refuses it when it is
 * queued, so this is a second line).  A key of the extension's own (E3)
 * is never a condition: no client can write it, so to a client it stays
 * absent.
 *
 * When every write is settled, the batch is answered as one the server
 * applied itself (serve_commit.c's settle functions, which it was handed
 * with the batch).  What each write became, mapped once to the status
 * the batch answers from (handoff_status), goes where its owner puts
 * it: a plain write's chunks through serve_commit.c's (commit_settlers:
 * their status, and what their ops found: a DEL's count, a SET NX's
 * answer), an EXEC through serve_multi_settle (serve_queue.c: its
 * replies, *-1 when a condition did not hold, or its error).  This file
 * reads the batch and the queues and writes neither.
 *
 * Several batches may be out at once (serve_ext.h, E4): each keeps its
 * writes, ids and arrays in a flight of its own until all are settled;
 * ids run on across batches, so an id names one write of one flight.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_batch.h"
#include "serve_queue.h"

typedef struct handoff_item {
    size_t k0, k1;         /* a plain write: chunks [k0, k1) */
    commit_op *exec;       /* an EXEC's write, or NULL */
    size_t ops0, nops, conds0, nconds;  /* its ops and conditions in the arrays */
    int settled;
} handoff_item;

/* What one batch handed over keeps until every write of it is settled
 * (several may be out at once: serve_ext.h, E4). */
typedef struct handoff_flight {
    commit_batch *b;               /* the batch handed over, or NULL: free */
    serve_write *w;
    handoff_item *items;
    size_t n, w_cap, items_cap;
    serve_write_op *ops;
    size_t nops, ops_cap;
    serve_write_cond *conds;
    size_t nconds, conds_cap;
    void **vals;                   /* the conditions' values (kv_txn_get's) */
    size_t nvals, vals_cap;
    unsigned long long first_id;   /* its writes' ids: [first_id, first_id + n) */
    size_t unsettled;
    const commit_settlers *settle; /* serve_commit.c's: how its batch is settled */
} handoff_flight;

struct serve_handoff {
    handoff_flight **f;            /* as many as were ever out at once */
    size_t nf;
    unsigned long long next_id;    /* ids are never handed out twice */
};

/* Grows *p (of *cap elements of size el) to hold need; 0, or -1. */
static int handoff_grow(void **p, size_t *cap, size_t need, size_t el)
{
    if (need <= *cap)
        return 0;
    size_t cap2 = *cap != 0 ? *cap : 16;
    while (cap2 < need)
        cap2 *= 2;
    void *grown = realloc(*p, cap2 * el);
    if (grown == NULL)
        return -1;
    *p = grown;
    *cap = cap2;
    return 0;
}

static int handoff_op(handoff_flight *h, const commit_batch *b, const commit_op *op)
{
    if (handoff_grow((void **)&h->ops, &h->ops_cap, h->nops + 1, sizeof *h->ops) != 0)
        return -1;
    h->ops[h->nops++] = (serve_write_op){op->kind == OP_DEL, op->cond,
                                         (const char *)b->bytes + op->koff,
                                         (const char *)b->bytes + op->voff, op->klen, op->vlen,
                                         0};
    return 0;
}

/* A read op of key (serve_readlist's keep, while a queued read runs
 * recording): 0, or -1 out of memory. */
static int handoff_keep_read(void *arg, const char *key, size_t klen)
{
    handoff_flight *h = arg;
    if (handoff_grow((void **)&h->ops, &h->ops_cap, h->nops + 1, sizeof *h->ops) != 0)
        return -1;
    h->ops[h->nops++] = (serve_write_op){0, SERVE_OP_ALWAYS, key, "", klen, 0, 1};
    return 0;
}

/* The read ops of queued read r (cmd): 0; 1 if it cannot be one (its
 * EXEC fails, m's status says why); -1 out of memory. */
static int handoff_reads(server *s, handoff_flight *h, struct serve_multi *mu,
                         const serve_cmd *cmd, const serve_req *r, size_t i)
{
    if (cmd->read == NULL || cmd->first_key <= 0) {
        serve_multi_fail(mu, KV_ERR_INVALID, "'%s' (command %zu) inside MULTI: it reads "
                         "more than the keys it names, and a transaction here is applied by "
                         "%s, its reads one key each; nothing of it was applied", cmd->name,
                         i + 1, s->ext->name);
        return 1;
    }
    serve_readlist l = {0, handoff_keep_read, h, 0, NULL, 0, 0};
    serve_view v = {NULL, NULL, s->hidden_prefix, s->hidden_len, &l};
    serve_out dropped = {0};
    cmd->read(&v, &dropped, r);
    int failed = l.failed || dropped.failed;
    out_free(&dropped);
    return failed ? -1 : 0;
}

/* The write of the plain chunks [k0, k1). */
static int handoff_plain(handoff_flight *h, const commit_batch *b, size_t k0, size_t k1)
{
    for (size_t k = k0; k < k1; k++)
        for (size_t j = 0; j < b->chunks[k].n; j++) {
            if (handoff_op(h, b, &b->ops[b->order[b->chunks[k].start + j]]) != 0)
                return -1;
        }
    return 0;
}

/* The conditions and ops of an EXEC: 0; 1 if the EXEC was refused (its
 * status says why); -1 out of memory. */
static int handoff_exec(server *s, handoff_flight *h, struct serve_multi *mu)
{
    for (size_t i = 0; mu->txn != NULL && mu->watched != NULL && i < mu->watched->n; i++) {
        const char *key = mu->watched->bytes + mu->watched->keys[i].off;
        size_t klen = mu->watched->keys[i].len;
        if (serve_key_hidden(s->hidden_prefix, s->hidden_len, key, klen))
            continue;
        void *val = NULL;
        size_t vlen = 0;
        int rc = kv_txn_get(mu->txn, key, klen, &val, &vlen);
        if (rc != KV_OK && rc != KV_NOT_FOUND) {
            serve_multi_fail(mu, rc, "%s: %s (reading watched key %zu of the transaction; "
                             "nothing of it was applied)", kv_strerror(rc), kv_errmsg(), i + 1);
            return 1;
        }
        if (handoff_grow((void **)&h->conds, &h->conds_cap, h->nconds + 1, sizeof *h->conds) ||
            handoff_grow((void **)&h->vals, &h->vals_cap, h->nvals + 1, sizeof *h->vals)) {
            free(val);
            return -1;
        }
        h->vals[h->nvals++] = val;
        h->conds[h->nconds++] = (serve_write_cond){key, val, klen, vlen, rc == KV_NOT_FOUND};
    }
    for (size_t i = 0; i < mu->ncmds; i++) {
        serve_req r = multi_req(mu, i);
        const serve_cmd *cmd = mu->cmds[i].cmd;
        if (cmd->flags & SERVE_CMD_READONLY) {
            int rc = handoff_reads(s, h, mu, cmd, &r, i);
            if (rc != 0)
                return rc;
            continue;
        }
        if (cmd->write == NULL || cmd->write->refused(NULL, &r))
            continue; /* answered where it is settled (serve_multi_settle) */
        size_t n = cmd->write->nops(&r);
        if (handoff_grow((void **)&h->ops, &h->ops_cap, h->nops + n, sizeof *h->ops) != 0)
            return -1;
        for (size_t k = 0; k < n; k++)
            cmd->write->op(&r, k, &h->ops[h->nops++]);
    }
    return 0;
}

/* Adds the write of chunks [k0, k1), or of EXEC op `exec`: 0, or -1. */
static int handoff_add(server *s, handoff_flight *h, commit_batch *b, size_t k0, size_t k1,
                       commit_op *exec)
{
    if (handoff_grow((void **)&h->items, &h->items_cap, h->n + 1, sizeof *h->items) != 0)
        return -1;
    size_t ops0 = h->nops, conds0 = h->nconds;
    int rc = exec != NULL ? handoff_exec(s, h, exec->multi) : handoff_plain(h, b, k0, k1);
    if (rc < 0)
        return -1;
    if (rc > 0) { /* refused before it could be handed over: answered as it is */
        h->nops = ops0;
        h->nconds = conds0;
        return 0;
    }
    h->items[h->n++] = (handoff_item){k0, k1, exec, ops0, h->nops - ops0, conds0,
                                      h->nconds - conds0, 0};
    return 0;
}

/* Frees what a handed-over batch kept (the conditions' values). */
static void handoff_clear(handoff_flight *h)
{
    for (size_t i = 0; i < h->nvals; i++)
        free(h->vals[i]);
    h->nvals = h->n = h->nops = h->nconds = 0;
    h->b = NULL;
}

static void handoff_fail_all(handoff_flight *h, commit_batch *b, const char *why)
{
    h->settle->chunks(b, 0, b->nchunks, KV_ERR_NOMEM, why, NULL, 0);
    for (size_t i = 0; i < b->n; i++)
        if (b->ops[i].kind == OP_EXEC && b->ops[i].multi->status == KV_OK)
            serve_multi_fail(b->ops[i].multi, KV_ERR_NOMEM, "%s", why);
}

/* A free flight of s's hand-off (made on first use); NULL when out of
 * memory. */
static handoff_flight *handoff_take(server *s)
{
    struct serve_handoff *hs = s->handoff;
    if (hs == NULL && (hs = s->handoff = calloc(1, sizeof *hs)) == NULL)
        return NULL;
    for (size_t i = 0; i < hs->nf; i++)
        if (hs->f[i]->b == NULL)
            return hs->f[i];
    handoff_flight **grown = realloc(hs->f, (hs->nf + 1) * sizeof *grown);
    if (grown == NULL)
        return NULL;
    hs->f = grown;
    if ((hs->f[hs->nf] = calloc(1, sizeof *hs->f[hs->nf])) == NULL)
        return NULL;
    return hs->f[hs->nf++];
}

/* Every write of h is settled: its batch is answered (serve_commit.c). */
static void handoff_done(server *s, handoff_flight *h)
{
    commit_batch *b = h->b;
    const commit_settlers *settle = h->settle;
    handoff_clear(h);
    settle->done(s, b);
}

void serve_handoff_batch(server *s, commit_batch *b, const commit_settlers *settle)
{
    handoff_flight *h = handoff_take(s);
    if (h == NULL) {
        handoff_flight none = {.settle = settle};
        handoff_fail_all(&none, b, "out of memory handing the batch over");
        settle->done(s, b);
        return;
    }
    struct serve_handoff *hs = s->handoff;
    h->settle = settle;
    h->b = b;
    h->first_id = hs->next_id + 1;
    int rc = 0;
    for (size_t k = 0; k < b->nchunks && rc == 0;) {
        if (!b->chunks[k].exec) {
            size_t k1 = k;
            while (k1 < b->nchunks && !b->chunks[k1].exec)
                k1++;
            rc = handoff_add(s, h, b, k, k1, NULL);
            k = k1;
            continue;
        }
        for (size_t j = 0; j < b->chunks[k].n && rc == 0; j++)
            rc = handoff_add(s, h, b, 0, 0, &b->ops[b->order[b->chunks[k].start + j]]);
        h->settle->chunks(b, k, k + 1, KV_OK, NULL, NULL, 0); /* each EXEC answers for
                                                                 itself (its multi's) */
        k++;
    }
    if (rc == 0 && handoff_grow((void **)&h->w, &h->w_cap, h->n, sizeof *h->w) != 0)
        rc = -1;
    if (rc != 0) {
        handoff_fail_all(h, b, "out of memory handing the batch over");
        handoff_done(s, h);
        return;
    }
    for (size_t i = 0; i < h->n; i++) { /* now that the arrays no longer move */
        const handoff_item *it = &h->items[i];
        h->w[i] = (serve_write){h->first_id + i, h->conds + it->conds0, it->nconds,
                                h->ops + it->ops0, it->nops};
    }
    hs->next_id = h->first_id + h->n;
    h->unsettled = h->n + 1; /* the hold: not answered inside propose */
    s->ext->propose(s->ext_state, h->w, h->n);
    for (size_t i = 0; i < h->nvals; i++) /* the extension copied what it keeps */
        free(h->vals[i]);
    h->nvals = 0;
    if (--h->unsettled == 0)
        handoff_done(s, h);
}

/* What became of a write (serve_ext.h, SERVE_WRITE_*) as the status the
 * batch answers from, a plain write's chunks and an EXEC alike: the one
 * place an outcome is mapped.  KV_OK: applied; KV_ERR_CONFLICT: refused,
 * a condition did not hold (an EXEC's *-1; a plain write has none);
 * KV_ERR_INVALID: certainly not applied; KV_ERR_IO: it may or may not
 * have been.  The client is answered an error for any but KV_OK, except
 * an EXEC refused, which is answered *-1 (serve_queue.c). */
static int handoff_status(int outcome)
{
    switch (outcome) {
    case SERVE_WRITE_APPLIED:
        return KV_OK;
    case SERVE_WRITE_REFUSED:
        return KV_ERR_CONFLICT;
    case SERVE_WRITE_FAILED:
        return KV_ERR_INVALID;
    default:
        return KV_ERR_IO;
    }
}

void serve_host_settle(serve_host *host, unsigned long long id, int outcome,
                       const serve_found *found, const char *err)
{
    server *s = (server *)host;
    struct serve_handoff *hs = s->handoff;
    handoff_flight *h = NULL;
    for (size_t i = 0; hs != NULL && i < hs->nf && h == NULL; i++)
        if (hs->f[i]->b != NULL && id >= hs->f[i]->first_id &&
            id < hs->f[i]->first_id + hs->f[i]->n)
            h = hs->f[i];
    if (h == NULL || h->items[id - h->first_id].settled)
        return; /* E1: not a write a batch waits for */
    handoff_item *it = &h->items[id - h->first_id];
    it->settled = 1;
    static const serve_found none = {NULL, 0, NULL, 0, NULL};
    if (found == NULL)
        found = &none;
    int status = handoff_status(outcome);
    if (it->exec != NULL)
        serve_multi_settle(it->exec->multi, status, found, err, s->hidden_prefix,
                           s->hidden_len);
    else
        h->settle->chunks(h->b, it->k0, it->k1, status, err, found->existed, found->nexisted);
    if (--h->unsettled == 0)
        handoff_done(s, h);
}

void serve_handoff_free(server *s)
{
    struct serve_handoff *hs = s->handoff;
    if (hs == NULL)
        return;
    for (size_t i = 0; i < hs->nf; i++) {
        handoff_flight *h = hs->f[i];
        handoff_clear(h);
        free(h->w);
        free(h->items);
        free(h->ops);
        free(h->conds);
        free(h->vals);
        free(h);
    }
    free(hs->f);
    free(hs);
    s->handoff = NULL;
}
