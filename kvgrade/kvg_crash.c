/*
 * kvg_crash.c: rungs 3 and 4, kills and power cuts.  Both run cycles on
 * one database: start the engine (the time to its first reply is the
 * restart time), read everything back and check it against the crash
 * rule of the durability claimed (kvg_run.h), then send a burst of
 * pipelined writes (SET, DEL, MSET) and crash the engine in the middle
 * of it.  Where the crash falls:
 *   - at a file-system operation: with kvgrade-fs, "arm N" freezes the
 *     engine at its N-th write, create, rename, fsync... counted from
 *     its start (so some crashes fall inside its recovery), and kvgrade
 *     kills it there: an exact point, the same again on replay;
 *   - after an acknowledgement: kvgrade waits until some of the burst's
 *     replies came, then kills it at once (timed: where the engine is
 *     then is up to the scheduler).
 * The kills rung crashes the process only (what it wrote stays); the
 * power rung also cuts the power (kvgrade-fs forgets what was not
 * fsynced) and needs kvgrade-fs: without it the rung is skipped.  The
 * kills rung runs on kvgrade-fs when it can (for the exact points), on a
 * plain directory with timed kills only when it cannot.  Now and then a
 * cycle ends with a clean stop instead.
 *
 * A failure is shrunk: first the cycles before the failing one are left
 * out, then single writes (kvg_shrink.c).
 */
#include <stdlib.h>
#include <string.h>

#include "kvgrade.h"

#define CRASH_POOL 48
#define CRASH_WINDOW 8

typedef struct crash_gen {
    uint64_t rng;
    kvg_buf pool[CRASH_POOL];
    unsigned long long serial;    /* every value written is distinct */
    int has_mset;
} crash_gen;

static void crash_pool(crash_gen *g)
{
    for (int i = 0; i < CRASH_POOL - 3; i++) {
        char k[32];
        snprintf(k, sizeof k, "key-%02d", i);
        g->pool[i] = kvg_buf_str(k);
    }
    g->pool[CRASH_POOL - 3] = kvg_buf_of("bin\x00\xff\r\n", 7);
    kvg_buf longk = {kvg_alloc(201), 200};
    memset(longk.p, 'x', 200);
    g->pool[CRASH_POOL - 2] = longk;
    g->pool[CRASH_POOL - 1] = kvg_buf_str("z");
}

static kvg_buf crash_value(crash_gen *g)
{
    char head[40];
    int hn = snprintf(head, sizeof head, "v%llu-", ++g->serial);
    size_t extra = kvg_rand_below(&g->rng, 10) == 0 ? 500 + kvg_rand_below(&g->rng, 3000)
                                                    : kvg_rand_below(&g->rng, 120);
    kvg_buf v = {kvg_alloc((size_t)hn + extra + 1), (size_t)hn + extra};
    memcpy(v.p, head, (size_t)hn);
    for (size_t i = 0; i < extra; i++)
        v.p[hn + i] = (unsigned char)('a' + kvg_rand_below(&g->rng, 26));
    return v;
}

static void crash_write_as(crash_gen *g, kvg_steps *l, int kind);

static void crash_write(crash_gen *g, kvg_steps *l)
{
    crash_write_as(g, l, KVG_ST_PIPE);
}

/* A random write, as a step of `kind` (pipe, or send: answered before the
 * next is sent). */
static void crash_write_as(crash_gen *g, kvg_steps *l, int kind)
{
    size_t r = kvg_rand_below(&g->rng, 100);
    if (r < 70 || (r >= 85 && !g->has_mset)) {
        kvg_buf v = crash_value(g);
        kvg_buf argv[3] = {kvg_buf_str("SET"), g->pool[kvg_rand_below(&g->rng, CRASH_POOL)], v};
        kvg_steps_add_req(l, kind, 3, argv);
        kvg_buf_free(&argv[0]);
        kvg_buf_free(&v);
    } else if (r < 85) {
        kvg_buf argv[2] = {kvg_buf_str("DEL"), g->pool[kvg_rand_below(&g->rng, CRASH_POOL)]};
        kvg_steps_add_req(l, kind, 2, argv);
        kvg_buf_free(&argv[0]);
    } else {
        size_t pairs = 2 + kvg_rand_below(&g->rng, 3);
        kvg_buf argv[9];
        argv[0] = kvg_buf_str("MSET");
        for (size_t j = 0; j < pairs; j++) {
            argv[1 + 2 * j] = kvg_buf_dup(g->pool[kvg_rand_below(&g->rng, CRASH_POOL)]);
            argv[2 + 2 * j] = crash_value(g);
        }
        kvg_steps_add_req(l, kind, 1 + 2 * pairs, argv);
        for (size_t j = 0; j < 1 + 2 * pairs; j++)
            kvg_buf_free(&argv[j]);
    }
}

