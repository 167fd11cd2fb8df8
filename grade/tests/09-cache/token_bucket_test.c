/*
 * token_bucket_test.c: exercise token_bucket, refill and
 * rate_limiter_request (stages/09-cache/rate_limiter/rate_limiter.c): a
 * write asks for its bytes and waits until the bucket holds them.  On a
 * clock the tests own: a sleep moves it on by what was asked (or by a
 * period and a half, to see that a refill keeps what is left of a
 * period), so every wait is exact and no test waits for real.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "exercise.h"
#include "histogram.h"
#include "kv.h"
#include "rate_limiter.h"

#define TB_PERIOD 1000000ull /* 1 ms */

typedef struct tb_clock {
    uint64_t now;
    uint64_t sleeps;
    uint64_t stretch; /* a sleep of ns moves the clock ns * stretch / 2 */
    uint64_t max_sleeps; /* more than this fails the test with `bound` */
    const char *bound;
    rate_limiter *rl; /* the limiter whose requests sleep here */
    int high; /* whether the request sleeping now is a high one */
    uint64_t high_leaves; /* at this sleep (0: none) the high request the
                             test counted in rl->high_waiting leaves */
    int probe_end; /* whether tb_now looks at how the request ends */
    uint64_t sleeps_before, waited_before; /* at the request's start */
} tb_clock;

static uint64_t tb_now(void *arg)
{
    tb_clock *c = arg;
    /* A request that slept and reads the clock with rl->mu free: if it no
     * longer counts itself sleeping while its wait is not counted yet, a
     * reader of the counts (rate_limiter_get_counts, under rl->mu) that
     * took the lock now would see it gone and its wait missing, and what
     * it writes next it writes without the lock. */
    if (c->probe_end && c->rl != NULL && c->sleeps > c->sleeps_before &&
        pthread_mutex_trylock(&c->rl->mu) == 0) {
        int sleeping = c->rl->sleeping;
        uint64_t waited = c->rl->waited_ns[RL_LOW] + c->rl->waited_ns[RL_HIGH];
        pthread_mutex_unlock(&c->rl->mu);
        char test_rule[256];
        snprintf(test_rule, sizeof test_rule, "%s", ex_rule_now());
        EX_RULE_BEGIN(6, "a request's end counted under rl->mu");
        EX_CHECK(sleeping != 0 || waited != c->waited_before, "a request that slept counts "
                 "its end under rl->mu: it read the clock for its wait with rl->mu released, "
                 "no longer counted in rl->sleeping and its wait not yet in rl->waited_ns, so "
                 "a reader of the counts then sees it gone and its wait missing, and the wait "
                 "it adds next is written without the lock (a data race with every other "
                 "request and rate_limiter_get_counts)");
        ex_rule_put(test_rule);
    }
    return c->now;
}

static void tb_sleep(void *arg, uint64_t ns)
{
    tb_clock *c = arg;
    c->now += ns * c->stretch / 2;
    c->sleeps++;
    if (c->rl != NULL) {
        char test_rule[256];
        snprintf(test_rule, sizeof test_rule, "%s", ex_rule_now());
        EX_RULE_BEGIN(5, "a request sleeps with rl->mu released");
        EX_CHECK(pthread_mutex_trylock(&c->rl->mu) == 0, "a request sleeps with rl->mu "
                 "released: other requests (a high one that must go first, a refill of the "
                 "rate) take the lock while it sleeps");
        if (c->high_leaves != 0 && c->sleeps == c->high_leaves) {
            c->rl->high_waiting--; /* the high request the test stands for ends */
            c->high = 0;
        }
        pthread_mutex_unlock(&c->rl->mu);
        EX_RULE_BEGIN(6, "rl->high_waiting counts a high request for all its stay, and nothing "
                      "else");
        rate_limiter_counts k;
        rate_limiter_get_counts(c->rl, &k);
        EX_CHECK(k.high_waiting == (uint64_t)c->high, "while a %s request sleeps, %llu high "
                 "requests are counted waiting, want %d: rl->high_waiting counts a high "
                 "request from its start to its end (the low ones wait while it is not 0), "
                 "and nothing else", c->high ? "high" : "low",
                 (unsigned long long)k.high_waiting, c->high);
        ex_rule_put(test_rule);
    }
    EX_CHECK(c->sleeps <= c->max_sleeps, "%s (it slept %llu times and still waits)",
             c->bound, (unsigned long long)c->sleeps);
}

