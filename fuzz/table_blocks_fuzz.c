/*
 * table_blocks_fuzz.c: fuzz harness for the blocks of a table of format
 * v2 (stage 05's table_v2_format.h, version 1; stage 09's parted_format.h,
 * version 2: an index and filters cut into partitions under a top-level
 * index), every checksum made right, so that a mutation inside a block
 * reaches the block's decoder instead of stopping at its crc32c.
 *
 * The input is a table file.  The harness copies it and walks it as a
 * reader does, making right (table_blocks_walk) the checksum of every
 * stored block a handle it can read names: the metaindex's entries (the
 * properties, version 1's filter), the index (version 2: the top level,
 * then each partition, index and filter), every data block an index entry
 * names; then the footer's and the file header's.  Then it reads the file
 * (in memory, common/io_mem.h) as the engine does:
 *   - table_open, a scan forward and one backward, a lookup of keys the
 *     scan returned (the first and last keys of each partition, the last
 *     keys of the data blocks and other keys, up to 32 of each but the
 *     first, evenly spread, and the last; table_get: its filter, or its
 *     filter partition and index partition, then its data block: with a
 *     block cache full after one block, lz4 blocks are searched by steps),
 *     for each of the evenly spread ones the filter asked
 *     (table_inspect_filter_says_absent) and a lookup of a key just after
 *     it (absent, or the next one); then kv check where a read
 *     disagreed; and on one input in four (by its crc32c; every input in
 *     the replays), kv_inspect's parts, then kv check (on half of those
 *     inputs) or kv dump (the other half; both in the replays);
 * and checks: open, scans, lookups, check and dump fail only with
 * KV_ERR_CORRUPT; if the scan forward reads every entry, the backward one
 * reads the same in reverse; when the scan's keys are internal keys that
 * ascend, no more than the properties count, and the properties' smallest
 * and largest are the first and last, each lookup finds what the scan
 * found; and a table where any of that fails (a read believes a block its
 * checksum vouches for: an entry that is not an internal key is for kv
 * check to find), or a lookup does not find what the scan found, or a
 * filter rules out a key the scan found, fails kv check.  ASan and UBSan catch a read
 * outside the bytes.
 *
 * The file header's checksum as the input holds it (bytes 12-15, which
 * the harness writes again) picks how the I/O layer serves the file: the
 * right one (every table a stage writes) with the file mapped; any other
 * through io_fault.h, which maps nothing (every block read with a
 * positioned read), the difference's low byte N the number of the I/O call
 * that fails with EIO (0: none), once, or from then on if its next bit is
 * set; then check or dump runs too (by the input's crc32c; both in the
 * replays), and a call may also fail with
 * KV_ERR_IO once a call failed, always with a message, and the reading
 * stops comparing at that failure (fuzz/regressions/table_blocks/
 * *-io-call-N-fails, *-unmapped).
 *
 * Then, for one input in sixteen (fuzz_dbfile_sampled), the table with its
 * checksums made right is the only table of a database of the stage
 * (fuzz_dbfile_table_name) through the whole engine and kv_repair
 * (fuzz_dbfile.h): a table kv check calls damaged is rewritten with what
 * its salvage reads (table_v2_salvage.c in stage 05; in stage 09
 * parted_salvage.c, the data blocks its index partitions name, then format
 * v2's salvage), and the repaired database must open strictly and check
 * clean.
 *
 * A mutator of its own (LLVMFuzzerCustomMutator) changes one block at a
 * time, a kind of block picked first, so that the few blocks of a kind
 * (the top level, the filters) change as often as the many data blocks.
 *
 * It is in FUZZ_05-blocks and FUZZ_09-cache (their stage.mk); seeds are the
 * tables of scripts/fuzz_seeds.sh (stage 09: tables of partitions, with
 * and without filters, and of version 1).  docs/fuzzing.md says how to run
 * it. *
 * The harness is six files (FUZZ_PARTS_table_blocks in the Makefile), one
 * idea each: this one, the entry and the walk that makes every checksum
 * right; table_blocks_fuzz_model.c, the table as the harness's own walk of
 * its bytes reads it (the oracle); table_blocks_fuzz_read.c, the table as
 * the engine reads it, checked against the oracle; table_blocks_fuzz_alloc.c,
 * the reading again with each allocation refused; table_blocks_fuzz_mutate.c,
 * the mutator; table_blocks_fuzz.h, what they share.
 */
#include <limits.h>
#include <lz4.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "block_hash.h"
#include "bloom.h"
#include "crc32c.h"
#include "error.h"
#include "file_header.h"
#include "fuzz_dbfile.h"
#include "internal_key.h"
#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"
#include "table.h"
#include "table_blocks_fuzz.h"
#include "table_inspect.h"
#include "table_v2_format.h"

#include "../tests/alloc/alloc_wrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void table_blocks_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "table_blocks fuzz invariant broken: %s (%s)\n", what, kv_errmsg());
        abort();
    }
}

/* Whether io_fault.h is installed for this input (table_blocks_faults). */
int table_blocks_fault_armed;

