/*
 * concurrency.c: "one kv_db may be used from several threads at once", for
 * every stage: threads writing and reading disjoint keys, writers racing a
 * thread that compacts and scans, scans racing batches (a snapshot never
 * holds half a batch), and snapshots taken and read (kv_get_at, iterators
 * both ways) by several threads while a writer and kv_compact run, one of
 * them shared by all readers.
 *
 * REQUIRES (harness.h): worker threads never CHECK; they record what went
 * wrong and the test checks after joining them.
 */
#include <pthread.h>
#include <sched.h>
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

/* Snapshots while a writer runs.  The writer puts keys s0..s9 to "version
 * V" in one batch per V (deleting s5 when V % 3 == 2), and publishes V once
 * kv_write returned; a compactor merges meanwhile.  Each reader, in a loop,
 * takes a snapshot and requires: one version in all its reads (gets,
 * forward and backward scans), read again after more writes; a version at
 * least the one acknowledged before kv_snapshot_new was called; versions
 * that never go back from one of its snapshots to the next.  Every reader
 * also reads a snapshot shared by all of them, taken before they start. */
#define SNAP_READERS 3
#define SNAP_KEYS 10
#define SNAP_ROUNDS 60          /* snapshots each reader takes */
#define SNAP_MAX_VERSION 100000
#define SNAP_WRITES_PER_ROUND 8 /* the writer stays within this many batches
                                   per finished reader round, so that stage
                                   01's snapshots (a scan of the whole log)
                                   do not grow without bound; a reader's
                                   round R waits for batch 2R, so that the
                                   rounds see new writes */

typedef struct snap_shared {
    kv_db *db;
    const kv_snapshot *common;  /* taken before the readers start */
    int common_version;
    volatile int acked;         /* the last version kv_write returned for */
    volatile int readers_left;
    volatile int rounds_done;   /* snapshots the readers have finished with */
    volatile int writer_done;
    int failures;               /* the writer's and the compactor's */
    char first[160];
} snap_shared;

typedef struct snap_reader {
    snap_shared *sh;
    int failures;
    char first[200];
} snap_reader;

static void snap_fail(int *failures, char *first, size_t cap, const char *what, int v1, int v2)
{
    if ((*failures)++ == 0)
        snprintf(first, cap, "%s (%d, %d): %s", what, v1, v2, kv_errmsg());
}

