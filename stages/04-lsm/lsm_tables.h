/*
 * lsm_tables.h: stage 04's table set (table_set.h): one flat list of
 * tables, newest first, each named by the range of sequence numbers it
 * holds, so that the directory listing alone says what the database is
 * (lsm_files.h, F1 to F3).  A flush adds a table in front; kv_compact
 * merges them all into one (lsm_compact.c).
 *
 * Adding a table, the one protocol the flush and kv_compact share
 * (docs/04-lsm.md, "The flush protocol"):
 *   1. build it under its temporary name (lo-hi.tbl.tmp); the builder
 *      syncs the file before it returns (table.h);
 *   2. rename it to lo-hi.tbl (over the old one, if kv_compact's output
 *      has the name of its only input);
 *   3. sync the directory: from here on the name survives a power loss;
 *   4. open it, and install a new version and view (under write_lock),
 *      so readers find it;
 *   5. only then may the caller delete what the table replaces (logs,
 *      tables), and a crash before that leaves files that kv_open knows
 *      to be redundant (lsm_files.h, F1 and F3).  A table kv_compact
 *      replaced goes with the last version that holds it: a reader still
 *      at an older version (a get, an iterator) may open its file again
 *      (stage 05's cache of open files closes them), so it stays until no
 *      one can read it.
 * A failure before 3 removes the temporary file and changes nothing; a
 * failed directory fsync is final (lsm_db.h, D4).
 */
#ifndef KV_LSM_TABLES_H
#define KV_LSM_TABLES_H

#include <stdatomic.h>
#include <stdint.h>

#include "lsm_db.h"
#include "table.h"
#include "table_set.h"

/* The version of stage 04's formats (logs and tables), in IDENTITY. */
#define LSM_DB_FORMAT 1u

/* A table of the database, shared by every version that holds it. */
typedef struct lsm_table {
    atomic_int refs;            /* the versions holding it */
    table_set *set;             /* whose removals it reports */
    table *t;
    uint64_t lo, hi;            /* the sequence numbers its name gives */
    atomic_int doomed;          /* kv_compact replaced it: its file is
                                   removed when the last version goes */
} lsm_table;

/* A version: the tables, newest first (lsm_files.h, F2), a reference on
 * each. */
struct table_set_version {
    atomic_int refs;
    lsm_table **tables;
    size_t n;
};

/* An lsm_table of t (taking over the caller's reference on t), one
 * reference.  KV_OK or NOMEM (t released). */
int  lsm_table_new(table_set *ts, table *t, uint64_t lo, uint64_t hi, lsm_table **out);
/* Drops a reference; the last closes the table, and removes its file if
 * it is doomed (a failed removal leaves it for kv_open, F1, and is kept
 * for the set to report once).  NULL is a no-op. */
void lsm_table_unref(lsm_table *lt);
/* The failed removal kept for reporting, as `call`'s error (and cleared);
 * KV_OK if there is none. */
int  lsm_tables_take_removal_error(table_set *ts, const char *call);

struct table_set {
    kv_db *db;
    table_set_version *current;     /* write_lock */
    /* A doomed table's file that could not be removed (it is harmless:
     * kv_open removes it, F1), for the next call to report: a write,
     * kv_compact or kv_close.  removal_lock alone (a table is released on
     * whichever thread drops its last version, holding any lock). */
    pthread_mutex_t removal_lock;
    atomic_int removal_failed;
    char removal_why[512];
};

/* A table being written: add entries with table_builder_add(o->b, ...). */
typedef struct lsm_table_out {
    table_builder *b;
    char *tmp, *path;
    uint64_t lo, hi;
} lsm_table_out;

/* Step 1 begins: the table lo-hi under its temporary name.  KV_OK, or an
 * error (nothing is left behind). */
int  lsm_table_out_begin(kv_db *db, uint64_t lo, uint64_t hi, lsm_table_out *o);
/* Steps 1 to 3 end: finishes it (synced), renames it into place, syncs
 * the directory and opens it into *out (one reference, the caller's).  On
 * failure the temporary file is gone.  REQUIRES: write_lock not held; at
 * least one entry added. */
int  lsm_table_out_finish(kv_db *db, lsm_table_out *o, const char *call, lsm_table **out,
                          table_meta *meta);
/* Removes the temporary file; o may be zeroed (a no-op). */
void lsm_table_out_abandon(lsm_table_out *o);

/* Step 4: a new version without the tables `gone` (doomed, unless the
 * added table took its name), with `add` (may be NULL) in its place by
 * age, made current with a new view (without imm if `flushed`).  Takes
 * over the caller's reference on add.  KV_OK or KV_ERR_NOMEM (nothing
 * changed).  REQUIRES: write_lock held. */
int  lsm_tables_install(table_set *ts, lsm_table *const *gone, size_t ngone, lsm_table *add,
                        int flushed);

#endif
