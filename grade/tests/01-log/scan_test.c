/*
 * scan_test.c: exercise scan, log_scan_next (common/log_scan.h): the
 * records of [start, limit) of a file, one at a time, through a buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ex_log.h"
#include "exercise.h"
#include "kv.h"
#include "file_header.h"
#include "io.h"
#include "log_scan.h"

static io_file *scan_open(const char *path)
{
    io_file *f = NULL;
    int rc = EX_KV(io_open(path, IO_READ, &f));
    EX_CHECK(rc == KV_OK, "cannot open the test's file %s: %s", path, ex_errmsg(rc));
    return f;
}

static void scan_every_record_in_order(void)
{
    uint64_t off[41];
    const char *path = ex_log_file(40, off, NULL, 0);
    io_file *f = scan_open(path);
    log_scan s;
    log_scan_init(&s, f, FILE_HEADER_SIZE, off[40]);
    for (int i = 0; i < 40; i++) {
        harness_context("log_scan_next for record %d of 40 in [16, %llu): records come whole, in "
                        "file order, with rec_offset and rec_size set", i,
                        (unsigned long long)off[40]);
        int rc = log_scan_next(&s);
        EX_CHECK(rc == LOG_SCAN_RECORD, EX_RULE(2, "a valid record") "record %d of 40 is "
                 "returned: LOG_SCAN_RECORD (got %d)",
                 i, rc);
        char k[16];
        int kl = snprintf(k, sizeof k, "k%d", i);
        EX_CHECK(s.rec.klen == (uint32_t)kl && memcmp(s.rec.key, k, (size_t)kl) == 0,
                 EX_RULE(2, "records in order") "the records come in file order: record %d has "
                 "key %s", i, k);
        EX_CHECK(s.rec_offset == off[i] && s.rec_size == off[i + 1] - off[i],
                 EX_RULE(2, "rec_offset and rec_size") "rec_offset and rec_size say where "
                 "record %d is: offset %llu, %llu bytes "
                 "(got %llu, %llu)", i, (unsigned long long)off[i],
                 (unsigned long long)(off[i + 1] - off[i]), (unsigned long long)s.rec_offset,
                 (unsigned long long)s.rec_size);
    }
    harness_context("log_scan_next at limit %llu, after the last of 40 records: LOG_SCAN_END, "
                    "again and again; nothing at or after limit is read",
                    (unsigned long long)off[40]);
    EX_CHECK(log_scan_next(&s) == LOG_SCAN_END, EX_RULE(1, "at limit") "after the last record: "
             "LOG_SCAN_END");
    EX_CHECK(log_scan_next(&s) == LOG_SCAN_END, EX_RULE(1, "at limit") "LOG_SCAN_END again if "
             "called again");
    log_scan_free(&s);
    io_close(f);
}

/* A caller that moves pos (rule 5) may move it past limit (past a bad
 * record that ran beyond it): still the end. */
static void scan_end_past_the_limit(void)
{
    uint64_t off[5];
    const char *path = ex_log_file(4, off, NULL, 0);
    io_file *f = scan_open(path);
    log_scan s;
    log_scan_init(&s, f, FILE_HEADER_SIZE, off[3]);
    for (int i = 0; i < 3; i++)
        EX_CHECK(log_scan_next(&s) == LOG_SCAN_RECORD, "record %d of [16, %llu) is returned", i,
                 (unsigned long long)off[3]);
    for (uint64_t past = 1; past <= 12; past += 11) {
        s.pos = off[3] + past;
        ex_context(EX_RULE(1, "at or past limit") "log_scan_next with pos moved by its caller "
                   "to %llu, %llu bytes past limit %llu (the file goes on): LOG_SCAN_END, "
                   "nothing read", (unsigned long long)s.pos, (unsigned long long)past,
                   (unsigned long long)off[3]);
        int rc = log_scan_next(&s);
        EX_CHECK(rc == LOG_SCAN_END, EX_RULE(1, "at or past limit") "pos %llu bytes past "
                 "limit: LOG_SCAN_END (got %d), as at limit itself: nothing at or after limit "
                 "is read", (unsigned long long)past, rc);
        EX_CHECK(log_scan_next(&s) == LOG_SCAN_END, EX_RULE(1, "at or past limit") "and "
                 "LOG_SCAN_END again if called again");
    }
    log_scan_free(&s);
    io_close(f);
}

