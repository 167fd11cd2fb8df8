/*
 * histogram_test.c: common/histogram.h: the buckets are what the header
 * says, percentiles stay within the stated error of the exact answer,
 * count, sum, min and max are exact, threads recording at once lose
 * nothing, and the two printed forms (kv_stats' line, Prometheus's
 * samples) say the same numbers.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "histogram.h"

/* One histogram is 130 KiB: keep them off the stack. */
static histogram test_h;
static histogram_counts test_c;

static void histogram_buckets_are_contiguous_and_log_scaled(void)
{
    CHECK_EQ(HISTOGRAM_BUCKETS, 1025u);
    CHECK_EQ(histogram_bucket_low(0), 0u);
    for (size_t i = 0; i + 1 < HISTOGRAM_BUCKETS; i++) {
        uint64_t low = histogram_bucket_low(i), next = histogram_bucket_low(i + 1);
        harness_context("bucket %zu: [%llu, %llu)", i, (unsigned long long)low,
                        (unsigned long long)next);
        CHECK(next > low);
        CHECK_EQ(histogram_bucket_of(low), i);
        CHECK_EQ(histogram_bucket_of(next - 1), i);
        if (low >= 32)
            CHECK((next - low) * 32 <= low); /* at most 1/32 of where it starts */
        if (low < 64)
            CHECK_EQ(next - low, 1u);        /* exact below 64 ns */
    }
    CHECK_EQ(histogram_bucket_low(HISTOGRAM_BUCKETS - 1), (uint64_t)1 << 36);
    CHECK_EQ(histogram_bucket_of(((uint64_t)1 << 36) - 1), HISTOGRAM_BUCKETS - 2);
    CHECK_EQ(histogram_bucket_of((uint64_t)1 << 36), HISTOGRAM_BUCKETS - 1);
    CHECK_EQ(histogram_bucket_of(UINT64_MAX), HISTOGRAM_BUCKETS - 1);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A value spread over 1 ns .. ~60 s on a log scale (xorshift). */
static uint64_t log_spread(uint64_t *seed)
{
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    unsigned bits = (unsigned)(*seed % 36);
    uint64_t v = (*seed >> 8) & (((uint64_t)1 << bits) - 1);
    return v | ((uint64_t)1 << bits);
}

static void histogram_percentiles_within_one_64th_of_exact(void)
{
    enum { N = 100000 };
    uint64_t *v = malloc(N * sizeof *v);
    CHECK(v != NULL);
    histogram_init(&test_h);
    uint64_t seed = 88172645463325252ull, sum = 0;
    for (size_t i = 0; i < N; i++) {
        v[i] = log_spread(&seed);
        sum += v[i];
        histogram_record(&test_h, v[i]);
    }
    qsort(v, N, sizeof *v, cmp_u64);
    histogram_read(&test_h, &test_c);
    CHECK_EQ(test_c.count, (uint64_t)N);
    CHECK_EQ(test_c.sum, sum);
    CHECK_EQ(test_c.min, v[0]);
    CHECK_EQ(test_c.max, v[N - 1]);
    static const double qs[] = {0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1};
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        double want = qs[k] * N;
        size_t rank = (size_t)want;
        if ((double)rank < want)
            rank++;
        if (rank == 0)
            rank = 1;
        double exact = (double)v[rank - 1];
        double got = histogram_percentile(&test_c, qs[k]);
        harness_context("q %g: exact %.0f, got %.1f", qs[k], exact, got);
        double err = got > exact ? got - exact : exact - got;
        CHECK(err * 64 <= exact); /* the header's bound: under 1/64 of the value */
    }
    CHECK(histogram_percentile(&test_c, 1) == (double)v[N - 1]);
    free(v);
}

