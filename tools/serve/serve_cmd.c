/*
 * serve_cmd.c: the command table of `kv serve` (and COMMAND, which lists
 * it), running a request, and the commands that map straight onto kv.h:
 * PING, ECHO, GET, SET, DEL, EXISTS, MGET, MSET, TYPE, STRLEN, RANGE,
 * QUIT, AUTH.  SCAN is in serve_scan.c, KEYS in serve_keys.c; INFO,
 * DBSIZE in serve_info.c, CONFIG in serve_config.c; MULTI, EXEC, DISCARD
 * and RESET in serve_multi.c, WATCH and UNWATCH in serve_watch.c.
 *
 * Commands are data: each entry carries its flags as bits and its key
 * positions as numbers, as Redis's COMMAND reports them, and every rule
 * reads those (serve_cmd_key walks the keys: server.h); this file is the
 * one place a command is found by its name (cmd_find).  A write is
 * described by its effect (serve_effect: its ops, each a put or a delete
 * of one key, a put perhaps under a condition, and how it is answered),
 * which the batch gathers (cmd_gather), a transaction applies
 * (serve_effect.c) and an extension is handed (serve_handoff.c).
 *
 * Reads (GET, EXISTS, MGET) call kv_get on the loop thread and answer at
 * once; a read of several keys (MGET, EXISTS) reads them all at one
 * snapshot (kv_snapshot_new, O(1) on every stage), since writer threads
 * apply batches meanwhile (serve_commit.c) and an MSET or EXEC must be
 * seen whole or not at all, as Redis's one thread guarantees.  Writes
 * (SET, MSET, DEL) are added to the batch being gathered (serve_commit.c)
 * and answered when it has been applied.  To keep each client's replies
 * in order (server.h, invariant 1), a client with writes still unapplied
 * may run another write only if it will not answer at once (its
 * arguments are valid and its limits allow, and it is not queuing after
 * MULTI); anything else waits.
 *
 * With an extension (serve_ext.h), every command that runs or is queued
 * after MULTI passes its gate first, EXEC as what its transaction does
 * (cmd_gate): a member of a Raft group redirects to its leader, and a
 * queued command it redirects makes the EXEC answer EXECABORT, as on a
 * Redis Cluster node.
 *
 * Inside EXEC the same commands run against a kv_txn (serve_txn.c): a
 * read through a serve_view, so that one function answers both ways, and
 * a write through its effect (serve_effect_txn).  A read between WATCH
 * and EXEC runs in the WATCH's kv_txn the same way (serve_watch.c says
 * why).
 *
 * Keys out of kv.h's range (empty, or longer than KV_MAX_KEY) are refused
 * by writes; reads treat them as absent, since no such key can exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve_queue.h"

static int cmd_key_ok(size_t klen)
{
    return klen >= 1 && klen <= KV_MAX_KEY;
}

static void cmd_kv_error(serve_out *o, int rc)
{
    out_error(o, "ERR %s: %s", kv_strerror(rc), kv_errmsg());
}

/* Closes a client whose write could not be gathered (out of memory). */
static void cmd_nomem(serve_client *c)
{
    serve_log("client %s: out of memory gathering a write; closing", c->addr);
    c->closing = 1;
    c->eof = 1;
}

/* kv_get from the view: a list of answers (an extension's EXEC), the
 * transaction's view, the database at snap (not NULL: a read of several
 * keys), or the database now. */
static int view_get(const serve_view *v, const kv_snapshot *snap, const void *k, size_t kl,
                    void **val, size_t *vl)
{
    if (serve_key_hidden(v->hidden, v->hidden_len, k, kl))
        return KV_NOT_FOUND; /* the extension's own key: not there for clients */
    if (v->list != NULL)
        return serve_readlist_get(v->list, k, kl, val, vl);
    if (v->txn != NULL)
        return kv_txn_get(v->txn, k, kl, val, vl);
    return snap != NULL ? kv_get_at(v->db, snap, k, kl, val, vl) : kv_get(v->db, k, kl, val, vl);
}

/* For a read of nkeys keys: *snap = a snapshot of the database now, if
 * the view is the database and there are several keys (else NULL: one
 * key, or a transaction, which reads one snapshot already).  0, or -1
 * after answering the error. */
static int view_snapshot(const serve_view *v, serve_out *o, size_t nkeys,
                         const kv_snapshot **snap)
{
    *snap = NULL;
    if (v->txn != NULL || v->list != NULL || nkeys < 2)
        return 0;
    int rc = kv_snapshot_new(v->db, snap);
    if (rc != KV_OK) {
        cmd_kv_error(o, rc);
        return -1;
    }
    return 0;
}

