/*
 * lsm_room.c: writes refused before the disk is full (lsm_room.h).
 */
#include "lsm_room.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "io.h"
#include "kv.h"

/* Admitted writes may take this much between two looks. */
#define LSM_ROOM_LOOK ((int64_t)1 << 20)
#define LSM_ROOM_RESERVE_MIN ((uint64_t)1 << 20)
#define LSM_ROOM_RESERVE_MAX ((uint64_t)256 << 20)
/* A log frozen early is never smaller than this. */
#define LSM_ROOM_LOG_MIN ((uint64_t)256 << 10)

struct lsm_room {
    char *dir;
    pthread_mutex_t lock;       /* one look at a time */
    _Atomic int64_t left;       /* what checked writes may take before the
                                   next look */
    _Atomic uint64_t log_cap;   /* lsm_room_log_cap */
    _Atomic uint64_t avail, reserve; /* at the last look */
    _Atomic uint64_t refused;   /* writes refused this session */
};

/* Looks at the file system: the reserve, what checked writes may take
 * until the next look, the log's cap.  REQUIRES: r->lock held. */
static void lsm_room_look(lsm_room *r)
{
    uint64_t avail = 0, total = 0;
    if (io_space(r->dir, &avail, &total) != KV_OK || avail == UINT64_MAX) {
        /* Not known (a browser; a file system that cannot say): never a
         * reason to refuse. */
        atomic_store(&r->avail, UINT64_MAX);
        atomic_store(&r->reserve, 0);
        atomic_store(&r->log_cap, UINT64_MAX);
        atomic_store(&r->left, LSM_ROOM_LOOK);
        return;
    }
    uint64_t reserve = total / 16;
    reserve = reserve < LSM_ROOM_RESERVE_MIN   ? LSM_ROOM_RESERVE_MIN
              : reserve > LSM_ROOM_RESERVE_MAX ? LSM_ROOM_RESERVE_MAX
                                               : reserve;
    uint64_t above = avail > reserve ? avail - reserve : 0;
    uint64_t cap = above / 4 > LSM_ROOM_LOG_MIN ? above / 4 : LSM_ROOM_LOG_MIN;
    atomic_store(&r->avail, avail);
    atomic_store(&r->reserve, reserve);
    atomic_store(&r->log_cap, cap);
    atomic_store(&r->left, above < (uint64_t)LSM_ROOM_LOOK ? (int64_t)above : LSM_ROOM_LOOK);
}

int lsm_room_new(const char *dir, lsm_room **out)
{
    lsm_room *r = calloc(1, sizeof *r);
    if (r == NULL || (r->dir = strdup(dir)) == NULL) {
        free(r);
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", dir);
    }
    pthread_mutex_init(&r->lock, NULL);
    lsm_room_look(r);
    *out = r;
    return KV_OK;
}

void lsm_room_free(lsm_room *r)
{
    if (r == NULL)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->dir);
    free(r);
}

int lsm_room_check(lsm_room *r, const batch_op *ops, size_t n, uint64_t bytes,
                   const char *call)
{
    int puts = 0;
    for (size_t i = 0; i < n && !puts; i++)
        puts = !ops[i].is_delete;
    if (!puts)
        return KV_OK; /* a delete frees space: the reserve takes it */
    int64_t want = bytes < (uint64_t)LSM_ROOM_LOOK ? (int64_t)bytes : LSM_ROOM_LOOK;
    if (atomic_fetch_sub(&r->left, want) - want >= 0)
        return KV_OK;
    pthread_mutex_lock(&r->lock);
    lsm_room_look(r);
    int ok = atomic_fetch_sub(&r->left, want) - want >= 0;
    pthread_mutex_unlock(&r->lock);
    if (ok)
        return KV_OK;
    atomic_fetch_add(&r->left, want); /* not taken */
    atomic_fetch_add(&r->refused, 1);
    return kv_error(KV_ERR_IO, "%s: %s: %" PRIu64 " bytes free on its file system, not "
                    "enough above the %" PRIu64 " it keeps for deletes, flushes and "
                    "compactions: delete keys and kv_compact, or free space (nothing was "
                    "written)", call, r->dir, atomic_load(&r->avail),
                    atomic_load(&r->reserve));
}

uint64_t lsm_room_log_cap(const lsm_room *r)
{
    return atomic_load_explicit(&r->log_cap, memory_order_relaxed);
}

void lsm_room_stats(lsm_room *r, stats_text *s)
{
    uint64_t avail = atomic_load(&r->avail), cap = atomic_load(&r->log_cap);
    if (avail == UINT64_MAX)
        stats_text_add(s, "room.avail_bytes: unknown");
    else
        stats_text_add(s, "room.avail_bytes: %" PRIu64, avail);
    stats_text_add(s, "room.reserve_bytes: %" PRIu64, atomic_load(&r->reserve));
    if (cap == UINT64_MAX)
        stats_text_add(s, "room.log_cap_bytes: none");
    else
        stats_text_add(s, "room.log_cap_bytes: %" PRIu64, cap);
    stats_text_add(s, "session.write.refused_for_room: %" PRIu64, atomic_load(&r->refused));
}
