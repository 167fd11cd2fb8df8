/*
 * stress.c: everything at once on one kv_db, for every stage: writers
 * (puts, deletes and batches), readers (kv_get), scanners (iterators) and
 * a thread that merges (kv_compact) and asks for kv_stats, all running
 * together over small segments, memtables and levels (so that flushes and,
 * from stage 06 on, background compactions run all along), with sync = 0
 * and with sync = 1.  It is
 * run under ThreadSanitizer by `make test` (build/tsan/<stage>/racetest),
 * where any data race in the engine is a failure; the checks below hold
 * in every build.
 *
 * What must hold while they run:
 *   - every value read, by kv_get or an iterator, is one its key was given
 *     (a value names its key and the writer's step);
 *   - a scan is in strictly increasing key order;
 *   - a batch is never seen half applied: each batch writes one version
 *     to all STRESS_GROUP keys of a group, so a scan sees one version of
 *     every group (kv.h: an iterator sees one snapshot);
 *   - each writer reads back its own last write of a key (nobody else
 *     writes its keys);
 *   - every call returns KV_OK (or KV_NOT_FOUND for a get).
 * After they stop, each writer's keys hold exactly its last writes, before
 * and after a reopen.  The amount of work is fixed (no timing in any
 * check): about a second per test in a release build, a few under
 * ThreadSanitizer.
 *
 * REQUIRES (harness.h): worker threads never CHECK; they record what went
 * wrong and the test checks after joining them.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kv.h"
#include "stage_caps.h"
#include "testdb.h"

#define STRESS_WRITERS 3
#define STRESS_READERS 2
#define STRESS_SCANNERS 2
#define STRESS_KEYS 40        /* per writer */
/* Steps per writer: fewer where a kv_get reads the whole log (stage_caps.h),
 * since the work there grows with the square of the steps. */
#define STRESS_STEPS 1500
#define STRESS_STEPS_SCANNING 150
#define STRESS_GROUPS 4       /* per writer: keys written only by batches */
#define STRESS_GROUP 5        /* keys in a group */
/* The others stop when the writers do, or after so many rounds each per
 * writer step (where a read scans the whole log, unbounded readers would
 * crowd out the writers, most of all under ThreadSanitizer). */
#define STRESS_READS_PER_STEP 2
#define STRESS_STEPS_PER_SCAN 20
#define STRESS_STEPS_PER_MERGE 20

typedef struct stress {
    kv_db *db;
    int writers_left;         /* atomic */
    /* one slot per thread: the first problem it saw */
    int failures[16];
    char first[16][200];
} stress;

typedef struct stress_thread {
    stress *s;
    int slot;                 /* failures[slot] */
    int steps;                /* writer steps (the others size their work by it) */
    int id;                   /* writer number, or the reader's seed */
    int last[STRESS_KEYS];    /* writers: the step that last wrote each key, -1 deleted */
} stress_thread;

