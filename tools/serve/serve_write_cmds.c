/*
 * serve_write_cmds.c: the commands that write, SET, MSET and DEL, each
 * described by its effect (serve_effect, server.h): whether its arguments
 * are refused, the ops it makes, each a put or a delete of one key, a put
 * perhaps under a condition (SET NX, XX), and how it is answered.  The
 * command table names these as rows' `write` (serve_cmd_table.c).
 *
 * An effect is data, read in three places, so that a write means the
 * same on every path: the batch gathers its ops (serve_cmd_run.c,
 * serve_commit.c), a transaction applies them in a kv_txn
 * (serve_effect.c), and an extension is handed them (serve_handoff.c).
 *
 * Rules:
 *   - `refused` answers (unless o is NULL: the caller only asks) before
 *     anything is gathered, so a write refused is not applied at all.
 *   - A key out of kv.h's range (empty, or longer than KV_MAX_KEY) is
 *     refused.
 *   - A write's ops go to one kv_write, so all or none is applied: one
 *     larger than one atomic write may be (kv.h's KV_MAX_BATCH_OPS,
 *     KV_MAX_BATCH_BYTES) is refused whole.
 */
#include <stdio.h>

#include "server.h"

/* Answers, unless o is NULL, why a write larger than one atomic write may
 * be is refused: its ops go to one kv_write (kv.h's KV_MAX_BATCH_*). */
static int write_too_large(serve_out *o, const serve_effect *e, const serve_req *r,
                           const char *name)
{
    uint64_t bytes;
    size_t ops = serve_effect_size(e, r, &bytes);
    if (ops <= KV_MAX_BATCH_OPS && bytes <= KV_MAX_BATCH_BYTES)
        return 0;
    if (o != NULL)
        out_error(o, "ERR %s of %zu keys and %llu bytes of keys and values is larger than one "
                  "atomic write may be (%u keys, %u bytes: KV_MAX_BATCH_OPS, "
                  "KV_MAX_BATCH_BYTES); nothing was written", name, ops,
                  (unsigned long long)bytes, KV_MAX_BATCH_OPS, KV_MAX_BATCH_BYTES);
    return 1;
}

/* 1 after answering (unless o is NULL) that a key is out of kv.h's range. */
static int write_bad_key(serve_out *o)
{
    if (o != NULL)
        out_error(o, "ERR key must be 1 to %u bytes", KV_MAX_KEY);
    return 1;
}

/* SET key value [NX | XX] [KEEPTTL]: a put, under a condition with NX (the
 * key absent) or XX (present); answered +OK, or nil when the condition
 * did not hold, as Redis answers.  Nothing expires here, so KEEPTTL
 * changes nothing and EX, PX, EXAT and PXAT are refused, as is GET (the
 * old value is not handed back). */
static int set_cond(const serve_req *r, serve_out *o, int *cond)
{
    *cond = SERVE_OP_ALWAYS;
    for (size_t i = 3; i < r->argc; i++) {
        int nx = serve_cmd_is(r, i, "nx"), xx = serve_cmd_is(r, i, "xx");
        if ((nx || xx) && *cond == SERVE_OP_ALWAYS) {
            *cond = nx ? SERVE_OP_IF_ABSENT : SERVE_OP_IF_PRESENT;
        } else if (serve_cmd_is(r, i, "keepttl")) {
            continue;
        } else if (serve_cmd_is(r, i, "ex") || serve_cmd_is(r, i, "px") ||
                   serve_cmd_is(r, i, "exat") || serve_cmd_is(r, i, "pxat")) {
            if (o != NULL)
                out_error(o, "ERR SET's EX, PX, EXAT and PXAT need expiries, which this "
                          "server does not have (SET key value [NX|XX] [KEEPTTL])");
            return -1;
        } else if (serve_cmd_is(r, i, "get")) {
            if (o != NULL)
                out_error(o, "ERR SET ... GET is not supported here (SET key value [NX|XX] "
                          "[KEEPTTL]): GET the key first");
            return -1;
        } else {
            if (o != NULL)
                out_error(o, "ERR syntax error");
            return -1;
        }
    }
    return 0;
}

static int set_refused(serve_out *o, const serve_req *r)
{
    int cond;
    if (r->argc < 3) {
        if (o != NULL)
            out_error(o, "ERR wrong number of arguments for 'set' command");
        return 1;
    }
    if (!serve_key_ok(req_len(r, 1)))
        return write_bad_key(o);
    return r->argc > 3 && set_cond(r, o, &cond) != 0;
}

static size_t set_nops(const serve_req *r)
{
    (void)r;
    return 1;
}

static void set_op(const serve_req *r, size_t i, serve_write_op *op)
{
    (void)i;
    int cond = SERVE_OP_ALWAYS;
    if (r->argc > 3)
        set_cond(r, NULL, &cond);
    *op = (serve_write_op){0, cond, req_ptr(r, 1), req_ptr(r, 2), req_len(r, 1), req_len(r, 2), 0};
}

const serve_effect serve_set_effect = {set_refused, set_nops, set_op, SERVE_REPLY_OK};

/* MSET key value [key value ...]: every pair in one kv_write, so all or
 * none is applied. */
static int mset_refused(serve_out *o, const serve_req *r)
{
    if (r->argc % 2 != 1) {
        if (o != NULL)
            out_error(o, "ERR wrong number of arguments for 'mset' command");
        return 1;
    }
    for (size_t i = 1; i < r->argc; i += 2)
        if (!serve_key_ok(req_len(r, i)))
            return write_bad_key(o);
    return write_too_large(o, &serve_mset_effect, r, "MSET");
}

static size_t mset_nops(const serve_req *r)
{
    return (r->argc - 1) / 2;
}

static void mset_op(const serve_req *r, size_t i, serve_write_op *op)
{
    size_t k = 1 + 2 * i;
    *op = (serve_write_op){0, SERVE_OP_ALWAYS, req_ptr(r, k), req_ptr(r, k + 1), req_len(r, k),
                           req_len(r, k + 1), 0};
}

const serve_effect serve_mset_effect = {mset_refused, mset_nops, mset_op, SERVE_REPLY_OK};

/* DEL key [key ...]: answered with how many of the keys existed, counted
 * where it is applied (serve_writers.c, serve_effect.c, or the
 * extension). */
static int del_refused(serve_out *o, const serve_req *r)
{
    for (size_t i = 1; i < r->argc; i++)
        if (!serve_key_ok(req_len(r, i)))
            return write_bad_key(o);
    return write_too_large(o, &serve_del_effect, r, "DEL");
}

static size_t del_nops(const serve_req *r)
{
    return r->argc - 1;
}

static void del_op(const serve_req *r, size_t i, serve_write_op *op)
{
    *op = (serve_write_op){1, SERVE_OP_ALWAYS, req_ptr(r, i + 1), "", req_len(r, i + 1), 0, 0};
}

const serve_effect serve_del_effect = {del_refused, del_nops, del_op, SERVE_REPLY_COUNT};
