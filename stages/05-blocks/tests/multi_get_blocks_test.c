/*
 * multi_get_blocks_test.c: kv_multi_get with tables in blocks (stage 04's
 * lsm_multi_get.c over table_v2_batch.c): the blocks the keys need and
 * the cache lacks are read in one io_read_batch, each once, none twice;
 * the blocks the cache holds are read not at all; a key absent from a
 * table whose block it read walks on to the older ones in a second
 * round; every answer, error and message is kv_get's, and so are the
 * reads: as many as a loop of kv_gets makes from the same cold start.
 * tests/multi_get.c holds kv.h's rules for every stage.
 *
 * Reads are counted by the fault backend (io_fault.h) with a plan that
 * fails nothing: it counts each range of a batch as a read, on either
 * backend, and a database opened under it reads every block with a call
 * (it cannot map files).  On io_uring the submissions are counted too
 * (io_ring.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "error.h"
#include "io_fault.h"
#include "io_ring.h"
#include "kv.h"

#define MGB_KEYS 2000
#define MGB_MAX 512

static const io_fault_plan mgb_count_reads = {.kinds = IO_FAULT_READ, .fail_at = 0};

static void mgb_key(char *k, size_t n, int i) { snprintf(k, n, "key%06d", i); }

/* The value of key i in round r ("" for none): 100 bytes or so, so that
 * a block of 4 KiB holds some 30 keys. */
static int mgb_value(char *v, size_t n, int i, int r)
{
    return snprintf(v, n, "value of %d, round %d: %080d", i, r, i);
}

/* A database of MGB_KEYS keys in one table, closed; opt may be NULL. */
static const char *mgb_make(const kv_options *opt)
{
    const char *dir = testdb_dir();
    kv_db *db = OPEN(dir, opt);
    char k[32], v[160];
    for (int i = 0; i < MGB_KEYS; i++) {
        mgb_key(k, sizeof k, i);
        int vl = mgb_value(v, sizeof v, i, 0);
        PUT(db, k, strlen(k), v, (size_t)vl);
    }
    CHECK_KV(kv_flush(db), KV_OK);
    CLOSE(db);
    return dir;
}

/* Keys as kv_multi_get takes them. */
typedef struct mgb_keys {
    size_t n;
    char names[MGB_MAX][32];
    const void *keys[MGB_MAX];
    size_t klens[MGB_MAX];
    void *vals[MGB_MAX];
    size_t vlens[MGB_MAX];
    int rcs[MGB_MAX];
} mgb_keys;

/* Keys first, first + step, ... (n of them); with shuffle, out of order. */
static mgb_keys *mgb_keys_new(size_t n, int first, int step, int shuffle)
{
    mgb_keys *m = calloc(1, sizeof *m);
    CHECK(m != NULL && n <= MGB_MAX);
    m->n = n;
    for (size_t i = 0; i < n; i++) {
        size_t j = shuffle ? (i * 7 + 3) % n : i;
        mgb_key(m->names[i], sizeof m->names[i], first + (int)j * step);
        m->keys[i] = m->names[i];
        m->klens[i] = strlen(m->names[i]);
    }
    return m;
}

static void mgb_free_values(mgb_keys *m)
{
    for (size_t i = 0; i < m->n; i++) {
        kv_free(m->vals[i]);
        m->vals[i] = NULL;
    }
}

/* Reads the keys with kv_multi_get: its status; *reads the reads it made. */
static int mgb_multi(kv_db *db, mgb_keys *m, long *reads)
{
    long before = io_fault_calls();
    int rc = kv_multi_get(db, m->n, m->keys, m->klens, m->vals, m->vlens, m->rcs);
    *reads = io_fault_calls() - before;
    return rc;
}

/* Each key's answer must be kv_get's on db (reads it makes are not
 * counted in anything the caller measured). */
static void mgb_expect_as_get(kv_db *db, const mgb_keys *m)
{
    for (size_t i = 0; i < m->n; i++) {
        void *v = NULL;
        size_t vl = 0;
        harness_context("key %zu (%s)", i, m->names[i]);
        int rc = kv_get(db, m->keys[i], m->klens[i], &v, &vl);
        CHECK_KV(m->rcs[i], rc);
        if (rc == KV_OK)
            CHECK_MEM(m->vals[i], m->vlens[i], v, vl);
        else
            CHECK(m->vals[i] == NULL && m->vlens[i] == 0);
        kv_free(v);
    }
    harness_context("%s", "");
}

