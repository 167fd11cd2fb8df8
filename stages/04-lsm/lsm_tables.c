/*
 * lsm_tables.c: stage 04's table set, one flat list of tables (lsm_tables.h
 * has its protocol, lsm_files.h the names it keeps in the directory):
 * finding the tables at open, the versions readers read, a lookup and
 * iterators over a version, the flush, and installing a new version.
 * kv_compact's merge is in lsm_compact.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "lsm_files.h"
#include "lsm_replay.h"
#include "lsm_tables.h"

unsigned table_set_format(void) { return LSM_DB_FORMAT; }

/* ---- tables and versions ------------------------------------------------------- */

int lsm_table_new(table_set *ts, table *t, uint64_t lo, uint64_t hi, lsm_table **out)
{
    lsm_table *lt = calloc(1, sizeof *lt);
    *out = lt;
    if (lt == NULL) {
        table_unref(t);
        return kv_error(KV_ERR_NOMEM, "out of memory for table %" PRIu64 "-%" PRIu64, lo, hi);
    }
    atomic_init(&lt->refs, 1);
    atomic_init(&lt->doomed, 0);
    lt->set = ts;
    lt->t = t;
    lt->lo = lo;
    lt->hi = hi;
    return KV_OK;
}

void lsm_table_unref(lsm_table *lt)
{
    if (lt == NULL || atomic_fetch_sub_explicit(&lt->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* (Before the close: table_path is the table's.) */
    if (atomic_load_explicit(&lt->doomed, memory_order_acquire) &&
        io_unlink(table_path(lt->t)) != KV_OK) {
        table_set *ts = lt->set;
        pthread_mutex_lock(&ts->removal_lock);
        if (!atomic_load(&ts->removal_failed))
            snprintf(ts->removal_why, sizeof ts->removal_why, "%s", kv_errmsg());
        atomic_store(&ts->removal_failed, 1);
        pthread_mutex_unlock(&ts->removal_lock);
    }
    table_unref(lt->t);
    free(lt);
}

int lsm_tables_take_removal_error(table_set *ts, const char *call)
{
    if (!atomic_load_explicit(&ts->removal_failed, memory_order_acquire))
        return KV_OK;
    pthread_mutex_lock(&ts->removal_lock);
    char why[600];
    snprintf(why, sizeof why, "%s", ts->removal_why);
    atomic_store(&ts->removal_failed, 0);
    pthread_mutex_unlock(&ts->removal_lock);
    return kv_error(KV_ERR_IO, "%s: %s: a table kv_compact replaced could not be removed: %s "
                    "(harmless: the next open removes it; reported once, and nothing of this "
                    "call was written)", call, ts->db->dir.path, why);
}

/* A version of n tables (a reference taken on each), one reference. */
static int lsm_version_new(lsm_table *const *tables, size_t n, table_set_version **out)
{
    table_set_version *v = calloc(1, sizeof *v);
    lsm_table **copy = malloc((n + 1) * sizeof *copy);
    if (v == NULL || copy == NULL) {
        free(v);
        free(copy);
        return kv_error(KV_ERR_NOMEM, "out of memory for a list of %zu tables", n);
    }
    atomic_init(&v->refs, 1);
    for (size_t i = 0; i < n; i++) {
        copy[i] = tables[i];
        atomic_fetch_add_explicit(&copy[i]->refs, 1, memory_order_relaxed);
    }
    v->tables = copy;
    v->n = n;
    *out = v;
    return KV_OK;
}

table_set_version *table_set_current(table_set *ts)
{
    atomic_fetch_add_explicit(&ts->current->refs, 1, memory_order_relaxed);
    return ts->current;
}

void table_set_version_unref(table_set_version *v)
{
    if (v == NULL || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < v->n; i++)
        lsm_table_unref(v->tables[i]);
    free(v->tables);
    free(v);
}

/* ---- open and close ----------------------------------------------------------- */

/* Removes the temporary files and the obsolete tables (F1), unless
 * read-only, and opens the live tables, newest first. */
int table_set_open(kv_db *db, lsm_listing *l, table_set **out, uint64_t *flushed)
{
    char name[LSM_NAME_MAX];
    table_set *ts = calloc(1, sizeof *ts);
    if (ts != NULL) {
        pthread_mutex_init(&ts->removal_lock, NULL);
        atomic_init(&ts->removal_failed, 0);
    }
    lsm_table **tables = malloc((l->ntables + 1) * sizeof *tables);
    size_t n = 0;
    int rc = ts && tables ? KV_OK : kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory",
                                            db->dir.path);
    *out = ts;
    if (rc == KV_OK && l->overlap)
        rc = kv_error(KV_ERR_CORRUPT, "%s: tables %" PRIu64 "-%" PRIu64 " and %" PRIu64 "-%"
                      PRIu64 " hold overlapping ranges of writes, which neither a flush "
                      "nor kv_compact makes: the directory was changed by hand or damaged",
                      db->dir.path, l->overlap_a[0], l->overlap_a[1], l->overlap_b[0],
                      l->overlap_b[1]);
    for (size_t i = 0; rc == KV_OK && !db->opt.read_only && i < l->ntmps; i++)
        rc = lsm_recover_unlink(db, l->tmps[i], &db->open_tmps_removed);
    for (size_t i = 0; rc == KV_OK && i < l->ntables; i++) {
        const lsm_listed_table *lt = &l->tables[i];
        lsm_table_name(name, lt->lo, lt->hi, 0);
        if (lt->obsolete) {
            if (!db->opt.read_only)
                rc = lsm_recover_unlink(db, name, &db->open_tables_removed);
            continue;
        }
        char *path = db_dir_file(&db->dir, name);
        table *t = NULL;
        rc = path ? table_open(db->tctx, path, &t) : KV_ERR_NOMEM;
        free(path);
        if (rc == KV_OK && (rc = lsm_table_new(ts, t, lt->lo, lt->hi, &tables[n])) == KV_OK)
            n++;
    }
    if (rc == KV_OK) {
        ts->db = db;
        rc = lsm_version_new(tables, n, &ts->current);
    }
    for (size_t i = 0; i < n; i++)
        lsm_table_unref(tables[i]); /* the version holds its own */
    free(tables);
    *flushed = l->max_hi;
    return rc;
}

int table_set_close(table_set *ts, int clean)
{
    (void)clean; /* the directory says it all: nothing to write */
    return lsm_tables_take_removal_error(ts, "kv_close");
}

void table_set_free(table_set *ts)
{
    if (ts == NULL)
        return;
    table_set_version_unref(ts->current);
    pthread_mutex_destroy(&ts->removal_lock);
    free(ts);
}

/* ---- reads -------------------------------------------------------------------- */

/* Newest table first; the first with a version of the key answers. */
int table_set_get(table_set *ts, const table_set_version *v, const ikey_lookup *lk,
                  void **val, size_t *vlen)
{
    uint64_t reads = 0, searched = 0;
    int rc = KV_NOT_FOUND;
    for (size_t i = 0; i < v->n; i++) {
        table_get_result r;
        int st = table_get(v->tables[i]->t, lk, &r);
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
    __atomic_add_fetch(&ts->db->get_table_reads, reads, __ATOMIC_RELAXED);
    __atomic_add_fetch(&ts->db->get_tables_searched, searched, __ATOMIC_RELAXED);
    return rc;
}

size_t table_set_iters_max(const table_set_version *v) { return v->n; }

/* One iterator per table, newest first; each holds its table open. */
int table_set_iters(table_set_version *v, iter **out, size_t *n)
{
    int rc = KV_OK;
    *n = 0;
    for (size_t i = 0; rc == KV_OK && i < v->n; i++)
        if ((rc = table_iter_new(v->tables[i]->t, &out[*n])) == KV_OK)
            (*n)++;
    if (rc != KV_OK)
        while (*n > 0)
            iter_free(out[--*n]);
    return rc;
}

void table_set_stats(table_set *ts, const table_set_version *v, stats_text *s)
{
    (void)ts; /* the version's list says it all */
    uint64_t bytes = 0, entries = 0;
    for (size_t i = 0; i < v->n; i++) {
        bytes += table_file_bytes(v->tables[i]->t);
        entries += table_entries(v->tables[i]->t);
    }
    stats_text_add(s, "tables.count: %zu", v->n);
    stats_text_add(s, "tables.bytes: %" PRIu64, bytes);
    stats_text_add(s, "tables.entries: %" PRIu64, entries);
}

void table_set_totals(table_set *ts, stats_counters *s)
{
    (void)ts, (void)s; /* a flat list: the engine's flush and compaction totals say it all */
}

/* ---- writes and the background -------------------------------------------------- */

int table_set_admit(table_set *ts, const char *call)
{
    /* Stage 04 never holds a writer back for its tables; it only says, once,
     * that a replaced table's file could not be removed. */
    return lsm_tables_take_removal_error(ts, call);
}

void table_set_work(table_set *ts, int *worked, uint64_t *wake_us, uint64_t *wake_seq)
{
    (void)ts; /* a flat list has nothing to do in the background */
    *worked = 0;
    *wake_us = 0;
    *wake_seq = 0;
}

/* ---- adding a table ------------------------------------------------------------- */

int lsm_table_out_begin(kv_db *db, uint64_t lo, uint64_t hi, lsm_table_out *o)
{
    memset(o, 0, sizeof *o);
    o->lo = lo;
    o->hi = hi;
    char name[LSM_NAME_MAX];
    lsm_table_name(name, lo, hi, 1);
    o->tmp = db_dir_file(&db->dir, name);
    lsm_table_name(name, lo, hi, 0);
    o->path = db_dir_file(&db->dir, name);
    int rc = o->tmp && o->path ? table_builder_new(db->tctx, o->tmp, &o->b) : KV_ERR_NOMEM;
    if (rc != KV_OK)
        lsm_table_out_abandon(o);
    return rc;
}

void lsm_table_out_abandon(lsm_table_out *o)
{
    table_builder_abandon(o->b);
    free(o->tmp);
    free(o->path);
    memset(o, 0, sizeof *o);
}

int lsm_table_out_finish(kv_db *db, lsm_table_out *o, const char *call, lsm_table **out,
                         table_meta *meta)
{
    table_builder *b = o->b;
    o->b = NULL;
    int rc = table_builder_finish(b, meta); /* removes the file if it fails */
    if (rc == KV_OK && (rc = io_rename(o->tmp, o->path)) != KV_OK)
        io_unlink(o->tmp);
    if (rc == KV_OK)
        rc = lsm_sync_dir(db, call);
    table *t = NULL;
    if (rc == KV_OK && (rc = table_open(db->tctx, o->path, &t)) == KV_OK)
        rc = lsm_table_new(db->tables, t, o->lo, o->hi, out);
    if (rc != KV_OK)
        kv_error_append(" (%s: writing table %s)", call, o->path);
    lsm_table_out_abandon(o);
    return rc;
}

int lsm_tables_install(table_set *ts, lsm_table *const *gone, size_t ngone, lsm_table *add,
                       int flushed)
{
    const table_set_version *cur = ts->current;
    lsm_table **list = malloc((cur->n + 2) * sizeof *list);
    if (list == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for a list of tables",
                        ts->db->dir.path);
    size_t n = 0;
    int added = add == NULL;
    for (size_t i = 0; i < cur->n; i++) {
        int drop = 0;
        for (size_t j = 0; j < ngone && !drop; j++)
            drop = cur->tables[i] == gone[j];
        if (drop)
            continue;
        if (!added && add->hi > cur->tables[i]->hi) { /* newest first (F2) */
            list[n++] = add;
            added = 1;
        }
        list[n++] = cur->tables[i];
    }
    if (!added)
        list[n++] = add;
    table_set_version *v = NULL;
    lsm_view *spare = NULL;
    int rc = lsm_version_new(list, n, &v);
    free(list);
    if (rc == KV_OK && (rc = lsm_view_reserve(ts->db, &spare)) != KV_OK)
        table_set_version_unref(v);
    if (rc != KV_OK)
        return rc;
    /* The replaced files go with the last version that holds them, but
     * one whose name the added table took: its file is the new table's. */
    for (size_t j = 0; j < ngone; j++)
        if (add == NULL || gone[j]->lo != add->lo || gone[j]->hi != add->hi)
            atomic_store_explicit(&gone[j]->doomed, 1, memory_order_release);
    lsm_table_unref(add); /* the caller's reference: the version took its own */
    table_set_version_unref(ts->current);
    ts->current = v;
    lsm_view_install(ts->db, spare, flushed);
    return KV_OK;
}

/* The memtable, in key order, to the table lo-hi, installed in front. */
int table_set_flush(table_set *ts, memtable *imm, uint64_t lo, uint64_t hi, table_meta *meta)
{
    kv_db *db = ts->db;
    iter *src = NULL;
    lsm_table_out o;
    int rc = memtable_iter_new(imm, &src);
    if (rc == KV_OK)
        rc = lsm_table_out_begin(db, lo, hi, &o);
    if (rc != KV_OK) {
        iter_free(src);
        return rc;
    }
    for (iter_seek_first(src); rc == KV_OK && iter_valid(src); iter_next(src))
        rc = table_builder_add(o.b, src->key, src->key_len, src->value, src->value_len);
    if (rc == KV_OK)
        rc = iter_status(src);
    iter_free(src);
    if (rc != KV_OK) {
        lsm_table_out_abandon(&o);
        return rc;
    }
    lsm_table *t = NULL;
    if ((rc = lsm_table_out_finish(db, &o, "flush", &t, meta)) != KV_OK)
        return rc;
    pthread_mutex_lock(&db->write_lock);
    rc = lsm_tables_install(ts, NULL, 0, t, 1);
    pthread_mutex_unlock(&db->write_lock);
    if (rc != KV_OK)
        lsm_table_unref(t); /* its file stays, and the retry writes it again */
    return rc;
}
