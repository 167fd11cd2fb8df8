/*
 * hash_lookup.c: the measurements behind docs/02-hash.md, for stage 02.
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -pthread -Iinclude bench/hash_lookup.c \
 *      build/02-hash/libkv.a -o build/02-hash/hash_lookup
 *   build/02-hash/hash_lookup [DIR]        (default $TMPDIR or /tmp)
 *
 * 1. O(1) reads: builds 10,000-, 100,000- and 1,000,000-key databases
 *    (16-byte keys, 100-byte values, written in key order), keeps all three
 *    open, and times random gets of existing keys, in 7 rounds of 200,000
 *    gets that alternate between the databases (so a busy machine slows all
 *    alike); the best round is reported, with the median beside it.  Each
 *    round also times gets of absent keys (one index probe, no read) and
 *    bare pread() calls of one record on the segment file (no engine), to
 *    show where the time goes.
 * 2. Memory: the heap growth (glibc mallinfo2) across kv_open, which builds
 *    the index, divided by the number of keys; and the index's own count of
 *    the bytes it asked for (kv_stats index.bytes_per_key).
 * 3. Startup: kv_open time and bytes read, scaled to ms per GB of log.
 * 4. Iterators: kv_iter_new time (copy and sort of every live key).
 * 5. Merge: 100,000 keys each written ten times, kv_compact, bytes on disk
 *    against live data; then kv_open with hint files against without.
 *
 * The numbers depend on the machine and on the page cache (the databases
 * are small enough to stay cached: this measures the engine, not the disk).
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "kv.h"

#define VLEN 100
#define VMAX 4096
#define ROUNDS 7
#define GETS_PER_ROUND 200000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "hash_lookup: %s: %s: %s\n", what, kv_strerror(rc), kv_errmsg());
    exit(1);
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void make_key(char key[17], uint64_t i)
{
    snprintf(key, 17, "key-%012llu", (unsigned long long)(i % 1000000000000ull));
}

static void make_value_n(char *v, size_t vlen, uint64_t i, unsigned round)
{
    for (size_t j = 0; j < vlen; j++)
        v[j] = (char)('a' + (i * 7 + round * 13 + (uint64_t)j) % 26);
}

static void make_value(char *v, uint64_t i, unsigned round)
{
    for (int j = 0; j < VLEN; j++)
        v[j] = (char)('a' + (i * 7 + round * 13 + (uint64_t)j) % 26);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[8192];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static uint64_t dir_bytes(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    uint64_t total = 0;
    struct dirent *e;
    char path[8192];
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name), m = strlen(suffix);
        if (e->d_name[0] == '.' || n < m || strcmp(e->d_name + n - m, suffix) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0)
            total += (uint64_t)st.st_size;
    }
    if (d)
        closedir(d);
    return total;
}

static double stat_of(kv_db *db, const char *name)
{
    char *text = NULL;
    int rc = kv_stats(db, &text);
    if (rc != KV_OK)
        die("kv_stats", rc);
    double v = -1;
    size_t nl = strlen(name);
    for (char *p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
            v = strtod(p + nl + 1, NULL);
            break;
        }
    kv_free(text);
    return v;
}

static kv_db *open_db(const char *dir)
{
    kv_db *db = NULL;
    int rc = kv_open(dir, NULL, &db);
    if (rc != KV_OK)
        die("kv_open", rc);
    return db;
}

static void fill(const char *dir, uint64_t n, unsigned rounds, size_t vlen)
{
    kv_db *db = open_db(dir);
    static char key[17], val[VMAX];
    for (unsigned r = 0; r < rounds; r++)
        for (uint64_t i = 0; i < n; i++) {
            make_key(key, i);
            make_value_n(val, vlen, i, r);
            int rc = kv_put(db, key, 16, val, vlen);
            if (rc != KV_OK)
                die("kv_put", rc);
        }
    kv_close(db);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Mean ns per get over one round of random gets: of existing keys, or of
 * absent ones (which cost one index probe and no read). */
static double get_round(kv_db *db, uint64_t n, int absent)
{
    char key[17], want[VLEN];
    double t0 = now_s();
    for (int g = 0; g < GETS_PER_ROUND; g++) {
        uint64_t i = rng_next() % n;
        make_key(key, absent ? n + i : i);
        void *v = NULL;
        size_t vl = 0;
        int rc = kv_get(db, key, 16, &v, &vl);
        if (rc != (absent ? KV_NOT_FOUND : KV_OK))
            die("kv_get", rc);
        if (!absent && g == 0) {
            make_value(want, i, 0);
            if (vl != VLEN || memcmp(v, want, VLEN) != 0)
                die("kv_get returned a wrong value", KV_ERR_CORRUPT);
        }
        if (!absent)
            kv_free(v);
    }
    return (now_s() - t0) * 1e9 / GETS_PER_ROUND;
}

