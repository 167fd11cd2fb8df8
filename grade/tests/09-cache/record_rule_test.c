/*
 * record_rule_test.c: exercise record_rule, record_key, record_cache_get
 * and record_cache_put (stages/09-cache/record_cache/record_cache.c): the
 * record cache's key and its rule.  An entry is keyed by its table's id
 * and the user key, holds the newest version of that key in that table,
 * and answers a lookup only at or above its version's sequence number.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "exercise.h"
#include "kv.h"
#include "record_cache.h"

static record_cache *rule_cache(void)
{
    record_cache *rc = NULL;
    int s = record_cache_open(1 << 20, 4, &rc);
    EX_CHECK(s == KV_OK, "record_cache_open: %s", kv_strerror(s));
    return rc;
}

static void rule_put(record_cache *rc, uint64_t table, const char *key, uint64_t seq,
                     const char *value, int deleted, int elsewhere)
{
    record r = {.deleted = deleted, .elsewhere = elsewhere, .seq = seq,
                .value = (void *)value, .value_len = value ? strlen(value) : 0};
    int s = record_cache_put(rc, table, key, strlen(key), &r);
    EX_CHECK(s == KV_OK, "record_cache_put(table %llu, %s): %s", (unsigned long long)table, key,
             kv_strerror(s));
}

/* The lookup of key in table at seq: 1 with *out filled, or 0. */
static int rule_get(record_cache *rc, uint64_t table, const char *key, uint64_t seq, record *out)
{
    memset(out, 0, sizeof *out);
    int hit = -1;
    int s = record_cache_get(rc, table, key, strlen(key), seq, out, &hit);
    EX_CHECK(s == KV_OK, "record_cache_get(table %llu, %s, seq %llu): %s",
             (unsigned long long)table, key, (unsigned long long)seq, kv_strerror(s));
    EX_CHECK(hit == 0 || hit == 1, "record_cache_get sets *hit to 0 or 1 (got %d)", hit);
    return hit;
}

static void record_rule_a_record_answers_at_and_above_its_version(void)
{
    EX_RULE_BEGIN(3, "a record answers a lookup at or above its version");
    record_cache *rc = rule_cache();
    rule_put(rc, 7, "apple", 100, "red", 0, 0);
    record r;
    /* The first lookup of the track: a miss may come from any of the
     * three functions (the key built, the record put, the rule applied),
     * and the message names the three. */
    EX_CHECK(rule_get(rc, 7, "apple", 100, &r),
             EX_RULES("1, 2 and 3", "the record put found again under its key, and answered at "
                      "its version") "a lookup at exactly the record's sequence "
             "number (100) is answered: the newest version at or below 100 is the record itself "
             "(a miss: the get's key is not the put's, the put kept no record or one whose "
             "head says another version, or the get refused it)");
    EX_CHECK(r.seq == 100 && !r.deleted && !r.elsewhere && r.value_len == 3 &&
             r.value != NULL && memcmp(r.value, "red", 3) == 0,
             EX_RULES("2 and 3", "the record's head and value, as put and as answered")
             "the record comes back as it was put: seq 100, the value \"red\", neither "
             "deleted nor kept elsewhere (got seq %llu, %s%s, %zu bytes)",
             (unsigned long long)r.seq, r.deleted ? "deleted" : "not deleted",
             r.elsewhere ? ", elsewhere" : "", r.value_len);
    free(r.value);
    EX_CHECK(rule_get(rc, 7, "apple", 5000, &r), "a lookup at a later sequence number (5000) "
             "is answered: nothing newer is in that table");
    EX_CHECK(r.seq == 100, "a hit at sequence number 5000 reports the record's own version, "
             "100, not the lookup's sequence number (got %llu): a record is the version "
             "found, and the lookup passes its seq on as table.h's table_get_result.seq, \"the "
             "sequence number of the version found\"", (unsigned long long)r.seq);
    EX_CHECK(r.value_len == 3 && r.value != NULL && memcmp(r.value, "red", 3) == 0,
             "a hit at a later sequence number comes back as it was put: the value \"red\"");
    free(r.value);
    EX_CHECK(!rule_get(rc, 7, "pear", 5000, &r), "a key never put is a miss");
    record_cache_close(rc);
}

