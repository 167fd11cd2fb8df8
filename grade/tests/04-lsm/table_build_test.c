/*
 * table_build_test.c: exercise table_build, table_builder_add and
 * table_builder_footer (stages/04-lsm/table_v1/table_v1_build.c): the bytes of a v1
 * table, compared with tables the test encodes itself (ex_table.c) and
 * with docs/04-lsm.md's worked example.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "ex_table.h"
#include "exercise.h"
#include "io_fault.h"
#include "kv.h"
#include "table.h"
#include "table_test_util.h" /* TT_WORKED_EXAMPLE_HEX */

static table_ctx *tb_ctx(void)
{
    table_ctx *ctx = NULL;
    EX_CHECK(table_ctx_new(NULL, &ctx) == KV_OK, "test setup: table_ctx_new");
    return ctx;
}

/* Builds e[0..n) with the learner's builder into dir/name; returns the
 * path, and the meta in *meta. */
static const char *tb_build(table_ctx *ctx, const ex_entry *e, size_t n, const char *name,
                            table_meta *meta)
{
    const char *path = harness_join(harness_tmpdir(), name);
    table_builder *b = NULL;
    EX_CHECK(EX_KV(table_builder_new(ctx, path, &b)) == KV_OK, "test setup: table_builder_new: %s",
             ex_kv_errmsg());
    static uint8_t ikey[KV_MAX_KEY + 8];
    for (size_t i = 0; i < n; i++) {
        size_t kl = ex_entry_ikey(&e[i], ikey);
        ex_context(EX_RULES("1 and 4", "each entry checked against the last one added, "
                                 "which table_writer_added keeps") "table_builder_add of entry "
                   "%zu of %zu", i, n);
        int rc = EX_KV(table_builder_add(b, ikey, kl, (const uint8_t *)(e[i].val ? e[i].val : ""),
                                   ex_entry_vlen(&e[i])));
        EX_CHECK(rc == KV_OK, EX_RULE(3, "an entry written") "table_builder_add of entry %zu "
                 "(in order) returns KV_OK (got %d: "
                 "%s)", i, rc, ex_errmsg(rc));
        EX_CHECK(table_builder_entries(b) == i + 1, EX_RULE(4, "the entry counted") "table_builder_entries counts the entries "
                 "added (%llu after %zu)", (unsigned long long)table_builder_entries(b), i + 1);
    }
    uint64_t promised = table_builder_file_bytes(b);
    harness_context("table_builder_finish of %zu entries", n);
    int rc = EX_KV(table_builder_finish(b, meta));
    EX_CHECK(rc == KV_OK, EX_RULE(7, "the file finished") "table_builder_finish returns KV_OK "
             "(got %d: %s)", rc, ex_errmsg(rc));
    EX_CHECK(meta->file_bytes == promised, EX_RULE(5, "the footer") "the file is as long as "
             "table_builder_file_bytes "
             "said before finish (%llu, said %llu): records, 8 bytes per offset, two keys, the "
             "52-byte tail", (unsigned long long)meta->file_bytes,
             (unsigned long long)promised);
    return path;
}

