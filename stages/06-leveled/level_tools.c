/*
 * level_tools.c: kv_check and kv_dump for stage 06, over a closed
 * directory.
 *
 * kv_check replays the manifest as kv_open does (manifest_recover: CURRENT
 * and its checksum, every record, levels >= 1 disjoint), then checks that
 * the manifest names exactly the tables present: a table it names that is
 * missing is damage; a table it does not name is garbage kv_open removes
 * (a flush or compaction whose edit never became durable, or inputs whose
 * deletion was cut short).  Every table the manifest names is verified
 * whole (table_check), and every log judged as kv_open judges it
 * (lsm_wal_judge), but the logs whose writes are all in tables, which
 * kv_open removes unread.
 *
 * kv_dump prints the manifest's edits in order (version_edit_describe),
 * the version they add up to as a level diagram (each table's number,
 * size and key range, per level), then every table's entries and every
 * log's records.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "current_file.h"
#include "db_identity.h"
#include "error.h"
#include "escape.h"
#include "level_set.h"
#include "level_files.h"
#include "log_report.h"
#include "lsm_files.h"
#include "wal_batch.h"

typedef struct tools_ctx {
    const char *dir;
    kv_line_fn line;
    void *ctx;
    int status;
    uint64_t records, bytes;
} tools_ctx;

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

/* 1 if dir holds no file of the stage at all: an empty directory, or a
 * new database's IDENTITY alone (kv_open makes the rest). */
static int tools_empty(const lsm_listing *l)
{
    if (l->nwals > 0 || l->ntmps > 0)
        return 0;
    for (size_t i = 0; i < l->nothers; i++) {
        uint64_t n = 0;
        if (level_file_parse(l->others[i], &n) != LEVEL_FILE_OTHER)
            return 0;
    }
    return 1;
}

static int tools_open(const char *call, const char *dir, kv_line_fn line, void *ctx,
                      lsm_listing *l)
{
    memset(l, 0, sizeof *l);
    int rc = args_check_ptr(call, dir, "directory");
    int exists = 0;
    if (rc == KV_OK && (rc = io_exists(dir, &exists)) == KV_OK && !exists)
        rc = kv_error(KV_ERR_INVALID, "%s: %s does not exist", call, dir);
    if (rc != KV_OK)
        return rc;
    int status = db_identity_check(dir, kv_stage(), LEVEL_DB_FORMAT, line, ctx);
    if (status != KV_OK && status != KV_ERR_CORRUPT)
        return status;
    rc = lsm_listing_read(dir, l);
    return rc != KV_OK ? rc : status;
}

/* The key range of a table as text: "a"@5 .. "k"@9. */
static void tools_range(const vfile *f, char *out, size_t cap)
{
    char a[100], b[100];
    escape_bytes(a, sizeof a, f->smallest, f->smallest_len - IKEY_TRAILER_SIZE, 20);
    escape_bytes(b, sizeof b, f->largest, f->largest_len - IKEY_TRAILER_SIZE, 20);
    snprintf(out, cap, "\"%s\"@%" PRIu64 " .. \"%s\"@%" PRIu64, a,
             ikey_seq(f->smallest, f->smallest_len), b, ikey_seq(f->largest, f->largest_len));
}

/* The level diagram of a replayed manifest. */
static void tools_levels(const manifest_state *st, kv_line_fn line, void *ctx)
{
    for (int level = 0; level < VERSION_LEVELS; level++) {
        if (st->v->nfiles[level] == 0)
            continue;
        log_report_line(line, ctx, "L%d: %zu table%s, %" PRIu64 " bytes", level,
                        st->v->nfiles[level], st->v->nfiles[level] == 1 ? "" : "s",
                        st->v->level_bytes[level]);
        for (size_t i = 0; i < st->v->nfiles[level]; i++) {
            const vfile *e = st->v->files[level][i];
            char range[260];
            tools_range(e, range, sizeof range);
            log_report_line(line, ctx, "  %06" PRIu64 ".tbl  %10" PRIu64 " bytes  %8" PRIu64
                            " entries  %s", e->number, e->file_bytes, e->entries, range);
        }
    }
}

