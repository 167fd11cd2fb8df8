/*
 * vlog_where.c: where a value is (value_log.h), and the arithmetic of a
 * value's bytes inside the blocks of a log (wal_format.h).
 *
 * A record starts with a fragment header at rec_start; its payload runs in
 * the data of that fragment to the end of the block, then in the data of
 * one fragment per block (7 bytes of header, then up to 32,761 bytes),
 * because a fragment that is not a record's last fills its block.  So
 * byte i of the payload is at a place arithmetic finds, and a value's
 * bytes, from its first, run to the end of their block, continue 7 bytes
 * into the next, and so on.
 */
#include <stdio.h>
#include <string.h>

#include "coding.h"
#include "lsm_wal.h"
#include "value_log.h"
#include "wal_format.h"

size_t vlog_where_encode(uint8_t *out, const vlog_where *w)
{
    uint8_t *p = coding_put_varint64(out, w->file);
    p = coding_put_varint64(p, w->offset);
    p = coding_put_varint32(p, w->len);
    coding_put_u32(p, w->crc);
    return (size_t)(p + 4 - out);
}

int vlog_where_decode(const uint8_t *p, size_t n, vlog_where *w, const char **why)
{
    const uint8_t *limit = p + n;
    if ((p = coding_get_varint64(p, limit, &w->file)) == NULL) {
        *why = "its file number is cut short or too long";
        return -1;
    }
    if ((p = coding_get_varint64(p, limit, &w->offset)) == NULL) {
        *why = "its offset is cut short or too long";
        return -1;
    }
    if ((p = coding_get_varint32(p, limit, &w->len)) == NULL) {
        *why = "its length is cut short or too long";
        return -1;
    }
    if (limit - p != 4) {
        *why = limit - p < 4 ? "its crc32c is cut short" : "bytes follow its crc32c";
        return -1;
    }
    w->crc = coding_get_u32(p);
    if (w->file == 0) {
        *why = "file number 0 (logs are named from 1)";
        return -1;
    }
    if (w->len == 0 || w->len > VLOG_MAX_VALUE) {
        *why = "a length of 0, or past 64 MiB";
        return -1;
    }
    /* A value's first byte is some fragment's data: past the file header
     * and the first fragment's header, and not inside a block's header. */
    if (w->offset < LSM_WAL_START + WAL_HEADER_SIZE || w->offset % WAL_BLOCK_SIZE <
                                                        WAL_HEADER_SIZE) {
        *why = "an offset inside a header, where no value byte can be";
        return -1;
    }
    if (w->offset > UINT64_MAX / 2) {
        *why = "an offset past any file";
        return -1;
    }
    return 0;
}

uint64_t vlog_span(const vlog_where *w)
{
    uint64_t at = w->offset, left = w->len;
    uint64_t take = wal_block_left(at);
    for (;;) {
        if (left <= take)
            return at + left - w->offset;
        at += take + WAL_HEADER_SIZE; /* to the next block's data */
        left -= take;
        take = WAL_MAX_FRAGMENT;
    }
}

void vlog_gather(const vlog_where *w, const uint8_t *span, uint8_t *out)
{
    uint64_t at = w->offset, left = w->len;
    uint64_t take = wal_block_left(at);
    const uint8_t *p = span;
    while (left > 0) {
        uint64_t n = left < take ? left : take;
        memmove(out, p, (size_t)n); /* in place: out <= p */
        out += n;
        left -= n;
        p += n + WAL_HEADER_SIZE;
        take = WAL_MAX_FRAGMENT;
    }
}

uint64_t vlog_payload_offset(uint64_t rec_start, uint64_t i)
{
    uint64_t first = wal_block_left(rec_start) - WAL_HEADER_SIZE;
    if (i < first)
        return rec_start + WAL_HEADER_SIZE + i;
    i -= first;
    uint64_t block = rec_start + wal_block_left(rec_start);
    return block + i / WAL_MAX_FRAGMENT * WAL_BLOCK_SIZE + WAL_HEADER_SIZE +
           i % WAL_MAX_FRAGMENT;
}

void vlog_file_name(char *out, size_t cap, uint64_t file, int log)
{
    snprintf(out, cap, "%012llu%s", (unsigned long long)file, log ? LSM_WAL_SUFFIX : VLOG_SUFFIX);
}

int vlog_name_parse(const char *name, uint64_t *start)
{
    const char *p = name;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*p++ - '0');
    }
    char canonical[LSM_NAME_MAX];
    vlog_file_name(canonical, sizeof canonical, v, 0);
    if (v == 0 || strcmp(name, canonical) != 0)
        return 0;
    *start = v;
    return 1;
}
