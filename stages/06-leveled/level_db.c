/*
 * level_db.c: stage 06's engine: open, close, the readers' view of
 * {mem, imm, version}, and the life of table files (level_db.h has the
 * design, its invariants and its locks).
 *
 * A view is shared by stage 04's lsm_view.c, linked unchanged (so stage
 * 04's write path freezes memtables through it); what it holds besides
 * its memtables, the version, is made and freed here, to stage 04's
 * contracts (lsm_db.h).
 */
#include "level_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "error.h"

const char *kv_stage(void) { return KV_STAGE_NAME; }

uint64_t lsm_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- table files and versions ------------------------------------------------ */

/* The vfile of table `number` in the current version, or NULL. */
static vfile *level_vfile_find(const version *v, uint64_t number)
{
    for (int level = 0; v != NULL && level < VERSION_LEVELS; level++)
        for (size_t i = 0; i < v->nfiles[level]; i++)
            if (v->files[level][i]->number == number)
                return v->files[level][i];
    return NULL;
}

int level_vfile_open(void *ctx, const edit_file *f, vfile **out)
{
    level_db *ldb = ctx;
    /* A table moved to another level (a trivial move) stays the same
     * vfile: one vfile per file, so that its last reference is the file's
     * last use (V3). */
    vfile *vf = level_vfile_find(ldb->current, f->number);
    if (vf != NULL) {
        vfile_ref(vf);
        *out = vf;
        return KV_OK;
    }
    int rc = vfile_new(f, &vf);
    if (rc != KV_OK)
        return rc;
    char *path = level_table_path(ldb, f->number);
    rc = path ? table_open(ldb->base.tctx, path, &vf->t) : KV_ERR_NOMEM;
    free(path);
    if (rc != KV_OK) {
        vfile_unref(vf, NULL, NULL); /* not listed: the file is the manifest's */
        return rc;
    }
    *out = vf;
    return KV_OK;
}

void level_vfile_gone(void *ctx, vfile *f)
{
    level_db *ldb = ctx;
    table_unref(f->t);
    f->t = NULL;
    pthread_mutex_lock(&ldb->obsolete_lock);
    if (ldb->nobsolete == ldb->obsolete_cap) {
        size_t cap = 2 * ldb->obsolete_cap + 8;
        uint64_t *grown = realloc(ldb->obsolete, cap * sizeof *grown);
        if (grown == NULL) {
            ldb->obsolete_nomem = 1; /* the file stays: garbage at the next open */
            pthread_mutex_unlock(&ldb->obsolete_lock);
            return;
        }
        ldb->obsolete = grown;
        ldb->obsolete_cap = cap;
    }
    ldb->obsolete[ldb->nobsolete++] = f->number;
    pthread_mutex_unlock(&ldb->obsolete_lock);
}

void level_delete_obsolete(level_db *ldb)
{
    pthread_mutex_lock(&ldb->obsolete_lock);
    uint64_t *list = ldb->obsolete;
    size_t n = ldb->nobsolete;
    int keep = __atomic_load_n(&ldb->manifest_broken, __ATOMIC_ACQUIRE) ||
               ldb->base.opt.read_only || ldb->closing;
    ldb->obsolete = NULL;
    ldb->nobsolete = ldb->obsolete_cap = 0;
    pthread_mutex_unlock(&ldb->obsolete_lock);
    int failed = KV_OK;
    for (size_t i = 0; !keep && i < n; i++) {
        char *path = level_table_path(ldb, list[i]);
        /* A number may be listed twice (a compaction that failed removes
         * its outputs, and their vfiles list them as they go); numbers are
         * never reused, so a file already gone is what was wanted. */
        int exists = 1;
        int rc = path ? io_exists(path, &exists) : KV_ERR_NOMEM;
        if (rc == KV_OK && exists && (rc = io_unlink(path)) == KV_OK)
            __atomic_add_fetch(&ldb->files_deleted, 1, __ATOMIC_RELAXED);
        else if (failed == KV_OK)
            failed = rc;
        free(path);
    }
    free(list);
    if (failed != KV_OK && !ldb->closing) {
        /* Harmless (the next open removes the garbage), but said once. */
        pthread_mutex_lock(&ldb->base.write_lock);
        lsm_set_bg_error(&ldb->base, failed);
        pthread_mutex_unlock(&ldb->base.write_lock);
    }
}

