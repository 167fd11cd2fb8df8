/*
 * skiplist_search_test.c: exercise skiplist_search, skiplist_find_ge,
 * skiplist_find_lt and skiplist_find_last (stages/04-lsm/memtable/skiplist.c),
 * through skiplist_iter_seek, skiplist_contains, skiplist_iter_prev and
 * skiplist_iter_seek_last, on lists the test links by hand: the first node
 * at or after a key, the last before it, the last of all, in O(log n)
 * comparisons.
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ex_skiplist.h"
#include "exercise.h"
#include "kv.h"
#include "skiplist.h"

/* Each test of this file searches lists of at most 20000 keys, in well
 * under a second: a search that never ends fails it with its rule. */
static void search_deadline(void)
{
    EX_BOUND(5, EX_RULE(2, "the walk along a level, then down") "every search ends: along a "
                "level it moves to the next node (x = next) "
                "and reads that node's link on the level (link = skiplist_link_of(x, level)), "
                "and drops a level at a node whose next is NULL or not before the key, down to "
                "level 0 (skiplist_find_last: while a next node is there); a search that "
                "reads the same link again, or stays on the same node, never ends");
}

/* Every seek (to each key and between each two), contains, prev and
 * seek_last on a list of n keys with the given heights. */
static void search_list(int n, const int *heights, const char *shape)
{
    arena a;
    arena_init(&a, 4096);
    skiplist sl;
    uint8_t **nodes = calloc((size_t)n + 1, sizeof *nodes);
    ex_sl_build(&sl, &a, n, heights, nodes);
    skiplist_iter it;
    skiplist_iter_init(&it, &sl);
    for (int k = -1; k <= 2 * n; k++) {
        char key[EX_SL_KEY];
        ex_sl_key(key, k < 0 ? 0 : k);
        if (k < 0)
            strcpy(key, "a"); /* before every key */
        ex_context(EX_RULES("1 and 2", "the walk along a level, then down, to the first node >= "
                            "key") "skiplist_iter_seek to %s in a list of %d keys (%s)", key, n, shape);
        skiplist_iter_seek(&it, (const uint8_t *)key);
        int want = k < 0 ? 0 : (k + 1) / 2; /* the first key >= k */
        if (want >= n) {
            EX_CHECK(!skiplist_iter_valid(&it), EX_RULE(1, "NULL if none") "a seek past the "
                     "last key finds no node "
                     "(skiplist_find_ge returns NULL): %s in a list of %d keys (%s)", key, n,
                     shape);
        } else {
            EX_CHECK(skiplist_iter_valid(&it) && skiplist_iter_key(&it) == nodes[want],
                     EX_RULE(1, "the first node >= key") "a seek to %s lands on the first node "
                     "whose key is >= it, k%05d "
                     "(%d keys, %s)", key, 2 * want, n, shape);
        }
        ex_context(EX_RULES("1 and 2", "the walk along a level, then down, to the first node >= "
                            "key") "skiplist_contains(%s) in a list of %d keys (%s)", key, n, shape);
        EX_CHECK(skiplist_contains(&sl, (const uint8_t *)key) == (k >= 0 && k % 2 == 0 &&
                                                                  k < 2 * n),
                 EX_RULE(1, "the first node >= key") "skiplist_contains(%s) is 1 exactly when "
                 "the key is in the list (%s)", key,
                 shape);
        if (k >= 0 && k % 2 == 0 && k < 2 * n) {
            skiplist_iter_seek(&it, (const uint8_t *)key);
            ex_context(EX_RULES("2 and 4", "the walk to the last node < key") "skiplist_iter_prev from %s (%d keys, %s)", key, n, shape);
            skiplist_iter_prev(&it);
            if (k == 0)
                EX_CHECK(!skiplist_iter_valid(&it), EX_RULE(4, "none before key") "prev from "
                         "the first key leaves the "
                         "iterator not valid: skiplist_find_lt returns the head (%s)", shape);
            else
                EX_CHECK(skiplist_iter_valid(&it) && skiplist_iter_key(&it) == nodes[k / 2 - 1],
                         EX_RULE(4, "the last node < key") "prev from %s lands on the last node "
                         "whose key is < it, k%05d (%s)",
                         key, k - 2, shape);
        }
    }
    ex_context(EX_RULE(5, "the last node") "skiplist_iter_seek_last in a list of %d keys (%s)", n, shape);
    skiplist_iter_seek_last(&it);
    if (n == 0)
        EX_CHECK(!skiplist_iter_valid(&it), EX_RULE(5, "the last node, or none") "seek_last in "
                 "an empty list: not valid "
                 "(skiplist_find_last returns the head)");
    else
        EX_CHECK(skiplist_iter_valid(&it) && skiplist_iter_key(&it) == nodes[n - 1],
                 EX_RULE(5, "the last node") "seek_last lands on the last node (%d keys, %s)", n, shape);
    free(nodes);
    arena_destroy(&a);
}

