/*
 * gc_pick_test.c: exercise gc_pick, value_store_pick
 * (stages/08-vlog/value_log/vlog_gc.c): which value-log file the next
 * job works on.  A file whose live bytes are unknown (no counts after a
 * crash) is measured first; otherwise the file with the most garbage
 * (value bytes - live bytes), if at least gc_percent of its value bytes
 * is garbage, is
 * emptied; a file already busy, emptied, damaged, or not handed over by
 * the engine is never taken.  The tests build stores over value-log files
 * written here, set each file's counts, and read which file the job took
 * (its state turns VLOG_BUSY) and what for (value_store_job_next: move 1
 * to empty it, 0 to measure it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ex_vlog.h"
#include "exercise.h"
#include "io_fault.h"
#include "value_log.h"

/* Files 1, 2, 3 holding puts of these sizes (about 3, 10 and 40 KB). */
static const size_t pk_v1[] = {1000, 2000}, pk_v2[] = {6000, 4000},
                    pk_v3[] = {25000, 15000};

static value_store *pk_store(const char *dir, int gc_percent)
{
    ex_vlog_write(dir, 1, 0, pk_v1, 2, NULL);
    ex_vlog_write(dir, 3, 0, pk_v2, 2, NULL);
    ex_vlog_write(dir, 5, 0, pk_v3, 2, NULL);
    uint64_t files[] = {1, 3, 5};
    return ex_store(dir, files, 3, gc_percent);
}

/* Counts file `start` as holding `percent` of garbage, its value bytes
 * its whole size (rounded up to a byte: garbage * 100 >= percent * value
 * bytes, and one live byte more would be below). */
static vlog_file *pk_count(value_store *vs, uint64_t start, unsigned percent)
{
    vlog_file *f = ex_store_file(vs, start);
    f->value_bytes = f->bytes;
    uint64_t garbage = (f->value_bytes * percent + 99) / 100;
    f->counted = 1;
    f->live_bytes = f->value_bytes - garbage;
    return f;
}

/* Picks; the test fails unless KV_OK.  The file taken (0: no job) and, in
 * *move, what for. */
static uint64_t pk_pick(value_store *vs, int *move, const char *what)
{
    value_job *job = (value_job *)&job; /* not NULL: value_store_pick sets it */
    harness_context("value_store_pick (%s): measure an uncounted file first, else empty the one "
                    "with most garbage if >= gc_percent; never a busy, emptied, damaged or "
                    "unadopted file", what);
    int rc = EX_KV(value_store_pick(vs, 0, &job));
    EX_CHECK(rc == KV_OK, "%s: value_store_pick returns KV_OK (got %d: %s)", what, rc,
             ex_errmsg(rc));
    EX_CHECK(job != (value_job *)&job, "%s: value_store_pick sets *out, to NULL when it "
             "finds nothing to do (it left *out as it was)", what);
    if (job == NULL)
        return 0;
    uint64_t busy = 0;
    int nbusy = 0;
    for (size_t i = 0; i < vs->nfiles; i++)
        if (vs->files[i]->state == VLOG_BUSY) {
            busy = vs->files[i]->start;
            nbusy++;
        }
    EX_CHECK(nbusy == 1, "%s: the job's file, and no other, is VLOG_BUSY while the job runs "
             "(%d files are)", what, nbusy);
    value_move m;
    harness_context("value_store_job_next of the job on file %llu (%s): it offers the values "
                    "of the file it took", (unsigned long long)busy, what);
    int more = EX_KV(value_store_job_next(job, &m));
    EX_CHECK(more == 1, "%s: the job offers the values of the file it took (file %llu holds "
             "two puts; value_store_job_next returned %d: %s)", what,
             (unsigned long long)busy, more, ex_errmsg(more));
    *move = m.move;
    /* The job ends, abandoned (each case makes a store of its own):
     * value_store_job_end frees it whatever the status, and a test frees
     * what it allocated (exercise.h). */
    harness_context("value_store_job_end of the job on file %llu, abandoned (KV_ERR_IO): it "
                    "frees the job whatever the status", (unsigned long long)busy);
    value_store_job_end(vs, job, 0, KV_ERR_IO);
    EX_CHECK(strstr(kv_errmsg(), "not written yet") == NULL,
             "%s: the test ends the job with value_store_job_end (exercise gc_collect), "
             "which frees it", what);
    return busy;
}

