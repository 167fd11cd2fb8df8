/*
 * lsm_version_race.c: the references that keep a version's tables alive
 * while the background thread replaces versions and the table set removes
 * the tables no version holds (table_set.h; stage 06's level_apply.h
 * VS3).  Built into build/tsan/S/racetest by the stages whose stage.mk
 * links it (04 and 06), so ThreadSanitizer watches every reference taken
 * and dropped (make test runs it there; alone: build/tsan/06-leveled/racetest
 * version_race): a table closed or a version freed while a reader still
 * holds it is a data race on its fields there, besides failing the checks
 * below.  It knows the engine (lsm_db.h) and the table set only through
 * table_set.h, so it runs on either set.
 *
 * One writer fills a database with a 4 KiB memtable and tiny levels, so
 * that the background thread flushes a table every few dozen writes and
 * (stage 06) compacts them level into level; every few hundred writes it
 * calls kv_compact too, which merges every table (stage 04's only way).
 * Each installs a new version, and the tables the old ones held are
 * removed once no version holds them.  Meanwhile:
 *   - a reader takes the current view (lsm_view_get, as kv_get does),
 *     keeps the last four (so it holds versions several installs old),
 *     and checks that every table each one holds has its file on disk (the
 *     set's kv_inspect lines name them), when it takes the view and again
 *     before dropping it;
 *   - another takes snapshots and iterates over them (an iterator holds
 *     its view), checking that keys ascend and each value is its key's,
 *     and reads at the snapshot.
 * The writing thread itself holds one view from early on until none of its
 * tables is in the current version and some other table was removed, and
 * checks that its tables are still on disk; once it drops the view they
 * go.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "io.h"
#include "kv.h"
#include "lsm_db.h"

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

static void race_fail(race_state *st, const char *what, const char *table)
{
    atomic_fetch_add(&st->failures, 1);
    if (!atomic_flag_test_and_set(&st->said))
        snprintf(st->first_failure, sizeof st->first_failure, "%s (%s)", what, table);
}

/* The names of the tables of v, from the set's kv_inspect lines
 * ("table file=NAME ..."). */
typedef struct race_names {
    char (*name)[64];
    size_t n, cap;
} race_names;

static void race_collect(void *ctx, const char *line)
{
    race_names *r = ctx;
    if (strncmp(line, "table file=", 11) != 0)
        return;
    if (r->n == r->cap) {
        size_t cap = 2 * r->cap + 16;
        char (*grown)[64] = realloc(r->name, cap * sizeof *grown);
        if (grown == NULL)
            return;
        r->name = grown;
        r->cap = cap;
    }
    const char *p = line + 11, *end = strchr(p, ' ');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len >= 64)
        len = 63;
    memcpy(r->name[r->n], p, len);
    r->name[r->n][len] = 0;
    r->n++;
}

static race_names race_names_of(kv_db *db, const table_set_version *v)
{
    race_names r = {0};
    table_describe d = {.inspect = 1,
                        .levels = (const uint64_t (*)[TABLE_LEVEL_COUNTERS])db->count.stats.level,
                        .lock = &db->write_lock};
    CHECK_KV(table_set_describe(db->tables.set, v, &d, race_collect, &r), KV_OK);
    return r;
}

static int race_on_disk(kv_db *db, const char *name)
{
    char *path = db_dir_file(&db->dir, name);
    int exists = 0;
    int rc = path != NULL ? io_exists(path, &exists) : KV_ERR_NOMEM;
    free(path);
    return rc == KV_OK && exists;
}

/* Every table v holds has its file on disk. */
static void race_check_version(race_state *st, const table_set_version *v)
{
    race_names r = race_names_of(st->db, v);
    for (size_t i = 0; i < r.n; i++)
        if (!race_on_disk(st->db, r.name[i]))
            race_fail(st, "a held version's table file was removed", r.name[i]);
    free(r.name);
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
            race_fail(st, "kv_get failed", "");
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
            race_fail(st, "kv_snapshot_new or kv_iter_new_at failed", "");
            kv_snapshot_free(st->db, snap);
            break;
        }
        char last[16] = ""; /* every key is "keyNNNN" */
        for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
            size_t klen = 0, vlen = 0;
            const void *key = kv_iter_key(it, &klen);
            const void *val = kv_iter_value(it, &vlen);
            if (klen != 7 || memcmp(key, last, klen) <= 0)
                race_fail(st, "the iterator's keys do not ascend", "");
            if (!race_value_is_keys(key, klen, val, vlen))
                race_fail(st, "the iterator gave a value that is not its key's", "");
            if (klen == 7)
                memcpy(last, key, klen);
        }
        if (kv_iter_status(it) != KV_OK)
            race_fail(st, "the iterator failed", "");
        kv_iter_free(it);
        char k[16];
        race_key(k, sizeof k, (int)atomic_load(&st->iterations) * 13);
        void *val = NULL;
        size_t vlen = 0;
        int rc = kv_get_at(st->db, snap, k, strlen(k), &val, &vlen);
        if (rc == KV_OK ? !race_value_is_keys(k, strlen(k), val, vlen) : rc != KV_NOT_FOUND)
            race_fail(st, "kv_get_at gave a wrong answer", "");
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

