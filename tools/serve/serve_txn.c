/*
 * serve_txn.c: applying a group of EXECs (serve_commit.c cut them into a
 * chunk of their own): every queued command of every EXEC, in order, in
 * one kv_txn, then one kv_txn_commit.  Runs on the loop thread (a small
 * batch without --sync) or on a writer thread; it touches only the kv_txn,
 * the EXECs' serve_multi (serve_queue.h says when that is allowed) and the
 * chunk.
 *
 * Inside the transaction a read (GET, MGET, EXISTS, TYPE, STRLEN) sees
 * the writes queued before it, its own EXEC's and the earlier EXECs' of
 * the group: the group behaves as its EXECs one after the other.  The
 * whole group is one batch for the engine (atomic, and durable as any
 * write: one fsync with --sync), and each EXEC's replies are kept aside
 * until the commit has returned.
 *
 * The transaction is KV_TXN_SERIALIZABLE.  The batch already applies a
 * group alone (a phase of its own), so no other write of the server can
 * come between its reads and its commit; SERIALIZABLE makes that a
 * property the engine checks rather than one the server's ordering must
 * keep.  If the commit conflicts anyway, the group runs again from the
 * start in a new transaction, up to SERVE_TXN_RETRIES times: a retry is
 * invisible to the clients (nothing of a failed attempt is applied or
 * sent), so an EXEC without WATCH is never answered with a null.
 *
 * An EXEC after WATCH is a group of its own and runs in the kv_txn its
 * WATCH began (serve_watch.c), once, after reading the watched keys in it:
 * a conflict at its commit (or at kv_txn_check, for a queue that writes
 * nothing) is not retried but answered as Redis answers a watched key
 * that changed, with a null array (m->status KV_ERR_CONFLICT).
 *
 * Failures: a command's own error (SET with options, a key out of range,
 * a read that fails) is its reply, as in Redis, and the EXEC goes on.  A
 * write the transaction refuses (kv_txn_put out of memory), or replies
 * over SERVE_MAX_REPLY bytes, fail that EXEC alone: the group is run
 * again without it, and it answers an error with nothing of it applied.
 * A commit that fails (an I/O error) fails every EXEC of the group.
 */
#include <stdio.h>

#include "serve_batch.h"
#include "serve_queue.h"

/* Runs m's queue in t, its replies to m->reply.  KV_OK, or why this EXEC
 * must fail (m->err says it). */
static int txn_run_queue(kv_txn *t, struct serve_multi *m)
{
    serve_view v = {NULL, t, NULL, 0, NULL}; /* (no extension runs EXECs here) */
    serve_errtally_free(&m->errs); /* an earlier attempt's (a retry) */
    m->reply.tally = &m->errs;
    for (size_t i = 0; i < m->ncmds; i++) {
        const serve_cmd *cmd = m->cmds[i].cmd;
        serve_req r = multi_req(m, i);
        long long started = serve_now_ns();
        unsigned long long errors = m->reply.errors;
        if (cmd->read != NULL) {
            cmd->read(&v, &m->reply, &r);
        } else {
            int rc = serve_effect_txn(cmd->write, t, &m->reply, &r);
            if (rc != KV_OK) {
                snprintf(m->err, sizeof m->err, "%s: %s (in '%s', command %zu of the "
                         "transaction; nothing of it was applied)",
                         kv_strerror(rc), kv_errmsg(), cmd->name, i + 1);
                return rc;
            }
        }
        m->cmds[i].ns = serve_now_ns() - started; /* serve_stats.h: counted when answered */
        m->cmds[i].failed = m->reply.errors > errors;
        if (m->reply.failed) {
            snprintf(m->err, sizeof m->err, "%s: for the replies of the transaction; "
                     "nothing of it was applied", kv_strerror(KV_ERR_NOMEM));
            return KV_ERR_NOMEM;
        }
        if (m->reply.len > SERVE_MAX_REPLY) {
            snprintf(m->err, sizeof m->err, "EXEC reply larger than %u bytes; nothing of "
                     "the transaction was applied", SERVE_MAX_REPLY);
            return KV_ERR_INVALID;
        }
    }
    return KV_OK;
}

