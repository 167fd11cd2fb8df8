/*
 * level_admit.c: the level-0 brake on writers (table_set_admit, which
 * stage 04's write path calls before each write joins the log's queue).
 * Every read asks each level-0 table (their ranges overlap), so their
 * number bounds the cost of a read.  When flushes outpace compaction,
 * writers are held back:
 *   - with l0_slowdown tables or more (default 8), each write first sleeps
 *     1 ms, once: the background thread gets the time a write would have
 *     taken, and the writers' latency grows smoothly instead of stopping;
 *   - with l0_stop or more (default 12), a write waits until compaction
 *     has brought level 0 below it.
 * (LevelDB's MakeRoomForWrite uses the same two thresholds, 8 and 12.)
 */
#include <time.h>

#include "error.h"
#include "level_set.h"

int table_set_admit(table_set *ts, const char *call)
{
    kv_db *db = ts->db;
    int l0 = __atomic_load_n(&ts->l0_files, __ATOMIC_RELAXED);
    if (l0 >= ts->l0_slowdown && l0 < ts->l0_stop) {
        uint64_t t0 = lsm_now_us();
        struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
        nanosleep(&ms, NULL);
        __atomic_add_fetch(&ts->slowdowns, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&ts->slowdown_us, lsm_now_us() - t0, __ATOMIC_RELAXED);
        return KV_OK;
    }
    if (l0 < ts->l0_stop)
        return KV_OK;
    uint64_t t0 = lsm_now_us();
    pthread_mutex_lock(&db->write_lock);
    while (ts->current->nfiles[0] >= (size_t)ts->l0_stop && !db->failed &&
           db->bg_running && db->bg_error == KV_OK)
        pthread_cond_wait(&db->bg_done, &db->write_lock);
    int rc = lsm_refuse_if_failed(db, call);
    pthread_mutex_unlock(&db->write_lock);
    __atomic_add_fetch(&ts->stops, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&ts->stop_us, lsm_now_us() - t0, __ATOMIC_RELAXED);
    return rc;
}
