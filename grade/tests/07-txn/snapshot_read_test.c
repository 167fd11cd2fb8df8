/*
 * snapshot_read_test.c: exercise snapshot_read, kv_txn_get (common/txn.c):
 * a transaction reads its own writes first (a put's value, a delete's
 * absence), and otherwise the database as it was when it began, whatever
 * was written since, even once a flush or a compaction moved it; under
 * KV_TXN_SERIALIZABLE the key read is remembered for the commit's check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ex_txn.h"
#include "exercise.h"
#include "txn.h"
#include "kv.h"

/* kv_txn_get(k) must answer want (NULL: KV_NOT_FOUND). */
static void sr_expect(kv_txn *t, const char *k, const char *want, const char *rule)
{
    void *v = NULL;
    size_t vl = 0;
    harness_context("kv_txn_get(%s): %s", k, rule);
    int rc = EX_KV(kv_txn_get(t, k, strlen(k), &v, &vl));
    if (want == NULL) {
        if (rc == KV_OK)
            kv_free(v);
        EX_CHECK(rc == KV_NOT_FOUND, "%s: kv_txn_get(%s) returns KV_NOT_FOUND, got %d (%s)",
                 rule, k, rc, rc == KV_OK ? "a value" : ex_errmsg(rc));
        return;
    }
    EX_CHECK(rc == KV_OK, "%s: kv_txn_get(%s) returns KV_OK, got %d (%s)", rule, k, rc,
             ex_errmsg(rc));
    EX_CHECK(v != NULL, "%s: " EX_RULE(2, "a copy, never NULL") "kv_txn_get(%s) answers KV_OK with "
             "*val pointing at a copy of the value, never NULL, even for an empty value", rule,
             k);
    char shown[64];
    snprintf(shown, sizeof shown, "%.*s", (int)(vl < 40 ? vl : 40), (const char *)v);
    int same = vl == strlen(want) && memcmp(v, want, vl) == 0;
    kv_free(v);
    EX_CHECK(same, "%s: kv_txn_get(%s) is \"%s\", want \"%s\"", rule, k, shown, want);
}

static void snapshot_read_sees_the_database_as_it_began(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "a", "old", "put a");
    ex_put(db, "gone", "here", "put gone");
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_put(db, "a", "new", "another writer's put of a, after the transaction began");
    ex_put(db, "late", "new", "and of a key that did not exist");
    ex_delete(db, "gone");
    sr_expect(t, "a", "old", EX_RULE(4, "read at the snapshot") "the transaction reads a as it "
              "was when it began");
    sr_expect(t, "late", NULL, EX_RULE(4, "read at the snapshot") "a key put after the "
              "transaction began is not there for it");
    sr_expect(t, "gone", "here", EX_RULE(4, "read at the snapshot") "a key deleted after the "
              "transaction began is still there "
              "for it");
    ex_fill_others(db, 300);
    harness_context("kv_compact");
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "kv_compact returns KV_OK (%s)", ex_kv_errmsg());
    sr_expect(t, "a", "old", EX_RULE(4, "read at the snapshot") "after flushes and a "
              "compaction, the transaction still reads a's "
              "version of its snapshot (kept for it: the watermark)");
    sr_expect(t, "gone", "here", EX_RULE(4, "read at the snapshot") "after a compaction too, "
              "the deleted key is still there for it");
    kv_txn_abort(t);
    kv_close(db);
}

