/*
 * kvg_conform.c: rung 1, conformance.  Named checks, each a short list of
 * steps on a fresh directory, every reply checked against the model: each
 * command's meaning, empty and large keys and values, binary bytes,
 * overwrite and delete, RANGE's order, bounds and limit, pipelined
 * requests, an unknown command, MSET (when the engine has it), and a clean
 * restart keeping everything.  The first failing check is the
 * counterexample (they are short already: no shrinking).
 *
 * Also here: the MSET probe (kvg_probe_mset), run before any rung, since
 * the workloads of every rung use MSET only if the engine has it.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kvgrade.h"

#define B(s) ((kvg_buf){(unsigned char *)(s), sizeof(s) - 1})

/* Adds a request step; the arguments after the command are kvg_bufs. */
static void req(kvg_steps *l, int kind, const char *cmd, int nargs, ...)
{
    kvg_buf argv[16];
    argv[0] = (kvg_buf){(unsigned char *)cmd, strlen(cmd)};
    va_list ap;
    va_start(ap, nargs);
    for (int i = 0; i < nargs; i++)
        argv[i + 1] = va_arg(ap, kvg_buf);
    va_end(ap);
    kvg_steps_add_req(l, kind, (size_t)nargs + 1, argv);
}

static void step(kvg_steps *l, int kind)
{
    kvg_steps_add(l, kind);
}

static kvg_buf num(char *buf, size_t cap, const char *fmt, int n)
{
    int len = snprintf(buf, cap, fmt, n);
    return (kvg_buf){(unsigned char *)buf, (size_t)len};
}

/* A value of n bytes that are not all alike (seeded), in a malloc'd buffer. */
static kvg_buf pattern(size_t n, uint64_t seed)
{
    kvg_buf b = {kvg_alloc(n + 1), n};
    for (size_t i = 0; i < n; i++)
        b.p[i] = (unsigned char)(kvg_rand(&seed) & 0xff);
    return b;
}

static void check_get_missing(kvg_ctx *ctx, kvg_steps *l)
{
    (void)ctx;
    step(l, KVG_ST_START);
    req(l, KVG_ST_SEND, "GET", 1, B("never-set"));
    step(l, KVG_ST_CLOSE);
}

static void check_set_get(kvg_ctx *ctx, kvg_steps *l)
{
    (void)ctx;
    step(l, KVG_ST_START);
    req(l, KVG_ST_SEND, "SET", 2, B("greeting"), B("hello"));
    req(l, KVG_ST_SEND, "GET", 1, B("greeting"));
    req(l, KVG_ST_SEND, "GET", 1, B("greetin"));
    req(l, KVG_ST_SEND, "GET", 1, B("greetings"));
    step(l, KVG_ST_CLOSE);
}

static void check_overwrite(kvg_ctx *ctx, kvg_steps *l)
{
    (void)ctx;
    step(l, KVG_ST_START);
    req(l, KVG_ST_SEND, "SET", 2, B("k"), B("first value"));
    req(l, KVG_ST_SEND, "SET", 2, B("k"), B("second"));
    req(l, KVG_ST_SEND, "GET", 1, B("k"));
    req(l, KVG_ST_SEND, "SET", 2, B("k"), B("a third, longer value than both before"));
    req(l, KVG_ST_SEND, "GET", 1, B("k"));
    step(l, KVG_ST_CLOSE);
}

static void check_delete(kvg_ctx *ctx, kvg_steps *l)
{
    (void)ctx;
    step(l, KVG_ST_START);
    req(l, KVG_ST_SEND, "SET", 2, B("k"), B("v"));
    req(l, KVG_ST_SEND, "DEL", 1, B("k"));
    req(l, KVG_ST_SEND, "GET", 1, B("k"));
    req(l, KVG_ST_SEND, "DEL", 1, B("k"));
    req(l, KVG_ST_SEND, "DEL", 1, B("never-set"));
    req(l, KVG_ST_SEND, "SET", 2, B("k"), B("back again"));
    req(l, KVG_ST_SEND, "GET", 1, B("k"));
    step(l, KVG_ST_CLOSE);
}

