/*
 * level_apply.c: a job's result made an edit, made durable, then
 * installed (table_set_apply); the manifest's snapshot and roll-over; the
 * life of table files, from the engine's outputs (table_set_output) to
 * their deletion (table_set_collect) (level_apply.h).
 */
#include "level_apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "current_file.h"
#include "error.h"
#include "level_files.h"

/* The size at which a manifest rolls over: LEVEL_MANIFEST_ROLL_BYTES,
 * unless a test lowered it before opening a database (the crash tester
 * does, tests/crash/tuning.c, so that its short workloads roll the
 * manifest over many times; no option of kv.h, since nothing but a test
 * needs another size).  Read by the thread that changes the set, so
 * written only while no database is open.  No header declares it: a test
 * that wants it declares it itself. */
extern uint64_t level_test_manifest_roll_bytes;
uint64_t level_test_manifest_roll_bytes = LEVEL_MANIFEST_ROLL_BYTES;

/* ---- table files ---------------------------------------------------------------- */

/* The vfile of table `number` in the current version, or NULL. */
static vfile *level_apply_find(const version *v, uint64_t number)
{
    for (int level = 0; v != NULL && level < VERSION_LEVELS; level++)
        for (size_t i = 0; i < v->nfiles[level]; i++)
            if (v->files[level][i]->number == number)
                return v->files[level][i];
    return NULL;
}

int level_apply_vfile_open(void *ctx, const edit_file *f, vfile **out)
{
    table_set *ts = ctx;
    /* A table moved to another level (a trivial move) stays the same
     * vfile: one vfile per file, so that its last reference is the file's
     * last use (VS3). */
    vfile *vf = level_apply_find(ts->current, f->number);
    if (vf != NULL) {
        vfile_ref(vf);
        *out = vf;
        return KV_OK;
    }
    int rc = vfile_new(f, &vf);
    if (rc != KV_OK)
        return rc;
    char *path = level_table_path(ts->env.dir, f->number);
    rc = path ? table_open(ts->env.tctx, path, &vf->t) : KV_ERR_NOMEM;
    free(path);
    if (rc != KV_OK) {
        vfile_unref(vf, NULL, NULL); /* not listed: the file is the manifest's */
        return rc;
    }
    *out = vf;
    return KV_OK;
}

void level_apply_vfile_gone(void *ctx, vfile *f)
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

/* Removes the harmless leftovers of an earlier failure, if it kept one
 * (pending), and the table files listed as obsolete (VS3). */
int table_set_collect(table_set *ts, uint64_t *removed)
{
    pthread_mutex_lock(&ts->obsolete_lock);
    uint64_t *list = ts->obsolete;
    size_t n = ts->nobsolete;
    int keep = __atomic_load_n(&ts->manifest_broken, __ATOMIC_ACQUIRE) ||
               ts->env.opt->read_only || ts->closing;
    ts->obsolete = NULL;
    ts->nobsolete = ts->obsolete_cap = 0;
    int pending = ts->pending_rc;
    char why[600];
    snprintf(why, sizeof why, "%s", ts->pending_why);
    ts->pending_rc = KV_OK;
    pthread_mutex_unlock(&ts->obsolete_lock);
    int failed = KV_OK;
    uint64_t count = 0;
    for (size_t i = 0; !keep && i < n; i++) {
        char *path = level_table_path(ts->env.dir, list[i]);
        /* A number may be listed twice (a compaction that failed removes
         * its outputs, and their vfiles list them as they go); numbers are
         * never reused, so a file already gone is what was wanted. */
        int exists = 1;
        int rc = path ? io_exists(path, &exists) : KV_ERR_NOMEM;
        if (rc == KV_OK && exists && (rc = io_unlink(path)) == KV_OK)
            count++;
        else if (failed == KV_OK && rc != KV_OK)
            failed = rc;
        free(path);
    }
    free(list);
    if (removed != NULL)
        *removed = count;
    /* Harmless (the next open removes the garbage), but said once. */
    if (failed != KV_OK)
        return failed;
    if (pending != KV_OK)
        return kv_error(pending, "%s", why);
    return KV_OK;
}

/* A failure that left only garbage behind (an old manifest not removed),
 * for table_set_collect to say once. */
static void level_apply_keep_harmless(table_set *ts, int rc)
{
    pthread_mutex_lock(&ts->obsolete_lock);
    if (ts->pending_rc == KV_OK) {
        ts->pending_rc = rc;
        snprintf(ts->pending_why, sizeof ts->pending_why, "%s", kv_errmsg());
    }
    pthread_mutex_unlock(&ts->obsolete_lock);
}

/* ---- the manifest ------------------------------------------------------------ */

/* The snapshot edit of the current version and counters: the first record
 * of a new manifest. */
