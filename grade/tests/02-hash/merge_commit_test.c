/*
 * merge_commit_test.c: exercise merge_commit, merge_commit
 * (stages/02-hash/engine/merge.c): the index moved to the merge's outputs, except
 * for keys written while the merge ran.
 *
 * The writes "while the merge ran" are made at a known moment: the test
 * puts an I/O backend in front of the usual one whose rename (the merge's
 * step M4, when no lock is held) first writes and deletes a few keys.
 */
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "exercise.h"
#include "io.h"
#include "kv.h"

static io_ops hooked;
static const io_ops *inner;
static kv_db *hook_db;
static int hook_done;

static int hook_rename(const char *from, const char *to)
{
    if (!hook_done && hook_db != NULL) {
        hook_done = 1;
        /* Writes while the merge runs: they go to the new active segment. */
        kv_put(hook_db, "k05", 3, "written-during-the-merge", 24);
        kv_delete(hook_db, "k06", 3);
        kv_put(hook_db, "new", 3, "a-new-key", 9);
    }
    return inner->rename(from, to);
}

/* A backend that counts the files it maps (io_view_open, for a segment
 * that takes no more writes: segment_reader). */
static io_ops counting;
static const io_ops *count_inner;
static long count_maps;

static int count_map(io_file *f, uint64_t size, const void **addr)
{
    __atomic_add_fetch(&count_maps, 1, __ATOMIC_SEQ_CST);
    return count_inner->map(f, size, addr);
}

static int count_open(const char *path, int flags, io_file **f)
{
    int rc = count_inner->open(path, flags, f);
    if (rc == 0)
        (*f)->ops = &counting;
    return rc;
}

static kv_db *commit_db(const char **dir_out, kv_options *opt)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = ex_open(dir, opt, "open");
    char k[16], v[32];
    for (int round = 0; round < 4; round++)
        for (int i = 0; i < 20; i++) {
            snprintf(k, sizeof k, "k%02d", i);
            snprintf(v, sizeof v, "v%d-%d", i, round);
            ex_put(db, k, v, "fill");
        }
    *dir_out = dir;
    return db;
}

static void commit_check(kv_db *db, const char *when)
{
    char k[16], v[32];
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof k, "k%02d", i);
        snprintf(v, sizeof v, "v%d-3", i);
        if (i == 5)
            ex_expect(db, k, "written-during-the-merge", when);
        else if (i == 6)
            ex_absent(db, k, when);
        else
            ex_expect(db, k, v, when);
    }
    ex_expect(db, "new", "a-new-key", when);
}

static void merge_commit_keeps_writes_made_during_the_merge(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 2048;
    const char *dir;
    kv_db *db = commit_db(&dir, &opt);
    inner = io_get_ops();
    hooked = *inner;
    hooked.rename = hook_rename;
    hook_db = db;
    hook_done = 0;
    io_set_ops(&hooked);
    harness_context("kv_compact of 4 rounds of 20 keys in 2 KiB segments, k05 put, k06 deleted and "
                    "\"new\" put while it runs: merge_commit moves only keys whose entry is still "
                    "their input place (mv->from); the others keep their newer state");
    int rc = EX_KV(kv_compact(db));
    io_set_ops(inner);
    hook_db = NULL;
    EX_CHECK(rc == KV_OK, "kv_compact: %s", ex_errmsg(rc));
    EX_CHECK(hook_done, "test setup: the merge renamed its outputs");
    harness_context("kv_get of k00..k19 and \"new\" after that merge: a key written or deleted "
                    "while the merge ran keeps its newer state");
    commit_check(db, EX_RULE(3, "a key written during the merge keeps its newer state") "right "
                 "after a merge during which k05 was written again, k06 deleted and "
                 "\"new\" added: a key whose index entry no longer points at the record the "
                 "merge copied keeps its newer place (the copy is dead from the start), and a "
                 "key deleted meanwhile is not brought back");
    kv_close(db);
    db = ex_open(dir, &opt, "reopen");
    harness_context("kv_get of k00..k19 and \"new\" after the merge and a reopen");
    commit_check(db, EX_RULE(3, "a key written during the merge keeps its newer state") "after "
                 "the merge and a reopen");
    kv_close(db);
}

/* The segment files (*.log) in dir, counted. */
static uint64_t commit_log_files(const char *dir)
{
    DIR *d = opendir(dir);
    EX_CHECK(d != NULL, "cannot list %s", dir);
    uint64_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        n += l > 4 && strcmp(e->d_name + l - 4, ".log") == 0;
    }
    closedir(d);
    return n;
}

