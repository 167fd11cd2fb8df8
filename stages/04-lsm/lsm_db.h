/*
 * lsm_db.h: stage 04's database, an LSM tree: the newest writes in a
 * memtable (memtable.h) protected by a write-ahead log (lsm_wal.h), older
 * ones in sorted tables (table.h), read through merging iterators.
 *
 * The parts, and who owns what:
 *   mem      the memtable that takes writes.  Only the group-commit leader
 *            adds to it (under write_lock); readers read it without a lock.
 *   imm      the frozen memtable being written to a table by the flush
 *            thread, or NULL.  At most one: a writer that fills `mem` while
 *            `imm` is still being flushed waits (kv_stats: write.stalls).
 *   tables   the tables, newest first (lsm_files.h, F2).
 *   wals     the logs not yet in tables, oldest first; the last takes writes.
 *   view     what a reader takes: {mem, imm, tables} with a reference on
 *            each, published as one pointer.  A reader takes a reference
 *            on the view under view_lock and reads without any lock; a
 *            flush or a compaction builds a new view and swaps it in.
 *
 * Sequence numbers (internal_key.h).  The leader numbers each record just
 * before it is framed (wal_request.stamp: next_seq, a batch takes one per
 * op), inserts its ops into mem once the group is in the log, then
 * publishes last_seq (release).  A reader loads last_seq (acquire) and reads
 * at it, so it sees every write acknowledged before it started, and a batch
 * whole or not at all (its ops are above last_seq until all are in).  A
 * snapshot is such a number, kept in a list so that kv_compact keeps what
 * the oldest one can see.
 *
 * Locks, always taken in this order (an arrow: may be taken while holding):
 *   compact_lock -> write_lock -> view_lock,  snap_lock (alone)
 *   compact_lock  one kv_compact at a time.
 *   write_lock    the queue's write lock (wal_queue.h): the leader holds it
 *                 from prepare to the last apply.  Guards mem, imm, wals,
 *                 next_seq, the table list, failed, the flush state; the
 *                 flush thread and kv_compact take it to install what they
 *                 made.  flush_work and flush_done are its conditions.
 *   view_lock     guards the `view` pointer only.
 *   snap_lock     the snapshot list.
 *
 * Invariants:
 *   D1. Every op of a record is in mem only after the record is in the log
 *       (and synced, with sync); last_seq covers it only after all the
 *       record's ops are in mem.
 *   D2. The view's mem, imm and tables together hold every write numbered
 *       up to last_seq, newest source first (mem, imm, tables by age).
 *   D3. A table is in the view only once it is whole, synced, renamed and
 *       its name synced; a log is deleted only after the table holding its
 *       writes is in the view (lsm_files.h, F3 says what a crash between
 *       the two leaves).
 *   D4. `failed` (a failed fsync, or a seal or cut that could not be
 *       made) is final: every later write and kv_compact is refused until
 *       the database is reopened.
 */
#ifndef KV_LSM_DB_H
#define KV_LSM_DB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "batch.h"
#include "db_dir.h"
#include "kv.h"
#include "lsm_wal.h"
#include "memtable.h"
#include "stats_text.h"
#include "table.h"
#include "wal_queue.h"

/* The version of stage 04's formats (logs and table v1), in IDENTITY. */
#define LSM_DB_FORMAT 1u
#define LSM_DEFAULT_MEMTABLE_BYTES (4u << 20)

/* A table of the database and the sequence numbers its name gives. */
typedef struct lsm_table {
    table *t;
    uint64_t lo, hi;
} lsm_table;

typedef struct lsm_view {
    atomic_int refs;
    memtable *mem;
    memtable *imm;          /* NULL if none */
    lsm_table *tables;      /* newest first */
    size_t ntables;
} lsm_view;

struct kv_snapshot {
    kv_db *db;
    uint64_t seq;
    struct kv_snapshot *prev, *next;
};

struct kv_db {
    db_dir dir;
    kv_options opt;
    size_t memtable_limit;      /* opt.memtable_bytes, or the default */
    table_ctx *tctx;
    wal_queue *q;               /* NULL if read-only */

    pthread_mutex_t compact_lock, write_lock, view_lock, snap_lock;
    pthread_cond_t flush_work;  /* the flush thread waits for imm */
    pthread_cond_t flush_done;  /* writers wait for imm to be flushed */

    lsm_view *view;             /* view_lock */

    /* write_lock: */
    memtable *mem, *imm;
    uint64_t mem_lo;            /* the first sequence number in mem (0: none) */
    uint64_t imm_lo, imm_hi;    /* the writes imm holds: its table's name */
    lsm_table *tables;          /* newest first; the view has the same */
    size_t ntables;
    lsm_wal **wals;             /* oldest first; the last takes writes */
    size_t nwals, wals_cap;
    uint64_t next_seq;          /* the next record's first sequence number */
    int failed;                 /* D4 (read with __atomic) */
    char failure[512];
    int flush_failed;           /* the last flush failed; retried by the
                                   next call that waits for it, once the
                                   failure has been reported */
    int bg_error;               /* a failure in the background (a flush, a
                                   log's removal) no call has reported yet:
                                   the next write fails with it (nothing
                                   written), or kv_close returns it */
    char bg_message[512];
    int flush_stop;             /* kv_close: the flush thread ends */
    pthread_t flush_thread;
    int flush_running;

    _Atomic uint64_t last_seq;  /* every write up to here is visible */

