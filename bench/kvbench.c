/*
 * kvbench.c: the benchmark, after LevelDB's db_bench, over any engine behind
 * bench/engine.h (a stage of this project, or LevelDB, RocksDB, LMDB, SQLite).
 *
 *   kvbench [--num=N] [--seconds=S] [--fill_seconds=S] [--threads=T]
 *           [--seed=S] [--db=DIR] [--csv=FILE] [--rep=R] [--benchmarks=a,b]
 *           [--value_size=B] [--zipf=S] [--reads=N] [--warmup=N]
 *           [--use_existing_db=0|1]
 *   kvbench --describe    one line: the engine, its version, and whether
 *                         sync = 1 makes it fsync (for the report's charts)
 *
 * Workloads, in the order they run, on three databases:
 *   fresh database 1:  fillseq       N puts, keys in ascending order
 *   fresh database 2:  fillrandom    N puts, the same keys in random order
 *                      overwrite     N puts of random existing keys
 *                      settle        the engine's compaction, timed, before
 *                                    the reads: they then run on a settled
 *                                    database (nothing pending in either
 *                                    engine), not right after the fill
 *                                    (only when --benchmarks names it)
 *                      readrandom    N gets of random existing keys
 *                      readzipf      N gets of existing keys drawn zipfian
 *                                    (skew --zipf, else 0.99: a few keys
 *                                    hot, spread over the key space; only
 *                                    when --benchmarks names it)
 *                      readmissing   N gets of random absent keys
 *                      readseq       one iterator from the first key, N entries
 *                      seekrandom    N times: new iterator, seek a random
 *                                    existing key, read 10 entries, free it
 *                      seekonce      the same through one iterator, made
 *                                    once: seek, read 10 entries, N times
 *                                    (only when --benchmarks names it)
 *                      readwhilewriting  T reader threads doing random gets
 *                                    while one thread overwrites random keys
 *                                    (only the reads are counted; the writer
 *                                    stops after N writes or with the readers)
 *                      compact       the engine's compaction, timed
 *                      deleterandom  N deletes of random existing keys
 *   fresh database 3:  fillsync      N/100 puts in random order, sync = 1
 *
 * Keys are 16 bytes: key i is the 16 decimal digits of 2i, so the absent keys
 * of readmissing (2i+1) fall between existing ones.  Values are 100 bytes
 * (--value_size), made as db_bench makes them: pieces of 50 random
 * printable bytes, each repeated, so a compressor halves them.  Every random choice comes from --seed.
 *
 * Each workload stops after its operations or after --seconds (fills:
 * --fill_seconds), whichever comes first, and reports the operations it
 * did; so an engine whose reads scan the whole log reports a rate instead of
 * running for hours.  If a fill stops early the database simply holds fewer
 * keys, and the reads pick among those.
 *
 * Figures per workload: ops/s (operations over wall time), µs/op (mean
 * latency), p50/p99/p99.9 latency (each operation timed alone), MB/s (key +
 * value bytes moved, 10^6 bytes), and system calls per operation,
 * read-like and write-like (syscr and syscw of /proc/self/io, read before
 * and after the workload; every thread of the process counts, so a
 * background flush's writes are in them; fsync, open and rename are in
 * neither): on a virtual machine where a system call costs about a
 * microsecond, they decide much of the ratio between engines.  Per database: bytes on disk (apparent
 * size of its files) after the fill and after compaction, space
 * amplification (bytes on disk / live key + value bytes), write
 * amplification (bytes the process dirtied in the page cache, from
 * /proc/self/io write_bytes, per byte of keys + values written; the logical
 * one from wchar), and peak memory (ru_maxrss).  Each database runs in its
 * own child process, so these counters start from zero for each.
 *
 * --use_existing_db=1 (db_bench's flag of that name) keeps database 2 in
 * --db: it is not removed before it is opened nor after it is closed, and
 * its reads take it to hold the --num keys of a fill with the same --num
 * and --seed.  So one run fills and settles it (--benchmarks=fillrandom,
 * settle) and later runs read it as it is, every engine from the same
 * state, in rounds that alternate (scripts/bench_cache_10m.sh).  --reads
 * bounds the operations of each read workload (default --num); --warmup=N
 * makes N of them first, of keys drawn with another seed, neither timed
 * nor counted (a steady state to count instructions in).
 *
 * Under valgrind --tool=callgrind --instr-atstart=no, each read workload
 * (read*, seek*) is counted alone: its instructions (and, with
 * --cache-sim=yes, its simulated cache misses) are dumped under the
 * workload's name (callgrind_annotate of each dump, divided by the ops
 * printed: scripts/get_cost.sh).  Without valgrind the markers do nothing.
 *
 * Output: one db_bench-like line per workload on standard output, and with
 * --csv one row per workload appended to FILE (header written if the file
 * is empty).  scripts/bench.sh runs this for every engine and summarizes.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_hist.h"
#include "bench_sys.h"
#include "engine.h"

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define BENCH_COUNTED 1
#endif
#endif
#ifndef BENCH_COUNTED
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_DUMP_STATS_AT(what) ((void)(what))
#endif

#define KEY_BYTES 16
#define VALUE_BYTES_DEFAULT 100
#define VALUE_BYTES_MAX (1u << 20)
#define SEEK_NEXTS 10
#define VALUE_POOL (1u << 20)
/* --value_size: every value's length (db_bench's --value_size). */
static size_t value_bytes = VALUE_BYTES_DEFAULT;
#define ENTRY_BYTES (KEY_BYTES + value_bytes)

