/*
 * vlog_counts.c: VLOGCOUNTS, the live bytes of each value-log file as the
 * store knew them at the last clean close, so that the next kv_open need
 * not measure every file again (value_log.h, V2).  Written at kv_close (a
 * temporary file, synced, renamed, the directory synced), read and removed
 * at kv_open: a database that crashes has none, and its files are measured
 * again.  The counts choose what to collect, never what is read, so a
 * count that is wrong costs work, not data.
 *
 *   offset     size  field
 *   0          16    file header: "KVS08VLC", version 2 (file_header.h)
 *   16         8     flushed: every write up to it was in tables
 *   24         8     n: the files that follow
 *   32 + 48i   8     file i's name (its first write's sequence number),
 *                    ascending
 *   40 + 48i   8     its size in bytes
 *   48 + 48i   8     its value bytes (every value of at least the
 *                    threshold it holds for writes in tables)
 *   56 + 48i   8     its live bytes (those tables still point at)
 *   64 + 48i   8     its undropped bytes (of the others, those a job found
 *                    dead that a merge may still drop)
 *   72 + 48i   8     the last write when its live bytes were counted
 *   32 + 48n   4     crc32c of bytes 16 .. 32 + 48n
 * All numbers little-endian.  kv_open uses the counts only if `flushed` is
 * what the tables hold now: else the directory changed since (a crash
 * after a copy, say), and the files are measured.  Version 1, which older
 * builds wrote, has 32-byte lines (the first four fields): it is read with
 * nothing undropped and every count as old as the database.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "file_header.h"
#include "value_log.h"

#define VLOG_COUNTS_VERSION 2u
#define VLOG_COUNTS_FIXED 32u
#define VLOG_COUNTS_LINE 48u
#define VLOG_COUNTS_LINE_V1 32u

int vlog_counts_encode(uint64_t flushed, const vlog_count *counts, size_t n, uint8_t **out,
                       size_t *len)
{
    size_t size = VLOG_COUNTS_FIXED + n * VLOG_COUNTS_LINE + 4;
    uint8_t *p = malloc(size);
    if (p == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", VLOG_COUNTS_NAME);
    file_header_encode(p, FILE_MAGIC_VLC08, VLOG_COUNTS_VERSION);
    coding_put_u64(p + 16, flushed);
    coding_put_u64(p + 24, n);
    for (size_t i = 0; i < n; i++) {
        uint8_t *q = p + VLOG_COUNTS_FIXED + i * VLOG_COUNTS_LINE;
        coding_put_u64(q, counts[i].start);
        coding_put_u64(q + 8, counts[i].bytes);
        coding_put_u64(q + 16, counts[i].value_bytes);
        coding_put_u64(q + 24, counts[i].live_bytes);
        coding_put_u64(q + 32, counts[i].undropped);
        coding_put_u64(q + 40, counts[i].counted_at);
    }
    coding_put_u32(p + size - 4, crc32c_value(p + 16, size - 4 - 16));
    *out = p;
    *len = size;
    return KV_OK;
}

int vlog_counts_decode(const char *path, const uint8_t *p, size_t len, uint64_t *flushed,
                       vlog_count **counts, size_t *n)
{
    *counts = NULL;
    *n = 0;
    uint32_t version = len >= FILE_HEADER_SIZE && coding_get_u32(p + 8) == 1u
                           ? 1u : VLOG_COUNTS_VERSION;
    size_t line_size = version == 1u ? VLOG_COUNTS_LINE_V1 : VLOG_COUNTS_LINE;
    int rc = file_header_check(path, p, len, FILE_MAGIC_VLC08, version);
    if (rc != KV_OK)
        return rc;
    if (len < VLOG_COUNTS_FIXED + 4)
        return kv_error(KV_ERR_CORRUPT, "%s: offset 16: %zu bytes, too short for the counts "
                        "(at least %u)", path, len, VLOG_COUNTS_FIXED + 4);
    uint64_t count = coding_get_u64(p + 24);
    if (count > (len - VLOG_COUNTS_FIXED - 4) / line_size ||
        VLOG_COUNTS_FIXED + count * line_size + 4 != len)
        return kv_error(KV_ERR_CORRUPT, "%s: offset 24: %" PRIu64 " files, but the file's %zu "
                        "bytes hold %zu", path, count, len,
                        (len - VLOG_COUNTS_FIXED - 4) / line_size);
    if (crc32c_value(p + 16, len - 4 - 16) != coding_get_u32(p + len - 4))
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu: the crc32c does not match bytes 16 to "
                        "%zu", path, len - 4, len - 4);
    vlog_count *c = malloc((count ? count : 1) * sizeof *c);
    if (c == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", path);
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *q = p + VLOG_COUNTS_FIXED + i * line_size;
        c[i] = (vlog_count){.start = coding_get_u64(q), .bytes = coding_get_u64(q + 8),
                            .value_bytes = coding_get_u64(q + 16),
                            .live_bytes = coding_get_u64(q + 24)};
        if (version > 1u) {
            c[i].undropped = coding_get_u64(q + 32);
            c[i].counted_at = coding_get_u64(q + 40);
        }
        const char *why = c[i].start == 0 ? "is named 0"
                          : i > 0 && c[i].start <= c[i - 1].start ? "is out of order"
                          : c[i].value_bytes > c[i].bytes ? "has more value bytes than bytes"
                          : c[i].live_bytes > c[i].value_bytes ? "has more live bytes than "
                                                                 "value bytes"
                          : c[i].undropped > c[i].value_bytes - c[i].live_bytes
                              ? "has more undropped bytes than dead ones"
                              : NULL;
        if (why != NULL) {
            uint64_t start = c[i].start;
            free(c);
            return kv_error(KV_ERR_CORRUPT, "%s: offset %zu: file %" PRIu64 " %s", path,
                            (size_t)(q - p), start, why);
        }
    }
    *flushed = coding_get_u64(p + 16);
    *counts = c;
    *n = (size_t)count;
    return KV_OK;
}

/* The whole of a small file: KV_OK, or *exists 0. */
static int vlog_counts_read(const char *path, uint8_t **out, size_t *len, int *exists)
{
    *out = NULL;
    int rc = io_exists(path, exists);
    if (rc != KV_OK || !*exists)
        return rc;
    io_file *f = NULL;
    uint64_t size = 0;
    if ((rc = io_open(path, IO_READ, &f)) == KV_OK && (rc = io_size(f, &size)) == KV_OK &&
        size > (64u << 20))
        rc = kv_error(KV_ERR_CORRUPT, "%s: %" PRIu64 " bytes, more than any counts take",
                      path, size);
    uint8_t *p = rc == KV_OK ? malloc(size ? (size_t)size : 1) : NULL;
    if (rc == KV_OK && p == NULL)
        rc = kv_error(KV_ERR_NOMEM, "%s: out of memory", path);
    size_t got = 0;
    if (rc == KV_OK && (rc = io_read_at(f, 0, p, (size_t)size, &got)) == KV_OK && got != size)
        rc = kv_error(KV_ERR_IO, "%s: read %zu of %" PRIu64 " bytes", path, got, size);
    io_close(f);
    if (rc != KV_OK) {
        free(p);
        return rc;
    }
    *out = p;
    *len = (size_t)size;
    return KV_OK;
}

