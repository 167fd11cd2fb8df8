/*
 * conformance.c: the core rules of include/kv.h, one test per rule, run
 * unchanged against every stage: put, get and delete with their edge cases
 * (empty values, NUL bytes, the largest key and value and one past each),
 * reopening, kv_stats and kv_compact.  iterator.c, lifecycle.c and
 * concurrency.c hold the rest of kv.h's rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "harness.h"
#include "io_ring.h"
#include "kv.h"
#include "testdb.h"

/* ---- put, get, delete ------------------------------------------------- */

static void put_then_get_returns_value(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("key"), S("value"));
    EXPECT(db, S("key"), S("value"));
    PUT(db, S("other"), S("x"));
    EXPECT(db, S("key"), S("value"));
    EXPECT(db, S("other"), S("x"));
    CLOSE(db);
}

static void put_overwrites_previous_value(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("key"), S("first"));
    PUT(db, S("key"), S("second, longer"));
    EXPECT(db, S("key"), S("second, longer"));
    PUT(db, S("key"), S("3"));
    EXPECT(db, S("key"), S("3"));
    CLOSE(db);
}

static void get_of_absent_key_is_not_found(void)
{
    kv_db *db = testdb_fresh(NULL);
    ABSENT(db, S("nothing"));
    PUT(db, S("key"), S("v"));
    ABSENT(db, S("ke"));
    ABSENT(db, S("key\0"));
    ABSENT(db, S("keyy"));
    CLOSE(db);
}

static void get_of_deleted_key_is_not_found(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("key"), S("v"));
    PUT(db, S("keep"), S("k"));
    DEL(db, S("key"));
    ABSENT(db, S("key"));
    EXPECT(db, S("keep"), S("k"));
    PUT(db, S("key"), S("back"));
    EXPECT(db, S("key"), S("back"));
    DEL(db, S("key"));
    ABSENT(db, S("key"));
    CLOSE(db);
}

static void delete_of_absent_key_is_ok(void)
{
    kv_db *db = testdb_fresh(NULL);
    DEL(db, S("never"));
    PUT(db, S("k"), S("v"));
    DEL(db, S("k"));
    DEL(db, S("k"));
    ABSENT(db, S("k"));
    ABSENT(db, S("never"));
    CLOSE(db);
}

/* An empty value is a value, not a delete: get returns a real (non-NULL)
 * allocation of 0 bytes, before and after reopening. */
static void empty_value_is_a_value(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("empty"), S(""));
    PUT(db, S("null"), NULL, 0);
    EXPECT(db, S("empty"), S(""));
    EXPECT(db, S("null"), S(""));
    testdb_pair want[] = {P("empty", ""), P("null", "")};
    testdb_expect_scan(db, want, NPAIRS(want));
    CLOSE(db);
    db = OPEN(dir, NULL);
    EXPECT(db, S("empty"), S(""));
    EXPECT(db, S("null"), S(""));
    testdb_expect_scan(db, want, NPAIRS(want));
    CLOSE(db);
}

static void get_returns_private_copy(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("k"), S("value"));
    void *v = NULL;
    size_t vl = 0;
    CHECK_KV(kv_get(db, S("k"), &v, &vl), KV_OK);
    memset(v, 'X', vl);
    kv_free(v);
    EXPECT(db, S("k"), S("value"));
    CLOSE(db);
}

static void put_copies_caller_buffers(void)
{
    kv_db *db = testdb_fresh(NULL);
    char k[4] = "key", v[6] = "value";
    PUT(db, k, 3, v, 5);
    memset(k, 'Z', 3);
    memset(v, 'Z', 5);
    EXPECT(db, S("key"), S("value"));
    ABSENT(db, S("ZZZ"));
    CLOSE(db);
}

