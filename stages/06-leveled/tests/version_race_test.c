/*
 * version_race_test.c: the reference counts that keep a version's tables
 * alive while the background thread replaces versions and deletes the
 * tables no version holds (version.h, version_set.h VS3).  Built into
 * build/tsan/06-leveled/racetest (stages/06-leveled/stage_version.mk), so
 * ThreadSanitizer watches every reference taken and dropped (make test
 * runs it there; alone: build/tsan/06-leveled/racetest version_race): a table
 * closed or a version freed while a reader still holds it is a data race
 * on its fields there, besides failing the checks below.
 *
 * One writer fills a database with a 4 KiB memtable and tiny levels, so
 * that the background thread flushes a table every few dozen writes (into
 * level 0 once the tables below overlap it), compacts level 0 into level 1
 * every four, and level 1 on into level 2; each installs a new version and
 * deletes the tables the old ones held once no version holds them.
 * Meanwhile:
 *   - a reader takes the current view (lsm_view_get, as kv_get does),
 *     keeps the last four (so it holds versions several installs old),
 *     and checks that every table each one reaches is open (vfile.t) and
 *     its file on disk, when it takes the view and again before dropping it;
 *   - another takes snapshots and iterates over them (an iterator holds
 *     its version through its level iterators), checking that keys ascend
 *     and each value is its key's, and reads at the snapshot.
 * The writing thread itself holds one view from early on until every table
 * of it has left the current version and some other table was deleted,
 * and checks that its tables are still open and on disk; once it drops the
 * view they are deleted.  After kv_close, every version made was freed
 * (version_counts): none leaked, none freed twice.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "io.h"
#include "kv.h"
#include "level_files.h"
#include "level_set.h"

#define RACE_KEYSPACE 200   /* distinct keys */
#define RACE_MIN_WRITES 400
#define RACE_MAX_WRITES 20000
#define RACE_HELD_VIEWS 4

typedef struct race_state {
    kv_db *db;
    atomic_int stop;
    atomic_int failures;
    atomic_flag said;
    char first_failure[256];    /* written once, by the thread that set said */
    atomic_long views_checked, iterations;
} race_state;

static void race_fail(race_state *st, const char *what, uint64_t number)
{
    atomic_fetch_add(&st->failures, 1);
    if (!atomic_flag_test_and_set(&st->said))
        snprintf(st->first_failure, sizeof st->first_failure, "%s (table %06llu)", what,
                 (unsigned long long)number);
}

/* Every table v reaches is open and its file is on disk. */
static void race_check_version(race_state *st, const version *v)
{
    for (int level = 0; level < VERSION_LEVELS; level++) {
        for (size_t i = 0; i < v->nfiles[level]; i++) {
            const vfile *f = v->files[level][i];
            if (atomic_load(&f->refs) < 1)
                race_fail(st, "a held version's table has no reference", f->number);
            if (f->t == NULL)
                race_fail(st, "a held version's table was closed", f->number);
            char *path = level_table_path(&st->db->dir, f->number);
            int exists = 0;
            if (path == NULL || io_exists(path, &exists) != KV_OK || !exists)
                race_fail(st, "a held version's table file was deleted", f->number);
            free(path);
        }
    }
    atomic_fetch_add(&st->views_checked, 1);
}

static void race_key(char *k, size_t n, int i) { snprintf(k, n, "key%04d", i % RACE_KEYSPACE); }

/* The reader of views: as kv_get, plus views held across installs. */
static void *race_viewer(void *arg)
{
    race_state *st = arg;
    lsm_view *held[RACE_HELD_VIEWS] = {0};
    for (unsigned next = 0; !atomic_load(&st->stop); next = (next + 1) % RACE_HELD_VIEWS) {
        lsm_view *v = lsm_view_get(st->db, NULL);
        race_check_version(st, v->tables);
        if (held[next] != NULL) {
            race_check_version(st, held[next]->tables);
            lsm_view_unref(held[next]);
        }
        held[next] = v;
        char k[16];
        race_key(k, sizeof k, (int)next * 37);
        void *val = NULL;
        size_t vlen = 0;
        int rc = kv_get(st->db, k, strlen(k), &val, &vlen);
        if (rc != KV_OK && rc != KV_NOT_FOUND)
            race_fail(st, "kv_get failed", 0);
        kv_free(val);
    }
    for (unsigned i = 0; i < RACE_HELD_VIEWS; i++) {
        if (held[i] != NULL)
            race_check_version(st, held[i]->tables);
        lsm_view_unref(held[i]);
    }
    return NULL;
}

