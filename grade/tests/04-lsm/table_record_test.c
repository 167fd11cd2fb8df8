/*
 * table_record_test.c: exercise table_record, table_v1_record_decode
 * (stages/04-lsm/table_v1/table_v1_read.c): a record's head decoded from the bytes
 * a read gave, every length checked before it is believed, nothing read
 * past those bytes (the tests put them right before a page that cannot be
 * read).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "ex_table.h"
#include "exercise.h"
#include "kv.h"
#include "table_v1_format.h"

/* Decodes the first `got` bytes of rec (copied to guarded memory). */
static int tr_decode(const uint8_t *rec, size_t got, uint64_t room, int exact,
                     table_v1_record *r, const char **why, const char *what)
{
    uint8_t *p = ex_guarded_copy(rec, got);
    ex_context(EX_RULE(9, "nothing outside [p, p + got) read") "table_v1_record_decode of "
               "%s: given %zu bytes (got), room %llu%s; it must "
               "not read past the got bytes it was given", what, got,
               (unsigned long long)room, exact ? ", exact" : "");
    *why = NULL;
    memset(r, 0, sizeof *r);
    int rc = table_v1_record_decode(p, got, room, exact, r, why);
    harness_context("(after table_v1_record_decode of %s)", what);
    return rc;
}

static void table_record_decodes_heads(void)
{
    static char longkey[300];
    memset(longkey, 'q', sizeof longkey - 1);
    ex_entry e[] = {{"apple", 0, 2, IKEY_PUT, "red", 0},
                    {"fig", 0, 3, IKEY_DELETE, NULL, 0},
                    {"k", 0, 9, IKEY_PUT, "", 0},
                    {longkey, 0, 77, IKEY_PUT, "long", 0}};
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++) {
        uint8_t rec[400];
        size_t n = ex_record(&e[i], rec, 1);
        size_t vl = ex_entry_vlen(&e[i]);
        size_t head = n - vl;
        for (int exact = 0; exact <= 1; exact++) {
            table_v1_record r;
            const char *why;
            int rc = tr_decode(rec, n, n + (exact ? 0 : 100), exact, &r, &why, "a whole record");
            EX_CHECK(rc == TABLE_V1_REC_OK, EX_RULE(5, "a whole record") "a whole, valid record "
                     "(entry %zu, exact %d) "
                     "decodes: TABLE_V1_REC_OK (got %d: %s)", i, exact, rc, why ? why : "");
            uint8_t ik[400];
            size_t kl = ex_entry_ikey(&e[i], ik);
            EX_CHECK(r.head_len == head && r.value_len == vl && r.ikey_len == kl &&
                     memcmp(r.ikey, ik, kl) == 0,
                     "the head is decoded: head_len %zu (crcs, two varints, the key), value_len "
                     "%zu, ikey pointing at the internal key (entry %zu)", head, vl, i);
            EX_CHECK(r.head_crc == coding_get_u32(rec) && r.value_crc == coding_get_u32(rec + 4),
                     "head_crc and value_crc are the record's first two u32s");
        }
        /* Only the head given: that is enough. */
        table_v1_record r;
        const char *why;
        int rc = tr_decode(rec, head, n, 1, &r, &why, "a record's head without its value");
        EX_CHECK(rc == TABLE_V1_REC_OK && r.head_len == head, EX_RULE(4, "SHORT only when the "
                 "head is longer than got") "a head read without its value "
                 "decodes (the value is read and checked later): got %d", rc);
    }
}

static void table_record_short_head(void)
{
    static char longkey[300];
    memset(longkey, 'q', sizeof longkey - 1);
    ex_entry e = {longkey, 0, 77, IKEY_PUT, "long", 0};
    uint8_t rec[400];
    size_t n = ex_record(&e, rec, 1);
    for (size_t got = 18; got < n - 4; got += 37) {
        table_v1_record r;
        const char *why;
        int rc = tr_decode(rec, got, n, 1, &r, &why, "the first bytes of a record with a "
                           "307-byte key");
        EX_CHECK(rc == TABLE_V1_REC_SHORT, EX_RULE(4, "SHORT when the head is longer than got") "given %zu of a head\'s %zu bytes, the decoder says "
                 "TABLE_V1_REC_SHORT (the caller reads the rest), and must not read past the "
                 "bytes it was given (got %d)", got, n - 4, rc);
        EX_CHECK(r.head_len == n - 4, EX_RULE(4, "SHORT with head_len") "TABLE_V1_REC_SHORT "
                 "says how long the head is: head_len "
                 "%zu (got %zu)", n - 4, r.head_len);
    }
    /* A key of 100 bytes (108 with the trailer): both lengths are one
     * byte each, so the 8 bytes of checksums and the 2 of lengths, 10 in
     * all, are enough to know the head's length. */
    static char midkey[101];
    memset(midkey, 'm', sizeof midkey - 1);
    ex_entry m = {midkey, 0, 78, IKEY_PUT, "mid", 0};
    n = ex_record(&m, rec, 1);
    for (size_t got = 10; got < 14; got++) {
        table_v1_record r;
        const char *why = NULL;
        int rc = tr_decode(rec, got, n, 1, &r, &why, "the first bytes of a record with a "
                           "108-byte key (one-byte lengths)");
        EX_CHECK(rc == TABLE_V1_REC_SHORT && r.head_len == n - 3,
                 EX_RULE(4, "SHORT with head_len") "given %zu bytes of a head whose two lengths "
                 "take one byte each, the decoder "
                 "has the 8 bytes of checksums and the 2 of lengths (8 + 2), enough to say "
                 "TABLE_V1_REC_SHORT with head_len %zu (got %d, head_len %zu%s%s)", got, n - 3,
                 rc, rc == TABLE_V1_REC_SHORT ? r.head_len : 0, why ? ": " : "",
                 why ? why : "");
    }
}

