/*
 * coding.c: varint encoding and bounded decoding (see coding.h).
 */
#include "coding.h"

uint8_t *coding_put_varint64(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

uint8_t *coding_put_varint32(uint8_t *p, uint32_t v)
{
    return coding_put_varint64(p, v);
}

int coding_varint_length(uint64_t v)
{
    int n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

const uint8_t *coding_get_varint64(const uint8_t *p, const uint8_t *limit, uint64_t *v)
{
    uint64_t result = 0;
    for (unsigned shift = 0; shift <= 63 && p < limit; shift += 7) {
        uint64_t byte = *p++;
        if (shift == 63 && byte > 1)
            return NULL; /* more than 64 bits */
        result |= (byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) {
            *v = result;
            return p;
        }
    }
    return NULL;
}

const uint8_t *coding_get_varint32(const uint8_t *p, const uint8_t *limit, uint32_t *v)
{
    uint64_t wide;
    const uint8_t *end = coding_get_varint64(p, limit, &wide);
    if (end == NULL || wide > UINT32_MAX || end - p > CODING_MAX_VARINT32)
        return NULL;
    *v = (uint32_t)wide;
    return end;
}
