/*
 * table_v2_trailer.c: a stored block's checks (table_v2_format.h's T1):
 * its CRC over the contents and the trailer's first 5 bytes, then the
 * trailer's compression type and raw size.  Every reader of a stored
 * block calls them: the open (its meta blocks), a lookup and an iterator
 * (data blocks, through table_v2_checked.c where the file is mapped), the
 * tools and the salvage.
 */
#include "crc32c.h"
#include "table_v2_format.h"

const char *table_v2_stored_check(const uint8_t *p, uint32_t size, int *type, uint32_t *raw)
{
    const uint8_t *tr = p + size;
    /* A block read from the file's mapping is usually in no CPU cache:
     * asking for all of its cache lines at once lets the memory fetch
     * them side by side, where the checksum alone would wait for each in
     * turn (about 7% of a get on a settled database, docs/perf-06-leveled.md). */
    for (uint32_t i = 0; i < size + 9; i += 64)
        __builtin_prefetch(p + i);
    if (crc32c_value(p, (size_t)size + 5) != coding_get_u32(tr + 5))
        return "its checksum does not match";
    return table_v2_trailer_check(p, size, type, raw);
}

const char *table_v2_trailer_check(const uint8_t *p, uint32_t size, int *type, uint32_t *raw)
{
    const uint8_t *tr = p + size;
    *type = tr[0];
    *raw = coding_get_u32(tr + 1);
    if (*type == TABLE_V2_RAW)
        return *raw == size ? NULL : "its raw size differs from its stored size, uncompressed";
    if (*type != TABLE_V2_LZ4)
        return "its compression type is unknown";
    /* lz4 cannot expand more than about 255 times: a raw size beyond that
     * is not allocated. */
    if (*raw == 0 || *raw > TABLE_V2_RAW_MAX || *raw > 256 * (uint64_t)size + 64)
        return "its raw size is impossible for its stored size";
    return NULL;
}
