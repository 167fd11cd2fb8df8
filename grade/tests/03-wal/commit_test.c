/*
 * commit_test.c: exercise commit, wal_queue_append
 * (stages/03-wal/wal/wal_queue.c): a group appended with one write and synced
 * once, before its owner applies it; a sync marker ahead of the first
 * group after a sync; failures undone or made final.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "ex_owner.h"
#include "ex_power.h"
#include "ex_wal.h"
#include "exercise.h"
#include "io_fault.h"
#include "kv.h"
#include "wal_marker.h"
#include "wal_reader.h"

static int write_one(ex_owner *o, uint32_t id)
{
    ex_write w;
    harness_context("wal_queue_append of record %u (5 bytes) at log size %llu, %d applied: one "
                    "append per group, one fsync if synced, before the owner applies it; a failed "
                    "append is cut off, a failed fsync is final", id, (unsigned long long)o->size,
                    o->napplied);
    ex_write_init(&w, o, id);
    return ex_write_run(&w);
}

static void commit_appends_syncs_then_applies(void)
{
    ex_trace_install(0);
    ex_owner o;
    ex_owner_init(&o, 1);
    EX_CHECK(EX_KV(write_one(&o, 1)) == KV_OK, "a synced write: %s", ex_kv_errmsg());
    const char *ev = ex_trace_events();
    EX_CHECK(strcmp(ev, "DAS") == 0,
             EX_RULE(2, "the directory synced first") "the first synced write into a log: the "
             "directory synced first (the log's name "
             "must be durable before the first synced write into it), then one append, then "
             "one fsync (events %s, want DAS: D dir sync, A append, S fsync)", ev);
    EX_CHECK(write_one(&o, 2) == KV_OK, "a second synced write");
    ev = ex_trace_events();
    EX_CHECK(strcmp(ev, "DASAS") == 0,
             EX_RULE(5, "one append") "the next write: one append (a sync marker and the record "
             "together), one fsync, "
             "and no directory sync (events %s, want DASAS)", ev);
    ex_trace_uninstall();
    EX_CHECK(ex_owner_close(&o) == KV_OK, "wal_queue_close");
}

static void commit_one_append_per_group(void)
{
    ex_trace_install(0);
    ex_owner o;
    ex_owner_init(&o, 1);
    EX_CHECK(EX_KV(write_one(&o, 1)) == KV_OK, "a synced write: %s", ex_kv_errmsg());
    size_t before = strlen(ex_trace_events());
    ex_write w[4];
    for (uint32_t i = 0; i < 4; i++)
        ex_write_init(&w[i], &o, 10 + i);
    harness_context("wal_queue_append of a group of 4 records (made by hand, as a leader's), "
                    "synced: one append of the marker and the 4 records, then one fsync");
    EX_CHECK(EX_KV(ex_owner_append_group(&o, w, 4)) == KV_OK,
             "a group of 4 records: %s", ex_kv_errmsg());
    const char *ev = ex_trace_events() + before;
    int appends = 0;
    for (const char *e = ev; *e != '\0'; e++)
        appends += *e == 'A';
    EX_CHECK(appends == 1,
             EX_RULE(5, "one write per group") "a group of 4 records is appended with one write, "
             "the marker and every record framed together (events %s: %d appends, want one; A "
             "append, S fsync)", ev, appends);
    EX_CHECK(strcmp(ev, "AS") == 0,
             EX_RULE(7, "the fsync after the append") "with sync, the log is fsynced once, after "
             "the group's append and before KV_OK (events %s, want AS: A append, S fsync)", ev);
    ex_trace_uninstall();
    EX_CHECK(o.napplied == 5, "test setup: 5 records applied (got %d)", o.napplied);
    EX_CHECK(ex_owner_close(&o) == KV_OK, "wal_queue_close");
}

static void commit_without_sync_never_syncs(void)
{
    ex_trace_install(0);
    ex_owner o;
    ex_owner_init(&o, 0);
    for (uint32_t i = 0; i < 3; i++)
        EX_CHECK(write_one(&o, i) == KV_OK, "a write without sync");
    const char *ev = ex_trace_events();
    EX_CHECK(strcmp(ev, "AAA") == 0, EX_RULE(8, "without sync, no fsync") "without sync, a "
             "write is one append and no fsync "
             "(events %s)", ev);
    ex_trace_uninstall();
    ex_owner_close(&o);
}

static void commit_marker_ahead_of_the_group_after_a_sync(void)
{
    ex_owner o;
    ex_owner_init(&o, 1);
    EX_CHECK(write_one(&o, 1) == KV_OK && write_one(&o, 2) == KV_OK && write_one(&o, 3) == KV_OK,
             "three synced writes");
    uint64_t end1 = o.applied_end[0];
    size_t n;
    uint8_t *b = ex_read_file(harness_join(o.dir, "1.log"), &n);
    wal_reader r;
    wal_reader_init_mem(&r, b, 0, n);
    harness_context("reading back 1.log (%zu bytes) after two synced writes: record 1, then a sync "
                    "marker naming where record 1 ended, then record 2", n);
    EX_CHECK(wal_reader_next(&r) == WAL_READ_RECORD && r.rec_len == 5 &&
                 coding_get_u32(r.rec + 1) == 1,
             EX_RULE(3, "a marker only after a sync") "the log starts with record 1: no marker "
             "before the first sync");
    uint64_t synced_to = 0;
    EX_CHECK(wal_reader_next(&r) == WAL_READ_RECORD &&
                 wal_marker_decode(r.rec, r.rec + r.rec_len, &synced_to) == 1,
             EX_RULE(3, "the marker first") "after a sync, the next group starts with a sync "
             "marker (wal_marker.h)");
    EX_CHECK(synced_to == end1, EX_RULE(3, "the marker names synced_to") "the marker names how "
             "far the log was synced: %llu, the end of "
             "record 1 (got %llu)", (unsigned long long)end1, (unsigned long long)synced_to);
    EX_CHECK(wal_reader_next(&r) == WAL_READ_RECORD && coding_get_u32(r.rec + 1) == 2,
             "then record 2");
    EX_CHECK(r.rec_start == o.applied_start[1] && r.rec_end == o.applied_end[1],
             EX_RULE(4, "each entry's start and end") "record 2's entry says where its framed "
             "bytes are in the log, [%llu, %llu), after the marker (got [%llu, %llu))",
             (unsigned long long)r.rec_start, (unsigned long long)r.rec_end,
             (unsigned long long)o.applied_start[1], (unsigned long long)o.applied_end[1]);
    uint64_t end2 = r.rec_end;
    int rc3 = wal_reader_next(&r);
    EX_CHECK(rc3 == WAL_READ_RECORD &&
                 wal_marker_decode(r.rec, r.rec + r.rec_len, &synced_to) == 1 && synced_to == end2,
             EX_RULE(3, "a marker after each sync") "after the second sync, the third group starts "
             "with a marker too, naming where record 2 ended, %llu: marked_to is how far the "
             "last marker said the log was synced (got %s)", (unsigned long long)end2,
             rc3 == WAL_READ_RECORD ? "another record there" : "nothing");
    EX_CHECK(wal_reader_next(&r) == WAL_READ_RECORD && coding_get_u32(r.rec + 1) == 3,
             EX_RULE(4, "the records after the marker") "then record 3");
    wal_reader_free(&r);
    free(b);
    ex_owner_close(&o);
}

static void commit_failed_append_is_undone(void)
{
    io_fault_plan none = {.kinds = IO_FAULT_APPEND};
    io_fault_install(&none);
    ex_owner o;
    ex_owner_init(&o, 0);
    EX_CHECK(write_one(&o, 1) == KV_OK, "a write");
    uint64_t size = o.size;
    io_fault_plan half = {.kinds = IO_FAULT_APPEND, .fail_at = 1, .persistent = 1,
                          .short_write = 1, .err = ENOSPC};
    io_fault_install(&half);
    int rc = write_one(&o, 2);
    EX_CHECK(rc != KV_OK, EX_RULE(6, "a failed append") "a failed append is reported");
    io_fault_install(&none);
    uint64_t now = 0;
    EX_CHECK(io_size(o.log, &now) == KV_OK && now == size,
             EX_RULE(6, "a failed append cut off") "a failed append is cut off again "
             "(io_truncate back to where the group started), "
             "so the next group does not land after half a record (size %llu, want %llu)",
             (unsigned long long)now, (unsigned long long)size);
    EX_CHECK(o.napplied == 1, EX_RULE(6, "a failed append") "a record whose append failed is "
             "not applied");
    EX_CHECK(EX_KV(write_one(&o, 3)) == KV_OK,
             EX_RULE(6, "a failed append cut off") "a failed append "
             "that was undone fails that group "
             "only: the next write succeeds (%s)", ex_kv_errmsg());
    io_fault_uninstall();
    ex_owner_close(&o);
}

static void commit_failed_fsync_is_final(void)
{
    io_fault_plan none = {.kinds = IO_FAULT_SYNC};
    io_fault_install(&none);
    ex_owner o;
    ex_owner_init(&o, 1);
    EX_CHECK(write_one(&o, 1) == KV_OK, "a synced write");
    io_fault_plan fail = {.kinds = IO_FAULT_SYNC, .fail_at = 1};
    io_fault_install(&fail);
    EX_CHECK(write_one(&o, 2) != KV_OK, EX_RULE(7, "a failed fsync") "a write whose fsync fails "
             "is reported");
    EX_CHECK(wal_queue_failed(o.q), EX_RULE(7, "a failed fsync is final") "after a failed "
             "fsync, wal_queue_failed says the failure "
             "is final, so that the owner refuses writes too");
    EX_CHECK(o.napplied == 1, EX_RULE(7, "a failed fsync") "a record whose fsync failed is not "
             "applied: it may not be on "
             "disk, so readers must not see it");
    io_fault_install(&none);
    int rc = EX_KV(write_one(&o, 3));
    EX_CHECK(rc != KV_OK,
             EX_RULES("1 and 7", "a failed fsync is final: every later append refused") "a "
             "failed fsync is final: a retried fsync "
             "can report success for pages the "
             "kernel already dropped, so every later write fails until a reopen (got %d)", rc);
    EX_CHECK(wal_queue_failed(o.q), EX_RULE(1, "refused after a final failure") "wal_queue_failed still says so");
    EX_CHECK(strstr(kv_errmsg(), strerror(EIO)) != NULL,
             EX_RULE(1, "the refusal names the earlier failure") "a write refused after a final "
             "failure says which failure it was: the failed fsync's message, whose cause is "
             "\"%s\" (got \"%s\")", strerror(EIO), kv_errmsg());
    io_fault_uninstall();
    ex_owner_close(&o);
}

static void commit_without_sync_writes_no_marker(void)
{
    ex_owner o;
    ex_owner_init(&o, 0);
    for (uint32_t i = 1; i <= 3; i++)
        EX_CHECK(write_one(&o, i) == KV_OK, "a write without sync");
    wal_queue_stats st;
    wal_queue_stats_get(o.q, &st);
    EX_CHECK(st.records == 3 && st.groups == 3 && st.largest_group == 1,
             "one writer at a time: 3 groups of one record, so the largest group is 1 (got "
             "%llu records, %llu groups, largest %llu)", (unsigned long long)st.records,
             (unsigned long long)st.groups, (unsigned long long)st.largest_group);
    size_t n;
    uint8_t *b = ex_read_file(harness_join(o.dir, "1.log"), &n);
    wal_reader r;
    wal_reader_init_mem(&r, b, 0, n);
    for (uint32_t i = 1; i <= 3; i++) {
        uint64_t synced_to = 0;
        harness_context("reading back 1.log (%zu bytes) after 3 writes without sync: records 1, 2, "
                        "3, no sync marker", n);
        int rc = wal_reader_next(&r);
        EX_CHECK(rc == WAL_READ_RECORD && !wal_marker_decode(r.rec, r.rec + r.rec_len,
                                                              &synced_to) &&
                     r.rec_len == 5 && coding_get_u32(r.rec + 1) == i,
                 EX_RULE(8, "without sync, no marker") "without sync nothing is ever synced, so "
                 "no group starts with a sync marker: "
                 "the log holds records 1, 2, 3 and nothing else (record %u)", i);
    }
    EX_CHECK(wal_reader_next(&r) == WAL_READ_END, "and nothing after record 3");
    wal_reader_free(&r);
    free(b);
    ex_owner_close(&o);
}

static void commit_huge_record_then_more(void)
{
    ex_owner o;
    ex_owner_init(&o, 0);
    size_t big = 3u << 20; /* over twice WAL_QUEUE_GROUP_MAX: its buffer is not kept */
    uint8_t *payload = malloc(big);
    EX_CHECK(payload != NULL, "out of memory");
    memset(payload, 'x', big);
    payload[0] = 'R';
    coding_put_u32(payload + 1, 1);
    ex_write w;
    ex_write_init(&w, &o, 1);
    w.e.payload = payload;
    w.e.len = big;
    harness_context("wal_queue_append of a 3 MiB record, then two small ones: a buffer too large "
                    "to keep is freed, and the next groups get a buffer made anew");
    EX_CHECK(EX_KV(ex_write_run(&w)) == KV_OK, "a 3 MiB record is written: %s", ex_kv_errmsg());
    EX_CHECK(EX_KV(write_one(&o, 2)) == KV_OK && EX_KV(write_one(&o, 3)) == KV_OK,
             "after a record too large to keep its buffer for (it is freed), the next groups "
             "are written into a buffer made anew: %s", ex_kv_errmsg());
    size_t n;
    uint8_t *b = ex_read_file(harness_join(o.dir, "1.log"), &n);
    wal_reader r;
    wal_reader_init_mem(&r, b, 0, n);
    harness_context("reading back 1.log (%zu bytes): the 3 MiB record whole, then records 2 and 3",
                    n);
    EX_CHECK(wal_reader_next(&r) == WAL_READ_RECORD && r.rec_len == big,
             "the log holds the 3 MiB record whole");
    for (uint32_t i = 2; i <= 3; i++)
        EX_CHECK(wal_reader_next(&r) == WAL_READ_RECORD && r.rec_len == 5 &&
                     coding_get_u32(r.rec + 1) == i,
                 "then record %u", i);
    wal_reader_free(&r);
    free(b);
    free(payload);
    ex_owner_close(&o);
}