static void snapshot_read_own_writes_first(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "a", "old", "put a");
    ex_put(db, "b", "old", "put b");
    ex_put(db, "ab", "theirs", "put ab");
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_txn_put(t, "a", "mine");
    sr_expect(t, "a", "mine", EX_RULE(2, "its own write answers") "the transaction's own put "
              "answers before its snapshot");
    int rc = EX_KV(kv_txn_delete(t, "b", 1));
    EX_CHECK(rc == KV_OK, "kv_txn_delete(b) (%d: %s)", rc, ex_errmsg(rc));
    sr_expect(t, "b", NULL, EX_RULE(2, "its own write answers") "the transaction's own delete "
              "answers: b is gone for it");
    ex_txn_put(t, "c", "");
    sr_expect(t, "c", "", EX_RULE(2, "its own write answers") "its own put of an empty value "
              "answers with an empty value");
    ex_txn_put(t, "d", "1");
    sr_expect(t, "d", "1", EX_RULE(2, "a malloc'd copy") "its own put of a one-byte value "
              "answers with that byte: the copy "
              "handed out holds every byte of the write's value (w->vlen of them)");
    static char longer[301];
    memset(longer, 'L', 300);
    ex_txn_put(t, "e", longer);
    sr_expect(t, "e", longer, EX_RULE(2, "a malloc'd copy") "its own put of a 300-byte value "
              "answers with all 300 bytes, in a "
              "block of its own of that size (w->vlen bytes: a block holds no more than was "
              "asked for)");
    /* Keys it did not write, between and after the ones it did: where
     * txn_keys_find says such a key would go is another key's write. */
    sr_expect(t, "ab", "theirs", EX_RULE(2, "the transaction's own write of the key") "a key "
              "the transaction did not write (ab, between its writes of a and b) is read at "
              "the snapshot: txn_keys_find answers where ab would go in t->writes, and only "
              "*found says that the entry there is ab's");
    sr_expect(t, "zz", NULL, EX_RULE(2, "the transaction's own write of the key") "a key no "
              "one wrote (zz, after every key the transaction wrote) is absent");
    ex_expect(db, "a", "old", EX_RULE(2, "its own writes are its own") "no one else sees the "
              "transaction's writes before it commits");
    void *nv = NULL;
    size_t nvl = 0;
    ex_context(EX_RULE(1, "the argument checks first") "kv_txn_get(t, NULL, 1, ...): a NULL "
               "key is refused, and the message names the key (the arguments checked are the "
               "database, then the key, before the transaction's own writes are looked at)");
    int nrc = EX_KV(kv_txn_get(t, NULL, 1, &nv, &nvl));
    EX_CHECK(nrc == KV_ERR_INVALID && kv_errmsg()[0] != '\0',
             EX_RULE(1, "the argument checks") "kv_txn_get with a NULL key: KV_ERR_INVALID, and "
             "kv_errmsg() says what is wrong (args_check_get(t->db, key, ...); in any words) "
             "(got %d: \"%s\")", nrc, kv_errmsg());
    kv_txn_abort(t);
    kv_close(db);
}

/* The copy of the transaction's own value, and the read remembered under
 * KV_TXN_SERIALIZABLE, each with its allocation made to fail. */
/* Two reads of the transaction's own put give two copies: the caller frees
 * each, and may write into it. */
static void snapshot_read_own_value_is_a_copy(void)
{
    kv_db *db = ex_txn_open();
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_txn_put(t, "k", "its own value");
    void *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    harness_context("kv_txn_get(k) twice, k put by the transaction itself");
    int ra = kv_txn_get(t, "k", 1, &a, &al), rb = kv_txn_get(t, "k", 1, &b, &bl);
    EX_CHECK(ra == KV_OK && rb == KV_OK, "kv_txn_get(k) of its own put returns KV_OK");
    EX_CHECK(a != b, EX_RULE(2, "a malloc'd copy of its value") "each read of the transaction's "
             "own put hands back a copy of its own, which the caller frees with kv_free: two "
             "reads gave the same buffer (the transaction's own)");
    memset(a, 'X', al);
    kv_free(a);
    kv_free(b);
    void *c = NULL;
    size_t cl = 0;
    EX_CHECK(kv_txn_get(t, "k", 1, &c, &cl) == KV_OK && cl == 13 && memcmp(c, "its own value", 13) == 0,
             EX_RULE(2, "a malloc'd copy of its value") "a copy written into by its caller leaves "
             "the transaction's value as it was");
    kv_free(c);
    kv_txn_abort(t);
    kv_close(db);
}

