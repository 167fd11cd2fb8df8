/*
 * level_flush.c: the flush of a frozen memtable (imm) to a table, in level
 * 0 or deeper, on the background thread.  Stage 04's flush protocol (lsm_flush.c) with
 * the manifest as the commit point:
 *   1. a writer freezes mem into imm, holding the writes up to imm_hi, and
 *      a new log takes the writes after it (stage 04's lsm_write.c);
 *   2. imm is written, in key order, to table N (a fresh file number),
 *      synced, and the directory synced (V1 of level_db.h);
 *   3. the edit "add N to level L, log_seq = imm_hi" is appended to the
 *      manifest and synced (V2): from here on the writes up to imm_hi are
 *      in the database's tables, and no log record up to it is replayed.
 *      L is 0, or 1 or 2 when no table of levels 0 to L overlaps N
 *      (compaction_flush_level, as LevelDB places its flushes): the
 *      compactions that would only move N down are saved.  A flush made
 *      while a compaction runs (level_compact.c) goes to level 0: the
 *      compaction's outputs, in no version yet, may cover N's range;
 *   4. under write_lock, the new version is installed and imm dropped from
 *      the view: readers find the writes in the table;
 *   5. the logs whose writes are all at or below imm_hi are deleted.
 * A crash before 3 leaves table N as garbage (no manifest names it) and the
 * logs replay the writes; after 3, the table holds them and the logs are
 * removed unread at the next open.  A failure keeps imm and its logs, as
 * stage 04's does: the next write reports it, and the flush is retried
 * when a writer waits for room.
 */
#include <stdlib.h>

#include "error.h"
#include "level_db.h"
#include "level_out.h"

/* Step 2. */
static int level_flush_write(level_db *ldb, memtable *m, level_out *o)
{
    iter *src = NULL;
    int rc = memtable_iter_new(m, &src);
    if (rc == KV_OK)
        rc = level_out_begin(ldb, o->number, o);
    if (rc == KV_OK) /* (src is NULL when memtable_iter_new failed) */
        for (iter_seek_first(src); rc == KV_OK && iter_valid(src); iter_next(src))
            rc = level_out_add(o, src->key, src->key_len, src->value, src->value_len);
    if (rc == KV_OK)
        rc = iter_status(src);
    iter_free(src);
    if (rc == KV_OK)
        rc = level_out_finish(o);
    if (rc == KV_OK)
        rc = level_sync_dir(ldb, "flush");
    return rc;
}

/* Step 5: the logs, all but the last, whose writes are all at or below
 * hi.  A log that comes back (its removal not yet durable) is removed
 * again at open, unread.  REQUIRES: write_lock held. */
static void level_drop_logs(kv_db *db, uint64_t hi)
{
    size_t k = 0;
    while (k + 1 < db->nwals && db->wals[k + 1]->start - 1 <= hi) {
        uint64_t start = db->wals[k]->start;
        lsm_wal_free(db->wals[k]);
        int rc = lsm_wal_remove(db->dir.path, start);
        if (rc == KV_OK)
            __atomic_add_fetch(&db->wals_removed, 1, __ATOMIC_RELAXED);
        else
            lsm_set_bg_error(db, rc); /* harmless, but said */
        k++;
    }
    for (size_t i = k; i < db->nwals; i++)
        db->wals[i - k] = db->wals[i];
    db->nwals -= k;
}

/* Step 3's level for the finished table o.  current changes only on this
 * thread (level_apply_edit), so it is read without write_lock. */
static int level_flush_level(level_db *ldb, const level_out *o)
{
    if (o->smallest_len <= IKEY_TRAILER_SIZE || o->largest_len <= IKEY_TRAILER_SIZE)
        return 0; /* (no entry: version_apply refuses the edit anyway) */
    return compaction_flush_level(ldb->current, &ldb->copt, o->smallest,
                                  o->smallest_len - IKEY_TRAILER_SIZE, o->largest,
                                  o->largest_len - IKEY_TRAILER_SIZE);
}

int level_flush(level_db *ldb, int level0_only)
{
    kv_db *db = &ldb->base;
    memtable *m = db->imm;
    uint64_t hi = db->imm_hi, t0 = lsm_now_us();
    memtable_ref(m);
    pthread_mutex_unlock(&db->write_lock);
    level_out o = {.number = ldb->next_file++};
    version_edit e;
    version_edit_init(&e);
    int rc = level_flush_write(ldb, m, &o);
    memtable_unref(m);
    int level = level0_only || rc != KV_OK ? 0 : level_flush_level(ldb, &o);
    if (rc == KV_OK && (rc = level_out_edit(&o, &e, level)) == KV_OK) {
        version_edit_set_log_seq(&e, hi);
        version_edit_set_last_seq(&e, hi);
        rc = level_apply_edit(ldb, &e, 1);
    }
    version_edit_free(&e);
    uint64_t bytes = o.meta.file_bytes, entries = o.meta.entries;
    level_out_free(ldb, &o, rc != KV_OK && !__atomic_load_n(&ldb->manifest_broken,
                                                             __ATOMIC_ACQUIRE));
    pthread_mutex_lock(&db->write_lock);
    if (rc == KV_OK) {
        level_drop_logs(db, hi);
        __atomic_add_fetch(&db->flushes, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->flush_bytes, bytes, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->flush_entries, entries, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->flush_us, lsm_now_us() - t0, __ATOMIC_RELAXED);
        /* (Level 0's count is the bytes flushed, whatever level took the
         * table: kv_stats's write amplification divides by it.) */
        __atomic_add_fetch(&ldb->levels[0].bytes_written, bytes, __ATOMIC_RELAXED);
    } else {
        db->flush_failed = 1;
        lsm_set_bg_error(db, rc);
        __atomic_add_fetch(&db->flush_failures, 1, __ATOMIC_RELAXED);
    }
    pthread_cond_broadcast(&db->flush_done);
    return rc;
}
