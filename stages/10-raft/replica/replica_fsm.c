/* replica_fsm.c: the replica under libraft (replica_fsm.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "member_note.h"
#include "replica_fsm.h"

/* The first failure is kept: what the member says when it stops. */
static int fsm_failed(replica_fsm *f, uint64_t index, int rc)
{
    if (f->failed == KV_OK) {
        f->failed = rc;
        f->failed_index = index;
        snprintf(f->why, sizeof f->why, "%s", kv_errmsg());
    }
    return RAFT_IOERR;
}

/* Applies entry `index` (a command or a member note): KV_OK and its
 * outcome in *outcome, told to `applied` with who proposed it; or the
 * engine's error, with nothing of it applied.  A command is parsed once,
 * by replica_apply; here only its header is read (command_head_read):
 * its origin, and how many writes and reads it has (the bytes `existed`
 * needs, and whether replica_reads_of has anything to do, asked for only
 * if `wanted` says someone waits for them). */
static int fsm_apply_one(replica_fsm *f, uint64_t index, const void *buf, size_t len,
                         int *outcome)
{
    *outcome = REPLICA_INVALID;
    command_origin origin = {0, 0, 0};
    if (len > 0 && *(const uint8_t *)buf == MEMBER_NOTE_KIND) {
        /* Members' client addresses (member_note.h), not a client's writes. */
        int rc = replica_note(f->r, index, buf, len, outcome);
        if (rc != KV_OK)
            return rc;
        f->counts[*outcome]++;
        replica_result res = {*outcome, NULL, 0, NULL, 0, 0};
        if (f->applied != NULL)
            f->applied(f->applied_arg, origin, index, &res);
        return KV_OK;
    }
    command_head h;
    size_t writes = 0, reads = 0;
    if (command_head_read(buf, len, &h) == KV_OK && h.writes < KV_MAX_BATCH_OPS) {
        writes = h.writes;
        reads = h.reads;
        origin = h.origin;
    }
    if (writes + reads > 0 && f->wanted != NULL && !f->wanted(f->wanted_arg, origin))
        writes = reads = 0; /* no one waits for what its ops find: not read */
    if (writes > f->existed_cap) {
        uint8_t *grown = realloc(f->existed, writes);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "out of memory for %zu writes' answers", writes);
        f->existed = grown;
        f->existed_cap = writes;
    }
    /* The reads first, on the engine as the command finds it (only here,
     * where someone waits for them; an index applied before is skipped
     * by replica_apply, and its reads with it). */
    int rc = KV_OK;
    replica_reads_clear(&f->reads);
    if (reads > 0 && index > replica_applied(f->r))
        rc = replica_reads_of(f->r, buf, len, &f->reads);
    if (rc == KV_OK)
        rc = replica_apply(f->r, index, buf, len, outcome, writes > 0 ? f->existed : NULL);
    if (rc != KV_OK)
        return rc;
    f->counts[*outcome]++;
    int found = *outcome == REPLICA_APPLIED;
    replica_result res = {*outcome, f->existed, found ? writes : 0, f->reads.r,
                          found ? f->reads.n : 0, found && f->reads.too_large};
    if (f->applied != NULL)
        f->applied(f->applied_arg, origin, index, &res);
    replica_reads_clear(&f->reads); /* the engine's values, not kept past the call */
    return KV_OK;
}

/* Keeps entry `index` to apply later (W1-W3 of replica_fsm.h): 0, or -1
 * when the bounds are reached or memory runs out. */
