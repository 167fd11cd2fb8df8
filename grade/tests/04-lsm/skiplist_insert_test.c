/*
 * skiplist_insert_test.c: exercise skiplist_insert
 * (stages/04-lsm/memtable/skiplist.c): nodes linked into every level they reach,
 * checked by walking the links level by level (S4: each level sorted,
 * each node on every level below its height); the list as a reader finds
 * it between any two instructions of an insert (S2, S3: ex_step.h); and
 * readers on threads during inserts, which ThreadSanitizer watches in the
 * grade's race rung (S3: a node published without release order).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ex_skiplist.h"
#include "ex_step.h"
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
             EX_RULE(2, "the height grows") "after %s: the list's height is the tallest node's, "
             "%d (got %d): an insert of a "
             "node taller than the list raises it", after, top,
             atomic_load(&((skiplist *)(uintptr_t)sl)->height));
    for (int level = 0; level < SKIPLIST_MAX_HEIGHT; level++) {
        int prev = -1, count = 0;
        for (const uint8_t *x = ex_sl_next(sl->head, level); x != NULL;
             x = ex_sl_next(x, level)) {
            int k = atoi((const char *)x + 1);
            EX_CHECK(k > prev, EX_RULE(1, "where the node goes") "after %s: level %d is sorted: "
                     "k%05d comes after k%05d", after,
                     level, k, prev);
            EX_CHECK(k <= 2 * MAXN && height_of[k] > level && node_of[k] == x,
                     EX_RULE(3, "each level up to height - 1") "after %s: level %d holds only "
                     "nodes whose height is above %d (k%05d)",
                     after, level, level, k);
            prev = k;
            count++;
            EX_CHECK(count <= n, EX_RULE(3, "the node's own link first") "after %s: level %d "
                     "ends (no cycle)", after, level);
        }
        int want = 0;
        for (int i = 0; i < n; i++)
            want += heights[i] > level;
        /* The newest node missing from this level because the insert
         * linked it after prev[level], and prev[level] named a node that
         * is not on the level (too short: the search's level-0 answer
         * used for every level): that node's link `level`, which it does
         * not have, names the newest node (read as the test reads every
         * link, below the node's key). */
        if (count != want && n > 1 && heights[n - 1] > level) {
            int before = -1; /* the node just before the newest on level 0 */
            for (int i = 0; i < n - 1; i++)
                if (number[i] < number[n - 1] && (before < 0 || number[i] > number[before]))
                    before = i;
            EX_CHECK(before < 0 || heights[before] > level ||
                         ex_sl_next(nodes[before], level) != nodes[n - 1],
                     EX_RULE_OF(skiplist_search, 3, "prev[i], the last node before key on each "
                                "level i") "after %s: k%05d (height %d) is not on level %d: the "
                     "insert linked it there after prev[%d], which named k%05d, a node of height "
                     "%d, not on level %d; prev[i] is the last node before the key on level i "
                     "itself, for each level below the height", after, number[n - 1],
                     heights[n - 1], level, level, number[before], heights[before], level);
        }
        EX_CHECK(count == want,
                 EX_RULE(3, "each level up to height - 1") "after %s: a node is linked on every "
                 "level below its height (S4: the express "
                 "lanes of a search); level %d holds %d nodes, want %d", after, level, count,
                 want);
    }
}

