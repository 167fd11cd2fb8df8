/*
 * record_cache_test.c: the record cache (record_cache.h): R2's rule at
 * every sequence around an entry's; tombstones and values kept elsewhere;
 * keys of two tables apart; the budget; threads putting and getting the
 * newest versions of shared keys while each checks what it reads against
 * what was put (run under ThreadSanitizer by the race build).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "kv.h"
#include "record_cache.h"

static record put_record(uint64_t seq, const char *value)
{
    record r = {0};
    r.seq = seq;
    r.deleted = value == NULL;
    r.value = (void *)value;
    r.value_len = value == NULL ? 0 : strlen(value);
    return r;
}

/* R2: an entry of sequence e answers lookups at e and above, none below. */
static void an_entry_answers_lookups_at_or_above_its_sequence(void)
{
    record_cache *rc;
    CHECK_KV(record_cache_open(1 << 20, 4, &rc), KV_OK);
    record v = put_record(100, "red");
    CHECK_KV(record_cache_put(rc, 7, "apple", 5, &v), KV_OK);
    const uint64_t seqs[] = {0, 1, 99, 100, 101, 5000, UINT64_MAX >> 8};
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        harness_context("lookup at sequence %llu", (unsigned long long)seqs[i]);
        record got = {0};
        int hit = -1;
        CHECK_KV(record_cache_get(rc, 7, "apple", 5, seqs[i], &got, &hit), KV_OK);
        CHECK_MSG(hit == (seqs[i] >= 100), "R2: the record of version 100 answers a lookup at "
                  "sequence %llu %s (hit %d)", (unsigned long long)seqs[i],
                  seqs[i] >= 100 ? "(at or above its version)" : "never (an older snapshot: "
                  "the table may hold another version for it)", hit);
        if (hit) {
            CHECK_MSG(got.seq == 100 && !got.deleted && !got.elsewhere, "a hit is the record as "
                      "put: its own version 100, not the lookup's (got %llu), neither deleted "
                      "nor elsewhere", (unsigned long long)got.seq);
            CHECK_MSG(got.value_len == 3 && memcmp(got.value, "red", 3) == 0, "a hit's value is "
                      "the record's, \"red\" (got %zu bytes)", got.value_len);
            free(got.value);
        }
    }
    record_counts n;
    record_cache_counts(rc, &n);
    CHECK_MSG(n.hits == 4 && n.bypassed == 3 && n.misses == 0 && n.entries == 1,
              "four lookups at or above version 100 hit, three below it are bypassed, none "
              "missed (got %llu hits, %llu bypassed, %llu misses, %llu entries)",
              (unsigned long long)n.hits, (unsigned long long)n.bypassed,
              (unsigned long long)n.misses, (unsigned long long)n.entries);
    record_cache_close(rc);
}

static void tables_and_keys_are_apart_and_tombstones_kept(void)
{
    record_cache *rc;
    CHECK_KV(record_cache_open(1 << 20, 1, &rc), KV_OK);
    record gone = put_record(9, NULL), far = put_record(8, "where");
    far.elsewhere = 1;
    CHECK_KV(record_cache_put(rc, 1, "k", 1, &gone), KV_OK);
    CHECK_KV(record_cache_put(rc, 2, "k", 1, &far), KV_OK);
    record got = {0};
    int hit;
    CHECK_KV(record_cache_get(rc, 1, "k", 1, 50, &got, &hit), KV_OK);
    CHECK_MSG(hit && got.deleted && got.value_len == 0 && got.value != NULL, "a tombstone "
              "comes back deleted, with an empty value that is not NULL (record_cache.h)");
    free(got.value);
    CHECK_KV(record_cache_get(rc, 2, "k", 1, 50, &got, &hit), KV_OK);
    CHECK_MSG(hit && !got.deleted && got.elsewhere && got.value_len == 5, "a value kept "
              "elsewhere comes back flagged elsewhere, with its 5 bytes (where it is)");
    free(got.value);
    /* Another table, another key, a prefix of the key: misses. */
    CHECK_KV(record_cache_get(rc, 3, "k", 1, 50, &got, &hit), KV_OK);
    CHECK_MSG(!hit, "table 3 holds no record of k: an entry is keyed by its table's id and "
              "the user key, so tables 1's and 2's records do not answer it");
    CHECK_KV(record_cache_get(rc, 1, "kk", 2, 50, &got, &hit), KV_OK);
    CHECK_MSG(!hit, "kk is not k: the whole user key is the entry's key");
    CHECK_KV(record_cache_get(rc, 1, "", 0, 50, &got, &hit), KV_OK);
    CHECK_MSG(!hit, "the empty key is not k: the whole user key is the entry's key");
    /* A key longer than the stack's buffer. */
    char big[1000];
    memset(big, 'b', sizeof big);
    CHECK_KV(record_cache_put(rc, 1, big, sizeof big, &far), KV_OK);
    CHECK_KV(record_cache_get(rc, 1, big, sizeof big, 8, &got, &hit), KV_OK);
    CHECK_MSG(hit && got.value_len == 5, "a 1000-byte key, longer than the stack's buffer, is "
              "kept whole and found");
    free(got.value);
    record_cache_close(rc);
}