static const bench_engine *E = &bench_engine_impl;

typedef struct bench_config {
    uint64_t num;
    double seconds;
    double fill_seconds;
    int threads;
    uint64_t seed;
    const char *db;
    const char *csv;
    int rep;
    const char *benchmarks;   /* comma-separated, NULL = all */
    double zipf;              /* readrandom's skew; 0 = uniform */
    uint64_t reads;           /* operations of each read workload; 0 = num */
    int use_existing_db;      /* database 2 kept before and after */
    uint64_t warmup;          /* uncounted operations before each read workload */
} bench_config;

static bench_config cfg = {
    .num = 1000000, .seconds = 10, .fill_seconds = 120, .threads = 1, .seed = 301,
    .db = NULL, .csv = NULL, .rep = 1, .benchmarks = NULL,
};

static const char *const all_workloads[] = {
    "fillseq", "fillrandom", "overwrite", "settle", "readrandom", "readzipf", "readmissing", "readseq",
    "seekrandom", "seekonce", "readwhilewriting", "compact", "deleterandom", "fillsync",
};

/* ---- keys and values ------------------------------------------------------ */

static char value_pool[VALUE_POOL + VALUE_BYTES_MAX];
static uint32_t *perm;          /* a random permutation of [0, num) */

/* db_bench's RandomGenerator with compression ratio 0.5: pieces of 100
 * bytes, each 50 random printable bytes written twice. */
static void bench_make_values(uint64_t seed)
{
    bench_rng r;
    bench_rng_seed(&r, seed);
    for (size_t pos = 0; pos + 100 <= sizeof value_pool; pos += 100) {
        for (size_t i = 0; i < 50; i++)
            value_pool[pos + i] = (char)(' ' + bench_rng_below(&r, 95));
        memcpy(value_pool + pos + 50, value_pool + pos, 50);
    }
}

/* The value for the i-th write of a workload. */
static const char *bench_value(uint64_t i)
{
    return value_pool + (i * 100) % VALUE_POOL; /* (the pool has VALUE_BYTES_MAX more) */
}

static void bench_key(char *k, uint64_t i)
{
    for (int d = KEY_BYTES - 1; d >= 0; d--, i /= 10)
        k[d] = (char)('0' + i % 10);
}

static void bench_key_present(char *k, uint64_t idx) { bench_key(k, 2 * idx); }
static void bench_key_absent(char *k, uint64_t idx) { bench_key(k, 2 * idx + 1); }

static int bench_make_perm(uint64_t n, uint64_t seed)
{
    perm = malloc((n ? n : 1) * sizeof *perm);
    if (perm == NULL)
        return -1;
    for (uint64_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    bench_rng r;
    bench_rng_seed(&r, seed ^ 0x5eed);
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = bench_rng_below(&r, i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    return 0;
}

/* ---- results -------------------------------------------------------------- */

typedef struct bench_result {
    const char *workload;
    int threads;
    uint64_t ops;
    uint64_t found;           /* gets that found their key */
    uint64_t bytes;           /* key + value bytes moved */
    double seconds;
    bench_hist hist;
    bench_io io0;             /* /proc/self/io before the workload */
    double syscr, syscw;      /* read-like and write-like system calls per op */
} bench_result;

/* What one database phase measured, for every row of that phase. */
typedef struct bench_dbstats {
    uint64_t keys;            /* live keys when space was measured */
    uint64_t bytes_after_fill;
    uint64_t bytes_after_overwrite; /* right after the overwrite: no compaction asked */
    int overwritten;
    uint64_t bytes_after_compact;
    int compacted;
    uint64_t user_bytes;      /* key + value bytes written (write amp's unit) */
    bench_io io0, io1;        /* /proc/self/io around the writes */
    long peak_rss_kb;
} bench_dbstats;

#define MAX_ROWS 16
static bench_result rows[MAX_ROWS];
static int nrows;

/* Workloads that run only when --benchmarks names them: settle changes
 * what the reads after it measure, seekonce is a variant of seekrandom
 * and readzipf of readrandom; the default run stays the one the published
 * tables show. */
static int bench_asked_only(const char *name)
{
    return strcmp(name, "settle") == 0 || strcmp(name, "seekonce") == 0 ||
           strcmp(name, "readzipf") == 0;
}

static int bench_selected(const char *name)
{
    if (cfg.benchmarks == NULL)
        return !bench_asked_only(name);
    size_t n = strlen(name);
    for (const char *p = cfg.benchmarks; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, name, n) == 0)
            return 1;
        p += len + (end != NULL);
    }
    return 0;
}

static bench_result *bench_row(const char *workload)
{
    if (nrows == MAX_ROWS) {
        fprintf(stderr, "kvbench: too many workloads\n");
        exit(2);
    }
    bench_result *r = &rows[nrows++];
    memset(r, 0, sizeof *r);
    r->workload = workload;
    r->threads = 1;
    bench_io_read(&r->io0);
    return r;
}

static void bench_fail(const char *what)
{
    fprintf(stderr, "kvbench: %s: %s: %s\n", E->name(), what, E->errmsg());
    fflush(stdout);
    _exit(2);
}

