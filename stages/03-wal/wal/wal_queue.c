/*
 * wal_queue.c: group commit for a write-ahead log (the contract and its
 * rules are in wal_queue.h).
 *
 * Invariants, besides the rules of wal_queue.h:
 *   1. Only the head of the queue leads, and a writer leaves the queue only
 *      when its status is final (`done`, set under queue_lock).
 *   2. A leader reads the queue's links only under queue_lock, and only
 *      those of its group, which it fixes under queue_lock in
 *      wal_queue_join: [first, last], n members.  The loops over a group
 *      stop at `last` (wal_group_next) and never read last->next, which a
 *      new writer may be setting at that moment.
 *   3. log_id, synced_to, marked_to, names_unsynced, buf and `failed` are
 *      changed only under the write lock (`failed` with an atomic store, so
 *      that stats may read it from any thread).
 *   4. A writer that finds the queue empty leads at once and never waits:
 *      nobody signals it (a leader signals the members of its group behind
 *      itself and the next head, all of which found a writer ahead of them).
 *      So only a writer that found one ahead makes its condition variable,
 *      before it first waits, under queue_lock: no signal can come before.
 *      The lone writer, the common case without contention, takes
 *      queue_lock twice and the write lock once, and makes no condition
 *      variable.
 */
#include "wal_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "kv.h"
#include "wal_marker.h"
#include "wal_writer.h"

struct wal_queue {
    const char *dir;            /* the directory of the logs (rule 2) */
    int sync;
    pthread_mutex_t queue_lock;
    wal_entry *head, *tail;
    /* Under the write lock (invariant 3). */
    int log_known;
    uint64_t log_id;            /* the log the last group went to ... */
    uint64_t synced_to;         /* ... synced up to here ... */
    uint64_t marked_to;         /* ... and the last marker in it says so */
    int names_unsynced;         /* the directory may hold names not durable */
    int appended;               /* a group went to log_id */
    uint8_t *buf;               /* a group, framed */
    size_t buf_cap;
    int failed;
    char failure[512];          /* why `failed` */
    /* Counters (updated under the write lock, read with __atomic). */
    uint64_t records, groups, largest_group, syncs, dir_syncs, sync_ns;
};

static uint64_t wal_queue_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int wal_queue_new(const char *dir, int sync, wal_queue **out)
{
    wal_queue *q = calloc(1, sizeof *q);
    if (q == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for the write queue", dir);
    q->dir = dir;
    q->sync = sync;
    q->names_unsynced = 1; /* rule 2: what earlier opens did is unknown */
    pthread_mutex_init(&q->queue_lock, NULL);
    *out = q;
    return KV_OK;
}

int wal_queue_failed(wal_queue *q)
{
    return __atomic_load_n(&q->failed, __ATOMIC_ACQUIRE);
}

/* Makes the failure in kv_errmsg final (rule 4).  Keeps the message. */
static void wal_queue_fail(wal_queue *q)
{
    snprintf(q->failure, sizeof q->failure, "%s", kv_errmsg());
    __atomic_store_n(&q->failed, 1, __ATOMIC_RELEASE);
}

static void wal_queue_count_sync(wal_queue *q, uint64_t *counter, uint64_t t0)
{
    __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&q->sync_ns, wal_queue_now_ns() - t0, __ATOMIC_RELAXED);
}

/* Syncs a log; a failure is final. */
static int wal_queue_sync_log(wal_queue *q, io_file *log, const char *call)
{
    uint64_t t0 = wal_queue_now_ns();
    int rc = io_sync(log);
    wal_queue_count_sync(q, &q->syncs, t0);
    if (rc != KV_OK) {
        kv_error(rc, "%s: %s; what was written since the last good fsync may be lost, so "
                 "every later write fails until the database is reopened", call, kv_errmsg());
        wal_queue_fail(q);
    }
    return rc;
}

int wal_queue_sync_dir(wal_queue *q, const char *call)
{
    uint64_t t0 = wal_queue_now_ns();
    int fsync_failed = 0;
    int rc = io_sync_dir_status(q->dir, &fsync_failed);
    wal_queue_count_sync(q, &q->dir_syncs, t0);
    if (rc == KV_OK) {
        q->names_unsynced = 0;
    } else if (fsync_failed) {
        kv_error(rc, "%s: %s; names made since the last good fsync may be lost, so every "
                 "later write fails until the database is reopened", call, kv_errmsg());
        wal_queue_fail(q);
    } else {
        kv_error(rc, "%s: %s (nothing was written; the write may be retried)", call,
                 kv_errmsg());
    }
    return rc;
}