/* The cycles, as steps; cycle_at[c] is the first step of cycle c. */
static void crash_steps(crash_gen *g, kvg_steps *l, size_t cycles, int power, int exact,
                        size_t *cycle_at, size_t *nexact, size_t *ntimed, size_t *nclean)
{
    for (size_t c = 0; c < cycles; c++) {
        cycle_at[c] = l->n;
        size_t writes = 3 + kvg_rand_below(&g->rng, 40);
        int clean = c % 8 == 7;
        int at_op = exact && !clean && kvg_rand_below(&g->rng, 2) == 0;
        if (at_op) {
            kvg_step *st = kvg_steps_add(l, KVG_ST_ARM);
            st->n = 1 + kvg_rand_below(&g->rng, 2 * writes + 12);
            (*nexact)++;
        }
        kvg_steps_add(l, KVG_ST_START);
        kvg_steps_add(l, KVG_ST_VERIFY);
        for (size_t w = 0; w < writes; w++)
            crash_write(g, l);
        if (clean) {
            kvg_steps_add(l, KVG_ST_CLOSE);
            (*nclean)++;
        } else {
            /* Timed: kill once at most N replies are outstanding.  At an
             * operation: the wait is no wait (N = the window), there only
             * to be pinned when a failure is shrunk (crash_pin_kills). */
            kvg_step *st = kvg_steps_add(l, KVG_ST_WAIT);
            st->n = at_op ? CRASH_WINDOW : kvg_rand_below(&g->rng, CRASH_WINDOW + 1);
            *ntimed += !at_op;
            kvg_steps_add(l, KVG_ST_KILL);
        }
        if (power)
            kvg_steps_add(l, KVG_ST_CUT);
    }
    cycle_at[cycles] = l->n;
    kvg_steps_add(l, KVG_ST_START);
    kvg_steps_add(l, KVG_ST_VERIFY);
    kvg_steps_add(l, KVG_ST_CLOSE);
}

/* The kills rung's exact part: one burst of EXACT_BURST writes, each
 * answered before the next is sent, run again with the engine frozen and
 * killed at its 1st, 2nd, ... file-system operation from its start, up to
 * EXACT_OPS (every operation of its recovery and of the burst, for an
 * engine that makes a few per write): so a write answered before the
 * engine made it durable in the kernel is caught at the operation that
 * would have written it, on every seed. */
#define EXACT_BURST 6
#define EXACT_OPS (4 * EXACT_BURST + 12)

static void crash_exact_kill_steps(crash_gen *g, kvg_steps *l)
{
    kvg_steps burst = {0};
    for (int w = 0; w < EXACT_BURST; w++)
        crash_write_as(g, &burst, KVG_ST_SEND);
    for (unsigned j = 1; j <= EXACT_OPS; j++) {
        kvg_steps_add(l, KVG_ST_ARM)->n = j;
        kvg_steps_add(l, KVG_ST_START);
        kvg_steps_add(l, KVG_ST_VERIFY);
        for (size_t w = 0; w < burst.n; w++)
            kvg_steps_add_req(l, KVG_ST_SEND, burst.s[w].req.argc, burst.s[w].req.argv);
        kvg_steps_add(l, KVG_ST_KILL);
    }
    kvg_steps_add(l, KVG_ST_START);
    kvg_steps_add(l, KVG_ST_VERIFY);
    kvg_steps_add(l, KVG_ST_CLOSE);
    kvg_steps_free(&burst);
}

typedef struct crash_try {
    kvg_ctx *ctx;
    kvg_fs *fs;
    const char *parent;
} crash_try;

