/*
 * flat_apply_test.c: exercise flat_apply, table_set_output and
 * flat_apply_output (stages/04-lsm/flat_set/flat_set.c), through kv.h: a flushed
 * table made part of the database by the protocol of flat_set.h (a
 * temporary name, synced, renamed, the directory synced, then installed),
 * as the power-loss simulator's journal of the I/O calls shows; and a
 * table applied again and again leaves no memory behind (the heap measured
 * over hundreds of flushes and compactions).
 */
#include <dirent.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ex_power.h"
#include "exercise.h"
#include "io.h"
#include "io_fault.h"
#include "io_sim.h"
#include "kv.h"

static kv_db *fl_open(const char *dir)
{
    kv_options opt;
    kv_options_init(&opt);
    return ex_open(dir, &opt, "open the test's database");
}

static void fl_flush(kv_db *db, const char *what)
{
    harness_context("kv_flush (%s): the flush runs on the background thread, and the table set "
                    "names and places its table", what);
    int rc = EX_KV(kv_flush(db));
    EX_CHECK(rc == KV_OK, "kv_flush (%s) returns KV_OK: the frozen memtable is written to a "
             "table and installed (got %d: %s)", what, rc, ex_errmsg(rc));
}

/* The first journal entry at or after `from` whose description holds
 * both a and b (b may be NULL), or -1. */
static long fl_find(size_t from, int kind, const char *a, const char *b)
{
    char buf[600];
    for (size_t i = from; i < io_sim_position(); i++) {
        if (kind != 0 && io_sim_kind(i) != kind)
            continue;
        io_sim_describe(i, buf, sizeof buf);
        if ((a == NULL || strstr(buf, a) != NULL) && (b == NULL || strstr(buf, b) != NULL))
            return (long)i;
    }
    return -1;
}

static void flush_protocol_tmp_sync_rename_sync_dir(void)
{
    const char *root = harness_tmpdir();
    EX_CHECK(EX_KV(io_sim_install(root)) == KV_OK,
             "test setup: io_sim_install: %s", ex_kv_errmsg());
    const char *dir = harness_join(root, "db");
    kv_db *db = fl_open(dir);
    for (int i = 0; i < 50; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%03d", i);
        ex_put(db, k, "value", "a put before the flush");
    }
    size_t start = io_sim_position();
    fl_flush(db, "of 50 puts, recorded by the power-loss simulator");
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
    io_sim_uninstall();
    const char *tbl = "000000000001-000000000050.tbl";
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s.tmp", tbl);
    long created = fl_find(start, IO_SIM_CREATE, tmp, NULL);
    EX_CHECK(created >= 0, EX_RULE(1, "the temporary name") "step 1 of flat_set.h: the table is "
             "written under its temporary "
             "name, %s, never under its final one (a crash while writing would leave half a "
             "table that kv_open must read)", tmp);
    long synced = fl_find((size_t)created, IO_SIM_SYNC, tmp, NULL);
    long renamed = fl_find((size_t)created, IO_SIM_RENAME, tmp, tbl);
    EX_CHECK(renamed >= 0, EX_RULE(2, "the rename") "step 2: the temporary file is renamed to %s", tbl);
    EX_CHECK(synced >= 0 && synced < renamed, EX_RULE(2, "renamed once finished and synced") "step 1 ends with the table's file synced (the "
             "builder's table_builder_finish) before step 2 renames it: a name must never "
             "stand for unsynced bytes");
    long dir_synced = fl_find((size_t)renamed, IO_SIM_SYNC_DIR, NULL, NULL);
    EX_CHECK(dir_synced >= 0, EX_RULE(3, "the directory synced") "step 3: after the rename, the "
             "directory is synced (the table's "
             "name is durable) before anything relies on it");
    long log_gone = fl_find((size_t)renamed, IO_SIM_UNLINK, ".log", NULL);
    EX_CHECK(log_gone < 0 || dir_synced < log_gone, EX_RULE(3, "the directory synced before the "
             "log goes") "step 3 before step 5: the directory is "
             "synced after the rename and before the flushed log is deleted");
    EX_CHECK(fl_find(start, IO_SIM_APPEND, tbl, NULL) < 0 ||
             fl_find(start, IO_SIM_APPEND, tmp, NULL) >= 0,
             EX_RULE(1, "the temporary name") "every byte of the table is written to the "
             "temporary file");
    io_sim_reset();
    db = fl_open(dir);
    ex_expect(db, "k049", "value", "after the flush and a reopen");
    kv_close(db);
}

