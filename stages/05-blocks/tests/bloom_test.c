/*
 * bloom_test.c: the bloom filter (bloom.h): no false negatives at any
 * size, a false-positive rate within a fifth of the theory, the filter's
 * bytes, malformed filters answered "may contain" and named by
 * bloom_check, decoders bounded by [p, limit), allocation failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../03-wal/tests/alloc_fail.h"
#include "bloom.h"
#include "kv.h"

/* bloom_hash of "", "a" and "key0000000000000001" (hash_is_pinned_by_the_format). */
#define BLOOM_TEST_PINNED "a7824957e85a2e5c 3e575bfd9596e7c3 b87b291df28b804d"

/* Key i of a family: "key" then i in 16 digits, as kvbench writes them,
 * or "absent" then i, which no filter below is given. */
static size_t key_of(char *buf, const char *family, size_t i)
{
    return (size_t)snprintf(buf, 40, "%s%016zu", family, i);
}

/* A filter of keys 0..n-1 of "key", malloc'd to its exact size (so ASan
 * sees any read past its end). */
static uint8_t *filter_of(size_t n, int bits_per_key, size_t *len)
{
    bloom_builder b;
    bloom_builder_init(&b, bits_per_key);
    char k[40];
    for (size_t i = 0; i < n; i++) {
        size_t kl = key_of(k, "key", i);
        CHECK_KV(bloom_builder_add(&b, k, kl), KV_OK);
    }
    *len = bloom_builder_bytes(&b);
    uint8_t *f = malloc(*len);
    CHECK(f != NULL);
    bloom_builder_finish(&b, f);
    bloom_builder_destroy(&b);
    return f;
}

/* Absent keys the filter lets through, of `queries`. */
static size_t false_positives(const uint8_t *f, size_t len, size_t queries)
{
    size_t fp = 0;
    char k[40];
    for (size_t i = 0; i < queries; i++) {
        size_t kl = key_of(k, "absent", i);
        fp += (size_t)bloom_may_contain(f, f + len, k, kl);
    }
    return fp;
}

static void k_is_bits_per_key_times_ln2_rounded_and_clamped(void)
{
    CHECK_EQ(bloom_k_for(1), 1);  /* 0.69 */
    CHECK_EQ(bloom_k_for(2), 1);  /* 1.39 */
    CHECK_EQ(bloom_k_for(3), 2);  /* 2.08 */
    CHECK_EQ(bloom_k_for(10), 7); /* 6.93 */
    CHECK_EQ(bloom_k_for(20), 14); /* 13.86 */
    CHECK_EQ(bloom_k_for(43), 30); /* 29.8 */
    CHECK_EQ(bloom_k_for(44), BLOOM_MAX_K);
    CHECK_EQ(bloom_k_for(1 << 30), BLOOM_MAX_K);
}

static void every_key_added_may_be_contained(void)
{
    static const size_t sizes[] = {1, 2, 7, 100, 5000, 100000};
    static const int bits[] = {1, 2, 5, 10, 20, 50};
    char k[40];
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (size_t b = 0; b < sizeof bits / sizeof bits[0]; b++) {
            size_t len;
            uint8_t *f = filter_of(sizes[s], bits[b], &len);
            for (size_t i = 0; i < sizes[s]; i++) {
                size_t kl = key_of(k, "key", i);
                harness_context("%zu keys, %d bits a key, key %zu", sizes[s], bits[b], i);
                CHECK(bloom_may_contain(f, f + len, k, kl));
                CHECK(bloom_may_contain_hash(f, f + len, bloom_hash(k, kl)));
            }
            free(f);
        }
    }
}

static void keys_of_every_length_are_found(void)
{
    /* Lengths 0..40 cross the hash's 8-byte steps and its tail. */
    uint8_t keys[41][40];
    bloom_builder b;
    bloom_builder_init(&b, 10);
    for (size_t len = 0; len <= 40; len++) {
        for (size_t i = 0; i < len; i++)
            keys[len][i] = (uint8_t)(len * 31 + i);
        CHECK_KV(bloom_builder_add(&b, keys[len], len), KV_OK);
    }
    size_t n = bloom_builder_bytes(&b);
    uint8_t *f = malloc(n);
    CHECK(f != NULL);
    bloom_builder_finish(&b, f);
    for (size_t len = 0; len <= 40; len++)
        CHECK(bloom_may_contain(f, f + n, keys[len], len));
    free(f);
    bloom_builder_destroy(&b);
}