static void insert_keys(int n, const int *order, const char *what)
{
    /* 3000 inserts take milliseconds: one that never returns fails with
     * its rule, not the run's time limit. */
    EX_BOUND(10, EX_RULE(2, "the head on the new levels") "every insert ends: the levels "
                "above the list's height get the head as "
                "their prev, counting up from the list's height to the node's (i++), and the "
                "node is linked in counting up from level 0 to its height; a loop that counts "
                "the other way never reaches its bound (%d inserts, %s)", n, what);
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
        ex_context(EX_RULES("2 and 3", "the head as prev on the levels above the list's "
                            "height; the node linked on each level below its own")
                   "skiplist_insert of k%05d (height %d), insert %d of %d (%s)", number[i],
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

/* A node of the greatest height first, into an empty list, then nodes of
 * every height: the levels from the list's height up to the node's get
 * the head as their prev, and no more (prev[] has SKIPLIST_MAX_HEIGHT
 * slots: a bound one too far writes past it, which the grade's build of
 * a workspace stops, naming skiplist_insert). */
static void skiplist_insert_the_tallest_node(void)
{
    arena a;
    arena_init(&a, 1 << 14);
    skiplist sl;
    EX_CHECK(skiplist_init(&sl, &a, ex_sl_cmp) == KV_OK, "test setup: skiplist_init");
    enum { N = 2 * SKIPLIST_MAX_HEIGHT };
    static uint8_t *nodes[N];
    static int heights[N], number[N];
    for (int i = 0; i < N; i++) {
        /* Heights 12, 1, 11, 2, ..., 1, 12: the tallest first.  A node of
         * a chosen height, laid out as skiplist_alloc lays one out (its
         * links before its key, as ex_sl_build makes them). */
        heights[i] = i % 2 == 0 ? SKIPLIST_MAX_HEIGHT - i / 2 : 1 + i / 2;
        uint8_t *node = (uint8_t *)arena_alloc_aligned(
            &a, (size_t)heights[i] * sizeof(uint8_t *) + EX_SL_KEY);
        EX_CHECK(node != NULL, "test setup: arena_alloc_aligned");
        nodes[i] = node + (size_t)heights[i] * sizeof(uint8_t *);
        number[i] = 2 * ((i * 7) % N);
        ex_sl_key((char *)nodes[i], number[i]);
    }
    for (int i = 0; i < N; i++) {
        harness_context("skiplist_insert of k%05d (height %d) into a list of height %d: the "
                        "levels from the list's height up to the node's, and only those "
                        "(prev[0, height)), get the head as their prev",
                        number[i], heights[i], atomic_load(&sl.height));
        skiplist_insert(&sl, nodes[i], heights[i]);
        char after[160];
        snprintf(after, sizeof after, "%d inserts, the first of the greatest height (%d)", i + 1,
                 SKIPLIST_MAX_HEIGHT);
        check_levels(&sl, i + 1, number, nodes, heights, after);
    }
    arena_destroy(&a);
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
                 EX_RULE(1, "where the node goes") "after 1000 inserts in scrambled order, a "
                 "walk from the first node yields the "
                 "keys in order: %s at position %d", want, k);
        k++;
    }
    EX_CHECK(k == 1000, EX_RULE(3, "linked on every level") "every inserted node is in the "
             "list: %d of 1000", k);
    arena_destroy(&a);
}

/* ---- every moment of an insert, as a reader would find it ---------------- */
/* The list and its nodes, made before the fork of ex_step_run, so that the
 * traced child and this process have them at the same addresses. */
enum { STEP_N = 48 };
static struct {
    arena a;
    skiplist sl;
    uint8_t *nodes[STEP_N]; /* inserted in this order */
    int heights[STEP_N];
    int number[STEP_N];     /* nodes[i] holds key number[i] */
    char why[600];
} step;

static void step_work(void *arg)
{
    (void)arg;
    for (int i = 0; i < STEP_N; i++) {
        ex_step_mark_begin();
        skiplist_insert(&step.sl, step.nodes[i], step.heights[i]);
        ex_step_mark_end();
    }
}

static int step_node(const uint8_t *x)
{
    for (int i = 0; i < STEP_N; i++)
        if (step.nodes[i] == x)
            return i;
    return -1;
}

/* What a reader's search for key number `k` from level top - 1 down finds:
 * the first node on level 0 at or after it (NULL if none), following the
 * links as they are at this moment. */
static const uint8_t *step_search(int k, int top)
{
    char key[EX_SL_KEY];
    ex_sl_key(key, k);
    const uint8_t *x = step.sl.head;
    for (int level = top - 1; level >= 0; level--) {
        const uint8_t *next;
        int hops = 0;
        while ((next = ex_sl_next(x, level)) != NULL && strcmp((const char *)next, key) < 0 &&
               hops++ <= STEP_N)
            x = next;
    }
    return ex_sl_next(x, 0);
}

