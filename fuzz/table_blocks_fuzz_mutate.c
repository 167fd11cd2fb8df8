/*
 * table_blocks_fuzz_mutate.c: the table_blocks fuzz harness's own mutator
 * (LLVMFuzzerCustomMutator): one stored block changed at a time, a kind of
 * block picked first, so that the few blocks of a kind (the top level, the
 * filters) change as often as the many data blocks.  table_blocks_fuzz.c
 * says what an input is and what it checks.
 *
 * Invariants: a mutation stays within max_size; where no libFuzzer is
 * linked (LLVMFuzzerMutate is NULL: the replay driver, AFL++) it changes
 * nothing.
 */
#include <limits.h>
#include <lz4.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "block_hash.h"
#include "bloom.h"
#include "crc32c.h"
#include "error.h"
#include "file_header.h"
#include "fuzz_dbfile.h"
#include "internal_key.h"
#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"
#include "table.h"
#include "table_blocks_fuzz.h"
#include "table_inspect.h"
#include "table_v2_format.h"

#include "../tests/alloc/alloc_wrap.h"

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
/* libFuzzer's own mutator; absent (NULL) where no libFuzzer is linked:
 * the replay driver and AFL++, which never call the custom mutator. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));

/* ---- a mutator that knows the blocks ---------------------------------------------- */

/* One byte of one entry's key in the index block b (version 1's index,
 * an index partition, the top level) made one more or one less, in
 * place: a separator or a top-level key moved past its neighbours. */
static void table_blocks_key_step(const block *b, unsigned pick)
{
    block_iter it = {0};
    block_iter_init(&it, b, 1);
    size_t n = 0;
    for (block_iter_seek_first(&it); it.valid; block_iter_next(&it))
        n++;
    size_t want = n ? pick % n : 0, i = 0;
    for (block_iter_seek_first(&it); it.valid && i < want; block_iter_next(&it))
        i++;
    uint32_t shared, unshared, vlen;
    const uint8_t *k = it.valid ? block_entry_decode(b->data + it.at, b->data + b->entries_end,
                                                     &shared, &unshared, &vlen)
                                : NULL;
    if (k != NULL && unshared > 0) {
        uint8_t *byte = (uint8_t *)k + (pick >> 8) % unshared;
        *byte = (uint8_t)(*byte + ((pick >> 4) & 1 ? 1 : -1));
    }
    block_iter_free(&it);
}

/* Writes the filter f (in place, its size kept) again for the user keys
 * of its entries, with k hashes: bloom.h's format read from its header
 * (one 64-bit hash, h_i = lo + i * hi, each onto [0, m) by a multiply),
 * so that it holds them (BF1) with its last bits byte, just before k,
 * something else.  Nothing if f is shorter than the smallest filter. */
static void table_blocks_filter_rewrite(const table_blocks_model *m, const table_blocks_filter *f,
                                        int k)
{
    uint8_t *p = (uint8_t *)f->lo;
    size_t len = (size_t)(f->hi - f->lo);
    if (len < BLOOM_MIN_BITS / 8 + 1 || len - 1 > BLOOM_MAX_BITS / 8)
        return;
    uint32_t bits = (uint32_t)(len - 1) * 8;
    memset(p, 0, len - 1);
    for (size_t i = f->first; i < f->end; i++) {
        size_t klen;
        const uint8_t *key = table_blocks_model_key(m, i, &klen);
        ikey_parsed ik;
        if (!ikey_decode(key, key + klen, &ik))
            continue;
        uint64_t hash = bloom_hash(ik.user_key, ik.user_len);
        uint32_t h = (uint32_t)hash, delta = (uint32_t)(hash >> 32);
        for (int j = 0; j < k; j++, h += delta) {
            uint32_t pos = (uint32_t)(((uint64_t)h * bits) >> 32);
            p[pos / 8] |= (uint8_t)(1u << (pos % 8));
        }
    }
    p[len - 1] = (uint8_t)k;
}

/* One of the table's filters written again (table_blocks_filter_rewrite)
 * with a k of 1 to 30; 0 if it has none. */
static int table_blocks_filter_mutate(uint8_t *data, size_t size)
{
    table_blocks_model m;
    table_blocks_model_read(data, size, &m);
    int any = m.nfilters > 0;
    if (any)
        table_blocks_filter_rewrite(&m, &m.filters[(size_t)rand() % m.nfilters],
                                    1 + rand() % BLOOM_MAX_K);
    table_blocks_model_free(&m);
    return any;
}

/* Mutates one block: a kind of block picked first (data blocks, index
 * blocks or partitions, the top level, filters, the other meta blocks),
 * then a block of that kind, whose bytes libFuzzer's mutator changes in
 * place, the file's size and layout kept (the harness makes the
 * checksums right), or, three times in four for an index block or the
 * top level, one byte of one entry's key one more or one less, and half
 * the time for a filter, the filter written again for the keys it answers
 * for with a k of 1 to 30, its size kept (so that it still holds them:
 * a filter whose bits a mutation cleared holds the lookups to nothing).
 * So a table's few blocks of a kind (its top level) are changed as often
 * as its many data blocks.  One time in four, or
 * when the walk finds no block, libFuzzer's own mutation of the bytes as
 * they are. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    if (LLVMFuzzerMutate == NULL)
        return size;
    srand(seed);
    table_blocks_walker w = {.fix = 0};
    table_blocks_walk(&w, data, size);
    int kinds[TB_KINDS], nk = 0;
    for (int k = 0; k < TB_KINDS; k++)
        if (w.nseen[k] > 0)
            kinds[nk++] = k;
    size_t out = size;
    if (nk == 0 || rand() % 4 == 0) {
        out = LLVMFuzzerMutate(data, size, max_size);
    } else {
        int k = kinds[rand() % nk];
        table_v2_handle h = w.seen[k][(size_t)rand() % w.nseen[k]];
        block b;
        if ((k == TB_TOP || k == TB_INDEX) && rand() % 4 != 0 &&
            block_init(&b, data + h.offset, h.size) == NULL) {
            table_blocks_key_step(&b, (unsigned)rand());
        } else if (k == TB_FILTER && rand() % 2 == 0 &&
                   table_blocks_filter_mutate(data, size)) {
            /* a filter written again */
        } else {
            /* in place, at most its size (a shorter result leaves the
             * block's last bytes as they were) */
            size_t n = LLVMFuzzerMutate(data + h.offset, h.size, h.size);
            (void)n;
        }
    }
    for (int k = 0; k < TB_KINDS; k++)
        free(w.seen[k]);
    return out;
}
