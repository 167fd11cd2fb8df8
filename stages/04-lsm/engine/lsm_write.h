/*
 * lsm_write.h: the engine's write path (lsm_write.c: its steps are at the
 * top of that file): what it keeps of the memtables (struct lsm_memtables,
 * the engine's `memtables`), and the calls kv_open, kv_close and kv_compact make
 * of it.
 *
 * Two memtables at most (lsm_db.h, "The parts"): mem takes writes; imm,
 * frozen, waits for the background thread's flush.  A writer that fills
 * mem while imm is still there waits (kv_stats: session.write.stalls).
 * Every field is guarded by the engine's write_lock; readers reach the
 * memtables through a view (lsm_view.c), never through these pointers.
 */
#ifndef KV_LSM_WRITE_H
#define KV_LSM_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"
#include "memtable.h"

typedef struct lsm_memtables {
    memtable *mem;              /* takes writes */
    memtable *imm;              /* frozen, being flushed; NULL if none */
    uint64_t mem_lo;            /* the first sequence number in mem (0: none) */
    uint64_t imm_lo, imm_hi;    /* the writes imm holds */
    size_t limit;               /* mem's size: opt.memtable_bytes, or the
                                   default (a value store may raise it) */
} lsm_memtables;

/* Freezes mem (unless empty) and waits until no memtable is left to flush:
 * every write acknowledged before the call is in the tables.  For
 * kv_compact.  REQUIRES: write_lock not held. */
int  lsm_write_flush_all(kv_db *db, const char *call);
/* At the end of kv_open: the queue over the last log; sync_dir: recovery
 * removed, cut or made files, whose names are synced now. */
int  lsm_write_open(kv_db *db, int sync_dir);
/* First thing at kv_close after the background thread ended. */
int  lsm_write_close(kv_db *db);

#endif