static void cmd_ping(const serve_view *v, serve_out *o, const serve_req *r)
{
    (void)v;
    if (r->argc == 1)
        out_simple(o, "PONG");
    else if (r->argc == 2)
        out_bulk(o, req_ptr(r, 1), req_len(r, 1));
    else
        out_error(o, "ERR wrong number of arguments for 'ping' command");
}

static void cmd_echo(const serve_view *v, serve_out *o, const serve_req *r)
{
    (void)v;
    out_bulk(o, req_ptr(r, 1), req_len(r, 1));
}

/* Appends the value of argument i as a bulk string, or nil. */
static void cmd_get_one(const serve_view *v, const kv_snapshot *snap, serve_out *o,
                        const serve_req *r, size_t i)
{
    if (!cmd_key_ok(req_len(r, i))) {
        out_nil(o);
        return;
    }
    void *val;
    size_t vlen;
    int rc = view_get(v, snap, req_ptr(r, i), req_len(r, i), &val, &vlen);
    if (rc == KV_OK) {
        out_bulk(o, val, vlen);
        kv_free(val);
    } else if (rc == KV_NOT_FOUND) {
        out_nil(o);
    } else {
        cmd_kv_error(o, rc);
    }
}

static void cmd_get(const serve_view *v, serve_out *o, const serve_req *r)
{
    cmd_get_one(v, NULL, o, r, 1);
}

static void cmd_mget(const serve_view *v, serve_out *o, const serve_req *r)
{
    const kv_snapshot *snap = NULL;
    if (view_snapshot(v, o, r->argc - 1, &snap) != 0)
        return;
    size_t mark = o->len;
    out_array(o, r->argc - 1);
    for (size_t i = 1; i < r->argc; i++) {
        cmd_get_one(v, snap, o, r, i);
        if (o->len - mark > SERVE_MAX_REPLY) {
            out_truncate(o, mark);
            out_error(o, "ERR reply larger than %u bytes", SERVE_MAX_REPLY);
            break;
        }
    }
    kv_snapshot_free(v->db, snap);
}

static void cmd_exists(const serve_view *v, serve_out *o, const serve_req *r)
{
    const kv_snapshot *snap = NULL;
    if (view_snapshot(v, o, r->argc - 1, &snap) != 0)
        return;
    long long n = 0;
    int rc = KV_OK;
    for (size_t i = 1; i < r->argc && (rc == KV_OK || rc == KV_NOT_FOUND); i++) {
        if (!cmd_key_ok(req_len(r, i)))
            continue;
        void *val;
        size_t vlen;
        rc = view_get(v, snap, req_ptr(r, i), req_len(r, i), &val, &vlen);
        if (rc == KV_OK) {
            kv_free(val);
            n++;
        }
    }
    kv_snapshot_free(v->db, snap);
    if (rc == KV_OK || rc == KV_NOT_FOUND)
        out_int(o, n);
    else
        cmd_kv_error(o, rc);
}

/* TYPE key: "string" if it exists (the only type there is), else "none". */
static void cmd_type(const serve_view *v, serve_out *o, const serve_req *r)
{
    void *val;
    size_t vlen;
    int rc = cmd_key_ok(req_len(r, 1)) ? view_get(v, NULL, req_ptr(r, 1), req_len(r, 1), &val, &vlen)
                                       : KV_NOT_FOUND;
    if (rc == KV_OK) {
        kv_free(val);
        out_simple(o, "string");
    } else if (rc == KV_NOT_FOUND) {
        out_simple(o, "none");
    } else {
        cmd_kv_error(o, rc);
    }
}

/* STRLEN key: the value's length in bytes, 0 if there is none. */
static void cmd_strlen(const serve_view *v, serve_out *o, const serve_req *r)
{
    void *val;
    size_t vlen;
    int rc = cmd_key_ok(req_len(r, 1)) ? view_get(v, NULL, req_ptr(r, 1), req_len(r, 1), &val, &vlen)
                                       : KV_NOT_FOUND;
    if (rc == KV_OK) {
        kv_free(val);
        out_int(o, (long long)vlen);
    } else if (rc == KV_NOT_FOUND) {
        out_int(o, 0);
    } else {
        cmd_kv_error(o, rc);
    }
}