static void the_budget_holds(void)
{
    record_cache *rc;
    CHECK_KV(record_cache_open(64 * 1024, 2, &rc), KV_OK);
    char value[200];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    for (int i = 0; i < 5000; i++) {
        char key[16];
        int n = snprintf(key, sizeof key, "key%05d", i);
        record v = put_record((uint64_t)i + 1, value);
        CHECK_KV(record_cache_put(rc, 1, key, (size_t)n, &v), KV_OK);
    }
    record_counts c;
    record_cache_counts(rc, &c);
    CHECK_MSG(c.bytes <= 64 * 1024 && c.evictions > 0 && c.entries > 0, "R3: 5000 records "
              "in a cache of 64 KiB: at most the budget held, by evicting (got %llu bytes, %llu "
              "evictions, %llu entries)", (unsigned long long)c.bytes,
              (unsigned long long)c.evictions, (unsigned long long)c.entries);
    record_cache_close(rc);
}

/* Threads share 64 keys of table 1; key i's newest version is always
 * sequence i + 1 with value "v<i>" (a table never changes: every put of
 * a key puts the same).  Every hit must be exactly that. */
typedef struct racer {
    record_cache *rc;
    unsigned seed;
    long hits, wrong;
} racer;

static void *racer_run(void *arg)
{
    racer *r = arg;
    for (int n = 0; n < 20000; n++) {
        r->seed = r->seed * 1103515245u + 12345u;
        int i = (int)((r->seed >> 16) % 64);
        char key[16], want[16];
        int kn = snprintf(key, sizeof key, "key%02d", i);
        snprintf(want, sizeof want, "v%d", i);
        record got = {0};
        int hit;
        if (record_cache_get(r->rc, 1, key, (size_t)kn, 1000, &got, &hit) != KV_OK)
            continue;
        if (hit) {
            r->hits++;
            r->wrong += got.seq != (uint64_t)i + 1 || got.value_len != strlen(want) ||
                        memcmp(got.value, want, got.value_len) != 0;
            free(got.value);
        } else {
            record v = put_record((uint64_t)i + 1, want);
            record_cache_put(r->rc, 1, key, (size_t)kn, &v);
        }
    }
    return NULL;
}

static void threads_read_only_what_was_put(void)
{
    record_cache *rc;
    CHECK_KV(record_cache_open(4096, 4, &rc), KV_OK); /* small: evictions too */
    racer rs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        rs[i] = (racer){.rc = rc, .seed = 17u * (unsigned)i + 1};
        CHECK(pthread_create(&th[i], NULL, racer_run, &rs[i]) == 0);
    }
    long hits = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_MSG(rs[i].wrong == 0, "thread %d read %ld records that were not the ones put for "
                  "their keys, while other threads put and read: a key and a record are "
                  "built in the call's own memory, the shards changed under their locks", i,
                  (long)rs[i].wrong);
        hits += rs[i].hits;
    }
    CHECK_MSG(hits > 0, "the threads' lookups of records put found some");
    record_cache_close(rc);
}

static const harness_test tests[] = {
    HARNESS_TEST(an_entry_answers_lookups_at_or_above_its_sequence),
    HARNESS_TEST(tables_and_keys_are_apart_and_tombstones_kept),
    HARNESS_TEST(the_budget_holds),
    HARNESS_TEST(threads_read_only_what_was_put),
};
const harness_suite record_cache_suite = HARNESS_SUITE("record_cache", tests);
