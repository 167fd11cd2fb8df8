/*
 * lsm_open.c: the engine's life: kv_open, kv_close and kv_compact
 * (lsm_db.h has the design, its locks and invariants; docs/04-lsm.md the
 * reasoning).
 *
 * kv_open, step by step:
 *   1. IDENTITY says the directory is this stage's (db_dir.h);
 *   2. the table set finds its tables (table_set_open): every write up to
 *      `flushed` is in them, and the logs holding nothing else are marked;
 *      the engine's view reads the version it found;
 *   3. the other logs are replayed into a fresh memtable (lsm_replay.c);
 *   4. the totals kept across sessions are loaded (lsm_totals.c);
 *   5. the write path opens over the last log (lsm_write.c), and the
 *      background thread starts if the table set has a job already (else
 *      at its first job: lsm_bg.c).
 * kv_close undoes it in the other order.
 */
#include "lsm_db.h"
#include "lsm_elsewhere.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error.h"
#include "lsm_replay.h"
#include "lsm_room.h"

const char *kv_stage(void) { return KV_STAGE_NAME; }

/* ---- open and close -------------------------------------------------------- */

static void lsm_db_free(kv_db *db)
{
    lsm_view_unref(db->view.current);
    db->view.current = NULL;
    memtable_unref(db->memtables.mem);
    memtable_unref(db->memtables.imm);
    table_set_version_unref(db->tables.current);
    table_set_close(db->tables.set, 0);
    value_store_close(db->values.store, 0);
    lsm_room_free(db->room);
    for (size_t i = 0; i < db->logs.n; i++)
        lsm_wal_free(db->logs.v[i]);
    free(db->logs.v);
    table_ctx_free(db->tables.ctx);
    bg_rate_free(db->tables.rate);
    db_dir_close(&db->dir);
    pthread_cond_destroy(&db->bg.work);
    pthread_cond_destroy(&db->bg.done);
    pthread_mutex_destroy(&db->snaps.lock);
    pthread_mutex_destroy(&db->view.lock);
    pthread_mutex_destroy(&db->write_lock);
    pthread_mutex_destroy(&db->bg.compact_lock);
    pthread_mutex_destroy(&db->count.totals.lock);
    lsm_totals_free(&db->count.totals);
    latency_set_free(&db->count.stats.lat);
    free(db);
}

/* Replay asks before it removes a log: the value store may keep it. */
static int lsm_open_adopt_log(void *ctx, uint64_t start, int *kept)
{
    return value_store_adopt_log(ctx, start, kept);
}

/* Step 3's result taken over: the memtable and the logs become the
 * engine's, the counts go to kv_stats, and the readers' view is
 * installed. */
static int lsm_apply_replayed(kv_db *db, lsm_replayed *r)
{
    db->memtables.mem = r->mem;
    db->memtables.mem_lo = r->mem_lo;
    db->logs = r->logs;
    db->count.stats.open_records += r->records;
    db->count.stats.open_records_skipped += r->records_skipped;
    db->count.stats.open_wal_bytes += r->wal_bytes;
    db->count.stats.open_torn_found += r->torn_found;
    db->count.stats.open_torn_cut = r->torn_cut;
    db->count.stats.open_tail_records_dropped = r->tail_records_dropped;
    db->count.stats.open_wals_removed += r->wals_removed;
    db->count.stats.open_wal_created = r->wal_created;
    db->seq.next = r->last_seq + 1;
    atomic_store_explicit(&db->seq.last, r->last_seq, memory_order_release);
    memset(r, 0, sizeof *r); /* the engine holds it all now */
    lsm_view *view = NULL;
    int rc = lsm_view_reserve(db, &view);
    if (rc == KV_OK)
        lsm_view_install(db, view, NULL, 0);
    return rc;
}

