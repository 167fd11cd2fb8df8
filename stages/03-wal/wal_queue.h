/*
 * wal_queue.h: group commit for a write-ahead log.  Writers queue up; the
 * one at the head, the leader, appends the records of the writers queued
 * behind it with one write, syncs the log once, and then applies each
 * record through its writer's callback, in queue order, before it wakes
 * them.  LevelDB's DBImpl::Write is the model; docs/03-wal.md, "Group
 * commit", has the reasoning and the measurements.
 *
 * The queue knows the log format (wal_format.h, wal_writer.h) and its sync
 * markers (wal_marker.h), and nothing about what the records mean or what
 * applying one does: stage 03 points its hash index at each record
 * (hash_write_wal.c), stage 04 inserts each into its memtable.  The owner
 * says where to append through one hook, `prepare`, which may first make
 * room (roll over to a new log file, wait for a flush); a log is known to
 * the queue by the id the hook gives it.
 *
 * What the queue does for the owner, and the rules it keeps:
 *   1. Records reach the log in queue order, one append per group (at most
 *      WAL_QUEUE_GROUP_MAX bytes of payload, and always the leader's own
 *      record), and are applied in that order, under the write lock, only
 *      once their bytes are in the log and, with sync, on stable storage.
 *      A writer's call returns only after its record was applied or failed.
 *   2. With sync, before the first record goes into a log the queue has
 *      not yet synced the directory for (each new log id, and the first one
 *      after kv_open: an earlier open may have created it without syncing
 *      its name), the directory is synced: a file's name is durable before
 *      the first synced write into it (common/io_sim.h, rule 2).
 *   3. After a sync of the log, the next group starts with a sync marker
 *      naming how far the log was synced (wal_marker.h); wal_queue_close
 *      syncs the log, ends it with a marker and syncs the directory if any
 *      name may not be durable, whatever `sync` is.
 *   4. A failed fsync (of the log or the directory) is final: every later
 *      write fails until the queue is closed and the database reopened.  A
 *      retried fsync can report success for data the kernel already
 *      dropped (Linux marks the failed pages clean), so nothing written
 *      before it can be trusted to be on disk.  A failed append that cannot
 *      be cut off again is final too.  Anything else (no memory, the
 *      directory could not be opened to sync it, the hook's own errors)
 *      fails that group only.  The owner hears of a final failure through
 *      its `failed` hook.
 *
 * Locks: queue_lock (the queue's own) guards the queue; the write lock
 * (the owner's mutex, given at wal_queue_new) is held by the leader from
 * `prepare` to the last `apply`.  A writer never holds either across its
 * own call to the queue.
 */
#ifndef KV_WAL_QUEUE_H
#define KV_WAL_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"

/* A leader takes at most this many bytes of records into its group (and
 * always its own), so a follower's latency stays bounded. */
#define WAL_QUEUE_GROUP_MAX (1u << 20)

typedef struct wal_queue wal_queue;

/* Where a group goes: filled in by the owner's prepare hook. */
typedef struct wal_target {
    io_file *file;      /* the log to append to */
    uint64_t id;        /* which log it is; an id the queue has not seen is
                           a new file, nothing of it synced yet (rule 2) */
    uint64_t at;        /* its size: where the group's first byte goes */
    void *log;          /* the owner's handle for it (stage 03: the segment) */
} wal_target;

/* Where a record went, for its apply callback. */
typedef struct wal_place {
    const wal_target *target;
    uint64_t start;     /* where the writer stood before the record: the end
                           of the record (or marker) before it, so a trailer
                           may come first */
    uint64_t end;       /* the byte after its last fragment */
} wal_place;

/* One write: a record and what to do once it is in the log. */
typedef struct wal_request {
    const char *call;               /* for messages ("kv_put") */
    const uint8_t *payload;         /* the record; must not start with the
                                       byte 0 (wal_marker.h) */
    size_t len;
    uint64_t room;                  /* what apply will need, in the owner's
                                       units; prepare gets a group's sum */
    /* Called by the leader just before the record is framed, in queue
     * order, under the write lock: the last moment the payload may change
     * (stage 04 writes the batch's sequence number there).  May be NULL. */
    void (*stamp)(void *ctx);
    /* Called by the leader once the record is in the log (and synced), in
     * queue order, under the write lock.  It cannot fail: the record is
     * written, so whatever apply needs was made ready by prepare. */
    void (*apply)(void *ctx, const wal_place *place);
    /* A condition on the record (a transaction's commit: nothing it read
     * has changed since), or NULL.  A request with one goes in a group of
     * its own, and the leader calls it under the write lock before the
     * group's prepare, once every record queued before it was applied: so
     * no write can come between what it sees and its record.  KV_OK lets
     * the record in; anything else fails this request only, with nothing
     * written (kv_error set). */
    int  (*check)(void *ctx);
    void *ctx;
} wal_request;

typedef struct wal_queue_config {
    const char *dir;                /* the directory of the logs (rule 2);
                                       must outlive the queue */
    int sync;                       /* fdatasync every group before it is
                                       applied (kv_options.sync) */
    pthread_mutex_t *write_lock;    /* the owner's; see "Locks" above */
    void *owner;                    /* passed to the hooks */
    /* Before a group is appended: refuses it (the owner's own failures),
     * or makes room for `bytes` more bytes of log and `room` more units for
     * apply (rolling over to a new log if it must), and says where the
     * group goes.  KV_OK, or an error (kv_error set) that fails the group. */
    int  (*prepare)(void *owner, const char *call, uint64_t bytes, uint64_t room,
                    wal_target *t);
    /* The queue's failure became final (rule 4); kv_errmsg says why.
     * Called under the write lock.  May be NULL. */
    void (*failed)(void *owner);
} wal_queue_config;

/* Counters since wal_queue_new. */
typedef struct wal_queue_stats {
    uint64_t records, groups, largest_group;
    uint64_t syncs, dir_syncs, sync_ns;     /* sync_ns: both kinds */
    int failed;                             /* rule 4 */
} wal_queue_stats;

/* KV_OK or KV_ERR_NOMEM. */
int  wal_queue_new(const wal_queue_config *c, wal_queue **out);

/* Appends r's record as part of a group, and returns once it was applied:
 * KV_OK, or the group's error (kv_errmsg set in this thread).
 * REQUIRES: r->len > 0; the caller holds neither lock. */
int  wal_queue_write(wal_queue *q, const wal_request *r);

/* The owner synced log t up to t->at itself (kv_open, after recovery): the
 * next group starts with a marker saying so (rule 3).
 * REQUIRES: the write lock held, or the queue not yet shared. */
void wal_queue_log_synced(wal_queue *q, const wal_target *t);

/* Syncs the directory, counting it and keeping rule 4 (a failed fsync is
 * final, a directory that cannot be opened is not).  REQUIRES: as above. */
int  wal_queue_sync_dir(wal_queue *q, const char *call);

/* 1 once a failure is final (rule 4); safe from any thread. */
int  wal_queue_failed(wal_queue *q);
void wal_queue_stats_get(wal_queue *q, wal_queue_stats *s);

/* Leaves what was written durable (rule 3): unless a failure was final,
 * syncs log t (NULL or empty: none) if the queue appended to it or
 * `mark` asks (the owner changed it: kv_open cut a torn tail), then ends
 * it with a marker, and syncs the directory unless the queue already did
 * since it last met a new log.  Then frees the queue, whatever happened;
 * returns the first error.  REQUIRES: no writer in the queue; the owner
 * holds no lock the hooks take. */
int  wal_queue_close(wal_queue *q, const wal_target *t, int mark);

#endif