/* An iterator over the view: the database's or the transaction's. */
typedef struct view_iter {
    kv_iter *db;
    kv_txn_iter *txn;
} view_iter;

static int view_iter_new(const serve_view *v, view_iter *it, const void *start, size_t slen)
{
    it->db = NULL;
    it->txn = NULL;
    int rc = v->txn != NULL ? kv_txn_iter_new(v->txn, &it->txn) : kv_iter_new(v->db, &it->db);
    if (rc != KV_OK)
        return rc;
    if (it->txn != NULL)
        slen > 0 ? kv_txn_iter_seek(it->txn, start, slen) : kv_txn_iter_seek_first(it->txn);
    else
        slen > 0 ? kv_iter_seek(it->db, start, slen) : kv_iter_seek_first(it->db);
    return KV_OK;
}

/* RANGE start end limit: the first `limit` pairs with start <= key < end
 * (an empty end: no upper bound), in key order, as one array of key,
 * value, key, value...  kvgrade's range read (docs/kvgrade.md says why
 * this shape).  A limit above SERVE_WALK_KEYS is refused, as a reply over
 * SERVE_MAX_REPLY bytes is, so that no RANGE holds up the loop. */
static void cmd_range(const serve_view *v, serve_out *o, const serve_req *r)
{
    char num[16];
    size_t n = req_len(r, 3);
    char *end;
    if (n == 0 || n >= sizeof num) {
        out_error(o, "ERR the limit must be a number from 1 to %d", SERVE_WALK_KEYS);
        return;
    }
    memcpy(num, req_ptr(r, 3), n);
    num[n] = '\0';
    long limit = strtol(num, &end, 10);
    if (*end != '\0' || limit < 1 || limit > SERVE_WALK_KEYS) {
        out_error(o, "ERR the limit must be a number from 1 to %d", SERVE_WALK_KEYS);
        return;
    }
    view_iter it;
    int rc = view_iter_new(v, &it, req_ptr(r, 1), req_len(r, 1));
    if (rc != KV_OK) {
        cmd_kv_error(o, rc);
        return;
    }
    serve_out items;
    memset(&items, 0, sizeof items);
    long pairs = 0;
    const void *bound = req_ptr(r, 2);
    size_t blen = req_len(r, 2);
    while (pairs < limit && (it.txn != NULL ? kv_txn_iter_valid(it.txn) : kv_iter_valid(it.db))) {
        size_t kl, vl;
        const void *k = it.txn != NULL ? kv_txn_iter_key(it.txn, &kl) : kv_iter_key(it.db, &kl);
        if (blen > 0) {
            int c = memcmp(k, bound, kl < blen ? kl : blen);
            if (c > 0 || (c == 0 && kl >= blen))
                break;
        }
        if (serve_key_hidden(v->hidden, v->hidden_len, k, kl)) {
            it.txn != NULL ? kv_txn_iter_next(it.txn) : kv_iter_next(it.db);
            continue; /* the extension's own key: not there for clients */
        }
        const void *val = it.txn != NULL ? kv_txn_iter_value(it.txn, &vl) : kv_iter_value(it.db, &vl);
        if (val == NULL)
            break; /* the status says why */
        out_bulk(&items, k, kl);
        out_bulk(&items, val, vl);
        pairs++;
        if (items.len > SERVE_MAX_REPLY)
            break;
        it.txn != NULL ? kv_txn_iter_next(it.txn) : kv_iter_next(it.db);
    }
    rc = it.txn != NULL ? kv_txn_iter_status(it.txn) : kv_iter_status(it.db);
    if (rc != KV_OK)
        cmd_kv_error(o, rc);
    else if (items.failed)
        out_error(o, "ERR out of memory");
    else if (items.len > SERVE_MAX_REPLY)
        out_error(o, "ERR reply larger than %u bytes", SERVE_MAX_REPLY);
    else {
        out_array(o, (size_t)pairs * 2);
        out_bytes(o, items.buf, items.len);
    }
    out_free(&items);
    if (it.txn != NULL)
        kv_txn_iter_free(it.txn);
    else
        kv_iter_free(it.db);
}

/* UNWATCH inside EXEC: the watches ended when EXEC began. */
static void cmd_unwatch_queued(const serve_view *v, serve_out *o, const serve_req *r)
{
    (void)v, (void)r;
    out_simple(o, "OK");
}

/* ---- writes: what each does to the engine (serve_effect in server.h) ---- */

