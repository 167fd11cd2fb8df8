/*
 * paced_build_test.c: the rate limiter in the engine (limited_rate.c,
 * behind stage 04's bg_rate.h): every byte of every table a flush or a
 * compaction writes is asked of it, no faster than its rate, and a
 * database written under a limit reads as one written without; with no
 * limit nothing waits and the bytes are still counted; kv_close lets the
 * limit go, so a low rate does not hold it for as long as the work it
 * waits for; a rate set while open (kv_set_background_rate) paces what
 * follows.  A flush's table asks at the high priority, every other at
 * the low one, in the engine and through bg_rate.h.  And at a low rate a
 * writer waits at a memtable switch for the paced flush, counted in
 * kv_stats.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "bg_rate.h"
#include "kv.h"
#include "rate_limiter.h"

#define PB_KEYS 6000
#define PB_VALUE 100

/* The count of the histogram line "name_us: count=N,..." (-1 if absent). */
static double pb_histogram_count(kv_db *db, const char *name)
{
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    char want[96];
    snprintf(want, sizeof want, "\n%s_us: count=", name);
    const char *at = strstr(text, want);
    double v = at != NULL ? strtod(at + strlen(want), NULL) : -1;
    kv_free(text);
    return v;
}

/* The bytes of the tables flushes and compactions have written. */
static double pb_table_bytes(kv_db *db)
{
    return testdb_stat(db, "flush.bytes") + testdb_stat(db, "compact.bytes_written");
}

/* Key i's value: bytes that lz4 cannot shrink much, from i. */
static void pb_value(int i, char *v)
{
    uint64_t x = (uint64_t)i * 0x9E3779B97F4A7C15u + 1;
    for (int j = 0; j < PB_VALUE; j++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        v[j] = (char)('!' + x % 90);
    }
}

static double pb_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fills a fresh database under the given limit, flushes and compacts it;
 * checks the limiter's counts against the tables' bytes, and every key. */
static void pb_run(size_t rate, double *granted, double *waited_us, double *waits,
                   double *seconds)
{
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 64 * 1024;
    opt.background_bytes_per_sec = rate;
    double start = pb_seconds();
    kv_db *db = OPEN(dir, &opt);
    double before = pb_table_bytes(db);
    double before_flushed = testdb_stat(db, "flush.bytes");
    char key[16], v[PB_VALUE];
    for (int i = 0; i < PB_KEYS; i++) {
        snprintf(key, sizeof key, "k%05d", (i * 7919) % PB_KEYS);
        pb_value((i * 7919) % PB_KEYS, v);
        PUT(db, key, strlen(key), v, PB_VALUE);
    }
    CHECK_KV(kv_flush(db), KV_OK);
    CHECK_KV(kv_compact(db), KV_OK);
    *seconds = pb_seconds() - start;
    CHECK(testdb_stat(db, "rate_limiter.bytes_per_second") == (double)rate);
    *granted = testdb_stat(db, "session.rate_limiter.granted_bytes");
    *waited_us = testdb_stat(db, "session.rate_limiter.waited_us");
    *waits = pb_histogram_count(db, "session.rate_limiter.wait");
    double written = pb_table_bytes(db) - before;
    CHECK_MSG(written > PB_KEYS * PB_VALUE && *granted == written,
              "the limiter granted %.0f bytes; the tables written hold %.0f", *granted, written);
    /* The flushes' tables asked at RL_HIGH, the compaction's at RL_LOW. */
    double flushed = testdb_stat(db, "flush.bytes") - before_flushed;
    double high = testdb_stat(db, "session.rate_limiter.flush_granted_bytes");
    CHECK_MSG(flushed > 0 && high == flushed && *granted - high > 0,
              "flushes wrote %.0f bytes; %.0f were granted at the high priority, of %.0f",
              flushed, high, *granted);
    for (int i = 0; i < PB_KEYS; i++) {
        snprintf(key, sizeof key, "k%05d", i);
        pb_value(i, v);
        EXPECT(db, key, strlen(key), v, PB_VALUE);
    }
    CLOSE(db);
}

static void every_table_byte_is_asked_no_faster_than_the_rate(void)
{
    size_t rate = 2 * 1024 * 1024;
    double granted, waited_us, waits, seconds;
    pb_run(rate, &granted, &waited_us, &waits, &seconds);
    /* rate_limiter.h: granted <= rate * (t + burst) + the largest single
     * request, here at most one 256 KiB buffer (paced_build.c). */
    double bound = (double)rate * (seconds + RL_BURST_NS / 1e9) + 256.0 * 1024;
    CHECK_MSG(granted <= bound, "%.0f bytes granted in %.3f s at %zu bytes a second",
              granted, seconds, rate);
    CHECK_MSG(waited_us > 0 && waits >= 1, "%.0f bytes at %zu a second: waited %.0f us, %.0f "
              "waits in the histogram", granted, rate, waited_us, waits);
}

