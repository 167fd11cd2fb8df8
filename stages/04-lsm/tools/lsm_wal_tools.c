/*
 * lsm_wal_tools.c: kv check and kv dump of one write-ahead log (lsm_wal.h),
 * for the kv_check and kv_dump of the database (the table set's:
 * flat_set_tools.c, level_tools.c), which say which logs there are and
 * which of them kv_open removes unread.
 *
 * check reads the log the way kv_open does (lsm_wal_scan_file) and reports
 * the very verdict kv_open acts on (lsm_wal_judge): keep it, cut its torn
 * tail, or refuse the database.  dump prints every record with its
 * sequence numbers and ops, every marker, and every damaged region with
 * where reading resumes.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "error.h"
#include "escape.h"
#include "file_start.h"
#include "log_report.h"
#include "lsm_files.h"
#include "lsm_wal.h"
#include "wal_batch.h"
#include "wal_marker.h"
#include "wal_reader.h"

#define LSM_WAL_SHOW_BYTES 48

/* ---- kv check -------------------------------------------------------------- */

int lsm_wal_check(const char *dir, uint64_t start, const lsm_wal_check_args *a,
                  lsm_wal_check_totals *t)
{
    char name[LSM_NAME_MAX];
    lsm_wal_name(name, start);
    if (a->covered) {
        log_report_line(a->line, a->ctx, "%s: every write in it is in the tables (up to %"
                        PRIu64 "); kv_open removes it unread", name, a->in_tables);
        return KV_OK;
    }
    lsm_wal *w = NULL;
    int rc = lsm_wal_open(dir, start, IO_READ, &w);
    lsm_wal_scan s;
    if (rc == KV_OK)
        rc = lsm_wal_scan_file(w->file, w->size, w->start, NULL, NULL, &s);
    uint64_t size = w ? w->size : 0;
    lsm_wal_free(w);
    if (rc != KV_OK)
        return rc;
    t->logs++;
    t->bytes += size;
    t->records += s.records;
    lsm_wal_verdict v;
    lsm_wal_judge(size, &s, a->last, 0, &v);
    log_report_line(a->line, a->ctx, "%s: %" PRIu64 " bytes, %" PRIu64 " records (up to "
                    "sequence %" PRIu64 ")%s%s: %s", name, size, s.records, s.last_seq,
                    s.sealed ? ", sealed" : "",
                    !a->last && v.action == LSM_WAL_KEEP && s.last_seq <= a->in_tables
                        ? ", all in the tables (kv_open removes it)" : "",
                    v.action == LSM_WAL_KEEP ? "ok" : v.action == LSM_WAL_CUT ? "torn" : "CORRUPT");
    if (v.action == LSM_WAL_KEEP && v.spare > 0)
        log_report_line(a->line, a->ctx, "%s: then %" PRIu64 " zero bytes, room the log had "
                        "grown into (not damage; the next kv_open that may write trims them)",
                        name, v.spare);
    if (v.action == LSM_WAL_KEEP)
        return KV_OK;
    if (v.action == LSM_WAL_CUT) {
        log_report_line(a->line, a->ctx, "%s: %s", name, v.text);
        return KV_CHECK_WILL_CUT;
    }
    log_report_line(a->line, a->ctx, "%s: CORRUPT: kv_open refuses the database: %s "
                    "(kv repair rewrites the log with its intact records)", name, v.text);
    return KV_ERR_CORRUPT;
}

/* ---- kv dump ---------------------------------------------------------------- */

typedef struct dump_ctx {
    kv_line_fn line;
    void *ctx;
    uint64_t seq;
} dump_ctx;

static int dump_op(void *ctx, size_t i, const batch_op *op)
{
    dump_ctx *c = ctx;
    char key[4 * LSM_WAL_SHOW_BYTES + 8], val[4 * LSM_WAL_SHOW_BYTES + 8];
    escape_bytes(key, sizeof key, op->key, op->klen, LSM_WAL_SHOW_BYTES);
    if (op->is_delete) {
        log_report_line(c->line, c->ctx, "            seq %" PRIu64 ": del key_len=%zu "
                        "key=\"%s\"", c->seq + i, op->klen, key);
        return 0;
    }
    escape_bytes(val, sizeof val, op->val, op->vlen, LSM_WAL_SHOW_BYTES);
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

int lsm_wal_dump(const char *dir, uint64_t start, kv_line_fn line, void *ctx)
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
