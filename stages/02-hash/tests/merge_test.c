/*
 * merge_test.c: kv_compact of stage 02 (merge.c): space reclaimed, deletes
 * dropped, hints written and used, iterators and readers across a merge,
 * and a failure at every I/O call of a merge (persistent, as a crash leaves
 * the disk; and once, after which the database must go on working).
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "hint.h"
#include "io_fault.h"
#include "segment.h"
#include "stage_util.h"

/* Values of 300 bytes: big enough that a merge writes hint files (a hint of
 * 16-byte keys is then about 1/18 of its segment; see MERGE_HINT_SHARE). */
#define VLEN 300

/* What each key should hold: round >= 0, or -1 = absent. */
typedef struct model {
    int round[512];
    unsigned n;
} model;

static void model_put(kv_db *db, model *m, unsigned i, int round)
{
    char key[17], val[VLEN];
    stage_key(key, i);
    stage_value(val, VLEN, i, (unsigned)round);
    PUT(db, key, 16, val, VLEN);
    m->round[i] = round;
    if (i >= m->n)
        m->n = i + 1;
}

static void model_del(kv_db *db, model *m, unsigned i)
{
    char key[17];
    stage_key(key, i);
    DEL(db, key, 16);
    m->round[i] = -1;
}

static void model_check(kv_db *db, const model *m)
{
    char key[17], val[VLEN];
    for (unsigned i = 0; i < m->n; i++) {
        stage_key(key, i);
        if (m->round[i] < 0) {
            ABSENT(db, key, 16);
        } else {
            stage_value(val, VLEN, i, (unsigned)m->round[i]);
            EXPECT(db, key, 16, val, VLEN);
        }
    }
}

static void check_dir(const char *dir)
{
    testdb_lines lines = {0};
    int rc = kv_check(dir, testdb_lines_add, &lines);
    CHECK_MSG(rc == KV_OK, "kv_check: %s\n%s", kv_strerror(rc), lines.text ? lines.text : "");
    testdb_lines_free(&lines);
}

/* The yardstick for a merge (docs/02-hash.md, "Disk use after merging"):
 * every key overwritten ten times, then merged; disk use must come within
 * 1.2x of the live keys and values. */
static void reclaim_case(unsigned keys, size_t vlen, int want_hints)
{
    enum { ROUNDS = 10 };
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(64 * 1024);
    kv_db *db = OPEN(dir, &opt);
    char key[17];
    char *val = malloc(vlen);
    CHECK(val != NULL);
    for (unsigned r = 0; r < ROUNDS; r++) {
        for (unsigned i = 0; i < keys; i++) {
            stage_key(key, i);
            stage_value(val, vlen, i, r);
            PUT(db, key, 16, val, vlen);
        }
    }
    /* Every byte of the segments is a record, live or dead, a seal or a
     * file header (which count as live). */
    CHECK_EQ(testdb_dir_bytes(dir), stage_stat(db, "segments.bytes"));
    CHECK_EQ(stage_stat(db, "live.bytes") + stage_stat(db, "dead.bytes"),
             testdb_dir_bytes(dir));
    /* What the merge must leave: the live records, packed, with a header
     * and a seal per output (in the stage's record format). */
    const uint64_t live = stage_merged_bytes(keys, 16, vlen, 64 * 1024, NULL),
                   live_kv = keys * (16 + vlen);
    CHECK_KV(kv_compact(db), KV_OK);
    uint64_t after = testdb_dir_bytes(dir);
    CHECK_MSG(after * 10 <= live_kv * 12, "%llu bytes on disk after the merge for %llu bytes "
              "of live keys and values", (unsigned long long)after,
              (unsigned long long)live_kv);
    CHECK_EQ(stage_stat(db, "dead.bytes"), 0);
    CHECK_EQ(stage_stat(db, "session.merges"), 1);
    /* The outputs, and the new active segment's header. */
    CHECK_EQ(stage_suffix_bytes(dir, ".log"), live + SEGMENT_START);
    CHECK_EQ(stage_stat(db, "live.bytes"), live + SEGMENT_START);
    size_t hints = stage_count_files(dir, ".hint");
    CHECK_EQ(hints, want_hints ? stage_count_files(dir, ".log") - 1 : 0);
    /* Every output's header, seal and records, and the hints; not the new
     * active segment's header, which roll-over wrote. */
    CHECK_EQ(stage_stat(db, "session.merge_bytes_written"),
             live + stage_suffix_bytes(dir, ".hint"));
    for (unsigned i = 0; i < keys; i++) {
        stage_key(key, i);
        stage_value(val, vlen, i, ROUNDS - 1);
        EXPECT(db, key, 16, val, vlen);
    }
    /* Nothing left to reclaim: a second merge writes nothing. */
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_EQ(testdb_dir_bytes(dir), after);
    CHECK_EQ(stage_stat(db, "session.merges"), 1);
    CLOSE(db);

    db = OPEN(dir, &opt);
    CHECK_EQ(stage_stat(db, "open.segments_from_hint"), hints);
    CHECK_EQ(stage_stat(db, "live.keys"), keys);
    for (unsigned i = 0; i < keys; i++) {
        stage_key(key, i);
        stage_value(val, vlen, i, ROUNDS - 1);
        EXPECT(db, key, 16, val, vlen);
    }
    CLOSE(db);
    check_dir(dir);
    free(val);
}

