/*
 * gc_collect_test.c: exercise gc_collect, value_store_job_end and
 * value_store_collect (stages/08-vlog/value_log/vlog_gc.c): the end of
 * one garbage-collection pass.  A job that measured a file counts it; a
 * job that emptied one (every value still read written again, before the
 * write numbered seq) leaves it VLOG_EMPTIED; a job that failed leaves it
 * as it was.  An emptied file is removed only once no reader can need
 * it: the writes that moved its values are on stable storage, in tables
 * or in a synced log (durable >= seq),
 * every snapshot is at or past them (oldest >= seq), and no pin taken
 * before the job ended is still held (value_log.h, V1 and V3).  Then, the
 * whole pass through kv.h: overwrites, a flush, kv_compact, and the old
 * value-log file is gone while every key reads its newest value.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ex_vlog.h"
#include "exercise.h"
#include "value_log.h"

static const size_t cl_vlens[] = {3000, 45000, 700};

/* A store over file 7 (three puts), counted as all garbage, or not
 * counted at all. */
static value_store *cl_store(const char *dir, int counted, ex_place *place)
{
    ex_vlog_write(dir, 7, 0, cl_vlens, 3, place);
    uint64_t files[] = {7};
    value_store *vs = ex_store(dir, files, 1, 0);
    if (counted) {
        vlog_file *f = ex_store_file(vs, 7);
        f->counted = 1;
        f->value_bytes = 3000 + 45000 + 700;
        f->live_bytes = 0;
    }
    return vs;
}

/* A job picked (gc_pick), every value answered `fate`, ended with seq
 * and status. */
static void cl_pass(value_store *vs, value_fate fate, uint64_t seq, int status, int want_move)
{
    value_job *job = NULL;
    int rc = EX_KV(value_store_pick(vs, 0, &job));
    EX_CHECK(rc == KV_OK && job != NULL, "value_store_pick finds the job this test set up "
             "(exercise gc_pick; got %d: %s)", rc, ex_errmsg(rc));
    value_move m;
    int more, values = 0;
    while ((more = EX_KV(value_store_job_next(job, &m))) == 1) {
        EX_CHECK(m.move == want_move, "the job is the one set up (move %d)", want_move);
        value_store_job_result(job, fate);
        values++;
    }
    EX_CHECK(more == 0 && values == 3, "the job offers the file's three values (got %d, then "
             "%d: %s)", values, more, ex_errmsg(more));
    uint64_t dead = vs->dead, moved = vs->moved, moved_bytes = vs->moved_bytes;
    harness_context("value_store_job_end(seq %llu, status %d)", (unsigned long long)seq,
                    status);
    value_store_job_end(vs, job, seq, status);
    char test_rule[256];
    snprintf(test_rule, sizeof test_rule, "%s", ex_rule_now());
    EX_RULE_BEGIN(1, "whatever the outcome, the job's counts are added to the store's");
    uint64_t want_dead = dead + (fate == VALUE_DEAD ? 3 : 0);
    uint64_t want_moved = moved + (fate == VALUE_MOVED ? 3 : 0);
    EX_CHECK(vs->dead == want_dead && vs->moved == want_moved,
             "value_store_job_end adds the job's counts to the store's, whatever its status: "
             "vs->dead by the values found dead, vs->moved by those moved (kv_stats counts "
             "the collector's work from them): got %llu and %llu, want %llu and %llu",
             (unsigned long long)vs->dead, (unsigned long long)vs->moved,
             (unsigned long long)want_dead, (unsigned long long)want_moved);
    uint64_t want_bytes = moved_bytes + (fate == VALUE_MOVED ? 3000 + 45000 + 700 : 0);
    EX_CHECK(vs->moved_bytes == want_bytes, "value_store_job_end adds the bytes the job moved "
             "to vs->moved_bytes (kv_stats' session.values.gc_bytes_moved): the three values "
             "moved hold 48,700 bytes; got %llu, want %llu",
             (unsigned long long)vs->moved_bytes, (unsigned long long)want_bytes);
    ex_rule_put(test_rule);
}

static uint64_t cl_collect(value_store *vs, uint64_t oldest, uint64_t durable)
{
    uint64_t removed = 99;
    harness_context("value_store_collect(oldest %llu, durable %llu)",
                    (unsigned long long)oldest, (unsigned long long)durable);
    int rc = EX_KV(value_store_collect(vs, oldest, durable, &removed));
    EX_CHECK(rc == KV_OK, "value_store_collect returns KV_OK (got %d: %s)", rc, ex_errmsg(rc));
    EX_CHECK(vs->seen_oldest == oldest && vs->seen_durable == durable,
             "value_store_collect keeps what it was told, oldest in vs->seen_oldest and "
             "durable in vs->seen_durable (kv_stats says from them why emptied files wait: "
             "for a snapshot, for a sync): got %llu and %llu, want %llu and %llu",
             (unsigned long long)vs->seen_oldest, (unsigned long long)vs->seen_durable,
             (unsigned long long)oldest, (unsigned long long)durable);
    return removed;
}

