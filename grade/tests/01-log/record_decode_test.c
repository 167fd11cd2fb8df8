/*
 * record_decode_test.c: exercise record_decode, log_record_parse and
 * log_record_decode (common/log_record.h): a record read from the bytes
 * [p, limit), never looking outside them.
 */
#include <string.h>

#include "coding.h"
#include "ex_log.h"
#include "exercise.h"
#include "kv.h"
#include "log_record.h"

static void record_decode_put(void)
{
    uint8_t buf[64];
    size_t n = ex_log_record(buf, "ab", 2, "xyz", 3);
    uint8_t *p = ex_guarded_copy(buf, n);
    log_record rec;
    memset(&rec, 0x55, sizeof rec);
    uint64_t size = 0;
    const char *why = NULL;
    ex_context(EX_RULE(7, "nothing read outside [p, limit)") "log_record_decode of put \"ab\" = \"xyz\", 15 bytes ending exactly at limit: "
                    "LOG_DECODE_OK, key and value pointing inside [p, limit), nothing read past "
                    "limit");
    int d = log_record_decode(p, p + n, &rec, &size, &why);
    EX_CHECK(d == LOG_DECODE_OK, EX_RULE(4, "a whole record") "a whole, valid record decodes: "
             "LOG_DECODE_OK (got %d, why: %s)",
             d, why ? why : "-");
    EX_CHECK(size == 15, EX_RULE(4, "*size") "*size is the record's whole length, 10 + 2 + 3 = "
             "15 (got %llu)",
             (unsigned long long)size);
    EX_CHECK(rec.klen == 2 && rec.key == p + 10 && memcmp(rec.key, "ab", 2) == 0,
             EX_RULE(4, "rec.key") "rec.key points at the key inside [p, limit), rec.klen is "
             "its length");
    EX_CHECK(rec.vlen == 3 && rec.value == p + 12 && memcmp(rec.value, "xyz", 3) == 0,
             EX_RULE(4, "rec.value") "rec.value points at the value inside [p, limit), rec.vlen "
             "is its length");
    EX_CHECK(!rec.is_delete && !rec.is_seal, EX_RULE(4, "is_delete and is_seal") "a put is "
             "neither a delete nor a seal");
    EX_CHECK(rec.seal_at == 0,
             EX_RULE(4, "every field of *rec set") "a put's seal_at is 0: every field of *rec "
             "is set, so that nothing of what the "
             "struct held before (a seal decoded into it, say) is left in it");
    EX_CHECK(rec.crc == coding_get_u32(p), EX_RULE(4, "rec.crc") "rec.crc is the checksum as "
             "stored");
}

static void record_decode_delete(void)
{
    uint8_t buf[64];
    size_t n = ex_log_record(buf, "ab", 2, NULL, 0);
    uint8_t *p = ex_guarded_copy(buf, n);
    log_record rec;
    uint64_t size = 0;
    const char *why = NULL;
    ex_context(EX_RULE(7, "nothing read outside [p, limit)") "log_record_decode of a 12-byte delete that ends exactly at limit: "
                    "LOG_DECODE_OK, is_delete = 1, no value to read; nothing read past limit");
    EX_CHECK(log_record_decode(p, p + n, &rec, &size, &why) == LOG_DECODE_OK,
             EX_RULE(4, "a delete") "a delete decodes: LOG_DECODE_OK");
    EX_CHECK(size == 12, EX_RULE(4, "a delete's *size") "a delete of a 2-byte key takes 12 "
             "bytes (no value)");
    EX_CHECK(rec.is_delete && rec.value == NULL && rec.vlen == 0,
             EX_RULE(4, "a delete") "a delete has is_delete = 1, value NULL and vlen 0");
}

static void record_decode_seal(void)
{
    uint8_t buf[LOG_RECORD_SEAL_SIZE];
    log_record_seal(buf, 4242);
    uint8_t *p = ex_guarded_copy(buf, sizeof buf);
    log_record rec;
    uint64_t size = 0;
    const char *why = NULL;
    ex_context(EX_RULE(7, "nothing read outside [p, limit)") "log_record_decode of an 18-byte seal (key_len 0, value_len 0xFFFFFFFE, offset "
                    "4242) ending exactly at limit: it decodes, is_seal = 1, seal_at = 4242; a "
                    "seal has no key or value to read");
    EX_CHECK(log_record_decode(p, p + sizeof buf, &rec, &size, &why) == LOG_DECODE_OK,
             EX_RULE(4, "a seal") "a seal (key_len 0, value_len 0xFFFFFFFE, its 8-byte offset) "
             "decodes");
    EX_CHECK(rec.is_seal && rec.seal_at == 4242 && size == LOG_RECORD_SEAL_SIZE,
             EX_RULE(4, "a seal") "a seal has is_seal = 1, seal_at = the offset stored in it, "
             "size 18");
}

