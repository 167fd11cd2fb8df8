/*
 * lsm_values.c: the value store's jobs (value_store.h), run by the engine.
 * A store that keeps values elsewhere (stage 08's value log) collects its
 * space: it picks a file to empty, and each value of it that a key still
 * holds there must be written again first, as a new put, which only the
 * engine can make.  Stage 04's store (values in place) has no jobs: no
 * thread runs, and kv_compact finds nothing to do here.
 *
 * A job, step by step:
 *   1. the store picks it (value_store_pick), under write_lock: a file to
 *      empty, or one to measure (how much of it is still read, unknown
 *      after a crash);
 *   2. for each value the store offers (value_store_job_next), the engine
 *      looks whether the key's newest version still reads it there
 *      (lsm_values_there), and says so (value_store_job_result); to empty
 *      a file, it writes each value still read again, as a put
 *      (lsm_write_moved) whose check, under write_lock, lets it in only if
 *      that is still so (lsm_values_still_there): a key written or deleted
 *      meanwhile keeps its newer version, and the old value is garbage;
 *   3. the store hears that every value moved was written before the
 *      write numbered `seq` (value_store_job_end);
 *   4. the file goes once no reader can need it (value_store_collect):
 *      those writes are in tables (flushed >= seq), every snapshot is at
 *      or past seq, and no pin is older than the job's end.
 * The jobs run on a thread of their own, not the background thread: their
 * writes may wait for a flush, which the background thread makes.  One at
 * a time (its lock), so kv_compact, which runs every job there is
 * (lsm_values_run_all), never races the thread.
 *
 * Step 4 waits for the moves, and every write that hid a value found
 * dead, to be on stable storage: in tables, or in a synced log.  When a
 * file waits for nothing else, the thread syncs the log itself
 * (lsm_write_sync_log) rather than wait for the next flush, which an idle
 * database never makes.  And an idle database (no write of its users for
 * a round of the thread, a second) has time: its memtable is flushed if
 * its log holds a mebibyte or more, so that the garbage in its logs is
 * counted, and each file whose count is
 * older than the last write is measured again (merges drop entries late),
 * so that its space comes back without a kv_compact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "lsm_db.h"
#include "lsm_elsewhere.h"
#include "merge_iter.h"

/* How often the thread looks for work when it found none: what it waits
 * for (a flush, a snapshot's end, a reader's) signals nothing, and no
 * file of the engine that makes them calls here. */
#define LSM_VALUES_LOOK_US 1000000u
/* An idle engine flushes a memtable whose log holds at least this much. */
#define LSM_VALUES_IDLE_FLUSH_BYTES (1u << 20)

/* The jobs' state (kv_db.vjobs), made by lsm_values_start. */
struct lsm_values {
    pthread_mutex_t lock;   /* one job at a time (taken before write_lock) */
    pthread_cond_t work;    /* the thread waits on it, with write_lock, a
                               second at a time (or until it is stopped) */
    pthread_t thread;
    int running, stop;
    /* The sequence numbers of the puts that moved a value (ascending),
     * while a snapshot older than one is live: not writes a transaction
     * conflicts with (lsm_values_moved).  Guarded by write_lock. */
    uint64_t *moved;
    size_t nmoved, cap;
    /* The jobs' lock: */
    uint64_t moves;         /* puts this thread wrote to move values: not
                               writes of the users (lsm_values_idle) */
    uint64_t users_seen;    /* the users' writes at the last round */
    uint64_t users_seen_us; /* when they were last seen to change */
    uint64_t written_at;    /* the last write when users were last seen
                               writing: a count older may be stale */
    uint64_t synced;        /* every write up to it is on stable storage
                               (lsm_write_sync_log) */
};

typedef struct move_check {
    kv_db *db;
    const value_move *m;
} move_check;

/* Whether a key's newest version is still the table entry saying the
 * value is where m says: with the memtables and tables of view v (a
 * memtable holds only puts of values in place, and newer writes than the
 * tables').  1, 0, or a negative error. */
