/*
 * lsm_write_test.c: the write path's decision to freeze the memtable
 * (lsm_write.c, prepare): a memtable takes writes until the next group's
 * room is neither in its arena's current block nor in a new block within
 * kv_options.memtable_bytes.  So its bytes never pass that size (a check
 * of its bytes plus the group's room alone would let a new block take it
 * past, holding one group), and it is frozen only once all but about a
 * block of it is used.  And with sync = 0, the log is handed to
 * write-behind every LSM_WAL_WRITE_BEHIND_BYTES as it grows (lsm_wal.h),
 * so that the switch's sync finds little left to write; with sync = 1,
 * never (every group is synced already).
 */
#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "io.h"
#include "kv.h"
#include "lsm_test_util.h"
#include "lsm_wal.h"
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
    size_t room = memtable_entry_max(16, 100);
    /* A memtable only grows until it is frozen, so its bytes are read once
     * every 64 puts while 128 more entries could not fill it, then after
     * every put: the last reading before the switch is the largest. */
    for (int i = 0;; i++) {
        if (bytes + 128.0 * (double)room < limit && i % 64 != 0) {
            snprintf(key, sizeof key, "%016d", i);
            lt_put(db, key, val);
            continue;
        }
        char *text = NULL;
        CHECK_KV(kv_stats(db, &text), KV_OK);
        int switched = lt_stat_in(text, "session.write.memtable_switches") != 0;
        if (!switched) {
            bytes = lt_stat_in(text, "memtable.bytes");
            entries = lt_stat_in(text, "memtable.entries");
        }
        kv_free(text);
        if (switched)
            break;
        CHECK_MSG(bytes <= limit, "a memtable of %.0f bytes, more than its size", bytes);
        snprintf(key, sizeof key, "%016d", i);
        lt_put(db, key, val);
    }
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

/* ---- write-behind ------------------------------------------------------------ */

/* The POSIX backend, recording the ranges it is asked to write behind. */
static io_ops behind_ops;
static uint64_t behind_calls, behind_next;
static int behind_gap;

static int behind_record(io_file *f, uint64_t off, uint64_t len)
{
    behind_gap |= off != behind_next;
    behind_next = off + len;
    behind_calls++;
    return io_posix_ops.write_behind(f, off, len);
}

/* POSIX's open makes files that use POSIX's table: these use ours. */
static int behind_open(const char *path, int flags, io_file **f)
{
    int rc = io_posix_ops.open(path, flags, f);
    if (rc == 0)
        (*f)->ops = &behind_ops;
    return rc;
}

/* Puts 56 values of 64 KiB (some 3.7 MB of log, less than a memtable, so
 * one log takes them all) with the given sync; returns the log's bytes. */
static double put_64k_values(int sync)
{
    behind_ops = io_posix_ops;
    behind_ops.open = behind_open;
    behind_ops.write_behind = behind_record;
    behind_calls = behind_next = 0;
    behind_gap = 0;
    const io_ops *saved = io_set_ops(&behind_ops);
    kv_options opt;
    kv_options_init(&opt);
    opt.sync = sync;
    kv_db *db = NULL;
    CHECK_KV(kv_open(lt_dir(), &opt, &db), KV_OK);
    static char val[64 << 10];
    memset(val, 'w', sizeof val);
    char key[17];
    for (int i = 0; i < 56; i++) {
        snprintf(key, sizeof key, "%016d", i);
        CHECK_KV(kv_put(db, key, 16, val, sizeof val), KV_OK);
    }
    CHECK_EQ(lt_stat(db, "session.write.memtable_switches"), 0);
    double log_bytes = lt_stat(db, "logs.bytes");
    CHECK_KV(kv_close(db), KV_OK);
    io_set_ops(saved);
    return log_bytes;
}

static void log_is_written_behind_every_mib_without_sync(void)
{
    double log = put_64k_values(0);
    double lagged = log - IO_GROW_STEP; /* the last step is not handed over */
    CHECK_MSG(behind_calls == (uint64_t)(lagged / LSM_WAL_WRITE_BEHIND_BYTES),
              "%llu calls for %.0f bytes of log", (unsigned long long)behind_calls, log);
    CHECK_MSG(!behind_gap, "the ranges written behind do not follow each other from 0");
    CHECK(behind_next <= lagged && lagged - behind_next < LSM_WAL_WRITE_BEHIND_BYTES + 70000);
}

static void log_is_not_written_behind_with_sync(void)
{
    put_64k_values(1);
    CHECK_EQ(behind_calls, 0);
}

static const harness_test lsm_write_tests[] = {
    HARNESS_TEST(default_memtable_is_frozen_within_its_size),
    HARNESS_TEST(small_memtable_is_frozen_within_its_size),
    HARNESS_TEST(log_is_written_behind_every_mib_without_sync),
    HARNESS_TEST(log_is_not_written_behind_with_sync),
};
const harness_suite lsm_write_suite = HARNESS_SUITE("lsm_write", lsm_write_tests);
