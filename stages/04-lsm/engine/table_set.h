/*
 * table_set.h: the tables of an LSM tree, an interface.  A table set
 * answers questions and applies edits; the engine does the work.  It
 * knows which tables a read sees (a version), which tables a job should
 * take and where its output goes (table_job.h), and how to make a change
 * durable; it never reads a memtable, never waits, wakes, flushes,
 * counts or fails on the engine's behalf, and holds no pointer to the
 * engine.  The engine (lsm_db.h) writes every table, runs every merge
 * with the one rule of what a merge may drop (drop_rule.h), holds its
 * locks, counts its work and keeps its failures.  Two implementations:
 *   stage 04   one flat list of tables, newest first, named by the
 *              sequence numbers they hold, found from the directory
 *              listing alone (flat_set.h): kv_compact merges them all;
 *   stage 06   levels of tables kept in a manifest, with leveled
 *              compaction (stages/06-leveled/level_set/level_set.h).
 * A stage links exactly one (its stage.mk says which), as it links one
 * table format behind table.h.  LevelDB's shape: its VersionSet holds no
 * pointer to the engine and takes the engine's lock as an argument
 * (LogAndApply), the engine runs compactions and asks the set what to do
 * (PickCompaction) (db/version_set.h, db/db_impl.cc).
 *
 * A version is immutable and reference-counted: a reader takes the one in
 * the engine's view and reads it without any lock, however the set
 * changes meanwhile; the tables a version holds stay open, and their
 * files stay on disk, until the last version holding them is released
 * (and table_set_collect removes them).
 *
 * Threads: one thread at a time changes the set (table_set_pick and
 * table_set_apply: the engine's background thread, or kv_open before it
 * starts), holding the lock it passes; table_set_admit and the reads of
 * a version come from any thread.
 */
#ifndef KV_TABLE_SET_H
#define KV_TABLE_SET_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "db_dir.h"
#include "internal_key.h"
#include "iterator.h"
#include "kv.h"
#include "lsm_files.h"
#include "table.h"
#include "table_cost.h"
#include "table_job.h"

typedef struct table_set table_set;
typedef struct table_set_version table_set_version;

/* What a set is opened with: the database's directory, its tables' context
 * and its options (they outlive the set). */
typedef struct table_set_env {
    const db_dir *dir;
    table_ctx *tctx;
    const kv_options *opt;
} table_set_env;

/* What table_set_open found. */
typedef struct table_set_found {
    table_set_version *current; /* the tables, one reference, the caller's */
    uint64_t flushed;           /* every write numbered up to it is in them */
    int levels;                 /* levels a job's output may go to (0: none,
                                   a flat list): the engine counts its work
                                   per level, and keeps the counts, for
                                   levels below this */
    uint64_t tables_removed;    /* tables no longer part of the database */
    uint64_t tmps_removed;      /* temporary files */
    uint64_t others_removed;    /* the set's own leftovers (stage 06: old
                                   manifests) */
    uint64_t torn_bytes;        /* a torn tail the set's own files had */
} table_set_found;

/* ---- open and close ------------------------------------------------------ */

/* The version of the stage's formats that IDENTITY records (db_dir.h). */
unsigned table_set_format(void);

/* kv_open's part for the tables, after IDENTITY and before the logs are
 * replayed: finds the tables of the directory (l is its listing,
 * lsm_files.h), opens them, removes what is not part of the database
 * (unless read-only), fills *found and marks l->wals[i].covered for the
 * logs that hold nothing else.  On failure *out may hold a partly made
 * set: table_set_close(*out, 0) frees it. */
int  table_set_open(const table_set_env *env, lsm_listing *l, table_set **out,
                    table_set_found *found);
/* kv_close's part, once no job runs and the engine holds no version: if
 * `clean` (nothing failed, not read-only) writes what a closed database
 * keeps (stage 06: a manifest of one snapshot).  Then frees the set and
 * its versions, removing no file (after a failed kv_open too).  KV_OK or
 * the failure of that write.  NULL is a no-op. */
int  table_set_close(table_set *ts, int clean);

/* ---- versions: what a reader reads --------------------------------------- */

/* A version's references: a view holds one, an iterator one through its
 * view.  unref(NULL) is a no-op. */
void table_set_version_ref(table_set_version *v);
void table_set_version_unref(table_set_version *v);

/* How one table_set_get went, for the engine's counters, and in kv_cost's
 * terms (kv.h) for the caller's thread. */
typedef struct table_get_cost {
    uint64_t reads;             /* positioned reads */
    uint64_t searched;          /* tables that had to be read */
    kv_cost kv;                 /* tables_in_range .. bytes_read */
} table_get_cost;

/* One table's answer to a lookup walking a version newest first, r as
 * table_get filled it, counted in c: 1 if the walk ends there (*status
 * KV_OK with *val, *vlen and *elsewhere the value's; or KV_NOT_FOUND, the
 * newest version is a delete), 0 if an older table must be asked. */
