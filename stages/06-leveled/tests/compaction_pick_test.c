/*
 * compaction_pick_test.c: the picker's scores, its choice of inputs at L,
 * L+1 and L+2 (L0's closed set, round robin after the compact pointer,
 * expansion, busy files passed over), trivial moves and their edit, and
 * the rules a running compaction asks about (where to split an output,
 * where a tombstone may go), and garbage compactions (tables full of dead
 * versions, rewritten once the oldest snapshot passes them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "compaction_pick.h"
#include "internal_key.h"
#include "kv.h"
#include "version.h"
#include "version_test_util.h"

#define CHECK_LIST(l, want)                                                         \
    do {                                                                            \
        char got_[256];                                                             \
        vt_numbers((l), got_, sizeof got_);                                         \
        CHECK_MSG(strcmp(got_, (want)) == 0, "%s holds \"%s\", not \"%s\"", #l, got_, \
                  (want));                                                          \
    } while (0)

static compaction_options small_options(uint64_t l1_bytes, uint64_t table_bytes)
{
    compaction_options o;
    compaction_options_from(NULL, &o);
    o.l1_bytes = l1_bytes;
    o.table_bytes = table_bytes;
    return o;
}

static void options_default_and_targets_grow_by_the_ratio(void)
{
    compaction_options o;
    compaction_options_from(NULL, &o);
    CHECK_EQ(o.level_ratio, 10);
    CHECK_EQ(o.l1_bytes, 10u << 20);
    CHECK_EQ(o.table_bytes, 2u << 20);
    CHECK_EQ(o.l0_trigger, 4);
    CHECK_EQ(compaction_level_target(&o, 1), 10u << 20);
    CHECK_EQ(compaction_level_target(&o, 3), 1000ull << 20);
    kv_options ko = {0};
    ko.level_ratio = 4;
    ko.l1_bytes = 1000;
    ko.table_bytes = 300;
    compaction_options_from(&ko, &o);
    CHECK_EQ(o.level_ratio, 4);
    CHECK_EQ(o.table_bytes, 300);
    CHECK_EQ(compaction_level_target(&o, 2), 4000);
    CHECK_EQ(compaction_level_target(&o, 6), 1024000);
    o.level_ratio = 1 << 30;
    CHECK(compaction_level_target(&o, 6) == UINT64_MAX);
}

static void scores_are_l0_files_and_level_bytes_over_target(void)
{
    compaction_options o = small_options(100, 10);
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 0, 1, 5, "a", "b");
    vt_add(&e, 0, 2, 5, "a", "b");
    vt_add(&e, 1, 3, 150, "a", "b");
    vt_add(&e, 2, 4, 500, "a", "b");
    vt_add(&e, 6, 5, 999999, "a", "b");
    version *v = vt_apply(v0, &e);
    CHECK(compaction_level_score(v, &o, 0) == 0.5);
    CHECK(compaction_level_score(v, &o, 1) == 1.5);
    CHECK(compaction_level_score(v, &o, 2) == 0.5);
    CHECK(compaction_level_score(v, &o, 6) == 0);
    int level = -1;
    CHECK(compaction_score(v, &o, &level) == 1.5);
    CHECK_EQ(level, 1);
    /* Below 1 everywhere: nothing to do. */
    compaction *c = (compaction *)1;
    o.l1_bytes = 1000;
    CHECK_KV(compaction_pick(v, &o, NULL, &c), KV_OK);
    CHECK(c == NULL);
    version_unref(v);
    version_unref(v0);
}