static void nul_bytes_in_keys_and_values_round_trip(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("\0"), S("\0\0\0"));
    PUT(db, S("a\0b"), S("x\0y"));
    PUT(db, S("a\0c"), S("\0"));
    PUT(db, S("a"), S("plain"));
    EXPECT(db, S("\0"), S("\0\0\0"));
    EXPECT(db, S("a\0b"), S("x\0y"));
    EXPECT(db, S("a\0c"), S("\0"));
    EXPECT(db, S("a"), S("plain"));
    ABSENT(db, S("a\0"));
    ABSENT(db, S("\0\0"));
    testdb_pair want[] = {P("\0", "\0\0\0"), P("a", "plain"), P("a\0b", "x\0y"), P("a\0c", "\0")};
    testdb_expect_scan(db, want, NPAIRS(want));
    CLOSE(db);
    db = OPEN(dir, NULL);
    testdb_expect_scan(db, want, NPAIRS(want));
    CLOSE(db);
}

/* ---- limits ------------------------------------------------------------ */

static void largest_key_works(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    char *key = malloc(KV_MAX_KEY);
    CHECK(key != NULL);
    for (size_t i = 0; i < KV_MAX_KEY; i++)
        key[i] = (char)(i * 31 + 7);
    PUT(db, key, KV_MAX_KEY, S("big key"));
    EXPECT(db, key, KV_MAX_KEY, S("big key"));
    ABSENT(db, key, KV_MAX_KEY - 1);
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    kv_iter_seek_first(it);
    CHECK(kv_iter_valid(it));
    size_t kl = 0;
    const void *k = kv_iter_key(it, &kl);
    CHECK_MEM(k, kl, key, KV_MAX_KEY);
    kv_iter_free(it);
    CLOSE(db);
    db = OPEN(dir, NULL);
    EXPECT(db, key, KV_MAX_KEY, S("big key"));
    DEL(db, key, KV_MAX_KEY);
    ABSENT(db, key, KV_MAX_KEY);
    CLOSE(db);
    free(key);
}

static void key_one_past_largest_is_invalid_and_writes_nothing(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("before"), S("v"));
    char *key = malloc(KV_MAX_KEY + 1);
    CHECK(key != NULL);
    memset(key, 'k', KV_MAX_KEY + 1);
    uint64_t bytes = testdb_dir_bytes(dir);
    kv_error_clear();
    CHECK_KV(kv_put(db, key, KV_MAX_KEY + 1, S("v")), KV_ERR_INVALID);
    CHECK(kv_errmsg()[0] != '\0');
    CHECK_KV(kv_delete(db, key, KV_MAX_KEY + 1), KV_ERR_INVALID);
    void *v = NULL;
    size_t vl = 0;
    CHECK_KV(kv_get(db, key, KV_MAX_KEY + 1, &v, &vl), KV_ERR_INVALID);
    CHECK_EQ(testdb_dir_bytes(dir), bytes);
    ABSENT(db, key, KV_MAX_KEY);
    testdb_pair want[] = {P("before", "v")};
    testdb_expect_scan(db, want, NPAIRS(want));
    CLOSE(db);
    db = OPEN(dir, NULL);
    testdb_expect_scan(db, want, NPAIRS(want));
    CLOSE(db);
    free(key);
}

static void empty_key_is_invalid(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    uint64_t bytes = testdb_dir_bytes(dir);
    kv_error_clear();
    CHECK_KV(kv_put(db, "", 0, S("v")), KV_ERR_INVALID);
    CHECK(kv_errmsg()[0] != '\0');
    kv_error_clear();
    CHECK_KV(kv_delete(db, "", 0), KV_ERR_INVALID);
    CHECK(kv_errmsg()[0] != '\0');
    void *v = NULL;
    size_t vl = 0;
    kv_error_clear();
    CHECK_KV(kv_get(db, "", 0, &v, &vl), KV_ERR_INVALID);
    CHECK(kv_errmsg()[0] != '\0');
    CHECK_EQ(testdb_dir_bytes(dir), bytes);
    testdb_expect_scan(db, NULL, 0);
    CLOSE(db);
}

/* The largest value (exactly KV_MAX_VALUE) is stored and read back, and
 * survives a reopen; one byte more is refused without writing anything. */
