/*
 * latency.h: the engine's latency histograms, one per kind of operation,
 * kept in each open database (common/histogram.h's: fixed log-scaled
 * buckets, recorded without a lock), printed by kv_stats two lines each
 * (latency_stats) and exported by `kv serve --metrics-port` as Prometheus
 * histograms (docs/metrics.md).  What is timed, from the call's start
 * (its arguments checked) to its return, in nanoseconds:
 *
 *   get                kv_get, kv_get_at, and so the lookups made with
 *                      them: kv_txn_get's reads at its snapshot, the
 *                      commit's comparisons of values (stages 01 to 06:
 *                      two per key written), kv_multi_get's lookups where
 *                      it is a loop of kv_get (common/multi_get.c)
 *   put, delete, batch kv_put, kv_delete, kv_write: any wait to be let in
 *                      (a stall) included
 *   iter.seek          kv_iter_seek, kv_iter_seek_first, kv_iter_seek_last
 *   iter.next          kv_iter_next, kv_iter_prev: sampled (below)
 *   txn.commit         kv_txn_commit of a transaction that writes
 *   flush              stage 04 on: a memtable written to a table (the
 *                      background thread's job)
 *   compact            stages 02, 03: kv_compact's merge; 04 on: each
 *                      merge job
 *   stall.memtable     stage 04 on: a writer's wait for the frozen
 *                      memtable to be flushed (each wait; kv_flush's and
 *                      kv_compact's waits for it too)
 *   stall.l0_slowdown, stall.l0_stop
 *                      stage 06 on: a write's 1 ms slowdown, its wait for
 *                      a compaction (lsm_admit.c)
 *   values.gc          a job of the value store (stage 08's collection
 *                      of its value log): printed once one is recorded
 *
 * A step of an iterator costs tens of nanoseconds, as much as the two
 * readings of the clock that would time it: so one step in
 * LATENCY_STEP_SAMPLE of each thread is timed (the thread's first, then
 * every LATENCY_STEP_SAMPLE-th), and every step is recorded, a step not
 * timed at the time of the thread's last timed one.  The count is exact;
 * the sum and the percentiles are those of the timed steps, each standing
 * for the steps after it.
 *
 * Cost of the rest: two readings of CLOCK_MONOTONIC (about 20 ns each, in
 * user space) and one histogram_record (a few ns) per operation.  A build
 * with KV_NO_HISTOGRAMS defined (`make FLAVOUR=nohist`, for measuring
 * that cost) does neither: latency_start is 0, latency_record does
 * nothing, and kv_stats says "latency.histograms: off".
 *
 * Threads: any thread records into any histogram of the set, with no
 * lock (histogram.h); latency_stats reads them while others record.
 */
#ifndef KV_COMMON_LATENCY_H
#define KV_COMMON_LATENCY_H

#include <stdint.h>
#include <time.h>

#include "histogram.h"
#include "kv.h"

typedef enum latency_op {
    LATENCY_GET,
    LATENCY_PUT,
    LATENCY_DELETE,
    LATENCY_BATCH,
    LATENCY_ITER_SEEK,
    LATENCY_ITER_NEXT,
    LATENCY_TXN_COMMIT,
    LATENCY_FLUSH,
    LATENCY_COMPACT,
    LATENCY_STALL_MEMTABLE,
    LATENCY_STALL_SLOWDOWN,
    LATENCY_STALL_STOP,
    LATENCY_VALUE_GC,
    LATENCY_OPS
} latency_op;

/* The operations every stage does, and each later stage's additions, as
 * masks of 1u << op for latency_stats. */
#define LATENCY_MASK(op) (1u << (op))
#define LATENCY_CALLS                                                                        \
    (LATENCY_MASK(LATENCY_GET) | LATENCY_MASK(LATENCY_PUT) | LATENCY_MASK(LATENCY_DELETE) |    \
     LATENCY_MASK(LATENCY_BATCH) | LATENCY_MASK(LATENCY_ITER_SEEK) |                           \
     LATENCY_MASK(LATENCY_ITER_NEXT) | LATENCY_MASK(LATENCY_TXN_COMMIT))

/* One iterator step in this many is timed (above). */
#define LATENCY_STEP_SAMPLE 16u

/* A database's histograms: 13 of them, 33 KiB each, zeroed with the
 * database (calloc), their pages touched only where they are used. */
typedef struct latency_set {
    histogram h[LATENCY_OPS];
} latency_set;

#ifndef KV_NO_HISTOGRAMS
/* Now, in nanoseconds: where an operation starts (never 0). */
static inline uint64_t latency_start(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Records the time since t0 (latency_start's) as one `op`. */
static inline void latency_record(latency_set *l, latency_op op, uint64_t t0)
{
    histogram_record(&l->h[op], latency_start() - t0);
}

/* Records ns, an operation's time measured already. */
static inline void latency_record_ns(latency_set *l, latency_op op, uint64_t ns)
{
    histogram_record(&l->h[op], ns);
}

/* This thread's steps, and the time of its last timed one (latency.c). */
extern _Thread_local unsigned latency_steps;
extern _Thread_local uint64_t latency_step_ns;

/* For an iterator step: latency_start() for one step in
 * LATENCY_STEP_SAMPLE of this thread, else 0 (not timed). */
static inline uint64_t latency_step_start(void)
{
    return latency_steps++ % LATENCY_STEP_SAMPLE == 0 ? latency_start() : 0;
}

/* Records a step: its time if it was timed (t0 not 0), else the last
 * timed step's. */
static inline void latency_step_record(latency_set *l, latency_op op, uint64_t t0)
{
    if (t0 != 0)
        latency_step_ns = latency_start() - t0;
    histogram_record(&l->h[op], latency_step_ns);
}
#else
static inline uint64_t latency_start(void) { return 0; }
static inline void latency_record(latency_set *l, latency_op op, uint64_t t0)
{
    (void)l, (void)op, (void)t0;
}
static inline void latency_record_ns(latency_set *l, latency_op op, uint64_t ns)
{
    (void)l, (void)op, (void)ns;
}
static inline uint64_t latency_step_start(void) { return 0; }
static inline void latency_step_record(latency_set *l, latency_op op, uint64_t t0)
{
    (void)l, (void)op, (void)t0;
}
#endif

/* kv_stats' lines for the histograms of `mask` (LATENCY_MASK bits; and
 * values.gc, whatever the mask, once it holds a record), two each
 * (histogram_stats_line, histogram_buckets_line):
 *   session.get.latency_us: count=N,sum=S,p50=A,p99=B,p99.9=C,max=D
 *   session.get.latency_us.buckets: 1.024=N,...
 * in the order of latency_op.  The names are latency_name's.  KV_OK or
 * KV_ERR_NOMEM (some lines may have been emitted). */
int  latency_stats(const latency_set *l, unsigned mask, kv_line_fn line, void *ctx);

/* The same lines appended to *text, kv_stats' text so far (malloc'd,
 * whole lines): KV_OK with *text grown, or KV_ERR_NOMEM with *text freed
 * (NULL). */
int  latency_stats_append(char **text, const latency_set *l, unsigned mask);

/* An operation's name in kv_stats, "_us" left out ("session.get.latency"). */
const char *latency_name(latency_op op);

#endif
