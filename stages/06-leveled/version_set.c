/*
 * version_set.c: an edit made durable, then installed; the manifest's
 * snapshot and roll-over; the life of table files (version_set.h).
 */
#include "version_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "current_file.h"
#include "error.h"
#include "level_files.h"

uint64_t level_test_manifest_roll_bytes = LEVEL_MANIFEST_ROLL_BYTES;

int version_set_usable(table_set *ts)
{
    return !ts->db->failed && !__atomic_load_n(&ts->manifest_broken, __ATOMIC_ACQUIRE);
}

/* ---- table files ---------------------------------------------------------------- */

/* The vfile of table `number` in the current version, or NULL. */
static vfile *version_set_find(const version *v, uint64_t number)
{
    for (int level = 0; v != NULL && level < VERSION_LEVELS; level++)
        for (size_t i = 0; i < v->nfiles[level]; i++)
            if (v->files[level][i]->number == number)
                return v->files[level][i];
    return NULL;
}

int version_set_vfile_open(void *ctx, const edit_file *f, vfile **out)
{
    table_set *ts = ctx;
    /* A table moved to another level (a trivial move) stays the same
     * vfile: one vfile per file, so that its last reference is the file's
     * last use (VS3). */
    vfile *vf = version_set_find(ts->current, f->number);
    if (vf != NULL) {
        vfile_ref(vf);
        *out = vf;
        return KV_OK;
    }
    int rc = vfile_new(f, &vf);
    if (rc != KV_OK)
        return rc;
    char *path = level_table_path(&ts->db->dir, f->number);
    rc = path ? table_open(ts->db->tctx, path, &vf->t) : KV_ERR_NOMEM;
    free(path);
    if (rc != KV_OK) {
        vfile_unref(vf, NULL, NULL); /* not listed: the file is the manifest's */
        return rc;
    }
    *out = vf;
    return KV_OK;
}

void version_set_vfile_gone(void *ctx, vfile *f)
{
    table_set *ts = ctx;
    table_unref(f->t);
    f->t = NULL;
    pthread_mutex_lock(&ts->obsolete_lock);
    if (ts->nobsolete == ts->obsolete_cap) {
        size_t cap = 2 * ts->obsolete_cap + 8;
        uint64_t *grown = realloc(ts->obsolete, cap * sizeof *grown);
        if (grown == NULL) {
            ts->obsolete_nomem = 1; /* the file stays: garbage at the next open */
            pthread_mutex_unlock(&ts->obsolete_lock);
            return;
        }
        ts->obsolete = grown;
        ts->obsolete_cap = cap;
    }
    ts->obsolete[ts->nobsolete++] = f->number;
    pthread_mutex_unlock(&ts->obsolete_lock);
}

void version_set_delete_obsolete(table_set *ts)
{
    kv_db *db = ts->db;
    pthread_mutex_lock(&ts->obsolete_lock);
    uint64_t *list = ts->obsolete;
    size_t n = ts->nobsolete;
    int keep = __atomic_load_n(&ts->manifest_broken, __ATOMIC_ACQUIRE) ||
               db->opt.read_only || ts->closing;
    ts->obsolete = NULL;
    ts->nobsolete = ts->obsolete_cap = 0;
    pthread_mutex_unlock(&ts->obsolete_lock);
    int failed = KV_OK;
    for (size_t i = 0; !keep && i < n; i++) {
        char *path = level_table_path(&db->dir, list[i]);
        /* A number may be listed twice (a compaction that failed removes
         * its outputs, and their vfiles list them as they go); numbers are
         * never reused, so a file already gone is what was wanted. */
        int exists = 1;
        int rc = path ? io_exists(path, &exists) : KV_ERR_NOMEM;
        if (rc == KV_OK && exists && (rc = io_unlink(path)) == KV_OK)
            __atomic_add_fetch(&ts->files_deleted, 1, __ATOMIC_RELAXED);
        else if (failed == KV_OK)
            failed = rc;
        free(path);
    }
    free(list);
    if (failed != KV_OK && !ts->closing) {
        /* Harmless (the next open removes the garbage), but said once. */
        pthread_mutex_lock(&db->write_lock);
        lsm_set_bg_error(db, failed);
        pthread_mutex_unlock(&db->write_lock);
    }
}

/* ---- the manifest ------------------------------------------------------------ */

/* The snapshot edit of the current version and counters: the first record
 * of a new manifest. */
static int version_set_snapshot_edit(table_set *ts, version_edit *e)
{
    const version *v = ts->current;
    int rc = KV_OK;
    version_edit_set_log_seq(e, ts->log_seq);
    version_edit_set_next_file(e, ts->next_file);
    version_edit_set_last_seq(e, ts->log_seq);
    for (int level = 0; rc == KV_OK && level < VERSION_LEVELS; level++) {
        for (size_t j = 0; rc == KV_OK && j < v->nfiles[level]; j++) {
            const vfile *f = v->files[level][j];
            rc = version_edit_add_file(e, level, f->number, f->file_bytes, f->entries,
                                       f->smallest, f->smallest_len, f->largest,
                                       f->largest_len);
            if (rc == KV_OK)
                version_edit_file_dead(e, f->dead, f->dead_from);
        }
        if (rc == KV_OK && ts->pointer[level] != NULL)
            rc = version_edit_set_pointer(e, level, ts->pointer[level], ts->pointer_len[level]);
    }
    return rc;
}

