/*
 * ex_bloom.c: the helpers of ex_bloom.h.
 */
#include "ex_bloom.h"

#include <string.h>

static uint32_t pos(uint32_t h, uint32_t m) { return (uint32_t)(((uint64_t)h * m) >> 32); }

size_t ex_bloom_build(uint8_t *out, const uint64_t *hashes, size_t n, uint32_t m, int k)
{
    memset(out, 0, m / 8);
    for (size_t i = 0; i < n; i++) {
        uint32_t h = (uint32_t)hashes[i], delta = (uint32_t)(hashes[i] >> 32);
        for (int j = 0; j < k; j++, h += delta)
            out[pos(h, m) / 8] |= (uint8_t)(1u << (pos(h, m) % 8));
    }
    out[m / 8] = (uint8_t)k;
    return m / 8 + 1;
}

int ex_bloom_query(const uint8_t *p, size_t size, uint64_t hash)
{
    uint32_t m = (uint32_t)(size - 1) * 8, h = (uint32_t)hash, delta = (uint32_t)(hash >> 32);
    int k = p[size - 1];
    for (int j = 0; j < k; j++, h += delta)
        if ((p[pos(h, m) / 8] & (1u << (pos(h, m) % 8))) == 0)
            return 0;
    return 1;
}
