/*
 * rss.c: build/S/rss, the resident memory of stage S holding N keys:
 * loaded, closed, reopened, then read with random gets.
 *
 *   rss [--keys=N] [--gets=G] [--order=seq|random] [--cache=BYTES] [--no-map]
 *       [--map-bytes=BYTES] [--partitions]
 *       [--db=DIR] [--keep]
 *
 * Keys and values are kvbench's (16-byte keys: the 16 decimal digits of
 * 2i; 100-byte values).  The load runs in a child process and ends with
 * kv_close; a second child opens the database, makes G gets of random
 * keys (each must be found), and reports its memory from /proc/self/status:
 * VmRSS (resident now) after the open and after the gets, and VmHWM (the
 * peak).  So the figures are those of a database reopened and read, not
 * of the load, and a stage that keeps every key in memory (stage 02's hash
 * index) shows it while one that keeps its keys on disk (stage 04's
 * tables) does not.  --order=random loads the keys in a random order (a
 * stage-04 read then searches every table; seq gives tables with disjoint
 * key ranges).  --cache gives both opens kv_options.cache_bytes, and
 * --no-map kv_options.map_tables = KV_NO_MAP (stage 05 on: tables read
 * with positioned reads, not through mappings), --map-bytes
 * kv_options.map_bytes (at most that many bytes of table files mapped at
 * once), --partitions
 * kv_options.table_partitions = KV_PARTITIONS (stage 09: tables of
 * partitions).  The
 * reading child also reports how much of its VmRSS after the gets is
 * anonymous (RssAnon: the heap, where caches, indexes and filters live)
 * and how much is pages of files it maps (RssFile: tables read through
 * mappings), and one line "rss-row: STAGE KEYS CACHE OPEN GETS ANON FILE
 * HWM READS US MAP MEMTABLE" for scripts: the memory in MB, READS
 * "mapped" or "positioned" (with "/partitions"), US the mean microseconds
 * of a get, MAP the mapping budget in bytes (0: none), MEMTABLE the MB of
 * the memtable the open rebuilt from the log (kv_stats' memtable.bytes).
 * The database goes under --db (default: a fresh directory in /tmp),
 * removed at the end unless --keep.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_sys.h"
#include "kv.h"

#define KEY_BYTES 16
#define VALUE_BYTES 100

static uint64_t keys = 1000000, gets = 100000;
static int random_order;
static size_t cache_bytes; /* kv_options.cache_bytes; 0: the default */
static int map_tables;     /* kv_options.map_tables: 0 or KV_NO_MAP */
static size_t map_bytes;   /* kv_options.map_bytes; 0: no bound */
static int table_partitions; /* kv_options.table_partitions: 0 or KV_PARTITIONS */
static const char *dir;

static void rss_key(char *k, uint64_t i)
{
    i *= 2;
    for (int d = KEY_BYTES - 1; d >= 0; d--, i /= 10)
        k[d] = (char)('0' + i % 10);
}

/* "VmRSS" or "VmHWM" of /proc/self/status, in KiB (-1 if unknown). */
static long rss_status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return v;
}

static _Noreturn void rss_fail(const char *what, int rc)
{
    fprintf(stderr, "rss: %s: %s: %s\n", what, kv_strerror(rc), kv_errmsg());
    exit(2);
}

