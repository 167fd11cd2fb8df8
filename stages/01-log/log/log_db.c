/*
 * log_db.c: stage 01's engine: open, put, delete, get by scanning the log,
 * stats, close.  The format is in docs/01-log.md and common/log_record.h;
 * the recovery rule (torn tail versus corruption) is in common/log_scan.h.
 */
#include "log_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "batch.h"
#include "cost.h"
#include "error.h"
#include "file_start.h"
#include "log_record.h"
#include "txn.h"
#include "log_scan.h"
#include "snapshot_iter.h"

const char *kv_stage(void) { return KV_STAGE_NAME; }

latency_set *snapshot_latency(kv_db *db) { return &db->lat; }

uint64_t log_db_end(kv_db *db) { return __atomic_load_n(&db->end, __ATOMIC_ACQUIRE); }

static uint64_t log_db_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Reads the whole log once, checking every record, and does what the
 * verdict says (log_verdict.c): cuts a torn tail, or refuses.  Sets
 * db->end to the valid length.  A new file gets its header here. */
static int log_db_recover(kv_db *db)
{
    uint64_t size = 0;
    int rc = io_size(db->log, &size);
    if (rc != KV_OK)
        return rc;
    uint64_t started = log_db_now_us();
    log_verdict v;
    if ((rc = log_verdict_judge(db->log, size, db->opt.strict_recovery, &v)) != KV_OK)
        return rc;
    if (v.action == LOG_VERDICT_REFUSE) {
        char text[900];
        log_verdict_text(&v, db->opt.strict_recovery, text, sizeof text);
        return kv_error(KV_ERR_CORRUPT, "%s: %s", io_path(db->log), text);
    }
    db->open_records = v.r.records;
    db->open_torn_bytes = v.cut;
    db->end = v.keep;
    if (!db->opt.read_only && v.cut > 0 && (rc = io_truncate(db->log, v.keep)) != KV_OK)
        return rc;
    if (!db->opt.read_only && v.keep < LOG_DB_START) {
        /* Created just now, or a crash cut its creation short. */
        if ((rc = file_start_write(db->log, FILE_MAGIC_LOG01, LOG_DB_FORMAT)) != KV_OK)
            return rc;
        db->end = LOG_DB_START;
    }
    db->open_scan_us = log_db_now_us() - started;
    return KV_OK;
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
    pthread_mutex_init(&db->write_lock, NULL);
    rc = db_dir_open(dir, &opt, KV_STAGE_NAME, LOG_DB_FORMAT, &db->dir);
    if (rc != KV_OK) {
        pthread_mutex_destroy(&db->write_lock);
        free(db);
        return rc;
    }
    char *path = db_dir_file(&db->dir, LOG_FILE_NAME);
    if (path == NULL) {
        rc = KV_ERR_NOMEM;
    } else if (opt.read_only) {
        int exists = 0;
        rc = io_exists(path, &exists);
        if (rc == KV_OK && exists)
            rc = io_open(path, IO_READ, &db->log);
    } else {
        rc = io_open(path, IO_WRITE | IO_CREATE, &db->log);
    }
    free(path);
    if (rc == KV_OK && db->log != NULL)
        rc = log_db_recover(db);
    if (rc != KV_OK) {
        kv_close(db);
        return rc;
    }
    *out = db;
    return KV_OK;
}

int kv_close(kv_db *db)
{
    if (db == NULL)
        return KV_OK;
    int rc = snapshot_check_close(&db->snapshots_live, db->dir.path);
    if (rc != KV_OK)
        return rc;
    rc = io_close(db->log);
    db_dir_close(&db->dir);
    pthread_mutex_destroy(&db->write_lock);
    latency_set_free(&db->lat);
    free(db);
    return rc;
}

/* Appends the records of `ops` with a single write, if check (NULL: none)
 * lets them in: it runs under write_lock, so no write comes between it and
 * them (a transaction's commit, common/txn.h).  On failure, cuts the file
 * back to `end` so no partial record stays in it (invariant 3). */