/* File 7 is still there: in the directory and in the store. */
static void cl_kept(value_store *vs, const char *dir, uint64_t removed, const char *rule)
{
    EX_CHECK(removed == 0 && ex_vlog_exists(dir, 7) && vlog_find(vs, 7) != NULL,
             "%s: the file stays, in the directory and in the store's list (removed %llu, "
             "file %s, listed %s)", rule, (unsigned long long)removed,
             ex_vlog_exists(dir, 7) ? "there" : "gone", vlog_find(vs, 7) ? "yes" : "no");
}

static void cl_gone(value_store *vs, const char *dir, uint64_t removed, const char *rule)
{
    EX_CHECK(removed == 1 && !ex_vlog_exists(dir, 7) && vlog_find(vs, 7) == NULL,
             "%s: the file is removed from the directory and from the store's list, and "
             "*removed counts it (removed %llu, file %s, listed %s)", rule,
             (unsigned long long)removed, ex_vlog_exists(dir, 7) ? "still there" : "gone",
             vlog_find(vs, 7) ? "yes" : "no");
}

/* A job ended frees what it held: the handle vlog_job_new opened on its
 * file, its buffer, its values and its keys.  First, so that a leak of
 * any job is reported as this rule's, not as the rule of the test that
 * happened to end a job first. */
static void gc_collect_a_job_ended_is_freed(void)
{
    EX_RULE_BEGIN(1, "the job freed: its file handle, buffer, values and keys");
    const char *dir = harness_tmpdir();
    value_store *vs = cl_store(dir, 0, NULL);
    cl_pass(vs, VALUE_LIVE, 50, KV_OK, 0);
    value_store_close(vs, 0);
    /* The test ends here: a block the job held and value_store_job_end
     * did not free fails it (exercise_alloc.c). */
}

static void gc_collect_a_measure_counts_the_file(void)
{
    EX_RULE_BEGIN(3, "a measure counts the file");
    const char *dir = harness_tmpdir();
    value_store *vs = cl_store(dir, 0, NULL);
    value_job *job = NULL;
    int rc = EX_KV(value_store_pick(vs, 0, &job));
    EX_CHECK(rc == KV_OK && job != NULL, "a file not counted is measured (exercise gc_pick; "
             "got %d: %s)", rc, ex_errmsg(rc));
    value_move m;
    value_fate fates[] = {VALUE_LIVE, VALUE_DEAD, VALUE_LIVE};
    for (int i = 0; i < 3; i++) {
        EX_CHECK(EX_KV(value_store_job_next(job, &m)) == 1 && m.move == 0, "a measure offers each "
                 "value, move 0 (%s)", ex_kv_errmsg());
        value_store_job_result(job, fates[i]);
    }
    EX_CHECK(value_store_job_next(job, &m) == 0, "three values, then no more");
    value_store_job_end(vs, job, 50, KV_OK);
    vlog_file *f = ex_store_file(vs, 7);
    EX_CHECK(f->state == VLOG_LIVE && f->counted && f->live_bytes == 3000 + 700 &&
                 f->value_bytes == 3000 + 45000 + 700,
             "a measure that ended well counts the file: live, counted, its live bytes those "
             "of the values a key still reads there (3,000 + 700), its value bytes those and "
             "the dead values of at least the threshold (45,000) (got state %d, counted %d, "
             "live bytes %llu, value bytes %llu)", (int)f->state, f->counted,
             (unsigned long long)f->live_bytes, (unsigned long long)f->value_bytes);
    EX_CHECK(f->undropped == 45000 && f->counted_at == 50, "a measure of a file not counted "
             "before (after a crash nothing is known of the drops) puts all its dead value "
             "bytes in undropped (value bytes less live bytes, 45,000), so that a merge's drop "
             "of those entries later does not take them off the live bytes, and counted_at is "
             "the job's seq (50): got undropped %llu, counted_at %llu",
             (unsigned long long)f->undropped, (unsigned long long)f->counted_at);
    EX_CHECK(vs->measured == 1 && vs->emptied == 0, "a measure is counted as one "
             "(vs->measured, kv_stats' session.values.gc_files_measured), not as a file "
             "emptied (got measured %llu, emptied %llu)", (unsigned long long)vs->measured,
             (unsigned long long)vs->emptied);
    cl_kept(vs, dir, cl_collect(vs, 1000, 1000), "a measured file is not emptied");
    value_store_close(vs, 0);
}

/* A recount of file 7, counted before with live and undropped bytes, whose
 * three values the job finds live, dead and live; ended at seq 60. */
