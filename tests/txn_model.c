/*
 * txn_model.c: a randomized test of transactions against a model that
 * knows what each one saw.
 *
 * Up to TM_LIVE transactions are open at once over TM_KEYS keys, their
 * steps interleaved at random with plain kv_put and kv_delete (some of
 * which write a key's value back: the ABA that value comparison misses).
 * The model keeps the committed state, a version per key (bumped by every
 * committed write, same value or not) and, per transaction, the values and
 * versions its snapshot holds, its own writes, and what it read: the keys
 * of its kv_txn_get, and for a scan every key from where it was positioned
 * to where it stopped (to the end if it ran off it).  Every read must be
 * the model's (the snapshot with the transaction's own writes over it);
 * every commit must come out as the model says (kv.h, transactions):
 *   - nothing written: KV_OK;
 *   - otherwise it depends on the keys it wrote and, under
 *     KV_TXN_SERIALIZABLE, the keys it read; it conflicts exactly when one
 *     of them changed since its snapshot: by version on a stage whose
 *     stage_caps says txn_versions (07), by value on the others (01-06),
 *     where a key written back to the value the snapshot saw counts as
 *     unchanged.
 * A committed transaction's writes become the model's; a rolled-back or
 * conflicting one leaves nothing.  Every TM_CHECK_EVERY steps, and at the
 * end, the database is read whole and compared with the model.
 *
 * Seeded and deterministic: the default run uses a fixed list of seeds;
 * KV_TEST_SEED=N runs only seed N, KV_TEST_STEPS=N sets the steps per seed.
 * Odd seeds use small memtables and segments, so commits are checked
 * against tables as well as memory.  A failure names the seed and step.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kv.h"
#include "stage_caps.h"
#include "testdb.h"

#define TM_KEYS 8
#define TM_VALUES 4          /* few values, so writes often repeat one */
#define TM_LIVE 4
#define TM_STEPS 1500
#define TM_CHECK_EVERY 100
#define TM_ABSENT (-1)

/* A key's value is one of TM_VALUES strings, or absent. */
static size_t tm_key(int k, char buf[8]) { return (size_t)snprintf(buf, 8, "k%d", k); }
static size_t tm_val(int v, char buf[8]) { return (size_t)snprintf(buf, 8, "v%d", v); }

typedef struct tm_txn {
    kv_txn *t;               /* NULL: slot free */
    int level;
    int snap[TM_KEYS];       /* the values its snapshot holds */
    uint64_t snap_ver[TM_KEYS];
    int wrote[TM_KEYS];      /* 1 if it wrote the key */
    int mine[TM_KEYS];       /* its write: a value or TM_ABSENT */
    int read[TM_KEYS];       /* 1 if it read the key (a get, or inside a scan) */
    int id;                  /* for messages */
} tm_txn;

typedef struct tm_state {
    kv_db *db;
    int versions;            /* stage_caps: conflicts by version */
    uint64_t rng;
    int cur[TM_KEYS];        /* committed values */
    uint64_t ver[TM_KEYS];   /* committed writes per key */
    tm_txn live[TM_LIVE];
    int next_id;
    long commits, conflicts, read_only, aborts, aba, scans;
} tm_state;

static uint32_t tm_rand(tm_state *s, uint32_t n)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return (uint32_t)(s->rng % n);
}

/* What t sees for key k: its own write, else its snapshot. */
static int tm_view(const tm_txn *t, int k) { return t->wrote[k] ? t->mine[k] : t->snap[k]; }

/* Parses "vN" (the only values written), or -2 if it is no such value. */
static int tm_parse(const void *v, size_t vl)
{
    const char *p = v;
    if (vl != 2 || p[0] != 'v' || p[1] < '0' || p[1] >= '0' + TM_VALUES)
        return -2;
    return p[1] - '0';
}

static void tm_begin(tm_state *s, tm_txn *t)
{
    memset(t, 0, sizeof *t);
    t->level = tm_rand(s, 2) ? KV_TXN_SERIALIZABLE : KV_TXN_SNAPSHOT;
    t->id = s->next_id++;
    CHECK_KV(kv_txn_begin(s->db, t->level, &t->t), KV_OK);
    memcpy(t->snap, s->cur, sizeof t->snap);
    memcpy(t->snap_ver, s->ver, sizeof t->snap_ver);
}

static void tm_get(tm_state *s, tm_txn *t)
{
    int k = (int)tm_rand(s, TM_KEYS);
    char key[8];
    size_t kl = tm_key(k, key);
    void *v = NULL;
    size_t vl = 0;
    int rc = kv_txn_get(t->t, key, kl, &v, &vl);
    int want = tm_view(t, k);
    int got = rc == KV_OK ? tm_parse(v, vl) : rc == KV_NOT_FOUND ? TM_ABSENT : -3;
    kv_free(v);
    CHECK_MSG(got == want, "txn %d: kv_txn_get(%s): got %d (%s), the model says %d", t->id, key,
              got, kv_strerror(rc), want);
    t->read[k] = 1;
}

