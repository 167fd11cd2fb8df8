/*
 * table_fuzz_engine.c: the table fuzz harness's run of a table through
 * the whole engine (one input in sixteen): the table as a database's only
 * table, with what an interrupted compaction leaves beside it, from stage
 * 06 with CURRENT and a manifest naming it, and written twice; then kv
 * check, kv dump and kv_repair, again with the I/O layer failing a call.
 * table_fuzz.c says what an input is and what it checks.
 *
 * Invariants: kv_repair keeps its promise (the repaired database opens
 * strictly and checks clean); a table whose keys do not ascend fails kv
 * check with a line naming it and a place inside it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "file_header.h"
#include "fuzz_dbfile.h"
#include "fuzz_faults.h"
#include "fuzz_formats.h"
#include "internal_key.h"
#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"
#include "lsm_files.h"
#include "lsm_wal.h"
#include "table.h"
#include "table_batch.h"
#include "table_fuzz.h"
#include "table_inspect.h"
/* From stage 06 on a manifest says which tables a database is made of
 * (stage 09 is the one of those that lists this harness). */
#if __has_include("manifest.h")
#include "current_file.h"
#include "manifest.h"
#include "version_edit.h"
#include "wal_writer.h"
#define TABLE_FUZZ_MANIFEST 1
#endif

#ifdef TABLE_FUZZ_MANIFEST
/* CURRENT and MANIFEST-000002 of a database whose only table is w's,
 * fuzz_dbfile_table_name (number 1), at level 0, as manifest_create
 * writes them (manifest.h): the file header, then one record, a snapshot
 * of the version (version_edit.h) framed as stage 03's WAL frames it;
 * every write the table holds is in tables (log_seq), and the next file
 * number is 3.  *man is the caller's to free. */
static void table_fuzz_manifest(const table_fuzz_whole *w, size_t file_bytes,
                                char current[CURRENT_MAX_BYTES], size_t *current_len,
                                uint8_t **man, size_t *man_len)
{
    version_edit e;
    version_edit_init(&e);
    version_edit_set_log_seq(&e, w->last_seq);
    version_edit_set_next_file(&e, 3);
    version_edit_set_last_seq(&e, w->last_seq);
    uint8_t *rec = NULL;
    size_t rec_len = 0;
    table_fuzz_check(version_edit_add_file(&e, 0, 1, file_bytes, w->entries, w->smallest,
                                           w->smallest_len, w->largest, w->largest_len) ==
                         KV_OK && version_edit_encode(&e, &rec, &rec_len) == KV_OK,
                     "the manifest's snapshot");
    version_edit_free(&e);
    *man = malloc(MANIFEST_START + (size_t)wal_framed_max(rec_len));
    table_fuzz_check(*man != NULL, "allocate");
    file_header_encode(*man, FILE_MAGIC_MAN06, MANIFEST_VERSION);
    *man_len = MANIFEST_START + wal_frame(*man + MANIFEST_START, MANIFEST_START, rec, rec_len);
    free(rec);
    *current_len = current_line_encode(current, 2);
}
#endif

/* The table as a database's only table, through the engine, kv check,
 * kv dump and kv repair (fuzz_dbfile.h).  Beside it, in stages 04 and 05,
 * what an interrupted compaction leaves (fuzz_dbfile_leftover_name: a
 * table it replaced, one it was writing), which an open that may write
 * must remove.  From stage 06, where kv repair makes the levels again
 * from the tables when no manifest names them, the table is also written
 * twice (one input in four of those: fuzz_dbfile_sampled_rarely), as two
 * tables whose keys overlap, which kv repair merges (level_rebuild.c): it
 * must say KV_OK exactly when it does for the table once, and the
 * database it leaves must hold the same entries. */
