/*
 * lz4_steps.c: one lz4 block decoded in steps (lz4_steps.h).
 */
#include "lz4_steps.h"

#include <string.h>

void lz4_steps_init(lz4_steps *s, const uint8_t *src, size_t n, uint8_t *dst, size_t raw)
{
    s->ip = src;
    s->iend = src + n;
    s->dst = dst;
    s->raw = raw;
    s->out = 0;
    s->done = n == 0;
    s->failed = 0;
}

/* A length nibble of 15 goes on in bytes, each added, until one below
 * 255.  Returns 0, or -1 if the input ends first. */
static int lz4_steps_length(const uint8_t **ip, const uint8_t *iend, size_t *len)
{
    unsigned b;
    do {
        if (*ip >= iend)
            return -1;
        b = *(*ip)++;
        *len += b;
    } while (b == 255);
    return 0;
}

/* Copies a match of ml bytes from off bytes back.  Where off >= 16 (or
 * 8), each 16 (or 8) byte copy reads only bytes already written; the last
 * one may run up to 15 bytes past op + ml, into the slack (S1). */
static void lz4_steps_match(uint8_t *op, size_t off, size_t ml)
{
    const uint8_t *m = op - off;
    if (off >= 16) {
        for (size_t i = 0; i < ml; i += 16)
            memcpy(op + i, m + i, 16);
    } else if (off >= 8) {
        for (size_t i = 0; i < ml; i += 8)
            memcpy(op + i, m + i, 8);
    } else {
        for (size_t i = 0; i < ml; i++)
            op[i] = m[i];
    }
}

int lz4_steps_until(lz4_steps *s, size_t want)
{
    if (s->failed)
        return -1;
    const uint8_t *ip = s->ip, *iend = s->iend;
    uint8_t *const dst = s->dst;
    uint8_t *op = dst + s->out;
    uint8_t *const oend = dst + s->raw;
    uint8_t *const owant = dst + (want < s->raw ? want : s->raw);
    int done = s->done; /* a local: the copies below may alias s */
    /* With all raw bytes written, what input is left must end the block
     * (done) or is malformed. */
    while (!done && (op < owant || op == oend)) {
        unsigned token = *ip++;
        size_t lit = token >> 4;
        if (lit == 15 && lz4_steps_length(&ip, iend, &lit) != 0)
            goto malformed;
        if (lit > (size_t)(iend - ip) || lit > (size_t)(oend - op))
            goto malformed;
        if (lit + 16 <= (size_t)(iend - ip)) {
            /* 16 bytes at a time; the last copy may run up to 15 bytes
             * past op + lit: the slack, or overwritten next (S1). */
            for (size_t i = 0; i < lit; i += 16)
                memcpy(op + i, ip + i, 16);
        } else {
            memcpy(op, ip, lit);
        }
        ip += lit;
        op += lit;
        if (ip == iend) {
            done = 1; /* the last sequence holds literals only */
            break;
        }
        if (iend - ip < 2)
            goto malformed;
        size_t off = (size_t)ip[0] | (size_t)ip[1] << 8;
        ip += 2;
        size_t ml = token & 15;
        if (ml == 15 && lz4_steps_length(&ip, iend, &ml) != 0)
            goto malformed;
        ml += 4;
        if (off == 0 || off > (size_t)(op - dst) || ml > (size_t)(oend - op))
            goto malformed;
        lz4_steps_match(op, off, ml);
        op += ml;
        if (ip == iend)
            goto malformed; /* a block ends with literals */
    }
    s->ip = ip;
    s->out = (size_t)(op - dst);
    s->done = done;
    return 0;
malformed:
    s->failed = 1;
    s->done = 1;
    return -1;
}
