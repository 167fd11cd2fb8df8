/*
 * lsm_db.h: the engine of the LSM stages: the newest writes in a memtable
 * (memtable.h) protected by a write-ahead log (lsm_wal.h), older ones in
 * tables (table_set.h), read through merging iterators.  Stage 04 wrote
 * it; every later stage links it unchanged, 05 with another table
 * format (table.h), 06 with another table set (levels and a manifest),
 * 07 and the stages after it with what they add around it.  The
 * engine does all the work: it writes every table (lsm_flush.c), runs
 * every merge (lsm_compact.c) and every wait (lsm_admit.c), counts
 * (lsm_stats.h) and keeps its failures; the table set only answers what
 * to do and makes a change durable.  This header is the engine's own:
 * no later stage's file includes it (stage 07 reads the engine through
 * lsm_sources.h).
 *
 * The parts, and who owns what (struct kv_db below is their table of
 * contents; each part's own struct is declared beside its code):
 *   memtables.mem
 *            the memtable that takes writes.  Only the group-commit leader
 *            adds to it (under write_lock); readers read it without a lock.
 *   memtables.imm
 *            the frozen memtable being written to tables by the background
 *            thread, or NULL.  At most one: a writer that fills `mem` while
 *            `imm` is still being flushed waits (kv_stats: session.write.stalls).
 *   commit_queue
 *            the group commit (wal_queue.h) the writers join.
 *   tables   the table set (tables.set, table_set.h), and tables.current,
 *            the version of its tables it applied last: the tables a new
 *            view reads.
 *   logs     the logs not yet in tables, oldest first; the last takes writes.
 *   bg       the background thread (lsm_bg.h); fail, the failures (lsm_failure.h).
 *   view     what a reader takes: {mem, imm, a version of the tables} with
 *            a reference on each, published as one pointer.  A reader
 *            takes a reference on the view under view_lock and reads
 *            without any lock; a flush or a compaction makes a new view
 *            and swaps it in (lsm_view.c).
 *
 * Sequence numbers (internal_key.h).  The leader numbers each record just
 * before it is framed (lsm_write.c: next_seq, a batch takes one per
 * op), inserts its ops into mem once the group is in the log, then
 * publishes last_seq (release).  A reader loads last_seq (acquire) and reads
 * at it, so it sees every write acknowledged before it started, and a batch
 * whole or not at all (its ops are above last_seq until all are in).  A
 * snapshot is such a number, kept in a list so that compaction keeps what
 * the oldest one can see.
 *
 * Locks, always taken in this order (an arrow: may be taken while holding):
 *   bg.compact_lock -> write_lock -> view.lock,  snaps.lock (alone)
 *   bg.compact_lock  one kv_compact at a time.
 *   write_lock    the leader of a group (wal_queue.h) holds it from making
 *                 room to the last insert.  Guards memtables, logs, seq.next,
 *                 tables.current, fail, bg (the background thread's state
 *                 and kv_compact's request); the table set is picked from
 *                 and applied to under it (table_set_apply releases it
 *                 while it writes).  bg.work and bg.done are its conditions.
 *   view.lock     guards the view.current pointer only.
 *   snaps.lock    the snapshot list.
 *
 * Invariants:
 *   D1. Every op of a record is in mem only after the record is in the log
 *       (and synced, with sync); last_seq covers it only after all the
 *       record's ops are in mem.
 *   D2. The view's mem, imm and tables together hold every write numbered
 *       up to last_seq, newest source first (mem, imm, then the tables).
 *   D3. A table is in the view only once it is whole, synced and its name
 *       durable; a log is deleted only after the tables holding its
 *       writes are in the view (lsm_files.h, F3 says what a crash between
 *       the two leaves).
 *   D4. `failed` (a failed fsync, or a seal or cut that could not be
 *       made) is final: every later write and kv_compact is refused until
 *       the database is reopened.  Other failures are not: a failed flush
 *       or background job is reported once (bg_error) and tried again.
 */
#ifndef KV_LSM_DB_H
#define KV_LSM_DB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "batch.h"
#include "bg_rate.h"
#include "db_dir.h"
#include "kv.h"
#include "lsm_bg.h"
#include "lsm_failure.h"
#include "lsm_snapshot.h"
#include "lsm_stats.h"
#include "lsm_totals.h"
#include "lsm_wal.h"
#include "lsm_write.h"
#include "memtable.h"
#include "stats_text.h"
#include "table.h"
#include "table_set.h"
#include "wal_queue.h"

/* The memtable's size unless kv_options.memtable_bytes says otherwise. */
#define LSM_DEFAULT_MEMTABLE_BYTES (4u << 20)

typedef struct lsm_view {
    atomic_int refs;
    memtable *mem;
    memtable *imm;              /* NULL if none */
    table_set_version *tables;  /* the tables read with them */
} lsm_view;

struct kv_snapshot {
    kv_db *db;
    uint64_t seq;
    struct kv_snapshot *prev, *next;
};

/* The tables: what they share, the pace new ones are written at, the set,
 * and its version a new view reads. */
typedef struct lsm_tables {
    table_ctx *ctx;             /* caches and counters the tables share */
    bg_rate *rate;              /* how fast flushes and merges write (bg_rate.h) */
    table_set *set;             /* the table set (table_set.h) */
    table_set_version *current; /* write_lock: the tables a new view reads */
} lsm_tables;

