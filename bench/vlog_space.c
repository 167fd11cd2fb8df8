/*
 * vlog_space.c: build/08-vlog/vlog_space, how much space stage 08's
 * directory holds against the live keys and values, in three runs that a
 * value log is known to get wrong (`make bench-vlog-space`):
 *
 *   sessions  30 sessions, each writing 20 keys of 8 KiB five times over,
 *             taking a snapshot, running kv_compact while it lives,
 *             dropping it and closing: the snapshot keeps the moved files
 *             past the compaction, and only a close or a later session
 *             may give them back.  Then one last open and kv_compact.
 *   idle      1,000 keys of 8 KiB written 41 times, closed, reopened and
 *             left alone, no kv_compact: the files the overwrites left
 *             must go while nothing is asked of the engine.
 *   steady    the same keys overwritten 41 times in one session, without
 *             kv_compact, then left alone: the space a busy writer runs
 *             ahead of the collection (the memtable's logs, files under
 *             value_gc_percent of garbage, the slack before writers are
 *             slowed), and what the idle engine gives back after.
 *
 *   vlog_space [--dir=D] [--idle-seconds=N]
 *
 * "Left alone" waits, a second at a time, until the directory is within
 * 10% of the live bytes or --idle-seconds (10) pass.
 * The ratio printed is the directory's bytes (every regular file) over
 * the live bytes (keys and values of the newest versions).  Each run
 * reads every key back at the end and fails if one is wrong.  The
 * database goes under D (default: a fresh directory in $TMPDIR or /tmp),
 * removed at the end.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kv.h"

#define VALUE_BYTES 8192

static char base[2048];
static int idle_seconds = 10;

static void die(const char *what)
{
    fprintf(stderr, "vlog_space: %s: %s\n", what, kv_errmsg());
    exit(1);
}

static unsigned long long dir_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    unsigned long long total = 0;
    struct dirent *e;
    char path[8192];
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            total += (unsigned long long)st.st_size;
    }
    closedir(d);
    return total;
}

static size_t key_of(char *key, int k)
{
    return (size_t)snprintf(key, 32, "key%06d", k);
}

/* The value of key k in round r: different in every round, so an old
 * copy read back is seen. */
static void value_of(char *v, int k, int r)
{
    for (size_t i = 0; i < VALUE_BYTES; i++)
        v[i] = (char)('a' + ((size_t)k * 7 + (size_t)r * 13 + i) % 26);
}

static void write_round(kv_db *db, int nkeys, int round, char *v)
{
    char key[32];
    for (int k = 0; k < nkeys; k++) {
        value_of(v, k, round);
        if (kv_put(db, key, key_of(key, k), v, VALUE_BYTES) != KV_OK)
            die("kv_put");
    }
}

static void check_round(kv_db *db, int nkeys, int round, char *v)
{
    char key[32];
    for (int k = 0; k < nkeys; k++) {
        void *got;
        size_t len;
        value_of(v, k, round);
        if (kv_get(db, key, key_of(key, k), &got, &len) != KV_OK)
            die("kv_get");
        if (len != VALUE_BYTES || memcmp(got, v, len) != 0) {
            fprintf(stderr, "vlog_space: key %d does not read its round %d value\n", k, round);
            exit(1);
        }
        kv_free(got);
    }
}

static double ratio(const char *dir, int nkeys)
{
    return (double)dir_bytes(dir) / ((double)nkeys * (VALUE_BYTES + 9));
}

/* Leaves the engine alone until the directory is within 10% of the live
 * bytes, or idle_seconds pass; returns the seconds waited. */
static int wait_idle(const char *dir, int nkeys)
{
    int waited = 0;
    while (waited < idle_seconds && ratio(dir, nkeys) > 1.10) {
        sleep(1);
        waited++;
    }
    return waited;
}

