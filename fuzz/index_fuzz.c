/*
 * index_fuzz.c: fuzz harness for stage 05's index block
 * (stages/05-blocks/table_v2/table_v2_format.h: one entry per data block, its
 * separator key and the block's handle).
 *
 * The input is an index block's contents, as an open table keeps them in
 * memory (meta blocks are stored uncompressed, their checksum checked at
 * open).  The harness reads it the ways a table does: the restart array,
 * every entry forward and backward, each value decoded as a block handle
 * and checked to lie inside the data blocks (of a table whose data blocks
 * end at the input's first 8 bytes, read as a number), and a seek for
 * every separator, as a lookup makes.  Nothing may crash or read outside
 * the bytes (ASan), and:
 *   - a handle is accepted only if its block lies in [16, D);
 *   - if the separators strictly ascend, a seek to each lands on it.
 *
 * It is in FUZZ_05-blocks (stages/05-blocks/stage.mk); seeds are the index
 * blocks of real tables (scripts/fuzz_seeds.sh), docs/fuzzing.md says how
 * to run it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "internal_key.h"
#include "kv.h"
#include "table_v2_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void index_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "index fuzz invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    table t;
    memset(&t, 0, sizeof t);
    t.path = "index";
    t.kept.data_end = coding_get_u64(data);
    size_t n = size - 8;
    uint8_t *copy = malloc(n ? n : 1); /* exactly the contents: ASan sees overreads */
    index_fuzz_check(copy != NULL, "allocate");
    memcpy(copy, data + 8, n);
    if (block_init(&t.kept.index, copy, n) != NULL) {
        free(copy);
        return 0;
    }
    block_iter ix = {0}, probe = {0};
    block_iter_init(&ix, &t.kept.index, TABLE_V2_IKEY_MIN);
    block_iter_init(&probe, &t.kept.index, TABLE_V2_IKEY_MIN);
    uint64_t entries = 0;
    int ascending = 1;
    uint8_t *prev = NULL;
    size_t prev_len = 0;
    for (block_iter_seek_first(&ix); ix.valid; block_iter_next(&ix), entries++) {
        table_v2_handle h;
        int rc = table_v2_index_handle(&t, &ix, &h);
        index_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT, "only KV_ERR_CORRUPT");
        if (rc == KV_OK)
            index_fuzz_check(h.offset >= TABLE_V2_DATA_AT && h.offset < t.kept.data_end &&
                             t.kept.data_end - h.offset >= TABLE_V2_TRAILER &&
                             t.kept.data_end - h.offset - TABLE_V2_TRAILER >= h.size,
                             "a handle accepted lies inside the data blocks");
        if (prev != NULL && ikey_compare(prev, prev_len, ix.key, ix.key_len) >= 0)
            ascending = 0;
        uint8_t *grown = realloc(prev, ix.key_len);
        index_fuzz_check(grown != NULL, "allocate");
        prev = grown;
        memcpy(prev, ix.key, ix.key_len);
        prev_len = ix.key_len;
    }
    if (ix.status != KV_OK) {
        index_fuzz_check(table_v2_block_iter_error(&t, &ix, "index", 0) == ix.status,
                         "the error is the iterator's");
    } else {
        for (block_iter_seek_last(&ix); ix.valid; block_iter_prev(&ix))
            entries--;
        index_fuzz_check(ix.status == KV_OK && entries == 0, "both ways, the same entries");
        /* If the separators ascend, a lookup's seek for each lands on it. */
        for (block_iter_seek_first(&ix); ascending && ix.valid; block_iter_next(&ix)) {
            block_iter_seek(&probe, ix.key, ix.key_len);
            index_fuzz_check(probe.valid && probe.at == ix.at,
                             "a seek to a separator lands on it");
        }
    }
    free(prev);
    block_iter_free(&ix);
    block_iter_free(&probe);
    free(copy);
    return 0;
}
