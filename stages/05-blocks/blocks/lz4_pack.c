/*
 * lz4_pack.c: lz4's block format, written greedily: at each position, the
 * last earlier position of the same input whose 4 bytes hash alike, taken
 * if its bytes are equal and it lies within 65535 (lz4_pack.h).
 */
#include "lz4_pack.h"

#include <string.h>

#define LZ4_PACK_MIN_MATCH 4u
#define LZ4_PACK_LAST_LITERALS 5u   /* the input's last bytes: literals */
#define LZ4_PACK_MATCH_LIMIT 12u    /* no match starts in the last 12 */
#define LZ4_PACK_MAX_OFFSET 65535u

void lz4_pack_init(lz4_pack *z)
{
    memset(z, 0, sizeof *z);
    z->next = 1; /* 0, the table's empty slot, is never a position */
}

static uint32_t lz4_pack_read32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint32_t lz4_pack_hash(uint32_t v)
{
    return (v * 2654435761u) >> (32 - LZ4_PACK_HASH_LOG);
}

/* A length's extra bytes after its token's 15: 255 each, then the rest. */
static uint8_t *lz4_pack_length(uint8_t *op, size_t rest)
{
    for (; rest >= 255; rest -= 255)
        *op++ = 255;
    *op++ = (uint8_t)rest;
    return op;
}

/* One sequence: the literals [lit, lit + nlit), then, if mlen > 0, a
 * match of mlen bytes `offset` back.  NULL if it would pass end. */
static uint8_t *lz4_pack_sequence(uint8_t *op, const uint8_t *end, const uint8_t *lit,
                                  size_t nlit, size_t offset, size_t mlen)
{
    size_t need = 1 + nlit / 255 + 1 + nlit + (mlen ? 2 + mlen / 255 + 1 : 0);
    if ((size_t)(end - op) < need)
        return NULL;
    size_t m = mlen ? mlen - LZ4_PACK_MIN_MATCH : 0;
    uint8_t *token = op++;
    *token = (uint8_t)((nlit < 15 ? nlit : 15) << 4 | (m < 15 ? m : 15));
    if (nlit >= 15)
        op = lz4_pack_length(op, nlit - 15);
    memcpy(op, lit, nlit);
    op += nlit;
    if (mlen == 0)
        return op;
    *op++ = (uint8_t)(offset & 0xff);
    *op++ = (uint8_t)(offset >> 8);
    if (m >= 15)
        op = lz4_pack_length(op, m - 15);
    return op;
}

size_t lz4_pack_compress(lz4_pack *z, const uint8_t *src, size_t n, uint8_t *dst, size_t cap)
{
    if ((uint64_t)z->next + n + 1 > UINT32_MAX)
        lz4_pack_init(z); /* the positions would wrap: start again */
    uint32_t base = z->next;
    z->next += (uint32_t)n + 1;
    uint8_t *op = dst, *end = dst + cap;
    size_t anchor = 0, i = 0;
    if (n > LZ4_PACK_MATCH_LIMIT) {
        size_t last_start = n - LZ4_PACK_MATCH_LIMIT, match_end = n - LZ4_PACK_LAST_LITERALS;
        while (i <= last_start) {
            uint32_t seq = lz4_pack_read32(src + i);
            uint32_t *slot = &z->table[lz4_pack_hash(seq)];
            uint32_t cand = *slot;
            *slot = base + (uint32_t)i;
            /* An earlier position of this input only (positions before
             * base are other inputs': not candidates). */
            if (cand < base || cand - base >= i || i - (cand - base) > LZ4_PACK_MAX_OFFSET ||
                lz4_pack_read32(src + (cand - base)) != seq) {
                i++;
                continue;
            }
            size_t c = cand - base, len = LZ4_PACK_MIN_MATCH;
            while (i + len < match_end && src[c + len] == src[i + len])
                len++;
            op = lz4_pack_sequence(op, end, src + anchor, i - anchor, i - c, len);
            if (op == NULL)
                return 0;
            i += len;
            anchor = i;
        }
    }
    op = lz4_pack_sequence(op, end, src + anchor, n - anchor, 0, 0);
    return op == NULL ? 0 : (size_t)(op - dst);
}