static vlog_file *cl_recount(const char *dir, uint64_t live, uint64_t undropped,
                             value_store **out)
{
    value_store *vs = cl_store(dir, 0, NULL);
    vlog_file *f = ex_store_file(vs, 7);
    f->counted = 1;
    f->counted_at = 0;
    f->value_bytes = 3000 + 45000 + 700;
    f->live_bytes = live;
    f->undropped = undropped;
    value_job *job = NULL;
    int rc = EX_KV(value_store_pick_recount(vs, 10, 0, &job));
    EX_CHECK(rc == KV_OK && job != NULL, "test setup: a recount of file 7, counted before write "
             "10 (got %d: %s)", rc, ex_errmsg(rc));
    value_move m;
    value_fate fates[] = {VALUE_LIVE, VALUE_DEAD, VALUE_LIVE};
    for (int i = 0; i < 3; i++) {
        EX_CHECK(EX_KV(value_store_job_next(job, &m)) == 1 && m.move == 0, "a recount offers each "
                 "value, move 0 (%s)", ex_kv_errmsg());
        value_store_job_result(job, fates[i]);
    }
    EX_CHECK(value_store_job_next(job, &m) == 0, "three values, then no more");
    harness_context("value_store_job_end(seq 60, KV_OK) of a recount of a file counted before "
                    "(counted 1, counted_at 0: by its flush), live %llu of 48,700, undropped "
                    "%llu, which finds 3,700 bytes live", (unsigned long long)live,
                    (unsigned long long)undropped);
    value_store_job_end(vs, job, 60, KV_OK);
    *out = vs;
    return ex_store_file(vs, 7);
}

static void gc_collect_a_recount_keeps_what_the_drops_took(void)
{
    EX_RULE_BEGIN(3, "undropped: what was counted live or undropped before less what is live now");
    /* File 7, counted by the flush that wrote it (48,700 bytes live,
     * counted_at 0).  A recount that finds 3,700 bytes live puts in
     * undropped what was live or undropped before and is dead now, and
     * only that: the dead bytes a merge may still drop.  A file never
     * counted (after a crash) puts all its dead bytes there instead,
     * knowing nothing of the drops. */
    value_store *vs;
    vlog_file *f = cl_recount(harness_tmpdir(), 48700, 0, &vs);
    EX_CHECK(f->live_bytes == 3000 + 700 && f->undropped == 45000 && f->counted &&
                 f->counted_at == 60,
             "no merge has dropped the dead value's entry yet (live 48,700 before): a recount "
             "puts it in undropped, live + undropped before less live now (48,700 - 3,700 = "
             "45,000), so that the drop takes it from there (got live %llu, undropped %llu, "
             "counted %d, counted_at %llu)", (unsigned long long)f->live_bytes,
             (unsigned long long)f->undropped, f->counted, (unsigned long long)f->counted_at);
    value_store_close(vs, 0);
    /* A merge dropped its entry since the flush: live 3,700, and the drop
     * took nothing undropped. */
    f = cl_recount(harness_tmpdir(), 3000 + 700, 0, &vs);
    EX_CHECK(f->live_bytes == 3000 + 700 && f->undropped == 0,
             "the dead value's entry already dropped (live 3,700 before): the drop took it off "
             "the live bytes, and a recount counts it nowhere again: undropped 3,700 + 0 - "
             "3,700 = 0, whatever counted_at was (0: counted by its flush); a file never "
             "counted (f->counted 0) would put all its dead bytes there (got live %llu, "
             "undropped %llu)", (unsigned long long)f->live_bytes,
             (unsigned long long)f->undropped);
    value_store_close(vs, 0);
}

static void gc_collect_an_emptied_damaged_file_is_counted(void)
{
    EX_RULE_BEGIN(4, "an emptying leaves the file VLOG_EMPTIED, counted, not damaged");
    /* File 7, never counted, found damaged (a measure could not read it
     * whole): its recount is a job from the keys that point into it, which
     * moves every value it can read.  All three read and moved, the file
     * is emptied: no longer damaged, and counted, every count 0 (what
     * kv_inspect's line of the file shows), like any file emptied. */
    const char *dir = harness_tmpdir();
    ex_place place[3];
    value_store *vs = cl_store(dir, 0, place);
    vlog_file *f = ex_store_file(vs, 7);
    f->damaged = 1;
    value_job *job = NULL;
    int rc = EX_KV(value_store_pick_recount(vs, 10, 1, &job));
    EX_CHECK(rc == KV_OK && job != NULL && value_store_job_wants_keys(job),
             "test setup: a recount of damaged file 7 from its keys (got %d: %s)", rc,
             ex_errmsg(rc));
    for (int i = 0; i < 3; i++) {
        char key[32];
        int klen = snprintf(key, sizeof key, "k7-%d", i);
        uint8_t where[VLOG_WHERE_MAX];
        size_t wlen = ex_where(where, place[i].file, place[i].offset, place[i].len,
                               place[i].crc);
        EX_CHECK(EX_KV(value_store_job_offer(job, (const uint8_t *)key, (size_t)klen, where,
                                             wlen)) == KV_OK,
                 "test setup: key %s offered (%s)", key, ex_kv_errmsg());
    }
    value_move m;
    int values = 0, more;
    while ((more = EX_KV(value_store_job_next(job, &m))) == 1) {
        value_store_job_result(job, VALUE_MOVED);
        values++;
    }
    EX_CHECK(more == 0 && values == 3, "test setup: the job offers the three values (got %d, "
             "then %d: %s)", values, more, ex_errmsg(more));
    harness_context("value_store_job_end(seq 80, KV_OK) of a job from the keys of damaged file "
                    "7, never counted, that moved all three of its values");
    value_store_job_end(vs, job, 80, KV_OK);
    f = ex_store_file(vs, 7);
    EX_CHECK(f->state == VLOG_EMPTIED && !f->damaged && f->counted && f->value_bytes == 0 &&
                 f->live_bytes == 0 && f->undropped == 0 && f->counted_at == 80,
             "a file emptied is counted, whatever it was before (here damaged and never "
             "counted): state VLOG_EMPTIED, not damaged, counted 1 with value, live and "
             "undropped bytes 0, counted_at 80 (got state %d, damaged %d, counted %d, value "
             "bytes %llu, live %llu, undropped %llu, counted_at %llu)", (int)f->state,
             f->damaged, f->counted, (unsigned long long)f->value_bytes,
             (unsigned long long)f->live_bytes, (unsigned long long)f->undropped,
             (unsigned long long)f->counted_at);
    value_store_close(vs, 0);
}

