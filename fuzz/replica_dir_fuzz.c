/*
 * replica_dir_fuzz.c: fuzz harness for a replica's directory file,
 * DIR/REPLICA (stages/10-raft/replica/replica_dir.h), which names the live
 * one of a replica's two engines in one line, "data-a\n" or "data-b\n".
 * It needs no engine: the Makefile builds it once, under the name
 * "replica".
 *
 * The input is the file's bytes.  The harness puts them as REPLICA in a
 * directory in memory (common/io_mem.h, the common I/O layer's backend),
 * and reads it with replica_dir_read, through the I/O layer as a replica
 * does: it must answer KV_OK with engine 0 or 1 exactly when the bytes
 * are one of the two lines, and else KV_ERR_CORRUPT naming the file and
 * offset 0.  Then
 * replica_dir_write makes the engine it read live (or, if none, each in
 * turn), and the file must then hold exactly that line and read back as
 * it; replica_dir_engine names the engine's directory.  Without the file,
 * the read answers KV_OK with no engine (a new replica).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"
#include "replica_dir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The replica's directory, in memory (common/io_mem.h, the I/O layer's
 * backend for good once the harness runs: no system call). */
static const char replica_dir_fuzz_dir[] = "/kvfuzz/replica";

static void replica_dir_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "replica_dir fuzz invariant broken: %s (%s)\n", what, kv_errmsg());
        abort();
    }
}

/* An empty directory, the first time without REPLICA read too: no
 * engine yet, and no error. */
static void replica_dir_fuzz_setup(void)
{
    static int once;
    if (io_get_ops() != &io_mem_ops)
        io_set_ops(&io_mem_ops);
    io_mem_reset();
    replica_dir_fuzz_check(io_mkdir("/kvfuzz") == KV_OK &&
                           io_mkdir(replica_dir_fuzz_dir) == KV_OK, "mkdir");
    if (once++)
        return;
    int gen = 7;
    replica_dir_fuzz_check(replica_dir_read(replica_dir_fuzz_dir, &gen) == KV_OK && gen == -1,
                           "without REPLICA, no engine and no error");
}

/* The nth call of the kinds of IO_FAULT_* in `kinds` fails (EIO), once. */
static void replica_dir_fuzz_fail(unsigned kinds, long nth)
{
    io_fault_plan plan = {.kinds = kinds, .fail_at = nth};
    io_fault_install(&plan);
}

/* REPLICA (the input) read while the I/O layer refuses each step. */
static void replica_dir_fuzz_read_faults(void)
{
    static const unsigned kinds[3] = {IO_FAULT_META, IO_FAULT_OPEN, IO_FAULT_READ};
    for (int k = 0; k < 3; k++) {
        int gen = 7;
        replica_dir_fuzz_fail(kinds[k], 1);
        int rc = replica_dir_read(replica_dir_fuzz_dir, &gen);
        io_fault_uninstall();
        replica_dir_fuzz_check(rc != KV_OK && rc != KV_ERR_CORRUPT && gen == -1,
                               "a read the I/O layer refuses is its error, with no engine");
    }
}

/* An engine's directory holding the input and IDENTITY, cleared, with
 * meta call number `fail` (0: none) failing: 1 its existence check, 2 its
 * listing, 3 the first removal. */
static void replica_dir_fuzz_clear(const char *engine, const uint8_t *data, size_t size,
                                   long fail)
{
    char path[200];
    replica_dir_fuzz_check(io_mkdir(engine) == KV_OK, "mkdir an engine");
    snprintf(path, sizeof path, "%s/000001.log", engine);
    replica_dir_fuzz_check(io_mem_put(path, data, size) == 0, "a file in the engine");
    snprintf(path, sizeof path, "%s/IDENTITY", engine);
    replica_dir_fuzz_check(io_mem_put(path, "kvstages", 8) == 0, "a file in the engine");
    if (fail > 0)
        replica_dir_fuzz_fail(IO_FAULT_META, fail);
    int rc = replica_dir_clear(engine);
    if (fail > 0)
        io_fault_uninstall();
    char **names = NULL;
    size_t n = 0;
    replica_dir_fuzz_check(io_list(engine, &names, &n) == KV_OK, "io_list");
    io_list_free(names, n);
    if (fail == 0)
        replica_dir_fuzz_check(rc == KV_OK && n == 0, "replica_dir_clear removes every file");
    else
        replica_dir_fuzz_check(rc != KV_OK && n > 0, "a clear the I/O layer refuses is its "
                               "error, and leaves files");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    replica_dir_fuzz_setup();
    char path[160];
    snprintf(path, sizeof path, "%s/%s", replica_dir_fuzz_dir, REPLICA_FILE);
    replica_dir_fuzz_check(io_mem_put(path, data, size) == 0, "write REPLICA");
    static const char *const lines[2] = {"data-a\n", "data-b\n"};
    int want = -1;
    for (int g = 0; g < 2; g++)
        if (size == strlen(lines[g]) && memcmp(data, lines[g], size) == 0)
            want = g;
    int gen = 7;
    int rc = replica_dir_read(replica_dir_fuzz_dir, &gen);
    if (want >= 0) {
        replica_dir_fuzz_check(rc == KV_OK && gen == want, "a line naming an engine reads as it");
    } else {
        replica_dir_fuzz_check(rc == KV_ERR_CORRUPT && gen == -1, "anything else is "
                               "KV_ERR_CORRUPT, with no engine");
        replica_dir_fuzz_check(strstr(kv_errmsg(), REPLICA_FILE) != NULL &&
                               strstr(kv_errmsg(), "offset 0") != NULL,
                               "a refusal names the file and the offset");
    }
    for (int g = 0; g < 2; g++) {
        if (want >= 0 && g != want)
            continue;
        replica_dir_fuzz_check(replica_dir_write(replica_dir_fuzz_dir, g) == KV_OK,
                               "replica_dir_write");
        const uint8_t *again = NULL;
        size_t n = 0;
        replica_dir_fuzz_check(io_mem_get(path, &again, &n) == 0, "REPLICA is there");
        replica_dir_fuzz_check(n == strlen(lines[g]) && memcmp(again, lines[g], n) == 0,
                               "replica_dir_write writes the engine's line, whole");
        replica_dir_fuzz_check(replica_dir_read(replica_dir_fuzz_dir, &gen) == KV_OK &&
                               gen == g, "what replica_dir_write wrote reads back");
        char *engine = replica_dir_engine(replica_dir_fuzz_dir, g);
        replica_dir_fuzz_check(engine != NULL && strncmp(engine, replica_dir_fuzz_dir,
                                                         strlen(replica_dir_fuzz_dir)) == 0 &&
                               strcmp(engine + strlen(engine) - 6, g ? "data-b" : "data-a") == 0,
                               "replica_dir_engine names the engine's directory in DIR");
        free(engine);
    }
    replica_dir_fuzz_check(io_mem_put(path, data, size) == 0, "write REPLICA again");
    replica_dir_fuzz_read_faults();
    char *engine = replica_dir_engine(replica_dir_fuzz_dir, 1);
    replica_dir_fuzz_check(engine != NULL, "replica_dir_engine");
    replica_dir_fuzz_check(replica_dir_clear(engine) == KV_OK, "clearing an engine that is "
                           "not there");
    for (long fail = 0; fail <= 3; fail++)
        replica_dir_fuzz_clear(engine, data, size, fail);
    free(engine);
    return 0;
}