static void merge_commit_moves_every_other_key(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 2048;
    const char *dir;
    kv_db *db = commit_db(&dir, &opt);
    harness_context("kv_compact of 4 rounds of 20 keys in 2 KiB segments, then a second one: "
                    "merge_commit points every key at its output place and takes the inputs out "
                    "of the table");
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "kv_compact: %s", ex_kv_errmsg());
    EX_CHECK(ex_stat(db, "dead.bytes") == 0,
             EX_RULE(2, "moved bytes counted live") "a merge counts each record it moved as "
             "live in its output (the output's "
             "live_bytes grows by the record's size there, mv->to.size): with no write during "
             "the merge, nothing is dead after it (dead.bytes %llu, live.bytes %llu, "
             "segments.bytes %llu)", (unsigned long long)ex_stat(db, "dead.bytes"),
             (unsigned long long)ex_stat(db, "live.bytes"),
             (unsigned long long)ex_stat(db, "segments.bytes"));
    uint64_t segs = ex_stat(db, "segments.count"), files = commit_log_files(dir);
    EX_CHECK(segs == files,
             EX_RULE(5, "the inputs taken out of the table") "after a merge the segment table "
             "holds the outputs and the active segment, one per segment file: kv_stats' "
             "segments.count is %llu, the directory holds %llu (the inputs, deleted, must not "
             "stay in the table)", (unsigned long long)segs, (unsigned long long)files);
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "a second kv_compact: %s", ex_kv_errmsg());
    char k[16], v[32];
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof k, "k%02d", i);
        snprintf(v, sizeof v, "v%d-3", i);
        harness_context("kv_get(%s) after two merges: every key points into an output segment", k);
        ex_expect(db, k, v, EX_RULE(2, "keys pointed at their outputs") "after a merge, every "
                  "key points into an output segment (its "
                  "inputs are gone from the table and from the disk)");
    }
    kv_close(db);
}

static void merge_commit_installs_every_output(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 1024;
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = ex_open(dir, &opt, "open");
    char k[16], v[64];
    /* 120 live keys of some 50-byte records: a merge writes 6 or more
     * output segments of 1 KiB. */
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 120; i++) {
            snprintf(k, sizeof k, "key%03d", i);
            snprintf(v, sizeof v, "value-%d-of-round-%d-padding", i, round);
            ex_put(db, k, v, "fill");
        }
    harness_context("kv_compact of 2 rounds of 120 keys in 1 KiB segments, into 6 or more "
                    "outputs: merge_commit installs every output and moves every key into it");
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "kv_compact: %s", ex_kv_errmsg());
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 120; i++) {
            snprintf(k, sizeof k, "key%03d", i);
            snprintf(v, sizeof v, "value-%d-of-round-1-padding", i);
            harness_context("kv_get(%s) after a merge into several outputs%s: every output is "
                            "installed and every key moved into it", k,
                            pass ? " and a reopen" : "");
            ex_expect(db, k, v, pass == 0 ? EX_RULE(4, "every output inserted") "after a merge "
                      "into several output segments, "
                      "every output is installed and every key moved into it reads its value"
                      : "after a merge into several outputs and a reopen");
        }
        kv_close(db);
        if (pass == 0)
            db = ex_open(dir, &opt, "reopen after kv_compact");
    }
}

/* The moves are [0, nmoves) of an array with room for more: memory never
 * written.  glibc's M_PERTURB fills fresh memory with a pattern (not the
 * zeros a fresh page would give, which make a move past the last one look
 * like an empty key no index holds), so a commit that walks one move too
 * far follows a garbage output index. */
static void merge_commit_walks_only_the_moves_made(void)
{
#if defined(__GLIBC__) && defined(M_PERTURB)
    mallopt(M_PERTURB, 0x5a);
#endif
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 2048;
    const char *dir;
    kv_db *db = commit_db(&dir, &opt);
    harness_context("kv_compact with fresh memory filled with a pattern: merge_commit walks "
                    "m->moves[0, nmoves), the moves the merge made, and no further (a move "
                    "past the last was never written)");
    int rc = EX_KV(kv_compact(db));
    harness_context("%s", "");
    EX_CHECK(rc == KV_OK, "kv_compact: %s", ex_errmsg(rc));
    char k[16], v[32];
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof k, "k%02d", i);
        snprintf(v, sizeof v, "v%d-3", i);
        harness_context("kv_get(%s) after a merge whose moves array had fresh memory after nmoves: "
                        "every key reads its value", k);
        ex_expect(db, k, v, EX_RULE(2, "keys pointed at their outputs") "after a merge, every "
                  "key reads its value");
    }
    kv_close(db);
}