void table_fuzz_engine(const uint8_t *data, const uint8_t *fixed, size_t size, int whole,
                       const table_fuzz_whole *w, int disordered)
{
    fuzz_dbfile files[5] = {{fuzz_dbfile_table_name(), fixed, size}};
    size_t n = 1, leftovers = 0;
    /* Stages 04 and 05: for a table that reads whole, the log the writes
     * after the table's go to (named above them, its header alone),
     * without which kv_open refuses the directory (a crash cannot remove
     * it).  Not for another: kv_open does not read a table whole, and in
     * one whose keys are out of order (every checksum made right) a lookup
     * may miss a key a scan shows; kv check calls that damage, and
     * table_fuzz_one holds such a table's lookups to nothing.  Then the
     * leftovers. */
    char log[LSM_NAME_MAX];
    uint8_t header[FILE_HEADER_SIZE];
    if (whole && fuzz_dbfile_leftover_name(0) != NULL) {
        lsm_wal_name(log, 1000000000000ull);
        file_header_encode(header, FILE_MAGIC_LOG04, LSM_WAL_VERSION);
        files[n++] = (fuzz_dbfile){log, header, sizeof header};
    }
    for (int i = 0; fuzz_dbfile_leftover_name(i) != NULL; i++, leftovers++)
        files[n++] = (fuzz_dbfile){fuzz_dbfile_leftover_name(i), NULL, 0};
    /* From stage 06: for a table that reads whole, a manifest naming it
     * (and CURRENT naming the manifest), without which kv_open refuses
     * the directory, so that the engine reads the table as in a running
     * database (its opens, lookups, iterator, kv_inspect).  The repair
     * below goes without it: kv repair makes the levels again from the
     * tables (level_rebuild.c). */
    fuzz_dbfile run[7];
    size_t run_n = n;
    memcpy(run, files, n * sizeof *files);
#ifdef TABLE_FUZZ_MANIFEST
    char current[CURRENT_MAX_BYTES], man_name[MANIFEST_NAME_MAX];
    uint8_t *man = NULL;
    size_t current_len = 0, man_len = 0;
    if (whole) {
        table_fuzz_manifest(w, size, current, &current_len, &man, &man_len);
        run[run_n++] = (fuzz_dbfile){CURRENT_FILE_NAME, (const uint8_t *)current, current_len};
        run[run_n++] = (fuzz_dbfile){manifest_file_name(man_name, 2), man, man_len};
    }
#else
    (void)w;
#endif
    if (fuzz_dbfile_run_files(run, run_n))
        for (size_t i = n - leftovers; i < n; i++)
            table_fuzz_check(!fuzz_dbfile_exists(files[i].name),
                             "an open that may write removes what a compaction left");
#ifdef TABLE_FUZZ_MANIFEST
    free(man);
#endif
    /* A table whose keys are out of order, every record read: kv check
     * of the database names it and the place (table_fuzz_one). */
    if (disordered) {
        table_fuzz_said said = {fuzz_dbfile_table_name(), size, 0};
        table_fuzz_check(fuzz_dbfile_check_files(files, n, table_fuzz_said_line, &said) ==
                             KV_ERR_CORRUPT && said.placed,
                         "kv check names the table and the place of keys out of order");
    }
    /* The table written twice: one input in four of those through the
     * engine (each such repair costs as much as the rest of the run). */
    int twice_too = fuzz_dbfile_second_table_name() != NULL &&
                    fuzz_dbfile_sampled_rarely(data, size, 4);
    fuzz_dbfile_digest once, twice;
    int repaired = fuzz_dbfile_repair_held(files, n, twice_too ? &once : NULL);
    /* A repair that said KV_OK opened the database strictly, which removes
     * them too. */
    for (size_t i = n - leftovers; repaired && i < n; i++)
        table_fuzz_check(!fuzz_dbfile_exists(files[i].name),
                         "an open after kv_repair removes what a compaction left");
    /* kv check, kv dump and kv repair on a failing disk
     * (table_fuzz_fault_plan: one input in four of those while fuzzing,
     * each the three or two times more), which must say what failed and
     * free what they took (fuzz_dbfile_tools_faulted); then, one input
     * in 1,024 (one in four in a replay, whose cost it would triple),
     * the same three with allocations failing (fuzz_faults_alloc). */
    if (fuzz_dbfile_sampled_rarely(data, size, 4)) {
        io_fault_plan plan = {.kinds = IO_FAULT_ALL};
        long calls = fuzz_dbfile_tools_faulted(files, n, &plan);
        for (long i = 0; calls > 0 && i < table_fuzz_fault_tries(); i++) {
            table_fuzz_fault_plan(&plan, crc32c_value(data, size) >> 8, i, calls);
            fuzz_dbfile_tools_faulted(files, n, &plan);
        }
        uint32_t crc = crc32c_value(data, size);
        if (fuzz_dbfile_every() ? crc % 4 == 0 : fuzz_dbfile_sampled_rarely(data, size, 64)) {
            fuzz_faults_alloc(files, n, crc, FUZZ_FAULTS_TOOLS | FUZZ_FAULTS_REPAIR);
#ifndef TABLE_FUZZ_MANIFEST
            /* And the database read through its handles: iterators at a
             * snapshot and now, kv_stats, kv_compact (fuzz_faults_walk),
             * each allocation refused in turn: the reads of a table's
             * blocks, its cache and its files meet a NULL.  Not from
             * stage 06 on, whose compactions allocate on a thread of
             * their own (the failing allocator counts one thread's). */
            fuzz_faults_walk(files, n, crc);
#endif
        }
    }
    if (!twice_too)
        return;
    files[n++] = (fuzz_dbfile){fuzz_dbfile_second_table_name(), fixed, size};
    table_fuzz_check(fuzz_dbfile_repair_held(files, n, &twice) == repaired,
                     "kv repair of a table written twice says KV_OK when it does of it once");
    if (repaired && once.whole && twice.whole)
        table_fuzz_check(once.entries == twice.entries && once.crc == twice.crc,
                         "kv repair of a table written twice keeps the entries it keeps "
                         "of it once");
}

