/*
 * key_slot.c: a key's slot in Redis Cluster's terms (key_slot.h).
 */
#include <string.h>

#include "key_slot.h"

unsigned key_slot_crc16(const unsigned char *p, size_t n)
{
    unsigned crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (unsigned)p[i] << 8;
        for (int b = 0; b < 8; b++)
            crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
        crc &= 0xffff;
    }
    return crc;
}

unsigned key_slot(const char *k, size_t n)
{
    const char *open = memchr(k, '{', n);
    if (open != NULL) {
        const char *close = memchr(open + 1, '}', n - (size_t)(open + 1 - k));
        if (close != NULL && close > open + 1)
            return key_slot_crc16((const unsigned char *)open + 1,
                                  (size_t)(close - open - 1)) % KEY_SLOTS;
    }
    return key_slot_crc16((const unsigned char *)k, n) % KEY_SLOTS;
}
