/*
 * latency.c: the engine's latency histograms (common/latency.h) through
 * kv_stats, and kv_cost (kv.h), on every stage, through include/kv.h only.
 *
 *   - every call of kv.h that reads or writes is counted exactly once in
 *     its histogram (iterator steps too, though only some are timed), and
 *     each histogram's two lines agree: percentiles in order, the
 *     buckets' counts growing at Prometheus's bounds up to the count;
 *   - the engine's own work is counted as kv_stats's counters count it:
 *     flushes, compactions (stage 02's merges), each stall;
 *   - threads recording at once lose nothing;
 *   - gets, puts, deletes and seeks are timed one in 8 per thread (a
 *     thread's gets, each once it asked for its costs), and still counted
 *     each;
 *   - kv_cost counts this thread's lookups and no one else's, and says
 *     what each stage's lookup does: stage 01 reads the whole log, stages
 *     02 and 03 one record, the LSM stages memtables, then tables in
 *     range, and from stage 05 bloom filters, blocks and the block cache.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "kv.h"
#include "stage_caps.h"
#include "testdb.h"

/* ---- reading kv_stats ------------------------------------------------------ */

static char *lat_text(kv_db *db)
{
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    CHECK_MSG(strstr(text, "latency.histograms: off") == NULL,
              "this build records no histograms (KV_NO_HISTOGRAMS)");
    return text;
}

/* The value of line "name: ..." of text, or NULL (a pointer into text). */
static const char *lat_line(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ')
            return p + n + 2;
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    return NULL;
}

static double lat_stat(const char *text, const char *name)
{
    const char *v = lat_line(text, name);
    CHECK_MSG(v != NULL, "kv_stats has no line %s", name);
    return strtod(v, NULL);
}

/* One histogram's two lines, checked against each other. */
typedef struct lat_hist {
    unsigned long long count;
    double sum, p50, p99, p999, max;
} lat_hist;

/* 1 if b (in ns) is one of Prometheus's bounds: 2^k or 1.5 * 2^k, 10 <= k <= 35. */
static int lat_prom_bound(unsigned long long b)
{
    for (int k = 10; k <= 35; k++)
        if (b == 1ull << k || b == (1ull << k) + (1ull << (k - 1)))
            return 1;
    return 0;
}

/* Reads NAME_us and NAME_us.buckets (name without "_us"); 0 if the first
 * is missing.  Fails the test if they are malformed or disagree. */
static int lat_hist_of(const char *text, const char *name, lat_hist *h)
{
    char key[128];
    snprintf(key, sizeof key, "%s_us", name);
    const char *v = lat_line(text, key);
    if (v == NULL)
        return 0;
    harness_context("kv_stats line %s: %.200s", key, v);
    CHECK_EQ(sscanf(v, "count=%llu,sum=%lf,p50=%lf,p99=%lf,p99.9=%lf,max=%lf", &h->count,
                    &h->sum, &h->p50, &h->p99, &h->p999, &h->max),
             6);
    CHECK(h->p50 <= h->p99 && h->p99 <= h->p999 && h->p999 <= h->max);
    if (h->count > 0) {
        CHECK(h->max > 0 || h->sum == 0);
        CHECK(h->sum >= h->max - 0.001);
    } else {
        CHECK(h->sum == 0 && h->max == 0);
    }
    snprintf(key, sizeof key, "%s_us.buckets", name);
    const char *b = lat_line(text, key);
    CHECK_MSG(b != NULL, "kv_stats has %s_us but no %s", name, key);
    harness_context("kv_stats line %s: %.300s", key, b);
    if (h->count == 0) {
        CHECK(strncmp(b, "none\n", 5) == 0 || strcmp(b, "none") == 0);
        return 1;
    }
    unsigned long long last_bound = 0, last = 0;
    const char *p = b;
    for (;;) {
        unsigned long long us, frac, n;
        int used = 0;
        CHECK_EQ(sscanf(p, "%llu.%3llu=%llu%n", &us, &frac, &n, &used), 3);
        unsigned long long bound = us * 1000 + frac;
        CHECK_MSG(lat_prom_bound(bound), "%llu ns is not a bound of the buckets", bound);
        CHECK(bound > last_bound);
        CHECK(n > last);
        last_bound = bound;
        last = n;
        p += used;
        if (*p != ',')
            break;
        p++;
    }
    CHECK(*p == '\n' || *p == '\0');
    /* Nothing here took 51.5 s: every record is under the last bound. */
    CHECK_EQ(last, h->count);
    return 1;
}

