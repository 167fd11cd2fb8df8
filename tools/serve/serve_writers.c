/*
 * serve_writers.c: applying the chunks of a batch (serve_commit.c), and
 * the writer threads: with --sync, SERVE_WRITERS of them, which do it at
 * the same time so that the stage's group commit covers their kv_writes
 * with one fsync; without, one, for the batches too large to apply on the
 * loop thread.  What an op that reads finds (a DEL's count of the keys
 * that existed, a SET NX's or XX's condition) is found here too
 * (commit_count_existing).
 *
 * A writer waits until a batch has a chunk nobody has taken in the phase
 * under way, takes it (under mu), applies it with one kv_write, or an EXEC
 * group with serve_txn_apply (without mu: this is where it waits for the
 * disk), and counts it done (under mu).  The writer that finishes a
 * phase's last chunk opens the next phase (phase_end) and wakes the
 * others; the one that finishes the batch's last chunk publishes it as
 * `applied` and writes the eventfd the loop watches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "serve_batch.h"

/* commit_count_existing's sort: by key, then by position in the batch. */
static int commit_cmp_ops(const void *a, const void *b, void *arg)
{
    const commit_batch *bt = arg;
    const commit_op *x = &bt->ops[*(const size_t *)a], *y = &bt->ops[*(const size_t *)b];
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(bt->bytes + x->koff, bt->bytes + y->koff, n);
    if (c != 0)
        return c;
    if (x->klen != y->klen)
        return x->klen < y->klen ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* Sets `existed` for the ops of chunk ch that read their key (a delete,
 * a conditional put): whether it held a value just before the op, after
 * the ops before it.  The ops are sorted by key (then batch order), so
 * each finds the ops before it on the same key next to it, and only the
 * first op on a key that needs to know asks the database (kv_get, in key
 * order).  So a DEL of n keys costs n log n comparisons and at most n
 * lookups; looking back through the batch for each key would cost
 * n^2 / 2.  KV_OK, or the error (KV_ERR_NOMEM: kv_errmsg() does not say
 * it).
 * REQUIRES: ch is the only plain chunk of its phase (the batch reads), so
 * nothing else writes while it is applied. */
static int commit_count_existing(kv_db *db, commit_batch *b, const commit_chunk *ch)
{
    size_t *idx = malloc((ch->n ? ch->n : 1) * sizeof *idx);
    if (idx == NULL)
        return KV_ERR_NOMEM;
    size_t n = ch->n;
    memcpy(idx, b->order + ch->start, n * sizeof *idx);
    qsort_r(idx, n, sizeof *idx, commit_cmp_ops, b);
    int rc = KV_OK, known = 0, present = 0;
    for (size_t k = 0; k < n && rc == KV_OK; k++) {
        commit_op *op = &b->ops[idx[k]];
        const commit_op *prev = k > 0 ? &b->ops[idx[k - 1]] : NULL;
        if (prev == NULL || prev->klen != op->klen ||
            memcmp(b->bytes + prev->koff, b->bytes + op->koff, op->klen) != 0)
            known = 0; /* a new key: what it holds is not known yet */
        if (!known && (op->kind == OP_DEL || op->cond != SERVE_OP_ALWAYS)) {
            void *val;
            size_t vlen;
            rc = kv_get(db, b->bytes + op->koff, op->klen, &val, &vlen);
            if (rc == KV_OK)
                kv_free(val);
            present = rc == KV_OK;
            known = 1;
            if (rc == KV_NOT_FOUND)
                rc = KV_OK;
        }
        op->existed = known && present;
        if (serve_op_applies(op->cond, op->existed) && (op->kind == OP_DEL || op->kind == OP_PUT)) {
            present = op->kind == OP_PUT;
            known = 1;
        }
    }
    free(idx);
    return rc;
}

/* Applies one chunk with one kv_write, through the caller's kv_batch; an
 * EXEC group with serve_txn_apply. */
void commit_apply_chunk(kv_db *db, commit_batch *b, commit_chunk *ch, kv_batch *kvb)
{
    if (ch->exec) {
        serve_txn_apply(db, b, ch);
        return;
    }
    int rc = b->reads ? commit_count_existing(db, b, ch) : KV_OK;
    if (rc == KV_ERR_NOMEM) {
        ch->status = rc;
        snprintf(ch->err, sizeof ch->err, "%s: reading the keys of a DEL or a SET NX or XX",
                 kv_strerror(rc));
        return;
    }
    kv_batch_clear(kvb);
    for (size_t k = 0; k < ch->n && rc == KV_OK; k++) {
        size_t i = b->order[ch->start + k];
        commit_op *op = &b->ops[i];
        const unsigned char *key = b->bytes + op->koff;
        if (!serve_op_applies(op->cond, op->existed))
            continue; /* SET NX found its key, or XX did not */
        if (op->kind == OP_DEL)
            rc = kv_batch_delete(kvb, key, op->klen);
        else
            rc = kv_batch_put(kvb, key, op->klen, b->bytes + op->voff, op->vlen);
    }
    if (rc == KV_OK)
        rc = kv_write(db, kvb);
    ch->status = rc;
    if (rc != KV_OK)
        snprintf(ch->err, sizeof ch->err, "%s: %s", kv_strerror(rc), kv_errmsg());
}

static void *commit_writer(void *arg)
{
    struct serve_commit *cm = arg;
    kv_batch *kvb = NULL;
    int nomem = kv_batch_new(&kvb) != KV_OK;
    pthread_mutex_lock(&cm->mu);
    for (;;) {
        /* A chunk may be taken once its phase has begun (phase_end). */
        while (!(cm->work != NULL && cm->next_chunk < cm->phase_end) &&
               !(cm->quit && cm->work == NULL))
            pthread_cond_wait(&cm->cv, &cm->mu);
        if (cm->work == NULL)
            break; /* quit, nothing left */
        commit_batch *b = cm->work;
        kv_db *db = cm->work_db;
        commit_chunk *ch = &b->chunks[cm->next_chunk++];
        pthread_mutex_unlock(&cm->mu);
        if (nomem && !ch->exec) {
            ch->status = KV_ERR_NOMEM;
            snprintf(ch->err, sizeof ch->err, "%s", kv_strerror(KV_ERR_NOMEM));
        } else {
            commit_apply_chunk(db, b, ch, kvb);
        }
        pthread_mutex_lock(&cm->mu);
        if (++cm->chunks_done == b->nchunks) {
            cm->applied = b;
            cm->work = NULL;
            uint64_t one = 1;
            if (write(cm->efd, &one, sizeof one) != sizeof one) {
                /* an eventfd write fails only on counter overflow: not here */
            }
        } else if (cm->chunks_done == cm->phase_end) {
            cm->phase_end = b->chunks[cm->phase_end].phase_end; /* the next phase */
            pthread_cond_broadcast(&cm->cv);
        }
    }
    pthread_mutex_unlock(&cm->mu);
    kv_batch_free(kvb);
    return NULL;
}

int commit_writers_start(struct serve_commit *cm, int n)
{
    cm->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (cm->efd < 0)
        return KV_ERR_IO;
    pthread_mutex_init(&cm->mu, NULL);
    pthread_cond_init(&cm->cv, NULL);
    for (; cm->nthreads < n && cm->nthreads < SERVE_WRITERS; cm->nthreads++)
        if (pthread_create(&cm->thread[cm->nthreads], NULL, commit_writer, cm) != 0)
            return cm->nthreads > 0 ? KV_OK : KV_ERR_NOMEM;
    return KV_OK;
}

void commit_writers_stop(struct serve_commit *cm)
{
    pthread_mutex_lock(&cm->mu);
    cm->quit = 1;
    pthread_cond_broadcast(&cm->cv);
    pthread_mutex_unlock(&cm->mu);
    for (int i = 0; i < cm->nthreads; i++)
        pthread_join(cm->thread[i], NULL);
    pthread_mutex_destroy(&cm->mu);
    pthread_cond_destroy(&cm->cv);
    close(cm->efd);
}
