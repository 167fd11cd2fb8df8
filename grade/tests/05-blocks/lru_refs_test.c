/*
 * lru_refs_test.c: exercise lru_refs, lru_cache_lookup and
 * lru_unref_locked (stages/05-blocks/cache/lru_cache.c): a hit takes a
 * reference, a release drops one, and only entries no caller holds are on
 * the list eviction takes from.
 */
#include <string.h>

#include "ex_lru.h"
#include "exercise.h"
#include "kv.h"

static void lru_refs_hits_and_misses(void)
{
    lru_cache *c = ex_lru_new(10);
    ex_context(EX_RULES("3 and 5", "a released entry only the cache holds is on the "
                             "list, which a hit takes it off") "lru_cache_insert of keys 1 and 2 "
               "(released) into a cache of capacity 10, then lru_cache_lookup(1, 0): a hit "
               "takes a reference and counts a hit");
    ex_lru_insert(c, 1, 1);
    ex_lru_insert(c, 2, 1);
    lru_entry *e = lru_cache_lookup(c, 1, 0);
    EX_CHECK(e != NULL, EX_RULE(1, "the entry found") "a lookup of a cached key is a hit: the "
             "entry");
    int v;
    memcpy(&v, lru_entry_payload(e), sizeof v);
    EX_CHECK(v == 1, EX_RULE(1, "the entry found") "the hit is the entry inserted under that key");
    lru_cache_stats st;
    lru_cache_stats_get(c, &st);
    EX_CHECK(st.hits == 1 && st.misses == 0, EX_RULE(2, "a hit counted") "the lookup that found "
             "key 1 counts a hit, not a "
             "miss (got %llu hits, %llu misses)", (unsigned long long)st.hits,
             (unsigned long long)st.misses);
    harness_context("lru_cache_lookup of (3, 0), never inserted, and of (1, 1), while (1, 0) is "
                    "held: misses, NULL, each counted as a miss");
    EX_CHECK(lru_cache_lookup(c, 3, 0) == NULL, EX_RULE(1, "a miss: NULL") "a lookup of a key "
             "never inserted: NULL");
    EX_CHECK(lru_cache_lookup(c, 1, 1) == NULL, EX_RULE(1, "the entry under (k1, k2)") "keys "
             "are two numbers: (1, 1) is not (1, 0)");
    lru_cache_stats_get(c, &st);
    EX_CHECK(st.hits == 1 && st.misses == 2, EX_RULE(2, "a hit or a miss counted") "a lookup "
             "counts a hit or a miss (got %llu hits, "
             "%llu misses)", (unsigned long long)st.hits, (unsigned long long)st.misses);
    harness_context("lru_cache_release of the hit on key 1, then lru_cache_free: a release drops "
                    "the reference the lookup took");
    lru_cache_release(c, e);
    lru_cache_free(c);
}

static void lru_refs_a_held_entry_is_never_freed(void)
{
    lru_cache *c = ex_lru_new(2);
    harness_context("key 1 inserted into a cache of capacity 2 and held by a lookup, then keys "
                    "2..9 inserted: an entry a caller holds is never evicted nor freed (LRU1)");
    ex_lru_insert(c, 1, 1);
    lru_entry *held = lru_cache_lookup(c, 1, 0);
    EX_CHECK(held != NULL, "key 1 is cached");
    for (int i = 2; i < 10; i++)
        ex_lru_insert(c, i, 1);
    EX_CHECK(ex_lru_freed[1] == 0,
             EX_RULE(3, "a held entry leaves the evictable list") "LRU1: an entry a caller "
             "holds (a lookup not yet released) is never freed, whatever "
             "is inserted after it");
    EX_CHECK(ex_lru_has(c, 1), EX_RULE(3, "a held entry leaves the evictable list") "and it is "
             "not evicted: eviction takes only entries whose "
             "only reference is the cache's");
    int v;
    memcpy(&v, lru_entry_payload(held), sizeof v);
    EX_CHECK(v == 1, "its payload is intact");
    /* Eviction itself (the next exercise) at work on the entries no
     * caller holds: without it, what follows would say nothing of the
     * references. */
    EX_CHECK(ex_lru_freed[2] == 1 && ex_lru_freed[7] == 1,
             EX_RULE_OF(lru_evict, 1, "the oldest entry no caller holds evicted while usage is "
                        "over capacity") "keys 2..9 inserted into capacity 2, key 1 held: the "
             "oldest entries no caller holds are evicted and freed once each (key 2 freed %d "
             "times, key 7 %d)", ex_lru_freed[2], ex_lru_freed[7]);
    harness_context("lru_cache_release of held key 1, then keys 10..13 inserted into capacity 2: "
                    "once released it is evictable, and freed once when pushed out");
    lru_cache_release(c, held);
    for (int i = 10; i < 14; i++)
        ex_lru_insert(c, i, 1);
    EX_CHECK(ex_lru_freed[1] == 1, EX_RULE(5, "back on the list's young end") "once released, "
             "it is evictable again, and freed once when "
             "pushed out (freed %d times)", ex_lru_freed[1]);
    lru_cache_free(c);
}