static void stress_fail(stress_thread *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void stress_fail(stress_thread *t, const char *fmt, ...)
{
    if (t->s->failures[t->slot]++ > 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->s->first[t->slot], sizeof t->s->first[t->slot], fmt, ap);
    va_end(ap);
}

/* Key k of writer w ("w1-k017"), and key j of its group g ("w1-g2-3"). */
static int stress_key(char *buf, size_t n, int w, int k)
{
    return snprintf(buf, n, "w%d-k%03d", w, k);
}

static int stress_group_key(char *buf, size_t n, int w, int g, int j)
{
    return snprintf(buf, n, "w%d-g%d-%d", w, g, j);
}

/* The value a write of `key` at writer step `step` puts: the key, the
 * step, and a tail whose length varies with the step (some values are
 * large enough to cross the small segments). */
static size_t stress_value(char *buf, size_t cap, const char *key, size_t klen, int step)
{
    int n = snprintf(buf, cap, "%.*s@%d:", (int)klen, key, step);
    size_t len = (size_t)n, tail = (size_t)(step * 37 % 300);
    if (len + tail > cap)
        tail = cap - len;
    for (size_t i = 0; i < tail; i++)
        buf[len + i] = (char)('a' + (step + (int)i) % 26);
    return len + tail;
}

/* Whether val is a value some write gave key; *step gets the step. */
static int stress_value_ok(const char *key, size_t klen, const char *val, size_t vlen,
                           int *step)
{
    if (vlen <= klen + 2 || memcmp(val, key, klen) != 0 || val[klen] != '@')
        return 0;
    int s = 0;
    size_t i = klen + 1;
    for (; i < vlen && val[i] >= '0' && val[i] <= '9'; i++)
        s = s * 10 + (val[i] - '0');
    if (i == klen + 1 || i >= vlen || val[i] != ':')
        return 0;
    char want[1024];
    size_t wl = stress_value(want, sizeof want, key, klen, s);
    *step = s;
    return wl == vlen && memcmp(want, val, vlen) == 0;
}

static void *stress_writer(void *arg)
{
    stress_thread *t = arg;
    kv_db *db = t->s->db;
    char key[32], val[1024];
    kv_batch *b = NULL;
    if (kv_batch_new(&b) != KV_OK) {
        stress_fail(t, "kv_batch_new failed");
        __atomic_sub_fetch(&t->s->writers_left, 1, __ATOMIC_SEQ_CST);
        return NULL;
    }
    for (int k = 0; k < STRESS_KEYS; k++)
        t->last[k] = -1;
    unsigned r = (unsigned)t->id * 2654435761u + 1;
    for (int step = 0; step < t->steps; step++) {
        r = r * 1103515245u + 12345u;
        int k = (int)((r >> 8) % STRESS_KEYS), what = (int)((r >> 20) % 10), rc;
        int kl = stress_key(key, sizeof key, t->id, k);
        if (what < 6) {
            size_t vl = stress_value(val, sizeof val, key, (size_t)kl, step);
            if ((rc = kv_put(db, key, (size_t)kl, val, vl)) != KV_OK)
                stress_fail(t, "kv_put %s: %s", key, kv_strerror(rc));
            t->last[k] = step;
        } else if (what < 8) {
            if ((rc = kv_delete(db, key, (size_t)kl)) != KV_OK)
                stress_fail(t, "kv_delete %s: %s", key, kv_strerror(rc));
            t->last[k] = -1;
        } else {
            /* A batch: one version to every key of one group. */
            int g = (int)((r >> 4) % STRESS_GROUPS);
            kv_batch_clear(b);
            for (int j = 0; j < STRESS_GROUP; j++) {
                int gl = stress_group_key(key, sizeof key, t->id, g, j);
                size_t vl = stress_value(val, sizeof val, key, (size_t)gl, step);
                if (kv_batch_put(b, key, (size_t)gl, val, vl) != KV_OK)
                    stress_fail(t, "kv_batch_put failed");
            }
            if ((rc = kv_write(db, b)) != KV_OK)
                stress_fail(t, "kv_write: %s", kv_strerror(rc));
            continue;
        }
        /* Read back this writer's own key: nobody else writes it. */
        void *got = NULL;
        size_t gl = 0;
        rc = kv_get(db, key, (size_t)kl, &got, &gl);
        int s = -2;
        if (t->last[k] < 0 ? rc != KV_NOT_FOUND
                           : rc != KV_OK || !stress_value_ok(key, (size_t)kl, got, gl, &s) ||
                                 s != t->last[k])
            stress_fail(t, "writer %d reads back %s: %s, step %d, want step %d", t->id, key,
                        kv_strerror(rc), s, t->last[k]);
        if (rc == KV_OK)
            kv_free(got);
    }
    kv_batch_free(b);
    __atomic_sub_fetch(&t->s->writers_left, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static int stress_running(const stress *s)
{
    return __atomic_load_n(&s->writers_left, __ATOMIC_SEQ_CST) > 0;
}

static void *stress_reader(void *arg)
{
    stress_thread *t = arg;
    char key[32];
    unsigned r = (unsigned)t->id * 40503u + 7;
    int rounds = 0;
    do {
        r = r * 1103515245u + 12345u;
        int w = (int)((r >> 8) % STRESS_WRITERS), k = (int)((r >> 16) % STRESS_KEYS);
        int kl = (r >> 28) & 1 ? stress_key(key, sizeof key, w, k)
                               : stress_group_key(key, sizeof key, w, k % STRESS_GROUPS,
                                                  k % STRESS_GROUP);
        void *got = NULL;
        size_t gl = 0;
        int step = 0, rc = kv_get(t->s->db, key, (size_t)kl, &got, &gl);
        if (rc == KV_OK && !stress_value_ok(key, (size_t)kl, got, gl, &step))
            stress_fail(t, "kv_get %s: a value no write gave it (%zu bytes)", key, gl);
        else if (rc != KV_OK && rc != KV_NOT_FOUND)
            stress_fail(t, "kv_get %s: %s", key, kv_strerror(rc));
        if (rc == KV_OK)
            kv_free(got);
    } while (++rounds < t->steps * STRESS_READS_PER_STEP && stress_running(t->s));
    return NULL;
}

/* One scan: order, values, and one version per batch group. */
static void stress_scan(stress_thread *t)
{
    kv_iter *it = NULL;
    int rc = kv_iter_new(t->s->db, &it);
    if (rc != KV_OK) {
        stress_fail(t, "kv_iter_new: %s", kv_strerror(rc));
        return;
    }
    int group_step[STRESS_WRITERS][STRESS_GROUPS];
    memset(group_step, 0xff, sizeof group_step); /* -1: not seen yet */
    char prev[32];
    size_t prevlen = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        size_t kl = 0, vl = 0;
        const char *k = kv_iter_key(it, &kl);
        const char *v = kv_iter_value(it, &vl);
        int step = 0;
        if (v == NULL || kl >= sizeof prev || !stress_value_ok(k, kl, v, vl, &step)) {
            stress_fail(t, "scan: key %.*s holds a value no write gave it", (int)kl, k);
            break;
        }
        size_t n = kl < prevlen ? kl : prevlen;
        int cmp = memcmp(prev, k, n);
        if (prevlen > 0 && (cmp > 0 || (cmp == 0 && prevlen >= kl)))
            stress_fail(t, "scan: key %.*s after %.*s", (int)kl, k, (int)prevlen, prev);
        memcpy(prev, k, kl);
        prev[kl] = '\0';
        prevlen = kl;
        int w = -1, g = -1, j = -1;
        if (sscanf(prev, "w%d-g%d-%d", &w, &g, &j) == 3 && w >= 0 && w < STRESS_WRITERS &&
            g >= 0 && g < STRESS_GROUPS) {
            if (group_step[w][g] < 0)
                group_step[w][g] = step;
            else if (group_step[w][g] != step)
                stress_fail(t, "scan: group w%d-g%d holds steps %d and %d: half a batch", w,
                            g, group_step[w][g], step);
        }
    }
    if ((rc = kv_iter_status(it)) != KV_OK)
        stress_fail(t, "scan: %s", kv_strerror(rc));
    kv_iter_free(it);
}

static void *stress_scanner(void *arg)
{
    stress_thread *t = arg;
    int rounds = 0;
    do
        stress_scan(t);
    while (++rounds < t->steps / STRESS_STEPS_PER_SCAN && stress_running(t->s));
    return NULL;
}

static void *stress_merger(void *arg)
{
    stress_thread *t = arg;
    int rounds = 0;
    do {
        int rc = kv_compact(t->s->db);
        if (rc != KV_OK)
            stress_fail(t, "kv_compact: %s", kv_strerror(rc));
        char *text = NULL;
        if ((rc = kv_stats(t->s->db, &text)) != KV_OK)
            stress_fail(t, "kv_stats: %s", kv_strerror(rc));
        kv_free(text);
    } while (++rounds < t->steps / STRESS_STEPS_PER_MERGE && stress_running(t->s));
    return NULL;
}

/* Each writer's keys hold its last writes. */
static void stress_expect_final(kv_db *db, const stress_thread *writers)
{
    char key[32], val[1024];
    for (int w = 0; w < STRESS_WRITERS; w++)
        for (int k = 0; k < STRESS_KEYS; k++) {
            int kl = stress_key(key, sizeof key, w, k);
            if (writers[w].last[k] < 0) {
                ABSENT(db, key, (size_t)kl);
            } else {
                size_t vl = stress_value(val, sizeof val, key, (size_t)kl, writers[w].last[k]);
                EXPECT(db, key, (size_t)kl, val, vl);
            }
        }
}

static void stress_run(int sync)
{
    const stage_caps *caps = stage_caps_find();
    CHECK_MSG(caps != NULL, "tests/stage_caps.c has no row for stage %s", kv_stage());
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 8192; /* many segments, for the stages that have them */
    opt.memtable_bytes = 16384; /* stage 04+: flushes while the others run */
    opt.table_bytes = 4096;     /* stage 06: small levels, so that compactions */
    opt.l1_bytes = 16384;       /* run in the background all along */
    opt.level_ratio = 2;
    opt.sync = sync;
    static stress s;
    memset(&s, 0, sizeof s);
    s.db = OPEN(dir, &opt);
    s.writers_left = STRESS_WRITERS;
    enum { N = STRESS_WRITERS + STRESS_READERS + STRESS_SCANNERS + 1 };
    static stress_thread th[N];
    pthread_t tids[N];
    for (int i = 0; i < N; i++) {
        memset(&th[i], 0, sizeof th[i]);
        th[i].s = &s;
        th[i].slot = i;
        th[i].id = i < STRESS_WRITERS ? i : i + 1;
        th[i].steps = caps->gets_scan_log ? STRESS_STEPS_SCANNING : STRESS_STEPS;
    }
    for (int i = 0; i < N; i++) {
        void *(*fn)(void *) = i < STRESS_WRITERS                    ? stress_writer
                              : i < STRESS_WRITERS + STRESS_READERS ? stress_reader
                              : i < N - 1                           ? stress_scanner
                                                                    : stress_merger;
        CHECK(pthread_create(&tids[i], NULL, fn, &th[i]) == 0);
    }
    for (int i = 0; i < N; i++)
        CHECK(pthread_join(tids[i], NULL) == 0);
    for (int i = 0; i < N; i++)
        CHECK_MSG(s.failures[i] == 0, "thread %d: %d failures, the first: %s", i,
                  s.failures[i], s.first[i]);
    stress_expect_final(s.db, th);
    stress_thread check = {.s = &s, .slot = N};
    stress_scan(&check);
    CHECK_MSG(s.failures[N] == 0, "the final scan: %s", s.first[N]);
    CLOSE(s.db);
    s.db = OPEN(dir, &opt);
    stress_expect_final(s.db, th);
    stress_scan(&check);
    CHECK_MSG(s.failures[N] == 0, "the scan after reopening: %s", s.first[N]);
    CLOSE(s.db);
}

static void writers_readers_scanners_and_merges_at_once(void) { stress_run(0); }

static void writers_readers_scanners_and_merges_at_once_with_sync(void) { stress_run(1); }

static const harness_test tests[] = {
    HARNESS_TEST(writers_readers_scanners_and_merges_at_once),
    HARNESS_TEST(writers_readers_scanners_and_merges_at_once_with_sync),
};
const harness_suite stress_suite = HARNESS_SUITE("stress", tests);
