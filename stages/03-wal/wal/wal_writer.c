/*
 * wal_writer.c: fragments records into 32 KiB blocks (wal_format.h).
 */
#include "wal_writer.h"

#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "kv.h"
#include "wal_format.h"

uint64_t wal_framed_max(uint64_t len)
{
    /* A trailer (at most 6 bytes), then one header per started block. */
    return WAL_HEADER_SIZE - 1 + len + WAL_HEADER_SIZE * (len / WAL_MAX_FRAGMENT + 2);
}

size_t wal_frame(uint8_t *dst, uint64_t at, const uint8_t *payload, size_t len)
{
    uint8_t *p = dst;
    int first = 1;
    for (;;) {
        uint32_t left = wal_block_left(at);
        if (left < WAL_HEADER_SIZE) {
            memset(p, 0, left); /* the trailer */
            p += left;
            at += left;
            left = WAL_BLOCK_SIZE;
        }
        size_t n = len < left - WAL_HEADER_SIZE ? len : left - WAL_HEADER_SIZE;
        int last = n == len;
        uint8_t type = first && last ? WAL_FULL : first ? WAL_FIRST : last ? WAL_LAST
                                                                            : WAL_MIDDLE;
        coding_put_u16(p + 4, (uint16_t)n);
        p[6] = type;
        memmove(p + WAL_HEADER_SIZE, payload, n); /* record_encode overlaps them */
        /* Length, type and payload now lie side by side: one pass. */
        coding_put_u32(p, crc32c_value(p + 4, 3 + n));
        p += WAL_HEADER_SIZE + n;
        at += WAL_HEADER_SIZE + n;
        payload += n;
        len -= n;
        first = 0;
        if (last)
            return (size_t)(p - dst);
    }
}

int wal_append(io_file *f, uint64_t at, const uint8_t *const *records, const size_t *lens,
               size_t n, uint64_t *ends)
{
    uint64_t max = 0;
    for (size_t i = 0; i < n; i++)
        max += wal_framed_max(lens[i]);
    uint8_t *buf = malloc(max ? (size_t)max : 1);
    if (buf == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: offset %llu: out of memory for %llu bytes of log",
                        io_path(f), (unsigned long long)at, (unsigned long long)max);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        used += wal_frame(buf + used, at + used, records[i], lens[i]);
        if (ends)
            ends[i] = at + used;
    }
    int rc = io_append_bytes(f, buf, used);
    free(buf);
    return rc;
}