static void tb_init(rate_limiter *rl, tb_clock *c, uint64_t rate)
{
    /* No test here asks for more than a few hundred periods' worth. */
    *c = (tb_clock){.now = 5 * TB_PERIOD, .stretch = 2, .max_sleeps = 100000,
                    .bound = "a request waits only until the rate has brought its bytes: "
                             "each refill adds the whole periods gone, and a request takes "
                             "what the bucket holds (a low one once no high one waits)"};
    int s = rate_limiter_init(rl, rate, TB_PERIOD, tb_now, tb_sleep, c);
    EX_CHECK(s == KV_OK, "rate_limiter_init: %s", kv_strerror(s));
    c->rl = rl;
    /* Every test here ends in well under a second of CPU: a request that
     * loops without end (without sleeping, so the bound on sleeps cannot
     * see it) is ended after 10 s of it, not by the grade's timeout. */
    ex_bound_work(10);
}

static void token_bucket_rate_zero_waits_for_nothing(void)
{
    EX_RULE_BEGIN(1, "rate 0 is no limit");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 0);
    c.max_sleeps = 1000;
    c.bound = "rate 0 means no limit: a request returns at once, without sleeping";
    harness_context("rate 0, a request of 100000 bytes");
    rate_limiter_request(&rl, 100000, RL_LOW);
    rate_limiter_counts k;
    rate_limiter_get_counts(&rl, &k);
    EX_CHECK(c.sleeps == 0 && c.now == 5 * TB_PERIOD, "rate 0 means no limit: a request "
             "returns at once, without sleeping (it slept %llu times)",
             (unsigned long long)c.sleeps);
    EX_CHECK(k.granted == 100000 && k.waited_ns == 0, "with no limit the bytes are still "
             "counted as granted (100000; got %llu) and nothing waited (got %llu ns)",
             (unsigned long long)k.granted, (unsigned long long)k.waited_ns);
    /* And while another request sleeps (the rate was 0 only since it fell
     * asleep): every byte granted is counted, whoever else waits. */
    EX_RULE_BEGIN(6, "rl->granted counts every byte once, with no limit too");
    pthread_mutex_lock(&rl.mu);
    rl.sleeping++;
    pthread_mutex_unlock(&rl.mu);
    rate_limiter_request(&rl, 5000, RL_LOW);
    pthread_mutex_lock(&rl.mu);
    rl.sleeping--;
    pthread_mutex_unlock(&rl.mu);
    rate_limiter_get_counts(&rl, &k);
    EX_CHECK(k.granted == 105000, "with no limit every byte is counted as granted, whatever "
             "another request is doing (one is asleep in the bucket here): 105,000 (got %llu)",
             (unsigned long long)k.granted);
    rate_limiter_destroy(&rl);
}

static void token_bucket_grants_at_the_rate(void)
{
    EX_RULE_BEGIN(3, "each period brings rate x period");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 1000000); /* 1,000 bytes a period */
    harness_context("1,000,000 bytes a second, a request of 100,000 bytes");
    rate_limiter_request(&rl, 100000, RL_LOW);
    uint64_t took = c.now - 5 * TB_PERIOD;
    EX_CHECK(took >= 99 * TB_PERIOD && took <= 101 * TB_PERIOD, "at 1,000,000 bytes a second "
             "(1,000 a 1 ms period), 100,000 bytes from an empty bucket take 100 periods, "
             "give or take one (took %.2f ms): each refill adds a period's worth for each "
             "whole period gone", (double)took / 1e6);
    rate_limiter_counts k;
    rate_limiter_get_counts(&rl, &k);
    EX_CHECK(k.granted == 100000, "every byte asked is granted, once (got %llu)",
             (unsigned long long)k.granted);
    EX_CHECK(k.waited_ns == took, "a request that slept counts the time it spent, %llu ns "
             "(got %llu)", (unsigned long long)took, (unsigned long long)k.waited_ns);
    pthread_mutex_lock(&rl.mu);
    int sleeping = rl.sleeping;
    pthread_mutex_unlock(&rl.mu);
    EX_CHECK(sleeping == 0, EX_RULE(6, "rl->sleeping counts a request once, from its first "
             "sleep to its end") "a request that slept %llu times has ended: rl->sleeping is "
             "0 again (got %d); counted at each sleep, the bucket would think a request "
             "sleeps in it for ever, and never cap what idle time brings (rule 4)",
             (unsigned long long)c.sleeps, sleeping);
    rate_limiter_destroy(&rl);
}