/* A value is "<key>=<write number>". */
static int race_value_is_keys(const void *key, size_t klen, const void *val, size_t vlen)
{
    return val != NULL && vlen > klen && memcmp(val, key, klen) == 0 &&
           ((const char *)val)[klen] == '=';
}

/* The reader of snapshots and iterators. */
static void *race_iterator(void *arg)
{
    race_state *st = arg;
    while (!atomic_load(&st->stop)) {
        const kv_snapshot *snap = NULL;
        kv_iter *it = NULL;
        if (kv_snapshot_new(st->db, &snap) != KV_OK || kv_iter_new_at(st->db, snap, &it) != KV_OK) {
            race_fail(st, "kv_snapshot_new or kv_iter_new_at failed", 0);
            kv_snapshot_free(st->db, snap);
            break;
        }
        char last[16] = ""; /* every key is "keyNNNN" */
        for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
            size_t klen = 0, vlen = 0;
            const void *key = kv_iter_key(it, &klen);
            const void *val = kv_iter_value(it, &vlen);
            if (klen != 7 || memcmp(key, last, klen) <= 0)
                race_fail(st, "the iterator's keys do not ascend", 0);
            if (!race_value_is_keys(key, klen, val, vlen))
                race_fail(st, "the iterator gave a value that is not its key's", 0);
            if (klen == 7)
                memcpy(last, key, klen);
        }
        if (kv_iter_status(it) != KV_OK)
            race_fail(st, "the iterator failed", 0);
        kv_iter_free(it);
        char k[16];
        race_key(k, sizeof k, (int)atomic_load(&st->iterations) * 13);
        void *val = NULL;
        size_t vlen = 0;
        int rc = kv_get_at(st->db, snap, k, strlen(k), &val, &vlen);
        if (rc == KV_OK ? !race_value_is_keys(k, strlen(k), val, vlen) : rc != KV_NOT_FOUND)
            race_fail(st, "kv_get_at gave a wrong answer", 0);
        kv_free(val);
        kv_snapshot_free(st->db, snap);
        atomic_fetch_add(&st->iterations, 1);
    }
    return NULL;
}

static int race_write(kv_db *db, int i)
{
    char k[16], v[160];
    race_key(k, sizeof k, i * 7919);
    int n = snprintf(v, sizeof v, "%s=%d", k, i);
    memset(v + n, 'x', sizeof v - (size_t)n); /* some bulk, so that tables fill */
    return kv_put(db, k, strlen(k), v, sizeof v);
}

/* The numbers of v's tables (malloc'd, *n of them). */
static uint64_t *race_numbers(const version *v, size_t *n)
{
    uint64_t *numbers = malloc((version_total_files(v) + 1) * sizeof *numbers);
    CHECK(numbers != NULL);
    *n = 0;
    for (int level = 0; level < VERSION_LEVELS; level++)
        for (size_t i = 0; i < v->nfiles[level]; i++)
            numbers[(*n)++] = v->files[level][i]->number;
    return numbers;
}

/* 1 if one of the tables is in the set's current version. */
static int race_any_in_current(table_set *ts, const uint64_t *numbers, size_t n)
{
    int found = 0;
    pthread_mutex_lock(&ts->db->write_lock);
    const version *v = ts->current;
    for (int level = 0; level < VERSION_LEVELS; level++)
        for (size_t i = 0; i < v->nfiles[level]; i++)
            for (size_t j = 0; j < n; j++)
                found |= v->files[level][i]->number == numbers[j];
    pthread_mutex_unlock(&ts->db->write_lock);
    return found;
}

