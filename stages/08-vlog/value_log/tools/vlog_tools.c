/*
 * vlog_tools.c: kv check, kv dump and kv repair of the value log's files
 * (value_store.h's tools), which the table set's tools call.
 *
 * kv check reads each value-log file as the log it was (lsm_wal.h): a
 * header, whole records, nothing after its seal but zeros; and VLOGCOUNTS
 * (a damaged one is no loss: kv_open measures the files again).  Then it
 * reads every key's value, through a read-only kv_open: a key whose table
 * entry points at a value that is not there (a file missing, a span past
 * its end, bytes that do not match the crc32c) is damage, a dangling
 * pointer, named with the key.  Only what a reader can reach is checked:
 * an old version that a merge has not dropped yet may point into a file
 * already collected, and no reader can ask for it.
 *
 * kv repair sets a damaged VLOGCOUNTS aside, and deletes each key whose
 * value is lost (its newest version dangles): the database then reads as
 * if that key had been deleted, which every line it prints says.  A
 * damaged value-log file (cut short, a fragment whose checksum fails) may
 * still hold values keys read, at offsets their table entries name, so it
 * is not rewritten in place: it is copied to DIR/lost/, then kv_compact
 * empties it as the engine empties any damaged file (vlog_gc.c: each value
 * a key still reads there written again) and the engine removes it.  So,
 * as kv.h promises, kv check then finds the database intact.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "escape.h"
#include "file_start.h"
#include "log_report.h"
#include "lsm_wal.h"
#include "offline.h"
#include "value_log.h"
#include "value_store_tools.h"
#include "wal_batch.h"

/* Lines naming lost keys, at most; then a count. */
#define VLOG_TOOLS_KEY_LINES 20

int value_store_is_named(const char *name)
{
    size_t n = strlen(name), s = strlen(VLOG_SUFFIX);
    return strcmp(name, VLOG_COUNTS_NAME) == 0 || strcmp(name, VLOG_COUNTS_NAME ".tmp") == 0 ||
           (n > s && strcmp(name + n - s, VLOG_SUFFIX) == 0);
}

/* The value-log files of dir, by name: *starts malloc'd, ascending. */
static int vlog_tools_list(const char *dir, uint64_t **starts, size_t *n)
{
    char **names = NULL;
    size_t count = 0;
    *starts = NULL;
    *n = 0;
    int rc = io_list(dir, &names, &count);
    if (rc != KV_OK)
        return rc;
    uint64_t *v = malloc((count + 1) * sizeof *v);
    if (v == NULL) {
        io_list_free(names, count);
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", dir);
    }
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t start = 0;
        if (vlog_name_parse(names[i], &start)) {
            size_t at = k++;
            while (at > 0 && v[at - 1] > start) {
                v[at] = v[at - 1];
                at--;
            }
            v[at] = start;
        }
    }
    io_list_free(names, count);
    *starts = v;
    *n = k;
    return KV_OK;
}

/* ---- one file ----------------------------------------------------------------- */

typedef struct vlog_dump_ctx {
    kv_line_fn line;
    void *ctx;
    uint64_t puts, deletes;
} vlog_dump_ctx;

static int vlog_dump_op(void *ctx, size_t i, const batch_op *op)
{
    vlog_dump_ctx *c = ctx;
    char key[120];
    escape_bytes(key, sizeof key, op->key, op->klen, 40);
    if (op->is_delete) {
        c->deletes++;
        log_report_line(c->line, c->ctx, "   op %zu: delete \"%s\"", i, key);
    } else {
        c->puts++;
        log_report_line(c->line, c->ctx, "   op %zu: put \"%s\", value of %zu bytes", i, key,
                        op->vlen);
    }
    return 0;
}

static int vlog_dump_record(void *ctx, const lsm_wal_record *r, uint64_t offset, uint64_t end)
{
    vlog_dump_ctx *c = ctx;
    log_report_line(c->line, c->ctx, " record at %" PRIu64 " (to %" PRIu64 "): sequence %" PRIu64
                    ", %zu op%s", offset, end, r->seq, r->count, r->count == 1 ? "" : "s");
    const char *why = NULL;
    wal_batch_decode(r->batch, r->batch_end, vlog_dump_op, c, NULL, &why);
    return KV_OK;
}

