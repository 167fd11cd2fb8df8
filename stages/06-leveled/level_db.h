/*
 * level_db.h: stage 06's database: stage 04's (lsm_db.h: the write-ahead
 * logs, the memtables, the write path, snapshots) with its flat list of
 * tables replaced by a version of levels (version.h), kept in a manifest
 * (manifest.h), and kept in shape by leveled compaction on the background
 * thread.
 *
 * A level_db is a kv_db (its first member): every stage-04 file this stage
 * links (lsm_write.c, lsm_put.c's checks, lsm_replay.c, lsm_snapshot.c,
 * lsm_failure.c, lsm_wal*.c) works on that part unchanged, and stage 04's
 * table list in it (tables, ntables) stays empty.  In the same way a
 * level_view is a stage-04 view plus the version readers read with it.
 *
 * The parts added here, and who owns them:
 *   current   the version: the tables of every level.  Changed only by the
 *             background thread (a flush, a compaction) and kv_open, under
 *             write_lock; every view holds a reference on the version it
 *             was made with.
 *   manifest  the open manifest: written only by the background thread
 *             (and kv_open), so it needs no lock of its own.
 *   next_file the next file number (tables, manifests): handed out by the
 *             background thread only (and kv_open before it starts).
 *
 * The background thread (level_bg.c) does, in this order of priority: the
 * flush of imm to a table (level 0, or deeper when nothing above overlaps
 * it), then compactions while a level's score is >= 1.  Each changes the
 * database by one version edit:
 *   V1. the edit's new tables are whole and synced, and the directory
 *       synced, before the edit is appended to the manifest;
 *   V2. the edit is in the manifest (fsync'd) before its version is
 *       installed for readers, and before any file it removes is deleted;
 *   V3. a table file is deleted only when no version holds it any more
 *       (the current one, or one a reader or iterator still reads), and
 *       never after a manifest append failed (whether the edit is on disk
 *       is then unknown: the next open decides, from the manifest).
 * Locks: stage 04's (lsm_db.h), plus obsolete_lock, alone, for the list
 * of table numbers no version holds any more.
 */
#ifndef KV_LEVEL_DB_H
#define KV_LEVEL_DB_H


#include <pthread.h>
#include <stdint.h>

#include "compaction_pick.h"
#include "lsm_db.h"
#include "manifest.h"
#include "version.h"

/* The version of stage 06's formats (logs as stage 04, tables as stage 05,
 * the manifest and CURRENT), in IDENTITY. */
#define LEVEL_DB_FORMAT 1u
/* A manifest past this size is rolled over at the next edit. */
#define LEVEL_MANIFEST_ROLL_BYTES (4u << 20)
/* The size the engine uses: LEVEL_MANIFEST_ROLL_BYTES, unless a test
 * lowered it before opening a database (the crash tester does, so that
 * its short workloads roll the manifest over many times; it is no
 * option of kv.h because nothing but a test needs another size).  Read
 * by the background thread, so written only while no database is open. */
extern uint64_t level_test_manifest_roll_bytes;
#define LEVEL_DEFAULT_L0_SLOWDOWN 8
#define LEVEL_DEFAULT_L0_STOP 12

/* What happened at each level since open (level_bg.c, level_stats.c). */
typedef struct level_counters {
    uint64_t compactions;       /* compactions into this level */
    uint64_t moves;             /* trivial moves into this level */
    uint64_t bytes_read;        /* input bytes from this level and the one above */
    uint64_t bytes_written;     /* output bytes written to this level */
    uint64_t us;                /* time spent */
} level_counters;

typedef struct level_db {
    kv_db base;                 /* stage 04's database: must stay first */

    compaction_options copt;    /* level_ratio, l1_bytes, table_bytes, ... */
    int l0_slowdown, l0_stop;

    version *current;           /* write_lock */
    int l0_files;               /* current's level-0 tables (__atomic) */
    uint64_t next_file;         /* the background thread's */
    uint64_t log_seq;           /* every write up to it is in tables */
    manifest_writer *manifest;  /* the background thread's */
    uint64_t manifest_number;
    uint64_t manifest_edits_at_new; /* manifest_edits when it was made */
    int manifest_broken;        /* V3: an append failed; nothing is deleted */
    /* Compact pointers (round robin per level; the picker's input). */
    uint8_t *pointer[VERSION_LEVELS];
    size_t pointer_len[VERSION_LEVELS];
    /* kv_compact's request to the thread (write_lock). */
    int compact_waiters, compact_done, compact_rc;
    int compact_paused;         /* a background compaction ran out of memory:
                                   none is picked until the next flush */
    pthread_cond_t bg_idle;     /* the thread finished a job or went idle */

    pthread_mutex_t obsolete_lock;
    uint64_t *obsolete;         /* table numbers no version holds */
    size_t nobsolete, obsolete_cap;
    int obsolete_nomem;         /* one could not be listed: removed at open */
    int closing;                /* kv_close: the version's release deletes nothing */

    /* Counters since open (__atomic). */
    level_counters levels[VERSION_LEVELS];
    uint64_t slowdowns, slowdown_us, stops, stop_us;
    uint64_t files_deleted, manifest_rolls, manifest_edits;
    uint64_t flushes_in_compaction;
    uint64_t open_garbage_removed;
} level_db;