/* The file at path holds exactly the table ex_table_bytes makes of e. */
static void tb_expect_bytes(const char *path, const ex_entry *e, size_t n, const char *what)
{
    size_t want_n, got_n;
    uint8_t *want = ex_table_bytes(e, n, &want_n, NULL);
    uint8_t *got = ex_read_file(path, &got_n);
    size_t at = 0;
    while (at < want_n && at < got_n && want[at] == got[at])
        at++;
    uint64_t array_at = coding_get_u64(want + want_n - 52 + 32);
    const char *part = "the file header";
    if (at >= 16)
        part = EX_RULE(3, "a record's head and value") "a record (crc32c of the head from byte "
               "4, crc32c of the value, varint32 key and value lengths, the internal key, the "
               "value)";
    char offset_part[400];
    if (at >= array_at && at < array_at + 8 * n) {
        /* The records matched byte for byte: an offset that is a u64 in
         * the records' range but not the record's start was remembered at
         * the wrong moment (rule 2); anything else is the array's layout. */
        size_t k = (at - array_at) / 8;
        uint64_t want_off = coding_get_u64(want + array_at + 8 * k);
        uint64_t got_off = array_at + 8 * k + 8 <= got_n ? coding_get_u64(got + array_at + 8 * k)
                                                         : 0;
        if (got_off >= 16 && got_off < array_at && got_off != want_off) {
            snprintf(offset_part, sizeof offset_part,
                     EX_RULE(2, "the record's offset remembered") "the offset array: offset %zu "
                     "is %llu, but record %zu's head starts at %llu (%s): each offset is where "
                     "its record's head begins, taken before the head is written",
                     k, (unsigned long long)got_off, k, (unsigned long long)want_off,
                     got_off > want_off ? "past it, inside the record" : "before it");
            part = offset_part;
        } else {
            part = EX_RULE(5, "the offset array") "the offset array (each record's offset, u64)";
        }
    }
    if (at >= array_at + 8 * n)
        part = EX_RULE(5, "the two keys") "the smallest and largest internal keys";
    if (at >= want_n - 52)
        part = EX_RULE(6, "the tail") "the tail (magic, version, crc32c of the offset array, N, "
               "D, A, S, L, crc32c of the keys and the tail's first 48 bytes)";
    if (at == got_n && got_n < want_n)
        part = EX_RULE(7, "the file finished") "the file ends there: the rest was never written";
    EX_CHECK(got_n == want_n && at == want_n,
             "%s: the first difference is at offset %zu, in %s: the file is a v1 table byte "
             "for byte (table_v1_format.h): %zu bytes, want %zu", what, at, part, got_n, want_n);
    free(want);
    free(got);
}

static void table_build_matches_the_format(void)
{
    table_ctx *ctx = tb_ctx();
    ex_entry *e = ex_entries(60, 3);
    table_meta meta;
    const char *path = tb_build(ctx, e, 180, "t1.tbl", &meta);
    tb_expect_bytes(path, e, 180, "60 keys, 3 versions each, a quarter tombstones");
    EX_CHECK(meta.entries == 180 && meta.deletes == 45,
             EX_RULE(4, "the entry counted") "table_meta counts the entries (180) and the "
             "tombstones (45): got %llu and %llu",
             (unsigned long long)meta.entries, (unsigned long long)meta.deletes);
    ex_entries_free(e, 180);
    table_ctx_free(ctx);
}

static void table_build_worked_example(void)
{
    table_ctx *ctx = tb_ctx();
    ex_entry e[] = {{"apple", 0, 2, IKEY_PUT, "red", 0},
                    {"fig", 0, 3, IKEY_DELETE, NULL, 0},
                    {"fig", 0, 1, IKEY_PUT, "green", 0}};
    table_meta meta;
    const char *path = tb_build(ctx, e, 3, "example.tbl", &meta);
    const char *hex = TT_WORKED_EXAMPLE_HEX;
    uint8_t want[256];
    size_t n = 0;
    for (const char *p = hex; *p; p++) {
        if (*p == ' ')
            continue;
        unsigned v;
        sscanf(p, "%2x", &v);
        want[n++] = (uint8_t)v;
        p++;
    }
    size_t got_n;
    uint8_t *got = ex_read_file(path, &got_n);
    size_t at = 0;
    while (at < n && at < got_n && got[at] == want[at])
        at++;
    EX_CHECK(got_n == n && at == n, EX_RULE(3, "the records, byte for byte") "docs/04-lsm.md's "
             "worked example (apple@2 = red, fig@3 "
             "deleted, fig@1 = green) is %zu bytes; the table built is %zu, the first "
             "difference at offset %zu", n, got_n, at);
    free(got);
    table_ctx_free(ctx);
}

