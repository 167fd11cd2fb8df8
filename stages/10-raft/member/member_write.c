/*
 * member_write.c: writes of a member, and the gate before each command
 * (member.h).
 *
 * Writes.  The server hands the member a batch's writes (serve_ext.h):
 * plain puts and deletes in a row as one write, each EXEC as one with its
 * conditions.  The member proposes each as one command of the group's
 * log, in order, and settles it by its id once libraft says what became
 * of it: applied here (with what applying found, a DEL's count of the
 * keys that existed then), refused (a condition did not hold), never
 * appended (libraft refused the proposal at once: certainly not
 * applied), or its leader lost its place before it was committed (the
 * next leader may still commit it: unknown).  After a write that could
 * not be proposed, the rest of the batch fail too: they may not be
 * applied out of order.  Only the leader takes writes: a follower
 * redirects them (MOVED), and no member takes them while it is short of
 * room on disk (member_disk.c).
 *
 * One road for a result (member_wait.h).  Each write proposed waits in
 * the member's registry under the term it leads and a serial, which its
 * command carries with the member's id (command.h, its origin).  The
 * state machine applies the entry, reads the command once, and hands its
 * origin and outcome to member_applied, which finds the waiter in the
 * map: a command another member proposed, or one this member proposed
 * before a restart (another term: member_wait.h, S1), finds none and
 * settles nothing.  libraft's apply callback
 * says only what it alone knows: that the proposal was lost with the
 * leadership before it was committed (then the write's outcome is not
 * known here).  A command the engine keeps for later (a disk short of
 * room: replica_fsm.h, W1) is settled when the engine applies it.
 *
 * Reads.  A read at the leader waits for a read index, confirmed by a
 * round of the voters after the read's bytes arrived (member_read.c),
 * in the registry too, by the index it needs.  A follower redirects
 * reads to the leader, unless the client said READONLY: then it reads
 * its own engine, possibly stale.  A read queued after MULTI is neither:
 * it becomes read ops of its EXEC's command (command.h, kind 6),
 * answered by the state machine where the command applies, after the
 * transaction's own earlier writes, and handed back with the result
 * (member_applied); only the leader takes it, as it takes writes.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "member.h"

/* The result the state machine found for a command (replica_fsm.h,
 * `applied`): the write waiting under its origin, if this member
 * proposed it, is settled with it: its outcome, what its writes found
 * and its reads' answers, which become the client's replies (a GET
 * inside EXEC answers what the key held where the command applied). */
void member_applied(void *arg, command_origin origin, uint64_t index,
                    const replica_result *res)
{
    struct member *m = arg;
    (void)index;
    if (origin.member != m->self->id)
        return; /* another member's (or no one's): nothing waits for it here */
    member_waiter *x = member_wait_take(&m->waits, origin.term, origin.serial);
    if (x == NULL)
        return; /* proposed before a restart or in an earlier term, or settled already */
    if (res->outcome == REPLICA_APPLIED) {
        if (res->nreads > m->answers_cap) {
            serve_read_found *grown = realloc(m->answers, res->nreads * sizeof *grown);
            if (grown == NULL) {
                serve_host_settle(m->host, x->write, SERVE_WRITE_FAILED, NULL,
                                  "applied, but out of memory for its reads' answers");
                if (!x->held)
                    free(x);
                return;
            }
            m->answers = grown;
            m->answers_cap = res->nreads;
        }
        for (size_t i = 0; i < res->nreads; i++)
            m->answers[i] = (serve_read_found){res->reads[i].found,
                                               (const char *)res->reads[i].val,
                                               res->reads[i].vlen};
        serve_found found = {res->existed, res->nexisted, m->answers, res->nreads,
                             res->reads_too_large ? "applied, but its reads found more than "
                                                    "REPLICA_READS_MAX_BYTES of values, so "
                                                    "none is answered" : NULL};
        serve_host_settle(m->host, x->write, SERVE_WRITE_APPLIED, &found, NULL);
    } else if (res->outcome == REPLICA_REFUSED) {
        serve_host_settle(m->host, x->write, SERVE_WRITE_REFUSED, NULL, NULL);
    } else {
        serve_host_settle(m->host, x->write, SERVE_WRITE_FAILED, NULL,
                          "the group applied the write as nothing");
    }
    if (!x->held)
        free(x);
}

int member_answer_wanted(void *arg, command_origin origin)
{
    struct member *m = arg;
    return origin.member == m->self->id &&
           member_wait_find(&m->waits, origin.term, origin.serial) != NULL;
}

/* libraft's word on a proposal: status 0 once the entry has applied (the
 * state machine settled it then, or keeps it for later: replica_fsm.h,
 * W1), else the leadership was lost before it was committed. */
static void member_proposed(struct raft_apply *req, int status, void *result)
{
    member_waiter *x = req->data;
    struct member *m = x->m;
    (void)result;
    if (!x->taken && (status != 0 || !replica_fsm_behind(&m->fsm))) {
        char msg[200];
        if (status != 0)
            snprintf(msg, sizeof msg, "leadership lost before the write was committed (%s): "
                     "it may or may not be applied", raft_strerror(status));
        else
            snprintf(msg, sizeof msg, "committed, but its outcome here is not known");
        member_wait_take(&m->waits, x->term, x->serial);
        serve_host_settle(m->host, x->write, SERVE_WRITE_UNKNOWN, NULL, msg);
    }
    member_wait_release(&m->waits, x);
}