static int log_db_append(kv_db *db, const char *call, const batch_op *ops, size_t n,
                         txn_check_fn check, void *ctx)
{
    if (n == 0 && check != NULL) { /* kv_txn_check: the check alone */
        pthread_mutex_lock(&db->write_lock);
        int rc = check(ctx);
        pthread_mutex_unlock(&db->write_lock);
        return rc;
    }
    if (db->opt.read_only)
        return kv_error(KV_ERR_INVALID, "%s: the database was opened read-only", call);
    if (n == 0)
        return KV_OK;
    uint8_t one_header[LOG_RECORD_HEADER];
    struct iovec one_iov[3];
    uint8_t *headers = n == 1 ? one_header : malloc(n * LOG_RECORD_HEADER);
    struct iovec *iov = n == 1 ? one_iov : malloc(3 * n * sizeof *iov);
    if (headers == NULL || iov == NULL) {
        if (n > 1) {
            free(headers);
            free(iov);
        }
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for %zu records", call, n);
    }
    uint64_t total = 0, deletes = 0;
    for (size_t i = 0; i < n; i++) {
        const batch_op *op = &ops[i];
        uint8_t *h = headers + i * LOG_RECORD_HEADER;
        log_record_header(h, op->key, op->klen, op->val, op->vlen, op->is_delete);
        iov[3 * i] = (struct iovec){.iov_base = h, .iov_len = LOG_RECORD_HEADER};
        iov[3 * i + 1] = (struct iovec){.iov_base = (void *)op->key, .iov_len = op->klen};
        iov[3 * i + 2] = (struct iovec){.iov_base = (void *)op->val,
                                        .iov_len = op->is_delete ? 0 : op->vlen};
        total += log_record_size(op->klen, op->vlen, op->is_delete);
        deletes += (uint64_t)op->is_delete;
    }

    pthread_mutex_lock(&db->write_lock);
    int rc;
    if (db->failed) {
        rc = kv_error(KV_ERR_IO, "%s: %s: an earlier write failed and could not be "
                      "undone; reopen the database", call, io_path(db->log));
    } else if (check != NULL && (rc = check(ctx)) != KV_OK) {
        /* refused: nothing written */
    } else if ((rc = io_append(db->log, iov, (int)(3 * n))) == KV_OK) {
        __atomic_store_n(&db->end, db->end + total, __ATOMIC_RELEASE);
        __atomic_add_fetch(&db->puts, n - deletes, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->deletes, deletes, __ATOMIC_RELAXED);
    } else {
        char first[512];
        snprintf(first, sizeof first, "%s", kv_errmsg());
        if (io_truncate(db->log, db->end) != KV_OK) {
            db->failed = 1;
            kv_error(rc, "%s: %s; then the partial record could not be cut off (%s): "
                     "writes are refused until the database is reopened",
                     call, first, kv_errmsg());
        } else {
            kv_error(rc, "%s: %s", call, first);
        }
    }
    pthread_mutex_unlock(&db->write_lock);
    if (n > 1) {
        free(headers);
        free(iov);
    }
    return rc;
}

int kv_put(kv_db *db, const void *key, size_t klen, const void *val, size_t vlen)
{
    int rc;
    if ((rc = args_check_ptr("kv_put", db, "db")) != KV_OK ||
        (rc = args_check_key("kv_put", key, klen)) != KV_OK ||
        (rc = args_check_value("kv_put", val, vlen)) != KV_OK)
        return rc;
    batch_op op = {.key = key, .klen = klen, .val = val ? val : "", .vlen = vlen};
    uint64_t t0 = latency_call_start(LATENCY_PUT);
    rc = log_db_append(db, "kv_put", &op, 1, NULL, NULL);
    latency_call_record(&db->lat, LATENCY_PUT, t0);
    return rc;
}