static void tm_write(tm_state *s, tm_txn *t)
{
    int k = (int)tm_rand(s, TM_KEYS);
    char key[8], val[8];
    size_t kl = tm_key(k, key);
    if (tm_rand(s, 4) == 0) {
        CHECK_KV(kv_txn_delete(t->t, key, kl), KV_OK);
        t->mine[k] = TM_ABSENT;
    } else {
        int v = (int)tm_rand(s, TM_VALUES);
        size_t vl = tm_val(v, val);
        CHECK_KV(kv_txn_put(t->t, key, kl, val, vl), KV_OK);
        t->mine[k] = v;
    }
    t->wrote[k] = 1;
}

/* A scan from a random key, for a few steps or to the end; every key and
 * value must be the model's view, in order.  Keys "k0".."k7" sort as their
 * numbers. */
static void tm_scan(tm_state *s, tm_txn *t)
{
    int from = (int)tm_rand(s, TM_KEYS), steps = 1 + (int)tm_rand(s, TM_KEYS + 1);
    char key[8];
    size_t kl = tm_key(from, key);
    kv_txn_iter *it = NULL;
    CHECK_KV(kv_txn_iter_new(t->t, &it), KV_OK);
    kv_txn_iter_seek(it, key, kl);
    int expect = from; /* the next key the view should show */
    int stopped = TM_KEYS - 1; /* the last key the range read covers */
    for (int i = 0;; i++) {
        while (expect < TM_KEYS && tm_view(t, expect) == TM_ABSENT)
            expect++;
        if (!kv_txn_iter_valid(it)) {
            CHECK_MSG(expect == TM_KEYS, "txn %d: a scan from k%d ended before k%d", t->id,
                      from, expect);
            break;
        }
        CHECK_MSG(expect < TM_KEYS, "txn %d: a scan from k%d shows a key after the last",
                  t->id, from);
        size_t gl = 0, vl = 0;
        const void *g = kv_txn_iter_key(it, &gl);
        const void *v = kv_txn_iter_value(it, &vl);
        kl = tm_key(expect, key);
        CHECK_MSG(gl == kl && memcmp(g, key, kl) == 0, "txn %d: a scan from k%d shows %.*s "
                  "where the model has %s", t->id, from, (int)gl, (const char *)g, key);
        CHECK_MSG(v != NULL && tm_parse(v, vl) == tm_view(t, expect),
                  "txn %d: a scan shows %s = %.*s, the model says v%d", t->id, key,
                  v ? (int)vl : 0, v ? (const char *)v : "", tm_view(t, expect));
        if (i + 1 == steps) {
            stopped = expect;
            break;
        }
        kv_txn_iter_next(it);
        expect++;
    }
    CHECK_KV(kv_txn_iter_status(it), KV_OK);
    kv_txn_iter_free(it);
    for (int k = from; k <= stopped; k++)
        t->read[k] = 1;
    s->scans++;
}

/* The outcome kv.h gives t's commit now. */
static int tm_predict(const tm_state *s, const tm_txn *t)
{
    int writes = 0;
    for (int k = 0; k < TM_KEYS; k++)
        writes |= t->wrote[k];
    if (!writes)
        return KV_OK;
    for (int k = 0; k < TM_KEYS; k++) {
        int depends = t->wrote[k] || (t->level == KV_TXN_SERIALIZABLE && t->read[k]);
        int changed = s->versions ? s->ver[k] != t->snap_ver[k] : s->cur[k] != t->snap[k];
        if (depends && changed)
            return KV_ERR_CONFLICT;
    }
    return KV_OK;
}

static void tm_commit(tm_state *s, tm_txn *t)
{
    int want = tm_predict(s, t);
    int writes = 0;
    for (int k = 0; k < TM_KEYS; k++)
        writes |= t->wrote[k];
    int rc = kv_txn_commit(t->t);
    t->t = NULL;
    CHECK_MSG(rc == want, "txn %d (%s) commit: %s, the model says %s", t->id,
              t->level == KV_TXN_SERIALIZABLE ? "serializable" : "snapshot", kv_strerror(rc),
              kv_strerror(want));
    if (rc != KV_OK) {
        s->conflicts++;
        return;
    }
    s->commits += writes;
    s->read_only += !writes;
    for (int k = 0; k < TM_KEYS; k++)
        if (t->wrote[k]) {
            s->cur[k] = t->mine[k];
            s->ver[k]++;
        }
}

/* A plain write outside any transaction; one in four writes a key's
 * current value back (it changes the version, not the value). */