static void token_bucket_carries_over_at_most_the_burst(void)
{
    EX_RULE_BEGIN(4, "the bucket holds at most a burst's worth");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 1000000);
    c.now += 1000 * TB_PERIOD; /* a second of idleness */
    harness_context("idle for a second, then a request of 105,000 bytes");
    rate_limiter_request(&rl, 105000, RL_LOW);
    uint64_t took = c.now - 1005 * TB_PERIOD;
    EX_CHECK(took >= 4 * TB_PERIOD, "after a second of idleness the bucket holds the burst, "
             "100 ms' worth (100,000 bytes), not a second's: 105,000 bytes still take five "
             "more periods (took %.2f ms); a bucket that keeps what idle time would have "
             "granted lets a compaction burst at many times the rate", (double)took / 1e6);
    rate_limiter_destroy(&rl);
}

static void token_bucket_a_long_sleep_keeps_its_periods(void)
{
    EX_RULE_BEGIN(4, "the cap holds only while no request sleeps in the bucket");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 1000000);
    c.stretch = 400; /* a sleep of a period lasts 200 periods: twice the burst */
    harness_context("sleeps that last 200 periods (the burst is 100), a request of 400,000 "
                    "bytes at 1,000 a period");
    rate_limiter_request(&rl, 400000, RL_LOW);
    uint64_t took = c.now - 5 * TB_PERIOD;
    EX_CHECK(took <= 400 * TB_PERIOD, "a request asleep in the bucket keeps every period it "
             "slept through: two sleeps of 200 periods bring its 400,000 bytes (took %.2f "
             "ms, %llu sleeps); the cap of a burst (100 periods) holds only while no request "
             "sleeps (rl->sleeping == 0), and a request woken late would otherwise lose what "
             "it waited for and write below the rate", (double)took / 1e6,
             (unsigned long long)c.sleeps);
    rate_limiter_destroy(&rl);
}

static void token_bucket_a_period_not_yet_whole_brings_nothing(void)
{
    EX_RULE_BEGIN(2, "the whole periods since the mark, and only those");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 1000000);
    c.stretch = 3; /* each sleep of a period moves the clock a period and a half */
    rate_limiter_request(&rl, 1000, RL_LOW);
    c.stretch = 2;
    harness_context("a request of 1,000 bytes that woke half way through a period, then one "
                    "of 3,000 bytes at once, at 1,000 a period");
    uint64_t before = c.now;
    rate_limiter_request(&rl, 3000, RL_LOW);
    uint64_t took = c.now - before;
    EX_CHECK(took >= 2 * TB_PERIOD + TB_PERIOD / 2, "the first request woke a period and a "
             "half after it began and took the one whole period's 1,000 bytes; the half "
             "period since brings nothing until it is whole, so 3,000 more bytes wait about "
             "3 periods (took %.2f ms): a refill counts whole periods only, never one that "
             "has not yet gone (rounded up, the mark passes now and the next refill counts "
             "from the future)", (double)took / 1e6);
    rate_limiter_destroy(&rl);
}