/* 1 if one of the tables is in the current version. */
static int race_any_in_current(kv_db *db, const race_names *held)
{
    pthread_mutex_lock(&db->write_lock);
    table_set_version *v = db->tables.current;
    table_set_version_ref(v);
    pthread_mutex_unlock(&db->write_lock);
    race_names now = race_names_of(db, v);
    table_set_version_unref(v);
    int found = 0;
    for (size_t i = 0; i < now.n; i++)
        for (size_t j = 0; j < held->n; j++)
            found |= strcmp(now.name[i], held->name[j]) == 0;
    free(now.name);
    return found;
}

/* 1 if one of the tables' files is on disk. */
static int race_any_on_disk(kv_db *db, const race_names *held)
{
    int any = 0;
    for (size_t j = 0; j < held->n; j++)
        any |= race_on_disk(db, held->name[j]);
    return any;
}

/* A write; every RACE_COMPACT_EVERY writes, kv_compact. */
#define RACE_COMPACT_EVERY 300
static void race_step(kv_db *db, int *i)
{
    CHECK_KV(race_write(db, *i), KV_OK);
    if (++*i % RACE_COMPACT_EVERY == 0)
        CHECK_KV(kv_compact(db), KV_OK);
}

static uint64_t race_counted(kv_db *db, lsm_counter c) { return lsm_counted(&db->count.stats, c); }

static void tables_stay_on_disk_while_any_version_holds_them(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 4096;
    if (kv_stage()[1] >= '5')
        opt.compression = KV_COMPRESSION_NONE;
    if (kv_stage()[1] >= '6') {
        opt.table_bytes = 4096;
        opt.l1_bytes = 8192;
        opt.level_ratio = 2;
    }
    race_state st = {.said = ATOMIC_FLAG_INIT};
    const char *dir = harness_join(harness_tmpdir(), "db");
    CHECK_KV(kv_open(dir, &opt, &st.db), KV_OK);
    kv_db *db = st.db;
    pthread_t viewer, iterator;
    CHECK(pthread_create(&viewer, NULL, race_viewer, &st) == 0);
    CHECK(pthread_create(&iterator, NULL, race_iterator, &st) == 0);

    /* Write until the tables hold something, and hold that view. */
    int i = 0;
    lsm_view *first = NULL;
    race_names held = {0};
    while (i < RACE_MAX_WRITES) {
        race_step(db, &i);
        first = lsm_view_get(db, NULL);
        held = race_names_of(db, first->tables);
        if (held.n > 0)
            break;
        free(held.name);
        lsm_view_unref(first);
        first = NULL;
    }
    CHECK(first != NULL && held.n > 0);
    /* Then until none of its tables is current and some other was removed
     * (after a compaction, as readers read). */
    while ((race_any_in_current(db, &held) || race_counted(db, LSM_FILES_DELETED) == 0) &&
           i < RACE_MAX_WRITES)
        race_step(db, &i);
    CHECK(!race_any_in_current(db, &held));
    CHECK(race_counted(db, LSM_FILES_DELETED) > 0);
    race_check_version(&st, first->tables);
    /* More, with the readers still going: RACE_MIN_WRITES in all, and a
     * few compactions. */
    while ((i < RACE_MIN_WRITES || race_counted(db, LSM_COMPACT_COUNT) < 3) &&
           i < RACE_MAX_WRITES)
        race_step(db, &i);
    atomic_store(&st.stop, 1);
    CHECK(pthread_join(viewer, NULL) == 0);
    CHECK(pthread_join(iterator, NULL) == 0);
    CHECK_MSG(atomic_load(&st.failures) == 0, "%d failures; the first: %s",
              atomic_load(&st.failures), st.first_failure);
    race_check_version(&st, first->tables);
    CHECK_MSG(atomic_load(&st.failures) == 0, "the held view: %s", st.first_failure);
    CHECK(i < RACE_MAX_WRITES);
    CHECK(atomic_load(&st.iterations) > 0);

    /* Dropped, its tables go: at once, or after the background thread's
     * next job (each flush is one). */
    lsm_view_unref(first);
    while (race_any_on_disk(db, &held) && i < RACE_MAX_WRITES)
        race_step(db, &i);
    CHECK(i < RACE_MAX_WRITES);
    free(held.name);
    CHECK_KV(kv_close(db), KV_OK);
}

static const harness_test tests[] = {
    HARNESS_TEST(tables_stay_on_disk_while_any_version_holds_them),
};
/* The stage's own threaded suite, which tests/race/main.c looks for. */
const harness_suite stage_race_suite = HARNESS_SUITE("version_race", tests);
