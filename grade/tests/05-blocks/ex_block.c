/*
 * ex_block.c: the helpers of ex_block.h.
 */
#include "ex_block.h"

#include <stdio.h>
#include <string.h>

#include "coding.h"
#include "internal_key.h"

size_t ex_ikey(uint8_t out[EX_KEY_MAX], int i)
{
    char u[16];
    int ul = snprintf(u, sizeof u, "key%03d", i * 2);
    ikey_encode(out, u, (size_t)ul, 1, IKEY_PUT);
    return (size_t)ul + IKEY_TRAILER_SIZE;
}

size_t ex_block(uint8_t *out, uint8_t keys[][EX_KEY_MAX], const size_t *lens, int n,
                int interval, uint32_t *offsets)
{
    uint32_t restarts[1024];
    int nr = 0;
    uint8_t *p = out;
    for (int i = 0; i < n; i++) {
        size_t shared = 0;
        if (i % interval == 0) {
            restarts[nr++] = (uint32_t)(p - out);
        } else {
            while (shared < lens[i] && shared < lens[i - 1] && keys[i][shared] == keys[i - 1][shared])
                shared++;
        }
        if (offsets)
            offsets[i] = (uint32_t)(p - out);
        char v[16];
        int vl = snprintf(v, sizeof v, "v%d", i);
        p = coding_put_varint32(p, (uint32_t)shared);
        p = coding_put_varint32(p, (uint32_t)(lens[i] - shared));
        p = coding_put_varint32(p, (uint32_t)vl);
        memcpy(p, keys[i] + shared, lens[i] - shared);
        p += lens[i] - shared;
        memcpy(p, v, (size_t)vl);
        p += vl;
    }
    for (int i = 0; i < nr; i++, p += 4)
        coding_put_u32(p, restarts[i]);
    coding_put_u32(p, (uint32_t)nr);
    return (size_t)(p + 4 - out);
}
