/*
 * table_fault_test.c: a table when things go wrong, whatever its format
 * (through table.h; stage 05 runs these on format v2): every flipped byte
 * is caught or harmless, an I/O failure at any call of a build or of a
 * read is reported and leaves nothing behind, and threads share an open
 * table.  What kv check and kv dump say of damage is each format's own
 * (table_test.c for v1).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "io.h"
#include "io_fault.h"
#include "kv.h"
#include "memtable.h"
#include "table.h"
#include "table_test_util.h"

static void every_flipped_byte_is_caught_or_harmless(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(5, 8, 2, 8);
    table_ctx *ctx = tt_ctx();
    table *t = tt_build_and_open(ctx, m, dir, "s.tbl");
    table_unref(t);
    const char *path = harness_join(dir, "s.tbl");
    uint8_t *orig;
    size_t n = tt_read_file(path, &orig);
    long caught = 0, harmless = 0;
    for (size_t at = 0; at < n; at++) {
        {
            int bit = (int)(at % 8); /* one bit per byte, each bit in turn */
            harness_context("byte %zu bit %d", at, bit);
            orig[at] ^= (uint8_t)(1u << bit);
            tt_write_file(path, orig, n);
            orig[at] ^= (uint8_t)(1u << bit);
            if (tt_reads_right_or_corrupt(ctx, m, path))
                caught++;
            else
                harmless++;
        }
    }
    /* Every byte is under a checksum that something reads: a flip of a
     * record or the footer is always caught by some read. */
    CHECK_MSG(harmless == 0, "%ld flips went unnoticed by every read (%ld caught)", harmless,
              caught);
    free(orig);
    table_ctx_free(ctx);
    memtable_unref(m);
}

/* Builds the fault tests' table: small entries and one larger than the
 * builder's buffer (so it is appended on its own).  KV_OK or the first
 * error. */
static int build_fault_table(table_ctx *ctx, const char *path, memtable *m)
{
    table_builder *b;
    int rc = table_builder_new(ctx, path, &b);
    if (rc != KV_OK)
        return rc;
    iter *it;
    CHECK_KV(memtable_iter_new(m, &it), KV_OK);
    for (iter_seek_first(it); rc == KV_OK && iter_valid(it); iter_next(it))
        rc = table_builder_add(b, it->key, it->key_len, it->value, it->value_len);
    iter_free(it);
    if (rc != KV_OK) {
        table_builder_abandon(b);
        return rc;
    }
    return table_builder_finish(b, NULL);
}

static memtable *fault_memtable(void)
{
    memtable *m = tt_random_memtable(13, 30, 2, 100);
    uint8_t *big = calloc(1, 300000);
    CHECK(big != NULL);
    CHECK_KV(memtable_add(m, 1000, IKEY_PUT, "zzz", 3, big, 300000), KV_OK);
    free(big);
    return m;
}

static void build_fails_cleanly_at_every_io_call(void)
{
    const char *dir = harness_tmpdir();
    const char *path = harness_join(dir, "f.tbl");
    memtable *m = fault_memtable();
    table_ctx *ctx = tt_ctx();
    for (int short_write = 0; short_write < 2; short_write++) {
        for (long n = 1;; n++) {
            harness_context("I/O call %ld fails (short write %d)", n, short_write);
            /* Any call failing once; or a full disk: an append cut short,
             * then every append failing with ENOSPC. */
            io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = n};
            if (short_write)
                plan = (io_fault_plan){.kinds = IO_FAULT_APPEND, .fail_at = n, .persistent = 1,
                                       .err = ENOSPC, .short_write = 1};
            io_fault_install(&plan);
            int rc = build_fault_table(ctx, path, m);
            long failures = io_fault_failures();
            io_fault_uninstall();
            int exists = 0;
            CHECK_KV(io_exists(path, &exists), KV_OK);
            if (failures == 0) {
                CHECK_KV(rc, KV_OK);
                CHECK(tt_reads_right_or_corrupt(ctx, m, path) == 0);
                break;
            }
            /* A failed build says so, and leaves no file behind. */
            CHECK_KV(rc, KV_ERR_IO);
            CHECK(strstr(kv_errmsg(), "f.tbl") != NULL);
            CHECK_MSG(!exists, "left behind after: %s", kv_errmsg());
        }
    }
    table_ctx_free(ctx);
    memtable_unref(m);
}