static void check_empty_value(kvg_ctx *ctx, kvg_steps *l)
{
    (void)ctx;
    step(l, KVG_ST_START);
    req(l, KVG_ST_SEND, "SET", 2, B("empty"), B(""));
    req(l, KVG_ST_SEND, "GET", 1, B("empty"));
    req(l, KVG_ST_SEND, "RANGE", 3, B(""), B(""), B("10"));
    req(l, KVG_ST_SEND, "SET", 2, B("empty"), B("now something"));
    req(l, KVG_ST_SEND, "SET", 2, B("empty"), B(""));
    req(l, KVG_ST_SEND, "GET", 1, B("empty"));
    step(l, KVG_ST_CLOSE);
}

static void check_binary(kvg_ctx *ctx, kvg_steps *l)
{
    (void)ctx;
    step(l, KVG_ST_START);
    req(l, KVG_ST_SEND, "SET", 2, B("nul\x00inside"), B("a\x00" "b"));
    req(l, KVG_ST_SEND, "SET", 2, B("crlf\r\nkey"), B("$3\r\nabc\r\n*1\r\n"));
    req(l, KVG_ST_SEND, "SET", 2, B("\xff\xfe\x80"), B("\xc3\x28\xff"));
    req(l, KVG_ST_SEND, "SET", 2, B(" spaces and \"quotes\" "), B("\\ \t \n"));
    req(l, KVG_ST_SEND, "GET", 1, B("nul\x00inside"));
    req(l, KVG_ST_SEND, "GET", 1, B("nul"));
    req(l, KVG_ST_SEND, "GET", 1, B("crlf\r\nkey"));
    req(l, KVG_ST_SEND, "GET", 1, B("\xff\xfe\x80"));
    req(l, KVG_ST_SEND, "GET", 1, B(" spaces and \"quotes\" "));
    req(l, KVG_ST_SEND, "RANGE", 3, B(""), B(""), B("10"));
    step(l, KVG_ST_CLOSE);
}

static void check_large_value(kvg_ctx *ctx, kvg_steps *l)
{
    step(l, KVG_ST_START);
    kvg_buf big = pattern(1024 * 1024, ctx->seed);
    req(l, KVG_ST_SEND, "SET", 2, B("big"), big);
    req(l, KVG_ST_SEND, "SET", 2, B("after-big"), B("small"));
    req(l, KVG_ST_SEND, "GET", 1, B("big"));
    req(l, KVG_ST_SEND, "GET", 1, B("after-big"));
    step(l, KVG_ST_CLOSE);
    step(l, KVG_ST_START);
    req(l, KVG_ST_SEND, "GET", 1, B("big"));
    step(l, KVG_ST_CLOSE);
    kvg_buf_free(&big);
}

static void check_large_key(kvg_ctx *ctx, kvg_steps *l)
{
    step(l, KVG_ST_START);
    kvg_buf key = pattern(1024, ctx->seed + 1);
    kvg_buf key2 = kvg_buf_dup(key);
    key2.p[1023] ^= 1; /* differs only in its last byte */
    req(l, KVG_ST_SEND, "SET", 2, key, B("long key"));
    req(l, KVG_ST_SEND, "SET", 2, key2, B("its neighbour"));
    req(l, KVG_ST_SEND, "GET", 1, key);
    req(l, KVG_ST_SEND, "GET", 1, key2);
    req(l, KVG_ST_SEND, "RANGE", 3, B(""), B(""), B("10"));
    req(l, KVG_ST_SEND, "DEL", 1, key);
    req(l, KVG_ST_SEND, "GET", 1, key);
    step(l, KVG_ST_CLOSE);
    kvg_buf_free(&key);
    kvg_buf_free(&key2);
}

static void check_empty_key(kvg_ctx *ctx, kvg_steps *l)
{
    (void)ctx;
    step(l, KVG_ST_START);
    req(l, KVG_ST_SEND, "SET", 2, B("a"), B("1"));
    req(l, KVG_ST_SEND, "SET", 2, B(""), B("the empty key"));
    req(l, KVG_ST_SEND, "GET", 1, B(""));
    req(l, KVG_ST_SEND, "RANGE", 3, B(""), B(""), B("10"));
    req(l, KVG_ST_SEND, "GET", 1, B("a"));
    step(l, KVG_ST_CLOSE);
}

