/*
 * flat_set_tools.c: kv_check and kv_dump for stage 04, over a closed directory.
 *
 * kv_check verifies every table whole (table_check: every checksum, the
 * order of every key, every count) and reads every log the way kv_open
 * does, then says what kv_open will do with it, from the very verdict
 * kv_open acts on (lsm_wal_judge): keep it, cut its torn tail, or refuse
 * the database.  Files kv_open removes unread (obsolete tables, logs whose
 * writes are all in tables, temporary files: lsm_files.h) are named as
 * such and not judged.  kv_dump prints every table (table_dump: each
 * entry's offset, key, sequence, type) and every log record with its
 * sequence numbers and ops (one log's check and dump: lsm_wal_tools.c),
 * and both read STATS, the totals kept across sessions (stats_file.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db_identity.h"
#include "error.h"
#include "log_report.h"
#include "lsm_files.h"
#include "lsm_wal.h"
#include "offline.h"
#include "stats_file.h"
#include "table.h"
#include "table_set.h"
#include "value_store_tools.h"

/* The directory's listing, once it is known to be this stage's: KV_OK, or
 * KV_ERR_CORRUPT for a damaged IDENTITY (the tool goes on), or an error
 * (nothing to free). */
static int tools_open(const char *call, const char *dir, kv_line_fn line, void *ctx,
                      lsm_listing *l)
{
    memset(l, 0, sizeof *l);
    int rc = offline_dir_check(call, dir);
    int status = rc == KV_OK ? db_identity_check(dir, kv_stage(), table_set_format(), line, ctx) : rc;
    if (status != KV_OK && status != KV_ERR_CORRUPT)
        return status;
    rc = lsm_listing_read(dir, l);
    return rc != KV_OK ? rc : status;
}

/* ---- kv check ----------------------------------------------------------- */

static int check_table(const char *dir, const lsm_listed_table *lt, kv_line_fn line, void *ctx,
                       size_t *tables)
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
    (*tables)++;
    if (rc == KV_ERR_CORRUPT)
        log_report_line(line, ctx, "%s: kv repair rewrites it with every entry it can read",
                        name);
    return rc;
}

/* The names that are not the stage's: kv repair's lost/ folder, others. */
static void check_others(const lsm_listing *l, kv_line_fn line, void *ctx)
{
    for (size_t i = 0; i < l->nothers; i++)
        if (stats_file_is_named(l->others[i]) || value_store_is_named(l->others[i]))
            continue; /* stats_file_check's, value_store_check's */
        else if (offline_is_lost_dir(l->others[i]))
            log_report_line(line, ctx, "%s/: what kv repair set aside; not part of the "
                            "database", l->others[i]);
        else
            log_report_line(line, ctx, "%s: not a file of stage %s; ignored", l->others[i],
                            kv_stage());
}

int kv_check(const char *dir, kv_line_fn line, void *ctx)
{
    lsm_listing l;
    int status = tools_open("kv_check", dir, line, ctx, &l);
    if (status != KV_OK && status != KV_ERR_CORRUPT)
        return status;
    if (l.overlap) {
        log_report_line(line, ctx, "CORRUPT: tables %" PRIu64 "-%" PRIu64 " and %" PRIu64 "-%"
                        PRIu64 " hold overlapping ranges of writes: kv_open refuses the "
                        "database", l.overlap_a[0], l.overlap_a[1], l.overlap_b[0],
                        l.overlap_b[1]);
        status = KV_ERR_CORRUPT;
    }
    size_t tables = 0;
    for (size_t i = 0; i < l.ntables; i++)
        status = offline_worse(status, check_table(dir, &l.tables[i], line, ctx, &tables));
    lsm_wal_check_totals t = {0};
    for (size_t i = 0; i < l.nwals; i++) {
        lsm_wal_check_args a = {.covered = l.wals[i].covered, .last = i + 1 == l.nwals,
                                .in_tables = l.max_hi, .line = line, .ctx = ctx};
        status = offline_worse(status, lsm_wal_check(dir, l.wals[i].start, &a, &t));
    }
    int owed = lsm_wal_check_owed(dir, l.wals, l.nwals, l.max_hi);
    if (owed != KV_OK) {
        log_report_line(line, ctx, "CORRUPT: kv_open refuses the database: %s", kv_errmsg());
        status = offline_worse(status, owed);
    }
    for (size_t i = 0; i < l.ntmps; i++)
        log_report_line(line, ctx, "%s: an unfinished file (a flush, kv_compact or kv_repair "
                        "was interrupted); kv_open removes it", l.tmps[i]);
    status = offline_worse(status, stats_file_check(dir, line, ctx));
    status = offline_worse(status, value_store_check(dir, line, ctx));
    check_others(&l, line, ctx);
    log_report_line(line, ctx, "total: %zu tables, %zu logs (%" PRIu64 " bytes, %" PRIu64
                    " records): %s", tables, t.logs, t.bytes, t.records,
                    offline_verdict(status));
    lsm_listing_free(&l);
    return offline_finish(dir, status);
}

/* ---- kv dump -------------------------------------------------------------- */

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
    int status = tools_open("kv_dump", dir, line, ctx, &l);
    if (status != KV_OK && status != KV_ERR_CORRUPT)
        return status;
    for (size_t i = l.ntables; i-- > 0;) { /* oldest first, as they were written */
        char name[LSM_NAME_MAX];
        lsm_table_name(name, l.tables[i].lo, l.tables[i].hi, 0);
        if (l.tables[i].obsolete)
            log_report_line(line, ctx, "# %s: obsolete (kv_open removes it)", name);
        char *path = io_join(dir, name);
        int rc = path ? table_dump(path, name, line, ctx) : KV_ERR_NOMEM;
        free(path);
        status = offline_worse(status, rc);
    }
    for (size_t i = 0; i < l.nwals; i++)
        status = offline_worse(status, lsm_wal_dump(dir, l.wals[i].start, line, ctx));
    if (l.ntables == 0 && l.nwals == 0)
        log_report_line(line, ctx, "# %s: no tables and no logs: an empty database", dir);
    status = offline_worse(status, stats_file_dump(dir, line, ctx));
    status = offline_worse(status, value_store_dump(dir, line, ctx));
    lsm_listing_free(&l);
    return status;
}
