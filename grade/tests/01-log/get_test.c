/*
 * get_test.c: exercise get, stage 01's read (log_db_get_below in
 * stages/01-log/log/log_db.c, which kv_get calls):
 * the whole log scanned, the last record of the key answering.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exercise.h"
#include "file_header.h"
#include "kv.h"

static kv_db *get_open(const char **dir_out)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = NULL;
    EX_CHECK(EX_KV(kv_open(dir, NULL, &db)) == KV_OK, "kv_open: %s", ex_kv_errmsg());
    if (dir_out)
        *dir_out = dir;
    return db;
}

static void get_expect(kv_db *db, const char *k, size_t kl, const char *v, size_t vl,
                       const char *rule)
{
    void *got = NULL;
    harness_context("kv_get(%.*s): %s", (int)kl, k, rule);
    size_t gl = 12345;
    int rc = EX_KV(kv_get(db, k, kl, &got, &gl));
    EX_CHECK(rc == KV_OK, "%s: kv_get returned %d (%s), not KV_OK", rule, rc, ex_errmsg(rc));
    EX_CHECK(got != NULL, EX_RULE(5, "a copy of the value") "on KV_OK *val is never NULL, even "
             "for an empty value (%s)", rule);
    EX_CHECK(gl == vl && memcmp(got, v, vl) == 0, "%s: got %zu bytes, want %zu", rule, gl, vl);
    kv_free(got);
}

static void get_absent(kv_db *db, const char *k, size_t kl, const char *rule)
{
    void *got = NULL;
    size_t gl = 0;
    harness_context("kv_get(%.*s): %s", (int)kl, k, rule);
    int rc = kv_get(db, k, kl, &got, &gl);
    EX_CHECK(rc == KV_NOT_FOUND, "%s: kv_get must be KV_NOT_FOUND (got %d)", rule, rc);
}

static void get_the_last_record_wins(void)
{
    const char *dir;
    kv_db *db = get_open(&dir);
    kv_put(db, "k", 1, "one", 3);
    kv_put(db, "other", 5, "x", 1);
    kv_put(db, "k", 1, "two", 3);
    kv_put(db, "k", 1, "three", 5);
    get_expect(db, "k", 1, "three", 5, EX_RULE(3, "the last record answers") "the last put of a "
               "key is its value");
    kv_close(db);
    db = NULL;
    EX_CHECK(EX_KV(kv_open(dir, NULL, &db)) == KV_OK, "reopen: %s", ex_kv_errmsg());
    get_expect(db, "k", 1, "three", 5, EX_RULE(3, "the last record answers") "after a reopen, "
               "the last put still wins");
    get_expect(db, "other", 5, "x", 1, EX_RULE(3, "the last record answers") "other keys keep "
               "their values");
    kv_close(db);
}

static void get_at_a_snapshot_sees_nothing_past_its_end(void)
{
    kv_db *db = get_open(NULL);
    kv_put(db, "k", 1, "old", 3);
    const kv_snapshot *snap = NULL;
    EX_CHECK(EX_KV(kv_snapshot_new(db, &snap)) == KV_OK, "kv_snapshot_new: %s", ex_kv_errmsg());
    kv_put(db, "k", 1, "new", 3);
    kv_delete(db, "gone", 4);
    kv_put(db, "late", 4, "x", 1);
    void *got = NULL;
    size_t gl = 0;
    harness_context("kv_get_at(snapshot, k): log_db_get_below with the end the snapshot noted; "
                    "k was put again after it");
    int rc = kv_get_at(db, snap, "k", 1, &got, &gl);
    EX_CHECK(rc == KV_OK && gl == 3 && memcmp(got, "old", 3) == 0,
             EX_RULE(1, "a record at or past end is never seen") "a read at a snapshot answers "
             "with the value the key had when it was taken, \"old\": the later put lies past "
             "the end the snapshot noted (got %d, \"%.*s\")", rc, rc == KV_OK ? (int)gl : 0,
             rc == KV_OK ? (const char *)got : "");
    if (rc == KV_OK)
        kv_free(got);
    rc = kv_get_at(db, snap, "late", 4, &got, &gl);
    EX_CHECK(rc == KV_NOT_FOUND,
             EX_RULE(1, "a record at or past end is never seen") "a key first written after the "
             "snapshot is absent at it (got %d)", rc);
    if (rc == KV_OK)
        kv_free(got);
    kv_snapshot_free(db, snap);
    kv_close(db);
}

static void get_a_delete_hides_the_key(void)
{
    kv_db *db = get_open(NULL);
    get_absent(db, "k", 1, EX_RULE(3, "no record: KV_NOT_FOUND") "a key never written is absent");
    kv_put(db, "k", 1, "v", 1);
    kv_delete(db, "k", 1);
    get_absent(db, "k", 1, EX_RULE(3, "a delete answers KV_NOT_FOUND") "a delete after a put: "
               "the last record of the key is the delete");
    kv_put(db, "k", 1, "again", 5);
    get_expect(db, "k", 1, "again", 5, EX_RULE(3, "the last record answers") "a put after a "
               "delete brings the key back");
    kv_delete(db, "k", 1);
    kv_delete(db, "k", 1);
    get_absent(db, "k", 1, EX_RULE(3, "a delete answers KV_NOT_FOUND") "deleted twice, still "
               "absent");
    kv_close(db);
}

static void get_keys_match_exactly(void)
{
    kv_db *db = get_open(NULL);
    kv_put(db, "ab", 2, "AB", 2);
    kv_put(db, "a", 1, "A", 1);
    kv_put(db, "a\0b", 3, "NUL", 3);
    kv_put(db, "abc", 3, "ABC", 3);
    get_expect(db, "a", 1, "A", 1, EX_RULE(3, "keys equal") "\"a\" is not \"ab\": a key matches "
               "only a key of the same "
               "length and bytes");
    get_expect(db, "ab", 2, "AB", 2, EX_RULE(3, "keys equal") "\"ab\" is not a prefix match of "
               "\"abc\"");
    get_expect(db, "a\0b", 3, "NUL", 3, EX_RULE(3, "keys equal") "keys are bytes: a NUL inside "
               "a key counts");
    get_absent(db, "b", 1, EX_RULE(3, "no record: KV_NOT_FOUND") "an absent key that sorts "
               "between written ones");
    get_absent(db, "a\0", 2, EX_RULE(3, "keys equal") "a prefix of a written key is absent");
    kv_close(db);
}

static void get_empty_and_binary_values(void)
{
    kv_db *db = get_open(NULL);
    kv_put(db, "empty", 5, "", 0);
    static const char bin[] = {0, 1, 2, 0, (char)0xff, 0};
    kv_put(db, "bin", 3, bin, sizeof bin);
    get_expect(db, "empty", 5, "", 0, EX_RULE(5, "a copy of the value") "an empty value is a "
               "value: KV_OK with 0 bytes, not "
               "KV_NOT_FOUND");
    get_expect(db, "bin", 3, bin, sizeof bin, EX_RULE(5, "a copy of the value") "a value "
               "holding NUL bytes comes back whole");
    kv_close(db);
}

static void get_verifies_the_record_it_answers_with(void)
{
    const char *dir;
    kv_db *db = get_open(&dir);
    kv_put(db, "k", 1, "first", 5);
    kv_put(db, "k", 1, "secret", 6);
    kv_put(db, "z", 1, "after", 5);
    /* The file changes under the open database: one byte of the value of
     * k's last record (offset: header, record 1 of 16 bytes, then 10 + 1
     * bytes of the second record's header and key). */
    uint64_t at = FILE_HEADER_SIZE + 16 + 11 + 2;
    const char *path = harness_join(dir, "data.log");
    ex_poke_file(path, at, 'X');
    void *got = NULL;
    size_t gl = 0;
    harness_context("kv_get(k) whose answering record's value was damaged under the open database: "
                    "the record that answers is verified before its value is handed back, so "
                    "KV_ERR_CORRUPT");
    int rc = kv_get(db, "k", 1, &got, &gl);
    EX_CHECK(rc == KV_ERR_CORRUPT,
             EX_RULE(4, "the answering record verified") "the record that answers a get is "
             "verified (its checksum) before its value is "
             "handed back: a damaged value is KV_ERR_CORRUPT, never returned (got %d%s)", rc,
             rc == KV_OK && gl == 6 && memcmp(got, "seXret", 6) == 0 ? ": the damaged value"
                                                                     : "");
    if (rc == KV_OK)
        kv_free(got);
    size_t before = mallinfo2().uordblks;
    harness_context("kv_get(k) of a damaged record, 1000 times: a get that fails frees what it "
                    "allocated to read the record back");
    for (int i = 0; i < 1000 && rc == KV_ERR_CORRUPT; i++)
        rc = kv_get(db, "k", 1, &got, &gl);
    size_t after = mallinfo2().uordblks;
    EX_CHECK(after < before + 16384,
             EX_RULE(8, "free what it allocates") "a get that fails frees what it allocated to "
             "read the record back: 1000 gets of "
             "a damaged record left %zu more bytes in use", after > before ? after - before : 0);
    kv_close(db);
}