static void gc_pick_nothing_below_gc_percent(void)
{
    EX_RULE_BEGIN(2, "no file worth collecting: nothing to do");
    value_store *vs = pk_store(harness_tmpdir(), 0);
    pk_count(vs, 1, 40);
    pk_count(vs, 3, 10);
    pk_count(vs, 5, 0);
    int move = -1;
    uint64_t f = pk_pick(vs, &move, "files of 40%, 10% and 0% garbage, gc_percent 50");
    EX_CHECK(f == 0, "no file has gc_percent (50%%) of garbage or more: no job (*out NULL), "
             "emptying one would write more than it frees (got a job on file %llu)",
             (unsigned long long)f);
    for (size_t i = 0; i < vs->nfiles; i++)
        EX_CHECK(vs->files[i]->state == VLOG_LIVE, "with no job, every file stays VLOG_LIVE "
                 "(file %llu is not)", (unsigned long long)vs->files[i]->start);
    value_store_close(vs, 0);
}

static void gc_pick_measures_before_it_empties(void)
{
    EX_RULE_BEGIN(1, "a file not counted is measured first");
    value_store *vs = pk_store(harness_tmpdir(), 0);
    pk_count(vs, 1, 90);
    pk_count(vs, 5, 95);
    /* File 3: no counts (as kv_open leaves a file after a crash). */
    int move = -1;
    uint64_t f = pk_pick(vs, &move, "files 1 and 5 counted with 90% and 95% garbage, file 3 "
                         "not counted");
    EX_CHECK(f == 3 && move == 0, "a file whose live bytes are unknown is measured first (a "
             "job on file 3 with move 0), before any file is emptied: its garbage may be "
             "the most of all (got a job on file %llu, move %d)", (unsigned long long)f, move);
    value_store_close(vs, 0);
}

static void gc_pick_takes_the_most_garbage(void)
{
    EX_RULE_BEGIN(2, "the file with the most garbage");
    /* File 1: 90% of about 3 KB; file 3: 60% of 10 KB; file 5: 55% of
     * 40 KB, the most garbage in bytes. */
    value_store *vs = pk_store(harness_tmpdir(), 0);
    pk_count(vs, 1, 90);
    pk_count(vs, 3, 60);
    pk_count(vs, 5, 55);
    int move = -1;
    uint64_t f = pk_pick(vs, &move, "files of 90%, 60% and 55% garbage, the last the largest");
    EX_CHECK(f == 5 && move == 1, "of the files with gc_percent of garbage or more, the one "
             "with the most garbage (in bytes: file 5, %llu of %llu bytes) is emptied (move 1) "
             "first: it frees the most (got a job on file %llu, move %d)",
             (unsigned long long)(ex_store_file(vs, 5)->value_bytes - ex_store_file(vs, 5)->live_bytes),
             (unsigned long long)ex_store_file(vs, 5)->value_bytes, (unsigned long long)f, move);
    value_store_close(vs, 0);
    /* The most garbage in a file that is not the last worth emptying. */
    vs = pk_store(harness_tmpdir(), 10);
    pk_count(vs, 1, 0);
    pk_count(vs, 3, 90);
    pk_count(vs, 5, 10);
    f = pk_pick(vs, &move, "gc_percent 10: files of 0%, 90% and 10% garbage");
    EX_CHECK(f == 3 && move == 1, "gc_percent 10: files 3 (90%% of about 10 KB) and 5 (10%% of "
             "about 40 KB) are both worth emptying; file 3 holds the most garbage in bytes and "
             "is emptied first, whatever the order of the files (got a job on file %llu, "
             "move %d)", (unsigned long long)f, move);
    value_store_close(vs, 0);
    /* The largest file under the threshold is passed over. */
    vs = pk_store(harness_tmpdir(), 0);
    pk_count(vs, 1, 90);
    pk_count(vs, 3, 60);
    pk_count(vs, 5, 45);
    f = pk_pick(vs, &move, "files of 90%, 60% and 45% garbage, the last the largest");
    EX_CHECK(f == 3 && move == 1, "file 5 (45%% garbage, under gc_percent 50) is not worth "
             "emptying however much garbage it holds; of the others, file 3 holds the most "
             "garbage (got a job on file %llu, move %d)", (unsigned long long)f, move);
    value_store_close(vs, 0);
}