static void tm_plain_write(tm_state *s)
{
    int k = (int)tm_rand(s, TM_KEYS);
    char key[8], val[8];
    size_t kl = tm_key(k, key);
    int v = tm_rand(s, 4) == 0 ? s->cur[k] : (int)tm_rand(s, TM_VALUES + 1) - 1;
    s->aba += v == s->cur[k];
    if (v == TM_ABSENT) {
        CHECK_KV(kv_delete(s->db, key, kl), KV_OK);
    } else {
        size_t vl = tm_val(v, val);
        CHECK_KV(kv_put(s->db, key, kl, val, vl), KV_OK);
    }
    s->cur[k] = v;
    s->ver[k]++;
}

/* The whole database must be the committed state. */
static void tm_check_all(tm_state *s)
{
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(s->db, &it), KV_OK);
    kv_iter_seek_first(it);
    for (int k = 0; k < TM_KEYS; k++) {
        if (s->cur[k] == TM_ABSENT)
            continue;
        char key[8];
        size_t kl = tm_key(k, key), gl = 0, vl = 0;
        CHECK_MSG(kv_iter_valid(it), "the database ends before %s", key);
        const void *g = kv_iter_key(it, &gl);
        const void *v = kv_iter_value(it, &vl);
        CHECK_MSG(gl == kl && memcmp(g, key, kl) == 0 && v != NULL &&
                      tm_parse(v, vl) == s->cur[k],
                  "the database disagrees with the model at %s", key);
        kv_iter_next(it);
    }
    CHECK_MSG(!kv_iter_valid(it), "the database holds a key the model does not");
    CHECK_KV(kv_iter_status(it), KV_OK);
    kv_iter_free(it);
}

static void tm_run_seed(uint64_t seed, long steps, const stage_caps *caps)
{
    tm_state s;
    memset(&s, 0, sizeof s);
    s.versions = caps->txn_versions;
    s.rng = seed * 0x9e3779b97f4a7c15ull + 1;
    for (int k = 0; k < TM_KEYS; k++)
        s.cur[k] = TM_ABSENT;
    kv_options opt;
    kv_options_init(&opt);
    if (seed & 1) {
        opt.memtable_bytes = 1024;
        opt.segment_bytes = 4096;
    }
    const char *dir = testdb_dir();
    s.db = OPEN(dir, &opt);
    for (long step = 0; step < steps; step++) {
        harness_context("seed %llu, step %ld", (unsigned long long)seed, step);
        tm_txn *t = &s.live[tm_rand(&s, TM_LIVE)];
        uint32_t r = tm_rand(&s, 100);
        if (r < 12) {
            tm_plain_write(&s);
        } else if (r < 14) {
            CHECK_KV(kv_compact(s.db), KV_OK);
        } else if (t->t == NULL) {
            tm_begin(&s, t);
        } else if (r < 40) {
            tm_get(&s, t);
        } else if (r < 65) {
            tm_write(&s, t);
        } else if (r < 75) {
            tm_scan(&s, t);
        } else if (r < 95) {
            tm_commit(&s, t);
        } else {
            kv_txn_abort(t->t);
            t->t = NULL;
            s.aborts++;
        }
        if (step % TM_CHECK_EVERY == TM_CHECK_EVERY - 1)
            tm_check_all(&s);
    }
    for (int i = 0; i < TM_LIVE; i++)
        kv_txn_abort(s.live[i].t);
    tm_check_all(&s);
    CLOSE(s.db);
    /* The counts say the seed exercised what it should. */
    CHECK_MSG(s.commits > 0 && s.conflicts > 0 && s.scans > 0 && s.aba > 0,
              "seed %llu exercised too little: %ld commits, %ld conflicts, %ld scans, %ld "
              "writes back", (unsigned long long)seed, s.commits, s.conflicts, s.scans, s.aba);
    harness_context("%s", "");
    if (getenv("KV_TEST_SEED"))
        printf("  seed %llu: %ld commits, %ld conflicts, %ld read-only, %ld rollbacks, %ld scans, "
               "%ld values written back\n", (unsigned long long)seed, s.commits, s.conflicts,
               s.read_only, s.aborts, s.scans, s.aba);
}

/* Interleaved transactions commit or conflict exactly as the model says. */
static void txn_commits_as_the_model_says(void)
{
    const stage_caps *caps = stage_caps_find();
    CHECK_MSG(caps != NULL, "tests/stage_caps.c has no row for stage %s", kv_stage());
    const char *one = getenv("KV_TEST_SEED"), *st = getenv("KV_TEST_STEPS");
    long steps = st ? atol(st) : TM_STEPS;
    if (one) {
        tm_run_seed(strtoull(one, NULL, 10), steps, caps);
        return;
    }
    static const uint64_t seeds[] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        tm_run_seed(seeds[i], steps, caps);
}

static const harness_test tests[] = {
    HARNESS_TEST(txn_commits_as_the_model_says),
};
const harness_suite txn_model_suite = HARNESS_SUITE("txn_model", tests);
