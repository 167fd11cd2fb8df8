/*
 * replica_fsm.c: the replica under libraft (replica_fsm.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "member_note.h"
#include "replica_fsm.h"

/* The first failure is kept: what the member says when it stops. */
static int fsm_failed(replica_fsm *f, int rc)
{
    if (f->failed == KV_OK) {
        f->failed = rc;
        f->failed_index = (uint64_t)raft_last_applied(f->raft) + 1;
        snprintf(f->why, sizeof f->why, "%s", kv_errmsg());
    }
    return RAFT_IOERR;
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    replica_fsm *f = fsm->data;
    int outcome = REPLICA_INVALID;
    uint64_t index = (uint64_t)raft_last_applied(f->raft) + 1;
    if (buf->len > 0 && *(const uint8_t *)buf->base == MEMBER_NOTE_KIND) {
        /* Members' client addresses (member_note.h), not a client's writes. */
        int rc = replica_note(f->r, index, buf->base, buf->len, &outcome);
        if (rc != KV_OK)
            return fsm_failed(f, rc);
        f->counts[outcome]++;
        if (f->applied != NULL)
            f->applied(f->applied_arg, index, outcome, NULL, 0);
        *result = (void *)(intptr_t)outcome;
        return 0;
    }
    /* The writes' existence, for the proposer's answer to a DEL. */
    command_reader rd;
    size_t writes = 0;
    if (command_parse(buf->base, buf->len, &rd) == KV_OK)
        writes = rd.writes;
    if (writes > f->existed_cap) {
        uint8_t *grown = realloc(f->existed, writes);
        if (grown == NULL)
            return RAFT_NOMEM;
        f->existed = grown;
        f->existed_cap = writes;
    }
    int rc = replica_apply(f->r, index, buf->base, buf->len, &outcome, f->existed);
    if (rc != KV_OK)
        return fsm_failed(f, rc);
    f->counts[outcome]++;
    if (f->applied != NULL)
        f->applied(f->applied_arg, index, outcome, f->existed,
                   outcome == REPLICA_APPLIED ? writes : 0);
    *result = (void *)(intptr_t)outcome;
    return 0;
}

static int fsm_snapshot_async(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                              unsigned *n_bufs);

/* A snapshot, in libraft's steps: here, on the loop thread between
 * applies, the engine's kv_snapshot and its applied index; then the
 * contents read and encoded, at once (version 2) or on a thread of
 * libuv's pool (version 3, fsm_snapshot_async), so that a large engine
 * holds up no loop pass; fsm_snapshot_finalize frees both once libraft
 * has written it. */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    replica_fsm *f = fsm->data;
    *bufs = NULL;
    *n_bufs = 0;
    uint64_t index;
    int rc = replica_snapshot_begin(f->r, &f->taking, &index);
    if (rc != KV_OK)
        return rc == KV_ERR_NOMEM ? RAFT_NOMEM : RAFT_IOERR;
    f->taking_index = index;
    return fsm->version >= 3 ? 0 : fsm_snapshot_async(fsm, bufs, n_bufs);
}

static int fsm_snapshot_async(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                              unsigned *n_bufs)
{
    replica_fsm *f = fsm->data;
    struct raft_buffer *b = raft_malloc(sizeof *b);
    if (b == NULL)
        return RAFT_NOMEM;
    int rc = replica_snapshot_encode(f->taking, raft_malloc, raft_free, &b->base, &b->len);
    if (rc != KV_OK) {
        raft_free(b);
        return rc == KV_ERR_NOMEM ? RAFT_NOMEM : RAFT_IOERR;
    }
    *bufs = b;
    *n_bufs = 1;
    return 0;
}

static int fsm_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                                 unsigned *n_bufs)
{
    replica_fsm *f = fsm->data;
    if (*bufs != NULL) {
        for (unsigned i = 0; i < *n_bufs; i++)
            raft_free((*bufs)[i].base);
        raft_free(*bufs);
        f->snapshots++;
        f->snapshot_index = f->taking_index;
    }
    *bufs = NULL;
    *n_bufs = 0;
    replica_snapshot_end(f->taking);
    f->taking = NULL;
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    replica_fsm *f = fsm->data;
    if (f->before_restore != NULL)
        f->before_restore(f->before_restore_arg);
    int rc = replica_restore(f->r, buf->base, buf->len);
    raft_free(buf->base); /* the library hands the buffer over */
    f->restores += rc == KV_OK;
    if (rc == KV_ERR_CORRUPT)
        return RAFT_CORRUPT;
    return rc == KV_OK ? 0 : RAFT_IOERR;
}

void replica_fsm_init(replica_fsm *f, replica *r)
{
    *f = (replica_fsm){0};
    f->r = r;
    f->fsm.version = 2;
    f->fsm.data = f;
    f->fsm.apply = fsm_apply;
    f->fsm.snapshot = fsm_snapshot;
    f->fsm.snapshot_finalize = fsm_snapshot_finalize;
    f->fsm.restore = fsm_restore;
}

void replica_fsm_async(replica_fsm *f)
{
    f->fsm.version = 3;
    f->fsm.snapshot_async = fsm_snapshot_async;
}

void replica_fsm_attach(replica_fsm *f, struct raft *raft)
{
    f->raft = raft;
}

void replica_fsm_free(replica_fsm *f)
{
    free(f->existed);
    f->existed = NULL;
    f->existed_cap = 0;
    replica_snapshot_end(f->taking);
    f->taking = NULL;
}

int replica_fsm_outcome(void *result)
{
    return (int)(intptr_t)result;
}
