/*
 * memtable_test.c: versions, tombstones and snapshots in the memtable, its
 * iterator over internal keys, its exact byte count, and its references
 * (memtable.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "internal_key.h"
#include "kv.h"
#include "memtable.h"

#define S(x) (x), strlen(x)

/* The state of a lookup of `key` at `seq`; the value goes to *val. */
static ikey_lookup_state get_at(memtable *m, const char *key, uint64_t seq, const char **val,
                                size_t *vlen)
{
    ikey_lookup lk;
    CHECK_KV(ikey_lookup_init(&lk, key, strlen(key), seq), KV_OK);
    const uint8_t *v = NULL;
    ikey_lookup_state st = memtable_get(m, &lk, &v, vlen);
    ikey_lookup_free(&lk);
    *val = (const char *)v;
    return st;
}

/* The same with an explicit key length (keys with NUL bytes). */
static ikey_lookup_state get_n(memtable *m, const char *key, size_t klen, uint64_t seq)
{
    ikey_lookup lk;
    CHECK_KV(ikey_lookup_init(&lk, key, klen, seq), KV_OK);
    const uint8_t *v;
    size_t vl;
    ikey_lookup_state st = memtable_get(m, &lk, &v, &vl);
    ikey_lookup_free(&lk);
    return st;
}

#define EXPECT_VALUE(m, key, seq, want)                                      \
    do {                                                                     \
        const char *v_;                                                      \
        size_t vl_;                                                          \
        CHECK_EQ(get_at((m), (key), (seq), &v_, &vl_), IKEY_FOUND);          \
        CHECK_MEM(v_, vl_, (want), strlen(want));                            \
    } while (0)

static void get_sees_newest_version_at_or_below_the_sequence(void)
{
    memtable *m;
    CHECK_KV(memtable_new(1 << 20, &m), KV_OK);
    CHECK_KV(memtable_add(m, 1, IKEY_PUT, S("k"), S("one")), KV_OK);
    CHECK_KV(memtable_add(m, 2, IKEY_PUT, S("other"), S("x")), KV_OK);
    CHECK_KV(memtable_add(m, 3, IKEY_PUT, S("k"), S("three")), KV_OK);
    CHECK_KV(memtable_add(m, 5, IKEY_DELETE, S("k"), NULL, 0), KV_OK);
    CHECK_KV(memtable_add(m, 7, IKEY_PUT, S("k"), S("seven")), KV_OK);
    const char *v;
    size_t vl;
    CHECK_EQ(get_at(m, "k", 0, &v, &vl), IKEY_ABSENT);
    EXPECT_VALUE(m, "k", 1, "one");
    EXPECT_VALUE(m, "k", 2, "one");
    EXPECT_VALUE(m, "k", 4, "three");
    CHECK_EQ(get_at(m, "k", 5, &v, &vl), IKEY_DELETED);
    CHECK_EQ(get_at(m, "k", 6, &v, &vl), IKEY_DELETED);
    EXPECT_VALUE(m, "k", 7, "seven");
    EXPECT_VALUE(m, "k", IKEY_MAX_SEQ, "seven");
    /* Neighbours and prefixes are other keys. */
    CHECK_EQ(get_at(m, "j", IKEY_MAX_SEQ, &v, &vl), IKEY_ABSENT);
    CHECK_EQ(get_n(m, "k\x00", 2, IKEY_MAX_SEQ), IKEY_ABSENT);
    CHECK_EQ(get_n(m, "\x00", 1, IKEY_MAX_SEQ), IKEY_ABSENT);
    CHECK_EQ(get_at(m, "kk", IKEY_MAX_SEQ, &v, &vl), IKEY_ABSENT);
    CHECK_EQ(get_at(m, "othe", IKEY_MAX_SEQ, &v, &vl), IKEY_ABSENT);
    EXPECT_VALUE(m, "other", 2, "x");
    CHECK_EQ(get_at(m, "other", 1, &v, &vl), IKEY_ABSENT);
    CHECK_EQ(memtable_entries(m), 5);
    memtable_unref(m);
}

