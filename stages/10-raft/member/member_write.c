/*
 * member_write.c: writes and reads of a member (member.h).
 *
 * Writes.  The server gathers a pass's writes into a batch (serve_commit.c);
 * a member proposes the batch's plain writes as one command of the
 * group's log, and each EXEC in it as one of its own (member_exec.c), and
 * answers each from the callback libraft calls right after the command is
 * applied here, with what applying it found (a DEL's count of the keys
 * that existed then).  One batch is in flight at a time, as without Raft.
 * Only the leader takes writes: a follower redirects them (MOVED).  A
 * proposal that libraft refuses at once was never appended: its writes
 * fail.  One whose leader lost its place before the command was committed
 * may still be committed by the next leader: the client is told it may or
 * may not have been applied.
 *
 * Reads.  A leader's engine may be behind the group: a leader cut off
 * from the others does not know yet that another was elected and took
 * writes.  So a read on the leader waits for a read index: a barrier
 * (raft_barrier, an empty entry) started after the read's bytes arrived
 * and committed by a majority, which a deposed leader cannot get.  Reads
 * whose bytes came before the same barrier share it: a client's
 * read_epoch names the barrier its reads wait for, and new bytes clear it
 * (serve_loop.c).  A follower redirects reads to the leader, unless the
 * client said READONLY: then it reads its own engine, possibly stale.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "member.h"
#include "serve_batch.h"
#include "serve_queue.h"

#define MEMBER_OF(field, ptr) \
    ((struct serve_member *)((char *)(ptr) - offsetof(struct serve_member, field)))

/* One command of a batch, proposed: libraft holds req until it calls
 * member_applied.  A plain command holds the puts and deletes of chunks
 * [k0, k1); an EXEC's, the transaction of op `exec` (member_exec.c). */
typedef struct member_proposal {
    struct raft_apply req;
    struct serve_member *m;
    commit_batch *b;         /* NULL once answered (the planted mistake's) */
    size_t k0, k1;
    commit_op *exec;
} member_proposal;

/* The batch is answered once its last command is (m->proposals of them
 * are outstanding). */
static void member_proposal_settled(struct serve_member *m)
{
    if (--m->proposals == 0)
        serve_commit_done(m->s);
}

static void member_applied(struct raft_apply *req, int status, void *result)
{
    member_proposal *pr = req->data;
    struct serve_member *m = pr->m;
    commit_batch *b = pr->b;
    size_t k0 = pr->k0, k1 = pr->k1;
    commit_op *exec = pr->exec;
    free(pr);
    if (b == NULL) /* the planted mistake answered it at the proposal */
        return;
    int outcome = status == 0 ? replica_fsm_outcome(result) : -1;
    char msg[160];
    if (status != 0)
        snprintf(msg, sizeof msg, "leadership lost before the write was committed (%s): it "
                 "may or may not be applied", raft_strerror(status));
    if (exec != NULL) {
        if (status == 0) {
            member_exec_answer(exec->multi, outcome, m->fsm.existed, m->fsm.nexisted);
        } else {
            exec->multi->status = KV_ERR_IO;
            snprintf(exec->multi->err, sizeof exec->multi->err, "%s", msg);
        }
    } else if (status == 0 && outcome == REPLICA_APPLIED) {
        size_t w = 0;
        for (size_t k = k0; k < k1; k++)
            for (size_t j = 0; j < b->chunks[k].n; j++, w++) {
                b->chunks[k].status = KV_OK;
                b->ops[b->order[b->chunks[k].start + j]].existed =
                    w < m->fsm.nexisted && m->fsm.existed[w];
            }
    } else {
        for (size_t k = k0; k < k1; k++) {
            b->chunks[k].status = status != 0 ? KV_ERR_IO : KV_ERR_INVALID;
            snprintf(b->chunks[k].err, sizeof b->chunks[k].err, "%s",
                     status != 0 ? msg : "the group applied the write as nothing");
        }
    }
    member_proposal_settled(m);
}

/* Fails what pr would have answered: never proposed. */
static void member_unproposed(commit_batch *b, size_t k0, size_t k1, commit_op *exec, int rc,
                              const char *msg)
{
    if (exec != NULL) {
        if (exec->multi->status == KV_OK) {
            exec->multi->status = rc;
            snprintf(exec->multi->err, sizeof exec->multi->err, "%s", msg);
        }
        return;
    }
    for (size_t k = k0; k < k1; k++) {
        b->chunks[k].status = rc;
        snprintf(b->chunks[k].err, sizeof b->chunks[k].err, "%s", msg);
    }
}

/* Builds and proposes the command of chunks [k0, k1), or of EXEC op
 * `exec`.  0, or -1 if it was not proposed (what it held has failed). */
