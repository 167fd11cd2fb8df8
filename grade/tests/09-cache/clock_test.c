/*
 * clock_test.c: exercise clock, clock_victim
 * (stages/09-cache/record_cache/clock_cache.c): which entry CLOCK evicts
 * to make room.  Through clock_cache.h: one shard with room for a few
 * pairs of the same size, so that each put past the budget evicts exactly
 * one entry, and the tests ask which one went.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
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
    int rc = clock_cache_new(n * clock_cache_charge(2, 8), 1, &c);
    EX_CHECK(rc == KV_OK, "clock_cache_new of one shard: %s", kv_strerror(rc));
    return c;
}

/* clock_cache_put(k); with `victim_found`, a put into a full shard must
 * have evicted (rule 3), else the test's own check says what went wrong. */
static void clock_put_key_as(clock_cache *c, const char *k, int victim_found)
{
    harness_context("clock_cache_put(%s, 8-byte value): past the budget, clock_victim evicts: the "
                    "hand goes on from where it stopped, passes empty slots, clears a set bit (a "
                    "second chance), takes the first clear one; two turns at most", k);
    clock_cache_stats before, after;
    clock_cache_stats_get(c, &before);
    int rc = clock_cache_put(c, k, strlen(k), CLOCK_VALUE, 8);
    EX_CHECK(rc == KV_OK, "clock_cache_put(%s) returned %s: a put that has to make room evicts an "
             "entry and keeps the pair", k, kv_strerror(rc));
    /* A full shard whose put evicted nothing: clock_victim said NULL,
     * though the ring held entries (clock_cache_put then drops the pair). */
    clock_cache_stats_get(c, &after);
    EX_CHECK(!victim_found || before.entries == 0 || after.evictions > before.evictions ||
                 after.entries == before.entries + 1,
             EX_RULES("2 and 3", "a victim, the first entry whose bit is clear, found whenever "
                      "the ring holds an entry") "clock_cache_put(%s) into a "
             "full shard of %llu entries evicted none and did not keep the pair: clock_victim "
             "returned NULL, though the ring held entries; it must find a victim whenever "
             "there is one, within two turns (got %llu entries after)", k,
             (unsigned long long)before.entries, (unsigned long long)after.entries);
}

static void clock_put_key(clock_cache *c, const char *k)
{
    clock_put_key_as(c, k, 1);
}

