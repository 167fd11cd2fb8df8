/*
 * bench_hist.h: a latency histogram with about 1.5% resolution.
 *
 * Values are nanoseconds.  Below 128 ns each value has its own bucket; above,
 * each power of two is cut into 64 equal buckets, so a percentile is known
 * to within 1/64 of its value whatever its size (the HdrHistogram idea).
 * A histogram is a plain struct: one per thread, merged at the end.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS 6
#define BENCH_HIST_SUB (1u << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_BUCKETS (2u * BENCH_HIST_SUB + 57u * BENCH_HIST_SUB)

typedef struct bench_hist {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t max_ns;
    uint64_t buckets[BENCH_HIST_BUCKETS];
} bench_hist;

void bench_hist_clear(bench_hist *h);
void bench_hist_add(bench_hist *h, uint64_t ns);
void bench_hist_merge(bench_hist *into, const bench_hist *from);
/* The value below which a fraction p (0..1) of the samples lie, in ns:
 * the middle of the bucket that holds it.  0 for an empty histogram. */
double bench_hist_percentile(const bench_hist *h, double p);
double bench_hist_mean(const bench_hist *h);

#endif
