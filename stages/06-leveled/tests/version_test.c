/*
 * version_test.c: versions made from edits keep their invariants (L0
 * newest first, levels >= 1 sorted and disjoint, sizes summed), refuse an
 * edit that would break one, share their files and release each exactly
 * when no version holds it; lookups by key find the right file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "error.h"
#include "internal_key.h"
#include "kv.h"
#include "version.h"
#include "version_test_util.h"

#define CHECK_LEVEL(v, l, want)                                                   \
    do {                                                                          \
        char got_[256];                                                           \
        vt_level((v), (l), got_, sizeof got_);                                    \
        CHECK_MSG(strcmp(got_, (want)) == 0, "level %d holds \"%s\", not \"%s\"", \
                  (l), got_, (want));                                             \
    } while (0)

static void apply_sorts_levels_and_sums_their_bytes(void)
{
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 0, 3, 100, "a", "z");
    vt_add(&e, 0, 7, 200, "b", "c");
    vt_add(&e, 0, 5, 300, "a", "b");
    vt_add(&e, 1, 9, 1000, "m", "p");
    vt_add(&e, 1, 8, 2000, "a", "c");
    vt_add(&e, 1, 4, 4000, "d", "f");
    version *v = vt_apply(v0, &e);
    CHECK_LEVEL(v, 0, "7 5 3");
    CHECK_LEVEL(v, 1, "8 4 9");
    CHECK_EQ(v->level_bytes[0], 600);
    CHECK_EQ(v->level_bytes[1], 7000);
    CHECK_EQ(version_total_files(v), 6);
    CHECK_EQ(version_total_bytes(v), 7600);
    CHECK_EQ(version_total_files(v0), 0); /* the base stays as it was */
    version_unref(v0);
    version_unref(v);
    CHECK_EQ(vt_nreleased, 6);
}

static void apply_shares_files_and_releases_them_with_the_last_version(void)
{
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 1, 1, 10, "a", "b");
    vt_add(&e, 1, 2, 10, "c", "d");
    version *v1 = vt_apply(v0, &e);
    version_unref(v0);
    version_edit_init(&e);
    CHECK_KV(version_edit_remove_file(&e, 1, 1), KV_OK);
    vt_add(&e, 2, 3, 10, "a", "b");
    version *v2 = vt_apply(v1, &e);
    CHECK(v1->files[1][1] == v2->files[1][0]); /* table 2, shared */
    CHECK_EQ(atomic_load(&v2->files[1][0]->refs), 2);
    version_unref(v1);
    /* Table 1 was only in v1; 2 and 3 live on in v2. */
    CHECK_EQ(vt_nreleased, 1);
    CHECK_EQ(vt_released[0], 1);
    CHECK_EQ(atomic_load(&v2->files[1][0]->refs), 1);
    version_ref(v2);
    version_unref(v2);
    CHECK_EQ(vt_nreleased, 1);
    version_unref(v2);
    CHECK_EQ(vt_nreleased, 3);
}

static int opens;
static int counting_open(void *ctx, const edit_file *f, vfile **out)
{
    (void)ctx;
    opens++;
    return vfile_new(f, out);
}

static void a_move_keeps_the_same_file(void)
{
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 1, 6, 10, "a", "b");
    version *v1 = vt_apply(v0, &e);
    version_unref(v0);
    version_edit_init(&e);
    CHECK_KV(version_edit_remove_file(&e, 1, 6), KV_OK);
    vt_add(&e, 2, 6, 10, "a", "b");
    version *v2;
    opens = 0;
    CHECK_KV(version_apply(v1, &e, counting_open, NULL, &v2), KV_OK);
    version_edit_free(&e);
    CHECK_EQ(opens, 0);
    CHECK(v2->files[2][0] == v1->files[1][0]);
    CHECK_EQ(v2->nfiles[1], 0);
    version_unref(v1);
    version_unref(v2);
    CHECK_EQ(vt_nreleased, 1);
}

/* Applies e to base and expects KV_ERR_CORRUPT with `words` in the
 * message; nothing is released but what the edit made. */
static void expect_refused(version *base, version_edit *e, const char *words)
{
    version *v = (version *)1;
    CHECK_KV(version_apply(base, e, vfile_open_plain, NULL, &v), KV_ERR_CORRUPT);
    CHECK(v == NULL);
    CHECK_MSG(strstr(kv_errmsg(), words) != NULL, "message \"%s\" lacks \"%s\"", kv_errmsg(),
              words);
    version_edit_free(e);
}

