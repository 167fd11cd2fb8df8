/*
 * export_format_test.c: the export stream's encoder and bounded decoder
 * (tools/kv_export.h, the format of `kv DIR export`): the documented
 * bytes, the largest key, value and chunk that fit and one past each, every
 * rule of the decoder refused with its offset, and every byte of a stream
 * under a checksum.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "../../tools/kv_export.h"
#include "coding.h"
#include "crc32c.h"

/* The stream of docs/formats.md's worked example: a = 1, c = 3. */
static size_t export_two_keys(uint8_t out[74])
{
    uint8_t *p = out;
    export_header_encode(p);
    p += EXPORT_HEADER_SIZE;
    export_chunk_encode(p, EXPORT_CHUNK_RECORDS, 2, 20);
    uint8_t *body = p + EXPORT_CHUNK_HEADER_SIZE;
    p = export_record_encode(body, "a", 1, "1", 1);
    p = export_record_encode(p, "c", 1, "3", 1);
    coding_put_u32(p, crc32c_value(body, 20));
    p += EXPORT_CRC_SIZE;
    export_chunk_encode(p, EXPORT_CHUNK_END, 2, 0);
    p += EXPORT_CHUNK_HEADER_SIZE;
    return (size_t)(p - out);
}

static void export_stream_has_documented_bytes(void)
{
    uint8_t s[74];
    CHECK_EQ(export_two_keys(s), 74);
    CHECK_MEM(s, 16, "KVEXPORT\x01\x00\x00\x00\xa9\x54\x69\x2f", 16);
    CHECK_MEM(s + 0x10, 17, "\x01\x02\0\0\0\0\0\0\0\x14\0\0\0\x2f\xb5\x2c\x7c", 17);
    CHECK_MEM(s + 0x21, 10, "\x01\0\0\0\x01\0\0\0a1", 10);
    CHECK_MEM(s + 0x35, 4, "\x3b\xbf\x61\xdc", 4);
    CHECK_MEM(s + 0x39, 17, "\x02\x02\0\0\0\0\0\0\0\0\0\0\0\x4e\x7d\x1c\xbf", 17);
}

static void export_decodes_what_it_encodes(void)
{
    uint8_t s[74];
    size_t n = export_two_keys(s);
    export_error e;
    export_chunk c;
    CHECK_EQ(export_header_decode(s, s + n, &e), 0);
    CHECK_EQ(export_chunk_decode(s + 16, s + n, &c, &e), 0);
    CHECK_EQ(c.type, EXPORT_CHUNK_RECORDS);
    CHECK_EQ(c.count, 2);
    CHECK_EQ(c.body_len, 20);
    const uint8_t *body = s + 33;
    CHECK_EQ(export_body_check(body, body + export_chunk_rest(&c), &c, NULL, 0, &e), 0);
    export_record r;
    const uint8_t *p = body;
    CHECK_EQ(export_record_decode(&p, body + 20, &r, &e), 0);
    CHECK_MEM(r.key, r.klen, "a", 1);
    CHECK_MEM(r.val, r.vlen, "1", 1);
    CHECK_EQ(export_chunk_decode(s + 57, s + n, &c, &e), 0);
    CHECK_EQ(c.type, EXPORT_CHUNK_END);
    CHECK_EQ(c.count, 2);
    /* The next chunk must sort after the last key: "c" again is refused. */
    CHECK_EQ(export_chunk_decode(s + 16, s + n, &c, &e), 0);
    CHECK_EQ(export_body_check(body, body + 24, &c, "c", 1, &e), -1);
    CHECK_EQ(e.at, 0);
    CHECK(strstr(e.what, "does not sort after") != NULL);
}