static void record_rule_an_older_snapshot_is_not_answered(void)
{
    EX_RULE_BEGIN(3, "a record newer than the lookup is bypassed");
    record_cache *rc = rule_cache();
    rule_put(rc, 7, "apple", 100, "red", 0, 0);
    record r;
    int hit = rule_get(rc, 7, "apple", 99, &r);
    if (hit)
        free(r.value);
    EX_CHECK(!hit, "a lookup at sequence number 99, an older snapshot than the record's "
             "version (100), must not take it: the table may hold an older version of apple "
             "for that snapshot, which only the table can find");
    record_counts k;
    record_cache_counts(rc, &k);
    EX_CHECK(k.bypassed == 1, "the lookup an older snapshot made is counted as bypassed (got "
             "%llu)", (unsigned long long)k.bypassed);
    record_cache_close(rc);
    /* What the test ends holding: the copy clock_cache_get handed out to
     * the bypassed get, unless it was freed. */
    EX_RULE_BEGIN(4, "what a get allocates is freed or handed out, a bypassed one's copy too");
}

static void record_rule_tables_do_not_share_records(void)
{
    EX_RULE_BEGIN(1, "the key is the table's id, then the user key");
    record_cache *rc = rule_cache();
    rule_put(rc, 7, "apple", 100, "red", 0, 0);
    record r;
    int hit = rule_get(rc, 8, "apple", 5000, &r);
    if (hit)
        free(r.value);
    EX_CHECK(!hit, "a record of table 7 must not answer a lookup in table 8: the key is the "
             "table's id and the user key, since another table (a compaction's output, say) "
             "may hold another version of the same key");
    rule_put(rc, 8, "apple", 300, "green", 0, 0);
    EX_CHECK(rule_get(rc, 7, "apple", 5000, &r) && r.seq == 100,
             "table 8's record of apple leaves table 7's as it was (got seq %llu)",
             (unsigned long long)r.seq);
    free(r.value);
    record_cache_close(rc);
}

static void record_rule_tombstones_and_values_elsewhere_keep_their_flags(void)
{
    EX_RULE_BEGIN(2, "the head's flags: a tombstone, a value elsewhere");
    record_cache *rc = rule_cache();
    rule_put(rc, 3, "gone", 40, NULL, 1, 0);
    rule_put(rc, 3, "big", 41, "\x01\x02where", 0, 1);
    record r;
    EX_CHECK(rule_get(rc, 3, "gone", 50, &r) && r.deleted && r.value_len == 0,
             "a tombstone comes back deleted, with no value: a get it answers says not found "
             "without asking an older table");
    free(r.value);
    EX_CHECK(rule_get(rc, 3, "big", 50, &r) && r.elsewhere && !r.deleted && r.value_len == 7 &&
             memcmp(r.value, "\x01\x02where", 7) == 0,
             "a value kept elsewhere comes back flagged elsewhere with its bytes (where the "
             "value is, not the value): read without the flag, they would be served as the "
             "value");
    free(r.value);
    record_cache_close(rc);
}

static void record_rule_a_put_replaces_the_record(void)
{
    EX_RULE_BEGIN(2, "a later put of the key replaces the record");
    record_cache *rc = rule_cache();
    rule_put(rc, 7, "apple", 100, "red", 0, 0);
    rule_put(rc, 7, "apple", 100, "ruby", 0, 0);
    record r;
    EX_CHECK(rule_get(rc, 7, "apple", 100, &r) && r.value_len == 4 &&
             memcmp(r.value, "ruby", 4) == 0, "a second put of the same (table, key) replaces "
             "the first");
    free(r.value);
    record_counts k;
    record_cache_counts(rc, &k);
    EX_CHECK(k.entries == 1, "one (table, key), one entry (got %llu)",
             (unsigned long long)k.entries);
    record_cache_close(rc);
}

