/*
 * serve_cmd_run.c: running one request of a client (serve_cmd_run): the
 * row it names in the command table (serve_cmd_table.c), the checks every
 * command passes, in this order, and what runs it; then its counts.
 *
 *   1. A client with writes still unapplied may run another write only if
 *      it will not answer at once (its arguments are valid, its limits
 *      allow, and it is not queuing after MULTI); anything else waits
 *      (SERVE_CMD_WAIT), so that its replies stay in order (server.h,
 *      invariant 1).
 *   2. With an extension (serve_ext.h), every command that runs or is
 *      queued after MULTI passes its gate first, EXEC as what its
 *      transaction does (run_exec_info): a member of a Raft group
 *      redirects to its leader, makes a read wait for a read index, or
 *      answers a membership change; a queued command it redirects makes
 *      the EXEC answer EXECABORT, as on a Redis Cluster node.
 *   3. AUTH's rule (the row's SERVE_CMD_NO_AUTH), an unknown command, the
 *      command's arity, a write to a key of the extension's own (E3),
 *      and MULTI's (queued, run now, or refused: the row's in_multi).
 *   4. What runs it: a subcommand with a number of words its row refuses
 *      gets its command's own answer (server.h, serve_cmd's `run`); else
 *      the row's `run`, or its `write`, gathered into the batch
 *      (serve_commit.c) and answered once applied, or its `read`, on the
 *      database now or, between WATCH and EXEC, in the WATCH's kv_txn
 *      (serve_watch.c).
 *
 * Every rule here reads the row (its arity, flags, key positions,
 * in_multi), never a command's name: the table is the one place a name is
 * looked up.
 */
#include <stdio.h>
#include <string.h>

#include "serve_queue.h"

/* Closes a client whose write could not be gathered (out of memory). */
static void run_nomem(serve_client *c)
{
    serve_log("client %s: out of memory gathering a write; closing", c->addr);
    c->closing = 1;
    c->eof = 1;
}

/* A write, gathered into the batch: its ops, the last one answering it. */
static void run_gather(server *s, serve_client *c, const serve_effect *e, const serve_req *r)
{
    if (e->refused(&c->out, r))
        return;
    size_t mark = serve_commit_mark(s), n = e->nops(r);
    for (size_t i = 0; i < n; i++) {
        serve_write_op op;
        e->op(r, i, &op);
        if (serve_commit_op(s, c, &op, i + 1 == n ? e->reply : 0, mark) != 0) {
            serve_commit_undo(s, mark);
            run_nomem(c);
            return;
        }
    }
}

/* The number of the first of the command's keys (its word index) that is
 * one of the extension's own (serve_ext.h, E3), or 0. */
static size_t run_hidden_key(const server *s, const serve_cmd *cmd, const serve_req *r)
{
    if (s->hidden_prefix == NULL)
        return 0;
    for (size_t i = serve_cmd_key(cmd, r, 0); i != 0; i = serve_cmd_key(cmd, r, i))
        if (serve_key_hidden(s->hidden_prefix, s->hidden_len, req_ptr(r, i), req_len(r, i)))
            return i;
    return 0;
}

/* 1 if the client may add this write to the batch now. */
static int run_has_room(const serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    uint64_t bytes;
    size_t ops = serve_effect_size(cmd->write, r, &bytes);
    return serve_commit_has_room(c, ops, bytes);
}

/* What EXEC is, for the gate: what its transaction does (serve_ext.h's
 * serve_gate), and its first key, the queue's or else the WATCH's. */
