/*
 * serve_cmd_table.c: the command table of `kv serve`, the one place a
 * command is found by its name (serve_cmd_find), and COMMAND, which
 * reports the table as Redis's COMMAND does.
 *
 * Commands are data.  A row is a command, or one of its subcommands
 * (CONFIG GET): its name and subcommand word, its arity, its flags as
 * bits, its key positions as numbers, what it does after MULTI, and its
 * handler: a `run`, a `read` from a view (serve_read_cmds.c) or a
 * `write` described by its effect (serve_write_cmds.c).  Every rule reads
 * a row, never a name: the arity check and AUTH's NO_AUTH
 * (serve_cmd_run.c), the keys of the gate, WATCH, redirects and the
 * hidden keys (serve_cmd_key, server.h), the counts of INFO commandstats
 * (one per row: "config|get", serve_stats.c), and COMMAND below.
 *
 * A command's subcommand rows come right after its own row.  A request
 * is the row of its subcommand when its word 1 is one of them (any
 * case), else its command's own; a request whose subcommand's row
 * refuses its number of words gets the command's own row's answer
 * (server.h, the `run` of serve_cmd).  CLUSTER's subcommands are an
 * extension's (serve_ext.h, serve_ext_cmd): serve_cmd_table_init puts
 * its rows after CLUSTER's own when the server starts with one; without
 * one CLUSTER has none.
 *
 * Invariants:
 *   T1. A row with a subcommand follows its command's row, or another
 *       subcommand's row of the same command; a command's own row has
 *       sub NULL, and no two command rows share a name.
 *   T2. The table does not change once built: its rows are what
 *       server.cmds points to until the server stops, and the counts of
 *       INFO commandstats are kept by a row's index in it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server.h"

static void command_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
static void command_count(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
static void command_docs(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
static void command_info(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);
static void command_list(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r);

#define R SERVE_CMD_READONLY
#define W SERVE_CMD_WRITE
#define F SERVE_CMD_FAST
#define A SERVE_CMD_ADMIN
#define U SERVE_CMD_NO_AUTH
#define D SERVE_CMD_DENYOOM
#define X SERVE_CMD_EXTENSION
#define Q MULTI_QUEUE
#define N MULTI_NOW
#define NO MULTI_REFUSE
/* The server's rows: {name, subcommand, arity, flags, first key, last
 * key, key step, after MULTI, run, read, write, extension's row}.  The
 * flags and the key positions are Redis's COMMAND's (a cluster client
 * finds a command's keys from them; RANGE's words are bounds, not keys).
 * After MULTI a command is queued (Q: its `read` or `write` runs it
 * inside EXEC), run at once (N), or refused (NO).  A subcommand's arity
 * counts every word, as Redis's does (CONFIG GET pattern: -3); where an
 * arity cannot say all (SLOWLOG GET [count]: 2 or 3 words; CONFIG SET's
 * pairs) the handler refuses the rest, with the command's own answer. */