/* Answers, unless o is NULL, why a write larger than one atomic write may
 * be is refused: its ops go to one kv_write (kv.h's KV_MAX_BATCH_*). */
static int cmd_too_large(serve_out *o, const serve_effect *e, const serve_req *r,
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
static int cmd_bad_key(serve_out *o)
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
    if (!cmd_key_ok(req_len(r, 1)))
        return cmd_bad_key(o);
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

static const serve_effect set_effect = {set_refused, set_nops, set_op, SERVE_REPLY_OK};

/* MSET key value [key value ...]: every pair in one kv_write, so all or
 * none is applied. */
static const serve_effect mset_effect;

static int mset_refused(serve_out *o, const serve_req *r)
{
    if (r->argc % 2 != 1) {
        if (o != NULL)
            out_error(o, "ERR wrong number of arguments for 'mset' command");
        return 1;
    }
    for (size_t i = 1; i < r->argc; i += 2)
        if (!cmd_key_ok(req_len(r, i)))
            return cmd_bad_key(o);
    return cmd_too_large(o, &mset_effect, r, "MSET");
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

static const serve_effect mset_effect = {mset_refused, mset_nops, mset_op, SERVE_REPLY_OK};

/* DEL key [key ...]: answered with how many of the keys existed, counted
 * where it is applied (serve_writers.c, serve_effect.c, or the
 * extension). */
static const serve_effect del_effect;

static int del_refused(serve_out *o, const serve_req *r)
{
    for (size_t i = 1; i < r->argc; i++)
        if (!cmd_key_ok(req_len(r, i)))
            return cmd_bad_key(o);
    return cmd_too_large(o, &del_effect, r, "DEL");
}

static size_t del_nops(const serve_req *r)
{
    return r->argc - 1;
}

static void del_op(const serve_req *r, size_t i, serve_write_op *op)
{
    *op = (serve_write_op){1, SERVE_OP_ALWAYS, req_ptr(r, i + 1), "", req_len(r, i + 1), 0, 0};
}

static const serve_effect del_effect = {del_refused, del_nops, del_op, SERVE_REPLY_COUNT};

/* A write, gathered into the batch: its ops, the last one answering it. */
static void cmd_gather(server *s, serve_client *c, const serve_effect *e, const serve_req *r)
{
    if (e->refused(&c->out, r))
        return;
    size_t mark = serve_commit_mark(s), n = e->nops(r);
    for (size_t i = 0; i < n; i++) {
        serve_write_op op;
        e->op(r, i, &op);
        if (serve_commit_op(s, c, &op, i + 1 == n ? e->reply : 0, mark) != 0) {
            serve_commit_undo(s, mark);
            cmd_nomem(c);
            return;
        }
    }
}

/* ---- connection commands ---- */

static void cmd_quit(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)s, (void)cmd, (void)r;
    out_simple(&c->out, "OK");
    c->closing = 1;
}

/* Compares without stopping at the first difference (no timing hint). */
static int cmd_same_secret(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = alen != blen;
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (blen ? blen : 1)]);
    return diff == 0 && blen > 0;
}

/* AUTH password, or AUTH default password (the Redis 6 form). */
static void cmd_auth(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    if (r->argc > 3) {
        out_error(&c->out, "ERR syntax error");
        return;
    }
    if (s->cfg.password == NULL) {
        out_error(&c->out, "ERR AUTH <password> called without any password configured "
                           "for the default user. Are you sure your configuration is correct?");
        return;
    }
    size_t p = r->argc - 1;
    int ok = (r->argc == 2 || serve_cmd_is(r, 1, "default")) &&
             cmd_same_secret(req_ptr(r, p), req_len(r, p), s->cfg.password, s->cfg.passlen);
    if (ok) {
        c->authed = 1;
        out_simple(&c->out, "OK");
    } else {
        out_error(&c->out, "WRONGPASS invalid username-password pair or user is disabled.");
    }
}

/* CLUSTER, READONLY and READWRITE without an extension: what Redis
 * answers without cluster support; with one, READONLY and READWRITE set
 * the client's flag (a replica may answer its reads, possibly stale) and
 * CLUSTER is the extension's (serve_ext.h). */
static int cmd_no_cluster(const server *s, serve_client *c)
{
    if (s->ext == NULL)
        out_error(&c->out, "ERR This instance has cluster support disabled");
    return s->ext == NULL;
}

static void cmd_cluster(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    if (!cmd_no_cluster(s, c))
        s->ext->cluster(s->ext_state, c->id, r, &c->out);
}