    /* snap_lock: live snapshots, oldest first. */
    kv_snapshot *snap_head, *snap_tail;
    _Atomic uint64_t live;      /* snapshots and iterators not freed */

    /* What kv_open found (lsm_recover.c). */
    uint64_t open_us, open_records, open_records_skipped, open_wal_bytes;
    uint64_t open_torn_found, open_torn_cut, open_tail_records_dropped;
    uint64_t open_tables_removed, open_wals_removed, open_tmps_removed;
    int open_wal_created;

    /* Counters since open (updated with __atomic). */
    uint64_t puts, deletes, batches, gets, get_table_reads, get_tables_searched;
    uint64_t stalls, stall_us, switches, new_log_us;
    uint64_t flushes, flush_bytes, flush_entries, flush_us, flush_failures, wals_removed;
    uint64_t compactions, compact_bytes_in, compact_bytes_out, compact_dropped, compact_us;
};

/* The database's clock, in microseconds. */
uint64_t lsm_now_us(void);

/* ---- views: sharing one (lsm_view.c) -------------------------------------- */

/* Sets up a view just allocated: mem and imm (NULL: none), a reference on
 * each, and one reference on the view, the caller's. */
void lsm_view_init(lsm_view *v, memtable *mem, memtable *imm);
/* A reference to the current view; with seq not NULL, also the last
 * sequence number, read under the same lock (every write up to it is in
 * the view, and no compaction installed after it dropped what it needs).
 * Any thread, no lock held. */
lsm_view *lsm_view_get(kv_db *db, uint64_t *seq);
/* Drops a reference; the last releases the memtables, then lsm_view_free
 * the rest.  NULL is a no-op. */
void lsm_view_unref(lsm_view *v);
/* Makes v current (taking over the caller's reference).
 * REQUIRES: write_lock held. */
void lsm_view_publish(kv_db *db, lsm_view *v);
/* lsm_view_new of db's mem, imm and tables, published.
 * REQUIRES: write_lock held (or the database not yet shared). */
int  lsm_view_install(kv_db *db);

/* ---- views: their tables (lsm_db.c) ------------------------------------- */

/* A view of db made of these parts, holding a reference on each.  KV_OK or
 * NOMEM. */
int  lsm_view_new(kv_db *db, memtable *mem, memtable *imm, const lsm_table *tables, size_t n,
                  lsm_view **out);
/* Frees v, whose last reference is gone and whose memtables lsm_view_unref
 * released: the references on its tables, then v itself. */
void lsm_view_free(lsm_view *v);
/* The tables' part of a lookup at lk (lsm_read.c asks mem and imm first):
 * KV_OK with *val (malloc'd), KV_NOT_FOUND, or an error. */
int  lsm_view_tables_get(kv_db *db, const lsm_view *v, const ikey_lookup *lk, void **val,
                         size_t *vlen);
/* Iterators over every source of v, newest first, in a malloc'd array
 * (*n of them), for a merging iterator.  KV_OK or an error (none left). */
int  lsm_view_iters(const lsm_view *v, iter ***out, size_t *n);
/* The tables' lines of db's kv_stats (lsm_stats.c), as v holds them. */
void lsm_view_tables_stats(kv_db *db, const lsm_view *v, stats_text *s);

/* ---- the write path (lsm_write.c) ---------------------------------------- */

/* REQUIRES: n > 0, the database writable, ops checked (batch.h). */
int  lsm_write(kv_db *db, const char *call, const batch_op *ops, size_t n);
/* Freezes mem (unless empty) and waits until no memtable is left to flush:
 * every write acknowledged before the call is in a table.  For kv_compact.
 * REQUIRES: write_lock not held. */
int  lsm_write_flush_all(kv_db *db, const char *call);
/* At the end of kv_open: the queue over the last log; sync_dir: recovery
 * removed, cut or made files, whose names are synced now. */
int  lsm_write_open(kv_db *db, int sync_dir);
/* First thing at kv_close after the flush thread ended. */
int  lsm_write_close(kv_db *db);
/* Sets `failed` (D4) with why.  REQUIRES: write_lock held. */
void lsm_set_failed(kv_db *db, const char *why);
/* KV_ERR_IO naming the first failure if `failed` is set; else KV_OK. */
int  lsm_refuse_if_failed(kv_db *db, const char *call);
/* Records a background failure (kv_errmsg) for the next call to report.
 * REQUIRES: write_lock held. */
void lsm_set_bg_error(kv_db *db, int rc);
/* Reports (and clears) a background failure: its code, with the message
 * set for `call`; KV_OK if there is none.  A failed flush is retried only
 * when a later call waits for it (lsm_write.c), so that its I/O happens
 * inside a call that can report it.  REQUIRES: write_lock held. */
int  lsm_take_bg_error(kv_db *db, const char *call);

/* ---- the flush (lsm_flush.c) ------------------------------------------- */

/* Starts the background thread that writes imm to a table. */
int  lsm_flush_start(kv_db *db);
/* Lets the flush in progress (and one pending) finish, ends the thread.
 * A no-op if it was never started. */
void lsm_flush_stop(kv_db *db);

/* ---- recovery (lsm_recover.c) ------------------------------------------- */

int  lsm_recover(kv_db *db);

/* ---- snapshots (lsm_db.c) ------------------------------------------------ */

/* The oldest sequence number a reader may still read at. */
uint64_t lsm_oldest_snapshot(kv_db *db);

#endif
