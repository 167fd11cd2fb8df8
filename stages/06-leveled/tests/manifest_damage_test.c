/*
 * manifest_damage_test.c: what the manifest (manifest.h) makes of damage
 * and failure: a torn last record dropped (and refused with strict)
 * wherever it is cut, damage with a valid record after it refused as
 * corruption, a header of another format or a missing manifest named; a
 * failed append final, a failed create leaving the old manifest live;
 * allocation failure.  Power loss at every sync boundary is
 * manifest_crash_test.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../03-wal/tests/alloc_fail.h"
#include "current_file.h"
#include "file_header.h"
#include "io.h"
#include "io_fault.h"
#include "kv.h"
#include "manifest.h"
#include "manifest_test_util.h"

/* A large last record (over several blocks) cut anywhere inside, or
 * followed by zeros: dropped, the state is the one before it; refused
 * with strict. */
static void torn_last_record_is_dropped_wherever_it_is_cut(void)
{
    version_edit h[3];
    for (int i = 0; i < 3; i++)
        version_edit_init(&h[i]);
    mt_counters(&h[0], 0, 1000, 0);
    mt_add(&h[1], 0, 1, "a", "b");
    char lo[300], hi[300];
    for (int i = 0; i < 400; i++) {
        snprintf(lo, sizeof lo, "%0250d", 2 * i);
        snprintf(hi, sizeof hi, "%0250d", 2 * i + 1);
        mt_add(&h[2], 4, (uint64_t)(10 + i), lo, hi);
    }
    uint64_t ends[3];
    size_t n;
    uint8_t *p = mt_manifest_bytes(mt_edit_ptrs(h, 3), 3, &n, ends);
    CHECK(n - ends[1] > 3 * 32768);
    mt_text before;
    mt_replayed_text(p, ends[1], &before);
    for (size_t cut = ends[1] + 1; cut < n; cut += cut < ends[1] + 40 ? 1 : 997) {
        harness_context("cut at %zu of %zu", cut, n);
        uint8_t *q = malloc(cut);
        CHECK(q != NULL);
        memcpy(q, p, cut);
        manifest_state st;
        CHECK_KV(manifest_recover_mem(q, cut, "m", 0, &st), KV_OK);
        CHECK(st.torn);
        CHECK_EQ(st.end, ends[1]);
        CHECK_EQ(st.torn_bytes, cut - ends[1]);
        mt_text t;
        mt_state_text(&st, &t);
        CHECK_MSG(strcmp(t.s, before.s) == 0, "%s", t.s);
        manifest_state_free(&st);
        CHECK_KV(manifest_recover_mem(q, cut, "m", 1, &st), KV_ERR_CORRUPT);
        CHECK_MSG(strstr(kv_errmsg(), "torn last record") != NULL &&
                  strstr(kv_errmsg(), "strict_recovery") != NULL, "%s", kv_errmsg());
        manifest_state_free(&st);
        free(q);
    }
    /* Zeros after the last record (a lost write's hole): torn too. */
    uint8_t *z = calloc(1, n + 5000);
    CHECK(z != NULL);
    memcpy(z, p, n);
    manifest_state st;
    CHECK_KV(manifest_recover_mem(z, n + 5000, "m", 0, &st), KV_OK);
    CHECK(st.torn && st.end == n && st.records == 3);
    manifest_state_free(&st);
    free(z);
    free(p);
    for (int i = 0; i < 3; i++)
        version_edit_free(&h[i]);
}

/* Each byte after the header flipped: in the last record, a torn tail
 * (the state before it); before, corruption, since a valid record
 * follows; in the header, corruption. */