static void gc_collect_waits_for_the_moves_to_be_durable(void)
{
    EX_RULE_BEGIN(5, "removed only once moved_seq <= durable");
    const char *dir = harness_tmpdir();
    value_store *vs = cl_store(dir, 1, NULL);
    /* Counted with some bytes live and some undropped (still far past
     * gc_percent): emptied, the file holds none of either. */
    ex_store_file(vs, 7)->live_bytes = 700;
    ex_store_file(vs, 7)->undropped = 3000;
    cl_pass(vs, VALUE_DEAD, 100, KV_OK, 1);
    vlog_file *f = ex_store_file(vs, 7);
    EX_CHECK(f->state == VLOG_EMPTIED && f->moved_seq == 100,
             "a job that emptied a file (status KV_OK) leaves it VLOG_EMPTIED, remembering the "
             "write its moves came before (seq 100): got state %d, moved_seq %llu",
             (int)f->state, (unsigned long long)f->moved_seq);
    EX_CHECK(vs->emptied == 1 && vs->measured == 0, "a job that emptied a file is counted as "
             "one (vs->emptied, kv_stats' session.values.gc_files_emptied), not as a measure "
             "(got emptied %llu, measured %llu)", (unsigned long long)vs->emptied,
             (unsigned long long)vs->measured);
    EX_CHECK(f->value_bytes == 0 && f->live_bytes == 0 && f->undropped == 0 &&
                 f->counted_at == 100,
             "an emptied file holds no value a table points at: value, live and undropped "
             "bytes 0 (they were 48,700, 700 and 3,000 before the job; kv_inspect's line of "
             "the file shows them), counted_at the job's seq (100): got value bytes %llu, "
             "live bytes %llu, "
             "undropped %llu, counted_at %llu", (unsigned long long)f->value_bytes,
             (unsigned long long)f->live_bytes, (unsigned long long)f->undropped,
             (unsigned long long)f->counted_at);
    uint64_t bytes = f->bytes;
    cl_kept(vs, dir, cl_collect(vs, 1000, 99), "only the writes up to 99 are on stable "
            "storage, and a value moved by write 100 may be only in the page cache: a power "
            "cut would lose it, and the old copy in this file is the only one in tables (not "
            "yet durable)");
    cl_gone(vs, dir, cl_collect(vs, 1000, 100), "once every write before 100 is on stable "
            "storage (durable 100), no snapshot is older and no pin is held");
    EX_CHECK(vs->removed == 1 && vs->removed_bytes == bytes, "a file removed is counted: "
             "one file (vs->removed, kv_stats' session.values.gc_files_removed) of its %llu "
             "bytes (vs->removed_bytes, session.values.gc_bytes_removed); got %llu files, %llu "
             "bytes", (unsigned long long)bytes, (unsigned long long)vs->removed,
             (unsigned long long)vs->removed_bytes);
    value_store_close(vs, 0);
}

static void gc_collect_with_no_reader_an_emptied_file_goes_at_once(void)
{
    EX_RULE_BEGIN(5, "the epoch moves on twice with no pin held: a file emptied now can go now");
    const char *dir = harness_tmpdir();
    value_store *vs = cl_store(dir, 1, NULL);
    /* A collection with nothing to remove first moves the epoch on, so
     * that the emptying's epoch is not the 0 a file starts with. */
    cl_collect(vs, 1000, 1000);
    uint64_t epoch = atomic_load(&vs->epoch);
    cl_pass(vs, VALUE_MOVED, 100, KV_OK, 1);
    vlog_file *f = ex_store_file(vs, 7);
    uint64_t retired = f->retired;
    char test_rule[256];
    snprintf(test_rule, sizeof test_rule, "%s", ex_rule_now());
    EX_RULE_BEGIN(4, "an emptied file's retired is the store's epoch at its emptying");
    EX_CHECK(retired == epoch, "value_store_job_end of an emptying sets f->retired to the "
             "store's epoch then (%llu), got %llu: the file goes only once the epoch is "
             "retired + 2, when no pin taken before the emptying is left",
             (unsigned long long)epoch, (unsigned long long)retired);
    ex_rule_put(test_rule);
    cl_gone(vs, dir, cl_collect(vs, 1000, 1000), "a file emptied, its moves durable, no "
            "snapshot older and no pin held: one collection moves the epoch on twice (from "
            "its retirement, it needs retired + 2), each time only while the epoch before it "
            "holds no pin, and removes the file now, not at a later collection");
    EX_CHECK(atomic_load(&vs->epoch) == retired + 2, "with no pin held, one collection moves "
             "the epoch on twice, not more (it was %llu at the emptying, %llu now)",
             (unsigned long long)retired, (unsigned long long)atomic_load(&vs->epoch));
    value_store_close(vs, 0);
}