static int tools_named(const manifest_state *st, uint64_t number)
{
    for (int level = 0; level < VERSION_LEVELS; level++)
        for (size_t i = 0; i < st->v->nfiles[level]; i++)
            if (st->v->files[level][i]->number == number)
                return 1;
    return 0;
}

static int tools_listed(const lsm_listing *l, uint64_t number)
{
    for (size_t i = 0; i < l->nothers; i++) {
        uint64_t n = 0;
        if (level_file_parse(l->others[i], &n) == LEVEL_FILE_TABLE && n == number)
            return 1;
    }
    return 0;
}

/* ---- the logs -------------------------------------------------------------- */

static int tools_check_log(tools_ctx *t, const lsm_listing *l, size_t i, uint64_t log_seq)
{
    char name[LSM_NAME_MAX];
    lsm_wal_name(name, l->wals[i].start);
    if (i + 1 < l->nwals && l->wals[i + 1].start - 1 <= log_seq) {
        log_report_line(t->line, t->ctx, "%s: every write in it is in the tables (up to %"
                        PRIu64 "); kv_open removes it unread", name, log_seq);
        return KV_OK;
    }
    int last = i + 1 == l->nwals;
    lsm_wal *w = NULL;
    lsm_wal_scan s;
    int rc = lsm_wal_open(t->dir, l->wals[i].start, IO_READ, &w);
    if (rc == KV_OK)
        rc = lsm_wal_scan_file(w->file, w->size, w->start, NULL, NULL, &s);
    uint64_t size = w ? w->size : 0;
    lsm_wal_free(w);
    if (rc != KV_OK)
        return rc;
    t->bytes += size;
    t->records += s.records;
    lsm_wal_verdict v;
    lsm_wal_judge(size, &s, last, 0, &v);
    log_report_line(t->line, t->ctx, "%s: %" PRIu64 " bytes, %" PRIu64 " records (up to "
                    "sequence %" PRIu64 ")%s: %s", name, size, s.records, s.last_seq,
                    s.sealed ? ", sealed" : "",
                    v.action == LSM_WAL_KEEP ? "ok" : v.action == LSM_WAL_CUT ? "torn"
                                                                              : "CORRUPT");
    if (v.action == LSM_WAL_KEEP && v.spare > 0)
        log_report_line(t->line, t->ctx, "%s: then %" PRIu64 " zero bytes, room the log had "
                        "grown into (not damage; the next kv_open that may write trims them)",
                        name, v.spare);
    if (v.action == LSM_WAL_KEEP)
        return KV_OK;
    log_report_line(t->line, t->ctx, "%s: %s%s", name,
                    v.action == LSM_WAL_CUT ? "" : "CORRUPT: kv_open refuses the database: ",
                    v.text);
    return v.action == LSM_WAL_CUT ? KV_CHECK_WILL_CUT : KV_ERR_CORRUPT;
}

static int tools_dump_op(void *ctx, size_t i, const batch_op *op)
{
    tools_ctx *t = ctx;
    char k[140];
    escape_bytes(k, sizeof k, op->key, op->klen, 32);
    log_report_line(t->line, t->ctx, "  seq %" PRIu64 ": %s \"%s\"%s%zu", t->records + i,
                    op->is_delete ? "del" : "put", k, op->is_delete ? "" : " value bytes ",
                    op->is_delete ? (size_t)0 : op->vlen);
    return 0;
}

static int tools_dump_record(void *ctx, const lsm_wal_record *r, uint64_t offset, uint64_t end)
{
    (void)end;
    tools_ctx *t = ctx;
    const char *why = NULL;
    log_report_line(t->line, t->ctx, " record at %" PRIu64 ": %zu op%s from sequence %" PRIu64,
                    offset, r->count, r->count == 1 ? "" : "s", r->seq);
    t->records = r->seq;
    return wal_batch_decode(r->batch, r->batch_end, tools_dump_op, t, NULL, &why);
}

