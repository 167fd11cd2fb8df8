/*
 * vlog_gc.c: the value log's garbage collection (value_store.h's jobs),
 * which the engine runs (stages/04-lsm/engine/lsm_values.c).
 *
 * Which file (value_store_pick):
 *   - one whose live bytes are unknown (kv_open found no counts for it:
 *     a crash) is measured first: the job offers each of its values, the
 *     engine says which a key still reads there, and the store counts;
 *   - else the file with the most garbage, if it is worth collecting
 *     (vlog_worth_collecting: at least gc_percent of it is garbage, 50% by
 *     default, so that emptying it writes at most as much as it frees; or
 *     nothing in it is live).  WiscKey collects from the log's tail, oldest
 *     first, and BlobDB by age; a file's garbage is what makes it worth
 *     its cost.
 * An engine with time to spare (idle, or in kv_compact) asks for more
 * (value_store_pick_recount): a file whose count is older than the last
 * write is measured again, since merges drop entries late and a count
 * lags the truth; and kv_compact's asks a damaged file to be emptied of
 * what keys still read there, which only the keys can say.
 * Emptying a file: the job offers each value (each put the log holds,
 * whatever its size: a threshold may have changed since), the engine
 * writes those still read again (a new put, through the write path, which
 * applies it only if the key still reads the value there), and the file
 * waits, EMPTIED, until no reader can need it (value_store_collect, V1).
 * A crash at any point leaves the file and some of its values written
 * twice: both copies are the same value, and kv_open measures the file
 * again.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "file_start.h"
#include "lsm_files.h"
#include "lsm_wal.h"
#include "value_log.h"
#include "wal_batch.h"
#include "wal_format.h"

typedef struct job_value {
    size_t key;             /* offset in keys */
    uint32_t klen;
    vlog_where w;
} job_value;

struct value_job {
    value_store *vs;
    vlog_file *file;        /* BUSY while the job runs */
    int empty;              /* 1: empty the file; 0: measure it */
    io_file *f;             /* the job's own handle, for the scan */
    uint64_t size;
    int scanned;
    job_value *values;
    size_t n, cap, next;
    uint8_t *keys;
    size_t keys_len, keys_cap;
    uint8_t where[VLOG_WHERE_MAX];
    value_buf buf;
    int from_keys;          /* a damaged file: its values are those keys
                               read there (value_store_job_offer) */
    uint64_t stuck;         /* of those, how many could not be read: the
                               file cannot be emptied */
    /* The answers. */
    uint64_t value_bytes;   /* the values tables may have pointed at: each
                               live one, and each dead one of at least the
                               threshold */
    uint64_t live_bytes, dead, moved, moved_bytes;
    int damaged;
};

/* ---- picking a file ---------------------------------------------------------- */

/* Whether emptying f fits on the disk: its live bytes, written again,
 * take at most half of what is free (avail, io_space's), the rest left
 * for the tables and logs the moves make.  On a full disk the files with
 * the least to move go first, and each one removed makes room for the
 * next (the engine refuses puts before the disk is full: lsm_room.h). */
static int vlog_fits(const vlog_file *f, uint64_t avail)
{
    return f->live_bytes <= avail / 2;
}

/* A job on f: its file opened for the job's reads, f marked busy.
 * REQUIRES: lock held. */
static int vlog_job_new(value_store *vs, vlog_file *f, int empty, value_job **out)
{
    value_job *job = calloc(1, sizeof *job);
    char name[LSM_NAME_MAX];
    vlog_file_name(name, sizeof name, f->start, f->is_log);
    char *path = io_join(vs->dir, name);
    int rc = job == NULL || path == NULL
                 ? kv_error(KV_ERR_NOMEM, "value log: out of memory for a job") : KV_OK;
    if (rc == KV_OK)
        rc = io_open(path, IO_READ, &job->f);
    if (rc == KV_OK)
        rc = io_size(job->f, &job->size);
    free(path);
    if (rc != KV_OK) {
        if (job != NULL)
            io_close(job->f);
        free(job);
        return rc;
    }
    job->vs = vs;
    job->file = f;
    job->empty = empty;
    f->state = VLOG_BUSY;
    vs->jobs++;
    *out = job;
    return KV_OK;
}

