/*
 * alloc_test.c: every allocation of every path through kv.h fails in turn
 * (alloc_run.h says what must hold): writes (put, delete, a batch, a put
 * that rolls over to a new segment, a put with sync = 1), opens (creating
 * a database, recovering segments, hint files and a torn tail, strict and
 * read-only, replaying into a small memtable), reads (kv_get, iterators
 * both ways, snapshots, kv_stats), a transaction, kv_compact, kv_close, and the offline
 * tools (kv_check, kv_dump, kv_repair).
 */
#include <stdio.h>
#include <string.h>

#include "../harness.h"
#include "../stage_caps.h"
#include "../testdb.h"
#include "alloc_run.h"

/* ---- writes ------------------------------------------------------------------- */

static const char big[3000] = "a value bigger than a segment";

static int put_new(alloc_env *e) { return kv_put(e->db, S("key00"), S("new")); }
static void put_new_effect(alloc_model *m) { alloc_model_put(m, 0, "new", 3); }

static int put_over(alloc_env *e) { return kv_put(e->db, S("key03"), S("over")); }
static void put_over_effect(alloc_model *m) { alloc_model_put(m, 3, "over", 4); }

static int put_big(alloc_env *e) { return kv_put(e->db, "key04", 5, big, sizeof big); }
static void put_big_effect(alloc_model *m) { alloc_model_put(m, 4, big, sizeof big); }

static int delete_one(alloc_env *e) { return kv_delete(e->db, S("key07")); }
static void delete_one_effect(alloc_model *m) { alloc_model_delete(m, 7); }

static int batch(alloc_env *e)
{
    kv_batch *b = NULL;
    int rc = kv_batch_new(&b);
    if (rc == KV_OK)
        rc = kv_batch_put(b, S("key01"), S("batch one"));
    if (rc == KV_OK)
        rc = kv_batch_delete(b, S("key02"));
    if (rc == KV_OK)
        rc = kv_batch_put(b, S("key05"), S("batch five"));
    if (rc == KV_OK)
        rc = kv_write(e->db, b);
    kv_batch_free(b);
    return rc;
}
static void batch_effect(alloc_model *m)
{
    alloc_model_put(m, 1, "batch one", 9);
    alloc_model_delete(m, 2);
    alloc_model_put(m, 5, "batch five", 10);
}

static int close_db(alloc_env *e)
{
    int rc = kv_close(e->db);
    e->db = NULL;
    return rc;
}

/* ---- opens ---------------------------------------------------------------------- */

static int open_db(alloc_env *e)
{
    int rc = kv_open(e->dir, &e->opt, &e->db);
    if (rc != KV_OK && e->db != NULL)
        snprintf(e->problem, sizeof e->problem, "kv_open failed and left *db set");
    if (rc != KV_OK)
        e->db = NULL;
    return rc;
}

/* Stage 04 on (memtable_bytes is ignored before): an open that replays the
 * log into a memtable of 1 KiB, whose arena takes a block every few
 * entries; the reopen after it keeps the option. */
static int open_db_small_memtable(alloc_env *e)
{
    e->opt.memtable_bytes = 1024;
    return open_db(e);
}

/* ---- reads ---------------------------------------------------------------------- */

static int get_each(alloc_env *e)
{
    for (int i = 0; i < ALLOC_KEYS; i++) {
        char key[8];
        size_t klen = alloc_key(key, i);
        void *val = NULL;
        size_t vlen = 0;
        int rc = kv_get(e->db, key, klen, &val, &vlen);
        if (rc == KV_OK)
            kv_free(val);
        if (rc != KV_OK && rc != KV_NOT_FOUND)
            return rc;
    }
    return KV_OK;
}

/* A full scan, a seek and a step back from the end: what the iterator
 * shows before it stops must be the model's keys in order, with their
 * values. */
static int iterate(alloc_env *e)
{
    kv_iter *it = NULL;
    int rc = kv_iter_new(e->db, &it);
    if (rc != KV_OK)
        return rc;
    int next = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it) && !e->problem[0]; kv_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const char *key = kv_iter_key(it, &klen);
        const void *val = kv_iter_value(it, &vlen);
        if (val == NULL)
            break;
        while (next < ALLOC_KEYS && e->model->len[next] < 0)
            next++;
        char want[8];
        size_t wlen = next < ALLOC_KEYS ? alloc_key(want, next) : 0;
        if (next == ALLOC_KEYS || klen != wlen || memcmp(key, want, wlen) != 0 ||
            vlen != (size_t)e->model->len[next] || memcmp(val, e->model->value[next], vlen))
            snprintf(e->problem, sizeof e->problem, "the iterator shows %.*s where the model "
                     "has %s", (int)klen, key, next < ALLOC_KEYS ? want : "nothing more");
        next++;
    }
    while (next < ALLOC_KEYS && e->model->len[next] < 0)
        next++;
    rc = kv_iter_status(it);
    if (rc == KV_OK && next < ALLOC_KEYS && !e->problem[0])
        snprintf(e->problem, sizeof e->problem, "the iterator ended before key%02d with "
                 "KV_OK", next);
    if (rc == KV_OK) {
        kv_iter_seek(it, S("key10"));
        rc = kv_iter_status(it);
    }
    /* Backwards from the end: the model's last present key comes first. */
    if (rc == KV_OK) {
        int last = ALLOC_KEYS - 1;
        while (last >= 0 && e->model->len[last] < 0)
            last--;
        kv_iter_seek_last(it);
        size_t klen = 0;
        char want[8];
        const char *key = kv_iter_valid(it) ? kv_iter_key(it, &klen) : NULL;
        rc = kv_iter_status(it);
        if (rc == KV_OK && last >= 0 &&
            (key == NULL || klen != alloc_key(want, last) || memcmp(key, want, klen) != 0))
            snprintf(e->problem, sizeof e->problem, "kv_iter_seek_last is not at key%02d", last);
        if (rc == KV_OK && key != NULL) {
            kv_iter_prev(it);
            rc = kv_iter_status(it);
        }
    }
    kv_iter_free(it);
    return rc;
}

