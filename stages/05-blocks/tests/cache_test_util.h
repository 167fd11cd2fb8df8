/*
 * cache_test_util.h: what the tests of the caches (lru_cache_test.c,
 * block_cache_test.c, file_cache_test.c) share: collecting the lines of a
 * report, and running a constructor with each of its allocations failing
 * in turn.
 */
#ifndef KV_BLOCKS_CACHE_TEST_UTIL_H
#define KV_BLOCKS_CACHE_TEST_UTIL_H

/* A kv_line_fn context: every line, each followed by "\n". */
typedef struct cache_lines {
    char text[1024];
} cache_lines;
void cache_lines_add(void *lines, const char *line);

/* Calls make() with its 1st, 2nd, ... allocation failing (stage 03's
 * alloc_fail.h), until a call makes no allocation fail: each failed call
 * must return KV_ERR_NOMEM; the object the last one made goes to
 * destroy().  Nothing to do in a build whose allocator cannot fail (a
 * sanitizer's).  REQUIRES: the thread that runs the test (it CHECKs). */
typedef int (*cache_make_fn)(void **out);
void cache_make_fails_cleanly(cache_make_fn make, void (*destroy)(void *));

#endif