/* Every single flipped byte of a stream is caught by one of the checks. */
static void export_every_flipped_byte_is_refused(void)
{
    uint8_t s[74];
    size_t n = export_two_keys(s);
    for (size_t i = 0; i < n; i++) {
        uint8_t copy[74];
        memcpy(copy, s, n);
        copy[i] ^= 0x01;
        harness_context("byte %zu flipped", i);
        export_error e;
        export_chunk c;
        int bad = export_header_decode(copy, copy + n, &e) != 0 ||
                  export_chunk_decode(copy + 16, copy + n, &c, &e) != 0 ||
                  c.type != EXPORT_CHUNK_RECORDS ||
                  export_chunk_rest(&c) != 24 ||
                  export_body_check(copy + 33, copy + 57, &c, NULL, 0, &e) != 0 ||
                  export_chunk_decode(copy + 57, copy + n, &c, &e) != 0 ||
                  c.type != EXPORT_CHUNK_END || c.count != 2;
        CHECK(bad);
    }
}

static void export_header_names_what_it_is_instead(void)
{
    uint8_t h[16] = {0};
    export_error e;
    CHECK_EQ(export_header_decode(h, h + 15, &e), -1);
    CHECK_EQ(e.at, 0);
    CHECK(strstr(e.what, "ends after 15 bytes") != NULL);
    file_header_encode(h, FILE_MAGIC_SEG02, 1);
    CHECK_EQ(export_header_decode(h, h + 16, &e), -1);
    CHECK(strstr(e.what, "this is a stage-02 segment, not an export stream") != NULL);
    file_header_encode(h, EXPORT_MAGIC, 2);
    CHECK_EQ(export_header_decode(h, h + 16, &e), -1);
    CHECK_EQ(e.at, 8);
    export_header_encode(h);
    h[12] ^= 0x80;
    CHECK_EQ(export_header_decode(h, h + 16, &e), -1);
    CHECK_EQ(e.at, 12);
}

/* A record head (key length, value length) alone, for length checks. */
static void export_head(uint8_t b[8], uint32_t klen, uint32_t vlen)
{
    coding_put_u32(b, klen);
    coding_put_u32(b + 4, vlen);
}

static void export_record_largest_key_fits_one_more_is_refused(void)
{
    size_t n = EXPORT_RECORD_HEAD + KV_MAX_KEY + 1;
    uint8_t *b = calloc(1, n);
    CHECK(b != NULL);
    export_head(b, KV_MAX_KEY, 0);
    const uint8_t *p = b;
    export_record r;
    export_error e;
    CHECK_EQ(export_record_decode(&p, b + EXPORT_RECORD_HEAD + KV_MAX_KEY, &r, &e), 0);
    CHECK_EQ(r.klen, KV_MAX_KEY);
    CHECK_EQ(r.vlen, 0);
    CHECK(p == b + EXPORT_RECORD_HEAD + KV_MAX_KEY);
    export_head(b, KV_MAX_KEY + 1, 0);
    p = b;
    CHECK_EQ(export_record_decode(&p, b + n, &r, &e), -1);
    CHECK_EQ(e.at, 0);
    CHECK(strstr(e.what, "key length 65536") != NULL);
    export_head(b, 0, 0);
    CHECK_EQ(export_record_decode(&p, b + n, &r, &e), -1);
    /* A record longer than the bytes left is refused before it is used. */
    export_head(b, 1, 1);
    CHECK_EQ(export_record_decode(&p, b + EXPORT_RECORD_HEAD + 1, &r, &e), -1);
    CHECK(p == b);
    free(b);
}

static void export_record_largest_value_fits_one_more_is_refused(void)
{
    size_t n = EXPORT_RECORD_HEAD + 1 + KV_MAX_VALUE;
    uint8_t *b = calloc(1, n);
    CHECK(b != NULL);
    export_head(b, 1, KV_MAX_VALUE);
    const uint8_t *p = b;
    export_record r;
    export_error e;
    CHECK_EQ(export_record_decode(&p, b + n, &r, &e), 0);
    CHECK_EQ(r.vlen, KV_MAX_VALUE);
    CHECK(p == b + n);
    export_head(b, 1, KV_MAX_VALUE + 1);
    p = b;
    CHECK_EQ(export_record_decode(&p, b + n, &r, &e), -1);
    CHECK_EQ(e.at, 4);
    free(b);
}

