/*
 * histogram.h: a latency histogram with fixed, log-scaled buckets, recorded
 * without a lock, read as percentiles, a count and a sum.  What a stage (its
 * stats block) or the server keeps per operation: one histogram each for
 * get, put, delete, commit, flush, compaction..., printed by kv_stats as
 * one line each, and by `kv serve` as a Prometheus histogram.
 *
 * The buckets (values are nanoseconds; the HdrHistogram layout):
 *   - 0 .. 63 ns: one bucket per nanosecond (exact);
 *   - then each power of two [2^k, 2^(k+1)), 6 <= k <= 35, is cut into 32
 *     equal buckets of width 2^(k-5);
 *   - values of 2^36 ns (68.7 s) and more share one last bucket.
 * So bucket i (i < 1024) starts at histogram_bucket_low(i) and is
 * 2^max(0, i/32 - 1) ns wide: from 32 ns on, never wider than 1/32 of
 * where it starts.  HISTOGRAM_BUCKETS is 1025 (8 KiB of counts a stripe).
 *
 * Error of a percentile.  histogram_percentile(q) finds the bucket that
 * holds the sample of rank ceil(q * count) (the "nearest rank"
 * definition; rank 1 for q = 0) and answers the middle of the bucket's
 * values (low + (width - 1) / 2), clamped to [min, max] seen.  The true
 * sample t lies in the bucket, so the answer is off by less than half a
 * bucket: less than t / 64 (1.6%) for t below 68.7 s, and exact below
 * 64 ns.  For the last rank, and in the last bucket, it answers the
 * largest value seen.  count, sum and max are exact (sum wraps after
 * 2^64 ns, 584 years of latency).
 *
 * Recording (histogram_record) takes no lock and no locked instruction
 * in the common case.  The counts are spread over HISTOGRAM_STRIPES
 * stripes, each on cache lines of its own.  The first
 * HISTOGRAM_STRIPES - 1 threads that record (in the process, into any
 * histogram) get a stripe each, which only they write: a record is then
 * a relaxed load and store of a bucket, of the sum, and of the minimum or
 * maximum when they move.  Every later thread records into the last
 * stripe, which they share, with relaxed atomic additions and a
 * compare-and-swap for a new minimum or maximum.  Threads recording at
 * once thus never lose a record and do not pass one cache line back and
 * forth (but those past the first three, among themselves).
 *
 * Reading (histogram_read) adds the stripes up into a plain
 * histogram_counts, which is what percentiles and printing work on.  It
 * takes no lock either: a read while others record sees each of their
 * records or not, so the sum may be a few records ahead of or behind the
 * buckets; the count is the buckets' total, so the percentiles agree with
 * it.  A stripe whose minimum is still unset (no record finished in it)
 * is skipped, buckets and all: most stripes of most histograms are.
 * Invariants (of histogram_counts): count = the sum of bucket[];
 * min <= max when count > 0, both 0 when count = 0.
 *
 * REQUIRES: a histogram starts zeroed (histogram_init, calloc or a static).
 * histogram_reset while others record may lose their records of that moment.
 */
#ifndef KV_COMMON_HISTOGRAM_H
#define KV_COMMON_HISTOGRAM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HISTOGRAM_SUB_BITS 5                       /* 32 buckets per power of two */
#define HISTOGRAM_SUB (1u << HISTOGRAM_SUB_BITS)
#define HISTOGRAM_TOP_BITS 36                      /* 2^36 ns = 68.7 s: the last bucket */
#define HISTOGRAM_BUCKETS ((HISTOGRAM_TOP_BITS - HISTOGRAM_SUB_BITS + 1) * HISTOGRAM_SUB + 1)
#define HISTOGRAM_STRIPES 4

typedef struct histogram_stripe {
    _Alignas(64) _Atomic uint64_t sum;
    _Atomic uint64_t min_plus_one;                 /* 0: nothing recorded */
    _Atomic uint64_t max;
    _Alignas(64) _Atomic uint64_t bucket[HISTOGRAM_BUCKETS];
} histogram_stripe;