static int lsm_values_there(const lsm_view *v, uint64_t seq, const value_move *m)
{
    ikey_lookup lk;
    int rc = ikey_lookup_init(&lk, m->key, m->klen, seq);
    if (rc != KV_OK)
        return rc;
    int there = 1;
    memtable *mems[2] = {v->mem, v->imm};
    for (int i = 0; i < 2 && there; i++) {
        const uint8_t *p = NULL;
        size_t n = 0;
        if (mems[i] != NULL && memtable_get(mems[i], &lk, &p, &n) != IKEY_ABSENT)
            there = 0; /* written or deleted since */
    }
    void *val = NULL;
    size_t vlen = 0;
    int elsewhere = 0;
    table_get_cost cost = {0};
    if (there) {
        rc = table_set_get(v->tables, &lk, NULL, NULL, &val, &vlen, &elsewhere, &cost);
        there = rc == KV_OK && elsewhere && vlen == m->wlen && memcmp(val, m->where, vlen) == 0;
        if (rc == KV_NOT_FOUND)
            rc = KV_OK;
    }
    free(val);
    ikey_lookup_free(&lk);
    return rc != KV_OK ? rc : there;
}

/* A moved value's condition, checked in the write path under write_lock
 * (as a commit's): KV_OK if the key still reads its value where the store
 * said, KV_ERR_CONFLICT if it was written or deleted since. */
static int lsm_values_still_there(void *ctx)
{
    move_check *c = ctx;
    kv_db *db = c->db;
    lsm_view now = {.mem = db->memtables.mem, .imm = db->memtables.imm, .tables = db->tables.current};
    uint64_t seq = atomic_load_explicit(&db->seq.last, memory_order_relaxed);
    int there = lsm_values_there(&now, seq, c->m);
    if (there < 0)
        return there;
    if (!there)
        return kv_error(KV_ERR_CONFLICT, "value store: the key was written again since");
    /* The put is alone in its group, and takes next_seq (lsm_write.c): a
     * snapshot older than it must not see it as a write (lsm_sources.h). */
    struct lsm_values *v = db->values.jobs;
    if (lsm_oldest_snapshot(db) >= db->seq.next)
        return KV_OK; /* no snapshot it is newer than */
    if (v->nmoved == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        uint64_t *grown = realloc(v->moved, cap * sizeof *grown);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "value store: out of memory for a moved value");
        v->moved = grown;
        v->cap = cap;
    }
    v->moved[v->nmoved++] = db->seq.next;
    return KV_OK;
}

/* Forgets the moves no snapshot is older than.  REQUIRES: write_lock. */
static void lsm_values_forget_moves(kv_db *db, uint64_t oldest)
{
    struct lsm_values *v = db->values.jobs;
    size_t k = 0;
    while (k < v->nmoved && v->moved[k] <= oldest)
        k++;
    if (k > 0)
        memmove(v->moved, v->moved + k, (v->nmoved - k) * sizeof *v->moved);
    v->nmoved -= k;
}

void lsm_values_moved(kv_db *db, const uint64_t **moved, size_t *n)
{
    struct lsm_values *v = db->values.jobs;
    *moved = v != NULL ? v->moved : NULL;
    *n = v != NULL ? v->nmoved : 0;
}

/* Step 2 for a job: each value answered; a move job's values still read
 * written again.  KV_OK or the first error.
 * REQUIRES: the jobs' lock held, write_lock not. */