static void false_positive_rate_is_within_a_fifth_of_theory(void)
{
    /* 20,000 keys, 200,000 absent keys: theory expects about 1,640 at 10
     * bits a key, so a fifth is some 8 standard deviations.  (bench/bloom_fp.c
     * measures more sizes over a million absent keys.) */
    static const int bits[] = {5, 10};
    for (size_t b = 0; b < sizeof bits / sizeof bits[0]; b++) {
        const size_t n = 20000, queries = 200000;
        size_t len;
        uint8_t *f = filter_of(n, bits[b], &len);
        double measured = (double)false_positives(f, len, queries) / (double)queries;
        double theory = bloom_fp_theory((len - 1) * 8, n, bloom_k_for(bits[b]));
        CHECK_MSG(measured > theory * 0.8 && measured < theory * 1.2,
                  "%d bits a key: measured %.5f, theory %.5f", bits[b], measured, theory);
        free(f);
    }
}

static void theory_matches_the_textbook_formula(void)
{
    /* (1 - e^{-kn/m})^k at 10 bits a key, k = 7: 0.008194... */
    double p = bloom_fp_theory(10000000, 1000000, 7);
    CHECK_MSG(p > 0.00819 && p < 0.00820, "%.6f", p);
    CHECK(bloom_fp_theory(64, 0, 7) == 0.0);
    CHECK(bloom_fp_theory(0, 5, 7) == 1.0);
}

static void filter_is_bits_then_k(void)
{
    size_t len;
    uint8_t *f = filter_of(1000, 10, &len);
    CHECK_EQ(len, 10000 / 8 + 1);
    CHECK_EQ(f[len - 1], 7);
    free(f);
    /* Fewer than 7 keys at 10 bits: the 64-bit minimum. */
    f = filter_of(3, 10, &len);
    CHECK_EQ(len, 9);
    free(f);
    /* 13 keys at 5 bits: 65 bits, rounded up to 72. */
    f = filter_of(13, 5, &len);
    CHECK_EQ(len, 10);
    CHECK_EQ(f[len - 1], 3);
    free(f);
}

static void empty_filter_rules_out_every_key(void)
{
    size_t len;
    uint8_t *f = filter_of(0, 10, &len);
    CHECK_EQ(len, 9);
    CHECK_EQ(false_positives(f, len, 1000), 0);
    bloom_info info;
    CHECK_KV(bloom_check(f, f + len, &info), KV_OK);
    CHECK_EQ(info.bits_set, 0);
    free(f);
}

static void repeated_hash_is_kept_once(void)
{
    bloom_builder b;
    bloom_builder_init(&b, 10);
    CHECK_KV(bloom_builder_add(&b, "a", 1), KV_OK);
    CHECK_KV(bloom_builder_add(&b, "a", 1), KV_OK); /* a second version */
    CHECK_KV(bloom_builder_add(&b, "b", 1), KV_OK);
    CHECK_KV(bloom_builder_add(&b, "a", 1), KV_OK); /* not next to the first */
    CHECK_EQ(bloom_builder_keys(&b), 3);
    bloom_builder_reset(&b);
    CHECK_EQ(bloom_builder_keys(&b), 0);
    CHECK(b.cap > 0); /* the memory is kept for the next table */
    bloom_builder_destroy(&b);
}

static void check_reports_bits_hashes_and_fill(void)
{
    size_t len;
    uint8_t *f = filter_of(10000, 10, &len);
    bloom_info info;
    CHECK_KV(bloom_check(f, f + len, &info), KV_OK);
    CHECK_EQ(info.bits, 100000);
    CHECK_EQ(info.k, 7);
    /* The fill expected is 1 - e^{-kn/m} = 1 - e^{-0.7} = 0.503. */
    CHECK_MSG(info.bits_set > 49000 && info.bits_set < 51600, "%llu bits set",
              (unsigned long long)info.bits_set);
    CHECK_KV(bloom_check(f, f + len, NULL), KV_OK);
    free(f);
}

/* Every malformed filter: "may contain" for every key, and bloom_check's
 * KV_ERR_CORRUPT with a message that names it a bloom filter. */
static void malformed(const uint8_t *p, const uint8_t *limit)
{
    char k[40];
    for (size_t i = 0; i < 100; i++) {
        size_t kl = key_of(k, "absent", i);
        CHECK(bloom_may_contain(p, limit, k, kl));
    }
    CHECK_KV(bloom_check(p, limit, NULL), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), "bloom filter of ") != NULL);
}

