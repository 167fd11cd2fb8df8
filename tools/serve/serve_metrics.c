/*
 * serve_metrics.c: the body of GET /metrics (serve_http.c), in the
 * Prometheus text exposition format 0.0.4: for each family a # HELP and
 * a # TYPE line, then its samples.  docs/metrics.md lists the families:
 *
 *   kv_server_*     what the server counts: commands by name (calls,
 *                   rejected, failed, a latency histogram), error replies
 *                   by code, clients, connections, write batches, EXECs,
 *                   the slow log, the metrics endpoint itself;
 *   process_*       the usual process metrics (open files, memory, CPU);
 *   kv_engine_*     every line of the stage's kv_stats, by the rule of
 *                   metrics_engine.h.
 *
 * Everything is read on the loop thread, as INFO reads it.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "metrics_engine.h"
#include "server.h"

static void m_line(void *ctx, const char *line)
{
    serve_out *o = ctx;
    out_bytes(o, line, strlen(line));
    out_bytes(o, "\n", 1);
}

static void m_printf(serve_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void m_printf(serve_out *o, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        out_bytes(o, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void m_family(serve_out *o, const char *name, const char *type, const char *help)
{
    m_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family of one sample without labels. */
static void m_one(serve_out *o, const char *name, const char *type, const char *help, double v)
{
    m_family(o, name, type, help);
    m_printf(o, "%s %.15g\n", name, v);
}

/* The process's own figures, as Prometheus's client libraries name them. */
static void m_process(server *s, serve_out *o)
{
    size_t fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            fds += e->d_name[0] != '.';
        closedir(d);
        m_one(o, "process_open_fds", "gauge", "Number of open file descriptors.",
              (double)(fds > 0 ? fds - 1 : 0));
    }
    m_one(o, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
          (double)s->cfg.nofile);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        m_one(o, "process_cpu_seconds_total", "counter",
              "Total user and system CPU time spent in seconds.",
              (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                  ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6);
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long pages_virt, pages_res;
    if (f != NULL) {
        if (fscanf(f, "%llu %llu", &pages_virt, &pages_res) == 2) {
            double page = (double)sysconf(_SC_PAGESIZE);
            m_one(o, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                  (double)pages_virt * page);
            m_one(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                  (double)pages_res * page);
        }
        fclose(f);
    }
    m_one(o, "process_start_time_seconds", "gauge",
          "Start time of the process since unix epoch in seconds.", (double)s->started);
}

/* The per-command families, each over every command called so far. */
static void m_commands(server *s, serve_out *o)
{
    static const struct {
        const char *name, *help;
    } counts[] = {
        {"kv_server_commands_total", "Commands run, by name (INFO commandstats calls)."},
        {"kv_server_commands_rejected_total",
         "Commands refused before they ran (INFO commandstats rejected_calls)."},
        {"kv_server_commands_failed_total",
         "Commands that ran and answered an error (INFO commandstats failed_calls)."},
    };
    char name[64];
    serve_stats_walk w;
    for (size_t f = 0; f < sizeof counts / sizeof counts[0]; f++) {
        m_family(o, counts[f].name, "counter", counts[f].help);
        serve_stats_walk_start(s, &w);
        for (serve_cmdstat *st; (st = serve_stats_walk_next(s, &w, name, sizeof name)) != NULL;)
            if (st->calls > 0 || st->rejected > 0)
                m_printf(o, "%s{cmd=\"%s\"} %llu\n", counts[f].name, name,
                         f == 0 ? st->calls : f == 1 ? st->rejected : st->failed);
    }
    m_family(o, "kv_server_command_duration_seconds", "histogram",
             "Time a command took, by name (see docs/metrics.md; INFO latencystats).");
    histogram_counts *hc = malloc(sizeof *hc);
    if (hc == NULL) {
        o->failed = 1;
        return;
    }
    serve_stats_walk_start(s, &w);
    for (serve_cmdstat *st; (st = serve_stats_walk_next(s, &w, name, sizeof name)) != NULL;) {
        if (st->lat == NULL)
            continue;
        histogram_read(st->lat, hc);
        char labels[80];
        snprintf(labels, sizeof labels, "cmd=\"%s\"", name);
        histogram_prometheus(hc, "kv_server_command_duration_seconds", labels, m_line, o);
    }
    free(hc);
}