/* A snapshot, a read and an iterator at it, while a write goes on. */
static int snapshot(alloc_env *e)
{
    const kv_snapshot *snap = NULL;
    int rc = kv_snapshot_new(e->db, &snap);
    if (rc != KV_OK)
        return rc;
    void *val = NULL;
    size_t vlen = 0;
    rc = kv_get_at(e->db, snap, S("key01"), &val, &vlen);
    if (rc == KV_OK)
        kv_free(val);
    if (rc == KV_OK || rc == KV_NOT_FOUND) {
        kv_iter *it = NULL;
        rc = kv_iter_new_at(e->db, snap, &it);
        if (rc == KV_OK) {
            kv_iter_seek_first(it);
            while (kv_iter_valid(it))
                kv_iter_next(it);
            rc = kv_iter_status(it);
            kv_iter_free(it);
        }
    }
    kv_snapshot_free(e->db, snap);
    return rc;
}

static int stats(alloc_env *e)
{
    char *text = NULL;
    int rc = kv_stats(e->db, &text);
    if (rc == KV_OK && (text == NULL || text[0] == '\0'))
        snprintf(e->problem, sizeof e->problem, "kv_stats returned KV_OK and no text");
    kv_free(text);
    return rc;
}

static int compact(alloc_env *e) { return kv_compact(e->db); }

/* A serializable transaction: reads (a key, an absent one, a scan of a
 * range, its own write), a put and a delete, the commit. */
static int transaction(alloc_env *e)
{
    kv_txn *t = NULL;
    int rc = kv_txn_begin(e->db, KV_TXN_SERIALIZABLE, &t);
    if (rc != KV_OK)
        return rc;
    void *val = NULL;
    size_t vlen = 0;
    if ((rc = kv_txn_get(t, S("key01"), &val, &vlen)) == KV_OK)
        kv_free(val);
    if ((rc == KV_OK || rc == KV_NOT_FOUND) &&
        (rc = kv_txn_get(t, S("key99"), &val, &vlen)) == KV_NOT_FOUND)
        rc = kv_txn_put(t, S("key00"), S("txn"));
    if (rc == KV_OK && (rc = kv_txn_delete(t, S("key07"))) == KV_OK &&
        (rc = kv_txn_get(t, S("key00"), &val, &vlen)) == KV_OK)
        kv_free(val);
    kv_txn_iter *it = NULL;
    if (rc == KV_OK && (rc = kv_txn_iter_new(t, &it)) == KV_OK) {
        int n = 0;
        for (kv_txn_iter_seek(it, S("key03")); kv_txn_iter_valid(it) && n < 3; n++)
            kv_txn_iter_next(it);
        rc = kv_txn_iter_status(it);
        kv_txn_iter_free(it);
    }
    if (rc != KV_OK) {
        kv_txn_abort(t);
        return rc;
    }
    return kv_txn_commit(t);
}
static void transaction_effect(alloc_model *m)
{
    alloc_model_put(m, 0, "txn", 3);
    alloc_model_delete(m, 7);
}

/* ---- the offline tools ------------------------------------------------------------- */

static void count_line(void *ctx, const char *line)
{
    (void)line;
    ++*(long *)ctx;
}

static int check(alloc_env *e)
{
    long lines = 0;
    return kv_check(e->dir, count_line, &lines);
}

static int dump(alloc_env *e)
{
    long lines = 0;
    return kv_dump(e->dir, count_line, &lines);
}

static int repair(alloc_env *e)
{
    long lines = 0;
    return kv_repair(e->dir, count_line, &lines);
}

/* ---- the tests ------------------------------------------------------------------- */

