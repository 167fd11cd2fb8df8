/*
 * serve_queue.h: a client's transaction, its MULTI queue and its EXEC's
 * state, as serve_multi.c (MULTI, the queue, EXEC handed to the batch),
 * serve_commit.c (EXEC in the batch), serve_txn.c (EXEC applied to the
 * server's engine), serve_handoff.c (EXEC handed to an extension),
 * serve_cmd_run.c (what EXEC does, for the gate) and serve_queue.c (EXEC
 * settled and answered, the queue emptied) share it.  The design is in
 * serve_multi.c's opening comment; docs/server.md, "Transactions".
 *
 * Ownership: the loop thread owns a serve_multi, except while its EXEC is
 * in a batch (from serve_commit_exec until the batch is answered): then
 * the client waits (it has an op pending), the loop touches nothing of it,
 * and what applies it writes `reply`, `status` and `err`: the thread
 * applying the batch (serve_txn.c), or, for an extension's, the settle
 * functions below (serve_handoff.c reads the queue and writes none of
 * it).
 *
 * Invariants:
 *   M1. The queue holds ncmds commands; command i's words are
 *       args[cmds[i].first .. + cmds[i].argc), each an offset and a length
 *       in `bytes`; nargs <= SERVE_MULTI_ARGS, and blen < SERVE_MULTI_BYTES
 *       before its last command was added.
 *   M2. refused == 1: EXEC answers EXECABORT; the queue is empty (a
 *       transaction that cannot run keeps nothing).
 */
#ifndef KV_SERVE_QUEUE_H
#define KV_SERVE_QUEUE_H

#include "server.h"

typedef struct multi_cmd {
    const serve_cmd *cmd;
    size_t first, argc;     /* its words: args[first .. first + argc) */
    long long ns;           /* written by the applying thread: its time, */
    int failed;             /* ... and 1 if it answered an error */
} multi_cmd;

struct serve_multi {
    int active;             /* after MULTI, before EXEC or DISCARD */
    int refused;            /* M2 */
    multi_cmd *cmds;        /* M1 */
    size_t ncmds, cmds_cap;
    resp_span *args;
    size_t nargs, args_cap;
    char *bytes;
    size_t blen, bcap;
    kv_txn *txn;            /* EXEC after WATCH: the WATCH's kv_txn, which the
                               thread applying the EXEC commits; else NULL */
    serve_keylist *watched; /* ... and the keys the WATCH named, which it
                               reads first (serve_watch.c); or NULL */
    /* Written by the thread applying the EXEC: */
    serve_out reply;        /* the queued commands' replies, in order */
    serve_errtally errs;    /* ... their error replies by code (reply.tally) */
    int status;             /* KV_OK, or why this EXEC failed (nothing of it
                               applied); KV_ERR_CONFLICT: a watched EXEC's *-1 */
    char err[256];
};

/* The queued command i as a request. */
static inline serve_req multi_req(const struct serve_multi *m, size_t i)
{
    serve_req r = {m->bytes, m->args + m->cmds[i].first, m->cmds[i].argc};
    return r;
}

/* After MULTI, before EXEC or DISCARD. */
static inline int serve_multi_queuing(const serve_client *c)
{
    return c->multi != NULL && c->multi->active;
}

/* serve_queue.c: empties the queue, releasing its memory and any kv_txn it
 * holds (M2 holds after it). */
void serve_multi_clear(struct serve_multi *m);
/* serve_queue.c: what an extension made of m's EXEC, as the batch's
 * status (serve_handoff.c maps the extension's outcome to it, once):
 * KV_OK, its replies built from what its ops found (`found`: the queue's
 * write ops' existed bytes and read ops' answers, each in order): a
 * write's from its effect, a read's from its `read` on a view that hands
 * out the answers (serve_readlist.c; keys with the prefix `hidden` are
 * absent, as they were when the reads were recorded), and any other's
 * from its `read` on no view (PING, ECHO); KV_ERR_CONFLICT, a condition
 * did not hold: *-1; any other: an error, err saying why (not applied,
 * or not known to be). */
void serve_multi_settle(struct serve_multi *m, int status, const serve_found *found,
                        const char *err, const char *hidden, size_t hidden_len);
/* serve_queue.c: m's EXEC fails, nothing of it applied (status, and the
 * message fmt makes). */
void serve_multi_fail(struct serve_multi *m, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* serve_queue.c: the EXEC's batch was applied: answers the client (the
 * replies, or the error of `group_status`/`group_err` or of m), counts
 * the queued commands that ran (serve_stats.h) and empties the queue.
 * 1 if the answer was an error. */
int  serve_multi_answer(server *s, serve_client *c, int group_status, const char *group_err);

#endif
