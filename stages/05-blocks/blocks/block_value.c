/*
 * block_value.c: value cells, packed by a block's builder and unpacked by
 * a get, an iterator and the tools (block_value.h has the bytes).
 */
#include "block_value.h"

#include <lz4.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "error.h"
#include "kv.h"
#include "lz4_pack.h"

block_value_packer *block_value_packer_new(void)
{
    block_value_packer *pk = calloc(1, sizeof *pk);
    if (pk == NULL)
        return NULL;
    /* Made once and used for every value, never cleared (lz4_pack.h). */
    pk->lz4 = malloc(sizeof *pk->lz4);
    if (pk->lz4 == NULL) {
        free(pk);
        return NULL;
    }
    lz4_pack_init(pk->lz4);
    return pk;
}

void block_value_packer_free(block_value_packer *pk)
{
    if (pk == NULL)
        return;
    free(pk->lz4);
    free(pk->cell);
    free(pk);
}

int block_value_pack(block_value_packer *pk, const uint8_t *v, size_t n, const uint8_t **cell,
                     size_t *cell_len)
{
    *cell = pk->cell;
    *cell_len = 0;
    if (n == 0)
        return KV_OK;
    if (pk->cap < n + 1) {
        uint8_t *grown = realloc(pk->cell, n + 1);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "block: cannot allocate %zu bytes for a value", n + 1);
        pk->cell = grown;
        pk->cap = n + 1;
        *cell = grown;
    }
    if (n >= BLOCK_VALUE_MIN_PACKED) {
        /* At most 7/8 of the value, its length included, or not
         * compressed: lz4_pack_compress gives up (returns 0) when its output would
         * not fit in what is left. */
        size_t limit = n - (n + 7) / 8;
        uint8_t *p = coding_put_varint32(pk->cell, (uint32_t)n);
        size_t head = (size_t)(p - pk->cell);
        size_t m = limit > head ? lz4_pack_compress(pk->lz4, v, n, p, limit - head) : 0;
        if (m > 0) {
            *cell_len = head + m;
            return KV_OK;
        }
    }
    pk->cell[0] = 0;
    memcpy(pk->cell + 1, v, n);
    *cell_len = n + 1;
    return KV_OK;
}

const char *block_value_size(const uint8_t *p, size_t n, size_t *len)
{
    *len = 0;
    if (n == 0)
        return NULL;
    if (p[0] == 0) {
        if (n == 1)
            return "a value cell stored as it is holds no bytes";
        *len = n - 1;
        return NULL;
    }
    uint32_t raw;
    const uint8_t *q = coding_get_varint32(p, p + n, &raw);
    if (q == NULL)
        return "a value cell's length is not a varint";
    size_t packed = n - (size_t)(q - p);
    if (packed == 0)
        return "a compressed value cell holds no lz4 bytes";
    if (raw > BLOCK_VALUE_MAX || raw > 256 * (uint64_t)packed + 64)
        return "a value cell's length is impossible for its lz4 bytes";
    *len = raw;
    return NULL;
}

const char *block_value_unpack(const uint8_t *p, size_t n, uint8_t *dst, size_t len)
{
    if (n == 0)
        return len == 0 ? NULL : "a value cell's length differs";
    if (p[0] == 0) {
        if (len != n - 1)
            return "a value cell's length differs";
        memcpy(dst, p + 1, len);
        return NULL;
    }
    uint32_t raw;
    const uint8_t *q = coding_get_varint32(p, p + n, &raw);
    if (q == NULL || raw != len)
        return "a value cell's length differs";
    int got = LZ4_decompress_safe((const char *)q, (char *)dst, (int)(n - (size_t)(q - p)),
                                  (int)len);
    return got == (int)len ? NULL : "a value cell's lz4 bytes do not decompress to its length";
}
