/*
 * ioerror.c: I/O errors.  Proves that when the disk fails a call the engine
 * says so, and that the database it leaves reopens consistent.
 *
 * A short workload (open, operations, close, reopen, more operations,
 * close; one open with sync = 1, the other with sync = 0) runs once on the
 * fault backend (common/io_fault.h) just to count its I/O calls.  Then,
 * for every N up to that count, it runs again with call N failing: once
 * (EIO), from then on (EIO), and from then on with ENOSPC after half an
 * append reached the file (a disk filling up; a short write followed by a
 * retry that succeeds is not an error, so it is not tested here).
 * Afterwards the database is reopened without faults and
 * checked (model.c): it opens; every operation that returned KV_OK is
 * there; an operation that returned an error may or may not have happened;
 * nothing else is there; a write after recovery works.  A batch whose
 * kv_write failed may have applied nothing or all of it; before stage 03
 * also a prefix of its members (a write() cut short and not undone), which
 * is counted as torn rather than failed.  And since kv.h
 * promises that any failure returns an error, an injected failure that
 * every call answered with KV_OK counts as a failure too (an engine that
 * ignores a failed fsync loses data silently).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "io_fault.h"

typedef struct ioerr_variant {
    const char *name;
    int persistent, err, short_write;
} ioerr_variant;

/* Runs the workload, marking each operation acknowledged or maybe; returns
 * how many API calls returned an error. */
static int ioerr_workload(crash_model *m, const char *dir, uint32_t nops, crash_work *work)
{
    int errors = 0;
    memset(m->status, CRASH_NOT_DONE, m->n);
    kv_options opt;
    for (uint32_t phase = 0; phase < 2; phase++) {
        kv_db *db = NULL;
        crash_options(&m->w, (int)((m->w.seed + phase) & 1), &opt); /* one open of each */
        if (kv_open(dir, &opt, &db) != KV_OK)
            return errors + 1;
        uint32_t from = phase ? nops / 2 : 0, to = phase ? nops : nops / 2;
        for (uint32_t i = from; i < to; i++) {
            int rc = crash_op_run(db, &m->ops[i]);
            m->status[i] = rc == KV_OK ? CRASH_ACKED : CRASH_MAYBE;
            errors += rc != KV_OK;
        }
        if (work != NULL)
            crash_work_add(db, work);
        errors += kv_close(db) != KV_OK;
    }
    return errors;
}

int crash_ioerror_test(const crash_config *cfg)
{
    static const ioerr_variant variants[] = {
        {"once", 0, EIO, 0},
        {"from then on", 1, EIO, 0},
        {"from then on, ENOSPC after half an append", 1, ENOSPC, 1},
    };
    double t0 = crash_now();
    long failed0 = crash_failed;
    uint32_t nops = (uint32_t)(cfg->ops / 3 > 20 ? cfg->ops / 3 : 20);
    crash_workload w;
    crash_workload_init(&w, cfg->seed, 30);
    w.compact_per_mille = 20;
    w.segment_bytes = 4096;
    w.memtable_bytes = 4096;
    crash_workload_levels(&w, 2048);
    crash_model m;
    crash_model_init(&m, &w);
    crash_model_grow(&m, nops);

    char *root = crash_mkdtemp(cfg, "ioerr");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/db", root);
    io_fault_plan count = {.kinds = IO_FAULT_ALL};
    io_fault_install(&count);
    crash_work work = {0};
    int errors = ioerr_workload(&m, dir, nops, &work);
    long calls = io_fault_calls();
    io_fault_uninstall();
    crash_rmtree(root);
    free(root);
    char repro[96];
    snprintf(repro, sizeof repro, "--ioerr --seed %llu --ops %ld", (unsigned long long)cfg->seed,
             cfg->ops);
    if (errors) {
        crash_fail(repro, "I/O errors: the workload fails without any fault: %s", kv_errmsg());
        crash_model_free(&m);
        return 0;
    }

    long runs = 0, reached = 0, torn_runs = 0, batches = 0;
    for (uint32_t i = 0; i < nops; i++)
        batches += m.ops[i].kind == CRASH_BATCH;
    for (size_t vi = 0; vi < sizeof variants / sizeof variants[0]; vi++) {
        for (long n = 1; n <= calls; n++) {
            if (crash_only_at >= 0 && n != crash_only_at)
                continue;
            if (crash_only_at < 0 && cfg->ioerr_every > 1 && (n + (long)vi) % cfg->ioerr_every != 0)
                continue;
            root = crash_mkdtemp(cfg, "ioerr");
            snprintf(dir, sizeof dir, "%s/db", root);
            io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = n,
                                  .persistent = variants[vi].persistent,
                                  .err = variants[vi].err,
                                  .short_write = variants[vi].short_write};
            io_fault_install(&plan);
            errors = ioerr_workload(&m, dir, nops, NULL);
            long failures = io_fault_failures();
            io_fault_uninstall();
            runs++;
            reached += failures > 0;

            crash_verdict v;
            crash_check_dir(dir, &m, CRASH_CHECK_PROBE, &v);
            char rp[128], why[sizeof v.what + sizeof v.torn_what + 8];
            snprintf(rp, sizeof rp, "%s --at %ld", repro, n);
            torn_runs += v.torn > 0;
            if (crash_verdict_bad(&v, cfg->expect_durable))
                crash_fail(rp, "I/O error, seed %llu, call %ld of %ld failed (%s): %s",
                           (unsigned long long)cfg->seed, n, calls, variants[vi].name,
                           crash_verdict_why(&v, cfg->expect_durable, why, sizeof why));
            else if (failures > 0 && errors == 0)
                crash_fail(rp, "I/O error, seed %llu, call %ld of %ld failed (%s), but every "
                           "kv call returned KV_OK: the error was swallowed",
                           (unsigned long long)cfg->seed, n, calls, variants[vi].name);
            else
                crash_passed++;
            crash_rmtree(root);
            free(root);
            crash_progress("I/O errors: failed calls", (long)vi * calls + n,
                           (long)(sizeof variants / sizeof variants[0]) * calls);
        }
    }
    printf("I/O errors: %u ops (%ld batches), %ld I/O calls; each call failed once, from then "
           "on, and from then on after a half-written append (ENOSPC)%s: %ld runs, %ld reached "
           "the fault, %ld left a batch torn (%s), %ld failed, %.1f s\n",
           nops, batches, calls,
           cfg->ioerr_every > 1 ? " (one of the three ways per call: --ioerr-every)" : "",
           runs, reached, torn_runs,
           cfg->expect_durable ? "a failure from stage 03 on" : "allowed before stage 03",
           crash_failed - failed0, crash_now() - t0);
    crash_work_print("in the workload without faults", &work);
    fflush(stdout);
    crash_model_free(&m);
    return crash_failed == failed0;
}