static void cmd_readonly(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd, (void)r;
    if (!cmd_no_cluster(s, c)) {
        c->readonly = 1;
        out_simple(&c->out, "OK");
    }
}

static void cmd_readwrite(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd, (void)r;
    if (!cmd_no_cluster(s, c)) {
        c->readonly = 0;
        out_simple(&c->out, "OK");
    }
}

/* ---- the table ---- */

#define R SERVE_CMD_READONLY
#define W SERVE_CMD_WRITE
#define F SERVE_CMD_FAST
#define A SERVE_CMD_ADMIN
#define U SERVE_CMD_NO_AUTH
#define D SERVE_CMD_DENYOOM
#define X SERVE_CMD_EXTENSION
/* The table: {name, arity, flags, first key, last key, key step, after
 * MULTI, run, read, write, subcommands}.  The flags and the key positions
 * are Redis's COMMAND's (a cluster client finds a command's keys from
 * them, and so do the gate, WATCH, redirects and the hidden keys:
 * serve_cmd_key; RANGE's words are bounds, not keys).  After MULTI a
 * command is queued (its `read` or `write` runs it inside EXEC), run at
 * once, or refused. */
static const serve_cmd serve_cmds[] = {
    {"ping", -1, F, 0, 0, 0, MULTI_QUEUE, NULL, cmd_ping, NULL, NULL},
    {"echo", 2, F, 0, 0, 0, MULTI_QUEUE, NULL, cmd_echo, NULL, NULL},
    {"get", 2, R | F, 1, 1, 1, MULTI_QUEUE, NULL, cmd_get, NULL, NULL},
    {"set", -3, W | D, 1, 1, 1, MULTI_QUEUE, NULL, NULL, &set_effect, NULL},
    {"del", -2, W, 1, -1, 1, MULTI_QUEUE, NULL, NULL, &del_effect, NULL},
    {"exists", -2, R | F, 1, -1, 1, MULTI_QUEUE, NULL, cmd_exists, NULL, NULL},
    {"mget", -2, R | F, 1, -1, 1, MULTI_QUEUE, NULL, cmd_mget, NULL, NULL},
    {"mset", -3, W | D, 1, -1, 2, MULTI_QUEUE, NULL, NULL, &mset_effect, NULL},
    {"type", 2, R | F, 1, 1, 1, MULTI_QUEUE, NULL, cmd_type, NULL, NULL},
    {"strlen", 2, R | F, 1, 1, 1, MULTI_QUEUE, NULL, cmd_strlen, NULL, NULL},
    {"range", 4, R, 0, 0, 0, MULTI_QUEUE, NULL, cmd_range, NULL, NULL},
    {"scan", -2, R, 0, 0, 0, MULTI_REFUSE, serve_scan_cmd, NULL, NULL, NULL},
    {"keys", 2, R, 0, 0, 0, MULTI_REFUSE, serve_keys_cmd, NULL, NULL, NULL},
    {"info", -1, 0, 0, 0, 0, MULTI_REFUSE, serve_info_cmd, NULL, NULL, NULL},
    {"dbsize", 1, R | F, 0, 0, 0, MULTI_REFUSE, serve_dbsize_cmd, NULL, NULL, NULL},
    {"quit", -1, F | U, 0, 0, 0, MULTI_NOW, cmd_quit, NULL, NULL, NULL},
    {"command", -1, 0, 0, 0, 0, MULTI_REFUSE, serve_command_cmd, NULL, NULL,
     "count docs info list"},
    {"config", -2, A, 0, 0, 0, MULTI_REFUSE, serve_config_cmd, NULL, NULL, "get set resetstat"},
    {"slowlog", -2, A, 0, 0, 0, MULTI_REFUSE, serve_slowlog_cmd, NULL, NULL,
     "get len reset help"},
    {"auth", -2, F | U | SERVE_CMD_SECRET, 0, 0, 0, MULTI_REFUSE, cmd_auth, NULL, NULL, NULL},
    {"multi", 1, F, 0, 0, 0, MULTI_NOW, serve_multi_cmd, NULL, NULL, NULL},
    {"exec", 1, SERVE_CMD_SKIP_SLOWLOG, 0, 0, 0, MULTI_EXEC, serve_exec_cmd, NULL, NULL, NULL},
    {"discard", 1, F, 0, 0, 0, MULTI_NOW, serve_discard_cmd, NULL, NULL, NULL},
    {"watch", -2, F | SERVE_CMD_WATCHES, 1, -1, 1, MULTI_NOW, serve_watch_cmd, NULL, NULL, NULL},
    {"unwatch", 1, F, 0, 0, 0, MULTI_QUEUE, serve_unwatch_cmd, cmd_unwatch_queued, NULL, NULL},
    {"cluster", -2, X, 0, 0, 0, MULTI_REFUSE, cmd_cluster, NULL, NULL,
     "slots shards nodes info myid keyslot"},
    {"readonly", 1, F, 0, 0, 0, MULTI_REFUSE, cmd_readonly, NULL, NULL, NULL},
    {"readwrite", 1, F, 0, 0, 0, MULTI_REFUSE, cmd_readwrite, NULL, NULL, NULL},
    {"reset", 1, F | U, 0, 0, 0, MULTI_NOW, serve_reset_cmd, NULL, NULL, NULL},
};
#undef R
#undef W
#undef F
#undef A
#undef U
#undef D
#undef X