static void damage_with_a_record_after_it_is_corruption(void)
{
    version_edit h[MT_HISTORY];
    mt_history(h);
    uint64_t ends[MT_HISTORY];
    size_t n;
    uint8_t *p = mt_manifest_bytes(mt_edit_ptrs(h, MT_HISTORY), MT_HISTORY, &n, ends);
    mt_text before;
    mt_replayed_text(p, ends[MT_HISTORY - 2], &before);
    uint8_t *q = malloc(n);
    CHECK(q != NULL);
    for (size_t i = 0; i < n; i++) {
        memcpy(q, p, n);
        q[i] ^= 0x20;
        harness_context("byte %zu of %zu flipped", i, n);
        manifest_state st;
        int rc = manifest_recover_mem(q, n, "db/MANIFEST-000001", 0, &st);
        if (i >= ends[MT_HISTORY - 2]) {
            CHECK_KV(rc, KV_OK);
            CHECK(st.torn);
            mt_text t;
            mt_state_text(&st, &t);
            CHECK_MSG(strcmp(t.s, before.s) == 0, "%s", t.s);
        } else {
            CHECK_KV(rc, KV_ERR_CORRUPT);
            CHECK_MSG(strstr(kv_errmsg(), "db/MANIFEST-000001: offset ") != NULL, "%s",
                      kv_errmsg());
            if (i >= MANIFEST_START)
                CHECK_MSG(strstr(kv_errmsg(), "and a valid record follows at offset") != NULL,
                          "%s", kv_errmsg());
        }
        manifest_state_free(&st);
    }
    free(q);
    free(p);
    mt_history_free(h);
}

static void header_and_missing_files_are_named(void)
{
    uint8_t p[FILE_HEADER_SIZE + 8] = {0};
    manifest_state st;
    file_header_encode(p, FILE_MAGIC_MAN06, MANIFEST_VERSION);
    CHECK_KV(manifest_recover_mem(p, FILE_HEADER_SIZE, "m", 0, &st), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "m: offset 16: no record") != NULL, "%s", kv_errmsg());
    manifest_state_free(&st);
    CHECK_KV(manifest_recover_mem(p, FILE_HEADER_SIZE + 8, "m", 0, &st), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "no record") != NULL &&
              strstr(kv_errmsg(), "torn") != NULL, "%s", kv_errmsg());
    manifest_state_free(&st);
    CHECK_KV(manifest_recover_mem(p, 9, "m", 0, &st), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "too short") != NULL, "%s", kv_errmsg());
    manifest_state_free(&st);
    file_header_encode(p, FILE_MAGIC_TBL05, 1);
    CHECK_KV(manifest_recover_mem(p, FILE_HEADER_SIZE, "m", 0, &st), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "this file is a stage-05 table, not a stage-06 manifest")
              != NULL, "%s", kv_errmsg());
    manifest_state_free(&st);
    const char *dir = harness_tmpdir();
    int renamed;
    CHECK_KV(current_file_write(dir, 3, &renamed), KV_OK);
    CHECK_KV(manifest_recover(dir, 0, &st), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "MANIFEST-000003: missing, but ") != NULL, "%s", kv_errmsg());
    manifest_state_free(&st);
    mt_write_file(harness_join(dir, "MANIFEST-000003"), p, 5);
    CHECK_KV(manifest_recover(dir, 0, &st), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "MANIFEST-000003: offset 0: 5 bytes, too short") != NULL,
              "%s", kv_errmsg());
    manifest_state_free(&st);
}

/* manifest_append with I/O call k failing (once, or from then on after a
 * short write): an error, every later append refused, and the manifest
 * recovers to the state before or after. */
static void failed_append_is_final_and_recovers_old_or_new(void)
{
    version_edit h[MT_HISTORY];
    mt_history(h);
    for (int persistent = 0; persistent <= 1; persistent++)
    for (long k = 1;; k++) {
        harness_context("I/O call %ld of the append fails%s", k,
                        persistent ? ", and every one after" : "");
        const char *dir = harness_tmpdir();
        manifest_writer *w = mt_write_history(dir, h, 2);
        mt_text before, after;
        mt_recovered_text(dir, &before);
        io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = k, .persistent = persistent,
                              .short_write = persistent};
        io_fault_install(&plan);
        int rc = manifest_append(w, &h[2]);
        long failures = io_fault_failures();
        io_fault_uninstall();
        if (failures == 0) {
            CHECK_KV(rc, KV_OK);
            manifest_writer_free(w);
            break;
        }
        CHECK_KV(rc, KV_ERR_IO);
        CHECK_KV(manifest_append(w, &h[3]), KV_ERR_IO);
        CHECK_MSG(strstr(kv_errmsg(), "an earlier append failed") != NULL, "%s", kv_errmsg());
        manifest_writer_free(w);
        mt_recovered_text(dir, &after);
        if (strcmp(after.s, before.s) != 0) {
            manifest_state st;
            CHECK_KV(manifest_recover(dir, 0, &st), KV_OK);
            CHECK_EQ(st.records, 3);
            manifest_state_free(&st);
        }
    }
    mt_history_free(h);
}

