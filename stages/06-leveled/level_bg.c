/*
 * level_bg.c: stage 06's background thread, and the one way the database
 * changes: a version edit made durable, then installed (level_db.h, V1 to
 * V3).
 *
 * The thread does, in this order, whatever there is to do:
 *   1. the flush of imm to a table (level_flush.c; in level 0, or deeper
 *      when nothing above overlaps it): writers wait for it when mem
 *      fills again, so it always comes first, and a compaction stops
 *      between two entries to make it (level_compact.c);
 *   2. kv_compact's request: every level pushed down into the deepest one;
 *   3. the compaction the picker chooses (compaction_pick.h) while some
 *      level's score is >= 1 (level_compact.c);
 * then sleeps until a writer freezes a memtable (flush_work).  Each job
 * leaves write_lock while it reads and writes files, and takes it to
 * install what it made.  After each job the table files no version holds
 * any more are deleted.
 *
 * Failures: a failed flush keeps imm and its log (stage 04's rule: the
 * next write reports it, and a writer that waits for room retries it).  A
 * failed compaction or manifest append stops writes until reopen (D4 of
 * lsm_db.h): its outputs are garbage the next open removes, its inputs are
 * still in the manifest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "level_db.h"

int level_sync_dir(level_db *ldb, const char *call)
{
    kv_db *db = &ldb->base;
    int fsync_failed = 0;
    int rc = io_sync_dir_status(db->dir.path, &fsync_failed);
    if (rc != KV_OK && fsync_failed) {
        kv_error_append(" (%s; writes are refused until the database is reopened)", call);
        pthread_mutex_lock(&db->write_lock);
        lsm_set_failed(db, kv_errmsg());
        pthread_mutex_unlock(&db->write_lock);
    }
    return rc;
}

/* The edit's compact pointers become the database's. */
static void level_take_pointers(level_db *ldb, const version_edit *e)
{
    for (size_t i = 0; i < e->npointers; i++) {
        const edit_pointer *p = &e->pointers[i];
        uint8_t *copy = malloc(p->len);
        if (copy == NULL)
            continue; /* the old pointer stays: only the round robin's order suffers */
        memcpy(copy, p->key, p->len);
        free(ldb->pointer[p->level]);
        ldb->pointer[p->level] = copy;
        ldb->pointer_len[p->level] = p->len;
    }
}

/* A failure after which the manifest's state is not known: final. */
static int level_edit_failed(level_db *ldb, int rc, const char *what)
{
    kv_db *db = &ldb->base;
    kv_error_append(" (%s; writes are refused until the database is reopened)", what);
    __atomic_store_n(&ldb->manifest_broken, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&db->write_lock);
    lsm_set_failed(db, kv_errmsg());
    pthread_mutex_unlock(&db->write_lock);
    return rc;
}

uint64_t level_test_manifest_roll_bytes = LEVEL_MANIFEST_ROLL_BYTES;

