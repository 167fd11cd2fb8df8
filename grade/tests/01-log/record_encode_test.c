/*
 * record_encode_test.c: exercise record_encode, log_record_header
 * (common/log_record.h): the 10-byte header of a put or a delete.
 */
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "exercise.h"
#include "kv.h"
#include "log_record.h"

/* The worked example of docs/01-log.md: put "ab" = "xyz". */
static void record_encode_worked_example(void)
{
    static const uint8_t want[LOG_RECORD_HEADER] = {0xe5, 0x30, 0x3a, 0x0a, 0x02,
                                                    0x00, 0x03, 0x00, 0x00, 0x00};
    uint8_t h[LOG_RECORD_HEADER];
    memset(h, 0xAA, sizeof h);
    harness_context("log_record_header(put \"ab\" = \"xyz\") into a 10-byte header: key_len at 4, "
                    "value_len at 6, little-endian, then the CRC-32C of bytes 4..9, key and value "
                    "at 0; it writes the 10 header bytes only");
    log_record_header(h, "ab", 2, "xyz", 3, 0);
    EX_CHECK(coding_get_u16(h + 4) == 2,
             EX_RULE(1, "key_len at bytes 4-5") "bytes 4-5 are key_len, little-endian: 02 00 "
             "for a 2-byte key");
    EX_CHECK(coding_get_u32(h + 6) == 3,
             EX_RULE(2, "value_len at bytes 6-9") "bytes 6-9 are value_len, little-endian: 03 "
             "00 00 00 for a 3-byte value");
    EX_CHECK(memcmp(h, want, sizeof want) == 0,
             EX_RULE(3, "the CRC at bytes 0-3") "bytes 0-3 are the CRC-32C of bytes 4 .. end of "
             "the record (the lengths, the "
             "key, the value): e5 30 3a 0a for put \"ab\" = \"xyz\" (docs/01-log.md, worked "
             "example)");
}

static void record_encode_delete(void)
{
    uint8_t h[LOG_RECORD_HEADER];
    /* A delete's value pointer may be anything: it is not written. */
    harness_context("log_record_header(delete \"ab\", vlen 7 given): a delete's value_len is "
                    "0xFFFFFFFF and its CRC covers the lengths and the key only; its value pointer "
                    "is never read");
    log_record_header(h, "ab", 2, "ignored", 7, 1);
    EX_CHECK(coding_get_u32(h + 6) == LOG_RECORD_TOMBSTONE,
             EX_RULE(2, "a delete's value_len") "a delete's value_len is 0xFFFFFFFF "
             "(LOG_RECORD_TOMBSTONE), whatever vlen says");
    uint32_t crc = crc32c_extend(crc32c_value(h + 4, 6), "ab", 2);
    EX_CHECK(coding_get_u32(h) == crc,
             EX_RULE(3, "a delete's CRC") "a delete's CRC covers the lengths and the key only: "
             "it has no value bytes");
}

static void record_encode_empty_value_is_a_put(void)
{
    uint8_t h[LOG_RECORD_HEADER];
    harness_context("log_record_header(put \"k\" = \"\", an empty value): value_len 0, a put, not "
                    "a delete; the CRC covers the lengths and the key");
    log_record_header(h, "k", 1, "", 0, 0);
    EX_CHECK(coding_get_u32(h + 6) == 0,
             EX_RULE(2, "an empty value is a put") "a put of an empty value has value_len 0, "
             "not the tombstone: it is not a delete");
    EX_CHECK(coding_get_u32(h) == crc32c_extend(crc32c_value(h + 4, 6), "k", 1),
             EX_RULE(3, "the CRC") "the CRC of a put with an empty value covers the lengths and "
             "the key");
}

static void record_encode_largest_key(void)
{
    uint8_t *key = malloc(KV_MAX_KEY);
    EX_CHECK(key != NULL, "out of memory");
    memset(key, 'k', KV_MAX_KEY);
    uint8_t h[LOG_RECORD_HEADER];
    harness_context("log_record_header(put of a 65,535-byte key = \"v\"): key_len ff ff, and the "
                    "CRC covers every byte of the key (read only its 65,535 bytes)");
    log_record_header(h, key, KV_MAX_KEY, "v", 1, 0);
    EX_CHECK(h[4] == 0xff && h[5] == 0xff,
             EX_RULE(1, "key_len") "the largest key, 65,535 bytes, fits key_len's two bytes "
             "exactly: ff ff");
    uint32_t crc = crc32c_extend(crc32c_extend(crc32c_value(h + 4, 6), key, KV_MAX_KEY), "v", 1);
    EX_CHECK(coding_get_u32(h) == crc, EX_RULE(3, "the CRC covers the key") "the CRC covers "
             "every byte of a 65,535-byte key");
    free(key);
}

static void record_encode_crc_covers_the_lengths(void)
{
    /* The same 3 bytes "abc", split differently between key and value:
     * only the lengths tell the two records apart. */
    uint8_t a[LOG_RECORD_HEADER], b[LOG_RECORD_HEADER];
    harness_context("log_record_header(put \"ab\" = \"c\", then put \"a\" = \"bc\"): the CRC "
                    "covers key_len and value_len too, so the two records get different checksums");
    log_record_header(a, "ab", 2, "c", 1, 0);
    log_record_header(b, "a", 1, "bc", 2, 0);
    EX_CHECK(coding_get_u32(a) != coding_get_u32(b),
             EX_RULE(3, "the CRC covers the lengths") "the CRC must cover key_len and "
             "value_len, or a damaged length would go unseen: "
             "put \"ab\"=\"c\" and put \"a\"=\"bc\" have different checksums");
    EX_CHECK(coding_get_u32(a) == crc32c_extend(crc32c_extend(crc32c_value(a + 4, 6), "ab", 2),
                                                "c", 1),
             EX_RULE(3, "the CRC") "the CRC is crc32c(bytes 4..9, then the key, then the value)");
}

static const harness_test record_encode_tests[] = {
    HARNESS_TEST(record_encode_worked_example),
    HARNESS_TEST(record_encode_delete),
    HARNESS_TEST(record_encode_empty_value_is_a_put),
    HARNESS_TEST(record_encode_largest_key),
    HARNESS_TEST(record_encode_crc_covers_the_lengths),
};
const harness_suite record_encode_suite = HARNESS_SUITE("record_encode", record_encode_tests);