static void table_build_long_keys_and_large_values(void)
{
    table_ctx *ctx = tb_ctx();
    static char k1[KV_MAX_KEY], big[300000];
    memset(k1, 'k', sizeof k1);
    memset(big, 'v', sizeof big - 1);
    ex_entry e[] = {{"a", 0, 5, IKEY_PUT, big, 0},
                    {k1, KV_MAX_KEY, 4, IKEY_PUT, "x", 0},
                    {k1, KV_MAX_KEY, 3, IKEY_DELETE, NULL, 0},
                    {"z", 0, 2, IKEY_PUT, "", 0}};
    table_meta meta;
    const char *path = tb_build(ctx, e, 4, "big.tbl", &meta);
    tb_expect_bytes(path, e, 4, "a 300 KB value (larger than the writer's buffer), a key of "
                    "65535 bytes, an empty value");
    table_ctx_free(ctx);
}

static void table_build_refuses_bad_entries(void)
{
    table_ctx *ctx = tb_ctx();
    const char *path = harness_join(harness_tmpdir(), "refuse.tbl");
    table_builder *b = NULL;
    EX_CHECK(table_builder_new(ctx, path, &b) == KV_OK, "test setup: table_builder_new");
    uint8_t k[32];
    ikey_encode(k, "m", 1, 5, IKEY_PUT);
    EX_CHECK(table_builder_add(b, k, 9, (const uint8_t *)"v", 1) == KV_OK, EX_RULE(1, "an entry "
             "checked") "the first entry");
    ikey_encode(k, "a", 1, 9, IKEY_PUT);
    int rc = table_builder_add(b, k, 9, (const uint8_t *)"v", 1);
    EX_CHECK(rc == KV_ERR_INVALID, EX_RULE(1, "an entry checked and refused") "an entry whose "
             "key is below the last one is refused with "
             "KV_ERR_INVALID (table_writer_check_entry), got %d", rc);
    ikey_encode(k, "m", 1, 5, IKEY_PUT);
    rc = table_builder_add(b, k, 9, (const uint8_t *)"v", 1);
    EX_CHECK(rc == KV_ERR_INVALID, EX_RULE(1, "an entry checked and refused") "an entry equal "
             "to the last one is refused (got %d)", rc);
    rc = table_builder_add(b, k, 5, (const uint8_t *)"v", 1);
    EX_CHECK(rc == KV_ERR_INVALID, EX_RULE(1, "an entry checked and refused") "a key of 5 bytes "
             "is no internal key: refused (got %d)", rc);
    ikey_encode(k, "n", 1, 6, IKEY_PUT);
    EX_CHECK(EX_KV(table_builder_add(b, k, 9, (const uint8_t *)"w", 1)) == KV_OK,
             EX_RULE(1, "a refused entry writes nothing") "after a refused entry the builder "
             "goes on: %s", ex_kv_errmsg());
    EX_CHECK(table_builder_entries(b) == 2, EX_RULE(1, "a refused entry writes nothing") "the "
             "refused entries are not counted");
    table_meta meta;
    EX_CHECK(EX_KV(table_builder_finish(b, &meta)) == KV_OK, "finish: %s", ex_kv_errmsg());
    ex_entry e[] = {{"m", 0, 5, IKEY_PUT, "v", 0}, {"n", 0, 6, IKEY_PUT, "w", 0}};
    tb_expect_bytes(path, e, 2, "two entries, after three refused");
    table_ctx_free(ctx);
}

/* Builds a table of n entries with append fail_at of its file failing (0:
 * none); the first error of add or finish, and in *calls the appends.
 * With long_ends, the first and the last keys are of 65000 bytes. */
