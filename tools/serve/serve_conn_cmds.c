/*
 * serve_conn_cmds.c: the commands about the connection, not the data:
 * QUIT, AUTH (with --requirepass), and READONLY, READWRITE and CLUSTER,
 * which a later stage's extension gives a meaning (serve_ext.h).  The
 * command table names them as rows' `run` (serve_cmd_table.c).
 *
 * Without an extension, CLUSTER, READONLY and READWRITE answer what Redis
 * answers without cluster support.  With one, READONLY and READWRITE set
 * the client's flag (a replica may answer its reads, possibly stale, as
 * the gate decides), and CLUSTER's subcommands are the extension's rows
 * of the table (serve_ext_cmd), each run by serve_cluster_sub_cmd; a
 * CLUSTER none of them takes gets the extension's own answer.
 *
 * Rules:
 *   - AUTH compares the password without stopping at the first
 *     difference, so its time says nothing of where they differ; its
 *     words are never logged (SERVE_CMD_SECRET in its row).
 *   - Which commands run before AUTH is the table's (SERVE_CMD_NO_AUTH),
 *     not this file's.
 */
#include <stdio.h>

#include "server.h"

void serve_quit_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)s, (void)cmd, (void)r;
    out_simple(&c->out, "OK");
    c->closing = 1;
}

/* Compares without stopping at the first difference (no timing hint). */
static int conn_same_secret(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = alen != blen;
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (blen ? blen : 1)]);
    return diff == 0 && blen > 0;
}

/* AUTH password, or AUTH default password (the Redis 6 form). */
void serve_auth_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
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
             conn_same_secret(req_ptr(r, p), req_len(r, p), s->cfg.password, s->cfg.passlen);
    if (ok) {
        c->authed = 1;
        out_simple(&c->out, "OK");
    } else {
        out_error(&c->out, "WRONGPASS invalid username-password pair or user is disabled.");
    }
}

/* CLUSTER, READONLY and READWRITE without an extension: what Redis
 * answers without cluster support. */
static int conn_no_cluster(const server *s, serve_client *c)
{
    if (s->ext == NULL)
        out_error(&c->out, "ERR This instance has cluster support disabled");
    return s->ext == NULL;
}

/* CLUSTER's own row: without an extension, every CLUSTER; with one, a
 * CLUSTER none of the extension's rows takes (its answer says which). */
void serve_cluster_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    if (!conn_no_cluster(s, c))
        s->ext->cluster(s->ext_state, c->id, r, &c->out);
}

/* A subcommand of CLUSTER, one of the extension's rows (the table has
 * them only with an extension): its run.  A row without one is answered
 * by the gate, which never lets it run: if it ever did, the extension's
 * answer to a CLUSTER it does not take. */
void serve_cluster_sub_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    if (cmd->ext->run != NULL)
        cmd->ext->run(s->ext_state, c->id, r, &c->out);
    else
        s->ext->cluster(s->ext_state, c->id, r, &c->out);
}

void serve_readonly_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd, (void)r;
    if (!conn_no_cluster(s, c)) {
        c->readonly = 1;
        out_simple(&c->out, "OK");
    }
}

void serve_readwrite_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd, (void)r;
    if (!conn_no_cluster(s, c)) {
        c->readonly = 0;
        out_simple(&c->out, "OK");
    }
}
