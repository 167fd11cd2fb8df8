/*
 * flush_test.c: exercise flush, lsm_table_out_begin, lsm_table_out_finish
 * and table_set_flush (stages/04-lsm/lsm_tables.c), through kv.h: a
 * frozen memtable written, tombstones and all, to a table named by the
 * writes it holds, by the protocol of lsm_tables.h (a temporary name,
 * synced, renamed, the directory synced, then installed), as the
 * power-loss simulator's journal of the I/O calls shows.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exercise.h"
#include "io.h"
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
    harness_context("kv_flush (%s): table_set_flush runs on the background thread", what);
    int rc = kv_flush(db);
    EX_CHECK(rc == KV_OK, "kv_flush (%s) returns KV_OK: the frozen memtable is written to a "
             "table and installed (got %d: %s)", what, rc, kv_errmsg());
}

/* The names in dir ending in suffix, counted; the last one in *name. */
static int fl_count(const char *dir, const char *suffix, char *name, size_t cap)
{
    DIR *d = opendir(dir);
    EX_CHECK(d != NULL, "the database directory exists");
    int n = 0;
    size_t sl = strlen(suffix);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        if (l >= sl && strcmp(e->d_name + l - sl, suffix) == 0) {
            n++;
            if (name != NULL)
                snprintf(name, cap, "%s", e->d_name);
        }
    }
    closedir(d);
    return n;
}

static void flush_writes_one_table_named_by_its_writes(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = fl_open(dir);
    ex_put(db, "a", "1", "put a (write 1)");
    ex_put(db, "b", "2", "put b (write 2)");
    EX_CHECK(kv_delete(db, "a", 1) == KV_OK, "delete a (write 3)");
    ex_put(db, "c", "3", "put c (write 4)");
    fl_flush(db, "of writes 1 to 4");
    char name[256] = "";
    EX_CHECK(fl_count(dir, ".tbl", name, sizeof name) == 1,
             "after one flush the directory holds one table (lo-hi.tbl)");
    EX_CHECK(strcmp(name, "000000000001-000000000004.tbl") == 0,
             "the flushed table is named by the writes it holds, lo-hi.tbl with lo = 1 and "
             "hi = 4 (lsm_files.h: the directory listing alone says what the database is): got "
             "%s", name);
    EX_CHECK(fl_count(dir, ".tmp", NULL, 0) == 0, "no temporary file is left (lo-hi.tbl.tmp is "
             "renamed)");
    EX_CHECK(ex_stat(db, "tables.count") == 1, "kv_stats: tables.count is 1 once the flushed "
             "table is installed");
    ex_expect(db, "b", "2", "after the flush, b is read from the table");
    ex_absent(db, "a", "after the flush, a's tombstone is in the table");
    EX_CHECK(kv_close(db) == KV_OK, "kv_close: %s", kv_errmsg());
    db = fl_open(dir);
    ex_expect(db, "c", "3", "after a reopen, c is in the table");
    ex_absent(db, "a", "after a reopen, a stays deleted");
    kv_close(db);
}

static void flush_keeps_tombstones(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = fl_open(dir);
    for (int i = 0; i < 20; i++) {
        char k[16];
        snprintf(k, sizeof k, "key%02d", i);
        ex_put(db, k, "old", "put the first versions");
    }
    fl_flush(db, "the first table");
    for (int i = 0; i < 20; i += 2) {
        char k[16];
        snprintf(k, sizeof k, "key%02d", i);
        EX_CHECK(kv_delete(db, k, strlen(k)) == KV_OK, "delete %s", k);
    }
    ex_put(db, "key99", "new", "put key99");
    fl_flush(db, "a table of tombstones over the first");
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 20; i++) {
            char k[16];
            snprintf(k, sizeof k, "key%02d", i);
            if (i % 2 == 0)
                ex_absent(db, k, pass ? "after a reopen: a key deleted after the first flush "
                          "stays deleted: the second table holds its tombstone, which hides "
                          "the older version in the first table (a flush writes every entry, "
                          "tombstones included)"
                          : "a key deleted after the first flush stays deleted once the "
                          "memtable holding its tombstone is flushed: the tombstone hides the "
                          "older version in the first table");
            else
                ex_expect(db, k, "old", "a key never deleted keeps its value");
        }
        EX_CHECK(kv_close(db) == KV_OK, "kv_close: %s", kv_errmsg());
        db = fl_open(dir);
    }
    kv_close(db);
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
    EX_CHECK(io_sim_install(root) == KV_OK, "test setup: io_sim_install: %s", kv_errmsg());
    const char *dir = harness_join(root, "db");
    kv_db *db = fl_open(dir);
    for (int i = 0; i < 50; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%03d", i);
        ex_put(db, k, "value", "a put before the flush");
    }
    size_t start = io_sim_position();
    fl_flush(db, "of 50 puts, recorded by the power-loss simulator");
    EX_CHECK(kv_close(db) == KV_OK, "kv_close: %s", kv_errmsg());
    io_sim_uninstall();
    const char *tbl = "000000000001-000000000050.tbl";
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s.tmp", tbl);
    long created = fl_find(start, IO_SIM_CREATE, tmp, NULL);
    EX_CHECK(created >= 0, "step 1 of lsm_tables.h: the table is written under its temporary "
             "name, %s, never under its final one (a crash while writing would leave half a "
             "table that kv_open must read)", tmp);
    long synced = fl_find((size_t)created, IO_SIM_SYNC, tmp, NULL);
    long renamed = fl_find((size_t)created, IO_SIM_RENAME, tmp, tbl);
    EX_CHECK(renamed >= 0, "step 2: the temporary file is renamed to %s", tbl);
    EX_CHECK(synced >= 0 && synced < renamed, "step 1 ends with the table's file synced (the "
             "builder's table_builder_finish) before step 2 renames it: a name must never "
             "stand for unsynced bytes");
    long dir_synced = fl_find((size_t)renamed, IO_SIM_SYNC_DIR, NULL, NULL);
    EX_CHECK(dir_synced >= 0, "step 3: after the rename, the directory is synced (the table's "
             "name is durable) before anything relies on it");
    long log_gone = fl_find((size_t)renamed, IO_SIM_UNLINK, ".log", NULL);
    EX_CHECK(log_gone < 0 || dir_synced < log_gone, "step 3 before step 5: the directory is "
             "synced after the rename and before the flushed log is deleted");
    EX_CHECK(fl_find(start, IO_SIM_APPEND, tbl, NULL) < 0 ||
             fl_find(start, IO_SIM_APPEND, tmp, NULL) >= 0,
             "every byte of the table is written to the temporary file");
    io_sim_reset();
    db = fl_open(dir);
    ex_expect(db, "k049", "value", "after the flush and a reopen");
    kv_close(db);
}

static const harness_test flush_tests[] = {
    HARNESS_TEST(flush_writes_one_table_named_by_its_writes),
    HARNESS_TEST(flush_keeps_tombstones),
    HARNESS_TEST(flush_protocol_tmp_sync_rename_sync_dir),
};
const harness_suite flush_suite = HARNESS_SUITE("flush", flush_tests);