static const serve_cmd table_rows[] = {
    {"ping", NULL, -1, F, 0, 0, 0, Q, NULL, serve_ping_read, NULL, NULL},
    {"echo", NULL, 2, F, 0, 0, 0, Q, NULL, serve_echo_read, NULL, NULL},
    {"get", NULL, 2, R | F, 1, 1, 1, Q, NULL, serve_get_read, NULL, NULL},
    {"set", NULL, -3, W | D, 1, 1, 1, Q, NULL, NULL, &serve_set_effect, NULL},
    {"del", NULL, -2, W, 1, -1, 1, Q, NULL, NULL, &serve_del_effect, NULL},
    {"exists", NULL, -2, R | F, 1, -1, 1, Q, NULL, serve_exists_read, NULL, NULL},
    {"mget", NULL, -2, R | F, 1, -1, 1, Q, NULL, serve_mget_read, NULL, NULL},
    {"mset", NULL, -3, W | D, 1, -1, 2, Q, NULL, NULL, &serve_mset_effect, NULL},
    {"type", NULL, 2, R | F, 1, 1, 1, Q, NULL, serve_type_read, NULL, NULL},
    {"strlen", NULL, 2, R | F, 1, 1, 1, Q, NULL, serve_strlen_read, NULL, NULL},
    {"range", NULL, 4, R, 0, 0, 0, Q, NULL, serve_range_read, NULL, NULL},
    {"scan", NULL, -2, R, 0, 0, 0, NO, serve_scan_cmd, NULL, NULL, NULL},
    {"keys", NULL, 2, R, 0, 0, 0, NO, serve_keys_cmd, NULL, NULL, NULL},
    {"info", NULL, -1, 0, 0, 0, 0, NO, serve_info_cmd, NULL, NULL, NULL},
    {"dbsize", NULL, 1, R | F, 0, 0, 0, NO, serve_dbsize_cmd, NULL, NULL, NULL},
    {"quit", NULL, -1, F | U, 0, 0, 0, N, serve_quit_cmd, NULL, NULL, NULL},
    {"command", NULL, -1, 0, 0, 0, 0, NO, command_cmd, NULL, NULL, NULL},
    {"command", "count", -2, 0, 0, 0, 0, NO, command_count, NULL, NULL, NULL},
    {"command", "docs", -2, 0, 0, 0, 0, NO, command_docs, NULL, NULL, NULL},
    {"command", "info", -2, 0, 0, 0, 0, NO, command_info, NULL, NULL, NULL},
    {"command", "list", -2, 0, 0, 0, 0, NO, command_list, NULL, NULL, NULL},
    {"config", NULL, -2, A, 0, 0, 0, NO, serve_config_cmd, NULL, NULL, NULL},
    {"config", "get", -3, A, 0, 0, 0, NO, serve_config_get, NULL, NULL, NULL},
    {"config", "set", -2, A, 0, 0, 0, NO, serve_config_set, NULL, NULL, NULL},
    {"config", "resetstat", 2, A, 0, 0, 0, NO, serve_config_resetstat, NULL, NULL, NULL},
    {"slowlog", NULL, -2, A, 0, 0, 0, NO, serve_slowlog_cmd, NULL, NULL, NULL},
    {"slowlog", "get", -2, A, 0, 0, 0, NO, serve_slowlog_get, NULL, NULL, NULL},
    {"slowlog", "len", 2, A, 0, 0, 0, NO, serve_slowlog_len, NULL, NULL, NULL},
    {"slowlog", "reset", 2, A, 0, 0, 0, NO, serve_slowlog_reset, NULL, NULL, NULL},
    {"slowlog", "help", 2, A, 0, 0, 0, NO, serve_slowlog_help, NULL, NULL, NULL},
    {"auth", NULL, -2, F | U | SERVE_CMD_SECRET, 0, 0, 0, NO, serve_auth_cmd, NULL, NULL, NULL},
    {"multi", NULL, 1, F, 0, 0, 0, N, serve_multi_cmd, NULL, NULL, NULL},
    {"exec", NULL, 1, SERVE_CMD_SKIP_SLOWLOG, 0, 0, 0, MULTI_EXEC, serve_exec_cmd, NULL, NULL,
     NULL},
    {"discard", NULL, 1, F, 0, 0, 0, N, serve_discard_cmd, NULL, NULL, NULL},
    {"watch", NULL, -2, F | SERVE_CMD_WATCHES, 1, -1, 1, N, serve_watch_cmd, NULL, NULL, NULL},
    {"unwatch", NULL, 1, F, 0, 0, 0, Q, serve_unwatch_cmd, serve_unwatch_read, NULL, NULL},
    {"cluster", NULL, -2, X, 0, 0, 0, NO, serve_cluster_cmd, NULL, NULL, NULL},
    {"readonly", NULL, 1, F, 0, 0, 0, NO, serve_readonly_cmd, NULL, NULL, NULL},
    {"readwrite", NULL, 1, F, 0, 0, 0, NO, serve_readwrite_cmd, NULL, NULL, NULL},
    {"reset", NULL, 1, F | U, 0, 0, 0, N, serve_reset_cmd, NULL, NULL, NULL},
};
#undef R
#undef W
#undef F
#undef A
#undef U
#undef D
#undef X
#undef Q
#undef N
#undef NO

int serve_cmd_table_init(server *s)
{
    const serve_ext_cmd *ext = s->ext != NULL ? s->ext->cluster_cmds : NULL;
    size_t nown = sizeof table_rows / sizeof table_rows[0], next = 0;
    while (ext != NULL && ext[next].sub != NULL)
        next++;
    serve_cmd *t = malloc((nown + next) * sizeof *t);
    if (t == NULL)
        return KV_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < nown; i++) {
        t[n++] = table_rows[i];
        if (!(table_rows[i].flags & SERVE_CMD_EXTENSION) || next == 0)
            continue;
        /* The extension's subcommands of CLUSTER, after its own row (T1;
         * CLUSTER is the one row flagged EXTENSION): run by the server's
         * serve_cluster_sub_cmd, which hands them to the extension. */
        for (size_t k = 0; k < next; k++) {
            const serve_ext_cmd *e = &ext[k];
            t[n++] = (serve_cmd){table_rows[i].name, e->sub, e->arity,
                                 e->flags | SERVE_CMD_EXTENSION, 0, 0, 0, MULTI_REFUSE,
                                 serve_cluster_sub_cmd, NULL, NULL, e};
        }
        next = 0;
    }
    s->cmds = t;
    s->ncmds = n;
    return KV_OK;
}

void serve_cmd_table_free(server *s)
{
    free((serve_cmd *)s->cmds);
    s->cmds = NULL;
    s->ncmds = 0;
}

