/*
 * lsm_snapshot.h: the engine's live snapshots (lsm_snapshot.c): a list,
 * oldest first, of the sequence numbers readers hold (struct lsm_snapshots,
 * the engine's `snaps`), which tells a merge what it must keep
 * (drop_rule.h), and the count of snapshots and iterators not yet freed.
 * The list is guarded by its own lock, taken alone (lsm_db.h, "Locks").
 */
#ifndef KV_LSM_SNAPSHOT_H
#define KV_LSM_SNAPSHOT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "kv.h"

typedef struct lsm_snapshots {
    pthread_mutex_t lock;       /* guards head and tail */
    kv_snapshot *head, *tail;   /* oldest first */
    _Atomic uint64_t live;      /* snapshots and iterators not freed */
} lsm_snapshots;

/* The oldest sequence number a reader may still read at: the oldest live
 * snapshot's, else the last.  (lsm_view.c.) */
uint64_t lsm_oldest_snapshot(kv_db *db);

#endif
