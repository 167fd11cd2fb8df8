/*
 * pick_test.c: exercise pick, compaction_pick and pick_in_level
 * (stages/06-leveled/compaction/compaction_pick.c): the level with the highest score
 * >= 1 is compacted first; from L0, the oldest file (and, through rule 2,
 * every L0 file overlapping it); from a level >= 1, the first file past
 * the level's compact pointer, wrapping round to the first (round robin
 * over the key space); a file being compacted is passed over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compaction_pick.h"
#include "ex_level.h"
#include "exercise.h"
#include "internal_key.h"
#include "kv.h"
#include "version_test_util.h"

static compaction_options pk_options(void)
{
    compaction_options o;
    compaction_options_from(NULL, &o);
    o.l1_bytes = 100;    /* L1's target; L2's is 1000 */
    o.table_bytes = 50;
    return o;
}

/* Picks from v; the test fails unless KV_OK.  NULL if nothing to do. */
static compaction *pk_pick(version *v, const compaction_pointers *p, const char *what)
{
    compaction_options o = pk_options();
    compaction *c = (compaction *)1;
    ex_context(EX_RULES("1 to 4", "the levels by score, each one's seed") "compaction_pick: %s; "
               "the test ends if it has used 5 s "
                    "of CPU without returning: a pick looks at each level once and each file of it at most "
                    "once, and L0's overlapping set grows only while a file reaches past it",
                    what);
    ex_bound_work(5);
    int rc = EX_KV(compaction_pick(v, &o, p, &c));
    ex_bound_work(EX_TEST_CPU_SECONDS);
    EX_CHECK(rc == KV_OK, EX_RULE(1, "a compaction picked") "compaction_pick (%s) returns KV_OK "
             "(got %d: %s)", what, rc,
             ex_errmsg(rc));
    return c;
}

static void pk_expect(compaction *c, int level, const char *in0, const char *what,
                      const char *rule)
{
    char got[256];
    /* The caller's rule first: which compaction is wanted is what its
     * test is about (a pick that yields nothing where the round robin
     * should wrap breaks the wrap, not the scores). */
    EX_CHECK(c != NULL && c != (compaction *)1, "%s: %s: a level has a score >= 1, so "
             "compaction_pick returns a compaction (got %s)", rule, what,
             c == NULL ? "NULL" : "*out left unset");
    EX_CHECK(c->level == level, "%s: %s: want a compaction of L%d, got L%d", what, rule, level,
             c->level);
    ex_sorted_numbers(&c->inputs[0], got, sizeof got);
    EX_CHECK(strcmp(got, in0) == 0, "%s: %s: want inputs[0] = files \"%s\" of L%d, got \"%s\"",
             what, rule, in0, level, got);
}

static void pick_nothing_below_a_score_of_one(void)
{
    const ex_file f[] = {{0, 1, 10, "a", "b"}, {0, 2, 10, "c", "d"}, {1, 3, 99, "a", "z"}};
    version *v = ex_version(f, 3);
    compaction *c = pk_pick(v, NULL, "2 L0 files (trigger 4) and L1 at 99 of 100 bytes");
    EX_CHECK(c == NULL, EX_RULE(1, "only scores >= 1") "no level has a score >= 1 (L0 2/4, L1 "
             "99/100): *out = NULL, nothing "
             "to do");
    version_unref(v);
    /* A score of exactly 1 is a full level: it is compacted. */
    const ex_file g[] = {{0, 1, 10, "a", "b"}, {0, 2, 10, "c", "d"}, {1, 3, 100, "a", "z"}};
    v = ex_version(g, 3);
    c = pk_pick(v, NULL, "2 L0 files (trigger 4) and L1 at 100 of 100 bytes");
    EX_CHECK(c != NULL, EX_RULE(1, "scores >= 1, a score of exactly 1 too") "L1 holds exactly "
             "its target (100 of 100 bytes): a score of 1 is a level to compact, so a "
             "compaction is picked (got none)");
    compaction_free(c);
    version_unref(v);
}

