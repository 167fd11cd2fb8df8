/*
 * wal_queue_test.c: the group-commit queue (wal_queue.h) on its own, with
 * an owner that is just a log file, whose write follows the steps of
 * wal_queue.h as stage 04's does: records are applied in the order they
 * are in the log, numbers (stamps) come in that order too,
 * sync markers name what was synced, the directory is synced before the
 * first synced write into each log, a failed fsync is final, and what is
 * not an fsync (a directory that cannot be opened, an append cut off, no
 * memory) fails one group only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../tests/harness.h"
#include "alloc_fail.h"
#include "slow_io.h"
#include "coding.h"
#include "error.h"
#include "io.h"
#include "io_fault.h"
#include "kv.h"
#include "wal_marker.h"
#include "wal_queue.h"
#include "wal_reader.h"

#define OWNER_MAX_LOGS 8
#define OWNER_MAX_RECORDS 1024

/* The owner: a directory of logs named <id>.log, the last one the target. */
typedef struct owner {
    pthread_mutex_t lock;       /* the write lock */
    const char *dir;
    io_file *logs[OWNER_MAX_LOGS];
    uint64_t nlogs;             /* the current log is logs[nlogs - 1], id nlogs */
    uint64_t size;              /* its size as the owner knows it */
    int roll_next;              /* making room starts a new log first */
    int failed_calls;           /* appends whose failure the queue called final */
    int bad_places;             /* apply saw an empty place (threads never CHECK) */
    uint64_t next_stamp;
    size_t napplied;
    uint64_t applied_stamp[OWNER_MAX_RECORDS];
    uint64_t applied_log[OWNER_MAX_RECORDS], applied_end[OWNER_MAX_RECORDS];
} owner;

/* One write: 'R', an 8-byte stamp, then text. */
typedef struct write_ctx {
    wal_entry e;
    owner *o;
    uint8_t payload[32];
    size_t len;
} write_ctx;

static const char *owner_log_path(const owner *o, uint64_t id)
{
    char name[32];
    snprintf(name, sizeof name, "%llu.log", (unsigned long long)id);
    return harness_join(o->dir, name);
}

static int owner_new_log(owner *o)
{
    io_file *f = NULL;
    int rc = io_open(owner_log_path(o, o->nlogs + 1), IO_WRITE | IO_CREATE | IO_TRUNC, &f);
    if (rc == KV_OK) {
        o->logs[o->nlogs++] = f;
        o->size = 0;
    }
    return rc;
}

static wal_target owner_target(owner *o)
{
    return (wal_target){.file = o->logs[o->nlogs - 1], .id = o->nlogs, .at = o->size};
}

/* The owner's room: a new log first if asked to.  REQUIRES: its lock. */
static int owner_make_room(owner *o, wal_target *t)
{
    if (o->roll_next) {
        o->roll_next = 0;
        int rc = owner_new_log(o);
        if (rc != KV_OK)
            return rc;
    }
    *t = owner_target(o);
    return KV_OK;
}

/* The leader's steps: room, numbers, the append, then each record applied
 * in queue order.  REQUIRES: the owner's lock. */
static int owner_lead(owner *o, wal_queue *q, wal_group *g)
{
    wal_target t;
    int rc = owner_make_room(o, &t);
    if (rc != KV_OK)
        return rc;
    for (wal_entry *e = g->first; e != NULL; e = wal_group_next(g, e)) {
        write_ctx *w = e->ctx;
        coding_put_u64(w->payload + 1, o->next_stamp++);
    }
    rc = wal_queue_append(q, g, &t);
    if (rc != KV_OK) {
        o->failed_calls += wal_queue_failed(q);
        return rc;
    }
    for (wal_entry *e = g->first; e != NULL; e = wal_group_next(g, e)) {
        write_ctx *w = e->ctx;
        o->bad_places += e->start >= e->end;
        if (o->napplied < OWNER_MAX_RECORDS) {
            o->applied_stamp[o->napplied] = coding_get_u64(w->payload + 1);
            o->applied_log[o->napplied] = t.id;
            o->applied_end[o->napplied] = e->end;
        }
        o->napplied++;
        o->size = e->end;
    }
    return KV_OK;
}