static void snapshot_read_out_of_memory(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "a", "old", "put a");
    kv_txn *t = ex_begin(db, KV_TXN_SERIALIZABLE);
    ex_txn_put(t, "mine", "a value of its own");
    for (int which = 0; which < 2; which++) {
        const char *k = which == 0 ? "mine" : "a";
        void *v = NULL;
        size_t vl = 0;
        if (!ex_alloc_fail_at(1))
            break; /* a sanitizer's build: no failing allocation */
        harness_context("kv_txn_get(%s) with its first allocation failing (%s)", k,
                        which == 0 ? "the copy of its own write's value"
                                   : "the read remembered under KV_TXN_SERIALIZABLE");
        int rc = EX_KV(kv_txn_get(t, k, strlen(k), &v, &vl));
        int failed = ex_alloc_failed();
        ex_alloc_fail_at(0);
        if (rc == KV_OK)
            kv_free(v);
        EX_CHECK(!failed || rc == KV_ERR_NOMEM,
                 EX_RULE(5, "out of memory") "kv_txn_get(%s) whose allocation fails returns "
                 "KV_ERR_NOMEM (got %d)", k, rc);
        /* The message is the call's own: EX_KV cleared what an earlier
         * call left, so a bare return of the code leaves none. */
        EX_CHECK(!failed || kv_errmsg()[0] != '\0',
                 EX_RULE(5, "out of memory") "kv_txn_get(%s) whose allocation fails sets "
                 "kv_errmsg to say what it could not allocate (kv_error(KV_ERR_NOMEM, ...)): "
                 "it returned KV_ERR_NOMEM and set no message, so the caller would read "
                 "whatever an earlier call left there", k);
    }
    kv_txn_abort(t);
    kv_close(db);
}

static void snapshot_read_remembers_reads_when_serializable(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "a", "1", "put a");
    kv_txn *t = ex_begin(db, KV_TXN_SERIALIZABLE);
    sr_expect(t, "a", "1", EX_RULE(4, "read at the snapshot") "a serializable transaction reads a");
    sr_expect(t, "nope", NULL, EX_RULE(4, "read at the snapshot") "and an absent key");
    /* The read set as kv_txn_get left it (txn.h's t->reads), before any
     * commit, whose check is a later exercise's. */
    int found_a = 0, found_nope = 0;
    txn_keys_find(&t->reads, "a", 1, &found_a);
    txn_keys_find(&t->reads, "nope", 4, &found_nope);
    EX_CHECK(found_a && found_nope, EX_RULE(3, "a read remembered under serializable") "under "
             "KV_TXN_SERIALIZABLE kv_txn_get remembers each key read, present or absent, in "
             "t->reads (txn_keys_set): a (present) %s, nope (absent) %s",
             found_a ? "remembered" : "not remembered",
             found_nope ? "remembered" : "not remembered");
    ex_put(db, "nope", "theirs", "another writer puts the key the transaction found absent");
    ex_txn_put(t, "out", "mine");
    ex_commit(t, KV_ERR_CONFLICT, EX_RULE_OF(version_check, 1, "the newest version of each key "
              "read") "under KV_TXN_SERIALIZABLE kv_txn_get remembered each key read, present "
              "or absent, and the commit checks it: \"nope\" was written since");
    t = ex_begin(db, KV_TXN_SNAPSHOT);
    sr_expect(t, "a", "1", EX_RULE(4, "read at the snapshot") "a snapshot transaction reads a");
    ex_put(db, "a", "2", "another writer's put of a");
    ex_txn_put(t, "out", "mine");
    ex_commit(t, KV_OK, EX_RULE(3, "a snapshot transaction's reads are not checked") "under "
              "KV_TXN_SNAPSHOT a key only read is "
              "not checked (write skew is "
              "allowed)");
    kv_close(db);
}

static const harness_test snapshot_read_tests[] = {
    HARNESS_TEST(snapshot_read_out_of_memory),
    HARNESS_TEST(snapshot_read_own_value_is_a_copy),
    HARNESS_TEST(snapshot_read_sees_the_database_as_it_began),
    HARNESS_TEST(snapshot_read_own_writes_first),
    HARNESS_TEST(snapshot_read_remembers_reads_when_serializable),
};
const harness_suite snapshot_read_suite = HARNESS_SUITE("snapshot_read", snapshot_read_tests);