/* Reads a loop of kv_gets of m's keys makes from a cold start (a fresh
 * open of dir, under the counting backend). */
static long mgb_loop_reads(const char *dir, const kv_options *opt, const mgb_keys *m)
{
    kv_db *db = OPEN(dir, opt);
    long before = io_fault_calls();
    for (size_t i = 0; i < m->n; i++) {
        void *v = NULL;
        size_t vl = 0;
        int rc = kv_get(db, m->keys[i], m->klens[i], &v, &vl);
        CHECK(rc == KV_OK || rc == KV_NOT_FOUND);
        kv_free(v);
    }
    long reads = io_fault_calls() - before;
    CLOSE(db);
    return reads;
}

/* 1 if the databases of this process read their batches with io_uring. */
static int mgb_on_uring(void)
{
    char why[200];
    const char *env = getenv("KV_IO");
    return io_ring_usable(why, sizeof why) && (env == NULL || strcmp(env, "posix") != 0);
}

static void multi_get_reads_missing_blocks_in_one_batch(void)
{
    const char *dir = mgb_make(NULL);
    io_fault_install(&mgb_count_reads);
    kv_db *db = OPEN(dir, NULL);
    /* 16 keys 100 apart: 16 blocks, none in the cache. */
    mgb_keys *m = mgb_keys_new(16, 7, 100, 1);
    io_ring_counts r0, r1;
    io_ring_counts_get(&r0);
    long reads;
    CHECK_KV(mgb_multi(db, m, &reads), KV_OK);
    io_ring_counts_get(&r1);
    CHECK_EQ(reads, 16);
    if (mgb_on_uring()) {
        CHECK_EQ(r1.submissions - r0.submissions, 1);
        CHECK_EQ(r1.reads - r0.reads, 16);
    } else {
        printf("    note: io_uring is not used here; one batch of pread\n");
    }
    mgb_expect_as_get(db, m);
    mgb_free_values(m);
    /* The same keys again: every block is in the cache now, no read. */
    io_ring_counts_get(&r0);
    CHECK_KV(mgb_multi(db, m, &reads), KV_OK);
    io_ring_counts_get(&r1);
    CHECK_EQ(reads, 0);
    CHECK_EQ(r1.submissions - r0.submissions, 0);
    mgb_expect_as_get(db, m);
    mgb_free_values(m);
    CLOSE(db);
    io_fault_uninstall();
    free(m);
}

/* Neighbouring keys share their blocks: each block is read once, as many
 * reads as the loop makes. */
static void multi_get_reads_a_shared_block_once(void)
{
    const char *dir = mgb_make(NULL);
    io_fault_install(&mgb_count_reads);
    mgb_keys *m = mgb_keys_new(200, 500, 1, 1);
    long loop = mgb_loop_reads(dir, NULL, m);
    CHECK(loop > 1 && loop < 20);
    kv_db *db = OPEN(dir, NULL);
    long reads;
    CHECK_KV(mgb_multi(db, m, &reads), KV_OK);
    CHECK_EQ(reads, loop);
    mgb_expect_as_get(db, m);
    mgb_free_values(m);
    CLOSE(db);
    io_fault_uninstall();
    free(m);
}

/* Four tables, without filters, so that a lookup reads a block of every
 * table whose range holds its key: keys put in the oldest, overwritten in
 * a newer one, deleted in a newer one, put again in the newest.  Each key
 * walks on from a table that read its block and did not hold it, in
 * rounds; the answers and the reads are the loop's. */