static void get_scan_checks_lengths_only(void)
{
    const char *dir;
    kv_db *db = get_open(&dir);
    kv_put(db, "a", 1, "first", 5);
    kv_put(db, "k", 1, "v", 1);
    /* The file changes under the open database: one byte of a's value
     * (header, then record 0's 10-byte header and 1-byte key).  a is not
     * what k's get answers with. */
    const char *path = harness_join(dir, "data.log");
    ex_poke_file(path, FILE_HEADER_SIZE + 11 + 2, 'X');
    get_expect(db, "k", 1, "v", 1,
               EX_RULE(2, "lengths only") "a get's scan checks the records' lengths only, not "
               "their checksums (kv_open "
               "verified every record below the end, and bytes there never change): a damaged "
               "value in another key's record does not fail a get of k, and a get does not "
               "pay a checksum of the whole log");
    kv_close(db);
}

static void get_scan_that_meets_damage_is_corrupt(void)
{
    const char *dir;
    kv_db *db = get_open(&dir);
    kv_put(db, "a", 1, "1", 1);
    kv_put(db, "k", 1, "v", 1);
    /* The file changes under the open database: the key length of record
     * 0 ("a", at the end of the file header) becomes 0, which no record
     * has: the scan stops there. */
    const char *path = harness_join(dir, "data.log");
    ex_poke_file(path, FILE_HEADER_SIZE + 4, 0);
    void *got = NULL;
    size_t gl = 0;
    harness_context("kv_get(k) whose scan meets record 0 with key_len 0 (changed under the open "
                    "database): KV_ERR_CORRUPT, neither KV_NOT_FOUND nor a value; never read past "
                    "the log's end");
    int rc = kv_get(db, "k", 1, &got, &gl);
    EX_CHECK(rc == KV_ERR_CORRUPT,
             EX_RULE(6, "bytes that are not a record") "a get whose scan meets bytes below the "
             "log's end that are not a record (the "
             "file changed since it was opened) fails with KV_ERR_CORRUPT: it cannot know the "
             "key's last record, so it answers neither KV_NOT_FOUND nor a value (got %d)", rc);
    if (rc == KV_OK)
        kv_free(got);
    kv_close(db);
}

