/*
 * limiter_latency.c: build/S/limiter_latency, the get latency of readers
 * while a writer fills at full speed, with the background rate limiter off
 * and on (stage 09 on: kv_set_background_rate).
 *
 *   limiter_latency [--keys=N] [--seconds=S] [--readers=R] [--rounds=K]
 *                   [--fraction=F] [--limit-from=disk|background | --rate=B]
 *                   [--memtable=BYTES] [--db=DIR] [--csv=FILE]
 *                   [--disk-mbps=M [--disk-access-us=A] [--wal-apart]
 *                    [--disk-reads-first]]
 *
 * First the disk's write rate where the databases go: DISK_PROBE_MB MiB
 * written in 1 MiB writes and one fsync, timed (the best of three).  The
 * limit is F (default 0.5) of it; with --limit-from=background, F of the
 * background write rate the first run (limiter off) reached, a limit
 * that holds background work back even where the disk is faster than it
 * ever writes; or B bytes per second.  --memtable sets kv_options'
 * memtable_bytes (default: the engine's).
 *
 * --disk-mbps=M runs everything on a modeled disk of M MB/s (model_disk.h:
 * one queue, no page cache in front of reads, write-back in pieces), each
 * request A µs more (default 100); --wal-apart leaves the write-ahead log
 * (*.log) on this machine's own disk, as a log on a device of its own;
 * --disk-reads-first serves reads before the write-back queued.
 * It is for a machine whose disk is far faster than the engine's
 * background writes, where a limit below the disk's rate is never
 * reached.  The disk's rate is then measured on the model, the same way;
 * each run's fill is on this machine's disk, and the database is then
 * closed and opened again on the model for the S seconds.
 *
 * Then K rounds (default 3), each of two runs in alternating order (off
 * then on, on then off, ...), each run on a fresh database:
 *   1. N keys (default 1,000,000; kvbench's: 16 bytes, 100-byte values)
 *      put in random order, then kv_compact: a settled database;
 *   2. the limit set (0 for the run with the limiter off);
 *   3. for S seconds (default 20), R reader threads (default 4) get random
 *      keys of the N, each get timed alone, while one writer puts new keys
 *      as fast as the engine takes them.
 * A run reports the readers' gets per second and p50/p99/p99.9 latency,
 * the writer's puts per second, and the background write rate: bytes the
 * rate limiter granted flushes and compactions during the S seconds
 * (session.rate_limiter.granted_bytes; it counts them with no limit too),
 * over S.
 *
 * The summary: per setting, the median over the rounds; then the ratio of
 * p99 (on / off, the target is <= 0.5) and how far the background rate
 * with the limiter on came to the limit (the target is within 10%).  With
 * --csv, one row per run (stage, round, limiter, limit, gets/s, p50, p99,
 * p99.9 in µs, puts/s, background bytes/s).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_hist.h"
#include "bench_sys.h"
#include "io.h"
#include "kv.h"
#include "model_disk.h"

#define KEY_BYTES 16
#define VALUE_BYTES 100
#define DISK_PROBE_MB 256
#define MODEL_PROBE_MB 32 /* a modeled disk is slow, and exact */
#define MAX_ROUNDS 15

static uint64_t keys = 1000000;
static double seconds = 20, fraction = 0.5;
static int readers = 4, rounds = 3;
static uint64_t rate_given;
static size_t memtable_bytes;
static int limit_from_background;
static const char *base, *csv_path;
static double disk_mbps, disk_access_us = 100;
static int wal_apart, reads_first;
static char made_base[4096];

static _Noreturn void lat_fail(const char *what, int rc)
{
    fprintf(stderr, "limiter_latency: %s: %s: %s\n", what, kv_strerror(rc), kv_errmsg());
    exit(2);
}

static void lat_key(char *k, uint64_t i)
{
    i *= 2;
    for (int d = KEY_BYTES - 1; d >= 0; d--, i /= 10)
        k[d] = (char)('0' + i % 10);
}

