/*
 * hash_write_test.c: stage 02's write path (hash_write.c) and its record
 * format (record_io_log.c, common/log_record.h), byte for byte: one record
 * per put, delete or batch, of exactly the size the format says; nothing
 * written for a delete of an absent key; kv_stats' byte counts; a record
 * changed under an open database.  Stage 03 replaces both files (its
 * write-ahead log), so these tests run on stage 02 only (see its stage.mk);
 * stage 03's tests hold its own write path to the same rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "io_fault.h"
#include "segment.h"
#include "stage_util.h"

#define VLEN 100
#define RECORD (10 + 16 + VLEN)

static void deleting_an_absent_key_writes_nothing(void)
{
    const char *dir = harness_tmpdir();
    kv_db *db = OPEN(dir, NULL);
    PUT(db, S("a"), S("1"));
    uint64_t before = stage_suffix_bytes(dir, ".log");
    DEL(db, S("zzz"));
    CHECK_EQ(stage_suffix_bytes(dir, ".log"), before);
    DEL(db, S("a"));
    CHECK_EQ(stage_suffix_bytes(dir, ".log"), before + 11);
    ABSENT(db, S("a"));
    CLOSE(db);
    db = OPEN(dir, NULL);
    ABSENT(db, S("a"));
    CHECK_EQ(stage_stat(db, "live.bytes"), SEGMENT_START); /* the header */
    CHECK_EQ(stage_stat(db, "dead.bytes"), before + 11 - SEGMENT_START);
    CLOSE(db);
}

static void record_changed_under_an_open_database_is_corrupt(void)
{
    const char *dir = harness_tmpdir();
    kv_db *db = OPEN(dir, NULL);
    PUT(db, S("a"), S("1"));
    PUT(db, S("b"), S("2"));
    /* Overwrite a's record with a valid record of another key, same size. */
    const char *log = stage_nth_file(dir, ".log", 0);
    char other[12]; /* 10-byte header, 1-byte key, 1-byte value */
    FILE *f = fopen(log, "rb");
    CHECK(f != NULL);
    CHECK(fseek(f, SEGMENT_START + 12, SEEK_SET) == 0 && fread(other, 1, 12, f) == 12);
    fclose(f);
    f = fopen(log, "r+b");
    CHECK(f != NULL);
    CHECK(fseek(f, SEGMENT_START, SEEK_SET) == 0 && fwrite(other, 1, 12, f) == 12);
    fclose(f);
    void *v = NULL;
    size_t vl = 0;
    CHECK_KV(kv_get(db, S("a"), &v, &vl), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), "0000000001.log: offset 16") != NULL);
    stage_flip_byte(log, SEGMENT_START + 15);
    CHECK_KV(kv_get(db, S("b"), &v, &vl), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), "checksum") != NULL);
    CLOSE(db);
}

static void stats_report_segments_index_and_open_cost(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(1000);
    kv_db *db = OPEN(dir, &opt);
    stage_put_keys(db, 20, 0, VLEN);
    stage_put_keys(db, 10, 1, VLEN);
    DEL(db, S("key-000000000019"));
    CHECK_EQ(stage_stat(db, "live.keys"), 19);
    uint64_t framing = stage_seal_bytes(dir) + stage_header_bytes(dir); /* never garbage */
    CHECK_EQ(stage_stat(db, "live.bytes"), 19 * RECORD + framing);
    CHECK_EQ(stage_stat(db, "segments.bytes"), 30 * RECORD + 10 + 16 + framing);
    CHECK_EQ(stage_stat(db, "dead.bytes"), 11 * RECORD + 26);
    CHECK_EQ(stage_stat(db, "session.puts"), 30);
    CHECK_EQ(stage_stat(db, "session.deletes"), 1);
    CHECK(stage_stat(db, "index.bytes_per_key") > 16);
    CLOSE(db);
    db = OPEN(dir, &opt);
    CHECK_EQ(stage_stat(db, "open.bytes_read"), 30 * RECORD + 26 + framing);
    CHECK(stage_stat(db, "open.ms") >= 0);
    CHECK(stage_stat(db, "open.ms_per_gb") > 0);
    CHECK_EQ(stage_stat(db, "dead.bytes"), 11 * RECORD + 26);
    CLOSE(db);
}

