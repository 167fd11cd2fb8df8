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
 * then the harness aborts unless its checksum holds and the header's N
 * records tile the bytes exactly, in increasing key order, none a key of
 * the replica's own but a member's address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "command.h"
#include "crc32c.h"
#include "snapshot_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void snapshot_fuzz_one(const uint8_t *p, size_t len)
{
    uint64_t index = 0, count = 0;
    if (snapshot_check(p, len, &index, &count) != KV_OK) {
        if (kv_errmsg() == NULL || strstr(kv_errmsg(), "offset") == NULL)
            abort(); /* a refusal must say where */
        return;
    }
    size_t at = SNAPSHOT_HEADER, end = len - 4;
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    for (uint64_t i = 0; i < count; i++) {
        if (end - at < 8)
            abort();
        size_t klen = coding_get_u32(p + at), vlen = coding_get_u32(p + at + 4);
        if (klen == 0 || end - at - 8 < klen + vlen)
            abort();
        const uint8_t *key = p + at + 8;
        if (command_key_reserved(key, klen) && !command_key_member(key, klen))
            abort();
        if (prev != NULL) {
            int order = memcmp(prev, key, prev_len < klen ? prev_len : klen);
            if (order > 0 || (order == 0 && prev_len >= klen))
                abort();
        }
        prev = key;
        prev_len = klen;
        at += 8 + klen + vlen;
    }
    if (at != end || coding_get_u64(p + 8) != index ||
        crc32c_value(p, len - 4) != coding_get_u32(p + len - 4))
        abort(); /* tiled, the header's index, the checksum holds (S1) */
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