/* Key i's value as kvbench makes values: 50 random printable bytes, then
 * the same again, so a compressor halves it. */
static void lat_value(char *v, uint64_t i)
{
    bench_rng r;
    bench_rng_seed(&r, i + 1);
    for (int j = 0; j < VALUE_BYTES; j++)
        v[j] = j < 50 ? (char)(' ' + bench_rng_below(&r, 95)) : v[j - 50];
}

/* ---- the disk's write rate ----------------------------------------------------- */

static _Noreturn void lat_io_fail(const char *what)
{
    fprintf(stderr, "limiter_latency: %s: %s\n", what, kv_errmsg());
    exit(2);
}

/* Through common/io.h, so that a modeled disk is measured as the engine
 * meets it. */
static double lat_disk_once(const char *path)
{
    static char chunk[1 << 20];
    memset(chunk, 'd', sizeof chunk);
    io_file *f = NULL;
    int rc = io_open(path, IO_WRITE | IO_CREATE | IO_TRUNC, &f);
    if (rc != 0)
        lat_io_fail("opening the probe file");
    double start = bench_now();
    int mb = disk_mbps > 0 ? MODEL_PROBE_MB : DISK_PROBE_MB;
    for (int i = 0; i < mb; i++)
        if ((rc = io_append_bytes(f, chunk, sizeof chunk)) != 0)
            lat_io_fail("writing the probe file");
    if ((rc = io_sync(f)) != 0)
        lat_io_fail("syncing the probe file");
    double took = bench_now() - start;
    io_close(f);
    io_unlink(path);
    return (double)mb * (1 << 20) / took;
}

static double lat_disk_rate(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/disk-probe", base);
    double best = 0;
    for (int i = 0; i < 3; i++) {
        double r = lat_disk_once(path);
        if (r > best)
            best = r;
    }
    return best;
}

/* ---- one run ---------------------------------------------------------------- */

typedef struct lat_run {
    int limited;
    uint64_t limit;
    double gets_per_sec, p50_us, p99_us, p999_us;
    double puts_per_sec, background_bytes_per_sec;
    double disk_busy, disk_read_bytes_per_sec, disk_write_bytes_per_sec; /* modeled */
    double stall_ms;         /* the writer's waits (kv_stats: session.write.stall_ms) */
    double flush_wait_ms;    /* flushes' waits for tokens (session.rate_limiter.flush_waited_us) */
} lat_run;

typedef struct lat_shared {
    kv_db *db;
    int stop;
    uint64_t puts;
} lat_shared;

typedef struct lat_reader {
    pthread_t tid;
    lat_shared *sh;
    uint64_t seed;
    bench_hist hist;
} lat_reader;

static uint64_t lat_ns(void) { return (uint64_t)(bench_now() * 1e9); }

static void *lat_read(void *arg)
{
    lat_reader *rd = arg;
    bench_rng rng;
    bench_rng_seed(&rng, rd->seed);
    char key[KEY_BYTES];
    while (!__atomic_load_n(&rd->sh->stop, __ATOMIC_RELAXED)) {
        lat_key(key, bench_rng_below(&rng, keys));
        void *v = NULL;
        size_t vlen;
        uint64_t t0 = lat_ns();
        int rc = kv_get(rd->sh->db, key, KEY_BYTES, &v, &vlen);
        bench_hist_add(&rd->hist, lat_ns() - t0);
        if (rc != KV_OK)
            lat_fail("kv_get (a reader)", rc);
        kv_free(v);
    }
    return NULL;
}

static void *lat_write(void *arg)
{
    lat_shared *sh = arg;
    char key[KEY_BYTES], value[VALUE_BYTES];
    uint64_t i;
    for (i = 0; !__atomic_load_n(&sh->stop, __ATOMIC_RELAXED); i++) {
        lat_key(key, keys + i);
        lat_value(value, i);
        int rc = kv_put(sh->db, key, KEY_BYTES, value, VALUE_BYTES);
        if (rc != KV_OK)
            lat_fail("kv_put (the writer)", rc);
    }
    sh->puts = i;
    return NULL;
}

