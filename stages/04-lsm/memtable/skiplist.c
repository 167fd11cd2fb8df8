/*
 * skiplist.c: the lock-free-for-readers skiplist (skiplist.h).  S1..S6 are
 * the invariants written there.
 */
#include "skiplist.h"

#include "error.h"
#include "kv.h"

typedef _Atomic(uint8_t *) skiplist_link;

/* Link `level` of a node: the links sit just below the key (skiplist.h). */
static inline skiplist_link *skiplist_link_of(const uint8_t *node, int level)
{
    return (skiplist_link *)(uintptr_t)(node - (size_t)(level + 1) * sizeof(skiplist_link));
}

/* S3: every reader's load of a link. */
static inline uint8_t *skiplist_next(const uint8_t *node, int level)
{
    return atomic_load_explicit(skiplist_link_of(node, level), memory_order_acquire);
}

static inline int skiplist_height(const skiplist *sl)
{
    return atomic_load_explicit(&((skiplist *)(uintptr_t)sl)->height, memory_order_relaxed);
}

int skiplist_init(skiplist *sl, arena *a, skiplist_cmp cmp)
{
    sl->arena = a;
    sl->cmp = cmp;
    sl->rnd = UINT64_C(0x9e3779b97f4a7c15);
    atomic_init(&sl->height, 1);
    uint8_t *mem = arena_alloc_aligned(a, SKIPLIST_MAX_HEIGHT * sizeof(skiplist_link));
    if (mem == NULL)
        return KV_ERR_NOMEM;
    sl->head = mem + SKIPLIST_MAX_HEIGHT * sizeof(skiplist_link);
    for (int i = 0; i < SKIPLIST_MAX_HEIGHT; i++)
        atomic_init(skiplist_link_of(sl->head, i), NULL);
    return KV_OK;
}

/* 1 + the number of successes of a coin that comes up with p = 1/4,
 * capped: height h has probability (3/4) (1/4)^(h-1).  xorshift64* is
 * plenty for this (Vigna, 2016). */
static int skiplist_random_height(skiplist *sl)
{
    int h = 1;
    while (h < SKIPLIST_MAX_HEIGHT) {
        sl->rnd ^= sl->rnd >> 12;
        sl->rnd ^= sl->rnd << 25;
        sl->rnd ^= sl->rnd >> 27;
        uint64_t r = sl->rnd * UINT64_C(0x2545F4914F6CDD1D);
        if ((r >> 32) % SKIPLIST_BRANCHING != 0)
            break;
        h++;
    }
    return h;
}

uint8_t *skiplist_alloc(skiplist *sl, size_t key_bytes, int *height)
{
    int h = skiplist_random_height(sl);
    size_t links = (size_t)h * sizeof(skiplist_link);
    if (key_bytes > SIZE_MAX - links) {
        kv_error(KV_ERR_NOMEM, "skiplist: a node of %zu bytes is too large", key_bytes);
        return NULL;
    }
    uint8_t *mem = arena_alloc_aligned(sl->arena, links + key_bytes);
    if (mem == NULL)
        return NULL;
    *height = h;
    return mem + links;
}

/*
 * The first node whose key is >= key (NULL if none).  If prev is not NULL,
 * prev[i] receives the last node before it on each level i below the
 * list's height: where an insert links in.  This loop and the comparisons
 * it calls are most of what an insert costs, so its inner loop, along one
 * level, is kept to a load, two tests, a prefetch and the comparison.
 */
