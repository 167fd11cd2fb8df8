/*
 * powerloss.c: power loss at every sync.  Proves what a stage's data
 * survives when the machine, not just the process, goes down; and shows
 * what it loses when it never syncs.
 *
 * A reference workload (1,000 operations by default, merges included) runs
 * once on the power-loss simulator (common/io_sim.h, which states the
 * model of what a sync promises).  Crash points are every file and
 * directory sync in its journal (just before and just after it), every
 * tenth operation (so stages that never sync are tested too), every append
 * that crosses a 4 KiB boundary, and the end.  At each point the simulator
 * builds the crash states a real file system can leave, per crash model:
 *
 *   data-lost    unsynced data dropped; names kept
 *   names-lost   unsynced data dropped, and unsynced names too (new files
 *                removed, renames reverted, unlinks undone)
 *   random       each unsynced write kept, dropped or garbled on its own,
 *                a random prefix of each directory's unsynced names kept
 *                (several variants)
 *   torn-1B, torn-third, torn-4K
 *                everything kept but the last unsynced append, cut short
 *   torn-prefix  everything kept but the unsynced region of the file last
 *                written (its appends since its sync), of which a prefix
 *                survives: cut at each 512-byte sector boundary inside it
 *                and at its first, middle and last byte
 *   torn-sector  everything kept, but one sector of that region lost (it
 *                reads as zeros): a later sector reached the disk, an
 *                earlier one did not (never the sector of its last byte)
 * (The last two as LazyFS's torn writes and ALICE's prefix and zero-fill
 * states; every state up to TORN_PER_POINT a point, then an even sample
 * that keeps the prefix losing the region's last sector.)
 *
 * Each state is reopened and checked (model.c), with "acknowledged"
 * meaning returned before the crash point.  The workload closes and
 * reopens the database CRASH_POWER_PHASES times, switching sync between opens,
 * and a crash point also falls just after each kv_open and each kv_close
 * returned.  It runs twice: once with sync = 1 at the first open (then 0,
 * 1, ...), once with sync = 0 first.  What was acknowledged with sync = 1,
 * and what was acknowledged before a kv_close that returned (whatever
 * sync was), may not be lost where the stage promises it (stage_caps.h);
 * the rest may be lost, but holes may not (what survives must be what a
 * prefix of the operations leaves).  Batches are operations like any other
 * in the recorded workload, and a batch must be all or nothing in every
 * crash state, in flight or acknowledged (a cut may fall inside a batch
 * without making a hole; that batch is then torn).  Before stage 03 nothing
 * is synced and a batch is one write() a power loss can tear, so those
 * rules are reported in a table rather than failed; the rules every stage
 * keeps (nothing foreign, iteration consistent, recovery writable) are
 * failed always, and so is a refusal to open a torn state (but
 * torn-sector's, below): a power cut that keeps part of an unsynced write
 * is ordinary, and
 * recovery must drop a torn last record (as LevelDB's and RocksDB's do),
 * not refuse the database.  (A lost sector with good records after it is
 * what damage looks like too: a stage that never syncs cannot tell them
 * apart, and before stage 03 it may refuse it, as it may a random state.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "io_sim.h"

typedef struct power_model {
    const char *name;
    int data, names, torn, variants; /* variants 0: one per place in the torn region */
} power_model;

/* Torn states checked at one crash point, at most: prefixes, lost sectors. */
#define TORN_PREFIXES 8
#define TORN_SECTORS 4
#define SECTOR 512u

