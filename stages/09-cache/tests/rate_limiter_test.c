/*
 * rate_limiter_test.c: the token bucket (rate_limiter.c) on a clock the
 * test moves: unlimited waits nothing; a request takes as long as its bytes
 * at the rate (to a period); time spent between requests is saved up to a
 * burst of 100 ms' worth, no more; a new rate applies to the next request; the
 * waited time is counted.  The promise kept at both ends: a rate below a
 * byte a period (1 B/s, 100 B/s) grants no more than it says, and the
 * highest rates (18446744073710 B/s, SIZE_MAX) throttle nothing.  And with
 * two threads on a clock the test moves and wakes one sleeper at a time:
 * a flush's request that comes while a compaction's is throttled is
 * served first, and the compaction takes nothing while it waits.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../../tests/harness.h"
#include "kv.h"
#include "rate_limiter.h"

static uint64_t fake_now;
static uint64_t fake_clock(void *arg) { (void)arg; return fake_now; }
static void fake_sleep(void *arg, uint64_t ns) { (void)arg; fake_now += ns; }

static void unlimited_waits_nothing(void)
{
    rate_limiter rl;
    fake_now = 5;
    CHECK_KV(rate_limiter_init(&rl, 0, 1000000, fake_clock, fake_sleep, NULL), KV_OK);
    rate_limiter_request(&rl, 1 << 30, RL_LOW);
    CHECK(fake_now == 5 && rl.waited_ns[RL_LOW] == 0 && rl.granted[RL_LOW] == 1u << 30);
    rate_limiter_destroy(&rl);
}

/* 1 MB/s in 1 ms periods: 1,000 bytes a period; 100,000 bytes take 100 ms. */
static void a_request_takes_its_bytes_at_the_rate(void)
{
    rate_limiter rl;
    fake_now = 0;
    CHECK_KV(rate_limiter_init(&rl, 1000000, 1000000, fake_clock, fake_sleep, NULL), KV_OK);
    rate_limiter_request(&rl, 100000, RL_HIGH);
    CHECK(fake_now == 100000000u);
    CHECK(rl.waited_ns[RL_HIGH] == 100000000u && rl.granted[RL_HIGH] == 100000);
    /* Twice the rate: the next 100,000 bytes take 50 ms. */
    rate_limiter_set_rate(&rl, 2000000);
    rate_limiter_request(&rl, 100000, RL_LOW);
    CHECK(fake_now == 150000000u);
    CHECK(rl.waited_ns[RL_LOW] == 50000000u);
    /* Idle for a second: at most the burst, 100 ms' worth (200,000 bytes),
     * is saved up; then the bytes come at the rate again. */
    fake_now += 1000000000u;
    rate_limiter_request(&rl, 200000, RL_LOW);
    CHECK(fake_now == 1150000000u);
    rate_limiter_request(&rl, 2000, RL_LOW);
    CHECK(fake_now == 1151000000u);
    /* 5 ms spent elsewhere between two requests: their 10,000 bytes are
     * there, not only the last millisecond's 2,000. */
    fake_now += 5000000u;
    rate_limiter_request(&rl, 10000, RL_LOW);
    CHECK(fake_now == 1156000000u);
    rate_limiter_request(&rl, 2000, RL_LOW);
    CHECK(fake_now == 1157000000u);
    rate_limiter_destroy(&rl);
}

/* At rate r, `seconds` of a writer asking for `ask` bytes at a time, on
 * the fake clock: the bytes granted by then. */
static uint64_t granted_over(uint64_t rate, uint64_t ask, uint64_t seconds)
{
    rate_limiter rl;
    fake_now = 0;
    CHECK_KV(rate_limiter_init(&rl, rate, 1000000, fake_clock, fake_sleep, NULL), KV_OK);
    uint64_t granted = 0;
    while (fake_now < seconds * 1000000000u) {
        rate_limiter_request(&rl, ask, RL_LOW);
        if (fake_now <= seconds * 1000000000u)
            granted += ask;
    }
    CHECK(rl.granted[RL_LOW] >= granted);
    rate_limiter_destroy(&rl);
    return granted;
}

/* Under a byte a period (1 ms): the fraction of a byte each period brings
 * is kept, not rounded up to a byte, so over 3 s the bytes granted stay
 * within rate * (t + burst) + the largest request (rate_limiter.h). */
