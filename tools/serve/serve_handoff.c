/*
 * serve_handoff.c: a batch handed to the server's extension as writes
 * with ids, and answered from their outcomes (serve_ext.h: steps 1, 3
 * and 4 of a write's round).
 *
 * The batch (serve_batch.h) is cut as for the writers (serve_commit.c);
 * here its plain chunks in a row become one write, in their order, and
 * each EXEC becomes one of its own: its conditions are what its WATCH's
 * kv_txn reads for each watched key (the value, or its absence: the
 * extension checks them where it applies the write), its ops the puts
 * and deletes of its queue.  A queue may hold SET (without options),
 * MSET and DEL only: a read queued inside MULTI would be answered where
 * the write is applied, out of the server's order, so such an EXEC fails
 * whole and says to read after WATCH, before MULTI, as a check-and-set
 * client does.  A key of the extension's own (E3) is never a condition:
 * no client can write it, so to a client it stays absent.
 *
 * When every write is settled, the batch is answered as one the server
 * applied itself (the `settled` it was handed with: serve_commit.c's
 * serve_commit_done): a plain write's chunks get its
 * status, a DEL its count of the keys that existed; an EXEC its replies,
 * *-1 when a condition did not hold, or its error.
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

struct serve_handoff {
    commit_batch *b;               /* the batch handed over, or NULL */
    serve_write *w;
    handoff_item *items;
    size_t n, w_cap, items_cap;
    serve_write_op *ops;
    size_t nops, ops_cap;
    serve_write_cond *conds;
    size_t nconds, conds_cap;
    void **vals;                   /* the conditions' values (kv_txn_get's) */
    size_t nvals, vals_cap;
    unsigned long long first_id, next_id;
    size_t unsettled;
    void (*settled)(server *s);    /* told once every write of the batch is */
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

static int handoff_op(struct serve_handoff *h, int del, const char *k, size_t kl, const char *v,
                      size_t vl)
{
    if (handoff_grow((void **)&h->ops, &h->ops_cap, h->nops + 1, sizeof *h->ops) != 0)
        return -1;
    h->ops[h->nops++] = (serve_write_op){del, k, v, kl, vl};
    return 0;
}

/* The write of the plain chunks [k0, k1). */
static int handoff_plain(struct serve_handoff *h, const commit_batch *b, size_t k0, size_t k1)
{
    for (size_t k = k0; k < k1; k++)
        for (size_t j = 0; j < b->chunks[k].n; j++) {
            const commit_op *op = &b->ops[b->order[b->chunks[k].start + j]];
            const char *key = (const char *)b->bytes + op->koff;
            if (handoff_op(h, op->kind == OP_DEL, key, op->klen,
                           (const char *)b->bytes + op->voff, op->vlen) != 0)
                return -1;
        }
    return 0;
}

/* Fails an EXEC before it is handed over (nothing of it applies). */
static int exec_refuse(struct serve_multi *mu, int rc, const char *fmt, const char *a, size_t i)
{
    mu->status = rc;
    snprintf(mu->err, sizeof mu->err, fmt, a, i);
    return 1;
}

/* The conditions and ops of an EXEC: 0; 1 if the EXEC was refused (its
 * status says why); -1 out of memory. */
static int handoff_exec(server *s, struct serve_handoff *h, struct serve_multi *mu)
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
            char what[160];
            snprintf(what, sizeof what, "%s: %s", kv_strerror(rc), kv_errmsg());
            return exec_refuse(mu, rc, "%s (reading watched key %zu of the transaction; "
                               "nothing of it was applied)", what, i + 1);
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
        const char *name = mu->cmds[i].cmd->name;
        int del = strcmp(name, "del") == 0;
        if (!del && strcmp(name, "mset") != 0 && !(strcmp(name, "set") == 0 && r.argc == 3)) {
            mu->status = KV_ERR_INVALID;
            if (snprintf(mu->err, sizeof mu->err, "'%s' (command %zu) inside MULTI: a "
                         "transaction here is applied by %s, as conditions (what WATCH read) "
                         "and writes: SET, MSET and DEL only; read after WATCH, before MULTI; "
                         "nothing of it was applied", name, i + 1, s->ext->name) < 0)
                mu->err[0] = '\0';
            return 1;
        }
        for (size_t a = 1; a < r.argc; a += del ? 1 : 2)
            if (handoff_op(h, del, req_ptr(&r, a), req_len(&r, a), del ? "" : req_ptr(&r, a + 1),
                           del ? 0 : req_len(&r, a + 1)) != 0)
                return -1;
    }
    return 0;
}

