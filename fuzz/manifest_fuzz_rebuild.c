/*
 * manifest_fuzz_rebuild.c: the levels made again from two tables whose
 * keys overlap (level_rebuild, stages/06-leveled/level_set/tools/
 * level_rebuild.c), for the manifest harness (fuzz/manifest_fuzz.c),
 * with each of its allocations refused in turn.
 *
 * kv_repair of a directory with no manifest to use makes the levels from
 * the tables alone, and the harness runs it through the whole engine
 * (fuzz_dbfile_repair_files); there the allocations around level_rebuild
 * number in the thousands, and which of them a failing allocator refuses
 * moves whenever other code allocates differently.  Here level_rebuild
 * runs alone over the table the input's version names, written twice
 * (000001.tbl and 000002.tbl) beside the stage's IDENTITY: once with
 * nothing refused, counting its allocations (N), then N times again with
 * allocation k refused, k = 1..N: each of its allocations once, however
 * many there are.
 *
 * Held to: with nothing refused, KV_OK or KV_ERR_CORRUPT with a message;
 * KV_OK is both inputs dropped and one new table, number 3, at the last
 * level, with the inputs' keys at its ends and their entries once (the
 * same entry in both is one), and the newest write the inputs'.  With
 * allocation k refused: the same answer, or KV_ERR_NOMEM with a message
 * (KV_ERR_IO where the refused one was the in-memory disk's);
 * and, the version freed and the directory emptied, nothing is left
 * allocated.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../tests/alloc/alloc_wrap.h"
#include "db_identity.h"
#include "error.h"
#include "fuzz_dbfile.h"
#include "io_mem.h"
#include "kv.h"
#include "level_files.h"
#include "level_repair.h"
#include "level_set.h"
#include "manifest_fuzz.h"

/* Refused runs at most: far more than a rebuild of two small tables makes
 * allocations. */
#define REBUILD_RUNS_MAX 5000

static void rebuild_place(const uint8_t *table, size_t n)
{
    char id[DB_IDENTITY_MAX], name[LEVEL_NAME_MAX];
    size_t id_len = db_identity_encode(id, kv_stage(), LEVEL_DB_FORMAT);
    fuzz_dbfile_mem_reset();
    manifest_fuzz_check(io_mem_put(FUZZ_DBFILE_DIR "/IDENTITY", id, id_len) == 0,
                        "IDENTITY in memory");
    for (uint64_t number = 1; number <= 2; number++) {
        char path[64 + LEVEL_NAME_MAX];
        level_table_name(name, number);
        snprintf(path, sizeof path, "%s/%s", FUZZ_DBFILE_DIR, name);
        manifest_fuzz_check(io_mem_put(path, table, n) == 0, "a table in memory");
    }
}

/* level_rebuild over the two tables, allocation `refuse` refused (0:
 * none); *calls gets how many it made.  The directory is emptied after. */
static int rebuild_run(const uint8_t *table, size_t n, long refuse, long *calls, rversion *v)
{
    rebuild_place(table, n);
    repair_run r;
    manifest_fuzz_check(repair_start(&r, FUZZ_DBFILE_DIR, LEVEL_DB_FORMAT,
                                     fuzz_dbfile_ignore_line, NULL) == KV_OK,
                        "repair_start over the two tables");
    uint64_t numbers[2] = {1, 2};
    rlisting ls;
    memset(&ls, 0, sizeof ls);
    ls.tables = numbers;
    ls.ntables = 2;
    ls.max_number = 2;
    memset(v, 0, sizeof *v);
    kv_error_clear();
    alloc_fail_at(refuse > 0 ? refuse : LONG_MAX);
    int rc = level_rebuild(&r, &ls, v);
    *calls = alloc_calls();
    int refused = alloc_disarm();
    manifest_fuzz_check(refused == (refuse > 0), "the allocation refused is one the rebuild "
                        "makes (it makes the same ones each time)");
    manifest_fuzz_check(rc == KV_OK || kv_errmsg()[0] != '\0', "a failed rebuild says why");
    repair_end(&r);
    return rc;
}

/* What a rebuild that succeeded made of two copies of one table. */
static void rebuild_check_version(const rversion *v)
{
    manifest_fuzz_check(v->n == 3 && v->t[0].drop && v->t[1].drop && !v->t[2].drop,
                        "both inputs dropped, one new table");
    const rtable *in = &v->t[0], *out = &v->t[2];
    manifest_fuzz_check(out->number == 3 && out->level == VERSION_LEVELS - 1 &&
                            out->entries == in->entries,
                        "the new table: number 3, the last level, the inputs' entries once");
    manifest_fuzz_check(out->smallest_len == in->smallest_len &&
                            memcmp(out->smallest, in->smallest, in->smallest_len) == 0 &&
                            out->largest_len == in->largest_len &&
                            memcmp(out->largest, in->largest, in->largest_len) == 0,
                        "the new table's ends: the inputs' keys");
    manifest_fuzz_check(v->log_seq == in->max_seq && v->last_seq == in->max_seq,
                        "the newest write: the inputs'");
}

void manifest_fuzz_rebuild(const uint8_t *table, size_t n)
{
    rversion v;
    long calls = 0;
    int clean = rebuild_run(table, n, 0, &calls, &v);
    manifest_fuzz_check(clean == KV_OK || clean == KV_ERR_CORRUPT,
                        "level_rebuild: KV_OK or KV_ERR_CORRUPT");
    if (clean == KV_OK)
        rebuild_check_version(&v);
    rversion_free(&v);
    fuzz_dbfile_mem_reset();
    const long live = alloc_live();
    manifest_fuzz_check(calls < REBUILD_RUNS_MAX, "a rebuild of two small tables allocates "
                        "less than REBUILD_RUNS_MAX times");
    for (long k = 1; k <= calls; k++) {
        long made = 0;
        int rc = rebuild_run(table, n, k, &made, &v);
        manifest_fuzz_check(rc == clean || ((rc == KV_ERR_NOMEM || rc == KV_ERR_IO) &&
                                             kv_errmsg()[0] != '\0'),
                            "with an allocation refused: the answer without, or "
                            "KV_ERR_NOMEM (KV_ERR_IO: the disk in memory out of memory) "
                            "with a message");
        if (rc == KV_OK)
            rebuild_check_version(&v);
        rversion_free(&v);
        fuzz_dbfile_mem_reset();
        manifest_fuzz_check(alloc_live() == live, "nothing left allocated after a refused "
                            "allocation");
    }
}