static void run_exec_info(const serve_client *c, serve_cmd_info *info, const char **key,
                          size_t *klen)
{
    const struct serve_multi *m = c->multi;
    info->flags &= ~(unsigned)(SERVE_CMD_WRITE | SERVE_CMD_READONLY);
    if (m->refused || c->watch_expired)
        return; /* answered here: EXECABORT, or *-1 */
    if (c->watch_txn != NULL) /* its values become the transaction's conditions */
        info->flags |= SERVE_CMD_WRITE;
    for (size_t q = 0; q < m->ncmds; q++) {
        const serve_cmd *cmd = m->cmds[q].cmd;
        serve_req r = multi_req(m, q);
        info->flags |= cmd->flags & (SERVE_CMD_WRITE | SERVE_CMD_READONLY);
        size_t k = serve_cmd_key(cmd, &r, 0);
        if (*key == NULL && k != 0) {
            *key = req_ptr(&r, k);
            *klen = req_len(&r, k);
        }
    }
    if (*key == NULL && c->watched != NULL && c->watched->n > 0) {
        *key = c->watched->bytes + c->watched->keys[0].off;
        *klen = c->watched->keys[0].len;
    }
}

/* Asks the extension's gate about the command (serve_ext.h). */
static int run_gate(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r,
                    int queued)
{
    serve_cmd_info info = serve_cmd_info_of(cmd);
    const char *key = NULL;
    size_t klen = 0;
    if (cmd->in_multi == MULTI_EXEC && serve_multi_queuing(c)) {
        run_exec_info(c, &info, &key, &klen);
    } else {
        size_t k = serve_cmd_key(cmd, r, 0);
        if (k != 0) {
            key = req_ptr(r, k);
            klen = req_len(r, k);
        }
    }
    serve_gate g = {c->id, c->readonly, c->input_pass, &info, r, queued, key, klen, &c->out};
    return s->ext->gate(s->ext_state, &g);
}

/* Writes up to `max` bytes of argument i, quoted, with bytes that are not
 * printable as '?'. */
static void run_quote(char *dst, size_t cap, const serve_req *r, size_t i, size_t max)
{
    size_t n = req_len(r, i) < max ? req_len(r, i) : max;
    size_t at = strlen(dst);
    for (size_t j = 0; j < n && at + 4 < cap; j++) {
        char ch = req_ptr(r, i)[j];
        dst[at++] = ch >= 32 && ch < 127 && ch != '\'' ? ch : '?';
    }
    dst[at] = '\0';
}

static void run_unknown(serve_client *c, const serve_req *r)
{
    char name[80] = "", args[200] = "";
    run_quote(name, sizeof name, r, 0, 64);
    for (size_t i = 1; i < r->argc && i <= 3; i++) {
        strcat(args, "'");
        run_quote(args, sizeof args - 3, r, i, 40);
        strcat(args, "' ");
    }
    out_error(&c->out, "ERR unknown command '%s', with args beginning with: %s", name, args);
}

/* What became of a request, for its counts (serve_stats.h). */
enum { CMD_RAN, CMD_REJECTED, CMD_NOT_COUNTED };