static void empty_value_and_largest_key_and_value(void)
{
    memtable *m;
    CHECK_KV(memtable_new(4096, &m), KV_OK);
    char *key = malloc(KV_MAX_KEY);
    uint8_t *val = malloc(KV_MAX_VALUE);
    CHECK(key != NULL && val != NULL);
    memset(key, 0xfe, KV_MAX_KEY);
    for (size_t i = 0; i < KV_MAX_VALUE; i += 4096)
        val[i] = (uint8_t)(i >> 12);
    CHECK_KV(memtable_add(m, 1, IKEY_PUT, key, KV_MAX_KEY, val, KV_MAX_VALUE), KV_OK);
    CHECK_KV(memtable_add(m, 2, IKEY_PUT, S("empty"), "", 0), KV_OK);
    ikey_lookup lk;
    CHECK_KV(ikey_lookup_init(&lk, key, KV_MAX_KEY, 9), KV_OK);
    const uint8_t *v;
    size_t vl;
    CHECK_EQ(memtable_get(m, &lk, &v, &vl), IKEY_FOUND);
    CHECK_EQ(vl, KV_MAX_VALUE);
    CHECK(memcmp(v, val, KV_MAX_VALUE) == 0);
    ikey_lookup_free(&lk);
    const char *e;
    CHECK_EQ(get_at(m, "empty", 2, &e, &vl), IKEY_FOUND);
    CHECK_EQ(vl, 0);
    CHECK(memtable_memory_usage(m) > KV_MAX_VALUE + KV_MAX_KEY);
    free(key);
    free(val);
    memtable_unref(m);
}

static void iterator_yields_internal_keys_in_order_both_ways(void)
{
    memtable *m;
    CHECK_KV(memtable_new(1 << 16, &m), KV_OK);
    CHECK_KV(memtable_add(m, 4, IKEY_PUT, S("b"), S("b4")), KV_OK);
    CHECK_KV(memtable_add(m, 1, IKEY_PUT, S("a"), S("a1")), KV_OK);
    CHECK_KV(memtable_add(m, 6, IKEY_DELETE, S("b"), NULL, 0), KV_OK);
    CHECK_KV(memtable_add(m, 2, IKEY_PUT, S("c"), S("c2")), KV_OK);
    /* Internal order: a@1, b@6 (delete), b@4, c@2. */
    static const struct { const char *k; uint64_t seq; ikey_type t; const char *v; } want[] = {
        {"a", 1, IKEY_PUT, "a1"}, {"b", 6, IKEY_DELETE, ""}, {"b", 4, IKEY_PUT, "b4"},
        {"c", 2, IKEY_PUT, "c2"},
    };
    iter *it;
    CHECK_KV(memtable_iter_new(m, &it), KV_OK);
    memtable_unref(m); /* the iterator's reference keeps it alive */
    CHECK(!iter_valid(it));
    size_t i = 0;
    for (iter_seek_first(it); iter_valid(it); iter_next(it), i++) {
        ikey_parsed k;
        CHECK(ikey_decode(it->key, it->key + it->key_len, &k));
        CHECK_MEM(k.user_key, k.user_len, want[i].k, 1);
        CHECK_EQ(k.seq, want[i].seq);
        CHECK_EQ(k.type, want[i].t);
        CHECK_MEM(it->value, it->value_len, want[i].v, strlen(want[i].v));
    }
    CHECK_EQ(i, 4);
    for (iter_seek_last(it); iter_valid(it); iter_prev(it))
        CHECK_EQ(ikey_seq(it->key, it->key_len), want[--i].seq);
    CHECK_EQ(i, 0);
    /* seek: the first internal key >= (b, 5): b@4. */
    uint8_t t[9];
    ikey_encode(t, "b", 1, 5, IKEY_TYPE_FOR_SEEK);
    iter_seek(it, t, 9);
    CHECK(iter_valid(it));
    CHECK_EQ(ikey_seq(it->key, it->key_len), 4);
    ikey_encode(t, "d", 1, 5, IKEY_TYPE_FOR_SEEK);
    iter_seek(it, t, 9);
    CHECK(!iter_valid(it));
    CHECK_KV(iter_status(it), KV_OK);
    iter_free(it);
}

/* The skiplist's comparison is written out for speed (memtable.c): its
 * order must be ikey_compare's for every key length (below, at and above 8
 * and its multiples; above the 64 bytes where it hands over to the general
 * comparison; internal keys of 128 bytes and more, whose lengths take two
 * bytes), for bytes that differ only in their top bit, for keys that are
 * prefixes of others, and for versions of one key. */