static void run_sessions(const char *dir, char *v)
{
    const int nkeys = 20, sessions = 30;
    int round = 0;
    double worst = 0;
    kv_db *db;
    for (int s = 0; s < sessions; s++) {
        if (kv_open(dir, NULL, &db) != KV_OK)
            die("kv_open");
        for (int o = 0; o < 5; o++)
            write_round(db, nkeys, ++round, v);
        const kv_snapshot *snap;
        if (kv_snapshot_new(db, &snap) != KV_OK || kv_compact(db) != KV_OK)
            die("kv_compact under a snapshot");
        kv_snapshot_free(db, snap);
        if (kv_close(db) != KV_OK)
            die("kv_close");
        double r = ratio(dir, nkeys);
        worst = r > worst ? r : worst;
    }
    if (kv_open(dir, NULL, &db) != KV_OK || kv_compact(db) != KV_OK)
        die("the last open and kv_compact");
    check_round(db, nkeys, round, v);
    printf("| sessions | 30 sessions of 20 keys x 8 KiB, 5 overwrites each, kv_compact under a snapshot, closed; then an open and kv_compact | %.2f | %.2f | |\n",
           worst, ratio(dir, nkeys));
    if (kv_close(db) != KV_OK)
        die("kv_close");
}

static void run_idle(const char *dir, char *v)
{
    const int nkeys = 1000, rounds = 41;
    kv_db *db;
    if (kv_open(dir, NULL, &db) != KV_OK)
        die("kv_open");
    for (int r = 0; r < rounds; r++)
        write_round(db, nkeys, r, v);
    if (kv_close(db) != KV_OK || kv_open(dir, NULL, &db) != KV_OK)
        die("close and reopen");
    double before = ratio(dir, nkeys);
    int waited = wait_idle(dir, nkeys);
    check_round(db, nkeys, rounds - 1, v);
    printf("| idle | 1,000 keys x 8 KiB written 41 times, closed, reopened, no kv_compact | %.2f | %.2f | %.2f after %d s |\n",
           before, before, ratio(dir, nkeys), waited);
    if (kv_close(db) != KV_OK)
        die("kv_close");
}

static void run_steady(const char *dir, char *v)
{
    const int nkeys = 1000, rounds = 41;
    double worst = 0;
    kv_db *db;
    if (kv_open(dir, NULL, &db) != KV_OK)
        die("kv_open");
    for (int r = 0; r < rounds; r++) {
        write_round(db, nkeys, r, v);
        double now = ratio(dir, nkeys);
        worst = now > worst ? now : worst;
    }
    double end = ratio(dir, nkeys);
    int waited = wait_idle(dir, nkeys);
    check_round(db, nkeys, rounds - 1, v);
    printf("| steady | the same 41 rounds in one session, no kv_compact, measured after each round | %.2f | %.2f | %.2f after %d s |\n",
           worst, end, ratio(dir, nkeys), waited);
    if (kv_close(db) != KV_OK)
        die("kv_close");
}

static void make_dir(const char *name, char *out)
{
    snprintf(out, 4096, "%s/%s", base, name);
    if (mkdir(out, 0755) != 0) {
        perror(out);
        exit(1);
    }
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[8192];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    const char *given = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--dir=", 6) == 0)
            given = argv[i] + 6;
        else if (strncmp(argv[i], "--idle-seconds=", 15) == 0)
            idle_seconds = atoi(argv[i] + 15);
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: vlog_space [--dir=D] [--idle-seconds=N]\n"
                   "Prints stage 08's directory size over its live bytes in three runs:\n"
                   "sessions closed under a snapshot, an idle reopen, a busy writer.\n");
            return 0;
        } else {
            fprintf(stderr, "usage: vlog_space [--dir=D] [--idle-seconds=N]\n");
            return 2;
        }
    }
    if (given != NULL) {
        snprintf(base, sizeof base, "%s", given);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(base, sizeof base, "%s/vlog_space.XXXXXX", tmp != NULL ? tmp : "/tmp");
        if (mkdtemp(base) == NULL) {
            perror(base);
            return 1;
        }
    }
    char *v = malloc(VALUE_BYTES);
    char dir[4096];
    if (v == NULL)
        return 1;
    printf("| run | what it writes | worst space / live | when the writes end | left idle |\n|---|---|---:|---:|---:|\n");
    fflush(stdout);
    make_dir("sessions", dir);
    run_sessions(dir, v);
    remove_dir(dir);
    fflush(stdout);
    make_dir("idle", dir);
    run_idle(dir, v);
    remove_dir(dir);
    fflush(stdout);
    make_dir("steady", dir);
    run_steady(dir, v);
    remove_dir(dir);
    if (given == NULL)
        rmdir(base);
    free(v);
    return 0;
}
