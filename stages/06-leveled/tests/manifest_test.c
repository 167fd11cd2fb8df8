/*
 * manifest_test.c: the manifest (manifest.h) written and replayed: a
 * history of flushes, compactions and a trivial move read back as the
 * version they make, byte for byte as docs/06-leveled.md shows; levels
 * laid out newest first and by key; a roll-over; each check of
 * manifest_state.h refused with the record's offset.  Damage and failing
 * I/O are manifest_damage_test.c, power loss manifest_crash_test.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "coding.h"
#include "crc32c.h"
#include "io.h"
#include "kv.h"
#include "manifest.h"
#include "manifest_test_util.h"

static void expect_state(const manifest_state *st, const char *want)
{
    mt_text t;
    mt_state_text(st, &t);
    CHECK_MSG(strcmp(t.s, want) == 0, "state:\n%swanted:\n%s", t.s, want);
}

static void history_replays_to_its_version(void)
{
    const char *dir = harness_tmpdir();
    version_edit h[MT_HISTORY];
    mt_history(h);
    manifest_writer *w = mt_write_history(dir, h, MT_HISTORY);
    uint64_t bytes = manifest_writer_bytes(w);
    CHECK_EQ(manifest_writer_number(w), 1);
    manifest_writer_free(w);
    manifest_state st;
    CHECK_KV(manifest_recover(dir, 1, &st), KV_OK);
    expect_state(&st, mt_history_text);
    CHECK_EQ(st.number, 1);
    CHECK_EQ(st.records, MT_HISTORY);
    CHECK_EQ(st.size, bytes);
    CHECK_EQ(st.end, bytes);
    CHECK(!st.torn);
    CHECK_EQ(st.v->nfiles[0], 0);
    CHECK_EQ(st.v->nfiles[1], 1);
    CHECK_EQ(st.v->level_bytes[2], 5000);
    manifest_state_free(&st);
    /* The file is exactly what mt_manifest_bytes lays out. */
    size_t n, wn;
    uint8_t *p = mt_read_file(harness_join(dir, "MANIFEST-000001"), &n);
    uint8_t *want = mt_manifest_bytes(mt_edit_ptrs(h, MT_HISTORY), MT_HISTORY, &wn, NULL);
    CHECK_MEM(p, n, want, wn);
    free(p);
    free(want);
    mt_history_free(h);
}

/* docs/06-leveled.md, "The manifest format": a new database's manifest
 * after one flush, byte for byte, and its CURRENT. */
static void new_database_and_a_flush_match_the_worked_example(void)
{
    static const char *const want_hex =
        "4b565330364d414e" "01000000" "cb5be32b"          /* header */
        "35ee67cb" "0600" "01" "010002020300"              /* the snapshot */
        "d27fe840" "2000" "01" "010202030302" "060002d20902"
        "09610101000000000000" "09620102000000000000";     /* the flush */
    const char *dir = harness_tmpdir();
    version_edit s, f;
    version_edit_init(&s);
    version_edit_init(&f);
    mt_counters(&s, 0, 2, 0);
    mt_counters(&f, 2, 3, 2);
    uint8_t a[9], b[9];
    mt_ikey(a, "a", 1);
    mt_ikey(b, "b", 2);
    CHECK_KV(version_edit_add_file(&f, 0, 2, 1234, 2, a, 9, b, 9), KV_OK);
    manifest_writer *w = NULL;
    CHECK_KV(manifest_create(dir, 1, &s, &w, NULL), KV_OK);
    CHECK_KV(manifest_append(w, &f), KV_OK);
    CHECK_EQ(manifest_writer_bytes(w), 68);
    manifest_writer_free(w);
    uint8_t want[128];
    size_t wn = 0;
    for (const char *h = want_hex; *h; h++) {
        unsigned v;
        CHECK(sscanf(h, "%2x", &v) == 1);
        want[wn++] = (uint8_t)v;
        h++;
    }
    size_t n;
    uint8_t *p = mt_read_file(harness_join(dir, "MANIFEST-000001"), &n);
    char hex[HARNESS_HEX_BUF];
    CHECK_MSG(n == wn && memcmp(p, want, n) == 0, "%zu bytes: %s...", n,
              harness_hex(hex, p, n));
    free(p);
    p = mt_read_file(harness_join(dir, "CURRENT"), &n);
    CHECK_MEM(p, n, "MANIFEST-000001 crc32c=7ed3298a\n", 32);
    free(p);
    version_edit_free(&s);
    version_edit_free(&f);
}

