/*
 * histogram_cost.c: what recording into common/histogram.h costs, beside
 * what reading the clock costs (the server reads it twice per command,
 * histograms or not).  `make bench-metrics-overhead` runs it and puts its
 * lines in docs/generated/metrics-overhead.md.
 *
 *   build/histogram_cost [RECORDS]
 *
 * Prints ns per histogram_record for one thread (its own stripe), for
 * four threads at once into one histogram (three own stripes, and two
 * threads sharing the last one: locked additions), and ns per
 * clock_gettime(CLOCK_MONOTONIC).  Values spread over 0.5 to 10 us, as
 * a command's time is.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "histogram.h"

static histogram hc_hist;
static long hc_n = 20000000;

static double hc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *hc_record(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg * 2654435761u + 1;
    for (long i = 0; i < hc_n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        histogram_record(&hc_hist, 500 + (x >> 33) % 9500);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        hc_n = atol(argv[1]);
    double t = hc_now();
    hc_record((void *)1);
    printf("histogram_record, 1 thread:      %6.2f ns\n", (hc_now() - t) / (double)hc_n);
    pthread_t th[5];
    t = hc_now();
    for (int i = 0; i < 5; i++)
        pthread_create(&th[i], NULL, hc_record, (void *)(uintptr_t)(i + 2));
    for (int i = 0; i < 5; i++)
        pthread_join(th[i], NULL);
    printf("histogram_record, 5 threads:     %6.2f ns of wall time per record (%ld each)\n",
           (hc_now() - t) / (5.0 * (double)hc_n), hc_n);
    uint64_t sink = 0;
    t = hc_now();
    for (long i = 0; i < hc_n; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sink += (uint64_t)ts.tv_nsec;
    }
    printf("clock_gettime(CLOCK_MONOTONIC): %6.2f ns (%llu)\n", (hc_now() - t) / (double)hc_n,
           (unsigned long long)(sink & 1));
    histogram_counts *c = malloc(sizeof *c);
    if (c == NULL)
        return 1;
    histogram_read(&hc_hist, c);
    printf("records counted: %llu of %ld\n", (unsigned long long)c->count, 6 * hc_n);
    free(c);
    return 0;
}