/* The crash models: the rows of the table (see the top of this file). */
static const power_model power_models[CRASH_POWER_MODELS] = {
    {"data-lost", IO_SIM_LOSE, IO_SIM_KEEP, IO_SIM_TORN_NONE, 1},
    {"names-lost", IO_SIM_LOSE, IO_SIM_LOSE, IO_SIM_TORN_NONE, 1},
    {"random", IO_SIM_RANDOM, IO_SIM_RANDOM, IO_SIM_TORN_NONE, 4},
    {"torn-1B", IO_SIM_KEEP, IO_SIM_KEEP, IO_SIM_TORN_1B, 1},
    {"torn-third", IO_SIM_KEEP, IO_SIM_KEEP, IO_SIM_TORN_THIRD, 1},
    {"torn-4K", IO_SIM_KEEP, IO_SIM_KEEP, IO_SIM_TORN_4K, 1},
    {"torn-prefix", IO_SIM_KEEP, IO_SIM_KEEP, IO_SIM_TORN_PREFIX, 0},
    {"torn-sector", IO_SIM_KEEP, IO_SIM_KEEP, IO_SIM_TORN_SECTOR, 0},
};

int crash_power_record(const crash_config *cfg, const crash_workload *w, int first_sync,
                       crash_power_ref *ref, crash_power_run_fn run, void *ctx)
{
    char *root = crash_mkdtemp(cfg, "power");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/db", root);
    int rc = io_sim_install(root);
    for (int p = 0; p < CRASH_POWER_PHASES && rc == KV_OK; p++) {
        crash_power_phase *ph = &ref->phases[p];
        ph->sync = first_sync ^ (p & 1);
        kv_db *db = NULL;
        kv_options opt;
        crash_options(w, ph->sync, &opt);
        if ((rc = kv_open(dir, &opt, &db)) != KV_OK) {
            crash_fail(ref->repro, "power loss, seed %llu: kv_open %d of the reference "
                       "workload: %s: %s", (unsigned long long)cfg->seed, p + 1,
                       kv_strerror(rc), kv_errmsg());
            break;
        }
        ph->opened = io_sim_position();
        ph->first = ref->units;
        rc = run(ctx, db, p, ref);
        ph->end = ref->units;
        if (rc != KV_OK) {
            crash_fail(ref->repro, "power loss, seed %llu: the reference workload failed: "
                       "%s: %s", (unsigned long long)cfg->seed, kv_strerror(rc), kv_errmsg());
            kv_close(db);
        } else if (crash_work_add(db, &ref->work), (rc = kv_close(db)) != KV_OK) {
            crash_fail(ref->repro, "power loss: kv_close %d of the reference workload: %s",
                       p + 1, kv_errmsg());
        }
        ph->closed = io_sim_position();
    }
    io_sim_uninstall();
    ref->journal = io_sim_position();
    for (size_t j = 0; j < ref->journal; j++) {
        ref->syncs += io_sim_kind(j) == IO_SIM_SYNC;
        ref->dir_syncs += io_sim_kind(j) == IO_SIM_SYNC_DIR;
    }
    if (rc == KV_OK && io_sim_untracked() != 0) {
        crash_fail(ref->repro, "power loss: the simulator could not follow %ld file "
                   "operation(s)", io_sim_untracked());
        rc = KV_ERR_IO;
    }
    crash_rmtree(root);
    free(root);
    return rc == KV_OK;
}

/* The crash workload: operations [first, end) of phase p, each a unit. */
typedef struct power_ops {
    crash_model m;
    long ops;
    long puts, deletes, batches, merges;
} power_ops;

static int power_ops_run(void *ctx, kv_db *db, int p, crash_power_ref *ref)
{
    power_ops *po = ctx;
    int rc = KV_OK;
    long first = po->ops * p / CRASH_POWER_PHASES, end = po->ops * (p + 1) / CRASH_POWER_PHASES;
    for (long i = first; i < end && rc == KV_OK; i++) {
        const crash_op *op = &po->m.ops[i];
        ref->begin[i] = io_sim_position();
        rc = crash_op_run(db, op);
        ref->end[i] = io_sim_position();
        ref->units = i + 1;
        po->puts += op->kind == CRASH_PUT;
        po->deletes += op->kind == CRASH_DELETE;
        po->batches += op->kind == CRASH_BATCH;
        po->merges += op->kind == CRASH_COMPACT;
    }
    return rc;
}

