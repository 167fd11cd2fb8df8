/*
 * model.c: a randomized test of the engine against an in-memory model.
 *
 * Long random sequences of put, get, delete, batches, seeks, full scans
 * (forward and backward), iterator snapshots, snapshots (kv_snapshot_new,
 * read with kv_get_at and kv_iter_new_at at later steps, up to
 * MODEL_MAX_SNAPSHOTS alive at once, through writes and kv_compact),
 * close-and-reopen and kv_compact run on the engine and on a sorted array
 * of (key, value) pairs (model_map.h, which fuzz/api_fuzz.c shares);
 * every answer the engine gives must be the model's (at a snapshot: the
 * model as it was when the snapshot was taken).  Keys come from a small
 * alphabet (with NUL and 0xFF bytes, and a few long keys) so that
 * overwrites and deletes hit often; some values are empty, a few are up to
 * 100 KB.
 *
 * Odd seeds run with kv_options.segment_bytes = 4096 and memtable_bytes =
 * 8192, so the stages that split their log into segments make many of them,
 * and the stages with a memtable flush it often (snapshots live across
 * those flushes).  Each seed gives one reproducible sequence.  The default
 * run uses a fixed list of seeds; KV_TEST_SEED=N runs only seed N, and
 * KV_TEST_STEPS=N changes the number of steps per seed (2500; a third of
 * that under a sanitizer: harness_cases).  A failure prints the seed and
 * the step.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kv.h"
#include "model_map.h"
#include "testdb.h"

#define MODEL_DEFAULT_STEPS 2500
#define MODEL_LARGE_VALUE (100u * 1024u)
#define MODEL_MAX_SNAPSHOTS 3

/* ---- random keys and values ------------------------------------------- */

typedef struct model_buf {
    uint8_t *p;
    size_t len;
} model_buf;

/* A key: usually 1..3 bytes over {a, b, NUL, 0xFF} (84 keys in all); 1 time
 * in 40 one of four long keys (300 .. 1050 bytes). */
static void model_gen_key(testdb_rng *r, model_buf *key)
{
    static const uint8_t alphabet[] = {'a', 'b', 0x00, 0xFF};
    if (testdb_rng_below(r, 40) == 0) {
        uint32_t id = testdb_rng_below(r, 4);
        key->len = 300 + id * 250;
        key->p[0] = 'L';
        for (size_t i = 1; i < key->len; i++)
            key->p[i] = (uint8_t)('0' + (i * (id + 3)) % 43);
        return;
    }
    key->len = 1 + testdb_rng_below(r, 3);
    for (size_t i = 0; i < key->len; i++)
        key->p[i] = alphabet[testdb_rng_below(r, 4)];
}

/* A value: empty 1 time in 10, 10 KB .. 100 KB 1 time in 150, otherwise 1 ..
 * 64 bytes; the bytes are random. */
static void model_gen_value(testdb_rng *r, model_buf *val)
{
    uint32_t pick = testdb_rng_below(r, 150);
    if (pick < 15)
        val->len = 0;
    else if (pick == 15)
        val->len = 10 * 1024 + testdb_rng_below(r, MODEL_LARGE_VALUE - 10 * 1024 + 1);
    else
        val->len = 1 + testdb_rng_below(r, 64);
    testdb_rng_fill(r, val->p, val->len);
}

/* ---- comparing the engine with the model ------------------------------ */

static void model_check_get(kv_db *db, const model_map *m, const void *k, size_t kl)
{
    const model_entry *e = model_map_find(m, k, kl);
    if (e)
        EXPECT(db, k, kl, e->v, e->vl);
    else
        ABSENT(db, k, kl);
}

