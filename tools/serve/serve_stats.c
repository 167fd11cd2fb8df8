/*
 * serve_stats.c: the counts of serve_stats.h (per command and subcommand,
 * per error code), and INFO's sections that print them, in Redis's words:
 *
 *   # Commandstats
 *   cmdstat_get:calls=2,usec=15,usec_per_call=7.50,rejected_calls=0,failed_calls=0
 *   # Errorstats
 *   errorstat_ERR:count=3
 *   # Latencystats
 *   latency_percentiles_usec_get:p50=1.003,p99=3.007,p99.9=3.007
 *
 * A count is kept per row of the command table (serve_cmd_table.c), by
 * its index: a subcommand's row (CONFIG GET) is counted under
 * "name|sub", the command's own under its name (a request whose word 1
 * is none of its subcommands).  Lines come in the command table's order,
 * a row only once it has been called (or refused).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_stats.h"
#include "server.h"

int serve_stats_init(server *s)
{
    serve_obs *o = &s->obs;
    o->nstat = s->ncmds; /* one per row of the table */
    o->stat = calloc(o->nstat, sizeof *o->stat);
    return o->stat == NULL ? KV_ERR_NOMEM : KV_OK;
}

void serve_stats_free(server *s)
{
    serve_obs *o = &s->obs;
    for (size_t i = 0; i < o->nstat && o->stat != NULL; i++)
        free(o->stat[i].lat);
    free(o->stat);
    o->stat = NULL;
    serve_errtally_free(&o->errs);
    serve_slowlog_free(s);
}

void serve_stats_reset(server *s)
{
    serve_obs *o = &s->obs;
    for (size_t i = 0; i < o->nstat; i++) {
        histogram *lat = o->stat[i].lat;
        memset(&o->stat[i], 0, sizeof o->stat[i]);
        if (lat != NULL)
            histogram_reset(lat);
        o->stat[i].lat = lat;
    }
    serve_errtally_free(&o->errs);
    memset(&s->stats, 0, sizeof s->stats);
}

void serve_stats_walk_start(const server *s, serve_stats_walk *w)
{
    memset(w, 0, sizeof *w);
    w->cmds = s->cmds;
    w->ncmds = s->ncmds;
}

serve_cmdstat *serve_stats_walk_next(server *s, serve_stats_walk *w, char *name, size_t cap)
{
    if (w->at >= w->ncmds || s->obs.stat == NULL)
        return NULL;
    const serve_cmd *cmd = &w->cmds[w->at];
    if (cmd->sub == NULL)
        snprintf(name, cap, "%s", cmd->name);
    else
        snprintf(name, cap, "%s|%s", cmd->name, cmd->sub);
    return &s->obs.stat[w->at++];
}

serve_cmdstat *serve_stats_of(server *s, const serve_cmd *cmd)
{
    if (cmd < s->cmds || cmd >= s->cmds + s->ncmds || s->obs.stat == NULL)
        return NULL;
    return &s->obs.stat[cmd - s->cmds];
}

int serve_slowlog_wants(const server *s, long long ns)
{
    return s->obs.slowlog_slower_us >= 0 && s->obs.slowlog_max_len > 0 &&
           ns / 1000 >= s->obs.slowlog_slower_us;
}

void serve_stats_ran(server *s, const serve_client *c, const serve_cmd *cmd, serve_cmdstat *st,
                     long long ns, int failed, const serve_arg *args, size_t nargs, size_t argc)
{
    if (ns < 0)
        ns = 0;
    if (st != NULL) {
        st->calls++;
        st->failed += failed != 0;
        st->ns += (unsigned long long)ns;
        if (s->obs.latency_tracking) {
            if (st->lat == NULL && (st->lat = malloc(sizeof *st->lat)) != NULL)
                histogram_init(st->lat);
            if (st->lat != NULL)
                histogram_record(st->lat, (uint64_t)ns);
        }
    }
    if (cmd == NULL || (cmd->flags & SERVE_CMD_SKIP_SLOWLOG) || !serve_slowlog_wants(s, ns))
        return;
    if (cmd->flags & SERVE_CMD_SECRET) { /* its words are a secret: Redis's redaction of AUTH */
        serve_arg red[3] = {args[0], {"(redacted)", 10}, {"(redacted)", 10}};
        serve_slowlog_add(s, c, ns / 1000, red, argc < 3 ? argc : 3, argc < 3 ? argc : 3);
        return;
    }
    serve_slowlog_add(s, c, ns / 1000, args, nargs, argc);
}

