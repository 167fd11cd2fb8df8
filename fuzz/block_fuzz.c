/*
 * block_fuzz.c: fuzz harness for stage 05's stored data blocks
 * (stages/05-blocks/blocks/block.h, table_v2_format.h).
 *
 * The input is one stored block as a table holds it: contents, then the
 * 9-byte trailer (compression type, raw size, checksum).  The harness
 * writes the right checksum into a copy first (the fuzzer could not find
 * one; the table harness covers a wrong one), then reads the block the
 * ways a lookup and a scan do: the trailer's checks, lz4 decompression
 * bounded by the recorded raw size, the restart array, every entry
 * forward and backward, and a seek to every key.  Nothing may crash or
 * read outside the bytes (ASan), and the answers must agree:
 *   - a backward walk yields the forward walk's entries in reverse, or
 *     stops with KV_ERR_CORRUPT at the same damage;
 *   - if the keys strictly ascend, a seek to each key lands on it.
 *
 * It is in FUZZ_05-blocks (stages/05-blocks/stage.mk): `make fuzz-smoke`
 * runs it, `make fuzz STAGE=05-blocks TARGET=block` is an AFL++ campaign,
 * and `make test` replays its seeds (pieces of real tables cut out by
 * scripts/fuzz_seeds.sh) and regressions (docs/fuzzing.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "crc32c.h"
#include "internal_key.h"
#include "kv.h"
#include "table_v2_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decompressed blocks larger than this are not made: the code that would
 * make one is the same as for a small one. */
#define BLOCK_FUZZ_RAW_MAX (1u << 20)

static void block_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "block fuzz invariant broken: %s\n", what);
        abort();
    }
}

/* Walks the contents both ways and seeks to every key. */
static void block_fuzz_contents(const uint8_t *p, size_t n)
{
    block b;
    if (block_init(&b, p, n) != NULL)
        return;
    block_iter it = {0};
    block_iter_init(&it, &b, TABLE_V2_IKEY_MIN);
    size_t cap = 64, count = 0;
    size_t *at = malloc(cap * sizeof *at);
    block_fuzz_check(at != NULL, "allocate");
    int ascending = 1;
    uint8_t *prev = NULL;
    size_t prev_len = 0;
    for (block_iter_seek_first(&it); it.valid; block_iter_next(&it)) {
        block_fuzz_check(it.key_len >= TABLE_V2_IKEY_MIN, "keys are internal keys");
        block_fuzz_check(it.value >= p && it.value + it.value_len <= p + n,
                         "values lie inside the block");
        if (count == cap) {
            size_t *grown = realloc(at, 2 * cap * sizeof *at);
            block_fuzz_check(grown != NULL, "allocate");
            at = grown;
            cap *= 2;
        }
        at[count++] = it.at;
        if (prev != NULL && ikey_compare(prev, prev_len, it.key, it.key_len) >= 0)
            ascending = 0;
        uint8_t *copy = realloc(prev, it.key_len);
        block_fuzz_check(copy != NULL, "allocate");
        memcpy(copy, it.key, it.key_len);
        prev = copy;
        prev_len = it.key_len;
    }
    int forward = it.status;
    block_fuzz_check(forward == KV_OK || forward == KV_ERR_CORRUPT, "only KV_ERR_CORRUPT");
    if (forward == KV_OK) {
        size_t back = count;
        for (block_iter_seek_last(&it); it.valid; block_iter_prev(&it)) {
            block_fuzz_check(back > 0 && at[back - 1] == it.at,
                             "a backward walk yields the forward walk's entries");
            back--;
        }
        block_fuzz_check(it.status == KV_OK && back == 0,
                         "a backward walk reads what a forward walk read");
    }
    for (size_t i = 0; forward == KV_OK && ascending && i < count; i++) {
        block_iter_seek_first(&it);
        while (it.valid && it.at != at[i])
            block_iter_next(&it);
        block_fuzz_check(it.valid, "the entry is there again");
        size_t klen = it.key_len;
        uint8_t *key = malloc(klen);
        block_fuzz_check(key != NULL, "allocate");
        memcpy(key, it.key, klen);
        block_iter_seek(&it, key, klen);
        block_fuzz_check(it.valid && it.at == at[i], "a seek to a key lands on it");
        free(key);
    }
    free(prev);
    free(at);
    block_iter_free(&it);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < TABLE_V2_TRAILER)
        return 0;
    uint8_t *copy = malloc(size); /* exactly the input: ASan sees overreads */
    block_fuzz_check(copy != NULL, "allocate");
    memcpy(copy, data, size);
    uint32_t stored = (uint32_t)(size - TABLE_V2_TRAILER);
    uint8_t *tr = copy + stored;
    coding_put_u32(tr + 5, crc32c_extend(crc32c_value(copy, stored), tr, 5));
    int type;
    uint32_t raw;
    if (table_v2_stored_check(copy, stored, &type, &raw) == NULL) {
        block_fuzz_check(type == TABLE_V2_RAW ? raw == stored : type == TABLE_V2_LZ4,
                         "the trailer's checks hold");
        if (type == TABLE_V2_RAW) {
            block_fuzz_contents(copy, stored);
        } else if (raw <= BLOCK_FUZZ_RAW_MAX) {
            uint8_t *out = malloc(raw);
            block_fuzz_check(out != NULL, "allocate");
            if (table_v2_uncompress(copy, stored, out, raw) == NULL)
                block_fuzz_contents(out, raw);
            free(out);
        }
    }
    /* The contents alone, as if stored uncompressed. */
    block_fuzz_contents(copy, stored);
    free(copy);
    return 0;
}