/* `it` must stand on the model's entry i; `dir` names the walk in messages. */
static void model_check_entry(kv_iter *it, const model_map *m, size_t i, const char *dir)
{
    CHECK_MSG(kv_iter_valid(it), "%s: iterator ended at model entry %zu of %zu (status %d)",
              dir, i, m->n, kv_iter_status(it));
    size_t kl = 0, vl = 0;
    const void *k = kv_iter_key(it, &kl);
    const void *v = kv_iter_value(it, &vl);
    char h1[HARNESS_HEX_BUF], h2[HARNESS_HEX_BUF];
    CHECK_MSG(k != NULL && model_map_keycmp(k, kl, m->e[i].k, m->e[i].kl) == 0,
              "%s: iterator key [%s] (%zu bytes), model key [%s] (%zu bytes)", dir,
              harness_hex(h1, k, kl), kl, harness_hex(h2, m->e[i].k, m->e[i].kl), m->e[i].kl);
    CHECK_MSG(v != NULL, "%s: kv_iter_value is NULL (status %d)", dir, kv_iter_status(it));
    CHECK_MSG(vl == m->e[i].vl && (vl == 0 || memcmp(v, m->e[i].v, vl) == 0),
              "%s: iterator value for key [%s]: %zu bytes [%s], model %zu bytes", dir,
              harness_hex(h1, k, kl), vl, harness_hex(h2, v, vl), m->e[i].vl);
}

/* `it` must not be valid (it went past the model's last or first entry). */
static void model_check_end(kv_iter *it, const char *where)
{
    size_t kl = 0;
    char h1[HARNESS_HEX_BUF];
    CHECK_MSG(!kv_iter_valid(it), "iterator has key [%s] %s",
              harness_hex(h1, kv_iter_key(it, &kl), kl), where);
}

/* From where `it` stands, the next up to `limit` entries must be the model's
 * from index `from` on, and if the model ends within them, so must `it`. */
static void model_check_iter(kv_iter *it, const model_map *m, size_t from, size_t limit)
{
    size_t i = from;
    for (; i < m->n && i - from < limit; i++) {
        model_check_entry(it, m, i, "forward");
        kv_iter_next(it);
    }
    if (i == m->n)
        model_check_end(it, "past the model's last");
    CHECK_KV(kv_iter_status(it), KV_OK);
}

/* From where `it` stands, walking backwards: the model's entries from index
 * `from` down, up to `limit` of them, and if the model's first entry is
 * among them, then the end.  from == m->n means `it` must not be valid
 * (a seek went past the last key). */
static void model_check_iter_backward(kv_iter *it, const model_map *m, size_t from, size_t limit)
{
    size_t done = 0;
    for (size_t i = from + 1; from < m->n && i-- > 0 && done < limit; done++) {
        model_check_entry(it, m, i, "backward");
        kv_iter_prev(it);
    }
    if (from >= m->n)
        model_check_end(it, "where the model has none");
    else if (done == from + 1)
        model_check_end(it, "before the model's first");
    CHECK_KV(kv_iter_status(it), KV_OK);
}

/* kv_get (snap NULL) or kv_get_at must answer as the model does. */
static void model_check_get_at(kv_db *db, const kv_snapshot *snap, const model_map *m,
                               const void *k, size_t kl)
{
    if (snap == NULL) {
        model_check_get(db, m, k, kl);
        return;
    }
    const model_entry *e = model_map_find(m, k, kl);
    if (e)
        EXPECT_AT(db, snap, k, kl, e->v, e->vl);
    else
        ABSENT_AT(db, snap, k, kl);
}

/* A seek to key, then the model's answer forward or backward (prev after
 * the seek: the last key before `key`). */
static void model_check_seek(kv_iter *it, const model_map *m, const void *key, size_t klen,
                             int backward, size_t limit)
{
    size_t lb = model_map_lower_bound(m, key, klen);
    kv_iter_seek(it, key, klen);
    if (!backward) {
        model_check_iter(it, m, lb, limit);
        return;
    }
    if (lb == m->n) {           /* past the end: not valid, and prev keeps it so */
        model_check_iter_backward(it, m, m->n, limit);
        kv_iter_prev(it);
        model_check_iter_backward(it, m, m->n, limit);
        kv_iter_seek_last(it);
        model_check_iter_backward(it, m, m->n - (m->n > 0), limit);
        return;
    }
    kv_iter_prev(it);
    if (lb == 0)
        model_check_iter_backward(it, m, m->n, limit);  /* before the first: not valid */
    else
        model_check_iter_backward(it, m, lb - 1, limit);
}

static void model_check_all(kv_db *db, const model_map *m)
{
    for (size_t i = 0; i < m->n; i++)
        EXPECT(db, m->e[i].k, m->e[i].kl, m->e[i].v, m->e[i].vl);
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    kv_iter_seek_first(it);
    model_check_iter(it, m, 0, SIZE_MAX);
    kv_iter_seek_last(it);
    model_check_iter_backward(it, m, m->n ? m->n - 1 : m->n, SIZE_MAX);
    kv_iter_free(it);
}

