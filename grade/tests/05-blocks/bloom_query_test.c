/*
 * bloom_query_test.c: exercise bloom_query, bloom_may_contain_hash
 * (stages/05-blocks/bloom/bloom.c): 0 only when one of the key's k bits is
 * clear; 1 for a malformed filter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bloom.h"
#include "ex_bloom.h"
#include "exercise.h"
#include "kv.h"

static void bloom_query_agrees_with_the_bits(void)
{
    enum { N = 3000 };
    uint64_t *h = malloc(N * sizeof *h);
    char k[32];
    for (int i = 0; i < N; i++) {
        int kl = snprintf(k, sizeof k, "q-%d", i);
        h[i] = bloom_hash(k, (size_t)kl);
    }
    uint32_t m = 30000;
    uint8_t *f = malloc(m / 8 + 1);
    size_t size = ex_bloom_build(f, h, N, m, 7);
    uint8_t *g = ex_guarded_copy(f, size);
    for (int i = 0; i < N; i++) {
        ex_context(EX_RULE(3, "only [p, limit) read") "bloom_may_contain_hash of key %d in a "
                   "filter that ends at limit", i);
        EX_CHECK(bloom_may_contain_hash(g, g + size, h[i]) == 1,
                 EX_RULE(1, "1 when every bit is set") "BF1: a key whose k bits are all set may "
                 "be in the table: 1 (key %d)", i);
    }
    int agree = 1, zeros = 0;
    for (int i = 0; i < 20000; i++) {
        int kl = snprintf(k, sizeof k, "other-%d", i);
        uint64_t x = bloom_hash(k, (size_t)kl);
        int want = ex_bloom_query(f, size, x), got = bloom_may_contain_hash(g, g + size, x);
        agree &= want == got;
        zeros += got == 0;
    }
    EX_CHECK(agree, EX_RULE(1, "0 when a bit is clear") "for absent keys the answer is 0 "
             "exactly when one of the key's k probes "
             "(h_i = lo + i * hi, bit (h_i * m) >> 32) finds a clear bit");
    EX_CHECK(zeros > 19000, EX_RULE(1, "0 when a bit is clear") "most absent keys are ruled out "
             "(%d of 20000)", zeros);
    free(f);
    free(h);
}

static void bloom_query_reads_k_from_the_filter(void)
{
    uint64_t h = bloom_hash("key", 3);
    uint8_t f[65];
    size_t size = ex_bloom_build(f, &h, 1, 512, 3);
    EX_CHECK(bloom_may_contain_hash(f, f + size, h) == 1, EX_RULE(1, "1 when every bit is set") "a key added: 1");
    /* Ask with k = 12: more probes than were set, most find a clear bit. */
    f[size - 1] = 12;
    EX_CHECK(bloom_may_contain_hash(f, f + size, h) == ex_bloom_query(f, size, h),
             EX_RULE(1, "k read from the filter") "k is the filter's last byte, read from it "
             "(here 12), not a constant");
}

static void bloom_query_malformed_filter_may_contain(void)
{
    uint8_t f[200];
    memset(f, 0, sizeof f);
    uint64_t h = bloom_hash("anything", 8);
    struct {
        size_t size;
        int k;
        const char *what;
    } cases[] = {
        {0, 0, "no bytes at all"},
        {5, 7, "fewer than the 64 bits (8 bytes) and k a filter has at least"},
        {65, 0, "k = 0"},
        {65, 31, "k = 31, above the 30 a filter may have"},
        {65, 255, "k = 255"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].size > 0)
            f[cases[i].size - 1] = (uint8_t)cases[i].k;
        uint8_t *g = ex_guarded_copy(f, cases[i].size);
        ex_context(EX_RULE(3, "only [p, limit) read") "bloom_may_contain_hash of a malformed "
                   "filter: %s", cases[i].what);
        EX_CHECK(bloom_may_contain_hash(g, g + cases[i].size, h) == 1,
                 EX_RULE(2, "a malformed filter: 1") "BF2: a malformed filter (%s) answers 1, "
                 "may contain, for every key: damage "
                 "costs a read, never a wrong answer", cases[i].what);
    }
}

static const harness_test bloom_query_tests[] = {
    HARNESS_TEST(bloom_query_agrees_with_the_bits),
    HARNESS_TEST(bloom_query_reads_k_from_the_filter),
    HARNESS_TEST(bloom_query_malformed_filter_may_contain),
};
const harness_suite bloom_query_suite = HARNESS_SUITE("bloom_query", bloom_query_tests);