/* Steps 2, 3 and 4. */
static int lsm_recover(kv_db *db, int *has_jobs)
{
    lsm_listing l;
    int rc = lsm_listing_read(db->dir.path, &l);
    if (rc != KV_OK)
        return rc;
    table_set_env env = {.dir = &db->dir, .tctx = db->tables.ctx, .opt = &db->opt};
    table_set_found found = {0};
    rc = table_set_open(&env, &l, &db->tables.set, &found);
    db->tables.current = found.current;
    db->count.stats.levels = found.levels;
    db->count.stats.open_tables_removed = found.tables_removed;
    db->count.stats.open_tmps_removed = found.tmps_removed;
    db->count.stats.open_others_removed = found.others_removed;
    db->count.stats.open_torn_found = found.torn_bytes;
    db->seq.flushed = found.flushed;
    value_store_env venv = {.dir = &db->dir, .opt = &db->opt,
                            .memtable_limit = &db->memtables.limit};
    if (rc == KV_OK)
        rc = value_store_open(&venv, &l, found.flushed, &db->values.store, has_jobs);
    if (rc == KV_OK) {
        lsm_replay_env renv = {.dir = &db->dir, .read_only = db->opt.read_only,
                               .strict_recovery = db->opt.strict_recovery,
                               .memtable_limit = db->memtables.limit,
                               .adopt_log = lsm_open_adopt_log, .adopt_ctx = db->values.store};
        lsm_replayed replayed;
        rc = lsm_replay_logs(&renv, l.wals, l.nwals, found.flushed, &replayed);
        if (rc == KV_OK)
            rc = lsm_apply_replayed(db, &replayed);
        else
            lsm_replayed_free(&replayed);
    }
    if (rc == KV_OK)
        rc = lsm_totals_open(&db->count.totals, &db->count.stats, db->dir.path, db->opt.read_only,
                             atomic_load(&db->seq.last), &l, found.flushed);
    lsm_listing_free(&l);
    return rc;
}