static void order_is_ikey_compare_for_keys_of_every_length(void)
{
    static const uint8_t alphabet[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    memtable *m;
    CHECK_KV(memtable_new(1 << 20, &m), KV_OK);
    uint64_t rnd = 12345, seq = 0;
    uint8_t key[130];
    for (int i = 0; i < 3000; i++) {
        rnd = rnd * 6364136223846793005u + 1442695040888963407u;
        size_t len = 1 + (size_t)(rnd >> 33) % sizeof key;
        /* A long run of one byte, then a few others: many shared prefixes. */
        size_t run = (size_t)(rnd >> 20) % (len + 1);
        for (size_t j = 0; j < len; j++)
            key[j] = j < run ? 0x80 : alphabet[(rnd >> (j % 50)) % sizeof alphabet];
        ikey_type t = (rnd >> 7) & 1 ? IKEY_PUT : IKEY_DELETE;
        CHECK_KV(memtable_add(m, ++seq, t, key, len, "v", 1), KV_OK);
        if ((rnd >> 9) % 4 == 0) /* another version of the same key */
            CHECK_KV(memtable_add(m, ++seq, IKEY_PUT, key, len, "w", 1), KV_OK);
    }
    iter *it;
    CHECK_KV(memtable_iter_new(m, &it), KV_OK);
    uint8_t prev[sizeof key + IKEY_TRAILER_SIZE];
    size_t prev_len = 0;
    uint64_t n = 0;
    for (iter_seek_first(it); iter_valid(it); iter_next(it), n++) {
        if (n > 0)
            CHECK(ikey_compare(prev, prev_len, it->key, it->key_len) < 0);
        memcpy(prev, it->key, it->key_len);
        prev_len = it->key_len;
    }
    CHECK_EQ(n, seq);
    iter_free(it);
    memtable_unref(m);
}

static void seek_with_a_key_longer_than_any_buffer(void)
{
    memtable *m;
    CHECK_KV(memtable_new(1 << 16, &m), KV_OK);
    CHECK_KV(memtable_add(m, 1, IKEY_PUT, S("zz"), S("v")), KV_OK);
    size_t n = KV_MAX_KEY + 8;
    uint8_t *t = malloc(n);
    CHECK(t != NULL);
    memset(t, 'z', n);
    ikey_encode(t, t, KV_MAX_KEY, 1, IKEY_PUT);
    iter *it;
    CHECK_KV(memtable_iter_new(m, &it), KV_OK);
    iter_seek(it, t, n);
    CHECK(!iter_valid(it));
    t[1] = 'a'; /* "za..." < "zz" */
    iter_seek(it, t, n);
    CHECK(iter_valid(it));
    iter_free(it);
    free(t);
    memtable_unref(m);
}

static void memory_usage_is_the_arena_and_grows_with_entries(void)
{
    memtable *m;
    CHECK_KV(memtable_new(64 * 1024, &m), KV_OK);
    size_t empty = memtable_memory_usage(m);
    /* The skiplist's head is in the first block: 4 KiB and its header. */
    CHECK(empty > 4096 && empty <= 4096 + 64);
    char key[16], val[100];
    memset(val, 'v', sizeof val);
    size_t last = empty;
    int grew = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "key%06d", i);
        CHECK_KV(memtable_add(m, (uint64_t)i + 1, IKEY_PUT, key, strlen(key), val, sizeof val),
                 KV_OK);
        size_t now = memtable_memory_usage(m);
        CHECK(now >= last);
        /* It grows by whole arena blocks (4 KiB for a 64 KiB memtable),
         * each costing what the first one did. */
        if (now != last) {
            CHECK_EQ(now - last, empty);
            grew++;
        }
        last = now;
    }
    /* 2000 entries of 120 bytes (plus links) need at least 240 KB. */
    CHECK(last >= 2000 * 120);
    CHECK(grew > 50);
    memtable_unref(m);
}

/* One writer adds while readers look up and scan (run under
 * ThreadSanitizer too): a reader at the writer's published sequence sees
 * every entry up to it, with its value whole. */