static int power_ops_check(void *ctx, const char *dir, int flags, crash_verdict *v)
{
    power_ops *po = ctx;
    return crash_check_dir(dir, &po->m, flags, v);
}

/* Runs the reference workload on the simulator, recording its journal;
 * the first open has sync = first_sync, and each reopen switches it. */
static int power_record(const crash_config *cfg, int first_sync, power_ops *po,
                        crash_power_ref *ref)
{
    crash_workload w;
    crash_workload_init(&w, cfg->seed, 100);
    w.compact_per_mille = 15;
    w.big_pct = 5;
    w.segment_bytes = 16384; /* stage 02+: several segment roll-overs */
    w.memtable_bytes = 4096; /* stage 04+: many flushes */
    crash_workload_levels(&w, 2048); /* stage 06+: many compactions */
    crash_model_init(&po->m, &w);
    crash_model_grow(&po->m, (size_t)cfg->ops);
    po->ops = cfg->ops;
    ref->begin = calloc((size_t)cfg->ops, sizeof *ref->begin);
    ref->end = calloc((size_t)cfg->ops, sizeof *ref->end);
    ref->status = po->m.status;
    ref->durable = po->m.durable;
    ref->check = power_ops_check;
    ref->ctx = po;
    return crash_power_record(cfg, &w, first_sync, ref, power_ops_run, po);
}

static int power_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static int power_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Does append entry j cross a 4 KiB boundary of its file?  (Only there can
 * a torn-4K state differ from the others.) */
static int power_crosses_page(size_t j)
{
    uint64_t off = 0, len = 0;
    io_sim_extent(j, &off, &len);
    return len > 0 && off / 4096 != (off + len - 1) / 4096;
}

/* Crash points: around every sync, after every `step` operations, after
 * every append that crosses a 4 KiB boundary, just after each kv_open and
 * kv_close returned, and the end; sorted, without repeats, and at most
 * `max` of them (a seeded random choice; the end and the closes are
 * always kept). */
static size_t power_points(const crash_power_ref *ref, long step, size_t max, uint64_t seed,
                           size_t **out)
{
    long ops = ref->units;
    size_t cap = 2 * ref->journal + (size_t)ops + 2 * CRASH_POWER_PHASES + 2, n = 0;
    size_t *p = malloc(cap * sizeof *p);
    if (crash_only_at >= 0) { /* --at: just that one */
        p[0] = (size_t)crash_only_at;
        *out = p;
        return 1;
    }
    for (size_t j = 0; j < ref->journal; j++) {
        int kind = io_sim_kind(j);
        if (kind == IO_SIM_SYNC || kind == IO_SIM_SYNC_DIR) {
            p[n++] = j;
            p[n++] = j + 1;
        } else if (power_crosses_page(j)) {
            p[n++] = j + 1;
        }
    }
    for (long i = step - 1; i < ops; i += step)
        p[n++] = ref->end[i];
    for (int ph = 0; ph < CRASH_POWER_PHASES; ph++)
        p[n++] = ref->phases[ph].opened;
    qsort(p, n, sizeof *p, power_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] != ref->journal && (u == 0 || p[i] != p[u - 1]))
            p[u++] = p[i];
    if (max && u > max - 1) {
        uint64_t r = seed;
        for (size_t i = 0; i < max - 1; i++) { /* a partial Fisher-Yates shuffle */
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            size_t k = i + (size_t)((r >> 33) % (u - i)), t = p[i];
            p[i] = p[k];
            p[k] = t;
        }
        u = max - 1;
        qsort(p, u, sizeof *p, power_cmp);
    }
    /* The clean closes (the last one is the end). */
    for (int ph = 0; ph + 1 < CRASH_POWER_PHASES; ph++) {
        size_t at = ref->phases[ph].closed, i = 0;
        while (i < u && p[i] != at)
            i++;
        if (i == u)
            p[u++] = at;
    }
    qsort(p, u, sizeof *p, power_cmp);
    p[u++] = ref->journal;
    *out = p;
    return u;
}