/* 16-byte keys and 100-byte values, as in the benchmarks: no hints (too
 * small to pay), so disk use is the live records, 126/116 of the live data. */
static void merge_reclaims_overwrites_of_small_values(void) { reclaim_case(2000, 100, 0); }

/* 300-byte values: the merge writes hints, and still stays within 1.2x. */
static void merge_reclaims_overwrites_and_writes_hints(void) { reclaim_case(1000, 300, 1); }

static void merge_drops_deleted_keys_and_their_tombstones(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(4096);
    kv_db *db = OPEN(dir, &opt);
    model m = {0};
    for (unsigned i = 0; i < 300; i++)
        model_put(db, &m, i, 0);
    for (unsigned i = 1; i < 300; i += 2)
        model_del(db, &m, i);
    CHECK_KV(kv_compact(db), KV_OK);
    model_check(db, &m);
    CHECK_EQ(stage_suffix_bytes(dir, ".log"),
             stage_merged_bytes(150, 16, VLEN, 4096, NULL) + SEGMENT_START);
    CLOSE(db);
    testdb_lines lines = {0};
    CHECK_KV(kv_dump(dir, testdb_lines_add, &lines), KV_OK);
    CHECK(strstr(lines.text, " del ") == NULL);
    CHECK(strstr(lines.text, "hint entries") != NULL);
    CHECK(strstr(lines.text, "(record_offset=16)") != NULL); /* after the header */
    testdb_lines_free(&lines);
    db = OPEN(dir, &opt);
    model_check(db, &m);
    CLOSE(db);
    check_dir(dir);
}

static void merge_with_nothing_to_reclaim_changes_no_file(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(4096);
    kv_db *db = OPEN(dir, &opt);
    CHECK_KV(kv_compact(db), KV_OK); /* empty */
    model m = {0};
    for (unsigned i = 0; i < 100; i++)
        model_put(db, &m, i, 0);
    size_t logs = stage_count_files(dir, ".log");
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_EQ(stage_count_files(dir, ".log"), logs);
    CHECK_EQ(stage_count_files(dir, ".hint"), 0);
    CHECK_EQ(stage_stat(db, "session.merges"), 0);
    CLOSE(db);
}

static void merge_of_only_deleted_keys_leaves_an_empty_database(void)
{
    const char *dir = harness_tmpdir();
    kv_db *db = OPEN(dir, NULL);
    PUT(db, S("a"), S("1"));
    DEL(db, S("a"));
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_EQ(stage_count_files(dir, ".log"), 1);
    CHECK_EQ(stage_suffix_bytes(dir, ".log"), SEGMENT_START); /* just a header */
    CHECK_EQ(stage_count_files(dir, ".hint"), 0);
    ABSENT(db, S("a"));
    PUT(db, S("b"), S("2"));
    CLOSE(db);
    db = OPEN(dir, NULL);
    ABSENT(db, S("a"));
    EXPECT(db, S("b"), S("2"));
    CLOSE(db);
}

