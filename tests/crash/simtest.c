/*
 * simtest.c: the power-loss simulator's own tests.  Proves that
 * io_sim_materialize builds exactly the crash states common/io_sim.h
 * promises, rule by rule, before the tester trusts it with an engine.
 *
 * Each case drives the I/O layer directly (io_open, io_append, io_sync,
 * io_rename...) on the simulator, then builds crash states and reads the
 * files they hold.  Cases are named for the rule they check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crash.h"
#include "io.h"
#include "io_sim.h"

static const crash_config *sim_cfg;
static char *sim_root;
static const char *sim_case;
static int sim_ok;

#define SIM_CHECK(cond)                                                              \
    do {                                                                             \
        if (!(cond) && sim_ok) {                                                     \
            sim_ok = 0;                                                              \
            crash_fail("--sim", "io_sim %s: line %d: %s", sim_case, __LINE__, #cond); \
        }                                                                            \
    } while (0)

static const char *sim_path(const char *rel)
{
    static char buf[4][4096];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 4096, "%s/%s", sim_root, rel);
    return p;
}

static io_file *sim_create(const char *rel)
{
    io_file *f = NULL;
    SIM_CHECK(io_open(sim_path(rel), IO_WRITE | IO_CREATE, &f) == KV_OK);
    return f;
}

static void sim_put(io_file *f, const char *s)
{
    SIM_CHECK(io_append_bytes(f, s, strlen(s)) == KV_OK);
}

/* Builds crash state c and returns file rel's bytes in it ("-" if absent). */
static const char *sim_read(const io_sim_crash *c, const char *rel)
{
    static char out[16384];
    char *dir = crash_mkdtemp(sim_cfg, "sim");
    snprintf(out, sizeof out, "-");
    if (io_sim_materialize(c, dir, NULL) == KV_OK) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        FILE *fp = fopen(path, "rb");
        if (fp != NULL) {
            size_t n = fread(out, 1, sizeof out - 1, fp);
            out[n] = '\0';
            fclose(fp);
        }
    }
    crash_rmtree(dir);
    free(dir);
    return out;
}

static io_sim_crash sim_at_end(int data, int names)
{
    io_sim_crash c = {.at = io_sim_position(), .data = data, .names = names};
    return c;
}

static void sim_begin(const char *name)
{
    sim_case = name;
    sim_ok = 1;
    sim_root = crash_mkdtemp(sim_cfg, "simroot");
    SIM_CHECK(io_sim_install(sim_root) == KV_OK);
}

static void sim_end(void)
{
    io_sim_uninstall();
    SIM_CHECK(io_sim_untracked() == 0);
    io_sim_reset();
    crash_rmtree(sim_root);
    free(sim_root);
    if (sim_ok)
        crash_passed++;
}

/* Rule 1: data is durable up to the last sync, and no further. */
static void sim_unsynced_append_lost_synced_kept(void)
{
    sim_begin("unsynced_append_lost_synced_kept");
    io_file *f = sim_create("f");
    SIM_CHECK(io_sync_dir(sim_root) == KV_OK);
    sim_put(f, "synced|");
    SIM_CHECK(io_sync(f) == KV_OK);
    sim_put(f, "unsynced");
    io_close(f);
    io_sim_crash lose = sim_at_end(IO_SIM_LOSE, IO_SIM_LOSE);
    io_sim_crash keep = sim_at_end(IO_SIM_KEEP, IO_SIM_KEEP);
    SIM_CHECK(strcmp(sim_read(&lose, "f"), "synced|") == 0);
    SIM_CHECK(strcmp(sim_read(&keep, "f"), "synced|unsynced") == 0);
    sim_end();
}