static void token_bucket_keeps_the_time_between_requests(void)
{
    EX_RULE_BEGIN(2, "the whole periods since the mark, idle ones too");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 1000000);
    rate_limiter_request(&rl, 10000, RL_LOW);
    c.now += 5 * TB_PERIOD; /* 5 ms spent merging the next blocks */
    harness_context("a request of 10,000 bytes, 5 ms of other work, then 5,000 bytes");
    uint64_t sleeps = c.sleeps;
    rate_limiter_request(&rl, 5000, RL_LOW);
    EX_CHECK(c.sleeps == sleeps, "5 ms nobody waited in add their 5,000 bytes to the bucket "
             "(up to the burst), so the next 5,000 bytes are there at once (it slept %llu "
             "times): the time between requests is a writer's too, and a bucket that keeps "
             "only one period of it makes a compaction that works between its writes write "
             "below the rate", (unsigned long long)(c.sleeps - sleeps));
    rate_limiter_destroy(&rl);
}

static void token_bucket_idle_time_brings_only_its_worth(void)
{
    EX_RULE_BEGIN(4, "the cap only lowers what the bucket holds");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 1000000);
    rate_limiter_request(&rl, 10000, RL_LOW);
    c.now += 5 * TB_PERIOD; /* 5 ms idle: 5,000 bytes */
    harness_context("a request of 10,000 bytes, 5 ms idle, then 20,000 bytes");
    uint64_t before = c.now;
    rate_limiter_request(&rl, 20000, RL_LOW);
    uint64_t took = c.now - before;
    EX_CHECK(took >= 14 * TB_PERIOD && took <= 16 * TB_PERIOD, "5 ms of idle time bring 5,000 "
             "bytes, no more: the cap of a burst only lowers what the bucket holds, so "
             "20,000 bytes wait 15 periods for the rest (took %.2f ms)", (double)took / 1e6);
    rate_limiter_destroy(&rl);
}

static void token_bucket_keeps_what_is_left_of_a_period(void)
{
    EX_RULE_BEGIN(2, "the mark moves by whole periods only");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 1000000);
    c.stretch = 3; /* each sleep of a period moves the clock a period and a half */
    harness_context("sleeps that last a period and a half, a request of 150,000 bytes");
    rate_limiter_request(&rl, 150000, RL_LOW);
    uint64_t took = c.now - 5 * TB_PERIOD;
    EX_CHECK(took <= 153 * TB_PERIOD, "when sleeps last a period and a half, 150,000 bytes at "
             "1,000 a period still take about 150 periods (took %.2f ms): a refill moves its "
             "mark by the whole periods it counted and keeps the fraction of a period left "
             "for the next; a refill that moves the mark to now loses a third of the rate",
             (double)took / 1e6);
    rate_limiter_destroy(&rl);
}

static void token_bucket_a_new_rate_is_seen(void)
{
    EX_RULE_BEGIN(3, "a new rate is seen at the next refill");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 1000000);
    c.high = 1;
    rate_limiter_request(&rl, 10000, RL_HIGH);
    rate_limiter_set_rate(&rl, 4000000);
    uint64_t before = c.now;
    harness_context("a request of 40,000 bytes after the rate went from 1 MB/s to 4 MB/s");
    rate_limiter_request(&rl, 40000, RL_HIGH);
    uint64_t took = c.now - before;
    EX_CHECK(took >= 9 * TB_PERIOD && took <= 11 * TB_PERIOD, "at the new rate of 4,000,000 "
             "bytes a second, 40,000 bytes take ten periods (took %.2f ms)", (double)took / 1e6);
    rate_limiter_set_rate(&rl, 0);
    c.high = 0;
    c.max_sleeps = c.sleeps + 1000;
    c.bound = "rate 0 means no limit: a request returns at once, without sleeping";
    before = c.now;
    rate_limiter_request(&rl, 1u << 20, RL_LOW);
    EX_CHECK(c.now == before, "once the rate is set to 0, a request of a MiB returns at once");
    rate_limiter_counts k;
    rate_limiter_get_counts(&rl, &k);
    EX_CHECK(k.granted == 50000 + (1u << 20) && k.rate == 0,
             "granted counts every request, at either priority and with no limit (got %llu)",
             (unsigned long long)k.granted);
    rate_limiter_destroy(&rl);
}

