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

#include "current_file.h"
#include "db_identity.h"
#include "error.h"
#include "escape.h"
#include "level_set.h"
#include "level_files.h"
#include "log_report.h"
#include "lsm_files.h"
#include "lsm_wal.h"
#include "offline.h"
#include "stats_file.h"
#include "value_store_tools.h"

typedef struct tools_ctx {
    const char *dir;
    kv_line_fn line;
    void *ctx;
} tools_ctx;

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
    int rc = offline_dir_check(call, dir);
    if (rc != KV_OK)
        return rc;
    int status = db_identity_check(dir, kv_stage(), LEVEL_DB_FORMAT, line, ctx);
    if (status != KV_OK && status != KV_ERR_CORRUPT)
        return status;
    rc = lsm_listing_read(dir, l); /* (frees what it read if it fails) */
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

/* Every log, judged as kv_open judges it (lsm_wal_check); those whose
 * writes are all at or below log_seq (known: the manifest could be read)
 * kv_open removes unread. */
static int tools_check_logs(tools_ctx *t, const lsm_listing *l, int known, uint64_t log_seq,
                            lsm_wal_check_totals *totals)
{
    int status = KV_OK;
    for (size_t i = 0; i < l->nwals; i++) {
        lsm_wal_check_args a = {
            .covered = known && i + 1 < l->nwals && l->wals[i + 1].start - 1 <= log_seq,
            .last = i + 1 == l->nwals, .in_tables = known ? log_seq : 0,
            .line = t->line, .ctx = t->ctx};
        status = offline_worse(status, lsm_wal_check(t->dir, l->wals[i].start, &a, totals));
    }
    return status;
}

/* ---- kv check ----------------------------------------------------------------- */

/* Without a manifest: every table file in the directory, verified alone
 * (which of them make up the database is the manifest's to say). */
static int tools_check_unnamed(tools_ctx *t, const lsm_listing *l, size_t *tables)
{
    int status = KV_OK;
    for (size_t i = 0; i < l->nothers; i++) {
        uint64_t n = 0;
        if (level_file_parse(l->others[i], &n) != LEVEL_FILE_TABLE)
            continue;
        char *path = io_join(t->dir, l->others[i]);
        int rc = path ? table_check(path, l->others[i], t->line, t->ctx) : KV_ERR_NOMEM;
        free(path);
        status = offline_worse(status, rc);
        (*tables)++;
    }
    return status;
}

/* The tables the manifest names: each must be there, and whole. */
static int tools_check_named(tools_ctx *t, const lsm_listing *l, const manifest_state *st,
                             size_t *tables)
{
    int status = KV_OK;
    for (int level = 0; level < VERSION_LEVELS; level++)
        for (size_t i = 0; i < st->v->nfiles[level]; i++) {
            char name[LEVEL_NAME_MAX];
            level_table_name(name, st->v->files[level][i]->number);
            (*tables)++;
            if (!tools_listed(l, st->v->files[level][i]->number)) {
                log_report_line(t->line, t->ctx, "%s: CORRUPT: missing, but the manifest "
                                "holds it at level %d (kv repair writes a manifest without "
                                "it, and says what was in it)", name, level);
                status = offline_worse(status, KV_ERR_CORRUPT);
                continue;
            }
            char *path = io_join(t->dir, name);
            int rc = path ? table_check(path, name, t->line, t->ctx) : KV_ERR_NOMEM;
            free(path);
            if (rc == KV_ERR_CORRUPT)
                log_report_line(t->line, t->ctx, "%s: kv repair rewrites it with every entry "
                                "it can read", name);
            status = offline_worse(status, rc);
        }
    return status;
}