int level_apply_edit(level_db *ldb, version_edit *e, int flushed)
{
    kv_db *db = &ldb->base;
    /* Only this thread changes versions: current cannot change under it. */
    version *nv = NULL;
    int rc = version_apply(ldb->current, e, level_vfile_open, ldb, &nv);
    if (rc != KV_OK)
        return rc; /* its new tables are garbage: listed for deletion */
    if (manifest_writer_bytes(ldb->manifest) > level_test_manifest_roll_bytes) {
        uint64_t number = ldb->manifest_number;
        if ((rc = level_manifest_new(ldb)) != KV_OK && ldb->manifest_number != number) {
            /* Only the old manifest's removal failed: said once, harmless. */
            pthread_mutex_lock(&db->write_lock);
            lsm_set_bg_error(db, rc);
            pthread_mutex_unlock(&db->write_lock);
            rc = KV_OK;
        } else if (rc != KV_OK) {
            /* CURRENT may or may not name the new one. */
            level_edit_failed(ldb, rc, "rolling the manifest over");
            version_unref(nv);
            return rc;
        }
        __atomic_add_fetch(&ldb->manifest_rolls, 1, __ATOMIC_RELAXED);
    }
    /* After a roll-over, which takes a file number for the new manifest:
     * an edit naming an older next_file would have the next open hand out
     * the live manifest's number again (and overwrite it). */
    version_edit_set_next_file(e, ldb->next_file);
    /* The view that will show nv, allocated now: once the manifest holds
     * the edit, installing it must not fail. */
    level_view *lv = calloc(1, sizeof *lv);
    if (lv == NULL) {
        version_unref(nv);
        return kv_error(KV_ERR_NOMEM, "out of memory for a view");
    }
    if ((rc = manifest_append(ldb->manifest, e)) != KV_OK) {
        free(lv);
        if (rc == KV_ERR_NOMEM) { /* nothing written: the manifest is as it was */
            version_unref(nv);
            return rc;
        }
        level_edit_failed(ldb, rc, "appending to the manifest");
        version_unref(nv); /* nothing is deleted: manifest_broken */
        return rc;
    }
    __atomic_add_fetch(&ldb->manifest_edits, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&db->write_lock);
    if (e->has_log_seq)
        ldb->log_seq = e->log_seq;
    level_take_pointers(ldb, e);
    level_install(ldb, nv, flushed, lv);
    pthread_mutex_unlock(&db->write_lock);
    return KV_OK;
}

/* kv_compact's work (step 2): every level down into the deepest one that
 * holds a table (at least level 1).  REQUIRES: write_lock held. */
static int level_compact_all(level_db *ldb)
{
    int deepest = 0;
    for (int level = 0; level < VERSION_LEVELS; level++)
        if (ldb->current->nfiles[level] > 0)
            deepest = level;
    if (deepest == 0)
        deepest = 1;
    int rc = KV_OK;
    for (int level = 0; rc == KV_OK && level < deepest; level++) {
        compaction *c = NULL;
        rc = compaction_pick_range(ldb->current, &ldb->copt, level, NULL, 0, NULL, 0, &c);
        if (rc == KV_OK && c != NULL)
            rc = level_compact(ldb, c, 1);
        compaction_free(c);
    }
    return rc;
}

/* Step 3: one compaction if some score is >= 1.  *done = 1 if none.
 * REQUIRES: write_lock held. */
static int level_compact_some(level_db *ldb, int *done)
{
    compaction_pointers p;
    for (int i = 0; i < VERSION_LEVELS; i++) {
        p.key[i] = ldb->pointer[i];
        p.len[i] = ldb->pointer_len[i];
    }
    compaction *c = NULL;
    int rc = compaction_pick(ldb->current, &ldb->copt, &p, &c);
    *done = rc == KV_OK && c == NULL;
    if (rc == KV_OK && c != NULL)
        rc = level_compact(ldb, c, 0);
    compaction_free(c);
    return rc;
}

int level_bg_can_work(level_db *ldb)
{
    return !ldb->base.failed && !__atomic_load_n(&ldb->manifest_broken, __ATOMIC_ACQUIRE);
}