/* Where the sequence numbers stand. */
typedef struct lsm_seqs {
    uint64_t next;              /* write_lock: the next record's first one */
    _Atomic uint64_t last;      /* every write up to here is visible */
    uint64_t flushed;           /* write_lock: every write up to it is in tables */
} lsm_seqs;

/* What a reader takes (lsm_view.c). */
typedef struct lsm_views {
    pthread_mutex_t lock;       /* guards `current`, the pointer only */
    lsm_view *current;
} lsm_views;

/* Where table values are kept (value_store.h), and the store's jobs the
 * engine runs (lsm_values.c, lsm_elsewhere.h). */
typedef struct lsm_value_parts {
    struct value_store *store;
    struct lsm_values *jobs;
} lsm_value_parts;

struct kv_db {
    db_dir dir;                 /* what it was opened with */
    kv_options opt;
    lsm_memtables memtables;    /* write_lock: mem and imm (lsm_write.h) */
    lsm_logs logs;              /* write_lock: the logs not yet in tables (lsm_wal.h) */
    wal_queue *commit_queue;    /* the group commit (wal_queue.h); NULL if read-only */
    lsm_tables tables;          /* the table set and what it shares */
    lsm_value_parts values;     /* the value store and its jobs */
    struct lsm_room *room;      /* writes refused before the disk is full
                                   (lsm_room.h); NULL if read-only */
    lsm_bg bg;                  /* the background thread, kv_compact's
                                   request (lsm_bg.h) */
    lsm_failure fail;           /* D4, and the failures not yet reported
                                   (lsm_failure.h) */
    lsm_seqs seq;               /* the sequence numbers */
    lsm_views view;             /* the readers' view */
    lsm_snapshots snaps;        /* live snapshots (lsm_snapshot.h) */
    lsm_counting count;         /* counters and totals (lsm_totals.h) */
    pthread_mutex_t write_lock; /* the lock order is above; bg.work and
                                   bg.done are its conditions */
};

/* ---- views (lsm_view.c) ------------------------------------------------------- */

/* A new view of mem, imm (NULL: none) and the table set's current version,
 * a reference on each and one on the view, the caller's.  KV_OK or NOMEM.
 * REQUIRES: write_lock held (or the database not yet shared). */
int  lsm_view_new(kv_db *db, memtable *mem, memtable *imm, lsm_view **out);
/* A reference to the current view; with seq not NULL, also the last
 * sequence number, read under the same lock (every write up to it is in
 * the view, and no compaction installed after it dropped what it needs).
 * Any thread, no lock held. */
lsm_view *lsm_view_get(kv_db *db, uint64_t *seq);
/* Drops a reference; the last releases what the view holds.  NULL is a
 * no-op. */
void lsm_view_unref(lsm_view *v);
/* Makes v current (taking over the caller's reference).
 * REQUIRES: write_lock held. */
void lsm_view_publish(kv_db *db, lsm_view *v);
/* A view allocated ahead of lsm_view_install, so that installing cannot
 * fail (a job's change is installed once it is durable).  KV_OK or
 * NOMEM. */
int  lsm_view_reserve(kv_db *db, lsm_view **spare);
/* The tables become `tables` (taking over the caller's reference; NULL:
 * they stay), and a view of mem, imm (none if imm_flushed: imm is dropped
 * from the database too) and them, made in spare, is published.
 * REQUIRES: write_lock held (or the database not yet shared). */
void lsm_view_install(kv_db *db, lsm_view *spare, table_set_version *tables,
                      int imm_flushed);
/* Iterators over every source of v, newest first (mem, imm, the tables),
 * in a malloc'd array (*n of them), for a merging iterator.  KV_OK or an
 * error (none left). */
int  lsm_view_iters(const lsm_view *v, iter ***out, size_t *n);

/* ---- admission (lsm_admit.c) ------------------------------------------------ */

/* Before a write joins the queue: what the table set says of it (stage
 * 06: too many level-0 tables), done: KV_OK at once, after a 1 ms sleep,
 * or after waiting for a job to end; an error if the database failed
 * meanwhile.  REQUIRES: no lock held. */
int  lsm_admit(kv_db *db, const char *call);

/* ---- the jobs (lsm_flush.c, lsm_compact.c) --------------------------------- */

/* The flush of imm: a table of its entries where the table set says,
 * made durable and installed with imm dropped from the view, then the
 * logs it makes redundant deleted, counted in kv_stats; a failure is kept
 * for the next call to report (the flush is retried when a writer waits
 * for it), and returned.  during_merge: a merge is under way (lsm_compact.c
 * flushes between its entries).  REQUIRES: write_lock held (released while
 * writing), imm not NULL, the background thread (or KV_BG_INLINE's
 * caller). */
int  lsm_flush_imm(kv_db *db, int during_merge);
/* Runs job, which the table set picked: a move (an edit only), or the
 * merge of its inputs without what drop_rule.h lets go, into the outputs
 * the set names, made durable and installed.  KV_OK or an error (nothing
 * of the job installed; a final one sets `failed`).
 * REQUIRES: write_lock held (released while it reads and writes files);
 * the background thread. */
int  lsm_compact_run(kv_db *db, table_job *job);
/* kv_compact's work on the background thread: every step the table set
 * gives for it, in turn.  KV_OK or the first error.
 * REQUIRES: as lsm_compact_run. */
int  lsm_compact_manual(kv_db *db);
/* The files no version holds any more removed (table_set_collect), counted;
 * a failure said once (bg_error).  REQUIRES: write_lock held (released
 * while removing). */
void lsm_collect(kv_db *db);

#endif
