/*
 * wal_queue.h: group commit for a write-ahead log.  Writers queue up; the
 * one at the head, the leader, appends the records of the writers queued
 * behind it with one write, syncs the log once, and applies each record
 * itself, in queue order, before it wakes them.  LevelDB's DBImpl::Write
 * is the model; docs/03-wal.md, "Group commit", has the reasoning and the
 * measurements.
 *
 * The queue knows the log format (wal_format.h, wal_writer.h) and its sync
 * markers (wal_marker.h), and nothing about what the records mean or what
 * applying one does.  It has no hooks: the steps of one write read top to
 * bottom in the owner's own function (stage 03's hash_write_wal.c, stage
 * 04's lsm_write.c):
 *
 *     wal_entry me = {.payload = rec, .len = len, .room = room};
 *     wal_group g;
 *     if (wal_queue_join(q, &me, &g)) {      // 1. lead, or wait for a leader
 *         lock the write lock;
 *         make room for g.bytes of log and g.room of what applying needs,
 *           and choose the log: t;
 *         number the group's records (wal_group_next walks them);
 *         rc = wal_queue_append(q, &g, &t);  // 2. one append, one fsync
 *         if (rc == KV_OK) apply each record, in queue order;
 *         unlock the write lock;
 *         wal_queue_finish(q, &g, rc);       // 3. the group hears rc
 *     }
 *     return me.status;
 *
 * What the queue does for the owner, and the rules it keeps:
 *   1. Records reach the log in queue order, one append per group (at most
 *      WAL_QUEUE_GROUP_MAX bytes of payload, and always the leader's own
 *      record).  The owner applies them in that order, under the write
 *      lock, only after wal_queue_append returned KV_OK: their bytes are
 *      in the log and, with sync, on stable storage.  A writer's
 *      wal_queue_join returns 0 only once its group was finished.
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
 *      append fails until the queue is closed and the database reopened.  A
 *      retried fsync can report success for data the kernel already
 *      dropped (Linux marks the failed pages clean), so nothing written
 *      before it can be trusted to be on disk.  A failed append that cannot
 *      be cut off again is final too.  Anything else (no memory, the
 *      directory could not be opened to sync it, the owner's own errors)
 *      fails that group only.  wal_queue_failed says whether a failure is
 *      final; the owner, which keeps its own `failed`, asks after a
 *      failed call.
 *
 * Locks: queue_lock (the queue's own) guards the queue; the write lock (the
 * owner's) is held by the leader from making room to the last apply.  A
 * writer holds neither when it joins, and the leader only the write lock
 * between join and finish.
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

/* Where a group goes: chosen by the owner once it made room. */
typedef struct wal_target {
    io_file *file;      /* the log to append to */
    uint64_t id;        /* which log it is; an id the queue has not seen is
                           a new file, nothing of it synced yet (rule 2) */
    uint64_t at;        /* its size: where the group's first byte goes */
    void *log;          /* the owner's handle for it (stage 03: the segment) */
} wal_target;

/* One writer in the queue: its record, and what the queue tells it. */
typedef struct wal_entry {
    /* The writer's, before wal_queue_join: */
    const char *call;           /* for messages ("kv_put") */
    const uint8_t *payload;     /* the record; must not start with the byte 0
                                   (wal_marker.h); the leader may change its
                                   bytes until wal_queue_append (stage 04
                                   writes its sequence number there) */
    size_t len;
    uint64_t room;              /* what applying it will need, in the owner's
                                   units; a group's sum is wal_group.room */
    int alone;                  /* a group of its own (a transaction's commit,
                                   whose condition the leader checks under the
                                   write lock with no other record between) */
    void *ctx;                  /* the owner's, for the leader's loops */
    /* Set by wal_queue_append: where the record went.  start is where the
     * writer stood before the record (the end of the record or marker
     * before it, so a trailer may come first); end the byte after it. */
    uint64_t start, end;
    /* The queue's: */
    int status;                 /* the group's, once done */
    int done;
    int waits;                  /* it found a writer ahead: cv is made */
    pthread_cond_t cv;
    struct wal_entry *next;
    char errmsg[512];           /* the leader's message, if it failed */
} wal_entry;

/* The group a leader writes: first (the leader) to last, n entries. */
typedef struct wal_group {
    wal_entry *first, *last;
    size_t n;
    uint64_t bytes;             /* the log bytes it may take, framed, with a
                                   marker: what the owner makes room for */
    uint64_t room;              /* the sum of its entries' room */
} wal_group;

/* KV_OK or KV_ERR_NOMEM.  dir: the directory of the logs (rule 2), which
 * must outlive the queue; sync: fdatasync every group before it is applied
 * (kv_options.sync). */
int  wal_queue_new(const char *dir, int sync, wal_queue **out);

/* Joins the queue and waits until me is at its head, or until a leader
 * finished the group me was in.  1: me leads g (its first entry), and must
 * go on to wal_queue_finish; 0: done, me->status says how (and kv_errmsg,
 * in this thread, why, if it failed).
 * REQUIRES: me's writer fields set, me->len > 0; no lock held. */
int  wal_queue_join(wal_queue *q, wal_entry *me, wal_group *g);

/* The entry after e in g, or NULL after the last. */
static inline wal_entry *wal_group_next(const wal_group *g, const wal_entry *e)
{
    return e == g->last ? NULL : e->next;
}

/* The leader's append: refuses if a failure was final (rule 4); syncs the
 * directory first if t's name may not be durable (with sync, rule 2);
 * frames a sync marker if the log was synced since the last one (rule 3)
 * and every record of g, sets each entry's start and end, appends them
 * with one write (cut off again if it fails), and with sync fsyncs the
 * log.  KV_OK is the commit point: the group is in the log (and on stable
 * storage, with sync), and may be applied.  Else an error, nothing of the
 * group kept; wal_queue_failed says if it is final.
 * REQUIRES: the write lock held; g from wal_queue_join, t->at the log's
 * size. */
int  wal_queue_append(wal_queue *q, wal_group *g, const wal_target *t);

/* The leader ends its group: every entry gets status rc (and, if it
 * failed, the leader's message), the others wake and return from
 * wal_queue_join, and the next writer in the queue leads.
 * REQUIRES: the write lock not held; g from wal_queue_join. */
void wal_queue_finish(wal_queue *q, wal_group *g, int rc);

/* Counters since wal_queue_new. */
typedef struct wal_queue_stats {
    uint64_t records, groups, largest_group;
    uint64_t syncs, dir_syncs, sync_ns;     /* sync_ns: both kinds */
    int failed;                             /* rule 4 */
} wal_queue_stats;

/* The owner synced log t up to t->at itself (kv_open, after recovery): the
 * next group starts with a marker saying so (rule 3).
 * REQUIRES: the write lock held, or the queue not yet shared. */
void wal_queue_log_synced(wal_queue *q, const wal_target *t);

/* Syncs log t up to t->at now, unless the queue synced it that far
 * already (with sync, every group is): for an owner that wants what was
 * written durable without a write of its own (stage 08's collection
 * waits for it).  Counted as a log sync; a failure is final (rule 4), and
 * the next group starts with a marker (rule 3).  REQUIRES: the write lock
 * held. */
int  wal_queue_sync(wal_queue *q, const wal_target *t, const char *call);

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
 * returns the first error.  REQUIRES: no writer in the queue. */
int  wal_queue_close(wal_queue *q, const wal_target *t, int mark);

#endif
