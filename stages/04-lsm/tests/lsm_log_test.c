/*
 * lsm_log_test.c: stage 04's logs as kv_open, kv_check, kv_dump and
 * kv_repair see them, on logs written by hand: records with their sequence
 * numbers, the seal every log but the last must end with, the torn tail
 * only the last may have, and the names of the stage's files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../tests/harness.h"
#include "internal_key.h"
#include "kv.h"
#include "lsm_files.h"
#include "lsm_test_util.h"
#include "lsm_wal.h"
#include "table_test_util.h"

#define WAL1 "000000000001.log"
#define WAL4 "000000000004.log"

/* Log 1: put a (1), then a batch {put b, del a} (2, 3); sealed if asked.
 * Log 4 (the last): put c (4).  Returns log 1's size. */
static uint64_t lg_two_logs(const char *dir, int seal_first)
{
    static const lt_op ops1[] = {{"a", "1"}, {"b", "2"}, {"a", NULL}};
    static const size_t first1[] = {0, 1, 3};
    static const uint64_t seqs1[] = {1, 2};
    uint64_t size = lt_write_log(dir, 1, ops1, first1, seqs1, 2, seal_first);
    static const lt_op ops4[] = {{"c", "3"}};
    static const size_t first4[] = {0, 1};
    static const uint64_t seqs4[] = {4};
    lt_write_log(dir, 4, ops4, first4, seqs4, 1, 0);
    return size;
}

static void flip_byte(const char *path, size_t at)
{
    uint8_t *bytes = NULL;
    size_t n = tt_read_file(path, &bytes);
    CHECK(at < n);
    bytes[at] ^= 0xff;
    tt_write_file(path, bytes, n);
    free(bytes);
}

static void sealed_log_before_the_last_is_replayed(void)
{
    const char *dir = lt_empty_db();
    lg_two_logs(dir, 1);
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    kv_db *db = lt_open(dir, 0, 0);
    lt_expect(db, "a", NULL);
    lt_expect(db, "b", "2");
    lt_expect(db, "c", "3");
    CHECK_EQ(lt_stat(db, "seq.last"), 4);
    CHECK_EQ(lt_stat(db, "open.records_replayed"), 3);
    lt_put(db, "d", "4");
    CHECK_EQ(lt_stat(db, "seq.last"), 5);
    CHECK_KV(kv_close(db), KV_OK);
}

/* A log before the last that does not end with its seal was cut short
 * after it was closed (here: at a record boundary, which its records alone
 * cannot show). */
static void closed_log_without_its_seal_is_refused(void)
{
    const char *dir = lt_empty_db();
    lg_two_logs(dir, 0);
    kv_options opt;
    kv_options_init(&opt);
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), WAL1) != NULL && strstr(kv_errmsg(), "seal") != NULL);
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_ERR_CORRUPT);
    CHECK(strstr(out.text, "CORRUPT") != NULL);
}

static void damage_in_a_log_before_the_last_is_refused_and_repaired(void)
{
    const char *dir = lt_empty_db();
    lg_two_logs(dir, 1);
    flip_byte(harness_join(dir, WAL1), 16 + 9); /* inside the first record */
    kv_options opt;
    kv_options_init(&opt);
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), WAL1) && strstr(kv_errmsg(), "damaged in the middle"), "%s",
              kv_errmsg());
    lt_lines out = {0};
    CHECK_KV(kv_repair(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(strstr(out.text, "bytes lost") != NULL, "%s", out.text);
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "a", NULL); /* its put is lost, its delete kept */
    lt_expect(db, "b", "2");
    lt_expect(db, "c", "3");
    CHECK_KV(kv_close(db), KV_OK);
}

/* The last log may end in a torn write: cut by default (the write it held
 * was never acknowledged as durable), refused with strict_recovery, left
 * by a read-only open; kv_check says which. */
static void torn_tail_of_the_last_log_is_cut_unless_strict(void)
{
    const char *dir = lt_empty_db();
    lg_two_logs(dir, 1);
    const char *path = harness_join(dir, WAL4);
    uint8_t *bytes = NULL;
    size_t n = tt_read_file(path, &bytes);
    tt_write_file(path, bytes, n - 3);
    free(bytes);
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_CHECK_WILL_CUT);
    kv_options opt;
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_ERR_CORRUPT);
    db = lt_open(dir, 0, 1);
    CHECK(lt_stat(db, "open.torn_tail_bytes_found") > 0);
    CHECK_EQ(lt_stat(db, "open.torn_tail_bytes_cut"), 0);
    CHECK_KV(kv_close(db), KV_OK);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "c", NULL);
    lt_expect(db, "b", "2");
    CHECK(lt_stat(db, "open.torn_tail_bytes_cut") > 0);
    CHECK_EQ(lt_stat(db, "seq.last"), 3);
    lt_put(db, "e", "5");
    CHECK_KV(kv_close(db), KV_OK);
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
}