static void batch_is_one_write_and_one_index_update(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(1000);
    kv_db *db = OPEN(dir, &opt);
    PUT(db, S("a"), S("1"));
    kv_batch *b = NULL;
    CHECK_KV(kv_batch_new(&b), KV_OK);
    CHECK_KV(kv_write(db, b), KV_OK); /* empty: writes nothing */
    CHECK_EQ(stage_suffix_bytes(dir, ".log"), SEGMENT_START + 12);
    CHECK_KV(kv_batch_put(b, S("b"), S("2")), KV_OK);
    CHECK_KV(kv_batch_delete(b, S("a")), KV_OK);
    CHECK_KV(kv_batch_put(b, S("c"), S("3")), KV_OK);
    CHECK_KV(kv_batch_put(b, S("b"), S("4")), KV_OK);
    CHECK_KV(kv_batch_delete(b, S("c")), KV_OK);
    CHECK_KV(kv_batch_delete(b, S("never")), KV_OK);
    CHECK_KV(kv_write(db, b), KV_OK);
    ABSENT(db, S("a"));
    EXPECT(db, S("b"), S("4"));
    ABSENT(db, S("c"));
    CHECK_EQ(stage_stat(db, "live.keys"), 1);
    CHECK_EQ(stage_stat(db, "live.bytes"), SEGMENT_START + 12);
    CHECK_EQ(stage_stat(db, "session.puts"), 4);
    CHECK_EQ(stage_stat(db, "session.deletes"), 3);
    CLOSE(db);
    db = OPEN(dir, &opt);
    ABSENT(db, S("a"));
    EXPECT(db, S("b"), S("4"));
    ABSENT(db, S("c"));
    CHECK_EQ(stage_stat(db, "live.bytes"), SEGMENT_START + 12);

    /* A batch bigger than the limit starts a segment and stays whole. */
    kv_batch_clear(b);
    static char val[VLEN];
    for (unsigned i = 0; i < 20; i++) {
        char key[17];
        stage_key(key, i);
        CHECK_KV(kv_batch_put(b, key, 16, val, VLEN), KV_OK);
    }
    size_t logs = stage_count_files(dir, ".log");
    CHECK_KV(kv_write(db, b), KV_OK);
    CHECK_EQ(stage_count_files(dir, ".log"), logs + 1);
    CHECK_EQ(stage_file_size(stage_nth_file(dir, ".log", logs)), SEGMENT_START + 20 * RECORD);

    /* A batch whose write fails leaves nothing behind, on disk or in the index. */
    CLOSE(db);
    io_fault_plan plan = {.kinds = IO_FAULT_APPEND, .fail_at = 1, .persistent = 1,
                          .short_write = 1};
    io_fault_install(&plan);
    db = OPEN(dir, &opt);
    kv_batch_clear(b);
    CHECK_KV(kv_batch_put(b, S("x"), S("1")), KV_OK);
    CHECK_KV(kv_batch_delete(b, S("b")), KV_OK);
    uint64_t before = stage_suffix_bytes(dir, ".log");
    CHECK_KV(kv_write(db, b), KV_ERR_IO);
    CHECK_EQ(stage_suffix_bytes(dir, ".log"), before);
    ABSENT(db, S("x"));
    EXPECT(db, S("b"), S("4"));
    CLOSE(db);
    io_fault_uninstall();
    kv_batch_free(b);
}

static const harness_test tests[] = {
    HARNESS_TEST(deleting_an_absent_key_writes_nothing),
    HARNESS_TEST(record_changed_under_an_open_database_is_corrupt),
    HARNESS_TEST(stats_report_segments_index_and_open_cost),
    HARNESS_TEST(batch_is_one_write_and_one_index_update),
};
const harness_suite hash_write_suite = HARNESS_SUITE("hash_write", tests);
