/*
 * rate_limiter.c: the token bucket (rate_limiter.h).
 */
#include "rate_limiter.h"

#include <time.h>

#include "kv.h"

static uint64_t mono_ns(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void nap_ns(void *arg, uint64_t ns)
{
    (void)arg;
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

int rate_limiter_init(rate_limiter *rl, uint64_t rate, uint64_t period_ns,
                      uint64_t (*now_ns)(void *), void (*sleep_ns)(void *, uint64_t),
                      void *clock_arg)
{
    if (pthread_mutex_init(&rl->mu, NULL) != 0)
        return KV_ERR_NOMEM;
    rl->rate = rate;
    rl->period_ns = period_ns ? period_ns : 1000000;
    rl->now_ns = now_ns ? now_ns : mono_ns;
    rl->sleep_ns = sleep_ns ? sleep_ns : nap_ns;
    rl->clock_arg = clock_arg;
    rl->burst_ns = RL_BURST_NS > rl->period_ns ? RL_BURST_NS : rl->period_ns;
    rl->tokens = 0;
    rl->last_refill_ns = rl->now_ns(clock_arg);
    rl->high_waiting = 0;
    rl->sleeping = 0;
    rl->waited_ns[0] = rl->waited_ns[1] = 0;
    rl->granted[0] = rl->granted[1] = 0;
    histogram_init(&rl->waits);
    return KV_OK;
}

void rate_limiter_destroy(rate_limiter *rl)
{
    pthread_mutex_destroy(&rl->mu);
}

void rate_limiter_set_rate(rate_limiter *rl, uint64_t rate)
{
    pthread_mutex_lock(&rl->mu);
    rl->rate = rate;
    pthread_mutex_unlock(&rl->mu);
}

static uint64_t per_period(const rate_limiter *rl)
{
    uint64_t b = rl->rate * rl->period_ns / 1000000000u;
    return b ? b : 1;
}

/* Adds the tokens of the whole periods since the last refill: the mark
 * moves by those periods, so what is left of a period counts towards the
 * next.  Periods a sleeping request waited through are all its own (a
 * sleep that ends late brings two periods' worth, which the request
 * takes); otherwise the bucket keeps what it gains up to burst_ns' worth:
 * a builder that spends a few milliseconds of CPU between two requests
 * finds those milliseconds' tokens there, not only the last period's. */
static void refill(rate_limiter *rl, uint64_t now)
{
    uint64_t periods = (now - rl->last_refill_ns) / rl->period_ns;
    if (periods == 0)
        return;
    rl->last_refill_ns += periods * rl->period_ns;
    uint64_t per = per_period(rl);
    if (rl->sleeping == 0) {
        /* idle periods, or the first: saved up to the burst */
        uint64_t burst = rl->burst_ns / rl->period_ns;
        uint64_t cap = burst * per;
        uint64_t add = periods < burst ? periods * per : cap;
        rl->tokens = rl->tokens + add < cap ? rl->tokens + add : cap;
        return;
    }
    uint64_t add = periods > UINT64_MAX / per ? UINT64_MAX : periods * per;
    rl->tokens = add > UINT64_MAX - rl->tokens ? UINT64_MAX : rl->tokens + add;
}

void rate_limiter_request(rate_limiter *rl, uint64_t bytes, int prio)
{
    pthread_mutex_lock(&rl->mu);
    uint64_t start = rl->now_ns(rl->clock_arg);
    int slept = 0;
    if (prio == RL_HIGH)
        rl->high_waiting++;
    while (bytes > 0 && rl->rate > 0) {
        refill(rl, rl->now_ns(rl->clock_arg));
        if (rl->tokens > 0 && (prio == RL_HIGH || rl->high_waiting == 0)) {
            uint64_t take = bytes < rl->tokens ? bytes : rl->tokens;
            rl->tokens -= take;
            bytes -= take;
            rl->granted[prio] += take;
            continue;
        }
        if (!slept)
            rl->sleeping++;
        slept = 1;
        pthread_mutex_unlock(&rl->mu);
        rl->sleep_ns(rl->clock_arg, rl->period_ns);
        pthread_mutex_lock(&rl->mu);
    }
    if (rl->rate == 0)
        rl->granted[prio] += bytes;
    if (prio == RL_HIGH)
        rl->high_waiting--;
    if (slept) {
        rl->sleeping--;
        uint64_t waited = rl->now_ns(rl->clock_arg) - start;
        rl->waited_ns[prio] += waited;
        histogram_record(&rl->waits, waited);
    }
    pthread_mutex_unlock(&rl->mu);
}

void rate_limiter_get_counts(rate_limiter *rl, rate_limiter_counts *out)
{
    pthread_mutex_lock(&rl->mu);
    out->rate = rl->rate;
    out->granted = rl->granted[RL_HIGH] + rl->granted[RL_LOW];
    out->waited_ns = rl->waited_ns[RL_HIGH] + rl->waited_ns[RL_LOW];
    pthread_mutex_unlock(&rl->mu);
}