static unsigned long long lat_count(const char *text, const char *name)
{
    lat_hist h;
    CHECK_MSG(lat_hist_of(text, name, &h), "kv_stats has no line %s_us", name);
    return h.count;
}

/* ---- every call counted ------------------------------------------------------ */

static void latency_counts_every_call_of_kv_h(void)
{
    const stage_caps *caps = stage_caps_find();
    CHECK(caps != NULL);
    kv_db *db = testdb_fresh(NULL);
    char key[32];
    for (int i = 0; i < 37; i++) {
        snprintf(key, sizeof key, "key%03d", i);
        PUT(db, key, strlen(key), S("value"));
    }
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "key%03d", 2 * i);
        DEL(db, key, strlen(key));
    }
    kv_batch *b = NULL;
    CHECK_KV(kv_batch_new(&b), KV_OK);
    for (int i = 0; i < 3; i++) {
        kv_batch_clear(b);
        snprintf(key, sizeof key, "batch%d", i);
        CHECK_KV(kv_batch_put(b, key, strlen(key), S("v")), KV_OK);
        CHECK_KV(kv_batch_delete(b, S("key001")), KV_OK);
        CHECK_KV(kv_write(db, b), KV_OK);
    }
    kv_batch_free(b);
    /* 37 + 3 keys put, 5 + 1 deleted: 34 live. */
    int live = 34, gets = 0;
    for (int i = 10; i < 21; i++, gets++) {
        snprintf(key, sizeof key, "key%03d", i);
        EXPECT(db, key, strlen(key), S("value"));
    }
    for (int i = 0; i < 4; i++, gets++) {
        snprintf(key, sizeof key, "nokey%d", i);
        ABSENT(db, key, strlen(key));
    }
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
    for (int i = 0; i < 3; i++, gets++)
        EXPECT_AT(db, snap, S("key011"), S("value"));
    kv_snapshot_free(db, snap);
    /* A transaction that writes commits through the write path (timed);
     * one that only reads commits at once (not timed), its read a get.
     * Where a commit compares values (stages 01 to 06), it reads each key
     * it writes at its snapshot and now: two gets more. */
    kv_txn *t = NULL;
    CHECK_KV(kv_txn_begin(db, KV_TXN_SNAPSHOT, &t), KV_OK);
    CHECK_KV(kv_txn_put(t, S("txnkey"), S("1")), KV_OK);
    CHECK_KV(kv_txn_commit(t), KV_OK);
    gets += caps->txn_versions ? 0 : 2;
    live++;
    CHECK_KV(kv_txn_begin(db, KV_TXN_SNAPSHOT, &t), KV_OK);
    void *val = NULL;
    size_t vlen = 0;
    CHECK_KV(kv_txn_get(t, S("key013"), &val, &vlen), KV_OK);
    kv_free(val);
    gets++;
    CHECK_KV(kv_txn_commit(t), KV_OK);
    /* An iterator: three seeks, every key stepped over, three steps back. */
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    int steps = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it))
        steps++;
    CHECK_EQ(steps, live);
    kv_iter_next(it); /* not valid: not a step */
    kv_iter_seek(it, S("key020"));
    kv_iter_seek_last(it);
    for (int i = 0; i < 3; i++)
        kv_iter_prev(it);
    steps += 3;
    kv_iter_free(it);

    char *text = lat_text(db);
    CHECK_EQ(lat_count(text, "session.get.latency"), (unsigned long long)gets);
    CHECK_EQ(lat_count(text, "session.put.latency"), 37ull);
    CHECK_EQ(lat_count(text, "session.delete.latency"), 5ull);
    CHECK_EQ(lat_count(text, "session.batch.latency"), 3ull);
    CHECK_EQ(lat_count(text, "session.txn.commit.latency"), 1ull);
    CHECK_EQ(lat_count(text, "session.iter.seek.latency"), 3ull);
    CHECK_EQ(lat_count(text, "session.iter.next.latency"), (unsigned long long)steps);
    /* The engine's own work is a stage's only if it has it. */
    lat_hist h;
    CHECK_EQ(lat_hist_of(text, "session.flush.time", &h), caps->has_memtable != 0);
    CHECK_EQ(lat_hist_of(text, "session.stall.memtable.time", &h), caps->has_memtable != 0);
    CHECK_EQ(lat_hist_of(text, "session.compact.time", &h),
             caps->has_memtable || caps->has_segments);
    CHECK_EQ(lat_hist_of(text, "session.values.gc.time", &h), 0);
    kv_free(text);
    CLOSE(db);
}

