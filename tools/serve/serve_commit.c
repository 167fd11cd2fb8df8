/*
 * serve_commit.c: the writes of the loop's passes, applied in a few
 * kv_write batches, with --sync by a pool of writer threads.
 *
 * Why: with --sync, kv_put returns after an fsync, so one thread calling
 * kv_put per SET would pay one fsync per SET.  Instead every SET, MSET and
 * DEL the loop runs is added to the gathering batch, and at the end of a
 * pass the batch is applied: this is the chance Redis gives its own log
 * (appendfsync always fsyncs once per pass of its event loop).
 *
 * Chunks.  The batch is cut into chunks of about SERVE_CHUNK_OPS ops (16),
 * each applied with one kv_write.  A client's ops all go to one chunk (so
 * they are applied in its order, and an MSET is one kv_write: atomic).
 * Why not one kv_write for everything: stage 03 stores a batch as one log
 * record, and a get reads and decodes the whole record its key is in, so
 * records of 800 ops would make every later GET decode 800 ops.  Without
 * --sync the loop applies a small batch's chunks itself, one after the
 * other (a chunk costs one write(), no disk wait).  With --sync a chunk is
 * a record that must join a group commit, so chunks are larger
 * (SERVE_CHUNK_OPS_SYNC, 64): fewer records to gather behind one fsync.
 * With --sync, a batch of one chunk (clients that each send a write and
 * wait for it) is applied by the loop itself, which waits for its fsync
 * as Redis's loop does with appendfsync always.  A batch of several
 * chunks goes to SERVE_WRITERS threads that take chunks and call kv_write
 * at the same time; the stage's group commit then writes their records
 * together and covers them with one fsync (stage 03: one leader, one
 * fdatasync for every record queued behind it).  Meanwhile the loop goes
 * on reading requests and answering reads of other clients, and gathers
 * the next batch; the writers say they are done through an eventfd.
 *
 * Large batches.  Without --sync, one writer thread waits too: a batch of
 * more than SERVE_INLINE_OPS ops or SERVE_INLINE_BYTES bytes (a DEL or an
 * MSET of many keys, a large value) goes to it as with --sync, so that no
 * single command holds up the loop, and other clients are served while it
 * is applied.  So does every batch holding an EXEC: a kv_txn reads what
 * it writes at commit on stages 01-06 (to compare values), and a stage 01
 * read scans its whole log, so an EXEC of 1,000 SETs over a log of 20,000
 * keys takes a second there (docs/server.md, "Transactions").
 *
 *   loop thread                           writer threads
 *   gather; kick: cut into chunks --------> kv_write(chunk) each, together
 *   gather the next batch meanwhile        the last one done: applied = b,
 *   done: answer every op, in order <------ eventfd += 1
 *
 * One batch is in flight at a time, so batches are applied in order.  (An
 * extension may take several (serve_ext.h, E4): a member of a Raft group
 * proposes the next pass's batch while earlier ones are still being
 * committed, if it holds enough ops to be worth an entry of its own, and
 * the group's log orders them.  Batches are answered in
 * the order they were handed over, whatever order they are settled in,
 * so a client whose pipeline went out in several batches is answered in
 * its order.  An extension may also have the next batch wait, with
 * nothing in flight, for the clients the last one answered (serve_ext.h,
 * `gather_us`): each client the last settle answered is marked with it
 * until its next command runs or it leaves (a later settle's marks
 * replace them), and the kick holds the gathering batch while any is
 * marked, up to that bound and never longer than the last batch was
 * out; the loop's wait ends when the hold does.)  A batch holding a DEL has one plain chunk per phase (below): a DEL answers
 * how many of its keys existed, which it finds by looking at the earlier
 * ops of its chunk, then at the database; with one chunk at a time that
 * is exact.  The writers touch a batch only between the hand-off and
 * `applied`, both under `mu`; the loop touches it only outside that window.
 *
 * EXEC (serve_multi.c) is an op too.  An EXEC must take effect where the
 * loop ran it: after every write gathered before it, before every write
 * gathered after it (server.h, invariant 5), or a client's pipeline of
 * SET, EXEC, GET would see its writes out of order.  So the batch is cut
 * into phases:
 *
 *   [plain chunks] [EXEC group] [plain chunks] [EXEC group] ...
 *
 * where an EXEC group is the EXECs gathered one after the other (no put
 * or delete between them; up to SERVE_TXN_GROUP), run in order in one
 * kv_txn and committed as one batch (serve_txn.c), so that they share one
 * fsync.  An EXEC after WATCH is a group of its own: it commits the kv_txn
 * its WATCH began (serve_watch.c).  A phase starts when the one before it
 * is done; the plain chunks of a phase are applied at the same time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve_batch.h"
#include "serve_queue.h"

int serve_commit_init(server *s)
{
    struct serve_commit *cm = calloc(1, sizeof *cm);
    if (cm == NULL)
        return KV_ERR_NOMEM;
    s->commit = cm;
    cm->efd = -1;
    /* Without an extension the batch applied here is the one the writers
     * hold, and a DEL's count reads the database as it is: one at a
     * time.  An extension says how many it takes (serve_ext.h, E4). */
    cm->max_flying = s->ext != NULL && s->ext->in_flight > 1 ? s->ext->in_flight : 1;
    cm->flying_ops = s->ext != NULL ? s->ext->in_flight_ops : 0;
    cm->gather_ns = s->ext != NULL ? (long long)s->ext->gather_us * 1000 : 0;
    cm->nb = cm->max_flying + 1;
    cm->b = calloc(cm->nb, sizeof *cm->b);
    cm->flying = calloc(cm->max_flying, sizeof *cm->flying);
    if (cm->b == NULL || cm->flying == NULL)
        return KV_ERR_NOMEM;
    cm->gathering = &cm->b[0];
    cm->chunk_ops = s->cfg.sync ? SERVE_CHUNK_OPS_SYNC : SERVE_CHUNK_OPS;
    cm->sync = s->cfg.sync;
    if (kv_batch_new(&cm->kvb) != KV_OK)
        return KV_ERR_NOMEM;
    return commit_writers_start(cm, s->cfg.sync ? SERVE_WRITERS : 1);
}