static int tools_dump_log(tools_ctx *t, uint64_t start)
{
    char name[LSM_NAME_MAX];
    lsm_wal_name(name, start);
    lsm_wal *w = NULL;
    lsm_wal_scan s;
    int rc = lsm_wal_open(t->dir, start, IO_READ, &w);
    if (rc == KV_OK) {
        log_report_line(t->line, t->ctx, "# %s: %" PRIu64 " bytes", name, w->size);
        rc = lsm_wal_scan_file(w->file, w->size, w->start, tools_dump_record, t, &s);
    }
    if (rc == KV_OK && s.damaged)
        log_report_line(t->line, t->ctx, "# %s: damaged at %" PRIu64 ": %s", name, s.bad,
                        s.why_text);
    lsm_wal_free(w);
    return rc == KV_OK && s.damaged ? KV_ERR_CORRUPT : rc;
}

/* ---- kv check ----------------------------------------------------------------- */

int kv_check(const char *dir, kv_line_fn line, void *ctx)
{
    lsm_listing l;
    int status = tools_open("kv_check", dir, line, ctx, &l);
    if (status != KV_OK && status != KV_ERR_CORRUPT) {
        lsm_listing_free(&l);
        return status;
    }
    tools_ctx t = {.dir = dir, .line = line, .ctx = ctx};
    if (tools_empty(&l)) {
        log_report_line(line, ctx, "%s: no manifest, no table, no log: an empty database",
                        dir);
        lsm_listing_free(&l);
        return status;
    }
    manifest_state st;
    int rc = manifest_recover(dir, 0, &st);
    size_t tables = 0;
    if (rc != KV_OK) {
        log_report_line(line, ctx, "CORRUPT: kv_open refuses the database: %s", kv_errmsg());
        status = tools_worse(status, rc);
    } else {
        log_report_line(line, ctx, "MANIFEST-%06" PRIu64 ": %" PRIu64 " edits, log_seq %"
                        PRIu64 ", next file %" PRIu64 "%s", st.number, st.records,
                        st.log_seq, st.next_file, st.torn ? ", a torn last edit (kv_open "
                        "drops it: it was never acknowledged)" : ": ok");
        if (st.torn)
            status = tools_worse(status, KV_CHECK_WILL_CUT);
        for (int level = 0; level < VERSION_LEVELS; level++)
            for (size_t i = 0; i < st.v->nfiles[level]; i++) {
                char name[LEVEL_NAME_MAX];
                level_table_name(name, st.v->files[level][i]->number);
                tables++;
                if (!tools_listed(&l, st.v->files[level][i]->number)) {
                    log_report_line(line, ctx, "%s: CORRUPT: missing, but the manifest "
                                    "holds it at level %d", name, level);
                    status = tools_worse(status, KV_ERR_CORRUPT);
                    continue;
                }
                char *path = io_join(dir, name);
                rc = path ? table_check(path, name, line, ctx) : KV_ERR_NOMEM;
                free(path);
                status = tools_worse(status, rc);
            }
        for (size_t i = 0; i < l.nwals; i++)
            status = tools_worse(status, tools_check_log(&t, &l, i, st.log_seq));
        int owed = lsm_wal_check_owed(dir, l.wals, l.nwals, st.log_seq);
        if (owed != KV_OK) {
            log_report_line(line, ctx, "CORRUPT: kv_open refuses the database: %s",
                            kv_errmsg());
            status = tools_worse(status, owed);
        }
    }
    for (size_t i = 0; i < l.nothers; i++) {
        uint64_t n = 0;
        int kind = level_file_parse(l.others[i], &n);
        if (kind == LEVEL_FILE_TABLE && rc == KV_OK && !tools_named(&st, n))
            log_report_line(line, ctx, "%s: not in the manifest (an edit that never became "
                            "durable, or a deletion cut short); kv_open removes it",
                            l.others[i]);
        else if (kind == LEVEL_FILE_MANIFEST && rc == KV_OK && n != st.number)
            log_report_line(line, ctx, "%s: not the live manifest; kv_open removes it",
                            l.others[i]);
        else if (kind == LEVEL_FILE_TMP)
            log_report_line(line, ctx, "%s: an unfinished file; kv_open removes it",
                            l.others[i]);
        else if (kind == LEVEL_FILE_OTHER)
            log_report_line(line, ctx, "%s: not a file of stage %s; ignored", l.others[i],
                            kv_stage());
    }
    for (size_t i = 0; i < l.ntmps; i++)
        log_report_line(line, ctx, "%s: an unfinished file; kv_open removes it", l.tmps[i]);
    log_report_line(line, ctx, "total: %zu tables, %zu logs (%" PRIu64 " bytes, %" PRIu64
                    " records): %s", tables, l.nwals, t.bytes, t.records,
                    status == KV_OK ? "ok"
                    : status == KV_CHECK_WILL_CUT ? "kv_open will cut a torn tail"
                                                  : "DAMAGED");
    manifest_state_free(&st);
    lsm_listing_free(&l);
    if (status == KV_ERR_CORRUPT)
        kv_error(KV_ERR_CORRUPT, "%s: damage found (kv check lists it)", dir);
    return status;
}