/* A stage with nothing to time yet prints its histograms empty. */
static void latency_lines_of_a_fresh_database_are_empty(void)
{
    kv_db *db = testdb_fresh(NULL);
    char *text = lat_text(db);
    static const char *const calls[] = {
        "session.get.latency",       "session.put.latency",      "session.delete.latency",
        "session.batch.latency",     "session.iter.seek.latency", "session.iter.next.latency",
        "session.txn.commit.latency",
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        lat_hist h;
        CHECK_MSG(lat_hist_of(text, calls[i], &h), "kv_stats has no line %s_us", calls[i]);
        CHECK_EQ(h.count, 0ull);
    }
    kv_free(text);
    CLOSE(db);
}

/* Pairs (counter, histogram) of kv_stats that count the same work. */
static const char *const lat_pairs[][2] = {
    {"session.flush.count", "session.flush.time"},
    {"session.compact.count", "session.compact.time"},
    {"session.write.stalls", "session.stall.memtable.time"},
    {"session.write.l0_slowdowns", "session.stall.l0_slowdown.time"},
    {"session.write.l0_stops", "session.stall.l0_stop.time"},
};

/* kv_stats once the background work has settled: a job counts itself in
 * its counter a moment before its histogram (and a stall before it ends),
 * so a text taken while one ends may show them one apart.  Tries for up
 * to 10 s until every pair the stage has agrees; the last text if never. */
static char *lat_text_settled(kv_db *db)
{
    char *text = NULL;
    for (int attempt = 0; attempt < 1000; attempt++) {
        kv_free(text);
        text = lat_text(db);
        int agree = 1;
        for (size_t i = 0; i < sizeof lat_pairs / sizeof lat_pairs[0]; i++) {
            lat_hist h;
            const char *v = lat_line(text, lat_pairs[i][0]);
            if (v != NULL && lat_hist_of(text, lat_pairs[i][1], &h))
                agree &= (unsigned long long)strtod(v, NULL) == h.count;
        }
        if (agree)
            break;
        struct timespec ms10 = {.tv_sec = 0, .tv_nsec = 10000000};
        nanosleep(&ms10, NULL);
    }
    return text;
}

/* Flushes, compactions and stalls: one record each, as kv_stats's own
 * counters count them. */
