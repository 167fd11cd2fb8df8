/*
 * serve_cmd.c: the command table of `kv serve`, and the commands that map
 * straight onto kv.h: PING, ECHO, GET, SET, DEL, EXISTS, MGET, MSET, TYPE,
 * STRLEN, QUIT, AUTH.  SCAN is in serve_scan.c, KEYS in serve_keys.c;
 * INFO, DBSIZE, CONFIG and COMMAND in serve_info.c.
 *
 * Reads (GET, EXISTS, MGET) call kv_get on the loop thread and answer at
 * once.  Writes (SET, MSET, DEL) are added to the batch being gathered
 * (serve_commit.c) and answered when it has been applied.  To keep each
 * client's replies in order (server.h, invariant 1), a client with writes
 * still unapplied may run another write only if it will not answer at once
 * (its arguments are valid and its limits allow); anything else waits.
 *
 * Keys out of kv.h's range (empty, or longer than KV_MAX_KEY) are refused
 * by writes; reads treat them as absent, since no such key can exist.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server.h"

/* 1 if argument i of r, any case, is `name`. */
int serve_cmd_is(const serve_req *r, size_t i, const char *name)
{
    size_t n = strlen(name);
    return req_len(r, i) == n && strncasecmp(req_ptr(r, i), name, n) == 0;
}

static int cmd_key_ok(size_t klen)
{
    return klen >= 1 && klen <= KV_MAX_KEY;
}

static void cmd_kv_error(serve_client *c, int rc)
{
    out_error(&c->out, "ERR %s: %s", kv_strerror(rc), kv_errmsg());
}

/* Closes a client whose write could not be gathered (out of memory). */
static void cmd_nomem(serve_client *c)
{
    serve_log("client %s: out of memory gathering a write; closing", c->addr);
    c->closing = 1;
    c->eof = 1;
}

static void cmd_ping(server *s, serve_client *c, const serve_req *r)
{
    (void)s;
    if (r->argc == 1)
        out_simple(&c->out, "PONG");
    else if (r->argc == 2)
        out_bulk(&c->out, req_ptr(r, 1), req_len(r, 1));
    else
        out_error(&c->out, "ERR wrong number of arguments for 'ping' command");
}

static void cmd_echo(server *s, serve_client *c, const serve_req *r)
{
    (void)s;
    out_bulk(&c->out, req_ptr(r, 1), req_len(r, 1));
}

/* Appends the value of argument i as a bulk string, or nil. */
static void cmd_get_one(server *s, serve_client *c, const serve_req *r, size_t i)
{
    if (!cmd_key_ok(req_len(r, i))) {
        out_nil(&c->out);
        return;
    }
    void *val;
    size_t vlen;
    int rc = kv_get(s->db, req_ptr(r, i), req_len(r, i), &val, &vlen);
    if (rc == KV_OK) {
        out_bulk(&c->out, val, vlen);
        kv_free(val);
    } else if (rc == KV_NOT_FOUND) {
        out_nil(&c->out);
    } else {
        cmd_kv_error(c, rc);
    }
}

static void cmd_get(server *s, serve_client *c, const serve_req *r)
{
    cmd_get_one(s, c, r, 1);
}

static void cmd_mget(server *s, serve_client *c, const serve_req *r)
{
    size_t mark = c->out.len;
    out_array(&c->out, r->argc - 1);
    for (size_t i = 1; i < r->argc; i++) {
        cmd_get_one(s, c, r, i);
        if (c->out.len - mark > SERVE_MAX_REPLY) {
            out_truncate(&c->out, mark);
            out_error(&c->out, "ERR reply larger than %u bytes", SERVE_MAX_REPLY);
            return;
        }
    }
}

static void cmd_exists(server *s, serve_client *c, const serve_req *r)
{
    long long n = 0;
    for (size_t i = 1; i < r->argc; i++) {
        if (!cmd_key_ok(req_len(r, i)))
            continue;
        void *val;
        size_t vlen;
        int rc = kv_get(s->db, req_ptr(r, i), req_len(r, i), &val, &vlen);
        if (rc == KV_OK) {
            kv_free(val);
            n++;
        } else if (rc != KV_NOT_FOUND) {
            cmd_kv_error(c, rc);
            return;
        }
    }
    out_int(&c->out, n);
}

/* TYPE key: "string" if it exists (the only type there is), else "none". */
static void cmd_type(server *s, serve_client *c, const serve_req *r)
{
    void *val;
    size_t vlen;
    int rc = cmd_key_ok(req_len(r, 1)) ? kv_get(s->db, req_ptr(r, 1), req_len(r, 1), &val, &vlen)
                                       : KV_NOT_FOUND;
    if (rc == KV_OK) {
        kv_free(val);
        out_simple(&c->out, "string");
    } else if (rc == KV_NOT_FOUND) {
        out_simple(&c->out, "none");
    } else {
        cmd_kv_error(c, rc);
    }
}

/* STRLEN key: the value's length in bytes, 0 if there is none. */
static void cmd_strlen(server *s, serve_client *c, const serve_req *r)
{
    void *val;
    size_t vlen;
    int rc = cmd_key_ok(req_len(r, 1)) ? kv_get(s->db, req_ptr(r, 1), req_len(r, 1), &val, &vlen)
                                       : KV_NOT_FOUND;
    if (rc == KV_OK) {
        kv_free(val);
        out_int(&c->out, (long long)vlen);
    } else if (rc == KV_NOT_FOUND) {
        out_int(&c->out, 0);
    } else {
        cmd_kv_error(c, rc);
    }
}

static int check_set(const serve_req *r)
{
    return r->argc == 3 && cmd_key_ok(req_len(r, 1));
}

