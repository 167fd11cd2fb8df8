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
 * What applying found comes by index, not through libraft: the fsm tells
 * member_applied each command's index and outcome (replica_fsm.h), and
 * the member keeps it for the proposal at that index (raft_apply sets
 * req.index when it appends), which libraft's callback then settles.  A
 * command the engine keeps for later (a disk short of room: replica_fsm.h,
 * W1) is settled when the engine applies it, after libraft's callback.
 *
 * Reads.  A read at the leader waits for a read index, confirmed by a
 * round of the voters after the read's bytes arrived (member_read.c).  A
 * follower redirects reads to the leader, unless the client said
 * READONLY: then it reads its own engine, possibly stale.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "member.h"

/* One write proposed: libraft holds req until member_proposed. */
typedef struct member_proposal {
    struct raft_apply req;
    struct member *m;
    unsigned long long id;        /* the server's write id */
    int told, outcome;            /* member_applied's word, for req.index */
    int committed;                /* libraft called back, the engine still to apply it */
    uint8_t *existed;
    size_t nexisted;
    struct member_proposal *prev, *next;
} member_proposal;

static void proposal_unlink(struct member *m, member_proposal *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        m->proposals = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    free(p->existed);
    free(p);
}

static void proposal_settle(struct member *m, member_proposal *p);

void member_applied(void *arg, uint64_t index, int outcome, const uint8_t *existed, size_t n)
{
    struct member *m = arg;
    for (member_proposal *p = m->proposals; p != NULL; p = p->next) {
        if (p->req.index != index)
            continue;
        p->told = 1;
        p->outcome = outcome;
        if (n > 0 && (p->existed = malloc(n)) != NULL) {
            memcpy(p->existed, existed, n);
            p->nexisted = n;
        }
        if (p->committed) /* libraft called back long ago: the engine applied it only now */
            proposal_settle(m, p);
        return;
    }
}

/* The proposal's outcome, as member_applied told it, to the server. */
static void proposal_settle(struct member *m, member_proposal *p)
{
    if (p->outcome == REPLICA_APPLIED)
        serve_host_settle(m->host, p->id, SERVE_WRITE_APPLIED, p->existed, p->nexisted, NULL);
    else if (p->outcome == REPLICA_REFUSED)
        serve_host_settle(m->host, p->id, SERVE_WRITE_REFUSED, NULL, 0, NULL);
    else
        serve_host_settle(m->host, p->id, SERVE_WRITE_FAILED, NULL, 0,
                          "the group applied the write as nothing");
    proposal_unlink(m, p);
}

static void member_proposed(struct raft_apply *req, int status, void *result)
{
    member_proposal *p = req->data;
    struct member *m = p->m;
    (void)result;
    char msg[200];
    if (status == 0 && !p->told && replica_fsm_behind(&m->fsm)) {
        p->committed = 1; /* kept by the engine for later (replica_fsm.h, W1) */
        return;
    }
    if (status != 0) {
        snprintf(msg, sizeof msg, "leadership lost before the write was committed (%s): it may "
                 "or may not be applied", raft_strerror(status));
        serve_host_settle(m->host, p->id, SERVE_WRITE_UNKNOWN, NULL, 0, msg);
    } else if (!p->told) {
        serve_host_settle(m->host, p->id, SERVE_WRITE_UNKNOWN, NULL, 0,
                          "committed, but its outcome here is not known");
    } else {
        proposal_settle(m, p);
        return;
    }
    proposal_unlink(m, p);
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
        rc = op->del ? command_delete(cmd, op->key, op->klen)
                     : command_put(cmd, op->key, op->klen, op->val, op->vlen);
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
        serve_host_settle(m->host, w->id, SERVE_WRITE_FAILED, NULL, 0, msg);
        return -1;
    }
    size_t len;
    const uint8_t *bytes = command_bytes(cmd, &len);
    struct raft_buffer buf = {raft_malloc(len), len};
    member_proposal *p = calloc(1, sizeof *p);
    int rv = buf.base != NULL && p != NULL ? 0 : RAFT_NOMEM;
    if (rv == 0) {
        memcpy(buf.base, bytes, len);
        p->m = m;
        p->id = w->id;
        p->req.data = p;
        rv = raft_apply(&m->raft, &p->req, &buf, 1, member_proposed);
    }
    command_free(cmd);
    if (rv != 0) { /* never appended: nothing of it can be applied */
        raft_free(buf.base);
        free(p);
        char msg[200];
        snprintf(msg, sizeof msg, "not applied: member %llu could not propose it (%s)",
                 (unsigned long long)m->self->id, raft_strerror(rv));
        serve_host_settle(m->host, w->id, SERVE_WRITE_FAILED, NULL, 0, msg);
        return -1;
    }
    p->next = m->proposals;
    if (m->proposals != NULL)
        m->proposals->prev = p;
    m->proposals = p;
    if (m->planted_ack_early) /* the planted mistake (member.h): answered now */
        serve_host_settle(m->host, w->id, SERVE_WRITE_APPLIED, NULL, 0, NULL);
    return 0;
}

void member_propose(void *x, const serve_write *w, size_t n)
{
    struct member *m = x;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (failed)
            serve_host_settle(m->host, w[i].id, SERVE_WRITE_FAILED, NULL, 0, "not applied: a "
                              "write before it in the batch could not be proposed");
        else
            failed = propose_one(m, &w[i]) != 0;
    }
}

void member_write_abandon(struct member *m)
{
    while (m->proposals != NULL) {
        serve_host_settle(m->host, m->proposals->id, SERVE_WRITE_UNKNOWN, NULL, 0,
                          "the member stopped before the write was committed: it may or may "
                          "not be applied");
        proposal_unlink(m, m->proposals);
    }
}

/* The word of the command's key, 0 if it names none (its table entry). */
static size_t gate_key(const serve_gate *g)
{
    int k = g->cmd->first_key;
    return k > 0 && (size_t)k < g->req->argc ? (size_t)k : 0;
}

int member_gate(void *x, const serve_gate *g)
{
    struct member *m = x;
    if (member_change_is(g->req)) /* CLUSTER ADDMEMBER, REMOVEMEMBER, FAILOVER TO */
        return member_change_gate(m, g);
    /* WATCH reads: its values are the transaction's conditions
     * (serve_ext.h), so it waits for a read index as a read does. */
    unsigned flags = g->cmd->flags;
    int write = (flags & SERVE_CMD_WRITE) != 0,
        read = (flags & (SERVE_CMD_READONLY | SERVE_CMD_WATCHES)) != 0;
    if (!write && !read)
        return SERVE_GATE_GO;
    int leader = raft_state(&m->raft) == RAFT_LEADER;
    if (!leader && !(read && (g->readonly || m->planted_follower_reads))) {
        member_redirect(m, g->out, g->req, gate_key(g));
        return SERVE_GATE_ANSWERED;
    }
    if (write && member_disk_refuses(m, g->out))
        return SERVE_GATE_ANSWERED;
    if (!read || !leader || m->planted_leader_reads) /* the planted mistake (member.h) */
        return SERVE_GATE_GO; /* a write, to the batch; or READONLY's follower read */
    return member_read_gate(m, g);
}
