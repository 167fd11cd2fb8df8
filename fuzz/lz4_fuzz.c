/*
 * lz4_fuzz.c: fuzz harness for stage 05's own lz4 decoder, the one that
 * stops and goes on (stages/05-blocks/table_v2/lz4_steps.h), fed raw
 * bytes: not only blocks liblz4 wrote or accepted.  A lookup hands it the
 * lz4 bytes of a block whose checksum held (table_v2_scan.c), so a
 * damaged block that was written damaged reaches it with any bytes.
 *
 * The input:
 *   byte 0      step: 0 decodes in one call; s > 0 asks for s more bytes
 *               at each call, as a lookup asks for one entry at a time
 *   bytes 1-2   raw: the block's raw size (little-endian, up to 65,535)
 *   bytes 3...  the lz4 block
 * The harness copies the block into a buffer of exactly its size and
 * decodes it into one of exactly raw + LZ4_STEPS_SLACK bytes (S1: ASan
 * sees a read or write outside them), and checks:
 *   - every call that succeeds has written at least what it was asked
 *     for, or used up the input (and, with all raw bytes written, always
 *     the input); `out` never shrinks or passes raw; a failure stays;
 *   - the outcome and bytes are those of a plain decoder written here
 *     from lz4's block format (lz4_fuzz_model: one byte at a time, the
 *     same rules of S2), however the calls were cut;
 *   - where liblz4 (LZ4_decompress_safe) decodes the block to exactly raw
 *     bytes and the format's rules hold, the steps decode it whole to the
 *     same bytes (S3).
 * A broken promise aborts (this is a test program).
 *
 * It is stage 05's entry "lz4" in FUZZ_05-blocks; scripts/fuzz_seeds.sh
 * makes its seeds from the lz4 data blocks of real tables, and
 * fuzz/seeds/lz4/ holds hand-made ones (docs/fuzzing.md).
 */
#include <lz4.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lz4_steps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LZ4_FUZZ_HEADER 3u

static void lz4_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "lz4 fuzz invariant broken: %s\n", what);
        abort();
    }
}

/* A length nibble of 15 goes on in bytes until one below 255. */
static int lz4_fuzz_length(const uint8_t *src, size_t n, size_t *i, size_t *len)
{
    for (;;) {
        if (*i >= n)
            return -1;
        uint8_t b = src[(*i)++];
        *len += b;
        if (b != 255)
            return 0;
    }
}

/* The whole block decoded one byte at a time into out (raw bytes): the
 * bytes written, or -1 where lz4_steps.h's S2 says the block is
 * malformed (a length past the input or past raw, an offset of 0 or
 * before the start, a block that does not end with literals). */
static long lz4_fuzz_model(const uint8_t *src, size_t n, uint8_t *out, size_t raw)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t token = src[i++];
        size_t lit = token >> 4;
        if (lit == 15 && lz4_fuzz_length(src, n, &i, &lit) != 0)
            return -1;
        if (lit > n - i || lit > raw - o)
            return -1;
        for (size_t k = 0; k < lit; k++)
            out[o++] = src[i++];
        if (i == n)
            return (long)o;
        if (n - i < 2)
            return -1;
        size_t off = src[i] | (size_t)src[i + 1] << 8;
        i += 2;
        size_t ml = token & 15;
        if (ml == 15 && lz4_fuzz_length(src, n, &i, &ml) != 0)
            return -1;
        ml += 4;
        if (off == 0 || off > o || ml > raw - o)
            return -1;
        for (size_t k = 0; k < ml; k++, o++)
            out[o] = out[o - off];
        if (i == n)
            return -1;
    }
    return (long)o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < LZ4_FUZZ_HEADER)
        return 0;
    size_t step = data[0];
    size_t raw = data[1] | (size_t)data[2] << 8;
    size_t n = size - LZ4_FUZZ_HEADER;
    uint8_t *src = malloc(n ? n : 1); /* exactly the block: ASan sees a read past it */
    uint8_t *dst = malloc(raw + LZ4_STEPS_SLACK);
    uint8_t *model = malloc(raw ? raw : 1);
    lz4_fuzz_check(src != NULL && dst != NULL && model != NULL, "allocate");
    memcpy(src, data + LZ4_FUZZ_HEADER, n);

    lz4_steps s;
    lz4_steps_init(&s, src, n, dst, raw);
    int rc = 0;
    size_t want = 0, calls = 0, out = 0;
    while (!s.done) {
        want = step == 0 ? raw : want + step;
        rc = lz4_steps_until(&s, want);
        lz4_fuzz_check(s.out >= out && s.out <= raw, "out never shrinks nor passes raw");
        out = s.out;
        if (rc != 0) {
            lz4_fuzz_check(s.failed && s.done, "a failure is kept");
            lz4_fuzz_check(lz4_steps_until(&s, raw) == -1, "a failed block stays failed");
            break;
        }
        lz4_fuzz_check(s.done || (s.out >= want && s.out < raw),
                       "a call writes what it was asked for or uses up the input; with all "
                       "raw bytes written, it reads to the input's end");
        lz4_fuzz_check(++calls <= raw / (step ? step : 1) + 2, "every call makes progress");
    }
    long m = lz4_fuzz_model(src, n, model, raw);
    lz4_fuzz_check(m < 0 ? rc != 0 : rc == 0 && s.out == (size_t)m,
                   "the steps fail exactly where the plain decoder does, else write as much");
    if (m > 0)
        lz4_fuzz_check(memcmp(dst, model, (size_t)m) == 0, "the steps write the plain decoder's bytes");

    /* liblz4 (S3), where the format's rules accept the block too: liblz4
     * 1.9 also takes a match offset of 0, which the format forbids. */
    if (m >= 0 && (size_t)m == raw && n <= INT32_MAX) {
        uint8_t *lib = malloc(raw ? raw : 1);
        lz4_fuzz_check(lib != NULL, "allocate");
        int got = LZ4_decompress_safe((const char *)src, (char *)lib, (int)n, (int)raw);
        if (got >= 0 && (size_t)got == raw)
            lz4_fuzz_check(memcmp(dst, lib, raw) == 0,
                           "a block liblz4 decodes to raw bytes, the steps decode the same");
        free(lib);
    }
    free(src);
    free(dst);
    free(model);
    return 0;
}