static void pick_l0_waits_while_its_oldest_is_busy(void)
{
    /* Four disjoint L0 files, the oldest (1) being compacted already: L0
     * waits for it (its next seed is the oldest file, and that one is
     * taken), whatever the newer files' state. */
    const ex_file f[] = {{0, 1, 10, "a", "b"}, {0, 2, 10, "e", "f"}, {0, 3, 10, "i", "j"},
                         {0, 4, 10, "m", "n"}};
    version *v = ex_version(f, 4);
    v->files[0][3]->being_compacted = 1; /* file 1, the last of v->files[0] */
    EX_CHECK(v->files[0][3]->number == 1, "test setup: the oldest L0 file is the last");
    compaction *c = pk_pick(v, NULL, "4 disjoint L0 files, the oldest (1) being compacted");
    EX_CHECK(c == NULL, EX_RULE(2, "L0: its oldest file, unless busy") "L0's seed is its oldest "
             "file, the last of v->files[0] "
             "(v->files[0][n - 1]): while that one is being compacted, L0 has nothing to "
             "give, so nothing is picked (got a compaction of L%d)", c ? c->level : -1);
    version_unref(v);
    /* The second oldest (2) busy, the oldest free: the oldest goes. */
    v = ex_version(f, 4);
    v->files[0][2]->being_compacted = 1;
    EX_CHECK(v->files[0][2]->number == 2, "test setup: the second oldest L0 file");
    c = pk_pick(v, NULL, "4 disjoint L0 files, the second oldest (2) being compacted");
    pk_expect(c, 0, "1", "4 disjoint L0 files, file 2 being compacted",
              EX_RULE(2, "L0: its oldest file") "L0's seed is its oldest file, v->files[0][n - "
              "1], which is free: whether a "
              "newer one is busy does not matter (it does not overlap the oldest)");
    compaction_free(c);
    version_unref(v);
}

static void pick_l0_takes_the_oldest_file(void)
{
    /* Four disjoint L0 files: a score of 1.  File 1 is the oldest. */
    const ex_file f[] = {{0, 1, 10, "a", "b"}, {0, 2, 10, "e", "f"}, {0, 3, 10, "i", "j"},
                         {0, 4, 10, "m", "n"}};
    version *v = ex_version(f, 4);
    compaction *c = pk_pick(v, NULL, "4 disjoint L0 files");
    pk_expect(c, 0, "1", "4 disjoint L0 files, numbered 1 (oldest) to 4 (newest)",
              EX_RULE(2, "L0: its oldest file") "L0 compacts its oldest file first (the last of "
              "v->files[0], which is newest "
              "first), so that older versions of a key go down before newer ones");
    compaction_free(c);
    version_unref(v);
    /* The oldest overlaps a newer one: rule 1 takes both. */
    const ex_file g[] = {{0, 1, 10, "a", "c"}, {0, 2, 10, "e", "f"}, {0, 3, 10, "c", "d"},
                         {0, 4, 10, "m", "n"}};
    v = ex_version(g, 4);
    c = pk_pick(v, NULL, "4 L0 files, the oldest overlapping file 3");
    pk_expect(c, 0, "1 3", "L0 = 1 [a, c], 2 [e, f], 3 [c, d], 4 [m, n]",
              EX_RULE(2, "L0: its oldest file") "the oldest file, 1, and every L0 file "
              "overlapping it (version_overlapping)");
    compaction_free(c);
    /* Busy: the oldest is being compacted: nothing from L0. */
    ex_find_file(v, 1)->being_compacted = 1;
    c = pk_pick(v, NULL, "the oldest L0 file already being compacted");
    EX_CHECK(c == NULL, EX_RULE(2, "L0: nothing while its oldest is busy") "L0's oldest file is "
             "being compacted: L0 waits for that compaction "
             "(a newer L0 file cannot go below an older one still in L0): *out = NULL");
    version_unref(v);
}

