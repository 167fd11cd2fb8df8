/*
 * lsm_admit.c: admission, the first step of every write (lsm_write.c):
 * the table set says whether its tables keep up (table_set_admit), and
 * the engine does the waiting.  Stage 04's flat list always says yes;
 * stage 06 counts its level-0 tables, which every read asks (their ranges
 * overlap), against two thresholds:
 *   - slow down (8 tables by default): the write first sleeps 1 ms, once,
 *     giving the background thread the time a write would have taken, so
 *     that writers' latency grows smoothly instead of stopping;
 *   - stop (12): the write waits until a job has brought the count down.
 * (LevelDB's MakeRoomForWrite uses the same two thresholds, 8 and 12.)
 * The value store has its say too (value_store_admit): stage 08's value
 * log slows writers down while its garbage is over its target, so that
 * its collection, which runs beside them, catches up.  It never stops
 * them: what it waits for (a snapshot's end, say) may never come.
 */
#include <time.h>

#include "error.h"
#include "lsm_db.h"
#include "lsm_elsewhere.h"

int lsm_admit(kv_db *db, const char *call)
{
    table_admit a = table_set_admit(db->tables.set);
    struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
    if (a == TABLE_ADMIT_OK) {
        if (value_store_admit(db->values.store) == TABLE_ADMIT_OK)
            return KV_OK;
        nanosleep(&ms, NULL); /* (the store counts it) */
        return KV_OK;
    }
    uint64_t t0 = lsm_now_us(), ns0 = latency_start();
    if (a == TABLE_ADMIT_SLOW) {
        nanosleep(&ms, NULL);
        lsm_count(&db->count.stats, LSM_SLOWDOWNS, 1);
        lsm_count(&db->count.stats, LSM_SLOWDOWN_US, lsm_now_us() - t0);
        latency_record(&db->count.stats.lat, LATENCY_STALL_SLOWDOWN, ns0);
        return KV_OK;
    }
    /* Without a background thread (KV_BG_INLINE, or a failure) no job
     * would end: the write goes on, and the next flush does the work. */
    pthread_mutex_lock(&db->write_lock);
    while (table_set_admit(db->tables.set) == TABLE_ADMIT_STOP && !db->fail.failed && db->bg.running &&
           db->fail.bg_error == KV_OK)
        pthread_cond_wait(&db->bg.done, &db->write_lock);
    int rc = lsm_refuse_if_failed(db, call);
    pthread_mutex_unlock(&db->write_lock);
    lsm_count(&db->count.stats, LSM_STOPS, 1);
    lsm_count(&db->count.stats, LSM_STOP_US, lsm_now_us() - t0);
    latency_record(&db->count.stats.lat, LATENCY_STALL_STOP, ns0);
    return rc;
}