static inline uint8_t *skiplist_find_ge(const skiplist *sl, const uint8_t *key, uint8_t **prev)
{
    skiplist_cmp cmp = sl->cmp;
    uint8_t *x = sl->head;
    int level = skiplist_height(sl) - 1;
    const uint8_t *known_not_before = NULL; /* a node already compared >= key */
    for (;;) {
        /* Along the level while the next node is before key (each link
         * loaded with acquire order, S3).  On the way down, the same
         * successor often comes up again: it was compared on the level
         * above, so the comparison is skipped. */
        skiplist_link *link = skiplist_link_of(x, level);
        uint8_t *next;
        for (;;) {
            next = atomic_load_explicit(link, memory_order_acquire);
            if (next == known_not_before || next == NULL)
                break;
            /* Most of an insert's time is spent waiting for nodes to come
             * from memory, one after the other.  While the comparison waits
             * for `next`, the node one level down (where the search goes if
             * next is not before key) is fetched too.  The pointer is only
             * a hint to the processor, never followed: a relaxed load will
             * do. */
            if (level > 0)
                __builtin_prefetch(atomic_load_explicit(skiplist_link_of(x, level - 1),
                                                        memory_order_relaxed));
            if (cmp(next, key) >= 0)
                break;
            x = next;
            link = skiplist_link_of(x, level);
        }
        known_not_before = next;
        if (prev != NULL)
            prev[level] = x;
        if (level == 0)
            return next;
        level--;
    }
}

/* The last node whose key is < key, or the head if none. */
static const uint8_t *skiplist_find_lt(const skiplist *sl, const uint8_t *key)
{
    const uint8_t *x = sl->head;
    int level = skiplist_height(sl) - 1;
    for (;;) {
        const uint8_t *next = skiplist_next(x, level);
        if (next != NULL && sl->cmp(next, key) < 0) {
            x = next;
            continue;
        }
        if (level == 0)
            return x;
        level--;
    }
}

/* The last node, or the head if the list is empty. */
static const uint8_t *skiplist_find_last(const skiplist *sl)
{
    const uint8_t *x = sl->head;
    int level = skiplist_height(sl) - 1;
    for (;;) {
        const uint8_t *next = skiplist_next(x, level);
        if (next != NULL) {
            x = next;
            continue;
        }
        if (level == 0)
            return x;
        level--;
    }
}

void skiplist_insert(skiplist *sl, uint8_t *key, int height)
{
    uint8_t *prev[SKIPLIST_MAX_HEIGHT];
    skiplist_find_ge(sl, key, prev);
    int current = skiplist_height(sl);
    if (height > current) {
        for (int i = current; i < height; i++)
            prev[i] = sl->head;
        /* S5: readers may see the new height before the links below. */
        atomic_store_explicit(&sl->height, height, memory_order_relaxed);
    }
    for (int i = 0; i < height; i++) {
        /* S2: the node's own link first.  Relaxed is enough: no reader can
         * reach the node before the release store just below. */
        uint8_t *succ = atomic_load_explicit(skiplist_link_of(prev[i], i), memory_order_relaxed);
        atomic_store_explicit(skiplist_link_of(key, i), succ, memory_order_relaxed);
        /* S3, S4: publish on level i, from level 0 up. */
        atomic_store_explicit(skiplist_link_of(prev[i], i), key, memory_order_release);
    }
}

int skiplist_contains(const skiplist *sl, const uint8_t *key)
{
    const uint8_t *x = skiplist_find_ge(sl, key, NULL);
    return x != NULL && sl->cmp(x, key) == 0;
}

void skiplist_iter_init(skiplist_iter *it, const skiplist *sl)
{
    it->sl = sl;
    it->node = NULL;
}

void skiplist_iter_next(skiplist_iter *it)
{
    it->node = skiplist_next(it->node, 0);
}

void skiplist_iter_prev(skiplist_iter *it)
{
    const uint8_t *x = skiplist_find_lt(it->sl, it->node);
    it->node = x == it->sl->head ? NULL : x;
}

void skiplist_iter_seek(skiplist_iter *it, const uint8_t *target)
{
    it->node = skiplist_find_ge(it->sl, target, NULL);
}

void skiplist_iter_seek_first(skiplist_iter *it)
{
    it->node = skiplist_next(it->sl->head, 0);
}

void skiplist_iter_seek_last(skiplist_iter *it)
{
    const uint8_t *x = skiplist_find_last(it->sl);
    it->node = x == it->sl->head ? NULL : x;
}