/* Numbers that do not grow along the log are not the engine's writes:
 * damage, which in the last log with nothing after it is cut like a torn
 * tail (the rule of stage 03 for a record that is not a batch). */
static void sequence_numbers_that_go_back_are_damage(void)
{
    const char *dir = lt_empty_db();
    static const lt_op ops[] = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
    static const size_t first[] = {0, 1, 2, 3};
    static const uint64_t seqs[] = {5, 7, 6};
    lt_write_log(dir, 5, ops, first, seqs, 3, 0);
    kv_db *db = lt_open(dir, 0, 0);
    lt_expect(db, "a", "1");
    lt_expect(db, "b", "2");
    lt_expect(db, "c", NULL);
    CHECK_EQ(lt_stat(db, "seq.last"), 7);
    CHECK_KV(kv_close(db), KV_OK);
    /* A record numbered below its log's name. */
    dir = lt_empty_db();
    lt_write_log(dir, 5, ops, first, (const uint64_t[]){4, 7, 8}, 1, 0);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "a", NULL);
    CHECK_EQ(lt_stat(db, "seq.last"), 4); /* the log's name, minus one */
    CHECK_KV(kv_close(db), KV_OK);
}

/* A last log whose header a crash cut short holds no record: it gets a
 * fresh header.  A damaged header with records after it is corruption. */
static void header_of_the_last_log(void)
{
    const char *dir = lt_empty_db();
    lg_two_logs(dir, 1);
    const char *path = harness_join(dir, WAL4);
    uint8_t *bytes = NULL;
    size_t n = tt_read_file(path, &bytes);
    tt_write_file(path, bytes, 10);
    kv_db *db = lt_open(dir, 0, 0);
    lt_expect(db, "c", NULL);
    lt_expect(db, "b", "2");
    lt_put(db, "c", "again");
    CHECK_KV(kv_close(db), KV_OK);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "c", "again");
    CHECK_KV(kv_close(db), KV_OK);

    dir = lt_empty_db();
    lg_two_logs(dir, 1);
    path = harness_join(dir, WAL4);
    bytes[3] ^= 1;
    tt_write_file(path, bytes, n);
    free(bytes);
    kv_options opt;
    kv_options_init(&opt);
    CHECK_KV(kv_open(dir, &opt, &db), KV_ERR_CORRUPT);
    lt_lines out = {0};
    CHECK_KV(kv_repair(dir, lt_collect, &out), KV_OK);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "c", "3");
    CHECK_KV(kv_close(db), KV_OK);
}

/* F4 (lsm_files.h): the log after the tables was made, its header synced,
 * before any table took the writes before it, so a crash never removes it
 * or leaves it without its header.  Gone, or cut to nothing, the writes it
 * held are lost: kv_open refuses, and kv_check says why, whatever the
 * table set (stage 06 knows the bound from its manifest); kv_repair makes
 * an empty log in its place. */
static void log_the_tables_owe_is_damage_when_gone(void)
{
    for (int cut = 0; cut < 2; cut++) {
        harness_context("the log %s", cut ? "cut to 0 bytes" : "deleted");
        const char *dir = lt_dir();
        kv_db *db = lt_open(dir, 0, 0);
        lt_put(db, "k", "v1");
        CHECK_KV(kv_compact(db), KV_OK); /* k in a table; the writes after go to a new log */
        lt_put(db, "k", "v2");
        lt_put(db, "j", "x");
        CHECK_KV(kv_close(db), KV_OK);
        const char *files = lt_files(dir), *log = strstr(files, ".log");
        CHECK(log != NULL && log - files >= 12);
        char name[32];
        snprintf(name, sizeof name, "%.*s", 16, log - 12);
        if (cut)
            tt_write_file(harness_join(dir, name), (const uint8_t *)"", 0);
        else
            CHECK(unlink(harness_join(dir, name)) == 0);
        kv_options opt;
        kv_options_init(&opt);
        kv_db *bad = NULL;
        CHECK_KV(kv_open(dir, &opt, &bad), KV_ERR_CORRUPT);
        CHECK_MSG(strstr(kv_errmsg(), cut ? "not even its header" : "no log is named above") &&
                  strstr(kv_errmsg(), "those writes are lost"), "%s", kv_errmsg());
        opt.read_only = 1;
        CHECK_KV(kv_open(dir, &opt, &bad), KV_ERR_CORRUPT);
        lt_lines out = {0};
        CHECK_KV(kv_check(dir, lt_collect, &out), KV_ERR_CORRUPT);
        CHECK_MSG(strstr(out.text, "those writes are lost") != NULL, "%s", out.text);
        /* kv repair puts an empty log in its place, and says what is lost. */
        out.len = 0;
        CHECK_KV(kv_repair(dir, lt_collect, &out), KV_OK);
        CHECK_MSG(strstr(out.text, "are lost; an empty log takes its place") != NULL, "%s",
                  out.text);
        out.len = 0;
        CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
        db = lt_open(dir, 0, 0);
        lt_expect(db, "k", "v1");
        lt_expect(db, "j", NULL);
        lt_put(db, "j", "y");
        CHECK_KV(kv_close(db), KV_OK);
        db = lt_open(dir, 0, 0);
        lt_expect(db, "j", "y");
        CHECK_KV(kv_close(db), KV_OK);
    }
}

