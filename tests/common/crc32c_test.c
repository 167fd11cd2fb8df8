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

/* Fills buf with xorshift bytes from seed. */
static void crc32c_test_fill(uint8_t *buf, size_t n, uint32_t x)
{
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}

/* Every split point of a buffer long enough to take every alignment and
 * the 8-byte loops of both paths. */
static void crc32c_extend_over_pieces_equals_whole(void)
{
    uint8_t buf[203];
    crc32c_test_fill(buf, sizeof buf, 2463534242u);
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

/* Buffers long enough for the hardware path's three chains at once (768
 * bytes a round), of every length up to three rounds and more, at every
 * alignment, and continuing a CRC already begun: both paths agree. */
static void crc32c_long_buffers_agree_with_software(void)
{
    static uint8_t buf[2600];
    crc32c_test_fill(buf, sizeof buf, 88172645u);
    for (size_t start = 0; start < 8; start++)
        for (size_t n = 0; n + start <= sizeof buf; n += start == 0 ? 1 : 37) {
            const uint8_t *p = buf + start;
            uint32_t sw = crc32c_extend_software(0x12345678u, p, n);
            uint32_t hw = crc32c_extend(0x12345678u, p, n);
            CHECK_MSG(hw == sw, "start %zu length %zu: %08x != %08x", start, n, hw, sw);
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

/* crc32c_combine gives the CRC of a concatenation at every split, and the
 * CRC of any range from the CRCs of two prefixes (what log_damage.c uses). */
static void crc32c_combine_joins_and_cuts_ranges(void)
{
    static uint8_t buf[70000];
    crc32c_test_fill(buf, sizeof buf, 88172645u);
    static const size_t cuts[] = {0, 1, 7, 8, 255, 256, 257, 4096, 65535, 65536, 69999, 70000};
    uint32_t whole = crc32c_value(buf, sizeof buf);
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        size_t k = cuts[c];
        uint32_t a = crc32c_value(buf, k), b = crc32c_value(buf + k, sizeof buf - k);
        CHECK_MSG(crc32c_combine(a, b, sizeof buf - k) == whole, "cut at %zu", k);
        for (size_t d = 0; d < sizeof cuts / sizeof cuts[0]; d++) {
            size_t j = cuts[d];
            if (j < k)
                continue;
            uint32_t range = crc32c_value(buf, j) ^ crc32c_combine(a, 0, j - k);
            CHECK_MSG(range == crc32c_value(buf + k, j - k), "range [%zu, %zu)", k, j);
        }
    }
    /* Lengths past 32 bits: moving the CRC past 2^32 + 3 zero bytes twice
     * is moving it past 2^33 + 6. */
    uint64_t big = (1ull << 32) + 3;
    CHECK_EQ(crc32c_combine(crc32c_combine(whole, 0, big), 0, big),
             crc32c_combine(whole, 0, 2 * big));
    CHECK_EQ(crc32c_combine(whole, 0, 0), whole);
}

static const harness_test tests[] = {
    HARNESS_TEST(crc32c_matches_rfc3720_vectors),
    HARNESS_TEST(crc32c_matches_check_string),
    HARNESS_TEST(crc32c_of_nothing_is_zero),
    HARNESS_TEST(crc32c_extend_over_pieces_equals_whole),
    HARNESS_TEST(crc32c_long_buffers_agree_with_software),
    HARNESS_TEST(crc32c_differs_on_one_flipped_bit),
    HARNESS_TEST(crc32c_combine_joins_and_cuts_ranges),
};
const harness_suite crc32c_suite = HARNESS_SUITE("crc32c", tests);
