/*
 * table_fuzz_faults.c: the table fuzz harness's reads of a table again
 * with the I/O layer failing a call (common/io_fault.h: the Nth call, N
 * picked by the input among the calls a run makes, once or from then on),
 * through a file cache of its own or through one crowded (one open file,
 * held by another table: every read opens the file again), and the choice
 * of those Ns for the engine's runs too.  table_fuzz.c says what an input
 * is and what it checks.
 *
 * Invariants: with a call failing, every read answers what the bytes say
 * (KV_OK, KV_ERR_CORRUPT) or, once a call failed, KV_ERR_IO with a
 * message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "error.h"
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

/* What a read under a failing disk may answer: what the bytes say (KV_OK,
 * KV_ERR_CORRUPT), or, once a call of the I/O layer failed, KV_ERR_IO,
 * with a message. */
static void table_fuzz_io_answer(int rc, const char *what)
{
    table_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT ||
                     (rc == KV_ERR_IO && io_fault_failures() > 0 && kv_errmsg()[0] != '\0'),
                     what);
}

/* A lookup of the internal key [key, key + len) in t, if it is one: its
 * answer held to table_fuzz_io_answer. */
static void table_fuzz_io_lookup(table *t, const uint8_t *key, size_t len)
{
    ikey_parsed k;
    if (!ikey_decode(key, key + len, &k) || k.user_len == 0)
        return;
    ikey_lookup lk;
    table_fuzz_check(ikey_lookup_init(&lk, k.user_key, k.user_len, k.seq) == KV_OK,
                     "lookup key");
    for (int batched = 0; batched < 2; batched++) {
        table_get_result r;
        int released = 0;
        kv_error_clear();
        int rc = batched ? table_fuzz_get_batched(t, &lk, 0, 0, &r, &released)
                         : table_get(t, &lk, &r);
        table_fuzz_io_answer(rc, "a lookup under a failing disk");
        if (rc == KV_OK)
            free(r.value);
    }
    ikey_lookup_free(&lk);
}

/* The calls of the I/O layer the crowded reads (table_fuzz_io_reads) made
 * before their lookup ahead of the scan, whose block read begins by
 * opening the file again. */
static long table_fuzz_lookup_at;

/* The table's reads (an open through positioned reads, a scan with a
 * lookup of its first keys and a seek back to its first key, the parts
 * kv_inspect shows, kv check's and kv dump's walks) on the I/O layer as it
 * is (io_fault.h, installed by the caller), each answer held to
 * table_fuzz_io_answer.  Crowded: the table is read through a file cache
 * of one file, which an iterator of another table of the same file holds
 * (file_cache.h, FC1), so that each of the table's reads not under an
 * iterator of its own opens its file again: an open the failing disk may
 * refuse in the middle of a read, a lookup or an iterator's making. */
static void table_fuzz_io_reads(int crowded)
{
    table_fuzz_crowd crowd;
    int rc;
    table_ctx *ctx = table_fuzz_crowd_in(&crowd, crowded, 0, &rc);
    table_fuzz_io_answer(rc, "an open and an iterator under a failing disk");
    table *t = NULL;
    kv_error_clear();
    rc = table_open(ctx, table_fuzz_path, &t);
    table_fuzz_io_answer(rc, "an open under a failing disk");
    iter *it = NULL;
    size_t first_len = 0;
    const uint8_t *first = t != NULL ? table_smallest(t, &first_len) : NULL;
    if (crowded && t != NULL) {
        table_fuzz_lookup_at = io_fault_calls();
        table_fuzz_io_lookup(t, first, first_len); /* its file opened again */
    }
    if (rc == KV_OK) {
        kv_error_clear();
        rc = table_iter_new(t, &it);
        table_fuzz_io_answer(rc, "an iterator under a failing disk");
    }
    if (it != NULL) {
        unsigned looked = 0;
        for (iter_seek_first(it); iter_valid(it) && looked < 4; iter_next(it), looked++)
            table_fuzz_io_lookup(t, it->key, it->key_len);
        for (; iter_valid(it); iter_next(it))
            ;
        table_fuzz_io_answer(iter_status(it), "a scan under a failing disk");
        if (first_len > 0 && iter_status(it) == KV_OK) { /* (an error stays: iterator.h) */
            kv_error_clear();
            iter_seek(it, first, first_len);
            table_fuzz_io_answer(iter_status(it), "a seek under a failing disk");
        }
        iter_free(it);
    }
    if (t != NULL) {
        kv_error_clear();
        table_fuzz_io_answer(table_inspect_parts(t, "t.tbl", fuzz_dbfile_ignore_line, NULL),
                             "kv_inspect's parts under a failing disk");
        table_unref(t);
    }
    table_fuzz_crowd_end(&crowd);
    kv_error_clear();
    table_fuzz_io_answer(table_check(table_fuzz_path, "t.tbl", fuzz_dbfile_ignore_line, NULL),
                         "check under a failing disk");
    kv_error_clear();
    table_fuzz_io_answer(table_dump(table_fuzz_path, "t.tbl", fuzz_dbfile_ignore_line, NULL),
                         "dump under a failing disk");
}