void serve_commit_free(server *s)
{
    struct serve_commit *cm = s->commit;
    if (cm == NULL)
        return;
    if (cm->efd >= 0)
        commit_writers_stop(cm);
    for (size_t i = 0; i < cm->nb && cm->b != NULL; i++) {
        free(cm->b[i].ops);
        free(cm->b[i].bytes);
        free(cm->b[i].order);
        free(cm->b[i].chunks);
    }
    free(cm->b);
    free(cm->flying);
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
    return s->commit->nflying > 0 || s->commit->gathering->n > 0;
}

int serve_commit_has_room(const serve_client *c, size_t ops, uint64_t bytes)
{
    return c->pending_ops < SERVE_CLIENT_OPS && c->pending_bytes < SERVE_CLIENT_BYTES &&
           c->pending_ops + ops <= KV_MAX_BATCH_OPS &&
           c->pending_bytes + bytes <= KV_MAX_BATCH_BYTES;
}

/* Appends an op (key and value copied); 0, or -1 when out of memory. */
static int commit_add(server *s, serve_client *c, const void *k, size_t kl,
                      const void *v, size_t vl, int kind, int cond, int reply, size_t first)
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
    op->kind = (unsigned char)kind;
    op->cond = (unsigned char)cond;
    op->reply = (unsigned char)reply;
    op->first = first;
    op->koff = b->blen;
    op->klen = kl;
    if (kl > 0)
        memcpy(b->bytes + b->blen, k, kl);
    b->blen += kl;
    op->voff = b->blen;
    op->vlen = vl;
    if (vl > 0)
        memcpy(b->bytes + b->blen, v, vl);
    b->blen += vl;
    b->reads |= kind == OP_DEL || cond != SERVE_OP_ALWAYS;
    b->n++;
    c->pending_ops++;
    c->pending_bytes += kl + vl;
    return 0;
}

int serve_commit_op(server *s, serve_client *c, const serve_write_op *op, int reply,
                    size_t first)
{
    if (op->del)
        return commit_add(s, c, op->key, op->klen, "", 0, OP_DEL, SERVE_OP_ALWAYS, reply, first);
    return commit_add(s, c, op->key, op->klen, op->val, op->vlen, OP_PUT, op->cond, reply, first);
}

