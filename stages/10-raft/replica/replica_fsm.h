/*
 * replica_fsm.h: a replica (replica.h) as libraft's state machine, struct
 * raft_fsm (version 2): the library calls apply for each committed
 * command, snapshot (then snapshot_finalize, once written) when its log
 * has grown past its threshold, restore for a snapshot it received (a
 * member that fell behind) or loaded (a start).  Made version 3
 * (replica_fsm_async), the snapshot's contents are read on a thread of
 * the library's pool, not in the apply loop: a member's I/O supports
 * that, libraft's fixture does not.
 *
 * The library does not pass apply the entry's index.  It applies entries
 * in order and raises its last applied index after each, so the entry
 * being applied is raft_last_applied() + 1 of the struct raft the glue
 * is attached to (replica_fsm_attach, before the member starts).
 *
 * What a command found is handed back with who proposed it, not through
 * libraft: after each, `applied` (if set) is told the command's origin
 * (the proposing member, its serial and term, carried in the entry:
 * command.h), its index and its result record (replica_result): its
 * outcome, for its writes which keys held a value just before each (a
 * DEL's count, a SET NX's answer), and what each of its reads found (a
 * GET inside EXEC: replica_reads_of, evaluated just before the command
 * applies, so in log order, after the command's own earlier writes).
 * The member settles the write it proposed under that origin, and
 * nothing for another's (member_wait.h).  Those answers cost a read of
 * each deleted or read key: `wanted` (if set) is asked first whether
 * anyone waits for them, and where no one does (the other members, a
 * command from before a restart) the command is applied without them
 * (replica_apply, existed NULL; its reads passed over): only a SET NX's
 * or XX's key is read, which every member must.
 *
 * An apply the engine fails (a full disk, an I/O error) applied nothing
 * of it (a kv_write is all or nothing; the applied index is the entry's
 * before it).  libraft 0.15 handles the error badly: it tries the entry
 * again at each commit, and a leader goes on leading while it answers
 * nothing, or a follower stops for good.  So:
 *   W1. if `may_wait` (set by the member) says the failure can be waited
 *       out (its disk is short of room), the entry is kept, libraft is
 *       told it applied, and every later entry is kept behind it, in
 *       order, until replica_fsm_retry applies them (once there is room);
 *   W2. at most REPLICA_FSM_WAIT_MAX entries and REPLICA_FSM_WAIT_BYTES
 *       bytes wait; past that, or for any other failure, the apply
 *       returns RAFT_IOERR with the entry and the engine's message kept
 *       in `failed`, `failed_index` and `why`, and the member stops;
 *   W3. while entries wait, the engine is behind libraft's count: no
 *       snapshot is taken (it would claim entries it lacks), a restore
 *       drops the ones it covers, and the member answers no read that
 *       needs the engine to be current (replica_fsm_behind);
 *   W4. one `defer` says to keep waits as in W1 for replica_fsm_retry (a
 *       follower's, until its answer has left); a snapshot applies it first.
 */
#ifndef KV_RAFT_REPLICA_FSM_H
#define KV_RAFT_REPLICA_FSM_H

#include <raft.h>

#include "replica.h"
#include "snapshot_size.h"

#define REPLICA_FSM_WAIT_MAX 65536u
#define REPLICA_FSM_WAIT_BYTES (256ull << 20)

typedef struct replica_waiting {
    uint64_t index;
    uint8_t *bytes;
    size_t len;
} replica_waiting;

/* What `applied` is told of a command: its outcome (REPLICA_*) and, if
 * it applied and someone waited for it (`wanted`), what it found. */
typedef struct replica_result {
    int outcome;
    const uint8_t *existed;     /* one byte per write, 1 if its key held a value just before
                                   it (nexisted of them, 0 if not wanted) */
    size_t nexisted;
    const replica_read *reads;  /* one per read, in order (nreads, 0 if not wanted) */
    size_t nreads;
    int reads_too_large;        /* ... or none: they found more than REPLICA_READS_MAX_BYTES */
} replica_result;

typedef struct replica_fsm {
    struct raft_fsm fsm;   /* what the library is given; fsm.data is this */
    replica *r;
    struct raft *raft;     /* the member applying (replica_fsm_attach) */
    int failed;            /* the engine's error that stopped it, or KV_OK */
    uint64_t failed_index; /* the entry it failed at */
    char why[256];         /* the engine's message then */
    uint64_t counts[4];    /* commands by outcome (REPLICA_*) */
    uint64_t snapshots, restores;  /* taken, and installed (a newer engine kept counts too) */
    uint64_t snapshot_index;       /* the applied index of the last one taken, 0 if none */
    snapshot_size size;            /* how often they are taken (snapshot_size.h) */
    replica_snap *taking;          /* the one being taken (begun, not finalized), or NULL */
    uint64_t taking_index;
    /* Called (if set) before a restore may replace the engine: whoever
     * holds iterators or transactions on replica_db ends them, or the old
     * engine cannot be closed (include/kv.h, kv_close); and after it,
     * replica_db being the live engine again (a new one, or the same if
     * the snapshot was not newer or failed): whoever reads it takes it. */
    void (*before_restore)(void *arg);
    void (*after_restore)(void *arg);
    void *restore_arg;
    /* Told after each command: who proposed it (0, 0: no one said; a
     * member note), its index and its result (the record and what it
     * points to are the fsm's, valid during the call). */
    void (*applied)(void *arg, command_origin origin, uint64_t index,
                    const replica_result *res);
    void *applied_arg;
    /* Asked before a command with writes or reads applies: 1 if someone
     * waits for what they find (the command proposed under origin), else
     * 0, and `applied` is then told none of it; NULL: always 1. */
    int (*wanted)(void *arg, command_origin origin);
    void *wanted_arg;
    /* Asked if set: may_wait, whether an apply the engine failed may be
     * waited out (W1); defer, whether to keep an entry for later (W4). */
    int (*may_wait)(void *arg), (*defer)(void *arg);
    void *may_wait_arg, *defer_arg;
    replica_waiting *waiting;      /* the entries kept, in index order (W1) */
    size_t nwaiting, waiting_cap;
    uint64_t waiting_bytes;
    uint8_t *existed;
    size_t existed_cap;
    replica_reads reads;           /* the reads' answers of the command applying */
} replica_fsm;

/* Sets f up over r (version 2 of the library's interface). */
void replica_fsm_init(replica_fsm *f, replica *r);
/* Version 3: snapshots encoded on the library's thread pool
 * (REQUIRES: the raft_io's version is 2 or more, with async_work). */
void replica_fsm_async(replica_fsm *f);
void replica_fsm_attach(replica_fsm *f, struct raft *raft);
void replica_fsm_free(replica_fsm *f);  /* what init and apply allocated */
/* What apply passes back for a command (raft_apply's callback's result):
 * its outcome, REPLICA_* (REPLICA_INVALID for one kept waiting: W1). */
int replica_fsm_outcome(void *result);
/* Applies the entries kept waiting, in order (W1, W4).  KV_OK once none is
 * left, or the engine's error (they stay; `failed` is set if may_wait
 * says the failure cannot be waited out). */
int replica_fsm_retry(replica_fsm *f);
/* 1 while entries wait (W3). */
int replica_fsm_behind(const replica_fsm *f);

#endif
