/*
 * lsm_tables.h: adding tables to the database and taking them out, the
 * protocol the flush (lsm_flush.c) and kv_compact (lsm_compact.c) share
 * (lsm_tables.c has its steps and why they come in that order).
 */
#ifndef KV_LSM_TABLES_H
#define KV_LSM_TABLES_H

#include <stdint.h>

#include "lsm_db.h"
#include "table.h"

/* A table being written: add entries with table_builder_add(o->b, ...). */
typedef struct lsm_table_out {
    table_builder *b;
    char *tmp, *path;
    uint64_t lo, hi;
} lsm_table_out;

/* Starts the table lo-hi under its temporary name.  KV_OK, or an error
 * (nothing is left behind). */
int  lsm_table_out_begin(kv_db *db, uint64_t lo, uint64_t hi, lsm_table_out *o);
/* Finishes it (synced), renames it into place, syncs the directory and
 * opens it into *out (one reference, the caller's).  On failure the
 * temporary file is gone.  REQUIRES: write_lock not held; at least one
 * entry added. */
int  lsm_table_out_finish(kv_db *db, lsm_table_out *o, const char *call, lsm_table *out,
                          table_meta *meta);
/* Removes the temporary file; o may be zeroed (a no-op). */
void lsm_table_out_abandon(lsm_table_out *o);

/* The table list without the tables `gone`, with `add` (may be NULL) in its
 * place by age, and without imm if `flushed`; made current for readers.
 * Takes over the caller's reference on add->t; drops the list's on each
 * gone table.  KV_OK or KV_ERR_NOMEM (nothing changed).
 * REQUIRES: write_lock held. */
int  lsm_tables_install(kv_db *db, const lsm_table *gone, size_t ngone, const lsm_table *add,
                        int flushed);

/* Removes the logs, all but the last, whose writes are all at or below hi
 * (now in a table), from the list and from the directory (no directory
 * sync: a log that comes back is removed at open, F3).
 * REQUIRES: write_lock held. */
void lsm_wals_drop_covered(kv_db *db, uint64_t hi);

#endif