static void token_bucket_the_burst_is_exact_below_a_byte_a_period(void)
{
    EX_RULE_BEGIN(4, "the cap on whole bytes and the fraction both");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 500); /* half a byte a period */
    c.now += 101 * TB_PERIOD; /* 101 idle periods: 50.5 bytes */
    harness_context("500 bytes a second, 101 idle periods, then a request of 51 bytes");
    rate_limiter_request(&rl, 51, RL_LOW);
    uint64_t took = c.now - 106 * TB_PERIOD;
    EX_CHECK(took == 2 * TB_PERIOD, "at 500 bytes a second (half a byte a 1 ms period), 101 "
             "idle periods bring 50.5 bytes, and the bucket keeps the burst's worth, 100 "
             "periods: 50 bytes exactly, the half byte past it dropped with the rest (whole "
             "bytes and the fraction both capped); so 51 bytes wait two periods for their last "
             "byte (took %.2f ms)", (double)took / 1e6);
    rate_limiter_destroy(&rl);
}

static void token_bucket_the_burst_caps_the_fraction_of_a_byte(void)
{
    EX_RULE_BEGIN(4, "the cap on whole bytes and the fraction both");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 15); /* 0.015 bytes a period: a burst of 1.5 bytes */
    c.now += 126 * TB_PERIOD; /* 126 idle periods: 1.89 bytes */
    harness_context("15 bytes a second, 126 idle periods, then a request of 2 bytes");
    rate_limiter_request(&rl, 2, RL_LOW);
    uint64_t took = c.now - 131 * TB_PERIOD;
    EX_CHECK(took == 34 * TB_PERIOD, "at 15 bytes a second (0.015 bytes a 1 ms period), 126 "
             "idle periods bring 1.89 bytes, and the bucket keeps the burst's worth, 100 "
             "periods: 1.5 bytes; its whole byte is the cap's, so its fraction (0.89) is "
             "capped by the cap's fraction (0.5), billionths with billionths: 2 bytes then wait "
             "34 periods for the half byte missing (took %.2f ms)", (double)took / 1e6);
    rate_limiter_destroy(&rl);
}

static void token_bucket_counts_each_priority(void)
{
    EX_RULE_BEGIN(6, "granted and waited per priority");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 1000000);
    c.high = 1;
    harness_context("1,000,000 bytes a second, a high request of 5,000 bytes, then a low one "
                    "of 3,000");
    rate_limiter_request(&rl, 5000, RL_HIGH);
    uint64_t took_high = c.now - 5 * TB_PERIOD;
    c.high = 0;
    uint64_t before = c.now;
    rate_limiter_request(&rl, 3000, RL_LOW);
    uint64_t took_low = c.now - before;
    rate_limiter_counts k;
    rate_limiter_get_counts(&rl, &k);
    EX_CHECK(took_high >= 4 * TB_PERIOD && took_low >= 2 * TB_PERIOD,
             "from an empty bucket 5,000 bytes take five periods and 3,000 three (took %.2f "
             "and %.2f ms)", (double)took_high / 1e6, (double)took_low / 1e6);
    EX_CHECK(k.granted == 8000 && k.granted_high == 5000, "granted counts the bytes of both "
             "priorities (8,000; got %llu), granted_high the high request's alone (5,000; got "
             "%llu)", (unsigned long long)k.granted, (unsigned long long)k.granted_high);
    EX_CHECK(k.waited_ns == took_high + took_low && k.waited_high_ns == took_high,
             "waited_ns counts each request's time from its start to its end (%llu ns; got "
             "%llu), waited_high_ns the high one's (%llu ns; got %llu)",
             (unsigned long long)(took_high + took_low), (unsigned long long)k.waited_ns,
             (unsigned long long)took_high, (unsigned long long)k.waited_high_ns);
    EX_CHECK(k.high_waiting == 0, "once the high request has its bytes it is no longer "
             "counted waiting (high_waiting %llu): a low request after it must not wait for "
             "it", (unsigned long long)k.high_waiting);
    /* A request the bucket serves at once (it held the bytes) slept not. */
    c.now += 2 * TB_PERIOD;
    harness_context("then, two periods later, a low request of 1,000 bytes, which the bucket "
                    "holds: it does not sleep");
    rate_limiter_request(&rl, 1000, RL_LOW);
    histogram_counts h;
    histogram_read(&rl.waits, &h);
    EX_CHECK(h.count == 2 && h.sum == took_high + took_low,
             "the histogram rl->waits holds the time of each request that slept, from its start "
             "to its end, and of no other: 2 waits of %llu ns in all (got %llu of %llu ns; the "
             "third request did not sleep)", (unsigned long long)(took_high + took_low),
             (unsigned long long)h.count, (unsigned long long)h.sum);
    rate_limiter_destroy(&rl);
}