static void levels_are_laid_out_newest_first_and_by_key(void)
{
    version_edit h[2];
    version_edit_init(&h[0]);
    version_edit_init(&h[1]);
    mt_counters(&h[0], 0, 100, 0);
    mt_add(&h[0], 0, 7, "a", "z");
    mt_add(&h[0], 0, 9, "c", "d");
    mt_add(&h[0], 0, 8, "a", "b");
    mt_add(&h[1], 3, 20, "p", "q");
    mt_add(&h[1], 3, 12, "d", "e");
    mt_add(&h[1], 3, 30, "f", "g");
    size_t n;
    uint8_t *p = mt_manifest_bytes(mt_edit_ptrs(h, 2), 2, &n, NULL);
    manifest_state st;
    CHECK_KV(manifest_recover_mem(p, n, "m", 0, &st), KV_OK);
    CHECK_EQ(st.v->nfiles[0], 3);
    CHECK(st.v->files[0][0]->number == 9 && st.v->files[0][1]->number == 8 &&
          st.v->files[0][2]->number == 7);
    CHECK_EQ(st.v->nfiles[3], 3);
    CHECK(st.v->files[3][0]->number == 12 && st.v->files[3][1]->number == 30 &&
          st.v->files[3][2]->number == 20);
    manifest_state_free(&st);
    free(p);
    version_edit_free(&h[0]);
    version_edit_free(&h[1]);
}

/* A table's dead entries (tag 7) reach its vfile when the manifest is
 * replayed, and the snapshot of a new manifest keeps them. */
static void dead_entries_are_replayed_and_kept_by_a_roll_over(void)
{
    version_edit h[2];
    version_edit_init(&h[0]);
    version_edit_init(&h[1]);
    mt_counters(&h[0], 0, 100, 0);
    mt_add(&h[0], 2, 7, "a", "c");
    version_edit_file_dead(&h[0], 6, 40);
    mt_add(&h[1], 3, 8, "d", "e");
    size_t n;
    uint8_t *p = mt_manifest_bytes(mt_edit_ptrs(h, 2), 2, &n, NULL);
    manifest_state st;
    CHECK_KV(manifest_recover_mem(p, n, "m", 0, &st), KV_OK);
    CHECK(st.v->files[2][0]->dead == 6 && st.v->files[2][0]->dead_from == 40);
    CHECK(st.v->files[3][0]->dead == 0 && st.v->files[3][0]->dead_from == 0);
    version_edit snap;
    CHECK_KV(manifest_state_snapshot(&st, &snap), KV_OK);
    CHECK(snap.added[0].number == 7 && snap.added[0].dead == 6 && snap.added[0].dead_from == 40);
    CHECK_EQ(snap.added[1].dead, 0);
    version_edit_free(&snap);
    manifest_state_free(&st);
    free(p);
    version_edit_free(&h[0]);
    version_edit_free(&h[1]);
}

/* Roll-over: a new manifest with the recovered state's snapshot, then
 * CURRENT names it; the old file is left for the caller to delete. */
