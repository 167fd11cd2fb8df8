/*
 * torn_tail_test.c: exercise torn_tail, log_damage_classify
 * (common/log_damage.h): is the damage a scan stopped at what a crash
 * leaves (a torn tail, cut off at open), or damage (refused)?
 */
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "ex_log.h"
#include "exercise.h"
#include "kv.h"
#include "file_header.h"
#include "io.h"
#include "log_damage.h"

/* Classifies the damage at `bad` of the file `bytes` (n of them). */
static log_damage torn_classify(const uint8_t *bytes, size_t n, uint64_t bad, int short_record)
{
    const char *path = ex_write_file("data.log", bytes, n);
    io_file *f = NULL;
    EX_CHECK(io_open(path, IO_READ, &f) == KV_OK, "cannot open the test's file");
    log_damage d;
    memset(&d, 0x5a, sizeof d);
    harness_context("log_damage_classify of the damage at %llu of a %zu-byte file (short_record "
                    "%d): torn only if it runs past the end, no one-byte length change makes it "
                    "whole, and no valid record starts after it", (unsigned long long)bad, n,
                    short_record);
    int rc = log_damage_classify(f, bad, "what the scan said", short_record, n, &d);
    EX_CHECK(rc == KV_OK, "log_damage_classify returns KV_OK on a readable file (got %d)", rc);
    EX_CHECK(d.offset == bad, EX_RULE(5, "d->offset") "d.offset is the damage's offset, %llu "
             "(got %llu)",
             (unsigned long long)bad, (unsigned long long)d.offset);
    EX_CHECK(d.why != NULL && d.why[0] != '\0',
             EX_RULE(5, "d->why") "d.why gives a reason for the damage at %llu",
             (unsigned long long)bad);
    io_close(f);
    return d;
}

/* A log of 5 records, then a put whose header announces `vlen` bytes of
 * value of which only `have` follow, then `after` (m bytes). */
static uint8_t *torn_log(size_t vlen, size_t have, const uint8_t *after, size_t m, size_t *n,
                         uint64_t *bad)
{
    uint64_t off[6];
    const char *path = ex_log_file(5, off, NULL, 0);
    size_t len;
    uint8_t *base = ex_read_file(path, &len);
    uint8_t *buf = malloc(len + 10 + 8 + vlen + m);
    uint8_t *val = calloc(1, vlen + 1);
    EX_CHECK(buf && val, "out of memory");
    memcpy(buf, base, len);
    memset(val, 'v', vlen);
    size_t rec = ex_log_record(buf + len, "torn-key", 8, val, vlen);
    size_t cut = 10 + 8 + have;
    EX_CHECK(cut <= rec, "test setup");
    if (m > 0) /* (after is NULL when nothing follows) */
        memcpy(buf + len + cut, after, m);
    *bad = len;
    *n = len + cut + m;
    free(base);
    free(val);
    return buf;
}

static void torn_tail_last_record_cut_short(void)
{
    size_t n;
    uint64_t bad;
    uint8_t *b = torn_log(1000, 400, NULL, 0, &n, &bad);
    log_damage d = torn_classify(b, n, bad, 1);
    EX_CHECK(d.torn == 1 || d.searched,
             EX_RULES("1 and 2", "a record that runs past the end, no one-byte change making "
                      "it whole") "a last record cut short by the end of the file "
             "(short_record 1), whose lengths no one-byte change makes whole, goes on to the "
             "search (rule 3): it was called not torn before any search");
    EX_CHECK(d.torn == 1,
             EX_RULE(3, "nothing valid after it") "a last record cut short by the end of the "
             "file, with nothing valid after it, is a "
             "torn tail (rules 1, 2 and 3 of log_damage.h hold): d.torn = 1");
    EX_CHECK(d.searched == 1 && d.has_next == 0,
             EX_RULE(4, "d->searched, d->has_next") "a torn tail was searched after (rule 3) "
             "and nothing found: searched = 1, "
             "has_next = 0");
    free(b);
}

static void torn_tail_header_cut_short(void)
{
    size_t n;
    uint64_t bad;
    uint8_t *b = torn_log(10, 0, NULL, 0, &n, &bad);
    n = (size_t)bad + 4; /* 4 bytes of the header left */
    log_damage d = torn_classify(b, n, bad, 1);
    EX_CHECK(d.torn == 1, EX_RULE(1, "a record that runs past the end") "fewer than 10 bytes at "
             "the end of the file (part of a header) are a "
             "torn tail: rule 1 holds, nothing can follow");
    free(b);
}

