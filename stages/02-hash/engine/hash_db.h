/*
 * hash_db.h: stage 02's database: numbered segment files plus a hash index
 * in memory that maps each live key to its latest record (Bitcask's design).
 *
 * A write (a put, a delete, or a whole kv_write batch) appends its records
 * (common/log_record.h) to the active segment, the highest-numbered one,
 * with a single write() call, then points the index at them in one step.
 * Deleting a key the index does not hold writes nothing.  A read is one
 * index lookup and one positioned read.  When the active segment would pass
 * opt.segment_bytes, a new one is started first.  kv_open
 * rebuilds the index by replaying every segment in id order (hash_recover.c);
 * kv_compact merges the segments into fresh ones holding only live records
 * (merge.c).  The file formats and the merge protocol are in docs/02-hash.md.
 *
 * Locks, always taken in this order:
 *   merge_lock  (mutex)   one merge at a time; guards `doomed`.
 *   write_lock  (mutex)   appends, roll-over, `failed`, `next_id`, `active`.
 *   index_lock  (rwlock)  the index, the segment table, the segments'
 *                         live_bytes and the snapshots' layers.  Readers (kv_get, kv_iter_new, stats)
 *                         take it shared, only to find a place and take a
 *                         reference on its segment; the read itself happens
 *                         after it is released.
 * The segment table and live_bytes change only with index_lock held
 * exclusively and, besides, either write_lock (writes, roll-over) or
 * merge_lock (a merge's commit); so a merge holding those two may read
 * them without index_lock.  Both a roll-over and a merge's commit insert
 * into the table, so each makes room for its insertions in the same hold
 * of index_lock as the insertions (room reserved in an earlier hold may
 * have been used up by the other).
 *
 * Invariants:
 *   1. Every place in the index names a segment in `segs`, and lies in that
 *      segment's valid bytes [0, size).
 *   2. A record is in its file before the index points at it, and the index
 *      changes in the order the records were appended (both under
 *      write_lock), so a reader never sees a place that is not fully written.
 *   3. Replaying the segments on disk in id order gives the index (for the
 *      acknowledged writes).  Roll-over keeps this trivially; merge.c keeps it
 *      at every step, crash or not (the argument is in docs/02-hash.md).
 *   4. If a failed append cannot be cut off, or the fsync that closes a
 *      segment at roll-over fails, `failed` is set and every later write
 *      (and merge) is refused until the database is reopened: a partial
 *      record never ends up in the middle of a segment, and a segment is
 *      never closed without being whole on disk (a retried fsync can report
 *      success for pages the kernel already dropped).
 *   5. Files in `doomed` are on disk but not part of the database in memory
 *      (left by a merge whose clean-up failed).  The next merge removes them
 *      before it removes anything else, or does not run.
 */
#ifndef KV_HASH_DB_H
#define KV_HASH_DB_H

#include <pthread.h>
#include <stdint.h>

#include "batch.h"
#include "db_dir.h"
#include "hash_index.h"
#include "hash_snapshot.h"
#include "io.h"
#include "kv.h"
#include "latency.h"
#include "segment.h"

/* The version of the formats of the stage this file is built into,
 * recorded in the directory's IDENTITY (common/db_identity.h). */
#define HASH_DB_FORMAT 1u

/* 64 MiB: about the size of the largest record (a 64 MiB value), and a 1 GB
 * database has 16 files open, well under the usual limit of 1024. */
#define HASH_DB_DEFAULT_SEGMENT_BYTES (64u * 1024u * 1024u)

struct kv_db {
    db_dir dir;
    kv_options opt;
    uint64_t segment_limit;     /* opt.segment_bytes, or the default */

    pthread_mutex_t merge_lock;
    pthread_mutex_t write_lock;
    pthread_rwlock_t index_lock;

    hash_index index;
    segment_table segs;         /* every segment of the database, by id */
    segment *active;            /* the last one; NULL only for a read-only
                                   open of an empty directory */
    uint64_t next_id;           /* the id the next new segment gets (ids are
                                   32-bit; this is wider to see the end) */
    int failed;                 /* invariant 4; set with __atomic, under
                                   write_lock, by hash_db_set_failed */
    char failure[256];          /* why */
    uint32_t *doomed;           /* invariant 5: ids of <id>.log files, in the
                                   order they must be removed */
    size_t ndoomed, doomed_cap;