static void lru_refs_freed_when_the_last_holder_lets_go(void)
{
    lru_cache *c = ex_lru_new(10);
    harness_context("key 5 held by its inserter and by a lookup, then lru_cache_erase(5): an "
                    "erased entry is not found, and is freed only when the last reference goes, "
                    "once");
    lru_entry *mine = ex_lru_insert(c, 5, 0); /* the inserter's reference */
    lru_entry *again = lru_cache_lookup(c, 5, 0);
    EX_CHECK(again == mine, EX_RULE(3, "a reference for the caller") "a hit returns the entry "
             "itself, with a reference more");
    lru_cache_erase(c, 5, 0);
    EX_CHECK(!ex_lru_has(c, 5), "an erased key is no longer found");
    EX_CHECK(ex_lru_freed[5] == 0, EX_RULE(4, "freed at zero references only") "an erased entry "
             "that two callers hold is not freed");
    lru_cache_release(c, again);
    EX_CHECK(ex_lru_freed[5] == 0, EX_RULE(4, "freed at zero references only") "nor when one of "
             "them lets go");
    lru_cache_release(c, mine);
    EX_CHECK(ex_lru_freed[5] == 1, EX_RULE(4, "freed at zero references") "it is freed when the "
             "last reference goes, once (freed %d "
             "times)", ex_lru_freed[5]);
    lru_cache_free(c);
}

static void lru_refs_only_unheld_entries_are_evictable(void)
{
    lru_cache *c = ex_lru_new(3);
    lru_entry *h[3];
    harness_context("lru_cache_insert of keys 0..2 into capacity 3, each held by its inserter, "
                    "then key 3 released: held entries stay cached even over capacity (LRU1)");
    for (int i = 0; i < 3; i++)
        h[i] = ex_lru_insert(c, i, 0); /* all three held by their inserter */
    ex_lru_insert(c, 3, 1);            /* over capacity, and nothing evictable but 3 */
    for (int i = 0; i < 3; i++)
        EX_CHECK(ex_lru_freed[i] == 0 && ex_lru_has(c, i),
                 EX_RULE(3, "a held entry leaves the evictable list") "LRU1: held entries stay "
                 "cached even when the cache is over capacity (%d)", i);
    harness_context("lru_cache_release of held keys 0..2: an entry no caller holds goes on the "
                    "list eviction takes from, and usage comes back within capacity (LRU2)");
    for (int i = 0; i < 3; i++)
        lru_cache_release(c, h[i]);
    lru_cache_stats st;
    lru_cache_stats_get(c, &st);
    EX_CHECK(st.usage <= 3, EX_RULE(5, "back on the list when released") "LRU2: after the "
             "releases, usage is back within capacity (%llu)",
             (unsigned long long)st.usage);
    lru_cache_free(c);
}

static void lru_refs_erased_while_held_stays_off_the_list(void)
{
    lru_cache *c = ex_lru_new(2);
    harness_context("key 1 held by its inserter, lru_cache_erase(1), then keys 2..7 inserted into "
                    "capacity 2: an entry erased while held never joins the eviction list, so no "
                    "eviction frees it");
    lru_entry *held = ex_lru_insert(c, 1, 0); /* cached, and held by its inserter */
    lru_cache_erase(c, 1, 0);
    EX_CHECK(!ex_lru_has(c, 1), "an erased key is no longer found");
    for (int i = 2; i < 8; i++)
        ex_lru_insert(c, i, 1); /* over capacity: evictions */
    EX_CHECK(ex_lru_freed[1] == 0,
             EX_RULE(4, "freed at zero references only") "LRU1: an entry erased (or replaced) "
             "while a caller holds it is out of the cache: "
             "when a reference to it goes, it does not join the list eviction takes from "
             "(that list holds cached entries only), so no eviction frees it under its holder "
             "(freed %d times)", ex_lru_freed[1]);
    lru_cache_stats st;
    lru_cache_stats_get(c, &st);
    EX_CHECK(st.usage <= 2, "LRU2: usage counts the cached entries, within capacity (%llu)",
             (unsigned long long)st.usage);
    harness_context("lru_cache_release of erased key 1 by its last holder: it is freed, once");
    lru_cache_release(c, held);
    EX_CHECK(ex_lru_freed[1] == 1, EX_RULE(4, "freed at zero references") "it is freed when its "
             "holder lets go, once (freed %d times)",
             ex_lru_freed[1]);
    lru_cache_free(c);
}

static const harness_test lru_refs_tests[] = {
    HARNESS_TEST(lru_refs_hits_and_misses),
    HARNESS_TEST(lru_refs_a_held_entry_is_never_freed),
    HARNESS_TEST(lru_refs_freed_when_the_last_holder_lets_go),
    HARNESS_TEST(lru_refs_only_unheld_entries_are_evictable),
    HARNESS_TEST(lru_refs_erased_while_held_stays_off_the_list),
};
const harness_suite lru_refs_suite = HARNESS_SUITE("lru_refs", lru_refs_tests);