static void scan_record_larger_than_the_buffer(void)
{
    size_t big = 3 * LOG_SCAN_CHUNK + 12345;
    uint8_t *buf = malloc(16 + 64 + big + 64);
    uint8_t *val = malloc(big);
    EX_CHECK(buf && val, "out of memory");
    for (size_t i = 0; i < big; i++)
        val[i] = (uint8_t)(i * 7);
    file_header_encode(buf, FILE_MAGIC_LOG01, 1);
    size_t n = 16;
    n += ex_log_record(buf + n, "a", 1, "1", 1);
    size_t at_big = n;
    n += ex_log_record(buf + n, "big", 3, val, big);
    n += ex_log_record(buf + n, "z", 1, "26", 2);
    const char *path = ex_write_file("data.log", buf, n);
    io_file *f = scan_open(path);
    log_scan s;
    log_scan_init(&s, f, FILE_HEADER_SIZE, n);
    harness_context("log_scan_next over a log whose record 2 is %zu bytes, larger than the %u-byte "
                    "buffer: a record larger than the buffer is read whole (grow the buffer to "
                    "the size its header announces)", big + 13, LOG_SCAN_CHUNK);
    EX_CHECK(log_scan_next(&s) == LOG_SCAN_RECORD, "the first record is returned");
    int rc = log_scan_next(&s);
    EX_CHECK(rc == LOG_SCAN_RECORD,
             EX_RULE(7, "a record larger than the buffer") "a record of %zu bytes, larger than "
             "the %u-byte buffer, is returned whole: grow "
             "the buffer to the size the header announces (got %d, why: %s)", big,
             LOG_SCAN_CHUNK, rc, s.why ? s.why : "-");
    EX_CHECK(s.rec_offset == at_big && s.rec.vlen == big && memcmp(s.rec.value, val, big) == 0,
             EX_RULE(7, "a record larger than the buffer") "the large record's value comes back "
             "byte for byte");
    harness_context("log_scan_next after the %zu-byte record: the next record, then LOG_SCAN_END "
                    "at limit %zu", big + 13, n);
    EX_CHECK(log_scan_next(&s) == LOG_SCAN_RECORD && s.rec.klen == 1 && s.rec.key[0] == 'z',
             EX_RULE(7, "a record larger than the buffer") "the record after the large one is "
             "returned");
    EX_CHECK(log_scan_next(&s) == LOG_SCAN_END, "then LOG_SCAN_END");
    log_scan_free(&s);
    io_close(f);
    free(buf);
    free(val);
}

static void scan_stops_at_the_limit(void)
{
    uint64_t off[11];
    const char *path = ex_log_file(10, off, NULL, 0);
    io_file *f = scan_open(path);
    log_scan s;
    /* The file holds 10 records; the scan is told that only 4 are valid
     * (what a reader sees while a writer appends the rest). */
    harness_context("log_scan_next of [16, %llu), records 0..3 of a 10-record file: a scan ends "
                    "at limit, LOG_SCAN_END, though the file goes on; nothing at or after limit "
                    "is read", (unsigned long long)off[4]);
    log_scan_init(&s, f, FILE_HEADER_SIZE, off[4]);
    for (int i = 0; i < 4; i++)
        EX_CHECK(log_scan_next(&s) == LOG_SCAN_RECORD, "record %d, below the limit, is returned",
                 i);
    int rc = log_scan_next(&s);
    EX_CHECK(rc == LOG_SCAN_END,
             EX_RULE(6, "nothing at or after limit") "a scan of [start, limit) ends at limit, "
             "even though the file goes on: the bytes "
             "after limit are not the scan's to read (got %d, the scan is at offset %llu, "
             "limit %llu)", rc, (unsigned long long)s.pos, (unsigned long long)off[4]);
    log_scan_free(&s);

    /* A limit inside record 6: that record runs past it. */
    harness_context("log_scan_next of [%llu, %llu), records 3..5 then 5 bytes of record 6: a "
                    "record running past limit is LOG_SCAN_BAD, short_record = 1, pos at it; "
                    "nothing past limit is read", (unsigned long long)off[3],
                    (unsigned long long)(off[6] + 5));
    log_scan_init(&s, f, off[3], off[6] + 5);
    for (int i = 3; i < 6; i++)
        EX_CHECK(log_scan_next(&s) == LOG_SCAN_RECORD, "a scan may start at any record: record "
                 "%d is returned", i);
    rc = log_scan_next(&s);
    EX_CHECK(rc == LOG_SCAN_BAD && s.pos == off[6],
             EX_RULE(6, "nothing at or after limit") "a record that runs past limit is "
             "LOG_SCAN_BAD, the scan staying at its offset %llu, even if the file has the rest "
             "of it (got %d, pos %llu)", (unsigned long long)off[6], rc,
             (unsigned long long)s.pos);
    EX_CHECK(s.short_record == 1, EX_RULE(3, "short_record") "a record that runs past limit "
             "has short_record = 1 (got %d)", s.short_record);
    log_scan_free(&s);
    io_close(f);
}

