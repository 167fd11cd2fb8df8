/*
 * limited_rate.c: the pace of the background's writes in this stage
 * (stage 04's bg_rate.h): the token bucket (rate_limiter.h), at
 * kv_options.background_bytes_per_sec to begin with, and at what
 * kv_set_background_rate sets after.  The engine asks it for the bytes of
 * every table a flush or a merge writes, as the file grows (stage 04's
 * lsm_out.c: a 256 KiB buffer at a time, and the rest at finish), so a
 * table's writes never run more than a buffer ahead of the rate, and
 * over a compaction at most rate * (time + burst) + one buffer go out.
 *
 * Priorities: a flush's bytes (BG_RATE_FLUSH: writers wait for its
 * memtable to go) ask at RL_HIGH, every other table's at RL_LOW, so a
 * flush's bytes are never paced behind a merge's: while a flush's request
 * waits, a merge's takes nothing.  In this engine one thread writes every
 * table, and a merge stops between two entries to flush a memtable frozen
 * meanwhile (lsm_compact.c), so the two requests meet only when something
 * else shares the limiter; what the priority cannot shorten is a merge's
 * request already waiting when the memtable is frozen: at most one buffer
 * at the rate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_rate.h"
#include "error.h"
#include "histogram.h"
#include "rate_limiter.h"

struct bg_rate {
    rate_limiter limiter;
    int flush_priority;      /* RL_HIGH; RL_LOW with KV_LIMITER_PRIORITIES=off,
                                a switch for measuring what the priority
                                buys (make bench-limiter), never set else */
};

int bg_rate_new(const kv_options *opt, bg_rate **out)
{
    *out = NULL;
    /* malloc, not calloc: rate_limiter_init sets every field, its
     * histogram of waits (33 KiB) zeroed once, not twice, at each open. */
    bg_rate *r = malloc(sizeof *r);
    if (r == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open: cannot allocate the rate limiter");
    uint64_t rate = opt != NULL ? opt->background_bytes_per_sec : 0;
    if (rate_limiter_init(&r->limiter, rate, 0, NULL, NULL, NULL) != KV_OK) {
        free(r);
        return kv_error(KV_ERR_NOMEM, "kv_open: cannot make the rate limiter's lock");
    }
    /* A switch for measurement only: flushes at a merge's priority, to see
     * what the priority changes. */
    const char *prio = getenv("KV_LIMITER_PRIORITIES");
    r->flush_priority = prio != NULL && strcmp(prio, "off") == 0 ? RL_LOW : RL_HIGH;
    *out = r;
    return KV_OK;
}

void bg_rate_free(bg_rate *r)
{
    if (r == NULL)
        return;
    rate_limiter_destroy(&r->limiter);
    free(r);
}

int bg_rate_set(bg_rate *r, uint64_t bytes_per_sec)
{
    rate_limiter_set_rate(&r->limiter, bytes_per_sec);
    return KV_OK;
}

void bg_rate_ask(bg_rate *r, uint64_t bytes, int who)
{
    rate_limiter_request(&r->limiter, bytes, who == BG_RATE_FLUSH ? r->flush_priority : RL_LOW);
}

void bg_rate_stats(bg_rate *r, kv_line_fn line, void *ctx)
{
    rate_limiter_counts l;
    rate_limiter_get_counts(&r->limiter, &l);
    const struct {
        const char *name;
        uint64_t n;
    } rows[] = {
        {"rate_limiter.bytes_per_second", l.rate},
        {"session.rate_limiter.granted_bytes", l.granted},
        {"session.rate_limiter.waited_us", l.waited_ns / 1000},
        {"session.rate_limiter.flush_granted_bytes", l.granted_high}, /* flushes' tables */
        {"session.rate_limiter.flush_waited_us", l.waited_high_ns / 1000},
        {"rate_limiter.flushes_waiting", l.high_waiting},
    };
    char text[96];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(text, sizeof text, "%s: %llu", rows[i].name, (unsigned long long)rows[i].n);
        line(ctx, text);
    }
    histogram_counts *waits = malloc(sizeof *waits); /* (8 KiB: not on the stack) */
    if (waits != NULL) {
        histogram_read(&r->limiter.waits, waits);
        histogram_stats_line(waits, "session.rate_limiter.wait", line, ctx);
        histogram_buckets_line(waits, "session.rate_limiter.wait", line, ctx);
        free(waits);
    }
}
