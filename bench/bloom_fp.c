/*
 * bloom_fp.c: build/05-blocks/bloom_fp, the false-positive rate of stage
 * 05's bloom filter (stages/05-blocks/bloom/bloom.h) measured against the
 * theory, (1 - e^{-kn/m})^k (bloom_fp_theory's exact form).
 *
 * For each bits-per-key and each filter size n it builds one filter of
 * the keys "key" + i (i < n, 16 digits, as kvbench writes keys), checks
 * that every one of them is found (no false negative), then asks for
 * `queries` keys "absent" + i that were never added and counts the ones
 * the filter lets through.  It prints one row per filter:
 *
 *   bits/key  k  keys  bits  queries  false positives  measured  theory  measured/theory
 *   and the same two figures for one 32-bit hash with LevelDB's probing
 *
 * The last two columns are why bloom.h takes two halves of a 64-bit hash:
 * the same keys in a filter of the same size, probed the way LevelDB's
 * util/bloom.cc does (one 32-bit hash h, here the high half of ours; step
 * h rotated right by 17; bit h_i % m), let through more absent keys than
 * the theory says as filters grow.
 * Usage: bloom_fp [QUERIES [BITS_PER_KEY...]]   (default 1000000; 10)
 * docs/05-blocks-reference.md, "The math, and what it measures", quotes its
 * output.  Exits 1 if a key
 * added is not found.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bloom.h"
#include "kv.h"

static size_t bloom_fp_key(char *buf, const char *family, size_t i)
{
    return (size_t)snprintf(buf, 40, "%s%016zu", family, i);
}

/* ---- the comparison: one 32-bit hash, LevelDB's probing -------------------------- */

static uint32_t bloom_fp_h32(const char *k, size_t kl)
{
    return (uint32_t)(bloom_hash(k, kl) >> 32);
}

static void bloom_fp_h32_probe(uint8_t *bits, uint32_t m, int k, uint32_t h, int set, int *all)
{
    const uint32_t delta = (h >> 17) | (h << 15);
    *all = 1;
    for (int j = 0; j < k; j++, h += delta) {
        const uint32_t pos = h % m;
        if (set)
            bits[pos / 8] |= (uint8_t)(1u << (pos % 8));
        else if ((bits[pos / 8] & (1u << (pos % 8))) == 0)
            *all = 0;
    }
}

/* The false-positive rate of an m-bit filter of the same keys, probed so. */
static double bloom_fp_h32_rate(uint32_t m, int k, size_t n, size_t queries)
{
    uint8_t *bits = calloc(m / 8, 1);
    if (bits == NULL) {
        fprintf(stderr, "bloom_fp: no memory for %u bits\n", m);
        exit(2);
    }
    char key[40];
    int all;
    for (size_t i = 0; i < n; i++) {
        size_t kl = bloom_fp_key(key, "key", i);
        bloom_fp_h32_probe(bits, m, k, bloom_fp_h32(key, kl), 1, &all);
    }
    size_t fp = 0;
    for (size_t i = 0; i < queries; i++) {
        size_t kl = bloom_fp_key(key, "absent", i);
        bloom_fp_h32_probe(bits, m, k, bloom_fp_h32(key, kl), 0, &all);
        fp += (size_t)all;
    }
    free(bits);
    return (double)fp / (double)queries;
}

/* ---- one row ------------------------------------------------------------------------ */

/* One row; 0, or 1 if a key added was not found. */
static int bloom_fp_row(int bits_per_key, size_t n, size_t queries)
{
    bloom_builder b;
    bloom_builder_init(&b, bits_per_key);
    char k[40];
    for (size_t i = 0; i < n; i++) {
        size_t kl = bloom_fp_key(k, "key", i);
        if (bloom_builder_add(&b, k, kl) != KV_OK) {
            fprintf(stderr, "bloom_fp: %s\n", kv_errmsg());
            exit(2);
        }
    }
    size_t len = bloom_builder_bytes(&b);
    uint8_t *f = malloc(len);
    if (f == NULL) {
        fprintf(stderr, "bloom_fp: no memory for a filter of %zu bytes\n", len);
        exit(2);
    }
    bloom_builder_finish(&b, f);
    bloom_builder_destroy(&b);
    for (size_t i = 0; i < n; i++) {
        size_t kl = bloom_fp_key(k, "key", i);
        if (!bloom_may_contain(f, f + len, k, kl)) {
            fprintf(stderr, "bloom_fp: FALSE NEGATIVE: %s\n", k);
            free(f);
            return 1;
        }
    }
    size_t fp = 0;
    for (size_t i = 0; i < queries; i++) {
        size_t kl = bloom_fp_key(k, "absent", i);
        fp += (size_t)bloom_may_contain(f, f + len, k, kl);
    }
    const uint64_t m = (uint64_t)(len - 1) * 8;
    const int kk = bloom_k_for(bits_per_key);
    double measured = (double)fp / (double)queries, theory = bloom_fp_theory(m, n, kk);
    double h32 = bloom_fp_h32_rate((uint32_t)m, kk, n, queries);
    printf("%8d %3d %8zu %9llu %8zu %8zu %9.4f%% %8.4f%% %6.3f %9.4f%% %6.3f\n", bits_per_key,
           kk, n, (unsigned long long)m, queries, fp, 100 * measured, 100 * theory,
           theory > 0 ? measured / theory : 0.0, 100 * h32, theory > 0 ? h32 / theory : 0.0);
    free(f);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: bloom_fp [QUERIES [BITS_PER_KEY...]]   (default 1000000; 10)\n"
               "The bloom filter's false-positive rate, measured against the theory, for\n"
               "filters of 20000, 100000 and 1000000 keys (docs/05-blocks-reference.md).\n");
        return 0;
    }
    size_t queries = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
    static const size_t sizes[] = {20000, 100000, 1000000};
    int failed = 0;
    printf("bits/key   k     keys      bits  queries false-pos  measured   theory  ratio"
           " | 32-bit h  ratio\n");
    for (int a = 2; a < argc || a == 2; a++) {
        int bits = a < argc ? atoi(argv[a]) : 10;
        if (bits < 1) {
            fprintf(stderr, "bloom_fp: bits per key must be at least 1\n");
            return 2;
        }
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            failed |= bloom_fp_row(bits, sizes[s], queries);
    }
    return failed;
}