/* Sets each operation's status as of a crash after the first `at` journal
 * entries: acknowledged if it had returned, maybe if it had begun; and
 * durable if acknowledged where the stage promises it survives a power
 * loss: with sync = 1, or before a kv_close that returned. */
static void power_status_at(const crash_config *cfg, crash_power_ref *ref, size_t at)
{
    for (int p = 0; p < CRASH_POWER_PHASES; p++) {
        const crash_power_phase *ph = &ref->phases[p];
        int durable = (ph->sync && cfg->expect_durable) ||
                      (ph->closed <= at && cfg->durable_close);
        for (long i = ph->first; i < ph->end; i++) {
            ref->status[i] = ref->end[i] <= at    ? CRASH_ACKED
                             : ref->begin[i] < at ? CRASH_MAYBE
                                                  : CRASH_NOT_DONE;
            ref->durable[i] = durable && ref->status[i] == CRASH_ACKED;
        }
    }
}

/* Checks one crash state; returns 0 if it broke a rule for this stage. */
static int power_judge(const crash_config *cfg, const crash_verdict *v, int opened, int torn,
                       crash_power_row *row)
{
    row->states++;
    row->opened += opened;
    row->no_open += !opened;
    if (!opened)
        return !cfg->expect_durable && (torn == IO_SIM_TORN_NONE || torn == IO_SIM_TORN_SECTOR);
    row->losing += v->lost > 0;
    row->lost += v->lost;
    row->durable_lost += v->lost_durable;
    row->holes += v->hole;
    row->torn += v->torn;
    row->foreign += v->foreign > 0;
    row->bad_reads += v->read_errors > 0;
    row->broken += v->inconsistent || v->probe_failed;
    if (v->foreign || v->inconsistent || v->probe_failed || v->lost_durable)
        return 0;
    if (!cfg->expect_durable)
        return 1;
    return v->read_errors == 0 && v->hole == 0 && v->torn == 0;
}

void crash_power_table(const crash_power_row *rows)
{
    printf("  %-11s %7s %7s %7s %7s %10s %12s %6s %12s %7s %9s %6s\n", "crash model",
           "states", "opened", "no-open", "losing", "acked-lost", "durable-lost", "holes",
           "torn-batches", "foreign", "bad-reads", "broken");
    for (int i = 0; i < CRASH_POWER_MODELS; i++)
        printf("  %-11s %7ld %7ld %7ld %7ld %10ld %12ld %6ld %12ld %7ld %9ld %6ld\n",
               power_models[i].name, rows[i].states, rows[i].opened, rows[i].no_open,
               rows[i].losing, rows[i].lost, rows[i].durable_lost, rows[i].holes, rows[i].torn,
               rows[i].foreign, rows[i].bad_reads, rows[i].broken);
}

/* Where in the workload journal entry `at` falls, in words. */
static void power_when(const crash_power_ref *ref, size_t at, char *buf, size_t n)
{
    int closed = 0;
    for (int p = 0; p < CRASH_POWER_PHASES; p++) {
        const crash_power_phase *ph = &ref->phases[p];
        if (at >= ph->opened && at < ph->closed) {
            snprintf(buf, n, "in open %d of %d, sync=%d", p + 1, CRASH_POWER_PHASES, ph->sync);
            return;
        }
        closed += at >= ph->closed;
    }
    snprintf(buf, n, "after %d clean close(s) of %d", closed, CRASH_POWER_PHASES);
}

/* Why a refused torn state fails, in words: the file, its torn region,
 * what survived of it, and the rule. */
