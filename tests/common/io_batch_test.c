/*
 * io_batch_test.c: io_read_batch (common/io.h) on both backends that talk
 * to the operating system, POSIX's (a pread per range) and io_uring's (one
 * submission: common/io_ring.h): each range's bytes and length, ranges
 * that pass the end of the file, ranges of several files and backends in
 * one batch, batches longer than a submission; a failing range's status
 * and message, which are io_read_at's; fault injection per range; the
 * power-loss simulator passing batches through; a forked child reading
 * with a ring of its own.  Where the kernel refuses io_uring, the ring's
 * tests say so and check what runs instead (the fallback: io_mount_test.c).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness.h"
#include "error.h"
#include "io.h"
#include "io_fault.h"
#include "io_mount.h"
#include "io_ring.h"
#include "io_sim.h"
#include "kv.h"

#define BATCH_FILE_BYTES 100000

/* The byte at offset i of a test file made with seed s. */
static uint8_t batch_byte(uint64_t i, unsigned s) { return (uint8_t)(i * 31 + s * 7 + (i >> 9)); }

/* Makes dir/name of n pattern bytes; returns its path. */
static const char *batch_make(const char *dir, const char *name, size_t n, unsigned s)
{
    const char *path = harness_join(dir, name);
    uint8_t *p = malloc(n ? n : 1);
    CHECK(p != NULL);
    for (size_t i = 0; i < n; i++)
        p[i] = batch_byte(i, s);
    io_file *f = NULL;
    CHECK_KV(io_open(path, IO_WRITE | IO_CREATE | IO_TRUNC, &f), KV_OK);
    CHECK_KV(io_append_bytes(f, p, n), KV_OK);
    CHECK_KV(io_close(f), KV_OK);
    free(p);
    return path;
}

/* A directory whose files use the backend asked for (KV_IO_POSIX or
 * KV_IO_URING, which the caller knows works); *m to free at the end. */
static const char *batch_dir(const char *name, int backend, io_mount **m)
{
    const char *dir = harness_join(harness_tmpdir(), name);
    CHECK(mkdir(dir, 0755) == 0);
    CHECK_KV(io_mount_new(dir, backend, NULL, m), KV_OK);
    io_mount_attach(*m);
    return dir;
}

static int batch_ring_works(void)
{
    char why[200];
    if (io_ring_usable(why, sizeof why))
        return 1;
    printf("    note: io_uring is refused here (%s): only the POSIX backend was tested\n", why);
    return 0;
}

/* The backends to test: POSIX's, and io_uring's where it works. */
static int batch_backends(int out[2])
{
    out[0] = KV_IO_POSIX;
    if (!batch_ring_works())
        return 1;
    out[1] = KV_IO_URING;
    return 2;
}

static io_file *batch_open(const char *path)
{
    io_file *f = NULL;
    CHECK_KV(io_open(path, IO_READ, &f), KV_OK);
    return f;
}

/* Every range holds what its file holds there, got says how much of it. */
static void batch_check(const io_read_req *r, size_t n, const uint64_t *sizes,
                        const unsigned *seeds, const size_t *file_of)
{
    for (size_t i = 0; i < n; i++) {
        harness_context("range %zu: offset %llu, %zu bytes", i, (unsigned long long)r[i].off,
                        r[i].len);
        uint64_t size = sizes[file_of[i]];
        size_t want = r[i].off >= size ? 0
                      : r[i].len < size - r[i].off ? r[i].len
                                                   : (size_t)(size - r[i].off);
        CHECK_KV(r[i].status, KV_OK);
        CHECK_EQ(r[i].err, 0);
        CHECK_EQ(r[i].got, want);
        const uint8_t *b = r[i].buf;
        for (size_t j = 0; j < want; j++)
            if (b[j] != batch_byte(r[i].off + j, seeds[file_of[i]]))
                CHECK_MSG(0, "byte %zu of the range differs", j);
    }
    harness_context("%s", "");
}