typedef struct level_view {
    lsm_view base;              /* stage 04's: mem, imm (tables unused) */
    version *v;                 /* the version read with them */
} level_view;

static inline level_db *level_db_of(kv_db *db) { return (level_db *)db; }
static inline level_view *level_view_of(lsm_view *v) { return (level_view *)v; }

/* ---- versions (level_db.c) ------------------------------------------------ */

/* Makes v the current version (taking over the caller's reference) and
 * publishes a view of mem, imm (unless flushed: imm is dropped) and v, in
 * lv, which the caller allocated (calloc) before the edit that made v
 * went into the manifest, so that nothing can fail once the manifest
 * holds it; lv is taken over.  REQUIRES: write_lock held. */
void level_install(level_db *ldb, version *v, int flushed, level_view *lv);
/* The release callback of every version (version.h): the last version
 * holding f is gone: its table is closed, its number listed for deletion. */
void level_vfile_gone(void *ctx, vfile *f);
/* Deletes the table files listed as obsolete (V3).  Any thread, no lock. */
void level_delete_obsolete(level_db *ldb);
/* The vfile of an added table, its table opened (vfile_open_fn of
 * version.h; ctx is the level_db). */
int  level_vfile_open(void *ctx, const edit_file *f, vfile **out);

/* ---- files (level_files.c) -------------------------------------------------- */

#define LEVEL_NAME_MAX 64
void level_table_name(char out[LEVEL_NAME_MAX], uint64_t number);
/* The full path of table `number`: malloc'd, NULL if out of memory. */
char *level_table_path(level_db *ldb, uint64_t number);

/* ---- recovery (level_recover.c) -------------------------------------------- */

/* kv_open's work between IDENTITY and the write path: CURRENT, the
 * manifest, the version, garbage removed, logs replayed, a fresh manifest. */
int  level_recover(level_db *ldb);
/* The snapshot edit of the current version and counters: the first record
 * of a new manifest.  KV_OK or NOMEM.  REQUIRES: write_lock held, or the
 * background thread (the only one changing versions). */
int  level_snapshot_edit(level_db *ldb, version_edit *e);
/* A new manifest holding that snapshot, made live (CURRENT); the old one
 * is deleted.  REQUIRES: as level_snapshot_edit.  kv_close makes one too
 * if the live manifest holds edits after its snapshot: a closed manifest
 * is then one record, which a cut anywhere leaves incomplete and the next
 * open refuses, where a cut between two edits would read as a shorter,
 * valid manifest and lose the tables of the edits cut off. */
int  level_manifest_new(level_db *ldb);

/* ---- the background thread (level_bg.c) ------------------------------------- */

int  level_bg_start(level_db *ldb);
void level_bg_stop(level_db *ldb);
/* One edit made durable and installed (V1, V2): e built on `base` (the
 * current version), written to the manifest (rolled over first if it is
 * too big), then installed.  REQUIRES: write_lock held (released while
 * writing); the calling thread is the only one changing versions. */
int  level_apply_edit(level_db *ldb, version_edit *e, int flushed);
/* (REQUIRES for level_apply_edit, precisely: write_lock NOT held; it takes
 * it to install.) */
/* Syncs the directory; a failed fsync is final (lsm_db.h, D4).
 * REQUIRES: write_lock not held. */
int  level_sync_dir(level_db *ldb, const char *call);

/* ---- the flush and compaction jobs (level_flush.c, level_compact.c) --------- */

/* Writes imm to a table, in level 0 or deeper (compaction_flush_level;
 * level 0 only if level0_only), and installs it.  REQUIRES: write_lock held
 * (released while writing), imm not NULL. */
int  level_flush(level_db *ldb, int level0_only);
/* Whether the background thread may change the database: no final failure,
 * the manifest not broken.  REQUIRES: write_lock held. */
int  level_bg_can_work(level_db *ldb);
/* Runs c (picked from the current version); manual (kv_compact): never a
 * trivial move.  REQUIRES: write_lock held (released while writing). */
int  level_compact(level_db *ldb, compaction *c, int manual);

/* ---- writers (level_put.c) --------------------------------------------------- */

/* The L0 slowdown and stop: before a write takes its place in the queue.
 * KV_OK, or why the write is refused.  REQUIRES: no lock held. */
int  level_write_admit(level_db *ldb, const char *call);
/* level_write_admit, then lsm_write (lsm_put.c calls it by that name). */
int  level_write(kv_db *db, const char *call, const batch_op *ops, size_t n);

#endif