/* Ends a workload's row (its system calls), and prints it. */
static void bench_print(bench_result *r)
{
    bench_io io1;
    bench_io_read(&io1);
    double ops = r->ops ? (double)r->ops : 1;
    r->syscr = (double)(io1.syscr - r->io0.syscr) / ops;
    r->syscw = (double)(io1.syscw - r->io0.syscw) / ops;
    double ops_s = r->seconds > 0 ? (double)r->ops / r->seconds : 0;
    double mb_s = r->seconds > 0 ? (double)r->bytes / 1e6 / r->seconds : 0;
    printf("%-16s : %11.3f micros/op; %10.0f ops/sec; %8.1f MB/s; p50 %.2f p99 %.2f "
           "p99.9 %.2f us (%" PRIu64 " ops in %.2f s",
           r->workload, bench_hist_mean(&r->hist) / 1e3, ops_s, mb_s,
           bench_hist_percentile(&r->hist, 0.50) / 1e3,
           bench_hist_percentile(&r->hist, 0.99) / 1e3,
           bench_hist_percentile(&r->hist, 0.999) / 1e3, r->ops, r->seconds);
    if (strncmp(r->workload, "read", 4) == 0)
        printf("; %" PRIu64 " found", r->found);
    printf("; syscalls/op %.2f read, %.2f write)\n", r->syscr, r->syscw);
    fflush(stdout);
}

static const char csv_header[] =
    "engine,workload,N,rep,ops_per_sec,us_per_op,p50,p99,p999,mb_per_sec,"
    "bytes_on_disk_after_fill,bytes_after_compact,write_amp,peak_rss_kb,"
    "ops,seconds,threads,db_keys,space_amp,logical_write_amp,net_write_amp,"
    "syscr_per_op,syscw_per_op\n";

/* Appends this phase's rows to the CSV file, with its database figures. */
static void bench_write_csv(const bench_dbstats *d)
{
    if (cfg.csv == NULL)
        return;
    FILE *f = fopen(cfg.csv, "a");
    if (f == NULL) {
        fprintf(stderr, "kvbench: %s: %s\n", cfg.csv, strerror(errno));
        return;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && st.st_size == 0)
        fputs(csv_header, f);
    double user = d->user_bytes ? (double)d->user_bytes : 1;
    double live = d->keys ? (double)d->keys * ENTRY_BYTES : 1;
    uint64_t space = d->compacted ? d->bytes_after_compact : d->bytes_after_fill;
    double wamp = (double)(d->io1.write_bytes - d->io0.write_bytes) / user;
    double lamp = (double)(d->io1.wchar - d->io0.wchar) / user;
    double cancelled = (double)(d->io1.cancelled_write_bytes - d->io0.cancelled_write_bytes);
    double net = ((double)(d->io1.write_bytes - d->io0.write_bytes) - cancelled) / user;
    for (int i = 0; i < nrows; i++) {
        const bench_result *r = &rows[i];
        double ops_s = r->seconds > 0 ? (double)r->ops / r->seconds : 0;
        double mb_s = r->seconds > 0 ? (double)r->bytes / 1e6 / r->seconds : 0;
        fprintf(f, "%s,%s,%" PRIu64 ",%d,%.1f,%.4f,%.4f,%.4f,%.4f,%.3f,%" PRIu64 ",",
                E->name(), r->workload, cfg.num, cfg.rep, ops_s,
                bench_hist_mean(&r->hist) / 1e3, bench_hist_percentile(&r->hist, 0.50) / 1e3,
                bench_hist_percentile(&r->hist, 0.99) / 1e3,
                bench_hist_percentile(&r->hist, 0.999) / 1e3, mb_s, d->bytes_after_fill);
        if (d->compacted)
            fprintf(f, "%" PRIu64, d->bytes_after_compact);
        fprintf(f, ",%.3f,%ld,%" PRIu64 ",%.4f,%d,%" PRIu64 ",%.3f,%.3f,%.3f,%.3f,%.3f\n", wamp,
                d->peak_rss_kb, r->ops, r->seconds, r->threads, d->keys,
                (double)space / live, lamp, net, r->syscr, r->syscw);
    }
    fclose(f);
}

static void bench_print_db(const char *what, const bench_dbstats *d)
{
    double user = d->user_bytes ? (double)d->user_bytes : 1;
    double live = d->keys ? (double)d->keys * ENTRY_BYTES : 1;
    printf("%-16s : %" PRIu64 " keys; %.2f MB on disk after fill", what, d->keys,
           (double)d->bytes_after_fill / 1e6);
    if (d->overwritten)
        printf(", %.2f MB after overwrite (%.2f x live)", (double)d->bytes_after_overwrite / 1e6,
               (double)d->bytes_after_overwrite / live);
    if (d->compacted)
        printf(", %.2f MB after compact", (double)d->bytes_after_compact / 1e6);
    uint64_t space = d->compacted ? d->bytes_after_compact : d->bytes_after_fill;
    printf("; space amp %.2f; write amp %.2f (logical %.2f); peak RSS %.1f MB\n",
           (double)space / live, (double)(d->io1.write_bytes - d->io0.write_bytes) / user,
           (double)(d->io1.wchar - d->io0.wchar) / user, (double)d->peak_rss_kb / 1024);
    fflush(stdout);
}

/* ---- point operations ------------------------------------------------------ */