/* ---- views ------------------------------------------------------------------- */

/* A stage-06 view is its memtables, shared as stage 04 shares them
 * (lsm_view.c), and the version read with them, with a reference. */
int lsm_view_new(kv_db *db, memtable *mem, memtable *imm, const lsm_table *tables, size_t n,
                 lsm_view **out)
{
    (void)tables; /* stage 06 keeps its tables in versions: n is 0 */
    if (n != 0)
        return kv_error(KV_ERR_INVALID, "lsm_view_new: stage 06 has no flat table list");
    level_view *lv = calloc(1, sizeof *lv);
    if (lv == NULL)
        return kv_error(KV_ERR_NOMEM, "out of memory for a view");
    lsm_view_init(&lv->base, mem, imm);
    /* Every caller (stage 04's write path freezing a memtable, and
     * lsm_view_install) holds write_lock, under which the version cannot
     * change, and publishes the view before releasing it. */
    lv->v = level_db_of(db)->current;
    version_ref(lv->v);
    *out = &lv->base;
    return KV_OK;
}

void lsm_view_free(lsm_view *v)
{
    level_view *lv = level_view_of(v);
    version_unref(lv->v); /* its release callback lists files no version holds */
    free(lv);
}

void level_install(level_db *ldb, version *v, int flushed, level_view *lv)
{
    kv_db *db = &ldb->base;
    lsm_view_init(&lv->base, db->mem, flushed ? NULL : db->imm);
    lv->v = v;
    version_ref(v);
    version *old = ldb->current;
    ldb->current = v;
    __atomic_store_n(&ldb->l0_files, (int)v->nfiles[0], __ATOMIC_RELAXED);
    if (flushed) {
        memtable_unref(db->imm);
        db->imm = NULL;
    }
    lsm_view_publish(db, &lv->base);
    version_unref(old);
}

/* ---- open and close -------------------------------------------------------- */

static void level_db_free(level_db *ldb)
{
    kv_db *db = &ldb->base;
    lsm_view_unref(db->view);
    db->view = NULL;
    level_delete_obsolete(ldb);
    /* What the current version holds is the database: its release at
     * close deletes nothing. */
    pthread_mutex_lock(&ldb->obsolete_lock);
    ldb->closing = 1;
    pthread_mutex_unlock(&ldb->obsolete_lock);
    version_unref(ldb->current);
    ldb->current = NULL;
    level_delete_obsolete(ldb);
    manifest_writer_free(ldb->manifest);
    memtable_unref(db->mem);
    memtable_unref(db->imm);
    for (size_t i = 0; i < db->nwals; i++)
        lsm_wal_free(db->wals[i]);
    free(db->wals);
    for (int i = 0; i < VERSION_LEVELS; i++)
        free(ldb->pointer[i]);
    table_ctx_free(db->tctx);
    db_dir_close(&db->dir);
    pthread_cond_destroy(&db->flush_work);
    pthread_cond_destroy(&db->flush_done);
    pthread_cond_destroy(&ldb->bg_idle);
    pthread_mutex_destroy(&ldb->obsolete_lock);
    pthread_mutex_destroy(&db->snap_lock);
    pthread_mutex_destroy(&db->view_lock);
    pthread_mutex_destroy(&db->write_lock);
    pthread_mutex_destroy(&db->compact_lock);
    free(ldb);
}

static void level_options(level_db *ldb, const kv_options *opt)
{
    compaction_options_from(opt, &ldb->copt);
    ldb->l0_slowdown = opt->l0_slowdown > 0 ? opt->l0_slowdown : LEVEL_DEFAULT_L0_SLOWDOWN;
    ldb->l0_stop = opt->l0_stop > 0 ? opt->l0_stop : LEVEL_DEFAULT_L0_STOP;
    if (ldb->l0_stop <= ldb->l0_slowdown)
        ldb->l0_stop = ldb->l0_slowdown + 1;
    /* Level 0's compaction starts no later than writes stop for it. */
    if (ldb->copt.l0_trigger > ldb->l0_stop)
        ldb->copt.l0_trigger = ldb->l0_stop;
}