int version_set_manifest_new(table_set *ts, int *in_doubt)
{
    kv_db *db = ts->db;
    version_edit e;
    version_edit_init(&e);
    uint64_t number = ts->next_file++;
    int rc = version_set_snapshot_edit(ts, &e);
    manifest_writer *w = NULL;
    if (rc == KV_OK)
        rc = manifest_create(db->dir.path, number, &e, &w, in_doubt);
    version_edit_free(&e);
    if (rc != KV_OK)
        return rc;
    uint64_t old = ts->manifest_number;
    manifest_writer_free(ts->manifest);
    ts->manifest = w;
    ts->manifest_number = number;
    ts->manifest_stale = 0;
    ts->manifest_edits_at_new = __atomic_load_n(&ts->manifest_edits, __ATOMIC_RELAXED);
    if (old != 0) {
        /* A failure leaves garbage for the next open, and is said. */
        char name[MANIFEST_NAME_MAX];
        manifest_file_name(name, old);
        char *path = db_dir_file(&db->dir, name);
        rc = path ? io_unlink(path) : KV_ERR_NOMEM;
        free(path);
    }
    return rc;
}

/* ---- applying an edit ---------------------------------------------------------- */

/* The edit's compact pointers become the set's. */
static void version_set_take_pointers(table_set *ts, const version_edit *e)
{
    for (size_t i = 0; i < e->npointers; i++) {
        const edit_pointer *p = &e->pointers[i];
        uint8_t *copy = malloc(p->len);
        if (copy == NULL)
            continue; /* the old pointer stays: only the round robin's order suffers */
        memcpy(copy, p->key, p->len);
        free(ts->pointer[p->level]);
        ts->pointer[p->level] = copy;
        ts->pointer_len[p->level] = p->len;
    }
}

/* A failure after which the manifest's state is not known: final. */
static int version_set_failed(table_set *ts, int rc, const char *what)
{
    kv_db *db = ts->db;
    kv_error_append(" (%s; writes are refused until the database is reopened)", what);
    __atomic_store_n(&ts->manifest_broken, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&db->write_lock);
    lsm_set_failed(db, kv_errmsg());
    pthread_mutex_unlock(&db->write_lock);
    return rc;
}

/* A manifest past the roll-over size, or stale after a failed append,
 * starts again as one snapshot. */
static int version_set_roll(table_set *ts)
{
    if (!ts->manifest_stale &&
        manifest_writer_bytes(ts->manifest) <= level_test_manifest_roll_bytes)
        return KV_OK;
    uint64_t number = ts->manifest_number;
    int in_doubt = 0;
    int rc = version_set_manifest_new(ts, &in_doubt);
    if (rc != KV_OK && ts->manifest_number != number) {
        /* Only the old manifest's removal failed: said once, harmless. */
        pthread_mutex_lock(&ts->db->write_lock);
        lsm_set_bg_error(ts->db, rc);
        pthread_mutex_unlock(&ts->db->write_lock);
        rc = KV_OK;
    } else if (rc != KV_OK && in_doubt) {
        /* CURRENT may or may not name the new one. */
        return version_set_failed(ts, rc, "rolling the manifest over");
    } else if (rc != KV_OK) {
        /* The old manifest is still live: the edit waits, and is tried again. */
        kv_error_append(" (starting a new manifest; the edit is not made)");
        return rc;
    }
    __atomic_add_fetch(&ts->manifest_rolls, 1, __ATOMIC_RELAXED);
    return KV_OK;
}

int version_set_apply(table_set *ts, version_edit *e, int flushed)
{
    kv_db *db = ts->db;
    /* Only this thread changes versions: current cannot change under it. */
    version *nv = NULL;
    int rc = version_apply(ts->current, e, version_set_vfile_open, ts, &nv);
    if (rc != KV_OK)
        return rc; /* its new tables are garbage: listed for deletion */
    if ((rc = version_set_roll(ts)) != KV_OK) {
        version_unref(nv);
        return rc;
    }
    /* After a roll-over, which takes a file number for the new manifest:
     * an edit naming an older next_file would have the next open hand out
     * the live manifest's number again (and overwrite it). */
    version_edit_set_next_file(e, ts->next_file);
    /* The view that will show nv, allocated now: once the manifest holds
     * the edit, installing it must not fail. */
    lsm_view *spare = NULL;
    if ((rc = lsm_view_reserve(db, &spare)) != KV_OK) {
        version_unref(nv);
        return rc;
    }
    if ((rc = manifest_append(ts->manifest, e)) != KV_OK) {
        free(spare);
        if (rc != KV_ERR_NOMEM && manifest_writer_in_doubt(ts->manifest)) {
            version_set_failed(ts, rc, "appending to the manifest");
        } else if (rc != KV_ERR_NOMEM) {
            /* At most a torn record, which the next open drops: the edit is
             * not made, and a new manifest takes over first next time. */
            ts->manifest_stale = 1;
            kv_error_append(" (appending to the manifest; the edit is not made, and the "
                            "next one starts a new manifest)");
        }
        version_unref(nv); /* nothing is deleted if the manifest broke (VS3) */
        return rc;
    }
    __atomic_add_fetch(&ts->manifest_edits, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&db->write_lock);
    if (e->has_log_seq)
        ts->log_seq = e->log_seq;
    version_set_take_pointers(ts, e);
    version *old = ts->current;
    ts->current = nv;
    __atomic_store_n(&ts->l0_files, (int)nv->nfiles[0], __ATOMIC_RELAXED);
    lsm_view_install(db, spare, flushed);
    version_unref(old);
    pthread_mutex_unlock(&db->write_lock);
    return KV_OK;
}