/* A number of kv_stats' line "name: N". */
static uint64_t lat_stat(kv_db *db, const char *name)
{
    char *text = NULL;
    int rc = kv_stats(db, &text);
    if (rc != KV_OK)
        lat_fail("kv_stats", rc);
    size_t n = strlen(name);
    uint64_t v = 0;
    int seen = 0;
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            v = strtoull(p + n + 1, NULL, 10);
            seen = 1;
            break;
        }
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    kv_free(text);
    if (!seen) {
        fprintf(stderr, "limiter_latency: kv_stats has no line %s (a stage without the rate "
                "limiter?)\n", name);
        exit(2);
    }
    return v;
}

static void lat_fill(kv_db *db)
{
    uint32_t *order = malloc(keys * sizeof *order);
    if (order == NULL)
        lat_fail("out of memory", KV_ERR_NOMEM);
    for (uint64_t i = 0; i < keys; i++)
        order[i] = (uint32_t)i;
    bench_rng r;
    bench_rng_seed(&r, 42);
    for (uint64_t i = keys - 1; i > 0; i--) {
        uint64_t j = bench_rng_below(&r, i + 1);
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    char key[KEY_BYTES], value[VALUE_BYTES];
    for (uint64_t i = 0; i < keys; i++) {
        lat_key(key, order[i]);
        lat_value(value, order[i]);
        int rc = kv_put(db, key, KEY_BYTES, value, VALUE_BYTES);
        if (rc != KV_OK)
            lat_fail("kv_put (the fill)", rc);
    }
    free(order);
    int rc = kv_compact(db);
    if (rc != KV_OK)
        lat_fail("kv_compact", rc);
}

static void lat_one(lat_run *run, int round)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/db", base);
    bench_rmtree(dir);
    kv_db *db = NULL;
    kv_options opt = {.memtable_bytes = memtable_bytes, .create_if_missing = 1};
    int rc = kv_open(dir, &opt, &db);
    if (rc != KV_OK)
        lat_fail("kv_open", rc);
    lat_fill(db);
    if (disk_mbps > 0) {
        /* The fill was on this machine's disk; the run is on the modeled
         * one, every file opened again through it. */
        if ((rc = kv_close(db)) != KV_OK)
            lat_fail("kv_close", rc);
        model_disk_install(disk_mbps * 1e6, disk_access_us, wal_apart ? ".log" : NULL,
                           reads_first ? MODEL_DISK_READS_FIRST : MODEL_DISK_ONE_QUEUE);
        db = NULL;
        if ((rc = kv_open(dir, &opt, &db)) != KV_OK)
            lat_fail("kv_open", rc);
    }
    rc = kv_set_background_rate(db, run->limited ? (size_t)run->limit : 0);
    if (rc != KV_OK)
        lat_fail("kv_set_background_rate", rc);
    uint64_t granted0 = lat_stat(db, "session.rate_limiter.granted_bytes");
    uint64_t stall0 = lat_stat(db, "session.write.stall_ms");
    uint64_t flush_wait0 = lat_stat(db, "session.rate_limiter.flush_waited_us");
    model_disk_counts disk0, disk1;
    model_disk_get_counts(&disk0);
    lat_shared sh = {.db = db};
    lat_reader *rd = calloc((size_t)readers, sizeof *rd);
    if (rd == NULL)
        lat_fail("out of memory", KV_ERR_NOMEM);
    pthread_t writer;
    double start = bench_now();
    if (pthread_create(&writer, NULL, lat_write, &sh) != 0)
        lat_fail("cannot start a thread", KV_ERR_NOMEM);
    for (int t = 0; t < readers; t++) {
        rd[t].sh = &sh;
        rd[t].seed = 1000u + (uint64_t)round * 100u + (uint64_t)t;
        bench_hist_clear(&rd[t].hist);
        if (pthread_create(&rd[t].tid, NULL, lat_read, &rd[t]) != 0)
            lat_fail("cannot start a thread", KV_ERR_NOMEM);
    }
    while (bench_now() - start < seconds)
        usleep(20000);
    __atomic_store_n(&sh.stop, 1, __ATOMIC_RELAXED);
    bench_hist all;
    bench_hist_clear(&all);
    for (int t = 0; t < readers; t++) {
        pthread_join(rd[t].tid, NULL);
        bench_hist_merge(&all, &rd[t].hist);
    }
    pthread_join(writer, NULL);
    double took = bench_now() - start;
    model_disk_get_counts(&disk1);
    uint64_t granted = lat_stat(db, "session.rate_limiter.granted_bytes") - granted0;
    run->stall_ms = (double)(lat_stat(db, "session.write.stall_ms") - stall0);
    run->flush_wait_ms =
        (double)(lat_stat(db, "session.rate_limiter.flush_waited_us") - flush_wait0) / 1e3;
    /* The limiter off again, so that closing is not paced, and the files
     * it writes on this machine's disk. */
    kv_set_background_rate(db, 0);
    model_disk_uninstall();
    rc = kv_close(db);
    if (rc != KV_OK)
        lat_fail("kv_close", rc);
    bench_rmtree(dir);
    free(rd);
    run->gets_per_sec = (double)all.count / took;
    run->p50_us = bench_hist_percentile(&all, 0.50) / 1000;
    run->p99_us = bench_hist_percentile(&all, 0.99) / 1000;
    run->p999_us = bench_hist_percentile(&all, 0.999) / 1000;
    run->puts_per_sec = (double)sh.puts / took;
    run->background_bytes_per_sec = (double)granted / took;
    run->disk_busy = (double)(disk1.busy_ns - disk0.busy_ns) / 1e9 / took;
    run->disk_read_bytes_per_sec = (double)(disk1.read_bytes - disk0.read_bytes) / took;
    run->disk_write_bytes_per_sec = (double)(disk1.write_bytes - disk0.write_bytes) / took;
}