/* The command of write w. */
static int write_command(const serve_write *w, command *cmd)
{
    int rc = KV_OK;
    for (size_t i = 0; i < w->nconds && rc == KV_OK; i++) {
        const serve_write_cond *c = &w->conds[i];
        rc = c->absent ? command_if_absent(cmd, c->key, c->klen)
                       : command_if_value(cmd, c->key, c->klen, c->val, c->vlen);
    }
    for (size_t i = 0; i < w->nops && rc == KV_OK; i++) {
        const serve_write_op *op = &w->ops[i];
        int kind = op->cond == SERVE_OP_IF_ABSENT    ? COMMAND_PUT_IF_ABSENT
                   : op->cond == SERVE_OP_IF_PRESENT ? COMMAND_PUT_IF_PRESENT
                                                     : COMMAND_PUT;
        rc = op->read  ? command_read(cmd, op->key, op->klen)
             : op->del ? command_delete(cmd, op->key, op->klen)
                       : command_put_when(cmd, kind, op->key, op->klen, op->val, op->vlen);
    }
    return rc;
}

/* Proposes write w: 0, or -1 once it is settled as never proposed. */
static int propose_one(struct member *m, const serve_write *w)
{
    command *cmd = NULL;
    int rc = command_new(&cmd);
    if (rc == KV_OK)
        rc = write_command(w, cmd);
    if (rc != KV_OK) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s: %s; nothing of it was applied", kv_strerror(rc),
                 kv_errmsg());
        command_free(cmd);
        serve_host_settle(m->host, w->id, SERVE_WRITE_FAILED, NULL, msg);
        return -1;
    }
    /* The term this member leads now is the entry's (raft_apply appends
     * it in this term, or refuses it): with the serial, an origin no
     * earlier life of this member carried (member_wait.h, S1). */
    member_waiter *x = member_wait_add(&m->waits, libraft_term(&m->raft), w->id);
    if (x != NULL) {
        x->m = m;
        command_set_origin(cmd, (command_origin){m->self->id, x->serial, x->term});
    }
    size_t len;
    const uint8_t *bytes = command_bytes(cmd, &len);
    struct raft_buffer buf = {raft_malloc(len), len};
    int rv = buf.base != NULL && x != NULL ? 0 : RAFT_NOMEM;
    if (rv == 0) {
        memcpy(buf.base, bytes, len);
        rv = raft_apply(&m->raft, &x->req, &buf, 1, member_proposed);
    }
    command_free(cmd);
    if (rv != 0) { /* never appended: nothing of it can be applied */
        raft_free(buf.base);
        if (x != NULL) {
            member_wait_take(&m->waits, x->term, x->serial);
            member_wait_release(&m->waits, x);
        }
        char msg[200];
        snprintf(msg, sizeof msg, "not applied: member %llu could not propose it (%s)",
                 (unsigned long long)m->self->id, raft_strerror(rv));
        serve_host_settle(m->host, w->id, SERVE_WRITE_FAILED, NULL, msg);
        return -1;
    }
    if (m->planted_ack_early) /* the planted mistake (member.h): answered now */
        serve_host_settle(m->host, w->id, SERVE_WRITE_APPLIED, NULL, NULL);
    return 0;
}

void member_propose(void *x, const serve_write *w, size_t n)
{
    struct member *m = x;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (failed)
            serve_host_settle(m->host, w[i].id, SERVE_WRITE_FAILED, NULL, "not applied: a "
                              "write before it in the batch could not be proposed");
        else
            failed = propose_one(m, &w[i]) != 0;
    }
}

static void abandon_one(void *arg, member_waiter *x)
{
    struct member *m = arg;
    serve_host_settle(m->host, x->write, SERVE_WRITE_UNKNOWN, NULL,
                      "the member stopped before the write was committed: it may or may not "
                      "be applied");
}

void member_write_abandon(struct member *m)
{
    member_waits_abandon(&m->waits, abandon_one, m);
}

int member_gate(void *x, const serve_gate *g)
{
    struct member *m = x;
    if (member_change_is(g)) /* CLUSTER ADDMEMBER, REMOVEMEMBER, FAILOVER TO */
        return member_change_gate(m, g);
    /* WATCH reads: its values are the transaction's conditions
     * (serve_ext.h), so it waits for a read index as a read does. */
    unsigned flags = g->cmd->flags;
    int write = (flags & SERVE_CMD_WRITE) != 0,
        read = (flags & (SERVE_CMD_READONLY | SERVE_CMD_WATCHES)) != 0;
    if (!write && !read)
        return SERVE_GATE_GO;
    /* A follower redirects writes, reads unless the client said READONLY,
     * and whatever is queued after MULTI: the EXEC becomes one command of
     * the log, which only the leader proposes (READONLY or not: its reads
     * are answered where it applies). */
    int leader = raft_state(&m->raft) == RAFT_LEADER;
    if (!leader && (write || g->queued || !(g->readonly || m->planted_follower_reads))) {
        member_redirect(m, g->out, g->key, g->klen);
        return SERVE_GATE_ANSWERED;
    }
    if (write && member_disk_refuses(m, g->out))
        return SERVE_GATE_ANSWERED;
    if (g->queued && read && g->cmd->first_key <= 0) {
        /* A read inside MULTI becomes read ops of the command, one per
         * key, answered where it applies, in log order (serve_handoff.c):
         * one that looks past the keys it names (RANGE: its words are
         * bounds) cannot.  Refused now, so the EXEC answers EXECABORT, as
         * for any command refused while queuing. */
        out_error(g->out, "ERR '%s' inside MULTI: a transaction here is applied by the group "
                  "as one command, its reads one key each, and '%s' reads past the keys it "
                  "names; run it before MULTI or after EXEC", g->cmd->name, g->cmd->name);
        return SERVE_GATE_ANSWERED;
    }
    if (g->queued || !read || !leader || m->planted_leader_reads) /* the planted mistake */
        return SERVE_GATE_GO; /* a write or a read, to the batch or the queue; or READONLY's
                                 follower read */
    return member_read_gate(m, g);
}