/* Adds the write of chunks [k0, k1), or of EXEC op `exec`: 0, or -1. */
static int handoff_add(server *s, struct serve_handoff *h, commit_batch *b, size_t k0, size_t k1,
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
static void handoff_clear(struct serve_handoff *h)
{
    for (size_t i = 0; i < h->nvals; i++)
        free(h->vals[i]);
    h->nvals = h->n = h->nops = h->nconds = 0;
    h->b = NULL;
}

static void handoff_fail_all(commit_batch *b, const char *why)
{
    for (size_t k = 0; k < b->nchunks; k++) {
        b->chunks[k].status = KV_ERR_NOMEM;
        snprintf(b->chunks[k].err, sizeof b->chunks[k].err, "%s", why);
    }
    for (size_t i = 0; i < b->n; i++)
        if (b->ops[i].kind == OP_EXEC && b->ops[i].multi->status == KV_OK) {
            b->ops[i].multi->status = KV_ERR_NOMEM;
            snprintf(b->ops[i].multi->err, sizeof b->ops[i].multi->err, "%s", why);
        }
}

void serve_handoff_batch(server *s, commit_batch *b, void (*settled)(server *s))
{
    struct serve_handoff *h = s->handoff;
    if (h == NULL && (h = s->handoff = calloc(1, sizeof *h)) == NULL) {
        handoff_fail_all(b, "out of memory handing the batch over");
        settled(s);
        return;
    }
    h->settled = settled;
    h->b = b;
    h->first_id = h->next_id + 1;
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
        b->chunks[k].status = KV_OK; /* each EXEC answers for itself (its multi's status) */
        k++;
    }
    if (rc != 0) {
        handoff_fail_all(b, "out of memory handing the batch over");
        handoff_clear(h);
        h->settled(s);
        return;
    }
    if (handoff_grow((void **)&h->w, &h->w_cap, h->n, sizeof *h->w) != 0) {
        handoff_fail_all(b, "out of memory handing the batch over");
        handoff_clear(h);
        h->settled(s);
        return;
    }
    for (size_t i = 0; i < h->n; i++) { /* now that the arrays no longer move */
        const handoff_item *it = &h->items[i];
        h->w[i] = (serve_write){h->first_id + i, h->conds + it->conds0, it->nconds,
                                h->ops + it->ops0, it->nops};
    }
    h->next_id = h->first_id + h->n;
    h->unsettled = h->n + 1; /* the hold: not answered inside propose */
    s->ext->propose(s->ext_state, h->w, h->n);
    for (size_t i = 0; i < h->nvals; i++) /* the extension copied what it keeps */
        free(h->vals[i]);
    h->nvals = 0;
    if (--h->unsettled == 0) {
        handoff_clear(h);
        h->settled(s);
    }
}

/* The outcome of an EXEC's write, into its serve_multi (its replies). */
static void settle_exec(struct serve_multi *mu, int outcome, const uint8_t *existed, size_t n,
                        const char *err)
{
    if (outcome == SERVE_WRITE_REFUSED) { /* a watched key changed: *-1 */
        mu->status = KV_ERR_CONFLICT;
        return;
    }
    if (outcome != SERVE_WRITE_APPLIED) {
        mu->status = outcome == SERVE_WRITE_FAILED ? KV_ERR_INVALID : KV_ERR_IO;
        snprintf(mu->err, sizeof mu->err, "%s", err != NULL ? err : "not applied");
        return;
    }
    size_t w = 0;
    for (size_t i = 0; i < mu->ncmds; i++) {
        serve_req r = multi_req(mu, i);
        if (strcmp(mu->cmds[i].cmd->name, "del") != 0) {
            out_simple(&mu->reply, "OK");
            w += (r.argc - 1) / 2;
            continue;
        }
        long long count = 0;
        for (size_t a = 1; a < r.argc; a++, w++)
            count += existed != NULL && w < n && existed[w];
        out_int(&mu->reply, count);
    }
    if (mu->reply.failed) {
        mu->status = KV_ERR_NOMEM;
        snprintf(mu->err, sizeof mu->err, "out of memory for the replies of the transaction; "
                 "it was applied");
    }
}

void serve_host_settle(serve_host *host, unsigned long long id, int outcome,
                       const uint8_t *existed, size_t nexisted, const char *err)
{
    server *s = (server *)host;
    struct serve_handoff *h = s->handoff;
    if (h == NULL || h->b == NULL || id < h->first_id || id >= h->first_id + h->n ||
        h->items[id - h->first_id].settled)
        return; /* E1: not a write this batch waits for */
    handoff_item *it = &h->items[id - h->first_id];
    commit_batch *b = h->b;
    it->settled = 1;
    if (it->exec != NULL) {
        settle_exec(it->exec->multi, outcome, existed, nexisted, err);
    } else {
        size_t w = 0;
        for (size_t k = it->k0; k < it->k1; k++) {
            commit_chunk *ch = &b->chunks[k];
            ch->status = outcome == SERVE_WRITE_APPLIED ? KV_OK
                         : outcome == SERVE_WRITE_FAILED ? KV_ERR_INVALID
                                                         : KV_ERR_IO;
            if (ch->status != KV_OK)
                snprintf(ch->err, sizeof ch->err, "%s", err != NULL ? err : "not applied");
            for (size_t j = 0; j < ch->n; j++, w++)
                b->ops[b->order[ch->start + j]].existed =
                    outcome == SERVE_WRITE_APPLIED && existed != NULL && w < nexisted &&
                    existed[w];
        }
    }
    if (--h->unsettled == 0) {
        handoff_clear(h);
        h->settled(s);
    }
}

void serve_handoff_free(server *s)
{
    struct serve_handoff *h = s->handoff;
    if (h == NULL)
        return;
    handoff_clear(h);
    free(h->w);
    free(h->items);
    free(h->ops);
    free(h->conds);
    free(h->vals);
    free(h);
    s->handoff = NULL;
}