size_t serve_commit_mark(const server *s)
{
    return s->commit->gathering->n;
}

int serve_commit_exec(server *s, serve_client *c, struct serve_multi *m)
{
    if (commit_add(s, c, "", 0, "", 0, OP_EXEC, SERVE_OP_ALWAYS, 0, 0) != 0)
        return -1;
    commit_batch *b = s->commit->gathering;
    commit_op *op = &b->ops[b->n - 1];
    op->multi = m;
    op->vlen = m->blen; /* counted in the client's pending bytes, not in b->bytes */
    c->pending_bytes += m->blen;
    b->execs++;
    return 0;
}

void serve_commit_stamp(server *s, size_t mark, const serve_cmd *cmd, serve_cmdstat *st,
                        long long started, const char *name, size_t nlen)
{
    commit_batch *b = s->commit->gathering;
    if (mark >= b->n)
        return;
    commit_op *op = &b->ops[b->n - 1];
    op->cmd = cmd;
    op->stat = st;
    op->started = started;
    op->cmd_first = mark;
    op->name_len = (unsigned char)(nlen < sizeof op->name ? nlen : sizeof op->name);
    memcpy(op->name, name, op->name_len);
}

/* Counts the command op i ends (serve_commit_stamp), now answered; its
 * words, for the slow log, read back from its ops. */
static void commit_count(server *s, const commit_batch *b, size_t i, int failed)
{
    const commit_op *op = &b->ops[i];
    long long ns = serve_now_ns() - op->started;
    serve_arg args[SERVE_SLOWLOG_MAX_ARGS];
    size_t nargs = 0, argc = 0;
    if (serve_slowlog_wants(s, ns)) {
        args[nargs++] = (serve_arg){op->name, op->name_len};
        argc = 1;
        for (size_t j = op->cmd_first; j <= i && op->kind != OP_EXEC; j++) {
            const commit_op *w = &b->ops[j];
            if (nargs < SERVE_SLOWLOG_MAX_ARGS)
                args[nargs++] = (serve_arg){(const char *)b->bytes + w->koff, w->klen};
            if (w->kind == OP_PUT && nargs < SERVE_SLOWLOG_MAX_ARGS)
                args[nargs++] = (serve_arg){(const char *)b->bytes + w->voff, w->vlen};
            argc += w->kind == OP_PUT ? 2 : 1;
        }
    }
    serve_stats_ran(s, op->c, op->cmd, op->stat, ns, failed, args, nargs, argc);
}

void serve_commit_undo(server *s, size_t mark)
{
    commit_batch *b = s->commit->gathering;
    if (mark >= b->n)
        return;
    for (size_t j = mark; j < b->n; j++) { /* puts and deletes only */
        b->ops[j].c->pending_ops--;
        b->ops[j].c->pending_bytes -= b->ops[j].klen + b->ops[j].vlen;
    }
    b->blen = b->ops[mark].koff;
    b->n = mark;
}

