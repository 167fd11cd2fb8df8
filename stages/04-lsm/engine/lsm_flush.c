/*
 * lsm_flush.c: the flush, the engine's first job: the frozen memtable
 * (imm, holding the writes lo..hi) becomes a table.  Step by step
 * (docs/04-lsm.md, "The flush protocol", walks through a crash at each):
 *   1. a writer that finds mem full freezes it: mem becomes imm, the log
 *      that took its writes is sealed, and a new log and a new mem take
 *      the writes from hi + 1 on (lsm_write.c, lsm_switch); the background
 *      thread is woken;
 *   2. the table set names the new table (table_set_pick, a FLUSH job;
 *      table_set_output), and the engine writes imm's entries to it in key
 *      order; the builder syncs the file (table.h);
 *   3. the set makes it part of the database (table_set_apply: stage 04
 *      renames it into place and syncs the directory; stage 06 also
 *      appends an edit to its manifest) and, under write_lock, the engine
 *      installs it with a view that no longer holds imm: readers find
 *      those writes in the table;
 *   4. the logs whose writes are all at or below hi are deleted, unless
 *      the value store keeps them (value_store.h: stage 08 reads large
 *      values there, and the table entries of step 2 say where);
 *   5. writers waiting for imm to go are woken (a second mem filled up
 *      meanwhile: the only time a writer waits for the disk without sync).
 * A failed flush (an I/O error, no memory) keeps imm, and its log, as
 * they are.  The next call that can report it does (a write, which then
 * writes nothing; kv_compact; kv_close); the flush is retried by the next
 * call that waits for imm (a writer that needs room, kv_compact), so a
 * disk that keeps failing fails writes instead of hanging them, and the
 * retry's I/O happens inside a call that can report its failure.  Nothing
 * of the flush runs under write_lock but the pick, the install and steps
 * 4 and 5.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "lsm_db.h"
#include "lsm_elsewhere.h"
#include "lsm_out.h"

/* Step 4: the logs, all but the last, whose writes are all at or below
 * hi, from the list and from the directory (no directory sync: a log that
 * comes back is removed at open, unread, lsm_files.h F3).
 * REQUIRES: write_lock held. */
static void lsm_flush_drop_logs(kv_db *db, uint64_t hi)
{
    size_t k = 0;
    while (k + 1 < db->logs.n && db->logs.v[k + 1]->start - 1 <= hi) {
        uint64_t start = db->logs.v[k]->start;
        lsm_wal_free(db->logs.v[k]);
        k++;
        int kept = 0;
        int rc = value_store_adopt_log(db->values.store, start, &kept);
        if (rc == KV_OK && !kept) /* (else the store's now) */
            rc = lsm_wal_remove(db->dir.path, start);
        if (rc == KV_OK && !kept)
            lsm_count(&db->count.stats, LSM_LOGS_REMOVED, 1);
        else if (rc != KV_OK)
            lsm_set_bg_error(db, rc); /* harmless (F3), but said */
    }
    memmove(db->logs.v, db->logs.v + k, (db->logs.n - k) * sizeof *db->logs.v);
    db->logs.n -= k;
}

/* Step 2: m's entries, in key order, into the job's table (vf: what the
 * value store keeps elsewhere, or NULL).  REQUIRES: no lock held. */
static int lsm_flush_write(kv_db *db, table_job *job, memtable *m, value_flush *vf)
{
    iter *src = NULL;
    lsm_out w;
    int rc = memtable_iter_new(m, &src);
    if (rc == KV_OK && vf != NULL) /* entries as the value store says */
        rc = lsm_flush_values_iter(vf, &src);
    if (rc == KV_OK)
        rc = lsm_out_begin(db->tables.set, db->tables.ctx, db->tables.rate, job, &w);
    if (rc != KV_OK) {
        iter_free(src);
        return rc;
    }
    for (iter_seek_first(src); rc == KV_OK && iter_valid(src); iter_next(src))
        rc = lsm_out_add(&w, src->key, src->key_len, src->value, src->value_len);
    if (rc == KV_OK)
        rc = iter_status(src);
    iter_free(src);
    if (rc == KV_OK)
        rc = lsm_out_finish(&w);
    lsm_out_abandon(&w);
    return rc;
}

int lsm_flush_imm(kv_db *db, int during_merge)
{
    memtable *m = db->memtables.imm;
    uint64_t lo = db->memtables.imm_lo, hi = db->memtables.imm_hi, t0 = lsm_now_us(), ns0 = latency_start();
    table_ask ask = {.kind = TABLE_ASK_FLUSH, .lo = lo, .hi = hi, .during_merge = during_merge};
    table_job *job = NULL;
    lsm_view *spare = NULL;
    value_logs logs = {0}; /* for the value store (lsm_elsewhere.h) */
    int rc = lsm_view_reserve(db, &spare);
    if (rc == KV_OK)
        rc = lsm_flush_logs(db, hi, &logs);
    if (rc == KV_OK)
        rc = table_set_pick(db->tables.set, &ask, &job, NULL);
    if (rc == KV_OK) {
        memtable_ref(m);
        pthread_mutex_unlock(&db->write_lock);
        value_flush *vf = NULL;
        rc = value_store_flush_begin(db->values.store, &logs, lo, hi, &vf);
        if (rc == KV_OK)
            rc = lsm_flush_write(db, job, m, vf);                       /* 2 */
        memtable_unref(m);
        pthread_mutex_lock(&db->write_lock);
        uint64_t bytes = rc == KV_OK ? job->outputs[0].meta.file_bytes : 0;
        uint64_t entries = rc == KV_OK ? job->outputs[0].meta.entries : 0;
        table_set_version *v = NULL;
        int final = 0;
        rc = table_set_apply(db->tables.set, job, rc, &db->write_lock, &v, &final);  /* 3 */
        value_store_flush_end(db->values.store, vf, rc == KV_OK);
        if (rc == KV_OK) {
            lsm_view_install(db, spare, v, 1);
            spare = NULL;
            lsm_flush_drop_logs(db, hi);                                /* 4 */
            lsm_count(&db->count.stats, LSM_FLUSH_COUNT, 1);
            lsm_count(&db->count.stats, LSM_FLUSH_BYTES, bytes);
            lsm_count(&db->count.stats, LSM_FLUSH_ENTRIES, entries);
            lsm_count(&db->count.stats, LSM_FLUSH_US, lsm_now_us() - t0);
            latency_record(&db->count.stats.lat, LATENCY_FLUSH, ns0);
            /* (Level 0's count is the bytes flushed, whatever level took
             * the table: kv_stats's write amplification divides by it.) */
            lsm_count_level(&db->count.stats, 0, TABLE_LEVEL_BYTES_WRITTEN, bytes);
            db->bg.retry_us = 0; /* a job that failed is tried again */
            db->seq.flushed = hi; /* (the value store's jobs look at it) */
        } else if (final) {
            lsm_set_failed(db, kv_errmsg());
        }
    }
    free(spare);
    free((void *)logs.files); /* one block: lsm_flush_logs */
    if (rc != KV_OK) {
        db->fail.flush_failed = 1;
        lsm_set_bg_error(db, rc);
        lsm_count(&db->count.stats, LSM_FLUSH_FAILURES, 1);
    }
    pthread_cond_broadcast(&db->bg.done);                               /* 5 */
    return rc;
}