static int crash_fails(void *arg, kvg_steps *cand)
{
    crash_try *t = arg;
    kvg_result res;
    int failed = kvg_try(t->ctx, cand, t->fs, t->parent, CRASH_WINDOW, &res);
    kvg_result_free(&res);
    return failed;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A kill's timing made exact for replay: the wait before each kill that
 * ran becomes "until only the requests it never answered are left", so
 * that a replay kills it with as many writes acknowledged as it had. */
static void crash_pin_kills(kvg_steps *l)
{
    for (size_t i = 1; i < l->n; i++)
        if (l->s[i].kind == KVG_ST_KILL && l->s[i].ran == 1 && l->s[i - 1].kind == KVG_ST_WAIT)
            l->s[i - 1].n = l->s[i].unanswered;
}

/* Cuts the steps after `step`, then shrinks: whole cycles before the one
 * the failure is in, then single writes. */
static size_t crash_shrink(kvg_ctx *ctx, kvg_steps *l, long step, const size_t *cycle_at,
                           size_t cycles, crash_try *t)
{
    crash_pin_kills(l);
    size_t cut = step >= 0 ? (size_t)step + 1 : l->n;
    while (l->n > cut) {
        kvg_step *st = &l->s[--l->n];
        kvg_req_free(&st->req);
        free(st->file);
        if (st->has_reply)
            kvg_reply_free(&st->reply);
        free(st->note);
    }
    /* The failing cycle: the last that starts before the failing step. */
    size_t fc = 0;
    for (size_t c = 0; c <= cycles; c++)
        if (cycle_at[c] <= (size_t)(step >= 0 ? step : 0))
            fc = c;
    kvg_unit *units = kvg_alloc((l->n + cycles + 1) * sizeof *units);
    size_t n = 0;
    /* Leave out whole cycles before the cycle that crashed (fc - 1). */
    for (size_t c = 0; c + 1 < fc; c++)
        units[n++] = (kvg_unit){cycle_at[c], cycle_at[c + 1]};
    size_t runs = kvg_shrink(l, units, n, crash_fails, t, ctx->quick ? 30 : 80, ctx->quick ? 30 : 60);
    /* Then single writes. */
    n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->s[i].kind == KVG_ST_PIPE)
            units[n++] = (kvg_unit){i, i + 1};
    runs += kvg_shrink(l, units, n, crash_fails, t, ctx->quick ? 60 : 150, ctx->quick ? 30 : 60);
    free(units);
    return runs;
}