static void largest_value_works_and_one_more_is_invalid(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    unsigned char *val = malloc((size_t)KV_MAX_VALUE + 1);
    CHECK(val != NULL);
    for (size_t i = 0; i <= KV_MAX_VALUE; i++)
        val[i] = (unsigned char)(i ^ (i >> 8) ^ (i >> 16));
    PUT(db, S("big"), val, KV_MAX_VALUE);
    EXPECT(db, S("big"), val, KV_MAX_VALUE);

    uint64_t bytes = testdb_dir_bytes(dir);
    kv_error_clear();
    CHECK_KV(kv_put(db, S("bigger"), val, (size_t)KV_MAX_VALUE + 1), KV_ERR_INVALID);
    CHECK(kv_errmsg()[0] != '\0');
    CHECK_EQ(testdb_dir_bytes(dir), bytes);
    ABSENT(db, S("bigger"));
    CLOSE(db);

    db = OPEN(dir, NULL);
    EXPECT(db, S("big"), val, KV_MAX_VALUE);
    ABSENT(db, S("bigger"));
    CLOSE(db);
    free(val);
}

/* ---- reopen --------------------------------------------------------------- */

static void reopen_keeps_puts_overwrites_and_deletes(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("a"), S("1"));
    PUT(db, S("b"), S("2"));
    PUT(db, S("c"), S("3"));
    PUT(db, S("b"), S("22"));
    DEL(db, S("c"));
    PUT(db, S("d"), S(""));
    CLOSE(db);

    db = OPEN(dir, NULL);
    EXPECT(db, S("a"), S("1"));
    EXPECT(db, S("b"), S("22"));
    ABSENT(db, S("c"));
    EXPECT(db, S("d"), S(""));
    testdb_pair want[] = {P("a", "1"), P("b", "22"), P("d", "")};
    testdb_expect_scan(db, want, NPAIRS(want));
    /* Writes after a reopen land after the old ones. */
    PUT(db, S("c"), S("back"));
    DEL(db, S("a"));
    CLOSE(db);

    db = OPEN(dir, NULL);
    testdb_pair want2[] = {P("b", "22"), P("c", "back"), P("d", "")};
    testdb_expect_scan(db, want2, NPAIRS(want2));
    CLOSE(db);
}

static void reopen_of_empty_db_is_empty(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    CLOSE(db);
    db = OPEN(dir, NULL);
    testdb_expect_scan(db, NULL, 0);
    ABSENT(db, S("a"));
    CLOSE(db);
}

/* ---- stats and compact ------------------------------------------------- */

static void stats_returns_name_value_text(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("a"), S("1"));
    DEL(db, S("a"));
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    CHECK(text != NULL);
    CHECK_MSG(strlen(text) > 0 && strchr(text, ':') != NULL, "stats text \"%s\"", text);
    kv_free(text);
    CLOSE(db);
}

/* The line of kv_stats that starts with name, without its '\n', into out
 * (empty if there is none). */
static void stats_line(kv_db *db, const char *name, char *out, size_t n)
{
    char *text = NULL;
    out[0] = '\0';
    CHECK_KV(kv_stats(db, &text), KV_OK);
    size_t len = strlen(name);
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, len) == 0) {
            size_t k = strcspn(p, "\n");
            snprintf(out, n, "%.*s", (int)k, p);
            break;
        }
    kv_free(text);
}

/* kv_stats says which I/O backend the database opened with, and why it is
 * the POSIX one (docs/io.md): asked by kv_options.io, by KV_IO (which
 * replaces it), or the kernel's refusal of io_uring. */
