/*
 * serve_queue.c: what becomes of a client's transaction (serve_queue.h)
 * once its EXEC has been applied: the answer, the queued commands
 * counted, the queue emptied.  The batch (serve_commit.c) calls it when
 * it answers the ops it applied; the MULTI commands (serve_multi.c) empty
 * a queue the same way when they drop one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "serve_queue.h"

void serve_keylist_free(serve_keylist *l)
{
    if (l == NULL)
        return;
    free(l->bytes);
    free(l->keys);
    free(l);
}

void serve_multi_clear(struct serve_multi *m)
{
    kv_txn_abort(m->txn); /* NULL is a no-op */
    m->txn = NULL;
    serve_keylist_free(m->watched);
    m->watched = NULL;
    free(m->cmds);
    free(m->args);
    free(m->bytes);
    out_free(&m->reply);
    serve_errtally_free(&m->errs);
    m->cmds = NULL;
    m->args = NULL;
    m->bytes = NULL;
    m->ncmds = m->cmds_cap = m->nargs = m->args_cap = m->blen = m->bcap = 0;
    m->status = KV_OK;
    m->err[0] = '\0';
}

void serve_multi_fail(struct serve_multi *m, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    m->status = status;
    if (vsnprintf(m->err, sizeof m->err, fmt, ap) < 0)
        m->err[0] = '\0';
    va_end(ap);
}

void serve_multi_settle(struct serve_multi *m, int status, const serve_found *found,
                        const char *err, const char *hidden, size_t hidden_len)
{
    if (status == KV_ERR_CONFLICT) { /* a watched key changed: *-1 */
        m->status = KV_ERR_CONFLICT;
        return;
    }
    if (status != KV_OK) {
        serve_multi_fail(m, status, "%s", err != NULL ? err : "not applied");
        return;
    }
    if (found->reads_lost != NULL) {
        serve_multi_fail(m, KV_ERR_INVALID, "the transaction was %s", found->reads_lost);
        return;
    }
    serve_view none = {NULL, NULL, NULL, 0, NULL}; /* PING, ECHO and UNWATCH read nothing */
    /* The reads hand out the answers in order, as they asked for their
     * keys when recorded (serve_handoff.c): one list for the queue. */
    serve_readlist answers = {1, NULL, NULL, 0, found->reads, found->nreads, 0};
    serve_view listed = {NULL, NULL, hidden, hidden_len, &answers};
    const uint8_t *existed = found->existed;
    size_t w = 0, n = found->nexisted;
    m->reply.tally = &m->errs;
    for (size_t i = 0; i < m->ncmds; i++) {
        const serve_cmd *cmd = m->cmds[i].cmd;
        serve_req r = multi_req(m, i);
        unsigned long long errors = m->reply.errors;
        if (cmd->write == NULL && (cmd->flags & SERVE_CMD_READONLY)) {
            /* Its answers start where the last read's ended, and it owns
             * as many as it asks for when recording: one that stops early
             * (MGET past SERVE_MAX_REPLY) leaves the rest to no one. */
            serve_readlist count = {0, NULL, NULL, 0, NULL, 0, 0};
            serve_view counting = {NULL, NULL, hidden, hidden_len, &count};
            serve_out dropped = {0};
            cmd->read(&counting, &dropped, &r);
            out_free(&dropped);
            size_t start = answers.n;
            cmd->read(&listed, &m->reply, &r);
            if (answers.n < start + count.n)
                answers.n = start + count.n;
        } else if (cmd->write == NULL) {
            cmd->read(&none, &m->reply, &r);
        } else if (!cmd->write->refused(&m->reply, &r)) { /* else its error is its reply */
            size_t nops = cmd->write->nops(&r);
            serve_effect_reply(cmd->write, &m->reply, &r, existed != NULL && w < n ? existed + w
                                                                                  : NULL,
                               w < n ? n - w : 0);
            w += nops;
        }
        m->cmds[i].failed = m->reply.errors > errors;
        if (m->reply.len > SERVE_MAX_REPLY) {
            serve_multi_fail(m, KV_ERR_INVALID, "EXEC reply larger than %u bytes; the "
                             "transaction was applied", SERVE_MAX_REPLY);
            out_free(&m->reply);
            return;
        }
    }
    if (answers.n != answers.nfound)
        serve_multi_fail(m, KV_ERR_CORRUPT, "the transaction was applied, but its reads asked "
                         "for %zu answers where %zu were found; their replies are lost",
                         answers.n, answers.nfound);
    else if (answers.failed || m->reply.failed)
        serve_multi_fail(m, KV_ERR_NOMEM, "out of memory for the replies of the transaction; "
                         "it was applied");
}

/* Counts the queued commands of an EXEC that ran (serve_stats.h). */
static void multi_count(server *s, serve_client *c, struct serve_multi *m)
{
    serve_errtally_merge(&s->obs.errs, &m->errs);
    for (size_t i = 0; i < m->ncmds; i++) {
        serve_req r = multi_req(m, i);
        const serve_cmd *cmd = m->cmds[i].cmd;
        serve_stats_ran_req(s, c, cmd, serve_stats_of(s, cmd), m->cmds[i].ns,
                            m->cmds[i].failed, &r);
    }
}

int serve_multi_answer(server *s, serve_client *c, int group_status, const char *group_err)
{
    struct serve_multi *m = c->multi;
    int failed = 0;
    if (group_status == KV_OK && m->status == KV_OK)
        multi_count(s, c, m);
    if (!c->dead) {
        if (group_status != KV_OK) {
            out_error(&c->out, "ERR %s", group_err);
            failed = 1;
        } else if (m->status == KV_ERR_CONFLICT) {
            out_null_array(&c->out); /* a watched key changed: Redis's answer */
            s->stats.exec_watch_nulls++;
        } else if (m->status != KV_OK) {
            out_error(&c->out, "ERR %s", m->err);
            failed = 1;
        } else {
            out_array(&c->out, m->ncmds);
            out_bytes(&c->out, m->reply.buf, m->reply.len);
            s->stats.execs++;
        }
        serve_client_dirty(s, c);
    }
    serve_multi_clear(m);
    return failed;
}
