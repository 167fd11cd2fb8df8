/*
 * block_value_test.c: value cells (block_value.h): lz4_pack.h's output
 * read back by liblz4; what a value becomes and back, packed only where that saves an eighth of it, the largest
 * length a cell may claim and one past it, damaged and cut cells refused
 * or read within their bytes; and kv_options.compression =
 * KV_COMPRESSION_LZ4_VALUES through kv_open, every data block's values in
 * cells, read back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include <lz4.h>

#include "block_value.h"
#include "coding.h"
#include "kv.h"
#include "lz4_pack.h"

static void vd_round_trip(block_value_packer *pk, const uint8_t *v, size_t n, size_t *cell_len)
{
    const uint8_t *cell;
    CHECK_KV(block_value_pack(pk, v, n, &cell, cell_len), KV_OK);
    CHECK(*cell_len <= n + 1);
    size_t len = 99;
    CHECK(block_value_size(cell, *cell_len, &len) == NULL);
    CHECK_EQ(len, n);
    uint8_t *out = malloc(n + 1);
    CHECK(out != NULL);
    CHECK(block_value_unpack(cell, *cell_len, out, len) == NULL);
    CHECK(n == 0 || memcmp(out, v, n) == 0);
    free(out);
}

static void a_value_is_packed_only_where_it_saves_an_eighth(void)
{
    block_value_packer *pk = block_value_packer_new();
    CHECK(pk != NULL);
    size_t big = 1u << 20;
    uint8_t *v = malloc(big);
    CHECK(v != NULL);
    for (size_t j = 0; j < big; j++)
        v[j] = (uint8_t)('a' + j % 3);
    size_t sizes[] = {0, 1, BLOCK_VALUE_MIN_PACKED - 1, BLOCK_VALUE_MIN_PACKED, 100, 4096, big};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        harness_context("a repeating value of %zu bytes", sizes[s]);
        size_t cell_len;
        vd_round_trip(pk, v, sizes[s], &cell_len);
        if (sizes[s] == 0)
            CHECK_EQ(cell_len, 0);
        else if (sizes[s] < BLOCK_VALUE_MIN_PACKED)
            CHECK_EQ(cell_len, sizes[s] + 1);
        else
            CHECK(cell_len <= sizes[s] - (sizes[s] + 7) / 8);
    }
    /* Bytes lz4 cannot shrink by an eighth stay as they are. */
    uint32_t x = 12345;
    for (size_t j = 0; j < 4096; j++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        v[j] = (uint8_t)x;
    }
    for (size_t n = 16; n <= 4096; n *= 4) {
        harness_context("%zu random bytes", n);
        size_t cell_len;
        vd_round_trip(pk, v, n, &cell_len);
        CHECK_EQ(cell_len, n + 1);
    }
    block_value_packer_free(pk);
    free(v);
}

static void a_cell_claims_at_most_what_lz4_can_give(void)
{
    /* n: varint, then one lz4 byte: at most 256 * 1 + 64 bytes, and never
     * more than BLOCK_VALUE_MAX whatever follows. */
    uint8_t cell[16];
    size_t len;
    uint8_t *p = coding_put_varint32(cell, 320);
    *p++ = 0x00;
    CHECK(block_value_size(cell, (size_t)(p - cell), &len) == NULL);
    CHECK_EQ(len, 320);
    p = coding_put_varint32(cell, 321);
    *p++ = 0x00;
    CHECK(block_value_size(cell, (size_t)(p - cell), &len) != NULL);
    uint8_t *large = calloc(1, BLOCK_VALUE_MAX / 256 + 16);
    CHECK(large != NULL);
    p = coding_put_varint32(large, BLOCK_VALUE_MAX);
    size_t n = (size_t)(p - large) + BLOCK_VALUE_MAX / 256;
    CHECK(block_value_size(large, n, &len) == NULL);
    CHECK_EQ(len, BLOCK_VALUE_MAX);
    p = coding_put_varint32(large, BLOCK_VALUE_MAX + 1);
    CHECK(block_value_size(large, n, &len) != NULL);
    free(large);
    /* A cell kept as it is holds at least a byte; a packed one a length
     * and lz4 bytes; a length that is not a varint is damage. */
    uint8_t bad[][6] = {{0x00}, {0x05}, {0x85}, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80}};
    size_t bad_len[] = {1, 1, 1, 6};
    for (size_t i = 0; i < 4; i++) {
        harness_context("bad cell %zu", i);
        CHECK(block_value_size(bad[i], bad_len[i], &len) != NULL);
    }
}