/* 1 if the n bytes at w, any case, are `name`. */
static int table_word_is(const char *w, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(w, name, n) == 0;
}

/* The command's own row named by the n bytes at w, or NULL. */
static const serve_cmd *table_command(const server *s, const char *w, size_t n)
{
    for (size_t k = 0; k < s->ncmds; k++)
        if (s->cmds[k].sub == NULL && table_word_is(w, n, s->cmds[k].name))
            return &s->cmds[k];
    return NULL;
}

/* The row of cmd's subcommand named by the n bytes at w, or NULL. */
static const serve_cmd *table_sub(const server *s, const serve_cmd *cmd, const char *w,
                                  size_t n)
{
    for (const serve_cmd *sub = cmd + 1; sub < s->cmds + s->ncmds && sub->sub != NULL; sub++)
        if (table_word_is(w, n, sub->sub))
            return sub;
    return NULL;
}

const serve_cmd *serve_cmd_find(const server *s, const serve_req *r)
{
    if (r->argc == 0)
        return NULL;
    const serve_cmd *cmd = table_command(s, req_ptr(r, 0), req_len(r, 0));
    const serve_cmd *sub = cmd != NULL && r->argc > 1
                               ? table_sub(s, cmd, req_ptr(r, 1), req_len(r, 1))
                               : NULL;
    return sub != NULL ? sub : cmd;
}

serve_cmd_info serve_cmd_info_of(const serve_cmd *cmd)
{
    serve_cmd_info i = {cmd->name, cmd->sub, cmd->arity, cmd->flags, cmd->first_key,
                        cmd->last_key, cmd->key_step, cmd->ext != NULL ? cmd->ext->kind : 0};
    return i;
}

/* ---- COMMAND: the table, as Redis's COMMAND says it ---- */

/* One COMMAND entry: name ("config|get" for a subcommand, as Redis 7
 * names it), arity, flags, first key, last key, key step, as the row
 * says them (a cluster client finds a command's keys this way).  The
 * flags named are Redis's; the server's own (SKIP_SLOWLOG, SECRET,
 * EXTENSION, WATCHES) are not reported. */
static void command_entry(serve_client *c, const serve_cmd *cmd)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{SERVE_CMD_WRITE, "write"},     {SERVE_CMD_READONLY, "readonly"},
                 {SERVE_CMD_DENYOOM, "denyoom"}, {SERVE_CMD_ADMIN, "admin"},
                 {SERVE_CMD_FAST, "fast"},       {SERVE_CMD_NO_AUTH, "no_auth"}};
    char name[80];
    snprintf(name, sizeof name, "%s%s%s", cmd->name, cmd->sub != NULL ? "|" : "",
             cmd->sub != NULL ? cmd->sub : "");
    out_array(&c->out, 6);
    out_bulk_str(&c->out, name);
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

/* How many commands the table has (their own rows: a subcommand is not
 * one, as Redis's COMMAND COUNT counts). */
static size_t command_n(const server *s)
{
    size_t n = 0;
    for (size_t k = 0; k < s->ncmds; k++)
        n += s->cmds[k].sub == NULL;
    return n;
}

/* COMMAND: every command's entry.  And COMMAND's answer to a subcommand
 * it does not have. */
static void command_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    if (r->argc > 1) {
        out_error(&c->out, "ERR unknown subcommand of COMMAND (try COUNT, DOCS, INFO, LIST)");
        return;
    }
    out_array(&c->out, command_n(s));
    for (size_t k = 0; k < s->ncmds; k++)
        if (s->cmds[k].sub == NULL)
            command_entry(c, &s->cmds[k]);
}

static void command_count(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd, (void)r;
    out_int(&c->out, (long long)command_n(s));
}

/* COMMAND DOCS: an empty answer (redis-cli then uses its own help text). */
static void command_docs(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)s, (void)cmd, (void)r;
    out_array(&c->out, 0);
}

static void command_list(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd, (void)r;
    out_array(&c->out, command_n(s));
    for (size_t k = 0; k < s->ncmds; k++)
        if (s->cmds[k].sub == NULL)
            out_bulk_str(&c->out, s->cmds[k].name);
}

/* COMMAND INFO name...: each name's entry, or nil; "name|sub" names a
 * subcommand's row, as in Redis 7. */
static void command_info(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    out_array(&c->out, r->argc - 2);
    for (size_t i = 2; i < r->argc; i++) {
        const char *w = req_ptr(r, i), *bar = memchr(w, '|', req_len(r, i));
        size_t n = bar != NULL ? (size_t)(bar - w) : req_len(r, i);
        const serve_cmd *found = table_command(s, w, n);
        if (found != NULL && bar != NULL)
            found = table_sub(s, found, bar + 1, req_len(r, i) - n - 1);
        if (found != NULL)
            command_entry(c, found);
        else
            out_nil(&c->out);
    }
}
