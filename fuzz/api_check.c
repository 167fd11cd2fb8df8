/*
 * api_check.c: the engine against the model, for the API fuzz harness
 * (see api_check.h).
 */
#include "api_check.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char api_ctx[256];

api_view *api_view_new(const model_map *m)
{
    api_view *v = malloc(sizeof *v);
    if (v == NULL || model_map_copy(&v->m, m) != 0)
        api_fail("out of memory for a copy of the model (%zu keys)", m->n);
    v->refs = 1;
    return v;
}

api_view *api_view_ref(api_view *v)
{
    v->refs++;
    return v;
}

void api_view_unref(api_view *v)
{
    if (v != NULL && --v->refs == 0) {
        model_map_free(&v->m);
        free(v);
    }
}

void api_context(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(api_ctx, sizeof api_ctx, fmt, ap);
    va_end(ap);
}

void api_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "api fuzz: %s: ", api_ctx);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (stage %s)\n", kv_stage());
    abort();
}

void api_expect_rc(const char *call, int got, int want)
{
    if (got != want)
        api_fail("%s returned %d (%s: %s), expected %d (%s)", call, got, kv_strerror(got),
                 got < 0 ? kv_errmsg() : "no error", want, kv_strerror(want));
}

/* Up to 24 bytes of p in hex, then "..." if there is more. */
static const char *api_hex(char buf[64], const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i = 0, at = 0;
    for (; i < n && i < 24; i++)
        at += (size_t)snprintf(buf + at, 64 - at, "%02x", b[i]);
    snprintf(buf + at, 64 - at, "%s", i < n ? "..." : "");
    return buf;
}

void api_check_get(kv_db *db, const kv_snapshot *snap, const model_map *m,
                   const void *key, size_t klen)
{
    void *val = NULL;
    size_t vlen = 0;
    int rc = snap ? kv_get_at(db, snap, key, klen, &val, &vlen)
                  : kv_get(db, key, klen, &val, &vlen);
    const model_entry *e = model_map_find(m, key, klen);
    const char *call = snap ? "kv_get_at" : "kv_get";
    char h1[64], h2[64], h3[64];
    if (e == NULL && rc != KV_NOT_FOUND)
        api_fail("%s of key %s (%zu bytes) returned %d (%s: %s); the model has no such key",
                 call, api_hex(h1, key, klen), klen, rc, kv_strerror(rc),
                 rc < 0 ? kv_errmsg() : "no error");
    if (e != NULL) {
        if (rc != KV_OK)
            api_fail("%s of key %s (%zu bytes) returned %d (%s: %s); the model has a "
                     "%zu-byte value", call, api_hex(h1, key, klen), klen, rc, kv_strerror(rc),
                     rc < 0 ? kv_errmsg() : "no error", e->vl);
        if (val == NULL || vlen != e->vl || (vlen > 0 && memcmp(val, e->v, vlen) != 0))
            api_fail("%s of key %s (%zu bytes): %zu bytes %s, the model's %zu bytes %s",
                     call, api_hex(h1, key, klen), klen, vlen,
                     val ? api_hex(h2, val, vlen) : "(NULL)", e->vl, api_hex(h3, e->v, e->vl));
    }
    kv_free(val);
}

