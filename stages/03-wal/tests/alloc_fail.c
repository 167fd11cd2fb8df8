/*
 * alloc_fail.c: the allocation-failure switch of alloc_fail.h.
 */
#include "alloc_fail.h"

#include <errno.h>
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)

int alloc_fail_available(void) { return 0; }
void alloc_fail_arm(long nth) { (void)nth; }
void alloc_fail_disarm(void) {}
long alloc_fail_calls(void) { return 0; }
long alloc_fail_failures(void) { return 0; }

#else

/* glibc's own allocator, under the names it exports for this purpose. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static int armed;
static long fail_at, calls, failures;

int alloc_fail_available(void) { return 1; }

void alloc_fail_arm(long nth)
{
    __atomic_store_n(&calls, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&failures, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&fail_at, nth, __ATOMIC_SEQ_CST);
    __atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
}

void alloc_fail_disarm(void) { __atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST); }
long alloc_fail_calls(void) { return __atomic_load_n(&calls, __ATOMIC_SEQ_CST); }
long alloc_fail_failures(void) { return __atomic_load_n(&failures, __ATOMIC_SEQ_CST); }

static int alloc_fail_now(void)
{
    if (!__atomic_load_n(&armed, __ATOMIC_SEQ_CST))
        return 0;
    if (__atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST) != fail_at)
        return 0;
    __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
    errno = ENOMEM;
    return 1;
}

void *malloc(size_t n) { return alloc_fail_now() ? NULL : __libc_malloc(n); }
void *calloc(size_t n, size_t size) { return alloc_fail_now() ? NULL : __libc_calloc(n, size); }
void *realloc(void *p, size_t n) { return alloc_fail_now() ? NULL : __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }

#endif