/* Mean ns per pread of one record at a random place of the first segment,
 * with no engine at all: what the operating system's page cache costs. */
static double pread_round(const char *dir, uint64_t n)
{
    char path[8192], buf[256];
    snprintf(path, sizeof path, "%s/0000000001.log", dir);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        die(path, KV_ERR_IO);
    uint64_t records = (uint64_t)st.st_size / (10 + 16 + VLEN);
    if (records > n)
        records = n;
    double t0 = now_s();
    for (int g = 0; g < GETS_PER_ROUND; g++) {
        uint64_t i = rng_next() % records;
        if (pread(fd, buf, 10 + 16 + VLEN, (off_t)(i * (10 + 16 + VLEN))) != 10 + 16 + VLEN)
            die("pread", KV_ERR_IO);
    }
    double ns = (now_s() - t0) * 1e9 / GETS_PER_ROUND;
    close(fd);
    return ns;
}

typedef struct lookup {
    uint64_t n;
    char dir[4096];
    kv_db *db;
    double get[ROUNDS], absent[ROUNDS], pread[ROUNDS];
} lookup;

/* Builds and opens the database of one size; reports fill, open, memory. */
static void lookup_setup(lookup *l, const char *base, uint64_t n)
{
    l->n = n;
    snprintf(l->dir, sizeof l->dir, "%s/hash_lookup_%llu", base, (unsigned long long)n);
    remove_dir(l->dir);
    double t0 = now_s();
    fill(l->dir, n, 1, VLEN);
    double fill_s = now_s() - t0;

    /* Heap in use: small chunks (uordblks) plus mmapped big ones (hblkhd),
     * where the slot array lives once it is large. */
    struct mallinfo2 before = mallinfo2();
    t0 = now_s();
    l->db = open_db(l->dir);
    double open_s = now_s() - t0;
    struct mallinfo2 after = mallinfo2();
    double heap_per_key = ((double)after.uordblks + (double)after.hblkhd -
                           (double)before.uordblks - (double)before.hblkhd) / (double)n;
    double bytes_read = stat_of(l->db, "open.bytes_read");

    kv_iter *it = NULL;
    t0 = now_s();
    int rc = kv_iter_new(l->db, &it);
    double iter_s = now_s() - t0;
    if (rc != KV_OK)
        die("kv_iter_new", rc);
    kv_iter_free(it);

    printf("%8llu keys: fill %.2f s (%.0f ns/put); open %.1f ms for %.1f MB = %.0f ms/GB "
           "(%.0f ns/record)\n", (unsigned long long)n, fill_s, fill_s * 1e9 / (double)n,
           open_s * 1e3, bytes_read / 1e6, open_s * 1e3 / (bytes_read / 1e9),
           open_s * 1e9 / (double)n);
    printf("%8s       index: %.1f bytes/key of heap (mallinfo2), %.1f bytes/key requested "
           "(index.bytes_per_key), %.0f slots; kv_iter_new %.1f ms (%.0f ns/key)\n", "",
           heap_per_key, stat_of(l->db, "index.bytes_per_key"), stat_of(l->db, "index.slots"),
           iter_s * 1e3, iter_s * 1e9 / (double)n);
}

