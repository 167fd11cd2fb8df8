/*
 * lsm_tools.c: kv_check and kv_dump for stage 04, over a closed directory.
 *
 * kv_check verifies every table whole (table_check: every checksum, the
 * order of every key, every count) and reads every log the way kv_open
 * does, then says what kv_open will do with it, from the very verdict
 * kv_open acts on (lsm_wal_judge): keep it, cut its torn tail, or refuse
 * the database.  Files kv_open removes unread (obsolete tables, logs whose
 * writes are all in tables, temporary files: lsm_files.h) are named as
 * such and not judged.  kv_dump prints every table (table_dump: each
 * entry's offset, key, sequence, type) and every log record with its
 * sequence numbers and ops.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "db_identity.h"
#include "error.h"
#include "escape.h"
#include "file_start.h"
#include "log_report.h"
#include "lsm_db.h"
#include "lsm_files.h"
#include "wal_batch.h"
#include "wal_marker.h"
#include "wal_reader.h"

#define TOOLS_SHOW_BYTES 48

static int tools_list(const char *call, const char *dir, lsm_listing *l)
{
    memset(l, 0, sizeof *l);
    int rc = args_check_ptr(call, dir, "directory");
    int exists = 0;
    if (rc == KV_OK && (rc = io_exists(dir, &exists)) == KV_OK && !exists)
        rc = kv_error(KV_ERR_INVALID, "%s: %s does not exist", call, dir);
    return rc == KV_OK ? lsm_listing_read(dir, l) : rc;
}

/* Worse of two statuses: an I/O error, then corruption, then a torn tail
 * kv_open will cut, then ok. */
static int tools_worse(int a, int b)
{
    if (a < 0 && a != KV_ERR_CORRUPT)
        return a;
    if (b < 0 && b != KV_ERR_CORRUPT)
        return b;
    if (a == KV_ERR_CORRUPT || b == KV_ERR_CORRUPT)
        return KV_ERR_CORRUPT;
    return a != KV_OK ? a : b;
}

/* ---- kv check ----------------------------------------------------------- */

typedef struct check_totals {
    uint64_t table_bytes, log_bytes, records, entries;
    size_t tables, logs;
} check_totals;

static int check_table(const char *dir, const lsm_listed_table *lt, kv_line_fn line, void *ctx,
                       check_totals *t)
{
    char name[LSM_NAME_MAX];
    lsm_table_name(name, lt->lo, lt->hi, 0);
    if (lt->obsolete) {
        log_report_line(line, ctx, "%s: obsolete: a newer table holds the writes it holds "
                        "(a kv_compact that did not finish removing its inputs); kv_open "
                        "removes it unread", name);
        return KV_OK;
    }
    char *path = io_join(dir, name);
    int rc = path ? table_check(path, name, line, ctx) : KV_ERR_NOMEM;
    free(path);
    t->tables++;
    return rc;
}

static int check_log(const char *dir, const lsm_listing *l, size_t i, kv_line_fn line,
                     void *ctx, check_totals *t)
{
    const lsm_listed_wal *lw = &l->wals[i];
    char name[LSM_NAME_MAX];
    lsm_wal_name(name, lw->start);
    if (lw->covered) {
        log_report_line(line, ctx, "%s: every write in it is in the tables (up to %" PRIu64
                        "); kv_open removes it unread", name, l->max_hi);
        return KV_OK;
    }
    int last = i + 1 == l->nwals;
    lsm_wal *w = NULL;
    int rc = lsm_wal_open(dir, lw->start, IO_READ, &w);
    lsm_wal_scan s;
    if (rc == KV_OK)
        rc = lsm_wal_scan_file(w->file, w->size, w->start, NULL, NULL, &s);
    uint64_t size = w ? w->size : 0;
    lsm_wal_free(w);
    if (rc != KV_OK)
        return rc;
    t->logs++;
    t->log_bytes += size;
    t->records += s.records;
    lsm_wal_verdict v;
    lsm_wal_judge(size, &s, last, 0, &v);
    log_report_line(line, ctx, "%s: %" PRIu64 " bytes, %" PRIu64 " records (up to sequence %"
                    PRIu64 ")%s%s: %s", name, size, s.records, s.last_seq,
                    s.sealed ? ", sealed" : "",
                    !last && v.action == LSM_WAL_KEEP && s.last_seq <= l->max_hi
                        ? ", all in the tables (kv_open removes it)" : "",
                    v.action == LSM_WAL_KEEP ? "ok" : v.action == LSM_WAL_CUT ? "torn" : "CORRUPT");
    if (v.action == LSM_WAL_KEEP && v.spare > 0)
        log_report_line(line, ctx, "%s: then %" PRIu64 " zero bytes, room the log had grown "
                        "into (not damage; the next kv_open that may write trims them)", name,
                        v.spare);
    if (v.action == LSM_WAL_KEEP)
        return KV_OK;
    if (v.action == LSM_WAL_CUT) {
        log_report_line(line, ctx, "%s: %s", name, v.text);
        return KV_CHECK_WILL_CUT;
    }
    log_report_line(line, ctx, "%s: CORRUPT: kv_open refuses the database: %s", name, v.text);
    return KV_ERR_CORRUPT;
}