static void check_many_keys(kvg_ctx *ctx, kvg_steps *l)
{
    (void)ctx;
    char kb[32], vb[32];
    step(l, KVG_ST_START);
    for (int i = 0; i < 2000; i++) {
        int k = (i * 7919) % 2000; /* not in key order */
        req(l, KVG_ST_PIPE, "SET", 2, num(kb, sizeof kb, "key:%05d", k), num(vb, sizeof vb, "value %d", k * 3));
    }
    for (int i = 0; i < 2000; i += 37)
        req(l, KVG_ST_PIPE, "GET", 1, num(kb, sizeof kb, "key:%05d", i));
    step(l, KVG_ST_VERIFY);
    step(l, KVG_ST_CLOSE);
}

static void check_range_order(kvg_ctx *ctx, kvg_steps *l)
{
    (void)ctx;
    step(l, KVG_ST_START);
    req(l, KVG_ST_SEND, "SET", 2, B("b"), B("2"));
    req(l, KVG_ST_SEND, "SET", 2, B("\xff"), B("high byte"));
    req(l, KVG_ST_SEND, "SET", 2, B("a\x00"), B("a then NUL"));
    req(l, KVG_ST_SEND, "SET", 2, B("ab"), B("ab"));
    req(l, KVG_ST_SEND, "SET", 2, B("A"), B("capital"));
    req(l, KVG_ST_SEND, "SET", 2, B("a"), B("1"));
    req(l, KVG_ST_SEND, "SET", 2, B("\x01"), B("low byte"));
    req(l, KVG_ST_SEND, "SET", 2, B("aa"), B("aa"));
    req(l, KVG_ST_SEND, "SET", 2, B("\x80"), B("128"));
    req(l, KVG_ST_SEND, "RANGE", 3, B(""), B(""), B("100"));
    step(l, KVG_ST_CLOSE);
}

static void check_range_bounds(kvg_ctx *ctx, kvg_steps *l)
{
    (void)ctx;
    step(l, KVG_ST_START);
    const char *keys[] = {"a", "b", "c", "d", "e", "ba", "bb", "c\x00"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        kvg_buf k = {(unsigned char *)keys[i], i == 7 ? 2 : strlen(keys[i])};
        req(l, KVG_ST_SEND, "SET", 2, k, k);
    }
    req(l, KVG_ST_SEND, "RANGE", 3, B("b"), B("d"), B("100"));  /* start in, end out */
    req(l, KVG_ST_SEND, "RANGE", 3, B("bb"), B("c\x00"), B("100"));
    req(l, KVG_ST_SEND, "RANGE", 3, B("b"), B("b"), B("100"));  /* empty */
    req(l, KVG_ST_SEND, "RANGE", 3, B("d"), B("b"), B("100"));  /* start past end */
    req(l, KVG_ST_SEND, "RANGE", 3, B(""), B("c"), B("2"));     /* the limit */
    req(l, KVG_ST_SEND, "RANGE", 3, B("bz"), B(""), B("100"));  /* no upper bound */
    req(l, KVG_ST_SEND, "RANGE", 3, B("e\x00"), B(""), B("100")); /* past every key */
    req(l, KVG_ST_SEND, "RANGE", 3, B(""), B(""), B("1"));
    req(l, KVG_ST_SEND, "DEL", 1, B("ba"));
    req(l, KVG_ST_SEND, "SET", 2, B("c"), B("changed"));
    req(l, KVG_ST_SEND, "RANGE", 3, B("b"), B("d"), B("100"));
    step(l, KVG_ST_CLOSE);
}

static void check_range_pages(kvg_ctx *ctx, kvg_steps *l)
{
    (void)ctx;
    char kb[32], vb[32];
    step(l, KVG_ST_START);
    for (int i = 0; i < 100; i++)
        req(l, KVG_ST_PIPE, "SET", 2, num(kb, sizeof kb, "p%03d", (i * 37) % 100),
            num(vb, sizeof vb, "%d", i));
    /* Pages of 7: the next starts just after the last key of the one before. */
    for (int start = 0; start < 100; start += 7) {
        char sb[32];
        kvg_buf s = start == 0 ? B("") : num(sb, sizeof sb, "p%03d", start - 1);
        if (start > 0)
            s.p[s.n++] = '\0';
        req(l, KVG_ST_SEND, "RANGE", 3, s, B(""), B("7"));
    }
    step(l, KVG_ST_CLOSE);
}