static void batch_reads_every_range_on_both_backends(void)
{
    int backends[2];
    int nb = batch_backends(backends);
    for (int b = 0; b < nb; b++) {
        io_mount *m = NULL;
        const char *dir = batch_dir(backends[b] == KV_IO_URING ? "uring" : "posix", backends[b], &m);
        const char *p1 = batch_make(dir, "one", BATCH_FILE_BYTES, 1);
        const char *p2 = batch_make(dir, "two", 5000, 2);
        io_file *f[2] = {batch_open(p1), batch_open(p2)};
        CHECK(strcmp(f[0]->ops->name, backends[b] == KV_IO_URING ? "uring" : "posix") == 0);
        uint64_t sizes[2] = {BATCH_FILE_BYTES, 5000};
        unsigned seeds[2] = {1, 2};

        /* Edges first, then enough ranges for three submissions. */
        enum { N = 6 + 150 };
        static io_read_req r[N];
        static size_t file_of[N];
        static uint8_t bufs[N][8192];
        const struct { size_t file; uint64_t off; size_t len; } edge[6] = {
            {0, 0, 4096},                   /* the start */
            {0, BATCH_FILE_BYTES - 1000, 2000}, /* past the end: 1000 bytes */
            {0, BATCH_FILE_BYTES, 10},      /* at the end: nothing */
            {0, 5, 0},                      /* nothing asked */
            {1, 4000, 1000},                /* the other file, to its end */
            {1, 123, 1},
        };
        uint64_t seed = 12345;
        for (size_t i = 0; i < N; i++) {
            if (i < 6) {
                file_of[i] = edge[i].file;
                r[i].off = edge[i].off;
                r[i].len = edge[i].len;
            } else {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                file_of[i] = (seed >> 60) & 1;
                r[i].off = (seed >> 20) % sizes[file_of[i]];
                r[i].len = 1 + (size_t)((seed >> 40) % sizeof bufs[i]);
            }
            r[i].f = f[file_of[i]];
            r[i].buf = bufs[i];
        }
        io_ring_counts before, after;
        io_ring_counts_get(&before);
        CHECK_KV(io_read_batch(r, N), KV_OK);
        io_ring_counts_get(&after);
        batch_check(r, N, sizes, seeds, file_of);
        if (backends[b] == KV_IO_URING) {
            CHECK_EQ(after.reads - before.reads, N - 1); /* all but the empty one */
            CHECK(after.submissions - before.submissions >= 3);
            CHECK_EQ(after.fallback_reads, before.fallback_reads);
        } else {
            CHECK_EQ(after.reads, before.reads);
            CHECK_EQ(after.submissions, before.submissions);
        }
        CHECK_KV(io_read_batch(r, 0), KV_OK);
        CHECK_KV(io_close(f[0]), KV_OK);
        CHECK_KV(io_close(f[1]), KV_OK);
        io_mount_free(m);
    }
}

/* One batch over files of both backends: each run is read by its own. */
static void batch_of_two_backends_reads_each_with_its_own(void)
{
    if (!batch_ring_works())
        return;
    io_mount *mp = NULL, *mu = NULL;
    const char *dp = batch_dir("posix", KV_IO_POSIX, &mp);
    const char *du = batch_dir("uring", KV_IO_URING, &mu);
    io_file *f[2] = {batch_open(batch_make(dp, "f", 9000, 3)),
                     batch_open(batch_make(du, "f", 9000, 4))};
    uint64_t sizes[2] = {9000, 9000};
    unsigned seeds[2] = {3, 4};
    io_read_req r[10];
    size_t file_of[10];
    uint8_t bufs[10][700];
    for (size_t i = 0; i < 10; i++) {
        file_of[i] = (i / 3) % 2; /* runs of three */
        r[i] = (io_read_req){.f = f[file_of[i]], .off = i * 800, .buf = bufs[i], .len = 700};
    }
    io_ring_counts before, after;
    io_ring_counts_get(&before);
    CHECK_KV(io_read_batch(r, 10), KV_OK);
    io_ring_counts_get(&after);
    batch_check(r, 10, sizes, seeds, file_of);
    CHECK_EQ(after.reads - before.reads, 4); /* i = 3, 4, 5 and 9 */
    io_close(f[0]);
    io_close(f[1]);
    io_mount_free(mp);
    io_mount_free(mu);
}