/* The server's own counters and gauges (INFO's Clients and Stats). */
static void m_server(server *s, const serve_http_counts *http, serve_out *o)
{
    const serve_stats *st = &s->stats;
    m_one(o, "kv_server_connected_clients", "gauge", "Clients connected now.",
          (double)s->nclients);
    m_one(o, "kv_server_max_clients", "gauge", "The most clients accepted at once (--maxclients).",
          (double)s->cfg.maxclients);
    m_one(o, "kv_server_connections_received_total", "counter", "Connections accepted.",
          (double)st->connections);
    m_one(o, "kv_server_rejected_connections_total", "counter",
          "Connections refused (--maxclients).", (double)st->rejected);
    m_one(o, "kv_server_commands_processed_total", "counter",
          "Requests run, known or not (INFO total_commands_processed).", (double)st->commands);
    m_one(o, "kv_server_error_replies_total", "counter",
          "Error replies sent (INFO total_error_replies).", (double)s->obs.errs.total);
    m_family(o, "kv_server_errors_total", "counter",
             "Error replies sent, by error code (INFO errorstats).");
    for (size_t i = 0; i < s->obs.errs.n; i++)
        m_printf(o, "kv_server_errors_total{code=\"%s\"} %llu\n", s->obs.errs.e[i].code,
                 s->obs.errs.e[i].count);
    m_one(o, "kv_server_protocol_errors_total", "counter",
          "Requests that were not RESP (the connection closed).", (double)st->errors);
    m_one(o, "kv_server_write_batches_total", "counter", "Write batches applied.",
          (double)st->batches);
    m_one(o, "kv_server_write_batch_ops_total", "counter", "Puts, deletes and EXECs in them.",
          (double)st->batch_ops);
    m_one(o, "kv_server_kv_writes_total", "counter", "kv_write calls they took.",
          (double)st->chunks);
    m_one(o, "kv_server_exec_applied_total", "counter", "EXECs applied.", (double)st->execs);
    m_one(o, "kv_server_exec_watch_null_total", "counter",
          "EXECs answered null (a watched key changed).", (double)st->exec_watch_nulls);
    m_one(o, "kv_server_exec_aborted_total", "counter", "EXECs answered EXECABORT.",
          (double)st->exec_aborts);
    m_one(o, "kv_server_watching_clients", "gauge", "Clients with a live WATCH.",
          (double)s->nwatching);
    m_one(o, "kv_server_slowlog_entries", "gauge", "Entries in the slow log (SLOWLOG LEN).",
          (double)s->obs.slow_n);
    m_one(o, "kv_server_slowlog_logged_total", "counter",
          "Commands put in the slow log since the start.", (double)s->obs.slow_next_id);
    m_one(o, "kv_server_metrics_connections", "gauge",
          "HTTP connections to --metrics-port open now.", (double)http->conns);
    m_one(o, "kv_server_metrics_requests_total", "counter", "HTTP requests answered.",
          (double)http->requests);
    m_one(o, "kv_server_metrics_closed_total", "counter",
          "HTTP connections closed for taking too long or to make room.",
          (double)(http->evicted + http->timed_out));
}

/* An extension's figure as a sample, its family's HELP and TYPE lines
 * before the first of its name. */
typedef struct m_ext {
    serve_out *o;
    const char *last;
} m_ext;

static void m_figure(void *ctx, const serve_figure *f)
{
    m_ext *e = ctx;
    char name[160];
    snprintf(name, sizeof name, "kv_%s%s", f->name, f->counter ? "_total" : "");
    if (e->last == NULL || strcmp(e->last, f->name) != 0)
        m_family(e->o, name, f->counter ? "counter" : "gauge", f->help);
    e->last = f->name;
    if (f->label_key != NULL)
        m_printf(e->o, "%s{%s=\"%s\"} %.15g\n", name, f->label_key, f->label_value, f->value);
    else
        m_printf(e->o, "%s %.15g\n", name, f->value);
}

void serve_metrics_text(server *s, const serve_http_counts *http, serve_out *o)
{
    m_server(s, http, o);
    m_commands(s, o);
    m_process(s, o);
    if (s->ext != NULL && s->ext->figures != NULL) {
        m_ext e = {o, NULL};
        s->ext->figures(s->ext_state, m_figure, &e);
    }
    char *text;
    if (kv_stats(s->db, &text) == KV_OK) {
        if (metrics_engine(text, m_line, o) != 0)
            o->failed = 1;
        kv_free(text);
    }
    /* The stage's kv_stats failed: the server's own metrics still go out. */
}
