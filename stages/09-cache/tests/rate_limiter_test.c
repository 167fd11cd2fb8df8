/*
 * rate_limiter_test.c: the token bucket (rate_limiter.c) on a clock the
 * test moves: unlimited waits nothing; a request takes as long as its bytes
 * at the rate (to a period); a new rate applies to the next request; the
 * waited time is counted.
 */
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
    /* Idle for a second: at most one period's worth is saved up. */
    fake_now += 1000000000u;
    rate_limiter_request(&rl, 2000, RL_LOW);
    CHECK(fake_now == 1150000000u);
    rate_limiter_request(&rl, 2000, RL_LOW);
    CHECK(fake_now == 1151000000u);
    rate_limiter_destroy(&rl);
}

static const harness_test tests[] = {
    HARNESS_TEST(unlimited_waits_nothing),
    HARNESS_TEST(a_request_takes_its_bytes_at_the_rate),
};
const harness_suite rate_limiter_suite = HARNESS_SUITE("rate_limiter", tests);
