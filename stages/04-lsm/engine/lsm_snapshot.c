/*
 * lsm_snapshot.c: snapshots for stage 04: a snapshot is a sequence number
 * (internal_key.h) in a list kept oldest first, so that whatever drops old
 * versions of keys (kv_compact, compactions: drop_rule.h) keeps every
 * version the oldest one sees; when the oldest goes, the background thread
 * is woken if the table set waits for that (table_set_pick's wake_seq).
 */
#include "lsm_db.h"

#include <stdlib.h>

#include "args.h"
#include "error.h"

int kv_snapshot_new(kv_db *db, const kv_snapshot **snap)
{
    int rc;
    if ((rc = args_check_ptr("kv_snapshot_new", db, "db")) != KV_OK ||
        (rc = args_check_ptr("kv_snapshot_new", snap, "snapshot pointer")) != KV_OK)
        return rc;
    *snap = NULL;
    kv_snapshot *s = calloc(1, sizeof *s);
    if (s == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_snapshot_new: out of memory");
    s->db = db;
    pthread_mutex_lock(&db->snaps.lock);
    /* Taken in order under the lock, so the list stays sorted by number. */
    s->seq = atomic_load_explicit(&db->seq.last, memory_order_acquire);
    s->prev = db->snaps.tail;
    if (db->snaps.tail)
        db->snaps.tail->next = s;
    else
        db->snaps.head = s;
    db->snaps.tail = s;
    pthread_mutex_unlock(&db->snaps.lock);
    atomic_fetch_add_explicit(&db->snaps.live, 1, memory_order_relaxed);
    *snap = s;
    return KV_OK;
}

void kv_snapshot_free(kv_db *db, const kv_snapshot *snap)
{
    /* Another database's snapshot stays live: its kv_close will say so. */
    if (snap == NULL || snap->db != db)
        return;
    kv_snapshot *s = (kv_snapshot *)snap;
    pthread_mutex_lock(&db->snaps.lock);
    int was_oldest = db->snaps.head == s;
    if (s->prev)
        s->prev->next = s->next;
    else
        db->snaps.head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        db->snaps.tail = s->prev;
    pthread_mutex_unlock(&db->snaps.lock);
    free(s);
    /* The oldest snapshot moved on: if the table set waits for that (a
     * table of versions only this snapshot could read), wake the thread.
     * The one free that clears the number wakes it (the thread sets it
     * again when it next waits), so the write lock is taken once per wait,
     * not by every free meanwhile. */
    uint64_t wake_seq = atomic_load_explicit(&db->bg.wake_seq, memory_order_acquire);
    if (was_oldest && wake_seq != 0 && lsm_oldest_snapshot(db) >= wake_seq &&
        atomic_compare_exchange_strong_explicit(&db->bg.wake_seq, &wake_seq, 0,
                                                memory_order_acq_rel, memory_order_acquire)) {
        pthread_mutex_lock(&db->write_lock);
        lsm_bg_wake(db);
        pthread_mutex_unlock(&db->write_lock);
    }
    atomic_fetch_sub_explicit(&db->snaps.live, 1, memory_order_release);
}