/* A range the kernel fails has io_read_at's status and message; the
 * others are read. */
static void batch_failed_range_says_what_io_read_at_says(void)
{
    int backends[2];
    int nb = batch_backends(backends);
    for (int b = 0; b < nb; b++) {
        io_mount *m = NULL;
        const char *dir = batch_dir(backends[b] == KV_IO_URING ? "uring" : "posix", backends[b], &m);
        const char *path = batch_make(dir, "f", 3000, 5);
        io_file *f = batch_open(path);
        uint64_t bad_off = UINT64_MAX - 10; /* past any off_t: EINVAL */
        char single[1024];
        uint8_t buf[3][100];
        size_t got = 0;
        CHECK_KV(io_read_at(f, bad_off, buf[0], 100, &got), KV_ERR_IO);
        snprintf(single, sizeof single, "%s", kv_errmsg());
        io_read_req r[3] = {
            {.f = f, .off = 0, .buf = buf[0], .len = 100},
            {.f = f, .off = bad_off, .buf = buf[1], .len = 100},
            {.f = f, .off = 2950, .buf = buf[2], .len = 100},
        };
        kv_error_clear();
        CHECK_KV(io_read_batch(r, 3), KV_ERR_IO);
        CHECK_MSG(strcmp(kv_errmsg(), single) == 0, "batch: %s; io_read_at: %s", kv_errmsg(),
                  single);
        CHECK(strstr(single, path) != NULL);
        CHECK_KV(r[1].status, KV_ERR_IO);
        CHECK_EQ(r[1].err, EINVAL);
        CHECK_EQ(r[1].got, 0);
        CHECK_KV(r[0].status, KV_OK);
        CHECK_EQ(r[0].got, 100);
        CHECK_KV(r[2].status, KV_OK);
        CHECK_EQ(r[2].got, 50);
        CHECK_EQ(buf[2][49], batch_byte(2999, 5));
        io_close(f);
        io_mount_free(m);
    }
}

/* io_fault counts each range as a read, in order, on either backend; the
 * ranges not chosen still go to the backend, as one batch. */
static void batch_fault_injection_fails_the_chosen_ranges(void)
{
    int backends[2];
    int nb = batch_backends(backends);
    for (int b = 0; b < nb; b++) {
        io_mount *m = NULL;
        const char *dir = batch_dir(backends[b] == KV_IO_URING ? "uring" : "posix", backends[b], &m);
        const char *path = batch_make(dir, "f", 10000, 6);
        for (long k = 1; k <= 6; k++) {
            int persistent = k == 6; /* 6: from range 2 on, every one */
            io_fault_plan plan = {.kinds = IO_FAULT_READ, .fail_at = persistent ? 2 : k,
                                  .persistent = persistent, .err = EIO};
            io_fault_install(&plan);
            io_file *f = batch_open(path);
            io_read_req r[5];
            uint8_t buf[5][500];
            for (size_t i = 0; i < 5; i++)
                r[i] = (io_read_req){.f = f, .off = 1000 * i + 7, .buf = buf[i], .len = 500};
            io_ring_counts before, after;
            io_ring_counts_get(&before);
            int s = io_read_batch(r, 5);
            io_ring_counts_get(&after);
            long first_bad = persistent ? 1 : k - 1;
            harness_context("backend %s, plan %ld%s", f->ops->name, k,
                            persistent ? " (persistent)" : "");
            CHECK_EQ(io_fault_calls(), 5);
            CHECK_KV(s, KV_ERR_IO);
            char want[1024];
            snprintf(want, sizeof want, "read %s at offset %llu: %s", path,
                     (unsigned long long)r[first_bad].off, strerror(EIO));
            CHECK_MSG(strcmp(kv_errmsg(), want) == 0, "message: %s", kv_errmsg());
            size_t good = 0;
            for (long i = 0; i < 5; i++) {
                int bad = persistent ? i >= 1 : i == k - 1;
                if (bad) {
                    CHECK_KV(r[i].status, KV_ERR_IO);
                    CHECK_EQ(r[i].err, EIO);
                } else {
                    CHECK_KV(r[i].status, KV_OK);
                    CHECK_EQ(r[i].got, 500);
                    CHECK_EQ(buf[i][499], batch_byte(r[i].off + 499, 6));
                    good++;
                }
            }
            if (backends[b] == KV_IO_URING)
                CHECK_EQ(after.reads - before.reads, good);
            io_close(f);
            io_fault_uninstall();
        }
        io_mount_free(m);
    }
    harness_context("%s", "");
}

