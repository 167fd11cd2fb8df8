/*
 * crc32c_test.c: CRC-32C against the known answers of RFC 3720 section B.4,
 * on both the dispatching path (hardware where present) and the software
 * path, and the extend-over-pieces property records rely on.
 */
#include <stdint.h>
#include <string.h>

#include "../harness.h"
#include "crc32c.h"

static void crc32c_matches_rfc3720_vectors(void)
{
    uint8_t buf[32];

    memset(buf, 0x00, sizeof buf);
    CHECK_EQ(crc32c_value(buf, sizeof buf), 0x8A9136AAu);
    CHECK_EQ(crc32c_extend_software(0, buf, sizeof buf), 0x8A9136AAu);

    memset(buf, 0xFF, sizeof buf);
    CHECK_EQ(crc32c_value(buf, sizeof buf), 0x62A8AB43u);
    CHECK_EQ(crc32c_extend_software(0, buf, sizeof buf), 0x62A8AB43u);

    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    CHECK_EQ(crc32c_value(buf, sizeof buf), 0x46DD794Eu);
    CHECK_EQ(crc32c_extend_software(0, buf, sizeof buf), 0x46DD794Eu);

    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    CHECK_EQ(crc32c_value(buf, sizeof buf), 0x113FDB5Cu);
    CHECK_EQ(crc32c_extend_software(0, buf, sizeof buf), 0x113FDB5Cu);
}

static void crc32c_matches_check_string(void)
{
    CHECK_EQ(crc32c_value("123456789", 9), 0xE3069283u);
    CHECK_EQ(crc32c_extend_software(0, "123456789", 9), 0xE3069283u);
}

static void crc32c_of_nothing_is_zero(void)
{
    CHECK_EQ(crc32c_value("", 0), 0);
    CHECK_EQ(crc32c_extend_software(0, "", 0), 0);
    CHECK_EQ(crc32c_extend(0x12345678u, "", 0), 0x12345678u);
}

/* Every split point of a buffer long enough to take every alignment and
 * the 8-byte loops of both paths. */
static void crc32c_extend_over_pieces_equals_whole(void)
{
    uint8_t buf[203];
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    for (size_t start = 0; start < 9; start++) {
        const uint8_t *p = buf + start;
        size_t n = sizeof buf - start;
        uint32_t whole = crc32c_value(p, n);
        CHECK_EQ(crc32c_extend_software(0, p, n), whole);
        for (size_t cut = 0; cut <= n; cut++) {
            uint32_t hw = crc32c_extend(crc32c_value(p, cut), p + cut, n - cut);
            uint32_t sw = crc32c_extend_software(crc32c_extend_software(0, p, cut), p + cut,
                                                 n - cut);
            CHECK_MSG(hw == whole && sw == whole, "start %zu cut %zu: %08x %08x != %08x",
                      start, cut, hw, sw, whole);
        }
    }
}

static void crc32c_differs_on_one_flipped_bit(void)
{
    uint8_t buf[64];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7);
    uint32_t base = crc32c_value(buf, sizeof buf);
    for (size_t i = 0; i < sizeof buf * 8; i++) {
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
        CHECK_MSG(crc32c_value(buf, sizeof buf) != base, "bit %zu", i);
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
}

static const harness_test tests[] = {
    HARNESS_TEST(crc32c_matches_rfc3720_vectors),
    HARNESS_TEST(crc32c_matches_check_string),
    HARNESS_TEST(crc32c_of_nothing_is_zero),
    HARNESS_TEST(crc32c_extend_over_pieces_equals_whole),
    HARNESS_TEST(crc32c_differs_on_one_flipped_bit),
};
const harness_suite crc32c_suite = HARNESS_SUITE("crc32c", tests);
