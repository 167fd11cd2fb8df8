/*
 * version_test_util.c: see version_test_util.h.
 */
#include "version_test_util.h"

#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "internal_key.h"
#include "kv.h"

uint64_t vt_released[64];
int vt_nreleased;

size_t vt_ikey(uint8_t *buf, const char *ukey, uint64_t seq)
{
    size_t n = strlen(ukey);
    ikey_encode(buf, ukey, n, seq, IKEY_PUT);
    return n + IKEY_TRAILER_SIZE;
}

void vt_add(version_edit *e, int level, uint64_t number, uint64_t bytes, const char *lo,
            const char *hi)
{
    uint8_t s[64], l[64];
    size_t sl = vt_ikey(s, lo, 100), ll = vt_ikey(l, hi, 1);
    CHECK_KV(version_edit_add_file(e, level, number, bytes, 10, s, sl, l, ll), KV_OK);
}

version *vt_apply(const version *base, version_edit *e)
{
    version *v;
    CHECK_KV(version_apply(base, e, vfile_open_plain, NULL, &v), KV_OK);
    version_edit_free(e);
    return v;
}

static void vt_release(void *ctx, vfile *f)
{
    (void)ctx;
    if (vt_nreleased < 64)
        vt_released[vt_nreleased++] = f->number;
}

version *vt_empty(void)
{
    version *v;
    vt_nreleased = 0;
    CHECK_KV(version_new_empty(vt_release, NULL, &v), KV_OK);
    return v;
}

const char *vt_numbers(const vfile_list *l, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->n && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, i ? " %llu" : "%llu",
                               (unsigned long long)l->files[i]->number);
    return buf;
}

const char *vt_level(const version *v, int level, char *buf, size_t cap)
{
    vfile_list l = {v->files[level], v->nfiles[level]};
    return vt_numbers(&l, buf, cap);
}
