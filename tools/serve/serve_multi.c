/*
 * serve_multi.c: MULTI, EXEC, DISCARD and RESET: a client's transaction,
 * as Redis clients use it (docs/server.md, "Transactions").
 *
 *   MULTI          starts queuing: later commands answer +QUEUED and are
 *                  kept (serve_queue.h), not run; a command refused while
 *                  queuing (unknown, wrong arity, not allowed in a
 *                  transaction, past the queue's limits) is answered with
 *                  its error and makes EXEC answer -EXECABORT.
 *   EXEC           answers -EXECABORT, or runs the queue as one kv_txn
 *                  and answers an array of its replies, or *-1 if it ran
 *                  in the WATCH's kv_txn and its commit (or, for a queue
 *                  that writes nothing, kv_txn_check) found a conflict,
 *                  or if --watch-max-age ended the WATCH (serve_watch.c).
 *   DISCARD        drops the queue and the watches.
 *   RESET          leaves MULTI, drops the watches, and (with
 *                  --requirepass) the authentication.
 * EXEC, DISCARD, MULTI (an error: no nesting), WATCH (an error inside
 * MULTI), QUIT and RESET run at once while queuing; the command table
 * (serve_cmd_table.c) says which commands are queued and which refused.
 *
 * How EXEC runs the queue.  The EXEC joins the batch as one op
 * (serve_commit_exec), which applies it after the writes gathered before
 * it and before those gathered after it (server.h, invariant 5), and
 * answers it once committed (serve_multi_answer, serve_queue.c).  Without WATCH it runs
 * in a kv_txn begun then, with the EXECs next to it (serve_txn.c); after
 * WATCH it runs in the kv_txn the WATCH began, which it takes over from
 * the client.  Until EXEC nothing is held for a client but memory and
 * that WATCH's kv_txn: closing a connection, DISCARD, RESET or a shutdown
 * frees the queue and aborts the kv_txn.
 */
#include <stdlib.h>
#include <string.h>

#include "serve_queue.h"

/* Leaves MULTI, if in it, and drops the watches. */
static void multi_end(server *s, serve_client *c)
{
    if (c->multi != NULL) {
        serve_multi_clear(c->multi);
        c->multi->active = 0;
        c->multi->refused = 0;
    }
    serve_watch_drop(s, c);
}

void serve_multi_drop(server *s, serve_client *c)
{
    multi_end(s, c);
}

void serve_multi_free(server *s, serve_client *c)
{
    if (c->multi != NULL) {
        serve_multi_clear(c->multi);
        free(c->multi);
        c->multi = NULL;
    }
    serve_watch_drop(s, c);
}

void serve_multi_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    (void)s, (void)r;
    if (serve_multi_queuing(c)) {
        out_error(&c->out, "ERR MULTI calls can not be nested");
        return;
    }
    if (c->multi == NULL && (c->multi = calloc(1, sizeof *c->multi)) == NULL) {
        out_error(&c->out, "ERR %s: starting a transaction", kv_strerror(KV_ERR_NOMEM));
        return;
    }
    c->multi->active = 1;
    out_simple(&c->out, "OK");
}

void serve_multi_refuse(serve_client *c)
{
    if (!serve_multi_queuing(c))
        return;
    serve_multi_clear(c->multi);
    c->multi->refused = 1;
}

/* Grows an array to hold `need` elements; 0, or -1 when out of memory. */
static int multi_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap == 0 ? 16 : *cap;
    while (ncap < need)
        ncap *= 2;
    void *grown = realloc(*p, ncap * size);
    if (grown == NULL)
        return -1;
    *p = grown;
    *cap = ncap;
    return 0;
}

void serve_multi_queue(serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    struct serve_multi *m = c->multi;
    if (m->refused) { /* EXEC will refuse it anyway: nothing is kept */
        out_simple(&c->out, "QUEUED");
        return;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < r->argc; i++)
        bytes += req_len(r, i);
    if (m->nargs + r->argc > SERVE_MULTI_ARGS || m->blen >= SERVE_MULTI_BYTES) {
        out_error(&c->out, "ERR transaction too large: at most %u words and %u bytes may be "
                  "queued; EXEC will discard the transaction", SERVE_MULTI_ARGS,
                  SERVE_MULTI_BYTES);
        serve_multi_refuse(c);
        return;
    }
    if (multi_grow((void **)&m->cmds, &m->cmds_cap, m->ncmds + 1, sizeof *m->cmds) != 0 ||
        multi_grow((void **)&m->args, &m->args_cap, m->nargs + r->argc, sizeof *m->args) != 0 ||
        multi_grow((void **)&m->bytes, &m->bcap, m->blen + bytes + 1, 1) != 0) {
        out_error(&c->out, "ERR %s: queuing a command; EXEC will discard the transaction",
                  kv_strerror(KV_ERR_NOMEM));
        serve_multi_refuse(c);
        return;
    }
    m->cmds[m->ncmds++] = (multi_cmd){cmd, m->nargs, r->argc, 0, 0};
    for (size_t i = 0; i < r->argc; i++) {
        m->args[m->nargs++] = (resp_span){m->blen, req_len(r, i)};
        memcpy(m->bytes + m->blen, req_ptr(r, i), req_len(r, i));
        m->blen += req_len(r, i);
    }
    out_simple(&c->out, "QUEUED");
}

void serve_exec_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    (void)r;
    struct serve_multi *m = c->multi;
    if (!serve_multi_queuing(c)) {
        out_error(&c->out, "ERR EXEC without MULTI");
        return;
    }
    if (m->refused) {
        out_error(&c->out, "EXECABORT Transaction discarded because of previous errors.");
        s->stats.exec_aborts++;
        multi_end(s, c);
        return;
    }
    if (c->watch_expired) { /* --watch-max-age ended the WATCH: as a key that changed */
        out_null_array(&c->out);
        s->stats.exec_watch_nulls++;
        multi_end(s, c);
        return;
    }
    if (c->watch_txn != NULL) { /* the WATCH's: the EXEC reads its keys and commits it */
        m->txn = c->watch_txn;
        m->watched = c->watched;
        c->watch_txn = NULL;
        c->watched = NULL;
        s->nwatching--;
    }
    serve_watch_drop(s, c);
    m->active = 0;
    if (m->ncmds == 0 && m->txn == NULL) { /* nothing to run, nothing watched */
        out_array(&c->out, 0);
        serve_multi_clear(m);
        return;
    }
    m->status = KV_OK;
    if (serve_commit_exec(s, c, m) != 0) {
        serve_log("client %s: out of memory gathering an EXEC; closing", c->addr);
        serve_multi_clear(m);
        c->closing = 1;
        c->eof = 1;
    }
}

void serve_exec_arity(server *s, serve_client *c)
{
    out_error(&c->out, "EXECABORT Transaction discarded because of: wrong number of "
                       "arguments for 'exec' command");
    if (serve_multi_queuing(c)) {
        s->stats.exec_aborts++;
        multi_end(s, c);
    }
}

void serve_discard_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    (void)r;
    if (!serve_multi_queuing(c)) {
        out_error(&c->out, "ERR DISCARD without MULTI");
        return;
    }
    multi_end(s, c);
    out_simple(&c->out, "OK");
}

void serve_reset_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    (void)r;
    multi_end(s, c);
    c->authed = s->cfg.password == NULL;
    out_simple(&c->out, "RESET");
}
