/*
 * table_v2_test_util.h: helpers for the tests of table format v2: a
 * context with chosen options, and the blocks of a table file read
 * straight from its bytes (footer, index, trailers), so a test can look at
 * what the builder wrote and damage exactly one block.
 */
#ifndef KV_BLOCKS_TABLE_V2_TEST_UTIL_H
#define KV_BLOCKS_TABLE_V2_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

/* A context with these options (0 = default, as in kv_options). */
table_ctx *tv_ctx(size_t block_bytes, int compression, int bloom_bits_per_key);

/* One data block as the file holds it. */
typedef struct tv_block {
    uint64_t offset;
    uint32_t stored;          /* stored size, without the trailer */
    int type;                 /* TABLE_V2_RAW or TABLE_V2_LZ4 */
    uint32_t raw;             /* raw size, from the trailer */
    uint8_t sep[80];          /* its index key (the first 80 bytes) */
    size_t sep_len;
} tv_block;

typedef struct tv_file {
    uint8_t *bytes;
    size_t size;
    uint64_t data_end;
    uint64_t index_at, metaindex_at;
    tv_block *blocks;
    size_t nblocks;
} tv_file;

/* Reads the table at path and its blocks (the file must be intact). */
void tv_file_read(const char *path, tv_file *f);
void tv_file_free(tv_file *f);

/* The raw contents of block i, decompressed (the caller frees). */
uint8_t *tv_block_contents(const tv_file *f, size_t i);

#endif