static void *level_bg_main(void *arg)
{
    level_db *ldb = arg;
    kv_db *db = &ldb->base;
    pthread_mutex_lock(&db->write_lock);
    for (;;) {
        int rc = KV_OK, worked = 1, done = 1, manual = 0;
        if (db->imm != NULL && !db->flush_failed && level_bg_can_work(ldb)) {
            level_flush(ldb, 0); /* its failure is kept for the next write */
            ldb->compact_paused = 0;
        } else if (ldb->compact_waiters > 0 && !ldb->compact_done && level_bg_can_work(ldb)) {
            rc = level_compact_all(ldb);
            ldb->compact_rc = rc;
            manual = 1;
        } else if (level_bg_can_work(ldb) && !ldb->compact_paused &&
                   (rc = level_compact_some(ldb, &done)) == KV_OK && !done) {
            /* one more compaction done */
        } else {
            worked = 0;
        }
        if (manual && !worked)
            ldb->compact_done = 1;
        if (rc == KV_ERR_NOMEM && !db->failed) {
            /* Out of memory before its edit was in the manifest (once it is,
             * installing it cannot fail): nothing durable changed, its
             * outputs are garbage, and it is tried again after the next
             * flush.  kv_compact's caller gets the error itself. */
            if (!manual) {
                kv_error_append(" (a background compaction; it is tried again later)");
                lsm_set_bg_error(db, rc);
                ldb->compact_paused = 1;
            }
        } else if (rc != KV_OK && !db->failed) {
            kv_error_append(" (a background compaction; writes are refused until the "
                            "database is reopened)");
            lsm_set_failed(db, kv_errmsg());
            lsm_set_bg_error(db, rc); /* kv_close reports it if no call did */
        }
        if (worked) {
            pthread_mutex_unlock(&db->write_lock);
            level_delete_obsolete(ldb);
            pthread_mutex_lock(&db->write_lock);
            if (manual)
                ldb->compact_done = 1; /* its inputs deleted (or the failure kept) */
            pthread_cond_broadcast(&ldb->bg_idle);
            continue;
        }
        pthread_cond_broadcast(&ldb->bg_idle);
        pthread_cond_broadcast(&db->flush_done);
        if (db->flush_stop)
            break;
        pthread_cond_wait(&db->flush_work, &db->write_lock);
    }
    pthread_mutex_unlock(&db->write_lock);
    return NULL;
}

int level_bg_start(level_db *ldb)
{
    kv_db *db = &ldb->base;
    int rc = pthread_create(&db->flush_thread, NULL, level_bg_main, ldb);
    if (rc != 0)
        return kv_error(KV_ERR_IO, "kv_open %s: cannot start the background thread: %s",
                        db->dir.path, strerror(rc));
    db->flush_running = 1;
    return KV_OK;
}

void level_bg_stop(level_db *ldb)
{
    kv_db *db = &ldb->base;
    if (!db->flush_running)
        return;
    pthread_mutex_lock(&db->write_lock);
    db->flush_stop = 1;
    pthread_cond_signal(&db->flush_work);
    pthread_mutex_unlock(&db->write_lock);
    pthread_join(db->flush_thread, NULL);
    db->flush_running = 0;
}

int kv_compact(kv_db *db)
{
    if (db == NULL)
        return kv_error(KV_ERR_INVALID, "kv_compact: db is NULL");
    if (db->opt.read_only)
        return kv_error(KV_ERR_INVALID, "kv_compact: the database was opened read-only");
    level_db *ldb = level_db_of(db);
    pthread_mutex_lock(&db->compact_lock);
    /* The memtable too (LevelDB's CompactRange flushes it first). */
    int rc = lsm_write_flush_all(db, "kv_compact");
    if (rc == KV_OK) {
        pthread_mutex_lock(&db->write_lock);
        ldb->compact_waiters = 1;
        ldb->compact_done = 0;
        pthread_cond_signal(&db->flush_work);
        while (!ldb->compact_done && !db->failed)
            pthread_cond_wait(&ldb->bg_idle, &db->write_lock);
        rc = ldb->compact_done ? ldb->compact_rc : lsm_refuse_if_failed(db, "kv_compact");
        if (rc != KV_OK && ldb->compact_done)
            rc = kv_error(rc, "kv_compact %s: %s", db->dir.path, db->failure);
        if (rc == KV_OK) /* a removal that failed meanwhile */
            rc = lsm_take_bg_error(db, "kv_compact");
        ldb->compact_waiters = 0;
        pthread_mutex_unlock(&db->write_lock);
    }
    pthread_mutex_unlock(&db->compact_lock);
    return rc;
}