static void token_bucket_one_byte_a_second_is_a_limit(void)
{
    EX_RULE_BEGIN(1, "every rate from 1 B/s up is a limit");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 1); /* a millionth of a byte a 1 ms period */
    harness_context("1 byte a second, a request of 3 bytes from an empty bucket");
    rate_limiter_request(&rl, 3, RL_LOW);
    uint64_t took = c.now - 5 * TB_PERIOD;
    rate_limiter_counts k;
    rate_limiter_get_counts(&rl, &k);
    EX_CHECK(took == 3000 * TB_PERIOD, "only rate 0 means no limit: at 1 byte a second, the "
             "smallest rate there is, 3 bytes from an empty bucket take 3 seconds, 3,000 "
             "periods (took %.2f ms)", (double)took / 1e6);
    EX_CHECK(k.granted == 3, "the 3 bytes are counted as granted (got %llu)",
             (unsigned long long)k.granted);
    rate_limiter_destroy(&rl);
}

static void token_bucket_the_level_never_passes_the_burst(void)
{
    EX_RULE_BEGIN(4, "the bucket holds at most a burst's worth, however often it stood idle");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 1000000); /* 1,000 bytes a period, a burst of 100,000 */
    harness_context("idle for a second, a request of 1 byte, idle for a second more, then a "
                    "request of 150,000 bytes");
    c.now += 1000 * TB_PERIOD;
    rate_limiter_request(&rl, 1, RL_LOW);
    c.now += 1000 * TB_PERIOD;
    uint64_t before = c.now;
    rate_limiter_request(&rl, 150000, RL_LOW);
    uint64_t took = c.now - before;
    EX_CHECK(took >= 49 * TB_PERIOD, "while no request sleeps the bucket holds at most a "
             "burst's worth, 100,000 bytes, however long and however often it stood idle: "
             "after two idle seconds with a request of 1 byte between them, 150,000 bytes "
             "still wait about 50 periods for the 50,000 past the burst (took %.2f ms); a "
             "cap on what one refill adds, with none on what the bucket holds, saves up a "
             "burst per idle stretch", (double)took / 1e6);
    rate_limiter_destroy(&rl);
}

static void token_bucket_a_low_request_waits_while_a_high_one_does(void)
{
    EX_RULE_BEGIN(5, "a low request takes nothing while a high one waits");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 1000000);
    c.now += 1000 * TB_PERIOD; /* the bucket holds a burst, 100,000 bytes */
    /* A high request waits (as if asleep on another thread) until the
     * low one's third sleep. */
    pthread_mutex_lock(&rl.mu);
    rl.high_waiting++;
    pthread_mutex_unlock(&rl.mu);
    c.high = 1;
    c.high_leaves = 3;
    harness_context("a low request of 1,000 bytes while a high request waits, the bucket "
                    "holding 100,000 bytes; the high one ends at the low one's third sleep");
    uint64_t before = c.now;
    rate_limiter_request(&rl, 1000, RL_LOW);
    uint64_t took = c.now - before;
    EX_CHECK(c.sleeps >= 3 && took >= 3 * TB_PERIOD, "while a high request waits "
             "(rl->high_waiting > 0) a low one takes no token, however many the bucket "
             "holds: it sleeps a period at a time until the high one has gone (it slept %llu "
             "times, %.2f ms; the high one left at its third sleep)",
             (unsigned long long)c.sleeps, (double)took / 1e6);
    rate_limiter_counts k;
    rate_limiter_get_counts(&rl, &k);
    EX_CHECK(k.granted == 1000 && k.granted_high == 0, "the low request is granted its 1,000 "
             "bytes once the high one has gone (granted %llu)", (unsigned long long)k.granted);
    rate_limiter_destroy(&rl);
}

