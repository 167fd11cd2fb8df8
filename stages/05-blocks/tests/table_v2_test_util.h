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
/* The value of "name: value" among the context's stats lines. */
double tv_stat(table_ctx *ctx, const char *name);

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

/* docs/05-blocks.md's worked example (block_bytes 80, the default filter
 * and compression): apple@4 = "red", apricot@3 = "orange", banana@2
 * deleted, blueberry@1 = "blue"; the whole file, 392 bytes, 16 per line. */
#define TV_WORKED_EXAMPLE_HEX \
    "4b 56 53 30 35 54 42 4c 01 00 00 00 1d e3 4c 0e " \
    "00 0d 03 61 70 70 6c 65 01 04 00 00 00 00 00 00 " \
    "72 65 64 02 0d 06 72 69 63 6f 74 01 03 00 00 00 " \
    "00 00 00 6f 72 61 6e 67 65 00 00 00 00 01 00 00 " \
    "00 00 31 00 00 00 8f 1d 07 fb 00 0e 00 62 61 6e " \
    "61 6e 61 00 02 00 00 00 00 00 00 01 10 04 6c 75 " \
    "65 62 65 72 72 79 01 01 00 00 00 00 00 00 62 6c " \
    "75 65 00 00 00 00 01 00 00 00 00 30 00 00 00 aa " \
    "19 c7 a1 05 45 48 42 58 22 44 04 07 00 09 00 00 " \
    "00 9a 8c 6c f8 04 00 00 00 00 00 00 00 01 00 00 " \
    "00 00 00 00 00 02 00 00 00 00 00 00 00 61 00 00 " \
    "00 00 00 00 00 0d 00 00 00 11 00 00 00 61 70 70 " \
    "6c 65 01 04 00 00 00 00 00 00 62 6c 75 65 62 65 " \
    "72 72 79 01 01 00 00 00 00 00 00 00 46 00 00 00 " \
    "d5 39 85 e6 00 0f 03 66 69 6c 74 65 72 2e 62 6c " \
    "6f 6f 6d 2e 76 31 83 01 09 00 0a 03 70 72 6f 70 " \
    "65 72 74 69 65 73 95 01 46 00 00 00 00 15 00 00 " \
    "00 02 00 00 00 00 31 00 00 00 5b 13 a4 83 00 0a " \
    "02 61 71 01 ff ff ff ff ff ff ff 10 31 00 11 02 " \
    "62 6c 75 65 62 65 72 72 79 01 01 00 00 00 00 00 " \
    "00 4a 30 00 00 00 00 0f 00 00 00 02 00 00 00 00 " \
    "31 00 00 00 37 63 26 9b 83 00 00 00 00 00 00 00 " \
    "1e 01 00 00 00 00 00 00 31 00 00 00 e4 00 00 00 " \
    "00 00 00 00 31 00 00 00 4b 56 53 30 35 54 42 4c " \
    "01 00 00 00 3e 74 a3 a9 "

#endif
