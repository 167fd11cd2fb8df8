/*
 * bank_crash.c: the bank workload (bank.h) under the crash tester's two
 * crashes, `crashtest --workload=bank`.
 *
 *   process kill  a run forks a child that opens the bank and runs
 *                 transfers, meddlers, audits, plain writes and merges until
 *                 SIGKILL (after a random delay or a random number of
 *                 acknowledged writes: kill.c's crash_kill_run), reopens the
 *                 database and checks it (bank_model.c: the accounts add up,
 *                 every acknowledged write is there, the state is a prefix
 *                 of the writes); then a second child on the same database.
 *   power loss    the workload runs once on the power-loss simulator, each
 *                 write (a commit, a plain put or delete, a meddler's put) a
 *                 unit of powerloss.c's recording; every crash state at every
 *                 crash point is reopened and checked the same way, judged
 *                 by the stage's rules (stage_caps.h) as the crash
 *                 workload's are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bank.h"
#include "io_sim.h"

static uint64_t bank_crash_mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The database shape of a seed: small segments, memtables and levels, so
 * that commits land across roll-overs, flushes and compactions. */
static void bank_crash_workload(crash_workload *w, uint64_t seed)
{
    static const size_t sizes[] = {0, 4096, 65536};
    crash_workload_init(w, seed, 8);
    w->segment_bytes = sizes[seed % 3];
    w->memtable_bytes = sizes[(seed / 3) % 3];
    crash_workload_levels(w, 4096);
}

/* ---- process kill ------------------------------------------------------------ */

typedef struct bank_kill_stats {
    long killed, finished, acked, commits, conflicts, retries, audits, inflight,
        inflight_done;
} bank_kill_stats;

typedef struct bank_kill_arg {
    const char *dir;
    const crash_workload *w;
    uint64_t seed;
    uint32_t first;
    int sync;
} bank_kill_arg;

static void bank_kill_child(void *arg, int fd)
{
    const bank_kill_arg *a = arg;
    bank_child(a->dir, a->w, a->seed, a->first, a->sync, fd);
}

static void bank_kill_take(void *ctx, const crash_msg *msg) { bank_model_take(ctx, msg); }

static void bank_kill_one(const crash_config *cfg, uint64_t seed, bank_kill_stats *st)
{
    crash_workload w;
    bank_crash_workload(&w, seed);
    bank_model m;
    bank_model_init(&m, seed);
    char *root = crash_mkdtemp(cfg, "bank-kill");
    char dir[4096], repro[80];
    snprintf(dir, sizeof dir, "%s/db", root);
    snprintf(repro, sizeof repro, "--workload=bank --kill --seed %llu --runs 1",
             (unsigned long long)seed);
    uint64_t rng = seed ^ 0xb4a7ull;
    long max_acks = cfg->quick ? 200 : 2000, max_delay_us = cfg->quick ? 3000 : 30000;
    int ok = 1;
    for (int round = 0; round < 2 && ok; round++) {
        int sync = (int)(bank_crash_mix(&rng) & 1);
        uint64_t r = bank_crash_mix(&rng);
        long delay_us = -1, after_acks = -1;
        if (r & 1)
            delay_us = (long)((r >> 1) % (uint64_t)max_delay_us);
        else
            after_acks = (long)((r >> 1) % (uint64_t)max_acks);
        bank_kill_arg a = {.dir = dir, .w = &w, .seed = seed, .first = m.next_op, .sync = sync};
        long acks0 = m.acks, commits0 = m.commits;
        long acks_goal = after_acks >= 0 ? acks0 + after_acks : -1;
        crash_kill_io io = {.child = bank_kill_child, .arg = &a, .take = bank_kill_take,
                            .ctx = &m, .acks = &m.acks, .problem = m.problem,
                            .problem_size = sizeof m.problem};
        int killed = 0;
        if (!crash_kill_run(&io, delay_us, acks_goal, &killed)) {
            crash_fail(repro, "process kill (transactions), seed %llu, round %d: %s",
                       (unsigned long long)seed, round + 1, m.problem);
            ok = 0;
            break;
        }
        st->killed += killed;
        st->finished += !killed;
        st->acked += m.acks - acks0;
        st->commits += m.commits - commits0;
        long inflight = -1;
        for (size_t i = 0; i < m.n; i++)
            if (m.status[i] == CRASH_MAYBE && !m.ev[i].failed)
                inflight = (long)i;
        st->inflight += inflight >= 0;
        crash_verdict v;
        bank_check_dir(dir, &m, CRASH_CHECK_RESOLVE, &v);
        if (bank_verdict_bad(&v, cfg->expect_durable)) {
            char why[sizeof v.what + sizeof v.torn_what + 8];
            crash_fail(repro,
                       "process kill (transactions), seed %llu, round %d (killed %s %ld %s, "
                       "%ld writes acknowledged, write %ld in flight): %s",
                       (unsigned long long)seed, round + 1, delay_us >= 0 ? "after" : "at",
                       delay_us >= 0 ? delay_us : after_acks, delay_us >= 0 ? "us" : "acks",
                       m.acks - acks0, inflight >= 0 ? (long)m.ev[inflight].tag : -1,
                       crash_verdict_why(&v, cfg->expect_durable, why, sizeof why));
            ok = 0;
        }
        st->inflight_done += inflight >= 0 && m.status[inflight] == CRASH_ACKED;
        bank_model_settle(&m);
    }
    st->conflicts += m.conflicts;
    st->retries += m.retries;
    st->audits += m.audits;
    if (ok)
        crash_passed++;
    crash_rmtree(root);
    free(root);
    bank_model_free(&m);
}