static inline int table_get_answered(const table_get_result *r, void **val, size_t *vlen,
                                     int *elsewhere, int *status)
{
    if (r->state == IKEY_FOUND) {
        *val = r->value;
        *vlen = r->value_len;
        if (elsewhere != NULL)
            *elsewhere = r->elsewhere;
        *status = KV_OK;
        return 1;
    }
    if (r->state == IKEY_DELETED) {
        *status = KV_NOT_FOUND;
        return 1;
    }
    return 0;
}

/* Adds one table's part of a lookup, r as table_get filled it. */
static inline void table_get_cost_add(table_get_cost *c, const table_get_result *r)
{
    c->reads += r->reads;
    c->searched += r->reads > 0;
    table_cost_add(&c->kv, r);
}

/* Instead of table_get, for each table a lookup meets (kv_inspect_get, so
 * that it shows the very path table_set_get takes): fills *r as
 * table_get would (table_get_last where last is 1; r->value NULL), and
 * may say so.  t NULL: a level whose tables none holds the key (level >=
 * 0; r->state IKEY_ABSENT).  level -1: the set has no levels.  KV_OK or
 * an error. */
typedef int (*table_look_fn)(void *ctx, table *t, int level, int last, const ikey_lookup *lk,
                             table_get_result *r);

/* The tables' part of a lookup at lk (the engine asks its memtables
 * first), in the order a lookup asks them: KV_OK with *val (malloc'd) and
 * *elsewhere if not NULL (the entry's value says where the value store
 * keeps it: value_store.h), KV_NOT_FOUND (absent, or deleted), or an error; *cost
 * adds what it read.  look NULL: table_get. */
int  table_set_get(const table_set_version *v, const ikey_lookup *lk, table_look_fn look,
                   void *look_ctx, void **val, size_t *vlen, int *elsewhere,
                   table_get_cost *cost);
/* Iterators over v's tables, newest source first, in a malloc'd array
 * after `lead` empty slots (the engine's memtables go there): (*out)[lead
 * .. *n).  Each holds what it reads (the version stays alive until the
 * last is freed).  KV_OK, or an error with none left. */
int  table_set_iters(table_set_version *v, size_t lead, iter ***out, size_t *n);

/* ---- what the engine asks ------------------------------------------------ */

typedef enum table_admit {
    TABLE_ADMIT_OK,             /* write */
    TABLE_ADMIT_SLOW,           /* the tables fall behind: slow down once */
    TABLE_ADMIT_STOP,           /* too far behind: wait for a job to end */
} table_admit;

/* Whether a write may go in now (stage 06: level 0's count against its
 * slowdown and stop thresholds; stage 04: always).  Any thread, no lock:
 * an answer from the last version applied. */
table_admit table_set_admit(table_set *ts);

/* A job for what the engine asks (table_job.h): *out = NULL if none.
 * *wake_seq (may be NULL): 0, or the oldest snapshot from which on the set
 * would have a job it has not now (stage 06: a table full of versions
 * only older snapshots read).  KV_OK or KV_ERR_NOMEM.
 * REQUIRES: the engine's write lock held; the thread that changes the set. */
int  table_set_pick(table_set *ts, const table_ask *ask, table_job **out, uint64_t *wake_seq);
/* A new output file for job: *out (in job) names where the engine builds
 * it (table_builder_new), which the engine fills in once it is finished.
 * KV_OK or KV_ERR_NOMEM.  REQUIRES: as table_set_pick, no lock held. */
int  table_set_output(table_set *ts, table_job *job, table_output **out);
/* Ends job.  status KV_OK: the engine did its part (every output
 * finished); the set makes the change durable (the directory synced, the
 * manifest appended) and installs it as its current version, which
 * *installed gets with a reference for the engine's view.  Any other
 * status, or a failure here: nothing changes, the outputs are removed
 * (unless whether the change is durable is unknown), and *final says
 * whether the engine must stop writing until a reopen (a failed fsync).
 * Frees job whatever happens.  KV_OK or an error.
 * REQUIRES: *lock (the engine's write lock) held: released while writing
 * files, held again on return; the thread that changes the set. */
int  table_set_apply(table_set *ts, table_job *job, int status, pthread_mutex_t *lock,
                     table_set_version **installed, int *final);
/* Removes the files of tables no version holds any more; *removed (may be
 * NULL) counts them.  KV_OK, or the first failure (harmless: kv_open
 * removes what is left; the engine says it once).  No lock held. */
int  table_set_collect(table_set *ts, uint64_t *removed);

/* What table_set_describe shows. */
typedef struct table_describe {
    int inspect;                /* 0: kv_stats's lines; 1: kv_inspect's */
    unsigned flags;             /* kv_inspect's (KV_INSPECT_DETAIL) */
    const uint64_t (*levels)[TABLE_LEVEL_COUNTERS]; /* the engine's counts per
                                   level (table_job.h), found.levels of them */
    pthread_mutex_t *lock;      /* the engine's write lock, for what only the
                                   thread that changes the set reads freely */
} table_describe;

/* kv_stats's lines about v's tables and the set ("tables.count: N"), or
 * kv_inspect's (docs/lab.md: "table", and what groups them, such as
 * levels), each through line(ctx, text).  KV_OK or an error.
 * REQUIRES: no lock held. */
int  table_set_describe(table_set *ts, const table_set_version *v, const table_describe *d,
                        kv_line_fn line, void *ctx);

#endif