/* Whether the I/O layer has failed a call of this input. */
static int table_blocks_faulted(void)
{
    return table_blocks_fault_armed && io_fault_failures() > 0;
}

/* Whether rc is what a reading of the table may answer: KV_OK, or
 * KV_ERR_CORRUPT, or KV_ERR_IO once the I/O layer failed a call; an error
 * with a message (cleared before each call: table_blocks_call). */
int table_blocks_rc(int rc)
{
    if (rc == KV_OK)
        return 1;
    return (rc == KV_ERR_CORRUPT || (rc == KV_ERR_IO && table_blocks_faulted())) &&
           kv_errmsg()[0] != '\0';
}

/* ---- checksums made right ------------------------------------------------------ */

/* Whether the stored block h (trailer included) lies in [lo, hi). */
int table_blocks_inside(table_v2_handle h, uint64_t lo, uint64_t hi)
{
    return h.offset >= lo && h.offset < hi && hi - h.offset >= TABLE_V2_TRAILER &&
           hi - h.offset - TABLE_V2_TRAILER >= h.size;
}

/* The stored block h of kind `kind` of file f, if it lies in [lo, hi):
 * fixed or noted as w says; then, if it is stored raw, its contents as a
 * block in *b (returns 1). */
static int table_blocks_visit(table_blocks_walker *w, uint8_t *f, int kind, table_v2_handle h,
                              uint64_t lo, uint64_t hi, block *b)
{
    if (!table_blocks_inside(h, lo, hi))
        return 0;
    uint8_t *p = f + h.offset, *tr = p + h.size;
    if (w->fix) {
        coding_put_u32(tr + 5, crc32c_extend(crc32c_value(p, h.size), tr, 5));
    } else if (h.size > 0) {
        if (w->nseen[kind] == w->cap[kind]) {
            w->cap[kind] = w->cap[kind] ? 2 * w->cap[kind] : 16;
            w->seen[kind] = realloc(w->seen[kind], w->cap[kind] * sizeof *w->seen[kind]);
            table_blocks_check(w->seen[kind] != NULL, "allocate");
        }
        w->seen[kind][w->nseen[kind]++] = h;
    }
    return b != NULL && tr[0] == TABLE_V2_RAW && block_init(b, p, h.size) == NULL;
}

/* The handles in an index entry's value: up to two (version 2's top
 * level: an index partition and a filter partition). */
int table_blocks_handles(const block_iter *it, table_v2_handle h[2])
{
    const uint8_t *p = it->value, *end = it->value + it->value_len;
    int n = 0;
    while (n < 2 && p != NULL && p < end)
        if ((p = table_v2_handle_decode(p, end, &h[n])) != NULL)
            n++;
    return n;
}

/* Visits every data block the index block b names. */
static void table_blocks_walk_data(table_blocks_walker *w, uint8_t *f, const block *b,
                                   uint64_t d)
{
    block_iter it = {0};
    block_iter_init(&it, b, TABLE_V2_IKEY_MIN);
    for (block_iter_seek_first(&it); it.valid; block_iter_next(&it)) {
        table_v2_handle h[2];
        if (table_blocks_handles(&it, h) >= 1)
            table_blocks_visit(w, f, TB_DATA, h[0], TABLE_V2_DATA_AT, d, NULL);
    }
    block_iter_free(&it);
}

/* Walks the file f of size bytes as a reader does, visiting every stored
 * block a handle it can read names: the metaindex and its entries (the
 * properties, version 1's filter), the index (version 2: the top level,
 * then each partition, index and filter), every data block an index
 * entry names.  Fixing, it then makes the footer's and the file header's
 * checksums right. */
void table_blocks_walk(table_blocks_walker *w, uint8_t *f, size_t size)
{
    if (size < FILE_HEADER_SIZE + TABLE_V2_FOOTER)
        return;
    uint32_t version = coding_get_u32(f + 8);
    uint8_t *foot = f + size - TABLE_V2_FOOTER;
    uint64_t meta_end = size - TABLE_V2_FOOTER, d = coding_get_u64(foot);
    table_v2_handle index = {.offset = coding_get_u64(foot + 8),
                             .size = coding_get_u32(foot + 16)};
    table_v2_handle metaindex = {.offset = coding_get_u64(foot + 20),
                                 .size = coding_get_u32(foot + 28)};
    if (d <= meta_end) {
        block b;
        if (table_blocks_visit(w, f, TB_META, metaindex, d, meta_end, &b)) {
            block_iter it = {0};
            block_iter_init(&it, &b, 1);
            for (block_iter_seek_first(&it); it.valid; block_iter_next(&it)) {
                table_v2_handle h[2];
                int is_filter = it.key_len == strlen(TABLE_V2_META_FILTER) &&
                                memcmp(it.key, TABLE_V2_META_FILTER, it.key_len) == 0;
                if (table_blocks_handles(&it, h) >= 1)
                    table_blocks_visit(w, f, is_filter ? TB_FILTER : TB_META, h[0], d,
                                       meta_end, NULL);
            }
            block_iter_free(&it);
        }
        if (table_blocks_visit(w, f, version != TABLE_BLOCKS_PARTED ? TB_INDEX : TB_TOP, index,
                               d, meta_end, &b)) {
            if (version != TABLE_BLOCKS_PARTED) {
                table_blocks_walk_data(w, f, &b, d);
            } else {
                block_iter top = {0};
                block_iter_init(&top, &b, TABLE_V2_IKEY_MIN);
                for (block_iter_seek_first(&top); top.valid; block_iter_next(&top)) {
                    table_v2_handle h[2];
                    int n = table_blocks_handles(&top, h);
                    block part;
                    if (n >= 1 && table_blocks_visit(w, f, TB_INDEX, h[0], d, index.offset, &part))
                        table_blocks_walk_data(w, f, &part, d);
                    if (n == 2)
                        table_blocks_visit(w, f, TB_FILTER, h[1], d, index.offset, NULL);
                }
                block_iter_free(&top);
            }
        }
    }
    if (w->fix) {
        coding_put_u32(foot + 44, crc32c_value(foot, 44));
        coding_put_u32(f + 12, crc32c_value(f, 12));
    }
}

