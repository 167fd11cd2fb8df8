/*
 * flat_set.c: stage 04's table set, one flat list of tables (flat_set.h
 * has its protocol, lsm_files.h the names it keeps in the directory):
 * finding the tables at open, the versions readers read, a lookup and
 * iterators over a version, the jobs it gives the engine (a flush; all
 * its tables merged into one, for kv_compact) and applying them.  Its
 * lines for kv_stats and kv_inspect are in flat_set_describe.c.
 */
#include "flat_set.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "lsm_files.h"

unsigned table_set_format(void) { return FLAT_SET_FORMAT; }

/* ---- tables and versions ------------------------------------------------------- */

/* A flat_table of t (taking over the caller's reference on t), one
 * reference.  KV_OK or NOMEM (t released). */
static int flat_table_new(table_set *ts, table *t, uint64_t lo, uint64_t hi, flat_table **out)
{
    flat_table *ft = calloc(1, sizeof *ft);
    *out = ft;
    if (ft == NULL) {
        table_unref(t);
        return kv_error(KV_ERR_NOMEM, "out of memory for table %" PRIu64 "-%" PRIu64, lo, hi);
    }
    atomic_init(&ft->refs, 1);
    atomic_init(&ft->doomed, 0);
    ft->set = ts;
    ft->t = t;
    ft->lo = lo;
    ft->hi = hi;
    return KV_OK;
}

/* Drops a reference; the last closes the table, and removes its file if it
 * is doomed (a failed removal leaves it for kv_open, F1, and is kept for
 * table_set_collect to report once).  NULL is a no-op. */
static void flat_table_unref(flat_table *ft)
{
    if (ft == NULL || atomic_fetch_sub_explicit(&ft->refs, 1, memory_order_acq_rel) != 1)
        return;
    table_set *ts = ft->set;
    /* (Before the close: table_path is the table's.) */
    if (atomic_load_explicit(&ft->doomed, memory_order_acquire)) {
        int rc = io_unlink(table_path(ft->t));
        pthread_mutex_lock(&ts->removal_lock);
        if (rc == KV_OK) {
            ts->removed++;
        } else if (!atomic_load(&ts->removal_failed)) {
            snprintf(ts->removal_why, sizeof ts->removal_why, "%s", kv_errmsg());
            atomic_store(&ts->removal_failed, 1);
        }
        pthread_mutex_unlock(&ts->removal_lock);
    }
    table_unref(ft->t);
    free(ft);
}

