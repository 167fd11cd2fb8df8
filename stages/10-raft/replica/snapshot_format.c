/*
 * snapshot_format.c: a replica's snapshot checked (snapshot_format.h).
 */
#include <string.h>

#include "coding.h"
#include "command.h"
#include "crc32c.h"
#include "error.h"
#include "snapshot_format.h"

int snapshot_check(const uint8_t *p, size_t len, uint64_t *index, uint64_t *count)
{
    *index = *count = 0;
    if (len < SNAPSHOT_HEADER + 4 || memcmp(p, SNAPSHOT_MAGIC, 8) != 0)
        return kv_error(KV_ERR_CORRUPT, "replica snapshot: offset 0: %zu bytes without the "
                        "header \"" SNAPSHOT_MAGIC "\"", len);
    uint32_t want = coding_get_u32(p + len - 4), got = crc32c_value(p, len - 4);
    if (want != got)
        return kv_error(KV_ERR_CORRUPT, "replica snapshot: offset %zu: checksum %08x, the "
                        "bytes before it give %08x", len - 4, want, got);
    *index = coding_get_u64(p + 8);
    *count = coding_get_u64(p + 16);
    size_t at = SNAPSHOT_HEADER, end = len - 4;
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    for (uint64_t i = 0; i < *count; i++) {
        if (end - at < 8)
            return kv_error(KV_ERR_CORRUPT, "replica snapshot: record %llu at offset %zu: "
                            "%zu bytes left, its lengths take 8", (unsigned long long)i, at,
                            end - at);
        size_t klen = coding_get_u32(p + at), vlen = coding_get_u32(p + at + 4);
        if (klen == 0 || klen > KV_MAX_KEY || vlen > KV_MAX_VALUE || end - at - 8 < klen + vlen)
            return kv_error(KV_ERR_CORRUPT, "replica snapshot: record %llu at offset %zu: a "
                            "key of %zu bytes and a value of %zu do not fit", (unsigned long long)i,
                            at, klen, vlen);
        const uint8_t *key = p + at + 8;
        int order = prev == NULL ? -1 : memcmp(prev, key, prev_len < klen ? prev_len : klen);
        if (prev != NULL && (order > 0 || (order == 0 && prev_len >= klen)))
            return kv_error(KV_ERR_CORRUPT, "replica snapshot: record %llu at offset %zu: its "
                            "key does not follow the one before", (unsigned long long)i, at);
        if (command_key_reserved(key, klen) && !command_key_member(key, klen))
            return kv_error(KV_ERR_CORRUPT, "replica snapshot: record %llu at offset %zu "
                            "names a key of the replica's own (not a member's address)",
                            (unsigned long long)i, at);
        prev = key;
        prev_len = klen;
        at += 8 + klen + vlen;
    }
    if (at != end)
        return kv_error(KV_ERR_CORRUPT, "replica snapshot: %zu bytes after record %llu, at "
                        "offset %zu", end - at, (unsigned long long)*count, at);
    return KV_OK;
}