    /* What kv_open found (hash_recover.c). */
    uint64_t open_us, open_bytes_read, open_records, open_torn_bytes;
    uint64_t open_segments_scanned, open_segments_from_hint, open_hints_rejected;
    uint64_t open_leftovers_removed;
    uint64_t open_tail_records_dropped; /* 1 if the cut tail held valid records
                                           after its damage (record_io.h's
                                           `unsynced`; never in stage 02) */
    struct hash_writer *writer; /* the write path's own state (hash_write_open) */
    uint64_t snapshots_live;    /* snapshots and iterators not yet freed
                                   (snapshot_iter.h); kv_close waits for 0 */
    hash_layer *oldest_layer;   /* the snapshots' layers (hash_snapshot.h), */
    hash_layer *newest_layer;   /* under index_lock; NULL when none is live */
    /* Counters since open (updated with __atomic). */
    uint64_t puts, deletes, gets, rollovers;
    uint64_t merges, merge_bytes_read, merge_bytes_written, merge_us;
    latency_set lat;            /* how long each call took (common/latency.h) */
};

/* The database's clock, in microseconds. */
uint64_t hash_db_now_us(void);

/* Points key at loc, moving the live-byte count of the segments involved.
 * REQUIRES: index_lock held exclusively (or the database not yet shared). */
int  hash_db_index_put(kv_db *db, const void *key, size_t klen, const hash_loc *loc);
/* Forgets key (a delete), likewise. */
void hash_db_index_remove(kv_db *db, const void *key, size_t klen);

/* Starts a new active segment with this id (and makes next_id id + 1); the
 * old one stays, closed to writes.  REQUIRES: write_lock held, id > every
 * id in use. */
int  hash_db_roll(kv_db *db, uint64_t id);

/* Rebuilds the index from the directory's files (hash_recover.c). */
int  hash_recover(kv_db *db);

/* Before a write of `bytes` more bytes: refuses it if `failed` is set, and
 * rolls over to a new segment if the active one would pass the limit.
 * REQUIRES: write_lock held. */
int  hash_db_make_room(kv_db *db, const char *call, uint64_t bytes);
/* KV_ERR_IO ("reopen the database", with the reason) if `failed` is set.
 * REQUIRES: write_lock held. */
int  hash_db_refuse_if_failed(kv_db *db, const char *call);
/* Sets `failed` (invariant 4), keeping `why` for the messages above.
 * REQUIRES: write_lock held. */
void hash_db_set_failed(kv_db *db, const char *why);
/* After a failed append to the active segment: cuts it back to its valid
 * size, or sets `failed` (invariant 4).  Returns rc, with call added to
 * kv_errmsg.  REQUIRES: write_lock held. */
int  hash_db_undo_append(kv_db *db, const char *call, int rc);

/* The index side of one write (a put, a delete or a batch): each put's key
 * copied ahead and the place of each op, so that once the bytes are in the
 * file, updating the index cannot fail (kv_write is all or nothing for
 * readers).  The write path fills locs[] before hash_update_apply. */
typedef struct hash_update {
    const batch_op *ops;
    size_t n;
    uint64_t deletes;
    uint8_t **copies;       /* each put's key, owned until applied */
    hash_loc *locs;         /* each op's place (deletes: unused) */
    uint8_t *one_copy[1];
    hash_loc one_loc[1];
} hash_update;

int  hash_update_init(hash_update *u, const char *call, const batch_op *ops, size_t n);
void hash_update_free(hash_update *u);
/* Makes room in the index for the update's puts. */
int  hash_update_reserve(kv_db *db, const hash_update *u);
/* Points the index at the update's places, in op order, and makes `end`
 * the segment's valid size, all in one step for readers (invariant 2);
 * each key's place before it is kept for the live snapshots first
 * (hash_snapshot_note).
 * REQUIRES: write_lock held, reserved, the bytes are in seg's file. */
void hash_update_apply(kv_db *db, segment *seg, hash_update *u, uint64_t end);

/* kv_get's read once the place is known: the value of key at loc in seg,
 * a malloc'd copy.  KV_OK or an error.  REQUIRES: a reference on seg. */
int  hash_db_read_value(segment *seg, const hash_loc *loc, const void *key, size_t klen,
                        void **val, size_t *vlen);

#endif
