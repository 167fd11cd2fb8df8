/*
 * record_sampling.c: the rule of record_sampling.h.  Each thread counts
 * its own asks (a thread-local counter: no cache line shared between the
 * readers), and the one that reaches a window looks at the whole cache's
 * counts, under a mutex another looker does not wait for.
 */
#include "kv.h"
#include "record_sampling.h"

static _Thread_local unsigned record_sampling_tick;

int record_sampling_init(record_sampling *s)
{
    atomic_init(&s->on, 0);
    atomic_init(&s->left_out, 0);
    atomic_init(&s->changes, 0);
    s->last_hits = s->last_asks = 0;
    return pthread_mutex_init(&s->mu, NULL) == 0 ? KV_OK : KV_ERR_NOMEM;
}

void record_sampling_destroy(record_sampling *s)
{
    pthread_mutex_destroy(&s->mu);
}

void record_sampling_asked(record_sampling *s, record_cache *rc)
{
    if (++record_sampling_tick < RECORD_SAMPLE_WINDOW)
        return;
    record_sampling_tick = 0;
    if (pthread_mutex_trylock(&s->mu) != 0)
        return; /* another thread is looking */
    record_counts c;
    record_cache_counts(rc, &c);
    uint64_t asks = c.hits + c.misses + c.bypassed;
    uint64_t d_asks = asks - s->last_asks, d_hits = c.hits - s->last_hits;
    s->last_asks = asks;
    s->last_hits = c.hits;
    if (d_asks >= RECORD_SAMPLE_WINDOW) {
        int on = atomic_load_explicit(&s->on, memory_order_relaxed);
        int now = on ? d_hits * 1000 < (uint64_t)RECORD_SAMPLE_LEAVE * d_asks
                     : d_hits * 1000 < (uint64_t)RECORD_SAMPLE_ENTER * d_asks;
        if (now != on) {
            atomic_store_explicit(&s->on, now, memory_order_relaxed);
            atomic_fetch_add_explicit(&s->changes, 1, memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(&s->mu);
}
