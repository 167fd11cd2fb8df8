/*
 * lsm_write_test.c: the write path's decision to freeze the memtable
 * (lsm_write.c, prepare): a memtable takes writes until the next group's
 * room is neither in its arena's current block nor in a new block within
 * kv_options.memtable_bytes, so its blocks are used to their end and its
 * bytes never pass its size.
 */
#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "kv.h"
#include "lsm_test_util.h"
#include "memtable.h"

/* Fills a database of the given memtable size with puts of 16-byte keys
 * and 100-byte values until its first memtable is frozen; checks that the
 * frozen one held at least `min_entries` and that the memtable's bytes
 * never passed the size. */
static void fill_until_frozen(size_t memtable_bytes, double min_entries)
{
    kv_db *db = lt_open(lt_dir(), memtable_bytes, 0);
    double entries = 0, limit = lt_stat(db, "memtable.limit_bytes");
    char key[17], val[101];
    memset(val, 'v', 100);
    val[100] = '\0';
    for (int i = 0; lt_stat(db, "write.memtable_switches") == 0; i++) {
        CHECK(lt_stat(db, "memtable.bytes") <= limit);
        entries = lt_stat(db, "memtable.entries");
        snprintf(key, sizeof key, "%016d", i);
        lt_put(db, key, val);
    }
    CHECK_MSG(entries >= min_entries, "the frozen memtable held %.0f entries, fewer than %.0f",
              entries, min_entries);
    CHECK_KV(kv_close(db), KV_OK);
}

/* The default size, 4 MiB, is two huge-page blocks (memtable.c): both are
 * filled.  (Were the memtable frozen when its bytes plus a group's room
 * passed the size, as a check of the bytes alone would, the second block
 * would take one write: half the entries.) */
static void default_memtable_fills_both_of_its_blocks(void)
{
    double block_room = ARENA_HUGE_PAGE - 64 - memtable_entry_max(16, 100);
    fill_until_frozen(0, 2 * block_room / (double)memtable_entry_max(16, 100));
}

/* A small memtable of ordinary blocks (64 KiB: blocks of 4 KiB): all but
 * a group's room of its size is used. */
static void small_memtable_fills_its_size(void)
{
    size_t size = 64 << 10;
    fill_until_frozen(size, (double)(size - 4096 - 2 * memtable_entry_max(16, 100)) /
                                memtable_entry_max(16, 100));
}

static const harness_test lsm_write_tests[] = {
    HARNESS_TEST(default_memtable_fills_both_of_its_blocks),
    HARNESS_TEST(small_memtable_fills_its_size),
};
const harness_suite lsm_write_suite = HARNESS_SUITE("lsm_write", lsm_write_tests);