/* The heap in use, in bytes, or 0 where the C library cannot say (then
 * the check below is empty). */
static size_t heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#else
    return 0;
#endif
}

static void commit_huge_buffer_is_given_back(void)
{
    ex_owner o;
    ex_owner_init(&o, 0);
    EX_CHECK(write_one(&o, 1) == KV_OK, "a small write first: the queue's buffer exists");
    size_t big = 3u << 20; /* over twice WAL_QUEUE_GROUP_MAX */
    uint8_t *payload = malloc(big);
    EX_CHECK(payload != NULL, "out of memory");
    memset(payload, 'x', big);
    payload[0] = 'R';
    coding_put_u32(payload + 1, 2);
    ex_write w;
    ex_write_init(&w, &o, 2);
    w.e.payload = payload;
    w.e.len = big;
    harness_context("wal_queue_append of a 3 MiB record, the heap measured around it: a buffer "
                    "grown past 2 * WAL_QUEUE_GROUP_MAX is freed once the group is appended");
    size_t before = heap_in_use();
    EX_CHECK(EX_KV(ex_write_run(&w)) == KV_OK, "a 3 MiB record is written: %s", ex_kv_errmsg());
    size_t after = heap_in_use();
    EX_CHECK(after < before + big,
             "a buffer grown past 2 * WAL_QUEUE_GROUP_MAX for one huge record is given back "
             "once the group is appended (free(q->buf), then q->buf = NULL): dropping it "
             "without the free leaks it (the heap grew by %zu bytes over a 3 MiB record)",
             after > before ? after - before : (size_t)0);
    free(payload);
    ex_owner_close(&o);
}

