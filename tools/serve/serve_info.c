/*
 * serve_info.c: the commands that describe the server rather than the data:
 * INFO, DBSIZE and COMMAND (CONFIG is serve_config.c).
 *
 * INFO's sections, as Redis lays them out ("# Name" then "field:value"
 * lines, CRLF-separated, in one bulk string):
 *   Server       redis_version (the protocol level clients may rely on;
 *                kvstages answers as Redis 7.0 would for these commands),
 *                kv_stage, process_id, tcp_port, uptime_in_seconds
 *   Clients      connected_clients, maxclients
 *   Stats        connections, commands, write batches applied and their sizes,
 *                EXECs (applied, answered null, aborted) and their kv_txn commits
 *   Persistence  kv_sync (1 with --sync)
 *   Engine       every "name: value" line of the stage's kv_stats
 *   Commandstats per command: calls, time, rejected and failed calls
 *   Errorstats   per error code: how many were sent
 *   Latencystats per command: the latency-tracking-info-percentiles
 *   Keyspace     db0:keys=N
 * (the three *stats sections: serve_stats.c).  `INFO name` gives one
 * section (any case), `INFO all` and `INFO everything` every section;
 * `INFO` and `INFO default` all but Commandstats and Latencystats, as in
 * Redis.
 *
 * DBSIZE and Keyspace count keys with the stage's `live.keys` statistic
 * when it has one (stage 02 on), else by iterating (stage 01).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

/* Number of keys: kv_stats' live.keys, or an iteration.  Status. */
static int info_count_all_keys(server *s, unsigned long long *n)
{
    char *text;
    int rc = kv_stats(s->db, &text);
    if (rc != KV_OK)
        return rc;
    const char *at = strstr(text, "\nlive.keys: ");
    if (at != NULL) {
        *n = strtoull(at + strlen("\nlive.keys: "), NULL, 10);
        kv_free(text);
        return KV_OK;
    }
    kv_free(text);
    kv_iter *it;
    if ((rc = kv_iter_new(s->db, &it)) != KV_OK)
        return rc;
    unsigned long long count = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it))
        count++;
    rc = kv_iter_status(it);
    kv_iter_free(it);
    *n = count;
    return rc;
}

/* How many of the server's own keys (server.h) the engine holds. */
static int info_own_keys(server *s, unsigned long long *n)
{
    *n = 0;
    if (s->hidden_prefix == NULL)
        return KV_OK;
    kv_iter *it;
    int rc = kv_iter_new(s->db, &it);
    if (rc != KV_OK)
        return rc;
    for (kv_iter_seek(it, s->hidden_prefix, s->hidden_len); kv_iter_valid(it);
         kv_iter_next(it)) {
        size_t klen;
        const void *key = kv_iter_key(it, &klen);
        if (klen < s->hidden_len || memcmp(key, s->hidden_prefix, s->hidden_len) != 0)
            break;
        ++*n;
    }
    rc = kv_iter_status(it);
    kv_iter_free(it);
    return rc;
}

/* Number of keys: kv_stats' live.keys, or an iteration, less the
 * server's own.  Status. */
static int info_count_keys(server *s, unsigned long long *n)
{
    unsigned long long own;
    int rc = info_own_keys(s, &own);
    if (rc != KV_OK)
        return rc;
    rc = info_count_all_keys(s, n);
    *n = *n >= own ? *n - own : 0;
    return rc;
}

void serve_dbsize_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    (void)r;
    unsigned long long n;
    int rc = info_count_keys(s, &n);
    if (rc != KV_OK)
        out_error(&c->out, "ERR %s: %s", kv_strerror(rc), kv_errmsg());
    else
        out_int(&c->out, (long long)n);
}