/* More outputs than inputs: segments written with a large limit, merged
 * after a reopen with a small one.  The outputs go into the segment table
 * before the inputs leave it, so the room made first is for the outputs. */
static void merge_commit_more_outputs_than_inputs(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 1 << 20;
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = ex_open(dir, &opt, "open");
    char k[16], v[64];
    for (int round = 0; round < 2; round++) /* half the bytes dead: a merge pays */
        for (int i = 0; i < 400; i++) {
            snprintf(k, sizeof k, "key%03d", i);
            snprintf(v, sizeof v, "value-%d-padding-padding-padding", i);
            ex_put(db, k, v, "fill");
        }
    kv_close(db);
    opt.segment_bytes = 1024;
    db = ex_open(dir, &opt, "reopen with 1 KiB segments");
    /* The segment of some 20 KiB is over the limit now: the next write goes
     * to a new one, and it is closed, what a merge takes. */
    ex_put(db, "later", "a-later-value", "a put after the reopen");
    uint64_t before = ex_stat(db, "segments.count");
    harness_context("kv_compact of %llu segments of up to 1 MiB into 1 KiB outputs (some 20 "
                    "of them): merge_commit makes room in the segment table for every output "
                    "(m->nouts) before it inserts them", (unsigned long long)before);
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK,
             EX_RULE(1, "room made before any change") "a merge into "
             "more outputs than it has inputs "
             "succeeds: the segment table has room for every output, made before any is "
             "inserted (kv_compact: %s)", ex_kv_errmsg());
    uint64_t after = ex_stat(db, "segments.count");
    EX_CHECK(after > before + 8,
             "test setup: the merge wrote more outputs than it had inputs (%llu segments "
             "before, %llu after)", (unsigned long long)before, (unsigned long long)after);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 400; i++) {
            snprintf(k, sizeof k, "key%03d", i);
            snprintf(v, sizeof v, "value-%d-padding-padding-padding", i);
            harness_context("kv_get(%s) after a merge into more outputs than inputs%s: every "
                            "output is in the segment table", k, pass ? " and a reopen" : "");
            ex_expect(db, k, v, pass == 0 ? EX_RULE(4, "every output inserted") "after a merge "
                      "into more outputs than inputs, "
                      "every output is in the segment table and every key reads its value"
                      : "after that merge and a reopen");
        }
        harness_context("kv_get(later), in the active segment, which a merge does not take");
        ex_expect(db, "later", "a-later-value", "the active segment is not merged");
        kv_close(db);
        if (pass == 0)
            db = ex_open(dir, &opt, "reopen after kv_compact");
    }
    harness_context("%s", "");
}

/* The merge of merge_commit_more_outputs_than_inputs, each of its
 * allocations made to fail in turn (the segment table's room for the
 * outputs among them): a failure is KV_ERR_NOMEM, or nothing if the merge
 * could do without the block, and either way every key still reads its
 * value: a merge that fails changes nothing a reader sees, and gives back
 * the index's lock. */
/* A kv_get on a thread of its own. */
static void *commit_read(void *arg)
{
    kv_db *db = arg;
    void *v = NULL;
    size_t vl = 0;
    if (kv_get(db, "key001", 6, &v, &vl) == KV_OK)
        kv_free(v);
    return NULL;
}

/* A kv_get on another thread, waited for: if the index's lock is never
 * given back, it waits for ever, and so does the test, which then fails
 * with rule (exercise_bound.c: every thread waiting, none running). */
static void commit_read_elsewhere(kv_db *db, const char *rule)
{
    pthread_t t;
    EX_CHECK(pthread_create(&t, NULL, commit_read, db) == 0, "test setup: pthread_create");
    EX_BOUND(EX_TEST_CPU_SECONDS, "%s", rule);
    pthread_join(t, NULL);
    ex_bound_work(EX_TEST_CPU_SECONDS);
}