/* Opens a chunk; its index, or -1 when out of memory. */
static long commit_new_chunk(commit_batch *b, size_t *nchunks, int exec)
{
    if (*nchunks == b->chunks_cap) {
        size_t cap = b->chunks_cap == 0 ? 16 : b->chunks_cap * 2;
        commit_chunk *grown = realloc(b->chunks, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        b->chunks = grown;
        b->chunks_cap = cap;
    }
    memset(&b->chunks[*nchunks], 0, sizeof b->chunks[*nchunks]);
    b->chunks[*nchunks].exec = exec;
    return (long)(*nchunks)++;
}

/* Cuts the batch into phases and chunks (see the top of this file): in a
 * phase of plain chunks, each client's ops go, in order, to the chunk that
 * was open when its first op of the phase was seen, and a chunk is closed
 * once it has SERVE_CHUNK_OPS ops, or before a client's ops would take it
 * past kv.h's batch bound (a client's own stay within it:
 * serve_commit_has_room); a batch with a DEL has one plain chunk per
 * phase, and a new phase where the bound would be passed.  EXECs one after
 * the other make one group, up to SERVE_TXN_GROUP of them, SERVE_MULTI_ARGS
 * queued words and KV_MAX_BATCH_BYTES queued bytes (one kv_txn: one
 * batch).  0, or -1 when out of memory (then it is one chunk too, in batch
 * order). */
static int commit_cut(struct serve_commit *cm, commit_batch *b)
{
    unsigned long long kick = ++cm->kicks;
    if (b->order_cap < b->n) {
        size_t *grown = realloc(b->order, b->n * sizeof *grown);
        if (grown == NULL)
            return -1;
        b->order = grown;
        b->order_cap = b->n;
    }
    size_t nchunks = 0, open_ops = 0, group_n = 0, group_args = 0;
    uint64_t open_bytes = 0, group_bytes = 0;
    long plain = -1, group = -1; /* the chunks open now, if any */
    int group_watched = 0;       /* the open group is a watched EXEC's */
    for (size_t i = 0; i < b->n; i++) {
        commit_op *op = &b->ops[i];
        serve_client *c = op->c;
        if (op->kind == OP_EXEC) {
            int watched = op->multi->txn != NULL;
            if (group < 0 || group_n >= SERVE_TXN_GROUP || group_args >= SERVE_MULTI_ARGS ||
                group_bytes + op->multi->blen > KV_MAX_BATCH_BYTES || watched ||
                group_watched) {
                if ((group = commit_new_chunk(b, &nchunks, 1)) < 0)
                    return -1;
                group_n = group_args = 0;
                group_bytes = 0;
                group_watched = watched;
                plain = -1;
                kick = ++cm->kicks; /* plain ops after it: a new phase */
            }
            op->chunk = (size_t)group;
            group_n++;
            group_args += op->multi->nargs;
            group_bytes += op->multi->blen;
        } else {
            group = -1;
            if (c->batch_kick != kick) {
                c->batch_kick = kick;
                int past_bound = open_ops + c->pending_ops > KV_MAX_BATCH_OPS ||
                                 open_bytes + c->pending_bytes > KV_MAX_BATCH_BYTES;
                if (plain < 0 ||
                    (open_ops > 0 && (past_bound || (!b->reads &&
                                                     open_ops + c->pending_ops > cm->chunk_ops)))) {
                    if ((plain = commit_new_chunk(b, &nchunks, 0)) < 0)
                        return -1;
                    open_ops = 0;
                    open_bytes = 0;
                }
                c->batch_chunk = (size_t)plain;
                open_ops += c->pending_ops;
                open_bytes += c->pending_bytes;
            }
            op->chunk = c->batch_chunk;
        }
    }
    size_t next_phase = nchunks;
    for (size_t k = nchunks; k-- > 0;) {
        if (b->chunks[k].exec || b->reads) { /* a phase of its own */
            b->chunks[k].phase_end = k + 1;
            next_phase = k;
        } else {
            b->chunks[k].phase_end = next_phase;
        }
    }
    for (size_t i = 0; i < b->n; i++)
        b->chunks[b->ops[i].chunk].n++;
    for (size_t k = 1; k < nchunks; k++)
        b->chunks[k].start = b->chunks[k - 1].start + b->chunks[k - 1].n;
    for (size_t k = 0; k < nchunks; k++)
        b->chunks[k].n = 0;
    for (size_t i = 0; i < b->n; i++) {
        commit_chunk *ch = &b->chunks[b->ops[i].chunk];
        b->order[ch->start + ch->n++] = i;
    }
    b->nchunks = nchunks;
    return 0;
}

/* What an extension made of chunks [k0, k1) (commit_settlers). */
static void commit_settle(commit_batch *b, size_t k0, size_t k1, int status, const char *err,
                          const uint8_t *existed, size_t n)
{
    size_t w = 0;
    for (size_t k = k0; k < k1; k++) {
        commit_chunk *ch = &b->chunks[k];
        ch->status = status;
        if (status != KV_OK)
            snprintf(ch->err, sizeof ch->err, "%s", err != NULL ? err : "not applied");
        for (size_t j = 0; j < ch->n; j++, w++)
            b->ops[b->order[ch->start + j]].existed =
                status == KV_OK && existed != NULL && w < n && existed[w];
    }
}

/* The one-chunk fallback when commit_cut cannot allocate. */
static commit_chunk commit_whole_chunk;

/* An extension has settled every write of b (commit_settlers). */
static void commit_settled(server *s, commit_batch *b)
{
    b->settled = 1;
    serve_commit_done(s);
}

/* A batch neither gathering nor in flight, to gather into next. */
static commit_batch *commit_free_batch(struct serve_commit *cm)
{
    for (size_t i = 0; i < cm->nb; i++) {
        commit_batch *b = &cm->b[i];
        int used = b == cm->gathering;
        for (size_t j = 0; j < cm->nflying && !used; j++)
            used = cm->flying[j] == b;
        if (!used)
            return b;
    }
    return NULL; /* not reached: nb is one more than max_flying */
}

void serve_commit_back(server *s, serve_client *c)
{
    if (c->answered != 0 && c->answered == s->commit->settles)
        s->commit->answered--;
    c->answered = 0;
}

/* The time left to hold the gathering batch for the clients the last
 * settled batch answered (serve_ext.h, `gather_us`), in ns; 0: none. */
static long long commit_hold_left(const server *s)
{
    const struct serve_commit *cm = s->commit;
    if (cm->answered == 0 || cm->nflying > 0 || cm->gathering->n == 0 || s->stopping)
        return 0;
    long long left = cm->hold_until_ns - serve_now_ns();
    return left > 0 ? left : 0;
}

int serve_commit_hold_ms(const server *s)
{
    long long left = commit_hold_left(s);
    return left > 0 ? (int)((left + 999999) / 1000000) : -1;
}

void serve_commit_kick(server *s)
{
    struct serve_commit *cm = s->commit;
    if (cm->nflying >= cm->max_flying || cm->gathering->n == 0 ||
        (cm->nflying > 0 && cm->gathering->n < cm->flying_ops))
        return;
    if (commit_hold_left(s) > 0) {
        if (!cm->holding)
            s->stats.held++;
        cm->holding = 1;
        return;
    }
    if (cm->holding && cm->answered > 0)
        s->stats.held_out++; /* some of them did not come back in time */
    cm->holding = 0;
    commit_batch *b = cm->gathering;
    b->settled = 0;
    cm->flying[cm->nflying++] = b;
    if (cm->nflying > s->stats.most_flying)
        s->stats.most_flying = cm->nflying;
    cm->gathering = commit_free_batch(cm);
    s->stats.batches++;
    s->stats.batch_ops += b->n;
    if (b->n > s->stats.largest_batch)
        s->stats.largest_batch = b->n;
    if (commit_cut(cm, b) != 0) {
        /* Out of memory: fail the whole batch, answered in done(). */
        b->threaded = 0;
        b->nchunks = 0;
        for (size_t i = 0; i < b->n; i++)
            b->ops[i].chunk = (size_t)-1;
        commit_whole_chunk.status = KV_ERR_NOMEM;
        snprintf(commit_whole_chunk.err, sizeof commit_whole_chunk.err, "%s",
                 kv_strerror(KV_ERR_NOMEM));
        commit_settled(s, b);
        return;
    }
    s->stats.chunks += b->nchunks;
    if (s->ext != NULL) { /* an extension applies it (a member: through the group's log) */
        static const commit_settlers settle = {commit_settle, commit_settled};
        b->threaded = 0;
        b->handed_ns = serve_now_ns();
        serve_handoff_batch(s, b, &settle);
        return;
    }
    /* With --sync, a batch of one chunk is one kv_write and one fsync
     * either way: the loop waits for it itself, as Redis's loop does with
     * appendfsync always, rather than hand it to a writer and back (two
     * thread switches per batch, which cost more than the fsync). */
    b->threaded = (cm->sync && b->nchunks > 1) || b->execs > 0 || b->n > SERVE_INLINE_OPS ||
                  b->blen > SERVE_INLINE_BYTES;
    if (!b->threaded) {
        for (size_t k = 0; k < b->nchunks; k++)
            commit_apply_chunk(s->db, b, &b->chunks[k], cm->kvb);
        commit_settled(s, b);
        return;
    }
    pthread_mutex_lock(&cm->mu);
    cm->work = b;
    cm->work_db = s->db;
    cm->next_chunk = 0;
    cm->phase_end = b->chunks[0].phase_end;
    cm->chunks_done = 0;
    pthread_cond_broadcast(&cm->cv);
    pthread_mutex_unlock(&cm->mu);
}

/* Answers every op of batch b, settled, and makes it ready to gather
 * into again. */
static void commit_answer(server *s, commit_batch *b)
{
    for (size_t k = 0; k < b->nchunks; k++)
        if (b->chunks[k].exec) {
            s->stats.txn_commits++;
            s->stats.txn_retries += b->chunks[k].retries;
        }
    for (size_t i = 0; i < b->n; i++) {
        commit_op *op = &b->ops[i];
        serve_client *c = op->c;
        const commit_chunk *ch = op->chunk == (size_t)-1 ? &commit_whole_chunk
                                                         : &b->chunks[op->chunk];
        c->pending_ops--;
        c->pending_bytes -= op->klen + op->vlen;
        if (op->kind == OP_EXEC) {
            int failed = serve_multi_answer(s, c, ch->status, ch->err);
            if (op->cmd != NULL)
                commit_count(s, b, i, failed);
        } else {
            if (op->cmd != NULL)
                commit_count(s, b, i, ch->status != KV_OK);
            if (!c->dead && op->reply != 0) {
                if (ch->status != KV_OK) {
                    out_error(&c->out, "ERR %s", ch->err);
                } else if (op->reply == SERVE_REPLY_OK) {
                    if (serve_op_applies(op->cond, op->existed)) /* nil: SET NX found its key */
                        out_simple(&c->out, "OK");
                    else
                        out_nil(&c->out);
                } else {
                    long long count = 0;
                    for (size_t j = op->first; j <= i; j++)
                        count += b->ops[j].existed;
                    out_int(&c->out, count);
                }
                serve_client_dirty(s, c);
            }
        }
        if (c->pending_ops == 0) {
            c->waiting = 0;
            serve_client_ready(s, c);
            if (s->commit->gather_ns > 0 && !c->dead && c->answered != s->commit->settles) {
                c->answered = s->commit->settles;
                s->commit->answered++;
            }
        }
    }
    b->n = 0;
    b->blen = 0;
    b->reads = 0;
    b->execs = 0;
    b->nchunks = 0;
    b->settled = 0;
    if (b->bcap > 16u * 1024 * 1024) { /* after a large value: give it back */
        free(b->bytes);
        b->bytes = NULL;
        b->bcap = 0;
    }
    if (b->cap > 64u * 1024) { /* after a large DEL or MSET */
        free(b->ops);
        free(b->order);
        b->ops = NULL;
        b->order = NULL;
        b->cap = b->order_cap = 0;
    }
}

void serve_commit_done(server *s)
{
    struct serve_commit *cm = s->commit;
    if (cm->nflying == 0)
        return;
    commit_batch *oldest = cm->flying[0];
    if (oldest->threaded && !oldest->settled) {
        uint64_t n;
        if (read(cm->efd, &n, sizeof n) != sizeof n)
            return; /* not yet */
        pthread_mutex_lock(&cm->mu);
        commit_batch *applied = cm->applied;
        cm->applied = NULL;
        pthread_mutex_unlock(&cm->mu);
        if (applied != oldest)
            return;
        oldest->settled = 1;
    }
    /* The settled batches at the head of the line, in the order they
     * were handed over (E4): a later batch settled first waits for the
     * ones before it, so that a client's replies keep its order. */
    int threaded = 0;
    if (cm->flying[0]->settled) { /* a new settle: only the clients it answers hold the next */
        cm->settles++;
        cm->answered = 0;
    }
    while (cm->nflying > 0 && cm->flying[0]->settled) {
        commit_batch *b = cm->flying[0];
        threaded |= b->threaded;
        memmove(&cm->flying[0], &cm->flying[1], (cm->nflying - 1) * sizeof *cm->flying);
        cm->nflying--;
        /* The next batch waits for the clients just answered at most
         * as long as this one was out: a client slower than that would
         * have it wait longer than a round of its own would take. */
        long long now = serve_now_ns(), flight = now - b->handed_ns;
        cm->hold_until_ns = now + (flight < cm->gather_ns ? flight : cm->gather_ns);
        commit_answer(s, b);
    }
    /* Start what was gathered meanwhile (after an inline batch nothing
     * was; the loop kicks at the end of its pass anyway). */
    if (threaded)
        serve_commit_kick(s);
}
