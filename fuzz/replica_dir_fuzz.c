/*
 * replica_dir_fuzz.c: fuzz harness for a replica's directory file,
 * DIR/REPLICA (stages/10-raft/replica/replica_dir.h), which names the live
 * one of a replica's two engines in one line, "data-a\n" or "data-b\n".
 * It needs no engine: the Makefile builds it once, under the name
 * "replica".
 *
 * The input is the file's bytes.  The harness writes them as REPLICA in a
 * private directory (on /dev/shm, or $TMPDIR), through the common I/O
 * layer as a replica does, and reads it with replica_dir_read: it must
 * answer KV_OK with engine 0 or 1 exactly when the bytes are one of the
 * two lines, and else KV_ERR_CORRUPT naming the file and offset 0.  Then
 * replica_dir_write makes the engine it read live (or, if none, each in
 * turn), and the file must then hold exactly that line and read back as
 * it; replica_dir_engine names the engine's directory.  Without the file,
 * the read answers KV_OK with no engine (a new replica).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kv.h"
#include "replica_dir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char replica_dir_fuzz_dir[96];

static void replica_dir_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "replica_dir fuzz invariant broken: %s (%s)\n", what, kv_errmsg());
        abort();
    }
}

static void replica_dir_fuzz_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", replica_dir_fuzz_dir, name);
}

static void replica_dir_fuzz_remove(void)
{
    char path[160];
    replica_dir_fuzz_path(path, sizeof path, REPLICA_FILE);
    unlink(path);
    replica_dir_fuzz_path(path, sizeof path, REPLICA_FILE ".tmp");
    unlink(path);
    rmdir(replica_dir_fuzz_dir);
}

static void replica_dir_fuzz_setup(void)
{
    if (replica_dir_fuzz_dir[0] != '\0')
        return;
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || strlen(tmp) >= 60)
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(replica_dir_fuzz_dir, sizeof replica_dir_fuzz_dir, "%s/kvreplica.XXXXXX", tmp);
    replica_dir_fuzz_check(mkdtemp(replica_dir_fuzz_dir) != NULL, "mkdtemp");
    atexit(replica_dir_fuzz_remove);
    /* No file: a new replica, no engine yet. */
    int gen = 7;
    replica_dir_fuzz_check(replica_dir_read(replica_dir_fuzz_dir, &gen) == KV_OK && gen == -1,
                           "without REPLICA, no engine and no error");
}

/* The file's bytes, as they are now. */
static size_t replica_dir_fuzz_file(uint8_t *out, size_t cap)
{
    char path[160];
    replica_dir_fuzz_path(path, sizeof path, REPLICA_FILE);
    FILE *f = fopen(path, "rb");
    replica_dir_fuzz_check(f != NULL, "REPLICA is there");
    size_t n = fread(out, 1, cap, f);
    fclose(f);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    replica_dir_fuzz_setup();
    char path[160];
    replica_dir_fuzz_path(path, sizeof path, REPLICA_FILE);
    FILE *f = fopen(path, "wb");
    replica_dir_fuzz_check(f != NULL && (size == 0 || fwrite(data, 1, size, f) == size) &&
                           fclose(f) == 0, "write REPLICA");
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
        uint8_t again[32];
        size_t n = replica_dir_fuzz_file(again, sizeof again);
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
    return 0;
}