static int tb_build_failing_keys(table_ctx *ctx, int n, int long_ends, long fail_at, long *calls)
{
    char name[32];
    snprintf(name, sizeof name, "t%ld.tbl", fail_at);
    const char *path = harness_join(harness_tmpdir(), name);
    io_fault_plan plan = {.kinds = IO_FAULT_APPEND, .fail_at = fail_at, .persistent = 1};
    io_fault_install(&plan);
    table_builder *b = NULL;
    EX_CHECK(table_builder_new(ctx, path, &b) == KV_OK, "test setup: table_builder_new");
    int rc = KV_OK;
    static char end_key[65000];
    static uint8_t ikey[sizeof end_key + 64];
    for (int i = 0; i < n && rc == KV_OK; i++) {
        ex_entry e = {NULL, 0, 5, IKEY_PUT, "v", 0};
        char key[16];
        snprintf(key, sizeof key, "k%06d", i);
        e.key = key;
        if (long_ends && (i == 0 || i == n - 1)) {
            memset(end_key, i == 0 ? 'a' : 'z', sizeof end_key);
            e.key = end_key;
            e.klen = sizeof end_key;
        }
        size_t kl = ex_entry_ikey(&e, ikey);
        rc = table_builder_add(b, ikey, kl, (const uint8_t *)"v", 1);
    }
    table_meta meta;
    if (rc == KV_OK) {
        harness_context("table_builder_finish of %d entries with append %ld of the table "
                        "failing", n, fail_at);
        rc = table_builder_finish(b, &meta);
    } else {
        table_builder_abandon(b);
    }
    *calls = io_fault_calls();
    io_fault_uninstall();
    return rc;
}

static int tb_build_failing(table_ctx *ctx, int n, long fail_at, long *calls)
{
    return tb_build_failing_keys(ctx, n, 0, fail_at, calls);
}

/* Out of memory while a table is built: each allocation of the builder
 * (its buffer, the offset array as it grows, the keys it keeps) made to
 * fail in turn.  Each failure makes table_builder_add or
 * table_builder_finish return KV_ERR_NOMEM (but for a block the build can
 * do without), and table_builder_abandon then frees what the builder
 * holds (the test ends holding no block). */
static void table_build_out_of_memory_is_an_error(void)
{
    table_ctx *ctx = tb_ctx();
    enum { N = 3000 }; /* the offset array grows past its first 1024 slots twice */
    static uint8_t ikey[64];
    int failures = 0;
    for (long k = 1; k < 200; k++) {
        char name[32];
        snprintf(name, sizeof name, "m%ld.tbl", k);
        const char *path = harness_join(harness_tmpdir(), name);
        table_builder *b = NULL;
        EX_CHECK(table_builder_new(ctx, path, &b) == KV_OK, "test setup: table_builder_new");
        if (!ex_alloc_fail_at(k)) { /* a sanitizer's build: nothing can be made to fail */
            table_builder_abandon(b);
            break;
        }
        int rc = KV_OK, i = 0;
        for (; i < N && rc == KV_OK; i++) {
            ex_entry e = {NULL, 0, 5, IKEY_PUT, "v", 0};
            char key[16];
            snprintf(key, sizeof key, "k%06d", i);
            e.key = key;
            size_t kl = ex_entry_ikey(&e, ikey);
            harness_context("table_builder_add of entry %d of %d, allocation %ld of the build "
                            "failing: a failed allocation (the offset array's realloc among "
                            "them) is KV_ERR_NOMEM, never a write through NULL", i, N, k);
            rc = EX_KV(table_builder_add(b, ikey, kl, (const uint8_t *)"v", 1));
        }
        char said[512]; /* the failed add's message, before abandon's calls */
        snprintf(said, sizeof said, "%s", kv_errmsg());
        table_meta meta;
        if (rc == KV_OK) {
            harness_context("table_builder_finish of %d entries, allocation %ld of the build "
                            "failing", N, k);
            rc = EX_KV(table_builder_finish(b, &meta));
            snprintf(said, sizeof said, "%s", kv_errmsg());
        } else {
            harness_context("table_builder_abandon after allocation %ld failed", k);
            table_builder_abandon(b);
        }
        int failed = ex_alloc_failed();
        ex_alloc_fail_at(0);
        if (!failed) {
            EX_CHECK(rc == KV_OK, EX_RULE(3, "an entry written") "with every allocation granted "
                     "the table is built (got %d: "
                     "%s)", rc, ex_errmsg(rc));
            break;
        }
        failures++;
        EX_CHECK(rc == KV_ERR_NOMEM || rc == KV_OK, EX_RULE(2, "the offsets remembered") "a "
                 "build whose allocation %ld fails "
                 "returns KV_ERR_NOMEM from table_builder_add or table_builder_finish (or KV_OK, "
                 "if it could do without that block: a copy of a path for a message) (got %d "
                 "after %d entries: %s)", k, rc, i, ex_errmsg(rc));
        EX_CHECK(rc != KV_ERR_NOMEM || said[0] != '\0',
                 EX_RULE(2, "the offsets remembered") "a build whose allocation %ld fails "
                 "says so in kv_errmsg(), a message of its own (error.h: the failing path "
                 "sets it), not the empty one or an earlier call's (after %d entries)", k, i);
    }
    EX_CHECK(failures > 0 || !ex_alloc_fail_at(0), "test setup: building a table allocates");
    table_ctx_free(ctx);
}