static void merge_outputs_roll_at_the_segment_limit(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(4096);
    kv_db *db = OPEN(dir, &opt);
    model m = {0};
    for (unsigned r = 0; r < 2; r++)
        for (unsigned i = 0; i < 300; i++)
            model_put(db, &m, i, (int)r);
    CHECK_KV(kv_compact(db), KV_OK);
    size_t logs = stage_count_files(dir, ".log");
    unsigned outputs = 0; /* stage 02: 12 records of 326 bytes fit in 4096 */
    stage_merged_bytes(300, 16, VLEN, 4096, &outputs);
    CHECK_EQ(logs - 1, outputs);
    for (size_t i = 0; i + 1 < logs; i++)
        CHECK(stage_file_size(stage_nth_file(dir, ".log", i)) <= 4096);
    CHECK_EQ(stage_count_files(dir, ".hint"), logs - 1);
    model_check(db, &m);
    /* A second round of overwrites and a merge of the merged segments. */
    for (unsigned i = 0; i < 300; i += 3)
        model_put(db, &m, i, 2);
    CHECK_KV(kv_compact(db), KV_OK);
    model_check(db, &m);
    CHECK_EQ(stage_suffix_bytes(dir, ".log"),
             stage_merged_bytes(300, 16, VLEN, 4096, NULL) + SEGMENT_START);
    CLOSE(db);
    db = OPEN(dir, &opt);
    model_check(db, &m);
    CLOSE(db);
    check_dir(dir);
}

static void iterator_keeps_its_snapshot_across_a_merge(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(2048);
    kv_db *db = OPEN(dir, &opt);
    model m = {0};
    for (unsigned i = 0; i < 200; i++)
        model_put(db, &m, i, 0);
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    const char *first = stage_nth_file(dir, ".log", 0);
    for (unsigned i = 0; i < 200; i++) {
        if (i % 4 == 0)
            model_del(db, &m, i);
        else
            model_put(db, &m, i, 1);
    }
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK(stage_file_size(first) < 0); /* unlinked, but the iterator holds it open */
    int fds_with_iter = stage_open_fds();
    model_check(db, &m);

    char key[17], val[VLEN];
    unsigned i = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it), i++) {
        size_t kl = 0, vl = 0;
        const void *k = kv_iter_key(it, &kl);
        const void *v = kv_iter_value(it, &vl);
        stage_key(key, i);
        stage_value(val, VLEN, i, 0);
        CHECK_MEM(k, kl, key, 16);
        CHECK_MSG(v != NULL, "kv_iter_value: %s", kv_errmsg());
        CHECK_MEM(v, vl, val, VLEN);
    }
    CHECK_KV(kv_iter_status(it), KV_OK);
    CHECK_EQ(i, 200);
    kv_iter_free(it);
    CHECK_MSG(stage_open_fds() < fds_with_iter, "freeing the iterator closed no file");

    /* A new iterator sees the merged database. */
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    i = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it))
        i++;
    CHECK_EQ(i, 150);
    kv_iter_free(it);
    CLOSE(db);
}

/* Readers and a writer run while the main thread merges. */
typedef struct race {
    kv_db *db;
    int stop;
    int writer;
    unsigned keys;
    unsigned merges;    /* merges done so far (roller_run paces itself by it) */
    int bad;            /* first failure seen, as a status, or 1 = wrong value */
    char what[200];
} race;

static void *race_run(void *arg)
{
    race *r = arg;
    char key[17], v0[VLEN], v1[VLEN];
    for (unsigned n = 0; !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE) || n < r->keys; n++) {
        unsigned i = n % r->keys;
        stage_key(key, i);
        if (r->writer) {
            if (n >= r->keys)
                break;
            stage_value(v1, VLEN, i, 1);
            int rc = kv_put(r->db, key, 16, v1, VLEN);
            if (rc != KV_OK && r->bad == 0) {
                r->bad = rc;
                snprintf(r->what, sizeof r->what, "kv_put: %s", kv_errmsg());
            }
            continue;
        }
        stage_value(v0, VLEN, i, 0);
        stage_value(v1, VLEN, i, 1);
        void *v = NULL;
        size_t vl = 0;
        int rc = kv_get(r->db, key, 16, &v, &vl);
        int ok = rc == KV_OK && vl == VLEN &&
                 (memcmp(v, v0, VLEN) == 0 || memcmp(v, v1, VLEN) == 0);
        if (rc == KV_OK)
            kv_free(v);
        if (!ok && r->bad == 0) {
            r->bad = rc != KV_OK ? rc : 1;
            snprintf(r->what, sizeof r->what, "kv_get of key %u: %s: %s", i, kv_strerror(rc),
                     rc != KV_OK ? kv_errmsg() : "wrong value");
        }
    }
    return NULL;
}

