/*
 * ring_read.c: build/ring_read, what the I/O layer's batched read costs on
 * each backend, with no engine around it: io_read_batch of B ranges of 4
 * KiB on a file opened with the POSIX backend (B preads) and with the
 * io_uring one (one submission), from the page cache (warm) and from the
 * device (cold).  It is the ceiling of what a stage that reads its blocks
 * in one submission can gain (docs/io.md); `make bench-multiget` runs it
 * beside build/S/multiget.
 *
 *   ring_read [--mb=M] [--reads=R] [--batches=1,16,64] [--reps=N] [--dir=DIR]
 *
 * Makes DIR/ring_read.data (default /var/tmp; M MiB of random bytes, 256 by
 * default) through io.h, then reads R ranges (20,000), each a different
 * 4 KiB page at random, in batches of B, on each backend; cold runs drop
 * the file from the page cache first (posix_fadvise DONTNEED), warm runs
 * read the pages once first and are repeated for a quarter of a second at
 * least.  The file
 * is opened with IO_RANDOM (io.h), so that no read brings in the pages
 * after it for a later one to find.  Prints a
 * line per run and a table of the medians of N repetitions (3): reads per
 * second on each backend and their ratio, and the p50 of a batch's time.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "bench_sys.h"
#include "io.h"
#include "io_mount.h"
#include "io_ring.h"
#include "kv.h"

#define PAGE 4096
#define MAX_BATCHES 8
#define MAX_REPS 15
#define TMPFS_MAGIC_NUMBER 0x01021994

static _Noreturn void rr_fail(const char *what)
{
    fprintf(stderr, "ring_read: %s: %s\n", what, kv_errmsg());
    exit(2);
}

static int rr_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double rr_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, rr_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void rr_make(const char *path, size_t mb)
{
    io_file *f = NULL;
    if (io_open(path, IO_WRITE | IO_CREATE | IO_TRUNC, &f) != KV_OK)
        rr_fail("create");
    static uint64_t chunk[1 << 17]; /* 1 MiB */
    bench_rng r;
    bench_rng_seed(&r, 99);
    for (size_t m = 0; m < mb; m++) {
        for (size_t i = 0; i < sizeof chunk / sizeof chunk[0]; i++)
            chunk[i] = bench_rng_next(&r);
        if (io_append_bytes(f, chunk, sizeof chunk) != KV_OK)
            rr_fail("append");
    }
    if (io_sync(f) != KV_OK || io_close(f) != KV_OK)
        rr_fail("sync");
}

static void rr_drop(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
}

/* One run: R reads in batches of b on f; reads/s, and the batch p50 (us). */
static double rr_run(io_file *f, const uint64_t *pages, size_t r, size_t b, uint8_t *bufs,
                     double *p50);

/* Warm runs are short: repeated for a quarter of a second at least, so
 * that the figure is not one scheduling hiccup; the p50 is the last run's. */
static double rr_run_warm(io_file *f, const uint64_t *pages, size_t r, size_t b, uint8_t *bufs,
                          double *p50)
{
    double reads = 0, secs = 0;
    do {
        double rate = rr_run(f, pages, r, b, bufs, p50);
        reads += (double)(r / b * b);
        secs += (double)(r / b * b) / rate;
    } while (secs < 0.25);
    return reads / secs;
}

static double rr_run(io_file *f, const uint64_t *pages, size_t r, size_t b, uint8_t *bufs,
                     double *p50)
{
    io_read_req *q = malloc(b * sizeof *q);
    double *lat = malloc((r / b + 1) * sizeof *lat);
    if (q == NULL || lat == NULL)
        rr_fail("out of memory");
    size_t nb = 0;
    double total = 0;
    for (size_t i = 0; i + b <= r; i += b) {
        for (size_t j = 0; j < b; j++)
            q[j] = (io_read_req){.f = f, .off = pages[i + j] * PAGE, .buf = bufs + j * PAGE,
                                 .len = PAGE};
        double t0 = bench_now();
        if (io_read_batch(q, b) != KV_OK)
            rr_fail("io_read_batch");
        double dt = bench_now() - t0;
        for (size_t j = 0; j < b; j++)
            if (q[j].got != PAGE)
                rr_fail("a short read");
        total += dt;
        lat[nb++] = dt * 1e6;
    }
    qsort(lat, nb, sizeof *lat, rr_cmp);
    *p50 = lat[nb / 2];
    free(q);
    free(lat);
    return (double)(nb * b) / total;
}