static void commit_one_marker_per_sync(void)
{
    ex_owner o;
    ex_owner_init(&o, 0);
    EX_CHECK(write_one(&o, 1) == KV_OK, "a write without sync");
    wal_target t = {.file = o.log, .id = 1, .at = o.size};
    harness_context("wal_queue_sync after record 1, then records 2 and 3: one marker ahead of the "
                    "first group after a sync, none before the next");
    EX_CHECK(EX_KV(wal_queue_sync(o.q, &t, "test_sync")) == KV_OK,
             "wal_queue_sync: %s", ex_kv_errmsg());
    uint64_t end1 = o.size;
    EX_CHECK(write_one(&o, 2) == KV_OK && write_one(&o, 3) == KV_OK, "two more writes");
    size_t n;
    uint8_t *b = ex_read_file(harness_join(o.dir, "1.log"), &n);
    wal_reader r;
    wal_reader_init_mem(&r, b, 0, n);
    uint64_t synced_to = 0;
    harness_context("reading back 1.log (%zu bytes): record 1, a marker naming %llu, record 2, "
                    "then record 3 with no marker", n, (unsigned long long)end1);
    EX_CHECK(wal_reader_next(&r) == WAL_READ_RECORD && coding_get_u32(r.rec + 1) == 1,
             "the log starts with record 1");
    EX_CHECK(wal_reader_next(&r) == WAL_READ_RECORD &&
                 wal_marker_decode(r.rec, r.rec + r.rec_len, &synced_to) == 1 &&
                 synced_to == end1,
             "after an explicit sync, the next group starts with a marker naming it (%llu)",
             (unsigned long long)end1);
    EX_CHECK(wal_reader_next(&r) == WAL_READ_RECORD && coding_get_u32(r.rec + 1) == 2,
             "then record 2");
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_RECORD && !wal_marker_decode(r.rec, r.rec + r.rec_len, &synced_to) &&
                 coding_get_u32(r.rec + 1) == 3,
             "then record 3, with no marker before it: a marker says a sync happened, once; "
             "with no sync since the last marker there is nothing new to say (marked_to "
             "keeps what the last marker named)");
    wal_reader_free(&r);
    free(b);
    ex_owner_close(&o);
}