static int vlog_count_record(void *ctx, const lsm_wal_record *r, uint64_t offset, uint64_t end)
{
    (void)offset, (void)end;
    ((vlog_dump_ctx *)ctx)->puts += r->count;
    return KV_OK;
}

/* Reads file `start`: its check line (dump 0) or every record (dump 1).
 * KV_OK or KV_ERR_CORRUPT (what is wrong in the line), or an I/O error. */
static int vlog_tools_file(const char *dir, uint64_t start, int dump, kv_line_fn line, void *ctx)
{
    char name[LSM_NAME_MAX];
    vlog_file_name(name, sizeof name, start, 0);
    char *path = io_join(dir, name);
    io_file *f = NULL;
    uint64_t size = 0;
    int rc = path ? io_open(path, IO_READ, &f) : kv_error(KV_ERR_NOMEM, "out of memory");
    if (rc == KV_OK)
        rc = io_size(f, &size);
    vlog_dump_ctx c = {.line = line, .ctx = ctx};
    lsm_wal_scan s;
    if (rc == KV_OK && dump)
        log_report_line(line, ctx, "# %s: %" PRIu64 " bytes, a value log (a log the tables "
                        "took, renamed): its records, and their ops", name, size);
    if (rc == KV_OK)
        rc = lsm_wal_scan_file(f, size, start, dump ? vlog_dump_record : vlog_count_record, &c,
                               &s);
    io_close(f);
    free(path);
    if (rc != KV_OK) {
        log_report_line(line, ctx, "%s: cannot be read: %s", name, kv_errmsg());
        return rc;
    }
    if (s.header != FILE_START_OK || s.damaged) {
        const char *why = s.header != FILE_START_OK ? "its header is not a log's"
                                                    : s.why ? s.why : "damage";
        log_report_line(line, ctx, "%s: DAMAGED at offset %" PRIu64 ": %s; a value there, "
                        "or after it, that a key still reads is lost (the check of the values "
                        "below names them)", name, s.header != FILE_START_OK ? 0 : s.bad, why);
        return kv_error(KV_ERR_CORRUPT, "%s: damaged", name);
    }
    if (!dump)
        log_report_line(line, ctx, "%s: a value log of %" PRIu64 " bytes, %" PRIu64 " records "
                        "(writes %" PRIu64 " to %" PRIu64 "): ok", name, size, s.records, start,
                        s.last_seq);
    return KV_OK;
}

/* ---- VLOGCOUNTS --------------------------------------------------------------- */

static int vlog_tools_counts(const char *dir, int dump, kv_line_fn line, void *ctx)
{
    char *path = io_join(dir, VLOG_COUNTS_NAME);
    int exists = 0, rc = path ? io_exists(path, &exists) : KV_ERR_NOMEM;
    if (rc != KV_OK || !exists) {
        free(path);
        return rc;
    }
    io_file *f = NULL;
    uint64_t size = 0;
    uint8_t *p = NULL;
    size_t got = 0;
    if ((rc = io_open(path, IO_READ, &f)) == KV_OK && (rc = io_size(f, &size)) == KV_OK) {
        p = malloc(size ? (size_t)size : 1);
        rc = p ? io_read_at(f, 0, p, (size_t)size, &got) : kv_error(KV_ERR_NOMEM, "out of memory");
    }
    io_close(f);
    uint64_t flushed = 0;
    vlog_count *counts = NULL;
    size_t n = 0;
    if (rc == KV_OK)
        rc = vlog_counts_decode(path, p, got, &flushed, &counts, &n);
    if (rc == KV_OK && dump) {
        log_report_line(line, ctx, "# %s: the value log's counts at the last clean close "
                        "(flushed %" PRIu64 "): file, bytes, value bytes, live bytes, "
                        "undropped bytes, counted at", VLOG_COUNTS_NAME, flushed);
        for (size_t i = 0; i < n; i++)
            log_report_line(line, ctx, " %012" PRIu64 "%s %" PRIu64 " %" PRIu64 " %" PRIu64
                            " %" PRIu64 " %" PRIu64, counts[i].start, VLOG_SUFFIX,
                            counts[i].bytes, counts[i].value_bytes, counts[i].live_bytes,
                            counts[i].undropped, counts[i].counted_at);
    } else if (rc == KV_OK) {
        log_report_line(line, ctx, "%s: the counts of %zu value-log files, kept at the last "
                        "clean close: ok", VLOG_COUNTS_NAME, n);
    } else if (rc == KV_ERR_CORRUPT) {
        log_report_line(line, ctx, "%s: DAMAGED: %s; kv_open ignores it and measures the "
                        "value-log files again, kv repair sets it aside; no data is in it",
                        VLOG_COUNTS_NAME, kv_errmsg());
    }
    free(counts);
    free(p);
    free(path);
    return rc;
}