static void gets_and_puts_go_on_during_merges(void)
{
    enum { KEYS = 400, READERS = 2 };
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(8192);
    kv_db *db = OPEN(dir, &opt);
    model m = {0};
    for (unsigned r = 0; r < 2; r++)
        for (unsigned i = 0; i < KEYS; i++)
            model_put(db, &m, i, 0);
    race races[READERS + 1];
    pthread_t threads[READERS + 1];
    for (int t = 0; t <= READERS; t++) {
        races[t] = (race){.db = db, .writer = t == READERS, .keys = KEYS};
        CHECK(pthread_create(&threads[t], NULL, race_run, &races[t]) == 0);
    }
    /* A failed merge is checked once the threads are stopped: a check
     * that fails leaves the test, and the threads would run on over its
     * stack. */
    int merged = KV_OK;
    for (int k = 0; k < 5 && merged == KV_OK; k++)
        merged = kv_compact(db);
    for (int t = 0; t <= READERS; t++)
        __atomic_store_n(&races[t].stop, 1, __ATOMIC_RELEASE);
    for (int t = 0; t <= READERS; t++)
        pthread_join(threads[t], NULL);
    CHECK_KV(merged, KV_OK);
    for (int t = 0; t <= READERS; t++)
        CHECK_MSG(races[t].bad == 0, "thread %d: %s", t, races[t].what);
    for (unsigned i = 0; i < KEYS; i++)
        m.round[i] = 1;
    model_check(db, &m);
    CHECK_KV(kv_compact(db), KV_OK);
    CLOSE(db);
    db = OPEN(dir, &opt);
    model_check(db, &m);
    CLOSE(db);
    check_dir(dir);
}

/* A writer whose every put starts a new segment, while merges commit: the
 * segment table grows under both (a roll-over inserts the new active
 * segment, a merge's commit its outputs), so each must make room for its
 * insertions in the same hold of the index lock as the insertions, or one
 * uses up the room the other counted on.  The writer keeps at most
 * ROLLER_AHEAD puts ahead of the merges: each put is a segment, an open
 * file until a merge takes it, and on a loaded machine an unpaced writer
 * outran the merges by twenty thousand of them (EMFILE). */
enum { ROLLER_AHEAD = 256 };
static void *roller_run(void *arg)
{
    race *r = arg;
    char key[17], val[VLEN];
    for (unsigned n = 0; !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE) || n < r->keys; n++) {
        while (n >= (__atomic_load_n(&r->merges, __ATOMIC_ACQUIRE) + 1) * ROLLER_AHEAD &&
               !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
            sched_yield();
        stage_key(key, n % r->keys);
        stage_value(val, VLEN, n % r->keys, 1);
        int rc = kv_put(r->db, key, 16, val, VLEN);
        if (rc != KV_OK) {
            r->bad = rc;
            snprintf(r->what, sizeof r->what, "kv_put: %s", kv_errmsg());
            break;
        }
    }
    return NULL;
}

static void merges_commit_while_every_write_rolls_over(void)
{
    enum { KEYS = 12, MERGES = 100, READERS = 2 };
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(1); /* one record per segment */
    kv_db *db = OPEN(dir, &opt);
    model m = {0};
    for (unsigned i = 0; i < KEYS; i++)
        model_put(db, &m, i, 0);
    /* Readers hold the index lock shared now and then, so that a merge's
     * commit and a roll-over often wait for it together. */
    race races[READERS + 1];
    pthread_t threads[READERS + 1];
    for (int t = 0; t <= READERS; t++) {
        races[t] = (race){.db = db, .writer = t == READERS, .keys = KEYS};
        CHECK(pthread_create(&threads[t], NULL, t == READERS ? roller_run : race_run,
                             &races[t]) == 0);
    }
    int merged = KV_OK; /* checked once the threads are stopped, as above */
    for (int k = 0; k < MERGES && merged == KV_OK; k++) {
        merged = kv_compact(db);
        __atomic_store_n(&races[READERS].merges, (unsigned)k + 1, __ATOMIC_RELEASE);
    }
    for (int t = 0; t <= READERS; t++)
        __atomic_store_n(&races[t].stop, 1, __ATOMIC_RELEASE);
    for (int t = 0; t <= READERS; t++)
        pthread_join(threads[t], NULL);
    CHECK_KV(merged, KV_OK);
    for (int t = 0; t <= READERS; t++)
        CHECK_MSG(races[t].bad == 0, "thread %d: %s", t, races[t].what);
    for (unsigned i = 0; i < KEYS; i++)
        m.round[i] = 1;
    model_check(db, &m);
    CLOSE(db);
    db = OPEN(dir, &opt);
    model_check(db, &m);
    CLOSE(db);
}