typedef struct histogram {
    histogram_stripe stripe[HISTOGRAM_STRIPES];
} histogram;

/* A histogram added up at one moment (histogram_read). */
typedef struct histogram_counts {
    uint64_t count, sum, min, max;                 /* nanoseconds but count */
    uint64_t bucket[HISTOGRAM_BUCKETS];
} histogram_counts;

void histogram_init(histogram *h);                 /* zeroes it */
/* A zeroed histogram on the heap, aligned as its stripes ask, or NULL: for
 * one made at its first record.  histogram_free gives it back (NULL: nothing). */
histogram *histogram_new(void);
void histogram_free(histogram *h);
void histogram_reset(histogram *h);                /* the same, for one in use */
void histogram_record(histogram *h, uint64_t ns);
void histogram_read(const histogram *h, histogram_counts *out);

/* The bucket a value falls in, and bucket i's first value (i < 1024;
 * the last bucket starts at 2^36). */
size_t   histogram_bucket_of(uint64_t ns);
uint64_t histogram_bucket_low(size_t i);

/* The q-quantile (0 <= q <= 1) in nanoseconds, as the opening comment
 * says; 0 for an empty histogram. */
double histogram_percentile(const histogram_counts *c, double q);

/* kv_stats' line for it, through `line` (kv.h's kv_line_fn):
 *   NAME_us: count=N,sum=S,p50=A,p99=B,p99.9=C,max=D
 * sum and the percentiles in microseconds with three decimals (Redis's
 * INFO latencystats form).  NAME should say what was timed
 * ("session.get.latency"); "_us" is added. */
void histogram_stats_line(const histogram_counts *c, const char *name,
                          void (*line)(void *ctx, const char *line), void *ctx);

/* kv_stats' second line for it, the counts Prometheus's buckets need:
 *   NAME_us.buckets: B=N,B=N,...
 * N records took less than B microseconds, for each of the Prometheus
 * bounds below (histogram_prom_bound, written in microseconds with three
 * decimals: exact) at which N grows, in increasing order; at a bound not
 * listed N is that of the bound listed before it (0 before the first).
 * Records of 51.5 s and more are in the count of the first line only.
 * "none" when nothing was recorded.  At most 52 pairs (under 2 KiB). */
void histogram_buckets_line(const histogram_counts *c, const char *name,
                            void (*line)(void *ctx, const char *line), void *ctx);

/* The samples of a Prometheus histogram (text exposition format 0.0.4),
 * one line each through `line`, seconds as the unit:
 *   FAMILY_bucket{LABELS,le="B"} N   cumulative, for each bound B below
 *   FAMILY_bucket{LABELS,le="+Inf"} COUNT
 *   FAMILY_sum{LABELS} SUM
 *   FAMILY_count{LABELS} COUNT
 * LABELS ("cmd=\"get\"", already escaped) may be "" or NULL.  The bounds
 * are bucket edges, so each cumulative count is exact (the values below
 * B; one of exactly B ns, 1.024 us and up, counts in the next bound):
 * 2^k and 1.5 * 2^k ns for 10 <= k <= 35 (1.024 us to 51.5 s, two per
 * power of two).  The caller writes the family's # HELP and # TYPE lines
 * first. */
#define HISTOGRAM_PROM_BOUNDS 52
void histogram_prometheus(const histogram_counts *c, const char *family, const char *labels,
                          void (*line)(void *ctx, const char *line), void *ctx);
/* Bound i (0 <= i < HISTOGRAM_PROM_BOUNDS) in nanoseconds. */
uint64_t histogram_prom_bound(size_t i);
/* ns as seconds in decimal, exactly, without trailing zeros
 * ("0.000001024", "2"): the bounds' `le` labels. */
void histogram_seconds_text(uint64_t ns, char *buf, size_t cap);

#endif