static void scan_stops_at_a_cut_record(void)
{
    uint64_t off[6];
    const char *path = ex_log_file(5, off, NULL, 0);
    size_t n;
    uint8_t *bytes = ex_read_file(path, &n);
    path = ex_write_file("data.log", bytes, (size_t)off[5] - 3); /* the last record cut */
    free(bytes);
    io_file *f = scan_open(path);
    log_scan s;
    harness_context("log_scan_next of a 5-record log whose last record is cut 3 bytes short by the "
                    "end of the file (limit %llu): 4 records, then LOG_SCAN_BAD, short_record = 1, "
                    "pos at it, why set", (unsigned long long)(off[5] - 3));
    log_scan_init(&s, f, FILE_HEADER_SIZE, off[5] - 3);
    for (int i = 0; i < 4; i++)
        EX_CHECK(log_scan_next(&s) == LOG_SCAN_RECORD, "record %d, before the cut, is returned",
                 i);
    int rc = log_scan_next(&s);
    EX_CHECK(rc == LOG_SCAN_BAD, EX_RULE(3, "bytes that are not a record") "a record cut short "
             "by the end of the file is LOG_SCAN_BAD "
             "(got %d)", rc);
    EX_CHECK(s.short_record == 1, EX_RULE(3, "short_record") "a record cut short has "
             "short_record = 1: it runs past the "
             "limit, which is what a crash leaves (log_damage.h decides)");
    EX_CHECK(s.pos == off[4], EX_RULE(3, "pos stays at the bad bytes") "after LOG_SCAN_BAD the "
             "scan stays at the bad record's offset "
             "%llu (got %llu)", (unsigned long long)off[4], (unsigned long long)s.pos);
    EX_CHECK(s.why != NULL, EX_RULE(3, "why") "LOG_SCAN_BAD sets why");
    log_scan_free(&s);
    io_close(f);
}

/* A log of five records whose record 2's key is damaged (its checksum no
 * longer matches); off[0..5] get the records' offsets. */
static const char *scan_damaged_log(uint64_t off[6])
{
    const char *path = ex_log_file(5, off, NULL, 0);
    size_t n;
    uint8_t *bytes = ex_read_file(path, &n);
    bytes[off[2] + 11] ^= 0x40;
    path = ex_write_file("data.log", bytes, n);
    free(bytes);
    return path;
}

