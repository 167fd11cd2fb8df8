/*
 * model_map.c: the sorted array behind model_map.h.
 */
#include "model_map.h"

#include <stdlib.h>
#include <string.h>

int model_map_keycmp(const void *a, size_t al, const void *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return al < bl ? -1 : al > bl;
}

size_t model_map_lower_bound(const model_map *m, const void *k, size_t kl)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (model_map_keycmp(m->e[mid].k, m->e[mid].kl, k, kl) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const model_entry *model_map_find(const model_map *m, const void *k, size_t kl)
{
    size_t i = model_map_lower_bound(m, k, kl);
    if (i < m->n && model_map_keycmp(m->e[i].k, m->e[i].kl, k, kl) == 0)
        return &m->e[i];
    return NULL;
}

/* A copy of n bytes in an allocation of at least 1 byte (invariant 2). */
static uint8_t *model_map_dup(const void *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    if (c != NULL && n)
        memcpy(c, p, n);
    return c;
}

int model_map_put(model_map *m, const void *k, size_t kl, const void *v, size_t vl)
{
    uint8_t *val = model_map_dup(v, vl);
    if (val == NULL)
        return -1;
    size_t i = model_map_lower_bound(m, k, kl);
    if (i < m->n && model_map_keycmp(m->e[i].k, m->e[i].kl, k, kl) == 0) {
        free(m->e[i].v);
        m->e[i].v = val;
        m->e[i].vl = vl;
        return 0;
    }
    uint8_t *key = model_map_dup(k, kl);
    if (key != NULL && m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        model_entry *grown = realloc(m->e, cap * sizeof *grown);
        if (grown == NULL) {
            free(key);
            key = NULL;
        } else {
            m->e = grown;
            m->cap = cap;
        }
    }
    if (key == NULL) {
        free(val);
        return -1;
    }
    memmove(m->e + i + 1, m->e + i, (m->n - i) * sizeof *m->e);
    m->e[i] = (model_entry){key, val, kl, vl};
    m->n++;
    return 0;
}

void model_map_del(model_map *m, const void *k, size_t kl)
{
    size_t i = model_map_lower_bound(m, k, kl);
    if (i < m->n && model_map_keycmp(m->e[i].k, m->e[i].kl, k, kl) == 0) {
        free(m->e[i].k);
        free(m->e[i].v);
        memmove(m->e + i, m->e + i + 1, (m->n - i - 1) * sizeof *m->e);
        m->n--;
    }
}

int model_map_copy(model_map *dst, const model_map *src)
{
    *dst = (model_map){0};
    dst->e = malloc((src->n ? src->n : 1) * sizeof *dst->e);
    if (dst->e == NULL)
        return -1;
    dst->cap = src->n;
    for (size_t i = 0; i < src->n; i++) {
        const model_entry *s = &src->e[i];
        model_entry c = {model_map_dup(s->k, s->kl), model_map_dup(s->v, s->vl), s->kl, s->vl};
        if (c.k == NULL || c.v == NULL) {
            free(c.k);
            free(c.v);
            model_map_free(dst);
            return -1;
        }
        dst->e[dst->n++] = c;
    }
    return 0;
}

void model_map_free(model_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].k);
        free(m->e[i].v);
    }
    free(m->e);
    *m = (model_map){0};
}