static void gc_collect_waits_for_snapshots(void)
{
    EX_RULE_BEGIN(5, "removed only once moved_seq <= oldest");
    const char *dir = harness_tmpdir();
    value_store *vs = cl_store(dir, 1, NULL);
    cl_pass(vs, VALUE_DEAD, 100, KV_OK, 1);
    cl_kept(vs, dir, cl_collect(vs, 99, 1000), "the oldest snapshot is at 99, older than the "
            "moves (100): it still reads the old copies in this file, so the snapshot keeps "
            "the file");
    cl_gone(vs, dir, cl_collect(vs, 100, 1000), "the oldest snapshot is at 100: every reader "
            "sees the moved copies");
    value_store_close(vs, 0);
}

/* Two emptied files side by side in the store's list, both free to go:
 * one collection removes both (vlog_drop moves the next file into the
 * place of the one it drops). */
static void gc_collect_removes_every_file_that_may_go(void)
{
    EX_RULE_BEGIN(5, "every VLOG_EMPTIED file that may go is removed");
    const char *dir = harness_tmpdir();
    uint64_t files[] = {7, 9, 11};
    for (size_t i = 0; i < 3; i++)
        ex_vlog_write(dir, files[i], 0, cl_vlens, 3, NULL);
    value_store *vs = ex_store(dir, files, 3, 0);
    for (size_t i = 0; i < 2; i++) {
        vlog_file *f = ex_store_file(vs, files[i]);
        f->state = VLOG_EMPTIED;
        f->counted = 1;
        f->value_bytes = f->live_bytes = f->undropped = 0;
        f->counted_at = f->moved_seq = 100;
        f->retired = atomic_load(&vs->epoch);
    }
    uint64_t removed = cl_collect(vs, 1000, 1000);
    int gone7 = !ex_vlog_exists(dir, 7) && vlog_find(vs, 7) == NULL;
    int gone9 = !ex_vlog_exists(dir, 9) && vlog_find(vs, 9) == NULL;
    EX_CHECK(removed == 2 && gone7 && gone9 && ex_vlog_exists(dir, 11) &&
                 vlog_find(vs, 11) != NULL,
             "files 7 and 9, next to each other in the store's list, both emptied, their "
             "moves durable, no snapshot older and no pin held: one collection removes both "
             "(vlog_drop moves the next file into the place of the one it drops: the loop "
             "looks at that place again), and leaves file 11, live (removed %llu, file 7 %s, "
             "file 9 %s, file 11 %s)", (unsigned long long)removed, gone7 ? "gone" : "kept",
             gone9 ? "gone" : "kept", vlog_find(vs, 11) ? "kept" : "gone");
    value_store_close(vs, 0);
}

/* Readers one after another, each pinning before the one before lets
 * go, as in a store that always has a reader: the epoch still moves on
 * a step whenever the epoch before the current one holds no pin, so the
 * collection is never held back for good. */
static void gc_collect_goes_on_under_overlapping_readers(void)
{
    EX_RULE_BEGIN(5, "the epoch moves on while the epoch before the current one holds no pin");
    const char *dir = harness_tmpdir();
    value_store *vs = cl_store(dir, 1, NULL);
    uint64_t first = value_store_pin(vs);
    cl_pass(vs, VALUE_DEAD, 100, KV_OK, 1);
    uint64_t e = atomic_load(&vs->epoch);
    cl_kept(vs, dir, cl_collect(vs, 1000, 1000), "a reader pinned before the job ended: the "
            "pin keeps the file");
    EX_CHECK(atomic_load(&vs->epoch) == e + 1,
             "a pin held in the current epoch (%llu) and none in the one before: the epoch "
             "moves on once, to %llu (vs->pins[(e + 1) & 1] is the epoch before e's; a pin "
             "in the current epoch holds back the step after), got %llu",
             (unsigned long long)e, (unsigned long long)(e + 1),
             (unsigned long long)atomic_load(&vs->epoch));
    uint64_t second = value_store_pin(vs);
    value_store_unpin(vs, first);
    cl_gone(vs, dir, cl_collect(vs, 1000, 1000), "the reader pinned before the job ended is "
            "gone; the one pinned since (in the epoch after the file's retirement) cannot "
            "read it: the epoch before the current one holds no pin, the epoch moves on to "
            "the file's retirement + 2, and the file goes");
    value_store_unpin(vs, second);
    value_store_close(vs, 0);
}

/* The pinned reader loads its value, the file's second, from the emptied
 * file 7. */
static void cl_load_pinned(value_store *vs, const ex_place *place)
{
    uint8_t where[VLOG_WHERE_MAX];
    size_t wn = ex_where(where, 7, place[1].offset, place[1].len, place[1].crc);
    value_buf buf = {0};
    const uint8_t *val = NULL;
    size_t vlen = 0;
    int rc = EX_KV(value_store_load(vs, where, wn, &buf, &val, &vlen));
    EX_CHECK(rc == KV_OK && vlen == 45000, "the pinned reader still loads its value from the "
             "emptied file (got %d: %s)", rc, ex_errmsg(rc));
    value_buf_free(&buf);
}