static void token_bucket_a_request_ends_under_the_lock(void)
{
    EX_RULE_BEGIN(6, "a request's end counted under rl->mu");
    rate_limiter rl;
    tb_clock c;
    tb_init(&rl, &c, 1000000);
    harness_context("1,000,000 bytes a second, from an empty bucket a low request of 3,000 "
                    "bytes, then a high one of 2,000: each sleeps, and ends");
    for (int i = 0; i < 2; i++) {
        c.probe_end = 1;
        c.sleeps_before = c.sleeps;
        c.waited_before = rl.waited_ns[RL_LOW] + rl.waited_ns[RL_HIGH];
        c.high = i == 1;
        uint64_t before = c.now;
        rate_limiter_request(&rl, i == 0 ? 3000 : 2000, i == 0 ? RL_LOW : RL_HIGH);
        c.probe_end = 0;
        c.high = 0;
        rate_limiter_counts k;
        rate_limiter_get_counts(&rl, &k);
        EX_CHECK(c.sleeps > c.sleeps_before, "from an empty bucket the %s request sleeps",
                 i == 0 ? "low" : "high");
        EX_CHECK(k.waited_ns == c.waited_before + (c.now - before),
                 "a request that slept adds the time from its start to its end to the waits "
                 "(want %llu ns in all, got %llu)",
                 (unsigned long long)(c.waited_before + (c.now - before)),
                 (unsigned long long)k.waited_ns);
    }
    rate_limiter_destroy(&rl);
}

/* ---- requests on several threads -------------------------------------------- */
/* Three threads ask the limiter for bytes (two low, one high) while a
 * fourth reads its counts and sets its rate, on the real clock at a rate
 * that keeps the bucket empty, so that the requests sleep.  Every count a
 * request keeps is written under rl->mu, which rate_limiter_get_counts
 * reads under: under ThreadSanitizer (the race rung) a count written after
 * the lock is released is a data race. */
/* Periods of 10 ms, much longer than a reading of the slow clock (under
 * ThreadSanitizer too), so that a refill right after another finds no
 * whole period and the request sleeps: 1,000 bytes a period, and each
 * request asks for a period and a half's worth. */
enum { TB_RACE_REQUESTS = 10, TB_RACE_BYTES = 1500, TB_RACE_RATE = 100000 };
#define TB_RACE_PERIOD 10000000ull
static struct {
    rate_limiter rl;
    pthread_barrier_t start;
    atomic_int done;
} tb_race;

/* The real clock, read slowly: a request that reads it after letting
 * rl->mu go (to count its wait, say) stays that long outside the lock, so
 * that what it writes then meets the reader's reads under
 * ThreadSanitizer, not only when the timing happens to fall so. */
static uint64_t tb_race_now(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    usleep(50);
    return ns;
}

static void *tb_race_requester(void *arg)
{
    int prio = (int)(uintptr_t)arg;
    pthread_barrier_wait(&tb_race.start);
    for (int i = 0; i < TB_RACE_REQUESTS; i++)
        rate_limiter_request(&tb_race.rl, TB_RACE_BYTES, prio);
    atomic_fetch_add(&tb_race.done, 1);
    return NULL;
}

static void *tb_race_reader(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&tb_race.start);
    while (atomic_load(&tb_race.done) < 3) {
        rate_limiter_counts k;
        rate_limiter_get_counts(&tb_race.rl, &k);
        rate_limiter_set_rate(&tb_race.rl, TB_RACE_RATE);
        usleep(20);
    }
    return NULL;
}