static void scan_stops_at_a_damaged_record(void)
{
    uint64_t off[6];
    const char *path = scan_damaged_log(off);
    io_file *f = scan_open(path);
    log_scan s;
    harness_context("log_scan_next of 5 records whose record 2 has a damaged key byte: records 0, "
                    "1, then LOG_SCAN_BAD with short_record = 0 (damaged where it lies), pos at "
                    "record 2, why set");
    log_scan_init(&s, f, FILE_HEADER_SIZE, off[5]);
    for (int i = 0; i < 2; i++)
        EX_CHECK(log_scan_next(&s) == LOG_SCAN_RECORD, "record %d, before the damage, is "
                 "returned", i);
    int rc = log_scan_next(&s);
    EX_CHECK(rc == LOG_SCAN_BAD && s.short_record == 0 && s.pos == off[2],
             EX_RULE(4, "verify_checksums = 1") "a record whose checksum does not match is "
             "LOG_SCAN_BAD, damaged where it lies "
             "(short_record 0), the scan staying at it (got %d, short_record %d)", rc,
             s.short_record);
    EX_CHECK(s.why != NULL && s.why[0] != '\0',
             EX_RULE(3, "why") "LOG_SCAN_BAD sets why, what the decoder said (here, a checksum "
             "mismatch): it is "
             "what kv_check and kv_open report");
    log_scan_free(&s);
    io_close(f);
}

/* A caller that finds where records resume after damage (kv_check's
 * report, log_damage_resync) moves pos there and scans on, with the same
 * scan: LOG_SCAN_BAD leaves the scan's buffer describing what it holds. */
static void scan_goes_on_where_the_caller_resumes_it(void)
{
    uint64_t off[6];
    const char *path = scan_damaged_log(off);
    io_file *f = scan_open(path);
    log_scan s;
    harness_context("log_scan_next of 5 records whose record 2 has a damaged key byte: records 0, "
                    "1, then LOG_SCAN_BAD at record 2");
    log_scan_init(&s, f, FILE_HEADER_SIZE, off[5]);
    for (int i = 0; i < 2; i++)
        EX_CHECK(log_scan_next(&s) == LOG_SCAN_RECORD, "record %d, before the damage, is "
                 "returned", i);
    EX_CHECK(log_scan_next(&s) == LOG_SCAN_BAD, "record 2, damaged, is LOG_SCAN_BAD");
    harness_context("log_scan_next after LOG_SCAN_BAD, pos moved by the caller to %llu: the scan "
                    "goes on from there, reading the file's bytes at pos (the buffer still says "
                    "which bytes it holds)", (unsigned long long)off[3]);
    s.pos = off[3]; /* where records resume, as log_damage_resync finds it */
    for (int i = 3; i < 5; i++) {
        int rc = log_scan_next(&s);
        char k[16];
        int kl = snprintf(k, sizeof k, "k%d", i);
        EX_CHECK(rc == LOG_SCAN_RECORD && s.rec.klen == (uint32_t)kl &&
                     memcmp(s.rec.key, k, (size_t)kl) == 0 && s.rec_offset == off[i],
                 EX_RULE(5, "a scan resumed by its caller") "moved past the damage to offset "
                 "%llu, the scan goes on from there: record "
                 "%d, key %s, at offset %llu (got %d): after LOG_SCAN_BAD the buffer still "
                 "says which bytes of the file it holds (buf_off), so the bytes read are "
                 "the file's at pos", (unsigned long long)off[3], i, k,
                 (unsigned long long)off[i], rc);
    }
    EX_CHECK(log_scan_next(&s) == LOG_SCAN_END, "then LOG_SCAN_END");
    log_scan_free(&s);
    io_close(f);
}

