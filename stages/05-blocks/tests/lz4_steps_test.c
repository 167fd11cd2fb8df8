/*
 * lz4_steps_test.c: the stepwise lz4 decoder (lz4_steps.h) against
 * liblz4: every block liblz4 compresses decodes to the same bytes, in
 * steps of every size, each step stopping at or past what it was asked
 * for (S3); damaged and cut blocks are refused or decoded without a read
 * or write outside their buffers (S1, S2: the buffers are exactly as
 * large as the contract says, so AddressSanitizer sees any byte beyond).
 */
#include <lz4.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "lz4_steps.h"

static uint64_t ls_rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* n bytes of one of several kinds: random, half random and half a copy
 * (kvbench's values), one byte repeated, short periods of 2 to 15 bytes
 * (matches that overlap what they copy), and text-like runs. */
static void ls_fill(uint8_t *p, size_t n, int kind, uint64_t *s)
{
    size_t period = 2 + (size_t)(ls_rng(s) % 14);
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: p[i] = (uint8_t)ls_rng(s); break;
        case 1: p[i] = i % 100 < 50 ? (uint8_t)ls_rng(s) : p[i - 50]; break;
        case 2: p[i] = 'z'; break;
        case 3: p[i] = i < period ? (uint8_t)ls_rng(s) : p[i - period]; break;
        default: p[i] = (uint8_t)("abcdefgh"[ls_rng(s) % 3] + (i / 40) % 5); break;
        }
    }
}

/* Decodes c (clen bytes) of raw bytes in steps of `step` (0: random
 * sizes), checking each step, and returns the output (malloc'd, raw +
 * LZ4_STEPS_SLACK bytes). */
static uint8_t *ls_decode(const uint8_t *c, size_t clen, size_t raw, size_t step, uint64_t *s)
{
    uint8_t *out = malloc(raw + LZ4_STEPS_SLACK);
    CHECK(out != NULL);
    lz4_steps d;
    lz4_steps_init(&d, c, clen, out, raw);
    size_t want = 0;
    while (!d.done) {
        size_t before = d.out;
        want += step != 0 ? step : 1 + (size_t)(ls_rng(s) % 700);
        CHECK_EQ(lz4_steps_until(&d, want), 0);
        CHECK(d.out <= raw);
        CHECK(d.out >= before);
        CHECK(d.done || d.out >= (want < raw ? want : raw));
        if (want >= raw)
            CHECK(d.done); /* all written: the input is used up too */
    }
    CHECK_EQ(d.out, raw);
    return out;
}

static void every_block_decodes_as_liblz4_does_in_steps_of_every_size(void)
{
    uint64_t s = 42;
    size_t sizes[] = {0, 1, 5, 12, 13, 64, 100, 1000, 4096, 4200, 8192, 9000};
    size_t steps[] = {1, 2, 15, 16, 17, 64, 333, 100000, 0};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        for (int kind = 0; kind < 5; kind++) {
            size_t n = sizes[si];
            uint8_t *src = malloc(n + 1);
            CHECK(src != NULL);
            ls_fill(src, n, kind, &s);
            int cap = LZ4_compressBound((int)n);
            uint8_t *c = malloc((size_t)cap);
            CHECK(c != NULL);
            int clen = LZ4_compress_default((const char *)src, (char *)c, (int)n, cap);
            CHECK(clen > 0);
            for (size_t st = 0; st < sizeof steps / sizeof steps[0]; st++) {
                harness_context("size %zu kind %d step %zu", n, kind, steps[st]);
                /* an exact-size copy: a read past its end is seen */
                uint8_t *cc = malloc((size_t)clen);
                CHECK(cc != NULL);
                memcpy(cc, c, (size_t)clen);
                uint8_t *out = ls_decode(cc, (size_t)clen, n, steps[st], &s);
                CHECK_MEM(out, n, src, n);
                free(out);
                free(cc);
            }
            free(c);
            free(src);
        }
    }
}

static void damaged_and_cut_blocks_stay_within_their_buffers(void)
{
    uint64_t s = 7;
    const size_t n = 4096;
    uint8_t src[4096];
    int cap = LZ4_compressBound((int)n);
    uint8_t *c = malloc((size_t)cap);
    CHECK(c != NULL);
    for (int round = 0; round < 3000; round++) {
        ls_fill(src, n, round % 5, &s);
        int clen = LZ4_compress_default((const char *)src, (char *)c, (int)n, cap);
        CHECK(clen > 0);
        size_t len = (size_t)clen;
        if (round % 3 == 0)
            len = (size_t)(ls_rng(&s) % (uint64_t)clen); /* cut */
        uint8_t *d = malloc(len ? len : 1);
        CHECK(d != NULL);
        memcpy(d, c, len);
        for (int k = 0; k < 1 + round % 4 && len > 0; k++)
            d[ls_rng(&s) % len] ^= (uint8_t)(1 + ls_rng(&s) % 255);
        /* a raw size sometimes smaller than the truth */
        size_t raw = round % 7 == 0 ? (size_t)(ls_rng(&s) % n) : n;
        uint8_t *out = malloc(raw + LZ4_STEPS_SLACK);
        CHECK(out != NULL);
        lz4_steps st;
        lz4_steps_init(&st, d, len, out, raw);
        int rc = 0;
        size_t want = 0;
        while (rc == 0 && !st.done) {
            want += 1 + (size_t)(ls_rng(&s) % 900);
            rc = lz4_steps_until(&st, want);
            CHECK(st.out <= raw);
            if (rc == 0 && !st.done && st.out < (want < raw ? want : raw))
                CHECK_MSG(0, "round %d: a step stopped short of what it was asked", round);
        }
        if (rc != 0)
            CHECK_EQ(lz4_steps_until(&st, raw), -1); /* failed stays failed */
        /* Where both decode the whole block, they agree. */
        uint8_t *ref = malloc(raw + 1);
        CHECK(ref != NULL);
        int got = LZ4_decompress_safe((const char *)d, (char *)ref, (int)len, (int)raw);
        if (rc == 0 && st.out == raw && got == (int)raw)
            CHECK_MEM(out, raw, ref, raw);
        free(ref);
        free(out);
        free(d);
    }
    free(c);
}

static const harness_test lz4_steps_tests[] = {
    HARNESS_TEST(every_block_decodes_as_liblz4_does_in_steps_of_every_size),
    HARNESS_TEST(damaged_and_cut_blocks_stay_within_their_buffers),
};

const harness_suite lz4_steps_suite = HARNESS_SUITE("lz4_steps", lz4_steps_tests);