/* What kv_open removes or ignores (known: the manifest could be read). */
static void tools_check_others(tools_ctx *t, const lsm_listing *l, int known,
                               const manifest_state *st)
{
    for (size_t i = 0; i < l->nothers; i++) {
        uint64_t n = 0;
        const char *name = l->others[i];
        int kind = level_file_parse(name, &n);
        if (stats_file_is_named(name) || value_store_is_named(name))
            continue; /* stats_file_check's, value_store_check's */
        if (kind == LEVEL_FILE_TABLE && known && !tools_named(st, n))
            log_report_line(t->line, t->ctx, "%s: not in the manifest (an edit that never "
                            "became durable, or a deletion cut short); kv_open removes it",
                            name);
        else if (kind == LEVEL_FILE_MANIFEST && known && n != st->number)
            log_report_line(t->line, t->ctx, "%s: not the live manifest; kv_open removes it",
                            name);
        else if (kind == LEVEL_FILE_TMP)
            log_report_line(t->line, t->ctx, "%s: an unfinished file; kv_open removes it",
                            name);
        else if (kind == LEVEL_FILE_OTHER && offline_is_lost_dir(name))
            log_report_line(t->line, t->ctx, "%s/: what kv repair set aside; not part of the "
                            "database", name);
        else if (kind == LEVEL_FILE_OTHER)
            log_report_line(t->line, t->ctx, "%s: not a file of stage %s; ignored", name,
                            kv_stage());
    }
    for (size_t i = 0; i < l->ntmps; i++)
        log_report_line(t->line, t->ctx, "%s: an unfinished file; kv_open removes it",
                        l->tmps[i]);
}

int kv_check(const char *dir, kv_line_fn line, void *ctx)
{
    lsm_listing l;
    offline_status status = {.rc = tools_open("kv_check", dir, line, ctx, &l)};
    if (status.rc != KV_OK && status.rc != KV_ERR_CORRUPT)
        return status.rc;
    tools_ctx t = {.dir = dir, .line = line, .ctx = ctx};
    if (tools_empty(&l)) {
        log_report_line(line, ctx, "%s: no manifest, no table, no log: an empty database",
                        dir);
        lsm_listing_free(&l);
        return status.rc;
    }
    manifest_state st;
    int rc = manifest_recover(dir, 0, &st);
    int known = rc == KV_OK;
    size_t tables = 0;
    if (!known) {
        log_report_line(line, ctx, "CORRUPT: kv_open refuses the database: %s", kv_errmsg());
        log_report_line(line, ctx, "without a manifest, which tables make up the database is "
                        "unknown: every table file is checked alone (kv repair finds the "
                        "manifest again, or writes one from the tables)");
        offline_status_add(&status, rc);
        offline_status_add(&status, tools_check_unnamed(&t, &l, &tables));
    } else {
        log_report_line(line, ctx, "MANIFEST-%06" PRIu64 ": %" PRIu64 " edits, log_seq %"
                        PRIu64 ", next file %" PRIu64 "%s", st.number, st.records,
                        st.log_seq, st.next_file, st.torn ? ", a torn last edit (kv_open "
                        "drops it: it was never acknowledged)" : ": ok");
        if (st.torn)
            offline_status_add(&status, KV_CHECK_WILL_CUT);
        offline_status_add(&status, tools_check_named(&t, &l, &st, &tables));
    }
    lsm_wal_check_totals logs = {0};
    offline_status_add(&status, tools_check_logs(&t, &l, known, st.log_seq, &logs));
    int owed = known ? lsm_wal_check_owed(dir, l.wals, l.nwals, st.log_seq) : KV_OK;
    if (owed != KV_OK) {
        log_report_line(line, ctx, "CORRUPT: kv_open refuses the database: %s", kv_errmsg());
        offline_status_add(&status, owed);
    }
    offline_status_add(&status, stats_file_check(dir, line, ctx));
    offline_status_add(&status, value_store_check(dir, line, ctx));
    tools_check_others(&t, &l, known, &st);
    log_report_line(line, ctx, "total: %zu tables%s, %zu logs (%" PRIu64 " bytes, %" PRIu64
                    " records): %s", tables, known ? "" : " in the directory (no manifest)",
                    logs.logs, logs.bytes, logs.records, offline_verdict(status.rc));
    manifest_state_free(&st);
    lsm_listing_free(&l);
    return offline_status_end(dir, &status); /* (the steps after a failure set others) */
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
    if (status != KV_OK && status != KV_ERR_CORRUPT)
        return status;
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
                status = offline_worse(status, r);
            }
    } else {
        log_report_line(line, ctx, "# %s", kv_errmsg());
    }
    status = offline_worse(status, rc);
    for (size_t i = 0; i < l.nwals; i++)
        status = offline_worse(status, lsm_wal_dump(dir, l.wals[i].start, line, ctx));
    status = offline_worse(status, stats_file_dump(dir, line, ctx));
    status = offline_worse(status, value_store_dump(dir, line, ctx));
    manifest_state_free(&st);
    lsm_listing_free(&l);
    return status;
}
