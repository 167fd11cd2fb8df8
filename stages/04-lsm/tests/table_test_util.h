/*
 * table_test_util.h: helpers for the table and iterator tests: memtables
 * of known or random entries (the model every table is compared with),
 * building a table from one, comparing lookups and iterations, and the
 * bytes of files.
 */
#ifndef KV_LSM_TABLE_TEST_UTIL_H
#define KV_LSM_TABLE_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "iterator.h"
#include "memtable.h"
#include "table.h"

/* The key of number k: "key00042" (8 bytes); k = -1 gives "key", which
 * sorts before all of them.  Returns the length. */
size_t tt_key(char *buf, int k);

/* Entries for keys of even number below 2 * nkeys (odd ones are never
 * written), about versions per key, a quarter of them tombstones, values
 * of 0..max_vlen bytes (at most 199); sequence numbers 1, 2, ...
 * Deterministic in seed. */
memtable *tt_random_memtable(uint64_t seed, int nkeys, int versions, size_t max_vlen);

/* Keys 0..n-1, one put each, sequence k + 1, values of vlen bytes. */
memtable *tt_sequential_memtable(int n, size_t vlen);

table_ctx *tt_ctx(void);

/* Writes every entry of m into dir/name and opens it. */
table *tt_build_and_open(table_ctx *ctx, memtable *m, const char *dir, const char *name);

/* A lookup of (key, seq) gives the same answer from m and t. */
void tt_expect_same(memtable *m, table *t, const void *key, size_t klen, uint64_t seq);

/* tt_expect_same for every key number -1..max_key (every fourth under a
 * sanitizer, and both ends), at sequences from 0 to one past m's last, in
 * steps that grow with the sequence. */
void tt_expect_same_lookups(memtable *m, table *t, int max_key);

/* The file at path holds exactly the bytes of `hex`; if not, prints them
 * in hex and fails (a worked example's test). */
void tt_expect_file_hex(const char *path, const char *hex);

/* Two iterators over internal keys yield the same entries: forward,
 * backward, after a seek to every key, and on a walk that turns around. */
void tt_expect_same_iteration(iter *want, iter *got);

/* 1 if some read of the table at path (open, a full scan each way, a
 * lookup of every key of m) reports KV_ERR_CORRUPT; 0 if every read
 * answers exactly as m does.  A wrong answer fails the test. */
int tt_reads_right_or_corrupt(table_ctx *ctx, memtable *m, const char *path);

/* Whole files, with stdio (tests only). */
size_t tt_read_file(const char *path, uint8_t **bytes);
void tt_write_file(const char *path, const uint8_t *bytes, size_t n);
size_t tt_unhex(const char *hex, uint8_t *out, size_t cap);
void tt_print_hex(const uint8_t *p, size_t n);
/* Where a v1 table's offset array starts (from its tail). */
uint64_t tt_offset_array_at(const uint8_t *bytes, size_t n);

/* Lines collected from kv_line_fn callbacks. */
typedef struct tt_lines {
    char *text;
    size_t len, count;
} tt_lines;
void tt_collect(void *ctx, const char *line);
void tt_lines_clear(tt_lines *l);

/* docs/04-lsm.md's worked example: apple@2 = "red", fig@3 deleted,
 * fig@1 = "green": the whole file, 189 bytes, 16 per line. */
#define TT_WORKED_EXAMPLE_HEX \
    "4b 56 53 30 34 54 42 4c 01 00 00 00 3a 9e 70 47 " \
    "40 c9 2b b1 e0 2f 60 02 0d 03 61 70 70 6c 65 01 " \
    "02 00 00 00 00 00 00 72 65 64 0c 56 cd 57 00 00 " \
    "00 00 0b 00 66 69 67 00 03 00 00 00 00 00 00 8c " \
    "cf 5d e1 19 c3 c9 e6 0b 05 66 69 67 01 01 00 00 " \
    "00 00 00 00 67 72 65 65 6e 10 00 00 00 00 00 00 " \
    "00 2a 00 00 00 00 00 00 00 3f 00 00 00 00 00 00 " \
    "00 61 70 70 6c 65 01 02 00 00 00 00 00 00 66 69 " \
    "67 01 01 00 00 00 00 00 00 4b 56 53 30 34 54 42 " \
    "4c 01 00 00 00 32 96 19 74 03 00 00 00 00 00 00 " \
    "00 01 00 00 00 00 00 00 00 59 00 00 00 00 00 00 " \
    "00 0d 00 00 00 0b 00 00 00 e8 ce d1 c6 "

#endif