/* Between two instructions of insert number `piece` (nodes[piece - 1]):
 * every level is a sorted list of nodes inserted so far (or the one in
 * flight) that reach it; level 0 holds every node inserted before; a
 * search for any of them, from the list's height or from the top level,
 * finds it. */
static const char *step_check(void *ctx, int piece, long instr)
{
    (void)ctx;
    int flight = piece - 1;
    char fly[EX_SL_KEY];
    ex_sl_key(fly, step.number[flight]);
    int on_level0[STEP_N] = {0};
    for (int level = 0; level < SKIPLIST_MAX_HEIGHT; level++) {
        int prev = -1, count = 0;
        const uint8_t *from = step.sl.head;
        for (const uint8_t *x = ex_sl_next(step.sl.head, level); x != NULL;
             from = x, x = ex_sl_next(x, level)) {
            int i = step_node(x);
            if ((i < 0 || i > flight) && from == step.nodes[flight]) {
                snprintf(step.why, sizeof step.why,
                         EX_RULE(3, "the node's own link before its predecessor's") "while %s "
                         "was being inserted (instruction %ld of the inserts), a reader "
                         "walking level %d reached it and followed its own link on that level, "
                         "which was not set yet (it pointed at %s): a node is made reachable on a "
                         "level only once its own link there is set (S2), by one release store "
                         "into its predecessor's link (S3)", fly, instr, level,
                         i < 0 ? "memory that is no node" : "a node not inserted yet");
                return step.why;
            }
            if (i < 0 || i > flight) {
                snprintf(step.why, sizeof step.why,
                         EX_RULE(3, "the node's own link before its predecessor's") "while %s "
                         "was being inserted (instruction %ld of the inserts), a link "
                         "on level %d pointed at %s: only nodes inserted so far, or the one being "
                         "inserted, may be reachable", fly, instr, level,
                         i < 0 ? "memory that is no node" : "a node not inserted yet");
                return step.why;
            }
            if (step.heights[i] <= level || step.number[i] <= prev || ++count > STEP_N) {
                snprintf(step.why, sizeof step.why,
                         EX_RULE(3, "each level kept sorted") "while %s was being inserted "
                         "(instruction %ld of the inserts), a reader "
                         "walking level %d found k%05d %s", fly, instr, level, step.number[i],
                         step.heights[i] <= level ? "there, above its height"
                         : count > STEP_N ? "in a cycle" : "out of order (S4: each level sorted)");
                return step.why;
            }
            prev = step.number[i];
            if (level == 0)
                on_level0[i] = 1;
        }
    }
    int height = atomic_load_explicit(&step.sl.height, memory_order_relaxed);
    for (int i = 0; i < flight; i++) {
        int top_ok = 1, top = height;
        if (on_level0[i])
            for (int t = 0; t < 2 && top_ok; t++, top = SKIPLIST_MAX_HEIGHT)
                top_ok = step_search(step.number[i], top) == step.nodes[i];
        if (!on_level0[i] || !top_ok) {
            snprintf(step.why, sizeof step.why,
                     EX_RULE(3, "level 0 first") "while %s was being inserted (instruction %ld "
                     "of the inserts), a reader %s "
                     "k%05d, inserted before it: at every instant the list must hold every node "
                     "already in it. A node is made reachable on a level only once its own link "
                     "on that level is set (S2), by one release store into its predecessor's "
                     "link (S3), level 0 first (S4)", fly, instr,
                     !on_level0[i] ? "walking level 0 no longer reaches" : "searching cannot find",
                     step.number[i]);
            return step.why;
        }
    }
    return NULL;
}