static void gc_pick_respects_gc_percent(void)
{
    EX_RULE_BEGIN(2, "only files worth collecting at the store's gc_percent");
    for (int pct = 1; pct <= 99; pct += 7) {
        int gcp = pct == 50 ? 0 : pct; /* 0: the default, 50 */
        value_store *vs = pk_store(harness_tmpdir(), gcp);
        vlog_file *f1 = pk_count(vs, 1, (unsigned)pct);
        pk_count(vs, 3, 0);
        pk_count(vs, 5, 0);
        f1->live_bytes++; /* one byte less garbage than gc_percent */
        int move = -1;
        char what[96];
        snprintf(what, sizeof what, "gc_percent %d, file 1 one byte short of it", pct);
        uint64_t f = pk_pick(vs, &move, what);
        EX_CHECK(f == 0, "gc_percent %d: file 1 holds %llu bytes of garbage of %llu, one byte "
                 "less than gc_percent of it: no job (got a job on file %llu)", pct,
                 (unsigned long long)(f1->value_bytes - f1->live_bytes),
                 (unsigned long long)f1->value_bytes, (unsigned long long)f);
        f1->live_bytes--; /* exactly gc_percent */
        snprintf(what, sizeof what, "gc_percent %d, file 1 exactly at it", pct);
        f = pk_pick(vs, &move, what);
        EX_CHECK(f == 1 && move == 1, "gc_percent %d: file 1 holds %llu bytes of garbage of "
                 "%llu, gc_percent of it (garbage * 100 >= gc_percent * bytes): it is emptied "
                 "(got a job on file %llu, move %d)", pct,
                 (unsigned long long)(f1->value_bytes - f1->live_bytes),
                 (unsigned long long)f1->value_bytes, (unsigned long long)f, move);
        value_store_close(vs, 0);
    }
}

static void gc_pick_passes_over_files_it_must_not_take(void)
{
    EX_RULE_BEGIN(4, "only adopted, live, undamaged files");
    value_store *vs = pk_store(harness_tmpdir(), 0);
    pk_count(vs, 1, 95)->damaged = 1;
    pk_count(vs, 3, 95)->state = VLOG_EMPTIED;
    pk_count(vs, 5, 95)->state = VLOG_BUSY;
    int move = -1;
    uint64_t f = pk_pick(vs, &move, "a damaged, an emptied and a busy file");
    EX_CHECK(f == 0, "a damaged file (left for kv check and kv repair), an emptied one "
             "(waiting for its readers) and a busy one (another job's) are never taken: no job "
             "(got a job on file %llu)", (unsigned long long)f);
    value_store_close(vs, 0);
    vs = pk_store(harness_tmpdir(), 0);
    pk_count(vs, 1, 95)->adopted = 0;
    ex_store_file(vs, 3)->adopted = 0; /* not counted: would be measured */
    pk_count(vs, 5, 20);
    f = pk_pick(vs, &move, "files 1 (95% garbage) and 3 (not counted) not handed over");
    EX_CHECK(f == 0, "a log the engine has not handed over (adopted 0) may still take writes: "
             "no job measures or empties it (got a job on file %llu)", (unsigned long long)f);
    value_store_close(vs, 0);
    /* Files not counted yet are measured only if they may be taken. */
    vs = pk_store(harness_tmpdir(), 0);
    ex_store_file(vs, 1)->damaged = 1;
    ex_store_file(vs, 3)->state = VLOG_BUSY;
    pk_count(vs, 5, 20);
    f = pk_pick(vs, &move, "files 1 (damaged) and 3 (busy), neither counted; 5 at 20%");
    EX_CHECK(f == 0, "a file not counted yet is measured only if it is live and undamaged: a "
             "damaged one is left for kv check and kv repair, a busy one is another job's (got "
             "a job on file %llu)", (unsigned long long)f);
    ex_store_file(vs, 3)->state = VLOG_LIVE;
    value_store_close(vs, 0);
}