/* The simulator records nothing for reads, and passes a batch on whole. */
static void batch_through_the_power_loss_simulator(void)
{
    int backends[2];
    int nb = batch_backends(backends);
    for (int b = 0; b < nb; b++) {
        io_mount *m = NULL;
        const char *dir = batch_dir(backends[b] == KV_IO_URING ? "uring" : "posix", backends[b], &m);
        CHECK_KV(io_sim_install(dir), KV_OK);
        const char *path = batch_make(dir, "f", 20000, 7);
        CHECK_KV(io_sync_dir(dir), KV_OK);
        io_file *f = batch_open(path);
        size_t at = io_sim_position();
        io_read_req r[40];
        uint8_t buf[40][400];
        size_t file_of[40] = {0};
        for (size_t i = 0; i < 40; i++)
            r[i] = (io_read_req){.f = f, .off = 499 * i, .buf = buf[i], .len = 400};
        io_ring_counts before, after;
        io_ring_counts_get(&before);
        CHECK_KV(io_read_batch(r, 40), KV_OK);
        io_ring_counts_get(&after);
        uint64_t sizes[1] = {20000};
        unsigned seeds[1] = {7};
        batch_check(r, 40, sizes, seeds, file_of);
        CHECK_EQ(io_sim_position(), at);
        if (backends[b] == KV_IO_URING)
            CHECK_EQ(after.reads - before.reads, 40);
        io_close(f);
        io_sim_uninstall();
        io_sim_reset();
        io_mount_free(m);
    }
}

/* A forked child does not use its parent's ring (they would share it): it
 * sets up its own, and the parent's goes on working. */
static void batch_in_a_forked_child_uses_its_own_ring(void)
{
    if (!batch_ring_works())
        return;
    io_mount *m = NULL;
    const char *dir = batch_dir("uring", KV_IO_URING, &m);
    io_file *f = batch_open(batch_make(dir, "f", 8192, 8));
    uint8_t buf[4][1024];
    io_read_req r[4];
    for (size_t i = 0; i < 4; i++)
        r[i] = (io_read_req){.f = f, .off = 2048 * i, .buf = buf[i], .len = 1024};
    CHECK_KV(io_read_batch(r, 4), KV_OK); /* this thread's ring is set up */
    io_ring_counts before;
    io_ring_counts_get(&before);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        memset(buf, 0, sizeof buf);
        io_ring_counts c;
        int ok = io_read_batch(r, 4) == KV_OK && buf[3][1023] == batch_byte(3 * 2048 + 1023, 8);
        io_ring_counts_get(&c);
        ok = ok && c.rings == before.rings + 1 && c.reads == before.reads + 4;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the child's batch failed, or did not use a ring of its own");
    memset(buf, 0, sizeof buf);
    CHECK_KV(io_read_batch(r, 4), KV_OK);
    CHECK_EQ(buf[3][1023], batch_byte(3 * 2048 + 1023, 8));
    io_ring_counts after;
    io_ring_counts_get(&after);
    CHECK_EQ(after.rings, before.rings);
    io_close(f);
    io_mount_free(m);
}

static const harness_test io_batch_tests[] = {
    HARNESS_TEST(batch_reads_every_range_on_both_backends),
    HARNESS_TEST(batch_of_two_backends_reads_each_with_its_own),
    HARNESS_TEST(batch_failed_range_says_what_io_read_at_says),
    HARNESS_TEST(batch_fault_injection_fails_the_chosen_ranges),
    HARNESS_TEST(batch_through_the_power_loss_simulator),
    HARNESS_TEST(batch_in_a_forked_child_uses_its_own_ring),
};

const harness_suite io_batch_suite = HARNESS_SUITE("io_batch", io_batch_tests);
