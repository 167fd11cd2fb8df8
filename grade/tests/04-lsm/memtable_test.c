/*
 * memtable_test.c: exercise memtable, memtable_cmp, memtable_add and
 * memtable_get (stages/04-lsm/memtable/memtable.c): entries in THE ORDER of
 * internal_key.h (user keys bytewise, a prefix first, then the newest
 * version first), laid out so that the memtable's iterator reads them
 * back, and a lookup that finds the newest version visible at a sequence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exercise.h"
#include "internal_key.h"
#include "iterator.h"
#include "kv.h"
#include "memtable.h"

static memtable *mt_new(void)
{
    memtable *m = NULL;
    EX_CHECK(memtable_new(1 << 20, &m) == KV_OK, "test setup: memtable_new");
    return m;
}

static void mt_add(memtable *m, uint64_t seq, ikey_type type, const void *k, size_t kl,
                   const char *v)
{
    harness_context("memtable_add(seq %llu, %s, a key of %zu bytes)", (unsigned long long)seq,
                    type == IKEY_PUT ? "put" : "delete", kl);
    int rc = memtable_add(m, seq, type, k, kl, v, v ? strlen(v) : 0);
    EX_CHECK(rc == KV_OK, EX_RULE(3, "an entry added") "memtable_add returns KV_OK (got %d)", rc);
}

/* Walks the memtable with its iterator and checks that every entry
 * follows the one before in THE ORDER; returns the count. */
static int mt_check_order(memtable *m, const char *what)
{
    iter *it = NULL;
    EX_CHECK(memtable_iter_new(m, &it) == KV_OK, "test setup: memtable_iter_new");
    uint8_t prev[400];
    size_t prev_len = 0;
    int n = 0;
    for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
        ikey_parsed k;
        EX_CHECK(ikey_decode(it->key, it->key + it->key_len, &k),
                 "%s: " EX_RULE(3, "the entry's layout") "entry %d's key is an internal key (user "
                 "key, then the 8-byte trailer "
                 "seq << 8 | type): lay the entry out as memtable.h says", what, n);
        if (n > 0) {
            ikey_parsed p;
            ikey_decode(prev, prev + prev_len, &p);
            int c = ikey_compare(prev, prev_len, it->key, it->key_len);
            EX_CHECK(c < 0 || ikey_user_compare(p.user_key, p.user_len, k.user_key,
                                                k.user_len) != 0,
                     "%s: " EX_RULE(2, "the trailers, newer first") "THE ORDER puts the newest "
                     "version first: of two versions of one "
                     "user key (%zu bytes), seq %llu comes before seq %llu", what, k.user_len,
                     (unsigned long long)(p.seq > k.seq ? p.seq : k.seq),
                     (unsigned long long)(p.seq > k.seq ? k.seq : p.seq));
            EX_CHECK(c < 0, "%s: " EX_RULE(1, "user keys bytewise, a prefix first") "entries come "
                     "in THE ORDER of internal_key.h: user keys "
                     "bytewise, a key before every longer key it is a prefix of (entry %d: "
                     "%zu-byte user key after a %zu-byte one)", what, n, k.user_len,
                     p.user_len);
        }
        EX_CHECK(it->key_len <= sizeof prev, "test keys are short");
        memcpy(prev, it->key, it->key_len);
        prev_len = it->key_len;
        n++;
    }
    iter_free(it);
    return n;
}

static void memtable_order_newest_version_first(void)
{
    memtable *m = mt_new();
    /* Versions of three keys added in scrambled sequence order. */
    static const uint64_t seqs[] = {7, 3, 12, 1, 9, 5, 11, 2, 8, 4, 10, 6};
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        const char *k = (const char *[]){"apple", "fig", "kiwi"}[seqs[i] % 3];
        mt_add(m, seqs[i], seqs[i] % 4 == 0 ? IKEY_DELETE : IKEY_PUT, k, strlen(k), "v");
    }
    EX_CHECK(mt_check_order(m, "12 versions of 3 keys") == 12, EX_RULE(3, "an entry added") "every entry added is there");
    memtable_unref(m);
}