/* Runs every EXEC of the group not failed yet in t.  KV_OK, or -1 after
 * one failed (m->status set): the caller starts again without it. */
static int txn_run_group(kv_txn *t, commit_batch *b, const commit_chunk *ch)
{
    for (size_t k = 0; k < ch->n; k++) {
        commit_op *op = &b->ops[b->order[ch->start + k]];
        if (op->multi->status != KV_OK)
            continue; /* an EXEC that failed alone */
        struct serve_multi *m = op->multi;
        out_free(&m->reply);
        int rc = txn_run_queue(t, m);
        if (rc != KV_OK) {
            m->status = rc;
            out_free(&m->reply);
            return -1;
        }
    }
    return KV_OK;
}

/* Reads each key the WATCH named in t (serve_watch.c), so that the
 * commit, or kv_txn_check, checks it.  KV_OK, or why this EXEC fails. */
static int txn_read_watched(kv_txn *t, struct serve_multi *m)
{
    const serve_keylist *l = m->watched;
    for (size_t i = 0; l != NULL && i < l->n; i++) {
        void *val = NULL;
        size_t vlen = 0;
        int rc = kv_txn_get(t, l->bytes + l->keys[i].off, l->keys[i].len, &val, &vlen);
        if (rc == KV_OK)
            kv_free(val);
        else if (rc != KV_NOT_FOUND) {
            snprintf(m->err, sizeof m->err, "%s: %s (reading a watched key; nothing of the "
                     "transaction was applied)", kv_strerror(rc), kv_errmsg());
            return rc;
        }
    }
    return KV_OK;
}

/* 1 if a command of m's queue writes. */
static int txn_queue_writes(const struct serve_multi *m)
{
    for (size_t i = 0; i < m->ncmds; i++)
        if (m->cmds[i].cmd->write != NULL)
            return 1;
    return 0;
}

/* Runs a watched EXEC in the kv_txn its WATCH began: the watched keys
 * read first (before the queue's own writes could answer them), then the
 * queue; then the commit, or for a queue that writes nothing the check a
 * commit would make (kv_txn_check), so that *-1 answers a changed key
 * whatever the queue does, as in Redis. */
static void txn_apply_watched(struct serve_multi *m, commit_chunk *ch)
{
    kv_txn *t = m->txn;
    m->txn = NULL; /* ended below, whatever happens */
    out_free(&m->reply);
    int rc = txn_read_watched(t, m);
    if (rc == KV_OK)
        rc = txn_run_queue(t, m);
    ch->status = KV_OK; /* the group is this EXEC: its outcome is m's */
    if (rc != KV_OK) {
        kv_txn_abort(t);
        m->status = rc;
        out_free(&m->reply);
        return;
    }
    if (txn_queue_writes(m)) {
        rc = kv_txn_commit(t);
    } else {
        rc = kv_txn_check(t);
        kv_txn_abort(t);
    }
    if (rc != KV_OK) {
        m->status = rc;
        out_free(&m->reply);
        if (rc != KV_ERR_CONFLICT)
            snprintf(m->err, sizeof m->err, "%s: %s (the transaction was not applied)",
                     kv_strerror(rc), kv_errmsg());
    }
}

void serve_txn_apply(kv_db *db, commit_batch *b, commit_chunk *ch)
{
    commit_op *first = &b->ops[b->order[ch->start]];
    if (ch->n == 1 && first->multi->txn != NULL) {
        txn_apply_watched(first->multi, ch);
        return;
    }
    int rc;
    for (;;) {
        kv_txn *t;
        if ((rc = kv_txn_begin(db, KV_TXN_SERIALIZABLE, &t)) != KV_OK)
            break;
        if (txn_run_group(t, b, ch) != KV_OK) {
            kv_txn_abort(t);
            continue; /* again, without the EXEC that failed: at most ch->n times */
        }
        rc = kv_txn_commit(t);
        if (rc != KV_ERR_CONFLICT || ch->retries >= SERVE_TXN_RETRIES)
            break;
        ch->retries++;
    }
    ch->status = rc;
    if (rc != KV_OK)
        snprintf(ch->err, sizeof ch->err, "%s: %s (the transaction was not applied)",
                 kv_strerror(rc), kv_errmsg());
}
