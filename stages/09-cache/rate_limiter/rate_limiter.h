/*
 * rate_limiter.h: a token bucket for background writes.  Tokens are bytes;
 * every period (1 ms by default) the bucket gains rate * period bytes,
 * exactly: a period's share is kept to a billionth of a byte
 * (nanotokens), so a rate below a byte a period (under 1,000 B/s) is kept
 * too, one byte every so many periods, and no rate up to UINT64_MAX (or
 * SIZE_MAX) overflows.  A request that sleeps gets every period it slept
 * through (a sleep ends late as often as not), while time nobody waited in
 * fills the bucket up to a burst of RL_BURST_NS' worth (100 ms), so a
 * writer that spends time between its requests doing other work (a
 * compaction merging and compressing the next blocks) still writes at the
 * rate, not below it.  A write asks for its bytes first and waits until
 * they are there.
 *
 * Priorities: flushes ask at RL_HIGH, compactions at RL_LOW
 * (limited_rate.c): while a high request waits, a low one takes no token,
 * whatever it has waited already, so the flush that a memtable switch
 * (and the writers behind it) waits for is not paced behind a merge's
 * bytes.
 *
 * Invariants:
 *   - Over any stretch of time t, granted bytes <= rate * (t + burst) + the
 *     largest single request (a request above what the bucket holds is
 *     granted in pieces as tokens come), at every rate from 1 B/s up.
 *   - rate 0 means unlimited: requests return at once and wait nothing.  A
 *     rate whose period brings more than UINT64_MAX bytes is unlimited in
 *     all but name: the bucket then holds UINT64_MAX, all a request can ask.
 *   - A low request takes no token while a high one waits.
 *   - The rate may change at any time (rate_limiter_set_rate); waiters see
 *     the new rate at the next refill.
 *   - waited_ns counts the time requests spent waiting, per priority;
 *     waits holds each waiting request's time (common/histogram.h).
 * The clock and the sleep are the caller's (injectable for tests).
 */
#ifndef KV_RATE_LIMITER_H
#define KV_RATE_LIMITER_H

#include <pthread.h>
#include <stdint.h>

#include "histogram.h"

enum { RL_HIGH = 0, RL_LOW = 1 };

/* How much time nobody waited in the bucket saves up (at least a period).
 * RocksDB's GenericRateLimiter refills every 100 ms by default, and its
 * bucket holds what one refill brings. */
#define RL_BURST_NS 100000000u

typedef struct rate_limiter {
    pthread_mutex_t mu;
    uint64_t rate;      /* bytes per second; 0 = unlimited */
    uint64_t period_ns;
    uint64_t burst_ns;  /* the most tokens saved up while nobody waits */
    uint64_t tokens;    /* whole bytes */
    uint64_t nanotokens; /* and billionths of a byte, below 1e9 */
    uint64_t last_refill_ns;
    int high_waiting;
    int sleeping;       /* requests that have slept at least once */
    uint64_t waited_ns[2];
    uint64_t granted[2];
    histogram waits;    /* each request that waited: for how long */
    uint64_t (*now_ns)(void *arg);
    void (*sleep_ns)(void *arg, uint64_t ns);
    void *clock_arg;
} rate_limiter;

/* now_ns/sleep_ns NULL: CLOCK_MONOTONIC and nanosleep. */
int rate_limiter_init(rate_limiter *rl, uint64_t rate, uint64_t period_ns,
                      uint64_t (*now_ns)(void *), void (*sleep_ns)(void *, uint64_t),
                      void *clock_arg);
void rate_limiter_destroy(rate_limiter *rl);
void rate_limiter_set_rate(rate_limiter *rl, uint64_t rate);
/* Waits until bytes may be written at priority prio. */
void rate_limiter_request(rate_limiter *rl, uint64_t bytes, int prio);

/* What it has done, both priorities together, and the high one's. */
typedef struct rate_limiter_counts {
    uint64_t rate;       /* bytes per second now; 0 = unlimited */
    uint64_t granted;    /* bytes granted since init */
    uint64_t waited_ns;  /* time requests spent in rate_limiter_request */
    uint64_t granted_high, waited_high_ns;  /* of those, RL_HIGH's (flushes') */
    uint64_t high_waiting;  /* RL_HIGH requests in rate_limiter_request now */
} rate_limiter_counts;
void rate_limiter_get_counts(rate_limiter *rl, rate_limiter_counts *out);

#endif
