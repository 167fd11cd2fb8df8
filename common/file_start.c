/*
 * file_start.c: writing and judging the header at the start of a data file
 * (file_start.h).
 */
#include "file_start.h"

#include <stdio.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "kv.h"

int file_start_write(io_file *f, const char *magic, uint32_t version)
{
    uint8_t header[FILE_HEADER_SIZE];
    file_header_encode(header, magic, version);
    return io_append_bytes(f, header, sizeof header);
}

int file_start_read(io_file *f, uint64_t size, const char *magic, uint32_t version,
                    file_start *fs)
{
    memset(fs, 0, sizeof *fs);
    if (size == 0) {
        fs->state = FILE_START_EMPTY;
        return KV_OK;
    }
    uint8_t p[FILE_HEADER_SIZE];
    size_t n = size < sizeof p ? (size_t)size : sizeof p, got = 0;
    int rc = io_read_at(f, 0, p, n, &got);
    if (rc != KV_OK)
        return rc;
    if (got < n)
        return kv_error(KV_ERR_IO, "%s: read %zu of the first %zu bytes", io_path(f), got, n);
    if (file_header_check(io_path(f), p, n, magic, version) == KV_OK) {
        fs->state = FILE_START_OK;
        return KV_OK;
    }
    /* A whole header, checksum and all, of any format: written on purpose. */
    int whole = n == FILE_HEADER_SIZE && coding_get_u32(p + 12) == crc32c_value(p, 12);
    if (size <= FILE_HEADER_SIZE && !whole) {
        fs->state = FILE_START_TORN;
        snprintf(fs->why, sizeof fs->why, "%s: offset 0: a file header cut short (%zu bytes "
                 "that are not a whole header, and nothing after them): a crash while the "
                 "file was being created", io_path(f), n);
        return KV_OK;
    }
    fs->state = FILE_START_BAD;
    snprintf(fs->why, sizeof fs->why, "%s%s", kv_errmsg(),
             size > FILE_HEADER_SIZE ? " (bytes follow it, so this is damage, not a crash "
                                       "while the file was created)" : "");
    return KV_OK;
}
