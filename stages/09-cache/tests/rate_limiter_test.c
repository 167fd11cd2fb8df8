/*
 * rate_limiter_test.c: the token bucket (rate_limiter.c) on a clock the
 * test moves: unlimited waits nothing; a request takes as long as its bytes
 * at the rate (to a period); time spent between requests is saved up to a
 * burst of 100 ms' worth, no more; a new rate applies to the next request; the
 * waited time is counted.  And on the real clock, with two threads: a
 * flush's request goes before a compaction's.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

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

/* Flushes before compactions: a low request that comes while a high one
 * waits gets nothing until the high one has all its bytes.  On the real
 * clock (1 MB/s: the high request's 20,000 bytes take about 20 ms); what
 * is checked is only the order in which the two finish. */
typedef struct prio_run {
    rate_limiter *rl;
    uint64_t bytes;
    int prio;
    atomic_int *finished; /* how many finished before this one */
    int place;
} prio_run;

static void *prio_request(void *arg)
{
    prio_run *r = arg;
    rate_limiter_request(r->rl, r->bytes, r->prio);
    r->place = atomic_fetch_add(r->finished, 1);
    return NULL;
}

static void a_flush_goes_before_a_compaction(void)
{
    rate_limiter rl;
    CHECK_KV(rate_limiter_init(&rl, 1000000, 1000000, NULL, NULL, NULL), KV_OK);
    atomic_int finished = 0;
    prio_run high = {&rl, 20000, RL_HIGH, &finished, -1};
    prio_run low = {&rl, 1000, RL_LOW, &finished, -1};
    pthread_t th, tl;
    CHECK(pthread_create(&th, NULL, prio_request, &high) == 0);
    /* The high request is waiting before the low one asks. */
    for (;;) {
        pthread_mutex_lock(&rl.mu);
        int waiting = rl.high_waiting;
        pthread_mutex_unlock(&rl.mu);
        if (waiting > 0 || atomic_load(&finished) > 0)
            break;
    }
    CHECK(pthread_create(&tl, NULL, prio_request, &low) == 0);
    pthread_join(th, NULL);
    pthread_join(tl, NULL);
    CHECK_EQ(high.place, 0);
    CHECK_EQ(low.place, 1);
    CHECK(rl.granted[RL_HIGH] == 20000 && rl.granted[RL_LOW] == 1000);
    rate_limiter_destroy(&rl);
}

static const harness_test tests[] = {
    HARNESS_TEST(unlimited_waits_nothing),
    HARNESS_TEST(a_request_takes_its_bytes_at_the_rate),
    HARNESS_TEST(a_flush_goes_before_a_compaction),
};
const harness_suite rate_limiter_suite = HARNESS_SUITE("rate_limiter", tests);
