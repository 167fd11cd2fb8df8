/*
 * wal_snapshot_nomem_test.c: stage 02's snapshot layers (hash_snapshot.h)
 * under allocation failure, through stage 03's write path: every
 * allocation of a batch written while a snapshot lives fails in turn.  The
 * batch is applied whole or not at all; and the snapshot reads what it
 * read before the batch, or, when its layer could not save a place (L4),
 * answers KV_ERR_NOMEM: never a value written after it.  The layers go
 * with the snapshot either way.
 */
#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "../../02-hash/tests/stage_util.h"
#include "alloc_fail.h"

/* key's value at snap is want (NULL: absent), or the read says NOMEM. */
static void expect_at_or_nomem(kv_db *db, const kv_snapshot *snap, const char *key,
                               const char *want, int *nomem)
{
    void *v = NULL;
    size_t vl = 0;
    int rc = kv_get_at(db, snap, key, strlen(key), &v, &vl);
    if (rc == KV_ERR_NOMEM) {
        *nomem = 1;
        return;
    }
    CHECK_KV(rc, want != NULL ? KV_OK : KV_NOT_FOUND);
    if (want != NULL)
        CHECK_MEM(v, vl, want, strlen(want));
    kv_free(v);
}

static void batch_under_a_snapshot_failing_at_each_allocation(void)
{
    if (!alloc_fail_available())
        return; /* a sanitizer's allocator cannot be failed from here */
    long n;
    int broken_seen = 0;
    for (n = 1; n < 200; n++) {
        harness_context("allocation %ld of kv_write under a snapshot fails", n);
        kv_db *db = OPEN(harness_tmpdir(), NULL);
        PUT(db, S("a"), S("1"));
        PUT(db, S("b"), S("1"));
        const kv_snapshot *snap = NULL;
        CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
        kv_batch *b = NULL;
        CHECK_KV(kv_batch_new(&b), KV_OK);
        CHECK_KV(kv_batch_put(b, S("a"), S("2")), KV_OK);
        CHECK_KV(kv_batch_put(b, S("c"), S("2")), KV_OK);
        CHECK_KV(kv_batch_delete(b, S("b")), KV_OK);
        alloc_fail_arm(n);
        int rc = kv_write(db, b);
        long failures = alloc_fail_failures();
        alloc_fail_disarm();
        kv_batch_free(b);
        if (rc != KV_OK)
            CHECK_KV(rc, KV_ERR_NOMEM);
        if (rc == KV_OK) {
            EXPECT(db, S("a"), S("2"));
            EXPECT(db, S("c"), S("2"));
            ABSENT(db, S("b"));
        } else {
            EXPECT(db, S("a"), S("1"));
            ABSENT(db, S("c"));
            EXPECT(db, S("b"), S("1"));
        }
        int nomem = 0;
        expect_at_or_nomem(db, snap, "a", "1", &nomem);
        expect_at_or_nomem(db, snap, "b", "1", &nomem);
        expect_at_or_nomem(db, snap, "c", NULL, &nomem);
        kv_iter *it = NULL;
        int irc = kv_iter_new_at(db, snap, &it);
        if (irc == KV_OK) {
            static const testdb_pair then[] = {P("a", "1"), P("b", "1")};
            kv_iter_seek_first(it);
            testdb_iter_expect(it, then, NPAIRS(then));
            kv_iter_free(it);
        } else {
            CHECK_KV(irc, KV_ERR_NOMEM);
            nomem = 1;
        }
        broken_seen |= nomem && rc == KV_OK;
        kv_snapshot_free(db, snap);
        CHECK_EQ(stage_stat(db, "snapshots.layers"), 0);
        CLOSE(db);
        if (failures == 0)
            break;
    }
    CHECK_MSG(n > 3 && n < 200, "kv_write made %ld allocations", n - 1);
    CHECK_MSG(broken_seen, "no failed allocation left a layer broken: the test missed L4");
}

static const harness_test wal_snapshot_nomem_tests[] = {
    HARNESS_TEST(batch_under_a_snapshot_failing_at_each_allocation),
};
const harness_suite wal_snapshot_nomem_suite =
    HARNESS_SUITE("wal_snapshot_nomem", wal_snapshot_nomem_tests);