/* How often `needle` stands in `hay`. */
static int fl_times(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* The temporary tables (*.tbl.tmp) in dir, counted. */
static int fl_tmps(const char *dir)
{
    DIR *d = opendir(dir);
    EX_CHECK(d != NULL, "cannot list %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        n += l > 8 && strcmp(e->d_name + l - 8, ".tbl.tmp") == 0;
    }
    closedir(d);
    return n;
}

/* Writes with sync = 1 and two flushes, the power cut after every step
 * (ex_power.h): each write acknowledged survives, so the table that takes
 * a log's writes is synced, renamed and its name made durable (the
 * directory synced) before anything relies on it, such as the log's
 * deletion. */
static void flat_apply_power_cut_at_every_step(void)
{
    const char *path = ex_power_start();
    kv_options opt;
    kv_options_init(&opt);
    opt.sync = 1;
    kv_db *db = ex_open(path, &opt, "open the test's database (sync = 1)");
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 6; i++) {
            char k[16], v[32];
            snprintf(k, sizeof k, "k%d-%d", round, i);
            snprintf(v, sizeof v, "value-%d-%d", round, i);
            ex_put(db, k, v, "a put with sync = 1");
            ex_power_acked(k, v);
        }
        fl_flush(db, "of the round's 6 puts, recorded by the power-loss simulator");
    }
    kv_close(db);
    ex_power_stop();
    ex_power_check(&opt, EX_RULE(3, "the directory synced after the rename, before the table "
                                 "is installed and its log goes"));
}

static void flat_apply_failure_names_the_table(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = fl_open(dir);
    for (int i = 0; i < 4; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        ex_put(db, k, "v", "a put before the flush");
    }
    /* A directory where the table is to be renamed to: the rename fails
     * (EISDIR), a failure that leaves the database as it was. */
    const char *final = harness_join(dir, "000000000001-000000000004.tbl");
    EX_CHECK(mkdir(final, 0755) == 0, "test setup: make the directory %s", final);
    harness_context("kv_flush of writes 1 to 4 with a directory standing at the table's name");
    int rc = EX_KV(kv_flush(db));
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", kv_errmsg());
    EX_CHECK(rc != KV_OK, EX_RULE(5, "a failure returned") "a flush whose table cannot be "
             "renamed into place fails (got %d)", rc);
    EX_CHECK(fl_times(msg, "000000000001-000000000004.tbl") >= 1,
             EX_RULE(5, "the message names the table") "a table that cannot be applied says "
             "which it was: the failure names its final name, 000000000001-000000000004.tbl "
             "(got \"%s\")", msg);
    int tmps = fl_tmps(dir);
    EX_CHECK(tmps == 0,
             EX_RULE(5, "on failure the temporary file is gone") "a table whose rename failed is "
             "not left under its temporary name (%d lo-hi.tbl.tmp files left): nothing would "
             "ever remove it", tmps);
    EX_CHECK(rmdir(final) == 0, "test setup: remove the directory %s", final);
    harness_context("kv_flush again, the directory gone");
    fl_flush(db, "after the failed one, the directory gone");
    ex_expect(db, "k3", "v", "after the second flush, k3 is read from the table");
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
}

/* A database at root/name holding writes 1 to 4, closed. */
static const char *fl_four(const char *name)
{
    const char *dir = harness_join(harness_tmpdir(), name);
    kv_db *db = fl_open(dir);
    for (int i = 0; i < 4; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        ex_put(db, k, "v", "a put before the flush");
    }
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
    return dir;
}

static void flat_apply_directory_fsync_failure_is_final(void)
{
    /* The syncs a flush of writes 1 to 4 makes, counted on a copy; the
     * last is the directory's, after the rename (flat_set.h, step 3). */
    const char *a = fl_four("a"), *b = fl_four("b"), *c = fl_four("c");
    io_fault_plan count = {.kinds = IO_FAULT_SYNC};
    io_fault_install(&count);
    kv_db *db = fl_open(a);
    fl_flush(db, "of writes 1 to 4, its syncs counted");
    long syncs = io_fault_calls();
    kv_close(db);
    io_fault_uninstall();

    io_fault_plan fsync = {.kinds = IO_FAULT_SYNC, .fail_at = syncs};
    io_fault_install(&fsync);
    db = fl_open(b);
    harness_context("kv_flush of writes 1 to 4 with the directory's fsync after the rename "
                    "failing (sync %ld)", syncs);
    int rc = EX_KV(kv_flush(db));
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", kv_errmsg());
    int put = kv_put(db, "x", 1, "y", 1);
    kv_close(db);
    io_fault_uninstall();
    EX_CHECK(rc != KV_OK && put != KV_OK,
             EX_RULE(3, "a failed fsync of the directory is final") "a directory fsync that "
             "fails after the rename is final: whether the table's name is on the disk is "
             "unknown, so flat_apply_output sets *final (fsync_failed: the fsync itself "
             "failed), and the next write is refused (flush %d, put %d: \"%s\")",
             rc, put, msg);
    EX_CHECK(fl_times(msg, "000000000001-000000000004.tbl") == 1,
             EX_RULE(5, "the message names the table") "a final failure names its table "
             "(000000000001-000000000004.tbl) once, not again as a failure that is not final "
             "would (got \"%s\")", msg);
    db = fl_open(b);
    ex_expect(db, "k3", "v", "after the final failure and a reopen, the writes are there");
    kv_close(db);

    io_fault_plan dir_open = {.kinds = IO_FAULT_DIR_OPEN, .fail_at = 1};
    io_fault_install(&dir_open);
    db = fl_open(c);
    harness_context("kv_flush of writes 1 to 4 with the directory failing to open for its fsync");
    rc = EX_KV(kv_flush(db));
    snprintf(msg, sizeof msg, "%s", kv_errmsg());
    put = kv_put(db, "x", 1, "y", 1);
    kv_close(db);
    io_fault_uninstall();
    EX_CHECK(rc != KV_OK && put == KV_OK,
             EX_RULE(3, "only a failed fsync is final") "a directory that cannot be opened to "
             "fsync it is no failed fsync (nothing was "
             "lost): the flush fails and is tried again, but writes go on (fsync_failed stays "
             "0, *final is not set; flush %d, put %d: \"%s\")", rc, put, msg);
}