/* rec with its head crc made right again after a change. */
static void tr_fix_crc(uint8_t *rec, size_t head_len)
{
    coding_put_u32(rec, crc32c_value(rec + 4, head_len - 4));
}

static void tr_expect_bad(const uint8_t *rec, size_t got, uint64_t room, int exact,
                          const char *what)
{
    table_v1_record r;
    const char *why;
    int rc = tr_decode(rec, got, room, exact, &r, &why, what);
    EX_CHECK(rc == TABLE_V1_REC_BAD && why != NULL && *why != '\0',
             "%s: " EX_RULE(8, "*why set on a refusal") "TABLE_V1_REC_BAD, with *why saying what "
             "is wrong (got %d)", what, rc);
}

static void table_record_refuses_bad_lengths(void)
{
    ex_entry e = {"apple", 0, 2, IKEY_PUT, "red", 0};
    uint8_t rec[600], bad[600];
    size_t n = ex_record(&e, rec, 1); /* 8 crcs, 0x0d, 0x03, 13 key bytes, 3 value bytes */
    tr_expect_bad(rec, 18, 18, 1, EX_RULE(3, "a record that does not fit its room") "a room of "
                  "18 bytes, below the smallest record (19)");
    tr_expect_bad(rec, n, n - 1, 0, EX_RULE(3, "a record that does not fit its room") "a record "
                  "that runs past its room");
    tr_expect_bad(rec, n, n + 1, 1, EX_RULE(3, "exact: the record fills its room") "a record "
                  "that does not fill its room exactly (exact)");
    /* A key of 8 bytes: a trailer and no user key, the trailer a valid
     * put's and the crcs right, so that only the length refuses it. */
    ex_entry empty = {"", 0, 2, IKEY_PUT, "red", 0};
    size_t en = ex_record(&empty, bad, 1);
    tr_expect_bad(bad, en, en, 1, EX_RULE(2, "lengths out of range") "an internal key of 8 bytes "
                  "(at least 9: a user key of one byte or more), its trailer a put's and its "
                  "crc32c right");
    tr_expect_bad(bad, 10, en, 1, EX_RULE(2, "lengths out of range") "the first 10 bytes of a "
                  "record whose internal key is 8 bytes (at least 9): the lengths alone refuse "
                  "it, BAD at once, not SHORT (asking for the rest of a head it will refuse)");
    memcpy(bad, rec, n);
    bad[8] = 0x88, bad[9] = 0x80, bad[10] = 0x04; /* key length 65544 */
    tr_expect_bad(bad, n, 70000, 0, EX_RULE(2, "lengths out of range") "an internal key of "
                  "65544 bytes (at most 65543)");
    memcpy(bad, rec, 10);
    bad[9] = 0x81, bad[10] = 0x80, bad[11] = 0x80, bad[12] = 0x20; /* value 64 MiB + 1 */
    tr_expect_bad(bad, 13, UINT64_C(1) << 40, 0, EX_RULE(2, "lengths out of range") "a value of "
                  "64 MiB + 1 byte");
    memset(bad, 0x80, sizeof bad);
    tr_expect_bad(bad, 14, 1000, 0, EX_RULE(1, "the lengths read within p[0, min(got, room))") "lengths that are no varint32 within the bytes given");
    memcpy(bad, rec, n);
    bad[12] ^= 1; /* a key byte */
    tr_expect_bad(bad, n, n, 1, EX_RULE(5, "the head\'s crc32c") "a head whose crc32c does not "
                  "match (a key byte flipped)");
    memcpy(bad, rec, n);
    bad[10 + 5] = 7; /* the trailer's type: neither put nor delete */
    tr_fix_crc(bad, 10 + 13);
    tr_expect_bad(bad, n, n, 1, EX_RULE(6, "an internal key") "an internal key of type 7");
    ex_entry d = {"apple", 0, 2, IKEY_DELETE, NULL, 0};
    n = ex_record(&d, bad, 1);
    bad[9] = 3; /* a tombstone with a 3-byte value */
    tr_fix_crc(bad, n);
    memcpy(bad + n, "abc", 3);
    tr_expect_bad(bad, n + 3, n + 3, 1, EX_RULE(7, "a tombstone has no value") "a tombstone "
                  "that carries a value");
    /* A head given in part (12 bytes of a 300-byte key's head) whose
     * lengths already say the record is longer than its room: BAD at once,
     * not SHORT (the caller would read the rest only to be refused, and
     * past the room). */
    static char longkey[300];
    memset(longkey, 'q', sizeof longkey - 1);
    ex_entry lk = {longkey, 0, 77, IKEY_PUT, "long", 0};
    uint8_t big[800];
    ex_record(&lk, big, 1);
    tr_expect_bad(big, 12, 100, 0, EX_RULE(3, "a record that does not fit its room") "12 bytes "
                  "of a record whose lengths (a 307-byte key) say it takes more than its room "
                  "of 100 bytes: refused at once, even though its head is not all there");
}

static const harness_test table_record_tests[] = {
    HARNESS_TEST(table_record_decodes_heads),
    HARNESS_TEST(table_record_short_head),
    HARNESS_TEST(table_record_refuses_bad_lengths),
};
const harness_suite table_record_suite = HARNESS_SUITE("table_record", table_record_tests);
