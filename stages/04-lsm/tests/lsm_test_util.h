/*
 * lsm_test_util.h: helpers for the tests of stage 04's engine: databases
 * opened with chosen options, checks of one key, kv_stats figures, the
 * directory's files, and logs written by hand (to build the states a crash
 * leaves, which a running database never shows).
 */
#ifndef KV_LSM_TEST_UTIL_H
#define KV_LSM_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

/* A fresh database directory (not created yet) in the test's tmpdir. */
const char *lt_dir(void);
/* An empty database of stage 04 (its IDENTITY) in a fresh lt_dir(),
 * without its first log: ready for logs written by hand (lt_write_log). */
const char *lt_empty_db(void);
/* kv_open with memtable_bytes (0: default) and read_only; fails the test
 * unless KV_OK. */
kv_db *lt_open(const char *dir, size_t memtable_bytes, int read_only);
void lt_put(kv_db *db, const char *key, const char *val);
void lt_del(kv_db *db, const char *key);
/* The key holds val (NULL: absent). */
void lt_expect(kv_db *db, const char *key, const char *val);
/* The number after "name: " in kv_stats; fails the test if missing. */
double lt_stat(kv_db *db, const char *name);
/* The number of the line `name` in kv_stats text (CHECKs it is there). */
double lt_stat_in(const char *text, const char *name);
/* 1 if dir/name exists. */
int lt_exists(const char *dir, const char *name);
/* The names of dir's files, sorted, joined with spaces (LOCK, IDENTITY
 * and STATS left out), in a static buffer overwritten by the next call. */
const char *lt_files(const char *dir);
/* The name of the first table file (*.tbl) in dir, by name; fails the test
 * if there is none.  (Stage 04 names tables by their sequence numbers,
 * stage 06 by a file number: the engine's tests take whichever there is.) */
const char *lt_first_table(const char *dir);
/* Copies dir/name to dir2/name2. */
void lt_copy(const char *dir, const char *name, const char *dir2, const char *name2);
/* Copies every file of the directory `from` into a fresh lt_dir(), which
 * it returns. */
const char *lt_copy_dir(const char *from);

/* One op of a hand-written log record. */
typedef struct lt_op {
    const char *key;
    const char *val;    /* NULL: a delete */
} lt_op;

/* Writes the log dir/<start>.log with a header, then each record i
 * (ops[first[i] .. first[i+1]) numbered from seqs[i]), then a seal if
 * `seal`.  Returns its size. */
uint64_t lt_write_log(const char *dir, uint64_t start, const lt_op *ops, const size_t *first,
                      const uint64_t *seqs, size_t nrecords, int seal);

/* Lines collected from a kv_line_fn, joined with newlines. */
typedef struct lt_lines {
    char text[1 << 16];
    size_t len;
} lt_lines;
void lt_collect(void *ctx, const char *line);

#endif
