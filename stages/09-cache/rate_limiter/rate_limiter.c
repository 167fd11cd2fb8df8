/*
 * rate_limiter.c: the token bucket (rate_limiter.h).
 */
#include "rate_limiter.h"

#include <time.h>

#include "kv.h"

#define RL_NANO 1000000000u /* nanoseconds in a second, billionths in a byte */

static uint64_t mono_ns(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * RL_NANO + (uint64_t)ts.tv_nsec;
}

static void nap_ns(void *arg, uint64_t ns)
{
    (void)arg;
    struct timespec ts = {(time_t)(ns / RL_NANO), (long)(ns % RL_NANO)};
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
    rl->nanotokens = 0;
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

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* What the rate brings in ns nanoseconds: rate * ns / 1e9 bytes, exactly,
 * as whole bytes (*bytes) and billionths of a byte (*nano, below 1e9).
 * Nothing overflows: with rate = q * 1e9 + r and ns = s * 1e9 + f,
 * rate * ns / 1e9 = q * ns + r * s + r * f / 1e9, and r * f < 1e18.  Whole
 * bytes past UINT64_MAX stay UINT64_MAX: more than a request can ask. */
static void worth(uint64_t rate, uint64_t ns, uint64_t *bytes, uint64_t *nano)
{
    uint64_t q = rate / RL_NANO, r = rate % RL_NANO;
    uint64_t s = ns / RL_NANO, f = ns % RL_NANO;
    *bytes = sat_add(sat_add(sat_mul(q, ns), sat_mul(r, s)), r * f / RL_NANO);
    *nano = r * f % RL_NANO;
}

/* Adds what `periods` periods bring at the rate, the fraction of a byte
 * carried in nanotokens. */
static void add_periods(rate_limiter *rl, uint64_t periods)
{
    uint64_t bytes, nano;
    worth(rl->rate, sat_mul(periods, rl->period_ns), &bytes, &nano);
    rl->nanotokens += nano;
    if (rl->nanotokens >= RL_NANO) {
        rl->nanotokens -= RL_NANO;
        bytes = sat_add(bytes, 1);
    }
    rl->tokens = sat_add(rl->tokens, bytes);
}

/* Adds the tokens of the whole periods since the last refill: the mark
 * moves by those periods, so what is left of a period counts towards the
 * next, and the fraction of a byte a period brings (a rate below a byte a
 * period) is kept, not rounded.  Periods a sleeping request waited
 * through are all its own (a sleep that ends late brings two periods'
 * worth, which the request takes); otherwise the bucket keeps what it
 * gains up to burst_ns' worth: a builder that spends a few milliseconds
 * of CPU between two requests finds those milliseconds' tokens there, not
 * only the last period's. */
static void refill(rate_limiter *rl, uint64_t now)
{
    uint64_t periods = (now - rl->last_refill_ns) / rl->period_ns;
    if (periods == 0)
        return;
    rl->last_refill_ns += periods * rl->period_ns;
    add_periods(rl, periods);
    if (rl->sleeping == 0) {
        /* idle periods, or the first: saved up to the burst */
        uint64_t burst = rl->burst_ns / rl->period_ns;
        uint64_t cap, cap_nano;
        worth(rl->rate, burst * rl->period_ns, &cap, &cap_nano);
        if (rl->tokens > cap || (rl->tokens == cap && rl->nanotokens > cap_nano)) {
            rl->tokens = cap;
            rl->nanotokens = cap_nano;
        }
    }
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
            rl->granted[prio] = sat_add(rl->granted[prio], take);
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
        rl->granted[prio] = sat_add(rl->granted[prio], bytes);
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
    out->granted = sat_add(rl->granted[RL_HIGH], rl->granted[RL_LOW]);
    out->waited_ns = rl->waited_ns[RL_HIGH] + rl->waited_ns[RL_LOW];
    out->granted_high = rl->granted[RL_HIGH];
    out->waited_high_ns = rl->waited_ns[RL_HIGH];
    out->high_waiting = (uint64_t)rl->high_waiting;
    pthread_mutex_unlock(&rl->mu);
}