static void l0_takes_its_closed_set_and_what_it_overlaps_below(void)
{
    compaction_options o = small_options(1000, 10);
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 0, 1, 10, "a", "c");
    vt_add(&e, 0, 2, 10, "x", "y");
    vt_add(&e, 0, 3, 10, "b", "d");
    vt_add(&e, 0, 4, 10, "c", "e");
    vt_add(&e, 1, 10, 10, "a", "b");
    vt_add(&e, 1, 11, 10, "d", "f");
    vt_add(&e, 1, 12, 10, "g", "h");
    vt_add(&e, 2, 20, 10, "a", "c");
    vt_add(&e, 2, 21, 10, "m", "n");
    version *v = vt_apply(v0, &e);
    compaction *c;
    CHECK_KV(compaction_pick(v, &o, NULL, &c), KV_OK);
    CHECK(c != NULL);
    CHECK_EQ(c->level, 0);
    CHECK(c->score == 1.0);
    CHECK_LIST(&c->inputs[0], "4 3 1");
    CHECK_LIST(&c->inputs[1], "10 11");
    CHECK_LIST(&c->grandparents, "20");
    CHECK(!compaction_is_trivial_move(c));
    CHECK_EQ(compaction_input_bytes(c, 0), 30);
    CHECK_EQ(compaction_input_bytes(c, 1), 20);
    compaction_free(c);
    version_unref(v);
    version_unref(v0);
}

static void a_lone_l0_file_moves_down_by_an_edit(void)
{
    compaction_options o = small_options(1000, 10);
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 0, 1, 10, "a", "b");
    vt_add(&e, 0, 2, 10, "c", "d");
    vt_add(&e, 0, 3, 10, "e", "f");
    vt_add(&e, 0, 4, 10, "g", "h");
    version *v = vt_apply(v0, &e);
    compaction *c;
    CHECK_KV(compaction_pick(v, &o, NULL, &c), KV_OK);
    CHECK_LIST(&c->inputs[0], "1");
    CHECK_EQ(c->inputs[1].n, 0);
    CHECK(compaction_is_trivial_move(c));
    version_edit_init(&e);
    CHECK_KV(compaction_edit(c, &e), KV_OK);
    CHECK_EQ(e.nremoved, 1);
    CHECK_EQ(e.nadded, 1);
    CHECK_EQ(e.npointers, 1);
    uint8_t k[16];
    size_t klen = vt_ikey(k, "b", 1);
    CHECK_EQ(e.pointers[0].level, 0);
    CHECK_MEM(e.pointers[0].key, e.pointers[0].len, k, klen);
    version *v2 = vt_apply(v, &e);
    char buf[64];
    CHECK(strcmp(vt_level(v2, 0, buf, sizeof buf), "4 3 2") == 0);
    CHECK(strcmp(vt_level(v2, 1, buf, sizeof buf), "1") == 0);
    CHECK(v2->files[1][0] == v->files[0][3]);
    compaction_free(c);
    version_unref(v2);
    version_unref(v);
    version_unref(v0);
}

/* L1 over its target with tables 1 [a, b], 2 [c, d], 3 [e, f]. */
static version *three_in_l1(version *v0)
{
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 1, 1, 60, "a", "b");
    vt_add(&e, 1, 2, 60, "c", "d");
    vt_add(&e, 1, 3, 60, "e", "f");
    return vt_apply(v0, &e);
}

static uint64_t picked_after(version *v, const compaction_options *o, const char *key,
                             uint64_t seq)
{
    compaction_pointers p = {0};
    uint8_t k[16];
    if (key != NULL) {
        p.len[1] = vt_ikey(k, key, seq);
        p.key[1] = k;
    }
    compaction *c;
    CHECK_KV(compaction_pick(v, o, &p, &c), KV_OK);
    CHECK(c != NULL && c->level == 1 && c->inputs[0].n == 1);
    uint64_t n = c->inputs[0].files[0]->number;
    compaction_free(c);
    return n;
}

