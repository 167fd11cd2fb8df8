/*
 * coding_test.c: fixed-width little-endian integers and varints
 * (common/coding.h): round trips, byte order, boundary values, and that
 * decoders reject truncated and overlong input without reading past limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "coding.h"

static void coding_fixed_is_little_endian(void)
{
    uint8_t b[8];
    coding_put_u16(b, 0x0102);
    CHECK_MEM(b, 2, "\x02\x01", 2);
    coding_put_u32(b, 0x01020304u);
    CHECK_MEM(b, 4, "\x04\x03\x02\x01", 4);
    coding_put_u64(b, 0x0102030405060708ull);
    CHECK_MEM(b, 8, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    CHECK_EQ(coding_get_u16((const uint8_t *)"\x34\x12"), 0x1234);
    CHECK_EQ(coding_get_u32((const uint8_t *)"\x78\x56\x34\x12"), 0x12345678);
    CHECK(coding_get_u64((const uint8_t *)"\xef\xcd\xab\x89\x67\x45\x23\x01") ==
          0x0123456789abcdefull);
}

static void coding_fixed_round_trips(void)
{
    static const uint64_t values[] = {0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000,
                                      0x7fffffff, 0x80000000u, 0xffffffffu,
                                      0x100000000ull, 0x8000000000000000ull, UINT64_MAX};
    uint8_t b[8];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint64_t v = values[i];
        coding_put_u16(b, (uint16_t)v);
        CHECK_EQ(coding_get_u16(b), (uint16_t)v);
        coding_put_u32(b, (uint32_t)v);
        CHECK_EQ(coding_get_u32(b), (uint32_t)v);
        coding_put_u64(b, v);
        CHECK(coding_get_u64(b) == v);
    }
}

static void coding_varint_has_documented_bytes(void)
{
    uint8_t b[CODING_MAX_VARINT64];
    CHECK(coding_put_varint32(b, 300) == b + 2);
    CHECK_MEM(b, 2, "\xac\x02", 2);
    CHECK(coding_put_varint64(b, 0) == b + 1);
    CHECK_EQ(b[0], 0);
    CHECK(coding_put_varint64(b, 127) == b + 1);
    CHECK_EQ(b[0], 0x7f);
    CHECK(coding_put_varint64(b, 128) == b + 2);
    CHECK_MEM(b, 2, "\x80\x01", 2);
    CHECK(coding_put_varint64(b, UINT64_MAX) == b + 10);
    CHECK_MEM(b, 10, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
}

static void coding_varint_round_trips_at_boundaries(void)
{
    static const uint64_t values[] = {0, 1, 127, 128, 16383, 16384, 2097151, 2097152,
                                      268435455, 268435456, UINT32_MAX,
                                      (uint64_t)UINT32_MAX + 1, 1ull << 56, (1ull << 63) - 1,
                                      1ull << 63, UINT64_MAX};
    static const int lengths[] = {1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5, 9, 9, 10, 10};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint64_t v = values[i], got = 0;
        uint8_t b[CODING_MAX_VARINT64 + 1];
        memset(b, 0xAA, sizeof b);
        uint8_t *end = coding_put_varint64(b, v);
        CHECK_EQ(end - b, lengths[i]);
        CHECK_EQ(coding_varint_length(v), lengths[i]);
        CHECK(coding_get_varint64(b, end, &got) == end);
        CHECK_MSG(got == v, "varint64 %llu came back as %llu", (unsigned long long)v,
                  (unsigned long long)got);
        /* Trailing bytes after the varint are not read. */
        CHECK(coding_get_varint64(b, b + sizeof b, &got) == end && got == v);
        if (v <= UINT32_MAX) {
            uint32_t got32 = 0;
            uint8_t b32[CODING_MAX_VARINT32];
            uint8_t *end32 = coding_put_varint32(b32, (uint32_t)v);
            CHECK_EQ(end32 - b32, lengths[i]);
            CHECK(coding_get_varint32(b32, end32, &got32) == end32);
            CHECK_EQ(got32, v);
        } else {
            uint32_t got32 = 0;
            CHECK_MSG(coding_get_varint32(b, end, &got32) == NULL,
                      "varint32 accepted %llu", (unsigned long long)v);
        }
    }
}

/* Every proper prefix of an encoding is rejected, and the decoder never
 * reads past limit (each prefix is copied into an exact-size allocation, so
 * ASan catches a read past it). */
static void coding_varint_rejects_truncated(void)
{
    static const uint64_t values[] = {128, 16384, UINT32_MAX, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint8_t b[CODING_MAX_VARINT64];
        size_t n = (size_t)(coding_put_varint64(b, values[i]) - b);
        for (size_t cut = 0; cut < n; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1);
            CHECK(copy != NULL);
            memcpy(copy, b, cut);
            uint64_t v;
            uint32_t v32;
            const uint8_t *r64 = coding_get_varint64(copy, copy + cut, &v);
            const uint8_t *r32 = coding_get_varint32(copy, copy + cut, &v32);
            free(copy);
            CHECK_MSG(r64 == NULL && r32 == NULL, "value %llu cut to %zu bytes accepted",
                      (unsigned long long)values[i], cut);
        }
    }
}

static void coding_varint_rejects_overlong(void)
{
    uint8_t b[12];
    uint64_t v;
    uint32_t v32;
    /* Eleven continuation-flagged bytes then a terminator: longer than any u64. */
    memset(b, 0x80, 11);
    b[11] = 0x00;
    CHECK(coding_get_varint64(b, b + 12, &v) == NULL);
    /* Ten bytes whose last carries more than the 64th bit. */
    memset(b, 0xff, 9);
    b[9] = 0x02;
    CHECK(coding_get_varint64(b, b + 10, &v) == NULL);
    b[9] = 0x7f;
    CHECK(coding_get_varint64(b, b + 10, &v) == NULL);
    /* Continuation bit set on the tenth byte. */
    b[9] = 0x81;
    b[10] = 0x00;
    CHECK(coding_get_varint64(b, b + 11, &v) == NULL);
    /* A varint32 of six bytes, even with a small value. */
    memcpy(b, "\x80\x80\x80\x80\x80\x00", 6);
    CHECK(coding_get_varint32(b, b + 6, &v32) == NULL);
    /* 2^32 in five bytes: too big for a u32. */
    memcpy(b, "\x80\x80\x80\x80\x10", 5);
    CHECK(coding_get_varint32(b, b + 5, &v32) == NULL);
    CHECK(coding_get_varint64(b, b + 5, &v) == b + 5 && v == (1ull << 32));
}

static const harness_test tests[] = {
    HARNESS_TEST(coding_fixed_is_little_endian),
    HARNESS_TEST(coding_fixed_round_trips),
    HARNESS_TEST(coding_varint_has_documented_bytes),
    HARNESS_TEST(coding_varint_round_trips_at_boundaries),
    HARNESS_TEST(coding_varint_rejects_truncated),
    HARNESS_TEST(coding_varint_rejects_overlong),
};
const harness_suite coding_suite = HARNESS_SUITE("coding", tests);