enum bench_op {
    OP_FILLSEQ, OP_FILLRANDOM, OP_OVERWRITE, OP_READ, OP_READZIPF, OP_READMISSING, OP_DELETE
};

/* readzipf's skew when --zipf does not give one: YCSB's. */
#define BENCH_ZIPF_DEFAULT 0.99

/* Runs up to n operations of one kind, for at most `seconds`.  `keys` is the
 * number of keys in the database (perm[0 .. keys) are present). */
static void bench_point(void *h, enum bench_op op, uint64_t n, uint64_t keys, double seconds,
                        uint64_t seed, bench_result *r)
{
    bench_rng rng;
    bench_rng_seed(&rng, seed);
    bench_zipf zipf = {0};
    if (op == OP_READ && cfg.zipf > 0)
        bench_zipf_init(&zipf, keys, cfg.zipf);
    if (op == OP_READZIPF)
        bench_zipf_init(&zipf, keys, cfg.zipf > 0 ? cfg.zipf : BENCH_ZIPF_DEFAULT);
    CALLGRIND_ZERO_STATS; /* a counted workload's count starts after the zipf's table */
    char key[KEY_BYTES];
    char *buf = malloc(value_bytes);
    if (buf == NULL) {
        fprintf(stderr, "kvbench: out of memory\n");
        exit(2);
    }
    double start = bench_now(), last = start, deadline = start + seconds;
    uint64_t i;
    for (i = 0; i < n && last < deadline; i++) {
        int rc;
        size_t vlen = 0;
        switch (op) {
        case OP_FILLSEQ:
            bench_key_present(key, i);
            rc = E->put(h, key, KEY_BYTES, bench_value(i), value_bytes);
            r->bytes += ENTRY_BYTES;
            break;
        case OP_FILLRANDOM:
            bench_key_present(key, perm[i]);
            rc = E->put(h, key, KEY_BYTES, bench_value(i), value_bytes);
            r->bytes += ENTRY_BYTES;
            break;
        case OP_OVERWRITE:
            bench_key_present(key, perm[bench_rng_below(&rng, keys)]);
            rc = E->put(h, key, KEY_BYTES, bench_value(i + 7), value_bytes);
            r->bytes += ENTRY_BYTES;
            break;
        case OP_READ:
        case OP_READZIPF:
            bench_key_present(key, perm[zipf.n > 0 ? bench_zipf_next(&zipf, &rng)
                                                   : bench_rng_below(&rng, keys)]);
            rc = E->get(h, key, KEY_BYTES, buf, value_bytes, &vlen);
            break;
        case OP_READMISSING:
            bench_key_absent(key, bench_rng_below(&rng, cfg.num));
            rc = E->get(h, key, KEY_BYTES, buf, value_bytes, &vlen);
            break;
        default: /* OP_DELETE */
            bench_key_present(key, perm[bench_rng_below(&rng, keys)]);
            rc = E->del(h, key, KEY_BYTES);
            r->bytes += KEY_BYTES;
            break;
        }
        if (rc < 0)
            bench_fail(r->workload);
        if (rc == 0 && (op == OP_READ || op == OP_READZIPF || op == OP_READMISSING)) {
            r->found++;
            r->bytes += KEY_BYTES + vlen;
        }
        double now = bench_now();
        bench_hist_add(&r->hist, (uint64_t)((now - last) * 1e9));
        last = now;
    }
    r->ops = i;
    r->seconds = last - start;
    free(buf);
}

/* ---- iterators --------------------------------------------------------------- */

/* Reads the entry under the iterator; returns 1 if there was one. */
static int bench_iter_read(void *it, bench_result *r)
{
    const void *k, *v;
    size_t kl, vl;
    int rc = E->iter_get(it, &k, &kl, &v, &vl);
    if (rc < 0)
        bench_fail(r->workload);
    if (rc == 1)
        r->bytes += kl + vl;
    return rc;
}

/* One iterator, from the first key, up to n entries.  The first entry's
 * latency includes making and positioning the iterator. */
static void bench_readseq(void *h, uint64_t n, double seconds, bench_result *r)
{
    double start = bench_now(), last = start, deadline = start + seconds;
    void *it;
    if (E->iter_new(h, &it) < 0 || E->iter_seek(it, NULL, 0) < 0)
        bench_fail(r->workload);
    uint64_t i = 0;
    while (i < n && last < deadline && bench_iter_read(it, r) == 1) {
        i++;
        if (E->iter_next(it) < 0)
            bench_fail(r->workload);
        double now = bench_now();
        bench_hist_add(&r->hist, (uint64_t)((now - last) * 1e9));
        last = now;
    }
    E->iter_free(it);
    r->ops = r->found = i;
    r->seconds = bench_now() - start;
}

static void bench_seekrandom(void *h, uint64_t n, uint64_t keys, double seconds, uint64_t seed,
                             bench_result *r)
{
    bench_rng rng;
    bench_rng_seed(&rng, seed);
    char key[KEY_BYTES];
    double start = bench_now(), last = start, deadline = start + seconds;
    uint64_t i;
    for (i = 0; i < n && last < deadline; i++) {
        void *it;
        bench_key_present(key, perm[bench_rng_below(&rng, keys)]);
        if (E->iter_new(h, &it) < 0 || E->iter_seek(it, key, KEY_BYTES) < 0)
            bench_fail(r->workload);
        for (int j = 0; j < SEEK_NEXTS && bench_iter_read(it, r) == 1; j++)
            if (j + 1 < SEEK_NEXTS && E->iter_next(it) < 0)
                bench_fail(r->workload);
        E->iter_free(it);
        double now = bench_now();
        bench_hist_add(&r->hist, (uint64_t)((now - last) * 1e9));
        last = now;
    }
    r->ops = i;
    r->seconds = last - start;
}

