/*
 * partition_find_test.c: exercise partition_find, filter_parts_find
 * (stages/09-cache/partitioned/filter_parts.c): the partition of a
 * partitioned filter a key falls in, found through the top level.  The
 * tests build filters of many small partitions with the builder
 * (filter_parts.h), open their top level, and compare each answer with a
 * walk over the separators in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exercise.h"
#include "filter_parts.h"
#include "kv.h"

#define PF_KEYS 200

typedef struct pf_filter {
    uint8_t *bytes;
    size_t len;
    filter_parts_top top;
} pf_filter;

static void pf_key(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "k%03d", i);
}

/* A filter over keys k000 .. k199 (every even one twice, as a key's
 * versions), partitions of about 16 bytes, its top level opened. */
static void pf_build(pf_filter *f)
{
    filter_parts_builder b;
    filter_parts_builder_init(&b, 10, 16);
    char k[16];
    for (int i = 0; i < PF_KEYS; i++) {
        pf_key(k, sizeof k, i);
        for (int v = 0; v < (i % 2 == 0 ? 2 : 1); v++)
            EX_CHECK(filter_parts_add(&b, k, strlen(k)) == KV_OK, "filter_parts_add(%s)", k);
    }
    EX_CHECK(filter_parts_finish(&b, &f->bytes, &f->len) == KV_OK, "filter_parts_finish");
    filter_parts_builder_destroy(&b);
    int rc = filter_parts_open(f->bytes, f->len, &f->top);
    EX_CHECK(rc == KV_OK, "filter_parts_open of the builder's bytes: %s", kv_errmsg());
    EX_CHECK(f->top.count >= 5, "the test wants several partitions (got %u)", f->top.count);
}

static void pf_free(pf_filter *f)
{
    filter_parts_close(&f->top);
    free(f->bytes);
}

/* The partition key falls in by a walk over the separators: the first
 * whose separator is >= key, or -1 past the last. */
static int pf_walk(const filter_parts_top *top, const char *key)
{
    size_t len = strlen(key);
    for (uint32_t i = 0; i < top->count; i++) {
        size_t n = top->sep_len[i] < len ? top->sep_len[i] : len;
        int c = memcmp(top->sep[i], key, n);
        if (c > 0 || (c == 0 && top->sep_len[i] >= len))
            return (int)i;
    }
    return -1;
}

/* Asks filter_parts_find about key and checks its answer against the walk. */
static void pf_check(const pf_filter *f, const char *key)
{
    uint32_t start = 0xDEAD, end = 0xBEEF;
    harness_context("filter_parts_find of \"%s\" over %u partitions", key, f->top.count);
    int got = filter_parts_find(&f->top, key, strlen(key), &start, &end);
    int want = pf_walk(&f->top, key);
    if (want < 0) {
        EX_CHECK(got == 0, "\"%s\" is past the last separator (\"%.*s\"): no partition can hold "
                 "it, so filter_parts_find returns 0 (got %d)", key,
                 (int)f->top.sep_len[f->top.count - 1], (const char *)f->top.sep[f->top.count - 1],
                 got);
        return;
    }
    EX_CHECK(got == 1, "\"%s\" falls in partition %d, the first whose separator is >= it: "
             "filter_parts_find returns 1 (got %d)", key, want, got);
    uint32_t want_start = want == 0 ? 0 : f->top.end[want - 1], want_end = f->top.end[want];
    EX_CHECK(start == want_start && end == want_end, "\"%s\" falls in partition %d, whose bytes "
             "are [%u, %u): it starts where the partition before it ends (or at 0) and ends "
             "at its own end; a key equal to a separator is in that separator's own "
             "partition (got [%u, %u))", key, want, want_start, want_end, start, end);
}

static void partition_find_every_key_added_finds_its_partition(void)
{
    pf_filter f;
    pf_build(&f);
    char k[16];
    for (int i = 0; i < PF_KEYS; i++) {
        pf_key(k, sizeof k, i);
        pf_check(&f, k);
    }
    pf_free(&f);
}

static void partition_find_separators_are_in_their_own_partition(void)
{
    pf_filter f;
    pf_build(&f);
    char k[64];
    for (uint32_t i = 0; i < f.top.count; i++) {
        snprintf(k, sizeof k, "%.*s", (int)f.top.sep_len[i], (const char *)f.top.sep[i]);
        pf_check(&f, k);
    }
    pf_free(&f);
}

static void partition_find_keys_between_and_around(void)
{
    pf_filter f;
    pf_build(&f);
    static const char *const keys[] = {"", "a", "k", "k000", "k0005", "k05", "k0995", "k100a",
                                       "k1999", "k199", "k199\x01", "k2", "l", "zzz"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        pf_check(&f, keys[i]);
    pf_free(&f);
}

static void partition_find_one_partition(void)
{
    filter_parts_builder b;
    filter_parts_builder_init(&b, 10, 4096);
    EX_CHECK(filter_parts_add(&b, "m", 1) == KV_OK, "filter_parts_add");
    pf_filter f;
    EX_CHECK(filter_parts_finish(&b, &f.bytes, &f.len) == KV_OK, "filter_parts_finish");
    filter_parts_builder_destroy(&b);
    EX_CHECK(filter_parts_open(f.bytes, f.len, &f.top) == KV_OK && f.top.count == 1,
             "one key, one partition");
    pf_check(&f, "a");
    pf_check(&f, "m");
    pf_check(&f, "n");
    pf_free(&f);
}

static void partition_find_no_added_key_is_ruled_out(void)
{
    pf_filter f;
    pf_build(&f);
    char k[16];
    for (int i = 0; i < PF_KEYS; i++) {
        pf_key(k, sizeof k, i);
        pf_check(&f, k);
        EX_CHECK(filter_parts_may_contain(&f.top, f.bytes, k, strlen(k)),
                 "\"%s\" was added: its partition's filter must answer \"may contain\" (a "
                 "filter never rules out a key it holds); a lookup in another partition, or "
                 "in bytes that are not one partition, can", k);
    }
    pf_free(&f);
}

static const harness_test tests[] = {
    HARNESS_TEST(partition_find_every_key_added_finds_its_partition),
    HARNESS_TEST(partition_find_separators_are_in_their_own_partition),
    HARNESS_TEST(partition_find_keys_between_and_around),
    HARNESS_TEST(partition_find_one_partition),
    HARNESS_TEST(partition_find_no_added_key_is_ruled_out),
};
const harness_suite partition_find_suite = HARNESS_SUITE("partition_find", tests);
