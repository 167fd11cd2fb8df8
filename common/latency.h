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
 *                      it is a loop of kv_get (common/multi_get.c);
 *                      sampled (below)
 *   put, delete, batch kv_put, kv_delete, kv_write: any wait to be let in
 *                      (a stall) included; puts and deletes sampled
 *   iter.seek          kv_iter_seek, kv_iter_seek_first, kv_iter_seek_last:
 *                      sampled
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
 * Sampled: reading the clock twice costs about 40 ns here (two readings of
 * CLOCK_MONOTONIC in user space, each waiting for the instructions before
 * it), as much as an iterator step and a few percent of a get or a put
 * that finds its block cached.  So the calls that come by the million are
 * timed one in LATENCY_SAMPLE(op) of each thread, kind by kind (the
 * thread's first, then every N-th): a get, put, delete or seek one in
 * LATENCY_CALL_SAMPLE, an iterator step one in LATENCY_STEP_SAMPLE.
 * Every call is recorded, one not timed at the time of the thread's last
 * timed call of its kind: the count is exact; the sum and the
 * percentiles are those of the timed calls, each standing for the ones
 * after it.  Every other kind (batches, commits, the engine's own work,
 * stalls) is timed each time.  A build with KV_NO_HISTOGRAMS defined
 * (`make FLAVOUR=nohist`, for measuring what the histograms cost) reads
 * no clock: latency_start is 0, latency_record does nothing, and kv_stats
 * says "latency.histograms: off".
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

/* One call in this many of each thread is timed (above): gets, puts,
 * deletes and seeks; iterator steps; LATENCY_SAMPLE(op) for any kind (1:
 * every call). */
#define LATENCY_CALL_SAMPLE 8u
#define LATENCY_STEP_SAMPLE 16u
#define LATENCY_SAMPLE(op)                                                     \
    ((op) == LATENCY_ITER_NEXT ? LATENCY_STEP_SAMPLE                           \
     : (op) == LATENCY_GET || (op) == LATENCY_PUT || (op) == LATENCY_DELETE || \
       (op) == LATENCY_ITER_SEEK                                               \
         ? LATENCY_CALL_SAMPLE                                                 \
         : 1u)

/* A database's histograms, one per kind, 33 KiB each.  A kind's histogram
 * is allocated (and zeroed) by its first record, so that kv_open zeroes
 * none of them and a database pays only for the kinds it does (a reader
 * never makes the flush's).  A set starts zeroed (calloc'd with its
 * database: every kind NULL) and ends with latency_set_free.  A record
 * whose histogram cannot be allocated is lost: the count then misses it.
 * Threads: two first records of a kind at once make one histogram
 * (compare-and-swap; the loser frees its own). */
typedef struct latency_set {
    _Atomic(histogram *) h[LATENCY_OPS];   /* NULL: nothing recorded yet */
} latency_set;

/* Frees the histograms (leaving every kind NULL).  REQUIRES: no thread
 * records into l any more. */
void latency_set_free(latency_set *l);

#ifndef KV_NO_HISTOGRAMS
/* op's histogram, made by its first record (latency.c): NULL when it
 * cannot be allocated. */
histogram *latency_histogram_make(latency_set *l, latency_op op);

static inline histogram *latency_histogram(latency_set *l, latency_op op)
{
    histogram *h = atomic_load_explicit(&l->h[op], memory_order_acquire);
    return h != NULL ? h : latency_histogram_make(l, op);
}

/* Records ns, an operation's time measured already. */
static inline void latency_record_ns(latency_set *l, latency_op op, uint64_t ns)
{
    histogram *h = latency_histogram(l, op);
    if (h != NULL)
        histogram_record(h, ns);
}

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
    latency_record_ns(l, op, latency_start() - t0);
}

/* This thread's calls of each kind, and the time of its last timed one
 * (latency.c). */
typedef struct latency_sampler {
    unsigned calls;
    uint64_t last_ns;
} latency_sampler;
extern _Thread_local latency_sampler latency_samplers[LATENCY_OPS];

/* Where a call of kind op starts: latency_start() for one in
 * LATENCY_SAMPLE(op) of this thread's, else 0 (not timed). */
static inline uint64_t latency_call_start(latency_op op)
{
    return latency_samplers[op].calls++ % LATENCY_SAMPLE(op) == 0 ? latency_start() : 0;
}

/* The call's time: since t0 if it was timed (t0 not 0), else the time of
 * the thread's last timed call of its kind. */
static inline uint64_t latency_call_ns(latency_op op, uint64_t t0)
{
    if (t0 != 0)
        latency_samplers[op].last_ns = latency_start() - t0;
    return latency_samplers[op].last_ns;
}

/* Records a call of kind op that latency_call_start started at t0. */
static inline void latency_call_record(latency_set *l, latency_op op, uint64_t t0)
{
    latency_record_ns(l, op, latency_call_ns(op, t0));
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
static inline uint64_t latency_call_start(latency_op op)
{
    (void)op;
    return 0;
}
static inline uint64_t latency_call_ns(latency_op op, uint64_t t0)
{
    (void)op, (void)t0;
    return 0;
}
static inline void latency_call_record(latency_set *l, latency_op op, uint64_t t0)
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
