/*
 * histogram.c: the latency histogram of histogram.h (buckets, error bound
 * and threading rules are there).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"

/* A thread's stripe plus one (0: not chosen yet), and how many threads
 * have chosen one. */
static _Thread_local unsigned histogram_my_stripe;
static _Atomic unsigned histogram_next_stripe;

void histogram_init(histogram *h)
{
    memset(h, 0, sizeof *h);
}

/* malloc, aligned by hand, not aligned_alloc: the allocators tests put in
 * the C library's place (the grade's exercises' among them) count the
 * blocks of malloc, calloc and realloc, and a block one did not see made
 * would upset its count when freed.  The block's start is kept in the
 * word before the histogram. */
histogram *histogram_new(void)
{
    size_t align = _Alignof(histogram);
    uint8_t *base = malloc(sizeof(histogram) + sizeof(void *) + align);
    if (base == NULL)
        return NULL;
    uintptr_t at = ((uintptr_t)(base + sizeof(void *)) + align - 1) & ~(uintptr_t)(align - 1);
    histogram *h = (histogram *)at;
    memcpy((uint8_t *)h - sizeof(void *), &base, sizeof base);
    histogram_init(h);
    return h;
}

void histogram_free(histogram *h)
{
    if (h == NULL)
        return;
    uint8_t *base;
    memcpy(&base, (uint8_t *)h - sizeof(void *), sizeof base);
    free(base);
}

void histogram_reset(histogram *h)
{
    for (size_t s = 0; s < HISTOGRAM_STRIPES; s++) {
        histogram_stripe *st = &h->stripe[s];
        atomic_store_explicit(&st->sum, 0, memory_order_relaxed);
        atomic_store_explicit(&st->min_plus_one, 0, memory_order_relaxed);
        atomic_store_explicit(&st->max, 0, memory_order_relaxed);
        for (size_t i = 0; i < HISTOGRAM_BUCKETS; i++)
            atomic_store_explicit(&st->bucket[i], 0, memory_order_relaxed);
    }
}

size_t histogram_bucket_of(uint64_t ns)
{
    if (ns >> HISTOGRAM_TOP_BITS)
        return HISTOGRAM_BUCKETS - 1;
    if (ns < 2 * HISTOGRAM_SUB)
        return (size_t)ns;
    unsigned top = 63u - (unsigned)__builtin_clzll(ns);   /* ns in [2^top, 2^(top+1)) */
    unsigned shift = top - HISTOGRAM_SUB_BITS;
    return (size_t)shift * HISTOGRAM_SUB + (size_t)(ns >> shift);
}

uint64_t histogram_bucket_low(size_t i)
{
    if (i >= HISTOGRAM_BUCKETS - 1)
        return (uint64_t)1 << HISTOGRAM_TOP_BITS;
    if (i < 2 * HISTOGRAM_SUB)
        return i;
    size_t shift = i / HISTOGRAM_SUB - 1;
    return (uint64_t)(i - shift * HISTOGRAM_SUB) << shift;
}

/* Bucket i's width in ns (the last one: unbounded, 0). */
static uint64_t histogram_bucket_width(size_t i)
{
    if (i >= HISTOGRAM_BUCKETS - 1)
        return 0;
    return i < 2 * HISTOGRAM_SUB ? 1 : (uint64_t)1 << (i / HISTOGRAM_SUB - 1);
}

/* Adds to a counter only this thread writes: a load and a store, no
 * locked instruction (readers still read it whole: it is atomic). */
