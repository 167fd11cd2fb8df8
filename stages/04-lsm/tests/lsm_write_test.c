/*
 * lsm_write_test.c: the write path's decision to freeze the memtable
 * (lsm_write.c, prepare): a memtable takes writes until the next group's
 * room is neither in its arena's current block nor in a new block within
 * kv_options.memtable_bytes.  So its bytes never pass that size (a check
 * of its bytes plus the group's room alone would let a new block take it
 * past, holding one group), and it is frozen only once all but about a
 * block of it is used.
 */
#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "kv.h"
#include "lsm_test_util.h"
#include "memtable.h"

/* Fills a database of the given memtable size (its arena's blocks are
 * `block` bytes, memtable.c) with puts of 16-byte keys and 100-byte values
 * until its first memtable is frozen; checks that the memtable's bytes
 * never passed the size and that the frozen one held every entry its size
 * has room for, but for one block and a group. */
static void fill_until_frozen(size_t memtable_bytes, size_t block)
{
    kv_db *db = lt_open(lt_dir(), memtable_bytes, 0);
    double limit = lt_stat(db, "memtable.limit_bytes"), entries = 0, bytes = 0;
    char key[17], val[101];
    memset(val, 'v', 100);
    val[100] = '\0';
    for (int i = 0; lt_stat(db, "write.memtable_switches") == 0; i++) {
        bytes = lt_stat(db, "memtable.bytes");
        CHECK_MSG(bytes <= limit, "a memtable of %.0f bytes, more than its size", bytes);
        entries = lt_stat(db, "memtable.entries");
        snprintf(key, sizeof key, "%016d", i);
        lt_put(db, key, val);
    }
    size_t room = memtable_entry_max(16, 100);
    CHECK_MSG(bytes + 64 + block + room > limit, "frozen at %.0f bytes of %.0f", bytes, limit);
    CHECK(entries >= (limit - 64 - block - room) / (double)room);
    CHECK_KV(kv_close(db), KV_OK);
}

static void default_memtable_is_frozen_within_its_size(void)
{
    fill_until_frozen(0, 65536);
}

static void small_memtable_is_frozen_within_its_size(void)
{
    fill_until_frozen(64 << 10, 4096);
}

static const harness_test lsm_write_tests[] = {
    HARNESS_TEST(default_memtable_is_frozen_within_its_size),
    HARNESS_TEST(small_memtable_is_frozen_within_its_size),
};
const harness_suite lsm_write_suite = HARNESS_SUITE("lsm_write", lsm_write_tests);
