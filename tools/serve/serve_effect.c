/*
 * serve_effect.c: a write command's effect (server.h, serve_effect: its
 * ops, each a put or a delete of one key under a condition, and how it
 * is answered) applied in a transaction, and answered from what its ops
 * found.  The command table says what each write does; this file, the
 * batch (serve_commit.c, serve_writers.c) and an extension
 * (serve_handoff.c) do it, each its own way, from that one description.
 *
 * What an op found is whether its key held a value just before it, after
 * the ops before it: a DEL answers how many of its keys did, and a put
 * under a condition (SET NX: absent; SET XX: present) applies only if
 * it holds (serve_op_applies, serve_ext.h).
 */
#include "server.h"

size_t serve_effect_size(const serve_effect *e, const serve_req *r, uint64_t *bytes)
{
    /* Every word after the name, as a bound: an option's (NX) too. */
    *bytes = 0;
    for (size_t i = 1; i < r->argc; i++)
        *bytes += req_len(r, i);
    return e->nops(r);
}

int serve_effect_txn(const serve_effect *e, kv_txn *t, serve_out *o, const serve_req *r)
{
    if (e->refused(o, r))
        return KV_OK; /* its error is its reply; the EXEC goes on */
    size_t n = e->nops(r), found = 0;
    int applied = 0;
    for (size_t i = 0; i < n; i++) {
        serve_write_op op;
        e->op(r, i, &op);
        /* A plain put reads nothing (its key joins no read set); a delete
         * and a conditional put read their key first. */
        int existed = 0, rc;
        if (op.del || op.cond != SERVE_OP_ALWAYS) {
            void *val;
            size_t vlen;
            rc = kv_txn_get(t, op.key, op.klen, &val, &vlen);
            if (rc != KV_OK && rc != KV_NOT_FOUND)
                return rc;
            if (rc == KV_OK)
                kv_free(val);
            existed = rc == KV_OK;
        }
        found += existed;
        applied = serve_op_applies(op.cond, existed);
        if (!applied || (op.del && !existed))
            continue;
        rc = op.del ? kv_txn_delete(t, op.key, op.klen)
                    : kv_txn_put(t, op.key, op.klen, op.val, op.vlen);
        if (rc != KV_OK)
            return rc;
    }
    if (e->reply == SERVE_REPLY_COUNT)
        out_int(o, (long long)found);
    else if (applied)
        out_simple(o, "OK");
    else
        out_nil(o);
    return KV_OK;
}

void serve_effect_reply(const serve_effect *e, serve_out *o, const serve_req *r,
                        const uint8_t *existed, size_t n)
{
    size_t nops = e->nops(r), found = 0;
    int applied = 0;
    for (size_t i = 0; i < nops; i++) {
        serve_write_op op;
        e->op(r, i, &op);
        int was = existed != NULL && i < n && existed[i];
        found += was;
        applied = serve_op_applies(op.cond, was);
    }
    if (e->reply == SERVE_REPLY_COUNT)
        out_int(o, (long long)found);
    else if (applied)
        out_simple(o, "OK");
    else
        out_nil(o);
}