#define CASE(fn, ...)                                                         \
    static void fn(void)                                                      \
    {                                                                         \
        const alloc_case c = {#fn, __VA_ARGS__};                              \
        alloc_run_case(&c);                                                   \
    }

/* name, from, needs_open, sync, strict, read_only, want, run, effect */
CASE(put_of_a_new_key, ALLOC_FROM_SEGMENTS, 1, 0, 0, 0, KV_OK, put_new, put_new_effect)
CASE(put_over_a_key, ALLOC_FROM_MERGED, 1, 0, 0, 0, KV_OK, put_over, put_over_effect)
CASE(put_that_rolls_over, ALLOC_FROM_SEGMENTS, 1, 0, 0, 0, KV_OK, put_big, put_big_effect)
CASE(put_with_sync, ALLOC_FROM_SEGMENTS, 1, 1, 0, 0, KV_OK, put_new, put_new_effect)
CASE(delete_of_a_key, ALLOC_FROM_SEGMENTS, 1, 0, 0, 0, KV_OK, delete_one, delete_one_effect)
CASE(batch_of_puts_and_a_delete, ALLOC_FROM_SEGMENTS, 1, 0, 0, 0, KV_OK, batch, batch_effect)
CASE(close_after_writes, ALLOC_FROM_SEGMENTS, 1, 0, 0, 0, KV_OK, close_db, NULL)
CASE(open_creating_a_database, ALLOC_FROM_NOTHING, 0, 0, 0, 0, KV_OK, open_db, NULL)
CASE(open_recovering_segments, ALLOC_FROM_SEGMENTS, 0, 0, 0, 0, KV_OK, open_db, NULL)
CASE(open_replaying_into_a_small_memtable, ALLOC_FROM_SEGMENTS, 0, 0, 0, 0, KV_OK,
     open_db_small_memtable, NULL)
CASE(open_recovering_from_hints, ALLOC_FROM_MERGED, 0, 0, 0, 0, KV_OK, open_db, NULL)
CASE(open_cutting_a_torn_tail, ALLOC_FROM_TORN, 0, 0, 0, 0, KV_OK, open_db, NULL)
CASE(open_strict_refusing_a_torn_tail, ALLOC_FROM_TORN, 0, 0, 1, 0, KV_ERR_CORRUPT, open_db,
     NULL)
CASE(open_read_only_over_a_torn_tail, ALLOC_FROM_TORN, 0, 0, 0, 1, KV_OK, open_db, NULL)
CASE(get_of_every_key, ALLOC_FROM_MERGED, 1, 0, 0, 0, KV_OK, get_each, NULL)
CASE(iterator_scan_and_seek, ALLOC_FROM_MERGED, 1, 0, 0, 0, KV_OK, iterate, NULL)
CASE(snapshot_read_and_scan, ALLOC_FROM_MERGED, 1, 0, 0, 0, KV_OK, snapshot, NULL)
CASE(stats_text, ALLOC_FROM_MERGED, 1, 0, 0, 0, KV_OK, stats, NULL)
CASE(transaction_reads_and_commits, ALLOC_FROM_MERGED, 1, 0, 0, 0, KV_OK, transaction,
     transaction_effect)
CASE(compact_of_overwrites_and_deletes, ALLOC_FROM_SEGMENTS, 1, 0, 0, 0, KV_OK, compact, NULL)
CASE(check_of_a_merged_database, ALLOC_FROM_MERGED, 0, 0, 0, 0, KV_OK, check, NULL)
CASE(dump_of_a_merged_database, ALLOC_FROM_MERGED, 0, 0, 0, 0, KV_OK, dump, NULL)

/* kv_repair: salvages a torn tail from stage 03 on, KV_ERR_INVALID before. */
static void repair_of_a_torn_tail(void)
{
    const stage_caps *caps = stage_caps_find();
    CHECK_MSG(caps != NULL, "tests/stage_caps.c has no row for stage %s", kv_stage());
    const alloc_case c = {"repair_of_a_torn_tail", ALLOC_FROM_TORN, 0, 0, 0, 0,
                          caps->has_repair ? KV_OK : KV_ERR_INVALID, repair, NULL};
    alloc_run_case(&c);
}

static const harness_test tests[] = {
    HARNESS_TEST(put_of_a_new_key),
    HARNESS_TEST(put_over_a_key),
    HARNESS_TEST(put_that_rolls_over),
    HARNESS_TEST(put_with_sync),
    HARNESS_TEST(delete_of_a_key),
    HARNESS_TEST(batch_of_puts_and_a_delete),
    HARNESS_TEST(close_after_writes),
    HARNESS_TEST(open_creating_a_database),
    HARNESS_TEST(open_recovering_segments),
    HARNESS_TEST(open_replaying_into_a_small_memtable),
    HARNESS_TEST(open_recovering_from_hints),
    HARNESS_TEST(open_cutting_a_torn_tail),
    HARNESS_TEST(open_strict_refusing_a_torn_tail),
    HARNESS_TEST(open_read_only_over_a_torn_tail),
    HARNESS_TEST(get_of_every_key),
    HARNESS_TEST(iterator_scan_and_seek),
    HARNESS_TEST(snapshot_read_and_scan),
    HARNESS_TEST(stats_text),
    HARNESS_TEST(transaction_reads_and_commits),
    HARNESS_TEST(compact_of_overwrites_and_deletes),
    HARNESS_TEST(check_of_a_merged_database),
    HARNESS_TEST(dump_of_a_merged_database),
    HARNESS_TEST(repair_of_a_torn_tail),
};
const harness_suite alloc_suite = HARNESS_SUITE("alloc", tests);