static void malformed_filter_may_contain_every_key(void)
{
    uint8_t buf[16] = {0}; /* all bits clear: a well-formed filter says no */
    buf[8] = 7;
    CHECK_EQ(false_positives(buf, 9, 100), 0);
    for (size_t len = 0; len < 9; len++) {
        harness_context("%zu bytes", len);
        uint8_t *exact = malloc(len + 1);
        CHECK(exact != NULL);
        memset(exact, 0, len);
        if (len > 0)
            exact[len - 1] = 7;
        malformed(exact, exact + len);
        free(exact);
    }
    harness_context("k");
    buf[8] = 0;
    malformed(buf, buf + 9);
    CHECK(strstr(kv_errmsg(), "hash count 0 is not 1..30") != NULL);
    buf[8] = 31;
    malformed(buf, buf + 9);
    buf[8] = 255;
    malformed(buf, buf + 9);
    harness_context("limit before p, NULL");
    malformed(buf + 9, buf);
    malformed(NULL, NULL);
}

static void longest_filter_is_accepted_and_one_byte_more_is_not(void)
{
    /* 2^32 - 8 bits and k: 512 MiB.  Only its shape is read, and calloc
     * leaves the pages untouched, so this costs no memory. */
    const size_t bytes = BLOOM_MAX_BITS / 8 + 1;
    uint8_t *f = calloc(1, bytes + 1);
    if (f == NULL)
        return; /* a machine without the address space: nothing to see */
    f[bytes - 1] = 7;
    CHECK_KV(bloom_check(f, f + bytes, NULL), KV_OK); /* NULL: no count of bits */
    CHECK_EQ(bloom_may_contain(f, f + bytes, "x", 1), 0);
    f[bytes] = 7;
    malformed(f, f + bytes + 1);
    CHECK(strstr(kv_errmsg(), "more bits than the most") != NULL);
    free(f);
}

static void hash_is_pinned_by_the_format(void)
{
    /* Filters on disk depend on these values (bloom.h, BF4): a change to
     * bloom_hash is a new filter format. */
    char text[96];
    snprintf(text, sizeof text, "%016llx %016llx %016llx",
             (unsigned long long)bloom_hash("", 0), (unsigned long long)bloom_hash("a", 1),
             (unsigned long long)bloom_hash("key0000000000000001", 19));
    CHECK_MSG(strcmp(text, BLOOM_TEST_PINNED) == 0, "bloom_hash gives %s", text);
}

static void failed_allocation_leaves_the_builder_usable(void)
{
    if (!alloc_fail_available())
        return; /* a sanitizer's allocator: the release build tests this */
    bloom_builder b;
    bloom_builder_init(&b, 10);
    char k[40];
    size_t i = 0;
    alloc_fail_arm(1);
    int rc = bloom_builder_add(&b, "first", 5);
    alloc_fail_disarm();
    CHECK_KV(rc, KV_ERR_NOMEM);
    CHECK(strstr(kv_errmsg(), "bloom filter: cannot grow") != NULL);
    CHECK_EQ(bloom_builder_keys(&b), 0);
    for (; i < 256; i++) { /* fills the first 256 slots */
        size_t kl = key_of(k, "key", i);
        CHECK_KV(bloom_builder_add(&b, k, kl), KV_OK);
    }
    alloc_fail_arm(1);
    size_t kl = key_of(k, "key", i);
    rc = bloom_builder_add(&b, k, kl);
    alloc_fail_disarm();
    CHECK_KV(rc, KV_ERR_NOMEM);
    CHECK_KV(bloom_builder_add(&b, k, kl), KV_OK);
    size_t n = bloom_builder_bytes(&b);
    uint8_t *f = malloc(n);
    CHECK(f != NULL);
    bloom_builder_finish(&b, f);
    for (size_t j = 0; j <= i; j++) {
        kl = key_of(k, "key", j);
        CHECK(bloom_may_contain(f, f + n, k, kl));
    }
    free(f);
    bloom_builder_destroy(&b);
}

static const harness_test bloom_tests[] = {
    HARNESS_TEST(k_is_bits_per_key_times_ln2_rounded_and_clamped),
    HARNESS_TEST(every_key_added_may_be_contained),
    HARNESS_TEST(keys_of_every_length_are_found),
    HARNESS_TEST(false_positive_rate_is_within_a_fifth_of_theory),
    HARNESS_TEST(theory_matches_the_textbook_formula),
    HARNESS_TEST(filter_is_bits_then_k),
    HARNESS_TEST(empty_filter_rules_out_every_key),
    HARNESS_TEST(repeated_hash_is_kept_once),
    HARNESS_TEST(check_reports_bits_hashes_and_fill),
    HARNESS_TEST(malformed_filter_may_contain_every_key),
    HARNESS_TEST(longest_filter_is_accepted_and_one_byte_more_is_not),
    HARNESS_TEST(hash_is_pinned_by_the_format),
    HARNESS_TEST(failed_allocation_leaves_the_builder_usable),
};
const harness_suite bloom_suite = HARNESS_SUITE("bloom", bloom_tests);