enum { SHARED_KEYS = 3000, SHARED_READERS = 3 };

typedef struct shared {
    memtable *m;
    atomic_uint_least64_t published; /* entries 1..published are in */
    atomic_int done;
} shared;

typedef struct shared_reader {
    shared *s;
    long wrong, rounds;
} shared_reader;

static void shared_value(char *buf, uint64_t seq)
{
    snprintf(buf, 32, "value-%08llu", (unsigned long long)seq);
}

static void *shared_reader_main(void *p)
{
    shared_reader *r = p;
    memtable *m = r->s->m;
    while (!atomic_load_explicit(&r->s->done, memory_order_acquire) || r->rounds < 2) {
        uint64_t seen = atomic_load_explicit(&r->s->published, memory_order_acquire);
        for (uint64_t seq = 1; seq <= seen; seq += 1 + seen / 64) {
            char key[32], want[32];
            snprintf(key, sizeof key, "k%06llu", (unsigned long long)(seq * 7919 % SHARED_KEYS));
            shared_value(want, seq);
            ikey_lookup lk;
            if (ikey_lookup_init(&lk, key, strlen(key), seq) != KV_OK) {
                r->wrong++;
                continue;
            }
            const uint8_t *v;
            size_t vl;
            /* Each key is written once, at its own sequence. */
            if (memtable_get(m, &lk, &v, &vl) != IKEY_FOUND || vl != strlen(want) ||
                memcmp(v, want, vl) != 0)
                r->wrong++;
            ikey_lookup_free(&lk);
        }
        iter *it;
        if (memtable_iter_new(m, &it) != KV_OK) {
            r->wrong++;
            break;
        }
        uint64_t n = 0;
        for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
            char want[32];
            shared_value(want, ikey_seq(it->key, it->key_len));
            if (it->value_len != strlen(want) || memcmp(it->value, want, it->value_len) != 0)
                r->wrong++;
            n++;
        }
        if (n < seen)
            r->wrong++;
        iter_free(it);
        r->rounds++;
    }
    return NULL;
}

static void one_writer_and_readers_share_a_memtable(void)
{
    shared s;
    CHECK_KV(memtable_new(1 << 20, &s.m), KV_OK);
    atomic_init(&s.published, 0);
    atomic_init(&s.done, 0);
    pthread_t th[SHARED_READERS];
    shared_reader r[SHARED_READERS];
    for (int i = 0; i < SHARED_READERS; i++) {
        r[i] = (shared_reader){.s = &s};
        CHECK(pthread_create(&th[i], NULL, shared_reader_main, &r[i]) == 0);
    }
    int rc = KV_OK;
    for (uint64_t seq = 1; seq <= SHARED_KEYS && rc == KV_OK; seq++) {
        char key[32], val[32];
        snprintf(key, sizeof key, "k%06llu", (unsigned long long)(seq * 7919 % SHARED_KEYS));
        shared_value(val, seq);
        rc = memtable_add(s.m, seq, IKEY_PUT, key, strlen(key), val, strlen(val));
        atomic_store_explicit(&s.published, seq, memory_order_release);
    }
    atomic_store_explicit(&s.done, 1, memory_order_release);
    long wrong = 0;
    for (int i = 0; i < SHARED_READERS; i++) {
        pthread_join(th[i], NULL);
        wrong += r[i].wrong;
    }
    CHECK_KV(rc, KV_OK);
    CHECK_EQ(wrong, 0);
    CHECK_EQ(memtable_entries(s.m), SHARED_KEYS);
    memtable_unref(s.m);
}

static const harness_test memtable_tests[] = {
    HARNESS_TEST(get_sees_newest_version_at_or_below_the_sequence),
    HARNESS_TEST(empty_value_and_largest_key_and_value),
    HARNESS_TEST(iterator_yields_internal_keys_in_order_both_ways),
    HARNESS_TEST(order_is_ikey_compare_for_keys_of_every_length),
    HARNESS_TEST(seek_with_a_key_longer_than_any_buffer),
    HARNESS_TEST(memory_usage_is_the_arena_and_grows_with_entries),
    HARNESS_TEST(one_writer_and_readers_share_a_memtable),
};
const harness_suite memtable_suite = HARNESS_SUITE("memtable", memtable_tests);