/* Whether k is held; a hit sets its referenced bit. */
static int clock_has(clock_cache *c, const char *k)
{
    void *v = NULL;
    size_t n = 0;
    harness_context("clock_cache_get(%s): a hit sets its referenced bit, so the hand passes it "
                    "over once", k);
    int rc = clock_cache_get(c, k, strlen(k), &v, &n);
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

static void clock_the_first_slot_looked_at_is_the_hand(void)
{
    EX_RULE_BEGIN(1, "the first slot looked at is s->hand, not the one after it");
    static const char *const keys[] = {"k0", "k1", "k2", "k3"};
    clock_cache *c = clock_of(3);
    /* A new shard's hand is at slot 0, and nothing is read: the first
     * eviction looks at slot 0 first, k0's. */
    clock_put_key(c, "k0");
    clock_put_key(c, "k1");
    clock_put_key(c, "k2");
    clock_put_key(c, "k3");
    const char *held = clock_held(c, keys, 4);
    EX_CHECK(strcmp(held, "k1 k2 k3") == 0, "a new shard's hand is at slot 0 (s->hand), and "
             "the first slot clock_victim looks at is s->hand itself, the one after the last "
             "victim, not the slot after it: with nothing read, the first put past the budget "
             "evicts k0, in slot 0; a hand moved on before it looks skips slot 0 and evicts k1 "
             "(held: \"%s\", want \"k1 k2 k3\")", held);
    clock_cache_free(c);
}

static void clock_unread_entries_leave_in_the_order_they_came(void)
{
    EX_RULE_BEGIN(2, "the first entry whose bit is clear is the victim");
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
    clock_cache_stats k;
    clock_cache_stats_get(c, &k);
    EX_CHECK(k.evictions == 2 && k.entries == 3 && k.bytes == 3 * clock_cache_charge(2, 8),
             "two evictions, three entries of one charge each (got %llu evictions, %llu "
             "entries, %llu bytes)", (unsigned long long)k.evictions,
             (unsigned long long)k.entries, (unsigned long long)k.bytes);
    clock_cache_free(c);
}

static void clock_a_read_entry_gets_a_second_chance(void)
{
    EX_RULE_BEGIN(2, "a set bit is cleared and its entry passed over");
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
    clock_cache_free(c);
}

static void clock_the_hand_goes_on_from_where_it_stopped(void)
{
    EX_RULE_BEGIN(1, "the hand goes on from where it stopped");
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
    clock_cache_free(c);
}

static void clock_the_hand_wraps_to_the_first_slot(void)
{
    EX_RULE_BEGIN(1, "at s->ring_len the hand wraps to slot 0");
    static const char *const keys[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6"};
    clock_cache *c = clock_of(3);
    /* Nothing read: k3, k4 and k5 evict k0, k1 and k2, and the hand stops
     * past the ring's last slot; k6 must wrap to slot 0 (k3's). */
    clock_put_key(c, "k0");
    clock_put_key(c, "k1");
    clock_put_key(c, "k2");
    clock_put_key(c, "k3");
    clock_put_key(c, "k4");
    clock_put_key(c, "k5");
    clock_put_key_as(c, "k6", 0);
    const char *held = clock_held(c, keys, 7);
    EX_CHECK(strcmp(held, "k4 k5 k6") == 0, "the hand stopped past the ring's last slot: at "
             "s->ring_len it wraps to slot 0 and goes on from there, so k6 evicts k3, the "
             "entry in slot 0, nothing having been read (held: \"%s\", want \"k4 k5 k6\")",
             held);
    clock_cache_free(c);
}

static void clock_every_bit_set_takes_a_whole_turn(void)
{
    EX_RULE_BEGIN(3, "two turns at most: the first may clear every bit");
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
    clock_cache_free(c);
}

static void clock_the_hand_goes_round_every_slot_of_the_ring(void)
{
    EX_RULE_BEGIN(1, "the hand wraps at the ring's slots, s->ring_len");
    static const char *const keys[] = {"k0", "k1", "k2", "kb"};
    clock_cache *c = clock_of(3);
    clock_put_key(c, "k0");
    clock_put_key(c, "k1");
    clock_put_key(c, "k2");
    /* Two holes: slots 0 and 1 are empty, k2 alone in slot 2 of the ring. */
    clock_cache_erase(c, "k0", 2);
    clock_cache_erase(c, "k1", 2);
    /* A pair of nearly three charges: k2 must go to make room. */
    char val[1024];
    size_t vlen = 2 * clock_cache_charge(2, 8) + 60 - clock_cache_charge(2, 0);
    EX_CHECK(vlen <= sizeof val, "test setup: the value fits its buffer");
    memset(val, 'b', vlen);
    harness_context("clock_cache_put(kb, %zu bytes) into a ring of 3 slots, slots 0 and 1 empty "
                    "(k0, k1 erased), k2 in slot 2: the hand goes round every slot (s->ring_len), "
                    "passing empty ones, and evicts k2", vlen);
    int rc = clock_cache_put(c, "kb", 2, val, vlen);
    EX_CHECK(rc == KV_OK, "clock_cache_put(kb) returned %s: a put that has to make room evicts an "
             "entry and keeps the pair", kv_strerror(rc));
    const char *held = clock_held(c, keys, 4);
    EX_CHECK(strcmp(held, "kb") == 0, EX_RULES("1 and 2", "every slot of the ring, the empty "
             "ones passed over") "the ring has three slots, two of them empty (k0 and k1 "
             "erased) and k2 in the last: the hand goes round every slot of the ring "
             "(s->ring_len), passing the empty ones, and evicts k2 to keep the new pair; a "
             "hand that wraps at the number of entries (1) never reaches slot 2, finds no "
             "victim, and the new pair is refused (held: \"%s\", want \"kb\")", held);
    clock_cache_free(c);
}

static void clock_a_read_entry_alone_behind_empty_slots_goes_on_the_second_turn(void)
{
    EX_RULE_BEGIN(3, "empty slots passed, a victim found on the second turn");
    static const char *const keys[] = {"k0", "k1", "k2", "kb"};
    clock_cache *c = clock_of(3);
    clock_put_key(c, "k0");
    clock_put_key(c, "k1");
    clock_put_key(c, "k2");
    clock_cache_erase(c, "k0", 2);
    clock_cache_erase(c, "k1", 2);
    EX_CHECK(clock_has(c, "k2"), "k2 is held before the big pair comes");
    /* k2, read, alone in the last of three slots; the hand at slot 0. */
    char val[1024];
    size_t vlen = 2 * clock_cache_charge(2, 8) + 60 - clock_cache_charge(2, 0);
    EX_CHECK(vlen <= sizeof val, "test setup: the value fits its buffer");
    memset(val, 'b', vlen);
    harness_context("clock_cache_put(kb, %zu bytes), k2 read and alone in slot 2 of 3 behind two "
                    "empty slots: the first turn clears its bit, the second reaches it again and "
                    "evicts it (2 * s->ring_len slots)", vlen);
    int rc = clock_cache_put(c, "kb", 2, val, vlen);
    EX_CHECK(rc == KV_OK, EX_RULES("1 and 3", "two turns of the ring's s->ring_len slots, no "
             "slot past them") "clock_cache_put(kb) returned %s: k2 was read, so the first turn (slots 0, "
             "1, 2) clears its bit, and the second turn must reach slot 2 again to evict it: "
             "two whole turns of the ring, 2 * s->ring_len slots looked at, not one fewer",
             kv_strerror(rc));
    const char *held = clock_held(c, keys, 4);
    EX_CHECK(strcmp(held, "kb") == 0, EX_RULES("1 and 3", "two turns of the ring's "
             "s->ring_len slots, no slot past them") "k2, read and alone behind two empty "
             "slots, goes on the hand's second turn to keep the new pair (a hand that looks "
             "at a slot past s->ring_len before it wraps spends a look of the two turns on "
             "no slot) (held: \"%s\", want \"kb\")", held);
    clock_cache_free(c);
}

static void clock_the_budget_holds(void)
{
    EX_RULE_BEGIN(3, "a victim whenever the ring holds an entry: the budget holds");
    clock_cache *c = NULL;
    size_t budget = 20 * clock_cache_charge(6, 40);
    int rc = clock_cache_new(budget, 1, &c);
    EX_CHECK(rc == KV_OK, "clock_cache_new: %s", kv_strerror(rc));
    char key[16], val[64];
    memset(val, 'x', sizeof val);
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "k%05d", i % 97);
        harness_context("put %d of 500: clock_cache_put(%s, %d-byte value) into a shard of budget "
                        "%zu: a put evicts until the new pair fits, and keeps it", i, key, i % 60,
                        budget);
        rc = clock_cache_put(c, key, strlen(key), val, (size_t)(i % 60));
        EX_CHECK(rc == KV_OK, "clock_cache_put of a pair that fits: %s", kv_strerror(rc));
        if (i % 3 == 0)
            (void)clock_has(c, "k00001");
        clock_cache_stats k;
        clock_cache_stats_get(c, &k);
        EX_CHECK(k.bytes <= budget, "after put %d the shard is charged %llu bytes, more than "
                 "its budget of %zu: a put evicts until the new pair fits", i,
                 (unsigned long long)k.bytes, budget);
        EX_CHECK(k.entries >= 1, "after put %d the shard holds nothing: the pair just put "
                 "fits, and a put keeps it once it has made room", i);
    }
    clock_cache_free(c);
}