static void hints_and_a_full_scan_give_the_same_index(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(4096);
    kv_db *db = OPEN(dir, &opt);
    model m = {0};
    for (unsigned r = 0; r < 3; r++)
        for (unsigned i = 0; i < 200; i++)
            model_put(db, &m, i, (int)r);
    CHECK_KV(kv_compact(db), KV_OK);
    model_put(db, &m, 5, 7);
    model_del(db, &m, 6);
    CLOSE(db);
    db = OPEN(dir, &opt);
    CHECK(stage_stat(db, "open.segments_from_hint") >= 1);
    double bytes_with_hints = stage_stat(db, "open.bytes_read");
    model_check(db, &m);
    CLOSE(db);
    while (stage_count_files(dir, ".hint") > 0)
        CHECK(remove(stage_nth_file(dir, ".hint", 0)) == 0);
    db = OPEN(dir, &opt);
    CHECK_EQ(stage_stat(db, "open.segments_from_hint"), 0);
    CHECK(stage_stat(db, "open.bytes_read") > bytes_with_hints);
    model_check(db, &m);
    CLOSE(db);
}

static void damaged_hint_is_reported_then_ignored(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(4096);
    kv_db *db = OPEN(dir, &opt);
    model m = {0};
    for (unsigned r = 0; r < 2; r++)
        for (unsigned i = 0; i < 100; i++)
            model_put(db, &m, i, (int)r);
    CHECK_KV(kv_compact(db), KV_OK);
    CLOSE(db);
    size_t hints = stage_count_files(dir, ".hint");
    const char *hint = stage_nth_file(dir, ".hint", 0);
    stage_flip_byte(hint, 30);

    testdb_lines lines = {0};
    CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_ERR_CORRUPT);
    CHECK(strstr(lines.text, ".hint: DAMAGED") != NULL);
    CHECK(strstr(lines.text, "checksum mismatch") != NULL);
    testdb_lines_free(&lines);
    CHECK_KV(kv_dump(dir, testdb_lines_add, &lines), KV_ERR_CORRUPT);
    CHECK(strstr(lines.text, "cannot dump") != NULL);
    testdb_lines_free(&lines);

    db = OPEN(dir, &opt);
    CHECK_EQ(stage_stat(db, "open.hints_rejected"), 1);
    CHECK_EQ(stage_stat(db, "open.segments_from_hint"), hints - 1);
    model_check(db, &m);
    CLOSE(db);
    CHECK_EQ(stage_count_files(dir, ".hint"), hints - 1); /* the bad one is gone */
    check_dir(dir);
}

/* A hint is only a shortcut: one that cannot be read (here a directory
 * stands in its place), or that is larger than its segment could need (a
 * 10 GB sparse file, which must not be read into memory), costs a scan of
 * its segment, never the open. */
static void hint_that_cannot_be_used_costs_a_scan_not_the_open(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(4096);
    kv_db *db = OPEN(dir, &opt);
    model m = {0};
    for (unsigned r = 0; r < 2; r++)
        for (unsigned i = 0; i < 60; i++)
            model_put(db, &m, i, (int)r);
    CHECK_KV(kv_compact(db), KV_OK);
    CLOSE(db);
    size_t hints = stage_count_files(dir, ".hint");
    CHECK(hints >= 2);
    const char *first = stage_nth_file(dir, ".hint", 0);
    const char *second = stage_nth_file(dir, ".hint", 1);
    CHECK(unlink(first) == 0 && mkdir(first, 0755) == 0);
    CHECK(truncate(second, 10ll << 30) == 0);
    kv_options ro = opt;
    ro.read_only = 1; /* so the bad hints stay for the check below */
    db = OPEN(dir, &ro);
    CHECK_EQ(stage_stat(db, "open.hints_rejected"), 2);
    CHECK_EQ(stage_stat(db, "open.segments_from_hint"), hints - 2);
    model_check(db, &m);
    CLOSE(db);
    CHECK(rmdir(first) == 0);
}