static void merge_commit_out_of_memory_changes_nothing(void)
{
    int failures = 0;
    char k[16], v[64];
    for (long n = 1; n < 2000; n++) {
        kv_options opt;
        kv_options_init(&opt);
        opt.segment_bytes = 1 << 20;
        char name[32];
        snprintf(name, sizeof name, "db%ld", n);
        const char *dir = harness_join(harness_tmpdir(), name);
        kv_db *db = ex_open(dir, &opt, "open");
        for (int round = 0; round < 2; round++)
            for (int i = 0; i < 400; i++) {
                snprintf(k, sizeof k, "key%03d", i);
                snprintf(v, sizeof v, "value-%d-%d-padding-padding", i, round);
                ex_put(db, k, v, "fill");
            }
        kv_close(db);
        opt.segment_bytes = 1024;
        db = ex_open(dir, &opt, "reopen with 1 KiB segments");
        ex_put(db, "later", "a-later-value", "a put after the reopen");
        if (!ex_alloc_fail_at(n)) { /* a sanitizer's build: nothing can be made to fail */
            kv_close(db);
            break;
        }
        harness_context("kv_compact into 1 KiB outputs (more outputs than inputs) with its "
                        "allocation %ld failing: KV_ERR_NOMEM and nothing changed, the index's "
                        "lock given back", n);
        int rc = EX_KV(kv_compact(db));
        int failed = ex_alloc_failed();
        ex_alloc_fail_at(0);
        EX_CHECK(rc == KV_OK || (failed && rc == KV_ERR_NOMEM), EX_RULE(1, "room made before "
                 "any change") "a merge whose allocation %ld "
                 "fails returns KV_ERR_NOMEM (or KV_OK, if it could do without that block) "
                 "(got %d: %s)", n, rc, ex_errmsg(rc));
        failures += failed;
        harness_context("kv_get on another thread after a merge whose allocation %ld failed: "
                        "the merge gave back the index's lock on its way out", n);
        char rule[400];
        snprintf(rule, sizeof rule, EX_RULE(7, "index_lock given back") "a merge that fails "
                 "(allocation %ld) gives back the index's lock (pthread_rwlock_unlock on "
                 "every way out of merge_commit): a kv_get on another thread waits for it", n);
        commit_read_elsewhere(db, rule);
        for (int i = 0; i < 400; i++) {
            snprintf(k, sizeof k, "key%03d", i);
            snprintf(v, sizeof v, "value-%d-1-padding-padding", i);
            harness_context("kv_get(%s) after a merge whose allocation %ld failed: every key "
                            "reads its value, the index's lock was given back", k, n);
            ex_expect(db, k, v, EX_RULE(1, "room made before any change") "a merge that fails "
                      "for want of memory changes nothing a "
                      "reader sees: every key reads its newest value");
        }
        ex_expect(db, "later", "a-later-value", "the active segment is not merged");
        harness_context("kv_close after a merge whose allocation %ld failed", n);
        EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
        if (!failed)
            break;
    }
    EX_CHECK(failures > 0 || !ex_alloc_fail_at(0), "test setup: a merge allocates");
}

static void merge_commit_settles_its_outputs(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 2048;
    count_inner = io_get_ops();
    EX_CHECK(count_inner->map != NULL, "test setup: the I/O backend maps files");
    counting = *count_inner;
    counting.open = count_open;
    counting.map = count_map;
    io_set_ops(&counting);
    const char *dir;
    kv_db *db = commit_db(&dir, &opt);
    harness_context("kv_compact of 4 rounds of 20 keys in 2 KiB segments: merge_commit settles "
                    "each output it installs (segment_settle), so that gets map it");
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "kv_compact: %s", ex_kv_errmsg());
    __atomic_store_n(&count_maps, 0, __ATOMIC_SEQ_CST);
    char k[16], v[32];
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof k, "k%02d", i);
        snprintf(v, sizeof v, "v%d-3", i);
        harness_context("kv_get(%s) after a merge: it reads its value from a settled output", k);
        ex_expect(db, k, v, EX_RULE(2, "keys pointed at their outputs") "after a merge, every "
                  "key reads its value from an output");
    }
    long maps = __atomic_load_n(&count_maps, __ATOMIC_SEQ_CST);
    kv_close(db);
    io_set_ops(count_inner);
    EX_CHECK(maps >= 1, EX_RULE(6, "outputs settled") "a merge's outputs are never written "
             "again: merge_commit settles each "
             "one it installs (segment_settle), so that the gets after the merge read it "
             "through a mapping (segment_reader maps it once) rather than by a system call "
             "per read (%ld files mapped by 20 gets from the outputs)", maps);
}

static const harness_test merge_commit_tests[] = {
    HARNESS_TEST(merge_commit_keeps_writes_made_during_the_merge),
    HARNESS_TEST(merge_commit_moves_every_other_key),
    HARNESS_TEST(merge_commit_installs_every_output),
    HARNESS_TEST(merge_commit_walks_only_the_moves_made),
    HARNESS_TEST(merge_commit_more_outputs_than_inputs),
    HARNESS_TEST(merge_commit_settles_its_outputs),
    HARNESS_TEST(merge_commit_out_of_memory_changes_nothing),
};
const harness_suite merge_commit_suite = HARNESS_SUITE("merge_commit", merge_commit_tests);