static void apply_refuses_what_breaks_an_invariant(void)
{
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 1, 1, 10, "c", "f");
    vt_add(&e, 0, 2, 10, "a", "z");
    version *v = vt_apply(v0, &e);

    version_edit_init(&e); /* overlaps table 1 in L1 */
    vt_add(&e, 1, 3, 10, "e", "g");
    expect_refused(v, &e, "level 1: table 000001 (largest key \"f\") overlaps table 000003");
    version_edit_init(&e); /* the same user key at both ends */
    vt_add(&e, 1, 3, 10, "a", "c");
    expect_refused(v, &e, "overlaps");
    version_edit_init(&e);
    CHECK_KV(version_edit_remove_file(&e, 2, 1), KV_OK);
    expect_refused(v, &e, "removes table 000001 from level 2, but it is at level 1");
    version_edit_init(&e);
    CHECK_KV(version_edit_remove_file(&e, 1, 1), KV_OK);
    CHECK_KV(version_edit_remove_file(&e, 1, 1), KV_OK);
    expect_refused(v, &e, "removes table 000001 from level 1, but no level holds it");
    version_edit_init(&e);
    vt_add(&e, 3, 2, 10, "x", "y");
    expect_refused(v, &e, "adds table 000002 to level 3, but level 0 holds it already");
    version_edit_init(&e);
    vt_add(&e, 3, 4, 10, "x", "y");
    vt_add(&e, 4, 4, 10, "x", "y");
    expect_refused(v, &e, "adds table 000004 to level 4, but level 3 holds it already");
    version_edit_init(&e); /* smallest above largest */
    vt_add(&e, 2, 5, 10, "y", "x");
    expect_refused(v, &e, "adds table 000005, whose smallest key");
    /* Each refused edit released what it had made, and nothing else: the
     * two that overlap made their table before the levels were checked;
     * the others were refused before anything was made. */
    CHECK_EQ(vt_nreleased, 2);
    vt_nreleased = 0;
    /* Overlap in L0 is fine. */
    version_edit_init(&e);
    vt_add(&e, 0, 6, 10, "b", "d");
    version *v2 = vt_apply(v, &e);
    CHECK_LEVEL(v2, 0, "6 2");
    CHECK_EQ(vt_nreleased, 0);
    version_unref(v2);
    version_unref(v);
    version_unref(v0);
    CHECK_EQ(vt_nreleased, 3);
}

static int failing_open(void *ctx, const edit_file *f, vfile **out)
{
    int *left = ctx;
    if ((*left)-- == 0)
        return kv_error(KV_ERR_IO, "cannot open table %llu", (unsigned long long)f->number);
    return vfile_new(f, out);
}

static void a_failed_open_releases_what_was_made(void)
{
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 1, 1, 10, "a", "b");
    vt_add(&e, 1, 2, 10, "c", "d");
    vt_add(&e, 1, 3, 10, "e", "f");
    int left = 2;
    version *v;
    CHECK_KV(version_apply(v0, &e, failing_open, &left, &v), KV_ERR_IO);
    CHECK(v == NULL);
    CHECK_EQ(vt_nreleased, 2);
    version_edit_free(&e);
    version_unref(v0);
}

static void level_find_and_seek_use_the_key_ranges(void)
{
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 2, 1, 10, "b", "d");
    vt_add(&e, 2, 2, 10, "f", "h");
    vt_add(&e, 2, 3, 10, "k", "kz");
    version *v = vt_apply(v0, &e);
    const char *absent[] = {"a", "e", "kzz", "l", "i", "j"};
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++)
        CHECK(version_level_find(v, 2, (const uint8_t *)absent[i], strlen(absent[i])) == NULL);
    struct { const char *key; uint64_t number; } present[] = {
        {"b", 1}, {"c", 1}, {"d", 1}, {"f", 2}, {"h", 2}, {"k", 3}, {"kz", 3}, {"kk", 3}};
    for (size_t i = 0; i < sizeof present / sizeof *present; i++) {
        vfile *f = version_level_find(v, 2, (const uint8_t *)present[i].key,
                                      strlen(present[i].key));
        CHECK_MSG(f != NULL && f->number == present[i].number, "key %s", present[i].key);
    }
    CHECK(version_level_find(v, 1, (const uint8_t *)"c", 1) == NULL);
    uint8_t k[32];
    /* d@1 is table 1's largest; d@0 sorts after it. */
    CHECK_EQ(version_level_seek(v, 2, k, vt_ikey(k, "d", 1)), 0);
    CHECK_EQ(version_level_seek(v, 2, k, vt_ikey(k, "d", 0)), 1);
    CHECK_EQ(version_level_seek(v, 2, k, vt_ikey(k, "a", 5)), 0);
    CHECK_EQ(version_level_seek(v, 2, k, vt_ikey(k, "z", 5)), 3);
    version_unref(v);
    version_unref(v0);
}

/* 60 tables of a level whose keys share 9 bytes, then 8 equal bytes in
 * each group of 10 tables (their fences tie: version_fences.c), then a
 * number: every key in a table, between two, below all and above all
 * finds what a scan of the level's ranges finds. */