static void no_limit_waits_nothing_and_still_counts(void)
{
    double granted, waited_us, waits, seconds;
    pb_run(0, &granted, &waited_us, &waits, &seconds);
    CHECK_MSG(waited_us == 0 && waits == 0, "waited %.0f us (%.0f waits) with no limit",
              waited_us, waits);
}

/* At 4 KiB a second a flush of a 64 KiB memtable takes 16 s: kv_close,
 * which waits for it, lifts the limit instead (bg_rate.h, B1), and what
 * was written is all there after. */
static void a_close_does_not_wait_at_the_rate(void)
{
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 64 * 1024;
    opt.background_bytes_per_sec = 4096;
    kv_db *db = OPEN(dir, &opt);
    char key[16], v[PB_VALUE];
    int n = 700; /* one memtable frozen and being flushed, the next begun */
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "k%05d", i);
        pb_value(i, v);
        PUT(db, key, strlen(key), v, PB_VALUE);
    }
    double waited = 0;
    for (int i = 0; i < 100 && waited == 0; i++) { /* the flush has begun to wait */
        struct timespec ms = {0, 10 * 1000 * 1000};
        nanosleep(&ms, NULL);
        waited = testdb_stat(db, "session.rate_limiter.waited_us");
    }
    double start = pb_seconds();
    CLOSE(db);
    double took = pb_seconds() - start;
    CHECK_MSG(took < 8, "kv_close took %.1f s at 4 KiB a second (the flush alone is 16 s)", took);
    db = OPEN(dir, NULL);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "k%05d", i);
        pb_value(i, v);
        EXPECT(db, key, strlen(key), v, PB_VALUE);
    }
    CLOSE(db);
}

/* Opened without a limit, given one while open (kv_set_background_rate):
 * the flushes and compactions after it wait, no faster than the rate. */
static void a_rate_set_while_open_paces_what_follows(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 64 * 1024;
    kv_db *db = OPEN(testdb_dir(), &opt);
    size_t rate = 2 * 1024 * 1024;
    CHECK_KV(kv_set_background_rate(db, rate), KV_OK);
    double start = pb_seconds();
    double granted0 = testdb_stat(db, "session.rate_limiter.granted_bytes");
    char key[16], v[PB_VALUE];
    for (int i = 0; i < PB_KEYS / 2; i++) {
        snprintf(key, sizeof key, "k%05d", (i * 7919) % PB_KEYS);
        pb_value(i, v);
        PUT(db, key, strlen(key), v, PB_VALUE);
    }
    CHECK_KV(kv_compact(db), KV_OK);
    double seconds = pb_seconds() - start;
    double granted = testdb_stat(db, "session.rate_limiter.granted_bytes") - granted0;
    double waited_us = testdb_stat(db, "session.rate_limiter.waited_us");
    CHECK_MSG(granted > 0 && waited_us > 0, "granted %.0f bytes, waited %.0f us", granted,
              waited_us);
    CHECK_MSG(granted <= (double)rate * (seconds + 0.001) + 256.0 * 1024,
              "%.0f bytes granted in %.3f s at %zu bytes a second", granted, seconds, rate);
    CLOSE(db);
}

/* What a writer waits on at a low rate: not only stage 06's slowdowns.
 * At 4 KiB a second the first 64 KiB memtable's flush takes some 16 s;
 * a writer that fills the next one meanwhile waits for that flush at the
 * memtable switch, with no table in level 0 yet.  kv_stats counts the
 * wait (session.write.stalls, stall_ms), shows the flush waiting
 * (rate_limiter.flushes_waiting) and counts its waits for the limiter
 * (session.rate_limiter.flush_waited_us); setting the rate to 0 lets it
 * go. */
typedef struct pb_writer {
    kv_db *db;
    int n, done;
} pb_writer;