serve_cmd_info serve_cmd_info_of(const serve_cmd *cmd)
{
    serve_cmd_info i = {cmd->name, cmd->flags, cmd->first_key, cmd->last_key, cmd->key_step};
    return i;
}

const serve_cmd *serve_cmd_table(size_t *n)
{
    *n = sizeof serve_cmds / sizeof serve_cmds[0];
    return serve_cmds;
}

/* The command word i of r names, or NULL: the one place a command is
 * found by its name. */
static const serve_cmd *cmd_find(const serve_req *r, size_t i)
{
    for (size_t k = 0; k < sizeof serve_cmds / sizeof serve_cmds[0]; k++)
        if (serve_cmd_is(r, i, serve_cmds[k].name))
            return &serve_cmds[k];
    return NULL;
}

/* One COMMAND entry: name, arity, flags, first key, last key, key step,
 * as the command table says them (a cluster client finds a command's
 * keys this way).  The flags named are Redis's; the server's own
 * (SKIP_SLOWLOG, SECRET, EXTENSION, WATCHES) are not reported. */
static void command_entry(serve_client *c, const serve_cmd *cmd)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{SERVE_CMD_WRITE, "write"},     {SERVE_CMD_READONLY, "readonly"},
                 {SERVE_CMD_DENYOOM, "denyoom"}, {SERVE_CMD_ADMIN, "admin"},
                 {SERVE_CMD_FAST, "fast"},       {SERVE_CMD_NO_AUTH, "no_auth"}};
    out_array(&c->out, 6);
    out_bulk_str(&c->out, cmd->name);
    out_int(&c->out, cmd->arity);
    size_t nflags = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        nflags += (cmd->flags & names[i].bit) != 0;
    out_array(&c->out, nflags);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (cmd->flags & names[i].bit)
            out_simple(&c->out, names[i].name);
    out_int(&c->out, cmd->first_key);
    out_int(&c->out, cmd->last_key);
    out_int(&c->out, cmd->key_step);
}

/* COMMAND, COMMAND COUNT, COMMAND INFO name..., COMMAND LIST, COMMAND DOCS
 * (an empty answer: redis-cli then uses its own help text). */
void serve_command_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)s, (void)cmd;
    size_t n = sizeof serve_cmds / sizeof serve_cmds[0];
    if (r->argc == 1) {
        out_array(&c->out, n);
        for (size_t i = 0; i < n; i++)
            command_entry(c, &serve_cmds[i]);
    } else if (serve_cmd_is(r, 1, "count")) {
        out_int(&c->out, (long long)n);
    } else if (serve_cmd_is(r, 1, "docs")) {
        out_array(&c->out, 0);
    } else if (serve_cmd_is(r, 1, "list")) {
        out_array(&c->out, n);
        for (size_t i = 0; i < n; i++)
            out_bulk_str(&c->out, serve_cmds[i].name);
    } else if (serve_cmd_is(r, 1, "info")) {
        out_array(&c->out, r->argc - 2);
        for (size_t i = 2; i < r->argc; i++) {
            const serve_cmd *found = cmd_find(r, i);
            if (found != NULL)
                command_entry(c, found);
            else
                out_nil(&c->out);
        }
    } else {
        out_error(&c->out, "ERR unknown subcommand of COMMAND (try COUNT, DOCS, INFO, LIST)");
    }
}

/* ---- running a request ---- */

/* The number of the first of the command's keys (its word index) that is
 * one of the extension's own (serve_ext.h, E3), or 0. */