static void record_rule_long_keys_are_kept_whole(void)
{
    EX_RULE_BEGIN(1, "a long user key kept whole");
    record_cache *rc = rule_cache();
    char a[600], b[600];
    memset(a, 'k', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof a);
    b[sizeof b - 2] = 'j'; /* differs in its last byte only */
    rule_put(rc, 9, a, 10, "long", 0, 0);
    record r;
    EX_CHECK(rule_get(rc, 9, a, 10, &r), "a 599-byte key is kept and found");
    free(r.value);
    int hit = rule_get(rc, 9, b, 10, &r);
    if (hit)
        free(r.value);
    EX_CHECK(!hit, "a key that differs from a kept one in its last byte is a miss: the whole "
             "user key is the entry's key");
    record_cache_close(rc);
}

static void record_rule_keys_of_every_length_are_kept_whole(void)
{
    EX_RULE_BEGIN(1, "a user key of every length kept whole");
    /* Around the length a key is built on the stack up to (a few hundred
     * bytes) and past it: each length its own key, all in one table. */
    record_cache *rc = rule_cache();
    char key[321], val[16];
    for (int n = 0; n <= 320; n++) {
        for (int i = 0; i < n; i++)
            key[i] = (char)('a' + (n + i) % 26);
        key[n] = '\0';
        snprintf(val, sizeof val, "len%d", n);
        char ctx[64];
        snprintf(ctx, sizeof ctx, "a put and a get of a %d-byte key", n);
        harness_context(ctx);
        rule_put(rc, 5, key, 10 + (uint64_t)n, val, 0, 0);
    }
    for (int n = 0; n <= 320; n++) {
        for (int i = 0; i < n; i++)
            key[i] = (char)('a' + (n + i) % 26);
        key[n] = '\0';
        snprintf(val, sizeof val, "len%d", n);
        char ctx[64];
        snprintf(ctx, sizeof ctx, "a get of a %d-byte key", n);
        harness_context(ctx);
        record r;
        int hit = rule_get(rc, 5, key, 10 + (uint64_t)n, &r);
        EX_CHECK(hit && r.seq == 10 + (uint64_t)n && r.value_len == strlen(val) &&
                     memcmp(r.value, val, r.value_len) == 0,
                 "the record of a %d-byte key comes back as it was put (hit %d): the entry's "
                 "key is the table's 8 bytes and the whole user key, built in a buffer that "
                 "holds both, on the stack or, past its size, on the heap", n, hit);
        free(r.value);
    }
    record_cache_close(rc);
}

static void record_rule_puts_and_gets_keep_no_memory(void)
{
    EX_RULE_BEGIN(4, "what a get or a put allocates is freed or handed out");
    /* One (table, key), replaced and asked for again and again: the cache
     * holds one entry, so the heap in use stays where it was. */
    record_cache *rc = rule_cache();
    char val[100];
    memset(val, 'v', sizeof val - 1);
    val[sizeof val - 1] = '\0';
    record r;
    rule_put(rc, 4, "k", 500, val, 0, 0);
    EX_CHECK(rule_get(rc, 4, "k", 500, &r), "a record is found at its version");
    free(r.value);
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < 30000; i++) {
        rule_put(rc, 4, "k", 500, val, 0, 0);
        EX_CHECK(!rule_get(rc, 4, "k", 499, &r), "an older snapshot is not answered");
        EX_CHECK(rule_get(rc, 4, "k", 500, &r), "a record is found at its version");
        free(r.value);
    }
    size_t after = mallinfo2().uordblks;
    EX_CHECK(after <= before + (1 << 20), "30,000 puts of one (table, key) and 60,000 gets "
             "(half of them bypassed) left %zu more bytes of the heap in use: the cache holds "
             "one entry, so a put frees the record it built once clock_cache_put has copied it, and "
             "a get frees the copy clock_cache_get handed out when it does not answer",
             after > before ? after - before : 0);
    record_cache_close(rc);
}