static void a_rate_below_a_byte_a_period_is_kept(void)
{
    uint64_t g = granted_over(100, 10, 3);
    CHECK_MSG(g <= 100 * 3 + 10 + 10 && g >= 100 * 3 - 10,
              "rate 100 B/s, 10 bytes at a time, 3 s: %llu bytes granted", (unsigned long long)g);
    g = granted_over(1, 1, 3);
    CHECK_MSG(g <= 3 + 1 && g >= 2, "rate 1 B/s, a byte at a time, 3 s: %llu bytes granted",
              (unsigned long long)g);
    /* And exactly: at 1 B/s a period brings a thousandth of a byte, so the
     * first byte comes a thousand periods after the bucket was made, the
     * next two two seconds later. */
    rate_limiter rl;
    fake_now = 7;
    CHECK_KV(rate_limiter_init(&rl, 1, 1000000, fake_clock, fake_sleep, NULL), KV_OK);
    rate_limiter_request(&rl, 1, RL_HIGH);
    CHECK_EQ(fake_now, 7 + 1000000000u);
    rate_limiter_request(&rl, 2, RL_HIGH);
    CHECK_EQ(fake_now, 7 + 3000000000u);
    rate_limiter_destroy(&rl);
}

/* No rate overflows: at 18446744073710 B/s (whose rate * 1e6 passes
 * UINT64_MAX) and at SIZE_MAX, a writer that asks for 256 KiB every 10 us
 * (26 GB/s) never waits once its first period has gone. */
static void the_highest_rates_are_not_throttled(void)
{
    const uint64_t rates[] = {18446744073710u, 18446744073709551u, (uint64_t)SIZE_MAX};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        rate_limiter rl;
        fake_now = 0;
        CHECK_KV(rate_limiter_init(&rl, rates[i], 1000000, fake_clock, fake_sleep, NULL), KV_OK);
        fake_now += 1000000; /* the first buffer took a period to fill */
        uint64_t asked = 0;
        for (int n = 0; n < 100000; n++) {
            uint64_t before = fake_now;
            rate_limiter_request(&rl, 256 * 1024, n % 2 ? RL_LOW : RL_HIGH);
            CHECK_MSG(fake_now == before, "rate %llu B/s: request %d of 256 KiB waited %llu ns",
                      (unsigned long long)rates[i], n, (unsigned long long)(fake_now - before));
            asked += 256 * 1024;
            fake_now += 10000;
        }
        rate_limiter_counts k;
        rate_limiter_get_counts(&rl, &k);
        CHECK(k.granted == asked && k.waited_ns == 0 && k.rate == rates[i]);
        rate_limiter_destroy(&rl);
    }
}

/* Two requesting threads on a clock the test moves: a sleeper returns only
 * when the test wakes it, one at a time, in the order the test chooses, so
 * what each request takes after each period is known (not left to the
 * scheduler).  One thread per priority. */
typedef struct step_clock {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t now;
    int asleep[2], go[2], done[2];
    rate_limiter rl;
} step_clock;

static _Thread_local int step_prio;

static uint64_t step_now(void *arg)
{
    step_clock *c = arg;
    pthread_mutex_lock(&c->mu);
    uint64_t now = c->now;
    pthread_mutex_unlock(&c->mu);
    return now;
}