/* Every file counted: file 5 the most garbage (190 MB of 200) with 10 MB
 * live, file 1 3 MB of garbage of 4 with 1 MB live, file 3 none. */
static value_store *pk_store_most_garbage_in_5(void)
{
    value_store *vs = pk_store(harness_tmpdir(), 0);
    vlog_file *f1 = ex_store_file(vs, 1), *f5 = ex_store_file(vs, 5);
    ex_store_file(vs, 3)->counted = 1;
    f1->counted = f5->counted = 1;
    f1->value_bytes = 4u << 20;
    f1->live_bytes = 1u << 20;
    f5->value_bytes = 200u << 20;
    f5->live_bytes = 10u << 20;
    return vs;
}

static void gc_pick_takes_only_what_fits_in_half_the_free_space(void)
{
    EX_RULE_BEGIN(3, "only a file whose live bytes fit in half of what is free");
    /* File 5 the most garbage (190 MB of 200) but 10 MB live; file 1 less
     * garbage (3 MB of 4) and 1 MB live; on a disk of 8 MiB (io_fault's,
     * empty: the files written before it count as nothing), half of what
     * is free is 4 MiB, and only file 1 fits. */
    value_store *vs = pk_store(harness_tmpdir(), 0);
    vlog_file *f1 = ex_store_file(vs, 1), *f3 = ex_store_file(vs, 3), *f5 = ex_store_file(vs, 5);
    f1->counted = f3->counted = f5->counted = 1;
    f1->value_bytes = 4u << 20;
    f1->live_bytes = 1u << 20;
    f3->value_bytes = f3->live_bytes = 1000;
    f5->value_bytes = 200u << 20;
    f5->live_bytes = 10u << 20;
    io_fault_plan plan = {.disk_bytes = 8u << 20};
    io_fault_install(&plan);
    int move = -1;
    uint64_t f = pk_pick(vs, &move, "file 5 (190 MB of garbage, 10 MB live) and file 1 (3 MB "
                         "of garbage, 1 MB live), on a disk with 8 MiB free");
    io_fault_uninstall();
    EX_CHECK(f == 1 && move == 1, "a file is emptied only if its live bytes, written again, fit "
             "in half of what the disk has free (io_space: 8 MiB, so 4 MiB): file 5 has the most "
             "garbage but 10 MB to move, so file 1 (1 MB) is taken; on a full disk the files "
             "with the least to move go first (got a job on file %llu, move %d)",
             (unsigned long long)f, move);
    value_store_close(vs, 0);
    vs = pk_store_most_garbage_in_5();
    plan.disk_bytes = 64u << 20;
    io_fault_install(&plan);
    f = pk_pick(vs, &move, "the same files on a disk with 64 MiB free");
    io_fault_uninstall();
    EX_CHECK(f == 5 && move == 1, "with 64 MiB free, file 5's 10 MB to move fit in half of it: "
             "the file with the most garbage is emptied (got a job on file %llu, move %d)",
             (unsigned long long)f, move);
    value_store_close(vs, 0);
}