static void histogram_is_exact_below_64_ns_and_answers_max_past_the_top(void)
{
    histogram_init(&test_h);
    for (uint64_t ns = 0; ns < 64; ns++)
        histogram_record(&test_h, ns);
    histogram_read(&test_h, &test_c);
    for (uint64_t ns = 0; ns < 64; ns++) {
        harness_context("rank %llu", (unsigned long long)ns + 1);
        CHECK(histogram_percentile(&test_c, (double)(ns + 1) / 64) == (double)ns);
    }
    histogram_reset(&test_h);
    uint64_t huge = (uint64_t)300 * 1000000000u; /* 300 s: past the last bound */
    histogram_record(&test_h, 5);
    histogram_record(&test_h, huge);
    histogram_read(&test_h, &test_c);
    CHECK_EQ(test_c.count, 2u);
    CHECK(histogram_percentile(&test_c, 0.99) == (double)huge);
    CHECK(histogram_percentile(&test_c, 0.5) == 5.0);
}

static void histogram_empty_reads_zero(void)
{
    histogram_init(&test_h);
    histogram_read(&test_h, &test_c);
    CHECK_EQ(test_c.count, 0u);
    CHECK_EQ(test_c.sum, 0u);
    CHECK_EQ(test_c.max, 0u);
    CHECK(histogram_percentile(&test_c, 0.5) == 0);
}

typedef struct recorder {
    uint64_t from, n;
} recorder;

static void *record_many(void *arg)
{
    recorder *r = arg;
    for (uint64_t i = 0; i < r->n; i++)
        histogram_record(&test_h, r->from + i % 5000);
    return NULL;
}