static int member_propose_one(struct serve_member *m, commit_batch *b, size_t k0, size_t k1,
                              commit_op *exec)
{
    command *cmd = NULL;
    int rc = command_new(&cmd);
    if (rc == KV_OK && exec != NULL) {
        rc = member_exec_command(exec->multi, cmd);
        if (rc != KV_OK) { /* the EXEC's own failure, answered as its error */
            command_free(cmd);
            return 0;
        }
    }
    for (size_t k = k0; k < k1 && rc == KV_OK; k++)
        for (size_t j = 0; j < b->chunks[k].n && rc == KV_OK; j++) {
            const commit_op *op = &b->ops[b->order[b->chunks[k].start + j]];
            const unsigned char *key = b->bytes + op->koff;
            rc = op->kind == OP_DEL ? command_delete(cmd, key, op->klen)
                                    : command_put(cmd, key, op->klen, b->bytes + op->voff,
                                                  op->vlen);
        }
    if (rc != KV_OK) {
        member_unproposed(b, k0, k1, exec, rc, kv_errmsg());
        command_free(cmd);
        return -1;
    }
    size_t len;
    const uint8_t *bytes = command_bytes(cmd, &len);
    struct raft_buffer buf = {raft_malloc(len), len};
    member_proposal *pr = malloc(sizeof *pr);
    int rv = buf.base != NULL && pr != NULL ? 0 : RAFT_NOMEM;
    if (rv == 0) {
        memcpy(buf.base, bytes, len);
        *pr = (member_proposal){.m = m, .b = b, .k0 = k0, .k1 = k1, .exec = exec};
        pr->req.data = pr;
        m->proposals++;
        rv = raft_apply(&m->raft, &pr->req, &buf, 1, member_applied);
        if (rv != 0)
            m->proposals--;
    }
    command_free(cmd);
    if (rv == 0 && m->planted_ack_early) { /* the planted mistake (member.h) */
        for (size_t k = k0; k < k1; k++)
            b->chunks[k].status = KV_OK;
        if (exec != NULL) /* as if its conditions held */
            member_exec_answer(exec->multi, REPLICA_APPLIED, NULL, 0);
        pr->b = NULL;
        m->proposals--;
        return 0;
    }
    if (rv != 0) { /* never appended: nothing of it can be applied */
        raft_free(buf.base);
        free(pr);
        char msg[160];
        snprintf(msg, sizeof msg, "not applied: this member cannot propose now (%s)",
                 raft_strerror(rv));
        member_unproposed(b, k0, k1, exec, KV_ERR_IO, msg);
        return -1;
    }
    return 0;
}

void serve_member_propose(server *s, commit_batch *b)
{
    struct serve_member *m = s->member;
    /* Plain chunks in a row are one command; each EXEC is one of its own
     * (its conditions decide for it alone).  After a command that could
     * not be proposed, the rest fail too: they may not be applied out of
     * order. */
    m->proposals = 1; /* the loop's own hold: the batch is not answered inside it */
    int failed = 0;
    size_t k = 0;
    while (k < b->nchunks) {
        size_t k1 = k;
        while (k1 < b->nchunks && !b->chunks[k1].exec)
            k1++;
        if (k1 > k) {
            if (failed)
                member_unproposed(b, k, k1, NULL, KV_ERR_IO, "not applied: a command "
                                  "before it in the batch could not be proposed");
            else
                failed = member_propose_one(m, b, k, k1, NULL) != 0;
            k = k1;
            continue;
        }
        for (size_t j = 0; j < b->chunks[k].n; j++) {
            commit_op *op = &b->ops[b->order[b->chunks[k].start + j]];
            if (failed)
                member_unproposed(b, 0, 0, op, KV_ERR_IO, "not applied: a command before it "
                                  "in the batch could not be proposed");
            else
                failed = member_propose_one(m, b, 0, 0, op) != 0;
        }
        b->chunks[k].status = KV_OK; /* each EXEC answers for itself (its multi's status) */
        k++;
    }
    member_proposal_settled(m);
}

static void member_barrier_done(struct raft_barrier *req, int status)
{
    struct serve_member *m = MEMBER_OF(barrier_req, req);
    m->barrier_busy = 0;
    if (status == 0)
        m->epoch_done = m->epoch_started;
    /* Every waiting read runs again: now, or redirected if this member is
     * no longer the leader. */
    for (serve_client *c = m->s->clients; c != NULL; c = c->next)
        if (c->member_wait) {
            c->member_wait = 0;
            c->waiting = 0;
            serve_client_ready(m->s, c);
        }
}

void member_barrier_kick(struct serve_member *m)
{
    if (!m->barrier_wanted || m->barrier_busy)
        return;
    m->barrier_wanted = 0;
    m->barrier_busy = 1;
    m->epoch_started++;
    if (raft_barrier(&m->raft, &m->barrier_req, member_barrier_done) != 0)
        member_barrier_done(&m->barrier_req, RAFT_NOTLEADER);
}

/* The argument a command's key is, 0 if it has none. */
static size_t cmd_key(const serve_cmd *cmd, const serve_req *r)
{
    return r->argc > 1 && strcmp(cmd->name, "scan") != 0 && strcmp(cmd->name, "keys") != 0 &&
                   strcmp(cmd->name, "dbsize") != 0
               ? 1
               : 0;
}

int serve_member_gate(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    struct serve_member *m = s->member;
    if (member_change_is(r)) /* CLUSTER ADDMEMBER, REMOVEMEMBER, FAILOVER TO */
        return member_change_gate(m, c, r);
    /* WATCH reads: its values are the transaction's conditions
     * (member_exec.c), so it waits for a read index as a read does. */
    int write = cmd->write,
        read = strstr(cmd->flags, "readonly") != NULL || strcmp(cmd->name, "watch") == 0;
    if (!write && !read)
        return SERVE_MEMBER_GO;
    int leader = raft_state(&m->raft) == RAFT_LEADER;
    if (!leader && !(read && (c->readonly || m->planted_follower_reads))) {
        member_redirect(m, c, r, cmd_key(cmd, r));
        return SERVE_MEMBER_ANSWERED;
    }
    if (!read || !leader || m->planted_leader_reads) /* the planted mistake (member.h) */
        return SERVE_MEMBER_GO; /* a write, to the batch; or READONLY's follower read */
    if (c->read_epoch != 0 && c->read_epoch <= m->epoch_done)
        return SERVE_MEMBER_GO;
    if (c->read_epoch == 0)
        c->read_epoch = m->epoch_started + 1; /* a barrier that starts after now */
    c->member_wait = 1;
    m->barrier_wanted = 1;
    return SERVE_MEMBER_WAIT;
}
