/*
 * bench_sys.c: clock, random numbers, /proc/self/io, peak memory, directory
 * sizes and error messages for kvbench (see bench_sys.h).
 */
#include "bench_sys.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_rng_seed(bench_rng *r, uint64_t seed)
{
    /* splitmix64 of the seed, so that small seeds give well-mixed states */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    r->s = z ? z : 1;
}

uint64_t bench_rng_next(bench_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

uint64_t bench_rng_below(bench_rng *r, uint64_t n)
{
    return bench_rng_next(r) % n;
}

void bench_zipf_init(bench_zipf *z, uint64_t n, double theta)
{
    double zetan = 0, zeta2 = 1 + pow(0.5, theta);
    for (uint64_t i = 1; i <= n; i++)
        zetan += 1 / pow((double)i, theta);
    z->n = n;
    z->theta = theta;
    z->alpha = 1 / (1 - theta);
    z->zetan = zetan;
    z->eta = (1 - pow(2.0 / (double)n, 1 - theta)) / (1 - zeta2 / zetan);
    z->half_pow = pow(0.5, theta);
}

uint64_t bench_zipf_next(const bench_zipf *z, bench_rng *r)
{
    double u = (double)(bench_rng_next(r) >> 11) / 9007199254740992.0; /* [0, 1) */
    double uz = u * z->zetan;
    if (uz < 1)
        return 0;
    if (uz < 1 + z->half_pow)
        return 1 % z->n;
    uint64_t k = (uint64_t)((double)z->n * pow(z->eta * u - z->eta + 1, z->alpha));
    return k < z->n ? k : z->n - 1;
}

int bench_io_read(bench_io *io)
{
    memset(io, 0, sizeof *io);
    FILE *f = fopen("/proc/self/io", "r");
    if (f == NULL)
        return -1;
    char name[64];
    unsigned long long v;
    while (fscanf(f, "%63[^:]: %llu\n", name, &v) == 2) {
        if (strcmp(name, "rchar") == 0)
            io->rchar = v;
        else if (strcmp(name, "wchar") == 0)
            io->wchar = v;
        else if (strcmp(name, "read_bytes") == 0)
            io->read_bytes = v;
        else if (strcmp(name, "write_bytes") == 0)
            io->write_bytes = v;
        else if (strcmp(name, "cancelled_write_bytes") == 0)
            io->cancelled_write_bytes = v;
        else if (strcmp(name, "syscr") == 0)
            io->syscr = v;
        else if (strcmp(name, "syscw") == 0)
            io->syscw = v;
    }
    fclose(f);
    return 0;
}

long bench_peak_rss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss;
}

/* nftw has no context argument: one walk at a time, per thread. */
static _Thread_local uint64_t dir_total;

static int bench_dir_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (type == FTW_F && S_ISREG(st->st_mode))
        dir_total += (uint64_t)st->st_size;
    return 0;
}

uint64_t bench_dir_bytes(const char *dir)
{
    dir_total = 0;
    nftw(dir, bench_dir_visit, 16, FTW_PHYS);
    return dir_total;
}

static int bench_rm_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return (type == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT ? 0 : -1;
}

int bench_rmtree(const char *dir)
{
    struct stat st;
    if (lstat(dir, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(dir, bench_rm_visit, 16, FTW_DEPTH | FTW_PHYS);
}

int bench_mkdir(const char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST)
        return 0;
    return bench_error("mkdir %s: %s", dir, strerror(errno));
}

static _Thread_local char error_text[1024];

int bench_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_text, sizeof error_text, fmt, ap);
    va_end(ap);
    return -1;
}

const char *bench_errmsg(void)
{
    return error_text;
}

int bench_bloom_bits(void)
{
    const char *v = getenv("KVBENCH_BLOOM_BITS");
    int bits = v != NULL ? atoi(v) : 0;
    return bits > 0 ? bits : 0;
}

const char *bench_bloom_name(const char *base)
{
    static char text[64];
    int bits = bench_bloom_bits();
    if (bits == 0)
        return base;
    if (bits == 10)
        snprintf(text, sizeof text, "%s-bloom", base);
    else
        snprintf(text, sizeof text, "%s-bloom%d", base, bits);
    return text;
}