static void latency_times_the_engines_own_work(void)
{
    const stage_caps *caps = stage_caps_find();
    CHECK(caps != NULL);
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 4096;      /* stages 02, 03: several segments to merge */
    opt.memtable_bytes = 16384;    /* stage 04 on: flushes as it goes */
    kv_db *db = OPEN(dir, &opt);
    char key[32], val[200];
    memset(val, 'v', sizeof val);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 300; i++) {
            snprintf(key, sizeof key, "key%04d", (i * 37) % 300);
            PUT(db, key, strlen(key), val, sizeof val);
        }
        CHECK_KV(kv_flush(db), KV_OK);
    }
    CHECK_KV(kv_compact(db), KV_OK);
    char *text = lat_text_settled(db);
    if (caps->has_memtable) {
        double flushes = lat_stat(text, "session.flush.count");
        CHECK(flushes >= 3);
        CHECK_EQ(lat_count(text, "session.flush.time"), (unsigned long long)flushes);
        double compactions = lat_stat(text, "session.compact.count");
        CHECK(compactions >= 1);
        CHECK_EQ(lat_count(text, "session.compact.time"), (unsigned long long)compactions);
        CHECK_EQ(lat_count(text, "session.stall.memtable.time"),
                 (unsigned long long)lat_stat(text, "session.write.stalls"));
        lat_hist h;
        int levels = lat_line(text, "session.write.l0_slowdowns") != NULL;
        CHECK_EQ(lat_hist_of(text, "session.stall.l0_slowdown.time", &h), levels);
        CHECK_EQ(lat_hist_of(text, "session.stall.l0_stop.time", &h), levels);
        if (levels) {
            CHECK_EQ(lat_count(text, "session.stall.l0_slowdown.time"),
                     (unsigned long long)lat_stat(text, "session.write.l0_slowdowns"));
            CHECK_EQ(lat_count(text, "session.stall.l0_stop.time"),
                     (unsigned long long)lat_stat(text, "session.write.l0_stops"));
        }
    } else if (caps->has_segments) {
        double merges = lat_stat(text, "session.merges");
        CHECK(merges >= 1);
        CHECK_EQ(lat_count(text, "session.compact.time"), (unsigned long long)merges);
    }
    kv_free(text);
    CLOSE(db);
}

/* Threads recording into one histogram at once, more of them than it has
 * stripes of their own, while another reads kv_stats: no record lost. */
#define LAT_THREADS 6
#define LAT_OPS 400

typedef struct lat_thread {
    kv_db *db;
    int id;
    int failed;
} lat_thread;

static void *lat_worker(void *arg)
{
    lat_thread *t = arg;
    char key[32];
    for (int i = 0; i < LAT_OPS && !t->failed; i++) {
        snprintf(key, sizeof key, "t%d-%d", t->id, i % 50);
        t->failed |= kv_put(t->db, key, strlen(key), "v", 1) != KV_OK;
        void *val = NULL;
        size_t vlen = 0;
        t->failed |= kv_get(t->db, key, strlen(key), &val, &vlen) != KV_OK;
        kv_free(val);
    }
    return NULL;
}

static void *lat_reader(void *arg)
{
    lat_thread *t = arg;
    for (int i = 0; i < 20 && !t->failed; i++) {
        char *text = NULL;
        t->failed |= kv_stats(t->db, &text) != KV_OK;
        kv_free(text);
    }
    return NULL;
}

static void latency_counts_threads_recording_at_once(void)
{
    kv_db *db = testdb_fresh(NULL);
    pthread_t th[LAT_THREADS + 1];
    lat_thread w[LAT_THREADS + 1];
    for (int i = 0; i <= LAT_THREADS; i++) {
        w[i] = (lat_thread){.db = db, .id = i};
        CHECK(pthread_create(&th[i], NULL, i < LAT_THREADS ? lat_worker : lat_reader, &w[i]) ==
              0);
    }
    for (int i = 0; i <= LAT_THREADS; i++) {
        CHECK(pthread_join(th[i], NULL) == 0);
        CHECK_MSG(!w[i].failed, "thread %d: a call failed: %s", i, kv_errmsg());
    }
    char *text = lat_text(db);
    CHECK_EQ(lat_count(text, "session.put.latency"), (unsigned long long)LAT_THREADS * LAT_OPS);
    CHECK_EQ(lat_count(text, "session.get.latency"), (unsigned long long)LAT_THREADS * LAT_OPS);
    kv_free(text);
    CLOSE(db);
}

/* ---- kv_cost ----------------------------------------------------------------- */

static void cost_zero(const kv_cost *c)
{
    static const kv_cost zero;
    CHECK(memcmp(c, &zero, sizeof zero) == 0);
}

static void *cost_other_thread(void *arg)
{
    kv_db *db = arg;
    for (int i = 0; i < 50; i++) {
        void *val = NULL;
        size_t vlen = 0;
        if (kv_get(db, S("a"), &val, &vlen) == KV_OK)
            kv_free(val);
    }
    kv_cost c;
    kv_cost_get(&c);
    return c.gets == 50 ? db : NULL;
}

