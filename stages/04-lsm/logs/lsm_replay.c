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
#include "lsm_db.h"
#include "lsm_elsewhere.h"
#include "lsm_replay.h"
#include "wal_batch.h"

/* Step 3, and opening the others. */
static int lsm_recover_list_wals(kv_db *db, const lsm_listed_wal *wals, size_t nwals)
{
    db->logs.v = malloc((nwals + 1) * sizeof *db->logs.v);
    db->logs.cap = nwals + 1;
    if (db->logs.v == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", db->dir.path);
    int rc = KV_OK;
    int flags = db->opt.read_only ? IO_READ : IO_WRITE;
    for (size_t i = 0; rc == KV_OK && i < nwals; i++) {
        if (wals[i].covered) {
            /* In the tables: removed, unless the value store reads values
             * in it (value_store.h). */
            char name[LSM_NAME_MAX];
            lsm_wal_name(name, wals[i].start);
            int kept = 0;
            rc = value_store_adopt_log(db->values, wals[i].start, &kept);
            if (rc == KV_OK && !kept && !db->opt.read_only)
                rc = lsm_file_remove(&db->dir, name, &db->stats.open_wals_removed);
            continue;
        }
        lsm_wal *w = NULL;
        if ((rc = lsm_wal_open(db->dir.path, wals[i].start, flags, &w)) == KV_OK)
            db->logs.v[db->logs.n++] = w;
    }
    return rc;
}

typedef struct replay_ctx {
    kv_db *db;
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
        c->db->stats.open_records_skipped++;
        return 0;
    }
    int rc = memtable_add(c->db->mt.mem, seq, op->is_delete ? IKEY_DELETE : IKEY_PUT, op->key,
                          op->klen, op->val, op->vlen);
    if (rc != KV_OK)
        return kv_error(rc, "kv_open %s: out of memory replaying the logs", c->db->dir.path);
    if (c->db->mt.mem_lo == 0)
        c->db->mt.mem_lo = seq;
    return 0;
}

static int lsm_replay_record(void *ctx, const lsm_wal_record *r, uint64_t offset, uint64_t end)
{
    (void)offset;
    (void)end;
    replay_ctx *c = ctx;
    const char *why;
    c->seq = r->seq;
    c->db->stats.open_records++;
    return wal_batch_decode(r->batch, r->batch_end, lsm_replay_op, c, NULL, &why);
}

/* Cuts the last log where the verdict says (a header a crash cut short:
 * all of it; lsm_recover_header writes a fresh one). */
static int lsm_recover_cut(kv_db *db, lsm_wal *w, const lsm_wal_verdict *v)
{
    db->stats.open_torn_found += v->cut;
    db->stats.open_tail_records_dropped = v->records_lost;
    if (db->opt.read_only)
        return KV_OK;
    uint64_t keep = v->keep < LSM_WAL_START ? 0 : v->keep;
    int rc = io_truncate(w->file, keep);
    if (rc == KV_OK) {
        w->size = keep;
        db->stats.open_torn_cut = v->cut;
    }
    return rc;
}

/* The last log, if it has no header (empty, or cut to nothing), gets one,
 * synced, before anything is appended to it. */
static int lsm_recover_header(kv_db *db, lsm_wal *w)
{
    if (db->opt.read_only || w->size >= LSM_WAL_START)
        return KV_OK;
    int rc = io_truncate(w->file, 0);
    if (rc == KV_OK && (rc = file_start_write(w->file, FILE_MAGIC_LOG04, LSM_WAL_VERSION)) == KV_OK)
        rc = io_sync(w->file);
    if (rc == KV_OK)
        w->size = LSM_WAL_START;
    return rc;
}