/* seekrandom through one iterator, made once (an engine whose iterator
 * reads a snapshot sees the database as it was then: nothing writes here). */
static void bench_seekonce(void *h, uint64_t n, uint64_t keys, double seconds, uint64_t seed,
                           bench_result *r)
{
    bench_rng rng;
    bench_rng_seed(&rng, seed);
    char key[KEY_BYTES];
    void *it;
    if (E->iter_new(h, &it) < 0)
        bench_fail(r->workload);
    double start = bench_now(), last = start, deadline = start + seconds;
    uint64_t i;
    for (i = 0; i < n && last < deadline; i++) {
        bench_key_present(key, perm[bench_rng_below(&rng, keys)]);
        if (E->iter_seek(it, key, KEY_BYTES) < 0)
            bench_fail(r->workload);
        for (int j = 0; j < SEEK_NEXTS && bench_iter_read(it, r) == 1; j++)
            if (j + 1 < SEEK_NEXTS && E->iter_next(it) < 0)
                bench_fail(r->workload);
        double now = bench_now();
        bench_hist_add(&r->hist, (uint64_t)((now - last) * 1e9));
        last = now;
    }
    E->iter_free(it);
    r->ops = i;
    r->seconds = last - start;
}

/* ---- readwhilewriting -------------------------------------------------------- */

typedef struct rww_shared {
    void *h;
    uint64_t keys;
    double deadline;
    int stop;                 /* set (atomically) when the readers are done */
    uint64_t writes;          /* done by the writer */
} rww_shared;

typedef struct rww_reader {
    pthread_t tid;
    rww_shared *sh;
    uint64_t seed;
    bench_result r;
} rww_reader;

static void *rww_read(void *arg)
{
    rww_reader *rd = arg;
    bench_point(rd->sh->h, OP_READ, cfg.num, rd->sh->keys, rd->sh->deadline - bench_now(),
                rd->seed, &rd->r);
    return NULL;
}

static void *rww_write(void *arg)
{
    rww_shared *sh = arg;
    bench_rng rng;
    bench_rng_seed(&rng, cfg.seed + 99);
    char key[KEY_BYTES];
    uint64_t i;
    for (i = 0; i < cfg.num && !__atomic_load_n(&sh->stop, __ATOMIC_RELAXED); i++) {
        bench_key_present(key, perm[bench_rng_below(&rng, sh->keys)]);
        if (E->put(sh->h, key, KEY_BYTES, bench_value(i + 13), value_bytes) < 0)
            bench_fail("readwhilewriting (writer)");
    }
    sh->writes = i;
    return NULL;
}

/* Returns the number of puts the writer made meanwhile. */
static uint64_t bench_readwhilewriting(void *h, uint64_t keys, bench_result *r)
{
    rww_shared sh = {.h = h, .keys = keys, .deadline = bench_now() + cfg.seconds};
    rww_reader *rd = calloc((size_t)cfg.threads, sizeof *rd);
    if (rd == NULL) {
        fprintf(stderr, "kvbench: out of memory\n");
        _exit(2);
    }
    pthread_t writer;
    double start = bench_now();
    if (pthread_create(&writer, NULL, rww_write, &sh) != 0) {
        fprintf(stderr, "kvbench: cannot start a thread\n");
        _exit(2);
    }
    for (int t = 0; t < cfg.threads; t++) {
        rd[t].sh = &sh;
        rd[t].seed = cfg.seed + 1000 + (uint64_t)t;
        rd[t].r.workload = r->workload;
        if (pthread_create(&rd[t].tid, NULL, rww_read, &rd[t]) != 0) {
            fprintf(stderr, "kvbench: cannot start a thread\n");
            _exit(2);
        }
    }
    for (int t = 0; t < cfg.threads; t++) {
        pthread_join(rd[t].tid, NULL);
        r->ops += rd[t].r.ops;
        r->found += rd[t].r.found;
        r->bytes += rd[t].r.bytes;
        bench_hist_merge(&r->hist, &rd[t].r.hist);
    }
    r->seconds = bench_now() - start;
    __atomic_store_n(&sh.stop, 1, __ATOMIC_RELAXED);
    pthread_join(writer, NULL);
    r->threads = cfg.threads;
    free(rd);
    return sh.writes;
}

/* ---- the three databases ------------------------------------------------------ */

/* Opens the database in dir, removed first unless kept (--use_existing_db). */
static void *bench_open(const char *dir, int sync, int keep)
{
    void *h;
    if (!keep && bench_rmtree(dir) != 0) {
        fprintf(stderr, "kvbench: cannot remove %s: %s\n", dir, strerror(errno));
        _exit(2);
    }
    if (E->open(dir, sync, &h) < 0)
        bench_fail("open");
    return h;
}

static void bench_close(void *h, const char *dir, int keep)
{
    if (E->close(h) < 0)
        bench_fail("close");
    if (!keep)
        bench_rmtree(dir);
}

