/*
 * check_ahead_test.c: a mapped table a lookup read has its other data
 * blocks checked in the background (table_v2_check_ahead.c): every
 * block's bit set without a lookup reading it (CA2), and a damaged block
 * left unchecked, for the lookup that reads it to report (CA1).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../../tests/harness.h"
#include "../../04-lsm/tests/table_test_util.h"
#include "kv.h"
#include "memtable.h"
#include "table_v2_format.h"
#include "table_v2_test_util.h"

/* Waits up to 20 s (a loaded machine runs the idle thread late) for the
 * checker to have walked `tables` tables; 1 if it has. */
static int wait_for_walks(table_ctx *ctx, double tables)
{
    struct timespec pause = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 2000; i++) {
        if (tv_stat(ctx, "session.table.checked_ahead_tables") >= tables)
            return 1;
        nanosleep(&pause, NULL);
    }
    return 0;
}

/* The blocks whose bit says checked. */
static uint32_t blocks_checked(table *t)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->kept.data_blocks; i++) {
        table_v2_handle h;
        CHECK_KV(table_v2_fences_handle(t, i, &h), KV_OK);
        n += (uint32_t)table_v2_checked_in_place(t, h);
    }
    return n;
}

static void a_table_read_once_has_every_block_checked_ahead(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(3, 3000, 1, 150);
    table_ctx *ctx = tv_ctx(4096, KV_COMPRESSION_NONE, 0);
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    CHECK(t->kept.data_blocks > 20);
    CHECK_EQ(blocks_checked(t), 0);
    CHECK_EQ(tv_stat(ctx, "session.table.checked_ahead_tables"), 0);
    char key[32];
    size_t klen = tt_key(key, 10);
    tt_expect_same(m, t, key, klen, 1u << 30); /* one lookup, one block */
    CHECK_MSG(wait_for_walks(ctx, 1), "the checker never walked the table");
    CHECK_EQ(blocks_checked(t), t->kept.data_blocks);
    CHECK(tv_stat(ctx, "session.table.checked_ahead_blocks") >= t->kept.data_blocks - 1);
    tt_expect_same_lookups(m, t, 6000); /* and they answer as before */
    table_unref(t);
    table_ctx_free(ctx);
    memtable_unref(m);
}

static void a_damaged_block_is_left_for_the_lookup_to_report(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(4, 3000, 1, 150);
    table_ctx *ctx = tv_ctx(4096, KV_COMPRESSION_NONE, 0);
    table *t = tt_build_and_open(ctx, m, dir, "t.tbl");
    table_unref(t);
    table_ctx_free(ctx);
    const char *path = harness_join(dir, "t.tbl");
    tv_file f;
    tv_file_read(path, &f);
    size_t bad = f.nblocks / 2;
    f.bytes[f.blocks[bad].offset + f.blocks[bad].stored / 2] ^= 0x40;
    tt_write_file(path, f.bytes, f.size);
    ctx = tv_ctx(4096, KV_COMPRESSION_NONE, 0);
    CHECK_KV(table_open(ctx, path, &t), KV_OK);
    char key[32];
    size_t klen = tt_key(key, 10);
    tt_expect_same(m, t, key, klen, 1u << 30);
    CHECK_MSG(wait_for_walks(ctx, 1), "the checker never walked the table");
    CHECK_EQ(blocks_checked(t), t->kept.data_blocks - 1);
    table_v2_handle h;
    CHECK_KV(table_v2_fences_handle(t, (uint32_t)bad, &h), KV_OK);
    CHECK(!table_v2_checked_in_place(t, h));
    table_unref(t);
    /* Every lookup still answers right or says the block is damaged. */
    CHECK(tt_reads_right_or_corrupt(ctx, m, path) == 1);
    table_ctx_free(ctx);
    tv_file_free(&f);
    memtable_unref(m);
}

static const harness_test check_ahead_tests[] = {
    HARNESS_TEST(a_table_read_once_has_every_block_checked_ahead),
    HARNESS_TEST(a_damaged_block_is_left_for_the_lookup_to_report),
};
const harness_suite check_ahead_suite = HARNESS_SUITE("check_ahead", check_ahead_tests);
