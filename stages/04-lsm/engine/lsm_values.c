/*
 * lsm_values.c: the value store's jobs (value_store.h), run by the engine.
 * A store that keeps values elsewhere (stage 08's value log) collects its
 * space: it picks a file to empty, and each value of it that a key still
 * holds there must be written again first, as a new put, which only the
 * engine can make.  Stage 04's store (values in place) has no jobs: no
 * thread runs, and kv_compact finds nothing to do here.
 *
 * A job, step by step:
 *   1. the store picks it (value_store_pick), under write_lock;
 *   2. for each value the store offers (value_store_job_next), the engine
 *      writes a put of it (lsm_write_moved) whose check, under write_lock,
 *      lets it in only if the key's newest version is still that value,
 *      where the store said (lsm_values_still_there): a key written or
 *      deleted since keeps its newer version, and the old value is
 *      garbage;
 *   3. the store hears that every value still read was written again
 *      before the last write numbered `seq` (value_store_job_end);
 *   4. the file goes once no reader can need it (value_store_collect):
 *      those writes are in tables (flushed >= seq), every snapshot is at
 *      or past seq, and no pin is older than the job.
 * The jobs run on a thread of their own, not the background thread: their
 * writes may wait for a flush, which the background thread makes.  One at
 * a time (values_lock), so kv_compact, which runs every job there is
 * (lsm_values_run_all), never races the thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "lsm_db.h"

typedef struct move_check {
    kv_db *db;
    const value_move *m;
} move_check;

/* The check of a moved value's put: whether its key's newest version is
 * still the table entry saying where the value is (a memtable holds only
 * newer writes).  REQUIRES: write_lock held (the write path's check). */
static int lsm_values_still_there(void *ctx)
{
    move_check *c = ctx;
    kv_db *db = c->db;
    ikey_lookup lk;
    uint64_t seq = atomic_load_explicit(&db->last_seq, memory_order_relaxed);
    int rc = ikey_lookup_init(&lk, c->m->key, c->m->klen, seq);
    if (rc != KV_OK)
        return rc;
    memtable *mems[2] = {db->mem, db->imm};
    for (int i = 0; i < 2 && rc == KV_OK; i++) {
        const uint8_t *p = NULL;
        size_t n = 0;
        if (mems[i] != NULL && memtable_get(mems[i], &lk, &p, &n) != IKEY_ABSENT)
            rc = KV_ERR_CONFLICT; /* written or deleted since */
    }
    void *val = NULL;
    size_t vlen = 0;
    int elsewhere = 0;
    table_get_cost cost = {0};
    if (rc == KV_OK)
        rc = table_set_get(db->current, &lk, NULL, NULL, &val, &vlen, &elsewhere, &cost);
    if (rc == KV_NOT_FOUND)
        rc = KV_ERR_CONFLICT;
    if (rc == KV_OK && !(elsewhere && vlen == c->m->wlen && memcmp(val, c->m->where, vlen) == 0))
        rc = KV_ERR_CONFLICT;
    free(val);
    ikey_lookup_free(&lk);
    if (rc == KV_ERR_CONFLICT)
        kv_error(rc, "value store: the key was written again since");
    return rc;
}

/* Step 2 for a job: every value still read written again.  KV_OK or the
 * first error.  REQUIRES: values_lock held, write_lock not. */
static int lsm_values_move(kv_db *db, value_job *job)
{
    value_move m;
    int more, rc = KV_OK;
    while ((more = value_store_job_next(job, &m)) > 0) {
        move_check c = {.db = db, .m = &m};
        batch_op op = {.key = m.key, .klen = m.klen, .val = m.val, .vlen = m.vlen};
        int w = lsm_write_moved(db, &op, lsm_values_still_there, &c);
        if (w == KV_OK) {
            lsm_count(&db->stats, LSM_VALUES_MOVED, 1);
            lsm_count(&db->stats, LSM_VALUES_MOVED_BYTES, m.vlen);
        } else if (w != KV_ERR_CONFLICT) {
            rc = w;
            break;
        }
    }
    if (more < 0 && rc == KV_OK)
        rc = more;
    return rc;
}