static void stats_say_which_io_backend_the_database_opened_with(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("a"), S("1"));
    CLOSE(db);
    const char *env = getenv("KV_IO");
    char why[256], line[512], want[512];
    int usable = io_ring_usable(why, sizeof why);
    for (int io = KV_IO_AUTO; io <= KV_IO_URING; io++) {
        kv_options opt;
        kv_options_init(&opt);
        opt.io = io;
        const char *chosen = env != NULL ? env : io == KV_IO_POSIX ? "posix"
                             : io == KV_IO_URING ? "uring" : "auto";
        if (strcmp(chosen, "uring") == 0 && !usable)
            continue; /* kv_open refuses it (io_mount_test.c) */
        if (strcmp(chosen, "posix") == 0)
            snprintf(want, sizeof want, "io.backend: posix (asked: %s)",
                     env != NULL ? "KV_IO=posix" : "kv_options.io");
        else if (usable)
            snprintf(want, sizeof want, "io.backend: uring");
        else
            snprintf(want, sizeof want, "io.backend: posix (fallback: %s)", why);
        harness_context("kv_options.io = %d, KV_IO %s", io, env != NULL ? env : "unset");
        db = OPEN(dir, &opt);
        stats_line(db, "io.backend:", line, sizeof line);
        CHECK_MSG(strcmp(line, want) == 0, "kv_stats: '%s', want '%s'", line, want);
        EXPECT(db, S("a"), S("1"));
        CLOSE(db);
        harness_context("%s", "");
    }
}

static void compact_keeps_every_live_value(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    CHECK_KV(kv_compact(db), KV_OK);        /* an empty db */
    char k[16], v[32];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 200; i++) {
            int kl = snprintf(k, sizeof k, "key%03d", i);
            int vl = snprintf(v, sizeof v, "value-%d-%d", i, round);
            PUT(db, k, (size_t)kl, v, (size_t)vl);
        }
    }
    for (int i = 0; i < 200; i += 3) {
        int kl = snprintf(k, sizeof k, "key%03d", i);
        DEL(db, k, (size_t)kl);
    }
    for (int pass = 0; pass < 2; pass++) {
        CHECK_KV(kv_compact(db), KV_OK);
        for (int i = 0; i < 200; i++) {
            int kl = snprintf(k, sizeof k, "key%03d", i);
            int vl = snprintf(v, sizeof v, "value-%d-2", i);
            if (i % 3 == 0)
                ABSENT(db, k, (size_t)kl);
            else
                EXPECT(db, k, (size_t)kl, v, (size_t)vl);
        }
        /* Writes after a compaction work and survive the next one. */
        PUT(db, S("after"), S("compact"));
    }
    CLOSE(db);
    db = OPEN(dir, NULL);
    EXPECT(db, S("after"), S("compact"));
    for (int i = 0; i < 200; i++) {
        int kl = snprintf(k, sizeof k, "key%03d", i);
        int vl = snprintf(v, sizeof v, "value-%d-2", i);
        if (i % 3 == 0)
            ABSENT(db, k, (size_t)kl);
        else
            EXPECT(db, k, (size_t)kl, v, (size_t)vl);
    }
    CLOSE(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(put_then_get_returns_value),
    HARNESS_TEST(put_overwrites_previous_value),
    HARNESS_TEST(get_of_absent_key_is_not_found),
    HARNESS_TEST(get_of_deleted_key_is_not_found),
    HARNESS_TEST(delete_of_absent_key_is_ok),
    HARNESS_TEST(empty_value_is_a_value),
    HARNESS_TEST(get_returns_private_copy),
    HARNESS_TEST(put_copies_caller_buffers),
    HARNESS_TEST(nul_bytes_in_keys_and_values_round_trip),
    HARNESS_TEST(largest_key_works),
    HARNESS_TEST(key_one_past_largest_is_invalid_and_writes_nothing),
    HARNESS_TEST(empty_key_is_invalid),
    HARNESS_TEST(largest_value_works_and_one_more_is_invalid),
    HARNESS_TEST(reopen_keeps_puts_overwrites_and_deletes),
    HARNESS_TEST(reopen_of_empty_db_is_empty),
    HARNESS_TEST(stats_returns_name_value_text),
    HARNESS_TEST(stats_say_which_io_backend_the_database_opened_with),
    HARNESS_TEST(compact_keeps_every_live_value),
};
const harness_suite conformance_suite = HARNESS_SUITE("conformance", tests);