static void crash_rung(kvg_ctx *ctx, kvg_rung_result *rr, int power)
{
    const char *name = power ? "power" : "kills";
    kvg_fs fs, *fsp = NULL;
    char *why = NULL;
    char *mount = NULL;
    if (ctx->fuse_missing == NULL) {
        mount = kvg_printf("%s/%s-mnt", ctx->work, name);
        if (kvg_fs_start(&fs, mount, &why) == 0)
            fsp = &fs;
    }
    if (power && fsp == NULL) {
        char *s = kvg_printf("the power-cut file system cannot be used here: %s",
                             ctx->fuse_missing != NULL ? ctx->fuse_missing : why);
        kvg_rung_skip(rr, s);
        free(s);
        free(why);
        free(mount);
        return;
    }
    /* The power rung's exact part first: a cut after every
     * acknowledgement and at every sync point (kvg_images.c); the kills
     * rung's, a kill at every operation of a burst. */
    char *exact = NULL;
    if (!power && fsp != NULL) {
        crash_gen eg;
        memset(&eg, 0, sizeof eg);
        eg.rng = ctx->seed ^ 0x6578616374ull;
        eg.has_mset = ctx->has_mset;
        crash_pool(&eg);
        kvg_steps el = {0};
        crash_exact_kill_steps(&eg, &el);
        kvg_result er;
        int efailed = kvg_try(ctx, &el, fsp, fsp->mount, CRASH_WINDOW, &er);
        if (efailed) {
            crash_pin_kills(&el);
            kvg_rung_fail(ctx, rr, name, &el, &er, CRASH_WINDOW, 1);
            rr->summary = kvg_printf("%s", er.what);
            rr->detail = kvg_printf("exact: a burst of %d writes killed at each of its first %d "
                                    "file-system operations: failed", EXACT_BURST, EXACT_OPS);
        } else {
            exact = kvg_printf("a burst of %d writes killed at each of the first %d file-system "
                               "operations (%zu kills checked)", EXACT_BURST, EXACT_OPS,
                               er.ncrashes);
        }
        kvg_result_free(&er);
        kvg_steps_free(&el);
        for (int i = 0; i < CRASH_POOL; i++)
            kvg_buf_free(&eg.pool[i]);
        if (efailed) {
            kvg_fs_stop(fsp);
            free(mount);
            free(why);
            return;
        }
    }
    if (power && kvg_images_check(ctx, fsp, rr, &exact)) {
        rr->summary = kvg_printf("%s", rr->reason);
        rr->detail = kvg_printf("exact: %s", exact);
        free(exact);
        kvg_fs_stop(fsp);
        free(mount);
        free(why);
        return;
    }
    crash_gen g;
    memset(&g, 0, sizeof g);
    g.rng = ctx->seed ^ (power ? 0x706f776572ull : 0x6b696c6c73ull);
    g.has_mset = ctx->has_mset;
    crash_pool(&g);
    size_t cycles = ctx->quick ? 12 : 60;
    size_t *cycle_at = kvg_alloc((cycles + 1) * sizeof *cycle_at);
    size_t nexact = 0, ntimed = 0, nclean = 0;
    kvg_steps l = {0};
    crash_steps(&g, &l, cycles, power, fsp != NULL, cycle_at, &nexact, &ntimed, &nclean);
    const char *parent = fsp != NULL ? fsp->mount : ctx->work;
    kvg_result res;
    int failed = kvg_try(ctx, &l, fsp, parent, CRASH_WINDOW, &res);
    /* The figures: restart times, and what came back at each crash. */
    double *rs = kvg_alloc((res.nrestarts + 1) * sizeof *rs);
    memcpy(rs, res.restarts, res.nrestarts * sizeof *rs);
    qsort(rs, res.nrestarts, sizeof *rs, cmp_double);
    double median = res.nrestarts ? rs[res.nrestarts / 2] * 1000 : 0;
    double worst = res.nrestarts ? rs[res.nrestarts - 1] * 1000 : 0;
    free(rs);
    free(rr->points); /* the durable states' points, which these replace */
    rr->points = kvg_alloc((res.ncrashes + 1) * sizeof *rr->points);
    memcpy(rr->points, res.crashes, res.ncrashes * sizeof *rr->points);
    rr->npoints = res.ncrashes;
    const char *where = fsp != NULL ? "" : " (on a plain directory: the power-cut file system "
                                           "is not available, so every kill is timed)";
    rr->detail = kvg_printf("%s%s%s%zu cycles: %zu crashes at a file-system operation, %zu timed "
                            "(after an acknowledgement), %zu clean stops%s; %zu crashes checked; "
                            "restart time (start to first reply) median %.1f ms, max %.1f ms over "
                            "%zu starts; %zu requests",
                            exact != NULL ? "exact: " : "", exact != NULL ? exact : "",
                            exact != NULL ? "\nthen " : "", cycles, nexact, ntimed, nclean, where,
                            res.ncrashes, median, worst, res.nrestarts, res.requests);
    if (!failed) {
        rr->status = KVG_PASS;
        rr->summary = kvg_printf("%s%s%zu %s checked (%s), restart median %.1f ms, max %.1f ms",
                                 exact != NULL ? exact : "", exact != NULL ? "; then " : "",
                                 res.ncrashes, power ? "power cuts" : "kills",
                                 ctx->sync ? "every acknowledged write kept"
                                 : power ? "nothing invented"
                                         : "a prefix of the writes each time",
                                 median, worst);
    } else {
        long step = res.step;
        char *first = kvg_strdup(res.what);
        kvg_result_free(&res);
        crash_try t = {ctx, fsp, parent};
        size_t before = l.n;
        size_t runs = crash_shrink(ctx, &l, step, cycle_at, cycles, &t);
        if (kvg_try(ctx, &l, fsp, parent, CRASH_WINDOW, &res) == 0) {
            /* Not again (timing): show it unshrunk, as it was found. */
            kvg_result_free(&res);
            kvg_steps_free(&l);
            for (int i = 0; i < CRASH_POOL; i++)
                kvg_buf_free(&g.pool[i]);
            memset(&g, 0, sizeof g);
            g.rng = ctx->seed ^ (power ? 0x706f776572ull : 0x6b696c6c73ull);
            g.has_mset = ctx->has_mset;
            crash_pool(&g);
            nexact = ntimed = nclean = 0;
            crash_steps(&g, &l, cycles, power, fsp != NULL, cycle_at, &nexact, &ntimed, &nclean);
            kvg_try(ctx, &l, fsp, parent, CRASH_WINDOW, &res);
            if (!res.failed) {
                res.failed = 1;
                res.what = kvg_printf("%s (found once; it did not fail again when run again)", first);
            }
        }
        /* The kills of the run shown pinned too: a shrunk list may have
         * lost the operation an "arm" froze at, and its kill is then timed
         * (a wait of the whole window), which a replay would place
         * elsewhere. */
        crash_pin_kills(&l);
        kvg_rung_fail(ctx, rr, name, &l, &res, CRASH_WINDOW, fsp != NULL);
        char *d = kvg_printf("%s\nthe failure was found after %zu steps and shrunk to %zu in %zu "
                             "runs", rr->detail, before, l.n, runs);
        free(rr->detail);
        rr->detail = d;
        rr->summary = kvg_printf("%s", rr->reason); /* the run shown, not the one first found */
        free(first);
    }
    kvg_result_free(&res);
    kvg_steps_free(&l);
    free(cycle_at);
    for (int i = 0; i < CRASH_POOL; i++)
        kvg_buf_free(&g.pool[i]);
    if (fsp != NULL)
        kvg_fs_stop(fsp);
    free(mount);
    free(why);
    free(exact);
}

void kvg_rung_kills(kvg_ctx *ctx, kvg_rung_result *rr)
{
    crash_rung(ctx, rr, 0);
}

void kvg_rung_power(kvg_ctx *ctx, kvg_rung_result *rr)
{
    crash_rung(ctx, rr, 1);
}