int value_store_pick(value_store *vs, uint64_t oldest, value_job **out)
{
    (void)oldest; /* a file is emptied whatever the snapshots; its removal waits */
    *out = NULL;
    pthread_mutex_lock(&vs->lock);
    vlog_file *pick = NULL;
    for (size_t i = 0; i < vs->nfiles && pick == NULL; i++) {
        vlog_file *f = vs->files[i];
        if (f->adopted && f->state == VLOG_LIVE && !f->damaged && !f->counted)
            pick = f;
    }
    int empty = pick == NULL, asked = 0;
    uint64_t avail = UINT64_MAX, total = 0;
    for (size_t i = 0; i < vs->nfiles && empty; i++) {
        vlog_file *f = vs->files[i];
        if (!f->adopted || f->state != VLOG_LIVE || f->damaged ||
            !vlog_worth_collecting(f, vs->gc_percent))
            continue;
        /* The file system is asked once, and only when a file is worth
         * it (a file system that cannot say: the moves will). */
        if (!asked && (asked = 1, io_space(vs->dir, &avail, &total) != KV_OK))
            avail = UINT64_MAX;
        if (!vlog_fits(f, avail))
            continue;
        if (pick == NULL || vlog_garbage(f) > vlog_garbage(pick))
            pick = f;
    }
    int rc = pick != NULL ? vlog_job_new(vs, pick, empty, out) : KV_OK;
    pthread_mutex_unlock(&vs->lock);
    return rc;
}

int value_store_pick_recount(value_store *vs, uint64_t since, int damaged, value_job **out)
{
    *out = NULL;
    pthread_mutex_lock(&vs->lock);
    vlog_file *pick = NULL;
    for (size_t i = 0; i < vs->nfiles; i++) {
        vlog_file *f = vs->files[i];
        if (!f->adopted || f->state != VLOG_LIVE || f->counted_at >= since ||
            (f->damaged ? !damaged : !f->counted))
            continue;
        /* The damaged last (each one's job reads every key), else the
         * oldest count first. */
        if (pick == NULL || (pick->damaged && !f->damaged) ||
            (pick->damaged == f->damaged && f->counted_at < pick->counted_at))
            pick = f;
    }
    int rc = KV_OK;
    if (pick != NULL && (rc = vlog_job_new(vs, pick, pick->damaged, out)) == KV_OK)
        (*out)->from_keys = (*out)->scanned = pick->damaged;
    pthread_mutex_unlock(&vs->lock);
    return rc;
}

/* ---- the file's values ---------------------------------------------------- */

typedef struct job_scan {
    value_job *job;
    uint64_t start;
    const lsm_wal_record *rec;
    int rc;
} job_scan;

static int job_add(value_job *job, const uint8_t *key, size_t klen, const vlog_where *w)
{
    if (job->n == job->cap) {
        size_t cap = job->cap ? job->cap * 2 : 256;
        job_value *grown = realloc(job->values, cap * sizeof *grown);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "value log: out of memory for a job's values");
        job->values = grown;
        job->cap = cap;
    }
    if (job->keys_len + klen > job->keys_cap) {
        size_t cap = job->keys_cap ? job->keys_cap * 2 : 4096;
        while (cap < job->keys_len + klen)
            cap *= 2;
        uint8_t *grown = realloc(job->keys, cap);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "value log: out of memory for a job's keys");
        job->keys = grown;
        job->keys_cap = cap;
    }
    memcpy(job->keys + job->keys_len, key, klen);
    job->values[job->n++] = (job_value){.key = job->keys_len, .klen = (uint32_t)klen, .w = *w};
    job->keys_len += klen;
    return KV_OK;
}

static int job_scan_op(void *ctx, size_t i, const batch_op *op)
{
    (void)i;
    job_scan *c = ctx;
    if (op->is_delete || op->vlen == 0)
        return 0;
    const uint8_t *val = op->val;
    vlog_where w = {.file = c->job->file->start, .len = (uint32_t)op->vlen,
                    .offset = vlog_payload_offset(c->start, (uint64_t)(val - c->rec->batch)),
                    .crc = crc32c_value(val, op->vlen)};
    c->rc = job_add(c->job, op->key, op->klen, &w);
    return c->rc != KV_OK;
}