/* Steps 1 to 3, once, and step 4: 1 if it did something.  *rc: a job's
 * failure (KV_OK if none).  REQUIRES: values_lock held, write_lock not. */
static int lsm_values_step(kv_db *db, int *rc)
{
    *rc = KV_OK;
    pthread_mutex_lock(&db->write_lock);
    int failed = db->failed;
    uint64_t oldest = lsm_oldest_snapshot(db);
    value_job *job = NULL;
    if (!failed)
        *rc = value_store_pick(db->values, oldest, &job);
    pthread_mutex_unlock(&db->write_lock);
    int worked = job != NULL;
    if (job != NULL) {
        *rc = lsm_values_move(db, job);
        uint64_t seq = atomic_load_explicit(&db->last_seq, memory_order_acquire);
        value_store_job_end(db->values, job, seq, *rc);
        lsm_count(&db->stats, LSM_VALUES_JOBS, 1);
    }
    pthread_mutex_lock(&db->write_lock);
    oldest = lsm_oldest_snapshot(db);
    uint64_t flushed = db->flushed;
    pthread_mutex_unlock(&db->write_lock);
    uint64_t removed = 0;
    int crc = failed ? KV_OK : value_store_collect(db->values, oldest, flushed, &removed);
    lsm_count(&db->stats, LSM_VALUES_FILES_REMOVED, removed);
    if (*rc == KV_OK)
        *rc = crc;
    return worked || removed > 0;
}

int lsm_values_run_all(kv_db *db)
{
    pthread_mutex_lock(&db->values_lock);
    int rc = KV_OK;
    while (lsm_values_step(db, &rc) && rc == KV_OK)
        ;
    pthread_mutex_unlock(&db->values_lock);
    return rc;
}

#ifdef KV_BG_INLINE

int lsm_values_start(kv_db *db, int has_jobs)
{
    (void)has_jobs; /* no threads: kv_compact runs the jobs */
    db->values_running = 0;
    return KV_OK;
}

void lsm_values_stop(kv_db *db) { (void)db; }

#else

static void *lsm_values_main(void *arg)
{
    kv_db *db = arg;
    pthread_mutex_lock(&db->values_lock);
    for (;;) {
        int rc = KV_OK;
        int worked = lsm_values_step(db, &rc);
        pthread_mutex_lock(&db->write_lock);
        if (rc != KV_OK && !db->failed)
            lsm_set_bg_error(db, rc); /* said once; the job is tried again */
        int stop = db->values_stop;
        if (!stop && (!worked || rc != KV_OK)) {
            /* values_work waits on CLOCK_MONOTONIC (lsm_open.c). */
            uint64_t at_us = lsm_now_us() + 1000000u;
            struct timespec at = {.tv_sec = (time_t)(at_us / 1000000u),
                                  .tv_nsec = (long)(at_us % 1000000u) * 1000};
            pthread_mutex_unlock(&db->values_lock);
            pthread_cond_timedwait(&db->values_work, &db->write_lock, &at);
            stop = db->values_stop;
            pthread_mutex_unlock(&db->write_lock);
            if (stop)
                return NULL;
            pthread_mutex_lock(&db->values_lock);
            continue;
        }
        pthread_mutex_unlock(&db->write_lock);
        if (stop)
            break;
    }
    pthread_mutex_unlock(&db->values_lock);
    return NULL;
}

int lsm_values_start(kv_db *db, int has_jobs)
{
    if (!has_jobs)
        return KV_OK;
    int rc = pthread_create(&db->values_thread, NULL, lsm_values_main, db);
    if (rc != 0)
        return kv_error(KV_ERR_IO, "kv_open %s: cannot start the value store's thread: %s",
                        db->dir.path, strerror(rc));
    db->values_running = 1;
    return KV_OK;
}

void lsm_values_stop(kv_db *db)
{
    if (!db->values_running)
        return;
    pthread_mutex_lock(&db->write_lock);
    db->values_stop = 1;
    pthread_cond_signal(&db->values_work);
    pthread_mutex_unlock(&db->write_lock);
    pthread_join(db->values_thread, NULL);
    db->values_running = 0;
}

#endif
