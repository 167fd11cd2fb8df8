/*
 * flat_set_repair.c: kv_repair for stage 04 (include/kv.h), over a closed
 * database (it takes the lock, so an open one is KV_ERR_BUSY).
 *
 * The listing is the database (lsm_files.h), so each damaged file is
 * mended in place and nothing else needs to change:
 *   - every live table is read whole (table_check); a damaged one is
 *     rewritten, under its own name, with every entry that can still be
 *     read (lsm_repair_table.c); what it lost is named (the key ranges,
 *     how many entries, the sequence numbers its name gives), and so is
 *     what the loss lets show: entries of older tables in those key
 *     ranges, which may be older versions of a lost key's newest one.
 *     A table of which nothing can be read is dropped: its range of
 *     sequence numbers is then in no table, which F1 to F3 allow, and the
 *     tables it covered (obsolete: a compaction's inputs whose deletion
 *     was cut short) are live again, so they are read whole in turn;
 *   - every log kv_open would read is rewritten if it has any damage,
 *     keeping each intact record whose numbers follow the ones before it
 *     (lsm_repair_log.c).
 * Every file replaced is kept in lost/ first.  Afterwards kv_open opens
 * the database, strict_recovery too, and kv check calls it ok.  What it
 * cannot mend it refuses without changing anything: a damaged IDENTITY,
 * two tables whose ranges overlap (which one holds which writes cannot be
 * known).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "lsm_files.h"
#include "lsm_repair.h"
#include "stats_file.h"
#include "table_set.h"
#include "value_store_tools.h"

/* Rewrites table i of the listing if it is damaged. */
static int repair_one_table(repair_run *r, const lsm_listing *l, size_t i)
{
    const lsm_listed_table *lt = &l->tables[i];
    char name[LSM_NAME_MAX], seqs[64];
    lsm_table_name(name, lt->lo, lt->hi, 0);
    char *path = io_join(r->dir, name);
    int rc = path ? table_check(path, name, NULL, NULL) : KV_ERR_NOMEM;
    free(path);
    if (rc != KV_ERR_CORRUPT)
        return rc;
    snprintf(seqs, sizeof seqs, "%" PRIu64 "..%" PRIu64, lt->lo, lt->hi);
    repair_table_result res;
    rc = repair_table(r, name, seqs, 1, &res);
    /* The older tables: those after it in the listing (newest first). */
    char **older = calloc(l->ntables + 1, sizeof *older);
    size_t nolder = 0;
    if (rc == KV_OK && older == NULL)
        rc = kv_error(KV_ERR_NOMEM, "kv_repair %s: out of memory", r->dir);
    for (size_t j = i + 1; rc == KV_OK && j < l->ntables; j++) {
        if (l->tables[j].obsolete)
            continue;
        if ((older[nolder] = malloc(LSM_NAME_MAX)) == NULL) {
            rc = kv_error(KV_ERR_NOMEM, "kv_repair %s: out of memory", r->dir);
            break;
        }
        lsm_table_name(older[nolder++], l->tables[j].lo, l->tables[j].hi, 0);
    }
    if (rc == KV_OK)
        rc = repair_older(r, name, res.lost, res.nlost, older, nolder, 0);
    for (size_t j = 0; j < nolder; j++)
        free(older[j]);
    free(older);
    repair_table_result_free(&res);
    return rc;
}

/* Whether t is among checked[0, n). */
static int repair_checked(const lsm_listed_table *checked, size_t n, const lsm_listed_table *t)
{
    for (size_t i = 0; i < n; i++)
        if (checked[i].lo == t->lo && checked[i].hi == t->hi)
            return 1;
    return 0;
}

int kv_repair(const char *dir, kv_line_fn line, void *ctx)
{
    repair_run r;
    int rc = repair_start(&r, dir, table_set_format(), line, ctx);
    if (rc != KV_OK)
        return rc;
    lsm_listing l = {0};
    rc = lsm_listing_read(dir, &l);
    if (rc == KV_OK && l.overlap)
        rc = kv_error(KV_ERR_CORRUPT, "kv_repair %s: tables %" PRIu64 "-%" PRIu64 " and %"
                      PRIu64 "-%" PRIu64 " hold overlapping ranges of writes, which only "
                      "damage to their names can do: which of them holds which writes cannot "
                      "be known, and nothing was changed", dir, l.overlap_a[0], l.overlap_a[1],
                      l.overlap_b[0], l.overlap_b[1]);
    /* A table dropped whole leaves the tables it covered, obsolete and so
     * never read, live again (F1): each pass checks the live tables not
     * checked yet, on the listing as the passes before left it. */
    lsm_listed_table *checked = NULL;
    size_t nchecked = 0;
    for (int more = 1; rc == KV_OK && more;) {
        more = 0;
        for (size_t i = 0; rc == KV_OK && i < l.ntables; i++) {
            if (l.tables[i].obsolete || repair_checked(checked, nchecked, &l.tables[i]))
                continue;
            lsm_listed_table *grown = realloc(checked, (nchecked + 1) * sizeof *grown);
            if (grown == NULL) {
                rc = kv_error(KV_ERR_NOMEM, "kv_repair %s: out of memory", dir);
                break;
            }
            checked = grown;
            checked[nchecked++] = l.tables[i];
            rc = repair_one_table(&r, &l, i);
            more = 1;
        }
        if (rc == KV_OK && more) {
            lsm_listing_free(&l);
            rc = lsm_listing_read(dir, &l);
        }
        if (rc == KV_OK && more && l.overlap)
            rc = kv_error(KV_ERR_CORRUPT, "kv_repair %s: tables %" PRIu64 "-%" PRIu64 " and %"
                          PRIu64 "-%" PRIu64 ", left by a table dropped, hold overlapping "
                          "ranges of writes, which only damage to their names can do",
                          dir, l.overlap_a[0], l.overlap_a[1], l.overlap_b[0],
                          l.overlap_b[1]);
    }
    free(checked);
    for (size_t i = 0; rc == KV_OK && i < l.nwals; i++) {
        int rewritten = 0;
        if (!l.wals[i].covered)
            rc = repair_log(&r, l.wals[i].start, i + 1 < l.nwals ? l.wals[i + 1].start : 0,
                            &rewritten);
    }
    /* F4, on the listing as the repairs left it (a table dropped whole
     * lowers the bound). */
    lsm_listing_free(&l);
    if (rc == KV_OK && (rc = lsm_listing_read(dir, &l)) == KV_OK)
        rc = repair_owed_log(&r, l.wals, l.nwals, l.max_hi);
    int stats_changed = 0;
    if (rc == KV_OK)
        rc = stats_file_repair(dir, line, ctx, &stats_changed);
    if (rc == KV_OK)
        repair_say_done(&r, stats_changed ? "STATS set aside (the totals count again from "
                                            "the next open)" : NULL);
    lsm_listing_free(&l);
    repair_end(&r);
    if (rc == KV_OK) /* the values the tables point at (value_store.h) */
        rc = value_store_repair(dir, line, ctx);
    return rc;
}