/* --warmup: a scratch row for the uncounted operations before a read
 * workload, with keys of another seed (a steady state: blocks read once
 * before, caches filled). */
static bench_result warmup_row;

/* A read workload's instructions, counted alone under callgrind (the file
 * comment): from here to bench_counted_end, dumped under its name. */
static void bench_counted_begin(void)
{
    CALLGRIND_ZERO_STATS;
    CALLGRIND_START_INSTRUMENTATION;
}

static void bench_counted_end(const char *workload)
{
    CALLGRIND_STOP_INSTRUMENTATION;
    CALLGRIND_DUMP_STATS_AT(workload);
}

static void bench_finish(const char *what, bench_dbstats *d)
{
    d->peak_rss_kb = bench_peak_rss_kb();
    bench_print_db(what, d);
    bench_write_csv(d);
}

/* A fresh database filled by one workload: fillseq, or fillsync. */
static void bench_phase_fill(const char *name, enum bench_op op, int sync, uint64_t n)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", cfg.db, name);
    bench_dbstats d = {0};
    bench_io_read(&d.io0);
    void *h = bench_open(dir, sync, 0);
    bench_result *r = bench_row(name);
    bench_point(h, op, n, 0, cfg.fill_seconds, cfg.seed, r);
    bench_print(r);
    bench_io_read(&d.io1);
    d.keys = r->ops;
    d.user_bytes = r->bytes;
    d.bytes_after_fill = bench_dir_bytes(dir);
    bench_close(h, dir, 0);
    bench_finish(name, &d);
}

/* The database most workloads share (see the file comment for the order). */
static void bench_phase_main(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/main", cfg.db);
    bench_dbstats d = {0};
    bench_io_read(&d.io0);
    int keep = cfg.use_existing_db;
    void *h = bench_open(dir, 0, keep);
    uint64_t n = cfg.num, seed = cfg.seed;
    /* Each read workload's operations (--reads). */
    uint64_t nr = cfg.reads ? cfg.reads : n;

    bench_result *r;
    uint64_t keys = n; /* a kept database holds what a whole fill wrote */
    if (!keep || bench_selected("fillrandom")) {
        r = bench_row("fillrandom");
        bench_point(h, OP_FILLRANDOM, n, 0, cfg.fill_seconds, seed, r);
        bench_print(r);
        keys = r->ops;
        d.user_bytes = r->bytes;
    }
    d.keys = keys;
    d.bytes_after_fill = bench_dir_bytes(dir);
    if (keys == 0) {
        fprintf(stderr, "kvbench: %s: fillrandom wrote nothing\n", E->name());
        _exit(2);
    }
    if (bench_selected("overwrite")) {
        r = bench_row("overwrite");
        bench_point(h, OP_OVERWRITE, n, keys, cfg.fill_seconds, seed + 1, r);
        bench_print(r);
        d.user_bytes += r->bytes;
        d.bytes_after_overwrite = bench_dir_bytes(dir);
        d.overwritten = 1;
    }
    if (bench_selected("settle")) {
        r = bench_row("settle");
        double t0 = bench_now();
        if (E->compact(h) < 0)
            bench_fail("settle");
        r->seconds = bench_now() - t0;
        r->ops = 1;
        bench_hist_add(&r->hist, (uint64_t)(r->seconds * 1e9));
        bench_print(r);
    }
    if (bench_selected("readrandom")) {
        r = bench_row("readrandom");
        if (cfg.warmup > 0)
            bench_point(h, OP_READ, cfg.warmup, keys, 1e9, seed + 102, &warmup_row);
        bench_counted_begin();
        bench_point(h, OP_READ, nr, keys, cfg.seconds, seed + 2, r);
        bench_counted_end(r->workload);
        bench_print(r);
        if (r->found != r->ops)
            fprintf(stderr, "kvbench: %s: readrandom: %" PRIu64 " of %" PRIu64
                    " existing keys not found\n", E->name(), r->ops - r->found, r->ops);
    }
    if (bench_selected("readzipf")) {
        r = bench_row("readzipf");
        if (cfg.warmup > 0)
            bench_point(h, OP_READZIPF, cfg.warmup, keys, 1e9, seed + 104, &warmup_row);
        bench_counted_begin();
        bench_point(h, OP_READZIPF, nr, keys, cfg.seconds, seed + 4, r);
        bench_counted_end(r->workload);
        bench_print(r);
        if (r->found != r->ops)
            fprintf(stderr, "kvbench: %s: readzipf: %" PRIu64 " of %" PRIu64
                    " existing keys not found\n", E->name(), r->ops - r->found, r->ops);
    }
    if (bench_selected("readmissing")) {
        r = bench_row("readmissing");
        if (cfg.warmup > 0)
            bench_point(h, OP_READMISSING, cfg.warmup, keys, 1e9, seed + 103, &warmup_row);
        bench_counted_begin();
        bench_point(h, OP_READMISSING, nr, keys, cfg.seconds, seed + 3, r);
        bench_counted_end(r->workload);
        bench_print(r);
        if (r->found != 0)
            fprintf(stderr, "kvbench: %s: readmissing: %" PRIu64 " absent keys found\n",
                    E->name(), r->found);
    }
    if (bench_selected("readseq")) {
        r = bench_row("readseq");
        bench_counted_begin();
        bench_readseq(h, nr, cfg.seconds, r);
        bench_counted_end(r->workload);
        bench_print(r);
    }
    if (bench_selected("seekrandom")) {
        r = bench_row("seekrandom");
        if (cfg.warmup > 0)
            bench_seekrandom(h, cfg.warmup, keys, 1e9, seed + 104, &warmup_row);
        bench_counted_begin();
        bench_seekrandom(h, nr, keys, cfg.seconds, seed + 4, r);
        bench_counted_end(r->workload);
        bench_print(r);
    }
    if (bench_selected("seekonce")) {
        r = bench_row("seekonce");
        if (cfg.warmup > 0)
            bench_seekonce(h, cfg.warmup, keys, 1e9, seed + 104, &warmup_row);
        bench_counted_begin();
        bench_seekonce(h, nr, keys, cfg.seconds, seed + 4, r);
        bench_counted_end(r->workload);
        bench_print(r);
    }
    if (bench_selected("readwhilewriting")) {
        r = bench_row("readwhilewriting");
        uint64_t writes = bench_readwhilewriting(h, keys, r);
        bench_print(r);
        printf("%-16s   (the writer made %" PRIu64 " puts meanwhile)\n", "", writes);
        d.user_bytes += writes * ENTRY_BYTES;
    }
    if (bench_selected("compact")) {
        r = bench_row("compact");
        double t0 = bench_now();
        if (E->compact(h) < 0)
            bench_fail("compact");
        r->seconds = bench_now() - t0;
        r->ops = 1;
        bench_hist_add(&r->hist, (uint64_t)(r->seconds * 1e9));
        bench_print(r);
        d.bytes_after_compact = bench_dir_bytes(dir);
        d.compacted = 1;
    }
    bench_io_read(&d.io1);
    if (bench_selected("deleterandom")) {
        r = bench_row("deleterandom");
        bench_point(h, OP_DELETE, n, keys, cfg.fill_seconds, seed + 5, r);
        bench_print(r);
    }
    bench_close(h, dir, keep);
    bench_finish("fillrandom db", &d);
}