static const char *power_torn_words(const io_sim_crash *c, const char *what, char *buf, size_t n)
{
    uint64_t lo = 0, hi = 0;
    char file[256] = "?", kept[160];
    io_sim_torn_region(c->at, &lo, &hi, file, sizeof file);
    if (c->torn == IO_SIM_TORN_PREFIX)
        snprintf(kept, sizeof kept, "kept bytes [%llu, %llu) and lost the rest",
                 (unsigned long long)lo, (unsigned long long)c->torn_off);
    else if (c->torn == IO_SIM_TORN_SECTOR)
        snprintf(kept, sizeof kept, "kept all of it but the sector [%llu, %llu), zeros",
                 (unsigned long long)(c->torn_off > lo ? c->torn_off : lo),
                 (unsigned long long)(c->torn_off + SECTOR));
    else
        snprintf(kept, sizeof kept, "kept its last append cut short");
    snprintf(buf, n, "kv_open refused a torn write: the file created as %s, whose unsynced "
             "bytes are [%llu, %llu), %s (%s); a power cut keeps part of an unsynced write; "
             "LevelDB and RocksDB drop a torn last record: recovery must open, keep every "
             "acknowledged write and drop the torn one", file, (unsigned long long)lo,
             (unsigned long long)hi, kept, what[0] ? what : "no reason given");
    return buf;
}

/* The places a torn model cuts at a crash point (variants 0): prefixes at
 * each sector boundary inside the torn region and at its first, middle and
 * last byte, or the sectors that may be lost (all but the last); at most
 * max, evenly, keeping the last (for prefixes, the one that loses just the
 * last sector).  Returns how many into off[]. */
static size_t power_torn_places(int torn, size_t at, uint64_t *off, size_t max)
{
    uint64_t lo, hi, all[4096];
    char file[8];
    size_t n = 0;
    if (!io_sim_torn_region(at, &lo, &hi, file, sizeof file) || hi <= lo + 1)
        return 0;
    uint64_t last = (hi - 1) / SECTOR * SECTOR;
    if (torn == IO_SIM_TORN_PREFIX) {
        uint64_t odd[3] = {lo + 1, lo + (hi - lo) / 2, hi - 1};
        for (int j = 0; j < 3; j++)
            if (odd[j] % SECTOR != 0 && odd[j] > lo && odd[j] < hi && (j == 0 || odd[j] != odd[j - 1]))
                all[n++] = odd[j];
        for (uint64_t b = (lo / SECTOR + 1) * SECTOR; b < hi && n < 4096; b += SECTOR)
            all[n++] = b;
        qsort(all, n, sizeof *all, power_cmp_u64);
    } else {
        for (uint64_t s = lo / SECTOR * SECTOR; s < last && n < 4096; s += SECTOR)
            all[n++] = s;
    }
    if (n <= max) {
        memcpy(off, all, n * sizeof *off);
        return n;
    }
    /* Evenly, the last of them always: all[(i + 1) * n / max - 1]. */
    size_t keep = 0;
    if (torn == IO_SIM_TORN_PREFIX && last > lo) { /* the one that loses the last sector */
        for (size_t i = 0; i < max - 1; i++)
            off[keep++] = all[(i + 1) * n / max - 1];
        size_t dup = 0;
        for (size_t i = 0; i < keep; i++)
            dup |= off[i] == last;
        if (!dup)
            off[keep++] = last;
        return keep;
    }
    for (size_t i = 0; i < max; i++)
        off[keep++] = all[(i + 1) * n / max - 1];
    return keep;
}

/* Builds crash state c in a fresh directory, reopens and checks it, and
 * records the outcome in row (model mi, variant var). */
