/*
 * merge_test.c: exercise merge, merge_fix_top, merge_next and merge_prev
 * (stages/04-lsm/iterators/merge_iter.c): sources merged in (internal key, source)
 * order, forward, backward, and turning around at any entry, compared
 * with the sorted union of the sources (vec_iter.h, from stage 04's own
 * tests, is the source).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exercise.h"
#include "internal_key.h"
#include "iterator.h"
#include "kv.h"
#include "merge_iter.h"
#include "vec_iter.h"

enum { MAXC = 6, MAXE = 600 };

/* The model: every entry of every source, with its source, in merged
 * order. */
typedef struct mm_entry {
    uint8_t key[32];
    size_t klen;
    int child;
    int value;        /* the entry's number, as its value */
} mm_entry;

static mm_entry model[MAXE];
static int nmodel;
static vec sources[MAXC];

static int mm_cmp(const void *a, const void *b)
{
    const mm_entry *x = a, *y = b;
    int c = ikey_compare(x->key, x->klen, y->key, y->klen);
    return c != 0 ? c : x->child - y->child;
}

/* nchild sources; entry i goes to source pick(i); keys "k%03d" of user
 * key (i * 7) % nkeys, sequence i + 1 (or the same sequence in two
 * sources when dup; dup 2: the same internal key, user key (i / 2 * 7) %
 * nkeys, in the first and the last source). */
static void mm_free_sources(void)
{
    for (int c = 0; c < MAXC; c++) {
        vec_free(&sources[c]);
        memset(&sources[c], 0, sizeof sources[c]);
    }
}

static void mm_build(int nchild, int n, int nkeys, int dup)
{
    nmodel = 0;
    mm_free_sources();
    for (int i = 0; i < n; i++) {
        mm_entry *m = &model[nmodel++];
        char uk[16];
        int ul = snprintf(uk, sizeof uk, "k%03d", ((dup == 2 ? i / 2 : i) * 7) % nkeys);
        uint64_t seq = dup ? (uint64_t)(i / 2 + 1) : (uint64_t)(i + 1);
        ikey_encode(m->key, uk, (size_t)ul, seq, IKEY_PUT);
        m->klen = (size_t)ul + IKEY_TRAILER_SIZE;
        m->child = dup ? (i % 2) * (nchild - 1) : (int)((i * 2654435761u) >> 7) % nchild;
        m->value = i;
    }
    qsort(model, (size_t)nmodel, sizeof model[0], mm_cmp);
    for (int i = 0; i < nmodel; i++) {
        char v[16];
        int vl = snprintf(v, sizeof v, "%d", model[i].value);
        vec_add(&sources[model[i].child], model[i].key, model[i].klen, v, (size_t)vl);
    }
}

static iter *mm_iter(int nchild)
{
    iter *children[MAXC];
    for (int c = 0; c < nchild; c++)
        children[c] = vec_iter_new(&sources[c], 1, -1);
    iter *m = NULL;
    EX_CHECK(merge_iter_new(children, (size_t)nchild, &m) == KV_OK, "test setup: merge_iter_new");
    return m;
}

/* The merged iterator shows model[i] (or is not valid, i out of range). */
static void mm_expect(iter *m, int i, const char *how)
{
    if (i < 0 || i >= nmodel) {
        EX_CHECK(!iter_valid(m) && iter_status(m) == KV_OK,
                 "%s: " EX_RULE(1, "a child no longer valid leaves the heap") "past the %s end, "
                 "the merge is not valid, status KV_OK (status %d)", how,
                 i < 0 ? "first" : "last", iter_status(m));
        return;
    }
    char v[16];
    int vl = snprintf(v, sizeof v, "%d", model[i].value);
    EX_CHECK(iter_valid(m), "%s: " EX_RULE(3, "next and prev") "the merge is at merged entry %d of "
             "%d (valid; status %d%s)",
             how, i, nmodel, iter_status(m),
             iter_status(m) == KV_ERR_INVALID ? ", as a stub leaves it" : "");
    EX_CHECK(m->key_len == model[i].klen && memcmp(m->key, model[i].key, m->key_len) == 0 &&
             m->value_len == (size_t)vl && memcmp(m->value, v, (size_t)vl) == 0,
             "%s: " EX_RULE(3, "the merged order") "the merge shows merged entry %d of %d (source "
             "%d's), in (internal key, source) "
             "order", how, i, nmodel, model[i].child);
}

