/*
 * serve_slowlog.c: the slow log and SLOWLOG, as Redis has them.
 *
 * A command that took slowlog-log-slower-than microseconds or more
 * (default 10000; 0 logs every command, a negative value none) is kept,
 * newest first, up to slowlog-max-len entries (default 128; the oldest
 * goes).  What a command's time is: serve_stats.h.  An entry is what
 * Redis's is:
 *
 *   1) id          (integer, from 0, one more each entry, also across RESET)
 *   2) timestamp   (integer, Unix seconds, when it was logged)
 *   3) duration    (integer, microseconds)
 *   4) arguments   (array: at most 32 words, the 32nd then "... (N more
 *                   arguments)"; a word past 128 bytes cut to 128 and
 *                   "... (N more bytes)" added)
 *   5) client      ("ip:port")
 *   6) name        ("": there is no CLIENT SETNAME)
 *
 *   SLOWLOG GET [count]   the newest `count` entries (default 10, -1 all)
 *   SLOWLOG LEN           how many are kept
 *   SLOWLOG RESET         forgets them
 *   SLOWLOG HELP          the text below
 *
 * each a row of the command table (serve_cmd_table.c), which checks their
 * words' count, but for SLOWLOG GET's 2 or 3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve_stats.h"
#include "server.h"

struct serve_slowentry {
    unsigned long long id;
    long long when, us;
    size_t argc;
    serve_arg *argv;      /* argc words, in the bytes after them */
    char addr[64];
};

/* Entry i, 0 the newest. */
static serve_slowentry *slowlog_at(const serve_obs *o, size_t i)
{
    return o->slow[(o->slow_head + o->slow_cap - 1 - i) % o->slow_cap];
}

void serve_slowlog_free(server *s)
{
    serve_obs *o = &s->obs;
    for (size_t i = 0; i < o->slow_n; i++)
        free(slowlog_at(o, i));
    free(o->slow);
    o->slow = NULL;
    o->slow_cap = o->slow_n = o->slow_head = 0;
}

/* The ring again with room for max entries, the newest kept. */
static int slowlog_resize(serve_obs *o, size_t max)
{
    serve_slowentry **ring = NULL;
    if (max > 0 && (ring = calloc(max, sizeof *ring)) == NULL)
        return -1;
    size_t keep = o->slow_n < max ? o->slow_n : max;
    for (size_t i = 0; i < o->slow_n; i++) {
        serve_slowentry *e = slowlog_at(o, i);
        if (i < keep)
            ring[keep - 1 - i] = e;
        else
            free(e);
    }
    free(o->slow);
    o->slow = ring;
    o->slow_cap = max;
    o->slow_n = keep;
    o->slow_head = max > 0 ? keep % max : 0;
    return 0;
}

int serve_slowlog_set_max(server *s, size_t max)
{
    serve_obs *o = &s->obs;
    if (o->slow != NULL && slowlog_resize(o, max) != 0)
        return -1;
    o->slowlog_max_len = max;
    return 0;
}

/* The words an entry keeps (the Redis rules above) into a new entry; NULL
 * when out of memory. */
static serve_slowentry *slowlog_entry(const serve_arg *args, size_t nargs, size_t argc)
{
    size_t keep = argc <= SERVE_SLOWLOG_MAX_ARGS ? argc : SERVE_SLOWLOG_MAX_ARGS;
    if (keep > nargs + (argc > SERVE_SLOWLOG_MAX_ARGS))
        keep = nargs;
    char more[64];
    size_t bytes = 0;
    for (size_t i = 0; i < keep; i++)
        bytes += (i == SERVE_SLOWLOG_MAX_ARGS - 1 && argc > SERVE_SLOWLOG_MAX_ARGS ? sizeof more
                  : args[i].n > SERVE_SLOWLOG_MAX_BYTES ? SERVE_SLOWLOG_MAX_BYTES + sizeof more
                                                        : args[i].n) + 1;
    serve_slowentry *e = malloc(sizeof *e + keep * sizeof(serve_arg) + bytes + sizeof more);
    if (e == NULL)
        return NULL;
    e->argv = (serve_arg *)(e + 1);
    char *at = (char *)(e->argv + keep);
    for (size_t i = 0; i < keep; i++) {
        size_t n;
        if (i == SERVE_SLOWLOG_MAX_ARGS - 1 && argc > SERVE_SLOWLOG_MAX_ARGS) {
            n = (size_t)snprintf(at, sizeof more, "... (%zu more arguments)",
                                 argc - SERVE_SLOWLOG_MAX_ARGS + 1);
        } else if (args[i].n > SERVE_SLOWLOG_MAX_BYTES) {
            memcpy(at, args[i].p, SERVE_SLOWLOG_MAX_BYTES);
            n = SERVE_SLOWLOG_MAX_BYTES +
                (size_t)snprintf(at + SERVE_SLOWLOG_MAX_BYTES, sizeof more,
                                 "... (%zu more bytes)", args[i].n - SERVE_SLOWLOG_MAX_BYTES);
        } else {
            memcpy(at, args[i].p, args[i].n);
            n = args[i].n;
        }
        e->argv[i] = (serve_arg){at, n};
        at += n + 1;
    }
    e->argc = keep;
    return e;
}

