/*
 * cost.h: the calling thread's kv_cost (kv.h), which each stage's lookups
 * add to.  Nothing is shared: the counts are thread-local, read only by
 * their own thread (kv_cost_get), so no lock and no atomic is needed.
 *
 * Two ways to count a lookup:
 *   - the LSM stages (04 on) know their work piece by piece (memtables,
 *     tables, filters, blocks): a lookup fills a kv_cost of its own, on
 *     its stack, and adds it once at its end (cost_add);
 *   - stages 01 to 03 read their files directly: a lookup notes the time
 *     and this thread's reads so far (cost_begin: io_thread_reads, io.h),
 *     and at its end records its time and adds one get with the reads and
 *     bytes read since (cost_end_get).
 */
#ifndef KV_COMMON_COST_H
#define KV_COMMON_COST_H

#include <stdint.h>

#include "kv.h"
#include "latency.h"

/* Whether this thread has called kv_cost_reset: it wants to know what its
 * lookups cost, so each of them is timed from then on.  Other threads'
 * lookups are timed one in LATENCY_CALL_SAMPLE, as kv_stats' histograms
 * need (latency.h). */
extern _Thread_local int cost_wanted;

/* Where a lookup starts: now, or 0 where it is not timed (latency.h). */
static inline uint64_t cost_start(void)
{
    return cost_wanted ? latency_start() : latency_call_start(LATENCY_GET);
}

/* Adds c, field by field, to this thread's counts. */
void cost_add(const kv_cost *c);

/* Where a lookup of stages 01 to 03 started. */
typedef struct cost_mark {
    uint64_t t0;            /* cost_start() */
    uint64_t reads, bytes;  /* io_thread_reads() */
} cost_mark;

cost_mark cost_begin(void);
/* The lookup's end: its time (latency_call_ns) recorded as
 * LATENCY_GET in l, and added to this thread's counts as one get of that
 * time, with the reads and the bytes read since m. */
void cost_end_get(const cost_mark *m, latency_set *l);

#endif