static int job_scan_record(void *ctx, const lsm_wal_record *r, uint64_t offset, uint64_t end)
{
    (void)end;
    job_scan *c = ctx;
    c->start = wal_block_left(offset) < WAL_HEADER_SIZE ? offset + wal_block_left(offset)
                                                        : offset;
    c->rec = r;
    const char *why = NULL;
    wal_batch_decode(r->batch, r->batch_end, job_scan_op, c, NULL, &why);
    return c->rc;
}

/* Every put the file holds, read once. */
static int job_scan_file(value_job *job)
{
    job_scan c = {.job = job, .rc = KV_OK};
    lsm_wal_scan s;
    int rc = lsm_wal_scan_file(job->f, job->size, job->file->start, job_scan_record, &c, &s);
    if (rc == KV_OK && s.header != FILE_START_OK) {
        job->damaged = 1;
        rc = kv_error(KV_ERR_CORRUPT, "%s: not a whole log: its header is damaged",
                      io_path(job->f));
    }
    if (rc == KV_OK && s.damaged) {
        job->damaged = 1;
        rc = kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": %s (a value-log file is a "
                      "log that was whole when the tables took it; the values after this "
                      "cannot be read)", io_path(job->f), s.bad, s.why);
    }
    return rc;
}

int value_store_job_wants_keys(const value_job *job)
{
    return job->from_keys;
}

int value_store_job_offer(value_job *job, const uint8_t *key, size_t klen,
                          const uint8_t *where, size_t wlen)
{
    vlog_where w;
    const char *why = NULL;
    if (vlog_where_decode(where, wlen, &w, &why) != 0 || w.file != job->file->start)
        return KV_OK; /* another file's, or damaged: reads report it */
    return job_add(job, key, klen, &w);
}

int value_store_job_next(value_job *job, value_move *m)
{
    if (!job->scanned) {
        job->scanned = 1;
        int rc = job_scan_file(job);
        if (rc != KV_OK && job->damaged)
            return 0; /* left alone: reads and kv check report the damage */
        if (rc != KV_OK)
            return rc;
    }
    /* A damaged file's value that does not read back is a key's lost
     * value (kv repair deletes the key): the file stays, for kv check. */
    const uint8_t *val = NULL;
    while (job->from_keys && job->next < job->n) {
        int rc = vlog_load_where(job->vs, &job->values[job->next].w, &job->buf, &val);
        if (rc == KV_OK)
            break;
        if (rc != KV_ERR_CORRUPT)
            return rc; /* this run's failure (memory, the disk), not a lost value */
        job->stuck++;
        job->next++;
    }
    if (job->next == job->n)
        return 0;
    const job_value *v = &job->values[job->next++];
    m->key = job->keys + v->key;
    m->klen = v->klen;
    m->where = job->where;
    m->wlen = vlog_where_encode(job->where, &v->w);
    m->move = job->empty;
    return 1;
}

int value_store_job_value(value_job *job, const uint8_t **val, size_t *vlen)
{
    const job_value *v = &job->values[job->next - 1];
    /* Through the store's handles (the span, the crc): the same read a
     * reader makes. */
    int rc = vlog_load_where(job->vs, &v->w, &job->buf, val);
    if (rc == KV_OK)
        *vlen = v->w.len;
    return rc;
}

void value_store_job_result(value_job *job, value_fate fate)
{
    const job_value *v = &job->values[job->next - 1];
    switch (fate) {
    case VALUE_DEAD:
        job->dead++;
        if (v->w.len >= job->vs->threshold)
            job->value_bytes += v->w.len;
        break;
    case VALUE_LIVE:
        job->live_bytes += v->w.len;
        job->value_bytes += v->w.len;
        break;
    case VALUE_MOVED:
        job->moved++;
        job->moved_bytes += v->w.len;
        break;
    }
}

