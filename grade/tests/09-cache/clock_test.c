/*
 * clock_test.c: exercise clock, clock_victim
 * (stages/09-cache/record_cache/clock_cache.c): which entry CLOCK evicts
 * to make room.  Through clock_cache.h: one shard with room for a few
 * pairs of the same size, so that each put past the budget evicts exactly
 * one entry, and the tests ask which one went.
 */
#include <stdio.h>
#include <string.h>

#include "clock_cache.h"
#include "exercise.h"
#include "kv.h"

#define CLOCK_VALUE "vvvvvvvv"

/* One shard with room for n pairs of a 2-byte key and an 8-byte value. */
static clock_cache *clock_of(size_t n)
{
    clock_cache *c = NULL;
    int rc = clock_open(n * clock_charge(2, 8), 1, &c);
    EX_CHECK(rc == KV_OK, "clock_open of one shard: %s", kv_strerror(rc));
    return c;
}

static void clock_put_key(clock_cache *c, const char *k)
{
    int rc = clock_put(c, k, strlen(k), CLOCK_VALUE, 8);
    EX_CHECK(rc == KV_OK, "clock_put(%s) returned %s: a put that has to make room evicts an "
             "entry and keeps the pair", k, kv_strerror(rc));
}

/* Whether k is held; a hit sets its referenced bit. */
static int clock_has(clock_cache *c, const char *k)
{
    void *v = NULL;
    size_t n = 0;
    int rc = clock_get(c, k, strlen(k), &v, &n);
    kv_free(v);
    return rc == KV_OK;
}

/* Which of the keys are held, as "k0 k2 ..." (a get of each sets its bit:
 * call it after the evictions a test asks about). */
static const char *clock_held(clock_cache *c, const char *const *keys, int n)
{
    static char out[128];
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        if (clock_has(c, keys[i]))
            used += (size_t)snprintf(out + used, sizeof out - used, "%s%s", used ? " " : "",
                                     keys[i]);
    return out;
}

static void clock_unread_entries_leave_in_the_order_they_came(void)
{
    static const char *const keys[] = {"k0", "k1", "k2", "k3", "k4"};
    clock_cache *c = clock_of(3);
    clock_put_key(c, "k0");
    clock_put_key(c, "k1");
    clock_put_key(c, "k2");
    clock_put_key(c, "k3");
    clock_put_key(c, "k4");
    const char *held = clock_held(c, keys, 5);
    EX_CHECK(strcmp(held, "k2 k3 k4") == 0, "room for three, five puts, nothing read: the hand "
             "meets the oldest entries first and none has its bit set, so k0 and then k1 go "
             "(held: \"%s\", want \"k2 k3 k4\")", held);
    clock_counts k;
    clock_counts_get(c, &k);
    EX_CHECK(k.evictions == 2 && k.entries == 3 && k.bytes == 3 * clock_charge(2, 8),
             "two evictions, three entries of one charge each (got %llu evictions, %llu "
             "entries, %llu bytes)", (unsigned long long)k.evictions,
             (unsigned long long)k.entries, (unsigned long long)k.bytes);
    clock_close(c);
}

static void clock_a_read_entry_gets_a_second_chance(void)
{
    static const char *const keys[] = {"k0", "k1", "k2", "k3", "k4"};
    clock_cache *c = clock_of(4);
    clock_put_key(c, "k0");
    clock_put_key(c, "k1");
    clock_put_key(c, "k2");
    clock_put_key(c, "k3");
    EX_CHECK(clock_has(c, "k0"), "k0 is held before the cache is full");
    clock_put_key(c, "k4");
    const char *held = clock_held(c, keys, 5);
    EX_CHECK(strcmp(held, "k0 k2 k3 k4") == 0, "k0 was read since it came in: the hand clears "
             "its bit and passes it over (its second chance), and evicts k1, the first entry "
             "with its bit clear (held: \"%s\", want \"k0 k2 k3 k4\")", held);
    clock_close(c);
}

static void clock_the_hand_goes_on_from_where_it_stopped(void)
{
    static const char *const keys[] = {"k0", "k1", "k2", "k3", "k4"};
    clock_cache *c = clock_of(3);
    clock_put_key(c, "k0");
    clock_put_key(c, "k1");
    clock_put_key(c, "k2");
    EX_CHECK(clock_has(c, "k0"), "k0 is held before the cache is full");
    clock_put_key(c, "k3"); /* clears k0's bit, evicts k1; the hand stops past k1 */
    clock_put_key(c, "k4"); /* goes on from there: k2 is next, its bit clear */
    const char *held = clock_held(c, keys, 5);
    EX_CHECK(strcmp(held, "k0 k3 k4") == 0, "after evicting k1 the hand goes on from where it "
             "stopped: the next put evicts k2, the entry after k1, not k0 (whose bit was "
             "cleared on the last turn, but which the hand does not meet again before k2) "
             "(held: \"%s\", want \"k0 k3 k4\")", held);
    clock_close(c);
}

static void clock_every_bit_set_takes_a_whole_turn(void)
{
    static const char *const keys[] = {"k0", "k1", "k2", "k3", "k4"};
    clock_cache *c = clock_of(3);
    clock_put_key(c, "k0");
    clock_put_key(c, "k1");
    clock_put_key(c, "k2");
    EX_CHECK(clock_has(c, "k0") && clock_has(c, "k1") && clock_has(c, "k2"),
             "the three entries are held before the cache is full");
    clock_put_key(c, "k3");
    const char *held = clock_held(c, keys, 5);
    EX_CHECK(strcmp(held, "k1 k2 k3") == 0, "every entry read: the hand clears every bit on a "
             "first turn and evicts the first entry it meets on the second, k0; a hand that "
             "never clears a bit finds no victim and keeps nothing new (held: \"%s\", want "
             "\"k1 k2 k3\")", held);
    clock_close(c);
}

static void clock_the_budget_holds(void)
{
    clock_cache *c = NULL;
    size_t budget = 20 * clock_charge(6, 40);
    int rc = clock_open(budget, 1, &c);
    EX_CHECK(rc == KV_OK, "clock_open: %s", kv_strerror(rc));
    char key[16], val[64];
    memset(val, 'x', sizeof val);
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "k%05d", i % 97);
        rc = clock_put(c, key, strlen(key), val, (size_t)(i % 60));
        EX_CHECK(rc == KV_OK, "clock_put of a pair that fits: %s", kv_strerror(rc));
        if (i % 3 == 0)
            (void)clock_has(c, "k00001");
        clock_counts k;
        clock_counts_get(c, &k);
        EX_CHECK(k.bytes <= budget, "after put %d the shard is charged %llu bytes, more than "
                 "its budget of %zu: a put evicts until the new pair fits", i,
                 (unsigned long long)k.bytes, budget);
        EX_CHECK(k.entries >= 1, "after put %d the shard holds nothing: the pair just put "
                 "fits, and a put keeps it once it has made room", i);
    }
    clock_close(c);
}

static const harness_test tests[] = {
    HARNESS_TEST(clock_unread_entries_leave_in_the_order_they_came),
    HARNESS_TEST(clock_a_read_entry_gets_a_second_chance),
    HARNESS_TEST(clock_the_hand_goes_on_from_where_it_stopped),
    HARNESS_TEST(clock_every_bit_set_takes_a_whole_turn),
    HARNESS_TEST(clock_the_budget_holds),
};
const harness_suite clock_suite = HARNESS_SUITE("clock", tests);