int vlog_counts_load(const char *dir, int read_only, uint64_t flushed, vlog_count **counts,
                     size_t *n)
{
    *counts = NULL;
    *n = 0;
    char *path = io_join(dir, VLOG_COUNTS_NAME);
    if (path == NULL)
        return kv_error(KV_ERR_NOMEM, "value log: out of memory");
    uint8_t *p = NULL;
    size_t len = 0;
    int exists = 0;
    uint64_t saved = 0;
    int rc = vlog_counts_read(path, &p, &len, &exists);
    if (rc == KV_OK && exists &&
        (vlog_counts_decode(path, p, len, &saved, counts, n) != KV_OK || saved != flushed)) {
        /* Damaged, or of another state of the directory: only lost work,
         * the files are measured. */
        free(*counts);
        *counts = NULL;
        *n = 0;
    }
    free(p);
    if (rc == KV_OK && exists && !read_only) {
        rc = io_unlink(path);
        if (rc == KV_OK)
            rc = io_sync_dir(dir);
    }
    free(path);
    /* A save a crash cut short. */
    char *tmp = rc == KV_OK && !read_only ? io_join(dir, VLOG_COUNTS_NAME ".tmp") : NULL;
    if (rc == KV_OK && !read_only && tmp == NULL)
        rc = kv_error(KV_ERR_NOMEM, "value log: out of memory");
    if (tmp != NULL && (rc = io_exists(tmp, &exists)) == KV_OK && exists)
        rc = io_unlink(tmp);
    free(tmp);
    if (rc != KV_OK) {
        free(*counts);
        *counts = NULL;
        *n = 0;
    }
    return rc;
}

int vlog_counts_save(const char *dir, uint64_t flushed, const vlog_count *counts, size_t n)
{
    uint8_t *p = NULL;
    size_t len = 0;
    int rc = vlog_counts_encode(flushed, counts, n, &p, &len);
    if (rc == KV_OK)
        rc = io_replace(dir, VLOG_COUNTS_NAME, p, len, NULL);
    free(p);
    return rc;
}