/* manifest_create of MANIFEST-000009 over a live MANIFEST-000001, with I/O
 * call k failing (once, or from then on after a short write): before the
 * rename, the new file is removed (unless removing fails too) and the old
 * state recovers; after it (the directory's fsync), the new one. */
static void failed_create_leaves_the_old_manifest_live(void)
{
    version_edit h[MT_HISTORY];
    mt_history(h);
    int saw_renamed = 0;
    for (int persistent = 0; persistent <= 1; persistent++)
    for (long k = 1;; k++) {
        harness_context("I/O call %ld of the create fails%s", k,
                        persistent ? ", and every one after" : "");
        const char *dir = harness_tmpdir();
        manifest_writer *w = mt_write_history(dir, h, 2);
        manifest_writer_free(w);
        manifest_state st;
        CHECK_KV(manifest_recover(dir, 0, &st), KV_OK);
        version_edit snap;
        CHECK_KV(manifest_state_snapshot(&st, &snap), KV_OK);
        manifest_state_free(&st);
        io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = k, .persistent = persistent,
                              .short_write = persistent};
        io_fault_install(&plan);
        int rc = manifest_create(dir, 9, &snap, &w, NULL);
        long failures = io_fault_failures();
        io_fault_uninstall();
        version_edit_free(&snap);
        if (failures == 0) {
            CHECK_KV(rc, KV_OK);
            manifest_writer_free(w);
            break;
        }
        CHECK(rc == KV_ERR_IO && w == NULL);
        CHECK_MSG(strstr(kv_errmsg(), "MANIFEST-") != NULL, "%s", kv_errmsg());
        CHECK_KV(manifest_recover(dir, 0, &st), KV_OK);
        CHECK(st.number == 1 || st.number == 9);
        CHECK_EQ(st.v->nfiles[0], 1);
        int exists = 0;
        CHECK_KV(io_exists(harness_join(dir, "MANIFEST-000009"), &exists), KV_OK);
        CHECK(exists == (st.number == 9) || (persistent && exists));
        saw_renamed |= st.number == 9;
        manifest_state_free(&st);
    }
    CHECK(saw_renamed); /* the directory's fsync after the rename failed once */
    mt_history_free(h);
}

/* Every allocation of a replay and an append fails in turn: KV_ERR_NOMEM
 * (or a failure the I/O layer copes with), no crash. */
static void allocation_failure_in_replay_is_nomem(void)
{
    if (!alloc_fail_available())
        return;
    version_edit h[MT_HISTORY];
    mt_history(h);
    size_t n;
    uint8_t *p = mt_manifest_bytes(mt_edit_ptrs(h, MT_HISTORY), MT_HISTORY, &n, NULL);
    for (long nth = 1;; nth++) {
        harness_context("allocation %ld fails", nth);
        const char *dir = harness_tmpdir();
        manifest_state st;
        manifest_writer *w = NULL;
        alloc_fail_arm(nth);
        int rc = manifest_recover_mem(p, n, "m", 0, &st);
        manifest_state_free(&st);
        if (rc == KV_OK)
            rc = manifest_create(dir, 1, &h[0], &w, NULL);
        if (rc == KV_OK)
            rc = manifest_append(w, &h[1]);
        if (rc == KV_OK)
            rc = manifest_recover(dir, 0, &st);
        long failed = alloc_fail_failures();
        alloc_fail_disarm();
        manifest_state_free(&st);
        manifest_writer_free(w);
        /* (io_close copes with a failed allocation: it names the file "?") */
        int s;
        CHECK_KV2(s, rc, KV_OK, KV_ERR_NOMEM);
        CHECK(s == KV_OK || failed);
        if (!failed)
            break;
    }
    free(p);
    mt_history_free(h);
}

static const harness_test manifest_damage_tests[] = {
    HARNESS_TEST(torn_last_record_is_dropped_wherever_it_is_cut),
    HARNESS_TEST(damage_with_a_record_after_it_is_corruption),
    HARNESS_TEST(header_and_missing_files_are_named),
    HARNESS_TEST(failed_append_is_final_and_recovers_old_or_new),
    HARNESS_TEST(failed_create_leaves_the_old_manifest_live),
    HARNESS_TEST(allocation_failure_in_replay_is_nomem),
};
const harness_suite manifest_damage_suite = HARNESS_SUITE("manifest_damage", manifest_damage_tests);