/* Step 4 for one log; *wal_last gets its last record's number (0: none). */
static int lsm_recover_replay(kv_db *db, lsm_wal *w, int last, replay_ctx *c,
                              uint64_t *wal_last)
{
    lsm_wal_scan s;
    int rc = lsm_wal_scan_file(w->file, w->size, w->start, lsm_replay_record, c, &s);
    db->stats.open_wal_bytes += w->size;
    if (rc != KV_OK)
        return rc;
    lsm_wal_verdict v;
    lsm_wal_judge(w->size, &s, last, db->opt.strict_recovery, &v);
    if (v.action == LSM_WAL_REFUSE)
        return kv_error(KV_ERR_CORRUPT, "%s: %s (kv check lists all damage; kv repair "
                        "salvages the intact records)", io_path(w->file), v.text);
    if (v.action == LSM_WAL_CUT && (rc = lsm_recover_cut(db, w, &v)) != KV_OK)
        return rc;
    /* Zeros the last log had grown into go, so that writes follow its
     * last record (lsm_wal.h); they are no torn tail. */
    if (v.action == LSM_WAL_KEEP && v.spare > 0 && last && !db->opt.read_only) {
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
static int lsm_recover_logs(kv_db *db, uint64_t max_hi, uint64_t *last_seq)
{
    replay_ctx c = {.db = db, .max_hi = max_hi};
    int rc = KV_OK;
    *last_seq = max_hi;
    size_t kept = 0;
    for (size_t i = 0; i < db->logs.n; i++) {
        lsm_wal *w = db->logs.v[i];
        int last = i + 1 == db->logs.n;
        uint64_t wal_last = 0;
        if (rc == KV_OK && (rc = lsm_recover_replay(db, w, last, &c, &wal_last)) == KV_OK) {
            if (wal_last > *last_seq)
                *last_seq = wal_last;
            if (w->start - 1 > *last_seq)
                *last_seq = w->start - 1; /* a log with no records yet */
            if (!last && !db->opt.read_only && wal_last <= max_hi) {
                char name[LSM_NAME_MAX];
                lsm_wal_name(name, w->start);
                uint64_t start = w->start;
                lsm_wal_free(w);
                int kept = 0;
                rc = value_store_adopt_log(db->values, start, &kept);
                if (rc == KV_OK && !kept)
                    rc = lsm_file_remove(&db->dir, name, &db->stats.open_wals_removed);
                continue;
            }
        }
        db->logs.v[kept++] = w;
    }
    db->logs.n = kept;
    return rc;
}

int lsm_replay_logs(kv_db *db, const lsm_listed_wal *wals, size_t nwals, uint64_t max_hi)
{
    /* F4 (lsm_files.h): only damage, or a hand, takes the owed log away. */
    int rc = lsm_wal_check_owed(db->dir.path, wals, nwals, max_hi);
    if (rc == KV_OK)
        rc = lsm_recover_list_wals(db, wals, nwals);
    uint64_t last_seq = 0;
    if (rc == KV_OK)
        rc = memtable_new(db->mt.limit, &db->mt.mem);
    if (rc == KV_OK)
        rc = lsm_recover_logs(db, max_hi, &last_seq);
    if (rc != KV_OK)
        return rc;
    /* Step 6: a sealed last log takes no more writes. */
    lsm_wal *last = db->logs.n ? db->logs.v[db->logs.n - 1] : NULL;
    if (last != NULL && (rc = lsm_recover_header(db, last)) != KV_OK)
        return rc;
    if (!db->opt.read_only && (last == NULL || last->sealed)) {
        if ((rc = lsm_wal_create(db->dir.path, last_seq + 1, &last)) != KV_OK)
            return rc;
        db->logs.v[db->logs.n++] = last;
        db->stats.open_wal_created = 1;
    }
    db->next_seq = last_seq + 1;
    atomic_store_explicit(&db->last_seq, last_seq, memory_order_release);
    lsm_view *view = NULL;
    if ((rc = lsm_view_reserve(db, &view)) == KV_OK)
        lsm_view_install(db, view, NULL, 0);
    return rc;
}
