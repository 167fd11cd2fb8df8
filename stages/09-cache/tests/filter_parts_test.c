/*
 * filter_parts_test.c: partitioned filters (filter_parts.h): no false
 * negatives over many partitions (FP1), about bloom.h's false-positive
 * rate, partitions about their target size with every version of a key in
 * one, keys past the last separator ruled out, an empty filter, and every
 * byte of the top level and trailer damaged in turn (FP2, FP3: under ASan
 * no read outside the bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "filter_parts.h"
#include "kv.h"

static size_t key_of(char *buf, int i)
{
    return (size_t)snprintf(buf, 32, "key%08d", i);
}

/* Even-numbered keys 0..2n-2, key i twice (two versions), in order. */
static void build(int n, size_t target, uint8_t **out, size_t *len)
{
    filter_parts_builder b;
    filter_parts_builder_init(&b, 10, target);
    for (int i = 0; i < n; i++) {
        char k[32];
        size_t kl = key_of(k, 2 * i);
        CHECK_KV(filter_parts_add(&b, k, kl), KV_OK);
        CHECK_KV(filter_parts_add(&b, k, kl), KV_OK);
    }
    CHECK_KV(filter_parts_finish(&b, out, len), KV_OK);
    filter_parts_builder_destroy(&b);
}

static void every_key_added_may_be_there(void)
{
    uint8_t *f;
    size_t n;
    build(20000, 512, &f, &n);
    filter_parts_top top;
    CHECK_KV(filter_parts_open(f, n, &top), KV_OK);
    /* 20,000 keys at 10 bits: about 25,000 bytes, so about 48 partitions. */
    CHECK_MSG(top.count >= 40 && top.count <= 60, "%u partitions", top.count);
    for (uint32_t i = 0; i + 1 < top.count; i++) { /* the last holds what is left */
        uint32_t len = top.end[i] - (i ? top.end[i - 1] : 0);
        CHECK_MSG(len >= 512 && len <= 512 + 64, "partition %u: %u bytes", i, len);
    }
    int fp = 0;
    for (int i = 0; i < 20000; i++) {
        char k[32];
        size_t kl = key_of(k, 2 * i);
        harness_context("key %d", 2 * i);
        CHECK_EQ(filter_parts_may_contain(&top, f, k, kl), 1);
        kl = key_of(k, 2 * i + 1);
        fp += filter_parts_may_contain(&top, f, k, kl);
    }
    /* bloom.h: 0.82% at 10 bits per key; partitions cut at a block do not
     * change that much. */
    CHECK_MSG(fp < 20000 * 0.02, "%d of 20000 absent keys passed", fp);
    char k[32];
    CHECK_EQ(filter_parts_may_contain(&top, f, k, key_of(k, 99999999)), 0);
    filter_parts_close(&top);
    free(f);
}

static void an_empty_filter_rules_everything_out(void)
{
    filter_parts_builder b;
    filter_parts_builder_init(&b, 10, 4096);
    uint8_t *f;
    size_t n;
    CHECK_KV(filter_parts_finish(&b, &f, &n), KV_OK);
    filter_parts_builder_destroy(&b);
    filter_parts_top top;
    CHECK_KV(filter_parts_open(f, n, &top), KV_OK);
    CHECK_EQ(top.count, 1u);
    CHECK_EQ(filter_parts_may_contain(&top, f, "a", 1), 0);
    filter_parts_close(&top);
    free(f);
}

static void damage_is_refused_or_harmless(void)
{
    uint8_t *f;
    size_t n;
    build(300, 128, &f, &n);
    filter_parts_top top;
    CHECK_KV(filter_parts_open(f, n, &top), KV_OK);
    size_t top_at = top.end[top.count - 1];
    filter_parts_close(&top);
    int refused = 0;
    uint8_t *copy = malloc(n);
    for (size_t at = top_at; at < n; at++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(copy, f, n);
            copy[at] ^= (uint8_t)(1u << bit);
            harness_context("byte %zu bit %d", at, bit);
            int rc = filter_parts_open(copy, n, &top);
            CHECK(rc == KV_OK || rc == KV_ERR_CORRUPT);
            if (rc == KV_ERR_CORRUPT) {
                refused++;
                CHECK(strstr(kv_errmsg(), "partitioned filter: offset ") != NULL);
                continue;
            }
            /* Well formed still: every answer reads inside the bytes. */
            for (int i = 0; i < 600; i += 7) {
                char k[32];
                size_t kl = key_of(k, i);
                (void)filter_parts_may_contain(&top, copy, k, kl);
            }
            filter_parts_close(&top);
        }
    }
    CHECK(refused > 0);
    /* Cut short anywhere: refused, or a shorter well-formed filter. */
    for (size_t len = 0; len < n; len++) {
        int rc = filter_parts_open(f, len, &top);
        CHECK(rc == KV_OK || rc == KV_ERR_CORRUPT);
        if (rc == KV_OK)
            filter_parts_close(&top);
    }
    free(copy);
    free(f);
}

static const harness_test tests[] = {
    HARNESS_TEST(every_key_added_may_be_there),
    HARNESS_TEST(an_empty_filter_rules_everything_out),
    HARNESS_TEST(damage_is_refused_or_harmless),
};
const harness_suite filter_parts_suite = HARNESS_SUITE("filter_parts", tests);
