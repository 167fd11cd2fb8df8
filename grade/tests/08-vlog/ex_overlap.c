/*
 * ex_overlap.c: memcpy watched for overlapping bytes (ex_overlap.h).
 */
#include <stddef.h>
#include <stdint.h>

#include "ex_overlap.h"
#include "exercise.h"

void *__real_memcpy(void *dst, const void *src, size_t n);
void *__wrap_memcpy(void *dst, const void *src, size_t n);

static const char *ex_overlap_what; /* NULL: not watching */

void ex_overlap_watch(const char *what)
{
    ex_overlap_what = what;
}

void *__wrap_memcpy(void *dst, const void *src, size_t n)
{
    const char *what = ex_overlap_what;
    uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
    if (what != NULL && n > 0 && d < s + n && s < d + n) {
        ex_overlap_what = NULL; /* the report's own copies are not watched */
        ex_fail(__FILE__, __LINE__, "source and destination apart",
                "%s: memcpy of %zu bytes from %p to %p, which overlap: a copy between "
                "overlapping bytes is undefined in C (it happens to copy towards the start "
                "here, and need not elsewhere): bytes that move within one buffer are moved "
                "with memmove", what, n, src, dst);
    }
    return __real_memcpy(dst, src, n);
}
