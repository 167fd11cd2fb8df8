/*
 * snapshot_fuzz.c: fuzz harness for stage 10's snapshot format
 * (stages/10-raft/replica/snapshot_format.h), which a member installs
 * from another.  It needs no engine: the Makefile builds it once, under
 * the name "replica".
 *
 * The input is a snapshot's bytes, checked twice: as they are, and with
 * their last four bytes replaced by the checksum of the rest (so that the
 * records themselves are reached, not only the checksum).  snapshot_check
 * either refuses them, with a message naming an offset, or accepts them;
 * the harness reads the bytes again by snapshot_format.h's table
 * (snapshot_fuzz_valid, written from the table, not from the decoder)
 * and aborts unless the decoder accepts exactly what the table allows
 * (S1-S3: the checksum holds, the header's N records tile the bytes
 * exactly, each key 1..KV_MAX_KEY bytes and each value at most
 * KV_MAX_VALUE, in increasing key order, none a key of the replica's own
 * but a member's address), with the header's index and count.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "kv.h"
#include "snapshot_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether the key is the replica's own but not a member's address: the
 * prefix "\xff\xffkv.replica:" (13 bytes), but not "...member:" and
 * an 8-byte id (command.h, spelled out here again). */
static int snapshot_fuzz_own_key(const uint8_t *k, size_t n)
{
    static const char own[] = "\xff\xffkv.replica:", member[] = "\xff\xffkv.replica:member:";
    if (n < sizeof own - 1 || memcmp(k, own, sizeof own - 1) != 0)
        return 0;
    return !(n == sizeof member - 1 + 8 && memcmp(k, member, sizeof member - 1) == 0);
}

/* 1 if p[0, len) is a snapshot by the byte table (S1-S3). */
static int snapshot_fuzz_valid(const uint8_t *p, size_t len)
{
    if (len < 28 || memcmp(p, "KVRSNAP1", 8) != 0 ||
        crc32c_value(p, len - 4) != coding_get_u32(p + len - 4))
        return 0;
    uint64_t n = coding_get_u64(p + 16);
    size_t at = 24, end = len - 4;
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (end - at < 8)
            return 0;
        uint64_t klen = coding_get_u32(p + at), vlen = coding_get_u32(p + at + 4);
        if (klen < 1 || klen > KV_MAX_KEY || vlen > KV_MAX_VALUE || klen + vlen > end - at - 8)
            return 0;
        const uint8_t *key = p + at + 8;
        if (snapshot_fuzz_own_key(key, (size_t)klen))
            return 0;
        if (prev != NULL) {
            size_t common = prev_len < klen ? prev_len : (size_t)klen;
            int order = memcmp(prev, key, common);
            if (order > 0 || (order == 0 && prev_len >= klen))
                return 0;
        }
        prev = key;
        prev_len = (size_t)klen;
        at += 8 + (size_t)(klen + vlen);
    }
    return at == end;
}

static void snapshot_fuzz_one(const uint8_t *p, size_t len)
{
    uint64_t index = 0, count = 0;
    int rc = snapshot_check(p, len, &index, &count);
    if (rc != KV_OK && (rc != KV_ERR_CORRUPT || kv_errmsg() == NULL ||
                        strstr(kv_errmsg(), "offset") == NULL))
        abort(); /* a refusal is damage, and says where */
    if ((rc == KV_OK) != snapshot_fuzz_valid(p, len))
        abort(); /* accepted exactly when the table allows it (S1-S3) */
    if (rc == KV_OK && (index != coding_get_u64(p + 8) || count != coding_get_u64(p + 16)))
        abort(); /* the header's index and count */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    snapshot_fuzz_one(data, size);
    if (size >= 4) {
        uint8_t *fixed = malloc(size);
        if (fixed == NULL)
            return 0;
        memcpy(fixed, data, size);
        coding_put_u32(fixed + size - 4, crc32c_value(fixed, size - 4));
        snapshot_fuzz_one(fixed, size);
        free(fixed);
    }
    return 0;
}