void wal_queue_log_synced(wal_queue *q, const wal_target *t)
{
    q->log_known = 1;
    q->log_id = t->id;
    q->synced_to = t->at;
    q->marked_to = 0;
    q->appended = 0;
}

int wal_queue_sync(wal_queue *q, const wal_target *t, const char *call)
{
    if (q->failed)
        return kv_error(KV_ERR_IO, "%s: %s: writes are refused since an earlier failure "
                        "(%s); reopen the database", call, q->dir, q->failure);
    int met = q->log_known && q->log_id == t->id;
    if (met && q->synced_to >= t->at)
        return KV_OK;
    int rc = wal_queue_sync_log(q, t->file, call);
    if (rc == KV_OK && met)
        q->synced_to = t->at;
    return rc;
}

/* The group is going to log t: a log the queue has not met is new. */
static void wal_queue_meet(wal_queue *q, const wal_target *t)
{
    if (q->log_known && q->log_id == t->id)
        return;
    q->log_known = 1;
    q->log_id = t->id;
    q->synced_to = q->marked_to = 0;
    q->appended = 0;
    q->names_unsynced = 1;
}

static int wal_queue_reserve(wal_queue *q, uint64_t bytes, const char *call)
{
    if (bytes <= q->buf_cap)
        return KV_OK;
    uint8_t *grown = bytes <= SIZE_MAX ? malloc((size_t)bytes) : NULL;
    if (grown == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for %llu bytes of log (nothing "
                        "was written)", call, (unsigned long long)bytes);
    free(q->buf);
    q->buf = grown;
    q->buf_cap = (size_t)bytes;
    return KV_OK;
}

/* A failed append may have left a prefix of the group in the log: cut it
 * off, or the failure is final. */
static int wal_queue_undo(wal_queue *q, const wal_target *t, const char *call, int rc)
{
    char first[512];
    snprintf(first, sizeof first, "%s", kv_errmsg());
    if (io_truncate(t->file, t->at) == KV_OK)
        return kv_error(rc, "%s: %s", call, first);
    kv_error(rc, "%s: %s; then the partial record could not be cut off (%s): writes are "
             "refused until the database is reopened", call, first, kv_errmsg());
    wal_queue_fail(q);
    return rc;
}

int wal_queue_append(wal_queue *q, wal_group *g, const wal_target *t)
{
    const char *call = g->first->call;
    if (q->failed)
        return kv_error(KV_ERR_IO, "%s: %s: writes are refused since an earlier failure "
                        "(%s); reopen the database", call, q->dir, q->failure);
    int rc;
    wal_queue_meet(q, t);
    if (q->sync && q->names_unsynced && (rc = wal_queue_sync_dir(q, call)) != KV_OK)
        return rc;
    if ((rc = wal_queue_reserve(q, g->bytes, call)) != KV_OK)
        return rc;

    /* The group starts with a marker if the log was synced since the last
     * one: it is true whatever happens to it, since the sync came first. */
    size_t used = 0;
    int marker = q->synced_to > q->marked_to;
    if (marker) {
        uint8_t m[WAL_MARKER_SIZE];
        wal_marker_encode(m, q->synced_to, 0);
        used += wal_frame(q->buf, t->at, m, WAL_MARKER_SIZE);
    }
    for (wal_entry *x = g->first; x != NULL; x = wal_group_next(g, x)) {
        x->start = t->at + used;
        used += wal_frame(q->buf + used, t->at + used, x->payload, x->len);
        x->end = t->at + used;
    }
    rc = io_append_bytes(t->file, q->buf, used);
    if (q->buf_cap > 2 * WAL_QUEUE_GROUP_MAX) { /* one huge record: do not keep it */
        free(q->buf);
        q->buf = NULL;
        q->buf_cap = 0;
    }
    if (rc != KV_OK)
        return wal_queue_undo(q, t, call, rc);
    q->appended = 1;
    if (marker)
        q->marked_to = q->synced_to;
    if (q->sync) {
        if ((rc = wal_queue_sync_log(q, t->file, call)) != KV_OK)
            return rc;
        q->synced_to = t->at + used;
    }
    /* The commit point: the group is in the log (and, with sync, on disk).
     * The owner may apply it now, and readers see it then. */
    __atomic_add_fetch(&q->records, g->n, __ATOMIC_RELAXED);
    __atomic_add_fetch(&q->groups, 1, __ATOMIC_RELAXED);
    if (g->n > __atomic_load_n(&q->largest_group, __ATOMIC_RELAXED))
        __atomic_store_n(&q->largest_group, g->n, __ATOMIC_RELAXED);
    return KV_OK;
}

/* Fixes the group that starts with `me`, the head of the queue: the
 * writers behind it up to WAL_QUEUE_GROUP_MAX bytes; an entry that must
 * go alone ends a group or is one.  REQUIRES: queue_lock held. */
static void wal_queue_group(wal_entry *me, wal_group *g)
{
    g->first = g->last = me;
    g->n = 0;
    g->bytes = wal_framed_max(WAL_MARKER_SIZE);
    g->room = 0;
    uint64_t payload = 0;
    for (wal_entry *x = me;
         x && (g->n == 0 ||
               (payload + x->len <= WAL_QUEUE_GROUP_MAX && !me->alone && !x->alone));
         x = x->next) {
        payload += x->len;
        g->bytes += wal_framed_max(x->len);
        g->room += x->room;
        g->n++;
        g->last = x;
    }
}

int wal_queue_join(wal_queue *q, wal_entry *me, wal_group *g)
{
    me->status = KV_OK;
    me->done = 0;
    me->next = NULL;
    pthread_mutex_lock(&q->queue_lock);
    me->waits = q->tail != NULL; /* invariant 4 */
    if (me->waits) {
        q->tail->next = me;
        pthread_cond_init(&me->cv, NULL);
    } else {
        q->head = me;
    }
    q->tail = me;
    while (!me->done && q->head != me)
        pthread_cond_wait(&me->cv, &q->queue_lock);
    if (!me->done) {
        wal_queue_group(me, g); /* it leads */
        pthread_mutex_unlock(&q->queue_lock);
        return 1;
    }
    pthread_mutex_unlock(&q->queue_lock);
    if (me->waits)
        pthread_cond_destroy(&me->cv);
    if (me->status != KV_OK)
        kv_error(me->status, "%s", me->errmsg);
    return 0;
}

void wal_queue_finish(wal_queue *q, wal_group *g, int rc)
{
    wal_entry *me = g->first;
    pthread_mutex_lock(&q->queue_lock);
    for (size_t i = 0; i < g->n; i++) {
        wal_entry *x = q->head;
        q->head = x->next;
        if (q->head == NULL)
            q->tail = NULL;
        x->status = rc;
        if (rc != KV_OK && x != me)
            snprintf(x->errmsg, sizeof x->errmsg, "%s", kv_errmsg());
        x->done = 1;
        if (x != me)
            pthread_cond_signal(&x->cv);
    }
    if (q->head)
        pthread_cond_signal(&q->head->cv); /* the next leader */
    pthread_mutex_unlock(&q->queue_lock);
    /* (The leader's message stays in place: it is this thread's.) */
    if (me->waits)
        pthread_cond_destroy(&me->cv);
}

void wal_queue_stats_get(wal_queue *q, wal_queue_stats *s)
{
    s->records = __atomic_load_n(&q->records, __ATOMIC_RELAXED);
    s->groups = __atomic_load_n(&q->groups, __ATOMIC_RELAXED);
    s->largest_group = __atomic_load_n(&q->largest_group, __ATOMIC_RELAXED);
    s->syncs = __atomic_load_n(&q->syncs, __ATOMIC_RELAXED);
    s->dir_syncs = __atomic_load_n(&q->dir_syncs, __ATOMIC_RELAXED);
    s->sync_ns = __atomic_load_n(&q->sync_ns, __ATOMIC_RELAXED);
    s->failed = wal_queue_failed(q);
}

int wal_queue_close(wal_queue *q, const wal_target *t, int mark)
{
    if (q == NULL)
        return KV_OK;
    int rc = KV_OK;
    if (!q->failed && t != NULL) {
        int met = q->log_known && q->log_id == t->id;
        if (!met)
            q->names_unsynced = 1; /* the owner rolled to a log the queue never met */
        if (t->at > 0 && ((met && q->appended) || mark)) {
            /* A clean close leaves the log synced and ending in a marker
             * that says so: damage found in it later is then corruption,
             * never a lost write. */
            if (!(met && q->synced_to == t->at))
                rc = wal_queue_sync_log(q, t->file, "kv_close");
            if (rc == KV_OK) {
                uint8_t m[WAL_MARKER_SIZE];
                const uint8_t *rec = m;
                size_t len = WAL_MARKER_SIZE;
                wal_marker_encode(m, t->at, 0);
                rc = wal_append(t->file, t->at, &rec, &len, 1, NULL);
            }
        }
    }
    if (rc == KV_OK && !q->failed && q->names_unsynced)
        rc = wal_queue_sync_dir(q, "kv_close");
    free(q->buf);
    pthread_mutex_destroy(&q->queue_lock);
    free(q);
    return rc;
}
