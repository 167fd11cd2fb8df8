/*
 * compaction_flush_test.c: where a table flushed from the memtable goes
 * (compaction_flush_level, compaction_pick.h "FLUSH PLACEMENT"): level 0
 * when a level-0 table overlaps it; otherwise down to the level above the
 * first one that overlaps it, or above the first whose next level it
 * overlaps by more than 10 target tables, and at most to level 2.
 * Versions are built by hand (version_test_util.h); a flush's range is
 * given in user keys, as the engine passes them.
 */
#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "compaction_pick.h"
#include "version.h"
#include "version_test_util.h"

/* Target tables of 10 bytes: a grandparent overlap of 100 bytes is the
 * most a placement allows. */
static compaction_options flush_options(void)
{
    compaction_options o;
    compaction_options_from(NULL, &o);
    o.table_bytes = 10;
    return o;
}

static int level_for(const version *v, const char *lo, const char *hi)
{
    compaction_options o = flush_options();
    return compaction_flush_level(v, &o, (const uint8_t *)lo, strlen(lo), (const uint8_t *)hi,
                                  strlen(hi));
}

static void a_flush_into_an_empty_database_goes_to_level_2(void)
{
    version *v = vt_empty();
    CHECK_EQ(level_for(v, "a", "z"), COMPACTION_MAX_FLUSH_LEVEL);
    CHECK_EQ(COMPACTION_MAX_FLUSH_LEVEL, 2);
    version_unref(v);
}

static void a_flush_overlapping_level_0_stays_there(void)
{
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 0, 1, 10, "c", "f");
    vt_add(&e, 0, 2, 10, "p", "q");
    version *v = vt_apply(v0, &e);
    CHECK_EQ(level_for(v, "e", "g"), 0);
    CHECK_EQ(level_for(v, "f", "g"), 0);   /* ranges are closed: sharing "f" overlaps */
    CHECK_EQ(level_for(v, "a", "c"), 0);
    CHECK_EQ(level_for(v, "a", "z"), 0);   /* both inside it */
    /* Between and beside the level-0 tables, nothing overlaps: down it goes. */
    CHECK_EQ(level_for(v, "g", "o"), 2);
    CHECK_EQ(level_for(v, "r", "z"), 2);
    version_unref(v);
    version_unref(v0);
}

static void a_flush_overlapping_level_1_stays_in_level_0(void)
{
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 1, 1, 10, "d", "h");
    vt_add(&e, 1, 2, 10, "m", "n");
    version *v = vt_apply(v0, &e);
    CHECK_EQ(level_for(v, "e", "f"), 0);
    CHECK_EQ(level_for(v, "h", "k"), 0);
    CHECK_EQ(level_for(v, "a", "z"), 0);
    CHECK_EQ(level_for(v, "i", "l"), 2);   /* in the gap between the two */
    version_unref(v);
    version_unref(v0);
}

static void a_flush_overlapping_level_2_stops_in_level_1(void)
{
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 2, 1, 10, "d", "h");
    version *v = vt_apply(v0, &e);
    CHECK_EQ(level_for(v, "e", "f"), 1);
    CHECK_EQ(level_for(v, "a", "d"), 1);
    CHECK_EQ(level_for(v, "i", "k"), 2);
    version_unref(v);
    version_unref(v0);
}

static void too_much_grandparent_overlap_keeps_a_flush_higher(void)
{
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    /* Level 2: 100 bytes in [a, d], the most allowed; 110 in [a, f]. */
    vt_add(&e, 2, 1, 60, "a", "b");
    vt_add(&e, 2, 2, 40, "c", "d");
    vt_add(&e, 2, 3, 10, "e", "f");
    /* Level 3: 101 bytes in [p, r], one over. */
    vt_add(&e, 3, 4, 101, "p", "r");
    version *v = vt_apply(v0, &e);
    /* Into level 1, [a, d] would overlap 100 bytes of level 2: allowed;
     * then level 2 overlaps it: it stops in level 1. */
    CHECK_EQ(level_for(v, "a", "d"), 1);
    /* [a, f] would overlap 110 bytes of level 2 from level 1: level 0. */
    CHECK_EQ(level_for(v, "a", "f"), 0);
    CHECK_EQ(level_for(v, "b", "e"), 0);
    /* [p, r] overlaps nothing in levels 0 to 2, but 101 bytes of level 3:
     * into level 1 (level 2 is not overlapped), not level 2. */
    CHECK_EQ(level_for(v, "p", "q"), 1);
    /* Beyond everything: level 2. */
    CHECK_EQ(level_for(v, "s", "z"), 2);
    version_unref(v);
    version_unref(v0);
}

/* Flushes of ascending key ranges, as a sequential fill makes them, each
 * added where compaction_flush_level says: every one lands in level 2 (and
 * version_apply, which checks that level 2 stays sorted and disjoint,
 * accepts each).  Then overwrites: of all of it, level 0; of a few keys,
 * level 1. */
static void a_sequential_fill_lands_below_level_0(void)
{
    version *v = vt_empty();
    char lo[8], hi[8];
    for (int i = 0; i < 20; i++) {
        snprintf(lo, sizeof lo, "k%03d", 2 * i);
        snprintf(hi, sizeof hi, "k%03d", 2 * i + 1);
        int level = level_for(v, lo, hi);
        CHECK_EQ(level, 2);
        version_edit e;
        version_edit_init(&e);
        vt_add(&e, level, (uint64_t)i + 1, 10, lo, hi);
        version *next = vt_apply(v, &e);
        version_unref(v);
        v = next;
    }
    CHECK_EQ(v->nfiles[0] + v->nfiles[1], 0);
    CHECK_EQ(v->nfiles[2], 20);
    /* An overwrite of all of it meets level 2 (200 bytes, over the 100 a
     * placement into level 1 allows): level 0. */
    CHECK_EQ(level_for(v, "k000", "k039"), 0);
    /* One of a few of its keys overlaps 20 bytes of level 2: level 1. */
    CHECK_EQ(level_for(v, "k000", "k003"), 1);
    version_unref(v);
}

static const harness_test compaction_flush_tests[] = {
    HARNESS_TEST(a_flush_into_an_empty_database_goes_to_level_2),
    HARNESS_TEST(a_flush_overlapping_level_0_stays_there),
    HARNESS_TEST(a_flush_overlapping_level_1_stays_in_level_0),
    HARNESS_TEST(a_flush_overlapping_level_2_stops_in_level_1),
    HARNESS_TEST(too_much_grandparent_overlap_keeps_a_flush_higher),
    HARNESS_TEST(a_sequential_fill_lands_below_level_0),
};
const harness_suite compaction_flush_suite = HARNESS_SUITE("compaction_flush", compaction_flush_tests);
