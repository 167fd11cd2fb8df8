/*
 * lsm_grow_test.c: a log past its first 64 KiB takes its appends through a
 * mapping that grows the file a MiB at a time (lsm_wal.h, io.h IO_GROW).
 * A writer killed without kv_close leaves the zeros it had grown into after
 * its last record: kv_open takes them for room, not for a torn tail (even
 * with strict_recovery), and trims them; kv_check says so.  Anything else
 * at the end (bytes that are not zeros, or more zeros than a step) is still
 * a torn tail.  After a seal, they are room too (the seal vouches for
 * what is before it); after a log that is neither sealed nor the last,
 * damage.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../tests/harness.h"
#include "io.h"
#include "kv.h"
#include "lsm_test_util.h"

#define GROW_VALUES 40
#define GROW_VALUE_BYTES (64u << 10)
#define WAL1 "000000000001.log"

static char grow_value[GROW_VALUE_BYTES];

static void grow_key(char *key, int i) { snprintf(key, 17, "%016d", i); }

static void grow_put_all(kv_db *db, int from, int to)
{
    char key[17];
    for (int i = from; i < to; i++) {
        grow_key(key, i);
        memset(grow_value, 'a' + i % 26, sizeof grow_value);
        CHECK_KV(kv_put(db, key, 16, grow_value, sizeof grow_value), KV_OK);
    }
}

static void grow_expect_all(kv_db *db, int n)
{
    char key[17];
    for (int i = 0; i < n; i++) {
        grow_key(key, i);
        void *val = NULL;
        size_t len = 0;
        CHECK_KV(kv_get(db, key, 16, &val, &len), KV_OK);
        CHECK_EQ(len, GROW_VALUE_BYTES);
        CHECK(((char *)val)[0] == 'a' + i % 26 && ((char *)val)[len - 1] == 'a' + i % 26);
        kv_free(val);
    }
}

static uint64_t grow_size(const char *dir, const char *name)
{
    struct stat st;
    CHECK(stat(harness_join(dir, name), &st) == 0);
    return (uint64_t)st.st_size;
}

/* A child puts `n` values of 64 KiB (some 2.6 MB of log: more than a MiB,
 * less than a memtable) into a fresh database and is killed; returns the
 * directory. */
static const char *grow_killed_writer(int n, size_t memtable_bytes)
{
    const char *dir = lt_dir();
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        kv_options opt;
        kv_options_init(&opt);
        opt.memtable_bytes = memtable_bytes;
        kv_db *db = NULL;
        if (kv_open(dir, &opt, &db) != KV_OK)
            _exit(1);
        char key[17];
        for (int i = 0; i < n; i++) {
            grow_key(key, i);
            memset(grow_value, 'a' + i % 26, sizeof grow_value);
            if (kv_put(db, key, 16, grow_value, sizeof grow_value) != KV_OK)
                _exit(2);
        }
        raise(SIGKILL);
        _exit(3);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "the writer child did not die killed (status 0x%x)", status);
    return dir;
}

/* Where the zeros at the end of dir/name start (after its last byte that
 * is not zero). */
static uint64_t grow_zeros_from(const char *dir, const char *name)
{
    FILE *f = fopen(harness_join(dir, name), "rb");
    CHECK(f != NULL);
    uint64_t last = 0, at = 0;
    int c;
    while ((c = getc(f)) != EOF) {
        at++;
        if (c != 0)
            last = at;
    }
    fclose(f);
    return last;
}