static void gc_collect_waits_for_pins(void)
{
    EX_RULE_BEGIN(5, "removed only once retired + 2 <= the epoch");
    const char *dir = harness_tmpdir();
    ex_place place[3];
    value_store *vs = cl_store(dir, 1, place);
    /* A reader pins, takes its view (which points into file 7), then the
     * job empties the file. */
    uint64_t pin = value_store_pin(vs);
    cl_pass(vs, VALUE_DEAD, 100, KV_OK, 1);
    cl_kept(vs, dir, cl_collect(vs, 1000, 1000), "a reader pinned the store before the job "
            "ended: its view may point into the file, and the pin keeps the file");
    cl_load_pinned(vs, place);
    cl_kept(vs, dir, cl_collect(vs, 1000, 1000), "still pinned: the file stays");
    value_store_unpin(vs, pin);
    cl_gone(vs, dir, cl_collect(vs, 1000, 1000), "the pin is released: no reader can need "
            "the file any more");
    value_store_close(vs, 0);
}

/* The same, with the reader's pin in the other parity of the epoch: a
 * first pin holds the epoch at 1 while the reader pins (its pin counts in
 * pins[1]), then goes.  The collection must look at the parity before the
 * current epoch, pins[(e + 1) & 1], at each step. */
static void gc_collect_waits_for_a_pin_of_either_parity(void)
{
    EX_RULE_BEGIN(5, "the epoch moves on only while no pin is held in the one before");
    const char *dir = harness_tmpdir();
    ex_place place[3];
    value_store *vs = cl_store(dir, 1, place);
    uint64_t first = value_store_pin(vs);
    cl_collect(vs, 1000, 1000); /* nothing to remove; the epoch moves to 1 and stops */
    uint64_t reader = value_store_pin(vs);
    value_store_unpin(vs, first);
    cl_pass(vs, VALUE_DEAD, 100, KV_OK, 1);
    harness_context("value_store_collect with a reader pinned at epoch %llu (pins[%d]) and the "
                    "file emptied after it pinned: each step of the epoch looks at the pins of "
                    "the parity before it, pins[(e + 1) & 1]",
                    (unsigned long long)atomic_load(&vs->epoch),
                    (int)(atomic_load(&vs->epoch) & 1));
    cl_kept(vs, dir, cl_collect(vs, 1000, 1000), "a reader pinned (in the epoch's other parity) "
            "before the job ended: its view may point into the file, and the pin keeps it");
    cl_load_pinned(vs, place);
    value_store_unpin(vs, reader);
    cl_gone(vs, dir, cl_collect(vs, 1000, 1000), "the pin is released: no reader can need "
            "the file any more");
    value_store_close(vs, 0);
}

static void gc_collect_a_failed_job_keeps_the_file(void)
{
    EX_RULE_BEGIN(2, "a failed job changes nothing more");
    const char *dir = harness_tmpdir();
    value_store *vs = cl_store(dir, 1, NULL);
    cl_pass(vs, VALUE_DEAD, 100, KV_ERR_IO, 1);
    vlog_file *f = ex_store_file(vs, 7);
    EX_CHECK(f->state == VLOG_LIVE, "a job that failed (status KV_ERR_IO) may not have "
             "written every value still read again: the file stays VLOG_LIVE, to be tried "
             "again, never VLOG_EMPTIED (got state %d)", (int)f->state);
    cl_kept(vs, dir, cl_collect(vs, 1000, 1000), "a job failed on the file");
    value_job *job = NULL;
    EX_CHECK(value_store_pick(vs, 0, &job) == KV_OK && job != NULL &&
                 f->state == VLOG_BUSY,
             "the file a job failed on is picked again (it is live and still all garbage)");
    value_store_job_end(vs, job, 200, KV_OK);
    value_store_close(vs, 0);
}

/* The whole pass through kv.h: a kv_compact drops the old versions, runs
 * the jobs, flushes what they wrote and collects. */