static void skiplist_search_empty_list(void)
{
    search_deadline();
    search_list(0, NULL, "empty");
}

static void skiplist_search_level_zero_only(void)
{
    search_deadline();
    search_list(50, NULL, "every node of height 1");
}

static void skiplist_search_random_heights(void)
{
    search_deadline();
    int h[300];
    for (uint64_t seed = 1; seed <= 4; seed++) {
        ex_sl_heights(h, 300, seed);
        search_list(300, h, "random heights");
    }
}

static void skiplist_search_tall_nodes(void)
{
    search_deadline();
    /* Heights that rise and fall, with the tallest at both ends. */
    int h[64];
    for (int i = 0; i < 64; i++)
        h[i] = 1 + (i * 7) % SKIPLIST_MAX_HEIGHT;
    h[0] = h[63] = SKIPLIST_MAX_HEIGHT;
    search_list(64, h, "heights 1..12, the first and last of height 12");
}

static void skiplist_search_takes_log_n_steps(void)
{
    search_deadline();
    enum { N = 20000 };
    static int h[N];
    ex_sl_heights(h, N, 7);
    arena a;
    arena_init(&a, 1 << 16);
    skiplist sl;
    ex_sl_build(&sl, &a, N, h, NULL);
    skiplist_iter it;
    skiplist_iter_init(&it, &sl);
    long worst = 0, worst_prev = 0;
    for (int k = 1; k < 2 * N; k += 397) {
        char key[EX_SL_KEY];
        ex_sl_key(key, k);
        ex_sl_compares = 0;
        skiplist_iter_seek(&it, (const uint8_t *)key);
        if (ex_sl_compares > worst)
            worst = ex_sl_compares;
        ex_sl_key(key, k + 1);
        skiplist_iter_seek(&it, (const uint8_t *)key);
        if (!skiplist_iter_valid(&it))
            continue;
        ex_sl_compares = 0;
        skiplist_iter_prev(&it);
        if (ex_sl_compares > worst_prev)
            worst_prev = ex_sl_compares;
    }
    EX_CHECK(worst > 0 && worst <= 200,
             EX_RULE(2, "O(log n) nodes") "a search starts on the top level and drops a level "
             "when the next node would "
             "overshoot: O(log n) comparisons; in a list of %d keys, one seek made %ld "
             "(a walk along level 0 makes thousands)", N, worst);
    EX_CHECK(worst_prev > 0 && worst_prev <= 200,
             EX_RULE(2, "O(log n) nodes") EX_RULE(2, "from the top level: O(log n) nodes") "prev searches for the last node before the current one from the top level: "
             "O(log n) comparisons; in a list of %d keys, one prev made %ld", N, worst_prev);
    arena_destroy(&a);
}

/* Two levels: every 64th node also on level 1.  A search that starts on
 * level 1 makes at most 64 comparisons there and 64 on level 0; one that
 * starts below the top walks level 0 from the head.  (It comes first: a
 * search that starts below a list of one level reads a link no node has.) */