static void rss_load(void)
{
    kv_db *db = NULL;
    kv_options opt = {.create_if_missing = 1, .cache_bytes = cache_bytes,
                      .map_tables = map_tables, .table_partitions = table_partitions,
                      .map_bytes = map_bytes};
    int rc = kv_open(dir, &opt, &db);
    if (rc != KV_OK)
        rss_fail("kv_open", rc);
    uint32_t *order = NULL;
    if (random_order) {
        order = malloc(keys * sizeof *order);
        if (order == NULL)
            rss_fail("out of memory", KV_ERR_NOMEM);
        for (uint64_t i = 0; i < keys; i++)
            order[i] = (uint32_t)i;
        bench_rng r;
        bench_rng_seed(&r, 42);
        for (uint64_t i = keys; i > 1; i--) {
            uint64_t j = bench_rng_below(&r, i);
            uint32_t t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
    }
    char key[KEY_BYTES], val[VALUE_BYTES];
    memset(val, 'v', sizeof val);
    double t0 = bench_now();
    for (uint64_t i = 0; i < keys; i++) {
        rss_key(key, order ? order[i] : i);
        memcpy(val, key, KEY_BYTES);
        if ((rc = kv_put(db, key, KEY_BYTES, val, VALUE_BYTES)) != KV_OK)
            rss_fail("kv_put", rc);
    }
    free(order);
    double load_s = bench_now() - t0;
    char *stats = NULL, flushes[64] = "", stalls[64] = "";
    if (kv_stats(db, &stats) == KV_OK) {
        /* A stage with a flush says how often writers waited for one. */
        const char *f = strstr(stats, "\nflush.count: "), *w = strstr(stats, "\nwrite.stalls: ");
        if (f != NULL)
            snprintf(flushes, sizeof flushes, "; %ld flushes", strtol(f + 14, NULL, 10));
        if (w != NULL)
            snprintf(stalls, sizeof stalls, ", writers waited for one %ld times",
                     strtol(w + 15, NULL, 10));
        kv_free(stats);
    }
    if ((rc = kv_close(db)) != KV_OK)
        rss_fail("kv_close", rc);
    printf("rss: stage %s: %" PRIu64 " keys loaded (%s order) in %.1f s%s%s; %.1f MB on disk\n",
           kv_stage(), keys, random_order ? "random" : "ascending", load_s, flushes, stalls,
           (double)bench_dir_bytes(dir) / 1e6);
}

static void rss_read(void)
{
    long before = rss_status_kb("VmRSS");
    double t0 = bench_now();
    kv_db *db = NULL;
    kv_options opt = {.cache_bytes = cache_bytes, .map_tables = map_tables,
                      .table_partitions = table_partitions, .map_bytes = map_bytes};
    int rc = kv_open(dir, &opt, &db);
    if (rc != KV_OK)
        rss_fail("kv_open", rc);
    double open_s = bench_now() - t0;
    long opened = rss_status_kb("VmRSS");
    /* The memtable the open rebuilt from the log (stage 04 on), part of the
     * heap the cache's budget does not bound: the write buffer's.  A flush
     * may empty it during the gets; malloc keeps what it freed for the
     * caches to take. */
    double memtable_mb = 0;
    char *stats = NULL;
    if (kv_stats(db, &stats) == KV_OK) {
        const char *m = strstr(stats, "\nmemtable.bytes: ");
        if (m != NULL)
            memtable_mb = strtod(m + 17, NULL) / 1048576.0;
        kv_free(stats);
    }
    bench_rng r;
    bench_rng_seed(&r, 7);
    char key[KEY_BYTES];
    t0 = bench_now();
    for (uint64_t i = 0; i < gets; i++) {
        void *val = NULL;
        size_t n = 0;
        rss_key(key, bench_rng_below(&r, keys));
        if ((rc = kv_get(db, key, KEY_BYTES, &val, &n)) != KV_OK)
            rss_fail("kv_get", rc);
        if (n != VALUE_BYTES || memcmp(val, key, KEY_BYTES) != 0)
            rss_fail("kv_get: a wrong value", KV_ERR_CORRUPT);
        kv_free(val);
    }
    double get_s = bench_now() - t0;
    long after = rss_status_kb("VmRSS"), peak = rss_status_kb("VmHWM");
    long anon = rss_status_kb("RssAnon"), file = rss_status_kb("RssFile");
    if ((rc = kv_close(db)) != KV_OK)
        rss_fail("kv_close", rc);
    printf("rss: stage %s: reopened in %.2f s; %" PRIu64 " random gets in %.2f s (%.1f us "
           "each)\n", kv_stage(), open_s, gets, get_s, get_s * 1e6 / (double)(gets ? gets : 1));
    printf("rss: stage %s: %" PRIu64 " keys: VmRSS %.1f MB before kv_open, %.1f MB after it, "
           "%.1f MB after the gets; VmHWM %.1f MB\n", kv_stage(), keys, before / 1024.0,
           opened / 1024.0, after / 1024.0, peak / 1024.0);
    printf("rss: stage %s: after the gets, %.1f MB of it anonymous (the heap: caches, "
           "indexes, filters) and %.1f MB pages of mapped files\n", kv_stage(), anon / 1024.0,
           file / 1024.0);
    printf("rss: stage %s: the memtable rebuilt at the open holds %.1f MB of the heap\n",
           kv_stage(), memtable_mb);
    printf("rss-row: %s %" PRIu64 " %zu %.1f %.1f %.1f %.1f %.1f %s %.2f %zu %.1f\n",
           kv_stage(), keys, cache_bytes, opened / 1024.0, after / 1024.0, anon / 1024.0, file / 1024.0,
           peak / 1024.0,
           map_tables == KV_NO_MAP ? (table_partitions ? "positioned/partitions" : "positioned")
                                   : (table_partitions ? "mapped/partitions" : "mapped"),
           get_s * 1e6 / (double)(gets ? gets : 1), map_bytes, memtable_mb);
}

/* Runs fn in a child; exits if it failed. */
static void rss_child(void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "rss: a child failed\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    int keep = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--keys=", 7) == 0)
            keys = strtoull(a + 7, NULL, 10);
        else if (strncmp(a, "--gets=", 7) == 0)
            gets = strtoull(a + 7, NULL, 10);
        else if (strcmp(a, "--order=random") == 0)
            random_order = 1;
        else if (strcmp(a, "--order=seq") == 0)
            random_order = 0;
        else if (strncmp(a, "--cache=", 8) == 0)
            cache_bytes = (size_t)strtoull(a + 8, NULL, 10);
        else if (strcmp(a, "--no-map") == 0)
            map_tables = KV_NO_MAP;
        else if (strncmp(a, "--map-bytes=", 12) == 0)
            map_bytes = (size_t)strtoull(a + 12, NULL, 10);
        else if (strcmp(a, "--partitions") == 0)
            table_partitions = KV_PARTITIONS;
        else if (strncmp(a, "--db=", 5) == 0)
            dir = a + 5;
        else if (strcmp(a, "--keep") == 0)
            keep = 1;
        else {
            int help = strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
            fprintf(help ? stdout : stderr, "usage: rss [--keys=N] [--gets=G] [--order=seq|random] [--cache=BYTES] "
                            "[--no-map] [--map-bytes=BYTES] [--partitions] [--db=DIR] "
                            "[--keep]\n");
            return help ? 0 : 2;
        }
    }
    if (keys == 0 || keys > UINT32_MAX / 2) {
        fprintf(stderr, "rss: --keys must be 1 .. %u\n", UINT32_MAX / 2);
        return 2;
    }
    char tmp[] = "/tmp/kvrss.XXXXXX";
    if (dir == NULL && (dir = mkdtemp(tmp)) == NULL) {
        perror("rss: mkdtemp");
        return 2;
    }
    if (bench_mkdir(dir) != 0) {
        fprintf(stderr, "rss: %s\n", bench_errmsg());
        return 2;
    }
    char db[4096];
    snprintf(db, sizeof db, "%s/db", dir);
    dir = db;
    bench_rmtree(dir);
    rss_child(rss_load);
    rss_child(rss_read);
    if (!keep)
        bench_rmtree(dir);
    if (!keep && dir != NULL && strcmp(tmp, "/tmp/kvrss.XXXXXX") != 0)
        rmdir(tmp); /* the directory mkdtemp made */
    return 0;
}