static void gc_collect_kv_compact_frees_an_overwritten_file(void)
{
    EX_RULE_BEGIN(5, "an emptied file no reader needs is removed");
    const char *dir = NULL;
    kv_db *db = ex_vlog_db(&dir, 0);
    char key[16];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "key%d", i);
        ex_put_big(db, key, 3000 + (size_t)i * 100, 1);
    }
    EX_CHECK(EX_KV(kv_flush(db)) == KV_OK, "kv_flush (%s)", ex_kv_errmsg());
    uint64_t files[8];
    size_t n = ex_vlog_files(dir, files, 8);
    EX_CHECK(n == 1 && files[0] == 1, "the first log, its writes flushed, is value-log file 1 "
             "(got %zu files, the first %llu)", n, (unsigned long long)(n ? files[0] : 0));
    const kv_snapshot *snap = NULL;
    EX_CHECK(EX_KV(kv_snapshot_new(db, &snap)) == KV_OK, "kv_snapshot_new (%s)", ex_kv_errmsg());
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "key%d", i);
        ex_put_big(db, key, 2000 + (size_t)i * 10, 2);
    }
    EX_CHECK(EX_KV(kv_flush(db)) == KV_OK, "kv_flush (%s)", ex_kv_errmsg());
    harness_context("kv_compact with a snapshot older than the overwrites; the test ends if "
                    "it has used 10 s of CPU without returning: a job ends with its file counted "
                    "or emptied, so that the pick does not take the same file again forever");
    ex_bound_work(10);
    int rc = EX_KV(kv_compact(db));
    ex_bound_work(EX_TEST_CPU_SECONDS);
    EX_CHECK(rc == KV_OK, "kv_compact returns KV_OK (got %d: %s)", rc, ex_errmsg(rc));
    EX_CHECK(ex_vlog_exists(dir, 1), "a snapshot older than the overwrites still reads the "
             "values of file 1: it stays");
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "key%d", i);
        void *v = NULL;
        size_t vl = 0;
        rc = EX_KV(kv_get_at(db, snap, key, strlen(key), &v, &vl));
        EX_CHECK(rc == KV_OK && vl == 3000 + (size_t)i * 100, "the snapshot reads %s's first "
                 "value (%zu bytes) from file 1 (got %d, %zu bytes: %s)", key,
                 3000 + (size_t)i * 100, rc, vl, ex_errmsg(rc));
        kv_free(v);
    }
    kv_snapshot_free(db, snap);
    harness_context("kv_compact once the snapshot is freed; the test ends if it has "
                    "used 10 s of CPU without returning: a job ends with its file counted or emptied, so "
                    "that the pick does not take the same file again forever");
    ex_bound_work(10);
    rc = EX_KV(kv_compact(db));
    ex_bound_work(EX_TEST_CPU_SECONDS);
    EX_CHECK(rc == KV_OK, "kv_compact returns KV_OK (got %d: %s)", rc, ex_errmsg(rc));
    EX_CHECK(!ex_vlog_exists(dir, 1), "every value of file 1 was overwritten and no snapshot "
             "reads it: kv_compact drops the old versions, the job empties the file, the "
             "writes are flushed, and the collection removes it (value-log file 1 is still "
             "there)");
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "key%d", i);
        ex_expect_big(db, key, 2000 + (size_t)i * 10, 2, "after the collection");
    }
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close (%s)", ex_kv_errmsg());
    kv_options opt;
    kv_options_init(&opt);
    db = ex_open(dir, &opt, "the database opens again");
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "key%d", i);
        ex_expect_big(db, key, 2000 + (size_t)i * 10, 2, "after a reopen");
    }
    kv_close(db);
}

/* The path of dir's value-log file `start`. */
static const char *cl_vlog_path(const char *dir, uint64_t start)
{
    char name[64];
    snprintf(name, sizeof name, "%012llu%s", (unsigned long long)start, VLOG_SUFFIX);
    return harness_join(dir, name);
}

static void gc_collect_an_emptying_that_meets_damage_empties_nothing(void)
{
    /* File 7, counted all garbage, so worth emptying; a byte of its
     * first value flipped, so the emptying's scan meets a record whose
     * checksum fails and offers no value past it.  The job ends with
     * status KV_OK (nothing it was given failed), yet it moved nothing:
     * the file is damaged, never emptied, and no collection removes it. */
    const char *dir = harness_tmpdir();
    ex_place place[3];
    value_store *vs = cl_store(dir, 1, place);
    ex_poke_file(cl_vlog_path(dir, 7), place[0].offset + 100,
                 (uint8_t)(ex_value_byte(7, 0, 100) ^ 0x40));
    value_job *job = NULL;
    int rc = EX_KV(value_store_pick(vs, 0, &job));
    EX_CHECK(rc == KV_OK && job != NULL, "test setup: value_store_pick takes file 7 to empty "
             "(got %d: %s)", rc, ex_errmsg(rc));
    value_move m;
    int values = 0, more;
    while ((more = EX_KV(value_store_job_next(job, &m))) == 1) {
        value_store_job_result(job, VALUE_MOVED);
        values++;
    }
    EX_RULE_BEGIN(2, "a job that found its file damaged failed, whatever status says");
    harness_context("value_store_job_end(seq 90, KV_OK) of an emptying of file 7 whose scan met "
                    "a damaged record (its first value's checksum fails) and offered %d values",
                    values);
    value_store_job_end(vs, job, 90, KV_OK);
    vlog_file *f = ex_store_file(vs, 7);
    EX_CHECK(f->state == VLOG_LIVE && f->damaged, "an emptying that found its file damaged "
             "failed, whatever its status (KV_OK here: the engine answered every value it was "
             "given, and it was given none past the damage): the file is marked damaged and "
             "stays VLOG_LIVE, never VLOG_EMPTIED, since the values after the damage were "
             "never moved (got state %d, damaged %d)", (int)f->state, f->damaged);
    cl_kept(vs, dir, cl_collect(vs, 1000, 1000), "an emptying that met damage moved nothing "
            "past it");
    value_store_close(vs, 0);
}

/* The same through kv.h: a file whose values are mostly overwritten,
 * damaged in a value no key reads any more; kv_compact empties it (from
 * its keys, once its scan found the damage), and every key reads its
 * value before and after a reopen. */
