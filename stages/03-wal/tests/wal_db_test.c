/*
 * wal_db_test.c: stage 03 through kv.h and its files: a failed fsync is
 * final for the handle, group commit shares fsyncs between threads, a
 * batch is never half applied, strict and tolerant recovery, damage in
 * unsynced writes is cut as a prefix, kv_repair salvages around damage.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "../../02-hash/tests/stage_util.h"
#include "alloc_fail.h"
#include "slow_io.h"
#include "coding.h"
#include "crc32c.h"
#include "io.h"
#include "io_fault.h"
#include "kv.h"
#include "segment.h"

static kv_options wal_options(int sync)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.sync = sync;
    return opt;
}

static void failed_fsync_is_final_until_reopen(void)
{
    /* A dry run counts the fsyncs up to the first put (a file keeps the
     * backend it was opened with, so the fault backend goes in first). */
    kv_options opt = wal_options(1);
    io_fault_plan plan = {.kinds = IO_FAULT_SYNC};
    io_fault_install(&plan);
    kv_db *db = OPEN(harness_join(harness_tmpdir(), "dry"), &opt);
    PUT(db, S("before"), S("1"));
    plan.fail_at = io_fault_calls() + 1;
    CLOSE(db);
    io_fault_uninstall();
    const char *dir = harness_join(harness_tmpdir(), "db");
    io_fault_install(&plan);
    db = OPEN(dir, &opt);
    PUT(db, S("before"), S("1"));
    CHECK_KV(kv_put(db, S("lost"), S("2")), KV_ERR_IO);
    CHECK(strstr(kv_errmsg(), "fsync") != NULL || strstr(kv_errmsg(), "sync") != NULL);
    /* The disk is fine again, but the handle stays failed. */
    CHECK_KV(kv_put(db, S("after"), S("3")), KV_ERR_IO);
    CHECK(strstr(kv_errmsg(), "reopen") != NULL);
    CHECK_KV(kv_delete(db, S("before")), KV_ERR_IO);
    CHECK_EQ(stage_stat(db, "write.failed"), 1);
    EXPECT(db, S("before"), S("1"));
    CHECK_KV(kv_close(db), KV_OK);
    io_fault_uninstall();
    db = OPEN(dir, &opt);
    PUT(db, S("after"), S("3"));
    EXPECT(db, S("before"), S("1"));
    CLOSE(db);
}

/* A backend whose fsync takes 2 ms, so that writers pile up behind it. */
typedef struct writer_arg {
    kv_db *db;
    int id, n, failures;
} writer_arg;

static void *writer_main(void *p)
{
    writer_arg *a = p;
    for (int i = 0; i < a->n; i++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "t%d-%d", a->id, i);
        a->failures += kv_put(a->db, key, (size_t)kl, key, (size_t)kl) != KV_OK;
    }
    return NULL;
}

static void group_commit_shares_fsyncs_between_threads(void)
{
    slow_io_install(2);
    const char *dir = harness_tmpdir();
    kv_options opt = wal_options(1);
    kv_db *db = OPEN(dir, &opt);
    enum { THREADS = 8, EACH = 25 };
    pthread_t t[THREADS];
    writer_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (writer_arg){.db = db, .id = i, .n = EACH};
        pthread_create(&t[i], NULL, writer_main, &args[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ(args[i].failures, 0);
    }
    double records = stage_stat(db, "session.wal.records"), syncs = stage_stat(db, "session.wal.syncs");
    CHECK_EQ(records, THREADS * EACH);
    CHECK_MSG(syncs < records / 2, "%g fsyncs for %g records", syncs, records);
    CHECK(stage_stat(db, "session.wal.largest_group") > 1);
    CLOSE(db);
    slow_io_uninstall();
    db = OPEN(dir, &opt);
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < EACH; j++) {
            char key[32];
            int kl = snprintf(key, sizeof key, "t%d-%d", i, j);
            EXPECT(db, key, (size_t)kl, key, (size_t)kl);
        }
    CLOSE(db);
}

/* A batch of 40 puts of 3 KiB spans four blocks; cut the log anywhere
 * inside it and the batch is all there or not at all. */