/* Runs fn in a child process, so that /proc/self/io, ru_maxrss and any
 * crash belong to this database alone.  Returns the child's exit status. */
static int bench_in_child(void (*fn)(void))
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("kvbench: fork");
        return 2;
    }
    if (pid == 0) {
        fn();
        exit(0); /* not _exit: LeakSanitizer checks at exit */
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 2;
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "kvbench: %s: killed by signal %d\n", E->name(), WTERMSIG(status));
        return 2;
    }
    return WEXITSTATUS(status);
}

static void bench_do_fillseq(void) { bench_phase_fill("fillseq", OP_FILLSEQ, 0, cfg.num); }
static void bench_do_fillsync(void)
{
    uint64_t n = cfg.num / 100 < 100 ? (cfg.num < 100 ? cfg.num : 100) : cfg.num / 100;
    bench_phase_fill("fillsync", OP_FILLRANDOM, 1, n);
}

static int bench_main_selected(void)
{
    for (size_t i = 1; i + 1 < sizeof all_workloads / sizeof *all_workloads; i++)
        if (bench_selected(all_workloads[i]))
            return 1;
    return 0;
}

/* The usage on f; exits 0 if f is stdout (--help), else 2. */
static void bench_usage_to(FILE *f)
{
    fprintf(f,
            "usage: kvbench [--num=N] [--seconds=S] [--fill_seconds=S] [--threads=T]\n"
            "               [--seed=S] [--db=DIR] [--csv=FILE] [--rep=R] [--benchmarks=LIST]\n"
            "               [--value_size=B] [--zipf=S] [--reads=N] [--warmup=N]\n"
            "               [--use_existing_db=0|1]\n"
            "       kvbench --describe\n"
            "  --num           keys (default 1000000)\n"
            "  --seconds       time bound of each read workload (default 10)\n"
            "  --fill_seconds  time bound of each write workload (default 120)\n"
            "  --threads       reader threads of readwhilewriting (default 1)\n"
            "  --seed          seed of every random choice (default 301)\n"
            "  --db            where the databases go (default: a fresh directory in /tmp)\n"
            "  --csv           append one row per workload to this file\n"
            "  --rep           repetition number written in the CSV rows (default 1)\n"
            "  --describe      print the engine, its version and what sync = 1 does; exit\n"
            "  --value_size    bytes of every value, 1 to 1048576 (default 100)\n"
            "  --zipf          readrandom's keys zipfian with this skew, 0 < s < 1 (YCSB's\n"
            "                  0.99), the hot ones spread over the key space; 0 (default):\n"
            "                  uniform.  readzipf (run only when named) reads zipfian keys\n"
            "                  at this skew, or 0.99\n"
            "  --reads         operations of each read workload (default --num)\n"
            "  --warmup        operations of each read workload made first, of other keys,\n"
            "                  neither timed nor counted (default 0)\n"
            "  --use_existing_db  1: the fillrandom database in --db is kept, before and\n"
            "                  after; a fill runs only if --benchmarks names it, and the\n"
            "                  reads take it to hold --num keys filled with this --seed\n"
            "  --benchmarks    comma-separated subset of:");
    for (size_t i = 0; i < sizeof all_workloads / sizeof *all_workloads; i++)
        fprintf(f, " %s", all_workloads[i]);
    fprintf(f, "\n");
    exit(f == stdout ? 0 : 2);
}

