/*
 * kvg_speed.c: rung 6, speed.  One fixed workload, the same for every
 * engine, through the same protocol: N SETs of 100-byte values in random
 * key order (one request at a time: each reply awaited, so the latency is
 * the engine's), N GETs of random keys, N/10 RANGEs of 10 pairs, N/10
 * DELs, and N SETs pipelined 16 at a time (throughput).  Our stages'
 * `kv DIR serve --stdio` run the same workload beside it, with the same
 * durability, for scale.
 *
 * The rung reports; it fails an engine only if it is absurdly slow: under
 * KVG_SPEED_FLOOR requests a second in any phase (a reply takes 50 ms:
 * something waits that should not), or a phase that errs.  Figures on
 * this shared 2-core machine move by tens of percent from run to run.
 */
#include <stdlib.h>
#include <string.h>

#include "kvgrade.h"

#define KVG_SPEED_FLOOR 20.0

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct speed_phase {
    const char *name;
    double ops_per_s, p50_us, p99_us;
} speed_phase;

static kvg_buf speed_key(size_t i)
{
    char k[32];
    snprintf(k, sizeof k, "key%010zu", (i * 2654435761u) % 1000000007u);
    return kvg_buf_str(k);
}

/* Runs the workload on a fresh directory: 0, or -1 with *why. */
static int speed_run(kvg_ctx *ctx, const kvg_engine_cfg *cfg, size_t n, speed_phase *ph,
                     size_t *nph, char **why)
{
    char *dir = kvg_fresh_dir(ctx, ctx->work, "speed");
    kvg_engine e;
    int rc = -1;
    *nph = 0;
    if (kvg_engine_start(&e, cfg, dir, -1, why) != KVG_OK) {
        kvg_remove_tree(dir);
        free(dir);
        return -1;
    }
    double *lat = kvg_alloc(n * sizeof *lat);
    uint64_t rng = ctx->seed ^ 0x7370656564ull;
    unsigned char val[100];
    memset(val, 'v', sizeof val);
    const char *names[] = {"set", "get", "range", "del", "set pipelined x16"};
    size_t counts[] = {n, n, n / 10, n / 10, n};
    for (int p = 0; p < 5; p++) {
        size_t count = counts[p] > 0 ? counts[p] : 1;
        int window = p == 4 ? 16 : 1;
        double t0 = kvg_now();
        size_t sent = 0, got = 0;
        while (got < count) {
            while (sent < count && sent - got < (size_t)window) {
                kvg_buf argv[4];
                size_t argc;
                size_t ki = p == 4 ? n + sent : p == 0 ? sent : kvg_rand_below(&rng, n);
                if (p == 0 || p == 4) {
                    snprintf((char *)val, 12, "%011zu", sent);
                    argv[0] = kvg_buf_str("SET");
                    argv[1] = speed_key(ki);
                    argv[2] = kvg_buf_of(val, sizeof val);
                    argc = 3;
                } else if (p == 1 || p == 3) {
                    argv[0] = kvg_buf_str(p == 1 ? "GET" : "DEL");
                    argv[1] = speed_key(ki);
                    argc = 2;
                } else {
                    argv[0] = kvg_buf_str("RANGE");
                    argv[1] = speed_key(ki);
                    argv[2] = kvg_buf_str("");
                    argv[3] = kvg_buf_str("10");
                    argc = 4;
                }
                kvg_req q = {argc, argv};
                lat[sent] = kvg_now();
                int s = kvg_engine_send(&e, &q, -1);
                for (size_t i = 0; i < argc; i++)
                    kvg_buf_free(&argv[i]);
                if (s != KVG_OK) {
                    *why = kvg_printf("the engine stopped taking requests in the %s phase", names[p]);
                    goto out;
                }
                sent++;
            }
            kvg_reply r;
            const char *bad = NULL;
            int s = kvg_engine_recv(&e, &r, -1, &bad);
            if (s != KVG_OK) {
                *why = kvg_printf("no reply in the %s phase (%s)", names[p],
                                  s == KVG_TIMEOUT ? "it hangs" : bad != NULL ? bad : "it ended");
                goto out;
            }
            if (r.type == KVG_ERROR) {
                *why = kvg_printf("an error reply in the %s phase: %.*s", names[p], (int)r.str.n,
                                  (const char *)r.str.p);
                kvg_reply_free(&r);
                goto out;
            }
            kvg_reply_free(&r);
            lat[got] = kvg_now() - lat[got];
            got++;
        }
        double secs = kvg_now() - t0;
        qsort(lat, count, sizeof *lat, cmp_double);
        ph[p].name = names[p];
        ph[p].ops_per_s = secs > 0 ? (double)count / secs : 0;
        ph[p].p50_us = lat[count / 2] * 1e6;
        ph[p].p99_us = lat[count * 99 / 100] * 1e6;
        (*nph)++;
    }
    rc = 0;
out:
    free(lat);
    if (rc == 0 && kvg_engine_stop(&e) != KVG_OK) {
        *why = kvg_strdup("it did not exit at the end of its input");
        rc = -1;
    }
    kvg_engine_close(&e);
    kvg_remove_tree(dir);
    free(dir);
    return rc;
}