static void cmd_set(server *s, serve_client *c, const serve_req *r)
{
    if (r->argc != 3) {
        out_error(&c->out, "ERR only SET key value is supported (no options)");
        return;
    }
    if (!cmd_key_ok(req_len(r, 1))) {
        out_error(&c->out, "ERR key must be 1 to %u bytes", KV_MAX_KEY);
        return;
    }
    if (serve_commit_put(s, c, req_ptr(r, 1), req_len(r, 1), req_ptr(r, 2), req_len(r, 2), 1) != 0)
        cmd_nomem(c);
}

static int check_mset(const serve_req *r)
{
    if (r->argc % 2 != 1)
        return 0;
    for (size_t i = 1; i < r->argc; i += 2)
        if (!cmd_key_ok(req_len(r, i)))
            return 0;
    return 1;
}

/* MSET: every pair in one batch, so all or none is applied. */
static void cmd_mset(server *s, serve_client *c, const serve_req *r)
{
    if (r->argc % 2 != 1) {
        out_error(&c->out, "ERR wrong number of arguments for 'mset' command");
        return;
    }
    if (!check_mset(r)) {
        out_error(&c->out, "ERR key must be 1 to %u bytes", KV_MAX_KEY);
        return;
    }
    size_t mark = serve_commit_mark(s);
    for (size_t i = 1; i < r->argc; i += 2) {
        int last = i + 2 >= r->argc;
        if (serve_commit_put(s, c, req_ptr(r, i), req_len(r, i), req_ptr(r, i + 1),
                             req_len(r, i + 1), last) != 0) {
            serve_commit_undo(s, mark);
            cmd_nomem(c);
            return;
        }
    }
}

static int check_del(const serve_req *r)
{
    for (size_t i = 1; i < r->argc; i++)
        if (!cmd_key_ok(req_len(r, i)))
            return 0;
    return 1;
}

/* DEL: answered with how many of the keys existed (counted as applied). */
static void cmd_del(server *s, serve_client *c, const serve_req *r)
{
    if (!check_del(r)) {
        out_error(&c->out, "ERR key must be 1 to %u bytes", KV_MAX_KEY);
        return;
    }
    size_t mark = serve_commit_mark(s);
    for (size_t i = 1; i < r->argc; i++) {
        if (serve_commit_del(s, c, req_ptr(r, i), req_len(r, i), mark, i + 1 == r->argc) != 0) {
            serve_commit_undo(s, mark);
            cmd_nomem(c);
            return;
        }
    }
}

static void cmd_quit(server *s, serve_client *c, const serve_req *r)
{
    (void)s, (void)r;
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
static void cmd_auth(server *s, serve_client *c, const serve_req *r)
{
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

static const serve_cmd serve_cmds[] = {
    {"ping", -1, 0, "fast", cmd_ping, NULL},
    {"echo", 2, 0, "fast", cmd_echo, NULL},
    {"get", 2, 0, "readonly fast", cmd_get, NULL},
    {"set", -3, 1, "write denyoom", cmd_set, check_set},
    {"del", -2, 1, "write", cmd_del, check_del},
    {"exists", -2, 0, "readonly fast", cmd_exists, NULL},
    {"mget", -2, 0, "readonly fast", cmd_mget, NULL},
    {"mset", -3, 1, "write denyoom", cmd_mset, check_mset},
    {"type", 2, 0, "readonly fast", cmd_type, NULL},
    {"strlen", 2, 0, "readonly fast", cmd_strlen, NULL},
    {"scan", -2, 0, "readonly", serve_scan_cmd, NULL},
    {"keys", 2, 0, "readonly", serve_keys_cmd, NULL},
    {"info", -1, 0, "loading stale", serve_info_cmd, NULL},
    {"dbsize", 1, 0, "readonly fast", serve_dbsize_cmd, NULL},
    {"quit", -1, 0, "fast", cmd_quit, NULL},
    {"command", -1, 0, "loading stale", serve_command_cmd, NULL},
    {"config", -2, 0, "admin loading stale", serve_config_cmd, NULL},
    {"auth", -2, 0, "noscript loading stale fast no_auth", cmd_auth, NULL},
};

const serve_cmd *serve_cmd_table(size_t *n)
{
    *n = sizeof serve_cmds / sizeof serve_cmds[0];
    return serve_cmds;
}

static const serve_cmd *cmd_lookup(const serve_req *r)
{
    for (size_t i = 0; i < sizeof serve_cmds / sizeof serve_cmds[0]; i++)
        if (serve_cmd_is(r, 0, serve_cmds[i].name))
            return &serve_cmds[i];
    return NULL;
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

int serve_cmd_run(server *s, serve_client *c, const serve_req *r)
{
    if (r->argc == 0)
        return SERVE_CMD_DONE;
    const serve_cmd *cmd = cmd_lookup(r);
    int arity_ok = cmd != NULL && (cmd->arity > 0 ? r->argc == (size_t)cmd->arity
                                                  : r->argc >= (size_t)-cmd->arity);
    if (c->pending_ops > 0 &&
        !(arity_ok && cmd->write && cmd->check(r) && serve_commit_has_room(c)))
        return SERVE_CMD_WAIT;
    if (c->keys == NULL) /* not a KEYS going on */
        s->stats.commands++;
    if (s->cfg.password != NULL && !c->authed &&
        !(cmd != NULL && (cmd->run == cmd_auth || cmd->run == cmd_quit))) {
        out_error(&c->out, "NOAUTH Authentication required.");
    } else if (cmd == NULL) {
        cmd_unknown(c, r);
    } else if (!arity_ok) {
        out_error(&c->out, "ERR wrong number of arguments for '%s' command", cmd->name);
    } else {
        cmd->run(s, c, r);
    }
    return SERVE_CMD_DONE;
}