static void *pb_write_all(void *arg)
{
    pb_writer *w = arg;
    char key[16], v[PB_VALUE];
    for (int i = 0; i < w->n; i++) {
        snprintf(key, sizeof key, "k%05d", i);
        pb_value(i, v);
        if (kv_put(w->db, key, strlen(key), v, PB_VALUE) != KV_OK)
            return NULL;
    }
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void a_switch_behind_a_paced_flush_holds_writers(void)
{
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 64 * 1024;
    opt.background_bytes_per_sec = 4096;
    kv_db *db = OPEN(dir, &opt);
    pb_writer w = {db, 2000, 0};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, pb_write_all, &w) == 0);
    /* The first flush waits for the limiter (its bytes take some 16 s),
     * and a writer waits for the flush at the next switch. */
    double stalls = 0, waiting = 0;
    for (int i = 0; i < 1000 && (stalls < 1 || waiting < 1); i++) { /* up to 10 s */
        struct timespec ms = {0, 10 * 1000 * 1000};
        nanosleep(&ms, NULL);
        stalls = testdb_stat(db, "session.write.stalls");
        waiting = testdb_stat(db, "rate_limiter.flushes_waiting");
    }
    CHECK_MSG(stalls >= 1 && waiting == 1 && !__atomic_load_n(&w.done, __ATOMIC_ACQUIRE),
              "2,000 puts at 4 KiB a second: %.0f stalls, %.0f flushes waiting for the limiter, "
              "done %d", stalls, waiting, w.done);
    CHECK_MSG(testdb_stat(db, "flush.count") == 0, "a flush finished: %.0f",
              testdb_stat(db, "flush.count"));
    CHECK_KV(kv_set_background_rate(db, 0), KV_OK);
    pthread_join(th, NULL);
    CHECK(w.done);
    /* The flush the writer waited for has ended: its wait for the
     * limiter is counted, and the writer's at the switch. */
    double flush_waited = testdb_stat(db, "session.rate_limiter.flush_waited_us");
    double stall_ms = testdb_stat(db, "session.write.stall_ms");
    CHECK_MSG(flush_waited > 0 && stall_ms > 0, "the flush waited %.0f us for the limiter, "
              "the writers %.3f ms for the flush", flush_waited, stall_ms);
    for (int i = 0; i < w.n; i++) {
        char key[16], v[PB_VALUE];
        snprintf(key, sizeof key, "k%05d", i);
        pb_value(i, v);
        EXPECT(db, key, strlen(key), v, PB_VALUE);
    }
    CLOSE(db);
}

/* The value of kv_stats-style line "name: N" among r's stats lines. */
typedef struct pb_lines {
    const char *name;
    double value;
} pb_lines;

static void pb_line(void *ctx, const char *text)
{
    pb_lines *l = ctx;
    size_t n = strlen(l->name);
    if (strncmp(text, l->name, n) == 0 && text[n] == ':')
        l->value = strtod(text + n + 1, NULL);
}

static double pb_rate_stat(bg_rate *r, const char *name)
{
    pb_lines l = {name, -1};
    bg_rate_stats(r, pb_line, &l);
    return l.value;
}

/* Through bg_rate.h: a flush's bytes are asked at RL_HIGH, a merge's at
 * RL_LOW; every byte of each is counted. */
static void a_flushs_table_asks_first_a_merges_after(void)
{
    kv_options opt;
    kv_options_init(&opt);
    bg_rate *r = NULL;
    CHECK_KV(bg_rate_new(&opt, &r), KV_OK);
    bg_rate_ask(r, 3000, BG_RATE_FLUSH);
    bg_rate_ask(r, 2000, BG_RATE_MERGE);
    bg_rate_ask(r, 500, BG_RATE_FLUSH);
    double high = pb_rate_stat(r, "session.rate_limiter.flush_granted_bytes");
    double all = pb_rate_stat(r, "session.rate_limiter.granted_bytes");
    CHECK_MSG(high == 3500 && all == 5500, "high %.0f (the flush's: 3500 bytes), all %.0f "
              "(5500)", high, all);
    CHECK_KV(bg_rate_set(r, 4096), KV_OK);
    CHECK_EQ(pb_rate_stat(r, "rate_limiter.bytes_per_second"), 4096);
    bg_rate_free(r);
}

static const harness_test tests[] = {
    HARNESS_TEST(every_table_byte_is_asked_no_faster_than_the_rate),
    HARNESS_TEST(no_limit_waits_nothing_and_still_counts),
    HARNESS_TEST(a_close_does_not_wait_at_the_rate),
    HARNESS_TEST(a_rate_set_while_open_paces_what_follows),
    HARNESS_TEST(a_flushs_table_asks_first_a_merges_after),
    HARNESS_TEST(a_switch_behind_a_paced_flush_holds_writers),
};
const harness_suite paced_build_suite = HARNESS_SUITE("paced_build", tests);