static void get_scan_damage_names_its_offset(void)
{
    const char *dir;
    kv_db *db = get_open(&dir);
    kv_put(db, "a", 1, "1", 1);
    kv_put(db, "k", 1, "v", 1);
    kv_put(db, "z", 1, "w", 1);
    /* The file changes under the open database: the key length of record
     * 1 ("k", after the 12 bytes of record 0) becomes 0. */
    uint64_t at = FILE_HEADER_SIZE + 12;
    const char *path = harness_join(dir, "data.log");
    ex_poke_file(path, at + 4, 0);
    void *got = NULL;
    size_t gl = 0;
    harness_context("kv_get(z) whose scan meets record 1, at offset %llu, with key_len 0: "
                    "KV_ERR_CORRUPT, kv_errmsg naming data.log and that offset",
                    (unsigned long long)at);
    int rc = EX_KV(kv_get(db, "z", 1, &got, &gl));
    EX_CHECK(rc == KV_ERR_CORRUPT, EX_RULE(6, "bytes that are not a record") "a get whose scan "
             "meets bytes that are not a record is "
             "KV_ERR_CORRUPT (got %d)", rc);
    char want[32];
    snprintf(want, sizeof want, "offset %llu:", (unsigned long long)at);
    EX_CHECK(strstr(kv_errmsg(), "data.log") != NULL && strstr(kv_errmsg(), want) != NULL,
             EX_RULE(6, "the message names data.log and the offset") "kv_errmsg() names the "
             "file and the offset where the bytes that are no record "
             "start, where the scan stopped (\"%s\": record 1), not the record before it "
             "(got \"%s\")", want, kv_errmsg());
    if (rc == KV_OK)
        kv_free(got);
    kv_close(db);
}

