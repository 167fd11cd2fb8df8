/*
 * main.c: build/<stage>/crashtest, the crash-and-restart tester.
 *
 * It proves that a stage keeps what it promised through three kinds of
 * crash: a process killed at a random moment (kill.c), a power loss at
 * every sync of a recorded workload (powerloss.c), and I/O calls that fail
 * (ioerror.c).  All three check a reopened database against a model of the
 * acknowledged operations (model.c), so every stage is judged by the same
 * rules.  What a stage may lose in a power loss depends on it (the
 * capability table, tests/stage_caps.c): before stage 03 nothing is
 * synced, so losses are reported in a table, not failed; from stage 03 on
 * (or with --expect-durable) nothing acknowledged with sync = 1 may be
 * lost, nor anything acknowledged before a kv_close that returned, whatever
 * sync was.  The workloads close and reopen the database and switch sync
 * between opens.  The workload is random puts, deletes, batches
 * (kv_write of 2..8 puts and deletes) and merges; a batch is all or
 * nothing from stage 03 on (or with --expect-durable), while before it a
 * crash may cut a batch's one write() short, so a torn batch is counted
 * ("torn-batches"), not failed, as long as what survived is a prefix of it.
 *
 * Usage: crashtest [--quick] [--sim] [--kill] [--power] [--ioerr] [--runs N]
 *                  [--seed S] [--ops N] [--at N] [--sync0|--sync1]
 *                  [--expect-durable] [--keep] [--workload=bank]
 *                  [--ioerr-every K] [-v]
 *   --quick           the CI-sized share (a few seconds per stage)
 *   --workload=bank   the transactional workload (bank.h) instead of the
 *                     crash workload: process kills and power loss only
 *   --sim/--kill/--power/--ioerr   run only these modes (default: all;
 *                     --sim is the power-loss simulator's self-test)
 *   --runs N          process-kill runs (default 10000; 200 with --quick)
 *   --seed S          first seed (default 1); each failure prints its own
 *   --ops N           operations in the power-loss workload (default 1000;
 *                     300 with --quick); the I/O-error workload is a third
 *   --at N            power: only crash point N; ioerr: only fail call N
 *   --torn KIND:OFF   power, with --at: only the torn state KIND (prefix
 *                     or sector) at byte OFF of the torn file
 *   --ioerr-every K   ioerr: of the three ways a call fails, call n fails
 *                     the v-th way only when (n + v) % K == 0: with K = 3,
 *                     every call fails once, one way, in a third of the
 *                     runs (make test's ASan builds use it)
 *   --sync0/--sync1   power: only the workload whose first open has sync = 0
 *                     / sync = 1 (the opens after it alternate)
 *   --expect-durable  judge power loss as stage 03+ does
 *   --keep            power: leave each failing crash state on disk (to
 *                     look at with build/<stage>/kv DIR dump)
 *   -v                progress, and every failure (not just the first 25)
 *   --kill-child ...  (first, alone) not for people: a process-kill child
 *                     that kill.c starts afresh (crash_exec_child)
 * Work directories go under $TMPDIR, else /dev/shm, else /tmp.  The last
 * line printed is "N passed, N failed"; the exit status is 0 only if
 * nothing failed.
 */
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../stage_caps.h"
#include "bank.h"
#include "crash.h"

long crash_passed, crash_failed;
long crash_only_at = -1; /* --at */
char crash_only_torn[16];  /* --torn KIND:OFF: its kind (prefix or sector) */
unsigned long long crash_only_torn_off;
static const crash_config *crash_cfg;

#define CRASH_MAX_SHOWN 25

void crash_fail(const char *repro, const char *fmt, ...)
{
    crash_failed++;
    if (crash_failed > CRASH_MAX_SHOWN && !crash_cfg->verbose) {
        if (crash_failed == CRASH_MAX_SHOWN + 1)
            printf("FAIL: (more failures; only the first %d are shown, -v shows all)\n",
                   CRASH_MAX_SHOWN);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n      reproduce: %s %s%s%s\n", crash_cfg->argv0, repro,
           crash_cfg->quick ? " --quick" : "",
           crash_cfg->expect_durable ? " --expect-durable" : "");
    fflush(stdout);
}

char *crash_mkdtemp(const crash_config *cfg, const char *tag)
{
    char *path = NULL;
    if (asprintf(&path, "%s/crashtest-%s-XXXXXX", cfg->tmp, tag) < 0 || mkdtemp(path) == NULL) {
        fprintf(stderr, "crashtest: cannot make a directory under %s\n", cfg->tmp);
        exit(2);
    }
    return path;
}

static int crash_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

void crash_rmtree(const char *path) { nftw(path, crash_rm_one, 16, FTW_DEPTH | FTW_PHYS); }

double crash_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void crash_progress(const char *what, long done, long total)
{
    static double started, last;
    double now = crash_now();
    if (started == 0)
        started = last = now;
    if (now - last < CRASH_PROGRESS_S && !(crash_cfg->verbose && done % 100 == 0))
        return;
    last = now;
    printf("  %s: %ld of %ld, %ld failed so far, %.0f s\n", what, done, total, crash_failed,
           now - started);
    fflush(stdout);
}