static void cost_counts_this_threads_lookups_until_reset(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("a"), S("1"));
    kv_cost_get(NULL); /* a no-op */
    kv_cost c;
    kv_cost_reset();
    kv_cost_get(&c);
    cost_zero(&c);
    EXPECT(db, S("a"), S("1"));
    ABSENT(db, S("b"));
    kv_cost_get(&c);
    CHECK_EQ(c.gets, 2ull);
    CHECK(c.nanos > 0);
    /* Writes, iterators and another thread's lookups change nothing here. */
    PUT(db, S("c"), S("3"));
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    kv_iter_seek_first(it);
    kv_iter_free(it);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, cost_other_thread, db) == 0);
    void *ok = NULL;
    CHECK(pthread_join(th, &ok) == 0);
    CHECK_MSG(ok != NULL, "the other thread's own counts were not its 50 lookups");
    kv_cost after;
    kv_cost_get(&after);
    CHECK(memcmp(&after, &c, sizeof c) == 0);
    /* A lookup at a snapshot counts; reset starts again from zero. */
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
    EXPECT_AT(db, snap, S("c"), S("3"));
    kv_snapshot_free(db, snap);
    kv_cost_get(&c);
    CHECK_EQ(c.gets, 3ull);
    kv_cost_reset();
    kv_cost_get(&c);
    cost_zero(&c);
    CLOSE(db);
}

/* A thread that has not called kv_cost_reset has one lookup in 8 timed
 * (common/latency.h): its first, then every 8th; each other lookup counts
 * the time of the last timed one, in kv_cost and in the histogram alike.
 * Returns db if this thread's counts say so. */
static void *cost_sampled_thread(void *arg)
{
    kv_db *db = arg;
    unsigned long long first = 0;
    int ok = 1;
    kv_cost c;
    for (unsigned long long i = 1; i <= 9; i++) {
        void *val = NULL;
        size_t vlen = 0;
        if (kv_get(db, S("a"), &val, &vlen) != KV_OK)
            return NULL;
        kv_free(val);
        kv_cost_get(&c);
        if (i == 1)
            first = c.nanos;
        else if (i <= 8)
            ok &= c.nanos == first * i;   /* not timed: the first's time again */
        else
            ok &= c.nanos > first * 8;    /* the 9th is timed */
    }
    return ok && first > 0 && c.gets == 9 ? db : NULL;
}

static void cost_times_one_lookup_in_8_until_the_thread_resets(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("a"), S("1"));
    pthread_t th;
    CHECK(pthread_create(&th, NULL, cost_sampled_thread, db) == 0);
    void *ok = NULL;
    CHECK(pthread_join(th, &ok) == 0);
    CHECK_MSG(ok != NULL, "a thread's 9 lookups were not timed 1st and 9th, the others "
                          "at the 1st's time");
    char *text = lat_text(db);
    CHECK_EQ(lat_count(text, "session.get.latency"), 9ull); /* every one counted */
    kv_free(text);
    CLOSE(db);
}

/* What one lookup does, by stage. */
static kv_cost cost_of_get(kv_db *db, const char *key, int found)
{
    kv_cost_reset();
    void *val = NULL;
    size_t vlen = 0;
    CHECK_KV(kv_get(db, key, strlen(key), &val, &vlen), found ? KV_OK : KV_NOT_FOUND);
    kv_free(val);
    kv_cost c;
    kv_cost_get(&c);
    harness_context("kv_get(%s): gets %llu memtables %llu in_range %llu bloom %llu/%llu/%llu "
                    "searched %llu blocks %llu cached %llu reads %llu bytes %llu records %llu",
                    key, c.gets, c.memtables, c.tables_in_range, c.bloom_checks, c.bloom_skips,
                    c.bloom_false_positives, c.tables_searched, c.blocks_read,
                    c.block_cache_hits, c.reads, c.bytes_read, c.record_cache_hits);
    CHECK_EQ(c.gets, 1ull);
    return c;
}

