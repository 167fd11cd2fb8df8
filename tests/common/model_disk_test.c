/*
 * model_disk_test.c: the modeled slow disk of bench/model_disk.h, which
 * limiter_latency's --disk-mbps runs on.  Appends are queued for the
 * device in write-back pieces and cost the appender nothing; a read waits
 * for everything queued before it; a sync waits for its file's pieces; a
 * file the model skips (the write-ahead log) goes by it; no file can be
 * mapped.  Times are checked only from below (a request never ends before
 * the device could have done the work queued ahead of it), so a slow
 * machine cannot fail them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../harness.h"
#include "io.h"
#include "kv.h"
#include "model_disk.h"

#define RATE 10e6 /* bytes a second: 1 MiB takes about 105 ms */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static io_file *model_create(const char *name)
{
    io_file *f = NULL;
    CHECK_KV(io_open(harness_join(harness_tmpdir(), name), IO_WRITE | IO_CREATE, &f), KV_OK);
    return f;
}

static void a_read_waits_behind_the_write_back(void)
{
    model_disk_install(RATE, 0, NULL, MODEL_DISK_ONE_QUEUE);
    io_file *f = model_create("table");
    char *mib = calloc(1, 1 << 20);
    CHECK(mib != NULL);
    double start = now_s();
    CHECK_KV(io_append_bytes(f, mib, 1 << 20), KV_OK);
    model_disk_counts c;
    model_disk_get_counts(&c);
    /* Four pieces of 256 KiB queued; the append did not wait for them. */
    CHECK_EQ(c.writes, 4);
    CHECK_EQ(c.write_bytes, 1u << 20);
    CHECK_EQ(c.reads, 0);
    char buf[4096];
    size_t got = 0;
    CHECK_KV(io_read_at(f, 0, buf, sizeof buf, &got), KV_OK);
    double took = now_s() - start;
    CHECK_EQ(got, sizeof buf);
    CHECK_MSG(took >= ((1 << 20) + 4096) / RATE,
              "the read came back after %.3f s, before the write-back ahead of it", took);
    model_disk_get_counts(&c);
    CHECK_EQ(c.reads, 1);
    CHECK_EQ(c.read_bytes, 4096);
    CHECK_KV(io_close(f), KV_OK);
    free(mib);
    model_disk_uninstall();
}

static void a_sync_waits_for_its_pieces(void)
{
    model_disk_install(RATE, 0, NULL, MODEL_DISK_ONE_QUEUE);
    io_file *f = model_create("table");
    static char part[100 << 10];
    double start = now_s();
    CHECK_KV(io_append_bytes(f, part, sizeof part), KV_OK);
    model_disk_counts c;
    model_disk_get_counts(&c);
    CHECK_EQ(c.writes, 0); /* less than a piece: still in memory */
    CHECK_KV(io_sync(f), KV_OK);
    double took = now_s() - start;
    model_disk_get_counts(&c);
    CHECK_EQ(c.writes, 1);
    CHECK_EQ(c.write_bytes, sizeof part);
    CHECK_MSG(took >= sizeof part / RATE, "the sync came back after %.3f s", took);
    CHECK(c.busy_ns >= (uint64_t)(sizeof part / RATE * 1e9));
    CHECK_KV(io_close(f), KV_OK);
    model_disk_uninstall();
}

static void a_skipped_file_goes_by_and_nothing_maps(void)
{
    model_disk_install(RATE, 0, ".log", MODEL_DISK_ONE_QUEUE);
    io_file *log = model_create("000001.log");
    static char part[300 << 10];
    CHECK_KV(io_append_bytes(log, part, sizeof part), KV_OK);
    CHECK_KV(io_sync(log), KV_OK);
    model_disk_counts c;
    model_disk_get_counts(&c);
    CHECK_EQ(c.writes, 0);
    CHECK_EQ(c.busy_ns, 0);
    io_file *t = model_create("000002.tbl");
    CHECK_KV(io_append_bytes(t, part, 4096), KV_OK);
    const void *addr = NULL;
    uint64_t len = 1;
    CHECK_KV(io_map(t, &addr, &len), KV_OK);
    CHECK(addr == NULL && len == 0); /* read with io_read_at, through the model */
    CHECK_KV(io_close(t), KV_OK);
    model_disk_get_counts(&c);
    CHECK_EQ(c.writes, 1); /* closing queues what was left */
    CHECK_KV(io_close(log), KV_OK);
    model_disk_uninstall();
}

/* Behind 1 MiB of write-back (about 105 ms at 10 MB/s), a read ends at
 * most a piece and its own time from when it came (reads first), or
 * after all of it (one queue).  Checked on the model's own times, which
 * do not depend on how long the sleeps took. */
static void reads_first_wait_for_one_piece_at_most(void)
{
    char *mib = calloc(1, 1 << 20);
    CHECK(mib != NULL);
    char buf[4096];
    size_t got = 0;
    double piece_ns = MODEL_DISK_WRITEBACK / RATE * 1e9, read_ns = sizeof buf / RATE * 1e9;
    for (int order = MODEL_DISK_ONE_QUEUE; order <= MODEL_DISK_READS_FIRST; order++) {
        model_disk_install(RATE, 0, NULL, order);
        io_file *f = model_create(order ? "reads-first" : "one-queue");
        CHECK_KV(io_append_bytes(f, mib, 1 << 20), KV_OK);
        model_disk_counts c;
        model_disk_get_counts(&c);
        uint64_t queued = c.queued_until_ns;
        CHECK_KV(io_read_at(f, 0, buf, sizeof buf, &got), KV_OK);
        uint64_t back = model_disk_now();
        model_disk_get_counts(&c);
        if (order == MODEL_DISK_READS_FIRST) {
            CHECK_MSG((double)c.last_read_end_ns <= (double)back + piece_ns + read_ns + 1000,
                      "a read put first ended %.1f ms after it came back, more than a piece",
                      ((double)c.last_read_end_ns - (double)back) / 1e6);
            CHECK(c.queued_until_ns >= queued + (uint64_t)read_ns);
        } else {
            CHECK(c.last_read_end_ns >= queued + (uint64_t)read_ns);
        }
        CHECK_KV(io_close(f), KV_OK);
        model_disk_uninstall();
    }
    free(mib);
}

static const harness_test tests[] = {
    HARNESS_TEST(reads_first_wait_for_one_piece_at_most),
    HARNESS_TEST(a_read_waits_behind_the_write_back),
    HARNESS_TEST(a_sync_waits_for_its_pieces),
    HARNESS_TEST(a_skipped_file_goes_by_and_nothing_maps),
};
const harness_suite model_disk_suite = HARNESS_SUITE("model_disk", tests);
