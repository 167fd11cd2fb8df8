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
 * (the active one) ends with an 18-byte seal (common/log_record.h). */
uint64_t stage_seal_bytes(const char *dir);
/* Bytes of the segments' file headers: 16 per .log file (segment.h). */
uint64_t stage_header_bytes(const char *dir);

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

#endif