static void owner_init(owner *o)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
    o->dir = harness_tmpdir();
    CHECK_KV(owner_new_log(o), KV_OK);
}

static wal_queue *owner_queue(owner *o, int sync)
{
    wal_queue *q = NULL;
    CHECK_KV(wal_queue_new(o->dir, sync, &q), KV_OK);
    return q;
}

static int owner_close(owner *o, wal_queue *q)
{
    wal_target t = owner_target(o);
    int rc = wal_queue_close(q, &t, 0);
    for (uint64_t i = 0; i < o->nlogs; i++)
        io_close(o->logs[i]);
    pthread_mutex_destroy(&o->lock);
    return rc;
}

static int queue_put(wal_queue *q, owner *o, const char *text)
{
    write_ctx w = {.o = o};
    w.payload[0] = 'R';
    size_t n = strlen(text);
    memcpy(w.payload + 9, text, n);
    w.len = 9 + n;
    w.e = (wal_entry){.call = "test", .payload = w.payload, .len = w.len, .room = 1,
                      .ctx = &w};
    wal_group g;
    if (wal_queue_join(q, &w.e, &g)) {
        pthread_mutex_lock(&o->lock);
        int rc = owner_lead(o, q, &g);
        pthread_mutex_unlock(&o->lock);
        wal_queue_finish(q, &g, rc);
    }
    return w.e.status;
}

static wal_queue_stats queue_stats(wal_queue *q)
{
    wal_queue_stats s;
    wal_queue_stats_get(q, &s);
    return s;
}

/* What a log holds, in order: 'R' records by stamp, markers by synced_to
 * (as ~synced_to, to tell them apart), and each one's end. */
typedef struct log_items {
    size_t n;
    uint64_t what[OWNER_MAX_RECORDS], end[OWNER_MAX_RECORDS];
} log_items;

static void read_log(const owner *o, uint64_t id, log_items *items)
{
    io_file *f = NULL;
    CHECK_KV(io_open(owner_log_path(o, id), IO_READ, &f), KV_OK);
    wal_reader r;
    wal_reader_init_file(&r, f, 0, f->end);
    int rc;
    items->n = 0;
    while ((rc = wal_reader_next(&r)) == WAL_READ_RECORD && items->n < OWNER_MAX_RECORDS) {
        uint64_t synced_to = 0;
        if (wal_marker_decode(r.rec, r.rec + r.rec_len, &synced_to)) {
            items->what[items->n] = ~synced_to;
        } else {
            CHECK(r.rec_len > 9 && r.rec[0] == 'R');
            items->what[items->n] = coding_get_u64(r.rec + 1);
        }
        items->end[items->n++] = r.rec_end;
    }
    CHECK_EQ(rc, WAL_READ_END);
    wal_reader_free(&r);
    io_close(f);
}

/* ---- many writers ------------------------------------------------------ */

typedef struct writer_arg {
    wal_queue *q;
    owner *o;
    int id, n, failures;
} writer_arg;

static void *writer_main(void *p)
{
    writer_arg *a = p;
    for (int i = 0; i < a->n; i++) {
        char text[16];
        snprintf(text, sizeof text, "w%d-%d", a->id, i);
        a->failures += queue_put(a->q, a->o, text) != KV_OK;
    }
    return NULL;
}

/* Eight threads, an fsync that takes 2 ms: groups form, and still every
 * record is applied in exactly the order of the log, stamped in that
 * order, and each group after a sync starts with a marker naming the end
 * of the group before it. */
