/*
 * draw_axis.c: the key axis of the LSM pictures (draw.h): every key the
 * picture places, sorted as the engine sorts them, one slot each.
 */
#include <stdlib.h>

#include "draw.h"

void draw_axis_add(draw_axis *a, const char *key)
{
    if (key == NULL || a->failed)
        return;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        const char **k = realloc(a->keys, cap * sizeof *k);
        if (k == NULL) {
            a->failed = 1;
            return;
        }
        a->keys = k;
        a->cap = cap;
    }
    a->keys[a->n++] = key;
}

static int axis_order(const void *x, const void *y)
{
    return draw_key_compare(*(const char *const *)x, *(const char *const *)y);
}

void draw_axis_done(draw_axis *a, double x0, double x1)
{
    a->x0 = x0;
    a->x1 = x1;
    if (a->n == 0)
        return;
    qsort(a->keys, a->n, sizeof *a->keys, axis_order);
    size_t w = 1;
    for (size_t r = 1; r < a->n; r++)
        if (draw_key_compare(a->keys[r], a->keys[w - 1]) != 0)
            a->keys[w++] = a->keys[r];
    a->n = w;
}

/* The number of keys on the axis before key. */
static size_t axis_rank(const draw_axis *a, const char *key)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (draw_key_compare(a->keys[mid], key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static double axis_slot(const draw_axis *a)
{
    return (a->x1 - a->x0) / (double)(a->n > 0 ? a->n : 1);
}

double draw_axis_left(const draw_axis *a, const char *key)
{
    return a->x0 + (double)axis_rank(a, key) * axis_slot(a);
}

double draw_axis_right(const draw_axis *a, const char *key)
{
    size_t r = axis_rank(a, key);
    if (r < a->n && draw_key_compare(a->keys[r], key) == 0)
        r++;
    return a->x0 + (double)r * axis_slot(a);
}

void draw_axis_labels(const draw_axis *a, svg *s, double y)
{
    if (a->n == 0)
        return;
    char buf[40];
    svg_line(s, a->x0, y - 10, a->x1, y - 10, "#999999", 1, NULL);
    svg_textf(s, a->x0, y + 2, 10, "start", "#555555", "key %s",
              draw_key_label(a->keys[0], 24, buf, sizeof buf));
    svg_textf(s, a->x1, y + 2, 10, "end", "#555555", "%s",
              draw_key_label(a->keys[a->n - 1], 24, buf, sizeof buf));
    svg_textf(s, (a->x0 + a->x1) / 2, y + 2, 10, "middle", "#555555",
              "key order (%zu keys placed, evenly spaced: range ends, memtable keys)", a->n);
}

void draw_axis_free(draw_axis *a)
{
    free(a->keys);
    a->keys = NULL;
    a->n = a->cap = 0;
}