static int lsm_values_answer(kv_db *db, value_job *job)
{
    value_move m;
    int more, rc = KV_OK;
    while (rc == KV_OK && (more = value_store_job_next(job, &m)) > 0) {
        /* A first look, from a view as a reader takes it: most values of a
         * file worth emptying are garbage, and need no write lock. */
        uint64_t seq = 0;
        lsm_view *v = lsm_view_get(db, &seq);
        int there = lsm_values_there(v, seq, &m);
        lsm_view_unref(v);
        if (there < 0) {
            rc = there;
            break;
        }
        if (!there || !m.move) {
            value_store_job_result(job, there ? VALUE_LIVE : VALUE_DEAD);
            continue;
        }
        const uint8_t *val = NULL;
        size_t vlen = 0;
        if ((rc = value_store_job_value(job, &val, &vlen)) != KV_OK)
            break;
        move_check c = {.db = db, .m = &m};
        batch_op op = {.key = m.key, .klen = m.klen, .val = val, .vlen = vlen};
        int w = lsm_write_moved(db, &op, lsm_values_still_there, &c);
        if (w == KV_OK) {
            db->values.jobs->moves++;
            value_store_job_result(job, VALUE_MOVED);
        }
        else if (w == KV_ERR_CONFLICT)
            value_store_job_result(job, VALUE_DEAD); /* written since: garbage */
        else
            rc = w;
    }
    if (more < 0 && rc == KV_OK)
        rc = more;
    return rc;
}

/* For a job that cannot list its values (a damaged file): the newest
 * version of every key, as a reader at the view's sequence number sees
 * it, offered if it is kept elsewhere.  KV_OK or an error. */
static int lsm_values_offer_keys(kv_db *db, value_job *job)
{
    uint64_t seq = 0;
    lsm_view *v = lsm_view_get(db, &seq);
    iter **children = NULL, *it = NULL;
    size_t n = 0;
    int rc = lsm_view_iters(v, &children, &n);
    if (rc == KV_OK)
        rc = merge_iter_new(children, n, &it); /* (it owns them now) */
    free(children);
    uint8_t *prev = NULL; /* the user key the last entry had */
    size_t prev_len = 0, prev_cap = 0;
    int have_prev = 0;
    if (rc == KV_OK)
        iter_seek_first(it);
    for (; rc == KV_OK && it->valid; iter_next(it)) {
        size_t ulen = it->key_len - IKEY_TRAILER_SIZE;
        if (ikey_seq(it->key, it->key_len) > seq ||
            (have_prev && prev_len == ulen && memcmp(prev, it->key, ulen) == 0))
            continue; /* too new for the view, or an older version */
        /* The key's newest version: the entries after it are older. */
        if (ulen > prev_cap) {
            uint8_t *grown = realloc(prev, ulen);
            if (grown == NULL) {
                rc = kv_error(KV_ERR_NOMEM, "value store: out of memory for a key");
                break;
            }
            prev = grown;
            prev_cap = ulen;
        }
        memcpy(prev, it->key, ulen);
        prev_len = ulen;
        have_prev = 1;
        if (ikey_type_of(it->key, it->key_len) == IKEY_PUT_ELSEWHERE)
            rc = value_store_job_offer(job, it->key, ulen, it->value, it->value_len);
    }
    free(prev);
    if (rc == KV_OK && it != NULL)
        rc = it->status;
    iter_free(it);
    lsm_view_unref(v);
    return rc;
}

/* Steps 1 to 3 for job (the store picked it: write_lock is no longer held).
 * *rc: its failure (KV_OK if none). */
static void lsm_values_work(kv_db *db, value_job *job, int *rc)
{
    if (value_store_job_wants_keys(job))
        *rc = lsm_values_offer_keys(db, job);
    if (*rc == KV_OK)
        *rc = lsm_values_answer(db, job);
    uint64_t seq = atomic_load_explicit(&db->seq.last, memory_order_acquire);
    value_store_job_end(db->values.store, job, seq, *rc);
}

/* Steps 1 to 3, once: 1 if there was a job.  recount: an engine with time
 * asks for more (value_store_pick_recount): counts older than `since`,
 * and with damaged, damaged files.  *rc: its failure (KV_OK if none).
 * REQUIRES: the jobs' lock held, write_lock not. */
static int lsm_values_job(kv_db *db, int recount, uint64_t since, int damaged, int *rc)
{
    *rc = KV_OK;
    pthread_mutex_lock(&db->write_lock);
    value_job *job = NULL;
    uint64_t oldest = lsm_oldest_snapshot(db);
    lsm_values_forget_moves(db, oldest);
    if (!db->fail.failed)
        *rc = recount ? value_store_pick_recount(db->values.store, since, damaged, &job)
                      : value_store_pick(db->values.store, oldest, &job);
    pthread_mutex_unlock(&db->write_lock);
    if (job == NULL)
        return 0;
    lsm_values_work(db, job, rc);
    return 1;
}