static void pick_round_robin_after_the_pointer(void)
{
    /* L1 at 300 of 100 bytes: a score of 3. */
    const ex_file f[] = {{1, 10, 100, "a", "b"}, {1, 11, 100, "c", "d"}, {1, 12, 100, "e", "f"}};
    version *v = ex_version(f, 3);
    compaction_pointers p;
    memset(&p, 0, sizeof p);
    uint8_t key[32];
    struct { const char *ptr; const char *want; const char *why; } c[] = {
        {NULL, "10", EX_RULE(3, "the first file past the compact pointer") "no compact pointer "
                             "yet: the first file"},
        {"b", "11", EX_RULE(3, "the first file past the compact pointer") "the pointer is file "
                            "10's largest key: the next file, 11"},
        {"d", "12", EX_RULE(3, "the first file past the compact pointer") "the pointer is file "
                            "11's largest key: the next file, 12"},
        {"f", "10", EX_RULE(3, "wrapping round") "the pointer is the last file's largest key: "
                            "wrap round to the first"},
        {"cz", "11", EX_RULE(3, "the first file past the compact pointer") "the pointer falls "
                             "inside file 11 [c, d]: the first file whose largest key "
                      "is past it, 11"},
        {"z", "10", EX_RULE(3, "wrapping round") "the pointer is past every file: wrap round to "
                            "the first"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        p.key[1] = c[i].ptr ? key : NULL;
        p.len[1] = c[i].ptr ? vt_ikey(key, c[i].ptr, 1) : 0;
        char what[128];
        snprintf(what, sizeof what, "L1 = 10 [a, b], 11 [c, d], 12 [e, f], compact pointer %s%s",
                 c[i].ptr ? c[i].ptr : "none", c[i].ptr ? "@1" : "");
        compaction *cp = pk_pick(v, &p, what);
        pk_expect(cp, 1, c[i].want, what, c[i].why);
        compaction_free(cp);
    }
    /* A busy file is passed over for the next in round-robin order. */
    ex_find_file(v, 11)->being_compacted = 1;
    p.key[1] = key;
    p.len[1] = vt_ikey(key, "b", 1);
    compaction *cp = pk_pick(v, &p, "file 11 is being compacted");
    pk_expect(cp, 1, "12", "L1 = 10, 11 (being compacted), 12; compact pointer b@1",
              EX_RULE(4, "a busy file passed over") "a file being compacted is passed over for "
              "the next one after it");
    compaction_free(cp);
    version_unref(v);
}

static void pick_highest_score_first(void)
{
    /* L0: 4 files, a score of 1; L1: 150 of 100 bytes, 1.5; L2: 3000 of
     * 1000 bytes, 3. */
    const ex_file f[] = {{0, 1, 10, "a", "b"}, {0, 2, 10, "c", "d"}, {0, 3, 10, "e", "f"},
                         {0, 4, 10, "g", "h"}, {1, 5, 150, "a", "m"}, {2, 6, 3000, "n", "z"}};
    version *v = ex_version(f, 6);
    compaction *c = pk_pick(v, NULL, "scores L0 1, L1 1.5, L2 3");
    pk_expect(c, 2, "6", "scores L0 1 (4 files), L1 1.5, L2 3",
              EX_RULE(1, "highest score first") "the level with the highest score goes first, "
              "whatever its depth");
    EX_CHECK(c->score == 3, EX_RULE(1, "highest score first") "the compaction records the score "
             "its level had (3), not %g",
             c->score);
    compaction_free(c);
    /* The best level is busy: the next best. */
    ex_find_file(v, 6)->being_compacted = 1;
    c = pk_pick(v, NULL, "L2's only file being compacted");
    pk_expect(c, 1, "5", "scores L0 1, L1 1.5, L2 3 but L2's file is being compacted",
              EX_RULE(1, "the first compaction a level yields") "a level whose inputs are busy "
              "is passed over for the next best score (L1)");
    compaction_free(c);
    version_unref(v);
}

static void pick_a_seed_whose_next_level_is_busy_is_passed_over(void)
{
    /* L1 at 200 of 100 bytes; file 10's overlap at L2 (20) is being
     * compacted, file 11's is free. */
    const ex_file f[] = {{1, 10, 100, "a", "b"}, {1, 11, 100, "c", "d"},
                         {2, 20, 10, "a", "b"}};
    version *v = ex_version(f, 3);
    ex_find_file(v, 20)->being_compacted = 1;
    compaction *c = pk_pick(v, NULL, "L1 = 10 [a, b], 11 [c, d]; L2's 20 [a, b] busy");
    pk_expect(c, 1, "11", "L1 = 10, 11 (score 2), L2 = 20 [a, b] being compacted, no pointer",
              EX_RULE(4, "round robin until try_seed makes one") "the first seed (10) cannot be "
              "compacted while 20, the file it overlaps one "
              "level down, is: the round robin goes on to the next seed (11), it does not "
              "give up on the level after one seed");
    compaction_free(c);
    version_unref(v);
}

static void pick_every_level_that_has_one_below(void)
{
    /* Every level from L0 to L5 has a score >= 1; L5's, 1.5, is the
     * lowest, and the others' files are all being compacted: L5 is what
     * is left to pick, into L6. */
    const ex_file f[] = {{0, 1, 10, "a", "b"}, {0, 2, 10, "a", "b"}, {0, 3, 10, "a", "b"},
                         {0, 4, 10, "a", "b"}, {0, 5, 10, "a", "b"}, {0, 6, 10, "a", "b"},
                         {0, 7, 10, "a", "b"}, {0, 8, 10, "a", "b"},
                         {1, 11, 300, "c", "d"}, {2, 21, 3000, "e", "f"},
                         {3, 31, 30000, "g", "h"}, {4, 41, 300000, "i", "j"},
                         {5, 51, 1500000, "k", "m"}, {6, 61, 100, "n", "z"}};
    version *v = ex_version(f, sizeof f / sizeof f[0]);
    static const uint64_t busy[] = {1, 2, 3, 4, 5, 6, 7, 8, 11, 21, 31, 41};
    for (size_t i = 0; i < sizeof busy / sizeof busy[0]; i++)
        ex_find_file(v, busy[i])->being_compacted = 1;
    compaction *c = pk_pick(v, NULL, "scores L0 2, L1 to L4 3, L5 1.5; L0 to L4 busy");
    pk_expect(c, 5, "51", "scores L0 2 (8 files), L1 to L4 3, L5 1.5 (1,500,000 of "
              "1,000,000 bytes), every file of L0 to L4 being compacted",
              EX_RULE(1, "every level whose score is >= 1") "every level from L0 to L5 (the "
              "VERSION_LEVELS - 1 levels with a level below "
              "them) is tried in order of score, down to the lowest score >= 1");
    compaction_free(c);
    /* L5's file busy too: every level tried, none yields a compaction.  (L6
     * has no level below it: it has no score, and is never tried.) */
    ex_find_file(v, 51)->being_compacted = 1;
    c = pk_pick(v, NULL, EX_RULE(1, "the levels with a score, L0 to L5, and no other")
                "scores L0 2, L1 to L4 3, L5 1.5, every file of L0 to L5 busy");
    EX_CHECK(c == NULL, EX_RULE(1, "the levels with a score, L0 to L5") "every level with a "
             "score >= 1 tried, and each one's files busy: *out = NULL");
    version_unref(v);
}

/* Every allocation of a pick made to fail in turn: the failure of the
 * compaction try_seed makes is returned, never taken for "nothing to do". */
static void pick_out_of_memory_is_returned(void)
{
    const ex_file f[] = {{1, 10, 100, "a", "b"}, {1, 11, 100, "c", "d"}, {2, 20, 10, "a", "d"}};
    version *v = ex_version(f, 3);
    compaction_options o = pk_options();
    for (long n = 1;; n++) {
        compaction *c = (compaction *)1;
        if (!ex_alloc_fail_at(n))
            break; /* a sanitizer's build: no failing allocation */
        ex_context(EX_RULE(5, "try_seed's error returned") "compaction_pick with allocation %ld "
                   "failing (L1 over its target)", n);
        int rc = compaction_pick(v, &o, NULL, &c);
        int failed = ex_alloc_failed();
        ex_alloc_fail_at(0);
        if (!failed) {
            EX_CHECK(rc == KV_OK && c != NULL && c != (compaction *)1,
                     EX_RULE(1, "a level whose score is >= 1 yields a compaction") "with "
                     "every allocation granted a compaction is picked, L1 being over its "
                     "target (%d)", rc);
            compaction_free(c);
            break;
        }
        EX_CHECK(rc == KV_ERR_NOMEM,
                 EX_RULE(5, "try_seed's error returned") "a pick whose allocation %ld fails "
                 "returns try_seed's KV_ERR_NOMEM: a failure is not \"nothing to do\" (got %d, "
                 "*out %s)", n, rc, c == NULL ? "NULL" : "a compaction");
        if (rc == KV_OK && c != NULL && c != (compaction *)1)
            compaction_free(c);
    }
    version_unref(v);
}

static const harness_test pick_tests[] = {
    HARNESS_TEST(pick_out_of_memory_is_returned),
    HARNESS_TEST(pick_nothing_below_a_score_of_one),
    HARNESS_TEST(pick_l0_takes_the_oldest_file),
    HARNESS_TEST(pick_l0_waits_while_its_oldest_is_busy),
    HARNESS_TEST(pick_round_robin_after_the_pointer),
    HARNESS_TEST(pick_highest_score_first),
    HARNESS_TEST(pick_a_seed_whose_next_level_is_busy_is_passed_over),
    HARNESS_TEST(pick_every_level_that_has_one_below),
};
const harness_suite pick_suite = HARNESS_SUITE("pick", pick_tests);