/* ---- one run ----------------------------------------------------------------- */

typedef struct model_run {
    uint64_t seed;
    kv_options opt;
    long step;
    const char *op;
    testdb_rng rng;
    model_map m;
    model_buf key, val, key2;
    const char *dir;
    kv_db *db;
    /* Live snapshots, each with the model as it was when it was taken. */
    const kv_snapshot *snaps[MODEL_MAX_SNAPSHOTS];
    model_map snap_models[MODEL_MAX_SNAPSHOTS];
    long snap_steps[MODEL_MAX_SNAPSHOTS];
    size_t nsnaps;
} model_run;

static void model_note(model_run *r, const char *op)
{
    r->op = op;
    harness_context("seed %llu, segment_bytes %zu, memtable_bytes %zu, step %ld (%s); "
                    "rerun with KV_TEST_SEED=%llu", (unsigned long long)r->seed,
                    r->opt.segment_bytes, r->opt.memtable_bytes, r->step, op,
                    (unsigned long long)r->seed);
}

/* A batch of 1..6 random puts and deletes, applied in order to a copy of
 * the model that replaces it once kv_write has returned KV_OK. */
static void model_batch(model_run *r)
{
    kv_batch *b = NULL;
    model_note(r, "kv_batch_new");
    CHECK_KV(kv_batch_new(&b), KV_OK);
    model_map after;
    CHECK(model_map_copy(&after, &r->m) == 0);
    int ops = 1 + (int)testdb_rng_below(&r->rng, 6);
    for (int i = 0; i < ops; i++) {
        model_gen_key(&r->rng, &r->key);
        if (testdb_rng_below(&r->rng, 4) == 0) {
            model_note(r, "kv_batch_delete");
            CHECK_KV(kv_batch_delete(b, r->key.p, r->key.len), KV_OK);
            model_map_del(&after, r->key.p, r->key.len);
        } else {
            model_gen_value(&r->rng, &r->val);
            model_note(r, "kv_batch_put");
            CHECK_KV(kv_batch_put(b, r->key.p, r->key.len, r->val.p, r->val.len), KV_OK);
            CHECK(model_map_put(&after, r->key.p, r->key.len, r->val.p, r->val.len) == 0);
        }
    }
    model_note(r, "kv_write");
    CHECK_KV(kv_write(r->db, b), KV_OK);
    kv_batch_free(b);
    model_map_free(&r->m);
    r->m = after;
}

static void model_write(model_run *r)
{
    if (testdb_rng_below(&r->rng, 12) == 0) {
        model_batch(r);
        return;
    }
    model_gen_key(&r->rng, &r->key);
    if (testdb_rng_below(&r->rng, 4) == 0) {
        model_note(r, "delete");
        DEL(r->db, r->key.p, r->key.len);
        model_map_del(&r->m, r->key.p, r->key.len);
    } else {
        model_gen_value(&r->rng, &r->val);
        model_note(r, "put");
        PUT(r->db, r->key.p, r->key.len, r->val.p, r->val.len);
        CHECK(model_map_put(&r->m, r->key.p, r->key.len, r->val.p, r->val.len) == 0);
    }
}

/* An iterator made now must keep showing this moment through later writes. */
static void model_snapshot(model_run *r)
{
    model_map snap;
    CHECK(model_map_copy(&snap, &r->m) == 0);
    kv_iter *it = NULL;
    model_note(r, "snapshot: kv_iter_new");
    CHECK_KV(kv_iter_new(r->db, &it), KV_OK);
    int writes = 1 + (int)testdb_rng_below(&r->rng, 6);
    for (int i = 0; i < writes; i++)
        model_write(r);
    if (testdb_rng_below(&r->rng, 3) == 0) {
        model_note(r, "snapshot: kv_compact while an iterator is alive");
        CHECK_KV(kv_compact(r->db), KV_OK);
        model_write(r);
    }
    model_note(r, "snapshot: scan after writes");
    kv_iter_seek_first(it);
    model_check_iter(it, &snap, 0, SIZE_MAX);
    model_gen_key(&r->rng, &r->key2);
    model_note(r, "snapshot: backward scan after writes");
    kv_iter_seek_last(it);
    model_check_iter_backward(it, &snap, snap.n ? snap.n - 1 : snap.n, SIZE_MAX);
    model_gen_key(&r->rng, &r->key2);
    model_note(r, "snapshot: seek after writes");
    model_check_seek(it, &snap, r->key2.p, r->key2.len, 0, 4);
    model_note(r, "snapshot: seek and prev after writes");
    model_check_seek(it, &snap, r->key2.p, r->key2.len, 1, 4);
    kv_iter_free(it);
    model_map_free(&snap);
}