/* ---- four threads, every one evicting -------------------------------------- */
/* The cache is shared by every thread that reads the engine: four threads
 * put, erase and get over four shards too small for the keys, so that puts
 * evict all the time, in every shard at once.  Every hit must be the value
 * put under its key; under ThreadSanitizer (the race rung) anything the
 * hand touches outside its shard's lock is a data race.  The threads start
 * together at a barrier: on a busy machine, threads started one after the
 * other could each finish before the next began, and a race that never
 * overlaps in time is one ThreadSanitizer may not see. */
enum { CLOCK_RACE_OPS = 20000, CLOCK_RACE_KEYS = 300 };
static struct {
    clock_cache *c;
    atomic_int wrong; /* 1 + a key whose hit was another's value */
    atomic_int failed; /* a put that returned an error */
    pthread_barrier_t start;
} clock_race;

static void clock_race_pair(int k, char *key, char *val)
{
    snprintf(key, 16, "rk%04d", k);
    snprintf(val, 32, "value-of-rk%04d-----", k); /* 20 bytes */
}

static void *clock_race_thread(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t r = id * 7919u + 1;
    char key[16], val[32], want[32];
    pthread_barrier_wait(&clock_race.start);
    for (int i = 0; i < CLOCK_RACE_OPS; i++) {
        r = r * 6364136223846793005u + 1442695040888963407u;
        int k = (int)((r >> 33) % CLOCK_RACE_KEYS);
        clock_race_pair(k, key, want);
        if (i % 3 == 0) {
            memcpy(val, want, sizeof val);
            if (clock_cache_put(clock_race.c, key, strlen(key), val, 20) != KV_OK)
                atomic_store(&clock_race.failed, 1);
        } else if (id < 2 && i % 17 == 0) {
            clock_cache_erase(clock_race.c, key, strlen(key));
        } else {
            void *v = NULL;
            size_t n = 0;
            if (clock_cache_get(clock_race.c, key, strlen(key), &v, &n) == KV_OK &&
                (n != 20 || memcmp(v, want, 20) != 0))
                atomic_store(&clock_race.wrong, 1 + k);
            kv_free(v);
        }
    }
    return NULL;
}