void serve_stats_ran_req(server *s, const serve_client *c, const serve_cmd *cmd,
                         serve_cmdstat *st, long long ns, int failed, const serve_req *r)
{
    serve_arg args[SERVE_SLOWLOG_MAX_ARGS];
    size_t n = 0;
    if (serve_slowlog_wants(s, ns))
        for (; n < r->argc && n < SERVE_SLOWLOG_MAX_ARGS; n++)
            args[n] = (serve_arg){req_ptr(r, n), req_len(r, n)};
    serve_stats_ran(s, c, cmd, st, ns, failed, args, n, r->argc);
}

/* ---- INFO ---- */

static void stats_add(serve_out *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stats_add(serve_out *t, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        out_bytes(t, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void serve_info_commandstats(server *s, serve_out *t)
{
    stats_add(t, "# Commandstats\r\n");
    serve_stats_walk w;
    serve_stats_walk_start(s, &w);
    char name[64];
    for (serve_cmdstat *st; (st = serve_stats_walk_next(s, &w, name, sizeof name)) != NULL;) {
        if (st->calls == 0 && st->rejected == 0)
            continue;
        double usec = (double)st->ns / 1e3;
        stats_add(t, "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,"
                     "failed_calls=%llu\r\n",
                  name, st->calls, st->ns / 1000, st->calls ? usec / (double)st->calls : 0.0,
                  st->rejected, st->failed);
    }
    stats_add(t, "\r\n");
}

void serve_info_errorstats(server *s, serve_out *t)
{
    stats_add(t, "# Errorstats\r\n");
    for (size_t i = 0; i < s->obs.errs.n; i++)
        stats_add(t, "errorstat_%s:count=%llu\r\n", s->obs.errs.e[i].code, s->obs.errs.e[i].count);
    stats_add(t, "\r\n");
}

/* "99.9" for 99.9, "50" for 50: a percentile as Redis names it. */
static void stats_pct_name(double p, char *buf, size_t cap)
{
    snprintf(buf, cap, "%f", p);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
}

void serve_info_latencystats(server *s, serve_out *t)
{
    stats_add(t, "# Latencystats\r\n");
    serve_stats_walk w;
    serve_stats_walk_start(s, &w);
    char name[64];
    histogram_counts *hc = malloc(sizeof *hc);
    for (serve_cmdstat *st; hc != NULL && (st = serve_stats_walk_next(s, &w, name, sizeof name)) != NULL;) {
        if (st->lat == NULL)
            continue;
        histogram_read(st->lat, hc);
        if (hc->count == 0)
            continue;
        char line[1024];
        size_t at = (size_t)snprintf(line, sizeof line, "latency_percentiles_usec_%s:", name);
        for (size_t i = 0; i < s->obs.npct && at < sizeof line; i++) {
            char pn[32];
            stats_pct_name(s->obs.pct[i], pn, sizeof pn);
            at += (size_t)snprintf(line + at, sizeof line - at, "%sp%s=%.3f", i ? "," : "", pn,
                                   histogram_percentile(hc, s->obs.pct[i] / 100) / 1e3);
        }
        stats_add(t, "%s\r\n", line);
    }
    if (hc == NULL)
        t->failed = 1;
    free(hc);
    stats_add(t, "\r\n");
}
