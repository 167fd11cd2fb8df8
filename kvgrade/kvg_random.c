/*
 * kvg_random.c: rung 2, the model test.  Random sequences of SET, GET,
 * DEL, RANGE and (if the engine has it) MSET over a small pool of keys
 * chosen to collide and to sort awkwardly (prefixes of each other, NUL
 * and 0xFF bytes, a long key), with values of random bytes, some empty,
 * some large; now and then a clean restart; some sequences pipelined.
 * Every reply is checked against the model.  A failing sequence is cut
 * after its failing step and shrunk (kvg_shrink.c) to a short one that
 * still fails: that is the counterexample.
 */
#include <stdlib.h>
#include <string.h>

#include "kvgrade.h"

#define MODEL_POOL 24

typedef struct model_gen {
    uint64_t rng;
    kvg_buf pool[MODEL_POOL];
    int has_mset;
} model_gen;

static void gen_pool(model_gen *g)
{
    static const char *fixed[] = {"a", "ab", "abc", "b", "ba", "k0", "k1", "k2", "k3", "k4",
                                  "k5", "k6", "k7", "key", "key2", "z"};
    size_t i = 0;
    for (; i < sizeof fixed / sizeof fixed[0]; i++)
        g->pool[i] = kvg_buf_str(fixed[i]);
    g->pool[i++] = kvg_buf_of("a\x00", 2);
    g->pool[i++] = kvg_buf_of("\x00", 1);
    g->pool[i++] = kvg_buf_of("\xff", 1);
    g->pool[i++] = kvg_buf_of("\xff\xff\x01", 3);
    g->pool[i++] = kvg_buf_of("k1\r\n", 4);
    g->pool[i++] = kvg_buf_of("\x7f\x80", 2);
    kvg_buf longk = {kvg_alloc(301), 300};
    memset(longk.p, 'L', 300);
    longk.p[299] = '!';
    g->pool[i++] = longk;
    g->pool[i++] = kvg_buf_str("k");
}

static kvg_buf gen_value(model_gen *g)
{
    size_t r = kvg_rand_below(&g->rng, 100), n;
    if (r < 8)
        n = 0;
    else if (r < 90)
        n = 1 + kvg_rand_below(&g->rng, 40);
    else if (r < 98)
        n = 100 + kvg_rand_below(&g->rng, 2000);
    else
        n = 16384 + kvg_rand_below(&g->rng, 50000);
    kvg_buf v = {kvg_alloc(n + 1), n};
    int printable = kvg_rand_below(&g->rng, 2);
    for (size_t i = 0; i < n; i++)
        v.p[i] = printable ? (unsigned char)('a' + kvg_rand_below(&g->rng, 26))
                           : (unsigned char)kvg_rand(&g->rng);
    return v;
}

static kvg_buf gen_bound(model_gen *g)
{
    size_t r = kvg_rand_below(&g->rng, 10);
    if (r < 3)
        return kvg_buf_str("");
    kvg_buf k = kvg_buf_dup(g->pool[kvg_rand_below(&g->rng, MODEL_POOL)]);
    if (r == 9 && k.n > 0)
        k.n--; /* a prefix of a key */
    return k;
}

/* One sequence: start, n operations, close. */
static void gen_sequence(model_gen *g, kvg_steps *l, size_t n, int pipelined)
{
    int kind = pipelined ? KVG_ST_PIPE : KVG_ST_SEND;
    kvg_steps_add(l, KVG_ST_START);
    for (size_t i = 0; i < n; i++) {
        size_t r = kvg_rand_below(&g->rng, 100);
        kvg_buf key = g->pool[kvg_rand_below(&g->rng, MODEL_POOL)];
        if (r < 35) {
            kvg_buf v = gen_value(g);
            kvg_buf argv[3] = {kvg_buf_str("SET"), key, v};
            kvg_steps_add_req(l, kind, 3, argv);
            kvg_buf_free(&argv[0]);
            kvg_buf_free(&v);
        } else if (r < 60) {
            kvg_buf argv[2] = {kvg_buf_str("GET"), key};
            kvg_steps_add_req(l, kind, 2, argv);
            kvg_buf_free(&argv[0]);
        } else if (r < 72) {
            kvg_buf argv[2] = {kvg_buf_str("DEL"), key};
            kvg_steps_add_req(l, kind, 2, argv);
            kvg_buf_free(&argv[0]);
        } else if (r < 86) {
            char lim[16];
            snprintf(lim, sizeof lim, "%zu", 1 + kvg_rand_below(&g->rng, 30));
            kvg_buf argv[4] = {kvg_buf_str("RANGE"), gen_bound(g), gen_bound(g), kvg_buf_str(lim)};
            kvg_steps_add_req(l, kind, 4, argv);
            for (int j = 0; j < 4; j++)
                kvg_buf_free(&argv[j]);
        } else if (r < 96 && g->has_mset) {
            size_t pairs = 1 + kvg_rand_below(&g->rng, 4);
            kvg_buf argv[9];
            argv[0] = kvg_buf_str("MSET");
            for (size_t j = 0; j < pairs; j++) {
                argv[1 + 2 * j] = kvg_buf_dup(g->pool[kvg_rand_below(&g->rng, MODEL_POOL)]);
                argv[2 + 2 * j] = gen_value(g);
            }
            kvg_steps_add_req(l, kind, 1 + 2 * pairs, argv);
            for (size_t j = 0; j < 1 + 2 * pairs; j++)
                kvg_buf_free(&argv[j]);
        } else if (r < 98) {
            kvg_steps_add(l, KVG_ST_CLOSE);
            kvg_steps_add(l, KVG_ST_START);
        } else {
            kvg_steps_add(l, KVG_ST_VERIFY);
        }
    }
    kvg_steps_add(l, KVG_ST_CLOSE);
}

