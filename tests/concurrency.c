/*
 * concurrency.c: "one kv_db may be used from several threads at once", for
 * every stage: threads writing and reading disjoint keys, writers racing a
 * thread that compacts and scans, and scans racing batches (a snapshot
 * never holds half a batch).  concurrency_snapshot.c has snapshots read
 * while a writer runs.
 *
 * REQUIRES (harness.h): worker threads never CHECK; they record what went
 * wrong and the test checks after joining them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kv.h"
#include "testdb.h"

#define THREADS 4
#define THREAD_KEYS 250

typedef struct worker {
    kv_db *db;
    int id;
    int failures;
    int first_status;
    int first_step;
} worker;

static void worker_note(worker *w, int step, int status)
{
    if (w->failures++ == 0) {
        w->first_status = status;
        w->first_step = step;
    }
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    char k[32], v[64];
    for (int i = 0; i < THREAD_KEYS; i++) {
        int kl = snprintf(k, sizeof k, "t%d-%04d", w->id, i);
        int vl = snprintf(v, sizeof v, "value of %d/%d", w->id, i);
        int s = kv_put(w->db, k, (size_t)kl, v, (size_t)vl);
        if (s != KV_OK)
            worker_note(w, i, s);
        void *got = NULL;
        size_t gl = 0;
        s = kv_get(w->db, k, (size_t)kl, &got, &gl);
        if (s != KV_OK || gl != (size_t)vl || memcmp(got, v, gl) != 0)
            worker_note(w, i, s == KV_OK ? 99 : s);
        if (s == KV_OK)
            kv_free(got);
        if (i % 5 == 4) {   /* delete one key of every five, after reading it */
            s = kv_delete(w->db, k, (size_t)kl);
            if (s != KV_OK)
                worker_note(w, i, s);
        }
    }
    return NULL;
}

