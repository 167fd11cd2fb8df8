/*
 * ex_vlog.h: what the tests of stage 08's exercises share: value-log
 * files written here, byte by byte, as a stage-04 log (a header, one
 * record per put, a seal), with the place of each value computed here
 * from the bytes written (not by the exercises' functions); a where
 * encoded here from the format's table (docs/formats.md); a value store
 * opened over a directory's value-log files; databases of stage 08
 * through kv.h.
 */
#ifndef KV_GRADE_EX_VLOG_H
#define KV_GRADE_EX_VLOG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "kv.h"
#include "value_log.h"

/* Where a value is, as the helper found it in the bytes it wrote. */
typedef struct ex_place {
    uint64_t file, offset;
    uint32_t len, crc;
} ex_place;

/* Byte j of the value of put i of a file (a pattern that differs from one
 * byte to the next, and from one value to the next). */
uint8_t ex_value_byte(uint64_t file, size_t i, size_t j);

/* Writes DIR/000000000START.vlog (as_log: .log): a log whose first write
 * is numbered `start`, holding n puts, put i of key "k<start>-<i>" and a
 * value of vlens[i] bytes (ex_value_byte), each its own record, then a
 * seal.  place[i] (if place is not NULL) is where put i's value is.
 * Returns the file's size. */
uint64_t ex_vlog_write(const char *dir, uint64_t start, int as_log, const size_t *vlens,
                       size_t n, ex_place *place);
/* The file offset of payload byte k of a record whose first fragment
 * starts at rec_start: a walk over the file's bytes, skipping every
 * block header. */
uint64_t ex_payload_at(uint64_t rec_start, uint64_t k);

/* A where as the format's table has it (varint64 file, varint64 offset,
 * varint32 length, crc32c little-endian); returns its length. */
size_t ex_where(uint8_t out[VLOG_WHERE_MAX], uint64_t file, uint64_t offset, uint32_t len,
                uint32_t crc);

/* A value store over dir's value-log files (files[0..n) are their names'
 * numbers), opened as kv_open would with value_gc_percent gc_percent (0:
 * the default) and nothing in tables yet; fails the test if it cannot. */
value_store *ex_store(const char *dir, const uint64_t *files, size_t n, int gc_percent);
/* The store's file `start`; fails the test if it has none. */
vlog_file *ex_store_file(value_store *vs, uint64_t start);
/* Whether DIR/000000000START.vlog exists. */
int ex_vlog_exists(const char *dir, uint64_t start);

/* A database of stage 08 in a fresh directory (*dir its path), with
 * memtables of 64 KiB and the value threshold `threshold` (0: 512). */
kv_db *ex_vlog_db(const char **dir, size_t threshold);
/* kv_put of key k with a value of vlen bytes of pattern `seed`. */
void ex_put_big(kv_db *db, const char *k, size_t vlen, uint8_t seed);
/* kv_get of k must be vlen bytes of pattern `seed`. */
void ex_expect_big(kv_db *db, const char *k, size_t vlen, uint8_t seed, const char *rule);
/* The numbers of dir's value-log files, ascending, at most cap; how many. */
size_t ex_vlog_files(const char *dir, uint64_t *out, size_t cap);

/* Eight keys, key0 .. key7, each put with a value of 3,000 bytes (of
 * pattern 10 * (i + 1)), flushed; then key0 .. key5 put again with 2,000
 * bytes (pattern 3), flushed: value-log file 1 then holds two live values
 * and six dead ones.  ex_vlog_expect_overwrites checks that every key reads
 * its last value, failing the test with `rule`. */
void ex_vlog_overwrites(kv_db *db);
void ex_vlog_expect_overwrites(kv_db *db, const char *rule);

/* Whether fn(arg), on a thread of its own started while the test holds
 * lock, waited for it: it came to wait on the lock before it returned
 * (*done, which fn sets when it returns, still 0); then the lock is
 * released and the thread joined.  No time is given: the test waits until
 * one or the other has happened. */
int ex_waits_for_lock(pthread_mutex_t *lock, void *(*fn)(void *), void *arg,
                      _Atomic int *done);

/* gc_collect's tests that cut kv_compact's collection at each of its file
 * operations (gc_collect_cuts.c). */
void gc_collect_power_cut_at_each_step(void);
void gc_collect_kill_at_each_step(void);

#endif
