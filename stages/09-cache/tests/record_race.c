/*
 * record_race.c: the record cache under threads (stage_race_suite of
 * build/tsan/09-cache/racetest, tests/race/main.c): two writers each
 * overwriting their own keys with rising round numbers, two readers, and
 * a thread flushing and compacting.  A reader must never see a key's
 * round go back (a stale record would bring an older round back after a
 * newer one was read), and a snapshot must give the same answer each
 * time it is asked, however the tables change between.  ThreadSanitizer
 * reports any race in the record cache's shards.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "kv.h"

#define RR_KEYS 32      /* per writer */
#define RR_ROUNDS 300
#define RR_WRITERS 2

typedef struct rr_shared {
    kv_db *db;
    atomic_int writers_left;
    atomic_int wrong;
    atomic_long reads;
} rr_shared;

typedef struct rr_thread {
    rr_shared *sh;
    int id;
} rr_thread;

static void rr_key(char *buf, size_t n, int writer, int k)
{
    snprintf(buf, n, "w%d-key%03d", writer, k);
}

/* The round a value says it was written in; -1 if it is not one. */
static long rr_round(const void *v, size_t len)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, v, len);
    buf[len] = '\0';
    return buf[0] == 'r' ? strtol(buf + 1, NULL, 10) : -1;
}

static void *rr_writer(void *arg)
{
    rr_thread *t = arg;
    char key[32], val[32];
    for (int round = 1; round <= RR_ROUNDS; round++)
        for (int k = 0; k < RR_KEYS; k++) {
            rr_key(key, sizeof key, t->id, k);
            int n = snprintf(val, sizeof val, "r%d", round);
            if (kv_put(t->sh->db, key, strlen(key), val, (size_t)n) != KV_OK)
                atomic_fetch_add(&t->sh->wrong, 1);
        }
    atomic_fetch_sub(&t->sh->writers_left, 1);
    return NULL;
}

static void *rr_reader(void *arg)
{
    rr_thread *t = arg;
    long seen[RR_WRITERS][RR_KEYS];
    memset(seen, 0, sizeof seen);
    char key[32];
    unsigned x = (unsigned)t->id * 2654435761u + 1;
    while (atomic_load(&t->sh->writers_left) > 0) {
        const kv_snapshot *snap = NULL;
        if (kv_snapshot_new(t->sh->db, &snap) != KV_OK) {
            atomic_fetch_add(&t->sh->wrong, 1);
            break;
        }
        long at_snap[8];
        int keys[8][2];
        for (int i = 0; i < 16; i++) {
            x = x * 1103515245u + 12345u;
            int w = (int)((x >> 8) % RR_WRITERS), k = (int)((x >> 12) % RR_KEYS);
            rr_key(key, sizeof key, w, k);
            void *v = NULL;
            size_t len = 0;
            int rc = i < 8 ? kv_get(t->sh->db, key, strlen(key), &v, &len)
                           : kv_get_at(t->sh->db, snap, key, strlen(key), &v, &len);
            long r = rc == KV_OK ? rr_round(v, len) : rc == KV_NOT_FOUND ? 0 : -1;
            kv_free(v);
            if (i < 8) {
                if (r < seen[w][k])
                    atomic_fetch_add(&t->sh->wrong, 1);
                else
                    seen[w][k] = r;
            } else {
                at_snap[i - 8] = r;
                keys[i - 8][0] = w;
                keys[i - 8][1] = k;
            }
            if (r < 0)
                atomic_fetch_add(&t->sh->wrong, 1);
        }
        /* The same keys at the same snapshot, after whatever happened. */
        for (int i = 0; i < 8; i++) {
            rr_key(key, sizeof key, keys[i][0], keys[i][1]);
            void *v = NULL;
            size_t len = 0;
            int rc = kv_get_at(t->sh->db, snap, key, strlen(key), &v, &len);
            long r = rc == KV_OK ? rr_round(v, len) : rc == KV_NOT_FOUND ? 0 : -1;
            kv_free(v);
            if (r != at_snap[i])
                atomic_fetch_add(&t->sh->wrong, 1);
        }
        kv_snapshot_free(t->sh->db, snap);
        atomic_fetch_add(&t->sh->reads, 24);
    }
    return NULL;
}

static void *rr_compactor(void *arg)
{
    rr_thread *t = arg;
    while (atomic_load(&t->sh->writers_left) > 0) {
        if (kv_flush(t->sh->db) != KV_OK || kv_compact(t->sh->db) != KV_OK)
            atomic_fetch_add(&t->sh->wrong, 1);
    }
    return NULL;
}

static void readers_never_see_a_round_go_back(void)
{
    const char *dir = NULL;
    kv_db *db = testdb_fresh(&dir);
    CLOSE(db);
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 16 << 10;
    db = OPEN(dir, &opt);
    rr_shared sh = {.db = db};
    atomic_init(&sh.writers_left, RR_WRITERS);
    atomic_init(&sh.wrong, 0);
    atomic_init(&sh.reads, 0);
    pthread_t th[5];
    rr_thread ts[5];
    void *(*fn[5])(void *) = {rr_writer, rr_writer, rr_reader, rr_reader, rr_compactor};
    for (int i = 0; i < 5; i++) {
        ts[i] = (rr_thread){.sh = &sh, .id = i};
        CHECK(pthread_create(&th[i], NULL, fn[i], &ts[i]) == 0);
    }
    for (int i = 0; i < 5; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(atomic_load(&sh.wrong), 0);
    CHECK(atomic_load(&sh.reads) > 0);
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    const char *hits = strstr(text, "session.record_cache.hits: ");
    CHECK(hits != NULL && strtol(hits + 27, NULL, 10) > 0);
    kv_free(text);
    /* Every key at its last round. */
    char key[32], val[32];
    int n = snprintf(val, sizeof val, "r%d", RR_ROUNDS);
    for (int w = 0; w < RR_WRITERS; w++)
        for (int k = 0; k < RR_KEYS; k++) {
            rr_key(key, sizeof key, w, k);
            EXPECT(db, key, strlen(key), val, (size_t)n);
        }
    CLOSE(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(readers_never_see_a_round_go_back),
};
const harness_suite stage_race_suite = HARNESS_SUITE("record_race", tests);
