/*
 * table_v2_scan.c: step 5 of a lookup (table_v2_read.c) in an lz4 block
 * the full block cache turned away (doorkeeper.h), decoding it only as
 * far as the entry that answers (table_v2_scan in table_v2_format.h).  An
 * optimisation: a first reading skips this file; table_v2_block_search
 * over the whole block gives the same answers.
 *
 * The restart array, which a binary search needs, is at the block's end,
 * the last bytes lz4 would give; so the walk reads entries in order from
 * the first (a restart point: its key is whole), each key rebuilt from
 * the bytes it shares with the one before, and stops at the first key >=
 * the lookup key.  Keys fall anywhere in a block, so on average about
 * half of it is decoded, and lz4's decoding was the largest part of a get
 * on a settled database (docs/perf-06-leveled.md).
 *
 * The entries end where the restart array begins, and its first offset
 * is 0 (block_init checks it): four zero bytes, which read as an entry
 * with an empty key, which no entry has.  The walk hands anything it
 * cannot settle to the whole block's search: that end, a malformed entry
 * or lz4 sequence, a key longer than its buffer.
 */
#include <inttypes.h>
#include <string.h>

#include "error.h"
#include "lz4_steps.h"
#include "table_v2_format.h"

/* Keys up to this long are rebuilt on the stack; a longer one ends the
 * walk (the whole block's search takes it). */
#define TABLE_V2_SCAN_KEY 256u

/* The longest entry header: three varint32s. */
#define TABLE_V2_SCAN_HEADER 15u

/* The whole block: decoded by liblz4 from the start, then searched. */
static int table_v2_scan_whole(table *t, table_v2_handle h, const table_v2_blockref *ref,
                               uint8_t *once, const uint8_t *target, size_t tlen,
                               table_get_result *r)
{
    const char *why = table_v2_uncompress(ref->lz4, ref->lz4_size, once, ref->raw);
    block b;
    if (why == NULL)
        why = table_v2_block_init(&b, once, ref->raw, TABLE_V2_LZ4);
    if (why != NULL)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the block there (%" PRIu32
                        " bytes stored): %s", t->path, h.offset, h.size, why);
    return table_v2_block_search(t, &b, h.offset, target, tlen, r);
}

int table_v2_scan(table *t, table_v2_handle h, const table_v2_blockref *ref, uint8_t *once,
                  const uint8_t *target, size_t tlen, table_get_result *r)
{
    lz4_steps s;
    lz4_steps_init(&s, ref->lz4, ref->lz4_size, once, ref->raw);
    uint8_t key[TABLE_V2_SCAN_KEY + 16];
    size_t key_len = 0, at = 0;
    for (;;) {
        /* The entry at `at`, decoded far enough to be read whole. */
        const uint8_t *p = NULL;
        uint32_t shared = 0, unshared = 0, vlen = 0;
        size_t want = at + TABLE_V2_SCAN_HEADER;
        while (lz4_steps_until(&s, want) == 0) {
            if (s.out > at)
                p = block_entry_decode(once + at, once + s.out, &shared, &unshared, &vlen);
            if (p != NULL || s.done || s.out >= s.raw)
                break;
            want = s.out + 256;
        }
        size_t klen = (size_t)shared + unshared;
        if (p == NULL || shared > key_len || klen > TABLE_V2_SCAN_KEY || klen < TABLE_V2_IKEY_MIN)
            return table_v2_scan_whole(t, h, ref, once, target, tlen, r);
        /* 16 bytes at a time: past the key, the buffer's slack; past
         * the entry, once's (LZ4_STEPS_SLACK). */
        for (size_t i = 0; i < unshared; i += 16)
            memcpy(key + shared + i, p + i, 16);
        key_len = klen;
        if (ikey_compare(key, key_len, target, tlen) >= 0)
            return table_v2_block_answer(key, key_len, p + unshared, vlen, target, tlen, r);
        at = (size_t)(p + unshared + vlen - once);
    }
}