static void skiplist_insert_every_instant_keeps_the_list_whole(void)
{
    /* Stepped one instruction at a time, the inserts take under a second:
     * one whose loop runs away (counting the wrong way through the stack)
     * would be stepped for minutes. */
    EX_BOUND(20, EX_RULE(2, "the head on the new levels") "every insert ends: the levels "
                "above the list's height get the head as "
                "their prev, counting up from the list's height to the node's (i++), and the "
                "node is linked in counting up from level 0 to its height; a loop that counts "
                "the other way never reaches its bound (%d inserts, stepped one instruction "
                "at a time)", STEP_N);
    /* First one insert in this process, so that a stub says so. */
    arena a;
    arena_init(&a, 1 << 12);
    skiplist one;
    EX_CHECK(skiplist_init(&one, &a, ex_sl_cmp) == KV_OK, "test setup: skiplist_init");
    int h = 0;
    uint8_t *node = skiplist_alloc(&one, EX_SL_KEY, &h);
    EX_CHECK(node != NULL, "test setup: skiplist_alloc");
    ex_sl_key((char *)node, 2);
    skiplist_insert(&one, node, h);
    EX_CHECK(ex_sl_next(one.head, 0) == node, EX_RULE(3, "linked on level 0") "an insert into "
             "an empty list links the node "
             "after the head on level 0");
    arena_destroy(&a);

    arena_init(&step.a, 1 << 16);
    EX_CHECK(skiplist_init(&step.sl, &step.a, ex_sl_cmp) == KV_OK, "test setup: skiplist_init");
    uint64_t r = 99;
    int order[STEP_N];
    for (int i = 0; i < STEP_N; i++)
        order[i] = i;
    for (int i = STEP_N - 1; i > 0; i--) {
        r = r * 6364136223846793005u + 1442695040888963407u;
        int j = (int)((r >> 33) % (uint64_t)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int i = 0; i < STEP_N; i++) {
        step.nodes[i] = skiplist_alloc(&step.sl, EX_SL_KEY, &step.heights[i]);
        EX_CHECK(step.nodes[i] != NULL, "test setup: skiplist_alloc");
        step.number[i] = 2 * order[i];
        ex_sl_key((char *)step.nodes[i], step.number[i]);
    }
    /* The nodes and the head are in the arena's one block, from the head's
     * links to the next free byte. */
    uint8_t *lo = step.sl.head - SKIPLIST_MAX_HEIGHT * sizeof(void *);
    ex_step_region regions[] = {
        {lo, (size_t)(step.a.ptr - lo)},
        {&step.sl, sizeof step.sl},
    };
    for (int i = 0; i < STEP_N; i++)
        EX_CHECK(step.nodes[i] > lo && step.nodes[i] < step.a.ptr, "test setup: the nodes "
                 "share one block of the arena");
    ex_context(EX_RULE(3, "the node's own link before its predecessor's") "skiplist_insert "
               "of %d keys in random order, checked between any two "
               "instructions", STEP_N);
    long steps = ex_step_run(step_work, NULL, regions, 2, step_check, NULL);
    EX_CHECK(steps > 0, "the inserts ran (%ld instructions)", steps);
    /* This process now holds the list as the inserts left it. */
    static int numbers[STEP_N];
    for (int i = 0; i < STEP_N; i++)
        numbers[i] = step.number[i];
    check_levels(&step.sl, STEP_N, numbers, step.nodes, step.heights, "the traced inserts");
    arena_destroy(&step.a);
}

/* ---- readers on other threads during inserts -------------------------------- */
/* One writer inserts; two readers search for keys whose insert has
 * returned, and walk level 0.  Every key found must be there; under
 * ThreadSanitizer (the race rung) a node whose key bytes a reader can read
 * before it sees the writer's release store is a data race. */
enum { RACE_N = 6000 };
static struct {
    skiplist sl;
    atomic_int done;        /* inserts that have returned */
    int order[RACE_N];
    atomic_int missing;     /* a reader's failure: 1 + the key not found */
    atomic_int unsorted;
} race;

/* ex_sl_cmp counts its calls in a plain global: not for threads. */
static int race_cmp(const uint8_t *a, const uint8_t *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void *race_reader(void *arg)
{
    uint64_t r = (uint64_t)(uintptr_t)arg * 7919 + 1;
    while (atomic_load_explicit(&race.done, memory_order_acquire) < RACE_N) {
        int done = atomic_load_explicit(&race.done, memory_order_acquire);
        if (done == 0)
            continue;
        r = r * 6364136223846793005u + 1442695040888963407u;
        int k = 2 * race.order[(r >> 33) % (uint64_t)done];
        char key[EX_SL_KEY];
        ex_sl_key(key, k);
        skiplist_iter it;
        skiplist_iter_init(&it, &race.sl);
        skiplist_iter_seek(&it, (const uint8_t *)key);
        if (!skiplist_iter_valid(&it) || strcmp((const char *)skiplist_iter_key(&it), key) != 0)
            atomic_store(&race.missing, 1 + k);
        /* A few steps along level 0: in order. */
        for (int i = 0; i < 8 && skiplist_iter_valid(&it); i++) {
            const char *was = (const char *)skiplist_iter_key(&it);
            skiplist_iter_next(&it);
            if (skiplist_iter_valid(&it) && strcmp((const char *)skiplist_iter_key(&it), was) <= 0)
                atomic_store(&race.unsorted, 1);
        }
    }
    return NULL;
}

static void skiplist_insert_race_readers_during_inserts(void)
{
    arena a;
    arena_init(&a, 1 << 16);
    EX_CHECK(skiplist_init(&race.sl, &a, race_cmp) == KV_OK, "test setup: skiplist_init");
    atomic_store(&race.done, 0);
    atomic_store(&race.missing, 0);
    atomic_store(&race.unsorted, 0);
    for (int i = 0; i < RACE_N; i++)
        race.order[i] = i;
    uint64_t r = 4242;
    for (int i = RACE_N - 1; i > 0; i--) {
        r = r * 6364136223846793005u + 1442695040888963407u;
        int j = (int)((r >> 33) % (uint64_t)(i + 1));
        int t = race.order[i];
        race.order[i] = race.order[j];
        race.order[j] = t;
    }
    pthread_t readers[2];
    for (int t = 0; t < 2; t++)
        EX_CHECK(pthread_create(&readers[t], NULL, race_reader, (void *)(uintptr_t)(t + 1)) == 0,
                 "test setup: pthread_create");
    for (int i = 0; i < RACE_N; i++) {
        int h = 0;
        uint8_t *node = skiplist_alloc(&race.sl, EX_SL_KEY, &h);
        EX_CHECK(node != NULL, "test setup: skiplist_alloc");
        ex_sl_key((char *)node, 2 * race.order[i]);
        skiplist_insert(&race.sl, node, h);
        atomic_store_explicit(&race.done, i + 1, memory_order_release);
    }
    for (int t = 0; t < 2; t++)
        pthread_join(readers[t], NULL);
    int missing = atomic_load(&race.missing);
    EX_CHECK(missing == 0, EX_RULE(4, "release order") EX_RULE_OF(skiplist_search, 6, "acquire "
             "loads") "a reader on another thread, searching while the writer inserted, did "
             "not find k%05d, whose insert had returned (S3: a node is published by one release "
             "store, after it is complete)", missing - 1);
    EX_CHECK(atomic_load(&race.unsorted) == 0, EX_RULE(4, "release order") "a reader on another "
             "thread walked level 0 out of "
             "order during inserts (S4)");
    arena_destroy(&a);
}

static const harness_test skiplist_insert_tests[] = {
    HARNESS_TEST(skiplist_insert_ascending),
    HARNESS_TEST(skiplist_insert_descending),
    HARNESS_TEST(skiplist_insert_random_order),
    HARNESS_TEST(skiplist_insert_the_tallest_node),
    HARNESS_TEST(skiplist_insert_then_search),
    HARNESS_TEST(skiplist_insert_every_instant_keeps_the_list_whole),
    HARNESS_TEST(skiplist_insert_race_readers_during_inserts),
};
const harness_suite skiplist_insert_suite = HARNESS_SUITE("skiplist_insert", skiplist_insert_tests);