static int pk_space_fails(const char *dir, uint64_t *avail, uint64_t *total)
{
    (void)dir, (void)avail, (void)total;
    return -EIO;
}

/* A file system that cannot say what is free (io_space fails): the pick
 * takes avail as UINT64_MAX, and the moves find out for themselves. */
static void gc_pick_goes_on_when_the_free_space_is_unknown(void)
{
    EX_RULE_BEGIN(3, "io_space failing: avail taken as UINT64_MAX, never an error");
    value_store *vs = pk_store_most_garbage_in_5();
    static io_ops failing;
    failing = *io_get_ops();
    failing.space = pk_space_fails;
    const io_ops *before = io_set_ops(&failing);
    int move = -1;
    uint64_t f = pk_pick(vs, &move, "file 5 (190 MB of garbage) and file 1 (3 MB), io_space "
                         "failing with EIO: avail is taken as UINT64_MAX, the pick goes on");
    io_set_ops(before);
    EX_CHECK(f == 5 && move == 1, "when io_space cannot say what is free, every file fits "
             "(avail UINT64_MAX): the file with the most garbage, 5, is emptied (got a job on "
             "file %llu, move %d)", (unsigned long long)f, move);
    value_store_close(vs, 0);
}

/* The store's files, their states and counts, are shared with the
 * engine's writers and readers, under vs->lock: a pick reads and marks
 * them holding it.  Here the test holds the lock while a thread picks:
 * the pick must wait for it. */
typedef struct pk_locked {
    value_store *vs;
    value_job *job;
    int rc;
    _Atomic int done;
} pk_locked;

static void *pk_pick_thread(void *arg)
{
    pk_locked *l = arg;
    l->rc = value_store_pick(l->vs, 0, &l->job);
    atomic_store(&l->done, 1);
    return NULL;
}

static void gc_pick_holds_the_store_lock(void)
{
    EX_RULE_BEGIN(4, "the pick is made under vs->lock");
    const char *dir = harness_tmpdir();
    value_store *vs = pk_store(dir, 50);
    pk_count(vs, 3, 60);
    pk_locked l = {.vs = vs};
    harness_context("value_store_pick on another thread while the test holds vs->lock: a pick "
                    "reads and marks the store's files under vs->lock, so it waits for it");
    int waited = ex_waits_for_lock(&vs->lock, pk_pick_thread, &l, &l.done);
    EX_CHECK(waited, "value_store_pick returned while another thread held vs->lock: the "
             "store's files (their states and counts) are shared with the engine's writers "
             "and readers, so a pick reads and marks them holding vs->lock (value_log.h: "
             "\"lock: the fields below, and each file's\")");
    EX_CHECK(l.rc == KV_OK && l.job != NULL, "once the lock is free, the pick takes file 3 "
             "(got %d, job %s)", l.rc, l.job ? "made" : "none");
    value_store_job_end(vs, l.job, 0, KV_ERR_IO);
    value_store_close(vs, 0);
}

static const harness_test gc_pick_tests[] = {
    HARNESS_TEST(gc_pick_nothing_below_gc_percent),
    HARNESS_TEST(gc_pick_measures_before_it_empties),
    HARNESS_TEST(gc_pick_takes_the_most_garbage),
    HARNESS_TEST(gc_pick_respects_gc_percent),
    HARNESS_TEST(gc_pick_passes_over_files_it_must_not_take),
    HARNESS_TEST(gc_pick_takes_only_what_fits_in_half_the_free_space),
    HARNESS_TEST(gc_pick_goes_on_when_the_free_space_is_unknown),
    HARNESS_TEST(gc_pick_holds_the_store_lock),
};
const harness_suite gc_pick_suite = HARNESS_SUITE("gc_pick", gc_pick_tests);