static const char *crash_default_tmp(void)
{
    const char *t = getenv("TMPDIR");
    if (t && *t)
        return t;
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
        return "/dev/shm";
    return "/tmp";
}

/* The usage on f; exits 0 if f is stdout (--help), else 2. */
static void crash_usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s [--quick] [--sim] [--kill] [--power] [--ioerr] [--runs N] [--seed S]\n"
            "          [--ops N] [--at N] [--torn prefix|sector:OFF] [--ioerr-every K] [--sync0|--sync1] [--expect-durable] [--keep]\n"
            "          [--workload=crash|bank] [-v]\n"
            "Crashes stage %s (process kills, power loss at every sync, failed I/O calls)\n"
            "and checks what each reopen recovers against the acknowledged writes; with no\n"
            "mode, all four.  See the top of tests/crash/main.c.\n",
            argv0, kv_stage());
    exit(f == stdout ? 0 : 2);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--kill-child") == 0)
        crash_exec_child(argc - 1, argv + 1);
    crash_config cfg = {.seed = 1, .power_sync = -1, .argv0 = argv[0], .tmp = crash_default_tmp()};
    long runs = -1, ops = -1;
    int sim_mode = 0, kill_mode = 0, power_mode = 0, ioerr_mode = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0)
            cfg.quick = 1;
        else if (strcmp(a, "--sim") == 0)
            sim_mode = 1;
        else if (strcmp(a, "--kill") == 0)
            kill_mode = 1;
        else if (strcmp(a, "--power") == 0)
            power_mode = 1;
        else if (strcmp(a, "--ioerr") == 0)
            ioerr_mode = 1;
        else if (strcmp(a, "--expect-durable") == 0)
            cfg.expect_durable = 1;
        else if (strcmp(a, "--sync0") == 0 || strcmp(a, "--sync1") == 0)
            cfg.power_sync = a[6] - '0';
        else if (strcmp(a, "--keep") == 0)
            cfg.keep = 1;
        else if (strcmp(a, "--workload=bank") == 0)
            cfg.bank = 1;
        else if (strcmp(a, "--workload=crash") == 0)
            cfg.bank = 0;
        else if (strcmp(a, "-v") == 0)
            cfg.verbose = 1;
        else if (strcmp(a, "--runs") == 0 && next)
            runs = atol(argv[++i]);
        else if (strcmp(a, "--seed") == 0 && next)
            cfg.seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--ops") == 0 && next)
            ops = atol(argv[++i]);
        else if (strcmp(a, "--at") == 0 && next)
            crash_only_at = atol(argv[++i]);
        else if (strcmp(a, "--torn") == 0 && next &&
                 sscanf(argv[i + 1], "%15[a-z]:%llu", crash_only_torn, &crash_only_torn_off) == 2)
            i++;
        else if (strcmp(a, "--ioerr-every") == 0 && next)
            cfg.ioerr_every = atol(argv[++i]);
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            crash_usage(stdout, argv[0]);
        else
            crash_usage(stderr, argv[0]);
    }
    if (!sim_mode && !kill_mode && !power_mode && !ioerr_mode) {
        sim_mode = ioerr_mode = !cfg.bank;
        kill_mode = power_mode = 1;
    }
    if (cfg.bank && (sim_mode || ioerr_mode)) {
        fprintf(stderr, "crashtest: --workload=bank has process kills and power loss only\n");
        return 2;
    }
    cfg.runs = runs >= 0 ? runs : cfg.bank ? (cfg.quick ? 20 : 1000) : cfg.quick ? 200 : 10000;
    cfg.ops = ops > 0 ? ops : cfg.bank ? (cfg.quick ? 120 : 600) : cfg.quick ? 300 : 1000;
    const stage_caps *caps = stage_caps_find();
    if (caps == NULL) {
        fprintf(stderr, "crashtest: tests/stage_caps.c has no row for stage %s\n", kv_stage());
        return 2;
    }
    if (caps->durable_sync && caps->atomic_batches)
        cfg.expect_durable = 1;
    if (caps->durable_close || cfg.expect_durable)
        cfg.durable_close = 1;
    crash_cfg = &cfg;
    crash_tune_engine();

    printf("crashtest: stage %s, %s run%s, power-loss durability %s\n", kv_stage(),
           cfg.quick ? "quick" : "full", cfg.bank ? " of the bank workload (transactions)" : "",
           cfg.expect_durable ? "required (writes acknowledged with sync = 1, or before a "
                                "clean close, must survive)"
                              : "not promised (losses are reported, not failed)");
    fflush(stdout);
    double t0 = crash_now();
    if (sim_mode)
        crash_sim_test(&cfg);
    if (kill_mode)
        cfg.bank ? crash_bank_kill_test(&cfg) : crash_kill_test(&cfg);
    if (power_mode)
        cfg.bank ? crash_bank_power_test(&cfg) : crash_power_test(&cfg);
    if (ioerr_mode)
        crash_ioerror_test(&cfg);
    printf("crashtest: %.1f s in all\n", crash_now() - t0);
    printf("%ld passed, %ld failed\n", crash_passed, crash_failed);
    return crash_failed ? 1 : 0;
}