static void torn_tail_not_when_damaged_where_it_lies(void)
{
    uint64_t off[6];
    const char *path = ex_log_file(5, off, NULL, 0);
    size_t n;
    uint8_t *b = ex_read_file(path, &n);
    b[off[4] + 12] ^= 0xff; /* the last record, whole, one byte flipped */
    log_damage d = torn_classify(b, n, off[4], 0);
    EX_CHECK(d.torn == 0,
             EX_RULE(1, "a record that runs past the end") "rule 1: bytes that fit in the file "
             "but are no record (here a checksum "
             "mismatch in the last record) were damaged where they lie: not torn, even at "
             "the end of the file");
    EX_CHECK(d.searched == 0, EX_RULE(1, "no search") "rule 1 failing settles it: no search "
             "after the damage "
             "(searched = 0)");
    free(b);
}

static void torn_tail_not_when_a_record_follows(void)
{
    uint8_t after[64];
    size_t m = ex_log_record(after, "later", 5, "still-here", 10);
    size_t n;
    uint64_t bad;
    /* A header announcing 5000 bytes, then 30 of them, then a valid
     * record: the file ends before the announced end, but a crash does
     * not leave a valid record after the write it interrupted. */
    uint8_t *b = torn_log(5000, 30, after, m, &n, &bad);
    log_damage d = torn_classify(b, n, bad, 1);
    EX_CHECK(d.torn == 0,
             EX_RULE(3, "a valid record after it") "rule 3: a valid record starts after the "
             "damage, so it is not a torn tail (a "
             "damaged length with data after it): cutting it would lose that record");
    EX_CHECK(d.searched == 1 && d.has_next == 1 && d.next == bad + 10 + 8 + 30,
             EX_RULE(4, "d->has_next, d->next") "has_next = 1 and next = %llu, where the valid "
             "record starts (got searched %d, "
             "has_next %d, next %llu)", (unsigned long long)(bad + 48), d.searched, d.has_next,
             (unsigned long long)d.next);
    free(b);
}

static void torn_tail_not_when_only_a_length_is_wrong(void)
{
    uint64_t off[6];
    const char *path = ex_log_file(5, off, NULL, 0);
    size_t n;
    uint8_t *b = ex_read_file(path, &n);
    /* The last record is whole, but one byte of its value_len grew: it now
     * seems to run past the end of the file. */
    b[off[4] + 6] += 40;
    log_damage d = torn_classify(b, n, off[4], 1);
    EX_CHECK(d.torn == 0,
             EX_RULE(2, "a one-byte change to its lengths") "rule 2: the last record is whole "
             "and one changed byte in its lengths makes it a "
             "valid record ending at the end of the file: its length was damaged; it was not "
             "torn, and cutting it would lose an acknowledged write");
    free(b);
}

static void torn_tail_search_starts_at_the_next_byte(void)
{
    /* One damaged byte, then a valid record: the header read at the
     * damaged byte takes its lengths from the record's checksum and key
     * length, and runs past the end of the file. */
    uint8_t extra[64];
    extra[0] = 0x01;
    size_t m = 1 + ex_log_record(extra + 1, "later", 5, "still-here", 10);
    uint64_t off[6];
    const char *path = ex_log_file(5, off, extra, m);
    size_t n;
    uint8_t *b = ex_read_file(path, &n);
    uint64_t bad = off[5];
    log_damage d = torn_classify(b, n, bad, 1);
    EX_CHECK(d.torn == 0 && d.has_next == 1 && d.next == bad + 1,
             EX_RULE(3, "the search from bad + 1") "rule 3: the search for a valid record "
             "starts at the byte right after the "
             "damage, bad + 1; here a valid record starts there, so it is no torn tail "
             "(got torn %d, has_next %d, next %llu; want next %llu)", d.torn, d.has_next,
             (unsigned long long)d.next, (unsigned long long)(bad + 1));
    free(b);
}