static void memtable_order_bytewise_prefix_first(void)
{
    memtable *m = mt_new();
    /* Keys that differ at every place the fast path must handle: a
     * prefix, an 0xff byte, a difference after 8 and after 16 bytes,
     * user keys of 64 bytes and above (the general path), two-byte
     * lengths. */
    char keys[32][300];
    size_t lens[32];
    int n = 0;
    const char *shorts[] = {"a", "ab", "abc", "b", "\xff", "a\xff", "abcdefgh", "abcdefgi",
                            "abcdefghijklmnop", "abcdefghijklmnoq", "abcdefgh\x01"};
    for (size_t i = 0; i < sizeof shorts / sizeof shorts[0]; i++) {
        lens[n] = strlen(shorts[i]);
        memcpy(keys[n], shorts[i], lens[n] + 1);
        n++;
    }
    size_t longs[] = {63, 64, 65, 119, 120, 200, 290};
    for (size_t i = 0; i < sizeof longs / sizeof longs[0]; i++) {
        memset(keys[n], 'm', longs[i]);
        lens[n++] = longs[i];
        memset(keys[n], 'm', longs[i]);
        keys[n][longs[i] - 1] = 'n';
        lens[n++] = longs[i];
    }
    for (int i = n - 1; i >= 0; i--)
        mt_add(m, (uint64_t)(100 + i), IKEY_PUT, keys[i], lens[i], "x");
    for (int i = 0; i < n; i++)
        mt_add(m, (uint64_t)(200 + i), IKEY_DELETE, keys[i], lens[i], NULL);
    EX_CHECK(mt_check_order(m, "keys of 1 to 290 bytes") == 2 * n, EX_RULE(3, "an entry added") "every entry added is there");
    memtable_unref(m);
}

/* What a lookup of (key, seq) gives: IKEY_* and the value. */
static ikey_lookup_state mt_get(memtable *m, const char *key, uint64_t seq, char *val)
{
    ikey_lookup lk;
    EX_CHECK(ikey_lookup_init(&lk, key, strlen(key), seq) == KV_OK, "test setup");
    const uint8_t *v = NULL;
    size_t vl = 0;
    harness_context("memtable_get(%s at sequence %llu)", key, (unsigned long long)seq);
    ikey_lookup_state s = memtable_get(m, &lk, &v, &vl);
    ikey_lookup_free(&lk);
    if (s == IKEY_FOUND) {
        memcpy(val, v, vl);
        val[vl] = '\0';
    }
    return s;
}

static void memtable_get_newest_visible_version(void)
{
    memtable *m = mt_new();
    /* k: "a" at 5, deleted at 7, "b" at 9 (docs/04-lsm.md's example);
     * its neighbours j and l. */
    mt_add(m, 9, IKEY_PUT, "k", 1, "b");
    mt_add(m, 5, IKEY_PUT, "k", 1, "a");
    mt_add(m, 7, IKEY_DELETE, "k", 1, NULL);
    mt_add(m, 6, IKEY_PUT, "j", 1, "jj");
    mt_add(m, 8, IKEY_PUT, "l", 1, "ll");
    for (uint64_t s = 0; s <= 12; s++) {
        char v[16];
        ikey_lookup_state st = mt_get(m, "k", s, v);
        ikey_lookup_state want = s < 5 ? IKEY_ABSENT : s < 7 ? IKEY_FOUND
                                 : s < 9 ? IKEY_DELETED : IKEY_FOUND;
        EX_CHECK(st == want, EX_RULE(6, "the first entry at or after the lookup key") "the "
                 "newest version of k at or below sequence %llu decides: "
                 "put a at 5, delete at 7, put b at 9, so %s (got %d)",
                 (unsigned long long)s, want == IKEY_ABSENT ? "IKEY_ABSENT" : want ==
                 IKEY_FOUND ? "IKEY_FOUND" : "IKEY_DELETED", (int)st);
        if (st == IKEY_FOUND)
            EX_CHECK(strcmp(v, s < 7 ? "a" : "b") == 0, EX_RULE(6, "the first entry at or after "
                     "the lookup key") "at sequence %llu, k is \"%s\" (got "
                     "\"%s\")", (unsigned long long)s, s < 7 ? "a" : "b", v);
    }
    char v[16];
    EX_CHECK(mt_get(m, "j", 20, v) == IKEY_FOUND && strcmp(v, "jj") == 0, "j is jj");
    EX_CHECK(mt_get(m, "l", 20, v) == IKEY_FOUND && strcmp(v, "ll") == 0, "l is ll");
    /* A lookup key's type is the largest (IKEY_TYPE_FOR_SEEK): an entry of
     * that type at the lookup's own sequence is equal to it, and found. */
    harness_context("memtable_add(seq 13, IKEY_PUT_ELSEWHERE, \"m\")");
    EX_CHECK(memtable_add(m, 13, IKEY_PUT_ELSEWHERE, "m", 1, "ptr", 3) == KV_OK,
             "memtable_add of a value kept elsewhere returns KV_OK");
    EX_CHECK(mt_get(m, "m", 13, v) == IKEY_FOUND && strcmp(v, "ptr") == 0,
             EX_RULE(6, "IKEY_FOUND") "a lookup of m at sequence 13 finds the entry of m at 13 "
             "whose type is the "
             "lookup key's own (IKEY_PUT_ELSEWHERE): equal internal keys compare 0, and an "
             "entry equal to the lookup key is at or after it");
    memtable_unref(m);
}