static void scan_stops_at_damage(void)
{
    uint64_t off[6];
    const char *path = ex_log_file(5, off, NULL, 0);
    ex_poke_file(path, off[2] + 11, 'X'); /* a key byte of record 2 */
    io_file *f = scan_open(path);
    log_scan s;
    harness_context("log_scan_next of 5 records, a key byte of record 2 poked: records 0, 1, then "
                    "LOG_SCAN_BAD, short_record = 0, pos at %llu, and again if called again",
                    (unsigned long long)off[2]);
    log_scan_init(&s, f, FILE_HEADER_SIZE, off[5]);
    EX_CHECK(log_scan_next(&s) == LOG_SCAN_RECORD && log_scan_next(&s) == LOG_SCAN_RECORD,
             "the records before the damage are returned");
    int rc = log_scan_next(&s);
    EX_CHECK(rc == LOG_SCAN_BAD && s.short_record == 0 && s.pos == off[2],
             EX_RULE(3, "short_record") "a record whose checksum fails is LOG_SCAN_BAD with "
             "short_record = 0 (it fits: "
             "damaged where it lies), the scan at its offset %llu (got %d, short_record %d, "
             "pos %llu)", (unsigned long long)off[2], rc, s.short_record,
             (unsigned long long)s.pos);
    EX_CHECK(log_scan_next(&s) == LOG_SCAN_BAD && s.pos == off[2],
             EX_RULE(3, "pos stays at the bad bytes") "called again, the scan stays at the damage");
    log_scan_free(&s);

    harness_context("log_scan_next with verify_checksums = 0 over 5 records, record 2 damaged: "
                    "only the lengths are checked (log_record_parse), so all 5 come back, then "
                    "LOG_SCAN_END");
    log_scan_init(&s, f, FILE_HEADER_SIZE, off[5]);
    s.verify_checksums = 0;
    for (int i = 0; i < 5; i++)
        EX_CHECK(log_scan_next(&s) == LOG_SCAN_RECORD,
                 EX_RULE(4, "verify_checksums = 0") "with verify_checksums = 0 only the lengths "
                 "are checked: record %d is "
                 "returned, the damaged one included", i);
    EX_CHECK(log_scan_next(&s) == LOG_SCAN_END, "then LOG_SCAN_END");
    log_scan_free(&s);
    io_close(f);
}

static void scan_knows_a_cut_record_without_reading_again(void)
{
    uint64_t off[6];
    const char *path = ex_log_file(5, off, NULL, 0);
    size_t n;
    uint8_t *bytes = ex_read_file(path, &n);
    path = ex_write_file("data.log", bytes, (size_t)off[5] - 3); /* the last record cut */
    free(bytes);
    io_file *f = scan_open(path);
    log_scan s;
    harness_context("log_scan_next of a 5-record log whose last record is cut 3 bytes short (limit "
                    "%llu): LOG_SCAN_BAD, short_record = 1, known from its header alone, in one "
                    "read", (unsigned long long)(off[5] - 3));
    log_scan_init(&s, f, FILE_HEADER_SIZE, off[5] - 3);
    uint64_t reads0 = 0, bytes0 = 0, reads1 = 0, bytes1 = 0;
    io_thread_reads(&reads0, &bytes0);
    for (int i = 0; i < 4; i++)
        EX_CHECK(log_scan_next(&s) == LOG_SCAN_RECORD, "record %d, before the cut, is returned",
                 i);
    int rc = log_scan_next(&s);
    io_thread_reads(&reads1, &bytes1);
    EX_CHECK(rc == LOG_SCAN_BAD && s.short_record == 1 && s.pos == off[4],
             EX_RULE(3, "short_record") "a record cut short by the limit is LOG_SCAN_BAD with "
             "short_record = 1 (got %d, "
             "short_record %d)", rc, s.short_record);
    EX_CHECK(reads1 - reads0 == 1,
             EX_RULE(8, "no read again") "a region of %llu bytes (less than LOG_SCAN_CHUNK) is "
             "read in one read, and a "
             "record that runs past limit is known from its header alone: its size says so "
             "(pos + size > limit), so the scan does not fill again to find out (got %llu "
             "reads)", (unsigned long long)(off[5] - 3 - FILE_HEADER_SIZE),
             (unsigned long long)(reads1 - reads0));
    log_scan_free(&s);
    io_close(f);
}

static const harness_test scan_tests[] = {
    HARNESS_TEST(scan_every_record_in_order),
    HARNESS_TEST(scan_record_larger_than_the_buffer),
    HARNESS_TEST(scan_stops_at_the_limit),
    HARNESS_TEST(scan_end_past_the_limit),
    HARNESS_TEST(scan_stops_at_a_cut_record),
    HARNESS_TEST(scan_knows_a_cut_record_without_reading_again),
    HARNESS_TEST(scan_stops_at_damage),
    HARNESS_TEST(scan_stops_at_a_damaged_record),
    HARNESS_TEST(scan_goes_on_where_the_caller_resumes_it),
};
const harness_suite scan_suite = HARNESS_SUITE("scan", scan_tests);
