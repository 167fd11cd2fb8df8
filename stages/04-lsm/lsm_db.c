/*
 * lsm_db.c: stage 04's engine: open, close, and the tables in the readers'
 * view: a view made of a table list, a lookup and iterators over its
 * tables, kv_stats's lines about them (how a view is shared is in
 * lsm_view.c, failures in lsm_failure.c, snapshots in lsm_snapshot.c).
 * The design, its locks and invariants are in lsm_db.h; docs/04-lsm.md
 * has the reasoning.
 */
#include "lsm_db.h"

#include <inttypes.h>
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

/* ---- views ------------------------------------------------------------------- */

/* A view is its memtables (lsm_view.c) and its tables: a copy of the
 * table list, with a reference on each table. */
int lsm_view_new(kv_db *db, memtable *mem, memtable *imm, const lsm_table *tables, size_t n,
                 lsm_view **out)
{
    lsm_view *v = calloc(1, sizeof *v);
    lsm_table *copy = malloc((n + 1) * sizeof *copy);
    if (v == NULL || copy == NULL) {
        free(v);
        free(copy);
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for a view of %zu tables",
                        db->dir.path, n);
    }
    lsm_view_init(v, mem, imm);
    for (size_t i = 0; i < n; i++) {
        copy[i] = tables[i];
        table_ref(copy[i].t);
    }
    v->tables = copy;
    v->ntables = n;
    *out = v;
    return KV_OK;
}

void lsm_view_free(lsm_view *v)
{
    for (size_t i = 0; i < v->ntables; i++)
        table_unref(v->tables[i].t);
    free(v->tables);
    free(v);
}

/* The tables' part of a lookup (lsm_read.c): newest table first, the first
 * with a version of the key answers. */
int lsm_view_tables_get(kv_db *db, const lsm_view *v, const ikey_lookup *lk, void **val,
                        size_t *vlen)
{
    uint64_t reads = 0, searched = 0;
    int rc = KV_NOT_FOUND;
    for (size_t i = 0; i < v->ntables; i++) {
        table_get_result r;
        int st = table_get(v->tables[i].t, lk, &r);
        reads += r.reads;
        searched += r.reads > 0;
        if (st != KV_OK) {
            rc = st;
            break;
        }
        if (r.state == IKEY_FOUND) {
            *val = r.value;
            *vlen = r.value_len;
            rc = KV_OK;
            break;
        }
        if (r.state == IKEY_DELETED)
            break;
    }
    __atomic_add_fetch(&db->get_table_reads, reads, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->get_tables_searched, searched, __ATOMIC_RELAXED);
    return rc;
}

/* Iterators over every source of v, newest first: mem, imm, each table. */
int lsm_view_iters(const lsm_view *v, iter ***out, size_t *n)
{
    iter **children = malloc((v->ntables + 2) * sizeof *children);
    if (children == NULL)
        return kv_error(KV_ERR_NOMEM, "out of memory for the iterators of %zu tables",
                        v->ntables);
    int rc = memtable_iter_new(v->mem, &children[0]);
    *n = rc == KV_OK;
    if (rc == KV_OK && v->imm != NULL && (rc = memtable_iter_new(v->imm, &children[1])) == KV_OK)
        (*n)++;
    for (size_t i = 0; rc == KV_OK && i < v->ntables; i++)
        if ((rc = table_iter_new(v->tables[i].t, &children[*n])) == KV_OK)
            (*n)++;
    if (rc != KV_OK) {
        while (*n > 0)
            iter_free(children[--*n]);
        free(children);
        return rc;
    }
    *out = children;
    return KV_OK;
}

void lsm_view_tables_stats(kv_db *db, const lsm_view *v, stats_text *s)
{
    (void)db; /* the view's table list says it all */
    uint64_t bytes = 0, entries = 0;
    for (size_t i = 0; i < v->ntables; i++) {
        bytes += table_file_bytes(v->tables[i].t);
        entries += table_entries(v->tables[i].t);
    }
    stats_text_add(s, "tables.count: %zu", v->ntables);
    stats_text_add(s, "tables.bytes: %" PRIu64, bytes);
    stats_text_add(s, "tables.entries: %" PRIu64, entries);
}

/* ---- open and close -------------------------------------------------------- */

static void lsm_db_free(kv_db *db)
{
    lsm_view_unref(db->view);
    memtable_unref(db->mem);
    memtable_unref(db->imm);
    for (size_t i = 0; i < db->ntables; i++)
        table_unref(db->tables[i].t);
    free(db->tables);
    for (size_t i = 0; i < db->nwals; i++)
        lsm_wal_free(db->wals[i]);
    free(db->wals);
    table_ctx_free(db->tctx);
    db_dir_close(&db->dir);
    pthread_cond_destroy(&db->flush_work);
    pthread_cond_destroy(&db->flush_done);
    pthread_mutex_destroy(&db->snap_lock);
    pthread_mutex_destroy(&db->view_lock);
    pthread_mutex_destroy(&db->write_lock);
    pthread_mutex_destroy(&db->compact_lock);
    free(db);
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
    db->memtable_limit = opt.memtable_bytes ? opt.memtable_bytes : LSM_DEFAULT_MEMTABLE_BYTES;
    pthread_mutex_init(&db->compact_lock, NULL);
    pthread_mutex_init(&db->write_lock, NULL);
    pthread_mutex_init(&db->view_lock, NULL);
    pthread_mutex_init(&db->snap_lock, NULL);
    pthread_cond_init(&db->flush_work, NULL);
    pthread_cond_init(&db->flush_done, NULL);
    atomic_init(&db->last_seq, 0);
    atomic_init(&db->live, 0);
    uint64_t t0 = lsm_now_us();
    /* The tables' options are checked before the directory is touched. */
    rc = table_ctx_new(&opt, &db->tctx);
    if (rc == KV_OK)
        rc = db_dir_open(dir, &opt, KV_STAGE_NAME, LSM_DB_FORMAT, &db->dir);
    if (rc == KV_OK)
        rc = lsm_recover(db);
    if (rc == KV_OK && !opt.read_only)
        rc = lsm_write_open(db, db->open_tmps_removed || db->open_tables_removed ||
                                    db->open_wals_removed || db->open_torn_cut ||
                                    db->open_wal_created);
    db->open_us = lsm_now_us() - t0;
    if (rc == KV_OK && !opt.read_only)
        rc = lsm_flush_start(db);
    if (rc != KV_OK) {
        lsm_flush_stop(db);
        lsm_write_close(db);
        lsm_db_free(db);
        return rc;
    }
    *out = db;
    return KV_OK;
}

int kv_close(kv_db *db)
{
    if (db == NULL)
        return KV_OK;
    uint64_t live = atomic_load_explicit(&db->live, memory_order_acquire);
    if (live > 0)
        return kv_error(KV_ERR_INVALID, "kv_close %s: %llu snapshot%s or iterator%s still "
                        "live; the database stays open until they are freed", db->dir.path,
                        (unsigned long long)live, live == 1 ? "" : "s",
                        live == 1 ? " is" : "s are");
    lsm_flush_stop(db);
    int rc = lsm_write_close(db);
    if (db->bg_error != KV_OK) {
        int bg = db->bg_error;
        char msg[600];
        snprintf(msg, sizeof msg, "%s", db->bg_message);
        if (rc == KV_OK)
            rc = kv_error(bg, "kv_close %s: the database is closed; in the background: %s "
                          "(its logs keep what was not flushed, and the next open replays "
                          "them)", db->dir.path, msg);
    }
    lsm_db_free(db);
    return rc;
}