/* How many failing disks an input meets (TABLE_FUZZ_FAULTS in a replay,
 * where every input goes through the engine, one while fuzzing), and the
 * ith of them: of the `calls` calls of the I/O layer a run makes, the Nth
 * fails, N picked by the input's bytes (`pick`) and spread over them,
 * alone (a read that fails once) or with every call after it (a disk
 * gone). */
#define TABLE_FUZZ_FAULTS 6
long table_fuzz_fault_tries(void)
{
    return fuzz_dbfile_every() ? TABLE_FUZZ_FAULTS : 1;
}

void table_fuzz_fault_plan(io_fault_plan *plan, uint32_t pick, long i, long calls)
{
    uint64_t tries = (uint64_t)table_fuzz_fault_tries();
    plan->fail_at = 1 + (long)((pick + (uint64_t)i * (uint64_t)calls / tries) % (uint64_t)calls);
    plan->persistent = (int)(((pick >> 16) + (uint32_t)i) & 1);
}

/* The table's reads with one call of the I/O layer failing
 * (table_fuzz_fault_plan), as they are and crowded (table_fuzz_io_reads):
 * in a replay, the tries alternate between the two, and the second
 * crowded one fails the first call of the lookup ahead of the scan (the
 * file's opening again, in the middle of a block's read); while fuzzing,
 * the input's crc32c picks one.  What fails must say so (table_fuzz_io_reads)
 * and free what it took. */
void table_fuzz_faults(const uint8_t *data, size_t size)
{
    uint32_t pick = crc32c_value(data, size);
    long calls[2] = {0, 0};
    for (int crowded = 0; crowded < 2; crowded++) {
        if (table_fuzz_fault_tries() == 1 && (int)((pick >> 24) & 1) != crowded)
            continue;
        fuzz_faults_io_fail(0, 0);
        table_fuzz_lookup_at = -1;
        table_fuzz_io_reads(crowded);
        calls[crowded] = io_fault_calls();
        io_fault_uninstall();
    }
    long lookup_at = table_fuzz_lookup_at;
    for (long i = 0; i < table_fuzz_fault_tries(); i++) {
        int crowded = table_fuzz_fault_tries() == 1 ? (int)((pick >> 24) & 1) : (int)(i & 1);
        if (calls[crowded] == 0)
            continue;
        io_fault_plan plan = {.kinds = IO_FAULT_ALL};
        table_fuzz_fault_plan(&plan, pick, i, calls[crowded]);
        if (i == 3 && lookup_at >= 0 && lookup_at < calls[1])
            plan.fail_at = lookup_at + 1; /* the file's opening for the lookup's read */
        io_fault_install(&plan);
        table_fuzz_io_reads(crowded);
        io_fault_uninstall();
    }
    /* What the context counted of all that (kv_stats's lines, then
     * kv_inspect's). */
    table_ctx_describe(table_fuzz_cut_ctx, 0, fuzz_dbfile_ignore_line, NULL);
    table_ctx_describe(table_fuzz_cut_ctx, 1, fuzz_dbfile_ignore_line, NULL);
}