static void batch_cut_anywhere_is_all_or_nothing(void)
{
    const char *dir = harness_tmpdir();
    kv_db *db = OPEN(dir, NULL);
    PUT(db, S("first"), S("1"));
    kv_batch *b = NULL;
    CHECK_KV(kv_batch_new(&b), KV_OK);
    static char val[3072];
    for (int i = 0; i < 40; i++) {
        char key[16];
        int kl = snprintf(key, sizeof key, "b%02d", i);
        memset(val, 'a' + i % 26, sizeof val);
        CHECK_KV(kv_batch_put(b, key, (size_t)kl, val, sizeof val), KV_OK);
    }
    CHECK_KV(kv_write(db, b), KV_OK);
    kv_batch_free(b);
    CLOSE(db);
    const char *log = stage_nth_file(dir, ".log", 0);
    long long size = stage_file_size(log);
    char *saved = malloc((size_t)size);
    FILE *f = fopen(log, "rb");
    CHECK(fread(saved, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    for (long long cut = SEGMENT_START + 20; cut < size; cut += 997) {
        harness_context("log cut at %lld of %lld", cut, size);
        stage_write_file(log, saved, (size_t)cut);
        db = OPEN(dir, NULL);
        EXPECT(db, S("first"), S("1"));
        int present = 0;
        for (int i = 0; i < 40; i++) {
            char key[16];
            int kl = snprintf(key, sizeof key, "b%02d", i);
            void *v = NULL;
            size_t vl = 0;
            int rc = kv_get(db, key, (size_t)kl, &v, &vl);
            present += rc == KV_OK;
            kv_free(v);
        }
        CHECK_MSG(present == 0 || present == 40, "%d of 40 ops of the batch", present);
        CLOSE(db);
    }
    free(saved);
}

static void torn_tail_is_cut_by_default_and_refused_when_strict(void)
{
    const char *dir = harness_tmpdir();
    kv_db *db = OPEN(dir, NULL);
    PUT(db, S("a"), S("1"));
    PUT(db, S("b"), S("2"));
    CLOSE(db);
    const char *log = stage_nth_file(dir, ".log", 0);
    long long size = stage_file_size(log);
    stage_append(log, "\x12\x34\x56\x78\x30\x00\x01partial", 14); /* cut short */
    kv_options strict;
    kv_options_init(&strict);
    strict.strict_recovery = 1;
    kv_db *s = NULL;
    CHECK_KV(kv_open(dir, &strict, &s), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), "strict_recovery") != NULL);
    db = OPEN(dir, NULL);
    CHECK_EQ(stage_stat(db, "open.torn_tail_bytes_cut"), 14);
    EXPECT(db, S("b"), S("2"));
    CLOSE(db);
    CHECK(stage_file_size(log) > size); /* cut, then closed with a marker */
    db = OPEN(dir, &strict);
    CLOSE(db);
}

static void damage_in_synced_bytes_is_corrupt_in_both_modes(void)
{
    const char *dir = harness_tmpdir();
    kv_db *db = OPEN(dir, NULL);
    PUT(db, S("a"), S("1"));
    PUT(db, S("b"), S("2"));
    PUT(db, S("c"), S("3"));
    CLOSE(db); /* synced, and ends with a sync marker */
    stage_flip_byte(stage_nth_file(dir, ".log", 0), SEGMENT_START + 2);
    kv_db *x = NULL;
    CHECK_KV(kv_open(dir, NULL, &x), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), "offset 16") != NULL); /* the first record, after the header */
    kv_options strict;
    kv_options_init(&strict);
    strict.strict_recovery = 1;
    CHECK_KV(kv_open(dir, &strict, &x), KV_ERR_CORRUPT);
    testdb_lines lines = {0};
    CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(lines.text, "CORRUPT") != NULL, "%s", lines.text);
    testdb_lines_free(&lines);
}

/* Damage in writes never synced (no marker vouches for them) is what a
 * power loss leaves when it drops an early write and keeps a later one:
 * the log is cut at the damage, so a prefix survives, with no hole. */
