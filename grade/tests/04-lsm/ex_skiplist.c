/*
 * ex_skiplist.c: the helpers of ex_skiplist.h.
 */
#include "ex_skiplist.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "exercise.h"

long ex_sl_compares;

int ex_sl_cmp(const uint8_t *a, const uint8_t *b)
{
    ex_sl_compares++;
    return strcmp((const char *)a, (const char *)b);
}

void ex_sl_key(char out[EX_SL_KEY], int k)
{
    memset(out, 0, EX_SL_KEY);
    snprintf(out, EX_SL_KEY, "k%05d", k);
}

/* Link `level` of a node: the links sit just below its key (skiplist.h). */
static _Atomic(uint8_t *) *ex_sl_link(const uint8_t *node, int level)
{
    return (_Atomic(uint8_t *) *)(uintptr_t)(node - (size_t)(level + 1) * sizeof(uint8_t *));
}

uint8_t *ex_sl_next(const uint8_t *x, int level)
{
    return atomic_load_explicit(ex_sl_link(x, level), memory_order_acquire);
}

void ex_sl_heights(int *heights, int n, uint64_t seed)
{
    uint64_t r = seed * 2 + 1;
    for (int i = 0; i < n; i++) {
        int h = 1;
        for (;;) {
            r ^= r >> 12;
            r ^= r << 25;
            r ^= r >> 27;
            if (h == SKIPLIST_MAX_HEIGHT || ((r * UINT64_C(0x2545F4914F6CDD1D)) >> 32) % 4 != 0)
                break;
            h++;
        }
        heights[i] = h;
    }
}

void ex_sl_build(skiplist *sl, arena *a, int n, const int *heights, uint8_t **nodes)
{
    EX_CHECK(skiplist_init(sl, a, ex_sl_cmp) == KV_OK, "test setup: skiplist_init");
    uint8_t *last[SKIPLIST_MAX_HEIGHT];
    for (int l = 0; l < SKIPLIST_MAX_HEIGHT; l++)
        last[l] = sl->head;
    int top = 1;
    for (int i = 0; i < n; i++) {
        int h = heights != NULL ? heights[i] : 1;
        uint8_t *node = (uint8_t *)arena_alloc_aligned(a, (size_t)h * sizeof(uint8_t *) +
                                                              EX_SL_KEY);
        EX_CHECK(node != NULL, "test setup: arena_alloc_aligned");
        node += (size_t)h * sizeof(uint8_t *);
        ex_sl_key((char *)node, 2 * i);
        for (int l = 0; l < h; l++) {
            atomic_store(ex_sl_link(node, l), NULL);
            atomic_store(ex_sl_link(last[l], l), node);
            last[l] = node;
        }
        if (h > top)
            top = h;
        if (nodes != NULL)
            nodes[i] = node;
    }
    atomic_store(&sl->height, top);
}