/* Synced writes through kv.h, the power cut after every step of the
 * journal (ex_power.h): a write acknowledged with sync = 1 survives
 * whatever comes after, so the directory that names the log was synced
 * before the first record went into it, and the log itself after the
 * append and before wal_queue_append returned. */
static void commit_power_cut_at_every_step(void)
{
    const char *path = ex_power_start();
    kv_options opt;
    kv_options_init(&opt);
    opt.sync = 1;
    kv_db *db = ex_open(path, &opt, "open the test's database (sync = 1)");
    for (int i = 0; i < 6; i++) {
        char k[16], v[32];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "value-%d", i);
        ex_put(db, k, v, "a put with sync = 1");
        ex_power_acked(k, v);
    }
    EX_CHECK(EX_KV(kv_delete(db, "k2", 2)) == KV_OK, "a delete with sync = 1: %s", ex_kv_errmsg());
    ex_power_acked("k2", NULL);
    kv_close(db);
    ex_power_stop();
    ex_power_check(&opt, EX_RULES("2 and 7", "the directory synced before the first record "
                                  "goes into a new log, the log fsynced after the append and "
                                  "before KV_OK"));
}

static const harness_test commit_tests[] = {
    HARNESS_TEST(commit_power_cut_at_every_step),
    HARNESS_TEST(commit_one_append_per_group),
    HARNESS_TEST(commit_appends_syncs_then_applies),
    HARNESS_TEST(commit_without_sync_never_syncs),
    HARNESS_TEST(commit_marker_ahead_of_the_group_after_a_sync),
    HARNESS_TEST(commit_failed_append_is_undone),
    HARNESS_TEST(commit_failed_fsync_is_final),
    HARNESS_TEST(commit_without_sync_writes_no_marker),
    HARNESS_TEST(commit_huge_record_then_more),
    HARNESS_TEST(commit_huge_buffer_is_given_back),
    HARNESS_TEST(commit_one_marker_per_sync),
};
const harness_suite commit_suite = HARNESS_SUITE("commit", commit_tests);
