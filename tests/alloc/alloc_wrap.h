/*
 * alloc_wrap.h: allocation failure on demand, for build/<stage>/alloctest.
 *
 * The test binary is linked with -Wl,--wrap=malloc,--wrap=calloc, ... (see
 * ALLOC_WRAP in the Makefile), so every call of those functions from
 * libkv.a and the test goes to the __wrap_ functions of alloc_wrap.c.
 * They pass each call on, except that once armed with alloc_fail_at(n) the
 * nth allocation from then on fails the way the C library fails it (NULL,
 * or -1 for asprintf, errno = ENOMEM), once; the ones after it succeed.
 *
 * Wrapped: malloc, calloc, realloc, aligned_alloc, strdup, strndup,
 * asprintf, vasprintf and opendir (its DIR is allocated), and free and
 * closedir, so that alloc_live() counts the blocks the wrapped code holds:
 * a count that is higher after an operation and its clean-up than before
 * is a leak (and one that is lower, a block freed that was never counted:
 * every allocating call the engine makes must be wrapped).  Not
 * reachable this way: allocations the C library makes for itself inside
 * other calls (qsort's scratch space, which it does without when malloc
 * fails; stdio's buffers, which the library does not use), and anything
 * reached through a function pointer the linker never sees.
 *
 * REQUIRES: only the thread that arms it allocates while armed (the
 * counters are atomic, but which call is the nth would not be defined).
 */
#ifndef KV_TESTS_ALLOC_WRAP_H
#define KV_TESTS_ALLOC_WRAP_H

#include <stddef.h>

/* Makes the nth allocation from now on fail (n >= 1); 0 disarms. */
void alloc_fail_at(long n);
/* Disarms; returns 1 if the failure happened since alloc_fail_at. */
int alloc_disarm(void);
/* Allocations since the last alloc_fail_at (the failed one included). */
long alloc_calls(void);
/* Blocks the wrapped code holds now (allocated and not yet freed). */
long alloc_live(void);
/* The largest single allocation asked for (malloc's size, calloc's
 * n * size, realloc's new size) since the last alloc_largest_reset, armed
 * or not: what a harness holds to the bytes an input has, so that a
 * length read from a file sizes nothing larger than the file. */
void alloc_largest_reset(void);
size_t alloc_largest(void);

#endif