static void a_level_is_compacted_round_robin_after_its_pointer(void)
{
    compaction_options o = small_options(100, 10);
    version *v0 = vt_empty();
    version *v = three_in_l1(v0);
    CHECK_EQ(picked_after(v, &o, NULL, 0), 1);
    CHECK_EQ(picked_after(v, &o, "b", 1), 2);   /* table 1's largest */
    CHECK_EQ(picked_after(v, &o, "c", 50), 2);  /* inside table 2 */
    CHECK_EQ(picked_after(v, &o, "d", 1), 3);
    CHECK_EQ(picked_after(v, &o, "f", 1), 1);   /* past the last: wraps */
    CHECK_EQ(picked_after(v, &o, "z", 1), 1);
    /* A busy table is passed over, and a busy level for the next best. */
    v->files[1][0]->being_compacted = 1;
    CHECK_EQ(picked_after(v, &o, NULL, 0), 2);
    compaction *c;
    CHECK_KV(compaction_pick(v, &o, NULL, &c), KV_OK);
    compaction_mark(c, 1);
    CHECK(v->files[1][1]->being_compacted);
    compaction *c2;
    CHECK_KV(compaction_pick(v, &o, NULL, &c2), KV_OK);
    CHECK(c2 != NULL && c2->inputs[0].files[0]->number == 3);
    compaction_mark(c2, 1);
    compaction *c3;
    CHECK_KV(compaction_pick(v, &o, NULL, &c3), KV_OK);  /* all three busy */
    CHECK(c3 == NULL);
    compaction_free(c2);
    compaction_free(c);
    version_unref(v);
    version_unref(v0);
}

static void inputs_expand_while_the_next_level_set_stays(void)
{
    compaction_options o = small_options(100, 10);
    version *v0 = vt_empty();
    version *v1 = three_in_l1(v0);
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 2, 10, 10, "a", "d");
    version *v = vt_apply(v1, &e);
    compaction *c;
    CHECK_KV(compaction_pick(v, &o, NULL, &c), KV_OK);
    CHECK_LIST(&c->inputs[0], "1 2");  /* 2 fits in [a, d] at no cost */
    CHECK_LIST(&c->inputs[1], "10");
    compaction_free(c);
    /* Not past 25 target files of input. */
    o.table_bytes = 4;
    CHECK_KV(compaction_pick(v, &o, NULL, &c), KV_OK);
    CHECK_LIST(&c->inputs[0], "1");
    compaction_free(c);
    version_unref(v);
    /* Not when it would take one more file of L2. */
    o.table_bytes = 10;
    version_edit_init(&e);
    vt_add(&e, 2, 10, 10, "a", "c");
    vt_add(&e, 2, 11, 10, "d", "e");
    v = vt_apply(v1, &e);
    CHECK_KV(compaction_pick(v, &o, NULL, &c), KV_OK);
    CHECK_LIST(&c->inputs[0], "1");
    CHECK_LIST(&c->inputs[1], "10");
    compaction_free(c);
    version_unref(v);
    version_unref(v1);
    version_unref(v0);
}

static void a_range_compaction_takes_the_files_in_the_range_and_never_moves(void)
{
    compaction_options o = small_options(1000, 10);
    version *v0 = vt_empty();
    version *v = three_in_l1(v0);
    compaction *c;
    CHECK_KV(compaction_pick_range(v, &o, 1, (const uint8_t *)"b", 1, (const uint8_t *)"e", 1, &c),
             KV_OK);
    CHECK_LIST(&c->inputs[0], "1 2 3");
    CHECK(c->score == 0);
    compaction_free(c);
    /* One table, nothing below it: still rewritten, never moved. */
    CHECK_KV(compaction_pick_range(v, &o, 1, (const uint8_t *)"c", 1, (const uint8_t *)"c", 1, &c),
             KV_OK);
    CHECK_LIST(&c->inputs[0], "2");
    CHECK_EQ(c->inputs[1].n, 0);
    CHECK(c->manual && !compaction_is_trivial_move(c));
    version_edit e;
    version_edit_init(&e);
    CHECK_KV(compaction_edit(c, &e), KV_OK);
    CHECK_EQ(e.nremoved, 1);
    CHECK_EQ(e.nadded, 0);
    version_edit_free(&e);
    compaction_free(c);
    CHECK_KV(compaction_pick_range(v, &o, 2, NULL, 0, NULL, 0, &c), KV_OK);
    CHECK(c == NULL);
    CHECK_KV(compaction_pick_range(v, &o, VERSION_LEVELS - 1, NULL, 0, NULL, 0, &c),
             KV_ERR_INVALID);
    CHECK(c == NULL);
    version_unref(v);
    version_unref(v0);
}

