/*
 * inspect_race.c: kv_inspect and kv_inspect_get while other threads write
 * and compact (kv.h: "they may run while other threads write"): every line
 * still follows the grammar, every get's lines end in an answer, and the
 * writers' work all lands.  Under ThreadSanitizer (build/tsan/S/racetest)
 * any data race between inspecting and the engine's threads is reported.
 *
 * REQUIRES (harness.h): worker threads never CHECK; they record what went
 * wrong and the test checks after joining them.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "inspect_lines.h"
#include "kv.h"
#include "testdb.h"

#define RACE_KEYS 400

typedef struct race_writer {
    kv_db *db;
    int compacts;           /* 1: this one compacts instead of writing */
    int failures, first_status;
    int done;               /* __atomic */
} race_writer;

static void *race_writer_run(void *arg)
{
    race_writer *w = arg;
    char k[32], v[64];
    for (int i = 0; i < RACE_KEYS; i++) {
        int s;
        if (w->compacts) {
            s = i % 40 == 0 ? kv_compact(w->db) : KV_OK;
        } else {
            int kl = snprintf(k, sizeof k, "key%03d", i % 150);
            int vl = snprintf(v, sizeof v, "value %d, padded to some length", i);
            s = i % 7 == 6 ? kv_delete(w->db, k, (size_t)kl)
                           : kv_put(w->db, k, (size_t)kl, v, (size_t)vl);
        }
        if (s != KV_OK && w->failures++ == 0)
            w->first_status = s;
    }
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void inspect_while_writing_and_compacting(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 2048;
    opt.memtable_bytes = 4096;
    opt.block_bytes = 256;
    opt.l1_bytes = 8192;
    opt.table_bytes = 2048;
    kv_db *db = OPEN(testdb_dir(), &opt);
    race_writer w[2] = {{.db = db}, {.db = db, .compacts = 1}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, race_writer_run, &w[i]) == 0);
    int rounds = 0;
    while (rounds < 3 || !__atomic_load_n(&w[0].done, __ATOMIC_ACQUIRE) ||
           !__atomic_load_n(&w[1].done, __ATOMIC_ACQUIRE)) {
        il_list l = {0};
        CHECK_KV(kv_inspect(db, rounds % 2 ? KV_INSPECT_DETAIL : 0, il_collect, &l), KV_OK);
        CHECK_MSG(l.bad_why == NULL, "a line does not follow the grammar (%s): %s",
                  l.bad_why, l.bad);
        CHECK_MSG(l.n > 0 && strcmp(l.v[0].kind, "db") == 0, "the first line is not \"db\"");
        il_list_free(&l);
        char key[16];
        snprintf(key, sizeof key, "key%03d", rounds % 150);
        CHECK_KV(kv_inspect_get(db, key, strlen(key), il_collect, &l), KV_OK);
        CHECK_MSG(l.bad_why == NULL, "a get's line does not follow the grammar (%s): %s",
                  l.bad_why, l.bad);
        CHECK_MSG(l.n > 0 && strcmp(l.v[l.n - 1].kind, "answer") == 0,
                  "a get's lines do not end in an answer");
        il_list_free(&l);
        rounds++;
    }
    for (int i = 0; i < 2; i++) {
        CHECK(pthread_join(t[i], NULL) == 0);
        CHECK_MSG(w[i].failures == 0, "thread %d: %d failures, the first %s", i,
                  w[i].failures, kv_strerror(w[i].first_status));
    }
    /* The last write of each key landed. */
    EXPECT(db, S("key099"), "value 399, padded to some length",
           strlen("value 399, padded to some length"));
    CLOSE(db);
}

static const harness_test inspect_race_tests[] = {
    HARNESS_TEST(inspect_while_writing_and_compacting),
};
const harness_suite inspect_race_suite = HARNESS_SUITE("inspect_race", inspect_race_tests);
