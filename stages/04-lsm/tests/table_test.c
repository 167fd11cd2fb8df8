/*
 * table_test.c: what is particular to table format v1: lookups cost about
 * 2 log2(N) positioned reads, kv check reads the whole offset array, and
 * the bytes match the worked example of docs/04-lsm.md.  What every
 * format promises (table.h): table_contract_test.c; damage, I/O failures
 * and threads: table_fault_test.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "io.h"
#include "kv.h"
#include "memtable.h"
#include "table.h"
#include "table_test_util.h"

static void lookup_reads_grow_with_log2_of_the_table(void)
{
    const char *dir = harness_tmpdir();
    /* One version per key, small values: a probe is one read of two
     * offsets and one of a head that holds the whole record, so a lookup
     * costs 2 reads per probe, and a binary search over N makes
     * floor(log2 N) or floor(log2 N) + 1 probes. */
    for (int n = 1; n <= 4096; n *= 4) {
        memtable *m = tt_sequential_memtable(n, 100);
        table_ctx *ctx = tt_ctx();
        table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
        int log2n = 0;
        while ((2 << log2n) <= n)
            log2n++;
        for (int k = 0; k < n; k += 1 + n / 50) {
            char key[32];
            size_t klen = tt_key(key, k);
            ikey_lookup lk;
            table_get_result r;
            CHECK_KV(ikey_lookup_init(&lk, key, klen, IKEY_MAX_SEQ), KV_OK);
            CHECK_KV(table_get(t, &lk, &r), KV_OK);
            CHECK_EQ(r.state, IKEY_FOUND);
            CHECK_MSG(r.reads == 2u * (unsigned)log2n || r.reads == 2u * (unsigned)log2n + 2,
                      "N=%d: %u reads", n, r.reads);
            free(r.value);
            ikey_lookup_free(&lk);
        }
        table_unref(t);
        table_ctx_free(ctx);
        memtable_unref(m);
        CHECK_KV(io_unlink(harness_join(dir, "t.tbl")), KV_OK);
    }
}

static void check_and_dump_report_intact_and_damaged_tables(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(9, 40, 2, 199);
    table_ctx *ctx = tt_ctx();
    table *t = tt_build_and_open(ctx, m, dir, "c.tbl");
    table_unref(t);
    const char *path = harness_join(dir, "c.tbl");
    tt_lines lines = {0};
    CHECK_KV(table_check(path, "c.tbl", tt_collect, &lines), KV_OK);
    CHECK(strstr(lines.text, ": ok") != NULL);
    tt_lines_clear(&lines);
    CHECK_KV(table_dump(path, "c.tbl", tt_collect, &lines), KV_OK);
    CHECK(strstr(lines.text, "        16  put seq=") != NULL ||
          strstr(lines.text, "        16  del seq=") != NULL);
    CHECK_EQ(lines.count, memtable_entries(m) + 3);
    tt_lines_clear(&lines);
    /* A flipped byte in the offset array: a lookup might never read that
     * entry, but check reads them all. */
    uint8_t *bytes;
    size_t n = tt_read_file(path, &bytes);
    size_t entry = tt_offset_array_at(bytes, n) + 8 * 3;
    bytes[entry] ^= 0x40;
    tt_write_file(path, bytes, n);
    CHECK_KV(table_check(path, "c.tbl", tt_collect, &lines), KV_ERR_CORRUPT);
    CHECK(strstr(lines.text, "CORRUPT") != NULL || strstr(lines.text, "checksum") != NULL);
    tt_lines_clear(&lines);
    CHECK_KV(table_dump(path, "c.tbl", tt_collect, &lines), KV_ERR_CORRUPT);
    tt_lines_clear(&lines);
    free(bytes);
    table_ctx_free(ctx);
    memtable_unref(m);
}

/* The table of docs/04-lsm.md's worked example, byte for byte. */
static void bytes_match_the_worked_example(void)
{
    const char *dir = harness_tmpdir();
    table_ctx *ctx = tt_ctx();
    table_builder *b;
    const char *path = harness_join(dir, "x.tbl");
    CHECK_KV(table_builder_new(ctx, path, &b), KV_OK);
    uint8_t k[16];
    ikey_encode(k, "apple", 5, 2, IKEY_PUT);
    CHECK_KV(table_builder_add(b, k, 13, (const uint8_t *)"red", 3), KV_OK);
    ikey_encode(k, "fig", 3, 3, IKEY_DELETE);
    CHECK_KV(table_builder_add(b, k, 11, NULL, 0), KV_OK);
    ikey_encode(k, "fig", 3, 1, IKEY_PUT);
    CHECK_KV(table_builder_add(b, k, 11, (const uint8_t *)"green", 5), KV_OK);
    CHECK_EQ(table_builder_file_bytes(b), 189); /* v1 knows its size exactly */
    CHECK_KV(table_builder_finish(b, NULL), KV_OK);
    tt_expect_file_hex(path, TT_WORKED_EXAMPLE_HEX);
    table_ctx_free(ctx);
}

static const harness_test table_tests[] = {
    HARNESS_TEST(lookup_reads_grow_with_log2_of_the_table),
    HARNESS_TEST(check_and_dump_report_intact_and_damaged_tables),
    HARNESS_TEST(bytes_match_the_worked_example),
};
const harness_suite table_suite = HARNESS_SUITE("table", table_tests);