/* Every read a snapshot offers, against the model it was taken with: gets
 * of keys it holds and random ones, a scan both ways, a seek both ways. */
static void model_check_snapshot(model_run *r, size_t i)
{
    const kv_snapshot *snap = r->snaps[i];
    const model_map *m = &r->snap_models[i];
    char what[96];
    snprintf(what, sizeof what, "reads at the snapshot of step %ld", r->snap_steps[i]);
    model_note(r, what);
    for (int g = 0; g < 4; g++) {
        if (m->n > 0 && g % 2 == 0) {
            const model_entry *e = &m->e[testdb_rng_below(&r->rng, (uint32_t)m->n)];
            EXPECT_AT(r->db, snap, e->k, e->kl, e->v, e->vl);
        } else {
            model_gen_key(&r->rng, &r->key2);
            model_check_get_at(r->db, snap, m, r->key2.p, r->key2.len);
        }
    }
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new_at(r->db, snap, &it), KV_OK);
    if (testdb_rng_below(&r->rng, 4) == 0) {
        kv_iter_seek_first(it);
        model_check_iter(it, m, 0, SIZE_MAX);
        kv_iter_seek_last(it);
        model_check_iter_backward(it, m, m->n ? m->n - 1 : m->n, SIZE_MAX);
    }
    model_gen_key(&r->rng, &r->key2);
    model_check_seek(it, m, r->key2.p, r->key2.len, (int)testdb_rng_below(&r->rng, 2),
                     1 + testdb_rng_below(&r->rng, 8));
    kv_iter_free(it);
}

static void model_free_snapshot(model_run *r, size_t i)
{
    kv_snapshot_free(r->db, r->snaps[i]);
    model_map_free(&r->snap_models[i]);
    r->nsnaps--;
    r->snaps[i] = r->snaps[r->nsnaps];
    r->snap_models[i] = r->snap_models[r->nsnaps];
    r->snap_steps[i] = r->snap_steps[r->nsnaps];
}

/* Snapshots that live across steps: take one, read at one, or free one. */
static void model_snapshot_step(model_run *r)
{
    uint32_t pick = testdb_rng_below(&r->rng, 4);
    if (r->nsnaps == 0 || (pick == 0 && r->nsnaps < MODEL_MAX_SNAPSHOTS)) {
        if (r->nsnaps == MODEL_MAX_SNAPSHOTS)
            return;
        model_note(r, "kv_snapshot_new");
        CHECK_KV(kv_snapshot_new(r->db, &r->snaps[r->nsnaps]), KV_OK);
        CHECK(model_map_copy(&r->snap_models[r->nsnaps], &r->m) == 0);
        r->snap_steps[r->nsnaps] = r->step;
        r->nsnaps++;
        return;
    }
    size_t i = testdb_rng_below(&r->rng, (uint32_t)r->nsnaps);
    model_check_snapshot(r, i);
    if (pick == 1)
        model_free_snapshot(r, i);
}

/* Before kv_close: a last check of each live snapshot, then free it. */
static void model_free_snapshots(model_run *r)
{
    while (r->nsnaps > 0) {
        model_check_snapshot(r, r->nsnaps - 1);
        model_free_snapshot(r, r->nsnaps - 1);
    }
}