typedef struct model_try {
    kvg_ctx *ctx;
    int window;
} model_try;

static int model_fails(void *arg, kvg_steps *cand)
{
    model_try *t = arg;
    kvg_result res;
    int failed = kvg_try(t->ctx, cand, NULL, t->ctx->work, t->window, &res);
    kvg_result_free(&res);
    return failed;
}

/* The units a shrink may leave out: each request; a close with the start
 * after it (a restart); a verify. */
static size_t model_units(const kvg_steps *l, kvg_unit *u)
{
    size_t n = 0;
    for (size_t i = 1; i < l->n; i++) {
        int k = l->s[i].kind;
        if (k == KVG_ST_SEND || k == KVG_ST_PIPE || k == KVG_ST_VERIFY)
            u[n++] = (kvg_unit){i, i + 1};
        else if (k == KVG_ST_CLOSE && i + 1 < l->n && l->s[i + 1].kind == KVG_ST_START)
            u[n++] = (kvg_unit){i, i + 2};
    }
    return n;
}

void kvg_rung_model(kvg_ctx *ctx, kvg_rung_result *rr)
{
    model_gen g;
    memset(&g, 0, sizeof g);
    g.rng = ctx->seed ^ 0x6d6f64656cull;
    g.has_mset = ctx->has_mset;
    gen_pool(&g);
    size_t sequences = ctx->quick ? 4 : 16, length = ctx->quick ? 150 : 400;
    size_t requests = 0, restarts = 0;
    rr->status = KVG_PASS;
    for (size_t s = 0; s < sequences; s++) {
        kvg_steps l = {0};
        int pipelined = s % 4 == 3;
        int window = pipelined ? 8 : 1;
        gen_sequence(&g, &l, length, pipelined);
        kvg_result res;
        if (kvg_try(ctx, &l, NULL, ctx->work, window, &res) == 0) {
            requests += res.requests;
            restarts += res.nrestarts;
            kvg_result_free(&res);
            kvg_steps_free(&l);
            continue;
        }
        /* Cut after the failure, then shrink. */
        size_t cut = res.step >= 0 ? (size_t)res.step + 1 : l.n;
        char *first_what = kvg_strdup(res.what);
        kvg_result_free(&res);
        kvg_steps cutl = {0};
        kvg_steps_copy(&cutl, &l);
        while (cutl.n > cut) {
            kvg_step *st = &cutl.s[--cutl.n];
            kvg_req_free(&st->req);
            free(st->file);
        }
        kvg_unit *units = kvg_alloc((cutl.n + 1) * sizeof *units);
        size_t nunits = model_units(&cutl, units);
        model_try t = {ctx, window};
        size_t before = cutl.n;
        size_t runs = kvg_shrink(&cutl, units, nunits, model_fails, &t, ctx->quick ? 150 : 400,
                                 ctx->quick ? 40 : 90);
        free(units);
        if (kvg_try(ctx, &cutl, NULL, ctx->work, window, &res) == 0) {
            /* It did not fail again (a flaky failure): keep the original. */
            kvg_result_free(&res);
            kvg_steps_free(&cutl);
            kvg_try(ctx, &l, NULL, ctx->work, window, &res);
            kvg_rung_fail(ctx, rr, "model", &l, &res, window, 0);
            rr->detail = kvg_printf("sequence %zu of %zu failed; it did not fail again when "
                                    "replayed (flaky), so it is shown whole: %s",
                                    s + 1, sequences, first_what);
        } else {
            kvg_rung_fail(ctx, rr, "model", &cutl, &res, window, 0);
            rr->detail = kvg_printf("sequence %zu of %zu failed after %zu steps; shrunk to %zu steps "
                                    "in %zu runs", s + 1, sequences, before, cutl.n, runs);
            kvg_steps_free(&cutl);
        }
        free(first_what);
        rr->summary = kvg_printf("failed in sequence %zu of %zu: %s", s + 1, sequences, res.what);
        kvg_result_free(&res);
        kvg_steps_free(&l);
        break;
    }
    if (rr->status == KVG_PASS) {
        rr->summary = kvg_printf("%zu random sequences, %zu requests and %zu restarts, every "
                                 "reply as the model says", sequences, requests,
                                 restarts > sequences ? restarts - sequences : 0);
        rr->detail = kvg_printf("%zu sequences of %zu operations (every fourth pipelined, 8 at "
                                "a time) over %d keys", sequences, length, MODEL_POOL);
    }
    for (int i = 0; i < MODEL_POOL; i++)
        kvg_buf_free(&g.pool[i]);
}