int kv_open(const char *dir, const kv_options *opt_in, kv_db **out)
{
    kv_options opt;
    int rc = args_open_options(out, opt_in, &opt);
    if (rc != KV_OK)
        return rc;
    level_db *ldb = calloc(1, sizeof *ldb);
    if (ldb == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", dir ? dir : "(null)");
    kv_db *db = &ldb->base;
    db->opt = opt;
    db->memtable_limit = opt.memtable_bytes ? opt.memtable_bytes : LSM_DEFAULT_MEMTABLE_BYTES;
    level_options(ldb, &opt);
    pthread_mutex_init(&db->compact_lock, NULL);
    pthread_mutex_init(&db->write_lock, NULL);
    pthread_mutex_init(&db->view_lock, NULL);
    pthread_mutex_init(&db->snap_lock, NULL);
    pthread_mutex_init(&ldb->obsolete_lock, NULL);
    pthread_cond_init(&db->flush_work, NULL);
    pthread_cond_init(&db->flush_done, NULL);
    pthread_cond_init(&ldb->bg_idle, NULL);
    atomic_init(&db->last_seq, 0);
    atomic_init(&db->live, 0);
    uint64_t t0 = lsm_now_us();
    rc = table_ctx_new(&opt, &db->tctx);
    if (rc == KV_OK)
        rc = db_dir_open(dir, &opt, KV_STAGE_NAME, LEVEL_DB_FORMAT, &db->dir);
    if (rc == KV_OK)
        rc = level_recover(ldb);
    if (rc == KV_OK && !opt.read_only)
        rc = lsm_write_open(db, 1);
    db->open_us = lsm_now_us() - t0;
    if (rc == KV_OK && !opt.read_only)
        rc = level_bg_start(ldb);
    if (rc != KV_OK) {
        level_bg_stop(ldb);
        lsm_write_close(db);
        __atomic_store_n(&ldb->manifest_broken, 1, __ATOMIC_RELEASE); /* delete nothing */
        level_db_free(ldb);
        return rc;
    }
    *out = db;
    return KV_OK;
}

int kv_close(kv_db *db)
{
    if (db == NULL)
        return KV_OK;
    level_db *ldb = level_db_of(db);
    uint64_t live = atomic_load_explicit(&db->live, memory_order_acquire);
    if (live > 0)
        return kv_error(KV_ERR_INVALID, "kv_close %s: %llu snapshot%s or iterator%s still "
                        "live; the database stays open until they are freed", db->dir.path,
                        (unsigned long long)live, live == 1 ? "" : "s",
                        live == 1 ? " is" : "s are");
    level_bg_stop(ldb);
    int rc = lsm_write_close(db);
    /* The closed manifest is one snapshot (level_db.h, level_manifest_new). */
    if (rc == KV_OK && ldb->manifest != NULL && !db->opt.read_only &&
        !__atomic_load_n(&ldb->manifest_broken, __ATOMIC_ACQUIRE) &&
        !__atomic_load_n(&db->failed, __ATOMIC_ACQUIRE) &&
        __atomic_load_n(&ldb->manifest_edits, __ATOMIC_RELAXED) != ldb->manifest_edits_at_new) {
        rc = level_manifest_new(ldb);
        if (rc != KV_OK)
            kv_error_append(" (kv_close %s: the database is closed, and its manifest holds "
                            "every change; the next open starts a new one)", db->dir.path);
    }
    if (db->bg_error != KV_OK) {
        int bg = db->bg_error;
        char msg[600];
        snprintf(msg, sizeof msg, "%s", db->bg_message);
        if (rc == KV_OK)
            rc = kv_error(bg, "kv_close %s: the database is closed; in the background: %s "
                          "(its logs keep what was not flushed, and the next open replays "
                          "them)", db->dir.path, msg);
    }
    /* A background compaction can fail after the last call, or during
     * this close: it is said here, or no call would say it. */
    if (rc == KV_OK && __atomic_load_n(&db->failed, __ATOMIC_ACQUIRE))
        rc = kv_error(KV_ERR_IO, "kv_close %s: the database is closed, but it had failed: %s "
                      "(the next open recovers from the manifest and the logs)", db->dir.path,
                      db->failure);
    level_db_free(ldb);
    return rc;
}