/* A hint with a valid checksum that names the wrong key is caught by kv
 * check, which reads every record a hint points at. */
static void check_compares_each_hint_entry_with_its_record(void)
{
    const char *dir = harness_tmpdir();
    kv_db *db = OPEN(dir, NULL);
    static char big[1000];
    PUT(db, S("key"), S("1"));
    PUT(db, "key", 3, big, sizeof big);
    CHECK_KV(kv_compact(db), KV_OK);
    CLOSE(db);
    const char *hint = stage_nth_file(dir, ".hint", 0);
    const char *log = stage_nth_file(dir, ".log", 0);
    hint_builder b;
    CHECK_KV(hint_builder_init(&b), KV_OK);
    /* One record and the seal, which a hint counts with it: the whole file
     * after the segment's header. */
    uint64_t size = (uint64_t)stage_file_size(log);
    CHECK_KV(hint_add(&b, "kex", 3, (uint32_t)(size - SEGMENT_START), NULL), KV_OK);
    uint32_t id = (uint32_t)strtoul(strrchr(log, '/') + 1, NULL, 10);
    CHECK_KV(hint_write(hint, id, size, &b), KV_OK);
    hint_builder_free(&b);
    testdb_lines lines = {0};
    CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(lines.text, "not a put of the key the hint names") != NULL, "%s",
              lines.text);
    testdb_lines_free(&lines);
    stage_write_file(hint, "short", 5);
    CHECK_KV(kv_dump(dir, testdb_lines_add, &lines), KV_ERR_CORRUPT);
    testdb_lines_free(&lines);
}

/* --- a failure at every I/O call of a merge ------------------------------ */

/* Fills a fresh database: several segments, overwrites, deletes. */
static void crash_setup(const char *dir, const kv_options *opt, model *m)
{
    memset(m, 0, sizeof *m);
    kv_db *db = OPEN(dir, opt);
    for (unsigned i = 0; i < 40; i++)
        model_put(db, m, i, 0);
    for (unsigned i = 0; i < 40; i += 2)
        model_put(db, m, i, 1);
    for (unsigned i = 0; i < 40; i += 5)
        model_del(db, m, i);
    CLOSE(db);
}

/* Opens with the fault backend counting (so every file of the database is
 * under it), then arms the plan: call 1 is kv_compact's first I/O call. */
static kv_db *crash_open_armed(const char *dir, const kv_options *opt, const io_fault_plan *p)
{
    io_fault_plan count = {.kinds = IO_FAULT_ALL};
    io_fault_install(&count);
    kv_db *db = OPEN(dir, opt);
    io_fault_install(p);
    return db;
}

/* After the merge failed at call N: reopen, check, merge again, check. */
static void crash_verify(const char *dir, const kv_options *opt, const model *m)
{
    kv_db *db = OPEN(dir, opt);
    model_check(db, m);
    CHECK_KV(kv_compact(db), KV_OK);
    model_check(db, m);
    CLOSE(db);
    check_dir(dir);
    db = OPEN(dir, opt);
    model_check(db, m);
    CLOSE(db);
}

/* Persistent failure from call N on: the disk is left as a crash at that
 * point would leave it (nothing after the failure reaches it). */
