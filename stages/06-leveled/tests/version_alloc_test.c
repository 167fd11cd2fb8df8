/*
 * version_alloc_test.c: versions, the picker and the level iterator under
 * allocation failure: whichever allocation fails, the call returns
 * KV_ERR_NOMEM with nothing made (and the next try, with memory,
 * succeeds).  Only where allocations can be failed (alloc_fail.h: builds
 * without a sanitizer).
 */
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../03-wal/tests/alloc_fail.h"
#include "compaction_pick.h"
#include "kv.h"
#include "level_iter.h"
#include "version.h"
#include "version_test_util.h"

/* L0: 4 overlapping tables; L1: 3 tables; L2: 2; L3: 1. */
static version *busy_tree(version *v0)
{
    version_edit e;
    version_edit_init(&e);
    for (int i = 1; i <= 4; i++)
        vt_add(&e, 0, (uint64_t)i, 10, "b", "e");
    vt_add(&e, 1, 5, 60, "a", "b");
    vt_add(&e, 1, 6, 60, "c", "d");
    vt_add(&e, 1, 7, 60, "e", "f");
    vt_add(&e, 2, 8, 10, "a", "c");
    vt_add(&e, 2, 9, 10, "d", "e");
    vt_add(&e, 3, 10, 10, "a", "z");
    return vt_apply(v0, &e);
}

static void every_failed_allocation_is_nomem(void)
{
    if (!alloc_fail_available())
        return; /* a sanitizer's allocator: the release build tests this */
    version *v0 = vt_empty();
    version *v = busy_tree(v0);
    compaction_options o;
    compaction_options_from(NULL, &o);
    o.l1_bytes = 100;
    int done = 0;
    long n;
    for (n = 1; !done && n < 1000; n++) {
        harness_context("allocation %ld fails", n);
        version_edit e;
        version_edit_init(&e);
        CHECK_KV(version_edit_remove_file(&e, 1, 5), KV_OK);
        vt_add(&e, 1, 11, 10, "a", "a");
        vt_add(&e, 0, 12, 10, "a", "z");
        version *next = (version *)1;
        compaction *c = (compaction *)1, *r = (compaction *)1;
        vfile_list l = {(vfile **)1, 1};
        iter *it = (iter *)1;
        version_edit ce;
        version_edit_init(&ce);
        alloc_fail_arm(n);
        int rc1 = version_apply(v, &e, vfile_open_plain, NULL, &next);
        int rc2 = version_overlapping(v, 0, (const uint8_t *)"a", 1, (const uint8_t *)"c", 1, &l);
        int rc3 = compaction_pick(v, &o, NULL, &c);
        int rc4 = compaction_pick_range(v, &o, 1, NULL, 0, NULL, 0, &r);
        int rc5 = level_iter_new(v, 1, NULL, NULL, &it);
        int rc6 = c != NULL && rc3 == KV_OK ? compaction_edit(c, &ce) : KV_OK;
        long failures = alloc_fail_failures();
        alloc_fail_disarm();
        int rcs[] = {rc1, rc2, rc3, rc4, rc5, rc6};
        for (size_t i = 0; i < sizeof rcs / sizeof *rcs; i++)
            CHECK_MSG(rcs[i] == KV_OK || rcs[i] == KV_ERR_NOMEM, "call %zu: %d", i + 1, rcs[i]);
        CHECK(rc1 == KV_OK ? next != NULL : next == NULL);
        CHECK(rc2 == KV_OK ? l.n == 4 : l.files == NULL);
        CHECK(rc3 == KV_OK ? c != NULL : c == NULL);
        CHECK(rc4 == KV_OK ? r != NULL : r == NULL);
        CHECK(rc5 == KV_OK ? it != NULL : it == NULL);
        done = failures == 0;
        CHECK(done == (rc1 == KV_OK && rc2 == KV_OK && rc3 == KV_OK && rc4 == KV_OK &&
                       rc5 == KV_OK && rc6 == KV_OK));
        version_unref(rc1 == KV_OK ? next : NULL);
        free(l.files);
        compaction_free(c);
        compaction_free(r);
        iter_free(rc5 == KV_OK ? it : NULL);
        version_edit_free(&ce);
        version_edit_free(&e);
    }
    CHECK(done);
    CHECK_MSG(n > 20, "only %ld allocations failed in turn", n - 2);
    version_unref(v);
    version_unref(v0);
}

static const harness_test version_alloc_tests[] = {
    HARNESS_TEST(every_failed_allocation_is_nomem),
};
const harness_suite version_alloc_suite = HARNESS_SUITE("version_alloc", version_alloc_tests);
