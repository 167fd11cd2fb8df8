/*
 * level_set.h: stage 06's table set (stage 04's table_set.h, the interface
 * the engine reads and changes its tables through): the tables in levels
 * (version.h), the levels kept in a manifest (manifest.h), kept in shape by
 * leveled compaction, whose jobs it picks (compaction_pick.h) and whose
 * results it applies; stage 04's engine (linked unchanged) writes every
 * table and runs every merge.  Like LevelDB's VersionSet, it holds no
 * pointer to the engine: the engine's lock comes as an argument to the
 * call that installs a change (table_set_apply).
 *
 * Its modules, in the order of docs/06-leveled.md's reading plan (which
 * reads versions/, version_edit.h among them, first):
 *   level_apply.c    a job's result as an edit, made durable in the
 *                    manifest, then installed (the one way the tables
 *                    change), and the life of table files;
 *   level_pick.c     the jobs: a flush's, a compaction's (the score, the
 *                    garbage), kv_compact's steps, and the questions a
 *                    merge asks of its job;
 *   level_read.c     a lookup and the iterators over a version's levels;
 * then, on a second reading:
 *   level_iter.c     a level >= 1 read as one sorted source;
 *   level_recover.c  kv_open: CURRENT, the manifest, the version, garbage;
 *   level_set.c      the rest of the interface: options, admission, close;
 *   level_files.c    the names of this stage's files;
 * and its tools (tools/): kv_stats's and kv_inspect's lines per level
 * (level_stats.c, level_inspect.c), kv check and kv dump, kv repair.
 *
 * Who owns what:
 *   current   the version (version.h): the tables of every level.  Changed
 *             only by table_set_apply (and kv_open), under the engine's
 *             write lock; every view holds a reference on the version it
 *             was made with.
 *   manifest  the open manifest: written only by the thread that changes
 *             the set (and kv_open and kv_close), so it needs no lock of
 *             its own; so is next_file, the next file number (tables,
 *             manifests).
 *   pointer   the compact pointers, read by the pick and changed by apply,
 *             both under the engine's lock.
 * Locks: the engine's, plus obsolete_lock, alone, for the list of table
 * numbers no version holds any more.
 */
#ifndef KV_LEVEL_SET_H
#define KV_LEVEL_SET_H

#include <pthread.h>
#include <stdint.h>

#include "compaction_pick.h"
#include "manifest.h"
#include "table_set.h"
#include "version.h"

/* The version of stage 06's formats (logs as stage 04, tables as stage 05,
 * the manifest and CURRENT), in IDENTITY. */
#define LEVEL_DB_FORMAT 1u
/* A manifest past this size is rolled over at the next edit. */
#define LEVEL_MANIFEST_ROLL_BYTES (4u << 20)
#define LEVEL_DEFAULT_L0_SLOWDOWN 8
_Static_assert(VERSION_LEVELS <= TABLE_LEVELS_MAX, "the engine counts every level's work");
#define LEVEL_DEFAULT_L0_STOP 12

struct table_set {
    table_set_env env;          /* the directory, the tables' context, options */

    compaction_options copt;    /* level_ratio, l1_bytes, table_bytes, ... */
    int l0_slowdown, l0_stop;

    version *current;           /* the engine's lock */
    int l0_files;               /* current's level-0 tables (__atomic) */
    uint64_t next_file;
    uint64_t log_seq;           /* every write up to it is in tables */
    manifest_writer *manifest;
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

    pthread_mutex_t obsolete_lock;
    uint64_t *obsolete;         /* table numbers no version holds */
    size_t nobsolete, obsolete_cap;
    int obsolete_nomem;         /* one could not be listed: removed at open */
    int closing;                /* table_set_close: releasing deletes nothing */
    int pending_rc;             /* a harmless failure (an old manifest not
                                   removed) table_set_collect says once */
    char pending_why[512];

    /* Its own counters (__atomic): the manifest's, and kv_open's. */
    uint64_t manifest_rolls, manifest_edits;
    uint64_t open_garbage_removed;
};

/* A set with env's options, empty (level_recover.c fills it).  KV_OK or
 * NOMEM (*out may then be NULL). */
int level_set_new(const table_set_env *env, table_set **out);
/* Frees a job of this set (level_pick.c): its outputs' records and its
 * compaction.  NULL is a no-op. */
void level_job_free(table_job *job);
/* kv_stats's lines (level_stats.c) and kv_inspect's (level_inspect.c), the
 * two halves of table_set_describe. */
int  level_stats_lines(table_set *ts, const version *v, const table_describe *d,
                       kv_line_fn line, void *ctx);
int  level_inspect_lines(table_set *ts, const version *v, const table_describe *d,
                         kv_line_fn line, void *ctx);

#endif