static void speed_add(kvg_rung_result *rr, const char *engine, const speed_phase *ph, size_t nph)
{
    for (size_t i = 0; i < nph; i++) {
        rr->speed = kvg_realloc(rr->speed, (rr->nspeed + 1) * sizeof *rr->speed);
        kvg_speed_row *row = &rr->speed[rr->nspeed++];
        row->engine = kvg_strdup(engine);
        row->phase = kvg_strdup(ph[i].name);
        row->ops_per_s = ph[i].ops_per_s;
        row->p50_us = ph[i].p50_us;
        row->p99_us = ph[i].p99_us;
    }
}

void kvg_rung_speed(kvg_ctx *ctx, kvg_rung_result *rr)
{
    size_t n = ctx->quick ? 500 : 5000;
    speed_phase ph[5];
    size_t nph;
    char *why = NULL;
    if (speed_run(ctx, &ctx->engine, n, ph, &nph, &why) != 0) {
        rr->status = KVG_FAIL;
        rr->reason = kvg_printf("the speed workload did not complete: %s", why);
        rr->summary = kvg_strdup(rr->reason);
        free(why);
        return;
    }
    speed_add(rr, "yours", ph, nph);
    const char *slow = NULL;
    for (size_t i = 0; i < nph; i++)
        if (ph[i].ops_per_s < KVG_SPEED_FLOOR)
            slow = ph[i].name;
    char *scale = kvg_strdup("");
    for (int s = 0; s < ctx->nscale; s++) {
        kvg_engine_cfg cfg = ctx->engine;
        cfg.template = ctx->scale_kv[s];
        cfg.port = 0;
        speed_phase sp[5];
        size_t nsp;
        char *swhy = NULL;
        if (speed_run(ctx, &cfg, n, sp, &nsp, &swhy) == 0) {
            speed_add(rr, ctx->scale_name[s], sp, nsp);
            char *x = kvg_printf("%s; %s: set %.0f/s, get %.0f/s", scale, ctx->scale_name[s],
                                 sp[0].ops_per_s, sp[1].ops_per_s);
            free(scale);
            scale = x;
        }
        free(swhy);
    }
    char *table = kvg_strdup("");
    for (size_t i = 0; i < rr->nspeed; i++) {
        char *x = kvg_printf("%s\n  %-12s %-18s %10.0f ops/s  p50 %8.1f us  p99 %8.1f us", table,
                             rr->speed[i].engine, rr->speed[i].phase, rr->speed[i].ops_per_s,
                             rr->speed[i].p50_us, rr->speed[i].p99_us);
        free(table);
        table = x;
    }
    rr->detail = kvg_printf("%zu keys, 100-byte values, durability %s; each reply awaited except "
                            "in the pipelined phase:%s", n, ctx->sync ? "sync" : "none", table);
    free(table);
    if (slow != NULL) {
        rr->status = KVG_FAIL;
        rr->reason = kvg_printf("absurdly slow: the %s phase ran under %.0f requests a second",
                                slow, KVG_SPEED_FLOOR);
        rr->summary = kvg_strdup(rr->reason);
    } else {
        rr->status = KVG_PASS;
        rr->summary = kvg_printf("set %.0f/s (p50 %.0f us), get %.0f/s, range %.0f/s, pipelined "
                                 "set %.0f/s%s", ph[0].ops_per_s, ph[0].p50_us, ph[1].ops_per_s,
                                 ph[2].ops_per_s, ph[4].ops_per_s, scale);
    }
    free(scale);
}