void serve_slowlog_add(server *s, const serve_client *c, long long us, const serve_arg *args,
                       size_t nargs, size_t argc)
{
    serve_obs *o = &s->obs;
    if (o->slowlog_max_len == 0 || argc == 0)
        return;
    if (o->slow == NULL && slowlog_resize(o, o->slowlog_max_len) != 0)
        return;
    serve_slowentry *e = slowlog_entry(args, nargs, argc);
    if (e == NULL)
        return;
    e->id = o->slow_next_id++;
    e->when = (long long)time(NULL);
    e->us = us;
    snprintf(e->addr, sizeof e->addr, "%s", c != NULL ? c->addr : "");
    if (o->slow_n == o->slow_cap) {
        free(o->slow[o->slow_head]); /* the oldest */
        o->slow_n--;
    }
    o->slow[o->slow_head] = e;
    o->slow_head = (o->slow_head + 1) % o->slow_cap;
    o->slow_n++;
}

static const char *const slowlog_help[] = {
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
};

/* SLOWLOG GET's count: 0 and *n set, or -1 after answering the error. */
static int slowlog_count(serve_client *c, const serve_req *r, size_t *n)
{
    *n = 10;
    if (r->argc < 3)
        return 0;
    char num[24];
    size_t len = req_len(r, 2);
    long long v = -2;
    if (len > 0 && len < sizeof num) {
        memcpy(num, req_ptr(r, 2), len);
        num[len] = '\0';
        char *end;
        v = strtoll(num, &end, 10);
        if (*end != '\0')
            v = -2;
    }
    if (v < -1) {
        out_error(&c->out, "ERR count should be greater than or equal to -1");
        return -1;
    }
    *n = v == -1 ? (size_t)-1 : (size_t)v;
    return 0;
}

/* SLOWLOG's own row: a subcommand it does not have; or the one its
 * word 1 names (cmd's), with too many or too few words: Redis's two
 * answers. */
void serve_slowlog_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)s;
    if (cmd->sub != NULL) {
        char sub[16];
        snprintf(sub, sizeof sub, "%.*s", (int)req_len(r, 1), req_ptr(r, 1));
        out_error(&c->out, "ERR unknown subcommand or wrong number of arguments for '%s'. Try "
                           "SLOWLOG HELP.", sub);
    } else {
        char sub[80] = "";
        size_t n = req_len(r, 1) < 64 ? req_len(r, 1) : 64;
        for (size_t i = 0; i < n; i++) {
            char ch = req_ptr(r, 1)[i];
            sub[i] = ch >= 32 && ch < 127 && ch != '\'' ? ch : '?';
        }
        out_error(&c->out, "ERR unknown subcommand '%s'. Try SLOWLOG HELP.", sub);
    }
}

void serve_slowlog_help(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)s, (void)cmd, (void)r;
    size_t n = sizeof slowlog_help / sizeof slowlog_help[0];
    out_array(&c->out, n);
    for (size_t i = 0; i < n; i++)
        out_simple(&c->out, slowlog_help[i]);
}

void serve_slowlog_len(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd, (void)r;
    out_int(&c->out, (long long)s->obs.slow_n);
}

void serve_slowlog_reset(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd, (void)r;
    serve_slowlog_free(s);
    out_simple(&c->out, "OK");
}

/* SLOWLOG GET [count]: 2 or 3 words, which its row's arity (-2) cannot
 * say; more get SLOWLOG's own answer, as in Redis. */
void serve_slowlog_get(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    serve_obs *o = &s->obs;
    size_t n;
    if (r->argc > 3) {
        serve_slowlog_cmd(s, c, cmd, r);
        return;
    }
    if (slowlog_count(c, r, &n) != 0)
        return;
    if (n > o->slow_n)
        n = o->slow_n;
    out_array(&c->out, n);
    for (size_t i = 0; i < n; i++) {
        const serve_slowentry *e = slowlog_at(o, i);
        out_array(&c->out, 6);
        out_int(&c->out, (long long)e->id);
        out_int(&c->out, e->when);
        out_int(&c->out, e->us);
        out_array(&c->out, e->argc);
        for (size_t k = 0; k < e->argc; k++)
            out_bulk(&c->out, e->argv[k].p, e->argv[k].n);
        out_bulk_str(&c->out, e->addr);
        out_bulk_str(&c->out, "");
    }
}