static void level_find_with_fences_that_tie_finds_what_a_scan_does(void)
{
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    char lo[64], hi[64], key[64];
    for (int i = 0; i < 60; i++) {
        snprintf(lo, sizeof lo, "shared-k-%02dTIEDTIED%04d", i / 10, i * 10);
        snprintf(hi, sizeof hi, "shared-k-%02dTIEDTIED%04d", i / 10, i * 10 + 5);
        vt_add(&e, 3, (uint64_t)i + 1, 10, lo, hi);
    }
    version *v = vt_apply(v0, &e);
    CHECK(v->fences[3] != NULL);
    for (int g = -1; g <= 6; g++)
        for (int n = -3; n < 610; n++) {
            int len = snprintf(key, sizeof key, "shared-k-%02dTIEDTIED%04d", g < 0 ? 0 : g, n);
            if (g < 0)
                len = snprintf(key, sizeof key, "shared-k-%d", n & 7); /* a shorter key */
            vfile *want = NULL;
            for (size_t i = 0; i < v->nfiles[3]; i++) {
                const vfile *f = v->files[3][i];
                if (ikey_user_compare((const uint8_t *)key, (size_t)len, f->smallest,
                                      f->smallest_len - IKEY_TRAILER_SIZE) >= 0 &&
                    ikey_user_compare((const uint8_t *)key, (size_t)len, f->largest,
                                      f->largest_len - IKEY_TRAILER_SIZE) <= 0)
                    want = v->files[3][i];
            }
            vfile *got = version_level_find(v, 3, (const uint8_t *)key, (size_t)len);
            CHECK_MSG(got == want, "key %s", key);
        }
    version_edit_free(&e);
    version_unref(v);
    version_unref(v0);
}

static void overlapping_in_l0_grows_until_closed(void)
{
    version *v0 = vt_empty();
    version_edit e;
    version_edit_init(&e);
    vt_add(&e, 0, 1, 10, "a", "c");
    vt_add(&e, 0, 2, 10, "e", "g");
    vt_add(&e, 0, 3, 10, "c", "e");
    vt_add(&e, 0, 4, 10, "x", "y");
    vt_add(&e, 1, 5, 10, "a", "b");
    vt_add(&e, 1, 6, 10, "d", "f");
    vt_add(&e, 1, 7, 10, "h", "j");
    version *v = vt_apply(v0, &e);
    vfile_list l;
    char buf[64];
    /* [a, a] meets 1 ([a, c]), which meets 3 ([c, e]), which meets 2. */
    CHECK_KV(version_overlapping(v, 0, (const uint8_t *)"a", 1, (const uint8_t *)"a", 1, &l),
             KV_OK);
    CHECK_MSG(strcmp(vt_numbers(&l, buf, sizeof buf), "3 2 1") == 0, "%s", buf);
    free(l.files);
    CHECK_KV(version_overlapping(v, 0, (const uint8_t *)"h", 1, (const uint8_t *)"w", 1, &l),
             KV_OK);
    CHECK_EQ(l.n, 0);
    free(l.files);
    CHECK_KV(version_overlapping(v, 0, NULL, 0, NULL, 0, &l), KV_OK);
    CHECK_MSG(strcmp(vt_numbers(&l, buf, sizeof buf), "4 3 2 1") == 0, "%s", buf);
    free(l.files);
    /* Levels >= 1 take exactly the files met. */
    CHECK_KV(version_overlapping(v, 1, (const uint8_t *)"b", 1, (const uint8_t *)"h", 1, &l),
             KV_OK);
    CHECK_MSG(strcmp(vt_numbers(&l, buf, sizeof buf), "5 6 7") == 0, "%s", buf);
    free(l.files);
    CHECK_KV(version_overlapping(v, 1, (const uint8_t *)"c", 1, (const uint8_t *)"cz", 2, &l),
             KV_OK);
    CHECK_EQ(l.n, 0);
    free(l.files);
    CHECK_KV(version_overlapping(v, 1, (const uint8_t *)"g", 1, NULL, 0, &l), KV_OK);
    CHECK_MSG(strcmp(vt_numbers(&l, buf, sizeof buf), "7") == 0, "%s", buf);
    free(l.files);
    CHECK(version_level_overlaps(v, 1, (const uint8_t *)"c", 1, (const uint8_t *)"d", 1));
    CHECK(!version_level_overlaps(v, 1, (const uint8_t *)"c", 1, (const uint8_t *)"cz", 2));
    CHECK(version_level_overlaps(v, 0, (const uint8_t *)"y", 1, NULL, 0));
    CHECK(!version_level_overlaps(v, 0, (const uint8_t *)"yy", 2, NULL, 0));
    version_unref(v);
    version_unref(v0);
}

static const harness_test version_tests[] = {
    HARNESS_TEST(apply_sorts_levels_and_sums_their_bytes),
    HARNESS_TEST(apply_shares_files_and_releases_them_with_the_last_version),
    HARNESS_TEST(a_move_keeps_the_same_file),
    HARNESS_TEST(apply_refuses_what_breaks_an_invariant),
    HARNESS_TEST(a_failed_open_releases_what_was_made),
    HARNESS_TEST(level_find_and_seek_use_the_key_ranges),
    HARNESS_TEST(level_find_with_fences_that_tie_finds_what_a_scan_does),
    HARNESS_TEST(overlapping_in_l0_grows_until_closed),
};
const harness_suite version_suite = HARNESS_SUITE("version", version_tests);