static void mm_walks(int nchild, int n, int nkeys, int dup)
{
    mm_build(nchild, n, nkeys, dup);
    iter *m = mm_iter(nchild);
    char how[320];
    iter_seek_first(m);
    for (int i = 0; i <= nmodel; i++) {
        snprintf(how, sizeof how, "forward over %d sources, step %d", nchild, i);
        mm_expect(m, i, how);
        harness_context("merge_next at merged entry %d of %d (%d sources)", i, nmodel, nchild);
        iter_next(m);
    }
    iter_seek_last(m);
    for (int i = nmodel - 1; i >= -1; i--) {
        snprintf(how, sizeof how, "backward over %d sources, at %d", nchild, i);
        mm_expect(m, i, how);
        harness_context("merge_prev at merged entry %d of %d (%d sources)", i, nmodel, nchild);
        iter_prev(m);
    }
    /* Turning around at every entry: next then prev, prev then next. */
    for (int i = 0; i < nmodel; i++) {
        iter_seek(m, model[i].key, model[i].klen);
        /* A seek lands on the first of equal keys: move to entry i. */
        int at = i;
        while (at > 0 && ikey_compare(model[at - 1].key, model[at - 1].klen, model[i].key,
                                      model[i].klen) == 0)
            at--;
        for (; at < i; at++)
            iter_next(m);
        snprintf(how, sizeof how, "a seek to merged entry %d", i);
        mm_expect(m, i, how);
        harness_context("merge_prev right after moving forward to entry %d (%d sources)", i,
                        nchild);
        iter_prev(m);
        snprintf(how, sizeof how, EX_RULE(4, "the others moved when the direction changes") "prev after moving forward to entry %d (the merge turns "
                 "around)", i);
        mm_expect(m, i - 1, how);
        if (i == 0)
            continue;
        harness_context("merge_next right after merge_prev, at entry %d (%d sources)", i - 1,
                        nchild);
        iter_next(m);
        snprintf(how, sizeof how, EX_RULE(4, "the others moved when the direction changes") "next right after prev, from entry %d (the merge turns "
                 "around: the other sources must first move past the current key)", i - 1);
        mm_expect(m, i, how);
        if (i + 1 >= nmodel)
            continue; /* (next would leave the end, where prev does nothing) */
        iter_next(m);
        snprintf(how, sizeof how, "next, next after a turn at entry %d", i);
        mm_expect(m, i + 1, how);
        iter_prev(m);
        snprintf(how, sizeof how, EX_RULE(4, "the others moved when the direction changes")
                 "prev after next, next, at entry %d (the merge turns around: the other "
                 "sources must first move to their last entry before the current one, a "
                 "source whose entries are all before it too)", i + 1);
        mm_expect(m, i, how);
        iter_prev(m);
        snprintf(how, sizeof how, "prev, prev after a turn at entry %d", i + 1);
        mm_expect(m, i - 1, how);
    }
    iter_free(m);
    mm_free_sources();
}

static void merge_two_sources(void) { mm_walks(2, 200, 50, 0); }
static void merge_five_sources(void) { mm_walks(5, 500, 120, 0); }
static void merge_one_key_many_versions(void) { mm_walks(4, 100, 1, 0); }
static void merge_equal_keys_lower_source_first(void) { mm_walks(3, 200, 40, 1); }
static void merge_equal_internal_keys_lower_source_first(void) { mm_walks(3, 200, 40, 2); }

static void merge_a_failing_source_fails_the_merge(void)
{
    mm_build(3, 90, 30, 0);
    iter *children[3];
    children[0] = vec_iter_new(&sources[0], 1, -1);
    children[1] = vec_iter_new(&sources[1], 1, 12); /* fails after 12 moves */
    children[2] = vec_iter_new(&sources[2], 1, -1);
    iter *m = NULL;
    EX_CHECK(merge_iter_new(children, 3, &m) == KV_OK, "test setup");
    int steps = 0;
    for (iter_seek_first(m); iter_valid(m) && steps < 1000; iter_next(m))
        steps++;
    EX_CHECK(iter_status(m) == KV_ERR_IO && !iter_valid(m),
             EX_RULE(2, "a child's failure") "a source that fails (KV_ERR_IO) fails the merge: "
             "status KV_ERR_IO, not valid, "
             "rule 5 of iterator.h (status %d after %d steps)", iter_status(m), steps);
    EX_CHECK(steps < nmodel, EX_RULE(2, "a child's failure") "the merge stops at the failure, "
             "not after every entry");
    iter_free(m);
    mm_free_sources();
}

/* A source that fails while the merge turns round (merge_prev after
 * merge_next: every other source is sought again): the merge fails and
 * stays failed, never valid with an error (rule 5 of iterator.h).  The
 * source fails at each of its first 40 moves in turn. */
static void merge_a_source_failing_as_it_turns(void)
{
    mm_build(3, 90, 30, 0);
    int turned_failed = 0;
    for (int k = 1; k <= 40; k++) {
        iter *children[3];
        children[0] = vec_iter_new(&sources[0], 1, -1);
        children[1] = vec_iter_new(&sources[1], 1, k); /* fails after k moves */
        children[2] = vec_iter_new(&sources[2], 1, -1);
        iter *m = NULL;
        EX_CHECK(merge_iter_new(children, 3, &m) == KV_OK, "test setup");
        iter_seek_first(m);
        for (int i = 0; i < 5 && iter_valid(m); i++)
            iter_next(m);
        if (iter_valid(m)) {
            harness_context("iter_prev of a merge of 3 sources after 5 iter_next, source 1 "
                            "failing at its move %d: a source that fails while the others are "
                            "sought again fails the merge, which is then not valid", k);
            iter_prev(m);
            turned_failed += iter_status(m) != KV_OK;
        }
        EX_CHECK(iter_status(m) == KV_OK || !iter_valid(m),
                 EX_RULE(2, "a child's failure") "a source that fails (KV_ERR_IO, at its move "
                 "%d) fails the merge: once its "
                 "status is an error the merge is not valid (rule 5 of iterator.h), even when "
                 "the failure comes as merge_prev seeks the other sources again (status %d, "
                 "valid %d)", k, iter_status(m), iter_valid(m));
        iter_free(m);
    }
    EX_CHECK(turned_failed > 0, "test setup: some source fails as the merge turns");
    mm_free_sources();
}

static const harness_test merge_tests[] = {
    HARNESS_TEST(merge_two_sources),
    HARNESS_TEST(merge_five_sources),
    HARNESS_TEST(merge_one_key_many_versions),
    HARNESS_TEST(merge_equal_keys_lower_source_first),
    HARNESS_TEST(merge_equal_internal_keys_lower_source_first),
    HARNESS_TEST(merge_a_failing_source_fails_the_merge),
    HARNESS_TEST(merge_a_source_failing_as_it_turns),
};
const harness_suite merge_suite = HARNESS_SUITE("merge", merge_tests);