/* Rule 2: a new file's name needs a sync of its directory. */
static void sim_create_vanishes_without_dir_sync(void)
{
    sim_begin("create_vanishes_without_dir_sync");
    io_file *f = sim_create("f");
    sim_put(f, "data");
    SIM_CHECK(io_sync(f) == KV_OK);
    size_t before = io_sim_position();
    SIM_CHECK(io_sync_dir(sim_root) == KV_OK);
    io_close(f);
    io_sim_crash c = {.at = before, .data = IO_SIM_KEEP, .names = IO_SIM_LOSE};
    SIM_CHECK(strcmp(sim_read(&c, "f"), "-") == 0);
    c.at = io_sim_position();
    SIM_CHECK(strcmp(sim_read(&c, "f"), "data") == 0);
    sim_end();
}

/* Rule 2: a rename is reverted until the directory is synced, and the
 * file it replaced comes back. */
static void sim_rename_reverted_without_dir_sync(void)
{
    sim_begin("rename_reverted_without_dir_sync");
    io_file *a = sim_create("a"), *t = sim_create("tmp");
    sim_put(a, "old");
    sim_put(t, "new");
    SIM_CHECK(io_sync(a) == KV_OK && io_sync(t) == KV_OK && io_sync_dir(sim_root) == KV_OK);
    SIM_CHECK(io_rename(sim_path("tmp"), sim_path("a")) == KV_OK);
    io_sim_crash c = sim_at_end(IO_SIM_KEEP, IO_SIM_LOSE);
    SIM_CHECK(strcmp(sim_read(&c, "a"), "old") == 0);
    SIM_CHECK(strcmp(sim_read(&c, "tmp"), "new") == 0);
    c.names = IO_SIM_KEEP;
    SIM_CHECK(strcmp(sim_read(&c, "a"), "new") == 0);
    SIM_CHECK(strcmp(sim_read(&c, "tmp"), "-") == 0);
    SIM_CHECK(io_sync_dir(sim_root) == KV_OK);
    c = sim_at_end(IO_SIM_LOSE, IO_SIM_LOSE);
    SIM_CHECK(strcmp(sim_read(&c, "a"), "new") == 0);
    SIM_CHECK(strcmp(sim_read(&c, "tmp"), "-") == 0);
    io_close(a);
    io_close(t);
    sim_end();
}

/* Rule 2: an unlink is undone until the directory is synced. */
static void sim_unlink_undone_without_dir_sync(void)
{
    sim_begin("unlink_undone_without_dir_sync");
    io_file *f = sim_create("f");
    sim_put(f, "x");
    SIM_CHECK(io_sync(f) == KV_OK && io_sync_dir(sim_root) == KV_OK);
    io_close(f);
    SIM_CHECK(io_unlink(sim_path("f")) == KV_OK);
    io_sim_crash c = sim_at_end(IO_SIM_LOSE, IO_SIM_LOSE);
    SIM_CHECK(strcmp(sim_read(&c, "f"), "x") == 0);
    c.names = IO_SIM_KEEP;
    SIM_CHECK(strcmp(sim_read(&c, "f"), "-") == 0);
    sim_end();
}

/* Rule 2: a directory whose own name was never synced in its parent takes
 * its files with it, synced or not. */
static void sim_unsynced_directory_takes_its_files(void)
{
    sim_begin("unsynced_directory_takes_its_files");
    SIM_CHECK(io_mkdir(sim_path("d")) == KV_OK);
    io_file *f = sim_create("d/f");
    sim_put(f, "x");
    SIM_CHECK(io_sync(f) == KV_OK && io_sync_dir(sim_path("d")) == KV_OK);
    io_close(f);
    io_sim_crash c = sim_at_end(IO_SIM_LOSE, IO_SIM_LOSE);
    SIM_CHECK(strcmp(sim_read(&c, "d/f"), "-") == 0);
    SIM_CHECK(io_sync_dir(sim_root) == KV_OK);
    c = sim_at_end(IO_SIM_LOSE, IO_SIM_LOSE);
    SIM_CHECK(strcmp(sim_read(&c, "d/f"), "x") == 0);
    sim_end();
}

/* Rule 1: unsynced writes survive independently: a dropped write under a
 * kept one reads back as zeros, and garbage keeps its length. */