int kv_delete(kv_db *db, const void *key, size_t klen)
{
    int rc;
    if ((rc = args_check_ptr("kv_delete", db, "db")) != KV_OK ||
        (rc = args_check_key("kv_delete", key, klen)) != KV_OK)
        return rc;
    batch_op op = {.is_delete = 1, .key = key, .klen = klen};
    uint64_t t0 = latency_call_start(LATENCY_DELETE);
    rc = log_db_append(db, "kv_delete", &op, 1, NULL, NULL);
    latency_call_record(&db->lat, LATENCY_DELETE, t0);
    return rc;
}

/* A batch is one write of all its records: a process kill or a power loss
 * can still cut it short, and recovery keeps the records that are whole. */
int kv_write(kv_db *db, const kv_batch *b)
{
    batch_op *ops = NULL;
    size_t n = 0;
    int rc = batch_ops_for_write(db, b, &ops, &n);
    if (rc != KV_OK)
        return rc;
    uint64_t t0 = latency_start();
    rc = log_db_append(db, "kv_write", ops, n, NULL, NULL);
    latency_record(&db->lat, LATENCY_BATCH, t0);
    free(ops);
    return rc;
}

/* A transaction's commit (common/txn.h): its batch, if its check passes. */
int txn_stage_write_checked(kv_db *db, const batch_op *ops, size_t n, txn_check_fn check,
                            void *ctx)
{
    uint64_t t0 = n > 0 ? latency_start() : 0;
    int rc = log_db_append(db, "kv_txn_commit", ops, n, check, ctx);
    if (n > 0)
        latency_record(&db->lat, LATENCY_TXN_COMMIT, t0);
    return rc;
}

/* The lesson of this stage: a read looks at every record ever written. */
int kv_get(kv_db *db, const void *key, size_t klen, void **val, size_t *vlen)
{
    int rc = args_check_get(db, key, klen, val, vlen);
    if (rc != KV_OK)
        return rc;
    cost_mark m = cost_begin(); /* its time and reads (common/cost.h) */
    rc = log_db_get_below(db, log_db_end(db), key, klen, val, vlen);
    cost_end_get(&m, &db->lat);
    return rc;
}

int log_db_get_below(kv_db *db, uint64_t end, const void *key, size_t klen, void **val,
                     size_t *vlen)
{
    int rc;
    __atomic_add_fetch(&db->gets, 1, __ATOMIC_RELAXED);
    if (db->log == NULL || end <= LOG_DB_START)
        return KV_NOT_FOUND;
    __atomic_add_fetch(&db->get_bytes_scanned, end - LOG_DB_START, __ATOMIC_RELAXED);

    uint64_t found_off = 0, found_size = 0;
    int found = 0;
    /* Every record below `end` was verified by kv_open or written by this
     * handle, and bytes below `end` never change (invariant 1 and 2): the
     * scan checks lengths only, and the record that answers is verified
     * again when it is read back below. */
    log_scan s;
    log_scan_init(&s, db->log, LOG_DB_START, end);
    s.verify_checksums = 0;
    while ((rc = log_scan_next(&s)) == LOG_SCAN_RECORD) {
        if (s.rec.klen == klen && memcmp(s.rec.key, key, klen) == 0) {
            found = !s.rec.is_delete;
            found_off = s.rec_offset;
            found_size = s.rec_size;
        }
    }
    if (rc == LOG_SCAN_BAD)
        rc = kv_error(KV_ERR_CORRUPT, "%s: offset %llu: %s (the file changed since it "
                      "was opened)", io_path(db->log), (unsigned long long)s.pos, s.why);
    log_scan_free(&s);
    if (rc < 0)
        return rc;
    if (!found)
        return KV_NOT_FOUND;

    uint8_t *buf = NULL;
    size_t cap = 0;
    log_record rec;
    rc = log_read_record_at(db->log, found_off, found_size, &buf, &cap, &rec);
    if (rc != KV_OK) {
        free(buf);
        return rc;
    }
    /* Hand back just the value: move it to the front of the buffer. */
    memmove(buf, rec.value, rec.vlen);
    if (rec.vlen == 0 || rec.vlen < cap / 2) {
        uint8_t *small = realloc(buf, rec.vlen ? rec.vlen : 1);
        if (small != NULL)
            buf = small;
    }
    *val = buf;
    *vlen = rec.vlen;
    return KV_OK;
}