static void gc_collect_a_damaged_file_met_while_emptying_loses_no_value(void)
{
    const char *dir = NULL;
    kv_db *db = ex_vlog_db(&dir, 0);
    ex_vlog_overwrites(db);
    /* key0's first value, dead now, damaged in file 1. */
    size_t n = 0;
    uint8_t *bytes = ex_read_file(cl_vlog_path(dir, 1), &n);
    uint8_t head[64];
    for (size_t j = 0; j < sizeof head; j++)
        head[j] = (uint8_t)(10 + j * 3);
    size_t at = 0;
    while (at + sizeof head <= n && memcmp(bytes + at, head, sizeof head) != 0)
        at++;
    EX_CHECK(at + sizeof head <= n, "test setup: key0's first value is in value-log file 1");
    ex_poke_file(cl_vlog_path(dir, 1), at + 200, (uint8_t)(bytes[at + 200] ^ 0x40));
    free(bytes);
    EX_RULE_BEGIN(2, "a file found damaged while it was emptied is not emptied with values "
                  "unmoved");
    harness_context("kv_compact over value-log file 1, six of whose eight values are "
                    "overwritten and one of those six damaged: the emptying meets the damage; "
                    "the test ends after 10 s of CPU");
    ex_bound_work(10);
    int rc = kv_compact(db);
    ex_bound_work(EX_TEST_CPU_SECONDS);
    (void)rc; /* the damage may be reported; what matters is what reads */
    ex_vlog_expect_overwrites(db, "a file found damaged while it was emptied is marked damaged "
                              "and stays (the values after the damage were never moved): every "
                              "key still reads its value");
    kv_close(db); /* it may report the damage */
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 64u << 10;
    db = ex_open(dir, &opt, "the database opens again after the collection met a damaged file");
    ex_vlog_expect_overwrites(db, "after a reopen, every key still reads its value: no file was "
                              "removed with values unmoved");
    kv_close(db);
}

typedef struct cl_locked {
    value_store *vs;
    value_job *job;
    _Atomic int done;
} cl_locked;

static void *cl_end_thread(void *arg)
{
    cl_locked *l = arg;
    value_store_job_end(l->vs, l->job, 100, KV_OK);
    atomic_store(&l->done, 1);
    return NULL;
}

static void gc_collect_a_job_ends_under_the_store_lock(void)
{
    EX_RULE_BEGIN(1, "the job's file and the store's counts changed under vs->lock");
    const char *dir = harness_tmpdir();
    value_store *vs = cl_store(dir, 1, NULL);
    cl_locked l = {.vs = vs};
    EX_CHECK(EX_KV(value_store_pick(vs, 0, &l.job)) == KV_OK && l.job != NULL,
             "test setup: value_store_pick takes file 7 (%s)", ex_kv_errmsg());
    value_move m;
    while (value_store_job_next(l.job, &m) == 1)
        value_store_job_result(l.job, VALUE_DEAD);
    harness_context("value_store_job_end on another thread while the test holds vs->lock: the "
                    "job's file and the store's counts are changed under vs->lock, so it waits");
    int waited = ex_waits_for_lock(&vs->lock, cl_end_thread, &l, &l.done);
    EX_CHECK(waited, "value_store_job_end returned while another thread held vs->lock: the "
             "file's state and counts and the store's are shared with the engine's writers "
             "and readers, so a job ends holding vs->lock (value_log.h: \"lock: the fields "
             "below, and each file's\")");
    value_store_close(vs, 0);
}

static const harness_test gc_collect_tests[] = {
    HARNESS_TEST(gc_collect_a_job_ended_is_freed),
    HARNESS_TEST(gc_collect_a_measure_counts_the_file),
    HARNESS_TEST(gc_collect_a_recount_keeps_what_the_drops_took),
    HARNESS_TEST(gc_collect_an_emptied_damaged_file_is_counted),
    HARNESS_TEST(gc_collect_an_emptying_that_meets_damage_empties_nothing),
    HARNESS_TEST(gc_collect_a_damaged_file_met_while_emptying_loses_no_value),
    /* The crash rung runs the tests named *_kill_*, the power rung those
     * named *_power_* (grade/grade.sh); the exercises rung, the others. */
    HARNESS_TEST(gc_collect_power_cut_at_each_step),
    HARNESS_TEST(gc_collect_kill_at_each_step),
    HARNESS_TEST(gc_collect_waits_for_the_moves_to_be_durable),
    HARNESS_TEST(gc_collect_with_no_reader_an_emptied_file_goes_at_once),
    HARNESS_TEST(gc_collect_waits_for_snapshots),
    HARNESS_TEST(gc_collect_waits_for_pins),
    HARNESS_TEST(gc_collect_waits_for_a_pin_of_either_parity),
    HARNESS_TEST(gc_collect_goes_on_under_overlapping_readers),
    HARNESS_TEST(gc_collect_removes_every_file_that_may_go),
    HARNESS_TEST(gc_collect_a_failed_job_keeps_the_file),
    HARNESS_TEST(gc_collect_a_job_ends_under_the_store_lock),
    HARNESS_TEST(gc_collect_kv_compact_frees_an_overwritten_file),
};
const harness_suite gc_collect_suite = HARNESS_SUITE("gc_collect", gc_collect_tests);