int main(int argc, char **argv)
{
    size_t mb = 256, reads = 20000, batches[MAX_BATCHES] = {1, 16, 64}, nbatch = 3;
    int reps = 3;
    const char *dir = "/var/tmp";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--mb=", 5) == 0)
            mb = strtoul(a + 5, NULL, 10);
        else if (strncmp(a, "--reads=", 8) == 0)
            reads = strtoul(a + 8, NULL, 10);
        else if (strncmp(a, "--reps=", 7) == 0)
            reps = atoi(a + 7);
        else if (strncmp(a, "--dir=", 6) == 0)
            dir = a + 6;
        else if (strncmp(a, "--batches=", 10) == 0) {
            nbatch = 0;
            for (const char *p = a + 10; *p && nbatch < MAX_BATCHES;) {
                char *end;
                batches[nbatch++] = strtoul(p, &end, 10);
                p = *end == ',' ? end + 1 : end;
                if (end == p && *end != '\0')
                    break;
            }
        } else {
            int help = strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
            fprintf(help ? stdout : stderr, "usage: ring_read [--mb=M] [--reads=R] "
                    "[--batches=1,16,64] [--reps=N] [--dir=DIR]\n");
            return help ? 0 : 2;
        }
    }
    size_t pages_in_file = mb * (1u << 20) / PAGE;
    int bad = mb == 0 || reads == 0 || reads > pages_in_file || reps < 1 || reps > MAX_REPS ||
              nbatch == 0;
    for (size_t i = 0; i < nbatch; i++)
        bad |= batches[i] == 0 || batches[i] > reads;
    if (bad) {
        fprintf(stderr, "ring_read: bad arguments (reads at most the file's 4 KiB pages; "
                        "batches at most reads; reps 1..%d)\n", MAX_REPS);
        return 2;
    }
    struct statfs fs;
    if (statfs(dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC_NUMBER) {
        fprintf(stderr, "ring_read: %s is on tmpfs, where nothing is ever cold\n", dir);
        return 2;
    }
    char why[200];
    if (!io_ring_usable(why, sizeof why)) {
        printf("ring_read: io_uring is refused here (%s): nothing to compare\n", why);
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/ring_read.data", dir);
    struct stat st;
    if (stat(path, &st) != 0 || (size_t)st.st_size != mb << 20)
        rr_make(path, mb);

    /* Every file under dir gets the backend of its run: one mount each. */
    io_mount *m[2] = {NULL, NULL};
    io_file *f[2] = {NULL, NULL};
    for (int io = 0; io < 2; io++) {
        if (io_mount_new(dir, io ? KV_IO_URING : KV_IO_POSIX, NULL, &m[io]) != KV_OK)
            rr_fail("io_mount_new");
        io_mount_attach(m[io]);
        if (io_open(path, IO_READ | IO_RANDOM, &f[io]) != KV_OK)
            rr_fail("open");
        io_mount_free(m[io]); /* the file keeps its backend */
    }

    /* R different pages, at random. */
    size_t most = 0;
    for (size_t i = 0; i < nbatch; i++)
        most = batches[i] > most ? batches[i] : most;
    uint64_t *pages = malloc(pages_in_file * sizeof *pages);
    uint8_t *bufs = aligned_alloc(PAGE, most * PAGE);
    if (pages == NULL || bufs == NULL)
        rr_fail("out of memory");
    for (size_t i = 0; i < pages_in_file; i++)
        pages[i] = i;
    bench_rng r;
    bench_rng_seed(&r, 5);
    for (size_t i = pages_in_file; i > 1; i--) {
        size_t j = (size_t)bench_rng_below(&r, i);
        uint64_t t = pages[i - 1];
        pages[i - 1] = pages[j];
        pages[j] = t;
    }

    static double rate[2][2][MAX_BATCHES][MAX_REPS], p50[2][2][MAX_BATCHES][MAX_REPS];
    for (int rep = 0; rep < reps; rep++)
        for (int cold = 1; cold >= 0; cold--)
            for (size_t bi = 0; bi < nbatch; bi++)
                for (int k = 0; k < 2; k++) {
                    size_t b = batches[bi];
                    int io = (k + rep) % 2;
                    double unused;
                    if (cold)
                        rr_drop(path);
                    else /* a first pass brings the pages in */
                        rr_run(f[io], pages, reads, b, bufs, &unused);
                    rate[io][!cold][bi][rep] =
                        (cold ? rr_run : rr_run_warm)(f[io], pages, reads, b, bufs,
                                                      &p50[io][!cold][bi][rep]);
                    printf("ring_read: %s batch=%zu %s: %.0f reads/s, batch p50 %.1f us\n",
                           cold ? "cold" : "warm", b, io ? "uring" : "posix",
                           rate[io][!cold][bi][rep], p50[io][!cold][bi][rep]);
                    fflush(stdout);
                }
    printf("\nring_read: %zu reads of 4 KiB, each a different page of a %zu MiB file, in "
           "batches of B, median of %d runs:\n\n", reads, mb, reps);
    printf("| ring_read: cache | B | posix, reads/s | uring, reads/s | uring/posix | "
           "posix batch p50, us | uring batch p50, us |\n");
    /* (uring/posix: the median of each repetition's ratio) */
    printf("|---|--:|--:|--:|--:|--:|--:|\n");
    for (int c = 0; c < 2; c++)
        for (size_t bi = 0; bi < nbatch; bi++) {
            double ratio[MAX_REPS];
            for (int rep = 0; rep < reps; rep++)
                ratio[rep] = rate[1][c][bi][rep] / rate[0][c][bi][rep];
            printf("| %s | %zu | %.0f | %.0f | %.2f | %.1f | %.1f |\n", c ? "warm" : "cold",
                   batches[bi], rr_median(rate[0][c][bi], reps), rr_median(rate[1][c][bi], reps),
                   rr_median(ratio, reps), rr_median(p50[0][c][bi], reps),
                   rr_median(p50[1][c][bi], reps));
        }
    io_close(f[0]);
    io_close(f[1]);
    free(pages);
    free(bufs);
    return 0;
}
