/*
 * lsm_flush.c: the background thread that writes a frozen memtable (imm)
 * to a table, off the write path.
 *
 * The flush protocol, step by step (docs/04-lsm.md walks through a crash
 * at each step):
 *   1. a writer that finds mem full freezes it: mem becomes imm, holding
 *      the writes lo..hi; the log that took them is synced and sealed, and
 *      a new log and a new mem take the writes from hi + 1 on (lsm_write.c,
 *      lsm_switch); the thread is woken;
 *   2. the thread writes imm, in key order, to lo-hi.tbl.tmp, synced,
 *      renames it to lo-hi.tbl and syncs the directory (lsm_tables.c);
 *   3. under write_lock, it puts the table first in the list and drops imm
 *      from the view: readers now find those writes in the table;
 *   4. it deletes the logs whose writes are all at or below hi;
 *   5. it wakes writers waiting for imm to go (a second mem filled up
 *      meanwhile: the only time a writer waits for the disk without sync).
 * A failed flush (an I/O error, no memory) keeps imm, and its log, as
 * they are.  The next call that can report it does (a write, which then
 * writes nothing; kv_compact; kv_close); the flush is retried by the next
 * call that waits for imm (a writer that needs room, kv_compact), so a
 * disk that keeps failing fails writes instead of hanging them, and the
 * retry's I/O happens inside a call that can report its failure.  Nothing of the flush runs under write_lock but steps 3 to 5.
 */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "lsm_db.h"
#include "lsm_tables.h"

/* Step 2: imm, whose writes are lo..hi, to its table.  REQUIRES: no lock. */
static int lsm_flush_write(kv_db *db, memtable *m, uint64_t lo, uint64_t hi, lsm_table *out,
                           table_meta *meta)
{
    iter *src = NULL;
    lsm_table_out o;
    int rc = memtable_iter_new(m, &src);
    if (rc == KV_OK)
        rc = lsm_table_out_begin(db, lo, hi, &o);
    if (rc != KV_OK) {
        iter_free(src);
        return rc;
    }
    for (iter_seek_first(src); rc == KV_OK && iter_valid(src); iter_next(src))
        rc = table_builder_add(o.b, src->key, src->key_len, src->value, src->value_len);
    if (rc == KV_OK)
        rc = iter_status(src);
    iter_free(src);
    if (rc == KV_OK)
        return lsm_table_out_finish(db, &o, "flush", out, meta);
    lsm_table_out_abandon(&o);
    return rc;
}

/* One flush of imm.  REQUIRES: write_lock held (released while writing). */
static void lsm_flush_one(kv_db *db)
{
    memtable *m = db->imm;
    uint64_t lo = db->imm_lo, hi = db->imm_hi, t0 = lsm_now_us();
    memtable_ref(m);
    pthread_mutex_unlock(&db->write_lock);
    lsm_table t = {0};
    table_meta meta = {0};
    int rc = lsm_flush_write(db, m, lo, hi, &t, &meta);
    memtable_unref(m);
    pthread_mutex_lock(&db->write_lock);
    if (rc == KV_OK && (rc = lsm_tables_install(db, NULL, 0, &t, 1)) != KV_OK)
        table_unref(t.t); /* its file stays, and the retry writes it again */
    if (rc == KV_OK) {
        lsm_wals_drop_covered(db, hi);
        __atomic_add_fetch(&db->flushes, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->flush_bytes, meta.file_bytes, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->flush_entries, meta.entries, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->flush_us, lsm_now_us() - t0, __ATOMIC_RELAXED);
    } else {
        db->flush_failed = 1;
        lsm_set_bg_error(db, rc);
        __atomic_add_fetch(&db->flush_failures, 1, __ATOMIC_RELAXED);
    }
    pthread_cond_broadcast(&db->flush_done);
}

static void *lsm_flush_main(void *arg)
{
    kv_db *db = arg;
    pthread_mutex_lock(&db->write_lock);
    for (;;) {
        int work = db->imm != NULL && !db->flush_failed && !db->failed;
        if (work) {
            lsm_flush_one(db);
            continue;
        }
        if (db->flush_stop)
            break;
        pthread_cond_wait(&db->flush_work, &db->write_lock);
    }
    pthread_mutex_unlock(&db->write_lock);
    return NULL;
}

int lsm_flush_start(kv_db *db)
{
    int rc = pthread_create(&db->flush_thread, NULL, lsm_flush_main, db);
    if (rc != 0)
        return kv_error(KV_ERR_IO, "kv_open %s: cannot start the flush thread: %s",
                        db->dir.path, strerror(rc));
    db->flush_running = 1;
    return KV_OK;
}

void lsm_flush_stop(kv_db *db)
{
    if (!db->flush_running)
        return;
    pthread_mutex_lock(&db->write_lock);
    db->flush_stop = 1;
    pthread_cond_signal(&db->flush_work);
    pthread_mutex_unlock(&db->write_lock);
    pthread_join(db->flush_thread, NULL);
    db->flush_running = 0;
}