static void record_rule_a_put_that_cannot_allocate_keeps_no_memory(void)
{
    EX_RULE_BEGIN(4, "memory that runs out: KV_ERR_NOMEM, nothing kept");
    /* A 300-byte key, built on the heap, and a record whose value is too
     * large to allocate (2^62 bytes): the put fails with KV_ERR_NOMEM, and
     * frees the key it built before it returns. */
    record_cache *rc = rule_cache();
    char key[300];
    memset(key, 'k', sizeof key);
    char val[8] = "v";
    record r = {.seq = 7, .value = val, .value_len = (size_t)1 << 62};
    harness_context("record_cache_put of a 300-byte key and a record of 2^62 bytes");
    int s = EX_KV(record_cache_put(rc, 3, key, sizeof key, &r));
    EX_CHECK(s == KV_ERR_NOMEM, "a record too large to allocate is KV_ERR_NOMEM (got %s)",
             kv_strerror(s));
    EX_CHECK(ex_names_number(kv_errmsg(), 300 + ((unsigned long long)1 << 62)),
             "kv_errmsg() names the size of the record that could not be had: its key's and "
             "its value's bytes, 300 + 2^62 = %llu (got \"%s\")",
             300 + ((unsigned long long)1 << 62), kv_errmsg());
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < 20000; i++)
        record_cache_put(rc, 3, key, sizeof key, &r);
    size_t after = mallinfo2().uordblks;
    EX_CHECK(after <= before + (1 << 20), "20,000 puts that failed with KV_ERR_NOMEM left %zu "
             "more bytes of the heap in use: a put that cannot allocate its record frees the "
             "key it built on the heap (a key longer than RECORD_STACK_KEY) before it returns",
             after > before ? after - before : 0);
    record_cache_close(rc);
}

static void record_rule_a_get_that_cannot_copy_out_fails(void)
{
    EX_RULE_BEGIN(4, "a get that cannot copy out is KV_ERR_NOMEM, never a miss");
    /* The record is held, but copying it out for the caller needs memory
     * (clock_cache_get's copy): when that allocation fails, the lookup
     * fails with KV_ERR_NOMEM; it is no miss (a miss would send the get
     * on to the tables as if nothing were wrong, and count a bypass). */
    record_cache *rc = rule_cache();
    rule_put(rc, 7, "apple", 100, "red", 0, 0);
    record r;
    memset(&r, 0, sizeof r);
    int hit = -1;
    harness_context("record_cache_get of a record the cache holds, its first allocation "
                    "failing (the copy of the record for the caller)");
    ex_alloc_fail_at(1);
    int s = EX_KV(record_cache_get(rc, 7, "apple", 5, 100, &r, &hit));
    int failed = ex_alloc_failed();
    ex_alloc_fail_at(0);
    EX_CHECK(failed, "test setup: record_cache_get of a held record allocates its copy");
    EX_CHECK(s == KV_ERR_NOMEM && hit == 0,
             "a record that cannot be copied out (out of memory) is KV_ERR_NOMEM with *hit 0, "
             "not a miss answered KV_OK: the failure reaches the get (got %s, hit %d)",
             kv_strerror(s), hit);
    /* EX_KV cleared kv_errmsg() before the call: clock_cache_get sets no
     * message, so a bare return of its status leaves none, and the caller
     * would read what an earlier failure left there. */
    EX_CHECK(kv_errmsg()[0] != '\0', "a record that cannot be copied out is KV_ERR_NOMEM with "
             "a message of the get's own (kv_error(KV_ERR_NOMEM, ...)): clock_cache_get "
             "returned KV_ERR_NOMEM and sets none, and the get passed the status on without "
             "one, so kv_errmsg() says nothing, or what an earlier call left there");
    record_counts c;
    record_cache_counts(rc, &c);
    EX_CHECK(c.bypassed == 0, "a lookup that failed bypassed nothing: bypassed counts records "
             "newer than the lookup (got %llu)", (unsigned long long)c.bypassed);
    /* A key longer than RECORD_STACK_KEY (256 in the reference) is built
     * in memory of its own: when that allocation fails, the lookup fails
     * too. */
    char lk[1000];
    memset(lk, 'l', sizeof lk - 1);
    lk[sizeof lk - 1] = '\0';
    rule_put(rc, 7, lk, 100, "long", 0, 0);
    memset(&r, 0, sizeof r);
    hit = -1;
    harness_context("record_cache_get of a held record whose key (%zu bytes) is longer than "
                    "what the stack holds, its first allocation failing (the key's)",
                    sizeof lk - 1);
    ex_alloc_fail_at(1);
    s = EX_KV(record_cache_get(rc, 7, lk, sizeof lk - 1, 100, &r, &hit));
    failed = ex_alloc_failed();
    ex_alloc_fail_at(0);
    if (failed) { /* else the key was not allocated (a correct choice too) */
        EX_CHECK(s == KV_ERR_NOMEM && hit == 0,
                 "a lookup whose key cannot be allocated (out of memory) is KV_ERR_NOMEM with "
                 "*hit 0, never a miss and never a crash (got %s, hit %d)", kv_strerror(s), hit);
        EX_CHECK(kv_errmsg()[0] != '\0', "a lookup whose key cannot be allocated is "
                 "KV_ERR_NOMEM with a message saying so (kv_error(KV_ERR_NOMEM, ...)): it set "
                 "none, so kv_errmsg() says nothing, or what an earlier call left there");
    } else {
        free(r.value);
    }
    record_cache_close(rc);
}

