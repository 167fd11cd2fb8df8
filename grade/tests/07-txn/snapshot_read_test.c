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
#include "kv.h"

/* kv_txn_get(k) must answer want (NULL: KV_NOT_FOUND). */
static void sr_expect(kv_txn *t, const char *k, const char *want, const char *rule)
{
    void *v = NULL;
    size_t vl = 0;
    harness_context("kv_txn_get(%s): %s", k, rule);
    int rc = kv_txn_get(t, k, strlen(k), &v, &vl);
    if (want == NULL) {
        if (rc == KV_OK)
            kv_free(v);
        EX_CHECK(rc == KV_NOT_FOUND, "%s: kv_txn_get(%s) returns KV_NOT_FOUND, got %d (%s)",
                 rule, k, rc, rc == KV_OK ? "a value" : kv_errmsg());
        return;
    }
    EX_CHECK(rc == KV_OK, "%s: kv_txn_get(%s) returns KV_OK, got %d (%s)", rule, k, rc,
             kv_errmsg());
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
    sr_expect(t, "a", "old", "the transaction reads a as it was when it began");
    sr_expect(t, "late", NULL, "a key put after the transaction began is not there for it");
    sr_expect(t, "gone", "here", "a key deleted after the transaction began is still there "
              "for it");
    ex_fill_others(db, 300);
    harness_context("kv_compact");
    EX_CHECK(kv_compact(db) == KV_OK, "kv_compact returns KV_OK (%s)", kv_errmsg());
    sr_expect(t, "a", "old", "after flushes and a compaction, the transaction still reads a's "
              "version of its snapshot (kept for it: the watermark)");
    sr_expect(t, "gone", "here", "after a compaction too, the deleted key is still there for it");
    kv_txn_abort(t);
    kv_close(db);
}

static void snapshot_read_own_writes_first(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "a", "old", "put a");
    ex_put(db, "b", "old", "put b");
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_txn_put(t, "a", "mine");
    sr_expect(t, "a", "mine", "the transaction's own put answers before its snapshot");
    int rc = kv_txn_delete(t, "b", 1);
    EX_CHECK(rc == KV_OK, "kv_txn_delete(b) (%d: %s)", rc, kv_errmsg());
    sr_expect(t, "b", NULL, "the transaction's own delete answers: b is gone for it");
    ex_txn_put(t, "c", "");
    sr_expect(t, "c", "", "its own put of an empty value answers with an empty value");
    ex_txn_put(t, "d", "1");
    sr_expect(t, "d", "1", "its own put of a one-byte value answers with that byte: the copy "
              "handed out holds every byte of the write's value (w->vlen of them)");
    static char longer[301];
    memset(longer, 'L', 300);
    ex_txn_put(t, "e", longer);
    sr_expect(t, "e", longer, "its own put of a 300-byte value answers with all 300 bytes, in a "
              "block of its own of that size (w->vlen bytes: a block holds no more than was "
              "asked for)");
    ex_expect(db, "a", "old", "no one else sees the transaction's writes before it commits");
    void *nv = NULL;
    size_t nvl = 0;
    harness_context("kv_txn_get(t, NULL, 1, ...): a NULL key is refused, and the message names "
                    "the key (the arguments checked are the database, then the key)");
    int nrc = kv_txn_get(t, NULL, 1, &nv, &nvl);
    EX_CHECK(nrc == KV_ERR_INVALID && kv_errmsg()[0] != '\0',
             "kv_txn_get with a NULL key: KV_ERR_INVALID, and kv_errmsg() says what is wrong "
             "(the reference: args_check_get(t->db, key, ...); in any words) (got %d: \"%s\")",
             nrc, kv_errmsg());
    kv_txn_abort(t);
    kv_close(db);
}

static void snapshot_read_remembers_reads_when_serializable(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "a", "1", "put a");
    kv_txn *t = ex_begin(db, KV_TXN_SERIALIZABLE);
    sr_expect(t, "a", "1", "a serializable transaction reads a");
    sr_expect(t, "nope", NULL, "and an absent key");
    ex_put(db, "nope", "theirs", "another writer puts the key the transaction found absent");
    ex_txn_put(t, "out", "mine");
    ex_commit(t, KV_ERR_CONFLICT, "under KV_TXN_SERIALIZABLE kv_txn_get remembers each key "
              "read, present or absent, and the commit checks it: \"nope\" was written since");
    t = ex_begin(db, KV_TXN_SNAPSHOT);
    sr_expect(t, "a", "1", "a snapshot transaction reads a");
    ex_put(db, "a", "2", "another writer's put of a");
    ex_txn_put(t, "out", "mine");
    ex_commit(t, KV_OK, "under KV_TXN_SNAPSHOT a key only read is not checked (write skew is "
              "allowed)");
    kv_close(db);
}

static const harness_test snapshot_read_tests[] = {
    HARNESS_TEST(snapshot_read_sees_the_database_as_it_began),
    HARNESS_TEST(snapshot_read_own_writes_first),
    HARNESS_TEST(snapshot_read_remembers_reads_when_serializable),
};
const harness_suite snapshot_read_suite = HARNESS_SUITE("snapshot_read", snapshot_read_tests);
