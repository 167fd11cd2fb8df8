/*
 * testdb.h: helpers the stage suite shares, over include/kv.h only.
 *
 * The macros take byte strings with their lengths, so keys and values may
 * hold NUL bytes: PUT(db, S("a\0b"), S("v")) puts the 3-byte key "a\0b".
 * Each one stops the test with the caller's file and line when the engine
 * does not do what kv.h promises.
 */
#ifndef KV_TESTS_TESTDB_H
#define KV_TESTS_TESTDB_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

/* A string literal as (pointer, length), NULs inside included. */
#define S(lit) (lit), (sizeof(lit) - 1)

/* Variadic so that S(...) may stand for two arguments:
 * PUT(db, key, klen, val, vlen), DEL(db, key, klen),
 * EXPECT(db, key, klen, val, vlen), ABSENT(db, key, klen). */
#define PUT(...) testdb_put(__FILE__, __LINE__, __VA_ARGS__)
#define DEL(...) testdb_del(__FILE__, __LINE__, __VA_ARGS__)
#define EXPECT(...) testdb_expect(__FILE__, __LINE__, __VA_ARGS__)
#define ABSENT(...) testdb_absent(__FILE__, __LINE__, __VA_ARGS__)
/* The same at a snapshot (kv_get_at): EXPECT_AT(db, snap, key, klen, val,
 * vlen), ABSENT_AT(db, snap, key, klen). */
#define EXPECT_AT(...) testdb_expect_at(__FILE__, __LINE__, __VA_ARGS__)
#define ABSENT_AT(...) testdb_absent_at(__FILE__, __LINE__, __VA_ARGS__)
#define OPEN(dir, opt) testdb_open(__FILE__, __LINE__, dir, opt)
#define CLOSE(db) testdb_close(__FILE__, __LINE__, db)

kv_db *testdb_open(const char *file, int line, const char *dir, const kv_options *opt);
void testdb_close(const char *file, int line, kv_db *db);
void testdb_put(const char *file, int line, kv_db *db, const void *k, size_t kl,
                const void *v, size_t vl);
void testdb_del(const char *file, int line, kv_db *db, const void *k, size_t kl);
void testdb_expect(const char *file, int line, kv_db *db, const void *k, size_t kl,
                   const void *v, size_t vl);
void testdb_absent(const char *file, int line, kv_db *db, const void *k, size_t kl);
void testdb_expect_at(const char *file, int line, kv_db *db, const kv_snapshot *snap,
                      const void *k, size_t kl, const void *v, size_t vl);
void testdb_absent_at(const char *file, int line, kv_db *db, const kv_snapshot *snap,
                      const void *k, size_t kl);

/* A path for a new database in a fresh temporary directory (not created). */
const char *testdb_dir(void);
/* Opens a new database with default options; *dir_out (if not NULL) gets
 * its path. */
kv_db *testdb_fresh(const char **dir_out);

/* An expected (key, value) entry of a scan: P("key", "value"). */
typedef struct testdb_pair {
    const char *k;
    size_t kl;
    const char *v;
    size_t vl;
} testdb_pair;
#define P(k, v) {S(k), S(v)}
#define NPAIRS(a) (sizeof(a) / sizeof((a)[0]))

/* Walks `it` from where it stands and requires exactly `want`, then the end,
 * with kv_iter_status KV_OK. */
void testdb_iter_expect(kv_iter *it, const testdb_pair *want, size_t n);
/* Walks `it` backwards (kv_iter_prev) from where it stands and requires
 * exactly want[n-1], ..., want[0], then not valid, with status KV_OK. */
void testdb_iter_expect_backward(kv_iter *it, const testdb_pair *want, size_t n);
/* A new iterator from the first key must show exactly `want`, and from the
 * last key backwards the same in reverse. */
void testdb_expect_scan(kv_db *db, const testdb_pair *want, size_t n);
/* The same for iterators at snap (kv_iter_new_at). */
void testdb_expect_scan_at(kv_db *db, const kv_snapshot *snap, const testdb_pair *want,
                           size_t n);

/* Total bytes of the data files under dir: every regular file but IDENTITY
 * (0 if dir does not exist). */
uint64_t testdb_dir_bytes(const char *dir);

/* Lines emitted by kv_check / kv_dump, collected. */
typedef struct testdb_lines {
    size_t count;
    char *text;   /* every line, each followed by '\n' */
    size_t len;
} testdb_lines;
void testdb_lines_add(void *ctx, const char *line); /* a kv_line_fn */
void testdb_lines_free(testdb_lines *l);

/* The number after "name: " at the start of a line of kv_stats' text, or
 * -1 if no line has that name. */
double testdb_stat(kv_db *db, const char *name);

/* A small deterministic random generator (xorshift64*). */
typedef struct testdb_rng {
    uint64_t s;
} testdb_rng;
void testdb_rng_seed(testdb_rng *r, uint64_t seed);
uint64_t testdb_rng_next(testdb_rng *r);
uint32_t testdb_rng_below(testdb_rng *r, uint32_t n); /* uniform in [0, n) */
void testdb_rng_fill(testdb_rng *r, void *p, size_t n);

#endif