void table_blocks_repair(uint8_t *f, size_t size)
{
    table_blocks_walker w = {.fix = 1};
    table_blocks_walk(&w, f, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    table_blocks_setup(crc32c_value(data, size));
    uint8_t *f = malloc(size ? size : 1);
    table_blocks_check(f != NULL, "allocate");
    memcpy(f, data, size);
    table_blocks_repair(f, size);
    table_blocks_model m;
    table_blocks_model_read(f, size, &m);
    fuzz_dbfile_mem_reset();
    table_blocks_check(io_mem_put(table_blocks_path, f, size) == 0, "the input in memory");
    int faults = table_blocks_faults(data, f, size);
    uint32_t crc = crc32c_value(data, size);
    /* With the I/O layer failing, the tools always: kv check or kv dump
     * (by the crc32c, as below; both in the replays).  Descendants of an
     * input of this mode keep its header, so they are many. */
    int tools = faults ? (fuzz_dbfile_every() ? 2 : 1) : table_blocks_tools(crc);
    table *t = NULL;
    kv_error_clear();
    int rc = table_open(table_blocks_ctx, table_blocks_path, &t);
    table_blocks_check(table_blocks_rc(rc), "open: only KV_ERR_CORRUPT (or KV_ERR_IO where a "
                       "read failed), with a message");
    const char *disagree = NULL;
    if (rc == KV_OK) {
        disagree = table_blocks_read(t, &m, size, tools);
        table_unref(t);
    }
    table_blocks_setup_done();
    table_blocks_model_free(&m);
    /* kv check where a read disagreed (it must fail), else on half of the
     * inputs the tools read; kv dump, which walks what kv check walks, on
     * the other half (by their crc32c, so that a replay does the same);
     * both in the replays. */
    uint32_t pick = crc % 2;
    if (disagree != NULL || (tools && pick == 1) || tools == 2) {
        kv_error_clear();
        rc = table_check(table_blocks_path, "t.tbl", fuzz_dbfile_ignore_line, NULL);
        table_blocks_check(table_blocks_rc(rc), "check: only KV_ERR_CORRUPT (or KV_ERR_IO where "
                           "a read failed), with a message");
        if (disagree != NULL && rc != KV_ERR_CORRUPT && rc != KV_ERR_IO) {
            fprintf(stderr, "table_blocks fuzz: %s\n", disagree);
            table_blocks_check(0, "kv check fails a table whose reads disagree with its scan "
                               "or fail");
        }
    }
    if ((tools && pick == 0) || tools == 2) {
        kv_error_clear();
        rc = table_dump(table_blocks_path, "t.tbl", fuzz_dbfile_ignore_line, NULL);
        table_blocks_check(table_blocks_rc(rc), "dump: only KV_ERR_CORRUPT (or KV_ERR_IO where "
                           "a read failed), with a message");
    }
    if (faults) {
        io_fault_uninstall();
        table_blocks_fault_armed = 0;
    } else if (fuzz_dbfile_every() ||
               fuzz_dbfile_sampled_rarely(data, size, TABLE_BLOCKS_ALLOC_RARELY)) {
        table_blocks_alloc_faults(crc);
    }
    /* One input in sixteen: the table, its checksums made right, as a
     * database's only table, through the engine, kv check, kv dump and
     * kv repair, whose salvage reads the blocks a damaged table still
     * holds (fuzz_dbfile.h); the database the repair leaves is walked,
     * each key looked up and held to what the iterator gave (kv check and
     * kv repair look up only the values kept elsewhere: without the walk,
     * the tables the repair wrote would hardly be read by a lookup). */
    if (fuzz_dbfile_sampled(data, size)) {
        fuzz_dbfile table = {fuzz_dbfile_table_name(), f, size};
        fuzz_dbfile_digest repaired;
        fuzz_dbfile_run_files(&table, 1);
        fuzz_dbfile_repair_held(&table, 1, &repaired);
    }
    free(f);
    fuzz_dbfile_mem_done();
    return 0;
}

