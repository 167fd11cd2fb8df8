/*
 * record_rule_test.c: exercise record_rule, record_key, record_cache_get
 * and record_cache_put (stages/09-cache/record_cache/record_cache.c): the
 * record cache's key and its rule.  An entry is keyed by its table's id
 * and the user key, holds the newest version of that key in that table,
 * and answers a lookup only at or above its version's sequence number.
 */
#include <stdlib.h>
#include <string.h>

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
    record_cache *rc = rule_cache();
    rule_put(rc, 7, "apple", 100, "red", 0, 0);
    record r;
    EX_CHECK(rule_get(rc, 7, "apple", 100, &r), "a lookup at exactly the record's sequence "
             "number (100) is answered: the newest version at or below 100 is the record itself");
    EX_CHECK(r.seq == 100 && !r.deleted && !r.elsewhere && r.value_len == 3 &&
             r.value != NULL && memcmp(r.value, "red", 3) == 0,
             "the record comes back as it was put: seq 100, the value \"red\", neither "
             "deleted nor kept elsewhere");
    free(r.value);
    EX_CHECK(rule_get(rc, 7, "apple", 5000, &r), "a lookup at a later sequence number (5000) "
             "is answered: nothing newer is in that table");
    free(r.value);
    EX_CHECK(!rule_get(rc, 7, "pear", 5000, &r), "a key never put is a miss");
    record_cache_close(rc);
}

static void record_rule_an_older_snapshot_is_not_answered(void)
{
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
}

static void record_rule_tables_do_not_share_records(void)
{
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

static const harness_test tests[] = {
    HARNESS_TEST(record_rule_a_record_answers_at_and_above_its_version),
    HARNESS_TEST(record_rule_an_older_snapshot_is_not_answered),
    HARNESS_TEST(record_rule_tables_do_not_share_records),
    HARNESS_TEST(record_rule_tombstones_and_values_elsewhere_keep_their_flags),
    HARNESS_TEST(record_rule_a_put_replaces_the_record),
    HARNESS_TEST(record_rule_long_keys_are_kept_whole),
};
const harness_suite record_rule_suite = HARNESS_SUITE("record_rule", tests);