static void memtable_get_another_key_is_absent(void)
{
    memtable *m = mt_new();
    mt_add(m, 1, IKEY_PUT, "ab", 2, "x");
    mt_add(m, 2, IKEY_PUT, "b", 1, "y");
    mt_add(m, 3, IKEY_DELETE, "c", 1, NULL);
    char v[16];
    EX_CHECK(mt_get(m, "a", 10, v) == IKEY_ABSENT,
             EX_RULE(7, "another user key: IKEY_ABSENT") "a lookup of \"a\" lands on \"ab\", "
             "another user key: the key is absent, not "
             "ab's value (compare the user keys of the entry found)");
    EX_CHECK(mt_get(m, "aa", 10, v) == IKEY_ABSENT, EX_RULE(7, "another user key: IKEY_ABSENT") "\"aa\": another user key follows: absent");
    EX_CHECK(mt_get(m, "bb", 10, v) == IKEY_ABSENT, EX_RULE(7, "another user key: IKEY_ABSENT") "\"bb\": lands on \"c\", another user key: "
             "absent, not deleted");
    EX_CHECK(mt_get(m, "d", 10, v) == IKEY_ABSENT, EX_RULE(7, "none: IKEY_ABSENT") "\"d\": "
             "after the last entry: absent");
    EX_CHECK(mt_get(m, "b", 1, v) == IKEY_ABSENT, EX_RULE(7, "another user key: IKEY_ABSENT") "\"b\" at sequence 1, before its only version "
             "(2): absent, not the next key's entry");
    EX_CHECK(mt_get(m, "c", 10, v) == IKEY_DELETED, EX_RULE(6, "a tombstone: IKEY_DELETED") "\"c\": its tombstone: IKEY_DELETED");
    memtable_unref(m);
}

static void memtable_add_entries_read_back(void)
{
    memtable *m = mt_new();
    size_t before = memtable_memory_usage(m);
    static char big[70000];
    memset(big, 'v', sizeof big - 1);
    char key300[301];
    memset(key300, 'q', 300);
    key300[300] = '\0';
    mt_add(m, 1, IKEY_PUT, "small", 5, "value");
    mt_add(m, 2, IKEY_PUT, "empty", 5, "");
    mt_add(m, 3, IKEY_DELETE, "gone", 4, "ignored");
    mt_add(m, 4, IKEY_PUT, "large", 5, big);
    mt_add(m, 5, IKEY_PUT, key300, 300, "long key");
    EX_CHECK(memtable_entries(m) == 5, EX_RULE(4, "the entry counted") "memtable_add counts its "
             "entries (%llu)",
             (unsigned long long)memtable_entries(m));
    EX_CHECK(memtable_memory_usage(m) >= before + sizeof big,
             EX_RULE(3, "the entry in a skiplist node") "M2: every entry is in the arena (usage "
             "%zu, before %zu)", memtable_memory_usage(m),
             before);
    iter *it = NULL;
    EX_CHECK(memtable_iter_new(m, &it) == KV_OK, "test setup: memtable_iter_new");
    struct { const char *k; size_t kl; uint64_t seq; ikey_type t; const char *v; size_t vl; }
    want[] = {{"empty", 5, 2, IKEY_PUT, "", 0}, {"gone", 4, 3, IKEY_DELETE, "", 0},
              {"large", 5, 4, IKEY_PUT, big, sizeof big - 1},
              {key300, 300, 5, IKEY_PUT, "long key", 8}, {"small", 5, 1, IKEY_PUT, "value", 5}};
    int i = 0;
    for (iter_seek_first(it); iter_valid(it) && i < 5; iter_next(it), i++) {
        ikey_parsed k;
        int ok = ikey_decode(it->key, it->key + it->key_len, &k);
        EX_CHECK(ok && k.user_len == want[i].kl && memcmp(k.user_key, want[i].k, k.user_len) == 0
                 && k.seq == want[i].seq && k.type == want[i].t,
                 "entry %d reads back as its user key, sequence %llu and type (the entry is "
                 "varint32 internal key length, user key, trailer, ...)", i,
                 (unsigned long long)want[i].seq);
        EX_CHECK(it->value_len == want[i].vl && memcmp(it->value, want[i].v, want[i].vl) == 0,
                 EX_RULE(3, "the entry's layout: no value for a tombstone") "entry %d's value "
                 "reads back (%zu bytes; a tombstone's is empty): the entry "
                 "ends with varint32 value length and the value", i, want[i].vl);
    }
    EX_CHECK(i == 5 && !iter_valid(it), EX_RULE(3, "an entry added") "the memtable holds the 5 "
             "entries added");
    iter_free(it);
    memtable_unref(m);
}