/* L1: one table [a, z] over target; L3 (grandparents): 30 tables of 300
 * bytes, table k holding "kNN0" .. "kNN9".  Target file 100 bytes, so an
 * output may overlap 1000 bytes of grandparents. */
static version *with_grandparents(version *v0)
{
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 1, 1, 200, "a", "z");
    for (int k = 0; k < 30; k++) {
        char lo[16], hi[16];
        snprintf(lo, sizeof lo, "k%02d0", k);
        snprintf(hi, sizeof hi, "k%02d9", k);
        vt_add(&e, 3, (uint64_t)(100 + k), 300, lo, hi);
    }
    return vt_apply(v0, &e);
}

static void outputs_split_at_grandparent_overlap(void)
{
    compaction_options o = small_options(100, 100);
    version *v0 = vt_empty();
    version *v = with_grandparents(v0);
    compaction *c;
    CHECK_KV(compaction_pick(v, &o, NULL, &c), KV_OK);
    CHECK_EQ(c->level, 1);
    CHECK_EQ(c->grandparents.n, 30);
    CHECK(!compaction_is_trivial_move(c)); /* 9000 bytes below it */
    /* Key kNN5 passes table NN-1: 300 bytes more each time; past 1000
     * (the fourth), a new output. */
    for (int k = 0; k < 30; k++) {
        char key[16];
        uint8_t ik[16];
        snprintf(key, sizeof key, "k%02d5", k);
        size_t n = vt_ikey(ik, key, 9);
        int stop = compaction_should_stop_before(c, ik, n, 0);
        CHECK_MSG(stop == (k > 0 && k % 4 == 0), "key %s: %d", key, stop);
        /* An older version of the same key never starts a table. */
        n = vt_ikey(ik, key, 8);
        CHECK_EQ(compaction_should_stop_before(c, ik, n, 1000), 0);
    }
    compaction_free(c);
    version_unref(v);
    version_unref(v0);
}

static void outputs_split_at_the_target_size_between_user_keys(void)
{
    compaction_options o = small_options(100, 100);
    version *v0 = vt_empty();
    version *v = three_in_l1(v0);
    compaction *c;
    CHECK_KV(compaction_pick(v, &o, NULL, &c), KV_OK);
    uint8_t ik[16];
    size_t n = vt_ikey(ik, "a", 5);
    CHECK_EQ(compaction_should_stop_before(c, ik, n, 0), 0);
    n = vt_ikey(ik, "a", 4);
    CHECK_EQ(compaction_should_stop_before(c, ik, n, 150), 0);  /* same user key */
    n = vt_ikey(ik, "aa", 4);
    CHECK_EQ(compaction_should_stop_before(c, ik, n, 99), 0);
    n = vt_ikey(ik, "ab", 4);
    CHECK_EQ(compaction_should_stop_before(c, ik, n, 100), 1);
    n = vt_ikey(ik, "ac", 4);
    CHECK_EQ(compaction_should_stop_before(c, ik, n, 0), 0);
    compaction_free(c);
    version_unref(v);
    version_unref(v0);
}