static void unsynced_damage_is_cut_to_a_prefix(void)
{
    const char *dir = harness_tmpdir();
    const char *copy = harness_join(harness_tmpdir(), "copy");
    kv_db *db = OPEN(dir, NULL);
    PUT(db, S("a"), S("1"));
    PUT(db, S("b"), S("2"));
    PUT(db, S("c"), S("3"));
    /* The log as a power loss right now could leave it: nothing synced. */
    const char *log = stage_nth_file(dir, ".log", 0);
    long long size = stage_file_size(log);
    char buf[256];
    FILE *f = fopen(log, "rb");
    CHECK(fread(buf, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    CLOSE(db);
    CHECK_KV(io_mkdir(copy), KV_OK);
    char identity[128];
    f = fopen(harness_join(dir, "IDENTITY"), "rb");
    size_t idlen = fread(identity, 1, sizeof identity, f);
    fclose(f);
    stage_write_file(harness_join(copy, "IDENTITY"), identity, idlen);
    const char *path = harness_join(copy, "0000000001.log");
    buf[SEGMENT_START + 20] ^= 0xff; /* inside "b", after the header */
    stage_write_file(path, buf, (size_t)size);
    db = OPEN(copy, NULL);
    EXPECT(db, S("a"), S("1"));
    ABSENT(db, S("b"));
    ABSENT(db, S("c")); /* valid, but after the damage: dropped, no hole */
    CHECK_EQ(stage_stat(db, "open.tail_cut_hid_valid_records"), 1);
    CLOSE(db);
}

static void repair_salvages_every_intact_record(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = wal_options(0);
    opt.segment_bytes = 200;
    kv_db *db = OPEN(dir, &opt);
    for (int i = 0; i < 30; i++) {
        char key[16];
        int kl = snprintf(key, sizeof key, "k%02d", i);
        PUT(db, key, (size_t)kl, "value-value-value", 17);
    }
    CLOSE(db);
    CHECK(stage_count_files(dir, ".log") > 3);
    stage_flip_byte(stage_nth_file(dir, ".log", 1), SEGMENT_START + 3); /* a closed segment */
    kv_db *x = NULL;
    CHECK_KV(kv_open(dir, NULL, &x), KV_ERR_CORRUPT);
    testdb_lines lines = {0};
    CHECK_KV(kv_repair(dir, testdb_lines_add, &lines), KV_OK);
    CHECK_MSG(strstr(lines.text, "lost") != NULL, "%s", lines.text);
    CHECK_MSG(strstr(lines.text, "1 segments rewritten") != NULL, "%s", lines.text);
    testdb_lines_free(&lines);
    CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_OK);
    testdb_lines_free(&lines);
    kv_options strict = opt;
    strict.strict_recovery = 1;
    db = OPEN(dir, &strict);
    int present = 0;
    for (int i = 0; i < 30; i++) {
        char key[16];
        int kl = snprintf(key, sizeof key, "k%02d", i);
        void *v = NULL;
        size_t vl = 0;
        present += kv_get(db, key, (size_t)kl, &v, &vl) == KV_OK;
        kv_free(v);
    }
    CHECK_EQ(present, 29); /* the one damaged record is gone, and only it */
    CLOSE(db);
    CHECK_KV(kv_repair(dir, testdb_lines_add, &lines), KV_OK);
    CHECK_MSG(strstr(lines.text, "nothing to repair") != NULL, "%s", lines.text);
    testdb_lines_free(&lines);
    db = OPEN(dir, NULL);
    CHECK_KV(kv_repair(dir, testdb_lines_add, &lines), KV_ERR_BUSY);
    testdb_lines_free(&lines);
    CLOSE(db);
}

/* A closed segment whose records are intact but which does not end with
 * its seal (here: the last segment, unsealed, copied as the one after it):
 * kv_open refuses it, so kv repair rewrites it, sealed, and a strict open
 * then reads every key. */
static void repair_seals_a_closed_segment_without_its_seal(void)
{
    const char *dir = harness_tmpdir();
    stage_empty_dir(dir);
    kv_db *db = OPEN(dir, NULL);
    PUT(db, "a", 1, "1", 1);
    PUT(db, "b", 1, "2", 1);
    CLOSE(db);
    CHECK_EQ(stage_count_files(dir, ".log"), 1);
    const char *log = stage_nth_file(dir, ".log", 0);
    long long size = stage_file_size(log);
    char buf[256];
    CHECK(size > 0 && size <= (long long)sizeof buf);
    FILE *f = fopen(log, "rb");
    CHECK(fread(buf, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    char next[SEGMENT_NAME_MAX];
    segment_name(next, 2, SEGMENT_SUFFIX);
    stage_write_file(harness_join(dir, next), buf, (size_t)size);
    kv_db *x = NULL;
    CHECK_KV(kv_open(dir, NULL, &x), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "does not end with its seal") != NULL, "%s", kv_errmsg());
    testdb_lines lines = {0};
    CHECK_KV(kv_repair(dir, testdb_lines_add, &lines), KV_OK);
    CHECK_MSG(strstr(lines.text, "1 segments rewritten") != NULL, "%s", lines.text);
    testdb_lines_free(&lines);
    CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_OK);
    testdb_lines_free(&lines);
    kv_options strict = stage_options(0);
    strict.strict_recovery = 1;
    db = OPEN(dir, &strict);
    EXPECT(db, S("a"), S("1"));
    EXPECT(db, S("b"), S("2"));
    CLOSE(db);
}

/* A hint that does not describe its segment: its checksum wrong, or its
 * checksum right over a key the segment does not hold (kv_open would trust
 * that one).  kv check says so; kv repair removes it, after which kv check
 * finds nothing and every key reads back from the segment itself. */
static void repair_removes_a_hint_that_does_not_describe_its_segment(void)
{
    for (int right_crc = 0; right_crc < 2; right_crc++) {
        const char *dir = harness_tmpdir();
        stage_empty_dir(dir);
        kv_options opt = stage_options(4096);
        kv_db *db = OPEN(dir, &opt);
        char val[300];
        for (unsigned r = 0; r < 2; r++) {
            for (unsigned i = 0; i < 100; i++) {
                char key[17];
                stage_key(key, i);
                memset(val, 'a' + (int)r, sizeof val);
                PUT(db, key, 16, val, sizeof val);
            }
        }
        CHECK_KV(kv_compact(db), KV_OK);
        CLOSE(db);
        CHECK(stage_count_files(dir, ".hint") > 0);
        const char *hint = stage_nth_file(dir, ".hint", 0);
        stage_flip_byte(hint, 30); /* a byte of the first entry's key */
        if (right_crc) {
            long long n = stage_file_size(hint);
            uint8_t *b = malloc((size_t)n);
            FILE *f = fopen(hint, "rb");
            CHECK(b != NULL && f != NULL && fread(b, 1, (size_t)n, f) == (size_t)n);
            fclose(f);
            coding_put_u32(b + n - 4, crc32c_value(b, (size_t)n - 4));
            stage_write_file(hint, b, (size_t)n);
            free(b);
        }
        testdb_lines lines = {0};
        CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_ERR_CORRUPT);
        CHECK_MSG(strstr(lines.text, right_crc ? "not a put of the key the hint names"
                                               : "checksum mismatch") != NULL, "%s", lines.text);
        testdb_lines_free(&lines);
        CHECK_KV(kv_repair(dir, testdb_lines_add, &lines), KV_OK);
        CHECK_MSG(strstr(lines.text, "1 hints removed") != NULL, "%s", lines.text);
        testdb_lines_free(&lines);
        CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_OK);
        testdb_lines_free(&lines);
        kv_options strict = opt;
        strict.strict_recovery = 1;
        db = OPEN(dir, &strict);
        for (unsigned i = 0; i < 100; i++) {
            char key[17];
            stage_key(key, i);
            void *v = NULL;
            size_t vl = 0;
            CHECK_KV(kv_get(db, key, 16, &v, &vl), KV_OK);
            CHECK(vl == sizeof val && v != NULL && ((char *)v)[0] == 'b');
            kv_free(v);
        }
        CLOSE(db);
    }
}