int kv_open(const char *dir, const kv_options *opt_in, kv_db **out)
{
    kv_options opt;
    int rc = args_open_options(out, opt_in, &opt);
    if (rc != KV_OK)
        return rc;
    kv_db *db = calloc(1, sizeof *db);
    if (db == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", dir ? dir : "(null)");
    db->opt = opt;
    db->memtables.limit = opt.memtable_bytes ? opt.memtable_bytes : LSM_DEFAULT_MEMTABLE_BYTES;
    pthread_mutex_init(&db->bg.compact_lock, NULL);
    pthread_mutex_init(&db->write_lock, NULL);
    pthread_mutex_init(&db->view.lock, NULL);
    pthread_mutex_init(&db->snaps.lock, NULL);
    pthread_mutex_init(&db->count.totals.lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* lsm_bg.c's timed waits */
    pthread_cond_init(&db->bg.work, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&db->bg.done, NULL);
    atomic_init(&db->seq.last, 0);
    atomic_init(&db->snaps.live, 0);
    uint64_t t0 = lsm_now_us();
    /* The tables' options are checked before the directory is touched. */
    rc = table_ctx_new(&opt, &db->tables.ctx);
    if (rc == KV_OK)
        rc = bg_rate_new(&opt, &db->tables.rate);
    if (rc == KV_OK)
        rc = db_dir_open(dir, &opt, KV_STAGE_NAME, table_set_format(), &db->dir);
    int has_jobs = 0;
    if (rc == KV_OK)
        rc = lsm_recover(db, &has_jobs);
    if (rc == KV_OK && !opt.read_only)
        rc = lsm_room_new(db->dir.path, &db->room);
    if (rc == KV_OK && !opt.read_only)
        rc = lsm_write_open(db, db->count.stats.open_tmps_removed ||
                                    db->count.stats.open_tables_removed ||
                                    db->count.stats.open_wals_removed ||
                                    db->count.stats.open_torn_cut ||
                                    db->count.stats.open_wal_created);
    db->count.stats.open_us = lsm_now_us() - t0;
    if (rc == KV_OK && !opt.read_only)
        rc = lsm_bg_start(db);
    if (rc == KV_OK && !opt.read_only)
        rc = lsm_values_start(db, has_jobs);
    if (rc != KV_OK) {
        /* What failed is what the caller hears, not what the undoing said. */
        char why[1024];
        snprintf(why, sizeof why, "%s", kv_errmsg());
        lsm_values_stop(db);
        lsm_bg_stop(db);
        lsm_write_close(db);
        lsm_db_free(db);
        return kv_error(rc, "%s", why);
    }
    *out = db;
    return KV_OK;
}

int kv_close(kv_db *db)
{
    if (db == NULL)
        return KV_OK;
    uint64_t live = atomic_load_explicit(&db->snaps.live, memory_order_acquire);
    if (live > 0)
        return kv_error(KV_ERR_INVALID, "kv_close %s: %llu snapshot%s or iterator%s still "
                        "live; the database stays open until they are freed", db->dir.path,
                        (unsigned long long)live, live == 1 ? "" : "s",
                        live == 1 ? " is" : "s are");
    lsm_values_stop(db);
    lsm_bg_stop(db);
    int rc = lsm_write_close(db);
    int failed = __atomic_load_n(&db->fail.failed, __ATOMIC_ACQUIRE);
    /* The view and the engine's own reference go first, so that the set
     * knows which files no version holds any more, and removes them. */
    lsm_view_unref(db->view.current);
    db->view.current = NULL;
    table_set_version_unref(db->tables.current);
    db->tables.current = NULL;
    if (!db->opt.read_only) {
        uint64_t removed = 0;
        int collect_rc = table_set_collect(db->tables.set, &removed);
        lsm_count(&db->count.stats, LSM_FILES_DELETED, removed);
        if (collect_rc != KV_OK)
            lsm_set_bg_error(db, collect_rc);
    }
    int set_rc = table_set_close(db->tables.set, !db->opt.read_only && rc == KV_OK && !failed);
    db->tables.set = NULL;
    if (rc == KV_OK)
        rc = set_rc;
    if (!db->opt.read_only && rc == KV_OK && !failed) {
        /* Every write is on stable storage and no snapshot or reader is
         * left: what the value store emptied goes now. */
        uint64_t removed = 0;
        value_store_collect(db->values.store, UINT64_MAX, UINT64_MAX, &removed);
    }
    set_rc = value_store_close(db->values.store, !db->opt.read_only && rc == KV_OK && !failed);
    db->values.store = NULL;
    if (rc == KV_OK)
        rc = set_rc;
    int totals_rc = failed ? KV_OK : lsm_totals_save(&db->count.totals);
    if (rc == KV_OK && totals_rc != KV_OK)
        rc = kv_error(totals_rc, "kv_close %s: the database is closed and its data is safe, "
                      "but its totals were not saved: %s (the next open goes on from the "
                      "last save)", db->dir.path, db->count.totals.save_error);
    if (db->fail.bg_error != KV_OK && rc == KV_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", db->fail.bg_message);
        rc = kv_error(db->fail.bg_error, "kv_close %s: the database is closed; in the background: "
                      "%s (its logs keep what was not flushed, and the next open replays "
                      "them)", db->dir.path, msg);
    }
    /* A background job can fail after the last call, or during this
     * close: it is said here, or no call would say it. */
    if (rc == KV_OK && failed)
        rc = kv_error(KV_ERR_IO, "kv_close %s: the database is closed, but it had failed: %s "
                      "(the next open recovers from what is on disk)", db->dir.path,
                      db->fail.why);
    lsm_db_free(db);
    return rc;
}

/* ---- kv_flush and kv_compact ------------------------------------------------ */

static int lsm_compact_wait(kv_db *db);

int kv_flush(kv_db *db)
{
    if (db == NULL)
        return kv_error(KV_ERR_INVALID, "kv_flush: db is NULL");
    if (db->opt.read_only)
        return kv_error(KV_ERR_INVALID, "kv_flush: the database was opened read-only");
    return lsm_write_flush_all(db, "kv_flush");
}

int kv_set_background_rate(kv_db *db, size_t bytes_per_sec)
{
    if (db == NULL)
        return kv_error(KV_ERR_INVALID, "kv_set_background_rate: db is NULL");
    return bg_rate_set(db->tables.rate, bytes_per_sec);
}

int kv_compact(kv_db *db)
{
    if (db == NULL)
        return kv_error(KV_ERR_INVALID, "kv_compact: db is NULL");
    if (db->opt.read_only)
        return kv_error(KV_ERR_INVALID, "kv_compact: the database was opened read-only");
    pthread_mutex_lock(&db->bg.compact_lock);
    /* Everything, the memtable included (LevelDB's CompactRange flushes
     * it first too), so that kv_compact leaves no log to replay. */
    int rc = lsm_write_flush_all(db, "kv_compact");
    if (rc == KV_OK)
        rc = lsm_compact_wait(db);
    if (rc == KV_OK)
        rc = lsm_values_run_all(db);
    pthread_mutex_unlock(&db->bg.compact_lock);
    return rc;
}

/* The merges are the background thread's, which alone changes the table
 * set (lsm_bg.c, step 2): kv_compact asks, and waits for its answer. */
static int lsm_compact_wait(kv_db *db)
{
    pthread_mutex_lock(&db->write_lock);
    db->bg.compact_asked = 1;
    db->bg.compact_done = 0;
    lsm_bg_wake(db);
    while (!db->bg.compact_done && !db->fail.failed)
        pthread_cond_wait(&db->bg.done, &db->write_lock);
    int rc = db->bg.compact_done ? db->bg.compact_rc : lsm_refuse_if_failed(db, "kv_compact");
    if (rc != KV_OK && db->bg.compact_done)
        rc = kv_error(rc, "kv_compact %s: %s", db->dir.path, db->bg.compact_why);
    if (rc == KV_OK) /* a removal that failed meanwhile */
        rc = lsm_take_bg_error(db, "kv_compact");
    db->bg.compact_asked = 0;
    pthread_mutex_unlock(&db->write_lock);
    return rc;
}