static double min_of(const double *v)
{
    double m = v[0];
    for (int i = 1; i < ROUNDS; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

static double median_of(const double *v)
{
    double s[ROUNDS];
    memcpy(s, v, sizeof s);
    qsort(s, ROUNDS, sizeof s[0], cmp_double);
    return s[ROUNDS / 2];
}

static void lookup_report(const lookup *l)
{
    printf("%8llu keys: get %.0f ns/op (median %.0f); absent-key get %.0f (median %.0f); "
           "bare pread %.0f (median %.0f)\n", (unsigned long long)l->n, min_of(l->get),
           median_of(l->get), min_of(l->absent), median_of(l->absent), min_of(l->pread),
           median_of(l->pread));
}

static void merge_case(const char *base, uint64_t n, unsigned rounds, size_t vlen)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/hash_merge_%llu", base, (unsigned long long)n);
    remove_dir(dir);
    fill(dir, n, rounds, vlen);
    uint64_t live_records = n * (10 + 16 + vlen), live_kv = n * (16 + vlen);
    uint64_t before = dir_bytes(dir, "");
    kv_db *db = open_db(dir);
    double scan_open_ms = stat_of(db, "open.ms");
    double t0 = now_s();
    int rc = kv_compact(db);
    double merge_s = now_s() - t0;
    if (rc != KV_OK)
        die("kv_compact", rc);
    kv_close(db);
    uint64_t segs = dir_bytes(dir, ".log"), hints = dir_bytes(dir, ".hint");
    printf("merge: %llu keys (%zu-byte values) x %u writes: %.1f MB on disk before, merge "
           "%.2f s; after: segments %.2f MB + hints %.2f MB\n", (unsigned long long)n, vlen,
           rounds, before / 1e6,
           merge_s, segs / 1e6, hints / 1e6);
    printf("       after / live records (key+value+10-byte header): %.3f with hints, %.3f "
           "without; after / live key+value bytes: %.3f with hints, %.3f without\n",
           (double)(segs + hints) / (double)live_records, (double)segs / (double)live_records,
           (double)(segs + hints) / (double)live_kv, (double)segs / (double)live_kv);

    t0 = now_s();
    db = open_db(dir);
    double hint_open_ms = (now_s() - t0) * 1e3;
    printf("       open of the merged database: %.1f ms reading %.2f MB (%.0f segments "
           "from hints); the same log before the merge: %.1f ms for %.1f MB\n",
           hint_open_ms, stat_of(db, "open.bytes_read") / 1e6,
           stat_of(db, "open.segments_from_hint"), scan_open_ms, before / 1e6);
    kv_close(db);
    /* The same merged segments, indexed by scanning them (hints removed). */
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[8192];
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".hint") == 0) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    if (d)
        closedir(d);
    t0 = now_s();
    db = open_db(dir);
    printf("       open of the merged database without its hints: %.1f ms reading %.2f MB\n",
           (now_s() - t0) * 1e3, stat_of(db, "open.bytes_read") / 1e6);
    kv_close(db);
    remove_dir(dir);
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: hash_lookup [DIR]   (default $TMPDIR or /tmp)\n"
               "Stage 02's gets at 10,000 to 1,000,000 keys, its memory per key, and its\n"
               "open with and without hint files (the top of bench/hash_lookup.c).\n");
        return 0;
    }
    const char *base = argc > 1 ? argv[1] : getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    printf("stage %s; 16-byte keys, %d-byte values; gets: %d rounds of %d random gets\n",
           kv_stage(), VLEN, ROUNDS, GETS_PER_ROUND);
    /* Both databases stay open and their rounds alternate, so a busy
     * machine slows both alike; the best round is the figure (the median is
     * shown beside it). */
    enum { SIZES = 3 };
    static lookup sizes[SIZES];
    lookup_setup(&sizes[0], base, 10000);
    lookup_setup(&sizes[1], base, 100000);
    lookup_setup(&sizes[2], base, 1000000);
    for (int s = 0; s < SIZES; s++) {
        get_round(sizes[s].db, sizes[s].n, 0); /* warm-up */
        pread_round(sizes[s].dir, sizes[s].n);
    }
    for (int r = 0; r < ROUNDS; r++) {
        for (int s = 0; s < SIZES; s++) {
            sizes[s].get[r] = get_round(sizes[s].db, sizes[s].n, 0);
            sizes[s].absent[r] = get_round(sizes[s].db, sizes[s].n, 1);
            sizes[s].pread[r] = pread_round(sizes[s].dir, sizes[s].n);
        }
    }
    for (int s = 0; s < SIZES; s++)
        lookup_report(&sizes[s]);
    printf("get ns/op, best round: 10,000 keys %.0f, 1,000,000 keys %.0f: ratio %.2f "
           "(medians: ratio %.2f); 100,000 to 1,000,000 keys: ratio %.2f\n",
           min_of(sizes[0].get), min_of(sizes[2].get),
           min_of(sizes[2].get) / min_of(sizes[0].get),
           median_of(sizes[2].get) / median_of(sizes[0].get),
           min_of(sizes[2].get) / min_of(sizes[1].get));
    for (int s = 0; s < SIZES; s++) {
        kv_close(sizes[s].db);
        remove_dir(sizes[s].dir);
    }
    merge_case(base, 100000, 10, VLEN);
    merge_case(base, 20000, 10, 1000);
    return 0;
}