static int fsm_wait(replica_fsm *f, uint64_t index, const void *buf, size_t len)
{
    if (f->nwaiting >= REPLICA_FSM_WAIT_MAX || f->waiting_bytes + len > REPLICA_FSM_WAIT_BYTES)
        return -1;
    if (f->nwaiting == f->waiting_cap) {
        size_t cap = f->waiting_cap != 0 ? 2 * f->waiting_cap : 64;
        replica_waiting *grown = realloc(f->waiting, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        f->waiting = grown;
        f->waiting_cap = cap;
    }
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, buf, len);
    f->waiting[f->nwaiting++] = (replica_waiting){index, copy, len};
    f->waiting_bytes += len;
    return 0;
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    replica_fsm *f = fsm->data;
    uint64_t index = (uint64_t)raft_last_applied(f->raft) + 1;
    int outcome = REPLICA_INVALID;
    *result = (void *)(intptr_t)REPLICA_INVALID;
    snapshot_size_applied(&f->size, buf->len);
    if (f->nwaiting > 0 || (f->defer != NULL && f->defer(f->defer_arg))) /* W1, W4 */
        return fsm_wait(f, index, buf->base, buf->len) == 0 ? 0
                                                             : fsm_failed(f, index, KV_ERR_NOMEM);
    int rc = fsm_apply_one(f, index, buf->base, buf->len, &outcome);
    if (rc == KV_OK) {
        *result = (void *)(intptr_t)outcome;
        return 0;
    }
    /* The engine could not apply it.  A disk short of room is waited out
     * (W2); any other failure stops the member (fsm_failed). */
    if (f->may_wait != NULL && f->may_wait(f->may_wait_arg) &&
        fsm_wait(f, index, buf->base, buf->len) == 0)
        return 0;
    return fsm_failed(f, index, rc);
}

int replica_fsm_retry(replica_fsm *f)
{
    while (f->nwaiting > 0) {
        replica_waiting *w = &f->waiting[0];
        int outcome, rc = fsm_apply_one(f, w->index, w->bytes, w->len, &outcome);
        if (rc != KV_OK) {
            if (f->may_wait == NULL || !f->may_wait(f->may_wait_arg))
                fsm_failed(f, w->index, rc);
            return rc;
        }
        f->waiting_bytes -= w->len;
        free(w->bytes);
        memmove(&f->waiting[0], &f->waiting[1], (f->nwaiting - 1) * sizeof *f->waiting);
        f->nwaiting--;
    }
    return KV_OK;
}

int replica_fsm_behind(const replica_fsm *f)
{
    return f->nwaiting > 0;
}

/* Drops the entries waiting at or below index (a restore took them). */
static void fsm_drop_waiting(replica_fsm *f, uint64_t index)
{
    size_t keep = 0;
    for (size_t i = 0; i < f->nwaiting; i++) {
        if (f->waiting[i].index <= index) {
            f->waiting_bytes -= f->waiting[i].len;
            free(f->waiting[i].bytes);
        } else {
            f->waiting[keep++] = f->waiting[i];
        }
    }
    f->nwaiting = keep;
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
    if (f->nwaiting > 0 && replica_fsm_retry(f) != KV_OK) /* W3: behind libraft's count */
        return RAFT_BUSY;
    int rc = replica_snapshot_begin(f->r, &f->taking, &f->taking_index);
    if (rc != KV_OK)
        return rc == KV_ERR_NOMEM ? RAFT_NOMEM : RAFT_IOERR;
    snapshot_size_begun(&f->size);
    return fsm->version >= 3 ? 0 : fsm_snapshot_async(fsm, bufs, n_bufs);
}

static int fsm_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                                 unsigned *n_bufs)
{
    replica_fsm *f = fsm->data;
    if (*bufs != NULL) {
        snapshot_size_written(&f->size, f->raft, *bufs, *n_bufs);
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
        f->before_restore(f->restore_arg);
    int rc = replica_restore(f->r, buf->base, buf->len);
    raft_free(buf->base); /* the library hands the buffer over */
    if (f->after_restore != NULL)
        f->after_restore(f->restore_arg);
    f->restores += rc == KV_OK;
    if (rc == KV_OK)
        fsm_drop_waiting(f, replica_applied(f->r));
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
    replica_reads_free(&f->reads);
    replica_snapshot_end(f->taking);
    f->taking = NULL;
    fsm_drop_waiting(f, UINT64_MAX);
    free(f->waiting);
    f->waiting = NULL;
    f->waiting_cap = 0;
}

int replica_fsm_outcome(void *result)
{
    return (int)(intptr_t)result;
}
