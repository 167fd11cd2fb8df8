/*
 * serve_commit.c: the writes of one loop pass, applied as one kv_write.
 *
 * Why: with --sync, kv_put returns after an fsync, so one thread calling
 * kv_put per SET would pay one fsync per SET.  Instead, every SET, MSET and
 * DEL the loop runs in one pass over its clients is added to the gathering
 * batch; at the end of the pass the batch is applied with one kv_write: one
 * write() and, with --sync, one fsync for all of them.  This is the chance
 * Redis gives its own log (appendfsync always fsyncs once per pass of its
 * event loop), and it is group commit at the server's level.
 *
 * Two batches take turns: while one is in flight, the loop gathers the
 * next.  Without --sync the loop applies a batch itself (kv_write does not
 * wait for the disk).  With --sync a writer thread applies it, so the loop
 * goes on reading requests and answering reads of other clients during the
 * fsync; the writer says it is done through an eventfd the loop polls.
 *
 *   loop thread                          writer thread
 *   gather -> kick: flying = gathered --> apply (kv_write, fsync)
 *   gather the next batch meanwhile      applied = flying; eventfd += 1
 *   done: answer every op of flying <--
 *
 * The writer thread touches only the batch under `flying` and the kv_batch,
 * between the hand-off and `applied`, both under `mu`; the loop touches
 * them only outside that window.  Batches are applied one at a time, in
 * order, so a DEL's count (how many of its keys existed) is exact: it looks
 * at the earlier ops of its own batch, then at the database.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "server.h"

enum { REPLY_NONE = 0, REPLY_OK = 1, REPLY_COUNT = 2 };

typedef struct commit_op {
    serve_client *c;
    unsigned char del;      /* 1 = a delete */
    unsigned char reply;    /* REPLY_* */
    unsigned char existed;  /* a delete: its key existed (set when applied) */
    size_t first;           /* REPLY_COUNT: index of the DEL's first op */
    size_t koff, klen, voff, vlen;  /* in the batch's bytes */
    uint64_t khash;
} commit_op;

typedef struct commit_batch {
    commit_op *ops;
    size_t n, cap;
    unsigned char *bytes;
    size_t blen, bcap;
    int status;             /* KV_OK, or why kv_write failed */
    char err[300];
} commit_batch;

struct serve_commit {
    commit_batch b[2];
    commit_batch *gathering;
    commit_batch *flying;   /* NULL when nothing is in flight */
    kv_batch *kvb;          /* used by whoever applies */
    int threaded;
    int efd;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    commit_batch *handoff;  /* under mu: for the writer */
    commit_batch *applied;  /* under mu: from the writer */
    int quit;               /* under mu */
    kv_db *db;
};