static void clock_race_readers_and_writers(void)
{
    EX_RULE_BEGIN(4, "no state shared between shards");
    int rc = clock_cache_new(4 * 40 * clock_cache_charge(6, 20), 4, &clock_race.c);
    EX_CHECK(rc == KV_OK, "clock_cache_new of four shards: %s", kv_strerror(rc));
    harness_context("4 threads (put and get, 2 of them erase too) on 4 shards too small for 300 keys: "
                    "a shard's ring, hand and entries change only under its lock; every hit is "
                    "its key's value");
    atomic_store(&clock_race.wrong, 0);
    atomic_store(&clock_race.failed, 0);
    EX_CHECK(pthread_barrier_init(&clock_race.start, NULL, 4) == 0,
             "test setup: pthread_barrier_init");
    pthread_t t[4];
    for (unsigned i = 0; i < 4; i++)
        EX_CHECK(pthread_create(&t[i], NULL, clock_race_thread, (void *)(uintptr_t)i) == 0,
                 "test setup: pthread_create");
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&clock_race.start);
    int wrong = atomic_load(&clock_race.wrong);
    EX_CHECK(wrong == 0, "with four threads putting and getting, a get of rk%04d "
             "found another key's value: a shard's ring, hand and entries are changed only "
             "under its lock (clock_cache.h: every call takes only its shard's mutex)",
             wrong - 1);
    EX_CHECK(atomic_load(&clock_race.failed) == 0, "a put failed while other threads read and "
             "wrote: a put that has to make room evicts and keeps the pair");
    clock_cache_stats k;
    clock_cache_stats_get(clock_race.c, &k);
    EX_CHECK(k.bytes <= 4 * 40 * clock_cache_charge(6, 20) && k.evictions > 0,
             "after the threads, the shards hold at most their budget (%llu bytes held) and "
             "evicted to stay there (%llu evictions)", (unsigned long long)k.bytes,
             (unsigned long long)k.evictions);
    clock_cache_free(clock_race.c);
}

static const harness_test tests[] = {
    HARNESS_TEST(clock_the_first_slot_looked_at_is_the_hand),
    HARNESS_TEST(clock_unread_entries_leave_in_the_order_they_came),
    HARNESS_TEST(clock_a_read_entry_gets_a_second_chance),
    HARNESS_TEST(clock_the_hand_goes_on_from_where_it_stopped),
    HARNESS_TEST(clock_the_hand_wraps_to_the_first_slot),
    HARNESS_TEST(clock_every_bit_set_takes_a_whole_turn),
    HARNESS_TEST(clock_the_hand_goes_round_every_slot_of_the_ring),
    HARNESS_TEST(clock_a_read_entry_alone_behind_empty_slots_goes_on_the_second_turn),
    HARNESS_TEST(clock_the_budget_holds),
    HARNESS_TEST(clock_race_readers_and_writers),
};
const harness_suite clock_suite = HARNESS_SUITE("clock", tests);