static void power_check_state(const crash_config *cfg, crash_power_ref *ref,
                              const io_sim_crash *c, int mi, int var, crash_power_row *row)
{
    char *state = crash_mkdtemp(cfg, "state");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/db", state);
    crash_verdict v;
    memset(&v, 0, sizeof v);
    int opened = 0;
    if (io_sim_materialize(c, state, NULL) != KV_OK) {
        v.open_status = KV_ERR_IO;
        snprintf(v.what, sizeof v.what, "could not build the state: %s", kv_errmsg());
    } else {
        /* Losses are judged op by op (crash_model.durable). */
        opened = ref->check(ref->ctx, dir,
                            CRASH_CHECK_PROBE | CRASH_CHECK_PREFIX | CRASH_CHECK_LOSSY, &v);
    }
    if (power_judge(cfg, &v, opened, c->torn, row)) {
        crash_passed++;
    } else {
        char last[160], repro[200], torn[1200] = "";
        io_sim_describe(c->at ? c->at - 1 : 0, last, sizeof last);
        const char *why = !cfg->expect_durable && v.broken[0] ? v.broken
                          : v.what[0] || !v.torn                ? v.what
                                                                 : v.torn_what;
        if (!opened && c->torn != IO_SIM_TORN_NONE)
            why = power_torn_words(c, v.what, torn, sizeof torn);
        if (c->torn == IO_SIM_TORN_PREFIX || c->torn == IO_SIM_TORN_SECTOR)
            snprintf(repro, sizeof repro, "%s --at %zu --torn %s:%llu", ref->repro, c->at,
                     c->torn == IO_SIM_TORN_PREFIX ? "prefix" : "sector",
                     (unsigned long long)c->torn_off);
        else
            snprintf(repro, sizeof repro, "%s --at %zu", ref->repro, c->at);
        char when[120];
        power_when(ref, c->at, when, sizeof when);
        crash_fail(repro,
                   "power loss%s, sync=%d first, seed %llu, crash after %zu of %zu journal entries "
                   "(%s; the last: %s), model %s, variant %d: %s%s",
                   ref->what, ref->phases[0].sync, (unsigned long long)cfg->seed, c->at,
                   ref->journal, when,
                   c->at ? last : "none", power_models[mi].name, var,
                   why[0] ? why : "a later write survived an earlier lost one",
                   v.hole && why[0] ? " (and the state has a hole)" : "");
        if (cfg->keep) {
            printf("      the crash state is kept in %s\n", dir);
            free(state);
            return;
        }
    }
    crash_rmtree(state);
    free(state);
}

/* Every distinct crash state of every model at one crash point. */
static void power_check_point(const crash_config *cfg, crash_power_ref *ref, size_t at,
                              crash_power_row *rows)
{
    power_status_at(cfg, ref, at);
    for (int mi = 0; mi < CRASH_POWER_MODELS; mi++) {
        if (crash_only_torn[0] != '\0' &&
            strcmp(power_models[mi].name + 5, crash_only_torn) != 0) /* "torn-" KIND */
            continue;
        uint64_t seen[16]; /* states already checked for this model and point */
        int nseen = 0;
        int variants = power_models[mi].variants;
        uint64_t places[TORN_PREFIXES];
        if (cfg->quick && variants > 2)
            variants = 2;
        if (variants == 0) {
            int prefix = power_models[mi].torn == IO_SIM_TORN_PREFIX;
            size_t max = prefix ? TORN_PREFIXES : TORN_SECTORS;
            if (cfg->quick)
                max /= 2;
            variants = (int)power_torn_places(power_models[mi].torn, at, places, max);
            if (crash_only_torn[0] != '\0') { /* --torn: that place only */
                places[0] = crash_only_torn_off;
                variants = 1;
            }
        }
        for (int var = 0; var < variants; var++) {
            io_sim_crash c = {.at = at, .data = power_models[mi].data,
                              .names = power_models[mi].names, .torn = power_models[mi].torn,
                              .torn_off = power_models[mi].variants == 0 ? places[var] : 0,
                              .seed = cfg->seed * 1000003u + at * 31u + (uint64_t)var};
            io_sim_state st;
            if (io_sim_materialize(&c, NULL, &st) != KV_OK)
                continue; /* the variant does not apply here */
            int dup = 0;
            for (int i = 0; i < nseen; i++)
                dup |= seen[i] == st.hash;
            if (dup)
                continue;
            if (nseen < 16)
                seen[nseen++] = st.hash;
            power_check_state(cfg, ref, &c, mi, var, &rows[mi]);
        }
    }
}