static void *snap_writer(void *arg)
{
    snap_shared *sh = arg;
    kv_batch *b = NULL;
    if (kv_batch_new(&b) != KV_OK) {
        snap_fail(&sh->failures, sh->first, sizeof sh->first, "kv_batch_new", 0, 0);
        __atomic_store_n(&sh->writer_done, 1, __ATOMIC_SEQ_CST);
        return NULL;
    }
    char k[16], v[32];
    for (int version = 1; version < SNAP_MAX_VERSION &&
                          __atomic_load_n(&sh->readers_left, __ATOMIC_SEQ_CST) > 0;
         version++) {
        while (version > SNAP_WRITES_PER_ROUND *
                             (__atomic_load_n(&sh->rounds_done, __ATOMIC_SEQ_CST) + 1) &&
               __atomic_load_n(&sh->readers_left, __ATOMIC_SEQ_CST) > 0)
            sched_yield();
        kv_batch_clear(b);
        for (int i = 0; i < SNAP_KEYS; i++) {
            int kl = snprintf(k, sizeof k, "s%d", i);
            int vl = snprintf(v, sizeof v, "version %d", version);
            if (kv_batch_put(b, k, (size_t)kl, v, (size_t)vl) != KV_OK)
                snap_fail(&sh->failures, sh->first, sizeof sh->first, "kv_batch_put", version, i);
        }
        if (version % 3 == 2 && kv_batch_delete(b, S("s5")) != KV_OK)
            snap_fail(&sh->failures, sh->first, sizeof sh->first, "kv_batch_delete", version, 5);
        int s = kv_write(sh->db, b);
        if (s != KV_OK)
            snap_fail(&sh->failures, sh->first, sizeof sh->first, "kv_write", version, s);
        __atomic_store_n(&sh->acked, version, __ATOMIC_SEQ_CST);
    }
    kv_batch_free(b);
    __atomic_store_n(&sh->writer_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *snap_compactor(void *arg)
{
    snap_shared *sh = arg;
    int compacted_at = -1;
    while (__atomic_load_n(&sh->readers_left, __ATOMIC_SEQ_CST) > 0) {
        int rounds = __atomic_load_n(&sh->rounds_done, __ATOMIC_SEQ_CST);
        if (rounds == compacted_at) {   /* once per finished reader round */
            sched_yield();
            continue;
        }
        compacted_at = rounds;
        int s = kv_compact(sh->db);
        if (s != KV_OK)
            snap_fail(&sh->failures, sh->first, sizeof sh->first, "kv_compact", s, 0);
    }
    return NULL;
}

/* The version a value names, or -1. */
static int snap_version_of(const void *v, size_t vl)
{
    char buf[32];
    if (v == NULL || vl <= 8 || vl >= sizeof buf || memcmp(v, "version ", 8) != 0)
        return -1;
    memcpy(buf, v, vl);
    buf[vl] = '\0';
    return atoi(buf + 8);
}

/* Every read of snap must show one version; returns it (0 for a snapshot
 * of the empty database), or -1 after recording a failure. */
static int snap_read_all(snap_reader *r, const kv_snapshot *snap)
{
    kv_db *db = r->sh->db;
    int version = -2;   /* not known yet */
    char k[16];
    for (int i = 0; i < SNAP_KEYS; i++) {
        int kl = snprintf(k, sizeof k, "s%d", i);
        void *v = NULL;
        size_t vl = 0;
        int s = kv_get_at(db, snap, k, (size_t)kl, &v, &vl);
        int got = s == KV_NOT_FOUND ? (i == 5 ? -3 : 0) : snap_version_of(v, vl);
        if (s == KV_OK)
            kv_free(v);
        if ((s != KV_OK && s != KV_NOT_FOUND) || got == -1) {
            snap_fail(&r->failures, r->first, sizeof r->first, "kv_get_at", i, s);
            return -1;
        }
        if (got == -3)      /* s5 absent: a version V with V % 3 == 2, or none */
            continue;
        if (version == -2)
            version = got;
        else if (got != version) {
            snap_fail(&r->failures, r->first, sizeof r->first, "one snapshot, two versions",
                      version, got);
            return -1;
        }
    }
    if (version == -2)
        version = 0;
    int s5_absent = version % 3 == 2 || version == 0;
    kv_iter *it = NULL;
    int s = kv_iter_new_at(db, snap, &it);
    if (s != KV_OK) {
        snap_fail(&r->failures, r->first, sizeof r->first, "kv_iter_new_at", s, 0);
        return -1;
    }
    for (int backward = 0; backward < 2; backward++) {
        int n = 0;
        if (backward)
            kv_iter_seek_last(it);
        else
            kv_iter_seek_first(it);
        for (; kv_iter_valid(it); n++) {
            size_t vl = 0;
            const void *v = kv_iter_value(it, &vl);
            int got = snap_version_of(v, vl);
            if (got != version)
                snap_fail(&r->failures, r->first, sizeof r->first, "scan at a snapshot",
                          version, got);
            if (backward)
                kv_iter_prev(it);
            else
                kv_iter_next(it);
        }
        int want = version == 0 ? 0 : s5_absent ? SNAP_KEYS - 1 : SNAP_KEYS;
        if (n != want || kv_iter_status(it) != KV_OK)
            snap_fail(&r->failures, r->first, sizeof r->first, "keys in a scan at a snapshot",
                      n, want);
    }
    kv_iter_free(it);
    return version;
}

static void *snap_reader_run(void *arg)
{
    snap_reader *r = arg;
    snap_shared *sh = r->sh;
    int last = 0;
    for (int round = 0; round < SNAP_ROUNDS && r->failures == 0; round++) {
        /* Let the writer get ahead by a little each round. */
        while (__atomic_load_n(&sh->acked, __ATOMIC_SEQ_CST) < 2 * round &&
               !__atomic_load_n(&sh->writer_done, __ATOMIC_SEQ_CST))
            sched_yield();
        int acked = __atomic_load_n(&sh->acked, __ATOMIC_SEQ_CST);
        const kv_snapshot *snap = NULL;
        int s = kv_snapshot_new(sh->db, &snap);
        if (s != KV_OK) {
            snap_fail(&r->failures, r->first, sizeof r->first, "kv_snapshot_new", s, 0);
            break;
        }
        int version = snap_read_all(r, snap);
        if (version >= 0 && version < acked)
            snap_fail(&r->failures, r->first, sizeof r->first,
                      "a snapshot misses an acknowledged batch", version, acked);
        if (version >= 0 && version < last)
            snap_fail(&r->failures, r->first, sizeof r->first, "a later snapshot went back",
                      last, version);
        if (version > last)
            last = version;
        int common = snap_read_all(r, sh->common);
        if (common != sh->common_version)
            snap_fail(&r->failures, r->first, sizeof r->first, "the shared snapshot changed",
                      sh->common_version, common);
        int again = snap_read_all(r, snap);   /* after more writes */
        if (again != version)
            snap_fail(&r->failures, r->first, sizeof r->first, "a snapshot changed", version,
                      again);
        kv_snapshot_free(sh->db, snap);
        __atomic_add_fetch(&sh->rounds_done, 1, __ATOMIC_SEQ_CST);
    }
    __atomic_sub_fetch(&sh->readers_left, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void snapshots_read_while_writer_and_compactor_run(void)
{
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 4096;
    opt.memtable_bytes = 4096;
    kv_db *db = OPEN(dir, &opt);
    snap_shared sh = {.db = db, .readers_left = SNAP_READERS};
    /* The shared snapshot: version 1, whole. */
    kv_batch *b = NULL;
    CHECK_KV(kv_batch_new(&b), KV_OK);
    char k[16];
    for (int i = 0; i < SNAP_KEYS; i++) {
        int kl = snprintf(k, sizeof k, "s%d", i);
        CHECK_KV(kv_batch_put(b, k, (size_t)kl, S("version 1")), KV_OK);
    }
    CHECK_KV(kv_write(db, b), KV_OK);
    kv_batch_free(b);
    CHECK_KV(kv_snapshot_new(db, &sh.common), KV_OK);
    sh.common_version = 1;

    pthread_t writer, compactor, readers[SNAP_READERS];
    snap_reader r[SNAP_READERS];
    CHECK(pthread_create(&writer, NULL, snap_writer, &sh) == 0);
    CHECK(pthread_create(&compactor, NULL, snap_compactor, &sh) == 0);
    for (int t = 0; t < SNAP_READERS; t++) {
        r[t] = (snap_reader){.sh = &sh};
        CHECK(pthread_create(&readers[t], NULL, snap_reader_run, &r[t]) == 0);
    }
    for (int t = 0; t < SNAP_READERS; t++)
        CHECK(pthread_join(readers[t], NULL) == 0);
    CHECK(pthread_join(writer, NULL) == 0);
    CHECK(pthread_join(compactor, NULL) == 0);
    CHECK_MSG(sh.failures == 0, "writer or compactor: %d failures, the first: %s", sh.failures,
              sh.first);
    for (int t = 0; t < SNAP_READERS; t++)
        CHECK_MSG(r[t].failures == 0, "reader %d: %d failures, the first: %s", t, r[t].failures,
                  r[t].first);
    kv_snapshot_free(db, sh.common);
    CLOSE(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(threads_on_disjoint_keys_all_land),
    HARNESS_TEST(threads_write_while_another_compacts_and_scans),
    HARNESS_TEST(readers_never_see_half_a_batch),
    HARNESS_TEST(snapshots_read_while_writer_and_compactor_run),
};
const harness_suite concurrency_suite = HARNESS_SUITE("concurrency", tests);
