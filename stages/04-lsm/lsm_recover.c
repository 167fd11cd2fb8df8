/*
 * lsm_recover.c: what kv_open does to find the database in its directory
 * (lsm_files.h says what the names mean):
 *   1. remove temporary files and obsolete tables (F1), unless read-only;
 *   2. open every live table (its header and footer are checked);
 *   3. remove the logs whose writes are all in tables (F3), unread;
 *   4. replay the other logs, oldest first, into a fresh memtable, skipping
 *      records the tables already hold, and judge each (lsm_wal_judge: the
 *      last may lose a torn tail; the others must be whole and sealed);
 *   5. the last sequence number is the largest of the tables' upper bound,
 *      the last record replayed, and the last log's name minus one;
 *   6. writes go on in the last log, or in a new one if it is sealed.
 * Steps 3 to 6 are lsm_replay.c's.
 * Open time is proportional to the logs replayed (at most two memtables'
 * worth), not to the database: tables are only opened.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "lsm_db.h"
#include "lsm_files.h"
#include "lsm_replay.h"

/* Steps 1 and 2. */
static int lsm_recover_tables(kv_db *db, const lsm_listing *l)
{
    char name[LSM_NAME_MAX];
    int rc = KV_OK;
    if (l->overlap)
        return kv_error(KV_ERR_CORRUPT, "%s: tables %" PRIu64 "-%" PRIu64 " and %" PRIu64 "-%"
                        PRIu64 " hold overlapping ranges of writes, which neither a flush "
                        "nor kv_compact makes: the directory was changed by hand or damaged",
                        db->dir.path, l->overlap_a[0], l->overlap_a[1], l->overlap_b[0],
                        l->overlap_b[1]);
    for (size_t i = 0; rc == KV_OK && !db->opt.read_only && i < l->ntmps; i++)
        rc = lsm_recover_unlink(db, l->tmps[i], &db->open_tmps_removed);
    db->tables = malloc((l->ntables + 1) * sizeof *db->tables);
    if (rc == KV_OK && db->tables == NULL)
        rc = kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", db->dir.path);
    for (size_t i = 0; rc == KV_OK && i < l->ntables; i++) {
        const lsm_listed_table *lt = &l->tables[i];
        lsm_table_name(name, lt->lo, lt->hi, 0);
        if (lt->obsolete) {
            if (!db->opt.read_only)
                rc = lsm_recover_unlink(db, name, &db->open_tables_removed);
            continue;
        }
        char *path = db_dir_file(&db->dir, name);
        table *t = NULL;
        rc = path ? table_open(db->tctx, path, &t) : KV_ERR_NOMEM;
        free(path);
        if (rc == KV_OK)
            db->tables[db->ntables++] = (lsm_table){.t = t, .lo = lt->lo, .hi = lt->hi};
    }
    return rc;
}

int lsm_recover(kv_db *db)
{
    lsm_listing l;
    int rc = lsm_listing_read(db->dir.path, &l);
    if (rc != KV_OK)
        return rc;
    if ((rc = lsm_recover_tables(db, &l)) == KV_OK)
        rc = lsm_replay_logs(db, l.wals, l.nwals, l.max_hi);
    lsm_listing_free(&l);
    return rc;
}