static void torn_tail_search_finds_nothing_before_the_damage(void)
{
    /* The last whole record P ends at bad, where a header whose lengths
     * run past the end of the file starts.  The bytes from bad - 1 (P's
     * last byte on) would read as a valid record R: its checksum's first
     * byte is P's last, the rest of R runs to the end of the file.  R
     * starts inside P, before the damage, so it is no record after it. */
    uint8_t r[32];
    static const uint8_t rkey[3] = {0x00, 'r', 'k'}; /* read at bad: value length 0 */
    size_t rn = ex_log_record(r, rkey, sizeof rkey, "vvvvv", 5);
    uint64_t off[6];
    const char *path = ex_log_file(5, off, NULL, 0);
    size_t len;
    uint8_t *base = ex_read_file(path, &len);
    uint8_t *b = malloc(len + 64);
    EX_CHECK(b != NULL, "out of memory");
    memcpy(b, base, len);
    char pval[8] = "pppppp";
    pval[5] = (char)r[0];
    size_t pn = ex_log_record(b + len, "last", 4, pval, 6);
    uint64_t bad = len + pn;
    memcpy(b + bad - 1, r, rn);
    size_t n = (size_t)bad - 1 + rn;
    /* The header at bad: key length 5 << 8 (R's value length), value
     * length 0: 1290 bytes, past the end of the file. */
    uint32_t klen = coding_get_u16(b + bad + 4), vfield = coding_get_u32(b + bad + 6);
    EX_CHECK(klen == 5 << 8 && vfield == 0 && LOG_RECORD_HEADER + klen > n - bad, "test setup");
    log_damage d = torn_classify(b, n, bad, 1);
    EX_CHECK(d.torn == 1 && d.has_next == 0,
             EX_RULE(3, "the search from bad + 1") "rule 3: only a valid record starting after "
             "the damage (from bad + 1 on) counts; "
             "bytes from bad - 1 that read as a record start inside the last valid record, "
             "before the damage, and are none: this is a torn tail (got torn %d, has_next %d, "
             "next %llu; bad is %llu)", d.torn, d.has_next,
             (unsigned long long)(d.has_next ? d.next : 0), (unsigned long long)bad);
    free(base);
    free(b);
}

static void torn_tail_read_error_is_returned(void)
{
    /* A torn record, then a header whose lengths ask for bytes past the
     * end of the file; the caller's limit says the file is longer than it
     * is (it was cut since), so checking that header fails to read. */
    uint8_t after[LOG_RECORD_HEADER] = {0};
    coding_put_u16(after + 4, 1);
    coding_put_u32(after + 6, 100);
    size_t n;
    uint64_t bad;
    uint8_t *b = torn_log(1000, 400, after, sizeof after, &n, &bad);
    const char *path = ex_write_file("data.log", b, n);
    io_file *f = NULL;
    EX_CHECK(io_open(path, IO_READ, &f) == KV_OK, "cannot open the test's file");
    log_damage d;
    memset(&d, 0x5a, sizeof d);
    harness_context("log_damage_classify at %llu with a limit 4096 bytes past the file's "
                    "end: a read error during the search is returned, never taken for an "
                    "answer", (unsigned long long)bad);
    int rc = log_damage_classify(f, bad, "what the scan said", 1, n + 4096, &d);
    EX_CHECK(rc < 0,
             EX_RULE(6, "an error of the search") "an error reading the file during the search "
             "(rule 3) is returned, never taken "
             "for an answer: a verdict on bytes nobody read could call damage a torn tail and "
             "cut it (got %d, torn %d)", rc, d.torn);
    io_close(f);
    free(b);
}

static const harness_test torn_tail_tests[] = {
    HARNESS_TEST(torn_tail_last_record_cut_short),
    HARNESS_TEST(torn_tail_header_cut_short),
    HARNESS_TEST(torn_tail_not_when_damaged_where_it_lies),
    HARNESS_TEST(torn_tail_not_when_a_record_follows),
    HARNESS_TEST(torn_tail_not_when_only_a_length_is_wrong),
    HARNESS_TEST(torn_tail_search_starts_at_the_next_byte),
    HARNESS_TEST(torn_tail_search_finds_nothing_before_the_damage),
    HARNESS_TEST(torn_tail_read_error_is_returned),
};
const harness_suite torn_tail_suite = HARNESS_SUITE("torn_tail", torn_tail_tests);