static void memtable_order_any_insertion_order(void)
{
    memtable *m = mt_new();
    /* 300 keys, most starting with a digit (a byte below any length byte
     * of the fast path), a quarter of them 47 bytes long and alike for
     * 44, added in a scrambled order: two keys differ in a byte, one
     * greater than the other, as often one way as the other. */
    enum { N = 300 };
    char keys[N][64];
    for (int i = 0; i < N; i++)
        snprintf(keys[i], sizeof keys[i], i % 4 == 0 ? "%d" : i % 4 == 1 ? "%dz" : i % 4 == 2 ?
                 "A%d" : "00000000000000000000000000000000000000000000%03d", i / 4);
    unsigned x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        int k = (int)((x >> 8) % N);
        mt_add(m, (uint64_t)(1 + i), IKEY_PUT, keys[k], strlen(keys[k]), keys[k]);
    }
    int n = mt_check_order(m, "300 keys added in a scrambled order");
    EX_CHECK(n == N, EX_RULE(1, "the order") "every entry added is there (%d of %d)", n, N);
    x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        int k = (int)((x >> 8) % N);
        char v[64];
        EX_CHECK(mt_get(m, keys[k], (uint64_t)N, v) == IKEY_FOUND && strcmp(v, keys[k]) == 0,
                 EX_RULE(1, "the order") "the comparison orders any two keys, whichever is "
                 "greater and whatever "
                 "their bytes: each key added is found (\"%s\")", keys[k]);
    }
    memtable_unref(m);
}

static void memtable_add_out_of_memory(void)
{
    memtable *m = mt_new();
    mt_add(m, 1, IKEY_PUT, "a", 1, "1");
    EX_CHECK(memtable_entries(m) == 1, EX_RULE(4, "the entry counted") "memtable_add counts "
             "the entry it added (%llu entries, want 1)", (unsigned long long)memtable_entries(m));
    /* A value larger than the arena's blocks gets a block of its own: the
     * allocation made for it is made to fail. */
    size_t big = 4 << 20;
    char *v = malloc(big);
    EX_CHECK(v != NULL, "out of memory");
    memset(v, 'v', big);
    if (!ex_alloc_fail_at(1)) {
        free(v);
        memtable_unref(m);
        return; /* a sanitizer's build: no failing allocation */
    }
    harness_context("memtable_add of a 4 MiB value whose node cannot be allocated");
    int rc = memtable_add(m, 2, IKEY_PUT, "b", 1, v, big);
    int failed = ex_alloc_failed();
    ex_alloc_fail_at(0);
    free(v);
    EX_CHECK(!failed || rc == KV_ERR_NOMEM,
             EX_RULE(5, "out of memory") "an entry whose node cannot be allocated is "
             "KV_ERR_NOMEM (got %d)", rc);
    EX_CHECK(!failed || memtable_entries(m) == 1,
             EX_RULE(5, "out of memory") "an entry that could not be added is not counted "
             "(%llu entries, want 1)", (unsigned long long)memtable_entries(m));
    char got[64];
    EX_CHECK(mt_get(m, "b", 10, got) == IKEY_ABSENT,
             EX_RULE(5, "out of memory") "an entry that could not be added is not there");
    memtable_unref(m);
}

static const harness_test memtable_tests[] = {
    HARNESS_TEST(memtable_order_newest_version_first),
    HARNESS_TEST(memtable_add_out_of_memory),
    HARNESS_TEST(memtable_order_bytewise_prefix_first),
    HARNESS_TEST(memtable_order_any_insertion_order),
    HARNESS_TEST(memtable_get_newest_visible_version),
    HARNESS_TEST(memtable_get_another_key_is_absent),
    HARNESS_TEST(memtable_add_entries_read_back),
};
const harness_suite memtable_suite = HARNESS_SUITE("memtable", memtable_tests);