static void step_sleep(void *arg, uint64_t ns)
{
    (void)ns; /* the test moves the clock */
    step_clock *c = arg;
    pthread_mutex_lock(&c->mu);
    c->asleep[step_prio] = 1;
    pthread_cond_broadcast(&c->cv);
    while (!c->go[step_prio])
        pthread_cond_wait(&c->cv, &c->mu);
    c->go[step_prio] = 0;
    c->asleep[step_prio] = 0;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

typedef struct step_run {
    step_clock *c;
    uint64_t bytes;
    int prio;
    pthread_t th;
} step_run;

static void *step_request(void *arg)
{
    step_run *r = arg;
    step_prio = r->prio;
    rate_limiter_request(&r->c->rl, r->bytes, r->prio);
    pthread_mutex_lock(&r->c->mu);
    r->c->done[r->prio] = 1;
    pthread_cond_broadcast(&r->c->cv);
    pthread_mutex_unlock(&r->c->mu);
    return NULL;
}

/* Waits until prio's thread sleeps (again) or has finished. */
static void step_settle(step_clock *c, int prio)
{
    pthread_mutex_lock(&c->mu);
    while (c->go[prio] || !(c->asleep[prio] || c->done[prio]))
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

static void step_start(step_run *r, step_clock *c, uint64_t bytes, int prio)
{
    *r = (step_run){c, bytes, prio, 0};
    CHECK(pthread_create(&r->th, NULL, step_request, r) == 0);
    step_settle(c, prio);
}

/* Wakes prio's sleeping thread and waits until it sleeps again or ends. */
static void step_wake(step_clock *c, int prio)
{
    pthread_mutex_lock(&c->mu);
    int asleep = c->asleep[prio];
    if (asleep) {
        c->go[prio] = 1;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    if (asleep)
        step_settle(c, prio);
}

static void step_tick(step_clock *c)
{
    pthread_mutex_lock(&c->mu);
    c->now += 1000000; /* a period */
    pthread_mutex_unlock(&c->mu);
}

static int step_done(step_clock *c, int prio)
{
    pthread_mutex_lock(&c->mu);
    int done = c->done[prio];
    pthread_mutex_unlock(&c->mu);
    return done;
}

static uint64_t step_granted(step_clock *c, int prio)
{
    pthread_mutex_lock(&c->rl.mu);
    uint64_t g = c->rl.granted[prio];
    pthread_mutex_unlock(&c->rl.mu);
    return g;
}

/* 1 MB/s in 1 ms periods: 1,000 bytes a period.  A compaction asks for
 * 5,000 bytes and is throttled (it has 1,000 of them); a flush then asks
 * for 2,000.  After each period the compaction is woken first: it must
 * take nothing while the flush waits, and the flush has its 2,000 bytes
 * after two periods, before the compaction has any more; then the
 * compaction gets the rest. */
static void a_flush_waiting_behind_a_throttled_compaction_goes_first(void)
{
    step_clock *c = calloc(1, sizeof *c);
    CHECK(c != NULL);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    CHECK_KV(rate_limiter_init(&c->rl, 1000000, 1000000, step_now, step_sleep, c), KV_OK);
    step_run low, high;
    step_start(&low, c, 5000, RL_LOW);
    step_tick(c);
    step_wake(c, RL_LOW);
    CHECK_EQ(step_granted(c, RL_LOW), 1000);
    CHECK(!step_done(c, RL_LOW));
    step_start(&high, c, 2000, RL_HIGH);
    for (int period = 1; period <= 2; period++) {
        step_tick(c);
        step_wake(c, RL_LOW); /* first, so that it could take the period's bytes */
        CHECK_MSG(step_granted(c, RL_LOW) == 1000, "period %d: the compaction took %llu bytes "
                  "while the flush waited (it had 1000)", period,
                  (unsigned long long)step_granted(c, RL_LOW));
        step_wake(c, RL_HIGH);
        CHECK_EQ(step_granted(c, RL_HIGH), 1000 * (uint64_t)period);
    }
    CHECK(step_done(c, RL_HIGH) && !step_done(c, RL_LOW));
    int periods = 0;
    while (!step_done(c, RL_LOW) && periods < 100) {
        step_tick(c);
        step_wake(c, RL_LOW);
        periods++;
    }
    CHECK_EQ(periods, 4);
    CHECK_EQ(step_granted(c, RL_LOW), 5000);
    pthread_join(high.th, NULL);
    pthread_join(low.th, NULL);
    rate_limiter_destroy(&c->rl);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* At SIZE_MAX B/s a period brings 18446744073709551 bytes: a request of
 * UINT64_MAX bytes takes 1,000 periods (a second), and no count wraps. */
static void a_request_of_uint64_max_at_size_max(void)
{
    rate_limiter rl;
    fake_now = 0;
    CHECK_KV(rate_limiter_init(&rl, (uint64_t)SIZE_MAX, 1000000, fake_clock, fake_sleep, NULL),
             KV_OK);
    rate_limiter_request(&rl, UINT64_MAX, RL_LOW);
    CHECK(fake_now >= 1000000000u && fake_now <= 1001000000u);
    rate_limiter_counts k;
    rate_limiter_get_counts(&rl, &k);
    CHECK(k.granted == UINT64_MAX && k.waited_ns == fake_now);
    rate_limiter_destroy(&rl);
}

static const harness_test tests[] = {
    HARNESS_TEST(unlimited_waits_nothing),
    HARNESS_TEST(a_request_takes_its_bytes_at_the_rate),
    HARNESS_TEST(a_rate_below_a_byte_a_period_is_kept),
    HARNESS_TEST(the_highest_rates_are_not_throttled),
    HARNESS_TEST(a_request_of_uint64_max_at_size_max),
    HARNESS_TEST(a_flush_waiting_behind_a_throttled_compaction_goes_first),
};
const harness_suite rate_limiter_suite = HARNESS_SUITE("rate_limiter", tests);