static void reads_fail_cleanly_at_every_io_call(void)
{
    const char *dir = harness_tmpdir();
    const char *path = harness_join(dir, "r.tbl");
    memtable *m = fault_memtable();
    table_ctx *ctx = tt_ctx();
    CHECK_KV(build_fault_table(ctx, path, m), KV_OK);
    for (long n = 1;; n++) {
        harness_context("read %ld fails", n);
        io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = n};
        io_fault_install(&plan);
        /* Every read either answers right or reports KV_ERR_IO. */
        int rc = KV_OK, errors = 0;
        table *t;
        rc = table_open(ctx, path, &t);
        if (rc != KV_OK) {
            CHECK_KV(rc, KV_ERR_IO);
            errors++;
        } else {
            iter *a, *b;
            CHECK_KV(memtable_iter_new(m, &a), KV_OK);
            CHECK_KV(table_iter_new(t, &b), KV_OK);
            iter_seek_first(b);
            for (iter_seek_first(a); iter_valid(a); iter_next(a)) {
                table_get_result r;
                ikey_lookup lk;
                CHECK_KV(ikey_lookup_init(&lk, a->key, a->key_len - 8, IKEY_MAX_SEQ), KV_OK);
                rc = table_get(t, &lk, &r);
                ikey_lookup_free(&lk);
                if (rc != KV_OK) {
                    CHECK_KV(rc, KV_ERR_IO);
                    errors++;
                }
                free(r.value);
                if (iter_status(b) == KV_OK) {
                    CHECK(iter_valid(b));
                    CHECK_MEM(b->key, b->key_len, a->key, a->key_len);
                    iter_next(b);
                }
            }
            if (iter_status(b) != KV_OK) {
                CHECK_KV(iter_status(b), KV_ERR_IO);
                errors++;
            }
            iter_free(a);
            iter_free(b);
            table_unref(t);
        }
        long failures = io_fault_failures();
        io_fault_uninstall();
        CHECK_EQ(errors > 0, failures > 0);
        if (failures == 0)
            break;
    }
    table_ctx_free(ctx);
    memtable_unref(m);
}

/* Several threads look up and scan one open table at once (run under
 * ThreadSanitizer too). */
typedef struct shared_reader {
    table *t;
    memtable *m;
    long wrong;
} shared_reader;

static void *shared_reader_main(void *p)
{
    shared_reader *r = p;
    for (int round = 0; round < 3; round++) {
        iter *a, *b;
        if (memtable_iter_new(r->m, &a) != KV_OK || table_iter_new(r->t, &b) != KV_OK) {
            r->wrong++;
            return NULL;
        }
        iter_seek_first(b);
        for (iter_seek_first(a); iter_valid(a); iter_next(a)) {
            ikey_lookup lk;
            table_get_result res;
            if (ikey_lookup_init(&lk, a->key, a->key_len - 8, ikey_seq(a->key, a->key_len)) !=
                KV_OK)
                r->wrong++;
            const uint8_t *v;
            size_t vlen;
            ikey_lookup_state want = memtable_get(r->m, &lk, &v, &vlen);
            if (table_get(r->t, &lk, &res) != KV_OK || res.state != want ||
                (want == IKEY_FOUND && (res.value_len != vlen || memcmp(res.value, v, vlen))))
                r->wrong++;
            free(res.value);
            ikey_lookup_free(&lk);
            if (!iter_valid(b) || b->key_len != a->key_len ||
                memcmp(b->key, a->key, a->key_len) != 0)
                r->wrong++;
            iter_next(b);
        }
        iter_free(a);
        iter_free(b);
    }
    return NULL;
}

static void threads_share_an_open_table(void)
{
    const char *dir = harness_tmpdir();
    memtable *m = tt_random_memtable(17, 200, 2, 60);
    table_ctx *ctx = tt_ctx();
    table *t = tt_build_and_open(ctx, m, dir, "shared.tbl");
    enum { READERS = 4 };
    pthread_t th[READERS];
    shared_reader r[READERS];
    for (int i = 0; i < READERS; i++) {
        r[i] = (shared_reader){.t = t, .m = m};
        CHECK(pthread_create(&th[i], NULL, shared_reader_main, &r[i]) == 0);
    }
    long wrong = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(th[i], NULL);
        wrong += r[i].wrong;
    }
    CHECK_EQ(wrong, 0);
    tt_lines lines = {0};
    table_ctx_describe(ctx, 0, tt_collect, &lines);
    CHECK(strstr(lines.text, "session.table.reads: ") != NULL);
    CHECK(strstr(lines.text, "session.table.reads_per_get: ") != NULL);
    tt_lines_clear(&lines);
    table_unref(t);
    table_ctx_free(ctx);
    memtable_unref(m);
}

static const harness_test table_fault_tests[] = {
    HARNESS_TEST(every_flipped_byte_is_caught_or_harmless),
    HARNESS_TEST(build_fails_cleanly_at_every_io_call),
    HARNESS_TEST(reads_fail_cleanly_at_every_io_call),
    HARNESS_TEST(threads_share_an_open_table),
};
const harness_suite table_fault_suite = HARNESS_SUITE("table_faults", table_fault_tests);