static void cost_of_a_lookup_in_the_log_stages(kv_db *db, const stage_caps *caps)
{
    kv_cost c = cost_of_get(db, "k00100", 1);
    CHECK_EQ(c.memtables + c.tables_in_range + c.bloom_checks + c.blocks_read, 0ull);
    CHECK(c.reads >= 1);
    if (caps->gets_scan_log) {
        /* The whole log, whose records hold every key and value. */
        char *text = lat_text(db);
        double log_bytes = lat_stat(text, "log.bytes");
        kv_free(text);
        CHECK(c.bytes_read >= (unsigned long long)log_bytes - 16);
        c = cost_of_get(db, "k00100x", 0);
        CHECK(c.bytes_read >= (unsigned long long)log_bytes - 16);
    } else {
        /* One record: its key and value, and little else. */
        CHECK(c.bytes_read >= 6 + 100);
        c = cost_of_get(db, "k00100x", 0);
        CHECK_EQ(c.reads, 0ull); /* the index says there is none */
        CHECK_EQ(c.bytes_read, 0ull);
    }
}

static void cost_of_a_lookup_in_the_lsm_stages(kv_db *db, const stage_caps *caps)
{
    /* In the memtable: no table asked. */
    kv_cost c = cost_of_get(db, "m-new", 1);
    CHECK(c.memtables >= 1);
    CHECK_EQ(c.tables_in_range + c.reads + c.bytes_read, 0ull);
    /* Outside every table's range: no table asked either. */
    c = cost_of_get(db, "zzz", 0);
    CHECK(c.memtables >= 1);
    CHECK_EQ(c.tables_in_range + c.reads, 0ull);
    /* In the one table: searched, read. */
    c = cost_of_get(db, "k00100", 1);
    CHECK_EQ(c.tables_in_range, 1ull);
    CHECK_EQ(c.tables_searched, 1ull);
    if (caps->table_blocks) {
        CHECK_EQ(c.bloom_checks, 1ull);
        CHECK_EQ(c.bloom_skips + c.bloom_false_positives, 0ull);
        CHECK_EQ(c.blocks_read, 1ull);
        CHECK_EQ(c.block_cache_hits, 0ull);
        /* The data block; with partitions, first the filter's and the
         * index's partition of it (into the cache, for the gets after). */
        const char *parts = getenv("KV_TEST_TABLE_PARTITIONS");
        int parted = caps->parted_index && parts != NULL && strcmp(parts, "1") == 0;
        CHECK_EQ(c.reads, parted ? 3ull : 1ull);
        CHECK(c.bytes_read >= 100);
        CHECK_EQ(c.record_cache_hits, 0ull);
        c = cost_of_get(db, "k00100", 1);
        CHECK_EQ(c.blocks_read, 0ull);
        CHECK_EQ(c.reads + c.bytes_read, 0ull);
        if (caps->record_cache) {
            /* Again: the record cache answers; the table's filter, index
             * and blocks are not asked. */
            CHECK_EQ(c.record_cache_hits, 1ull);
            CHECK_EQ(c.tables_in_range, 1ull);
            CHECK_EQ(c.tables_searched + c.bloom_checks + c.block_cache_hits, 0ull);
            /* A neighbour in the same block: the block cache answers;
             * or, a block stored raw, its values compressed alone, the
             * file's mapping, where it was checked before (one read of
             * the mapping, no system call, nothing cached). */
            c = cost_of_get(db, "k00101", 1);
            int in_place = caps->values_alone && !parted; /* (a partition's
                handle does not say the block's place: it is cached) */
#ifdef __EMSCRIPTEN__
            in_place = 0; /* (the WebAssembly build maps no file: its blocks
                             come by reads, into the cache) */
#endif
            CHECK_EQ(c.record_cache_hits, 0ull);
            CHECK_EQ(c.blocks_read, in_place ? 1ull : 0ull);
            CHECK_EQ(c.reads, in_place ? 1ull : 0ull);
            CHECK_EQ(c.block_cache_hits, in_place ? 0ull : 1ull);
        } else {
            /* Again: the block is in the cache, nothing is read. */
            CHECK_EQ(c.record_cache_hits, 0ull);
            CHECK_EQ(c.block_cache_hits, 1ull);
        }
    } else {
        CHECK_EQ(c.bloom_checks + c.blocks_read + c.block_cache_hits, 0ull);
        CHECK(c.reads >= 2); /* a binary search on disk */
        CHECK(c.bytes_read >= 100);
    }
    /* Absent keys inside the table's range: the filter rules out most. */
    kv_cost all = {0};
    char key[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "k%05dx", i);
        c = cost_of_get(db, key, 0);
        CHECK_EQ(c.tables_in_range, 1ull);
        all.bloom_checks += c.bloom_checks;
        all.bloom_skips += c.bloom_skips;
        all.bloom_false_positives += c.bloom_false_positives;
        all.tables_searched += c.tables_searched;
        all.reads += c.reads;
    }
    if (caps->table_blocks) {
        CHECK_EQ(all.bloom_checks, 200ull);
        CHECK_EQ(all.bloom_skips + all.bloom_false_positives, 200ull);
        CHECK(all.bloom_skips >= 180); /* 10 bits a key: about 1% pass */
        CHECK_EQ(all.tables_searched, all.bloom_false_positives);
    } else {
        CHECK_EQ(all.tables_searched, 200ull);
        CHECK(all.reads >= 400);
    }
}