static void threads_on_disjoint_keys_all_land(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    pthread_t tids[THREADS];
    worker workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (worker){.db = db, .id = t};
        CHECK(pthread_create(&tids[t], NULL, worker_run, &workers[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_join(tids[t], NULL) == 0);
    for (int t = 0; t < THREADS; t++)
        CHECK_MSG(workers[t].failures == 0,
                  "thread %d: %d failures, the first at step %d with status %d", t,
                  workers[t].failures, workers[t].first_step, workers[t].first_status);
    for (int pass = 0; pass < 2; pass++) {
        char k[32], v[64];
        for (int t = 0; t < THREADS; t++) {
            for (int i = 0; i < THREAD_KEYS; i++) {
                int kl = snprintf(k, sizeof k, "t%d-%04d", t, i);
                int vl = snprintf(v, sizeof v, "value of %d/%d", t, i);
                if (i % 5 == 4)
                    ABSENT(db, k, (size_t)kl);
                else
                    EXPECT(db, k, (size_t)kl, v, (size_t)vl);
            }
        }
        CLOSE(db);
        if (pass == 0)
            db = OPEN(dir, NULL);
    }
}

/* Writers on disjoint keys while another thread compacts and scans: scans
 * stay ordered and show only values written for their keys, and every
 * write lands. */
typedef struct churn {
    kv_db *db;
    int id;
    volatile int *writers_left;
    int failures;
    char first[160];
} churn;

static void churn_fail(churn *c, const char *what, int status)
{
    if (c->failures++ == 0)
        snprintf(c->first, sizeof c->first, "%s: status %d (%s)", what, status,
                 kv_strerror(status));
}

static void *churn_writer(void *arg)
{
    churn *c = arg;
    char k[32], v[64];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 100; i++) {
            int kl = snprintf(k, sizeof k, "t%d-%03d", c->id, i);
            int vl = snprintf(v, sizeof v, "v:%s:%d", k, round);
            int s = kv_put(c->db, k, (size_t)kl, v, (size_t)vl);
            if (s != KV_OK)
                churn_fail(c, "kv_put", s);
        }
    __atomic_sub_fetch(c->writers_left, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *churn_scanner(void *arg)
{
    churn *c = arg;
    int passes = 0;
    while (__atomic_load_n(c->writers_left, __ATOMIC_SEQ_CST) > 0 || passes < 2) {
        passes++;
        int s = kv_compact(c->db);
        if (s != KV_OK)
            churn_fail(c, "kv_compact", s);
        kv_iter *it = NULL;
        if ((s = kv_iter_new(c->db, &it)) != KV_OK) {
            churn_fail(c, "kv_iter_new", s);
            continue;
        }
        char prev[32] = "";
        size_t prevlen = 0;
        for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
            size_t kl = 0, vl = 0;
            const char *k = kv_iter_key(it, &kl);
            const char *v = kv_iter_value(it, &vl);
            size_t n = kl < prevlen ? kl : prevlen;
            int cmp = memcmp(prev, k, n);
            if (prevlen > 0 && (cmp > 0 || (cmp == 0 && prevlen >= kl)))
                churn_fail(c, "scan order", 0);
            if (v == NULL || kl >= sizeof prev || vl < kl + 3 || memcmp(v, "v:", 2) != 0 ||
                memcmp(v + 2, k, kl) != 0)
                churn_fail(c, "scan value", kv_iter_status(it));
            if (kl < sizeof prev) {
                memcpy(prev, k, kl);
                prevlen = kl;
            }
        }
        if ((s = kv_iter_status(it)) != KV_OK)
            churn_fail(c, "kv_iter_status", s);
        kv_iter_free(it);
    }
    return NULL;
}

static void threads_write_while_another_compacts_and_scans(void)
{
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 4096;
    opt.memtable_bytes = 4096; /* stage 04+: flushes, and from 06 on */
    opt.table_bytes = 2048;    /* background compactions, while they run */
    opt.l1_bytes = 8192;
    opt.level_ratio = 2;
    kv_db *db = OPEN(dir, &opt);
    volatile int writers_left = 3;
    pthread_t tids[4];
    churn c[4];
    for (int t = 0; t < 4; t++) {
        c[t] = (churn){.db = db, .id = t, .writers_left = &writers_left};
        CHECK(pthread_create(&tids[t], NULL, t < 3 ? churn_writer : churn_scanner, &c[t]) == 0);
    }
    for (int t = 0; t < 4; t++)
        CHECK(pthread_join(tids[t], NULL) == 0);
    for (int t = 0; t < 4; t++)
        CHECK_MSG(c[t].failures == 0, "thread %d: %d failures, the first: %s", t,
                  c[t].failures, c[t].first);
    char k[32], v[64];
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < 100; i++) {
            int kl = snprintf(k, sizeof k, "t%d-%03d", t, i);
            int vl = snprintf(v, sizeof v, "v:%s:2", k);
            EXPECT(db, k, (size_t)kl, v, (size_t)vl);
        }
    CLOSE(db);
}

/* A reader's snapshot never holds half a batch: a writer rewrites ten keys
 * to the same version in each batch, and every scan sees one version. */
#define HALVES_SCANS 100        /* the writer goes on until the reader did these
                                   (not counting scans of an empty database) */
#define HALVES_MAX_VERSION 3000

typedef struct halves {
    kv_db *db;
    volatile int done;      /* the writer stopped */
    volatile int scans;     /* scans the reader finished */
    int failures;
    char first[160];
} halves;

static void *halves_writer(void *arg)
{
    halves *h = arg;
    kv_batch *b = NULL;
    if (kv_batch_new(&b) != KV_OK) {
        h->failures++;
        __atomic_store_n(&h->done, 1, __ATOMIC_SEQ_CST);
        return NULL;
    }
    char k[16], v[32];
    for (int version = 0; version < HALVES_MAX_VERSION &&
                           __atomic_load_n(&h->scans, __ATOMIC_SEQ_CST) < HALVES_SCANS;
         version++) {
        kv_batch_clear(b);
        for (int i = 0; i < 10; i++) {
            int kl = snprintf(k, sizeof k, "key%d", i);
            int vl = snprintf(v, sizeof v, "version %d", version);
            if (kv_batch_put(b, k, (size_t)kl, v, (size_t)vl) != KV_OK)
                h->failures++;
        }
        if (version % 3 == 2 && kv_batch_delete(b, S("key5")) != KV_OK)
            h->failures++;
        int s = kv_write(h->db, b);
        if (s != KV_OK && h->failures++ == 0)
            snprintf(h->first, sizeof h->first, "kv_write: %s", kv_strerror(s));
    }
    kv_batch_free(b);
    __atomic_store_n(&h->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* One scan; returns the number of keys it saw. */
static int halves_scan(halves *h)
{
    kv_iter *it = NULL;
    if (kv_iter_new(h->db, &it) != KV_OK) {
        h->failures++;
        return 0;
    }
    char seen[32] = "";
    size_t seenlen = 0;
    int n = 0, key5 = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it), n++) {
        size_t kl = 0, vl = 0;
        const char *k = kv_iter_key(it, &kl);
        const char *v = kv_iter_value(it, &vl);
        if (v == NULL || vl >= sizeof seen) {
            h->failures++;
            break;
        }
        key5 += kl == 4 && memcmp(k, "key5", 4) == 0;
        if (n == 0) {
            memcpy(seen, v, vl);
            seenlen = vl;
        } else if (vl != seenlen || memcmp(v, seen, vl) != 0) {
            if (h->failures++ == 0)
                snprintf(h->first, sizeof h->first, "one scan shows \"%.*s\" and \"%.*s\"",
                         (int)seenlen, seen, (int)vl, v);
        }
    }
    int version = seenlen > 8 ? atoi(seen + 8) : -1;
    int want = n == 0 ? 0 : version % 3 == 2 ? 9 : 10;
    if (n != want && h->failures++ == 0)
        snprintf(h->first, sizeof h->first, "a scan of version %d shows %d keys, want %d "
                 "(key5 %d)", version, n, want, key5);
    if (kv_iter_status(it) != KV_OK)
        h->failures++;
    kv_iter_free(it);
    return n;
}

static void readers_never_see_half_a_batch(void)
{
    kv_db *db = testdb_fresh(NULL);
    halves h = {.db = db};
    pthread_t writer;
    CHECK(pthread_create(&writer, NULL, halves_writer, &h) == 0);
    int scans = 0;   /* that saw data */
    while (!__atomic_load_n(&h.done, __ATOMIC_SEQ_CST)) {
        if (halves_scan(&h) > 0)
            __atomic_store_n(&h.scans, ++scans, __ATOMIC_SEQ_CST);
    }
    halves_scan(&h);
    CHECK(pthread_join(writer, NULL) == 0);
    CHECK_MSG(h.failures == 0, "%d failures in %d scans, the first: %s", h.failures, scans,
              h.first);
    CLOSE(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(threads_on_disjoint_keys_all_land),
    HARNESS_TEST(threads_write_while_another_compacts_and_scans),
    HARNESS_TEST(readers_never_see_half_a_batch),
};
const harness_suite concurrency_suite = HARNESS_SUITE("concurrency", tests);
