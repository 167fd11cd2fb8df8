/*
 * lsm_replay.c: the logs' part of kv_open (lsm_open.c lists its steps), once
 * the table set has said which writes its tables hold: every write
 * numbered up to max_hi is in them, so a log that holds nothing above it is
 * removed unread, and a record numbered at or below it is skipped; the
 * others are replayed, oldest first, into a fresh memtable, and each log
 * is judged (lsm_wal_judge: the last may lose a torn tail; the others must
 * be whole and sealed).  Writes go on in the last log, or in a new one if
 * it is sealed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "file_start.h"
#include "lsm_replay.h"
#include "wal_batch.h"

/* Step 3, and opening the others. */
static int lsm_recover_list_wals(const lsm_replay_env *env, const lsm_listed_wal *wals,
                                 size_t nwals, lsm_replayed *out)
{
    out->logs.v = malloc((nwals + 1) * sizeof *out->logs.v);
    out->logs.cap = nwals + 1;
    if (out->logs.v == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", env->dir->path);
    int rc = KV_OK;
    int flags = env->read_only ? IO_READ : IO_WRITE;
    for (size_t i = 0; rc == KV_OK && i < nwals; i++) {
        if (wals[i].covered) {
            /* In the tables: removed, unless someone keeps it (the value
             * store, which may read values in it). */
            char name[LSM_NAME_MAX];
            lsm_wal_name(name, wals[i].start);
            int kept = 0;
            rc = env->adopt_log(env->adopt_ctx, wals[i].start, &kept);
            if (rc == KV_OK && !kept && !env->read_only)
                rc = lsm_file_remove(env->dir, name, &out->wals_removed);
            continue;
        }
        lsm_wal *w = NULL;
        if ((rc = lsm_wal_open(env->dir->path, wals[i].start, flags, &w)) == KV_OK)
            out->logs.v[out->logs.n++] = w;
    }
    return rc;
}

typedef struct replay_ctx {
    const lsm_replay_env *env;
    lsm_replayed *out;
    uint64_t max_hi;        /* F3: what the tables hold */
    uint64_t seq;           /* the op being replayed */
    int rc;
} replay_ctx;

static int lsm_replay_op(void *ctx, size_t i, const batch_op *op)
{
    (void)i;
    replay_ctx *c = ctx;
    uint64_t seq = c->seq++;
    if (seq <= c->max_hi) {
        c->out->records_skipped++;
        return 0;
    }
    int rc = memtable_add(c->out->mem, seq, op->is_delete ? IKEY_DELETE : IKEY_PUT, op->key,
                          op->klen, op->val, op->vlen);
    if (rc != KV_OK)
        return kv_error(rc, "kv_open %s: out of memory replaying the logs", c->env->dir->path);
    if (c->out->mem_lo == 0)
        c->out->mem_lo = seq;
    return 0;
}

static int lsm_replay_record(void *ctx, const lsm_wal_record *r, uint64_t offset, uint64_t end)
{
    (void)offset;
    (void)end;
    replay_ctx *c = ctx;
    const char *why;
    c->seq = r->seq;
    c->out->records++;
    return wal_batch_decode(r->batch, r->batch_end, lsm_replay_op, c, NULL, &why);
}

/* Cuts the last log where the verdict says (a header a crash cut short:
 * all of it; lsm_recover_header writes a fresh one). */
static int lsm_recover_cut(const lsm_replay_env *env, lsm_replayed *out, lsm_wal *w,
                           const lsm_wal_verdict *v)
{
    out->torn_found += v->cut;
    out->tail_records_dropped = v->records_lost;
    if (env->read_only)
        return KV_OK;
    uint64_t keep = v->keep < LSM_WAL_START ? 0 : v->keep;
    int rc = io_truncate(w->file, keep);
    if (rc == KV_OK) {
        w->size = keep;
        out->torn_cut = v->cut;
    }
    return rc;
}

/* The last log, if it has no header (empty, or cut to nothing), gets one,
 * synced, before anything is appended to it. */
static int lsm_recover_header(const lsm_replay_env *env, lsm_wal *w)
{
    if (env->read_only || w->size >= LSM_WAL_START)
        return KV_OK;
    int rc = io_truncate(w->file, 0);
    if (rc == KV_OK && (rc = file_start_write(w->file, FILE_MAGIC_LOG04, LSM_WAL_VERSION)) == KV_OK)
        rc = io_sync(w->file);
    if (rc == KV_OK)
        w->size = LSM_WAL_START;
    return rc;
}

/* Step 4 for one log; *wal_last gets its last record's number (0: none). */
static int lsm_recover_replay(lsm_wal *w, int last, replay_ctx *c, uint64_t *wal_last)
{
    const lsm_replay_env *env = c->env;
    lsm_wal_scan s;
    int rc = lsm_wal_scan_file(w->file, w->size, w->start, lsm_replay_record, c, &s);
    c->out->wal_bytes += w->size;
    if (rc != KV_OK)
        return rc;
    lsm_wal_verdict v;
    lsm_wal_judge(w->size, &s, last, env->strict_recovery, &v);
    if (v.action == LSM_WAL_REFUSE)
        return kv_error(KV_ERR_CORRUPT, "%s: %s (kv check lists all damage; kv repair "
                        "salvages the intact records)", io_path(w->file), v.text);
    if (v.action == LSM_WAL_CUT && (rc = lsm_recover_cut(env, c->out, w, &v)) != KV_OK)
        return rc;
    /* Zeros the last log had grown into go, so that writes follow its
     * last record (lsm_wal.h); they are no torn tail. */
    if (v.action == LSM_WAL_KEEP && v.spare > 0 && last && !env->read_only) {
        if ((rc = io_truncate(w->file, v.keep)) != KV_OK)
            return rc;
        w->size = v.keep;
    }
    w->records = s.records;
    w->sealed = s.sealed && v.action == LSM_WAL_KEEP;
    *wal_last = s.last_seq;
    return KV_OK;
}

/* Steps 4 and 5: every log, oldest first.  A log before the last that
 * holds nothing above the tables is removed: its writes are all in them
 * (when earlier writes failed, its successor's name could not say so). */
static int lsm_recover_logs(const lsm_replay_env *env, uint64_t max_hi, lsm_replayed *out)
{
    replay_ctx c = {.env = env, .out = out, .max_hi = max_hi};
    int rc = KV_OK;
    uint64_t *last_seq = &out->last_seq;
    *last_seq = max_hi;
    size_t kept = 0;
    for (size_t i = 0; i < out->logs.n; i++) {
        lsm_wal *w = out->logs.v[i];
        int last = i + 1 == out->logs.n;
        uint64_t wal_last = 0;
        if (rc == KV_OK && (rc = lsm_recover_replay(w, last, &c, &wal_last)) == KV_OK) {
            if (wal_last > *last_seq)
                *last_seq = wal_last;
            if (w->start - 1 > *last_seq)
                *last_seq = w->start - 1; /* a log with no records yet */
            if (!last && !env->read_only && wal_last <= max_hi) {
                char name[LSM_NAME_MAX];
                lsm_wal_name(name, w->start);
                uint64_t start = w->start;
                lsm_wal_free(w);
                int kept = 0;
                rc = env->adopt_log(env->adopt_ctx, start, &kept);
                if (rc == KV_OK && !kept)
                    rc = lsm_file_remove(env->dir, name, &out->wals_removed);
                continue;
            }
        }
        out->logs.v[kept++] = w;
    }
    out->logs.n = kept;
    return rc;
}

int lsm_replay_logs(const lsm_replay_env *env, const lsm_listed_wal *wals, size_t nwals,
                    uint64_t max_hi, lsm_replayed *out)
{
    memset(out, 0, sizeof *out);
    /* F4 (lsm_files.h): only damage, or a hand, takes the owed log away. */
    int rc = lsm_wal_check_owed(env->dir->path, wals, nwals, max_hi);
    if (rc == KV_OK)
        rc = lsm_recover_list_wals(env, wals, nwals, out);
    if (rc == KV_OK)
        rc = memtable_new(env->memtable_limit, &out->mem);
    if (rc == KV_OK)
        rc = lsm_recover_logs(env, max_hi, out);
    if (rc != KV_OK)
        return rc;
    /* Step 6: a sealed last log takes no more writes. */
    lsm_wal *last = out->logs.n ? out->logs.v[out->logs.n - 1] : NULL;
    if (last != NULL && (rc = lsm_recover_header(env, last)) != KV_OK)
        return rc;
    if (!env->read_only && (last == NULL || last->sealed)) {
        if ((rc = lsm_wal_create(env->dir->path, out->last_seq + 1, &last)) != KV_OK)
            return rc;
        out->logs.v[out->logs.n++] = last;
        out->wal_created = 1;
    }
    return KV_OK;
}

void lsm_replayed_free(lsm_replayed *r)
{
    memtable_unref(r->mem);
    for (size_t i = 0; i < r->logs.n; i++)
        lsm_wal_free(r->logs.v[i]);
    free(r->logs.v);
    memset(r, 0, sizeof *r);
}
