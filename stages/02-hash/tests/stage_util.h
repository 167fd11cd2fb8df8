/*
 * stage_util.h: helpers of stage 02's tests that know its files: segment
 * and hint names, listing them, damaging them, counting open descriptors.
 */
#ifndef KV_STAGE02_TEST_UTIL_H
#define KV_STAGE02_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

/* Options with a small segment limit (0 = the default). */
kv_options stage_options(size_t segment_bytes);

/* How many files in dir end in suffix (".log", ".hint", ".tmp"). */
size_t stage_count_files(const char *dir, const char *suffix);
/* The n-th (0-based, by name) file of dir ending in suffix, as a path owned
 * by the harness; the test fails if there is none. */
const char *stage_nth_file(const char *dir, const char *suffix, size_t n);
/* Removes every file in dir (not dir itself). */
void stage_empty_dir(const char *dir);
/* Size of a file, or -1. */
long long stage_file_size(const char *path);
/* Total bytes of the files ending in suffix. */
uint64_t stage_suffix_bytes(const char *dir, const char *suffix);
/* Bytes of the seals of the closed segments: every .log file but the last
 * (the active one) ends with a seal (record_io.h: record_seal); fails the
 * test if one does not. */
uint64_t stage_seal_bytes(const char *dir);
/* The bytes at the end of the file at path that are its seal: the n that
 * record_seal(.., size - n) makes, byte for byte; 0 if none. */
uint64_t stage_seal_of(const char *path);
/* Bytes of the segments' file headers: 16 per .log file (segment.h). */
uint64_t stage_header_bytes(const char *dir);

/* Sizes in the stage's record format (record_io.h), so that a test of a
 * file stage 03 reuses holds there too: a put of a klen-byte key and a
 * vlen-byte value as a record of its own at offset `at` of a segment; and
 * what a merge writes for n such live puts into segments of `limit` bytes,
 * file headers and seals included (merge.c starts an output when the next
 * record might pass the limit; *outputs, if not NULL, gets how many it
 * writes). */
uint64_t stage_record_bytes(uint64_t at, size_t klen, size_t vlen);
/* The bytes of a seal written at offset `at`. */
uint64_t stage_seal_size(uint64_t at);
/* Whether the file at path ends with a put of key and val as a record of
 * its own (what a write of one put leaves last in the active segment). */
int stage_ends_with_put(const char *path, const void *key, size_t klen, const void *val,
                        size_t vlen);
uint64_t stage_merged_bytes(unsigned n, size_t klen, size_t vlen, uint64_t limit,
                            unsigned *outputs);

/* Flips every bit of the byte at off; appends bytes; cuts to size. */
void stage_flip_byte(const char *path, long long off);
void stage_append(const char *path, const void *p, size_t n);
void stage_truncate(const char *path, long long size);
/* Creates path holding n bytes of p. */
void stage_write_file(const char *path, const void *p, size_t n);

/* Value of "name: value" in kv_stats text, as a number (fails if absent). */
double stage_stat(kv_db *db, const char *name);

/* Open file descriptors of this process. */
int stage_open_fds(void);

/* A deterministic key and value for number i: 16-byte key, vlen-byte value
 * whose bytes depend on i and on `round`. */
void stage_key(char key[17], unsigned i);
void stage_value(char *val, size_t vlen, unsigned i, unsigned round);
/* Puts keys [0, n) with their vlen-byte values of round `round`; and
 * requires that they hold them. */
void stage_put_keys(kv_db *db, unsigned n, unsigned round, size_t vlen);
void stage_expect_keys(kv_db *db, unsigned n, unsigned round, size_t vlen);

#endif
