/*
 * record_sampling.c: the rule of record_sampling.h.  Each thread counts
 * its own lookups (thread-local counters: no cache line shared between
 * the readers) and applies the rule to its own window; the choice it
 * makes holds for every thread.
 */
#include "record_sampling.h"

static _Thread_local unsigned record_sampling_lookups, record_sampling_hits;

void record_sampling_init(record_sampling *s)
{
    atomic_init(&s->on, 0);
    atomic_init(&s->left_out, 0);
    atomic_init(&s->changes, 0);
}

void record_sampling_held(record_sampling *s, int hit)
{
    record_sampling_hits += hit != 0;
    if (++record_sampling_lookups < RECORD_SAMPLE_WINDOW)
        return;
    uint64_t hits = record_sampling_hits;
    record_sampling_lookups = record_sampling_hits = 0;
    int on = atomic_load_explicit(&s->on, memory_order_relaxed);
    int now = on ? hits * 1000 < (uint64_t)RECORD_SAMPLE_LEAVE * RECORD_SAMPLE_WINDOW
                 : hits * 1000 < (uint64_t)RECORD_SAMPLE_ENTER * RECORD_SAMPLE_WINDOW;
    if (now != on && atomic_compare_exchange_strong_explicit(&s->on, &on, now,
                                                             memory_order_relaxed,
                                                             memory_order_relaxed))
        atomic_fetch_add_explicit(&s->changes, 1, memory_order_relaxed);
}