static int level_apply_snapshot_edit(table_set *ts, version_edit *e)
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

int level_apply_manifest_new(table_set *ts, int *in_doubt)
{
    version_edit e;
    version_edit_init(&e);
    uint64_t number = ts->next_file++;
    int rc = level_apply_snapshot_edit(ts, &e);
    manifest_writer *w = NULL;
    if (rc == KV_OK)
        rc = manifest_create(ts->env.dir->path, number, &e, &w, in_doubt);
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
        char *path = db_dir_file(ts->env.dir, name);
        rc = path ? io_unlink(path) : KV_ERR_NOMEM;
        free(path);
    }
    return rc;
}

/* ---- applying an edit ---------------------------------------------------------- */

/* The edit's compact pointers become the set's. */
static void level_apply_take_pointers(table_set *ts, const version_edit *e)
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
static int level_apply_failed(table_set *ts, int rc, const char *what, int *final)
{
    kv_error_append(" (%s; writes are refused until the database is reopened)", what);
    __atomic_store_n(&ts->manifest_broken, 1, __ATOMIC_RELEASE);
    *final = 1;
    return rc;
}

/* A manifest past the roll-over size, or stale after a failed append,
 * starts again as one snapshot. */
static int level_apply_roll(table_set *ts, int *final)
{
    if (!ts->manifest_stale &&
        manifest_writer_bytes(ts->manifest) <= level_test_manifest_roll_bytes)
        return KV_OK;
    uint64_t number = ts->manifest_number;
    int in_doubt = 0;
    int rc = level_apply_manifest_new(ts, &in_doubt);
    if (rc != KV_OK && ts->manifest_number != number) {
        /* Only the old manifest's removal failed: said once, harmless. */
        level_apply_keep_harmless(ts, rc);
        rc = KV_OK;
    } else if (rc != KV_OK && in_doubt) {
        /* CURRENT may or may not name the new one. */
        return level_apply_failed(ts, rc, "rolling the manifest over", final);
    } else if (rc != KV_OK) {
        /* The old manifest is still live: the edit waits, and is tried again. */
        kv_error_append(" (starting a new manifest; the edit is not made)");
        return rc;
    }
    __atomic_add_fetch(&ts->manifest_rolls, 1, __ATOMIC_RELAXED);
    return KV_OK;
}

/* One edit made durable and installed (VS2): the next version is made
 * from the current one and e, e is written to the manifest (rolled over
 * first if it is too big), then, under *lock, the version is installed.
 * REQUIRES: *lock not held. */