static void histogram_threads_recording_at_once_lose_nothing(void)
{
    enum { THREADS = 6, EACH = 200000 }; /* past the stripes: some share one */
    histogram_init(&test_h);
    pthread_t t[THREADS];
    recorder r[THREADS];
    uint64_t sum = 0;
    for (int i = 0; i < THREADS; i++) {
        r[i].from = 100 + (uint64_t)i * 1000;
        r[i].n = EACH;
        for (uint64_t k = 0; k < EACH; k++)
            sum += r[i].from + k % 5000;
        CHECK(pthread_create(&t[i], NULL, record_many, &r[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    histogram_read(&test_h, &test_c);
    CHECK_EQ(test_c.count, (uint64_t)THREADS * EACH);
    CHECK_EQ(test_c.sum, sum);
    CHECK_EQ(test_c.min, 100u);
    CHECK_EQ(test_c.max, 100u + (THREADS - 1) * 1000u + 4999u);
}

/* Collects printed lines into one string. */
typedef struct lines {
    char text[16384];
    size_t len, n;
} lines;

static void lines_add(void *ctx, const char *line)
{
    lines *l = ctx;
    int n = snprintf(l->text + l->len, sizeof l->text - l->len, "%s\n", line);
    if (n > 0 && (size_t)n < sizeof l->text - l->len)
        l->len += (size_t)n;
    l->n++;
}

static void histogram_empty_prints_zeros(void)
{
    histogram_init(&test_h);
    histogram_read(&test_h, &test_c);
    static lines l;
    memset(&l, 0, sizeof l);
    histogram_stats_line(&test_c, "x", lines_add, &l);
    CHECK(strcmp(l.text, "x_us: count=0,sum=0.000,p50=0.000,p99=0.000,p99.9=0.000,max=0.000\n") == 0);
}

static void histogram_stats_line_says_redis_latencystats_form(void)
{
    histogram_init(&test_h);
    for (int i = 0; i < 98; i++)
        histogram_record(&test_h, 10); /* 10 ns */
    histogram_record(&test_h, 2000);   /* 2 us */
    histogram_record(&test_h, 30000);  /* 30 us */
    histogram_read(&test_h, &test_c);
    static lines l;
    memset(&l, 0, sizeof l);
    histogram_stats_line(&test_c, "session.get.latency", lines_add, &l);
    harness_context("%s", l.text);
    CHECK_EQ(l.n, 1u);
    /* p50 = 10 ns (exact), p99 = the 99th value, 2000 ns, answered as the
     * middle of its 32 ns-wide bucket [1984, 2016), p99.9 = the 100th =
     * max = 30000. */
    char want[512];
    snprintf(want, sizeof want,
             "session.get.latency_us: count=100,sum=32.980,p50=0.010,p99=%.3f,p99.9=%.3f,"
             "max=30.000\n",
             histogram_percentile(&test_c, 0.99) / 1e3, histogram_percentile(&test_c, 0.999) / 1e3);
    CHECK(strcmp(l.text, want) == 0);
    CHECK(histogram_percentile(&test_c, 0.99) == 1999.5);
    CHECK(histogram_percentile(&test_c, 0.999) == 30000);
}

static void histogram_prometheus_buckets_are_cumulative_and_exact(void)
{
    histogram_init(&test_h);
    histogram_record(&test_h, 100);                  /* under the first bound, 1.024 us */
    histogram_record(&test_h, 1024);                 /* exactly the first: counts in the next */
    histogram_record(&test_h, 1535);                 /* under 1.536 us */
    histogram_record(&test_h, 1000000);              /* 1 ms */
    histogram_record(&test_h, (uint64_t)60 * 1000000000u); /* 60 s: +Inf only */
    histogram_read(&test_h, &test_c);
    static lines l;
    memset(&l, 0, sizeof l);
    histogram_prometheus(&test_c, "kv_server_command_duration_seconds", "cmd=\"get\"", lines_add,
                         &l);
    harness_context("%.600s", l.text);
    CHECK_EQ(l.n, HISTOGRAM_PROM_BOUNDS + 3u);
    CHECK(strstr(l.text, "kv_server_command_duration_seconds_bucket{cmd=\"get\",le=\"0.000001024\"} 1\n") != NULL);
    CHECK(strstr(l.text, "kv_server_command_duration_seconds_bucket{cmd=\"get\",le=\"0.000001536\"} 3\n") != NULL);
    CHECK(strstr(l.text, "kv_server_command_duration_seconds_bucket{cmd=\"get\",le=\"0.001048576\"} 4\n") != NULL);
    CHECK(strstr(l.text, "kv_server_command_duration_seconds_bucket{cmd=\"get\",le=\"51.539607552\"} 4\n") != NULL);
    CHECK(strstr(l.text, "kv_server_command_duration_seconds_bucket{cmd=\"get\",le=\"+Inf\"} 5\n") != NULL);
    CHECK(strstr(l.text, "kv_server_command_duration_seconds_sum{cmd=\"get\"} 60.001002659\n") != NULL);
    CHECK(strstr(l.text, "kv_server_command_duration_seconds_count{cmd=\"get\"} 5\n") != NULL);
    /* Cumulative: never decreasing, in the order of the bounds. */
    unsigned long long last = 0;
    for (const char *p = strstr(l.text, "_bucket{"); p != NULL; p = strstr(p + 1, "_bucket{")) {
        unsigned long long n = strtoull(strchr(p, '}') + 2, NULL, 10);
        CHECK(n >= last);
        last = n;
    }
    for (size_t i = 0; i + 1 < HISTOGRAM_PROM_BOUNDS; i++) {
        uint64_t b = histogram_prom_bound(i);
        CHECK(histogram_prom_bound(i + 1) > b);
        CHECK_EQ(histogram_bucket_low(histogram_bucket_of(b)), b); /* an edge */
    }
    /* Without labels. */
    memset(&l, 0, sizeof l);
    histogram_prometheus(&test_c, "x_seconds", NULL, lines_add, &l);
    CHECK(strstr(l.text, "x_seconds_bucket{le=\"+Inf\"} 5\nx_seconds_sum 60.001002659\n"
                         "x_seconds_count 5\n") != NULL);
}

static const harness_test histogram_tests[] = {
    HARNESS_TEST(histogram_buckets_are_contiguous_and_log_scaled),
    HARNESS_TEST(histogram_percentiles_within_one_64th_of_exact),
    HARNESS_TEST(histogram_is_exact_below_64_ns_and_answers_max_past_the_top),
    HARNESS_TEST(histogram_empty_reads_zero),
    HARNESS_TEST(histogram_threads_recording_at_once_lose_nothing),
    HARNESS_TEST(histogram_empty_prints_zeros),
    HARNESS_TEST(histogram_stats_line_says_redis_latencystats_form),
    HARNESS_TEST(histogram_prometheus_buckets_are_cumulative_and_exact),
};
const harness_suite histogram_suite = HARNESS_SUITE("histogram", histogram_tests);