static void names_say_what_a_file_holds(void)
{
    char name[LSM_NAME_MAX];
    uint64_t a = 0, b = 0;
    lsm_wal_name(name, 101);
    CHECK(strcmp(name, "000000000101.log") == 0);
    CHECK_EQ(lsm_file_parse(name, &a, &b), LSM_FILE_WAL);
    CHECK_EQ(a, 101);
    lsm_table_name(name, 1, 100, 0);
    CHECK(strcmp(name, "000000000001-000000000100.tbl") == 0);
    CHECK_EQ(lsm_file_parse(name, &a, &b), LSM_FILE_TABLE);
    CHECK(a == 1 && b == 100);
    lsm_table_name(name, 1, 100, 1);
    CHECK_EQ(lsm_file_parse(name, &a, &b), LSM_FILE_TMP);
    CHECK_EQ(lsm_file_parse("000000000101.log.tmp", &a, &b), LSM_FILE_TMP);
    /* Wider numbers are read; narrower ones, zero, descending ranges,
     * numbers past 2^56 - 1 and other suffixes are not this stage's. */
    CHECK_EQ(lsm_file_parse("72057594037927935.log", &a, &b), LSM_FILE_WAL);
    CHECK_EQ(a, IKEY_MAX_SEQ);
    static const char *const others[] = {
        "72057594037927936.log", "123456789012345678.log", "00000000101.log",
        "000000000000.log", "000000000002-000000000001.tbl", "000000000001-000000000002.log",
        "000000000001.tbl", "000000000001-000000000002.tbl.bak", "LOCK", "IDENTITY", "",
        "000000000001", "000000000001-", "000000000001.log.old",
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        harness_context("%s", others[i]);
        CHECK_EQ(lsm_file_parse(others[i], &a, &b), LSM_FILE_OTHER);
    }
}

static void records_decode_only_what_the_engine_writes(void)
{
    lsm_wal_record r;
    const char *why = NULL;
    uint8_t rec[64];
    batch_op op = {.key = "k", .klen = 1, .val = "v", .vlen = 1};
    size_t len = (size_t)lsm_wal_record_size(&op, 1);
    lsm_wal_record_encode(rec, &op, 1);
    lsm_wal_record_stamp(rec, len, 7);
    CHECK_EQ(lsm_wal_record_decode(rec, len, &r, &why), 0);
    CHECK(r.seq == 7 && r.count == 1);
    CHECK_EQ(lsm_wal_record_decode(rec, 8, &r, &why), -1);        /* too short */
    CHECK_EQ(lsm_wal_record_decode(rec, len - 1, &r, &why), -1);  /* not a batch */
    lsm_wal_record_stamp(rec, len, 0);
    CHECK_EQ(lsm_wal_record_decode(rec, len, &r, &why), -1);      /* sequence 0 */
    lsm_wal_record_stamp(rec, len, IKEY_MAX_SEQ);
    CHECK_EQ(lsm_wal_record_decode(rec, len, &r, &why), 0);       /* the last one */
    lsm_wal_record_stamp(rec, len, IKEY_MAX_SEQ + 1);
    CHECK_EQ(lsm_wal_record_decode(rec, len, &r, &why), -1);
    batch_op two[2] = {op, op};
    len = (size_t)lsm_wal_record_size(two, 2);
    lsm_wal_record_encode(rec, two, 2);
    lsm_wal_record_stamp(rec, len, IKEY_MAX_SEQ);                /* its second op's */
    CHECK_EQ(lsm_wal_record_decode(rec, len, &r, &why), -1);      /* would pass the end */
}

static const harness_test lsm_log_tests[] = {
    HARNESS_TEST(log_the_tables_owe_is_damage_when_gone),
    HARNESS_TEST(sealed_log_before_the_last_is_replayed),
    HARNESS_TEST(closed_log_without_its_seal_is_refused),
    HARNESS_TEST(damage_in_a_log_before_the_last_is_refused_and_repaired),
    HARNESS_TEST(torn_tail_of_the_last_log_is_cut_unless_strict),
    HARNESS_TEST(sequence_numbers_that_go_back_are_damage),
    HARNESS_TEST(header_of_the_last_log),
    HARNESS_TEST(names_say_what_a_file_holds),
    HARNESS_TEST(records_decode_only_what_the_engine_writes),
};

const harness_suite lsm_log_suite = HARNESS_SUITE("lsm_log", lsm_log_tests);