/* Step 4: the files no reader needs removed; how many.  A file that waits
 * only for writes to be on stable storage has them synced (with sync,
 * every acknowledged write is).  *rc: the first failure (a removal's is
 * harmless: kv_open removes them).  REQUIRES: the jobs' lock held, no
 * other lock. */
static uint64_t lsm_values_collect(kv_db *db, int *rc)
{
    struct lsm_values *v = db->values.jobs;
    pthread_mutex_lock(&db->write_lock);
    int failed = db->fail.failed;
    uint64_t oldest = lsm_oldest_snapshot(db), durable = db->seq.flushed;
    if (db->opt.sync)
        durable = atomic_load_explicit(&db->seq.last, memory_order_relaxed);
    pthread_mutex_unlock(&db->write_lock);
    *rc = KV_OK;
    if (failed)
        return 0;
    if (v->synced > durable)
        durable = v->synced;
    if (value_store_durable_wanted(db->values.store, oldest) > durable &&
        (*rc = lsm_write_sync_log(db, &v->synced)) == KV_OK)
        durable = v->synced;
    uint64_t removed = 0;
    if (*rc == KV_OK)
        *rc = value_store_collect(db->values.store, oldest, durable, &removed);
    return removed;
}

int lsm_values_run_all(kv_db *db)
{
    if (db->values.jobs == NULL)
        return KV_OK; /* read only */
    pthread_mutex_lock(&db->values.jobs->lock);
    /* Every file worth it emptied, then every count made before now made
     * again (and what it finds worth emptying emptied), damaged files
     * emptied of what keys still read there. */
    uint64_t since = atomic_load_explicit(&db->seq.last, memory_order_acquire);
    int rc = KV_OK, jobs;
    do {
        jobs = 0;
        while (rc == KV_OK && (lsm_values_job(db, 0, 0, 0, &rc) ||
                               (rc == KV_OK && lsm_values_job(db, 1, since, 1, &rc))))
            jobs++;
        /* What the jobs wrote again, in tables (this call's, or the
         * thread's, which may have run a job just before this call took
         * the lock): their files may go now; on a nearly full disk, the
         * room they leave lets larger files be emptied in the next pass
         * (vlog_gc.c, vlog_fits).  A flush of an empty memtable is none. */
        if (rc == KV_OK)
            rc = lsm_write_flush_all(db, "kv_compact");
    } while (rc == KV_OK && lsm_values_collect(db, &rc) > 0 && jobs > 0);
    pthread_mutex_unlock(&db->values.jobs->lock);
    return rc;
}

/* The state, with its lock and condition (the thread's wait is timed on
 * CLOCK_MONOTONIC, as lsm_bg.c's). */