/* The bytes malloc has handed out and not had back, every thread's. */
static size_t fl_heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

static void flat_apply_keeps_no_memory_per_table(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = fl_open(dir);
    size_t before = 0;
    enum { WARM = 100, MORE = 200 };
    for (int i = 0; i < WARM + MORE; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%04d", i);
        ex_put(db, k, "v", "a put before a flush");
        harness_context("round %d: a put, kv_flush (a table applied) and kv_compact (the two "
                        "tables merged into one, applied)", i);
        int rc = EX_KV(kv_flush(db));
        EX_CHECK(rc == KV_OK, EX_RULE(4, "opened and installed") "kv_flush returns KV_OK (got "
                 "%d: %s)", rc, ex_errmsg(rc));
        rc = EX_KV(kv_compact(db));
        EX_CHECK(rc == KV_OK, "kv_compact returns KV_OK (got %d: %s)", rc, ex_errmsg(rc));
        if (i == WARM - 1)
            before = fl_heap_in_use();
    }
    size_t after = fl_heap_in_use();
    harness_context("the heap measured (mallinfo2) after round %d and after round %d",
                    WARM - 1, WARM + MORE - 1);
    EX_CHECK(after < before + 8192,
             "after %d more flushes and compactions, each applying a table, the database holds "
             "as much memory as before (one table, one memtable): flat_apply_output frees the "
             "path it made for the table's final name (db_dir_file allocates it) whatever "
             "happens; the heap grew by %zu bytes, %zu a round", MORE,
             after > before ? after - before : 0, after > before ? (after - before) / MORE : 0);
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
}

/* A flush with each of its allocations failing in turn (the table's
 * output record among them, table_set_output's), a database of its own
 * each time: a flush that fails says why, in a message of its own. */
static void flat_apply_out_of_memory_says_why(void)
{
    int failures = 0;
    for (long n = 1; n < 1000; n++) {
        char name[32];
        snprintf(name, sizeof name, "db%ld", n);
        kv_db *db = fl_open(harness_join(harness_tmpdir(), name));
        ex_put(db, "a", "1", "a put before the flush");
        if (!ex_alloc_fail_at(n)) { /* a sanitizer's build: nothing can be made to fail */
            kv_close(db);
            break;
        }
        harness_context("kv_flush with allocation %ld of the flush failing (table_set_output's "
                        "record of the output among them)", n);
        int rc = EX_KV(kv_flush(db));
        int failed = ex_alloc_failed();
        ex_alloc_fail_at(0);
        /* The engine reports a failure of its background thread as
         * "...: in the background: CAUSE (reported once; ...)", CAUSE
         * being what that thread's kv_errmsg() said (lsm_failure.c). */
        const char *msg = kv_errmsg(), *bg = strstr(msg, "in the background: ");
        const char *cause = bg != NULL ? bg + strlen("in the background: ") : msg;
        EX_CHECK(rc == KV_OK || (cause[0] != '\0' && strncmp(cause, " (", 2) != 0),
                 EX_RULE(1, "the output named, or a failure that says why") "a flush whose "
                 "allocation %ld fails returns %s with no cause of its own (error.h: the "
                 "failing path sets its message, or kv_errmsg() keeps what came before): "
                 "\"%s\"", n, kv_strerror(rc), msg);
        kv_close(db);
        failures += failed;
        if (!failed)
            break;
    }
    EX_CHECK(failures > 0 || !ex_alloc_fail_at(0), "test setup: a flush allocates");
}

static const harness_test flat_apply_tests[] = {
    HARNESS_TEST(flat_apply_power_cut_at_every_step),
    HARNESS_TEST(flush_protocol_tmp_sync_rename_sync_dir),
    HARNESS_TEST(flat_apply_failure_names_the_table),
    HARNESS_TEST(flat_apply_out_of_memory_says_why),
    HARNESS_TEST(flat_apply_directory_fsync_failure_is_final),
    HARNESS_TEST(flat_apply_keeps_no_memory_per_table),
};
const harness_suite flat_apply_suite = HARNESS_SUITE("flat_apply", flat_apply_tests);