static void roll_over_makes_the_new_manifest_live(void)
{
    const char *dir = harness_tmpdir();
    version_edit h[MT_HISTORY];
    mt_history(h);
    manifest_writer *w = mt_write_history(dir, h, MT_HISTORY);
    manifest_writer_free(w);
    manifest_state st;
    CHECK_KV(manifest_recover(dir, 0, &st), KV_OK);
    version_edit snap, more;
    CHECK_KV(manifest_state_snapshot(&st, &snap), KV_OK);
    manifest_state_free(&st);
    CHECK_KV(manifest_create(dir, 6, &snap, &w, NULL), KV_OK);
    version_edit_init(&more);
    version_edit_set_next_file(&more, 8);
    mt_add(&more, 0, 7, "x", "y");
    CHECK_KV(manifest_append(w, &more), KV_OK);
    manifest_writer_free(w);
    CHECK_KV(manifest_recover(dir, 1, &st), KV_OK);
    CHECK_EQ(st.number, 6);
    CHECK_EQ(st.records, 2);
    CHECK_EQ(st.v->nfiles[0], 1);
    CHECK_EQ(st.v->nfiles[1] + st.v->nfiles[2], 2);
    CHECK_EQ(st.next_file, 8);
    manifest_state_free(&st);
    int exists = 0;
    CHECK_KV(io_exists(harness_join(dir, "MANIFEST-000001"), &exists), KV_OK);
    CHECK(exists);
    version_edit_free(&snap);
    version_edit_free(&more);
    mt_history_free(h);
}

/* edits[0..n) replayed must be refused, the message containing `says`. */
static void expect_replay_refused(const version_edit *edits, size_t n, const char *says)
{
    size_t len;
    uint8_t *p = mt_manifest_bytes(mt_edit_ptrs(edits, n), n, &len, NULL);
    manifest_state st;
    CHECK_KV(manifest_recover_mem(p, len, "db/MANIFEST-000004", 0, &st), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "db/MANIFEST-000004: ") != NULL &&
              strstr(kv_errmsg(), says) != NULL, "%s (wanted \"%s\")", kv_errmsg(), says);
    manifest_state_free(&st);
    free(p);
}

static void each_check_of_the_state_is_refused_with_its_record(void)
{
    version_edit e[3];
    for (int i = 0; i < 3; i++)
        version_edit_init(&e[i]);
    /* 1: the first record is a snapshot */
    version_edit_set_log_seq(&e[0], 1);
    version_edit_set_next_file(&e[0], 9);
    expect_replay_refused(e, 1, "record at offset 16: the first record is not a snapshot: it "
                          "does not set last_seq");
    version_edit_set_last_seq(&e[0], 1);
    mt_add(&e[0], 1, 3, "a", "c");
    /* 2: a removed table exists, at that level */
    CHECK_KV(version_edit_remove_file(&e[1], 1, 4), KV_OK);
    expect_replay_refused(e, 2, "removes table 000004 from level 1, but no level holds it");
    version_edit_free(&e[1]);
    CHECK_KV(version_edit_remove_file(&e[1], 2, 3), KV_OK);
    expect_replay_refused(e, 2, "removes table 000003 from level 2, but it is at level 1 (added "
                          "by the record at offset 16)");
    version_edit_free(&e[1]);
    /* 3: an added table is new, even within one edit */
    mt_add(&e[1], 0, 3, "x", "y");
    expect_replay_refused(e, 2, "adds table 000003 to level 0, but level 1 holds it already");
    version_edit_free(&e[1]);
    mt_add(&e[1], 0, 5, "x", "y");
    mt_add(&e[1], 4, 5, "x", "y");
    expect_replay_refused(e, 2, "adds table 000005 to level 4, but level 0 holds it already");
    version_edit_free(&e[1]);
    /* 4: levels >= 1 disjoint (L0 may overlap) */
    mt_add(&e[1], 0, 4, "a", "c");
    mt_add(&e[1], 0, 5, "b", "b");
    mt_add(&e[1], 1, 6, "c", "d");
    expect_replay_refused(e, 2, "level 1: table 000003 (largest key \"c\") overlaps table "
                          "000006");
    version_edit_free(&e[1]);
    /* ... in user keys: versions of "c" on both sides of a boundary */
    uint8_t c0[16], d1[16];
    size_t c0n = mt_ikey(c0, "c", 0), d1n = mt_ikey(d1, "d", 1);
    CHECK_KV(version_edit_add_file(&e[1], 1, 6, 1, 1, c0, c0n, d1, d1n), KV_OK);
    expect_replay_refused(e, 2, "level 1: table 000003 (largest key \"c\") overlaps table "
                          "000006 (smallest key \"c\")");
    version_edit_free(&e[1]);
    mt_add(&e[1], 1, 6, "ca", "d");
    mt_add(&e[1], 1, 7, "0", "1");
    size_t okn;
    uint8_t *ok = mt_manifest_bytes(mt_edit_ptrs(e, 2), 2, &okn, NULL);
    manifest_state okst;
    CHECK_KV(manifest_recover_mem(ok, okn, "m", 0, &okst), KV_OK);
    CHECK(okst.v->nfiles[1] == 3 && okst.v->files[1][0]->number == 7 && okst.v->files[1][2]->number == 6);
    manifest_state_free(&okst);
    free(ok);
    version_edit_free(&e[1]);
    /* 5: next_file above every table */
    mt_add(&e[1], 2, 9, "a", "c");
    expect_replay_refused(e, 2, "the next file number is 9, but table 9 is in the version");
    /* A record whose checksum holds but which is no edit. */
    version_edit_free(&e[1]);
    version_edit_set_log_seq(&e[1], 2);
    version_edit_set_log_seq(&e[2], 3);
    size_t len;
    uint64_t ends[3];
    uint8_t *p = mt_manifest_bytes(mt_edit_ptrs(e, 3), 3, &len, ends);
    CHECK(p[ends[1] + 7] == EDIT_TAG_LOG_SEQ);
    p[ends[1] + 7] = 0x7f; /* the third record's tag, and its crc made to match */
    uint32_t crc = crc32c_value(p + ends[1] + 4, 3 + (len - ends[1] - 7));
    coding_put_u32(p + ends[1], crc);
    manifest_state st;
    CHECK_KV(manifest_recover_mem(p, len, "m", 0, &st), KV_ERR_CORRUPT);
    char want[120];
    snprintf(want, sizeof want, "m: record at offset %" PRIu64 ": offset 0 in the edit: "
             "unknown tag 127", ends[1]);
    CHECK_MSG(strstr(kv_errmsg(), want) != NULL, "%s", kv_errmsg());
    manifest_state_free(&st);
    free(p);
    for (int i = 0; i < 3; i++)
        version_edit_free(&e[i]);
}

