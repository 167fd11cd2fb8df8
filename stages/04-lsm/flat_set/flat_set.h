/*
 * flat_set.h: stage 04's table set (table_set.h): one flat list of
 * tables, newest first, each named by the range of sequence numbers it
 * holds, so that the directory listing alone says what the database is
 * (lsm_files.h, F1 to F3).  A flush adds a table in front; kv_compact
 * merges them all into one (its job: every table, newest first, into one
 * output named after the union of their ranges).  It has no levels, no
 * brake on writers and no work of its own in the background.
 *
 * Adding a table, the one protocol a flush and kv_compact share
 * (docs/04-lsm.md, "The flush protocol"):
 *   1. the engine builds it under its temporary name (lo-hi.tbl.tmp,
 *      table_set_output); the builder syncs the file (table.h);
 *   2. table_set_apply renames it to lo-hi.tbl (over the old one, if
 *      kv_compact's output has the name of its only input);
 *   3. and syncs the directory: from here on the name survives a power
 *      loss (a failed fsync is final);
 *   4. it opens the table and, under the engine's lock, makes the new
 *      list current; the engine installs it with a view;
 *   5. only then may the engine delete what the table replaces (logs), and
 *      a crash before that leaves files that kv_open knows to be redundant
 *      (lsm_files.h, F1 and F3).  A table kv_compact replaced goes with the
 *      last version that holds it: a reader still at an older version (a
 *      get, an iterator) may open its file again (stage 05's cache of open
 *      files closes them), so it stays until no one can read it.
 * A failure before 3 removes the temporary file and changes nothing.
 */
#ifndef KV_FLAT_SET_H
#define KV_FLAT_SET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "table.h"
#include "table_set.h"

/* The version of stage 04's formats (logs and tables), in IDENTITY. */
#define FLAT_SET_FORMAT 1u

/* A table of the database, shared by every version that holds it. */
typedef struct flat_table {
    atomic_int refs;            /* the versions holding it */
    table_set *set;             /* whose removals it reports */
    table *t;
    uint64_t lo, hi;            /* the sequence numbers its name gives */
    atomic_int doomed;          /* kv_compact replaced it: its file is
                                   removed when the last version goes */
} flat_table;

/* A version: the tables, newest first (lsm_files.h, F2), a reference on
 * each. */
struct table_set_version {
    atomic_int refs;
    flat_table **tables;
    size_t n;
};

struct table_set {
    table_set_env env;
    table_set_version *current;     /* the engine's lock */
    /* A doomed table's file that could not be removed (it is harmless:
     * kv_open removes it, F1), for table_set_collect to report once.
     * removal_lock alone (a table is released on whichever thread drops
     * its last version, holding any lock). */
    pthread_mutex_t removal_lock;
    atomic_int removal_failed;
    char removal_why[512];
    uint64_t removed;               /* doomed files removed since collected */
};

#endif