int kv_compact(kv_db *db)
{
    /* Nothing to reclaim in this stage: the log keeps every record forever.
     * Stage 02 merges segments. */
    return args_check_ptr("kv_compact", db, "db");
}

int kv_set_background_rate(kv_db *db, size_t bytes_per_sec)
{
    /* Nothing is written in the background here: 0 is how it writes. */
    int rc = args_check_ptr("kv_set_background_rate", db, "db");
    if (rc == KV_OK && bytes_per_sec != 0)
        rc = kv_error(KV_ERR_INVALID, "kv_set_background_rate %zu: stage %s writes nothing in "
                      "the background; 0 (no limit) is the only rate it takes", bytes_per_sec,
                      kv_stage());
    return rc;
}

int kv_flush(kv_db *db)
{
    /* Every write is in the log when it returns: nothing is only in memory. */
    int rc = args_check_ptr("kv_flush", db, "db");
    if (rc == KV_OK && db->opt.read_only)
        rc = kv_error(KV_ERR_INVALID, "kv_flush: the database was opened read-only");
    return rc;
}

int kv_stats(kv_db *db, char **text)
{
    int rc;
    if ((rc = args_check_ptr("kv_stats", db, "db")) != KV_OK ||
        (rc = args_check_ptr("kv_stats", text, "text pointer")) != KV_OK)
        return rc;
    uint64_t end = log_db_end(db);
    uint64_t puts = __atomic_load_n(&db->puts, __ATOMIC_RELAXED);
    uint64_t dels = __atomic_load_n(&db->deletes, __ATOMIC_RELAXED);
    uint64_t gets = __atomic_load_n(&db->gets, __ATOMIC_RELAXED);
    uint64_t scanned = __atomic_load_n(&db->get_bytes_scanned, __ATOMIC_RELAXED);
    stats_text io = {0}; /* the I/O backend's line */
    db_dir_stats(&db->dir, &io);
    if (io.failed) {
        free(io.p);
        return kv_error(KV_ERR_NOMEM, "kv_stats: out of memory");
    }
    char *out = NULL;
    int n = asprintf(&out,
                     "stage: %s\n"
                     "log.file: %s/%s\n"
                     "log.bytes: %llu\n"
                     "log.records: %llu\n"
                     "open.records_checked: %llu\n"
                     "open.torn_tail_bytes_found: %llu\n"
                     "open.torn_tail_bytes_cut: %llu\n"
                     "open.scan_ms: %.3f\n"
                     "session.puts: %llu\n"
                     "session.deletes: %llu\n"
                     "session.gets: %llu\n"
                     "session.get_bytes_scanned: %llu\n"
                     "snapshots.live: %llu\n"
                     "durability: writes reach the OS before returning; no fsync "
                     "(kv_options.sync is ignored in this stage)\n"
                     "%s",
                     kv_stage(), db->dir.path, LOG_FILE_NAME, (unsigned long long)end,
                     (unsigned long long)(db->open_records + puts + dels),
                     (unsigned long long)db->open_records,
                     (unsigned long long)db->open_torn_bytes,
                     (unsigned long long)(db->opt.read_only ? 0 : db->open_torn_bytes),
                     db->open_scan_us / 1000.0,
                     (unsigned long long)puts, (unsigned long long)dels,
                     (unsigned long long)gets, (unsigned long long)scanned,
                     (unsigned long long)__atomic_load_n(&db->snapshots_live, __ATOMIC_ACQUIRE),
                     io.p != NULL ? io.p : "");
    free(io.p);
    if (n < 0)
        return kv_error(KV_ERR_NOMEM, "kv_stats: out of memory");
    if ((rc = latency_stats_append(&out, &db->lat, LATENCY_CALLS)) != KV_OK)
        return rc;
    *text = out;
    return KV_OK;
}