/* A trivial move removes a table and adds it one level down, in one edit. */
static void a_table_may_move_down_within_one_edit(void)
{
    version_edit e[2];
    version_edit_init(&e[0]);
    version_edit_init(&e[1]);
    mt_counters(&e[0], 0, 9, 0);
    mt_add(&e[0], 1, 3, "a", "c");
    CHECK_KV(version_edit_remove_file(&e[1], 1, 3), KV_OK);
    mt_add(&e[1], 2, 3, "a", "c");
    size_t len;
    uint8_t *p = mt_manifest_bytes(mt_edit_ptrs(e, 2), 2, &len, NULL);
    manifest_state st;
    CHECK_KV(manifest_recover_mem(p, len, "m", 0, &st), KV_OK);
    CHECK(st.v->nfiles[1] == 0 && st.v->nfiles[2] == 1 && st.v->files[2][0]->number == 3);
    manifest_state_free(&st);
    free(p);
    version_edit_free(&e[0]);
    version_edit_free(&e[1]);
}

static const harness_test manifest_tests[] = {
    HARNESS_TEST(history_replays_to_its_version),
    HARNESS_TEST(new_database_and_a_flush_match_the_worked_example),
    HARNESS_TEST(levels_are_laid_out_newest_first_and_by_key),
    HARNESS_TEST(roll_over_makes_the_new_manifest_live),
    HARNESS_TEST(dead_entries_are_replayed_and_kept_by_a_roll_over),
    HARNESS_TEST(each_check_of_the_state_is_refused_with_its_record),
    HARNESS_TEST(a_table_may_move_down_within_one_edit),
};
const harness_suite manifest_suite = HARNESS_SUITE("manifest", manifest_tests);
