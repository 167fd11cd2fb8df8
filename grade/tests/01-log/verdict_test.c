/*
 * verdict_test.c: exercise verdict, log_verdict_judge
 * (stages/01-log/log/log_verdict.c): keep, cut or refuse data.log, the one
 * decision both kv_open and kv_check act on.
 */
#include <stdlib.h>
#include <string.h>

#include "ex_log.h"
#include "exercise.h"
#include "kv.h"
#include "io.h"
#include "log_db.h"

static log_verdict verdict_of(const uint8_t *bytes, size_t n, int strict)
{
    const char *path = ex_write_file("data.log", bytes, n);
    io_file *f = NULL;
    EX_CHECK(io_open(path, IO_READ, &f) == KV_OK, "cannot open the test's file");
    log_verdict v;
    memset(&v, 0x5a, sizeof v);
    harness_context("log_verdict_judge of a %zu-byte data.log%s: KEEP when nothing is damaged, CUT "
                    "a torn tail (REFUSE it with strict_recovery), REFUSE any other damage", n,
                    strict ? " (strict_recovery)" : "");
    int rc = log_verdict_judge(f, n, strict, &v);
    EX_CHECK(rc == KV_OK, "log_verdict_judge returns KV_OK on a readable file (got %d)", rc);
    io_close(f);
    return v;
}

static uint8_t *verdict_log(size_t n_records, uint64_t *off, size_t *n)
{
    const char *path = ex_log_file(n_records, off, NULL, 0);
    return ex_read_file(path, n);
}

static void verdict_keeps_an_intact_log(void)
{
    uint64_t off[8];
    size_t n;
    uint8_t *b = verdict_log(7, off, &n);
    log_verdict v = verdict_of(b, n, 0);
    EX_CHECK(v.action == LOG_VERDICT_KEEP, EX_RULE(1, "KEEP") "every byte is header or record: "
             "KEEP");
    EX_CHECK(v.keep == n && v.cut == 0, EX_RULE(1, "KEEP") "KEEP keeps the whole file: keep = "
             "%zu, cut = 0 (got "
             "%llu, %llu)", n, (unsigned long long)v.keep, (unsigned long long)v.cut);
    EX_CHECK(v.r.records == 7, "v.r says what the file holds: 7 records (got %llu)",
             (unsigned long long)v.r.records);
    free(b);
}

static void verdict_keeps_an_empty_file(void)
{
    log_verdict v = verdict_of((const uint8_t *)"", 0, 1);
    EX_CHECK(v.action == LOG_VERDICT_KEEP,
             EX_RULE(1, "KEEP") "an empty file (created, nothing written) is no damage: KEEP, "
             "strict or not");
}

static void verdict_cuts_a_torn_tail(void)
{
    uint64_t off[8];
    size_t n;
    uint8_t *b = verdict_log(7, off, &n);
    size_t cut_at = (size_t)off[6] + 5; /* the last record cut short */
    log_verdict v = verdict_of(b, cut_at, 0);
    EX_CHECK(v.action == LOG_VERDICT_CUT, EX_RULE(2, "CUT a torn tail") "a torn tail is cut "
             "off: CUT (got %d)", v.action);
    EX_CHECK(v.keep == off[6] && v.cut == 5,
             EX_RULE(2, "keep and cut") "CUT keeps [0, %llu), where the records end, and cuts "
             "the 5 bytes after it (got "
             "keep %llu, cut %llu)", (unsigned long long)off[6], (unsigned long long)v.keep,
             (unsigned long long)v.cut);
    v = verdict_of(b, cut_at, 1);
    EX_CHECK(v.action == LOG_VERDICT_REFUSE,
             EX_RULE(3, "strict_recovery") "with strict_recovery a torn tail is refused, not "
             "cut: REFUSE (got %d)", v.action);
    EX_CHECK(v.keep == off[6] && v.cut == 5,
             EX_RULE(3, "strict_recovery") "a torn tail refused keeps keep and cut as CUT would "
             "set them, %llu and 5, so that the refusal says how many bytes the tear holds (got "
             "keep %llu, cut %llu)", (unsigned long long)off[6], (unsigned long long)v.keep,
             (unsigned long long)v.cut);
    free(b);
}

static void verdict_refuses_damage(void)
{
    uint64_t off[8];
    size_t n;
    uint8_t *b = verdict_log(7, off, &n);
    b[off[3] + 11] ^= 0x20; /* a record in the middle */
    log_verdict v = verdict_of(b, n, 0);
    EX_CHECK(v.action == LOG_VERDICT_REFUSE,
             EX_RULE(4, "REFUSE other damage") "damage that is not a torn tail (a flipped byte "
             "in the middle of the log) is "
             "refused: REFUSE, never CUT, which would drop acknowledged writes (got %d)",
             v.action);
    b[off[3] + 11] ^= 0x20;
    b[off[6] + 12] ^= 0x01; /* the last record, whole */
    v = verdict_of(b, n, 0);
    EX_CHECK(v.action == LOG_VERDICT_REFUSE,
             EX_RULE(4, "REFUSE other damage") "a flipped byte in the last record, which is "
             "whole, is damage, not a torn tail: "
             "REFUSE (got %d)", v.action);
    free(b);
}

static void verdict_cuts_a_torn_header(void)
{
    uint64_t off[2];
    size_t n;
    uint8_t *b = verdict_log(1, off, &n);
    log_verdict v = verdict_of(b, 7, 0);
    EX_CHECK(v.action == LOG_VERDICT_CUT && v.keep == 0,
             EX_RULE(2, "CUT a torn tail") "a file holding only part of its 16-byte header (a "
             "creation cut short) is a torn "
             "tail at offset 0: CUT, keep = 0 (got action %d, keep %llu)", v.action,
             (unsigned long long)v.keep);
    free(b);
}

static void verdict_read_error_is_returned(void)
{
    const char *path = ex_write_file("data.log", "abc", 3);
    io_file *f = NULL;
    EX_CHECK(io_open(path, IO_READ, &f) == KV_OK, "cannot open the test's file");
    log_verdict v;
    memset(&v, 0x5a, sizeof v);
    harness_context("log_verdict_judge of a 3-byte file said to be 16 bytes long");
    int rc = log_verdict_judge(f, 16, 0, &v);
    EX_CHECK(rc < 0,
             EX_RULE(5, "an error of log_replay_file") "an error reading data.log (here, the "
             "file is shorter than the size given) is "
             "returned, not judged: a verdict on bytes nobody read could keep or cut anything "
             "(got %d)", rc);
    io_close(f);
}

static const harness_test verdict_tests[] = {
    HARNESS_TEST(verdict_keeps_an_intact_log),
    HARNESS_TEST(verdict_keeps_an_empty_file),
    HARNESS_TEST(verdict_cuts_a_torn_tail),
    HARNESS_TEST(verdict_refuses_damage),
    HARNESS_TEST(verdict_cuts_a_torn_header),
    HARNESS_TEST(verdict_read_error_is_returned),
};
const harness_suite verdict_suite = HARNESS_SUITE("verdict", verdict_tests);