int kv_check(const char *dir, kv_line_fn line, void *ctx)
{
    lsm_listing l;
    int rc = tools_list("kv_check", dir, &l);
    if (rc != KV_OK)
        return rc;
    int status = db_identity_check(dir, kv_stage(), table_set_format(), line, ctx);
    if (status != KV_OK && status != KV_ERR_CORRUPT) {
        lsm_listing_free(&l);
        return status;
    }
    check_totals t = {0};
    if (l.overlap) {
        log_report_line(line, ctx, "CORRUPT: tables %" PRIu64 "-%" PRIu64 " and %" PRIu64 "-%"
                        PRIu64 " hold overlapping ranges of writes: kv_open refuses the "
                        "database", l.overlap_a[0], l.overlap_a[1], l.overlap_b[0],
                        l.overlap_b[1]);
        status = KV_ERR_CORRUPT;
    }
    for (size_t i = 0; i < l.ntables; i++)
        status = tools_worse(status, check_table(dir, &l.tables[i], line, ctx, &t));
    for (size_t i = 0; i < l.nwals; i++)
        status = tools_worse(status, check_log(dir, &l, i, line, ctx, &t));
    if ((rc = lsm_wal_check_owed(dir, l.wals, l.nwals, l.max_hi)) != KV_OK) {
        log_report_line(line, ctx, "CORRUPT: kv_open refuses the database: %s", kv_errmsg());
        status = tools_worse(status, rc);
    }
    for (size_t i = 0; i < l.ntmps; i++)
        log_report_line(line, ctx, "%s: an unfinished file (a flush, kv_compact or kv_repair "
                        "was interrupted); kv_open removes it", l.tmps[i]);
    for (size_t i = 0; i < l.nothers; i++)
        log_report_line(line, ctx, "%s: not a file of stage %s; ignored", l.others[i],
                        kv_stage());
    log_report_line(line, ctx, "total: %zu tables, %zu logs (%" PRIu64 " bytes, %" PRIu64
                    " records): %s", t.tables, t.logs, t.log_bytes, t.records,
                    status == KV_OK ? "ok"
                    : status == KV_CHECK_WILL_CUT ? "kv_open will cut a torn tail"
                                                  : "DAMAGED");
    lsm_listing_free(&l);
    if (status == KV_ERR_CORRUPT)
        kv_error(KV_ERR_CORRUPT, "%s: damage found (kv check lists it)", dir);
    return status;
}

/* ---- kv dump -------------------------------------------------------------- */

typedef struct dump_ctx {
    kv_line_fn line;
    void *ctx;
    uint64_t seq;
} dump_ctx;

static int dump_op(void *ctx, size_t i, const batch_op *op)
{
    dump_ctx *c = ctx;
    char key[4 * TOOLS_SHOW_BYTES + 8], val[4 * TOOLS_SHOW_BYTES + 8];
    escape_bytes(key, sizeof key, op->key, op->klen, TOOLS_SHOW_BYTES);
    if (op->is_delete) {
        log_report_line(c->line, c->ctx, "            seq %" PRIu64 ": del key_len=%zu "
                        "key=\"%s\"", c->seq + i, op->klen, key);
        return 0;
    }
    escape_bytes(val, sizeof val, op->val, op->vlen, TOOLS_SHOW_BYTES);
    log_report_line(c->line, c->ctx, "            seq %" PRIu64 ": put key_len=%zu "
                    "value_len=%zu key=\"%s\" value=\"%s\"", c->seq + i, op->klen, op->vlen,
                    key, val);
    return 0;
}