static void merge_failing_at_every_call_keeps_acknowledged_writes(void)
{
    kv_options opt = stage_options(1024);
    const char *dir = harness_tmpdir();
    long n;
    for (n = 1; n < 500; n++) {
        harness_context("persistent failure from I/O call %ld of kv_compact", n);
        stage_empty_dir(dir);
        model m;
        crash_setup(dir, &opt, &m);
        io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = n, .persistent = 1};
        kv_db *db = crash_open_armed(dir, &opt, &plan);
        int rc = kv_compact(db);
        long failures = io_fault_failures();
        /* With the disk failing from then on (from the merge's last call
         * on, even), a kv_close that writes or syncs (stage 03 syncs the
         * directory) says so; what survives is checked below. */
        int closed = kv_close(db);
        CHECK_MSG(closed == KV_OK || (io_fault_failures() > 0 && closed == KV_ERR_IO),
                  "kv_close: %s: %s", kv_strerror(closed), kv_errmsg());
        io_fault_uninstall();
        if (failures == 0) {
            CHECK_KV(rc, KV_OK);
            crash_verify(dir, &opt, &m);
            break;
        }
        CHECK_MSG(rc < 0, "kv_compact returned %d though call %ld failed", rc, n);
        CHECK(kv_errmsg()[0] != '\0');
        crash_verify(dir, &opt, &m);
    }
    CHECK_MSG(n > 20 && n < 500, "the merge made %ld I/O calls", n - 1);
}

/* One failure at call N: the database must go on in the same session, and
 * the next merge must finish the job (removing what this one left). */
static void merge_failing_once_at_every_call_recovers_in_session(void)
{
    kv_options opt = stage_options(1024);
    const char *dir = harness_tmpdir();
    long n;
    for (n = 1; n < 500; n++) {
        harness_context("one failure at I/O call %ld of kv_compact", n);
        stage_empty_dir(dir);
        model m;
        crash_setup(dir, &opt, &m);
        io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = n};
        kv_db *db = crash_open_armed(dir, &opt, &plan);
        int rc = kv_compact(db);
        long failures = io_fault_failures();
        io_fault_plan disarmed = {.kinds = IO_FAULT_ALL};
        io_fault_install(&disarmed);
        if (failures > 0)
            CHECK_MSG(rc < 0, "kv_compact returned %d though call %ld failed", rc, n);
        model_check(db, &m);
        if (stage_stat(db, "write.failed") == 1) {
            /* The fsync that closes a segment failed: that is final until
             * a reopen (hash_db.h, invariant 4), for writes and merges. */
            CHECK_KV(kv_compact(db), KV_ERR_IO);
            CHECK_MSG(strstr(kv_errmsg(), "reopen") != NULL, "%s", kv_errmsg());
            CLOSE(db);
            db = OPEN(dir, &opt);
            model_check(db, &m);
        }
        model_put(db, &m, 40, 3);
        CHECK_KV(kv_compact(db), KV_OK);
        model_check(db, &m);
        CLOSE(db);
        io_fault_uninstall();
        CHECK_EQ(stage_count_files(dir, ".tmp"), 0);
        db = OPEN(dir, &opt);
        model_check(db, &m);
        CHECK_EQ(stage_stat(db, "open.leftovers_removed"), 0);
        CLOSE(db);
        check_dir(dir);
        if (failures == 0)
            break;
    }
    CHECK(n > 20 && n < 500);
}

static const harness_test merge_tests[] = {
    HARNESS_TEST(merge_reclaims_overwrites_of_small_values),
    HARNESS_TEST(merge_reclaims_overwrites_and_writes_hints),
    HARNESS_TEST(merge_drops_deleted_keys_and_their_tombstones),
    HARNESS_TEST(merge_with_nothing_to_reclaim_changes_no_file),
    HARNESS_TEST(merge_of_only_deleted_keys_leaves_an_empty_database),
    HARNESS_TEST(merge_outputs_roll_at_the_segment_limit),
    HARNESS_TEST(iterator_keeps_its_snapshot_across_a_merge),
    HARNESS_TEST(gets_and_puts_go_on_during_merges),
    HARNESS_TEST(merges_commit_while_every_write_rolls_over),
    HARNESS_TEST(hints_and_a_full_scan_give_the_same_index),
    HARNESS_TEST(damaged_hint_is_reported_then_ignored),
    HARNESS_TEST(hint_that_cannot_be_used_costs_a_scan_not_the_open),
    HARNESS_TEST(check_compares_each_hint_entry_with_its_record),
    HARNESS_TEST(merge_failing_at_every_call_keeps_acknowledged_writes),
    HARNESS_TEST(merge_failing_once_at_every_call_recovers_in_session),
};
const harness_suite merge_suite = HARNESS_SUITE("merge", merge_tests);