static void queue_applies_each_record_in_log_order_from_many_writers(void)
{
    slow_io_install(2);
    owner o;
    owner_init(&o);
    wal_queue *q = owner_queue(&o, 1);
    enum { THREADS = 8, EACH = 25 };
    pthread_t t[THREADS];
    writer_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (writer_arg){.q = q, .o = &o, .id = i, .n = EACH};
        CHECK(pthread_create(&t[i], NULL, writer_main, &args[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(t[i], NULL) == 0);
        CHECK_EQ(args[i].failures, 0);
    }
    wal_queue_stats s = queue_stats(q);
    CHECK_EQ(s.records, THREADS * EACH);
    CHECK_MSG(s.groups < s.records, "%llu groups for %llu records",
              (unsigned long long)s.groups, (unsigned long long)s.records);
    CHECK_EQ(s.syncs, s.groups);
    CHECK_EQ(s.dir_syncs, 1);
    CHECK_KV(owner_close(&o, q), KV_OK);
    slow_io_uninstall();

    log_items items;
    read_log(&o, 1, &items);
    size_t k = 0;
    uint64_t prev_end = 0;
    for (size_t i = 0; i < items.n; i++) {
        if (items.what[i] > UINT64_MAX / 2) { /* a marker */
            CHECK_EQ(~items.what[i], prev_end);
            continue;
        }
        CHECK_EQ(items.what[i], k); /* stamped in log order */
        CHECK_EQ(o.applied_stamp[k], k); /* applied in log order */
        CHECK_EQ(o.applied_end[k], items.end[i]);
        prev_end = items.end[i];
        k++;
    }
    CHECK_EQ(k, THREADS * EACH);
    CHECK_EQ(o.napplied, THREADS * EACH);
    CHECK_EQ(o.bad_places, 0);
}

/* ---- syncs --------------------------------------------------------------- */

static void queue_syncs_the_directory_before_the_first_synced_write_into_each_log(void)
{
    owner o;
    owner_init(&o);
    wal_queue *q = owner_queue(&o, 1);
    CHECK_KV(queue_put(q, &o, "a"), KV_OK);
    CHECK_EQ(queue_stats(q).dir_syncs, 1); /* the log may come from an earlier open */
    CHECK_KV(queue_put(q, &o, "b"), KV_OK);
    CHECK_EQ(queue_stats(q).dir_syncs, 1);
    o.roll_next = 1;
    CHECK_KV(queue_put(q, &o, "c"), KV_OK);
    CHECK_EQ(queue_stats(q).dir_syncs, 2); /* a new log's name */
    CHECK_EQ(queue_stats(q).syncs, 3);
    CHECK_KV(owner_close(&o, q), KV_OK);
    log_items items;
    read_log(&o, 1, &items); /* a, marker, b: the roll left it at b */
    CHECK_EQ(items.n, 3);
    CHECK_EQ(~items.what[1], items.end[0]);
    read_log(&o, 2, &items); /* c, then the close's marker naming c's end */
    CHECK_EQ(items.n, 2);
    CHECK_EQ(~items.what[1], items.end[0]);
}

/* sync = 0: nothing is synced while writing; close syncs the log, marks
 * it, and syncs the directory (a cleanly closed log must survive). */
static const io_ops *count_base;
static io_ops count_ops;
static long count_syncs, count_dir_syncs;

static int count_sync(io_file *f)
{
    count_syncs++;
    return count_base->sync(f);
}

static int count_sync_dir(const char *dir, int *opened)
{
    count_dir_syncs++;
    return count_base->sync_dir(dir, opened);
}

static int count_open(const char *path, int flags, io_file **f)
{
    int rc = count_base->open(path, flags, f);
    if (rc == 0)
        (*f)->ops = &count_ops;
    return rc;
}

static void queue_without_sync_syncs_only_at_close(void)
{
    count_base = io_get_ops();
    count_ops = *count_base;
    count_ops.sync = count_sync;
    count_ops.sync_dir = count_sync_dir;
    count_ops.open = count_open;
    count_syncs = count_dir_syncs = 0;
    io_set_ops(&count_ops);
    owner o;
    owner_init(&o);
    wal_queue *q = owner_queue(&o, 0);
    for (int i = 0; i < 5; i++)
        CHECK_KV(queue_put(q, &o, "x"), KV_OK);
    CHECK_EQ(count_syncs, 0);
    CHECK_EQ(count_dir_syncs, 0);
    uint64_t end = o.size;
    CHECK_KV(owner_close(&o, q), KV_OK);
    io_set_ops(count_base);
    CHECK_EQ(count_syncs, 1);
    CHECK_EQ(count_dir_syncs, 1);
    log_items items;
    read_log(&o, 1, &items);
    CHECK_EQ(items.n, 6);
    CHECK_EQ(~items.what[5], end); /* the close's marker */
}

/* ---- failures ------------------------------------------------------------ */

/* The plan goes in before the log is opened: a file keeps its backend. */
static void queue_failed_fsync_is_final_and_says_so(void)
{
    io_fault_plan plan = {.kinds = IO_FAULT_SYNC, .fail_at = 2}; /* 1: the directory */
    io_fault_install(&plan);
    owner o;
    owner_init(&o);
    wal_queue *q = owner_queue(&o, 1);
    CHECK_KV(queue_put(q, &o, "lost"), KV_ERR_IO);
    CHECK_MSG(strstr(kv_errmsg(), "fsync") != NULL, "%s", kv_errmsg());
    CHECK_EQ(o.failed_calls, 1);
    CHECK_EQ(wal_queue_failed(q), 1);
    CHECK_KV(queue_put(q, &o, "after"), KV_ERR_IO); /* the disk is fine again */
    CHECK_MSG(strstr(kv_errmsg(), "reopen") != NULL, "%s", kv_errmsg());
    CHECK_EQ(o.napplied, 0);
    CHECK_EQ(queue_stats(q).failed, 1);
    CHECK_KV(owner_close(&o, q), KV_OK); /* a failed queue writes nothing more */
    io_fault_uninstall();
}

static void queue_directory_it_cannot_open_fails_one_write_only(void)
{
    io_fault_plan plan = {.kinds = IO_FAULT_DIR_OPEN, .fail_at = 1, .err = EMFILE};
    io_fault_install(&plan);
    owner o;
    owner_init(&o);
    wal_queue *q = owner_queue(&o, 1);
    CHECK_KV(queue_put(q, &o, "refused"), KV_ERR_IO);
    CHECK_MSG(strstr(kv_errmsg(), "open directory") != NULL, "%s", kv_errmsg());
    CHECK_EQ(wal_queue_failed(q), 0);
    CHECK_EQ(o.failed_calls, 0);
    CHECK_EQ(o.logs[0]->end, 0); /* nothing was written */
    CHECK_KV(queue_put(q, &o, "next"), KV_OK);
    CHECK_EQ(o.napplied, 1);
    CHECK_KV(owner_close(&o, q), KV_OK);
    io_fault_uninstall();
    log_items items;
    read_log(&o, 1, &items);
    CHECK_EQ(items.n, 2); /* "next" and the close's marker */
}

static void queue_failed_append_is_cut_off_and_not_final(void)
{
    /* Persistent, so that io.c's retry of the short write fails too. */
    io_fault_plan plan = {.kinds = IO_FAULT_APPEND, .fail_at = 2, .short_write = 1,
                          .persistent = 1};
    io_fault_install(&plan);
    owner o;
    owner_init(&o);
    wal_queue *q = owner_queue(&o, 0);
    CHECK_KV(queue_put(q, &o, "first"), KV_OK);
    uint64_t end = o.size;
    CHECK_KV(queue_put(q, &o, "half-written"), KV_ERR_IO);
    CHECK_EQ(io_fault_failures(), 2);
    CHECK_EQ(o.logs[0]->end, end); /* cut back */
    CHECK_EQ(wal_queue_failed(q), 0);
    io_fault_plan disarmed = {.kinds = IO_FAULT_APPEND};
    io_fault_install(&disarmed); /* the log keeps the fault backend */
    CHECK_KV(queue_put(q, &o, "third"), KV_OK);
    CHECK_KV(owner_close(&o, q), KV_OK);
    io_fault_uninstall();
    log_items items;
    read_log(&o, 1, &items);
    CHECK_EQ(items.n, 3); /* first, third, the close's marker: no damage */
}

static void queue_append_that_cannot_be_cut_off_is_final(void)
{
    io_fault_plan plan = {.kinds = IO_FAULT_APPEND | IO_FAULT_TRUNCATE, .fail_at = 1,
                          .persistent = 1};
    io_fault_install(&plan);
    owner o;
    owner_init(&o);
    wal_queue *q = owner_queue(&o, 0);
    CHECK_KV(queue_put(q, &o, "x"), KV_ERR_IO);
    CHECK_MSG(strstr(kv_errmsg(), "could not be cut off") != NULL, "%s", kv_errmsg());
    CHECK_EQ(wal_queue_failed(q), 1);
    CHECK_EQ(o.failed_calls, 1);
    io_fault_uninstall();
    CHECK_KV(queue_put(q, &o, "y"), KV_ERR_IO);
    CHECK_KV(owner_close(&o, q), KV_OK);
}

/* Every allocation the commit path makes, failed in turn: the write fails
 * with KV_ERR_NOMEM and writes nothing, and the next one goes through. */
static void queue_out_of_memory_fails_one_write_and_writes_nothing(void)
{
    if (!alloc_fail_available())
        return; /* a sanitizer's allocator cannot be failed from here */
    owner o;
    owner_init(&o);
    wal_queue *q = owner_queue(&o, 0);
    long n;
    size_t done = 0;
    for (n = 1; n < 50; n++) {
        harness_context("allocation %ld of a write fails", n);
        uint64_t end = o.logs[0]->end;
        alloc_fail_arm(n);
        int rc = queue_put(q, &o, "value");
        long failures = alloc_fail_failures();
        alloc_fail_disarm();
        if (failures == 0) {
            CHECK_KV(rc, KV_OK);
            done++;
            break;
        }
        CHECK_KV(rc, KV_ERR_NOMEM);
        CHECK_EQ(o.logs[0]->end, end);
        CHECK_EQ(wal_queue_failed(q), 0);
        CHECK_KV(queue_put(q, &o, "next"), KV_OK);
        done++;
    }
    CHECK_MSG(n > 1 && n < 50, "a write made %ld allocations", n - 1);
    CHECK_EQ(o.napplied, done);
    CHECK_KV(owner_close(&o, q), KV_OK);
    log_items items;
    read_log(&o, 1, &items);
    CHECK_EQ(items.n, done + 1);
}

static const harness_test wal_queue_tests[] = {
    HARNESS_TEST(queue_applies_each_record_in_log_order_from_many_writers),
    HARNESS_TEST(queue_syncs_the_directory_before_the_first_synced_write_into_each_log),
    HARNESS_TEST(queue_without_sync_syncs_only_at_close),
    HARNESS_TEST(queue_failed_fsync_is_final_and_says_so),
    HARNESS_TEST(queue_directory_it_cannot_open_fails_one_write_only),
    HARNESS_TEST(queue_failed_append_is_cut_off_and_not_final),
    HARNESS_TEST(queue_append_that_cannot_be_cut_off_is_final),
    HARNESS_TEST(queue_out_of_memory_fails_one_write_and_writes_nothing),
};
const harness_suite wal_queue_suite = HARNESS_SUITE("wal_queue", wal_queue_tests);