static void model_step(model_run *r)
{
    uint32_t pick = testdb_rng_below(&r->rng, 1000);
    if (pick < 430) {
        model_write(r);
    } else if (pick < 750) {
        /* Reads: half of them of a key the model holds. */
        if (r->m.n > 0 && testdb_rng_below(&r->rng, 2) == 0) {
            const model_entry *e = &r->m.e[testdb_rng_below(&r->rng, (uint32_t)r->m.n)];
            model_note(r, "get of a live key");
            EXPECT(r->db, e->k, e->kl, e->v, e->vl);
        } else {
            model_gen_key(&r->rng, &r->key);
            model_note(r, "get");
            model_check_get(r->db, &r->m, r->key.p, r->key.len);
        }
    } else if (pick < 860) {
        model_gen_key(&r->rng, &r->key);
        kv_iter *it = NULL;
        int backward = (int)testdb_rng_below(&r->rng, 3) == 0;
        model_note(r, backward ? "seek and prev" : "seek");
        CHECK_KV(kv_iter_new(r->db, &it), KV_OK);
        model_check_seek(it, &r->m, r->key.p, r->key.len, backward,
                         1 + testdb_rng_below(&r->rng, 8));
        kv_iter_free(it);
    } else if (pick < 885) {
        kv_iter *it = NULL;
        model_note(r, "full scan, forward then backward");
        CHECK_KV(kv_iter_new(r->db, &it), KV_OK);
        kv_iter_seek_first(it);
        model_check_iter(it, &r->m, 0, SIZE_MAX);
        kv_iter_seek_last(it);
        model_check_iter_backward(it, &r->m, r->m.n ? r->m.n - 1 : r->m.n, SIZE_MAX);
        kv_iter_free(it);
    } else if (pick < 915) {
        model_snapshot(r);
    } else if (pick < 975) {
        model_snapshot_step(r);
    } else if (pick < 990) {
        model_free_snapshots(r);
        model_note(r, "close and reopen");
        CLOSE(r->db);
        r->db = OPEN(r->dir, &r->opt);
        model_note(r, "check everything after reopen");
        model_check_all(r->db, &r->m);
    } else {
        model_note(r, "kv_compact");
        CHECK_KV(kv_compact(r->db), KV_OK);
        model_note(r, "check everything after kv_compact");
        model_check_all(r->db, &r->m);
    }
}

static long model_env_long(const char *name, long fallback)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0')
        return fallback;
    char *end;
    long v = strtol(s, &end, 0);
    return *end == '\0' && v > 0 ? v : fallback;
}

/* Odd seeds run with small log segments and memtables (stage 02 and later
 * roll over to a new file every few KB, stage 04 and later flush every 8 KB),
 * even seeds with the defaults. */
static void model_run_seed(uint64_t seed, long steps)
{
    model_run r = {.seed = seed};
    kv_options_init(&r.opt);
    if (seed % 2 == 1) {
        r.opt.segment_bytes = 4096;
        r.opt.memtable_bytes = 8192;
    }
    testdb_rng_seed(&r.rng, seed);
    r.key.p = malloc(2048);
    r.key2.p = malloc(2048);
    r.val.p = malloc(MODEL_LARGE_VALUE);
    CHECK(r.key.p && r.key2.p && r.val.p);
    r.dir = harness_join(harness_tmpdir(), "db");
    model_note(&r, "open");
    r.db = OPEN(r.dir, &r.opt);
    for (r.step = 0; r.step < steps; r.step++)
        model_step(&r);
    model_note(&r, "final check");
    model_check_all(r.db, &r.m);
    model_free_snapshots(&r);
    CLOSE(r.db);
    r.db = OPEN(r.dir, &r.opt);
    model_note(&r, "final check after reopen");
    model_check_all(r.db, &r.m);
    CLOSE(r.db);
    model_map_free(&r.m);
    free(r.key.p);
    free(r.key2.p);
    free(r.val.p);
}

static void model_matches_engine_over_random_ops(void)
{
    static const uint64_t seeds[] = {1, 2, 3, 20240601, 0xC0FFEE, 987654321};
    /* (1, 3 and 987654321 use small segments and memtables) */
    long steps = model_env_long("KV_TEST_STEPS", harness_cases(MODEL_DEFAULT_STEPS, 3));
    const char *one = getenv("KV_TEST_SEED");
    if (one != NULL && *one != '\0') {
        uint64_t seed = strtoull(one, NULL, 0);
        printf("    model: seed %llu, %ld steps\n", (unsigned long long)seed, steps);
        model_run_seed(seed, steps);
        return;
    }
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        model_run_seed(seeds[i], steps);
}

static const harness_test tests[] = {
    HARNESS_TEST(model_matches_engine_over_random_ops),
};
const harness_suite model_suite = HARNESS_SUITE("model", tests);