static void record_decode_short_header(void)
{
    uint8_t buf[64];
    size_t n = ex_log_record(buf, "ab", 2, "xyz", 3);
    for (size_t have = 0; have < LOG_RECORD_HEADER; have++) {
        uint8_t *p = ex_guarded_copy(buf, have);
        log_record rec;
        uint64_t size = 0;
        const char *why = NULL;
        ex_context(EX_RULE(1, "fewer than 10 bytes: the header not read") "log_record_decode of the first %zu bytes of a record: it must not "
                   "read past limit", have);
        int d = log_record_decode(p, p + have, &rec, &size, &why);
        EX_CHECK(d == LOG_DECODE_SHORT,
                 EX_RULE(1, "fewer than 10 bytes") "with %zu bytes, fewer than a header's 10, "
                 "the record runs past limit: "
                 "LOG_DECODE_SHORT (got %d)", have, d);
        EX_CHECK(size == LOG_RECORD_HEADER,
                 EX_RULE(1, "fewer than 10 bytes") "with fewer than 10 bytes, *size says a "
                 "header needs 10 (got %llu)",
                 (unsigned long long)size);
    }
    (void)n;
}

static void record_decode_cut_record(void)
{
    uint8_t buf[64];
    size_t n = ex_log_record(buf, "ab", 2, "xyz", 3);
    for (size_t have = LOG_RECORD_HEADER; have < n; have++) {
        uint8_t *p = ex_guarded_copy(buf, have);
        log_record rec;
        uint64_t size = 0;
        const char *why = NULL;
        ex_context(EX_RULE(7, "never read outside [p, limit)") "log_record_decode of the "
                   "first %zu of a record's 15 bytes: its "
                   "lengths ask for more than limit allows, so it must not read past "
                   "limit", have);
        int d = log_record_decode(p, p + have, &rec, &size, &why);
        EX_CHECK(d == LOG_DECODE_SHORT,
                 EX_RULE(3, "a record that runs past limit") "a record cut short after %zu "
                 "bytes, with possible lengths, runs past "
                 "limit: LOG_DECODE_SHORT, not BAD: the caller decides whether a crash cut "
                 "it (got %d)", have, d);
        EX_CHECK(size == n, EX_RULE(3, "a record that runs past limit") "when it is short, "
                 "*size says how many bytes the whole record "
                 "needs: 15 (got %llu)", (unsigned long long)size);
    }
}

static void record_decode_checksum_mismatch(void)
{
    uint8_t buf[64];
    size_t n = ex_log_record(buf, "ab", 2, "xyz", 3);
    for (size_t i = 0; i < n; i++) {
        if (i == 4 || i == 5 || (i >= 6 && i < 10))
            continue; /* the lengths: see record_decode_damaged_length */
        uint8_t copy[64];
        memcpy(copy, buf, n);
        copy[i] ^= 0x01;
        uint8_t *p = ex_guarded_copy(copy, n);
        log_record rec;
        uint64_t size = 0;
        const char *why = NULL;
        ex_context(EX_RULE(7, "nothing read outside [p, limit)") "log_record_decode of a 15-byte record with byte %zu flipped, ending at "
                        "limit: its checksum catches it, LOG_DECODE_BAD with *why set; never read "
                        "past limit", i);
        int d = log_record_decode(p, p + n, &rec, &size, &why);
        EX_CHECK(d == LOG_DECODE_BAD,
                 EX_RULE(6, "the checksum") "one bit flipped in byte %zu of a record is caught "
                 "by its checksum: "
                 "LOG_DECODE_BAD (got %d)", i, d);
        EX_CHECK(why != NULL && why[0] != '\0', EX_RULE(6, "the checksum") "LOG_DECODE_BAD "
                 "comes with *why set");
    }
}

static void record_decode_damaged_length(void)
{
    uint8_t buf[64];
    size_t n = ex_log_record(buf, "ab", 2, "xyz", 3);
    /* value_len 3 -> 2: the record still fits, and only the checksum,
     * which covers the lengths, can tell. */
    buf[6] = 2;
    uint8_t *p = ex_guarded_copy(buf, n);
    log_record rec;
    uint64_t size = 0;
    const char *why = NULL;
    ex_context(EX_RULE(7, "nothing read outside [p, limit)") "log_record_decode of a 15-byte record whose value_len says 2, not 3: it still "
                    "fits, and the checksum, which covers the lengths, makes it LOG_DECODE_BAD");
    int d = log_record_decode(p, p + n, &rec, &size, &why);
    EX_CHECK(d == LOG_DECODE_BAD,
             EX_RULE(6, "the checksum covers the lengths") "a damaged value_len that still fits "
             "is caught by the checksum, which covers "
             "the lengths: LOG_DECODE_BAD (got %d)", d);
}