static void record_rule_a_put_the_cache_cannot_keep_names_its_size(void)
{
    EX_RULE_BEGIN(4, "a record too large for the cache says its size");
    /* A record of 64 MiB (the value's bytes: pages of zeros, mapped by
     * the test), the process's memory capped so that record_cache_put's
     * own copy of it fits but clock_put's copy does not: the put fails
     * with KV_ERR_NOMEM, and its message names the record's size. */
    size_t vlen = (size_t)64 << 20;
    void *val = mmap(NULL, vlen, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    EX_CHECK(val != MAP_FAILED, "test setup: cannot map 64 MiB");
    record_cache *rc = rule_cache();
    record r = {.seq = 7, .value = val, .value_len = vlen};
    if (!ex_memory_cap(vlen + vlen / 2)) {
        record_cache_close(rc);
        munmap(val, vlen);
        return; /* a sanitizer's build: no cap, no failing allocation */
    }
    harness_context("record_cache_put of a 5-byte key and a 64 MiB value, the process's memory "
                    "capped 104 MiB above what it maps");
    int s = EX_KV(record_cache_put(rc, 3, "big-1", 5, &r));
    ex_memory_uncap();
    EX_CHECK(s == KV_ERR_NOMEM, "a record whose copy the cache cannot allocate is KV_ERR_NOMEM "
             "(got %s)", kv_strerror(s));
    EX_CHECK(ex_names_number(kv_errmsg(), 5 + (unsigned long long)vlen),
             "kv_errmsg() names the size of the record the cache could not keep: its key's and "
             "its value's bytes, 5 + 67108864 = 67108869 (got \"%s\")", kv_errmsg());
    record got;
    EX_CHECK(rule_get(rc, 3, "big-1", 7, &got) == 0,
             "a put that failed leaves no entry: a lookup of its key is a miss");
    record_cache_close(rc);
    munmap(val, vlen);
}

/* ---- readers and writers on other threads --------------------------------- */
/* The record cache is shared by every thread that reads the engine: two
 * writers put records of two tables, two readers ask for them, over four
 * shards too small for them all, some keys long enough to be keyed on the
 * heap.  Each (table, key) has one record, so every hit must be that
 * record; under ThreadSanitizer (the race rung) a key or record built in
 * memory another thread shares is a data race. */
enum { RECORD_RACE_OPS = 12000, RECORD_RACE_KEYS = 200 };
static struct {
    record_cache *rc;
    atomic_int wrong; /* 1 + the key of a hit that was not its record */
    atomic_int failed;
} record_race;

/* Key k of table t: short, or (k % 10 == 0) 300 bytes; its value and
 * sequence number. */
static void record_race_pair(int t, int k, char *key, size_t *klen, char *val, uint64_t *seq)
{
    int n = snprintf(key, 400, "t%d-key-%04d", t, k);
    if (k % 10 == 0) {
        memset(key + n, 'x', (size_t)(300 - n));
        n = 300;
    }
    *klen = (size_t)n;
    snprintf(val, 32, "v%d-%04d-----------", t, k);
    *seq = 1000 + (uint64_t)(t * RECORD_RACE_KEYS + k);
}

static void *record_race_thread(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    int writer = id < 2;
    uint64_t r = id * 104729u + 7;
    char key[400], val[32];
    size_t klen;
    uint64_t seq;
    for (int i = 0; i < RECORD_RACE_OPS; i++) {
        r = r * 6364136223846793005u + 1442695040888963407u;
        int k = (int)((r >> 33) % RECORD_RACE_KEYS), t = 7 + (int)((r >> 20) & 1);
        record_race_pair(t, k, key, &klen, val, &seq);
        if (writer && i % 2 == 0) {
            record rec = {.seq = seq, .value = val, .value_len = 16};
            if (record_cache_put(record_race.rc, (uint64_t)t, key, klen, &rec) != KV_OK)
                atomic_store(&record_race.failed, 1);
        } else {
            record out;
            memset(&out, 0, sizeof out);
            int hit = 0;
            if (record_cache_get(record_race.rc, (uint64_t)t, key, klen, UINT64_MAX >> 8, &out,
                                 &hit) != KV_OK)
                atomic_store(&record_race.failed, 1);
            else if (hit && (out.seq != seq || out.value_len != 16 ||
                             memcmp(out.value, val, 16) != 0 || out.deleted || out.elsewhere))
                atomic_store(&record_race.wrong, 1 + t * RECORD_RACE_KEYS + k);
            if (hit)
                free(out.value);
        }
    }
    return NULL;
}

static void record_rule_race_readers_and_writers(void)
{
    EX_RULE_BEGIN(1, "no key buffer shared between calls or threads");
    int s = record_cache_open(64 << 10, 4, &record_race.rc);
    EX_CHECK(s == KV_OK, "record_cache_open: %s", kv_strerror(s));
    atomic_store(&record_race.wrong, 0);
    atomic_store(&record_race.failed, 0);
    pthread_t t[4];
    for (unsigned i = 0; i < 4; i++)
        EX_CHECK(pthread_create(&t[i], NULL, record_race_thread, (void *)(uintptr_t)i) == 0,
                 "test setup: pthread_create");
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    int wrong = atomic_load(&record_race.wrong) - 1;
    EX_CHECK(wrong < 0, "with two writers and two readers on other threads, a lookup of key "
             "%d of table %d found another record than the one put for it: the key (table, "
             "user key) and the record are built in memory of the call's own (its stack, or "
             "an allocation), never in memory threads share", wrong % RECORD_RACE_KEYS,
             wrong / RECORD_RACE_KEYS);
    EX_CHECK(atomic_load(&record_race.failed) == 0, "a put or a get failed while other "
             "threads read and wrote (memory does not run out here)");
    record_cache_close(record_race.rc);
}

static const harness_test tests[] = {
    HARNESS_TEST(record_rule_a_record_answers_at_and_above_its_version),
    HARNESS_TEST(record_rule_an_older_snapshot_is_not_answered),
    HARNESS_TEST(record_rule_tables_do_not_share_records),
    HARNESS_TEST(record_rule_tombstones_and_values_elsewhere_keep_their_flags),
    HARNESS_TEST(record_rule_a_put_replaces_the_record),
    HARNESS_TEST(record_rule_long_keys_are_kept_whole),
    HARNESS_TEST(record_rule_keys_of_every_length_are_kept_whole),
    HARNESS_TEST(record_rule_puts_and_gets_keep_no_memory),
    HARNESS_TEST(record_rule_a_put_that_cannot_allocate_keeps_no_memory),
    HARNESS_TEST(record_rule_a_get_that_cannot_copy_out_fails),
    HARNESS_TEST(record_rule_a_put_the_cache_cannot_keep_names_its_size),
    HARNESS_TEST(record_rule_race_readers_and_writers),
};
const harness_suite record_rule_suite = HARNESS_SUITE("record_rule", tests);
