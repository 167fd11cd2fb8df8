/*
 * bench_hist.c: the log-linear latency histogram of bench_hist.h.
 *
 * Bucket of a value v (ns):
 *   v < 2*SUB            bucket v (exact)
 *   otherwise, with e = floor(log2 v) >= SUB_BITS + 1:
 *                        bucket (e - SUB_BITS) * SUB + (v >> (e - SUB_BITS)) - SUB
 * i.e. the top SUB_BITS + 1 bits of v pick the bucket; the bucket covers
 * [b << s, (b + 1) << s) with s = e - SUB_BITS.
 */
#include "bench_hist.h"

#include <string.h>

static unsigned bench_hist_index(uint64_t v)
{
    if (v < 2u * BENCH_HIST_SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned s = e - BENCH_HIST_SUB_BITS;
    unsigned idx = s * BENCH_HIST_SUB + (unsigned)(v >> s);
    return idx < BENCH_HIST_BUCKETS ? idx : BENCH_HIST_BUCKETS - 1;
}

/* [lo, hi) of bucket idx. */
static void bench_hist_range(unsigned idx, double *lo, double *hi)
{
    if (idx < 2u * BENCH_HIST_SUB) {
        *lo = idx;
        *hi = idx + 1.0;
        return;
    }
    unsigned s = idx / BENCH_HIST_SUB - 1u;
    uint64_t top = idx - s * BENCH_HIST_SUB; /* SUB .. 2*SUB-1 */
    *lo = (double)(top << s);
    *hi = (double)((top + 1) << s);
}

void bench_hist_clear(bench_hist *h)
{
    memset(h, 0, sizeof *h);
}

void bench_hist_add(bench_hist *h, uint64_t ns)
{
    h->count++;
    h->sum_ns += ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
    h->buckets[bench_hist_index(ns)]++;
}

void bench_hist_merge(bench_hist *into, const bench_hist *from)
{
    into->count += from->count;
    into->sum_ns += from->sum_ns;
    if (from->max_ns > into->max_ns)
        into->max_ns = from->max_ns;
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
        into->buckets[i] += from->buckets[i];
}

double bench_hist_percentile(const bench_hist *h, double p)
{
    if (h->count == 0)
        return 0;
    double want = p * (double)h->count;
    uint64_t seen = 0;
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if ((double)seen >= want && h->buckets[i] > 0) {
            double lo, hi;
            bench_hist_range(i, &lo, &hi);
            double mid = (lo + hi) / 2;
            return mid > (double)h->max_ns ? (double)h->max_ns : mid;
        }
    }
    return (double)h->max_ns;
}

double bench_hist_mean(const bench_hist *h)
{
    return h->count ? (double)h->sum_ns / (double)h->count : 0;
}