void api_check_multi_get(kv_db *db, const model_map *m, size_t n, const void *const keys[],
                         const size_t klens[])
{
    static char unset; /* what vals[i] holds until the engine writes it */
    void **vals = malloc((n ? n : 1) * sizeof *vals);
    size_t *vlens = malloc((n ? n : 1) * sizeof *vlens);
    int *rcs = malloc((n ? n : 1) * sizeof *rcs);
    if (vals == NULL || vlens == NULL || rcs == NULL)
        api_fail("out of memory for %zu answers", n);
    for (size_t i = 0; i < n; i++) {
        vals[i] = &unset;
        vlens[i] = SIZE_MAX;
        rcs[i] = 1;
    }
    api_expect_rc("kv_multi_get", kv_multi_get(db, n, keys, klens, vals, vlens, rcs), KV_OK);
    char h1[64], h2[64], h3[64];
    for (size_t i = 0; i < n; i++) {
        const model_entry *e = model_map_find(m, keys[i], klens[i]);
        if (e == NULL && (rcs[i] != KV_NOT_FOUND || vals[i] != NULL || vlens[i] != 0))
            api_fail("kv_multi_get, key %zu of %zu, %s (%zu bytes): answer %d (%s), value "
                     "%s, %zu bytes; the model has no such key", i, n,
                     api_hex(h1, keys[i], klens[i]), klens[i], rcs[i], kv_strerror(rcs[i]),
                     vals[i] == NULL ? "NULL" : "not NULL", vlens[i]);
        if (e != NULL && rcs[i] != KV_OK)
            api_fail("kv_multi_get, key %zu of %zu, %s (%zu bytes): answer %d (%s); the model "
                     "has a %zu-byte value", i, n, api_hex(h1, keys[i], klens[i]), klens[i],
                     rcs[i], kv_strerror(rcs[i]), e->vl);
        if (e != NULL && (vals[i] == NULL || vals[i] == &unset || vlens[i] != e->vl ||
                          (e->vl > 0 && memcmp(vals[i], e->v, e->vl) != 0)))
            api_fail("kv_multi_get, key %zu of %zu, %s (%zu bytes): %zu bytes %s, the model's "
                     "%zu bytes %s", i, n, api_hex(h1, keys[i], klens[i]), klens[i], vlens[i],
                     vals[i] == NULL || vals[i] == &unset ? "(none)"
                                                          : api_hex(h2, vals[i], vlens[i]),
                     e->vl, api_hex(h3, e->v, e->vl));
        if (rcs[i] == KV_OK && i > 0 && (vals[i] == vals[0] || vals[i] == vals[i - 1]))
            api_fail("kv_multi_get, key %zu of %zu: the value of another key (each is its own "
                     "allocation)", i, n);
    }
    for (size_t i = 0; i < n; i++)
        if (rcs[i] == KV_OK)
            kv_free(vals[i]);
    free(vals);
    free(vlens);
    free(rcs);
}

void api_check_position(kv_iter *it, const model_map *m, size_t pos)
{
    char h1[64], h2[64], h3[64];
    int status = kv_iter_status(it);
    if (status != KV_OK)
        api_fail("kv_iter_status is %d (%s: %s)", status, kv_strerror(status), kv_errmsg());
    if (pos >= m->n) {
        size_t kl = 0;
        if (kv_iter_valid(it)) {
            const void *k = kv_iter_key(it, &kl);
            api_fail("the iterator stands on key %s (%zu bytes); the model's is past its "
                     "end (%zu keys)", api_hex(h1, k, kl), kl, m->n);
        }
        return;
    }
    const model_entry *e = &m->e[pos];
    if (!kv_iter_valid(it))
        api_fail("the iterator is not valid; the model's stands on key %s (%zu bytes), "
                 "entry %zu of %zu", api_hex(h1, e->k, e->kl), e->kl, pos, m->n);
    size_t kl = 0, vl = 0;
    const void *k = kv_iter_key(it, &kl);
    if (k == NULL || model_map_keycmp(k, kl, e->k, e->kl) != 0)
        api_fail("the iterator stands on key %s (%zu bytes); the model's on %s (%zu bytes), "
                 "entry %zu of %zu", k ? api_hex(h1, k, kl) : "(NULL)", kl,
                 api_hex(h2, e->k, e->kl), e->kl, pos, m->n);
    const void *v = kv_iter_value(it, &vl);
    if (v == NULL)
        api_fail("kv_iter_value of key %s is NULL (status %d)", api_hex(h1, k, kl),
                 kv_iter_status(it));
    if (vl != e->vl || (vl > 0 && memcmp(v, e->v, vl) != 0))
        api_fail("the iterator's value of key %s: %zu bytes %s, the model's %zu bytes %s",
                 api_hex(h1, e->k, e->kl), vl, api_hex(h2, v, vl), e->vl,
                 api_hex(h3, e->v, e->vl));
}

void api_check_all(kv_db *db, const kv_snapshot *snap, const model_map *m)
{
    for (size_t i = 0; i < m->n; i++)
        api_check_get(db, snap, m, m->e[i].k, m->e[i].kl);
    kv_iter *it = NULL;
    api_expect_rc(snap ? "kv_iter_new_at" : "kv_iter_new",
                  snap ? kv_iter_new_at(db, snap, &it) : kv_iter_new(db, &it), KV_OK);
    kv_iter_seek_first(it);
    for (size_t i = 0; i < m->n; i++, kv_iter_next(it))
        api_check_position(it, m, i);
    api_check_position(it, m, m->n);
    kv_iter_seek_last(it);
    for (size_t i = m->n; i-- > 0; kv_iter_prev(it))
        api_check_position(it, m, i);
    api_check_position(it, m, m->n);
    kv_iter_free(it);
}