static void skiplist_search_starts_on_the_top_level(void)
{
    search_deadline();
    enum { N = 4096 };
    static int h[N];
    for (int i = 0; i < N; i++)
        h[i] = i % 64 == 63 ? 2 : 1;
    arena a;
    arena_init(&a, 1 << 16);
    skiplist sl;
    uint8_t **nodes = calloc(N, sizeof *nodes);
    ex_sl_build(&sl, &a, N, h, nodes);
    skiplist_iter it;
    skiplist_iter_init(&it, &sl);
    for (int k = 1; k < 2 * N; k += 101) {
        char key[EX_SL_KEY];
        ex_sl_key(key, k);
        ex_context(EX_RULES("1 and 2", "the walk along a level, then down, to the first node >= "
                            "key") "skiplist_iter_seek to %s in a list of %d keys, every 64th of height 2",
                        key, N);
        ex_sl_compares = 0;
        skiplist_iter_seek(&it, (const uint8_t *)key);
        long seek = ex_sl_compares;
        EX_CHECK(seek <= 140, EX_RULE(2, "from the top level") "a search starts on the list's "
                 "top level (its height - 1, here "
                 "level 1) and drops a level when the next node would overshoot: O(log n) "
                 "comparisons; a seek to %s in %d keys, every 64th of height 2, made %ld (at "
                 "most 64 on level 1 and 64 on level 0)", key, N, seek);
        int want = (k + 1) / 2;
        EX_CHECK(want < N ? skiplist_iter_valid(&it) && skiplist_iter_key(&it) == nodes[want]
                          : !skiplist_iter_valid(&it),
                 EX_RULE(1, "the first node >= key") "a seek to %s lands on the first node "
                 "whose key is >= it (%d keys, every "
                 "64th of height 2)", key, N);
        if (!skiplist_iter_valid(&it))
            continue;
        ex_context(EX_RULES("2 and 4", "the walk to the last node < key") "skiplist_iter_prev from k%05d in a list of %d keys, every 64th of "
                        "height 2", 2 * want, N);
        ex_sl_compares = 0;
        skiplist_iter_prev(&it);
        long prev = ex_sl_compares;
        EX_CHECK(!skiplist_iter_valid(&it) || skiplist_iter_key(&it) != nodes[want],
                 EX_RULE(4, "the last node < key, never one equal to it") "prev from k%05d "
                 "stayed on k%05d: skiplist_find_lt returns the last node whose key is "
                 "strictly before the key it is given (%d keys, every 64th of height 2)",
                 2 * want, 2 * want, N);
        EX_CHECK(want == 0 ? !skiplist_iter_valid(&it)
                           : skiplist_iter_valid(&it) && skiplist_iter_key(&it) == nodes[want - 1],
                 EX_RULE(4, "the last node < key") "prev from k%05d lands on the last node "
                 "whose key is < it (%d keys, every 64th of height 2): skiplist_find_lt goes "
                 "down to level 0 before it answers", 2 * want, N);
        EX_CHECK(prev <= 140, EX_RULE(2, "from the top level: O(log n) nodes") "prev searches "
                 "for the last node before the current one from "
                 "the list's top level (its height - 1, here level 1): O(log n) comparisons; "
                 "prev from k%05d in %d keys, every 64th of height 2, made %ld", 2 * want, N,
                 prev);
    }
    free(nodes);
    arena_destroy(&a);
}

static const harness_test skiplist_search_tests[] = {
    HARNESS_TEST(skiplist_search_starts_on_the_top_level),
    HARNESS_TEST(skiplist_search_level_zero_only),
    HARNESS_TEST(skiplist_search_empty_list),
    HARNESS_TEST(skiplist_search_random_heights),
    HARNESS_TEST(skiplist_search_tall_nodes),
    HARNESS_TEST(skiplist_search_takes_log_n_steps),
};
const harness_suite skiplist_search_suite = HARNESS_SUITE("skiplist_search", skiplist_search_tests);