static void every_damaged_cell_is_refused_or_read_within(void)
{
    block_value_packer *pk = block_value_packer_new();
    CHECK(pk != NULL);
    uint8_t v[300];
    for (size_t j = 0; j < sizeof v; j++)
        v[j] = (uint8_t)("the quick brown fox "[j % 20]);
    const uint8_t *packed;
    size_t n;
    CHECK_KV(block_value_pack(pk, v, sizeof v, &packed, &n), KV_OK);
    CHECK(n < sizeof v);
    int refused = 0;
    for (size_t at = 0; at < n; at++) {
        for (int bit = 0; bit < 8; bit++) {
            /* An exact-size heap copy, so that ASan sees a read past it. */
            uint8_t *c = malloc(n);
            CHECK(c != NULL);
            memcpy(c, packed, n);
            c[at] ^= (uint8_t)(1u << bit);
            size_t len;
            const char *why = block_value_size(c, n, &len);
            uint8_t *out = why == NULL ? malloc(len ? len : 1) : NULL;
            if (why == NULL)
                why = block_value_unpack(c, n, out, len);
            refused += why != NULL;
            free(out);
            free(c);
        }
        /* Cut at `at`: the cell's tail lost. */
        uint8_t *c = malloc(at ? at : 1);
        CHECK(c != NULL);
        memcpy(c, packed, at);
        size_t len;
        const char *why = block_value_size(c, at, &len);
        uint8_t *out = why == NULL ? malloc(len ? len : 1) : NULL;
        if (why == NULL)
            why = block_value_unpack(c, at, out, len);
        CHECK_MSG(why != NULL || (at == 0 && len == 0), "a cell cut at %zu is refused", at);
        free(out);
        free(c);
    }
    /* lz4 has no checksum of its own (the block's CRC guards it): a flip
     * of a literal reads as another value, but the lengths and the
     * sequences it breaks are refused. */
    CHECK(refused > 0);
    block_value_packer_free(pk);
}

/* Inputs of every length to 600 and a few large ones, of runs, repeats
 * near and far and random bytes, one compressor for all of them (a
 * position of an earlier input is never a candidate): liblz4 decodes each
 * to exactly the input, and an output that does not fit is refused. */
static void lz4_pack_round_trips_what_liblz4_reads(void)
{
    lz4_pack *z = malloc(sizeof *z);
    CHECK(z != NULL);
    lz4_pack_init(z);
    size_t cap = 200000;
    uint8_t *in = malloc(cap), *out = malloc(cap + cap / 255 + 64), *back = malloc(cap);
    CHECK(in != NULL && out != NULL && back != NULL);
    uint32_t x = 7;
    size_t lengths[700], nl = 0;
    for (size_t n = 0; n <= 600; n++)
        lengths[nl++] = n;
    lengths[nl++] = 65535 + 300;
    lengths[nl++] = cap;
    for (int kind = 0; kind < 4; kind++) {
        for (size_t l = 0; l < nl; l++) {
            size_t n = lengths[l];
            harness_context("kind %d, %zu bytes", kind, n);
            for (size_t j = 0; j < n; j++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                in[j] = kind == 0   ? (uint8_t)x
                        : kind == 1 ? (uint8_t)('a' + j % 7)
                        : kind == 2 ? (j % 70000 < 40 ? (uint8_t)(j % 40) : (uint8_t)x)
                                    : (uint8_t)(x % 3 == 0 ? x : in[j ? j - 1 : 0]);
            }
            size_t room = n + n / 255 + 16;
            size_t m = lz4_pack_compress(z, in, n, out, room);
            CHECK_MSG(m > 0 && m <= room, "an output that fits is written");
            int got = LZ4_decompress_safe((const char *)out, (char *)back, (int)m, (int)n);
            CHECK_MSG(got == (int)n && memcmp(back, in, n) == 0, "liblz4 reads the input back");
            if (m > 1)
                CHECK_EQ(lz4_pack_compress(z, in, n, out, m - 1), 0);
        }
    }
    free(in);
    free(out);
    free(back);
    free(z);
}

typedef struct bv_blocks {
    int blocks, cells;
} bv_blocks;

static void bv_count_line(void *ctx, const char *line)
{
    bv_blocks *c = ctx;
    if (strncmp(line, "block ", 6) == 0) {
        c->blocks++;
        c->cells += strstr(line, ", raw, values lz4 one by one,") != NULL;
    }
}

static void the_option_puts_every_value_in_a_cell(void)
{
    int settings[] = {KV_COMPRESSION_LZ4, KV_COMPRESSION_LZ4_VALUES};
    for (size_t s = 0; s < 2; s++) {
        harness_context("compression %d", settings[s]);
        const char *dir = harness_join(harness_tmpdir(), "db");
        kv_options opt;
        kv_options_init(&opt);
        opt.compression = settings[s];
        opt.block_bytes = 256;
        kv_db *db = OPEN(dir, &opt);
        char k[32], v[128];
        for (int i = 0; i < 300; i++) {
            snprintf(k, sizeof k, "key%04d", i);
            memset(v, 'a' + i % 26, sizeof v);
            PUT(db, k, strlen(k), v, (size_t)(i % 100));
        }
        CHECK_KV(kv_flush(db), KV_OK);
        for (int i = 0; i < 300; i++) {
            snprintf(k, sizeof k, "key%04d", i);
            memset(v, 'a' + i % 26, sizeof v);
            EXPECT(db, k, strlen(k), v, (size_t)(i % 100));
        }
        CLOSE(db);
        bv_blocks c = {0};
        CHECK_KV(kv_dump(dir, bv_count_line, &c), KV_OK);
        CHECK(c.blocks > 5);
        CHECK_EQ(c.cells, settings[s] == KV_COMPRESSION_LZ4_VALUES ? c.blocks : 0);
        CHECK_KV(kv_check(dir, NULL, NULL), KV_OK);
    }
}

static const harness_test tests[] = {
    HARNESS_TEST(lz4_pack_round_trips_what_liblz4_reads),
    HARNESS_TEST(a_value_is_packed_only_where_it_saves_an_eighth),
    HARNESS_TEST(a_cell_claims_at_most_what_lz4_can_give),
    HARNESS_TEST(every_damaged_cell_is_refused_or_read_within),
    HARNESS_TEST(the_option_puts_every_value_in_a_cell),
};
const harness_suite block_value_suite = HARNESS_SUITE("block_value", tests);