/* ---- every key's value ------------------------------------------------------- */

typedef struct vlog_lost {
    char **keys;            /* malloc'd copies (repair deletes them) */
    size_t *lens;
    size_t n, cap;
    uint64_t read;
} vlog_lost;

static void vlog_lost_free(vlog_lost *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->keys[i]);
    free(l->keys);
    free(l->lens);
}

/* Reads every key's value of db; each one that is KV_ERR_CORRUPT is lost,
 * named in a line (the first few) and kept in *lost.  Only an entry
 * that points into the value log can dangle: its value is read with
 * kv_get, which names what is wrong with it.  A value the entry holds
 * itself, the walk has already read (from its table or memtable, as
 * kv_get would), and it is not looked up again.  KV_OK, or an error that
 * stopped the reading. */
static int vlog_read_all(kv_db *db, kv_line_fn line, void *ctx, vlog_lost *lost)
{
    kv_iter *it = NULL;
    int rc = kv_iter_new(db, &it);
    if (rc != KV_OK)
        return rc;
    for (kv_iter_seek_first(it); rc == KV_OK && kv_iter_valid(it); kv_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const void *key = kv_iter_key(it, &klen);
        void *val = NULL;
        lost->read++;
        if (!lsm_iter_elsewhere(it))
            continue;
        int g = kv_get(db, key, klen, &val, &vlen);
        kv_free(val);
        if (g == KV_OK || g == KV_NOT_FOUND)
            continue;
        if (g != KV_ERR_CORRUPT) {
            rc = g;
            break;
        }
        char shown[200];
        escape_bytes(shown, sizeof shown, key, klen, 60);
        if (lost->n < VLOG_TOOLS_KEY_LINES)
            log_report_line(line, ctx, "key \"%s\": its value is lost: %s", shown, kv_errmsg());
        if (lost->n == lost->cap) {
            size_t cap = lost->cap ? lost->cap * 2 : 16;
            char **k = realloc(lost->keys, cap * sizeof *k);
            size_t *l = k ? realloc(lost->lens, cap * sizeof *l) : NULL;
            if (k != NULL)
                lost->keys = k;
            if (l == NULL) {
                rc = kv_error(KV_ERR_NOMEM, "out of memory");
                break;
            }
            lost->lens = l;
            lost->cap = cap;
        }
        char *copy = malloc(klen);
        if (copy == NULL) {
            rc = kv_error(KV_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(copy, key, klen);
        lost->keys[lost->n] = copy;
        lost->lens[lost->n++] = klen;
    }
    if (rc == KV_OK)
        rc = kv_iter_status(it);
    kv_iter_free(it);
    if (lost->n > VLOG_TOOLS_KEY_LINES)
        log_report_line(line, ctx, "... and %zu more keys whose value is lost",
                        lost->n - VLOG_TOOLS_KEY_LINES);
    return rc;
}

int value_store_check(const char *dir, kv_line_fn line, void *ctx)
{
    uint64_t *starts = NULL;
    size_t n = 0;
    int rc = vlog_tools_list(dir, &starts, &n);
    if (rc != KV_OK)
        return rc;
    /* (The message of the first failure that is not damage kept: the
     * steps after it, the read-only open among them, clear kv_errmsg.) */
    offline_status status = {0};
    for (size_t i = 0; i < n; i++)
        offline_status_add(&status, vlog_tools_file(dir, starts[i], 0, line, ctx));
    free(starts);
    offline_status_add(&status, vlog_tools_counts(dir, 0, line, ctx));
    char *tmp = io_join(dir, VLOG_COUNTS_NAME ".tmp");
    int exists = 0;
    if (tmp != NULL && io_exists(tmp, &exists) == KV_OK && exists)
        log_report_line(line, ctx, "%s.tmp: an unfinished save of %s; kv_open removes it",
                        VLOG_COUNTS_NAME, VLOG_COUNTS_NAME);
    free(tmp);

    kv_options ro;
    kv_options_init(&ro);
    ro.read_only = 1;
    ro.create_if_missing = 0;
    kv_db *db = NULL;
    if (kv_open(dir, &ro, &db) != KV_OK) {
        log_report_line(line, ctx, "values: not read (kv_open refuses the database: %s)",
                        kv_errmsg());
        return offline_status_end(NULL, &status);
    }
    vlog_lost lost = {0};
    rc = vlog_read_all(db, line, ctx, &lost);
    if (rc != KV_OK) { /* (before the close, which may clear its message) */
        log_report_line(line, ctx, "values: reading them stopped: %s", kv_errmsg());
        offline_status_add(&status, rc);
    } else if (lost.n > 0) {
        log_report_line(line, ctx, "values: %" PRIu64 " keys read, %zu of them lost (a table "
                        "entry points at a value that is not there); kv repair deletes them",
                        lost.read, lost.n);
        offline_status_add(&status, KV_ERR_CORRUPT);
    } else {
        log_report_line(line, ctx, "values: %" PRIu64 " keys read, each value where its "
                        "table entry says: ok", lost.read);
    }
    kv_close(db);
    vlog_lost_free(&lost);
    return offline_status_end(NULL, &status);
}

int value_store_dump(const char *dir, kv_line_fn line, void *ctx)
{
    uint64_t *starts = NULL;
    size_t n = 0;
    int status = vlog_tools_list(dir, &starts, &n);
    if (status != KV_OK)
        return status;
    for (size_t i = 0; i < n; i++)
        status = offline_worse(status, vlog_tools_file(dir, starts[i], 1, line, ctx));
    free(starts);
    int rc = vlog_tools_counts(dir, 1, line, ctx);
    if (rc != KV_OK)
        log_report_line(line, ctx, "# %s: %s", VLOG_COUNTS_NAME, kv_errmsg());
    return offline_worse(status, rc);
}

/* VLOGCOUNTS copied to lost/ and removed: kv_open then measures every
 * value-log file again. */
static int vlog_counts_set_aside(const char *dir, kv_line_fn line, void *ctx)
{
    char kept[512];
    char *path = io_join(dir, VLOG_COUNTS_NAME);
    int rc = offline_set_aside(dir, VLOG_COUNTS_NAME, kept, sizeof kept);
    if (rc == KV_OK)
        rc = path ? io_unlink(path) : kv_error(KV_ERR_NOMEM, "out of memory");
    if (rc == KV_OK)
        rc = io_sync_dir(dir);
    if (rc == KV_OK)
        log_report_line(line, ctx, "%s: set aside as %s and removed", VLOG_COUNTS_NAME, kept);
    free(path);
    return rc;
}

/* Each damaged value-log file of dir, copied to lost/ and emptied by
 * kv_compact of the values keys still read there (REQUIRES: no key's
 * value is lost, so that nothing holds the file back); the engine then
 * removes it.  KV_OK, or KV_ERR_CORRUPT if one is still there. */
static int vlog_repair_files(const char *dir, kv_line_fn line, void *ctx)
{
    uint64_t *starts = NULL;
    size_t n = 0, damaged = 0;
    int rc = vlog_tools_list(dir, &starts, &n);
    for (size_t i = 0; rc == KV_OK && i < n; i++) {
        rc = vlog_tools_file(dir, starts[i], 0, NULL, NULL);
        if (rc != KV_ERR_CORRUPT)
            continue;
        char name[LSM_NAME_MAX], kept[512];
        vlog_file_name(name, sizeof name, starts[i], 0);
        vlog_tools_file(dir, starts[i], 0, line, ctx); /* where, and what */
        rc = offline_set_aside(dir, name, kept, sizeof kept);
        if (rc == KV_OK)
            log_report_line(line, ctx, "%s: copied to %s; kv_compact writes again every value "
                            "a key still reads there, and the file goes", name, kept);
        damaged++;
    }
    free(starts);
    if (rc != KV_OK || damaged == 0)
        return rc;
    /* The counts say nothing of the damage (a file whose size they match
     * is not read again before a write): without them kv_open measures
     * every file, finds which are damaged, and kv_compact empties those. */
    char *counts = io_join(dir, VLOG_COUNTS_NAME);
    int exists = 0;
    rc = counts ? io_exists(counts, &exists) : kv_error(KV_ERR_NOMEM, "out of memory");
    free(counts);
    if (rc == KV_OK && exists)
        rc = vlog_counts_set_aside(dir, line, ctx);
    if (rc != KV_OK)
        return rc;
    kv_db *db = NULL;
    if ((rc = kv_open(dir, NULL, &db)) != KV_OK)
        return rc;
    rc = kv_compact(db);
    int crc = kv_close(db);
    if (rc == KV_OK)
        rc = crc;
    if (rc != KV_OK)
        return rc;
    /* What kv_compact left damaged (none, if every value it held that a
     * key reads was read back) is damage repair cannot mend. */
    if ((rc = vlog_tools_list(dir, &starts, &n)) != KV_OK)
        return rc;
    for (size_t i = 0; rc == KV_OK && i < n; i++)
        if ((rc = vlog_tools_file(dir, starts[i], 0, NULL, NULL)) == KV_ERR_CORRUPT)
            rc = kv_error(KV_ERR_CORRUPT, "%s: value-log file %012" PRIu64 "%s is still "
                          "damaged after kv_compact emptied what it could", dir, starts[i],
                          VLOG_SUFFIX);
    free(starts);
    if (rc == KV_OK)
        log_report_line(line, ctx, "values: %zu damaged value-log file%s emptied and removed",
                        damaged, damaged == 1 ? "" : "s");
    return rc;
}

int value_store_repair(const char *dir, kv_line_fn line, void *ctx)
{
    /* A damaged VLOGCOUNTS: set aside, removed (the files are measured). */
    int rc = vlog_tools_counts(dir, 0, line, ctx);
    if (rc == KV_ERR_CORRUPT)
        rc = vlog_counts_set_aside(dir, line, ctx);
    if (rc != KV_OK)
        return rc;
    /* Read only first: an intact database is left as it is. */
    kv_options ro;
    kv_options_init(&ro);
    ro.read_only = 1;
    ro.create_if_missing = 0;
    kv_db *db = NULL;
    if ((rc = kv_open(dir, &ro, &db)) != KV_OK)
        return rc;
    vlog_lost lost = {0};
    rc = vlog_read_all(db, line, ctx, &lost);
    int crc = kv_close(db);
    if (rc == KV_OK)
        rc = crc;
    if (rc == KV_OK && lost.n > 0 && (rc = kv_open(dir, NULL, &db)) == KV_OK) {
        for (size_t i = 0; rc == KV_OK && i < lost.n; i++)
            rc = kv_delete(db, lost.keys[i], lost.lens[i]);
        crc = kv_close(db);
        if (rc == KV_OK)
            rc = crc;
    }
    if (rc == KV_OK && lost.n > 0)
        log_report_line(line, ctx, "values: %zu keys whose value was lost deleted (a read of "
                        "them now finds nothing, as if they had been deleted)", lost.n);
    vlog_lost_free(&lost);
    if (rc == KV_OK)
        rc = vlog_repair_files(dir, line, ctx);
    return rc;
}
