/*
 * wal_marker.c: encoding and decoding sync markers and seals (byte table
 * in wal_marker.h).
 */
#include "wal_marker.h"

#include "coding.h"

size_t wal_marker_encode(uint8_t *dst, uint64_t synced_to, int final)
{
    dst[0] = 0;
    coding_put_u64(dst + 1, synced_to);
    if (!final)
        return WAL_MARKER_SIZE;
    dst[WAL_MARKER_SIZE] = 1;
    return WAL_SEAL_SIZE;
}

int wal_marker_decode(const uint8_t *p, const uint8_t *limit, uint64_t *synced_to)
{
    ptrdiff_t n = limit - p;
    if ((n != (ptrdiff_t)WAL_MARKER_SIZE && n != (ptrdiff_t)WAL_SEAL_SIZE) || p[0] != 0 ||
        (n == (ptrdiff_t)WAL_SEAL_SIZE && p[WAL_MARKER_SIZE] != 1))
        return 0;
    *synced_to = coding_get_u64(p + 1);
    return n == (ptrdiff_t)WAL_SEAL_SIZE ? 2 : 1;
}
