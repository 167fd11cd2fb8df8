/*
 * skiplist_insert_test.c: exercise skiplist_insert
 * (stages/04-lsm/skiplist.c): nodes linked into every level they reach,
 * checked by walking the links level by level (S4: each level sorted,
 * each node on every level below its height).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ex_skiplist.h"
#include "exercise.h"
#include "kv.h"
#include "skiplist.h"

enum { MAXN = 3000 };

/* Walks every level of sl, which must hold exactly the keys number[0..n)
 * (any order), the node of key number[i] being nodes[i] of height
 * heights[i]. */
static void check_levels(const skiplist *sl, int n, const int *number, uint8_t *const *nodes,
                         const int *heights, const char *after)
{
    static int height_of[2 * MAXN + 2];
    static uint8_t *node_of[2 * MAXN + 2];
    memset(height_of, 0, sizeof height_of);
    int top = 1;
    for (int i = 0; i < n; i++) {
        height_of[number[i]] = heights[i];
        node_of[number[i]] = nodes[i];
        if (heights[i] > top)
            top = heights[i];
    }
    EX_CHECK(atomic_load(&((skiplist *)(uintptr_t)sl)->height) == top,
             "after %s: the list's height is the tallest node's, %d (got %d): an insert of a "
             "node taller than the list raises it", after, top,
             atomic_load(&((skiplist *)(uintptr_t)sl)->height));
    for (int level = 0; level < SKIPLIST_MAX_HEIGHT; level++) {
        int prev = -1, count = 0;
        for (const uint8_t *x = ex_sl_next(sl->head, level); x != NULL;
             x = ex_sl_next(x, level)) {
            int k = atoi((const char *)x + 1);
            EX_CHECK(k > prev, "after %s: level %d is sorted: k%05d comes after k%05d", after,
                     level, k, prev);
            EX_CHECK(k <= 2 * MAXN && height_of[k] > level && node_of[k] == x,
                     "after %s: level %d holds only nodes whose height is above %d (k%05d)",
                     after, level, level, k);
            prev = k;
            count++;
            EX_CHECK(count <= n, "after %s: level %d ends (no cycle)", after, level);
        }
        int want = 0;
        for (int i = 0; i < n; i++)
            want += heights[i] > level;
        EX_CHECK(count == want,
                 "after %s: a node is linked on every level below its height (S4: the express "
                 "lanes of a search); level %d holds %d nodes, want %d", after, level, count,
                 want);
    }
}

static void insert_keys(int n, const int *order, const char *what)
{
    arena a;
    arena_init(&a, 1 << 14);
    skiplist sl;
    EX_CHECK(skiplist_init(&sl, &a, ex_sl_cmp) == KV_OK, "test setup: skiplist_init");
    static uint8_t *nodes[MAXN];
    static int heights[MAXN], number[MAXN];
    for (int i = 0; i < n; i++) {
        int h = 0;
        nodes[i] = skiplist_alloc(&sl, EX_SL_KEY, &h);
        EX_CHECK(nodes[i] != NULL, "test setup: skiplist_alloc");
        heights[i] = h;
        number[i] = 2 * order[i];
        ex_sl_key((char *)nodes[i], number[i]);
        harness_context("skiplist_insert of k%05d (height %d), insert %d of %d (%s)", number[i],
                        h, i + 1, n, what);
        skiplist_insert(&sl, nodes[i], h);
        if (i < 40 || i % 500 == 0 || i == n - 1) {
            char after[160];
            snprintf(after, sizeof after, "%d inserts (%s)", i + 1, what);
            check_levels(&sl, i + 1, number, nodes, heights, after);
        }
    }
    arena_destroy(&a);
}

static void skiplist_insert_ascending(void)
{
    static int order[MAXN];
    for (int i = 0; i < MAXN; i++)
        order[i] = i;
    insert_keys(MAXN, order, "keys in ascending order");
}

static void skiplist_insert_descending(void)
{
    static int order[MAXN];
    for (int i = 0; i < MAXN; i++)
        order[i] = MAXN - 1 - i;
    insert_keys(MAXN, order, "keys in descending order");
}

static void skiplist_insert_random_order(void)
{
    static int order[MAXN];
    for (int i = 0; i < MAXN; i++)
        order[i] = i;
    uint64_t r = 12345;
    for (int i = MAXN - 1; i > 0; i--) {
        r = r * 6364136223846793005u + 1442695040888963407u;
        int j = (int)((r >> 33) % (uint64_t)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    insert_keys(MAXN, order, "keys in random order");
}

static void skiplist_insert_then_search(void)
{
    arena a;
    arena_init(&a, 1 << 14);
    skiplist sl;
    EX_CHECK(skiplist_init(&sl, &a, ex_sl_cmp) == KV_OK, "test setup: skiplist_init");
    for (int i = 0; i < 1000; i++) {
        int h = 0;
        uint8_t *node = skiplist_alloc(&sl, EX_SL_KEY, &h);
        ex_sl_key((char *)node, (i * 617) % 1000 * 2);
        skiplist_insert(&sl, node, h);
    }
    skiplist_iter it;
    skiplist_iter_init(&it, &sl);
    int k = 0;
    for (skiplist_iter_seek_first(&it); skiplist_iter_valid(&it); skiplist_iter_next(&it)) {
        char want[EX_SL_KEY];
        ex_sl_key(want, 2 * k);
        EX_CHECK(k < 1000 && strcmp((const char *)skiplist_iter_key(&it), want) == 0,
                 "after 1000 inserts in scrambled order, a walk from the first node yields the "
                 "keys in order: %s at position %d", want, k);
        k++;
    }
    EX_CHECK(k == 1000, "every inserted node is in the list: %d of 1000", k);
    arena_destroy(&a);
}

static const harness_test skiplist_insert_tests[] = {
    HARNESS_TEST(skiplist_insert_ascending),
    HARNESS_TEST(skiplist_insert_descending),
    HARNESS_TEST(skiplist_insert_random_order),
    HARNESS_TEST(skiplist_insert_then_search),
};
const harness_suite skiplist_insert_suite = HARNESS_SUITE("skiplist_insert", skiplist_insert_tests);
