/*
 * multiget.c: build/S/multiget, what looking up keys in batches costs:
 * kv_multi_get of B keys against a loop of B kv_gets, on each I/O backend
 * (kv_options.io: posix, uring), with the tables' pages out of the page
 * cache (cold) and in it (warm).  `make bench-multiget` runs it on stages
 * 05 and 06 (docs/io.md quotes what it prints).
 *
 *   multiget [--keys=N] [--lookups=L] [--batches=1,8,16,64] [--io=posix,uring]
 *            [--cache=cold,warm] [--reps=R] [--db=DIR] [--fresh] [--allow-tmpfs]
 *
 * The database: N keys (16 decimal digits) with 100-byte values of random
 * bytes (so that lz4 cannot shrink the tables below their real size), put
 * in random order, then kv_compact and kv_close, so that every key is in a
 * table.  It is kept in DIR (default /var/tmp/kv-multiget-STAGE) with a
 * note of N beside it, and loaded again only when N differs or with
 * --fresh.
 *
 * The lookups: L present keys, one from each run of N / L consecutive keys,
 * in random order, so that no two share a data block (a block holds some
 * 30 of these entries): each cold lookup must read from the device.  Each
 * measurement opens the database with the backend asked for, and:
 *   cold  before kv_open, every file of the database is dropped from the
 *         page cache (fdatasync, then posix_fadvise DONTNEED), and kv_open
 *         starts with an empty block cache;
 *   warm  the same lookups are made once first, then measured (again and
 *         again for a quarter of a second: one pass is milliseconds).
 * The L lookups go in batches of B: one kv_multi_get of B keys, or B
 * kv_gets, each batch timed.  Every value is checked against the one put.
 *
 * It prints a line per measurement, then a table of the medians of R
 * repetitions: keys per second of each way, their ratio, kv_multi_get's
 * keys per second over the kv_get loop's on the POSIX backend at the same
 * batch and cache (the figure a batched engine is judged by), and per key:
 * bytes the process read from the device (read_bytes of /proc/self/io),
 * read system calls (syscr), page faults that read the device (majflt:
 * stage 05 reads its tables through a mapping) and io_uring submissions.
 * A cold figure on tmpfs means nothing (nothing is ever read from a
 * device), so it refuses a DIR there unless --allow-tmpfs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "bench_sys.h"
#include "io_mount.h"
#include "io_ring.h"
#include "kv.h"

#define KEY_BYTES 16
#define VALUE_BYTES 100
#define MAX_BATCHES 8
#define MAX_REPS 15
#define TMPFS_MAGIC_NUMBER 0x01021994

static _Noreturn void mg_fail(const char *what, int rc)
{
    fprintf(stderr, "multiget: %s: %s: %s\n", what, kv_strerror(rc), kv_errmsg());
    exit(2);
}

static void mg_key(char *k, uint64_t i)
{
    for (int d = KEY_BYTES - 1; d >= 0; d--, i /= 10)
        k[d] = (char)('0' + i % 10);
}

/* The value of key i: random bytes, the same every time. */
static void mg_value(uint8_t *v, uint64_t i)
{
    bench_rng r;
    bench_rng_seed(&r, i * 2654435761u + 1);
    for (int j = 0; j < VALUE_BYTES; j += 8) {
        uint64_t x = bench_rng_next(&r);
        memcpy(v + j, &x, VALUE_BYTES - j < 8 ? (size_t)(VALUE_BYTES - j) : 8);
    }
}

/* ---- the database ---------------------------------------------------------- */