/* A version of n tables (a reference taken on each), one reference. */
static int flat_version_new(flat_table *const *tables, size_t n, table_set_version **out)
{
    table_set_version *v = calloc(1, sizeof *v);
    flat_table **copy = malloc((n + 1) * sizeof *copy);
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

void table_set_version_ref(table_set_version *v)
{
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

void table_set_version_unref(table_set_version *v)
{
    if (v == NULL || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < v->n; i++)
        flat_table_unref(v->tables[i]);
    free(v->tables);
    free(v);
}

/* ---- open and close ----------------------------------------------------------- */

/* Removes the temporary files and the obsolete tables (F1), unless
 * read-only, and opens the live tables, newest first. */
int table_set_open(const table_set_env *env, lsm_listing *l, table_set **out,
                   table_set_found *found)
{
    char name[LSM_NAME_MAX];
    int read_only = env->opt->read_only;
    memset(found, 0, sizeof *found);
    found->levels = 0;
    table_set *ts = calloc(1, sizeof *ts);
    if (ts != NULL) {
        ts->env = *env;
        pthread_mutex_init(&ts->removal_lock, NULL);
        atomic_init(&ts->removal_failed, 0);
    }
    flat_table **tables = malloc((l->ntables + 1) * sizeof *tables);
    size_t n = 0;
    int rc = ts && tables ? KV_OK : kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory",
                                            env->dir->path);
    *out = ts;
    if (rc == KV_OK && l->overlap)
        rc = kv_error(KV_ERR_CORRUPT, "%s: tables %" PRIu64 "-%" PRIu64 " and %" PRIu64 "-%"
                      PRIu64 " hold overlapping ranges of writes, which neither a flush "
                      "nor kv_compact makes: the directory was changed by hand or damaged",
                      env->dir->path, l->overlap_a[0], l->overlap_a[1], l->overlap_b[0],
                      l->overlap_b[1]);
    for (size_t i = 0; rc == KV_OK && !read_only && i < l->ntmps; i++)
        rc = lsm_file_remove(env->dir, l->tmps[i], &found->tmps_removed);
    for (size_t i = 0; rc == KV_OK && i < l->ntables; i++) {
        const lsm_listed_table *lt = &l->tables[i];
        lsm_table_name(name, lt->lo, lt->hi, 0);
        if (lt->obsolete) {
            if (!read_only)
                rc = lsm_file_remove(env->dir, name, &found->tables_removed);
            continue;
        }
        char *path = db_dir_file(env->dir, name);
        table *t = NULL;
        rc = path ? table_open(env->tctx, path, &t) : KV_ERR_NOMEM;
        free(path);
        if (rc == KV_OK && (rc = flat_table_new(ts, t, lt->lo, lt->hi, &tables[n])) == KV_OK)
            n++;
    }
    if (rc == KV_OK && (rc = flat_version_new(tables, n, &ts->current)) == KV_OK) {
        table_set_version_ref(ts->current);
        found->current = ts->current;
    }
    for (size_t i = 0; i < n; i++)
        flat_table_unref(tables[i]); /* the version holds its own */
    free(tables);
    found->flushed = l->max_hi;
    return rc;
}

int table_set_close(table_set *ts, int clean)
{
    (void)clean; /* the directory says it all: nothing to write */
    if (ts == NULL)
        return KV_OK;
    table_set_version_unref(ts->current);
    pthread_mutex_destroy(&ts->removal_lock);
    free(ts);
    return KV_OK;
}

/* ---- reads -------------------------------------------------------------------- */

/* Newest table first; the first with a version of the key answers.  The
 * oldest is the last a lookup can reach (table_get_last). */
int table_set_get(const table_set_version *v, const ikey_lookup *lk, table_look_fn look,
                  void *look_ctx, void **val, size_t *vlen, int *elsewhere,
                  table_get_cost *cost)
{
    for (size_t i = 0; i < v->n; i++) {
        table_get_result r = {0};
        table *t = v->tables[i]->t;
        int last = i + 1 == v->n;
        int st = look ? look(look_ctx, t, -1, last, lk, &r)
                 : last ? table_get_last(t, lk, &r) : table_get(t, lk, &r);
        table_get_cost_add(cost, &r);
        if (st != KV_OK)
            return st;
        if (table_get_answered(&r, val, vlen, elsewhere, &st))
            return st;
    }
    return KV_NOT_FOUND;
}

/* One iterator per table, newest first; each holds its table open. */
int table_set_iters(table_set_version *v, size_t lead, iter ***out, size_t *n)
{
    iter **its = malloc((lead + v->n + 1) * sizeof *its);
    if (its == NULL)
        return kv_error(KV_ERR_NOMEM, "out of memory for the iterators of %zu tables", v->n);
    int rc = KV_OK;
    size_t k = lead;
    for (size_t i = 0; rc == KV_OK && i < v->n; i++)
        if ((rc = table_iter_new(v->tables[i]->t, &its[k])) == KV_OK)
            k++;
    if (rc != KV_OK) {
        while (k > lead)
            iter_free(its[--k]);
        free(its);
        return rc;
    }
    *out = its;
    *n = k;
    return KV_OK;
}

/* ---- what the engine asks ---------------------------------------------------- */

table_admit table_set_admit(table_set *ts)
{
    (void)ts; /* a flat list never holds a writer back */
    return TABLE_ADMIT_OK;
}

/* A job, with a reference on the version its inputs come from (job->set):
 * the inputs stay open until it ends. */
static int flat_job_new(table_job_kind kind, table_set_version *v, table_job **out)
{
    table_job *job = calloc(1, sizeof *job);
    if (job == NULL)
        return kv_error(KV_ERR_NOMEM, "out of memory for a job");
    job->kind = kind;
    job->level = -1;
    job->keep_one = 1;
    if (v != NULL && v->n > 0) {
        job->inputs = malloc(v->n * sizeof *job->inputs);
        if (job->inputs == NULL) {
            free(job);
            return kv_error(KV_ERR_NOMEM, "out of memory for a job");
        }
        for (size_t i = 0; i < v->n; i++) {
            job->inputs[i] = v->tables[i]->t;
            job->bytes_read += table_file_bytes(v->tables[i]->t);
        }
        job->ninputs = v->n;
        job->lo = v->tables[v->n - 1]->lo;
        job->hi = v->tables[0]->hi;
        table_set_version_ref(v);
        job->set = v;
    }
    *out = job;
    return KV_OK;
}

static void flat_job_free(table_job *job)
{
    for (size_t i = 0; i < job->noutputs; i++) {
        free(job->outputs[i].path);
        free(job->outputs[i].smallest);
        free(job->outputs[i].largest);
    }
    free(job->outputs);
    free(job->inputs);
    table_set_version_unref(job->set);
    free(job);
}

int table_set_pick(table_set *ts, const table_ask *ask, table_job **out, uint64_t *wake_seq)
{
    *out = NULL;
    if (wake_seq != NULL)
        *wake_seq = 0;
    if (ask->kind == TABLE_ASK_FLUSH) {
        int rc = flat_job_new(TABLE_JOB_FLUSH, NULL, out);
        if (rc == KV_OK) {
            (*out)->lo = ask->lo;
            (*out)->hi = ask->hi;
        }
        return rc;
    }
    /* kv_compact: one step, every table into one.  Nothing else: a flat
     * list has no work of its own in the background. */
    if (ask->kind != TABLE_ASK_MANUAL || ask->step > 0 || ts->current->n == 0)
        return KV_OK;
    int rc = flat_job_new(TABLE_JOB_MERGE, ts->current, out);
    if (rc == KV_OK) {
        (*out)->manual = 1;
        (*out)->next_step = 1;
    }
    return rc;
}

int table_job_split_before(table_job *job, const uint8_t *ikey, size_t len, uint64_t bytes)
{
    (void)job, (void)ikey, (void)len, (void)bytes;
    return 0; /* one output table */
}

int table_job_base_for_key(table_job *job, const uint8_t *ukey, size_t len)
{
    (void)job, (void)ukey, (void)len;
    return 1; /* a merge holds every table: nothing lies below */
}

/* The job's one output, lo-hi under its temporary name (flat_set.h, step 1). */
int table_set_output(table_set *ts, table_job *job, table_output **out)
{
    if (job->noutputs > 0)
        return kv_error(KV_ERR_INVALID, "%s: a job of a flat set of tables writes one table",
                        ts->env.dir->path);
    char name[LSM_NAME_MAX];
    lsm_table_name(name, job->lo, job->hi, 1);
    table_output *o = calloc(1, sizeof *o);
    char *path = db_dir_file(ts->env.dir, name);
    if (o == NULL || path == NULL) {
        free(o);
        free(path);
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", ts->env.dir->path);
    }
    o->path = path;
    job->outputs = o;
    job->noutputs = job->outputs_cap = 1;
    *out = o;
    return KV_OK;
}

/* Steps 2 and 3 for the job's output (finished): renamed into place, the
 * directory synced, opened into *out (one reference).  On failure the
 * temporary file is gone; *final: the directory's fsync failed.
 * REQUIRES: no lock held. */
static int flat_apply_output(table_set *ts, table_job *job, flat_table **out, int *final)
{
    table_output *o = &job->outputs[0];
    char name[LSM_NAME_MAX];
    lsm_table_name(name, job->lo, job->hi, 0);
    char *path = db_dir_file(ts->env.dir, name);
    if (path == NULL) {
        io_unlink(o->path);
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", ts->env.dir->path);
    }
    /* The input whose name the output takes (one table merged into itself)
     * keeps reading its own file, for readers still at an older version. */
    const table_set_version *from = job->set;
    int rc = KV_OK;
    for (size_t i = 0; from != NULL && i < from->n; i++)
        if (from->tables[i]->lo == job->lo && from->tables[i]->hi == job->hi)
            rc = table_retire(from->tables[i]->t);
    if (rc == KV_OK && (rc = io_rename(o->path, path)) != KV_OK)
        io_unlink(o->path);
    int fsync_failed = 0;
    if (rc == KV_OK && (rc = io_sync_dir_status(ts->env.dir->path, &fsync_failed)) != KV_OK &&
        fsync_failed) {
        *final = 1;
        kv_error_append(" (writing table %s; writes are refused until the database is "
                        "reopened)", path);
    }
    table *t = NULL;
    if (rc == KV_OK && (rc = table_open(ts->env.tctx, path, &t)) == KV_OK)
        rc = flat_table_new(ts, t, job->lo, job->hi, out);
    if (rc != KV_OK && !*final)
        kv_error_append(" (writing table %s)", path);
    free(path);
    return rc;
}

/* Step 4: the current list without the job's inputs (doomed, unless the
 * output took the name), with `add` in its place by age, made current.
 * Takes over the caller's reference on add.  REQUIRES: the engine's lock. */
static int flat_install(table_set *ts, const table_job *job, flat_table *add)
{
    const table_set_version *cur = ts->current, *gone = job->set;
    flat_table **list = malloc((cur->n + 2) * sizeof *list);
    if (list == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for a list of tables",
                        ts->env.dir->path);
    size_t n = 0;
    int added = add == NULL;
    for (size_t i = 0; i < cur->n; i++) {
        int drop = 0;
        for (size_t j = 0; gone != NULL && j < gone->n && !drop; j++)
            drop = cur->tables[i] == gone->tables[j];
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
    int rc = flat_version_new(list, n, &v);
    free(list);
    if (rc != KV_OK)
        return rc;
    /* The replaced files go with the last version that holds them, but
     * one whose name the added table took: its file is the new table's. */
    for (size_t j = 0; gone != NULL && j < gone->n; j++)
        if (add == NULL || gone->tables[j]->lo != add->lo || gone->tables[j]->hi != add->hi)
            atomic_store_explicit(&gone->tables[j]->doomed, 1, memory_order_release);
    flat_table_unref(add); /* the caller's reference: the version took its own */
    table_set_version_unref(ts->current);
    ts->current = v;
    return KV_OK;
}

int table_set_apply(table_set *ts, table_job *job, int status, pthread_mutex_t *lock,
                    table_set_version **installed, int *final)
{
    *installed = NULL;
    *final = 0;
    int have = job->noutputs > 0 && job->outputs[0].finished;
    int rc = status;
    if (rc == KV_OK && !have)
        rc = kv_error(KV_ERR_INVALID, "%s: a job ended without its table", ts->env.dir->path);
    if (rc != KV_OK) {
        if (have)
            io_unlink(job->outputs[0].path); /* (an unfinished one is gone already) */
        flat_job_free(job);
        return rc;
    }
    flat_table *add = NULL;
    pthread_mutex_unlock(lock);
    rc = flat_apply_output(ts, job, &add, final);
    pthread_mutex_lock(lock);
    if (rc == KV_OK && (rc = flat_install(ts, job, add)) != KV_OK)
        flat_table_unref(add); /* its file stays; a retried flush writes it again */
    if (rc == KV_OK) {
        table_set_version_ref(ts->current);
        *installed = ts->current;
    }
    flat_job_free(job);
    return rc;
}

int table_set_collect(table_set *ts, uint64_t *removed)
{
    pthread_mutex_lock(&ts->removal_lock);
    if (removed != NULL)
        *removed = ts->removed;
    ts->removed = 0;
    int failed = atomic_load(&ts->removal_failed);
    char why[600];
    snprintf(why, sizeof why, "%s", ts->removal_why);
    atomic_store(&ts->removal_failed, 0);
    pthread_mutex_unlock(&ts->removal_lock);
    if (!failed)
        return KV_OK;
    return kv_error(KV_ERR_IO, "%s: a table kv_compact replaced could not be removed: %s "
                    "(harmless: the next open removes it)", ts->env.dir->path, why);
}