static void dump_shows_records_ops_and_markers(void)
{
    const char *dir = harness_tmpdir();
    kv_db *db = OPEN(dir, NULL);
    PUT(db, S("a"), S("1"));
    DEL(db, S("a"));
    CLOSE(db);
    testdb_lines lines = {0};
    CHECK_KV(kv_dump(dir, testdb_lines_add, &lines), KV_OK);
    CHECK_MSG(strstr(lines.text, "put key_len=1") != NULL, "%s", lines.text);
    CHECK_MSG(strstr(lines.text, "del key_len=1") != NULL, "%s", lines.text);
    CHECK_MSG(strstr(lines.text, "sync marker") != NULL, "%s", lines.text);
    testdb_lines_free(&lines);
}

/* kv_dump_with(KV_DUMP_FRAMES): a 40,000-byte value is one record in two
 * fragments, FIRST filling block 0 and LAST in block 1; every crc is ok. */
static void dump_frames_show_fragments_across_a_block_boundary(void)
{
    const char *dir = harness_tmpdir();
    kv_db *db = OPEN(dir, NULL);
    PUT(db, S("small"), S("1"));
    static char big[40000];
    memset(big, 'v', sizeof big);
    PUT(db, S("big"), big, sizeof big);
    CLOSE(db);
    testdb_lines lines = {0};
    CHECK_KV(kv_dump_with(dir, KV_DUMP_FRAMES, testdb_lines_add, &lines), KV_OK);
    const char *t = lines.text;
    CHECK_MSG(strstr(t, "---- block 0 ----") != NULL, "%s", t);
    CHECK_MSG(strstr(t, "---- block 1 ----") != NULL, "%s", t);
    /* After the segment's 16-byte header, "small" takes 17 bytes: the big
     * record's FIRST fills the rest of block 0 (32768 - 33 - 7 data
     * bytes), its LAST starts block 1. */
    CHECK_MSG(strstr(t, "frame  offset 16  block 0  length 10  FULL  crc 0x") != NULL, "%s", t);
    CHECK_MSG(strstr(t, "frame  offset 33  block 0  length 32728  FIRST") != NULL, "%s", t);
    CHECK_MSG(strstr(t, "frame  offset 32768  block 1  length") != NULL, "%s", t);
    CHECK_MSG(strstr(t, "LAST  crc 0x") != NULL, "%s", t);
    CHECK_MSG(strstr(t, "BAD") == NULL, "%s", t);
    CHECK_MSG(strstr(t, "value_len=40000") != NULL, "%s", t);
    testdb_lines_free(&lines);
    /* Without the flag: no frames. */
    CHECK_KV(kv_dump(dir, testdb_lines_add, &lines), KV_OK);
    CHECK_MSG(strstr(lines.text, "frame  offset") == NULL, "%s", lines.text);
    testdb_lines_free(&lines);
    /* A flipped byte in the LAST fragment: its crc shows BAD. */
    stage_flip_byte(stage_nth_file(dir, ".log", 0), 32768 + 100);
    CHECK_KV(kv_dump_with(dir, KV_DUMP_FRAMES, testdb_lines_add, &lines), KV_OK);
    CHECK_MSG(strstr(lines.text, "DAMAGED") != NULL, "%s", lines.text);
    CHECK_MSG(strstr(lines.text, "BAD") != NULL, "%s", lines.text);
    testdb_lines_free(&lines);
}