static void bench_usage(void)
{
    bench_usage_to(stderr);
}

static int bench_flag(const char *arg, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0 || arg[n] != '=')
        return 0;
    *value = arg + n + 1;
    return 1;
}

/* What sync = 1 does for this engine, in words (engine.h: syncs). */
static const char *bench_sync_text(void)
{
    int syncs = E->syncs();
    return syncs > 0 ? "fsync" : syncs == 0 ? "no fsync" : "unknown";
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--describe") == 0) {
        printf("%s: %s; sync = 1: %s\n", E->name(), E->version(), bench_sync_text());
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
        bench_usage_to(stdout);
    for (int i = 1; i < argc; i++) {
        const char *v;
        char *end = NULL;
        if (bench_flag(argv[i], "--num", &v))
            cfg.num = strtoull(v, &end, 10);
        else if (bench_flag(argv[i], "--seconds", &v))
            cfg.seconds = strtod(v, &end);
        else if (bench_flag(argv[i], "--fill_seconds", &v))
            cfg.fill_seconds = strtod(v, &end);
        else if (bench_flag(argv[i], "--threads", &v))
            cfg.threads = (int)strtol(v, &end, 10);
        else if (bench_flag(argv[i], "--seed", &v))
            cfg.seed = strtoull(v, &end, 10);
        else if (bench_flag(argv[i], "--rep", &v))
            cfg.rep = (int)strtol(v, &end, 10);
        else if (bench_flag(argv[i], "--db", &v))
            cfg.db = v;
        else if (bench_flag(argv[i], "--csv", &v))
            cfg.csv = v;
        else if (bench_flag(argv[i], "--benchmarks", &v))
            cfg.benchmarks = v;
        else if (bench_flag(argv[i], "--value_size", &v))
            value_bytes = (size_t)strtoull(v, &end, 10);
        else if (bench_flag(argv[i], "--zipf", &v))
            cfg.zipf = strtod(v, &end);
        else if (bench_flag(argv[i], "--reads", &v))
            cfg.reads = strtoull(v, &end, 10);
        else if (bench_flag(argv[i], "--warmup", &v))
            cfg.warmup = strtoull(v, &end, 10);
        else if (bench_flag(argv[i], "--use_existing_db", &v))
            cfg.use_existing_db = (int)strtol(v, &end, 10);
        else
            bench_usage();
        if (end != NULL && (*end != '\0' || end == v))
            bench_usage();
    }
    if (cfg.num == 0 || cfg.num > UINT32_MAX / 2 || cfg.threads < 1 || cfg.seconds <= 0 ||
        cfg.fill_seconds <= 0 || value_bytes == 0 || value_bytes > VALUE_BYTES_MAX ||
        cfg.zipf < 0 || cfg.zipf >= 1 || cfg.use_existing_db < 0 || cfg.use_existing_db > 1)
        bench_usage();
    if (cfg.use_existing_db && cfg.db == NULL) {
        fprintf(stderr, "kvbench: --use_existing_db=1 reads the database in --db: name it\n");
        return 2;
    }
    for (const char *p = cfg.benchmarks; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int known = 0;
        for (size_t i = 0; i < sizeof all_workloads / sizeof *all_workloads; i++)
            known |= strlen(all_workloads[i]) == len && memcmp(all_workloads[i], p, len) == 0;
        if (!known) {
            fprintf(stderr, "kvbench: unknown benchmark '%.*s'\n", (int)len, p);
            bench_usage();
        }
        p += len + (end != NULL);
    }

    char tmpdir[] = "/tmp/kvbench.XXXXXX";
    int own_dir = cfg.db == NULL;
    if (own_dir && (cfg.db = mkdtemp(tmpdir)) == NULL) {
        perror("kvbench: mkdtemp");
        return 2;
    }
    if (bench_mkdir(cfg.db) < 0) {
        fprintf(stderr, "kvbench: %s\n", bench_errmsg());
        return 2;
    }
    bench_make_values(cfg.seed);
    if (bench_make_perm(cfg.num, cfg.seed) < 0) {
        fprintf(stderr, "kvbench: out of memory for %" PRIu64 " keys\n", cfg.num);
        return 2;
    }
    bench_io io;
    printf("kvbench: engine %s (%s); %" PRIu64 " keys of %d bytes, values of %zu bytes "
           "(half compressible); seed %" PRIu64 "; time bound %.1f s per read workload, "
           "%.1f s per write workload; rep %d; sync = 1: %s%s\n",
           E->name(), E->version(), cfg.num, KEY_BYTES, value_bytes, cfg.seed, cfg.seconds,
           cfg.fill_seconds, cfg.rep, bench_sync_text(),
           bench_io_read(&io) < 0 ? "; /proc/self/io unreadable: no write amplification" : "");

    int rc = 0, st;
    if (bench_selected("fillseq") && (st = bench_in_child(bench_do_fillseq)) != 0)
        rc = st;
    if (bench_main_selected() && (st = bench_in_child(bench_phase_main)) != 0)
        rc = st;
    if (bench_selected("fillsync") && (st = bench_in_child(bench_do_fillsync)) != 0)
        rc = st;
    if (own_dir)
        rmdir(cfg.db);
    free(perm);
    return rc;
}