/* FNV-1a: a cheap first test before memcmp when a DEL looks back. */
static uint64_t commit_hash(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* 1 if the op at i's key exists just before op i; 0 if not; -1 on error. */
static int commit_exists(kv_db *db, const commit_batch *b, size_t i)
{
    const commit_op *op = &b->ops[i];
    const unsigned char *key = b->bytes + op->koff;
    for (size_t j = i; j-- > 0;) {
        const commit_op *o = &b->ops[j];
        if (o->khash == op->khash && o->klen == op->klen &&
            memcmp(b->bytes + o->koff, key, op->klen) == 0)
            return !o->del;
    }
    void *val;
    size_t vlen;
    int rc = kv_get(db, key, op->klen, &val, &vlen);
    if (rc == KV_OK) {
        kv_free(val);
        return 1;
    }
    return rc == KV_NOT_FOUND ? 0 : -1;
}

/* Applies a batch: one kv_write.  Runs on the writer thread with --sync. */
static void commit_apply(struct serve_commit *cm, commit_batch *b)
{
    int rc = KV_OK;
    kv_batch_clear(cm->kvb);
    for (size_t i = 0; i < b->n && rc == KV_OK; i++) {
        commit_op *op = &b->ops[i];
        const unsigned char *key = b->bytes + op->koff;
        if (op->del) {
            int e = commit_exists(cm->db, b, i);
            if (e < 0) {
                rc = KV_ERR_IO;
                break;
            }
            op->existed = (unsigned char)e;
            rc = kv_batch_delete(cm->kvb, key, op->klen);
        } else {
            rc = kv_batch_put(cm->kvb, key, op->klen, b->bytes + op->voff, op->vlen);
        }
    }
    if (rc == KV_OK)
        rc = kv_write(cm->db, cm->kvb);
    b->status = rc;
    if (rc != KV_OK)
        snprintf(b->err, sizeof b->err, "%s: %s", kv_strerror(rc), kv_errmsg());
}

static void *commit_writer(void *arg)
{
    struct serve_commit *cm = arg;
    pthread_mutex_lock(&cm->mu);
    for (;;) {
        while (!cm->quit && cm->handoff == NULL)
            pthread_cond_wait(&cm->cv, &cm->mu);
        if (cm->handoff == NULL)
            break;
        commit_batch *b = cm->handoff;
        cm->handoff = NULL;
        pthread_mutex_unlock(&cm->mu);
        commit_apply(cm, b);
        pthread_mutex_lock(&cm->mu);
        cm->applied = b;
        uint64_t one = 1;
        if (write(cm->efd, &one, sizeof one) != sizeof one) {
            /* an eventfd write fails only on counter overflow: not here */
        }
    }
    pthread_mutex_unlock(&cm->mu);
    return NULL;
}

int serve_commit_init(server *s)
{
    struct serve_commit *cm = calloc(1, sizeof *cm);
    if (cm == NULL)
        return KV_ERR_NOMEM;
    cm->db = s->db;
    cm->gathering = &cm->b[0];
    cm->efd = -1;
    s->commit = cm;
    if (kv_batch_new(&cm->kvb) != KV_OK)
        return KV_ERR_NOMEM;
    if (!s->cfg.sync)
        return KV_OK;
    cm->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (cm->efd < 0)
        return KV_ERR_IO;
    pthread_mutex_init(&cm->mu, NULL);
    pthread_cond_init(&cm->cv, NULL);
    if (pthread_create(&cm->thread, NULL, commit_writer, cm) != 0) {
        pthread_mutex_destroy(&cm->mu);
        pthread_cond_destroy(&cm->cv);
        close(cm->efd);
        cm->efd = -1;
        return KV_ERR_NOMEM;
    }
    cm->threaded = 1;
    return KV_OK;
}

void serve_commit_free(server *s)
{
    struct serve_commit *cm = s->commit;
    if (cm == NULL)
        return;
    if (cm->threaded) {
        pthread_mutex_lock(&cm->mu);
        cm->quit = 1;
        pthread_cond_signal(&cm->cv);
        pthread_mutex_unlock(&cm->mu);
        pthread_join(cm->thread, NULL);
        pthread_mutex_destroy(&cm->mu);
        pthread_cond_destroy(&cm->cv);
    }
    if (cm->efd >= 0)
        close(cm->efd);
    for (int i = 0; i < 2; i++) {
        free(cm->b[i].ops);
        free(cm->b[i].bytes);
    }
    kv_batch_free(cm->kvb);
    free(cm);
    s->commit = NULL;
}

int serve_commit_event_fd(const server *s)
{
    return s->commit->efd;
}

int serve_commit_busy(const server *s)
{
    return s->commit->flying != NULL || s->commit->gathering->n > 0;
}

int serve_commit_has_room(const serve_client *c)
{
    return c->pending_ops < SERVE_CLIENT_OPS && c->pending_bytes < SERVE_CLIENT_BYTES;
}

/* Appends an op (key and value copied); 0, or -1 when out of memory. */
static int commit_add(server *s, serve_client *c, const void *k, size_t kl,
                      const void *v, size_t vl, int del, int reply, size_t first)
{
    commit_batch *b = s->commit->gathering;
    if (b->n == b->cap) {
        size_t cap = b->cap == 0 ? 256 : b->cap * 2;
        commit_op *grown = realloc(b->ops, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        b->ops = grown;
        b->cap = cap;
    }
    if (b->bcap - b->blen < kl + vl) {
        size_t cap = b->bcap == 0 ? 64 * 1024 : b->bcap;
        while (cap - b->blen < kl + vl)
            cap *= 2;
        unsigned char *grown = realloc(b->bytes, cap);
        if (grown == NULL)
            return -1;
        b->bytes = grown;
        b->bcap = cap;
    }
    commit_op *op = &b->ops[b->n];
    memset(op, 0, sizeof *op);
    op->c = c;
    op->del = (unsigned char)del;
    op->reply = (unsigned char)reply;
    op->first = first;
    op->koff = b->blen;
    op->klen = kl;
    memcpy(b->bytes + b->blen, k, kl);
    b->blen += kl;
    op->voff = b->blen;
    op->vlen = vl;
    if (vl > 0)
        memcpy(b->bytes + b->blen, v, vl);
    b->blen += vl;
    op->khash = commit_hash(k, kl);
    b->n++;
    c->pending_ops++;
    c->pending_bytes += kl + vl;
    return 0;
}

int serve_commit_put(server *s, serve_client *c, const void *k, size_t kl,
                     const void *v, size_t vl, int reply)
{
    return commit_add(s, c, k, kl, v, vl, 0, reply ? REPLY_OK : REPLY_NONE, 0);
}

size_t serve_commit_mark(const server *s)
{
    return s->commit->gathering->n;
}

int serve_commit_del(server *s, serve_client *c, const void *k, size_t kl, size_t first, int count)
{
    return commit_add(s, c, k, kl, "", 0, 1, count ? REPLY_COUNT : REPLY_NONE, first);
}

void serve_commit_undo(server *s, size_t mark)
{
    commit_batch *b = s->commit->gathering;
    if (mark >= b->n)
        return;
    for (size_t j = mark; j < b->n; j++) {
        b->ops[j].c->pending_ops--;
        b->ops[j].c->pending_bytes -= b->ops[j].klen + b->ops[j].vlen;
    }
    b->blen = b->ops[mark].koff;
    b->n = mark;
}

void serve_commit_kick(server *s)
{
    struct serve_commit *cm = s->commit;
    if (cm->flying != NULL || cm->gathering->n == 0)
        return;
    commit_batch *b = cm->gathering;
    cm->flying = b;
    cm->gathering = b == &cm->b[0] ? &cm->b[1] : &cm->b[0];
    s->stats.batches++;
    s->stats.batch_ops += b->n;
    if (b->n > s->stats.largest_batch)
        s->stats.largest_batch = b->n;
    if (!cm->threaded) {
        commit_apply(cm, b);
        serve_commit_done(s);
        return;
    }
    pthread_mutex_lock(&cm->mu);
    cm->handoff = b;
    pthread_cond_signal(&cm->cv);
    pthread_mutex_unlock(&cm->mu);
}

void serve_commit_done(server *s)
{
    struct serve_commit *cm = s->commit;
    if (cm->threaded) {
        uint64_t n;
        if (read(cm->efd, &n, sizeof n) != sizeof n)
            return; /* not yet */
        pthread_mutex_lock(&cm->mu);
        commit_batch *applied = cm->applied;
        cm->applied = NULL;
        pthread_mutex_unlock(&cm->mu);
        if (applied == NULL)
            return;
    }
    commit_batch *b = cm->flying;
    for (size_t i = 0; i < b->n; i++) {
        commit_op *op = &b->ops[i];
        serve_client *c = op->c;
        c->pending_ops--;
        c->pending_bytes -= op->klen + op->vlen;
        if (!c->dead && op->reply != REPLY_NONE) {
            if (b->status != KV_OK) {
                out_error(&c->out, "ERR %s", b->err);
            } else if (op->reply == REPLY_OK) {
                out_simple(&c->out, "OK");
            } else {
                long long count = 0;
                for (size_t j = op->first; j <= i; j++)
                    count += b->ops[j].existed;
                out_int(&c->out, count);
            }
            serve_client_dirty(s, c);
        }
        if (c->pending_ops == 0) {
            c->waiting = 0;
            serve_client_ready(s, c);
        }
    }
    b->n = 0;
    b->blen = 0;
    b->status = KV_OK;
    cm->flying = NULL;
    /* Start what was gathered meanwhile (with --sync; inline, the loop
     * kicks at the end of its pass). */
    if (cm->threaded)
        serve_commit_kick(s);
}