static int level_apply_edit(table_set *ts, version_edit *e, pthread_mutex_t *lock, int *final)
{
    /* Only this thread changes versions: current cannot change under it. */
    version *nv = NULL;
    int rc = version_apply(ts->current, e, level_apply_vfile_open, ts, &nv);
    if (rc != KV_OK)
        return rc; /* its new tables are garbage: listed for deletion */
    if ((rc = level_apply_roll(ts, final)) != KV_OK) {
        version_unref(nv);
        return rc;
    }
    /* After a roll-over, which takes a file number for the new manifest:
     * an edit naming an older next_file would have the next open hand out
     * the live manifest's number again (and overwrite it). */
    version_edit_set_next_file(e, ts->next_file);
    if ((rc = manifest_append(ts->manifest, e)) != KV_OK) {
        if (rc != KV_ERR_NOMEM && manifest_writer_in_doubt(ts->manifest)) {
            level_apply_failed(ts, rc, "appending to the manifest", final);
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
    pthread_mutex_lock(lock);
    if (e->has_log_seq)
        ts->log_seq = e->log_seq;
    level_apply_take_pointers(ts, e);
    version *old = ts->current;
    ts->current = nv;
    __atomic_store_n(&ts->l0_files, (int)nv->nfiles[0], __ATOMIC_RELAXED);
    version_unref(old);
    return KV_OK; /* (*lock held) */
}

/* ---- a job's result ---------------------------------------------------------- */

int table_set_output(table_set *ts, table_job *job, table_output **out)
{
    if (job->noutputs == job->outputs_cap) {
        size_t cap = 2 * job->outputs_cap + 4;
        table_output *grown = realloc(job->outputs, cap * sizeof *grown);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "compaction: out of memory");
        job->outputs = grown;
        job->outputs_cap = cap;
    }
    table_output *o = &job->outputs[job->noutputs];
    memset(o, 0, sizeof *o);
    o->number = ts->next_file++;
    /* Under its final name: until an edit names it, it is garbage that
     * kv_open removes, so no temporary name and no rename are needed. */
    if ((o->path = level_table_path(ts->env.dir, o->number)) == NULL)
        return kv_error(KV_ERR_NOMEM, "compaction: out of memory");
    job->noutputs++;
    *out = o;
    return KV_OK;
}

/* Where a flush goes: level 0, or 1 or 2 when no table of levels 0 to L
 * overlaps it (compaction_flush_level, as LevelDB places its flushes): the
 * compactions that would only move it down are saved.  A flush made while
 * a merge runs goes to level 0: the merge's outputs, in no version yet,
 * may cover its range. */
static int level_apply_flush_level(table_set *ts, const table_job *job, const table_output *o)
{
    if (job->during_merge)
        return 0;
    if (o->smallest_len <= IKEY_TRAILER_SIZE || o->largest_len <= IKEY_TRAILER_SIZE)
        return 0; /* (no entry: version_apply refuses the edit anyway) */
    return compaction_flush_level(ts->current, &ts->copt, o->smallest,
                                  o->smallest_len - IKEY_TRAILER_SIZE, o->largest,
                                  o->largest_len - IKEY_TRAILER_SIZE);
}

/* The edit of a finished job: a flush's table at its level with the log's
 * new start; a merge's inputs removed, the level's compact pointer moved
 * on, its outputs added one level down; a move's table moved. */
static int level_apply_job_edit(table_set *ts, table_job *job, version_edit *e)
{
    compaction *c = job->set;
    int rc = KV_OK;
    if (job->kind == TABLE_JOB_FLUSH) {
        job->level = job->noutputs > 0 ? level_apply_flush_level(ts, job, &job->outputs[0]) : 0;
        version_edit_set_log_seq(e, job->hi);
        version_edit_set_last_seq(e, job->hi);
    } else if (job->kind == TABLE_JOB_MOVE) {
        return compaction_edit(c, e);
    } else {
        /* (compaction_edit would also move a lone input down, which a
         * merge of kv_compact does not.) */
        for (int w = 0; w < 2; w++)
            for (size_t i = 0; rc == KV_OK && i < c->inputs[w].n; i++)
                rc = version_edit_remove_file(e, c->level + w, c->inputs[w].files[i]->number);
        size_t plen = 0;
        const uint8_t *p = compaction_next_pointer(c, &plen);
        if (rc == KV_OK && p != NULL)
            rc = version_edit_set_pointer(e, c->level, p, plen);
    }
    for (size_t i = 0; rc == KV_OK && i < job->noutputs; i++) {
        const table_output *o = &job->outputs[i];
        rc = version_edit_add_file(e, job->level, o->number, o->meta.file_bytes, o->meta.entries,
                                   o->smallest, o->smallest_len, o->largest, o->largest_len);
        if (rc == KV_OK)
            version_edit_file_dead(e, o->dead, o->dead_from);
    }
    return rc;
}

int table_set_apply(table_set *ts, table_job *job, int status, pthread_mutex_t *lock,
                    table_set_version **installed, int *final)
{
    *installed = NULL;
    *final = 0;
    int rc = status;
    for (size_t i = 0; rc == KV_OK && i < job->noutputs; i++)
        if (!job->outputs[i].finished)
            rc = kv_error(KV_ERR_INVALID, "%s: a job ended with a table unfinished",
                          ts->env.dir->path);
    version_edit e;
    version_edit_init(&e);
    if (rc == KV_OK)
        rc = level_apply_job_edit(ts, job, &e);
    pthread_mutex_unlock(lock);
    /* VS1: the new tables' names are durable before the edit names them. */
    int fsync_failed = 0;
    if (rc == KV_OK && job->noutputs > 0 &&
        (rc = io_sync_dir_status(ts->env.dir->path, &fsync_failed)) != KV_OK && fsync_failed) {
        /* Whether the names are on disk cannot be known, and a retried
         * fsync proves nothing. */
        kv_error_append(" (syncing the directory of new tables; writes are refused until the "
                        "database is reopened)");
        *final = 1;
    }
    int relocked = 0;
    if (rc == KV_OK && (rc = level_apply_edit(ts, &e, lock, final)) == KV_OK)
        relocked = 1;
    version_edit_free(&e);
    /* An edit that never became durable leaves its tables as garbage:
     * removed now, unless whether it is durable is unknown (VS3). */
    if (rc != KV_OK && !__atomic_load_n(&ts->manifest_broken, __ATOMIC_ACQUIRE)) {
        char why[1024];
        snprintf(why, sizeof why, "%s", kv_errmsg());
        for (size_t i = 0; i < job->noutputs; i++)
            if (job->outputs[i].finished)
                io_unlink(job->outputs[i].path); /* else garbage for the next open */
        kv_error(rc, "%s", why);
    }
    if (!relocked)
        pthread_mutex_lock(lock);
    if (rc == KV_OK) {
        version_ref(ts->current);
        *installed = ts->current;
    }
    level_job_free(job);
    return rc;
}