static size_t cmd_hidden_key(const server *s, const serve_cmd *cmd, const serve_req *r)
{
    if (s->hidden_prefix == NULL)
        return 0;
    for (size_t i = serve_cmd_key(cmd, r, 0); i != 0; i = serve_cmd_key(cmd, r, i))
        if (serve_key_hidden(s->hidden_prefix, s->hidden_len, req_ptr(r, i), req_len(r, i)))
            return i;
    return 0;
}

/* 1 if the client may add this write to the batch now. */
static int cmd_has_room(const serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    uint64_t bytes;
    size_t ops = serve_effect_size(cmd->write, r, &bytes);
    return serve_commit_has_room(c, ops, bytes);
}

/* What EXEC is, for the gate: what its transaction does (serve_ext.h's
 * serve_gate), and its first key, the queue's or else the WATCH's. */
static void cmd_exec_info(const serve_client *c, serve_cmd_info *info, const char **key,
                          size_t *klen)
{
    const struct serve_multi *m = c->multi;
    info->flags &= ~(unsigned)(SERVE_CMD_WRITE | SERVE_CMD_READONLY);
    if (m->refused || c->watch_expired)
        return; /* answered here: EXECABORT, or *-1 */
    if (c->watch_txn != NULL) /* its values become the transaction's conditions */
        info->flags |= SERVE_CMD_WRITE;
    for (size_t q = 0; q < m->ncmds; q++) {
        const serve_cmd *cmd = m->cmds[q].cmd;
        serve_req r = multi_req(m, q);
        info->flags |= cmd->flags & (SERVE_CMD_WRITE | SERVE_CMD_READONLY);
        size_t k = serve_cmd_key(cmd, &r, 0);
        if (*key == NULL && k != 0) {
            *key = req_ptr(&r, k);
            *klen = req_len(&r, k);
        }
    }
    if (*key == NULL && c->watched != NULL && c->watched->n > 0) {
        *key = c->watched->bytes + c->watched->keys[0].off;
        *klen = c->watched->keys[0].len;
    }
}

/* Asks the extension's gate about the command (serve_ext.h). */
static int cmd_gate(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r,
                    int queued)
{
    serve_cmd_info info = serve_cmd_info_of(cmd);
    const char *key = NULL;
    size_t klen = 0;
    if (cmd->in_multi == MULTI_EXEC && serve_multi_queuing(c)) {
        cmd_exec_info(c, &info, &key, &klen);
    } else {
        size_t k = serve_cmd_key(cmd, r, 0);
        if (k != 0) {
            key = req_ptr(r, k);
            klen = req_len(r, k);
        }
    }
    serve_gate g = {c->id, c->readonly, c->input_pass, &info, r, queued, key, klen, &c->out};
    return s->ext->gate(s->ext_state, &g);
}

/* Writes up to `max` bytes of argument i, quoted, with bytes that are not
 * printable as '?'. */
static void cmd_quote(char *dst, size_t cap, const serve_req *r, size_t i, size_t max)
{
    size_t n = req_len(r, i) < max ? req_len(r, i) : max;
    size_t at = strlen(dst);
    for (size_t j = 0; j < n && at + 4 < cap; j++) {
        char ch = req_ptr(r, i)[j];
        dst[at++] = ch >= 32 && ch < 127 && ch != '\'' ? ch : '?';
    }
    dst[at] = '\0';
}

static void cmd_unknown(serve_client *c, const serve_req *r)
{
    char name[80] = "", args[200] = "";
    cmd_quote(name, sizeof name, r, 0, 64);
    for (size_t i = 1; i < r->argc && i <= 3; i++) {
        strcat(args, "'");
        cmd_quote(args, sizeof args - 3, r, i, 40);
        strcat(args, "' ");
    }
    out_error(&c->out, "ERR unknown command '%s', with args beginning with: %s", name, args);
}

/* What became of a request, for its counts (serve_stats.h). */
enum { CMD_RAN, CMD_REJECTED, CMD_NOT_COUNTED };