static void table_build_failed_write_is_an_error(void)
{
    /* A table whose offset array alone is larger than the writer's
     * buffer, so that the array and the tail are written by appends of
     * their own; each append fails in turn, from the last to the first
     * (the records', the offset array's, the keys' and the tail's). */
    table_ctx *ctx = tb_ctx();
    enum { N = 40000 };
    long total = 0;
    EX_CHECK(tb_build_failing(ctx, N, 0, &total) == KV_OK && total > 2,
             "test setup: a table of %d entries", N);
    for (long k = total; k > 0; k--) {
        long calls = 0;
        int rc = tb_build_failing(ctx, N, k, &calls);
        EX_CHECK(rc < 0, EX_RULE(3, "a failed write returned") "a write of the table that fails "
                 "(append %ld of %ld: the records, the "
                 "offset array, the keys or the tail) makes table_builder_add or "
                 "table_builder_finish return that error, a negative KV_ERR_*, never KV_OK or "
                 "a count: the table is not whole (got %d)", k, total, rc);
    }
    table_ctx_free(ctx);
}

static void table_build_failed_key_write_is_an_error(void)
{
    /* First and last keys of 65000 bytes, written after the offset array:
     * with the writer's buffer that full, one of them, or the tail, is
     * written by an append of its own.  Tables of several sizes, each
     * append failing in turn. */
    table_ctx *ctx = tb_ctx();
    for (int n = 2000; n <= 16000; n += 2000) {
        long total = 0;
        EX_CHECK(tb_build_failing_keys(ctx, n, 1, 0, &total) == KV_OK && total > 1,
                 "test setup: a table of %d entries, the first and last keys of 65000 bytes", n);
        for (long k = total; k > 0; k--) {
            long calls = 0;
            int rc = tb_build_failing_keys(ctx, n, 1, k, &calls);
            EX_CHECK(rc < 0, EX_RULE(5, "a failed write returned") "a write of the table that "
                     "fails (append %ld of %ld of a table of "
                     "%d entries whose first and last keys are of 65000 bytes: the offset "
                     "array, the two keys or the tail) makes table_builder_finish return that "
                     "error, a negative KV_ERR_*, never KV_OK or a count: the table is not "
                     "whole (got %d)", k, total, n, rc);
        }
    }
    table_ctx_free(ctx);
}

static const harness_test table_build_tests[] = {
    HARNESS_TEST(table_build_matches_the_format),
    HARNESS_TEST(table_build_worked_example),
    HARNESS_TEST(table_build_long_keys_and_large_values),
    HARNESS_TEST(table_build_refuses_bad_entries),
    HARNESS_TEST(table_build_failed_write_is_an_error),
    HARNESS_TEST(table_build_out_of_memory_is_an_error),
    HARNESS_TEST(table_build_failed_key_write_is_an_error),
};
const harness_suite table_build_suite = HARNESS_SUITE("table_build", table_build_tests);