static void sim_random_writes_leave_holes(void)
{
    sim_begin("random_writes_leave_holes");
    io_file *f = sim_create("f");
    SIM_CHECK(io_sync_dir(sim_root) == KV_OK);
    sim_put(f, "AAAA");
    sim_put(f, "BBBB");
    io_close(f);
    int hole = 0, garbled = 0;
    for (uint64_t seed = 0; seed < 200; seed++) {
        io_sim_crash c = sim_at_end(IO_SIM_RANDOM, IO_SIM_KEEP);
        c.seed = seed;
        char *dir = crash_mkdtemp(sim_cfg, "sim");
        io_sim_state st;
        SIM_CHECK(io_sim_materialize(&c, dir, &st) == KV_OK);
        char path[4096], buf[16] = {0};
        snprintf(path, sizeof path, "%s/f", dir);
        FILE *fp = fopen(path, "rb");
        size_t n = fp ? fread(buf, 1, sizeof buf, fp) : 0;
        if (fp)
            fclose(fp);
        SIM_CHECK(n == 0 || n == 4 || n == 8);
        hole |= n == 8 && memcmp(buf, "\0\0\0\0BBBB", 8) == 0;
        garbled |= st.writes_garbled > 0 && n >= 4;
        crash_rmtree(dir);
        free(dir);
    }
    SIM_CHECK(hole && garbled);
    sim_end();
}

/* Rule 3: of a directory's unsynced name changes, a prefix survives. */
static void sim_random_names_keep_a_prefix(void)
{
    sim_begin("random_names_keep_a_prefix");
    io_close(sim_create("f1"));
    io_close(sim_create("f2"));
    io_close(sim_create("f3"));
    int all = 0, none = 0;
    for (uint64_t seed = 0; seed < 100; seed++) {
        io_sim_crash c = sim_at_end(IO_SIM_KEEP, IO_SIM_RANDOM);
        c.seed = seed;
        int e1 = strcmp(sim_read(&c, "f1"), "-") != 0, e2 = strcmp(sim_read(&c, "f2"), "-") != 0,
            e3 = strcmp(sim_read(&c, "f3"), "-") != 0;
        SIM_CHECK((!e3 || e2) && (!e2 || e1));
        all |= e3;
        none |= !e1;
    }
    SIM_CHECK(all && none);
    sim_end();
}

/* The torn variants cut the last unsynced append at 1 byte, a third, and
 * its last 4 KiB boundary. */
static void sim_torn_cuts_last_append(void)
{
    sim_begin("torn_cuts_last_append");
    io_file *f = sim_create("f");
    SIM_CHECK(io_sync_dir(sim_root) == KV_OK);
    sim_put(f, "abc");
    SIM_CHECK(io_sync(f) == KV_OK);
    char big[10001];
    memset(big, 'z', 10000);
    big[10000] = '\0';
    sim_put(f, big);
    io_close(f);
    io_sim_crash c = sim_at_end(IO_SIM_KEEP, IO_SIM_KEEP);
    c.torn = IO_SIM_TORN_1B;
    SIM_CHECK(strlen(sim_read(&c, "f")) == 3 + 1);
    c.torn = IO_SIM_TORN_THIRD;
    SIM_CHECK(strlen(sim_read(&c, "f")) == 3 + 3333);
    c.torn = IO_SIM_TORN_4K;
    SIM_CHECK(strlen(sim_read(&c, "f")) == 8192);
    sim_end();
}

int crash_sim_test(const crash_config *cfg)
{
    double t0 = crash_now();
    long failed0 = crash_failed, passed0 = crash_passed;
    sim_cfg = cfg;
    sim_unsynced_append_lost_synced_kept();
    sim_create_vanishes_without_dir_sync();
    sim_rename_reverted_without_dir_sync();
    sim_unlink_undone_without_dir_sync();
    sim_unsynced_directory_takes_its_files();
    sim_random_writes_leave_holes();
    sim_random_names_keep_a_prefix();
    sim_torn_cuts_last_append();
    printf("simulator self-test: %ld cases passed, %ld failed, %.1f s\n", crash_passed - passed0,
           crash_failed - failed0, crash_now() - t0);
    fflush(stdout);
    return crash_failed == failed0;
}