int crash_bank_kill_test(const crash_config *cfg)
{
    double t0 = crash_now();
    long failed0 = crash_failed;
    bank_kill_stats st = {0};
    for (long i = 0; i < cfg->runs; i++) {
        bank_kill_one(cfg, cfg->seed + (uint64_t)i, &st);
        crash_progress("process kill runs (transactions)", i + 1, cfg->runs);
    }
    printf("process kill (transactions): %ld runs (seeds %llu..%llu), %ld failed; %ld children "
           "killed, %ld finished first; %ld writes acknowledged, %ld of them commits; %ld "
           "conflicts (each one the model called), %ld retried transfers committed; %ld "
           "audits; %ld kills with a write in flight, %ld of those took effect; %.1f s\n",
           cfg->runs, (unsigned long long)cfg->seed,
           (unsigned long long)(cfg->seed + (uint64_t)cfg->runs - 1), crash_failed - failed0,
           st.killed, st.finished, st.acked, st.commits, st.conflicts, st.retries, st.audits,
           st.inflight, st.inflight_done, crash_now() - t0);
    fflush(stdout);
    return crash_failed == failed0;
}

/* ---- power loss ------------------------------------------------------------- */

/* The recording's side: each message goes to the model, and each write
 * that becomes an event gets its journal positions (a unit). */
typedef struct bank_power {
    bank_model m;
    crash_power_ref *ref;
    size_t cap;
    long ops;
} bank_power;

static void bank_power_send(void *ctx, const crash_msg *msgs, size_t count)
{
    bank_power *bp = ctx;
    crash_power_ref *ref = bp->ref;
    for (size_t i = 0; i < count; i++) {
        size_t n0 = bp->m.n;
        long cur = bp->m.cur;
        bank_model_take(&bp->m, &msgs[i]);
        if (bp->m.n > n0) { /* a new event: it begins here */
            if (bp->m.n > bp->cap) {
                bp->cap = bp->cap ? 2 * bp->cap : 1024;
                ref->begin = realloc(ref->begin, bp->cap * sizeof *ref->begin);
                ref->end = realloc(ref->end, bp->cap * sizeof *ref->end);
                if (!ref->begin || !ref->end) {
                    perror("crashtest: bank power");
                    exit(2);
                }
            }
            ref->begin[n0] = ref->end[n0] = io_sim_position();
        } else if (msgs[i].type == CRASH_MSG_ACK && cur >= 0) {
            ref->end[cur] = io_sim_position();
            ref->units = cur + 1;
        }
    }
}