static void multi_get_walks_on_through_older_tables(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.bloom_bits_per_key = KV_NO_BLOOM;
    const char *dir = testdb_dir();
    kv_db *db = OPEN(dir, &opt);
    char k[32], v[160];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < MGB_KEYS; i++) {
            int in = round == 0 || (round == 1 && i % 3 == 0) || (round == 2 && i % 5 == 0) ||
                     (round == 3 && i % 7 == 0);
            if (!in)
                continue;
            mgb_key(k, sizeof k, i);
            if (round == 2 && i % 10 == 0) {
                DEL(db, k, strlen(k));
            } else {
                int vl = mgb_value(v, sizeof v, i, round);
                PUT(db, k, strlen(k), v, (size_t)vl);
            }
        }
        CHECK_KV(kv_flush(db), KV_OK);
    }
    /* Keys that are in no table, between and beyond the others. */
    PUT(db, S("key999999"), S("in memory"));
    CLOSE(db);
    io_fault_install(&mgb_count_reads);
    mgb_keys *m = mgb_keys_new(MGB_MAX, 0, 3, 1);
    snprintf(m->names[5], sizeof m->names[5], "key000001x"); /* absent, inside every range */
    m->klens[5] = strlen(m->names[5]);
    snprintf(m->names[6], sizeof m->names[6], "key999999");
    m->klens[6] = strlen(m->names[6]);
    snprintf(m->names[7], sizeof m->names[7], "zzz");
    m->klens[7] = strlen(m->names[7]);
    long loop = mgb_loop_reads(dir, &opt, m);
    db = OPEN(dir, &opt);
    long reads;
    CHECK_KV(mgb_multi(db, m, &reads), KV_OK);
    CHECK_EQ(reads, loop);
    mgb_expect_as_get(db, m);
    int found = 0, absent = 0;
    for (size_t i = 0; i < m->n; i++) {
        found += m->rcs[i] == KV_OK;
        absent += m->rcs[i] == KV_NOT_FOUND;
    }
    CHECK(found > 0 && absent > 2); /* the deleted keys, and two never put */
    mgb_free_values(m);
    CLOSE(db);
    io_fault_uninstall();
    free(m);
}

/* A cache too small to keep any block: each lookup decodes its block into
 * memory of its own, and the answers are the same. */
static void multi_get_without_room_in_the_cache(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.cache_bytes = 64;
    const char *dir = mgb_make(&opt);
    kv_db *db = OPEN(dir, &opt);
    mgb_keys *m = mgb_keys_new(100, 3, 17, 1);
    CHECK_KV(kv_multi_get(db, m->n, m->keys, m->klens, m->vals, m->vlens, m->rcs), KV_OK);
    mgb_expect_as_get(db, m);
    mgb_free_values(m);
    CLOSE(db);
    free(m);
}

/* The third read fails: its key, and only its key, fails with kv_get's
 * error and message for it; the call returns it. */
static void multi_get_fails_only_the_key_whose_read_failed(void)
{
    const char *dir = mgb_make(NULL);
    mgb_keys *m = mgb_keys_new(8, 50, 200, 0); /* in key order, so in read order */
    io_fault_plan third = {.kinds = IO_FAULT_READ, .fail_at = 3, .err = EIO};
    io_fault_install(&mgb_count_reads);
    kv_db *db = OPEN(dir, NULL);
    io_fault_install(&third);
    CHECK_KV(kv_multi_get(db, m->n, m->keys, m->klens, m->vals, m->vlens, m->rcs), KV_ERR_IO);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", kv_errmsg());
    for (size_t i = 0; i < m->n; i++) {
        harness_context("key %zu", i);
        CHECK_KV(m->rcs[i], i == 2 ? KV_ERR_IO : KV_OK);
    }
    harness_context("%s", "");
    CHECK(m->vals[2] == NULL && m->vlens[2] == 0);
    mgb_free_values(m);
    CLOSE(db);
    /* kv_get of that key, from the same cold start, failing its read. */
    io_fault_install(&mgb_count_reads);
    db = OPEN(dir, NULL);
    io_fault_plan first = {.kinds = IO_FAULT_READ, .fail_at = 1, .err = EIO};
    io_fault_install(&first);
    void *v = NULL;
    size_t vl = 0;
    CHECK_KV(kv_get(db, m->keys[2], m->klens[2], &v, &vl), KV_ERR_IO);
    CHECK_MSG(strcmp(kv_errmsg(), msg) == 0, "kv_multi_get: %s; kv_get: %s", msg, kv_errmsg());
    CLOSE(db);
    io_fault_uninstall();
    free(m);
}

static const harness_test multi_get_blocks_tests[] = {
    HARNESS_TEST(multi_get_reads_missing_blocks_in_one_batch),
    HARNESS_TEST(multi_get_reads_a_shared_block_once),
    HARNESS_TEST(multi_get_walks_on_through_older_tables),
    HARNESS_TEST(multi_get_without_room_in_the_cache),
    HARNESS_TEST(multi_get_fails_only_the_key_whose_read_failed),
};

const harness_suite multi_get_blocks_suite = HARNESS_SUITE("multi_get_blocks",
                                                           multi_get_blocks_tests);
