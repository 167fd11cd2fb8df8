/*
 * level_put.c: the level-0 brake on writers.  Every read asks each level-0
 * table (their ranges overlap), so their number bounds the cost of a read.
 * When flushes outpace compaction, writers are held back:
 *   - with l0_slowdown tables or more (default 8), each write first sleeps
 *     1 ms, once: the background thread gets the time a write would have
 *     taken, and the writers' latency grows smoothly instead of stopping;
 *   - with l0_stop or more (default 12), a write waits until compaction
 *     has brought level 0 below it.
 * (LevelDB's MakeRoomForWrite uses the same two thresholds, 8 and 12.)
 *
 * Stage 04's kv_put, kv_delete and kv_write (lsm_put.c) are linked here
 * compiled with lsm_write renamed level_write (stage.mk), so that each
 * write passes through level_write below before it joins the queue.
 */
#include <time.h>

#include "error.h"
#include "level_db.h"

int level_write_admit(level_db *ldb, const char *call)
{
    kv_db *db = &ldb->base;
    int l0 = __atomic_load_n(&ldb->l0_files, __ATOMIC_RELAXED);
    if (l0 >= ldb->l0_slowdown && l0 < ldb->l0_stop) {
        uint64_t t0 = lsm_now_us();
        struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
        nanosleep(&ms, NULL);
        __atomic_add_fetch(&ldb->slowdowns, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&ldb->slowdown_us, lsm_now_us() - t0, __ATOMIC_RELAXED);
        return KV_OK;
    }
    if (l0 < ldb->l0_stop)
        return KV_OK;
    uint64_t t0 = lsm_now_us();
    pthread_mutex_lock(&db->write_lock);
    while (ldb->current->nfiles[0] >= (size_t)ldb->l0_stop && !db->failed &&
           db->flush_running && db->bg_error == KV_OK)
        pthread_cond_wait(&ldb->bg_idle, &db->write_lock);
    int rc = lsm_refuse_if_failed(db, call);
    pthread_mutex_unlock(&db->write_lock);
    __atomic_add_fetch(&ldb->stops, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&ldb->stop_us, lsm_now_us() - t0, __ATOMIC_RELAXED);
    return rc;
}

int level_write(kv_db *db, const char *call, const batch_op *ops, size_t n)
{
    int rc = level_write_admit(level_db_of(db), call);
    return rc == KV_OK ? lsm_write(db, call, ops, n) : rc;
}