static void mg_load(const char *dir, uint64_t n)
{
    printf("multiget: %s: loading %" PRIu64 " keys into %s\n", kv_stage(), n, dir);
    fflush(stdout);
    double t0 = bench_now();
    kv_db *db = NULL;
    int rc = kv_open(dir, NULL, &db);
    if (rc != KV_OK)
        mg_fail("kv_open", rc);
    uint32_t *order = malloc(n * sizeof *order);
    if (order == NULL)
        mg_fail("out of memory", KV_ERR_NOMEM);
    for (uint64_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    bench_rng r;
    bench_rng_seed(&r, 42);
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = bench_rng_below(&r, i);
        uint32_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    char key[KEY_BYTES];
    uint8_t val[VALUE_BYTES];
    for (uint64_t i = 0; i < n; i++) {
        mg_key(key, order[i]);
        mg_value(val, order[i]);
        if ((rc = kv_put(db, key, KEY_BYTES, val, VALUE_BYTES)) != KV_OK)
            mg_fail("kv_put", rc);
    }
    free(order);
    if ((rc = kv_flush(db)) != KV_OK || (rc = kv_compact(db)) != KV_OK)
        mg_fail("kv_flush, kv_compact", rc);
    char *stats = NULL;
    if (kv_stats(db, &stats) == KV_OK) {
        const char *t = strstr(stats, "tables.count: ");
        printf("multiget: loaded in %.1f s; %.*s\n", bench_now() - t0,
               t ? (int)strcspn(t, "\n") : 0, t ? t : "");
        kv_free(stats);
    }
    if ((rc = kv_close(db)) != KV_OK)
        mg_fail("kv_close", rc);
}

/* Drops every file of dir from the page cache: what a cold read finds. */
static void mg_drop_cache(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        perror("multiget: opendir");
        exit(2);
    }
    struct dirent *e;
    char path[4096 + 256 + 2];
    while ((e = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "%.4096s/%.256s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        (void)fdatasync(fd); /* dirty pages are not dropped */
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    closedir(d);
}

/* ---- one measurement --------------------------------------------------------- */

typedef struct mg_lookups {
    size_t n;
    uint64_t *index;         /* the key numbers, in lookup order */
    char (*keys)[KEY_BYTES];
    const void **kp;         /* kv_multi_get's arrays */
    size_t *klens;
    void **vals;
    size_t *vlens;
    int *rcs;
} mg_lookups;

typedef struct mg_result {
    double keys_per_s, p50_us, p99_us;
    double read_bytes, syscr, majflt, submissions; /* per key */
} mg_result;

static int mg_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long mg_majflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_majflt;
}

/* One pass over the lookups in batches of b; returns the seconds spent in
 * the calls, and each batch's microseconds in lat. */
static double mg_pass(kv_db *db, const mg_lookups *lk, size_t b, int multi, double *lat)
{
    double total = 0;
    uint8_t want[VALUE_BYTES];
    size_t nb = 0;
    for (size_t i = 0; i + b <= lk->n; i += b) {
        double t0 = bench_now();
        if (multi) {
            int rc = kv_multi_get(db, b, lk->kp + i, lk->klens + i, lk->vals + i,
                                  lk->vlens + i, lk->rcs + i);
            if (rc != KV_OK)
                mg_fail("kv_multi_get", rc);
        } else {
            for (size_t j = i; j < i + b; j++)
                lk->rcs[j] = kv_get(db, lk->kp[j], KEY_BYTES, &lk->vals[j], &lk->vlens[j]);
        }
        double dt = bench_now() - t0;
        total += dt;
        lat[nb++] = dt * 1e6;
        for (size_t j = i; j < i + b; j++) {
            mg_value(want, lk->index[j]);
            if (lk->rcs[j] != KV_OK || lk->vlens[j] != VALUE_BYTES ||
                memcmp(lk->vals[j], want, VALUE_BYTES) != 0) {
                fprintf(stderr, "multiget: key %" PRIu64 ": wrong answer (%s)\n",
                        lk->index[j], kv_strerror(lk->rcs[j]));
                exit(1);
            }
            kv_free(lk->vals[j]);
        }
    }
    return total;
}

static void mg_measure(const char *dir, int io, int cold, size_t b, int multi,
                       const mg_lookups *lk, mg_result *out, char *backend, size_t bn)
{
    if (cold)
        mg_drop_cache(dir);
    kv_options opt;
    kv_options_init(&opt);
    opt.io = io;
    kv_db *db = NULL;
    int rc = kv_open(dir, &opt, &db);
    if (rc != KV_OK)
        mg_fail("kv_open", rc);
    if (!io_mount_describe_dir(dir, backend, bn))
        snprintf(backend, bn, "?");
    size_t batches = lk->n / b;
    double *lat = malloc((batches ? batches : 1) * sizeof *lat);
    if (lat == NULL)
        mg_fail("out of memory", KV_ERR_NOMEM);
    if (!cold)
        mg_pass(db, lk, b, multi, lat);
    bench_io io0, io1;
    io_ring_counts r0, r1;
    bench_io_read(&io0);
    io_ring_counts_get(&r0);
    long f0 = mg_majflt();
    /* Warm passes are short: repeated for a quarter of a second at least,
     * so that the figure is not one scheduling hiccup. */
    double secs = 0, keys = 0;
    do {
        secs += mg_pass(db, lk, b, multi, lat);
        keys += (double)(batches * b);
    } while (!cold && secs < 0.25);
    long f1 = mg_majflt();
    io_ring_counts_get(&r1);
    bench_io_read(&io1);
    if ((rc = kv_close(db)) != KV_OK)
        mg_fail("kv_close", rc);
    qsort(lat, batches, sizeof *lat, mg_cmp_double); /* the last pass's */
    out->keys_per_s = keys / secs;
    out->p50_us = lat[batches / 2];
    out->p99_us = lat[(size_t)((double)(batches - 1) * 0.99)];
    out->read_bytes = (double)(io1.read_bytes - io0.read_bytes) / keys;
    out->syscr = (double)(io1.syscr - io0.syscr) / keys;
    out->majflt = (double)(f1 - f0) / keys;
    out->submissions = (double)(r1.submissions - r0.submissions) / keys;
    free(lat);
}

/* ---- the run ------------------------------------------------------------------ */

static size_t mg_parse_list(const char *s, size_t *out, size_t max)
{
    size_t n = 0;
    while (*s && n < max) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s || v == 0)
            return 0;
        out[n++] = v;
        s = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0')
            return 0;
    }
    return n;
}