/* ---- the summary -------------------------------------------------------------- */

static int lat_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double lat_median(const lat_run *runs, int n, int limited, size_t field)
{
    double v[2 * MAX_ROUNDS];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (runs[i].limited == limited)
            v[k++] = *(const double *)((const char *)&runs[i] + field);
    qsort(v, (size_t)k, sizeof v[0], lat_cmp);
    return k == 0 ? 0 : k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

static void lat_print_run(const lat_run *r, int round)
{
    printf("| %d | %s | %.0f | %.1f | %.1f | %.1f | %.0f | %.1f |", round,
           r->limited ? "on" : "off", r->gets_per_sec, r->p50_us, r->p99_us, r->p999_us,
           r->puts_per_sec, r->background_bytes_per_sec / 1e6);
    if (disk_mbps > 0)
        printf(" %.0f%% | %.1f | %.1f |", 100 * r->disk_busy, r->disk_read_bytes_per_sec / 1e6,
               r->disk_write_bytes_per_sec / 1e6);
    printf("\n");
    fflush(stdout);
}

static void lat_usage_to(FILE *f)
{
    fprintf(f, "usage: limiter_latency [--keys=N] [--seconds=S] [--readers=R] "
            "[--rounds=K] [--fraction=F] [--limit-from=disk|background | --rate=B] "
            "[--memtable=BYTES] [--db=DIR] [--csv=FILE] "
            "[--disk-mbps=M [--disk-access-us=A] [--wal-apart] [--disk-reads-first]]\n");
    exit(f == stdout ? 0 : 2);
}

static void lat_usage(void) { lat_usage_to(stderr); }

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--keys=", 7) == 0)
            keys = strtoull(a + 7, NULL, 10);
        else if (strncmp(a, "--seconds=", 10) == 0)
            seconds = strtod(a + 10, NULL);
        else if (strncmp(a, "--readers=", 10) == 0)
            readers = atoi(a + 10);
        else if (strncmp(a, "--rounds=", 9) == 0)
            rounds = atoi(a + 9);
        else if (strncmp(a, "--fraction=", 11) == 0)
            fraction = strtod(a + 11, NULL);
        else if (strncmp(a, "--rate=", 7) == 0)
            rate_given = strtoull(a + 7, NULL, 10);
        else if (strncmp(a, "--memtable=", 11) == 0)
            memtable_bytes = (size_t)strtoull(a + 11, NULL, 10);
        else if (strcmp(a, "--limit-from=disk") == 0)
            limit_from_background = 0;
        else if (strcmp(a, "--limit-from=background") == 0)
            limit_from_background = 1;
        else if (strncmp(a, "--db=", 5) == 0)
            base = a + 5;
        else if (strncmp(a, "--csv=", 6) == 0)
            csv_path = a + 6;
        else if (strncmp(a, "--disk-mbps=", 12) == 0)
            disk_mbps = strtod(a + 12, NULL);
        else if (strncmp(a, "--disk-access-us=", 17) == 0)
            disk_access_us = strtod(a + 17, NULL);
        else if (strcmp(a, "--wal-apart") == 0)
            wal_apart = 1;
        else if (strcmp(a, "--disk-reads-first") == 0)
            reads_first = 1;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            lat_usage_to(stdout);
        else
            lat_usage();
    }
    if (keys < 1000 || keys > UINT32_MAX || seconds <= 0 || readers < 1 || readers > 64 ||
        rounds < 1 || rounds > MAX_ROUNDS || fraction <= 0 || fraction > 1 || disk_mbps < 0 ||
        disk_access_us < 0 || ((wal_apart || reads_first) && disk_mbps == 0))
        lat_usage();
    if (base == NULL) {
        snprintf(made_base, sizeof made_base, "%s/limiter-latency-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(made_base) == NULL) {
            fprintf(stderr, "limiter_latency: mkdtemp %s: %s\n", made_base, strerror(errno));
            return 2;
        }
        base = made_base;
    } else if (bench_mkdir(base) != 0) {
        fprintf(stderr, "limiter_latency: cannot make %s: %s\n", base, strerror(errno));
        return 2;
    }
    if (disk_mbps > 0)
        model_disk_install(disk_mbps * 1e6, disk_access_us, wal_apart ? ".log" : NULL,
                           reads_first ? MODEL_DISK_READS_FIRST : MODEL_DISK_ONE_QUEUE);
    double disk = lat_disk_rate();
    model_disk_uninstall();
    uint64_t limit = rate_given ? rate_given : (uint64_t)(disk * fraction);
    const char *why = rate_given ? "--rate"
                      : limit_from_background ? "the first run's background rate times --fraction"
                                              : "the disk's rate times --fraction";
    printf("stage %s; disk write rate %.0f MB/s (%d MiB, one fsync, best of 3) in %s\n",
           kv_stage(), disk / 1e6, disk_mbps > 0 ? MODEL_PROBE_MB : DISK_PROBE_MB, base);
    if (disk_mbps > 0)
        printf("a modeled disk (bench/model_disk.h): %.0f MB/s, %.0f µs a request, %s, "
               "reads not cached, write-back in %u KiB pieces; the write-ahead log %s\n",
               disk_mbps, disk_access_us, reads_first ? "reads first" : "one queue",
               MODEL_DISK_WRITEBACK >> 10,
               wal_apart ? "on this machine's own disk" : "on it too");
    printf("%" PRIu64 " keys settled, %d readers, one writer filling, %.0f s a run, %d rounds, "
           "memtable_bytes %zu (0: the engine's)\n\n", keys, readers, seconds, rounds,
           memtable_bytes);
    printf("| round | limiter | gets/s | p50 µs | p99 µs | p99.9 µs | puts/s | "
           "background MB/s |%s\n|---|---|---|---|---|---|---|---|%s\n",
           disk_mbps > 0 ? " disk busy | disk reads MB/s | disk writes MB/s |" : "",
           disk_mbps > 0 ? "---|---|---|" : "");
    lat_run runs[2 * MAX_ROUNDS];
    int n = 0;
    for (int r = 0; r < rounds; r++) {
        for (int j = 0; j < 2; j++) {
            runs[n] = (lat_run){.limited = (r + j) % 2, .limit = limit};
            lat_one(&runs[n], r + 1);
            if (n == 0 && limit_from_background && !rate_given)
                limit = (uint64_t)(runs[0].background_bytes_per_sec * fraction);
            lat_print_run(&runs[n], r + 1);
            if (csv_path != NULL) {
                FILE *f = fopen(csv_path, "a");
                if (f != NULL) {
                    fprintf(f, "%s,%d,%s,%" PRIu64 ",%.0f,%.1f,%.1f,%.1f,%.0f,%.0f\n",
                            kv_stage(), r + 1, runs[n].limited ? "on" : "off", limit,
                            runs[n].gets_per_sec, runs[n].p50_us, runs[n].p99_us,
                            runs[n].p999_us, runs[n].puts_per_sec,
                            runs[n].background_bytes_per_sec);
                    fclose(f);
                }
            }
            n++;
        }
    }
    double p99_off = lat_median(runs, n, 0, offsetof(lat_run, p99_us));
    double p99_on = lat_median(runs, n, 1, offsetof(lat_run, p99_us));
    double p999_off = lat_median(runs, n, 0, offsetof(lat_run, p999_us));
    double p999_on = lat_median(runs, n, 1, offsetof(lat_run, p999_us));
    double bg_on = lat_median(runs, n, 1, offsetof(lat_run, background_bytes_per_sec));
    double bg_off = lat_median(runs, n, 0, offsetof(lat_run, background_bytes_per_sec));
    printf("\nlimit %.1f MB/s (%s)\n", (double)limit / 1e6, why);
    printf("medians: p99 off %.1f µs, on %.1f µs: on/off %.2fx (target <= 0.5x: %s); "
           "p99.9 off %.1f µs, on %.1f µs: %.2fx\n", p99_off, p99_on,
           p99_off > 0 ? p99_on / p99_off : 0,
           p99_off > 0 && p99_on <= 0.5 * p99_off ? "met" : "not met", p999_off, p999_on,
           p999_off > 0 ? p999_on / p999_off : 0);
    printf("background writes: off %.1f MB/s; on %.1f MB/s, %.2fx the limit of %.1f MB/s "
           "(target within 10%%: %s)\n", bg_off / 1e6, bg_on / 1e6,
           limit ? bg_on / (double)limit : 0, (double)limit / 1e6,
           limit && bg_on >= 0.9 * (double)limit && bg_on <= 1.1 * (double)limit ? "met"
                                                                                   : "not met");
    /* What a writer waits for: its stalls (a memtable switch behind a
     * paced flush, level 0's slowdowns and stops), and the flushes' own
     * waits for tokens, which the priorities shorten (docs/09-cache.md). */
    int prio_off = getenv("KV_LIMITER_PRIORITIES") != NULL;
    printf("writer stalls: off %.0f ms, on %.0f ms (medians a run of %.0f s)",
           lat_median(runs, n, 0, offsetof(lat_run, stall_ms)),
           lat_median(runs, n, 1, offsetof(lat_run, stall_ms)), seconds);
    if (prio_off)
        printf("; KV_LIMITER_PRIORITIES=off: flushes at a compaction's priority, their waits "
               "not counted apart\n");
    else
        printf("; flushes waited for tokens: on %.0f ms\n",
               lat_median(runs, n, 1, offsetof(lat_run, flush_wait_ms)));
    if (base == made_base)
        bench_rmtree(base);
    return 0;
}