static int lsm_values_new(kv_db *db)
{
    struct lsm_values *v = calloc(1, sizeof *v);
    if (v == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", db->dir.path);
    pthread_mutex_init(&v->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&v->work, &attr);
    pthread_condattr_destroy(&attr);
    db->values.jobs = v;
    return KV_OK;
}

static void lsm_values_free(kv_db *db)
{
    struct lsm_values *v = db->values.jobs;
    if (v == NULL)
        return;
    pthread_cond_destroy(&v->work);
    pthread_mutex_destroy(&v->lock);
    free(v->moved);
    free(v);
    db->values.jobs = NULL;
}


#ifdef KV_BG_INLINE

int lsm_values_start(kv_db *db, int has_jobs)
{
    (void)has_jobs; /* no threads: kv_compact runs the jobs */
    return lsm_values_new(db);
}

void lsm_values_stop(kv_db *db) { lsm_values_free(db); }

#else

/* The users' writes: the last sequence number less the moves. */
static uint64_t lsm_values_users(kv_db *db)
{
    return atomic_load_explicit(&db->seq.last, memory_order_acquire) - db->values.jobs->moves;
}

/* Whether the users wrote nothing for a round (LSM_VALUES_LOOK_US); if
 * they wrote, the counts made before now may be stale.  REQUIRES: the
 * jobs' lock. */
static int lsm_values_idle(kv_db *db)
{
    struct lsm_values *v = db->values.jobs;
    uint64_t users = lsm_values_users(db), now = lsm_now_us();
    if (users == v->users_seen)
        return now - v->users_seen_us >= LSM_VALUES_LOOK_US;
    v->users_seen = users;
    v->users_seen_us = now;
    v->written_at = atomic_load_explicit(&db->seq.last, memory_order_acquire);
    return 0;
}

/* One round of the thread: a job if one is due; if the users wrote
 * nothing since the last round, a count made before their last write
 * made again; then the removals.  *idle: the users wrote nothing.
 * 1 if it did anything. */
static int lsm_values_round(kv_db *db, int *idle, int *rc)
{
    struct lsm_values *v = db->values.jobs;
    pthread_mutex_lock(&v->lock);
    int crc = KV_OK;
    int worked = lsm_values_job(db, 0, 0, 0, rc);
    *idle = lsm_values_idle(db);
    if (!worked && *rc == KV_OK && *idle)
        worked = lsm_values_job(db, 1, v->written_at, 0, rc);
    worked |= lsm_values_collect(db, &crc) > 0;
    pthread_mutex_unlock(&v->lock);
    if (*rc == KV_OK)
        *rc = crc;
    return worked;
}

static void *lsm_values_main(void *arg)
{
    kv_db *db = arg;
    struct lsm_values *v = db->values.jobs;
    pthread_mutex_lock(&v->lock);
    v->users_seen = lsm_values_users(db);
    v->users_seen_us = lsm_now_us();
    v->written_at = atomic_load_explicit(&db->seq.last, memory_order_acquire);
    pthread_mutex_unlock(&v->lock);
    for (;;) {
        int idle = 0, rc = KV_OK;
        int worked = lsm_values_round(db, &idle, &rc);
        /* Idle with nothing else to do: the memtable's log becomes a
         * value-log file, whose garbage is counted at its flush (a log too
         * small to matter is left for the users' writes to fill). */
        if (rc == KV_OK && idle && !worked)
            lsm_write_flush_soon(db, LSM_VALUES_IDLE_FLUSH_BYTES);
        pthread_mutex_lock(&db->write_lock);
        if (rc != KV_OK && !db->fail.failed)
            lsm_set_bg_error(db, rc); /* said once; the job is tried again */
        if (!v->stop && (!worked || rc != KV_OK)) {
            uint64_t at_us = lsm_now_us() + LSM_VALUES_LOOK_US;
            struct timespec at = {.tv_sec = (time_t)(at_us / 1000000u),
                                  .tv_nsec = (long)(at_us % 1000000u) * 1000};
            pthread_cond_timedwait(&v->work, &db->write_lock, &at);
        }
        int stop = v->stop;
        pthread_mutex_unlock(&db->write_lock);
        if (stop)
            return NULL;
    }
}

int lsm_values_start(kv_db *db, int has_jobs)
{
    int rc = lsm_values_new(db);
    if (rc != KV_OK || !has_jobs)
        return rc;
    rc = pthread_create(&db->values.jobs->thread, NULL, lsm_values_main, db);
    if (rc != 0)
        return kv_error(KV_ERR_IO, "kv_open %s: cannot start the value store's thread: %s",
                        db->dir.path, strerror(rc));
    db->values.jobs->running = 1;
    return KV_OK;
}

void lsm_values_stop(kv_db *db)
{
    struct lsm_values *v = db->values.jobs;
    if (v != NULL && v->running) {
        pthread_mutex_lock(&db->write_lock);
        v->stop = 1;
        pthread_cond_signal(&v->work);
        pthread_mutex_unlock(&db->write_lock);
        pthread_join(v->thread, NULL);
    }
    lsm_values_free(db);
}

#endif