/* 1 if one of the tables' files is on disk. */
static int race_any_on_disk(table_set *ts, const uint64_t *numbers, size_t n)
{
    int any = 0;
    for (size_t j = 0; j < n; j++) {
        char *path = level_table_path(&ts->db->dir, numbers[j]);
        int exists = 0;
        CHECK(path != NULL);
        CHECK_KV(io_exists(path, &exists), KV_OK);
        any |= exists;
        free(path);
    }
    return any;
}

static void tables_stay_open_while_any_version_holds_them(void)
{
    uint64_t made0, freed0, made, freed;
    version_counts(&made0, &freed0);
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 4096;
    opt.table_bytes = 4096;
    opt.l1_bytes = 8192;
    opt.level_ratio = 2;
    opt.compression = KV_COMPRESSION_NONE;
    race_state st = {.said = ATOMIC_FLAG_INIT};
    const char *dir = harness_join(harness_tmpdir(), "db");
    CHECK_KV(kv_open(dir, &opt, &st.db), KV_OK);
    table_set *ts = st.db->tables;
    pthread_t viewer, iterator;
    CHECK(pthread_create(&viewer, NULL, race_viewer, &st) == 0);
    CHECK(pthread_create(&iterator, NULL, race_iterator, &st) == 0);

    /* Write until level 0 has a table (the first flushes go deeper), and
     * hold the version. */
    int i = 0;
    while (__atomic_load_n(&ts->l0_files, __ATOMIC_ACQUIRE) == 0 && i < RACE_MAX_WRITES)
        CHECK_KV(race_write(st.db, i++), KV_OK);
    lsm_view *first = lsm_view_get(st.db, NULL);
    const version *v0 = first->tables;
    size_t n0 = 0;
    uint64_t *numbers0 = race_numbers(v0, &n0);
    CHECK(n0 > 0);
    /* Then until none of its tables is current and some other was deleted
     * (after a compaction, by the background thread, as readers read). */
    while ((race_any_in_current(ts, numbers0, n0) ||
            __atomic_load_n(&ts->files_deleted, __ATOMIC_RELAXED) == 0) &&
           i < RACE_MAX_WRITES)
        CHECK_KV(race_write(st.db, i++), KV_OK);
    CHECK(!race_any_in_current(ts, numbers0, n0));
    CHECK(__atomic_load_n(&ts->files_deleted, __ATOMIC_RELAXED) > 0);
    race_check_version(&st, v0);
    /* More, with the readers still going: RACE_MIN_WRITES in all, and
     * until level 1 has gone into level 2 once. */
    while ((i < RACE_MIN_WRITES ||
            __atomic_load_n(&ts->levels[2].compactions, __ATOMIC_RELAXED) +
                    __atomic_load_n(&ts->levels[2].moves, __ATOMIC_RELAXED) == 0) &&
           i < RACE_MAX_WRITES)
        CHECK_KV(race_write(st.db, i++), KV_OK);
    atomic_store(&st.stop, 1);
    CHECK(pthread_join(viewer, NULL) == 0);
    CHECK(pthread_join(iterator, NULL) == 0);
    CHECK_MSG(atomic_load(&st.failures) == 0, "%d failures; the first: %s",
              atomic_load(&st.failures), st.first_failure);
    race_check_version(&st, v0);
    CHECK_MSG(atomic_load(&st.failures) == 0, "the held view: %s", st.first_failure);
    CHECK(i < RACE_MAX_WRITES);
    CHECK(atomic_load(&st.iterations) > 0);

    /* Dropped, its tables are deleted after the background thread's next
     * job (each flush is one). */
    lsm_view_unref(first);
    while (race_any_on_disk(ts, numbers0, n0) && i < RACE_MAX_WRITES)
        CHECK_KV(race_write(st.db, i++), KV_OK);
    CHECK(i < RACE_MAX_WRITES);
    free(numbers0);
    CHECK_KV(kv_close(st.db), KV_OK);
    version_counts(&made, &freed);
    CHECK(made - made0 > 10);
    CHECK_EQ(freed - freed0, made - made0);
}

static const harness_test tests[] = {
    HARNESS_TEST(tables_stay_open_while_any_version_holds_them),
};
/* The stage's own threaded suite, which tests/race/main.c looks for. */
const harness_suite stage_race_suite = HARNESS_SUITE("version_race", tests);