static double mg_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, mg_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000, lookups = 20000;
    size_t batches[MAX_BATCHES] = {1, 8, 16, 64}, nbatch = 4;
    int want_io[2] = {1, 1}, want_cache[2] = {1, 1}, reps = 3, fresh = 0, allow_tmpfs = 0;
    const char *where = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--keys=", 7) == 0)
            n = strtoull(a + 7, NULL, 10);
        else if (strncmp(a, "--lookups=", 10) == 0)
            lookups = strtoull(a + 10, NULL, 10);
        else if (strncmp(a, "--batches=", 10) == 0)
            nbatch = mg_parse_list(a + 10, batches, MAX_BATCHES);
        else if (strncmp(a, "--io=", 5) == 0) {
            want_io[0] = strstr(a + 5, "posix") != NULL;
            want_io[1] = strstr(a + 5, "uring") != NULL;
        } else if (strncmp(a, "--cache=", 8) == 0) {
            want_cache[0] = strstr(a + 8, "cold") != NULL;
            want_cache[1] = strstr(a + 8, "warm") != NULL;
        } else if (strncmp(a, "--reps=", 7) == 0)
            reps = atoi(a + 7);
        else if (strncmp(a, "--db=", 5) == 0)
            where = a + 5;
        else if (strcmp(a, "--fresh") == 0)
            fresh = 1;
        else if (strcmp(a, "--allow-tmpfs") == 0)
            allow_tmpfs = 1;
        else {
            int help = strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
            fprintf(help ? stdout : stderr,
                    "usage: multiget [--keys=N] [--lookups=L] [--batches=1,8,16,64] "
                    "[--io=posix,uring] [--cache=cold,warm] [--reps=R] [--db=DIR] [--fresh] "
                    "[--allow-tmpfs]\n");
            return help ? 0 : 2;
        }
    }
    if (n == 0 || n > UINT32_MAX || lookups == 0 || lookups > n || nbatch == 0 || reps < 1 ||
        reps > MAX_REPS || !(want_io[0] || want_io[1]) || !(want_cache[0] || want_cache[1])) {
        fprintf(stderr, "multiget: bad arguments (see --help; 1 <= lookups <= keys, "
                        "1 <= reps <= %d)\n", MAX_REPS);
        return 2;
    }
    char dir[4096], note[4200];
    if (where)
        snprintf(dir, sizeof dir, "%s", where);
    else
        snprintf(dir, sizeof dir, "/var/tmp/kv-multiget-%s", kv_stage());
    snprintf(note, sizeof note, "%s.keys", dir);

    /* The database, loaded again only when it is not the one asked for. */
    FILE *nf = fopen(note, "r");
    unsigned long long had = 0;
    if (nf != NULL) {
        if (fscanf(nf, "%llu", &had) != 1)
            had = 0;
        fclose(nf);
    }
    if (fresh || had != n) {
        bench_rmtree(dir);
        unlink(note);
        mg_load(dir, n);
        if ((nf = fopen(note, "w")) != NULL) {
            fprintf(nf, "%" PRIu64 "\n", n);
            fclose(nf);
        }
    } else {
        printf("multiget: %s: reusing %s (%" PRIu64 " keys; --fresh loads it again)\n",
               kv_stage(), dir, n);
    }
    struct statfs fs;
    if (want_cache[0] && statfs(dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC_NUMBER && !allow_tmpfs) {
        fprintf(stderr, "multiget: %s is on tmpfs, where nothing is ever cold: give --db=DIR on "
                        "a disk (or --cache=warm, or --allow-tmpfs)\n", dir);
        return 2;
    }
    if (getenv("KV_IO") != NULL)
        printf("multiget: KV_IO=%s replaces the backend each run asks for (see \"opened as\")\n",
               getenv("KV_IO"));
    char why[200];
    int ring_asked = KV_IO_URING;
    if (want_io[1] && !io_ring_usable(why, sizeof why)) {
        printf("multiget: io_uring is refused here (%s): the uring runs open with KV_IO_AUTO, "
               "which falls back to the POSIX calls\n", why);
        ring_asked = KV_IO_AUTO;
    }

    /* One key from each run of n / lookups keys, in random order. */
    mg_lookups lk = {.n = (size_t)lookups};
    lk.index = malloc(lk.n * sizeof *lk.index);
    lk.keys = malloc(lk.n * sizeof *lk.keys);
    lk.kp = malloc(lk.n * sizeof *lk.kp);
    lk.klens = malloc(lk.n * sizeof *lk.klens);
    lk.vals = malloc(lk.n * sizeof *lk.vals);
    lk.vlens = malloc(lk.n * sizeof *lk.vlens);
    lk.rcs = malloc(lk.n * sizeof *lk.rcs);
    if (!lk.index || !lk.keys || !lk.kp || !lk.klens || !lk.vals || !lk.vlens || !lk.rcs)
        mg_fail("out of memory", KV_ERR_NOMEM);
    bench_rng r;
    bench_rng_seed(&r, 7);
    uint64_t stride = n / lookups;
    for (size_t i = 0; i < lk.n; i++)
        lk.index[i] = i * stride + bench_rng_below(&r, stride);
    for (size_t i = lk.n; i > 1; i--) {
        size_t j = (size_t)bench_rng_below(&r, i);
        uint64_t t = lk.index[i - 1];
        lk.index[i - 1] = lk.index[j];
        lk.index[j] = t;
    }
    for (size_t i = 0; i < lk.n; i++) {
        mg_key(lk.keys[i], lk.index[i]);
        lk.kp[i] = lk.keys[i];
        lk.klens[i] = KEY_BYTES;
    }

    /* [io][cache][batch][multi][rep] */
    static mg_result res[2][2][MAX_BATCHES][2][MAX_REPS];
    char backend[2][300] = {"", ""};
    for (int rep = 0; rep < reps; rep++)
        for (int io = 0; io < 2; io++)
            for (int cold = 1; cold >= 0; cold--)
                for (size_t bi = 0; bi < nbatch; bi++)
                    for (int k = 0; k < 2; k++) {
                        if (!want_io[io] || !want_cache[!cold])
                            continue;
                        int multi = (k + rep) % 2; /* each rep starts with the other */
                        mg_result *o = &res[io][!cold][bi][multi][rep];
                        mg_measure(dir, io ? ring_asked : KV_IO_POSIX, cold, batches[bi], multi,
                                   &lk, o, backend[io], sizeof backend[io]);
                        printf("multiget: %s keys=%" PRIu64 " io=%s %s batch=%zu %s: %.0f keys/s, "
                               "batch p50 %.1f us p99 %.1f us; per key %.0f bytes read, %.2f "
                               "reads, %.2f faults, %.3f ring submissions\n",
                               kv_stage(), n, backend[io], cold ? "cold" : "warm", batches[bi],
                               multi ? "kv_multi_get" : "kv_get-loop", o->keys_per_s, o->p50_us,
                               o->p99_us, o->read_bytes, o->syscr, o->majflt, o->submissions);
                        fflush(stdout);
                    }

    printf("\nmultiget: %s, %" PRIu64 " keys, %zu lookups, batches of B keys, median of %d "
           "runs:\n\n", kv_stage(), n, lk.n, reps);
    printf("| stage | io | cache | B | kv_get loop, keys/s | kv_multi_get, keys/s | ratio | "
           "vs the loop on posix | bytes read/key | faults/key | reads/key | submissions/key |\n");
    printf("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int io = 0; io < 2; io++)
        for (int c = 0; c < 2; c++)
            for (size_t bi = 0; bi < nbatch; bi++) {
                if (!want_io[io] || !want_cache[c])
                    continue;
                double loop[MAX_REPS], multi[MAX_REPS], bytes[MAX_REPS], reads[MAX_REPS],
                    faults[MAX_REPS], subs[MAX_REPS], base[MAX_REPS];
                for (int rep = 0; rep < reps; rep++) {
                    loop[rep] = res[io][c][bi][0][rep].keys_per_s;
                    multi[rep] = res[io][c][bi][1][rep].keys_per_s;
                    bytes[rep] = res[io][c][bi][1][rep].read_bytes;
                    reads[rep] = res[io][c][bi][1][rep].syscr;
                    faults[rep] = res[io][c][bi][1][rep].majflt;
                    subs[rep] = res[io][c][bi][1][rep].submissions;
                    /* kv_multi_get of this run over the POSIX loop of the same rep */
                    base[rep] = want_io[0] ? res[io][c][bi][1][rep].keys_per_s /
                                                 res[0][c][bi][0][rep].keys_per_s
                                           : 0;
                }
                double l = mg_median(loop, reps), m = mg_median(multi, reps);
                char vs[16] = "-";
                if (want_io[0])
                    snprintf(vs, sizeof vs, "%.2f", mg_median(base, reps));
                printf("| %s | %s | %s | %zu | %.0f | %.0f | %.2f | %s | %.0f | %.2f | %.2f | "
                       "%.3f |\n",
                       kv_stage(), io ? "uring" : "posix", c ? "warm" : "cold", batches[bi], l, m,
                       m / l, vs, mg_median(bytes, reps), mg_median(faults, reps),
                       mg_median(reads, reps), mg_median(subs, reps));
            }
    printf("\n(ratio: kv_multi_get's keys/s over the loop's; vs the loop on posix: kv_multi_get's "
           "over the kv_get loop's on the POSIX backend in the same repetition, the median of "
           "those; per key, kv_multi_get's: bytes the process read from the device, page faults "
           "that read it, read system calls, io_uring submissions)\n");
    for (int io = 0; io < 2; io++)
        if (want_io[io])
            printf("multiget: io=%s opened as: %s\n", io ? "uring" : "posix", backend[io]);
    return 0;
}