static void a_tombstone_may_go_where_no_deeper_level_holds_its_key(void)
{
    compaction_options o = small_options(100, 10);
    version *v0 = vt_empty();
    version *v1 = three_in_l1(v0);
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 2, 10, 10, "a", "b");  /* the output level: not asked */
    vt_add(&e, 3, 11, 10, "b", "b");
    vt_add(&e, 5, 12, 10, "x", "y");
    version *v = vt_apply(v1, &e);
    compaction *c;
    CHECK_KV(compaction_pick(v, &o, NULL, &c), KV_OK);
    CHECK_EQ(c->level, 1);
    CHECK(compaction_is_base_level_for_key(c, (const uint8_t *)"a", 1));
    CHECK(!compaction_is_base_level_for_key(c, (const uint8_t *)"b", 1));
    CHECK(!compaction_is_base_level_for_key(c, (const uint8_t *)"xx", 2));
    CHECK(compaction_is_base_level_for_key(c, (const uint8_t *)"z", 1));
    compaction_free(c);
    version_unref(v);
    version_unref(v1);
    version_unref(v0);
}

static void the_highest_score_goes_first(void)
{
    compaction_options o = small_options(100, 10);
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    for (int i = 1; i <= 4; i++) /* L0 score 1 */
        vt_add(&e, 0, (uint64_t)i, 10, "a", "b");
    vt_add(&e, 1, 5, 300, "c", "d"); /* L1 score 3 */
    vt_add(&e, 2, 6, 2500, "e", "f"); /* L2 score 2.5 */
    version *v = vt_apply(v0, &e);
    compaction *c;
    CHECK_KV(compaction_pick(v, &o, NULL, &c), KV_OK);
    CHECK_EQ(c->level, 1);
    CHECK(c->score == 3.0);
    compaction_mark(c, 1);
    compaction *c2;
    CHECK_KV(compaction_pick(v, &o, NULL, &c2), KV_OK);
    CHECK_EQ(c2->level, 2);
    compaction_mark(c2, 1);
    compaction *c3;
    CHECK_KV(compaction_pick(v, &o, NULL, &c3), KV_OK);
    CHECK_EQ(c3->level, 0);
    CHECK_LIST(&c3->inputs[0], "4 3 2 1");
    compaction_mark(c, 0);
    CHECK(!v->files[1][0]->being_compacted);
    compaction_free(c3);
    compaction_free(c2);
    compaction_free(c);
    version_unref(v);
    version_unref(v0);
}

static void a_level_shows_its_next_pick_before_it_is_due(void)
{
    compaction_options o = small_options(100, 10);
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 0, 1, 10, "a", "b");   /* L0 score 0.25 */
    vt_add(&e, 1, 2, 20, "a", "c");   /* L1 score 0.5 */
    vt_add(&e, 1, 3, 30, "x", "z");
    vt_add(&e, 2, 4, 10, "b", "e");
    version *v = vt_apply(v0, &e);
    compaction *c = (compaction *)1;
    CHECK_KV(compaction_pick(v, &o, NULL, &c), KV_OK);
    CHECK(c == NULL); /* nothing is due */
    CHECK_KV(compaction_pick_level(v, &o, NULL, 1, &c), KV_OK);
    CHECK(c != NULL);
    CHECK_EQ(c->level, 1);
    CHECK(c->score == 0.5);
    CHECK_LIST(&c->inputs[0], "2");
    CHECK_LIST(&c->inputs[1], "4");
    compaction_free(c);
    CHECK_KV(compaction_pick_level(v, &o, NULL, 3, &c), KV_OK);
    CHECK(c == NULL); /* an empty level */
    CHECK_KV(compaction_pick_level(v, &o, NULL, VERSION_LEVELS - 1, &c), KV_ERR_INVALID);
    CHECK(c == NULL);
    version_unref(v);
    version_unref(v0);
}

/* GARBAGE: once the oldest snapshot passes a table's dead_from, and half
 * its entries or more are dead, the table with the most dead entries is
 * rewritten in place, alone (a level-0 one by level 0's compaction);
 * tables less dead, and tables still pinned, are left (the earliest pin is
 * what the engine waits for). */
