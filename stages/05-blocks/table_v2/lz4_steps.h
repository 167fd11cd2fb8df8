/*
 * lz4_steps.h: a decoder of one lz4 block (the format liblz4's
 * LZ4_compress_default writes) that stops once it has written as many
 * bytes as its caller wants and goes on later from where it stopped.  A
 * lookup in a data block the block cache turned away decodes only as far
 * as the entry that answers it (table_v2_scan.c), about half of the block
 * on average, where LZ4_decompress_safe, which cannot stop and resume,
 * decodes all of it.  An optimisation: a first reading skips this file.
 *
 * The block is a run of sequences, each a token byte (literal length in
 * its high 4 bits, match length - 4 in its low 4; 15 in either means more
 * length bytes follow, each added, until one below 255), the literals,
 * then, except in the last sequence, a 2-byte little-endian offset back
 * into what was written (1 or more) and the match copied from there
 * (Collet, "LZ4 Block Format Description", lz4/doc/lz4_Block_format.md).
 *
 * Invariants:
 *   S1  Nothing is read outside [src, src + n) and nothing is written
 *       outside [dst, dst + raw + LZ4_STEPS_SLACK): the caller's buffer
 *       has that much room.  Bytes at and past `out` are scratch.
 *   S2  out never exceeds raw; every offset points into what was
 *       written.  A block that breaks either, or ends inside a sequence,
 *       fails (-1) and stays failed.
 *   S3  Where the whole block decodes, [dst, dst + out) is what
 *       LZ4_decompress_safe writes for it (tests/lz4_steps_test.c compares
 *       the two over many blocks, stopping at every step size).
 */
#ifndef KV_STAGE05_LZ4_STEPS_H
#define KV_STAGE05_LZ4_STEPS_H

#include <stddef.h>
#include <stdint.h>

/* The room past raw bytes that the decoder may write in (16-byte copies). */
#define LZ4_STEPS_SLACK 32u

typedef struct lz4_steps {
    const uint8_t *ip, *iend; /* the next input byte, the input's end */
    uint8_t *dst;             /* the output's start */
    size_t raw;               /* the output's full size */
    size_t out;               /* bytes written so far: [dst, dst + out) */
    int done;                 /* 1: the input is used up */
    int failed;               /* 1: the block broke S2 */
} lz4_steps;

/* Starts decoding the n bytes at src into dst, which holds raw +
 * LZ4_STEPS_SLACK bytes. */
void lz4_steps_init(lz4_steps *s, const uint8_t *src, size_t n, uint8_t *dst, size_t raw);

/* Decodes whole sequences until at least `want` bytes are written or the
 * input is used up (once all raw bytes are written, to the input's end).
 * Returns 0, or -1 if the block is malformed (S2). */
int lz4_steps_until(lz4_steps *s, size_t want);

#endif