/* The trailer: fewer than 7 bytes left in a block are zeros. */
static void dump_frames_show_the_trailer(void)
{
    const char *dir = harness_tmpdir();
    kv_db *db = OPEN(dir, NULL);
    /* One put of a 1-byte key and a value of 16384 bytes or more takes
     * 7 + 1 (count) + 1 (type) + 1 (key_len) + 3 (value_len) + 1 + vlen
     * bytes, after the segment's 16-byte header: vlen = 32768 - 16 - 14 - 3
     * leaves 3 bytes in block 0. */
    static char val[32768 - SEGMENT_START - 14 - 3];
    memset(val, 'x', sizeof val);
    PUT(db, S("a"), val, sizeof val);
    CHECK_KV(kv_close(db), KV_OK);
    testdb_lines lines = {0};
    CHECK_KV(kv_dump_with(dir, KV_DUMP_FRAMES, testdb_lines_add, &lines), KV_OK);
    CHECK_MSG(strstr(lines.text, "trailer  offset 32765  block 0  3 zero bytes") != NULL, "%s",
              lines.text);
    testdb_lines_free(&lines);
}

/* Each allocation of a batch's way into the log (its record, the index's
 * copies, the group's buffer, a roll-over's new segment) failed in turn:
 * the batch is all there or not at all, the write that failed says
 * KV_ERR_NOMEM, and the database goes on. */
