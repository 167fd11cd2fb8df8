/*
 * costs.c: what one stage's basic operations cost, measured on this machine.
 *
 *   build/S/costs [N...]      (default: 1000 10000 100000)
 *
 * For each N: fill N keys (16-byte keys, 100-byte values, in random order)
 * into a fresh database, then time random point reads of present keys, a
 * reopen (the open-time check or index rebuild), and report the bytes on
 * disk.  Reads are time-bounded (about a second per size), so a stage whose
 * reads scan the whole log reports a rate instead of running for hours.
 * The figures quoted in docs/ come from this program; bench/ has the full
 * benchmark (kvbench) for comparisons with other engines.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kv.h"

#define KEY_BYTES 16
#define VALUE_BYTES 100
#define READ_SECONDS 1.0

static double costs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t costs_rng = 0x9E3779B97F4A7C15ull;
static uint64_t costs_rand(void)
{
    costs_rng ^= costs_rng << 13;
    costs_rng ^= costs_rng >> 7;
    costs_rng ^= costs_rng << 17;
    return costs_rng;
}

/* Key i as 16 decimal digits (i < 10^16). */
static void costs_key(char *k, uint64_t i)
{
    for (int d = KEY_BYTES - 1; d >= 0; d--, i /= 10)
        k[d] = (char)('0' + i % 10);
    k[KEY_BYTES] = '\0';
}

static uint64_t costs_dir_bytes(const char *dir)
{
    uint64_t total = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    struct stat st;
    while (d && (e = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            total += (uint64_t)st.st_size;
    }
    if (d)
        closedir(d);
    return total;
}

static int costs_fail(const char *what, int rc)
{
    fprintf(stderr, "costs: %s: %s: %s\n", what, kv_strerror(rc), kv_errmsg());
    return 2;
}

int main(int argc, char **argv)
{
    long sizes[16] = {1000, 10000, 100000};
    int nsizes = 3;
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: costs [N...]   (default: 1000 10000 100000)\n"
               "For each N: fill N keys into a fresh database, then time random gets, a\n"
               "reopen, and report the bytes on disk (stage %s).\n", kv_stage());
        return 0;
    }
    if (argc > 1) {
        nsizes = 0;
        for (int i = 1; i < argc && nsizes < 16; i++)
            sizes[nsizes++] = atol(argv[i]);
    }
    char tmpl[] = "/tmp/kvcosts.XXXXXX";
    if (mkdtemp(tmpl) == NULL)
        return 2;
    char dir[256];
    printf("stage %s: 16-byte keys, 100-byte values\n", kv_stage());
    printf("%10s %12s %12s %14s %12s %12s\n", "keys", "put us/op", "get us/op",
           "reopen ms", "MB on disk", "bytes/key");
    char key[KEY_BYTES + 1], val[VALUE_BYTES];
    for (int v = 0; v < VALUE_BYTES; v++)
        val[v] = (char)('a' + v % 26);
    for (int s = 0; s < nsizes; s++) {
        long n = sizes[s];
        snprintf(dir, sizeof dir, "%s/db%ld", tmpl, n);
        kv_db *db;
        int rc = kv_open(dir, NULL, &db);
        if (rc != KV_OK)
            return costs_fail("open", rc);
        double t0 = costs_now();
        for (long i = 0; i < n; i++) {
            uint64_t k = (uint64_t)i * 2654435761u % (uint64_t)n; /* a permutation for most n */
            costs_key(key, k);
            memcpy(val, key, 8);
            if ((rc = kv_put(db, key, KEY_BYTES, val, VALUE_BYTES)) != KV_OK)
                return costs_fail("put", rc);
        }
        double put_us = (costs_now() - t0) * 1e6 / (double)n;

        long reads = 0;
        t0 = costs_now();
        double elapsed = 0;
        while (elapsed < READ_SECONDS) {
            costs_key(key, costs_rand() % (uint64_t)n);
            void *out;
            size_t outlen;
            rc = kv_get(db, key, KEY_BYTES, &out, &outlen);
            if (rc < 0)
                return costs_fail("get", rc);
            kv_free(out);
            reads++;
            if ((reads & 15) == 0 || n >= 10000)
                elapsed = costs_now() - t0;
        }
        double get_us = elapsed * 1e6 / (double)reads;
        if ((rc = kv_close(db)) != KV_OK)
            return costs_fail("close", rc);

        t0 = costs_now();
        if ((rc = kv_open(dir, NULL, &db)) != KV_OK)
            return costs_fail("reopen", rc);
        double reopen_ms = (costs_now() - t0) * 1e3;
        kv_close(db);
        uint64_t bytes = costs_dir_bytes(dir);
        printf("%10ld %12.2f %12.2f %14.2f %12.2f %12.1f\n", n, put_us, get_us, reopen_ms,
               (double)bytes / 1e6, (double)bytes / (double)n);
        fflush(stdout);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
    return system(cmd) == 0 ? 0 : 2;
}
