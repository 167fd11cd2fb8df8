/*
 * ex_lru.c: the helpers of ex_lru.h.
 */
#include "ex_lru.h"

#include <string.h>
#include <unistd.h>

#include "exercise.h"

int ex_lru_freed[64];

static void on_free(void *payload, size_t bytes)
{
    int i;
    (void)bytes;
    memcpy(&i, payload, sizeof i);
    if (i >= 0 && i < 64)
        ex_lru_freed[i]++;
}

lru_cache *ex_lru_new(size_t capacity)
{
    memset(ex_lru_freed, 0, sizeof ex_lru_freed);
    /* Every LRU test is done in well under a second of CPU: one that
     * loops without end (a damaged table or list) is ended after 10 s of
     * it, so that it fails alone and an earlier test's rule is the one
     * reported, not the suite's time limit. */
    ex_bound_work(5);
    lru_cache *c = NULL;
    EX_CHECK(lru_cache_new(capacity, 1, on_free, &c) == KV_OK, "lru_cache_new");
    return c;
}

lru_entry *ex_lru_insert(lru_cache *c, int i, int release)
{
    lru_entry *e = lru_cache_entry_new(c, sizeof i);
    EX_CHECK(e != NULL, "lru_cache_entry_new");
    memcpy(lru_entry_payload(e), &i, sizeof i);
    lru_cache_insert(c, e, (uint64_t)i, 0, 1);
    if (release) {
        lru_cache_release(c, e);
        return NULL;
    }
    return e;
}

int ex_lru_has(lru_cache *c, int i)
{
    lru_entry *e = lru_cache_lookup(c, (uint64_t)i, 0);
    if (e == NULL)
        return 0;
    int got;
    memcpy(&got, lru_entry_payload(e), sizeof got);
    EX_CHECK(got == i, "a lookup of key %d returns the entry inserted under it (got %d)", i, got);
    lru_cache_release(c, e);
    return 1;
}