static void record_decode_impossible_length_is_bad(void)
{
    uint8_t buf[64];
    size_t n = ex_log_record(buf, "ab", 2, "xyz", 3);
    coding_put_u32(buf + 6, KV_MAX_VALUE + 1);
    uint8_t *p = ex_guarded_copy(buf, n);
    log_record rec;
    uint64_t size = 0;
    const char *why = NULL;
    ex_context(EX_RULE(7, "a length checked before it is trusted") "log_record_decode of a "
               "15-byte record whose header announces a 64 MiB + 1 "
               "value: an impossible length is LOG_DECODE_BAD, checked before it is "
               "believed; never read past limit");
    int d = log_record_decode(p, p + n, &rec, &size, &why);
    EX_CHECK(d == LOG_DECODE_BAD,
             EX_RULE(2, "impossible lengths") "an impossible value_len is LOG_DECODE_BAD, not "
             "SHORT: no record has it, "
             "however many bytes follow (got %d)", d);
    buf[6] = 3, buf[7] = buf[8] = buf[9] = 0;
    coding_put_u16(buf + 4, 0);
    p = ex_guarded_copy(buf, n);
    ex_context(EX_RULE(7, "nothing read outside [p, limit)") "log_record_decode of a header with key_len 0 (not a seal): no record has it, "
                    "LOG_DECODE_BAD, whatever bytes follow; never read past limit");
    d = log_record_decode(p, p + n, &rec, &size, &why);
    EX_CHECK(d == LOG_DECODE_BAD, EX_RULE(2, "impossible lengths") "key_len 0 (not a seal) is "
             "LOG_DECODE_BAD (got %d)", d);
}

static void record_decode_parse_checks_lengths_only(void)
{
    uint8_t buf[64];
    size_t n = ex_log_record(buf, "ab", 2, "xyz", 3);
    buf[n - 1] ^= 0xff; /* the value's last byte: the checksum no longer matches */
    uint8_t *p = ex_guarded_copy(buf, n);
    log_record rec;
    uint64_t size = 0;
    const char *why = NULL;
    ex_context(EX_RULE(7, "nothing read outside [p, limit)") "log_record_parse of a whole 15-byte record whose checksum no longer matches: "
                    "parse checks the lengths only, so it parses; never read past limit");
    EX_CHECK(log_record_parse(p, p + n, &rec, &size, &why) == LOG_DECODE_OK,
             EX_RULE(5, "parse does not check the checksum") "log_record_parse checks the "
             "lengths only, not the checksum (for bytes "
             "verified once already): a record with a bad checksum parses");
    EX_CHECK(size == 15 && rec.klen == 2 && rec.vlen == 3,
             EX_RULE(5, "parse fills what decode does") "log_record_parse fills *size and the "
             "record as decode does");
    ex_context(EX_RULE(7, "nothing read outside [p, limit)") "log_record_decode of the same record: parse plus the checksum, so "
                    "LOG_DECODE_BAD");
    EX_CHECK(log_record_decode(p, p + n, &rec, &size, &why) == LOG_DECODE_BAD,
             EX_RULE(6, "decode checks the checksum") "log_record_decode is log_record_parse "
             "plus the checksum: BAD here");
}

static void record_decode_records_end_to_end(void)
{
    uint8_t buf[256];
    size_t n = 0;
    n += ex_log_record(buf + n, "a", 1, "1", 1);
    n += ex_log_record(buf + n, "bb", 2, NULL, 0);
    n += ex_log_record(buf + n, "ccc", 3, "", 0);
    n += ex_log_record(buf + n, "dddd", 4, "4444", 4);
    uint8_t *p = ex_guarded_copy(buf, n), *end = p + n;
    const char *keys[] = {"a", "bb", "ccc", "dddd"};
    int i = 0;
    harness_context("decoding 4 records laid end to end, the last ending at limit");
    while (p < end) {
        log_record rec;
        uint64_t size = 0;
        const char *why = NULL;
        ex_context(EX_RULE(7, "nothing read outside [p, limit)") "log_record_decode of record %d of 4 laid end to end, %td bytes before "
                        "limit: each record starts at p + *size of the one before, and none is "
                        "read past limit", i + 1, end - p);
        EX_CHECK(log_record_decode(p, end, &rec, &size, &why) == LOG_DECODE_OK,
                 EX_RULE(4, "a whole record") "record %d of 4 decodes", i + 1);
        EX_CHECK(i < 4 && rec.klen == strlen(keys[i]) && memcmp(rec.key, keys[i], rec.klen) == 0,
                 EX_RULE(4, "*size") "record %d has key \"%s\": each record starts where the "
                 "one before ends "
                 "(at p + *size)", i + 1, i < 4 ? keys[i] : "?");
        p += size;
        i++;
    }
    EX_CHECK(i == 4, "4 records decoded");
}

static const harness_test record_decode_tests[] = {
    HARNESS_TEST(record_decode_put),
    HARNESS_TEST(record_decode_delete),
    HARNESS_TEST(record_decode_seal),
    HARNESS_TEST(record_decode_short_header),
    HARNESS_TEST(record_decode_cut_record),
    HARNESS_TEST(record_decode_checksum_mismatch),
    HARNESS_TEST(record_decode_damaged_length),
    HARNESS_TEST(record_decode_impossible_length_is_bad),
    HARNESS_TEST(record_decode_parse_checks_lengths_only),
    HARNESS_TEST(record_decode_records_end_to_end),
};
const harness_suite record_decode_suite = HARNESS_SUITE("record_decode", record_decode_tests);