/* One record (or marker, or damage) of a log, as the reader returned it. */
static void dump_log_item(dump_ctx *c, const wal_reader *r, int n)
{
    uint64_t synced_to = 0;
    lsm_wal_record rec;
    const char *why = r->why;
    if (n == WAL_READ_DAMAGE) {
        log_report_line(c->line, c->ctx, "%10" PRIu64 "  DAMAGED: %s (reading resumes at the "
                        "next valid fragment)", r->bad_offset, why);
        return;
    }
    int kind = wal_marker_decode(r->rec, r->rec + r->rec_len, &synced_to);
    if (kind == 2)
        log_report_line(c->line, c->ctx, "%10" PRIu64 "  seal: closed for good at offset %"
                        PRIu64, r->rec_start, synced_to);
    else if (kind == 1)
        log_report_line(c->line, c->ctx, "%10" PRIu64 "  sync marker: every byte before "
                        "offset %" PRIu64 " was on stable storage", r->rec_start, synced_to);
    else if (lsm_wal_record_decode(r->rec, r->rec_len, &rec, &why) != 0)
        log_report_line(c->line, c->ctx, "%10" PRIu64 "  DAMAGED: a whole record that is not "
                        "one: %s", r->rec_start, why);
    else {
        log_report_line(c->line, c->ctx, "%10" PRIu64 "  record: %" PRIu64 " bytes framed, "
                        "%zu ops, sequence %" PRIu64 "..%" PRIu64, r->rec_start,
                        r->rec_end - r->rec_start, rec.count, rec.seq, rec.seq + rec.count - 1);
        c->seq = rec.seq;
        wal_batch_decode(rec.batch, rec.batch_end, dump_op, c, NULL, &why);
    }
}

static int dump_log(const char *dir, uint64_t start, kv_line_fn line, void *ctx)
{
    char name[LSM_NAME_MAX];
    lsm_wal_name(name, start);
    lsm_wal *w = NULL;
    int rc = lsm_wal_open(dir, start, IO_READ, &w);
    file_start fs = {0};
    if (rc == KV_OK)
        rc = file_start_read(w->file, w->size, FILE_MAGIC_LOG04, LSM_WAL_VERSION, &fs);
    if (rc != KV_OK) {
        log_report_line(line, ctx, "# %s: cannot dump: %s", name, kv_errmsg());
        lsm_wal_free(w);
        return rc;
    }
    log_report_line(line, ctx, "# %s: log for writes from sequence %" PRIu64 " on, %" PRIu64
                    " bytes: offset of each record's first fragment, its sequence numbers, "
                    "then its ops (see docs/04-lsm.md)", name, start, w->size);
    if (fs.state != FILE_START_OK)
        log_report_line(line, ctx, "         0  header: %s", fs.state == FILE_START_EMPTY
                                                             ? "none (an empty file)" : fs.why);
    dump_ctx c = {.line = line, .ctx = ctx};
    wal_reader r;
    wal_reader_init_file(&r, w->file, w->size < LSM_WAL_START ? w->size : LSM_WAL_START,
                         w->size);
    int n;
    while ((n = wal_reader_next(&r)) == WAL_READ_RECORD || n == WAL_READ_DAMAGE)
        dump_log_item(&c, &r, n);
    wal_reader_free(&r);
    lsm_wal_free(w);
    return n < 0 ? n : KV_OK;
}

int kv_dump(const char *dir, kv_line_fn line, void *ctx)
{
    return kv_dump_with(dir, 0, line, ctx);
}

/* flags: KV_DUMP_FRAMES is not shown for stage 04 (stage 03's dump has the
 * same framing). */
int kv_dump_with(const char *dir, unsigned flags, kv_line_fn line, void *ctx)
{
    (void)flags;
    lsm_listing l;
    int rc = tools_list("kv_dump", dir, &l);
    if (rc != KV_OK)
        return rc;
    int status = db_identity_check(dir, kv_stage(), table_set_format(), line, ctx);
    if (status != KV_OK && status != KV_ERR_CORRUPT) {
        lsm_listing_free(&l);
        return status;
    }
    for (size_t i = l.ntables; i-- > 0;) { /* oldest first, as they were written */
        char name[LSM_NAME_MAX];
        lsm_table_name(name, l.tables[i].lo, l.tables[i].hi, 0);
        if (l.tables[i].obsolete)
            log_report_line(line, ctx, "# %s: obsolete (kv_open removes it)", name);
        char *path = io_join(dir, name);
        rc = path ? table_dump(path, name, line, ctx) : KV_ERR_NOMEM;
        free(path);
        status = tools_worse(status, rc);
    }
    for (size_t i = 0; i < l.nwals; i++)
        status = tools_worse(status, dump_log(dir, l.wals[i].start, line, ctx));
    if (l.ntables == 0 && l.nwals == 0)
        log_report_line(line, ctx, "# %s: no tables and no logs: an empty database", dir);
    lsm_listing_free(&l);
    return status;
}