static void export_chunk_largest_body_fits_one_more_is_refused(void)
{
    uint8_t h[EXPORT_CHUNK_HEADER_SIZE];
    export_chunk c;
    export_error e;
    export_chunk_encode(h, EXPORT_CHUNK_RECORDS, 1, EXPORT_BODY_MAX);
    CHECK_EQ(export_chunk_decode(h, h + sizeof h, &c, &e), 0);
    CHECK_EQ(export_chunk_rest(&c), (uint64_t)EXPORT_BODY_MAX + 4);
    export_chunk_encode(h, EXPORT_CHUNK_RECORDS, 1, EXPORT_BODY_MAX + 1);
    CHECK_EQ(export_chunk_decode(h, h + sizeof h, &c, &e), -1);
    CHECK_EQ(e.at, 9);
    /* A count the body cannot hold (9 bytes a record at least), or none. */
    export_chunk_encode(h, EXPORT_CHUNK_RECORDS, 2, 17);
    CHECK_EQ(export_chunk_decode(h, h + sizeof h, &c, &e), -1);
    export_chunk_encode(h, EXPORT_CHUNK_RECORDS, 2, 18);
    CHECK_EQ(export_chunk_decode(h, h + sizeof h, &c, &e), 0);
    export_chunk_encode(h, EXPORT_CHUNK_RECORDS, 0, 18);
    CHECK_EQ(export_chunk_decode(h, h + sizeof h, &c, &e), -1);
    export_chunk_encode(h, EXPORT_CHUNK_END, 0, 1);
    CHECK_EQ(export_chunk_decode(h, h + sizeof h, &c, &e), -1);
    export_chunk_encode(h, 3, 1, 9);
    CHECK_EQ(export_chunk_decode(h, h + sizeof h, &c, &e), -1);
    CHECK_EQ(export_chunk_decode(h, h + 16, &c, &e), -1);
    CHECK_EQ(e.at, 0);
    CHECK(strstr(e.what, "cut short") != NULL);
}

/* A body must hold exactly `count` records, in key order. */
static void export_body_holds_exactly_its_records_in_order(void)
{
    uint8_t body[64];
    uint8_t *p = export_record_encode(body, "b", 1, "", 0);
    p = export_record_encode(p, "a", 1, "x", 1);
    size_t len = (size_t)(p - body);
    coding_put_u32(p, crc32c_value(body, len));
    export_chunk c = {EXPORT_CHUNK_RECORDS, 2, (uint32_t)len};
    export_error e;
    CHECK_EQ(export_body_check(body, body + len + 4, &c, NULL, 0, &e), -1);
    CHECK_EQ(e.at, 9); /* the second record, "a" after "b" */
    c.count = 1;       /* one record too few for the body */
    CHECK_EQ(export_body_check(body, body + len + 4, &c, NULL, 0, &e), -1);
    CHECK_EQ(e.at, 9);
    CHECK(strstr(e.what, "left in the chunk body after its 1 record") != NULL);
    c.count = 2;
    CHECK_EQ(export_body_check(body, body + len + 3, &c, NULL, 0, &e), -1);
    p = export_record_encode(body, "a", 1, "", 0);
    p = export_record_encode(p, "a\0", 2, "x", 1);
    len = (size_t)(p - body);
    coding_put_u32(p, crc32c_value(body, len));
    c.body_len = (uint32_t)len;
    CHECK_EQ(export_body_check(body, body + len + 4, &c, NULL, 0, &e), 0);
    CHECK_EQ(export_body_check(body, body + len + 4, &c, "a", 1, &e), -1);
    CHECK_EQ(export_body_check(body, body + len + 4, &c, "", 0, &e), 0);
}

static const harness_test export_format_tests[] = {
    HARNESS_TEST(export_stream_has_documented_bytes),
    HARNESS_TEST(export_decodes_what_it_encodes),
    HARNESS_TEST(export_every_flipped_byte_is_refused),
    HARNESS_TEST(export_header_names_what_it_is_instead),
    HARNESS_TEST(export_record_largest_key_fits_one_more_is_refused),
    HARNESS_TEST(export_record_largest_value_fits_one_more_is_refused),
    HARNESS_TEST(export_chunk_largest_body_fits_one_more_is_refused),
    HARNESS_TEST(export_body_holds_exactly_its_records_in_order),
};
const harness_suite export_format_suite = HARNESS_SUITE("export_format", export_format_tests);