static void check_restart(kvg_ctx *ctx, kvg_steps *l)
{
    char kb[32], vb[32];
    step(l, KVG_ST_START);
    for (int i = 0; i < 50; i++)
        req(l, KVG_ST_SEND, "SET", 2, num(kb, sizeof kb, "r%02d", i), num(vb, sizeof vb, "v%d", i));
    for (int i = 0; i < 50; i += 3)
        req(l, KVG_ST_SEND, "SET", 2, num(kb, sizeof kb, "r%02d", i), num(vb, sizeof vb, "w%d", i));
    for (int i = 0; i < 50; i += 5)
        req(l, KVG_ST_SEND, "DEL", 1, num(kb, sizeof kb, "r%02d", i));
    req(l, KVG_ST_SEND, "SET", 2, B("empty"), B(""));
    if (ctx->has_mset)
        req(l, KVG_ST_SEND, "MSET", 4, B("m1"), B("one"), B("m2"), B("two"));
    step(l, KVG_ST_CLOSE);
    step(l, KVG_ST_START);
    step(l, KVG_ST_VERIFY);
    req(l, KVG_ST_SEND, "SET", 2, B("after"), B("the first restart"));
    req(l, KVG_ST_SEND, "DEL", 1, B("r01"));
    step(l, KVG_ST_CLOSE);
    step(l, KVG_ST_START);
    step(l, KVG_ST_VERIFY);
    step(l, KVG_ST_CLOSE);
    step(l, KVG_ST_START); /* a restart with nothing done in between */
    step(l, KVG_ST_CLOSE);
    step(l, KVG_ST_START);
    step(l, KVG_ST_VERIFY);
    step(l, KVG_ST_CLOSE);
}

static void check_unknown_command(kvg_ctx *ctx, kvg_steps *l)
{
    (void)ctx;
    step(l, KVG_ST_START);
    req(l, KVG_ST_SEND, "SET", 2, B("k"), B("v"));
    req(l, KVG_ST_SEND, "NOSUCHCOMMAND", 1, B("k"));
    req(l, KVG_ST_SEND, "GET", 1, B("k"));
    step(l, KVG_ST_CLOSE);
}

static void check_pipelined(kvg_ctx *ctx, kvg_steps *l)
{
    (void)ctx;
    char kb[32], vb[32];
    step(l, KVG_ST_START);
    for (int i = 0; i < 200; i++) {
        if (i % 3 == 2)
            req(l, KVG_ST_PIPE, "GET", 1, num(kb, sizeof kb, "q%d", i / 2));
        else if (i % 7 == 6)
            req(l, KVG_ST_PIPE, "DEL", 1, num(kb, sizeof kb, "q%d", i / 3));
        else
            req(l, KVG_ST_PIPE, "SET", 2, num(kb, sizeof kb, "q%d", i), num(vb, sizeof vb, "%d", i));
    }
    step(l, KVG_ST_CLOSE);
}

static void check_mset(kvg_ctx *ctx, kvg_steps *l)
{
    (void)ctx;
    step(l, KVG_ST_START);
    req(l, KVG_ST_SEND, "SET", 2, B("x"), B("old"));
    req(l, KVG_ST_SEND, "MSET", 6, B("x"), B("1"), B("y"), B("2"), B("z"), B(""));
    req(l, KVG_ST_SEND, "GET", 1, B("x"));
    req(l, KVG_ST_SEND, "GET", 1, B("y"));
    req(l, KVG_ST_SEND, "GET", 1, B("z"));
    req(l, KVG_ST_SEND, "MSET", 4, B("dup"), B("first"), B("dup"), B("last wins"));
    req(l, KVG_ST_SEND, "GET", 1, B("dup"));
    req(l, KVG_ST_SEND, "MSET", 2, B("single"), B("pair"));
    req(l, KVG_ST_SEND, "RANGE", 3, B(""), B(""), B("100"));
    step(l, KVG_ST_CLOSE);
    step(l, KVG_ST_START);
    step(l, KVG_ST_VERIFY);
    step(l, KVG_ST_CLOSE);
}