static int bank_power_run(void *ctx, kv_db *db, int p, crash_power_ref *ref)
{
    bank_power *bp = ctx;
    (void)ref;
    long first = bp->ops * p / CRASH_POWER_PHASES, end = bp->ops * (p + 1) / CRASH_POWER_PHASES;
    int rc = KV_OK;
    for (long n = first; n < end && rc == KV_OK && !bp->m.problem[0]; n++) {
        bank_op op;
        bank_op_make(bp->m.seed, (uint32_t)n, &op);
        rc = bank_op_run(db, &op, bank_power_send, bp);
    }
    if (rc == KV_OK && bp->m.problem[0]) {
        fprintf(stderr, "crashtest: bank reference workload: %s\n", bp->m.problem);
        rc = KV_ERR_CORRUPT;
    }
    return rc;
}

static int bank_power_check(void *ctx, const char *dir, int flags, crash_verdict *v)
{
    bank_power *bp = ctx;
    return bank_check_dir(dir, &bp->m, flags, v);
}

static void bank_power_one(const crash_config *cfg, int sync)
{
    double t0 = crash_now();
    long failed0 = crash_failed;
    char repro[112];
    snprintf(repro, sizeof repro, "--workload=bank --power --seed %llu --ops %ld --sync%d",
             (unsigned long long)cfg->seed, cfg->ops, sync);
    crash_power_ref ref;
    memset(&ref, 0, sizeof ref);
    ref.repro = repro;
    ref.what = " (transactions)";
    ref.check = bank_power_check;
    bank_power bp;
    memset(&bp, 0, sizeof bp);
    bank_model_init(&bp.m, cfg->seed);
    bp.ref = &ref;
    bp.ops = cfg->ops;
    ref.ctx = &bp;
    crash_workload w;
    crash_workload_init(&w, cfg->seed, 8);
    w.segment_bytes = 16384;
    w.memtable_bytes = 4096;
    crash_workload_levels(&w, 2048);
    if (crash_power_record(cfg, &w, sync, &ref, bank_power_run, &bp)) {
        ref.status = bp.m.status;
        ref.durable = bp.m.durable;
        crash_power_row rows[CRASH_POWER_MODELS];
        size_t npoints = crash_power_check(cfg, &ref, cfg->quick ? 25 : 10, rows);
        printf("power loss (transactions), sync=%d first (then %d, %d, ...; %d opens): %ld ops, "
               "%ld writes (%ld commits, %ld conflicts, %ld retried; %ld plain puts and "
               "deletes), %ld audits, %ld merges; journal of %zu entries (%ld fsyncs, %ld "
               "directory fsyncs), %zu crash points, %ld failed, %.1f s\n",
               sync, !sync, sync, CRASH_POWER_PHASES, cfg->ops, ref.units, bp.m.commits,
               bp.m.conflicts, bp.m.retries, bp.m.plain, bp.m.audits, bp.m.merges, ref.journal,
               ref.syncs, ref.dir_syncs, npoints, crash_failed - failed0, crash_now() - t0);
        crash_work_print("in the reference workload", &ref.work);
        crash_power_table(rows);
    }
    io_sim_reset();
    bank_model_free(&bp.m);
    free(ref.begin);
    free(ref.end);
}

int crash_bank_power_test(const crash_config *cfg)
{
    long failed0 = crash_failed;
    if (cfg->power_sync != 0)
        bank_power_one(cfg, 1);
    if (cfg->power_sync != 1)
        bank_power_one(cfg, 0);
    crash_power_legend();
    return crash_failed == failed0;
}