int serve_cmd_run(server *s, serve_client *c, const serve_req *r)
{
    if (r->argc == 0)
        return SERVE_CMD_DONE;
    const serve_cmd *cmd = serve_cmd_find(s, r); /* its subcommand's row, or its command's */
    int arity_ok = cmd != NULL && serve_arity_fits(serve_cmd_top(cmd)->arity, r->argc);
    int queuing = serve_multi_queuing(c);
    int queued = queuing && arity_ok && cmd->in_multi == MULTI_QUEUE;
    if (c->pending_ops > 0 && (queuing || !(arity_ok && cmd->write != NULL &&
                                            !cmd->write->refused(NULL, r) &&
                                            run_has_room(c, cmd, r))))
        return SERVE_CMD_WAIT;
    int authed = s->cfg.password == NULL || c->authed;
    /* An extension's gate (serve_ext.h), for every command that runs or
     * is queued: a member of a Raft group redirects to its leader, or
     * makes a read wait for a read index. */
    int gate = SERVE_GATE_GO;
    if (s->ext != NULL && arity_ok && authed && (!queuing || cmd->in_multi != MULTI_REFUSE)) {
        if ((gate = run_gate(s, c, cmd, r, queued)) == SERVE_GATE_WAIT) {
            c->ext_waiting = 1;
            return SERVE_CMD_WAIT;
        }
    }
    if (c->keys == NULL) /* not a KEYS going on */
        s->stats.commands++;
    long long started = serve_now_ns();
    size_t mark = serve_commit_mark(s);
    unsigned long long errors = c->out.errors;
    int outcome = CMD_RAN;
    if (!authed && !(cmd != NULL && (cmd->flags & SERVE_CMD_NO_AUTH))) {
        out_error(&c->out, "NOAUTH Authentication required.");
        outcome = CMD_REJECTED;
    } else if (gate == SERVE_GATE_ANSWERED) {
        /* redirected to the leader, or refused: a queued command's EXEC
         * answers EXECABORT; an EXEC drops its transaction (Redis
         * Cluster's processCommand) */
        if (cmd->in_multi == MULTI_EXEC)
            serve_multi_drop(s, c);
        else
            serve_multi_refuse(c);
        outcome = CMD_REJECTED;
    } else if (cmd == NULL) {
        run_unknown(c, r);
        serve_multi_refuse(c);
        outcome = CMD_NOT_COUNTED;
    } else if (!arity_ok && cmd->in_multi == MULTI_EXEC) {
        serve_exec_arity(s, c);
        outcome = CMD_REJECTED;
    } else if (!arity_ok) {
        out_error(&c->out, "ERR wrong number of arguments for '%s' command", cmd->name);
        serve_multi_refuse(c);
        outcome = CMD_REJECTED;
    } else if (cmd->write != NULL && run_hidden_key(s, cmd, r) > 0) {
        out_error(&c->out, "ERR key %zu of '%s' starts with this server's own prefix: no "
                  "client writes it", run_hidden_key(s, cmd, r), cmd->name);
        serve_multi_refuse(c);
        outcome = CMD_REJECTED;
    } else if (queued) {
        serve_multi_queue(c, cmd, r);
        outcome = CMD_NOT_COUNTED; /* counted when EXEC runs it */
    } else if (queuing && cmd->in_multi == MULTI_REFUSE) {
        out_error(&c->out, "ERR Command not allowed inside a transaction");
        serve_multi_refuse(c);
        outcome = CMD_REJECTED;
    } else if (!serve_arity_fits(cmd->arity, r->argc)) {
        /* a subcommand with too many or too few words: its command's own
         * answer to a subcommand it does not take (CONFIG GET alone) */
        serve_cmd_top(cmd)->run(s, c, cmd, r);
    } else if (cmd->run != NULL) {
        cmd->run(s, c, cmd, r);
    } else if (cmd->write != NULL) {
        run_gather(s, c, cmd->write, r);
    } else if (c->watch_txn != NULL && (cmd->flags & SERVE_CMD_READONLY)) {
        serve_watch_read(s, c, cmd, r); /* a read after WATCH: in its kv_txn */
    } else {
        serve_view v = {s->db, NULL, s->hidden_prefix, s->hidden_len, NULL};
        cmd->read(&v, &c->out, r);
    }
    if (outcome == CMD_NOT_COUNTED)
        return SERVE_CMD_DONE;
    serve_cmdstat *st = serve_stats_of(s, cmd);
    if (outcome == CMD_REJECTED) {
        if (st != NULL)
            st->rejected++;
        return SERVE_CMD_DONE;
    }
    long long spent = serve_now_ns() - started;
    if (c->keys != NULL) { /* a KEYS not done yet: its time so far */
        c->keys_ns += spent;
        return SERVE_CMD_DONE;
    }
    spent += c->keys_ns;
    c->keys_ns = 0;
    if (serve_commit_mark(s) > mark) /* answered once its batch is applied */
        serve_commit_stamp(s, mark, cmd, st, started, req_ptr(r, 0), req_len(r, 0));
    else
        serve_stats_ran_req(s, c, cmd, st, spent, c->out.errors > errors, r);
    return SERVE_CMD_DONE;
}