static inline void histogram_bump(_Atomic uint64_t *a, uint64_t by)
{
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

void histogram_record(histogram *h, uint64_t ns)
{
    unsigned mine = histogram_my_stripe;
    if (mine == 0) {
        unsigned k = atomic_fetch_add_explicit(&histogram_next_stripe, 1, memory_order_relaxed);
        mine = (k < HISTOGRAM_STRIPES - 1 ? k : HISTOGRAM_STRIPES - 1) + 1;
        histogram_my_stripe = mine;
    }
    histogram_stripe *st = &h->stripe[mine - 1];
    _Atomic uint64_t *bucket = &st->bucket[histogram_bucket_of(ns)];
    uint64_t min1 = atomic_load_explicit(&st->min_plus_one, memory_order_relaxed);
    uint64_t max = atomic_load_explicit(&st->max, memory_order_relaxed);
    uint64_t ns1 = ns != UINT64_MAX ? ns + 1 : ns;
    if (mine < HISTOGRAM_STRIPES) { /* this thread's own stripe */
        histogram_bump(bucket, 1);
        histogram_bump(&st->sum, ns);
        if (ns > max)
            atomic_store_explicit(&st->max, ns, memory_order_relaxed);
        if (min1 == 0 || ns1 < min1)
            atomic_store_explicit(&st->min_plus_one, ns1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(bucket, 1, memory_order_relaxed); /* the shared stripe */
    atomic_fetch_add_explicit(&st->sum, ns, memory_order_relaxed);
    while (ns > max &&
           !atomic_compare_exchange_weak_explicit(&st->max, &max, ns, memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
    while ((min1 == 0 || ns1 < min1) &&
           !atomic_compare_exchange_weak_explicit(&st->min_plus_one, &min1, ns1,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

void histogram_read(const histogram *h, histogram_counts *out)
{
    memset(out, 0, sizeof *out);
    uint64_t min1 = 0;
    for (size_t s = 0; s < HISTOGRAM_STRIPES; s++) {
        const histogram_stripe *st = &h->stripe[s];
        /* A record's min comes last: a stripe without one holds no record
         * yet but those still under way, which a read may leave out.  Most
         * stripes of most histograms are such, and their 8 KiB of buckets
         * need not be read. */
        uint64_t m1 = atomic_load_explicit(&st->min_plus_one, memory_order_relaxed);
        if (m1 == 0)
            continue;
        if (min1 == 0 || m1 < min1)
            min1 = m1;
        out->sum += atomic_load_explicit(&st->sum, memory_order_relaxed);
        uint64_t max = atomic_load_explicit(&st->max, memory_order_relaxed);
        if (max > out->max)
            out->max = max;
        for (size_t i = 0; i < HISTOGRAM_BUCKETS; i++) {
            uint64_t n = atomic_load_explicit(&st->bucket[i], memory_order_relaxed);
            out->bucket[i] += n;
            out->count += n;
        }
    }
    if (out->count == 0) {
        out->sum = out->max = 0;
        return;
    }
    /* A record seen in its bucket but not yet in min or max: keep min <= max. */
    out->min = min1 != 0 ? min1 - 1 : 0;
    if (out->max < out->min)
        out->max = out->min;
}

double histogram_percentile(const histogram_counts *c, double q)
{
    if (c->count == 0)
        return 0;
    if (!(q > 0))
        q = 0;
    if (q > 1)
        q = 1;
    double want = q * (double)c->count;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++; /* ceil, without libm */
    if (rank == 0)
        rank = 1;
    if (rank >= c->count)
        return (double)c->max; /* the largest sample is known exactly */
    uint64_t seen = 0;
    for (size_t i = 0; i < HISTOGRAM_BUCKETS; i++) {
        seen += c->bucket[i];
        if (seen < rank)
            continue;
        uint64_t width = histogram_bucket_width(i);
        double v = width == 0 ? (double)c->max
                              : (double)histogram_bucket_low(i) + (double)(width - 1) / 2;
        if (v < (double)c->min)
            v = (double)c->min;
        if (v > (double)c->max)
            v = (double)c->max;
        return v;
    }
    return (double)c->max;
}

void histogram_stats_line(const histogram_counts *c, const char *name,
                          void (*line)(void *ctx, const char *line), void *ctx)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s_us: count=%llu,sum=%.3f,p50=%.3f,p99=%.3f,p99.9=%.3f,max=%.3f",
             name, (unsigned long long)c->count, (double)c->sum / 1e3,
             histogram_percentile(c, 0.50) / 1e3, histogram_percentile(c, 0.99) / 1e3,
             histogram_percentile(c, 0.999) / 1e3, (double)c->max / 1e3);
    line(ctx, buf);
}

void histogram_buckets_line(const histogram_counts *c, const char *name,
                            void (*line)(void *ctx, const char *line), void *ctx)
{
    char buf[2048];
    size_t at = (size_t)snprintf(buf, sizeof buf, "%s_us.buckets: ", name);
    uint64_t below = 0, listed = 0;
    size_t i = 0;
    /* Once every record is listed, no later bound adds one: the walk over
     * the rest of the 1,025 buckets would print nothing. */
    for (size_t b = 0; b < HISTOGRAM_PROM_BOUNDS && listed < c->count; b++) {
        uint64_t bound = histogram_prom_bound(b);
        for (; i < HISTOGRAM_BUCKETS - 1 && histogram_bucket_low(i) < bound; i++)
            below += c->bucket[i];
        if (below == listed || at >= sizeof buf)
            continue;
        at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%llu.%03llu=%llu",
                               listed > 0 ? "," : "", (unsigned long long)(bound / 1000),
                               (unsigned long long)(bound % 1000), (unsigned long long)below);
        listed = below;
    }
    if (listed == 0 && at < sizeof buf)
        snprintf(buf + at, sizeof buf - at, "none");
    line(ctx, buf);
}

uint64_t histogram_prom_bound(size_t i)
{
    uint64_t pow = (uint64_t)1 << (10 + i / 2);
    return i % 2 == 0 ? pow : pow + pow / 2;
}

void histogram_seconds_text(uint64_t ns, char *buf, size_t cap)
{
    snprintf(buf, cap, "%llu.%09llu", (unsigned long long)(ns / 1000000000u),
             (unsigned long long)(ns % 1000000000u));
    size_t n = strlen(buf);
    while (buf[n - 1] == '0')
        buf[--n] = '\0';
    if (buf[n - 1] == '.')
        buf[--n] = '\0';
}

void histogram_prometheus(const histogram_counts *c, const char *family, const char *labels,
                          void (*line)(void *ctx, const char *line), void *ctx)
{
    const char *lab = labels != NULL ? labels : "";
    const char *comma = lab[0] != '\0' ? "," : "";
    char buf[512];
    uint64_t below = 0;
    size_t i = 0;
    for (size_t b = 0; b < HISTOGRAM_PROM_BOUNDS; b++) {
        uint64_t bound = histogram_prom_bound(b);
        for (; i < HISTOGRAM_BUCKETS - 1 && histogram_bucket_low(i) < bound; i++)
            below += c->bucket[i];
        char le[32];
        histogram_seconds_text(bound, le, sizeof le);
        snprintf(buf, sizeof buf, "%s_bucket{%s%sle=\"%s\"} %llu", family, lab, comma, le,
                 (unsigned long long)below);
        line(ctx, buf);
    }
    snprintf(buf, sizeof buf, "%s_bucket{%s%sle=\"+Inf\"} %llu", family, lab, comma,
             (unsigned long long)c->count);
    line(ctx, buf);
    char sum[32];
    histogram_seconds_text(c->sum, sum, sizeof sum);
    snprintf(buf, sizeof buf, "%s_sum%s%s%s %s", family, lab[0] ? "{" : "", lab,
             lab[0] ? "}" : "", sum);
    line(ctx, buf);
    snprintf(buf, sizeof buf, "%s_count%s%s%s %llu", family, lab[0] ? "{" : "", lab,
             lab[0] ? "}" : "", (unsigned long long)c->count);
    line(ctx, buf);
}
