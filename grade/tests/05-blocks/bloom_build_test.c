/*
 * bloom_build_test.c: exercise bloom_build, bloom_builder_finish
 * (stages/05-blocks/bloom/bloom.c): the k bits of every key added set in an
 * array of m bits, then k.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bloom.h"
#include "ex_bloom.h"
#include "exercise.h"
#include "kv.h"

static void build_and_compare(size_t n, int bits_per_key)
{
    bloom_builder b;
    bloom_builder_init(&b, bits_per_key);
    uint64_t *hashes = malloc((n + 1) * sizeof *hashes);
    char k[32];
    for (size_t i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof k, "user-key-%zu", i);
        harness_context("bloom_builder_add of key %zu of %zu (\"%s\") at %d bits per key", i, n, k,
                        bits_per_key);
        EX_CHECK(bloom_builder_add(&b, k, (size_t)kl) == KV_OK, "bloom_builder_add");
        hashes[i] = bloom_hash(k, (size_t)kl);
    }
    size_t size = bloom_builder_bytes(&b);
    uint8_t *got = malloc(size + 16), *want = malloc(size + 16);
    memset(got, 0xAA, size + 16);
    harness_context("bloom_builder_finish of %zu keys at %d bits per key into %zu bytes: the k "
                    "bits of every key set in m bits, then k in the last byte; exactly "
                    "bloom_builder_bytes bytes written", n, bits_per_key, size);
    bloom_builder_finish(&b, got);
    uint32_t m = (uint32_t)(size - 1) * 8;
    ex_bloom_build(want, hashes, n, m, bloom_k_for(bits_per_key));
    EX_CHECK(got[size - 1] == bloom_k_for(bits_per_key),
             EX_RULE(3, "then the byte k") "the filter's last byte is k, the number of hashes: "
             "%d (got %d)",
             bloom_k_for(bits_per_key), got[size - 1]);
    for (size_t i = 0; i < n; i++)
        EX_CHECK(ex_bloom_query(got, size, hashes[i]),
                 EX_RULE(2, "each hash's k bits set") "BF1, no false negatives: every key added "
                 "(key %zu of %zu) has its k bits set",
                 i, n);
    int extra = 0, missing = 0;
    for (size_t j = 0; j + 1 < size; j++) {
        extra |= got[j] & ~want[j];
        missing |= want[j] & ~got[j];
    }
    EX_CHECK(missing || !extra,
             EX_RULE(1, "all clear first") "the filter holds bits no key sets (its bytes were not "
             "cleared first: the buffer bloom_builder_finish writes into holds anything)");
    EX_CHECK(memcmp(got, want, size) == 0,
             EX_RULE(2, "the probes, as the format gives them") "BF4: the filter's bytes depend "
             "only on the keys, and are the ones bloom.h's format "
             "gives: h_i = lo + i * hi (mod 2^32) from bloom_hash's two halves, bit "
             "(h_i * m) >> 32, bit j in byte j / 8 at bit j %% 8 (%zu keys, %d bits per key)",
             n, bits_per_key);
    EX_CHECK(got[size] == 0xAA, EX_RULE(3, "then the byte k") "bloom_builder_finish writes "
             "exactly bloom_builder_bytes bytes");
    free(got);
    free(want);
    free(hashes);
    bloom_builder_destroy(&b);
}

static void bloom_build_matches_the_format(void)
{
    build_and_compare(1, 10);
    build_and_compare(100, 10);
    build_and_compare(5000, 10);
    build_and_compare(777, 3);
    build_and_compare(300, 20);
}

static void bloom_build_empty_filter(void)
{
    bloom_builder b;
    harness_context("bloom_builder_finish of a filter of no key at 10 bits per key into 64 bytes: "
                    "every bit clear (zeroed first), k in the last byte");
    bloom_builder_init(&b, 10);
    size_t size = bloom_builder_bytes(&b);
    uint8_t out[64];
    memset(out, 0xAA, sizeof out);
    bloom_builder_finish(&b, out);
    int zero = 1;
    for (size_t i = 0; i + 1 < size; i++)
        zero &= out[i] == 0;
    EX_CHECK(zero, EX_RULE(1, "all clear first") "a filter of no key has every bit clear (the "
             "bits are zeroed first)");
    bloom_builder_destroy(&b);
}

static void bloom_build_false_positives_are_rare(void)
{
    bloom_builder b;
    harness_context("bloom_builder_add of 20000 keys at 10 bits per key, then "
                    "bloom_builder_finish: about 0.8%% of absent keys may pass, never 2%%");
    bloom_builder_init(&b, 10);
    char k[32];
    for (int i = 0; i < 20000; i++) {
        int kl = snprintf(k, sizeof k, "present-%d", i);
        bloom_builder_add(&b, k, (size_t)kl);
    }
    size_t size = bloom_builder_bytes(&b);
    uint8_t *f = malloc(size);
    bloom_builder_finish(&b, f);
    int fp = 0;
    for (int i = 0; i < 20000; i++) {
        int kl = snprintf(k, sizeof k, "absent-%d", i);
        fp += ex_bloom_query(f, size, bloom_hash(k, (size_t)kl));
    }
    EX_CHECK(fp < 400, EX_RULE(2, "the probes spread over [0, m)") "at 10 bits per key about "
             "0.8%% of absent keys pass (the theory, "
             "docs/05-blocks.md); 2%% is far too many: %d of 20000", fp);
    free(f);
    bloom_builder_destroy(&b);
}

static const harness_test bloom_build_tests[] = {
    HARNESS_TEST(bloom_build_matches_the_format),
    HARNESS_TEST(bloom_build_empty_filter),
    HARNESS_TEST(bloom_build_false_positives_are_rare),
};
const harness_suite bloom_build_suite = HARNESS_SUITE("bloom_build", bloom_build_tests);
