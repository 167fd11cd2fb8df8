/*
 * concurrency_snapshot.c: snapshots under concurrency, for every stage:
 * snapshots taken and read (kv_get_at, iterators both ways) by several
 * threads while a writer's batches and kv_compact run, one snapshot shared
 * by all readers.  The rules are kv.h's: a snapshot sees every write
 * acknowledged before kv_snapshot_new was called, a batch whole or not at
 * all, and then never changes; one snapshot may be read from several
 * threads at once.
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
#include "stage_caps.h"
#include "testdb.h"

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
#define SNAP_ROUNDS 60          /* snapshots each reader takes; a third of
                                   that where a read scans the log (stage
                                   01: each read at a snapshot, and each
                                   iterator, is a scan of the log); a
                                   third again under a sanitizer
                                   (harness_cases) */
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
    int rounds;                 /* SNAP_ROUNDS, or a third of it */
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
    for (int round = 0; round < sh->rounds && r->failures == 0; round++) {
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

static void snapshots_read_while_compacting(int max_open_files)
{
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.max_open_files = max_open_files;
    opt.segment_bytes = 4096;
    opt.memtable_bytes = 4096;
    opt.table_bytes = 2048; /* stage 06: background compactions under the snapshots */
    opt.l1_bytes = 8192;
    opt.level_ratio = 2;
    kv_db *db = OPEN(dir, &opt);
    const stage_caps *caps = stage_caps_find();
    CHECK(caps != NULL);
    snap_shared sh = {.db = db, .readers_left = SNAP_READERS,
                      .rounds = (int)harness_cases(caps->gets_scan_log ? SNAP_ROUNDS / 3
                                                                   : SNAP_ROUNDS, 3)};
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

static void snapshots_read_while_writer_and_compactor_run(void)
{
    snapshots_read_while_compacting(0);
}

/* Stage 05 on keep this many table files open and open the others again
 * as they are read: a table kv_compact replaced must still be readable by
 * a reader at an older version. */
static void snapshots_read_while_compacting_with_one_open_file(void)
{
    snapshots_read_while_compacting(1);
}

static const harness_test tests[] = {
    HARNESS_TEST(snapshots_read_while_writer_and_compactor_run),
    HARNESS_TEST(snapshots_read_while_compacting_with_one_open_file),
};
const harness_suite concurrency_snapshot_suite = HARNESS_SUITE("concurrency_snapshot", tests);
