/*
 * alloc_wrap.c: the wrappers behind alloc_wrap.h.  Each __wrap_f is what a
 * call of f in the test binary reaches; __real_f is the C library's f.
 */
#include "alloc_wrap.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t alignment, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_vasprintf(char **out, const char *fmt, va_list ap);
DIR *__real_opendir(const char *path);
int __real_closedir(DIR *d);

static long alloc_target; /* the call that fails, counted from arming; 0 = none */
static long alloc_count;  /* calls since arming */
static int alloc_failed;
static long alloc_blocks;
static size_t alloc_biggest; /* alloc_largest's */

void alloc_fail_at(long n)
{
    __atomic_store_n(&alloc_count, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&alloc_failed, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&alloc_target, n, __ATOMIC_SEQ_CST);
}

int alloc_disarm(void)
{
    __atomic_store_n(&alloc_target, 0, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&alloc_failed, __ATOMIC_SEQ_CST);
}

long alloc_calls(void) { return __atomic_load_n(&alloc_count, __ATOMIC_SEQ_CST); }

long alloc_live(void) { return __atomic_load_n(&alloc_blocks, __ATOMIC_SEQ_CST); }

void alloc_largest_reset(void) { __atomic_store_n(&alloc_biggest, 0, __ATOMIC_SEQ_CST); }

size_t alloc_largest(void) { return __atomic_load_n(&alloc_biggest, __ATOMIC_SEQ_CST); }

/* Keeps n if it is the largest asked for yet (n * size for calloc, which
 * saturates rather than wraps). */
static void alloc_asked(size_t n)
{
    size_t seen = __atomic_load_n(&alloc_biggest, __ATOMIC_SEQ_CST);
    while (n > seen &&
           !__atomic_compare_exchange_n(&alloc_biggest, &seen, n, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
        ;
}

/* Whether this allocation is the one to fail. */
static int alloc_fails_now(void)
{
    long target = __atomic_load_n(&alloc_target, __ATOMIC_SEQ_CST);
    if (target == 0)
        return 0;
    if (__atomic_add_fetch(&alloc_count, 1, __ATOMIC_SEQ_CST) != target)
        return 0;
    __atomic_store_n(&alloc_failed, 1, __ATOMIC_SEQ_CST);
    errno = ENOMEM;
    return 1;
}

static void *alloc_took(void *p)
{
    if (p != NULL)
        __atomic_add_fetch(&alloc_blocks, 1, __ATOMIC_SEQ_CST);
    return p;
}

void *__wrap_malloc(size_t n)
{
    alloc_asked(n);
    return alloc_fails_now() ? NULL : alloc_took(__real_malloc(n));
}

void *__wrap_calloc(size_t n, size_t size)
{
    alloc_asked(size != 0 && n > (size_t)-1 / size ? (size_t)-1 : n * size);
    return alloc_fails_now() ? NULL : alloc_took(__real_calloc(n, size));
}

void *__wrap_realloc(void *p, size_t n)
{
    alloc_asked(n);
    if (alloc_fails_now())
        return NULL; /* p is untouched, as when realloc fails */
    void *q = __real_realloc(p, n);
    if (p == NULL)
        alloc_took(q);
    return q;
}

void *__wrap_aligned_alloc(size_t alignment, size_t n)
{
    alloc_asked(n);
    return alloc_fails_now() ? NULL : alloc_took(__real_aligned_alloc(alignment, n));
}

void __wrap_free(void *p)
{
    if (p != NULL)
        __atomic_sub_fetch(&alloc_blocks, 1, __ATOMIC_SEQ_CST);
    __real_free(p);
}

char *__wrap_strdup(const char *s)
{
    return alloc_fails_now() ? NULL : alloc_took(__real_strdup(s));
}

char *__wrap_strndup(const char *s, size_t n)
{
    return alloc_fails_now() ? NULL : alloc_took(__real_strndup(s, n));
}

int __wrap_vasprintf(char **out, const char *fmt, va_list ap)
{
    if (alloc_fails_now()) {
        *out = NULL;
        return -1;
    }
    int n = __real_vasprintf(out, fmt, ap);
    if (n >= 0)
        alloc_took(*out);
    return n;
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = __wrap_vasprintf(out, fmt, ap);
    va_end(ap);
    return n;
}

DIR *__wrap_opendir(const char *path)
{
    return alloc_fails_now() ? NULL : alloc_took(__real_opendir(path));
}

int __wrap_closedir(DIR *d)
{
    if (d != NULL)
        __atomic_sub_fetch(&alloc_blocks, 1, __ATOMIC_SEQ_CST);
    return __real_closedir(d);
}