/* Appends printf output to a growing text; the text is NULL after a failure. */
static void info_add(serve_out *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void info_add(serve_out *t, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        out_bytes(t, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* 1 if section `name` is asked for by the arguments; a section not in
 * the default set (in_default 0) only by its name, "all" or "everything". */
static int info_wants_section(const serve_req *r, const char *name, int in_default)
{
    if (r->argc < 2)
        return in_default;
    for (size_t i = 1; i < r->argc; i++)
        if (serve_cmd_is(r, i, name) || serve_cmd_is(r, i, "all") ||
            serve_cmd_is(r, i, "everything") || (in_default && serve_cmd_is(r, i, "default")))
            return 1;
    return 0;
}

static int info_wants(const serve_req *r, const char *name)
{
    return info_wants_section(r, name, 1);
}

/* The stage's kv_stats lines, "name: value" -> "name:value". */
static int info_engine(server *s, serve_out *t)
{
    char *text;
    int rc = kv_stats(s->db, &text);
    if (rc != KV_OK)
        return rc;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        const char *value = colon + 1;
        while (*value == ' ')
            value++;
        info_add(t, "%s:%s\r\n", line, value);
    }
    kv_free(text);
    return KV_OK;
}

/* An extension's figure as an INFO line. */
static void info_figure(void *ctx, const serve_figure *f)
{
    if (f->label_value != NULL)
        info_add(ctx, "%s_%s:%.15g\r\n", f->name, f->label_value, f->value);
    else
        info_add(ctx, "%s:%.15g\r\n", f->name, f->value);
}

void serve_info_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    serve_out t = {0};
    int rc = KV_OK;
    if (info_wants(r, "server"))
        info_add(&t, "# Server\r\nredis_version:7.0.0\r\nkv_stage:%s\r\nprocess_id:%ld\r\n"
                     "tcp_port:%d\r\nuptime_in_seconds:%lld\r\n\r\n",
                 kv_stage(), (long)getpid(), s->port, (long long)(time(NULL) - s->started));
    if (info_wants(r, "clients"))
        info_add(&t, "# Clients\r\nconnected_clients:%zu\r\nmaxclients:%zu\r\n"
                     "open_files_limit:%llu\r\nengine_open_files:%zu\r\nmax_open_files:%d\r\n\r\n",
                 s->nclients, s->cfg.maxclients, s->cfg.nofile, s->cfg.engine_files,
                 s->cfg.max_open_files > 0 ? s->cfg.max_open_files : (int)SERVE_TABLE_FILES);
    if (info_wants(r, "stats")) {
        const serve_stats *st = &s->stats;
        info_add(&t, "# Stats\r\ntotal_connections_received:%llu\r\nrejected_connections:%llu\r\n"
                     "total_commands_processed:%llu\r\ntotal_error_replies:%llu\r\n"
                     "protocol_errors:%llu\r\n"
                     "write_batches:%llu\r\nwrite_batch_ops:%llu\r\nwrite_ops_per_batch:%.2f\r\n"
                     "largest_write_batch:%llu\r\nwrite_batches_in_flight_max:%llu\r\n"
                     "write_batches_held:%llu\r\nwrite_batch_holds_ran_out:%llu\r\n"
                     "kv_writes:%llu\r\naccept_pauses:%llu\r\n"
                     "exec_applied:%llu\r\nexec_watch_null:%llu\r\nexec_aborted:%llu\r\n"
                     "exec_txn_commits:%llu\r\nexec_txn_retries:%llu\r\n"
                     "watching_clients:%zu\r\nwatch_expired:%llu\r\n\r\n",
                 st->connections, st->rejected, st->commands, s->obs.errs.total, st->errors,
                 st->batches,
                 st->batch_ops, st->batches ? (double)st->batch_ops / (double)st->batches : 0.0,
                 st->largest_batch, st->most_flying, st->held, st->held_out, st->chunks, st->accept_pauses, st->execs,
                 st->exec_watch_nulls, st->exec_aborts, st->txn_commits, st->txn_retries,
                 s->nwatching, st->watch_expired);
    }
    if (info_wants(r, "cluster")) { /* 1 with an extension: a member of a Raft group */
        info_add(&t, "# Cluster\r\ncluster_enabled:%d\r\n", s->ext != NULL);
        if (s->ext != NULL && s->ext->figures != NULL)
            s->ext->figures(s->ext_state, info_figure, &t);
        info_add(&t, "\r\n");
    }
    if (info_wants(r, "persistence"))
        info_add(&t, "# Persistence\r\nkv_sync:%d\r\n\r\n", s->cfg.sync);
    if (info_wants(r, "engine")) {
        info_add(&t, "# Engine\r\n");
        rc = info_engine(s, &t);
        info_add(&t, "\r\n");
    }
    if (info_wants_section(r, "commandstats", 0))
        serve_info_commandstats(s, &t);
    if (info_wants(r, "errorstats"))
        serve_info_errorstats(s, &t);
    if (info_wants_section(r, "latencystats", 0))
        serve_info_latencystats(s, &t);
    if (rc == KV_OK && info_wants(r, "keyspace")) {
        unsigned long long n = 0;
        rc = info_count_keys(s, &n);
        info_add(&t, "# Keyspace\r\n");
        if (n > 0)
            info_add(&t, "db0:keys=%llu,expires=0,avg_ttl=0\r\n", n);
    }
    if (rc != KV_OK)
        out_error(&c->out, "ERR %s: %s", kv_strerror(rc), kv_errmsg());
    else if (t.failed)
        out_error(&c->out, "ERR out of memory");
    else
        out_bulk(&c->out, t.buf, t.len);
    out_free(&t);
}