/* With kv_options.filters_for_hits = 1, the one table is the last a get
 * can reach: a key found there, and an absent key in its range, are
 * searched for without asking its filter, and the answers stay right. */
static void cost_of_a_lookup_in_the_last_table(kv_db *db, const stage_caps *caps)
{
    kv_cost c = cost_of_get(db, "k00100", 1);
    CHECK_EQ(c.tables_in_range, 1ull);
    CHECK_EQ(c.tables_searched, 1ull);
    CHECK_EQ(c.bloom_checks + c.bloom_skips + c.bloom_false_positives, 0ull);
    char key[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "k%05dx", i);
        c = cost_of_get(db, key, 0);
        CHECK_EQ(c.tables_in_range, 1ull);
        CHECK_EQ(c.bloom_checks + c.bloom_skips + c.bloom_false_positives, 0ull);
        CHECK_EQ(c.tables_searched, 1ull);
        CHECK_EQ(c.record_cache_hits, 0ull);
        if (caps->table_blocks)
            CHECK_EQ(c.blocks_read + c.block_cache_hits, 1ull);
    }
}

static void cost_says_what_a_lookup_did_in_each_stage(void)
{
    const stage_caps *caps = stage_caps_find();
    CHECK(caps != NULL);
    /* Every table's filter asked (a stage without filters ignores it). */
    kv_options opt;
    kv_options_init(&opt);
    opt.filters_for_hits = KV_FILTERS_ALWAYS;
    kv_db *db = OPEN(testdb_dir(), &opt);
    char key[32], val[100];
    memset(val, 'v', sizeof val);
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "k%05d", i);
        PUT(db, key, strlen(key), val, sizeof val);
    }
    CHECK_KV(kv_flush(db), KV_OK);
    PUT(db, S("m-new"), S("in the memtable"));
    if (caps->has_memtable)
        cost_of_a_lookup_in_the_lsm_stages(db, caps);
    else
        cost_of_a_lookup_in_the_log_stages(db, caps);
    CLOSE(db);
    if (!caps->has_memtable)
        return;
    opt.filters_for_hits = 1;
    db = OPEN(testdb_dir(), &opt);
    memset(val, 'w', sizeof val);
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "k%05d", i);
        PUT(db, key, strlen(key), val, sizeof val);
    }
    CHECK_KV(kv_flush(db), KV_OK);
    cost_of_a_lookup_in_the_last_table(db, caps);
    CLOSE(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(latency_lines_of_a_fresh_database_are_empty),
    HARNESS_TEST(latency_counts_every_call_of_kv_h),
    HARNESS_TEST(latency_times_the_engines_own_work),
    HARNESS_TEST(latency_counts_threads_recording_at_once),
    HARNESS_TEST(cost_counts_this_threads_lookups_until_reset),
    HARNESS_TEST(cost_times_one_lookup_in_8_until_the_thread_resets),
    HARNESS_TEST(cost_says_what_a_lookup_did_in_each_stage),
};
const harness_suite latency_suite = HARNESS_SUITE("latency", tests);