void value_store_job_end(value_store *vs, value_job *job, uint64_t seq, int status)
{
    pthread_mutex_lock(&vs->lock);
    vlog_file *f = job->file;
    f->state = VLOG_LIVE;
    /* A failure of this run (memory, the disk), not of the file: the file
     * is tried again as if the job had not run. */
    int run_failed = status == KV_ERR_NOMEM || status == KV_ERR_IO;
    if (job->damaged) {
        f->damaged = 1; /* no count changes: what it holds is not known */
        status = KV_ERR_CORRUPT;
    }
    vs->moved += job->moved;
    vs->moved_bytes += job->moved_bytes;
    vs->dead += job->dead;
    if (job->from_keys && !run_failed && (status != KV_OK || job->stuck > 0)) {
        f->counted_at = seq; /* still damaged: not tried again before a write */
    } else if (status == KV_OK && !job->empty) {
        /* A value found dead whose entry a merge has yet to drop was
         * counted live, or in undropped, before: it goes to undropped, so
         * that the drop does not take it off the live bytes again (V2).
         * After a crash nothing is known of the drops: all of it. */
        uint64_t before = f->live_bytes + f->undropped;
        f->undropped = !f->counted ? job->value_bytes - job->live_bytes
                       : before > job->live_bytes ? before - job->live_bytes : 0;
        f->counted = 1;
        f->value_bytes = job->value_bytes;
        f->live_bytes = job->live_bytes;
        f->counted_at = seq;
        vs->measured++;
    } else if (status == KV_OK) {
        f->state = VLOG_EMPTIED;
        f->damaged = 0;
        f->counted = 1;
        f->value_bytes = f->live_bytes = f->undropped = 0;
        f->counted_at = f->moved_seq = seq;
        f->retired = atomic_load(&vs->epoch);
        vs->emptied++;
    }
    vlog_update_behind(vs);
    pthread_mutex_unlock(&vs->lock);
    io_close(job->f);
    value_buf_free(&job->buf);
    free(job->values);
    free(job->keys);
    free(job);
}

/* ---- removing what no reader needs -------------------------------------------- */

int value_store_collect(value_store *vs, uint64_t oldest, uint64_t durable, uint64_t *removed)
{
    *removed = 0;
    /* The epoch moves on while no pin is left in the one before it (V3):
     * twice at most, so that with no reader about, a file emptied now can
     * go now. */
    for (int i = 0; i < 2; i++) {
        uint64_t e = atomic_load(&vs->epoch);
        if (atomic_load(&vs->pins[(e + 1) & 1]) != 0)
            break;
        atomic_store(&vs->epoch, e + 1);
    }
    uint64_t epoch = atomic_load(&vs->epoch);
    int rc = KV_OK;
    pthread_mutex_lock(&vs->lock);
    vs->seen_oldest = oldest;
    vs->seen_durable = durable;
    for (size_t i = 0; i < vs->nfiles;) {
        vlog_file *f = vs->files[i];
        if (f->state != VLOG_EMPTIED || f->moved_seq > durable || f->moved_seq > oldest ||
            epoch < f->retired + 2) {
            i++;
            continue;
        }
        char name[LSM_NAME_MAX];
        vlog_file_name(name, sizeof name, f->start, f->is_log);
        char *path = io_join(vs->dir, name);
        int r = path ? io_unlink(path) : kv_error(KV_ERR_NOMEM, "value log: out of memory");
        free(path);
        if (r != KV_OK) {
            if (rc == KV_OK)
                rc = r;
            i++;
            continue;
        }
        vs->removed++;
        vs->removed_bytes += f->bytes;
        (*removed)++;
        vlog_drop(vs, f); /* the next file moved into place i */
    }
    vlog_update_behind(vs);
    pthread_mutex_unlock(&vs->lock);
    return rc;
}

uint64_t value_store_durable_wanted(value_store *vs, uint64_t oldest)
{
    uint64_t want = 0;
    pthread_mutex_lock(&vs->lock);
    for (size_t i = 0; i < vs->nfiles; i++) {
        const vlog_file *f = vs->files[i];
        if (f->state == VLOG_EMPTIED && f->moved_seq > want && f->moved_seq <= oldest)
            want = f->moved_seq; /* (pins are short: not waited for here) */
    }
    pthread_mutex_unlock(&vs->lock);
    return want;
}
