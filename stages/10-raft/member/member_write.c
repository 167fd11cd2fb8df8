/*
 * member_write.c: writes and reads of a member (member.h).
 *
 * Writes.  The server gathers a pass's writes into a batch (serve_commit.c);
 * a member proposes the whole batch as one command of the group's log and
 * answers it, from the callback libraft calls right after the command is
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

#define MEMBER_OF(field, ptr) \
    ((struct serve_member *)((char *)(ptr) - offsetof(struct serve_member, field)))

/* Every chunk of b fails with the message (answered "-ERR msg"). */
static void batch_fail(commit_batch *b, int status, const char *msg)
{
    for (size_t k = 0; k < b->nchunks; k++) {
        b->chunks[k].status = status;
        snprintf(b->chunks[k].err, sizeof b->chunks[k].err, "%s", msg);
    }
}

/* A batch proposed: libraft holds req until it calls member_applied. */
typedef struct member_proposal {
    struct raft_apply req;
    struct serve_member *m;
    commit_batch *b;         /* NULL once answered (the planted mistake's) */
} member_proposal;

static void member_applied(struct raft_apply *req, int status, void *result)
{
    member_proposal *pr = req->data;
    struct serve_member *m = pr->m;
    commit_batch *b = pr->b;
    free(pr);
    if (b == NULL) /* the planted mistake answered it at the proposal */
        return;
    int outcome = status == 0 ? replica_fsm_outcome(result) : -1;
    if (status == 0 && outcome == REPLICA_APPLIED) {
        size_t w = 0;
        for (size_t k = 0; k < b->nchunks; k++)
            for (size_t j = 0; j < b->chunks[k].n; j++, w++) {
                b->chunks[k].status = KV_OK;
                b->ops[b->order[b->chunks[k].start + j]].existed =
                    w < m->fsm.nexisted && m->fsm.existed[w];
            }
    } else if (status != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "leadership lost before the write was committed (%s): it "
                 "may or may not be applied", raft_strerror(status));
        batch_fail(b, KV_ERR_IO, msg);
    } else {
        batch_fail(b, KV_ERR_INVALID, "the group applied the write as nothing");
    }
    serve_commit_done(m->s);
}

void serve_member_propose(server *s, commit_batch *b)
{
    struct serve_member *m = s->member;
    command *cmd = NULL;
    int rc = command_new(&cmd);
    for (size_t k = 0; k < b->nchunks && rc == KV_OK; k++)
        for (size_t j = 0; j < b->chunks[k].n && rc == KV_OK; j++) {
            const commit_op *op = &b->ops[b->order[b->chunks[k].start + j]];
            const unsigned char *key = b->bytes + op->koff;
            rc = op->kind == OP_DEL ? command_delete(cmd, key, op->klen)
                                    : command_put(cmd, key, op->klen, b->bytes + op->voff,
                                                  op->vlen);
        }
    if (rc != KV_OK) {
        batch_fail(b, rc, kv_errmsg());
        command_free(cmd);
        serve_commit_done(s);
        return;
    }
    size_t len;
    const uint8_t *bytes = command_bytes(cmd, &len);
    struct raft_buffer buf = {raft_malloc(len), len};
    member_proposal *pr = malloc(sizeof *pr);
    int rv = buf.base != NULL && pr != NULL ? 0 : RAFT_NOMEM;
    if (rv == 0) {
        memcpy(buf.base, bytes, len);
        *pr = (member_proposal){.m = m, .b = b};
        pr->req.data = pr;
        rv = raft_apply(&m->raft, &pr->req, &buf, 1, member_applied);
    }
    command_free(cmd);
    if (rv == 0 && m->planted_ack_early) { /* the planted mistake (member.h) */
        for (size_t k = 0; k < b->nchunks; k++)
            b->chunks[k].status = KV_OK;
        pr->b = NULL;
        serve_commit_done(s);
        return;
    }
    if (rv != 0) { /* never appended: nothing of it can be applied */
        raft_free(buf.base);
        free(pr);
        char msg[160];
        snprintf(msg, sizeof msg, "not applied: this member cannot propose now (%s)",
                 raft_strerror(rv));
        batch_fail(b, KV_ERR_IO, msg);
        serve_commit_done(s);
    }
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
    if (strcmp(cmd->name, "multi") == 0 || strcmp(cmd->name, "watch") == 0) {
        out_error(&c->out, "ERR %s: transactions are not replicated yet (stage 10 is being "
                  "built: docs/10-raft.md)", cmd->name);
        return SERVE_MEMBER_ANSWERED;
    }
    int write = cmd->write, read = strstr(cmd->flags, "readonly") != NULL;
    if (!write && !read)
        return SERVE_MEMBER_GO;
    int leader = raft_state(&m->raft) == RAFT_LEADER;
    if (!leader && !(read && c->readonly)) {
        member_redirect(m, c, r, cmd_key(cmd, r));
        return SERVE_MEMBER_ANSWERED;
    }
    if (!read || !leader)
        return SERVE_MEMBER_GO; /* a write, to the batch; or READONLY's follower read */
    if (c->read_epoch != 0 && c->read_epoch <= m->epoch_done)
        return SERVE_MEMBER_GO;
    if (c->read_epoch == 0)
        c->read_epoch = m->epoch_started + 1; /* a barrier that starts after now */
    c->member_wait = 1;
    m->barrier_wanted = 1;
    return SERVE_MEMBER_WAIT;
}
