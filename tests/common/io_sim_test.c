/*
 * io_sim_test.c: the power-loss simulator (common/io_sim.h) on a journal
 * small enough to check by hand: a truncate is data (lost unless synced),
 * every journal entry can be described in words, and kv_error_append adds
 * to the thread's message.  The crash tester (tests/crash/simtest.c) checks
 * the simulator's rules on whole workloads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../harness.h"
#include "error.h"
#include "io.h"
#include "io_sim.h"
#include "kv.h"

/* The bytes of dir/name (at most 63), NUL-terminated, or "" if absent. */
static const char *sim_test_read(const char *dir, const char *name, char buf[64])
{
    buf[0] = '\0';
    FILE *f = fopen(harness_join(dir, name), "rb");
    if (f == NULL)
        return buf;
    size_t n = fread(buf, 1, 63, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void sim_unsynced_truncate_is_lost_with_the_data(void)
{
    const char *root = harness_join(harness_tmpdir(), "db");
    CHECK(mkdir(root, 0755) == 0);
    CHECK_KV(io_sim_install(root), KV_OK);
    io_file *f = NULL;
    CHECK_KV(io_open(harness_join(root, "f"), IO_WRITE | IO_CREATE, &f), KV_OK);
    CHECK_KV(io_sync_dir(root), KV_OK);
    CHECK_KV(io_append_bytes(f, "hello world", 11), KV_OK);
    CHECK_KV(io_sync(f), KV_OK);
    CHECK_KV(io_truncate(f, 5), KV_OK);
    CHECK_KV(io_append_bytes(f, "XY", 2), KV_OK);
    CHECK_KV(io_close(f), KV_OK);
    io_sim_uninstall();
    CHECK_EQ(io_sim_untracked(), 0);

    char buf[64];
    io_sim_crash lose = {.at = io_sim_position(), .data = IO_SIM_LOSE, .names = IO_SIM_KEEP};
    const char *out = harness_join(harness_tmpdir(), "lose");
    CHECK(mkdir(out, 0755) == 0);
    io_sim_state st;
    CHECK_KV(io_sim_materialize(&lose, out, &st), KV_OK);
    CHECK(strcmp(sim_test_read(out, "f", buf), "hello world") == 0);

    io_sim_crash keep = {.at = io_sim_position(), .data = IO_SIM_KEEP, .names = IO_SIM_KEEP};
    out = harness_join(harness_tmpdir(), "keep");
    CHECK(mkdir(out, 0755) == 0);
    CHECK_KV(io_sim_materialize(&keep, out, &st), KV_OK);
    CHECK(strcmp(sim_test_read(out, "f", buf), "helloXY") == 0);
    io_sim_reset();
}

static void sim_describes_every_journal_entry(void)
{
    const char *root = harness_join(harness_tmpdir(), "db");
    CHECK(mkdir(root, 0755) == 0);
    CHECK_KV(io_sim_install(root), KV_OK);
    io_file *f = NULL;
    CHECK_KV(io_mkdir(harness_join(root, "sub")), KV_OK);
    CHECK_KV(io_open(harness_join(root, "a.tmp"), IO_WRITE | IO_CREATE, &f), KV_OK);
    CHECK_KV(io_append_bytes(f, "abc", 3), KV_OK);
    CHECK_KV(io_truncate(f, 1), KV_OK);
    CHECK_KV(io_sync(f), KV_OK);
    CHECK_KV(io_close(f), KV_OK);
    CHECK_KV(io_rename(harness_join(root, "a.tmp"), harness_join(root, "a")), KV_OK);
    CHECK_KV(io_unlink(harness_join(root, "a")), KV_OK);
    CHECK_KV(io_sync_dir(root), KV_OK);
    io_sim_uninstall();

    const char *words[] = {"mkdir", "create", "append", "truncate", "fsync the file",
                           "rename", "unlink", "fsync directory"};
    int seen[8] = {0};
    char buf[256];
    size_t n = io_sim_position();
    CHECK(n >= 8);
    for (size_t i = 0; i < n; i++) {
        const char *text = io_sim_describe(i, buf, sizeof buf);
        CHECK(text[0] != '\0' && strcmp(text, "?") != 0);
        for (int w = 0; w < 8; w++)
            if (strncmp(text, words[w], strlen(words[w])) == 0)
                seen[w] = 1;
        uint64_t off, len;
        io_sim_extent(i, &off, &len);
        if (io_sim_kind(i) == IO_SIM_APPEND)
            CHECK_EQ(len, 3);
        else
            CHECK_EQ(len, 0);
    }
    for (int w = 0; w < 8; w++)
        CHECK_MSG(seen[w], "no journal entry described as \"%s\"", words[w]);
    CHECK(strcmp(io_sim_describe(n, buf, sizeof buf), "(end of journal)") == 0);
    CHECK_EQ(io_sim_kind(n), 0);
    io_sim_reset();
}

static void error_append_adds_to_the_message(void)
{
    CHECK_EQ(kv_error(KV_ERR_IO, "first part %d", 1), KV_ERR_IO);
    kv_error_append(", then %s", "more");
    CHECK(strcmp(kv_errmsg(), "first part 1, then more") == 0);
    kv_error_clear();
    CHECK(strcmp(kv_errmsg(), "") == 0);
}

static const harness_test tests[] = {
    HARNESS_TEST(sim_unsynced_truncate_is_lost_with_the_data),
    HARNESS_TEST(sim_describes_every_journal_entry),
    HARNESS_TEST(error_append_adds_to_the_message),
};
const harness_suite io_sim_suite = HARNESS_SUITE("io_sim", tests);