int serve_cmd_run(server *s, serve_client *c, const serve_req *r)
{
    if (r->argc == 0)
        return SERVE_CMD_DONE;
    const serve_cmd *cmd = cmd_find(r, 0);
    int arity_ok = cmd != NULL && (cmd->arity > 0 ? r->argc == (size_t)cmd->arity
                                                  : r->argc >= (size_t)-cmd->arity);
    int queuing = serve_multi_queuing(c);
    int queued = queuing && arity_ok && cmd->in_multi == MULTI_QUEUE;
    if (c->pending_ops > 0 && (queuing || !(arity_ok && cmd->write != NULL &&
                                            !cmd->write->refused(NULL, r) &&
                                            cmd_has_room(c, cmd, r))))
        return SERVE_CMD_WAIT;
    int authed = s->cfg.password == NULL || c->authed;
    /* An extension's gate (serve_ext.h), for every command that runs or
     * is queued: a member of a Raft group redirects to its leader, or
     * makes a read wait for a read index. */
    int gate = SERVE_GATE_GO;
    if (s->ext != NULL && arity_ok && authed && (!queuing || cmd->in_multi != MULTI_REFUSE)) {
        if ((gate = cmd_gate(s, c, cmd, r, queued)) == SERVE_GATE_WAIT) {
            c->ext_waiting = 1;
            return SERVE_CMD_WAIT;
        }
    }
    if (c->keys == NULL) /* not a KEYS going on */
        s->stats.commands++;
    long long started = serve_now_ns();
    size_t mark = serve_commit_mark(s);
    unsigned long long errors = c->out.errors;
    int outcome = CMD_RAN;
    if (!authed && !(cmd != NULL && (cmd->flags & SERVE_CMD_NO_AUTH))) {
        out_error(&c->out, "NOAUTH Authentication required.");
        outcome = CMD_REJECTED;
    } else if (gate == SERVE_GATE_ANSWERED) {
        /* redirected to the leader, or refused: a queued command's EXEC
         * answers EXECABORT; an EXEC drops its transaction (Redis
         * Cluster's processCommand) */
        if (cmd->in_multi == MULTI_EXEC)
            serve_multi_drop(s, c);
        else
            serve_multi_refuse(c);
        outcome = CMD_REJECTED;
    } else if (cmd == NULL) {
        cmd_unknown(c, r);
        serve_multi_refuse(c);
        outcome = CMD_NOT_COUNTED;
    } else if (!arity_ok && cmd->in_multi == MULTI_EXEC) {
        serve_exec_arity(s, c);
        outcome = CMD_REJECTED;
    } else if (!arity_ok) {
        out_error(&c->out, "ERR wrong number of arguments for '%s' command", cmd->name);
        serve_multi_refuse(c);
        outcome = CMD_REJECTED;
    } else if (cmd->write != NULL && cmd_hidden_key(s, cmd, r) > 0) {
        out_error(&c->out, "ERR key %zu of '%s' starts with this server's own prefix: no "
                  "client writes it", cmd_hidden_key(s, cmd, r), cmd->name);
        serve_multi_refuse(c);
        outcome = CMD_REJECTED;
    } else if (queued) {
        serve_multi_queue(c, cmd, r);
        outcome = CMD_NOT_COUNTED; /* counted when EXEC runs it */
    } else if (queuing && cmd->in_multi == MULTI_REFUSE) {
        out_error(&c->out, "ERR Command not allowed inside a transaction");
        serve_multi_refuse(c);
        outcome = CMD_REJECTED;
    } else if (cmd->run != NULL) {
        cmd->run(s, c, cmd, r);
    } else if (cmd->write != NULL) {
        cmd_gather(s, c, cmd->write, r);
    } else if (c->watch_txn != NULL && (cmd->flags & SERVE_CMD_READONLY)) {
        serve_watch_read(s, c, cmd, r); /* a read after WATCH: in its kv_txn */
    } else {
        serve_view v = {s->db, NULL, s->hidden_prefix, s->hidden_len, NULL};
        cmd->read(&v, &c->out, r);
    }
    if (outcome == CMD_NOT_COUNTED)
        return SERVE_CMD_DONE;
    serve_cmdstat *st = serve_stats_of(s, cmd, r);
    if (outcome == CMD_REJECTED) {
        if (st != NULL)
            st->rejected++;
        return SERVE_CMD_DONE;
    }
    long long spent = serve_now_ns() - started;
    if (c->keys != NULL) { /* a KEYS not done yet: its time so far */
        c->keys_ns += spent;
        return SERVE_CMD_DONE;
    }
    spent += c->keys_ns;
    c->keys_ns = 0;
    if (serve_commit_mark(s) > mark) /* answered once its batch is applied */
        serve_commit_stamp(s, mark, cmd, st, started, req_ptr(r, 0), req_len(r, 0));
    else
        serve_stats_ran_req(s, c, cmd, st, spent, c->out.errors > errors, r);
    return SERVE_CMD_DONE;
}
