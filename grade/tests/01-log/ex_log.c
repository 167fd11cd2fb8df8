/*
 * ex_log.c: the helpers of ex_log.h.
 */
#include "ex_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "exercise.h"
#include "file_header.h"

size_t ex_log_record(uint8_t *dst, const void *key, size_t klen, const void *val, size_t vlen)
{
    coding_put_u16(dst + 4, (uint16_t)klen);
    coding_put_u32(dst + 6, val ? (uint32_t)vlen : 0xFFFFFFFFu);
    memcpy(dst + 10, key, klen);
    if (val && vlen)
        memcpy(dst + 10 + klen, val, vlen);
    size_t size = 10 + klen + (val ? vlen : 0);
    coding_put_u32(dst, crc32c_value(dst + 4, size - 4));
    return size;
}

const char *ex_log_file(size_t n, uint64_t *offsets, const uint8_t *extra, size_t tail)
{
    uint8_t *buf = malloc(16 + n * 40 + tail);
    if (buf == NULL)
        harness_fail(__FILE__, __LINE__, "out of memory");
    file_header_encode(buf, FILE_MAGIC_LOG01, 1);
    size_t len = FILE_HEADER_SIZE;
    for (size_t i = 0; i < n; i++) {
        char k[16], v[24];
        int kl = snprintf(k, sizeof k, "k%zu", i);
        int vl = snprintf(v, sizeof v, "value-%zu", i);
        if (offsets)
            offsets[i] = len;
        len += ex_log_record(buf + len, k, (size_t)kl, v, (size_t)vl);
    }
    if (offsets)
        offsets[n] = len;
    if (tail)
        memcpy(buf + len, extra, tail);
    const char *path = ex_write_file("data.log", buf, len + tail);
    free(buf);
    return path;
}
