/*
 * alloc_fail.h: makes the Nth allocation after arming fail, for the tests
 * of stage 03's write path under allocation failure.
 *
 * It replaces malloc, calloc and realloc for the whole test binary (glibc
 * allows that, and hands on to its own allocator), so it is available only
 * in builds without a sanitizer, which brings its own allocator:
 * alloc_fail_available() says whether it is.  Counting is thread-safe.
 */
#ifndef KV_STAGE03_ALLOC_FAIL_H
#define KV_STAGE03_ALLOC_FAIL_H

/* 1 if allocations can be failed in this build. */
int  alloc_fail_available(void);
/* From now on, the nth allocation (1-based) returns NULL; counters at 0. */
void alloc_fail_arm(long nth);
/* Stops failing and counting. */
void alloc_fail_disarm(void);
/* Allocations counted since arming, and how many were failed. */
long alloc_fail_calls(void);
long alloc_fail_failures(void);

#endif