static void token_bucket_race_requests_and_counts(void)
{
    EX_RULE_BEGIN(6, "every count kept under rl->mu");
    ex_race_rule(EX_RULE(6, "a request's counts (granted, waited_ns, the histogram of waits, "
                         "sleeping, high_waiting) are kept under rl->mu, until its end"));
    int s = rate_limiter_init(&tb_race.rl, TB_RACE_RATE, TB_RACE_PERIOD, tb_race_now, NULL,
                              NULL);
    EX_CHECK(s == KV_OK, "rate_limiter_init: %s", kv_strerror(s));
    atomic_store(&tb_race.done, 0);
    EX_CHECK(pthread_barrier_init(&tb_race.start, NULL, 4) == 0,
             "test setup: pthread_barrier_init");
    harness_context("3 threads (two low, one high) each ask %d times for %d bytes at %d bytes "
                    "a second on the real clock, while a fourth reads the counts and sets the "
                    "rate", TB_RACE_REQUESTS, TB_RACE_BYTES, TB_RACE_RATE);
    pthread_t t[4];
    static const int prio[3] = {RL_LOW, RL_LOW, RL_HIGH};
    for (int i = 0; i < 3; i++)
        EX_CHECK(pthread_create(&t[i], NULL, tb_race_requester, (void *)(uintptr_t)prio[i]) == 0,
                 "test setup: pthread_create");
    EX_CHECK(pthread_create(&t[3], NULL, tb_race_reader, NULL) == 0,
             "test setup: pthread_create");
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&tb_race.start);
    rate_limiter_counts k;
    rate_limiter_get_counts(&tb_race.rl, &k);
    histogram_counts h;
    histogram_read(&tb_race.rl.waits, &h);
    unsigned long long each = (unsigned long long)TB_RACE_REQUESTS * TB_RACE_BYTES;
    EX_CHECK(k.granted == 3 * each && k.granted_high == each,
             "every byte asked is granted once: %llu in all (got %llu), %llu of them the high "
             "requests' (got %llu)", 3 * each, (unsigned long long)k.granted, each,
             (unsigned long long)k.granted_high);
    EX_CHECK(k.high_waiting == 0 && tb_race.rl.sleeping == 0,
             "once every request has ended none is counted waiting or sleeping (high_waiting "
             "%llu, sleeping %d)", (unsigned long long)k.high_waiting, tb_race.rl.sleeping);
    EX_CHECK(h.count > 0 && k.waited_ns > 0, "requests that found the bucket empty slept, and "
             "their waits are counted: %llu waits in the histogram, %llu ns waited",
             (unsigned long long)h.count, (unsigned long long)k.waited_ns);
    rate_limiter_destroy(&tb_race.rl);
}

static const harness_test tests[] = {
    HARNESS_TEST(token_bucket_rate_zero_waits_for_nothing),
    HARNESS_TEST(token_bucket_grants_at_the_rate),
    HARNESS_TEST(token_bucket_carries_over_at_most_the_burst),
    HARNESS_TEST(token_bucket_a_long_sleep_keeps_its_periods),
    HARNESS_TEST(token_bucket_a_period_not_yet_whole_brings_nothing),
    HARNESS_TEST(token_bucket_keeps_the_time_between_requests),
    HARNESS_TEST(token_bucket_idle_time_brings_only_its_worth),
    HARNESS_TEST(token_bucket_keeps_what_is_left_of_a_period),
    HARNESS_TEST(token_bucket_a_new_rate_is_seen),
    HARNESS_TEST(token_bucket_the_burst_is_exact_below_a_byte_a_period),
    HARNESS_TEST(token_bucket_the_burst_caps_the_fraction_of_a_byte),
    HARNESS_TEST(token_bucket_one_byte_a_second_is_a_limit),
    HARNESS_TEST(token_bucket_counts_each_priority),
    HARNESS_TEST(token_bucket_a_request_ends_under_the_lock),
    HARNESS_TEST(token_bucket_the_level_never_passes_the_burst),
    HARNESS_TEST(token_bucket_a_low_request_waits_while_a_high_one_does),
    HARNESS_TEST(token_bucket_race_requests_and_counts),
};
const harness_suite token_bucket_suite = HARNESS_SUITE("token_bucket", tests);
