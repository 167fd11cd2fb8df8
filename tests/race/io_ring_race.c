/*
 * io_ring_race.c: threads reading batches of one file at once, each with
 * its own ring (common/io_ring.h, R1), and threads choosing and dropping
 * databases' backends while others open files (common/io_mount.h, M3).
 * Under ThreadSanitizer (build/tsan/<stage>/racetest) every data race
 * between them is reported.  Where the kernel refuses io_uring, the
 * batches are preads, and the test says so.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../harness.h"
#include "error.h"
#include "io.h"
#include "io_mount.h"
#include "io_ring.h"
#include "kv.h"

#define RACE_THREADS 4
#define RACE_BATCHES 40
#define RACE_RANGES 24
#define RACE_FILE_BYTES 65536

static uint8_t race_byte(uint64_t i) { return (uint8_t)(i * 13 + (i >> 8)); }

typedef struct race_reader {
    io_file *f;
    const char *dir; /* where this thread mounts and drops a database */
    const char *file; /* a file in it (harness_join is the main thread's) */
    unsigned seed;
    int bad;         /* ranges read wrong, or calls that failed */
} race_reader;

static void *race_read(void *arg)
{
    race_reader *w = arg;
    static __thread uint8_t bufs[RACE_RANGES][512];
    io_read_req r[RACE_RANGES];
    uint64_t s = w->seed;
    for (int b = 0; b < RACE_BATCHES; b++) {
        for (int i = 0; i < RACE_RANGES; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            r[i] = (io_read_req){.f = w->f, .off = (s >> 33) % (RACE_FILE_BYTES - 512),
                                 .buf = bufs[i], .len = 512};
        }
        if (io_read_batch(r, RACE_RANGES) != KV_OK)
            w->bad++;
        for (int i = 0; i < RACE_RANGES; i++)
            if (r[i].got != 512 || bufs[i][511] != race_byte(r[i].off + 511))
                w->bad++;
        /* A database of this thread's comes and goes meanwhile. */
        io_mount *m = NULL;
        if (io_mount_new(w->dir, b % 2 ? KV_IO_POSIX : KV_IO_AUTO, NULL, &m) != KV_OK) {
            w->bad++;
            continue;
        }
        io_mount_attach(m);
        io_file *g = NULL;
        if (io_open(w->file, IO_WRITE | IO_CREATE, &g) != KV_OK)
            w->bad++;
        io_close(g);
        char line[300];
        io_mount_describe(m, line, sizeof line);
        io_mount_free(m);
    }
    return NULL;
}

static void ring_threads_read_batches_with_rings_of_their_own(void)
{
    char why[200];
    int ring = io_ring_usable(why, sizeof why);
    if (!ring)
        printf("    note: io_uring is refused here (%s): the batches were preads\n", why);
    const char *dir = harness_join(harness_tmpdir(), "db");
    CHECK(mkdir(dir, 0755) == 0);
    io_mount *m = NULL;
    CHECK_KV(io_mount_new(dir, KV_IO_AUTO, NULL, &m), KV_OK);
    io_mount_attach(m);
    const char *path = harness_join(dir, "f");
    uint8_t *p = malloc(RACE_FILE_BYTES);
    CHECK(p != NULL);
    for (uint64_t i = 0; i < RACE_FILE_BYTES; i++)
        p[i] = race_byte(i);
    io_file *f = NULL;
    CHECK_KV(io_open(path, IO_WRITE | IO_CREATE, &f), KV_OK);
    CHECK_KV(io_append_bytes(f, p, RACE_FILE_BYTES), KV_OK);
    CHECK_KV(io_close(f), KV_OK);
    free(p);
    CHECK_KV(io_open(path, IO_READ, &f), KV_OK);

    io_ring_counts before, after;
    io_ring_counts_get(&before);
    pthread_t t[RACE_THREADS];
    race_reader w[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++) {
        char name[16];
        snprintf(name, sizeof name, "own%d", i);
        w[i] = (race_reader){.f = f, .dir = harness_join(harness_tmpdir(), name),
                             .seed = (unsigned)i + 1};
        w[i].file = harness_join(w[i].dir, "g");
        CHECK(mkdir(w[i].dir, 0755) == 0);
        CHECK(pthread_create(&t[i], NULL, race_read, &w[i]) == 0);
    }
    int bad = 0;
    for (int i = 0; i < RACE_THREADS; i++) {
        pthread_join(t[i], NULL);
        bad += w[i].bad;
    }
    io_ring_counts_get(&after);
    CHECK_EQ(bad, 0);
    if (ring) {
        CHECK_EQ(after.rings - before.rings, RACE_THREADS); /* one per thread */
        CHECK_EQ(after.reads - before.reads, RACE_THREADS * RACE_BATCHES * RACE_RANGES);
    }
    CHECK_KV(io_close(f), KV_OK);
    io_mount_free(m);
}

/* A reader that waits before its first batch, with nothing that orders it
 * after the other thread (a sleep is no synchronisation). */
static void *race_read_later(void *arg)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return race_read(arg);
}

/* Pairs of threads: one reads and exits, freeing its ring; the other,
 * started with it, reads only after that, and its ring may be mapped where
 * the first one's was (the kernel reuses the address).  Nothing orders the
 * two threads, so ThreadSanitizer would take the two rings for one shared
 * ring unless the backend tells it that a ring's memory changes hands at
 * set-up and tear-down (io_ring.c, ring_mapped). */
static void ring_of_an_exited_thread_is_not_shared_with_the_next(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    CHECK(mkdir(dir, 0755) == 0);
    io_mount *m = NULL;
    CHECK_KV(io_mount_new(dir, KV_IO_AUTO, NULL, &m), KV_OK);
    io_mount_attach(m);
    const char *path = harness_join(dir, "f");
    io_file *f = NULL;
    CHECK_KV(io_open(path, IO_WRITE | IO_CREATE, &f), KV_OK);
    static uint8_t p[RACE_FILE_BYTES];
    for (uint64_t i = 0; i < RACE_FILE_BYTES; i++)
        p[i] = race_byte(i);
    CHECK_KV(io_append_bytes(f, p, RACE_FILE_BYTES), KV_OK);
    CHECK_KV(io_close(f), KV_OK);
    CHECK_KV(io_open(path, IO_READ, &f), KV_OK);
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        race_reader w[2];
        pthread_t t[2];
        for (int k = 0; k < 2; k++) {
            char name[16];
            snprintf(name, sizeof name, "pair%d-%d", i, k);
            w[k] = (race_reader){.f = f, .dir = harness_join(harness_tmpdir(), name),
                                 .seed = 77u + (unsigned)(2 * i + k)};
            w[k].file = harness_join(w[k].dir, "g");
            CHECK(mkdir(w[k].dir, 0755) == 0);
        }
        CHECK(pthread_create(&t[0], NULL, race_read, &w[0]) == 0);
        CHECK(pthread_create(&t[1], NULL, race_read_later, &w[1]) == 0);
        for (int k = 0; k < 2; k++) {
            pthread_join(t[k], NULL);
            bad += w[k].bad;
        }
    }
    CHECK_EQ(bad, 0);
    CHECK_KV(io_close(f), KV_OK);
    io_mount_free(m);
}

static const harness_test io_ring_race_tests[] = {
    HARNESS_TEST(ring_threads_read_batches_with_rings_of_their_own),
    HARNESS_TEST(ring_of_an_exited_thread_is_not_shared_with_the_next),
};

const harness_suite io_ring_race_suite = HARNESS_SUITE("io_ring_race", io_ring_race_tests);