/* ---- kv dump ------------------------------------------------------------------- */

static int tools_dump_edit(void *ctx, const version_edit *e, uint64_t offset)
{
    tools_ctx *t = ctx;
    log_report_line(t->line, t->ctx, " edit at %" PRIu64 ":", offset);
    return version_edit_describe(e, "   ", t->line, t->ctx);
}

static int tools_dump_manifest(tools_ctx *t, uint64_t number)
{
    char name[MANIFEST_NAME_MAX];
    manifest_file_name(name, number);
    char *path = io_join(t->dir, name);
    io_file *f = NULL;
    uint64_t size = 0;
    int rc = path ? io_open(path, IO_READ, &f) : KV_ERR_NOMEM;
    if (rc == KV_OK)
        rc = io_size(f, &size);
    if (rc == KV_OK) {
        log_report_line(t->line, t->ctx, "# %s: %" PRIu64 " bytes", name, size);
        wal_reader r;
        manifest_scan_info info;
        wal_reader_init_file(&r, f, size < MANIFEST_START ? size : MANIFEST_START, size);
        rc = manifest_scan(&r, size, path, tools_dump_edit, t, &info);
        wal_reader_free(&r);
        if (rc == KV_OK && info.torn)
            log_report_line(t->line, t->ctx, "# %s: a torn last edit at %" PRIu64 ": %s", name,
                            info.end, info.why);
    }
    io_close(f);
    free(path);
    return rc;
}

int kv_dump(const char *dir, kv_line_fn line, void *ctx)
{
    return kv_dump_with(dir, 0, line, ctx);
}

/* flags: KV_DUMP_FRAMES is not shown (stage 03's dump has the framing). */
int kv_dump_with(const char *dir, unsigned flags, kv_line_fn line, void *ctx)
{
    (void)flags;
    lsm_listing l;
    int status = tools_open("kv_dump", dir, line, ctx, &l);
    if (status != KV_OK && status != KV_ERR_CORRUPT) {
        lsm_listing_free(&l);
        return status;
    }
    tools_ctx t = {.dir = dir, .line = line, .ctx = ctx};
    if (tools_empty(&l)) {
        log_report_line(line, ctx, "# %s: no manifest, no tables and no logs: an empty "
                        "database", dir);
        lsm_listing_free(&l);
        return status;
    }
    manifest_state st;
    int rc = manifest_recover(dir, 0, &st);
    if (rc == KV_OK)
        rc = tools_dump_manifest(&t, st.number);
    if (rc == KV_OK) {
        log_report_line(line, ctx, "# the version (MANIFEST-%06" PRIu64 "): log_seq %" PRIu64
                        ", next file %" PRIu64, st.number, st.log_seq, st.next_file);
        tools_levels(&st, line, ctx);
        for (int level = 0; level < VERSION_LEVELS; level++)
            for (size_t i = 0; i < st.v->nfiles[level]; i++) {
                char name[LEVEL_NAME_MAX];
                level_table_name(name, st.v->files[level][i]->number);
                char *path = io_join(dir, name);
                log_report_line(line, ctx, "# %s (L%d)", name, level);
                int r = path ? table_dump(path, name, line, ctx) : KV_ERR_NOMEM;
                free(path);
                status = tools_worse(status, r);
            }
    } else {
        log_report_line(line, ctx, "# %s", kv_errmsg());
    }
    status = tools_worse(status, rc);
    for (size_t i = 0; i < l.nwals; i++)
        status = tools_worse(status, tools_dump_log(&t, l.wals[i].start));
    manifest_state_free(&st);
    lsm_listing_free(&l);
    return status;
}
