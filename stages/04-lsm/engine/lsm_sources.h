/*
 * lsm_sources.h: an interface the engine offers a check that runs in its
 * write path (a transaction's commit: stage 07's txn_versions.c): the
 * sources a reader merges, as they are at this moment of the write path:
 * the active memtable, the frozen one, the tables of the current view,
 * with the sequence numbers that say which of them can hold a version
 * written after a given one.  The caller builds its iterators over them
 * (memtable_iter_new, table_set_iters, merge_iter_new) and never sees the
 * engine's struct (lsm_db.h).
 *
 * REQUIRES (lsm_sources_get, lsm_sources_release): the engine's write lock held, as the write
 * path's check holds it (txn_stage_write_checked): no write can come
 * between what the sources say and the record being checked.
 */
#ifndef KV_LSM_SOURCES_H
#define KV_LSM_SOURCES_H

#include <stdint.h>

#include "iterator.h"
#include "kv.h"
#include "memtable.h"
#include "table_set.h"

typedef struct lsm_sources {
    memtable *mem;              /* newest first: mem, imm, then the tables */
    memtable *imm;              /* NULL if none */
    table_set_version *tables;
    uint64_t memory_from;       /* the oldest write the memtables hold (0:
                                   none): every write from it on is in them */
    uint64_t last;              /* every write up to it is in the sources */
    void *view;                 /* the engine's, held until released */
    kv_db *db;
} lsm_sources;

/* The sequence number a snapshot reads at: a version numbered above it
 * was written after the snapshot was taken.  Any thread, no lock. */
uint64_t lsm_sources_seq_of(const kv_snapshot *snap);
/* The sources now, with a reference that keeps them readable until
 * lsm_sources_release. */
void lsm_sources_get(kv_db *db, lsm_sources *s);
/* Drops the reference (iterators made from them hold their own). */
void lsm_sources_release(lsm_sources *s);
/* *it (an iterator over the sources), with only the user's writes among
 * the versions numbered after snap_seq: the engine writes versions of its
 * own too, when it runs a value store's job (value_store.h: a put of the
 * same value, to move it), and no transaction conflicts with those.
 * Takes over *it, also when it fails (KV_ERR_NOMEM: *it freed and NULL).
 * Where the engine wrote none, *it is left as it is. */
int  lsm_sources_user_writes(const lsm_sources *s, uint64_t snap_seq, iter **it);

#endif