static void grow_write_at(const char *dir, const char *name, uint64_t off, const void *p,
                          size_t n)
{
    FILE *f = fopen(harness_join(dir, name), "r+b");
    CHECK(f != NULL);
    CHECK(fseek(f, (long)off, SEEK_SET) == 0);
    CHECK(fwrite(p, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

static void log_past_a_mib_grows_and_close_trims_it(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 0, 0);
    grow_put_all(db, 0, GROW_VALUES);
    uint64_t logged = (uint64_t)lt_stat(db, "logs.bytes");
    uint64_t disk = grow_size(dir, WAL1);
    CHECK_MSG(logged > IO_GROW_STEP && disk > logged && disk <= logged + IO_GROW_STEP,
              "%llu bytes logged, %llu on disk", (unsigned long long)logged,
              (unsigned long long)disk);
    CHECK_KV(kv_close(db), KV_OK);
    CHECK_MSG(grow_size(dir, WAL1) > logged && grow_size(dir, WAL1) < disk,
              "after kv_close: %llu bytes (%llu logged before its marker)",
              (unsigned long long)grow_size(dir, WAL1), (unsigned long long)logged);
    kv_options opt;
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    grow_expect_all(db, GROW_VALUES);
    CHECK_KV(kv_close(db), KV_OK);
}

static void killed_writer_leaves_room_not_a_torn_tail(void)
{
    const char *dir = grow_killed_writer(GROW_VALUES, 0);
    uint64_t disk = grow_size(dir, WAL1), zeros = grow_zeros_from(dir, WAL1);
    CHECK_MSG(disk > zeros + 4096, "%llu bytes, zeros from %llu: the log did not grow",
              (unsigned long long)disk, (unsigned long long)zeros);
    lt_lines lines = {0};
    CHECK_KV(kv_check(dir, lt_collect, &lines), KV_OK);
    CHECK_MSG(strstr(lines.text, "zero bytes, room the log had grown into") != NULL,
              "kv_check said:\n%s", lines.text);
    kv_options opt;
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    grow_expect_all(db, GROW_VALUES);
    CHECK_EQ(lt_stat(db, "open.torn_tail_bytes_found"), 0);
    uint64_t trimmed = grow_size(dir, WAL1);
    CHECK_MSG(trimmed <= zeros + 8 && trimmed > zeros - 64 * 1024,
              "after kv_open: %llu bytes, zeros from %llu", (unsigned long long)trimmed,
              (unsigned long long)zeros);
    /* Writes go on right after the last record. */
    grow_put_all(db, GROW_VALUES, GROW_VALUES + 2);
    CHECK_KV(kv_close(db), KV_OK);
    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    grow_expect_all(db, GROW_VALUES + 2);
    CHECK_KV(kv_close(db), KV_OK);
}

/* A record cut short by the kill lies before the zeros: a torn tail. */
static void bytes_before_the_room_are_a_torn_tail(void)
{
    const char *dir = grow_killed_writer(GROW_VALUES, 0);
    uint64_t zeros = grow_zeros_from(dir, WAL1);
    static const unsigned char torn[7] = {0x5a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
    grow_write_at(dir, WAL1, zeros + 32, torn, sizeof torn);
    const char *copy = lt_copy_dir(dir);
    kv_options opt;
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "torn tail") != NULL, "kv_errmsg: %s", kv_errmsg());
    db = lt_open(copy, 0, 0);
    grow_expect_all(db, GROW_VALUES);
    CHECK(lt_stat(db, "open.torn_tail_bytes_found") > 0);
    CHECK_KV(kv_close(db), KV_OK);
}

/* More zeros than the log grows by at a time are not room it made. */
static void zeros_past_a_step_are_a_torn_tail(void)
{
    const char *dir = grow_killed_writer(GROW_VALUES, 0);
    uint64_t zeros = grow_zeros_from(dir, WAL1);
    CHECK(truncate(harness_join(dir, WAL1), (off_t)(zeros + IO_GROW_STEP + 4096)) == 0);
    kv_options opt;
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_ERR_CORRUPT);
    db = lt_open(dir, 0, 0);
    grow_expect_all(db, GROW_VALUES);
    CHECK(lt_stat(db, "open.torn_tail_bytes_found") > IO_GROW_STEP);
    CHECK_KV(kv_close(db), KV_OK);
}

/* Zeros after a seal are room too (the seal vouches for every byte before
 * it): a sealed log that is not the last one may end in them.  The same
 * zeros after a log that is neither sealed nor the last are damage.  The
 * logs are written by hand: a running database deletes a sealed log as soon
 * as its memtable is flushed, so a kill catches one only by luck. */
static void sealed_log_may_end_in_room(void)
{
    static const lt_op ops1[] = {{"a", "1"}, {"b", "2"}}, ops3[] = {{"c", "3"}};
    static const size_t first1[] = {0, 1, 2}, first3[] = {0, 1};
    static const uint64_t seqs1[] = {1, 2}, seqs3[] = {3};
    for (int sealed = 1; sealed >= 0; sealed--) {
        const char *dir = lt_empty_db();
        uint64_t size = lt_write_log(dir, 1, ops1, first1, seqs1, 2, sealed);
        CHECK(truncate(harness_join(dir, WAL1), (off_t)(size + 500000)) == 0);
        lt_write_log(dir, 3, ops3, first3, seqs3, 1, 0);
        kv_options opt;
        kv_options_init(&opt);
        opt.strict_recovery = 1;
        kv_db *db = NULL;
        if (!sealed) {
            CHECK_KV(kv_open(dir, &opt, &db), KV_ERR_CORRUPT);
            CHECK_MSG(strstr(kv_errmsg(), WAL1) != NULL, "kv_errmsg: %s", kv_errmsg());
            continue;
        }
        lt_lines lines = {0};
        CHECK_KV(kv_check(dir, lt_collect, &lines), KV_OK);
        CHECK_MSG(strstr(lines.text, WAL1 ": then 500000 zero bytes") != NULL &&
                      strstr(lines.text, ", sealed: ok") != NULL,
                  "kv_check said:\n%s", lines.text);
        CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
        lt_expect(db, "a", "1");
        lt_expect(db, "b", "2");
        lt_expect(db, "c", "3");
        CHECK_KV(kv_close(db), KV_OK);
    }
}

static const harness_test lsm_grow_tests[] = {
    HARNESS_TEST(log_past_a_mib_grows_and_close_trims_it),
    HARNESS_TEST(killed_writer_leaves_room_not_a_torn_tail),
    HARNESS_TEST(bytes_before_the_room_are_a_torn_tail),
    HARNESS_TEST(zeros_past_a_step_are_a_torn_tail),
    HARNESS_TEST(sealed_log_may_end_in_room),
};
const harness_suite lsm_grow_suite = HARNESS_SUITE("lsm_grow", lsm_grow_tests);