static void get_counts_gets_and_bytes_scanned(void)
{
    kv_db *db = get_open(NULL);
    get_absent(db, "k", 1, "a get on an empty database");
    EX_CHECK(ex_stat(db, "session.gets") == 1 && ex_stat(db, "session.get_bytes_scanned") == 0,
             EX_RULE(7, "counts") "a get on an empty log is counted (session.gets 1) and scans "
             "no bytes "
             "(session.get_bytes_scanned 0; got %llu and %llu)",
             (unsigned long long)ex_stat(db, "session.gets"),
             (unsigned long long)ex_stat(db, "session.get_bytes_scanned"));
    kv_put(db, "k", 1, "one", 3);
    kv_put(db, "z", 1, "two", 3);
    get_expect(db, "k", 1, "one", 3, "a stored key");
    get_absent(db, "q", 1, "an absent key");
    uint64_t records = ex_stat(db, "log.bytes") - FILE_HEADER_SIZE;
    EX_CHECK(ex_stat(db, "session.gets") == 3,
             EX_RULE(7, "counts") "every kv_get is counted in session.gets: 3 here (got %llu)",
             (unsigned long long)ex_stat(db, "session.gets"));
    EX_CHECK(ex_stat(db, "session.get_bytes_scanned") == 2 * records,
             EX_RULE(7, "counts") "each get scans every record of the log, and "
             "session.get_bytes_scanned counts "
             "them: 2 gets of a log of %llu bytes of records is %llu (got %llu)",
             (unsigned long long)records, (unsigned long long)(2 * records),
             (unsigned long long)ex_stat(db, "session.get_bytes_scanned"));
    kv_close(db);
}

/* A read-only open of an empty directory has no log file (nor, after a
 * crash cut its header short, a record: invariant 1 of log_db.h): its end
 * is below LOG_DB_START, and a get answers at once, scanning nothing. */
static void get_without_records_scans_nothing(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.read_only = 1;
    kv_db *db = ex_open(harness_tmpdir(), &opt, "a read-only open of an empty directory");
    get_absent(db, "k", 1, "a get in a read-only open of an empty directory");
    EX_CHECK(ex_stat(db, "session.gets") == 1 && ex_stat(db, "session.get_bytes_scanned") == 0,
             EX_RULE(7, "counts") "a get where the log holds no record (a read-only open of an "
             "empty directory: "
             "no file, end below LOG_DB_START) is counted (session.gets 1), answers "
             "KV_NOT_FOUND before any scan and scans no bytes (session.get_bytes_scanned 0, "
             "not end - LOG_DB_START; got %llu and %llu)",
             (unsigned long long)ex_stat(db, "session.gets"),
             (unsigned long long)ex_stat(db, "session.get_bytes_scanned"));
    kv_close(db);
}

static const harness_test get_tests[] = {
    HARNESS_TEST(get_the_last_record_wins),
    HARNESS_TEST(get_at_a_snapshot_sees_nothing_past_its_end),
    HARNESS_TEST(get_a_delete_hides_the_key),
    HARNESS_TEST(get_keys_match_exactly),
    HARNESS_TEST(get_empty_and_binary_values),
    HARNESS_TEST(get_verifies_the_record_it_answers_with),
    HARNESS_TEST(get_scan_checks_lengths_only),
    HARNESS_TEST(get_scan_that_meets_damage_is_corrupt),
    HARNESS_TEST(get_scan_damage_names_its_offset),
    HARNESS_TEST(get_counts_gets_and_bytes_scanned),
    HARNESS_TEST(get_without_records_scans_nothing),
};
const harness_suite get_suite = HARNESS_SUITE("get", get_tests);
