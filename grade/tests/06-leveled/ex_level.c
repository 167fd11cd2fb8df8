/*
 * ex_level.c: see ex_level.h.
 */
#include "ex_level.h"

#include <stdio.h>
#include <stdlib.h>

#include "exercise.h"
#include "version_test_util.h"

version *ex_version(const ex_file *f, size_t n)
{
    version *base = vt_empty();
    version_edit e;
    version_edit_init(&e);
    for (size_t i = 0; i < n; i++)
        vt_add(&e, f[i].level, f[i].number, f[i].bytes, f[i].lo, f[i].hi);
    version *v = vt_apply(base, &e);
    version_unref(base);
    return v;
}

static int ex_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

const char *ex_sorted_numbers(const vfile_list *l, char *buf, size_t cap)
{
    uint64_t num[64];
    size_t n = l->n < 64 ? l->n : 64, at = 0;
    for (size_t i = 0; i < n; i++)
        num[i] = l->files[i]->number;
    qsort(num, n, sizeof num[0], ex_cmp_u64);
    buf[0] = '\0';
    for (size_t i = 0; i < n && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, i ? " %llu" : "%llu",
                               (unsigned long long)num[i]);
    if (n == 0)
        snprintf(buf, cap, "(none)");
    return buf;
}

vfile *ex_find_file(const version *v, uint64_t number)
{
    for (int l = 0; l < VERSION_LEVELS; l++)
        for (size_t i = 0; i < v->nfiles[l]; i++)
            if (v->files[l][i]->number == number)
                return v->files[l][i];
    return NULL;
}