size_t crash_power_check(const crash_config *cfg, crash_power_ref *ref, long step,
                         crash_power_row rows[CRASH_POWER_MODELS])
{
    size_t *points = NULL;
    size_t npoints = power_points(ref, step, cfg->quick ? 24 : 0, cfg->seed, &points);
    memset(rows, 0, CRASH_POWER_MODELS * sizeof *rows);
    for (size_t i = 0; i < npoints; i++) {
        power_check_point(cfg, ref, points[i], rows);
        char what[96];
        snprintf(what, sizeof what, "power loss%s, sync=%d first: crash points", ref->what,
                 ref->phases[0].sync);
        crash_progress(what, (long)i + 1, (long)npoints);
    }
    free(points);
    return npoints;
}

static void power_run(const crash_config *cfg, int sync)
{
    double t0 = crash_now();
    long failed0 = crash_failed;
    char repro[96];
    snprintf(repro, sizeof repro, "--power --seed %llu --ops %ld --sync%d",
             (unsigned long long)cfg->seed, cfg->ops, sync);
    crash_power_ref ref;
    memset(&ref, 0, sizeof ref);
    ref.repro = repro;
    ref.what = "";
    power_ops po;
    memset(&po, 0, sizeof po);
    if (power_record(cfg, sync, &po, &ref)) {
        crash_power_row rows[CRASH_POWER_MODELS];
        size_t npoints = crash_power_check(cfg, &ref, cfg->quick ? 25 : 10, rows);
        printf("power loss, sync=%d first (then %d, %d, ...; %d opens): %ld ops (%ld puts, "
               "%ld deletes, %ld batches, %ld merges), journal of %zu entries (%ld fsyncs, "
               "%ld directory fsyncs), %zu crash points, "
               "%ld failed, %.1f s\n",
               sync, !sync, sync, CRASH_POWER_PHASES, cfg->ops, po.puts, po.deletes,
               po.batches, po.merges, ref.journal,
               ref.syncs, ref.dir_syncs, npoints, crash_failed - failed0, crash_now() - t0);
        crash_work_print("in the reference workload", &ref.work);
        crash_power_table(rows);
    }
    io_sim_reset();
    crash_model_free(&po.m);
    free(ref.begin);
    free(ref.end);
}

void crash_power_legend(void)
{
    static const char *const legend[] = {
        "states      distinct crash states the model built (at all crash points)",
        "opened      kv_open succeeded; no-open: it failed",
        "losing      opened states missing an acknowledged write",
        "acked-lost  acknowledged operations missing, summed over the states",
        "durable-lost of those, the ones acknowledged with sync = 1 or before a clean",
        "            close, where the stage promises they survive: a failure",
        "holes       states where a later write survived an earlier lost one",
        "torn-batches batches partly applied (a member in effect, another surely not),",
        "            summed over the states; allowed before stage 03, a failure from 03 on",
        "foreign     states holding a value that no operation wrote",
        "bad-reads   states where kv_get or the iterator failed after a good open",
        "broken      iterator disagreed with kv_get, or a write after recovery went wrong",
    };
    for (size_t i = 0; i < sizeof legend / sizeof legend[0]; i++)
        printf("  %s\n", legend[i]);
    fflush(stdout);
}

int crash_power_test(const crash_config *cfg)
{
    long failed0 = crash_failed;
    if (cfg->power_sync != 0)
        power_run(cfg, 1);
    if (cfg->power_sync != 1)
        power_run(cfg, 0);
    crash_power_legend();
    return crash_failed == failed0;
}