typedef struct conform_check {
    const char *name;
    void (*build)(kvg_ctx *ctx, kvg_steps *l);
    int needs_mset;
} conform_check;

static const conform_check conform_checks[] = {
    {"get_missing_key_is_nil", check_get_missing, 0},
    {"set_then_get", check_set_get, 0},
    {"overwrite_keeps_the_last_value", check_overwrite, 0},
    {"delete_counts_and_removes", check_delete, 0},
    {"empty_value_is_not_nil", check_empty_value, 0},
    {"binary_keys_and_values", check_binary, 0},
    {"large_value_1MiB", check_large_value, 0},
    {"large_key_1024_bytes", check_large_key, 0},
    {"empty_key_refused_or_stored", check_empty_key, 0},
    {"many_keys", check_many_keys, 0},
    {"range_in_byte_order", check_range_order, 0},
    {"range_bounds_and_limit", check_range_bounds, 0},
    {"range_pages", check_range_pages, 0},
    {"restart_keeps_everything", check_restart, 0},
    {"unknown_command_is_an_error", check_unknown_command, 0},
    {"pipelined_requests_in_order", check_pipelined, 0},
    {"mset_all_pairs", check_mset, 1},
};

void kvg_probe_mset(kvg_ctx *ctx)
{
    /* The probe is outside the model: an error reply decides. */
    char *dir = kvg_fresh_dir(ctx, ctx->work, "probe");
    kvg_engine e;
    char *why = NULL;
    ctx->has_mset = 0;
    if (kvg_engine_start(&e, &ctx->engine, dir, -1, &why) == KVG_OK) {
        kvg_buf argv[3] = {B("MSET"), B("kvgrade-probe"), B("1")};
        kvg_req q = {3, argv};
        kvg_reply got;
        const char *bad;
        if (kvg_engine_send(&e, &q, -1) == KVG_OK && kvg_engine_recv(&e, &got, -1, &bad) == KVG_OK) {
            /* An error saying the command is unknown: no MSET.  Anything
             * else is an MSET (conformance then checks it). */
            int unknown = got.type == KVG_ERROR;
            ctx->has_mset = !unknown;
            kvg_reply_free(&got);
        }
        kvg_engine_stop(&e);
    }
    free(why);
    kvg_engine_close(&e);
    kvg_remove_tree(dir);
    free(dir);
}

void kvg_rung_conformance(kvg_ctx *ctx, kvg_rung_result *rr)
{
    size_t n = sizeof conform_checks / sizeof conform_checks[0], ran = 0, passed = 0;
    const char *first_failed = NULL;
    char *skipped = kvg_strdup("");
    for (size_t i = 0; i < n; i++) {
        const conform_check *c = &conform_checks[i];
        if (c->needs_mset && !ctx->has_mset) {
            char *s = kvg_printf("%s%s%s", skipped, skipped[0] ? ", " : "", c->name);
            free(skipped);
            skipped = s;
            continue;
        }
        kvg_steps l = {0};
        c->build(ctx, &l);
        kvg_result res;
        ran++;
        if (kvg_try(ctx, &l, NULL, ctx->work, 16, &res) == 0) {
            passed++;
        } else if (first_failed == NULL) {
            first_failed = c->name;
            char *what = kvg_printf("%s: %s", c->name, res.what);
            free(res.what);
            res.what = what;
            kvg_rung_fail(ctx, rr, "conformance", &l, &res, 16, 0);
        }
        kvg_result_free(&res);
        kvg_steps_free(&l);
    }
    if (first_failed == NULL)
        rr->status = KVG_PASS;
    rr->summary = kvg_printf("%zu of %zu checks passed%s%s%s", passed, ran,
                             first_failed ? "; first failed: " : "", first_failed ? first_failed : "",
                             ctx->has_mset ? "" : " (no MSET: its check not run)");
    rr->detail = kvg_printf("checks: %zu run, %zu passed%s%s", ran, passed,
                            skipped[0] ? "; not run (the engine has no MSET): " : "", skipped);
    free(skipped);
}