static void a_table_full_of_dead_versions_is_rewritten_once_unpinned(void)
{
    compaction_options o = small_options(1u << 30, 10);
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 0, 1, 10, "a", "z");
    version_edit_file_dead(&e, 5, 500);      /* level 0: its own compaction */
    vt_add(&e, 2, 2, 10, "a", "b");
    version_edit_file_dead(&e, 4, 50);       /* 4 of 10: under the share */
    vt_add(&e, 2, 3, 10, "c", "d");
    version_edit_file_dead(&e, 5, 100);
    vt_add(&e, 2, 4, 10, "e", "f");
    version_edit_file_dead(&e, 8, 200);
    vt_add(&e, 3, 5, 10, "c", "c");          /* below #3: a grandparent */
    version *v = vt_apply(v0, &e);
    compaction *c = NULL;
    uint64_t wait_for = 0;
    CHECK_KV(compaction_pick_garbage(v, &o, 99, &c, &wait_for), KV_OK);
    CHECK(c == NULL);
    CHECK_EQ(wait_for, 100);                 /* #3 is due first */
    CHECK_KV(compaction_pick_garbage(v, &o, 150, &c, &wait_for), KV_OK);
    CHECK(c != NULL);
    CHECK_EQ(wait_for, 200);
    CHECK_EQ(c->level, 1);                   /* output at level 2, in place */
    CHECK_EQ(c->inputs[0].n, 0);
    CHECK_LIST(&c->inputs[1], "3");
    CHECK_LIST(&c->grandparents, "5");
    CHECK(!compaction_is_trivial_move(c));
    size_t plen = 1;
    CHECK(compaction_next_pointer(c, &plen) == NULL && plen == 0);
    CHECK(compaction_is_base_level_for_key(c, (const uint8_t *)"d", 1));
    CHECK(!compaction_is_base_level_for_key(c, (const uint8_t *)"c", 1));
    compaction_free(c);
    CHECK_KV(compaction_pick_garbage(v, &o, 1000, &c, &wait_for), KV_OK);
    CHECK_LIST(&c->inputs[1], "4");          /* the most dead first */
    CHECK_EQ(wait_for, 0);
    c->inputs[1].files[0]->being_compacted = 1;
    compaction_free(c);
    CHECK_KV(compaction_pick_garbage(v, &o, 400, &c, &wait_for), KV_OK);
    CHECK_LIST(&c->inputs[1], "3");          /* a busy one is passed over */
    CHECK_EQ(wait_for, 500);
    compaction_free(c);
    CHECK_KV(compaction_pick_garbage(v, &o, 500, &c, &wait_for), KV_OK);
    CHECK_EQ(c->level, 0);                   /* #1: level 0 into level 1 */
    CHECK_LIST(&c->inputs[0], "1");
    compaction_free(c);
    version_unref(v);
    version_unref(v0);
}

static const harness_test compaction_pick_tests[] = {
    HARNESS_TEST(options_default_and_targets_grow_by_the_ratio),
    HARNESS_TEST(scores_are_l0_files_and_level_bytes_over_target),
    HARNESS_TEST(l0_takes_its_closed_set_and_what_it_overlaps_below),
    HARNESS_TEST(a_lone_l0_file_moves_down_by_an_edit),
    HARNESS_TEST(a_level_is_compacted_round_robin_after_its_pointer),
    HARNESS_TEST(inputs_expand_while_the_next_level_set_stays),
    HARNESS_TEST(a_range_compaction_takes_the_files_in_the_range_and_never_moves),
    HARNESS_TEST(outputs_split_at_grandparent_overlap),
    HARNESS_TEST(outputs_split_at_the_target_size_between_user_keys),
    HARNESS_TEST(a_tombstone_may_go_where_no_deeper_level_holds_its_key),
    HARNESS_TEST(the_highest_score_goes_first),
    HARNESS_TEST(a_level_shows_its_next_pick_before_it_is_due),
    HARNESS_TEST(a_table_full_of_dead_versions_is_rewritten_once_unpinned),
};
const harness_suite compaction_pick_suite = HARNESS_SUITE("compaction_pick", compaction_pick_tests);
