/*
 * fillsync.c: build/<stage>/fillsync, what group commit buys.
 *
 * For T = 1, 2, 4 and 8 writer threads, each thread does kv_put with
 * kv_options.sync = 1 (16-byte keys, 100-byte values) into one fresh
 * database for a fixed time, and the program prints the puts per second
 * for each T and the ratio to T = 1.  With one fsync per put, more threads
 * cannot help: the disk does one flush at a time.  With group commit
 * (stage 03 on), one fsync covers every put queued behind it, so puts per
 * second grow with T.  Stages before 03 ignore sync, so their figures
 * measure write() alone.  Uses kv.h only.
 *
 * Usage: fillsync [DIR [SECONDS]]   (see fill_usage; built by `make` for
 * every stage as build/<stage>/fillsync)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kv.h"

typedef struct fill_thread {
    kv_db *db;
    int id;
    double until;
    uint64_t puts;
    int status;
} fill_thread;

static double fill_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *fill_main(void *p)
{
    fill_thread *t = p;
    char key[17], val[100];
    memset(val, 'v', sizeof val);
    while (fill_now() < t->until) {
        snprintf(key, sizeof key, "%02d%014llu", t->id, (unsigned long long)t->puts);
        int rc = kv_put(t->db, key, 16, val, sizeof val);
        if (rc != KV_OK) {
            t->status = rc;
            break;
        }
        t->puts++;
    }
    return NULL;
}

static void fill_rmdir(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fillsync: could not remove %s\n", dir);
}

static void fill_usage(FILE *f)
{
    fprintf(f,
            "usage: fillsync [DIR [SECONDS]]\n"
            "\n"
            "Puts with kv_options.sync = 1 from 1, 2, 4 and 8 threads into a fresh\n"
            "database of stage %s for SECONDS each (default 2), and prints puts per\n"
            "second and the gain over one thread: what group commit buys.  The\n"
            "databases are made under DIR (default $TMPDIR, else /var/tmp) and\n"
            "removed; DIR must be on the disk to measure, not a tmpfs.  Stages before\n"
            "03 ignore sync, so their figures measure write() alone.\n",
            kv_stage());
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fill_usage(stdout);
        return 0;
    }
    if (argc > 3 || (argc > 1 && argv[1][0] == '-')) {
        fill_usage(stderr);
        return 2;
    }
    const char *base = argc > 1 ? argv[1] : getenv("TMPDIR");
    if (base == NULL || *base == '\0')
        base = "/var/tmp";
    char *end = NULL;
    double seconds = argc > 2 ? strtod(argv[2], &end) : 2.0;
    if (argc > 2 && (end == argv[2] || *end != '\0' || !(seconds > 0 && seconds < 3600))) {
        fprintf(stderr, "fillsync: SECONDS is '%s': want a number of seconds, 0 < S < 3600\n",
                argv[2]);
        return 2;
    }
    static const int threads[] = {1, 2, 4, 8};
    double first = 0;
    printf("fillsync: stage %s, sync = 1, 100-byte values, %.1f s per run, in %s\n",
           kv_stage(), seconds, base);
    printf("%8s %12s %10s %14s\n", "threads", "puts/s", "vs 1", "us/put/thread");
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
        int n = threads[i];
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/fillsync-%d-%d", base, (int)getpid(), n);
        fill_rmdir(dir);
        kv_options opt;
        kv_options_init(&opt);
        opt.sync = 1;
        kv_db *db = NULL;
        int rc = kv_open(dir, &opt, &db);
        if (rc != KV_OK) {
            fprintf(stderr, "fillsync: kv_open %s: %s\n", dir, kv_errmsg());
            return 1;
        }
        fill_thread t[8];
        pthread_t tid[8];
        double start = fill_now();
        for (int j = 0; j < n; j++) {
            t[j] = (fill_thread){.db = db, .id = j, .until = start + seconds};
            if (pthread_create(&tid[j], NULL, fill_main, &t[j]) != 0) {
                fprintf(stderr, "fillsync: cannot start thread %d of %d\n", j + 1, n);
                return 1;
            }
        }
        uint64_t puts = 0;
        for (int j = 0; j < n; j++) {
            pthread_join(tid[j], NULL);
            puts += t[j].puts;
            if (t[j].status != KV_OK) {
                fprintf(stderr, "fillsync: kv_put: %s\n", kv_strerror(t[j].status));
                return 1;
            }
        }
        double elapsed = fill_now() - start;
        kv_close(db);
        fill_rmdir(dir);
        double rate = (double)puts / elapsed;
        if (i == 0)
            first = rate;
        printf("%8d %12.0f %9.2fx %14.1f\n", n, rate, first > 0 ? rate / first : 0.0,
               rate > 0 ? 1e6 * n / rate : 0.0);
        fflush(stdout);
    }
    return 0;
}
