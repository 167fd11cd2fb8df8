/*
 * level_set.h: stage 06's table set (stage 04's table_set.h, the interface
 * its engine reads and changes its tables through): the tables in levels
 * (version.h), the levels kept in a manifest (manifest.h), kept in shape by
 * leveled compaction on the engine's background thread.  Stage 04's
 * engine (lsm_db.h: logs, memtables, the write path, the background
 * thread, reads, snapshots) is linked unchanged.
 *
 * The modules, in the order a first reading takes them:
 *   level_read.c     a lookup and the iterators over a version's levels;
 *   level_flush.c    the flush of a memtable into a new table;
 *   level_work.c     the background work: which compaction, and kv_compact;
 *   level_compact.c  one compaction: the merge and its edit;
 *   version_set.c    an edit made durable in the manifest, then installed
 *                    (the one way the tables change), and the life of
 *                    table files;
 *   level_recover.c  kv_open: CURRENT, the manifest, the version, garbage;
 *   level_admit.c    the level-0 brake on writers;
 *   level_set.c      the rest of the interface: options, close, free;
 *   level_stats.c    kv_stats's lines per level.
 *
 * Who owns what:
 *   current   the version (version.h): the tables of every level.  Changed
 *             only by the background thread (a flush, a compaction) and
 *             kv_open, under the engine's write_lock; every view holds a
 *             reference on the version it was made with.
 *   manifest  the open manifest: written only by the background thread
 *             (and kv_open and kv_close), so it needs no lock of its own.
 *   next_file the next file number (tables, manifests): handed out by the
 *             background thread only (and kv_open before it starts).
 * Locks: the engine's (lsm_db.h), plus obsolete_lock, alone, for the list
 * of table numbers no version holds any more.
 */
#ifndef KV_LEVEL_SET_H
#define KV_LEVEL_SET_H

#include <pthread.h>
#include <stdint.h>

#include "compaction_pick.h"
#include "lsm_db.h"
#include "manifest.h"
#include "table_set.h"
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

/* What happened at each level since open (level_compact.c, level_stats.c). */
typedef struct level_counters {
    uint64_t compactions;       /* compactions into this level */
    uint64_t moves;             /* trivial moves into this level */
    uint64_t bytes_read;        /* input bytes from this level and the one above */
    uint64_t bytes_written;     /* output bytes written to this level */
    uint64_t us;                /* time spent */
} level_counters;

struct table_set {
    kv_db *db;                  /* the engine: its locks, directory, tables' context */

    compaction_options copt;    /* level_ratio, l1_bytes, table_bytes, ... */
    int l0_slowdown, l0_stop;

    version *current;           /* write_lock */
    int l0_files;               /* current's level-0 tables (__atomic) */
    uint64_t next_file;         /* the background thread's */
    uint64_t log_seq;           /* every write up to it is in tables */
    manifest_writer *manifest;  /* the background thread's */
    uint64_t manifest_number;
    uint64_t manifest_edits_at_new; /* manifest_edits when it was made */
    int manifest_broken;        /* VS3: whether the manifest holds an edit is
                                   unknown (its fsync failed): final, and
                                   nothing is deleted */
    int manifest_stale;         /* an append failed before its record was
                                   whole: a new manifest takes over before
                                   the next edit */
    /* Compact pointers (round robin per level; the picker's input). */
    uint8_t *pointer[VERSION_LEVELS];
    size_t pointer_len[VERSION_LEVELS];
    /* kv_compact's request to the background thread (write_lock). */
    int compact_waiters, compact_done, compact_rc;
    char compact_why[512];      /* compact_rc's message */
    uint64_t compact_retry_us;  /* a background compaction failed (a full
                                   disk, no descriptor, no memory): none is
                                   picked before this time (lsm_now_us), or
                                   the next flush; 0: none failed */
    uint64_t compact_backoff_us; /* the wait after the next failure */
    int compacting;             /* the background thread is inside a merge:
                                   a flush made meanwhile goes to level 0 */

    pthread_mutex_t obsolete_lock;
    uint64_t *obsolete;         /* table numbers no version holds */
    size_t nobsolete, obsolete_cap;
    int obsolete_nomem;         /* one could not be listed: removed at open */
    int closing;                /* kv_close: the version's release deletes nothing */

    /* Counters since open (__atomic). */
    level_counters levels[VERSION_LEVELS];
    uint64_t slowdowns, slowdown_us, stops, stop_us;
    uint64_t files_deleted, manifest_rolls, manifest_edits, compact_failures;
    uint64_t flushes_in_compaction;
    uint64_t garbage_compactions;   /* tables rewritten for their dead entries */
    uint64_t open_garbage_removed;
};

/* A set with db's options, empty (level_recover.c fills it).  KV_OK or
 * NOMEM (*out may then be NULL). */
int level_set_new(kv_db *db, table_set **out);

#endif