static void write_path_survives_each_allocation_failing(void)
{
    if (!alloc_fail_available())
        return; /* a sanitizer's allocator cannot be failed from here */
    kv_options opt = wal_options(1);
    opt.segment_bytes = 300;
    long n;
    for (n = 1; n < 200; n++) {
        harness_context("allocation %ld of kv_write fails", n);
        const char *dir = harness_tmpdir();
        kv_db *db = OPEN(dir, &opt);
        PUT(db, S("base"), S("0123456789012345678901234567890123456789"));
        PUT(db, S("more"), S("0123456789012345678901234567890123456789"));
        kv_batch *b = NULL;
        CHECK_KV(kv_batch_new(&b), KV_OK);
        for (int i = 0; i < 3; i++) {
            char key[8];
            int kl = snprintf(key, sizeof key, "b%d", i);
            CHECK_KV(kv_batch_put(b, key, (size_t)kl, "0123456789012345678901234567890123456789"
                                  "0123456789012345678901234567890123456789", 80), KV_OK);
        }
        alloc_fail_arm(n);
        int rc = kv_write(db, b);
        long failures = alloc_fail_failures();
        alloc_fail_disarm();
        kv_batch_free(b);
        if (failures == 0) {
            CHECK_KV(rc, KV_OK);
            CHECK_EQ(stage_stat(db, "session.rollovers"), 1); /* the batch rolled over */
        } else if (rc != KV_OK) {
            CHECK_KV(rc, KV_ERR_NOMEM);
        }
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < 3; i++) {
                char key[8];
                int kl = snprintf(key, sizeof key, "b%d", i);
                void *v = NULL;
                size_t vl = 0;
                CHECK_KV(kv_get(db, key, (size_t)kl, &v, &vl), rc == KV_OK ? KV_OK : KV_NOT_FOUND);
                kv_free(v);
            }
            EXPECT(db, S("base"), S("0123456789012345678901234567890123456789"));
            if (pass == 0) {
                PUT(db, S("after"), S("1"));
                CLOSE(db);
                db = OPEN(dir, &opt);
            }
        }
        EXPECT(db, S("after"), S("1"));
        CLOSE(db);
        if (failures == 0)
            break;
    }
    CHECK_MSG(n > 3 && n < 200, "kv_write made %ld allocations", n - 1);
}

static void compact_after_batches_keeps_the_last_op_of_each_key(void)
{
    const char *dir = harness_tmpdir();
    kv_db *db = OPEN(dir, NULL);
    kv_batch *b = NULL;
    CHECK_KV(kv_batch_new(&b), KV_OK);
    CHECK_KV(kv_batch_put(b, S("x"), S("old")), KV_OK);
    CHECK_KV(kv_batch_put(b, S("y"), S("y1")), KV_OK);
    CHECK_KV(kv_batch_put(b, S("x"), S("new")), KV_OK);
    CHECK_KV(kv_batch_delete(b, S("y")), KV_OK);
    CHECK_KV(kv_batch_put(b, S("z"), S("z1")), KV_OK);
    CHECK_KV(kv_write(db, b), KV_OK);
    kv_batch_free(b);
    PUT(db, S("z"), S("z2"));
    EXPECT(db, S("x"), S("new"));
    CHECK_KV(kv_compact(db), KV_OK);
    EXPECT(db, S("x"), S("new"));
    ABSENT(db, S("y"));
    EXPECT(db, S("z"), S("z2"));
    CLOSE(db);
    db = OPEN(dir, NULL);
    EXPECT(db, S("x"), S("new"));
    ABSENT(db, S("y"));
    EXPECT(db, S("z"), S("z2"));
    CLOSE(db);
}

static const harness_test wal_db_tests[] = {
    HARNESS_TEST(failed_fsync_is_final_until_reopen),
    HARNESS_TEST(group_commit_shares_fsyncs_between_threads),
    HARNESS_TEST(batch_cut_anywhere_is_all_or_nothing),
    HARNESS_TEST(torn_tail_is_cut_by_default_and_refused_when_strict),
    HARNESS_TEST(damage_in_synced_bytes_is_corrupt_in_both_modes),
    HARNESS_TEST(unsynced_damage_is_cut_to_a_prefix),
    HARNESS_TEST(repair_salvages_every_intact_record),
    HARNESS_TEST(repair_seals_a_closed_segment_without_its_seal),
    HARNESS_TEST(repair_removes_a_hint_that_does_not_describe_its_segment),
    HARNESS_TEST(dump_shows_records_ops_and_markers),
    HARNESS_TEST(dump_frames_show_fragments_across_a_block_boundary),
    HARNESS_TEST(dump_frames_show_the_trailer),
    HARNESS_TEST(compact_after_batches_keeps_the_last_op_of_each_key),
    HARNESS_TEST(write_path_survives_each_allocation_failing),
};
const harness_suite wal_db_suite = HARNESS_SUITE("wal_db", wal_db_tests);
