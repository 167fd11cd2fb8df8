/*
 * lsm_tables.c: adding a table to the database, the one protocol both the
 * flush and kv_compact follow (docs/04-lsm.md, "The flush protocol"):
 *
 *   1. build it under its temporary name (lo-hi.tbl.tmp); the builder
 *      syncs the file before it returns (table.h);
 *   2. rename it to lo-hi.tbl (over the old one, if kv_compact's output
 *      has the name of its only input);
 *   3. sync the directory: from here on the name survives a power loss;
 *   4. open it, and install the new table list and view (under write_lock),
 *      so readers find it;
 *   5. only then may the caller delete what the table replaces (logs,
 *      tables), and a crash before that leaves files that kv_open knows
 *      to be redundant (lsm_files.h, F1 and F3).
 * A failure before 3 removes the temporary file and changes nothing; a
 * failed directory fsync is final (D4): whether the rename is on disk
 * cannot be known, and a retried fsync proves nothing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "lsm_db.h"
#include "lsm_files.h"
#include "lsm_tables.h"

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

/* Step 3; a failed fsync is final.  REQUIRES: write_lock not held. */
static int lsm_sync_dir(kv_db *db, const char *call)
{
    int fsync_failed = 0;
    int rc = io_sync_dir_status(db->dir.path, &fsync_failed);
    if (rc != KV_OK && fsync_failed) {
        kv_error_append(" (%s; writes are refused until the database is reopened)", call);
        pthread_mutex_lock(&db->write_lock);
        lsm_set_failed(db, kv_errmsg());
        pthread_mutex_unlock(&db->write_lock);
    }
    return rc;
}

int lsm_table_out_finish(kv_db *db, lsm_table_out *o, const char *call, lsm_table *out,
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
        *out = (lsm_table){.t = t, .lo = o->lo, .hi = o->hi};
    if (rc != KV_OK)
        kv_error_append(" (%s: writing table %s)", call, o->path);
    lsm_table_out_abandon(o);
    return rc;
}

int lsm_tables_install(kv_db *db, const lsm_table *gone, size_t ngone, const lsm_table *add,
                       int flushed)
{
    lsm_table *v = malloc((db->ntables + 2) * sizeof *v);
    if (v == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for a list of tables", db->dir.path);
    size_t n = 0;
    int added = add == NULL;
    for (size_t i = 0; i < db->ntables; i++) {
        int drop = 0;
        for (size_t j = 0; j < ngone && !drop; j++)
            drop = db->tables[i].t == gone[j].t;
        if (drop)
            continue;
        if (!added && add->hi > db->tables[i].hi) { /* newest first (F2) */
            v[n++] = *add;
            added = 1;
        }
        v[n++] = db->tables[i];
    }
    if (!added)
        v[n++] = *add;
    lsm_view *view = NULL;
    int rc = lsm_view_new(db, db->mem, flushed ? NULL : db->imm, v, n, &view);
    if (rc != KV_OK) {
        free(v);
        return rc;
    }
    /* The list holds a reference on each of its tables: the new one's is
     * the caller's, the dropped ones' go. */
    for (size_t j = 0; j < ngone; j++)
        table_unref(gone[j].t);
    free(db->tables);
    db->tables = v;
    db->ntables = n;
    if (flushed) {
        memtable_unref(db->imm);
        db->imm = NULL;
    }
    lsm_view_publish(db, view);
    return KV_OK;
}

void lsm_wals_drop_covered(kv_db *db, uint64_t hi)
{
    size_t k = 0;
    while (k + 1 < db->nwals && db->wals[k + 1]->start - 1 <= hi) {
        uint64_t start = db->wals[k]->start;
        lsm_wal_free(db->wals[k]);
        /* A log that comes back (its removal not yet durable) is removed
         * again at open, unread (F3). */
        int rc = lsm_wal_remove(db->dir.path, start);
        if (rc == KV_OK)
            __atomic_add_fetch(&db->wals_removed, 1, __ATOMIC_RELAXED);
        else
            lsm_set_bg_error(db, rc); /* harmless (F3), but said */
        k++;
    }
    memmove(db->wals, db->wals + k, (db->nwals - k) * sizeof *db->wals);
    db->nwals -= k;
}
