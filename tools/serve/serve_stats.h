/*
 * serve_stats.h: what `kv serve` counts about the commands it runs, as
 * Redis counts it: per command (and per subcommand: "config|get") the
 * calls, the time they took, the calls refused before they ran
 * (rejected: a wrong number of arguments, NOAUTH, refused inside MULTI)
 * and those that ran and answered an error (failed), with a latency
 * histogram each (common/histogram.h); per error code (the first word of
 * an error reply: ERR, NOAUTH, EXECABORT...) how many were sent; and the
 * slow log.  INFO commandstats, errorstats and latencystats, SLOWLOG,
 * CONFIG RESETSTAT and GET /metrics (serve_metrics.c) read them.
 *
 * What a command's time is.  A read (GET, MGET, SCAN...) and any command
 * answered at once: from the moment it starts to run until its reply is
 * written to the client's buffer (for KEYS, the slices of the loop passes
 * it ran in, added up).  A write (SET, MSET, DEL) and EXEC: until the
 * batch holding it is applied and it is answered (serve_commit.c), since
 * that is what a client waits for; with --sync that includes the fsync.
 * A command queued after MULTI is counted when its EXEC runs it, with the
 * time it took inside the transaction (as Redis counts it); EXEC itself
 * is timed, but never put in the slow log (nor is it in Redis).
 *
 * Threads: all of this belongs to the loop thread.  The thread applying
 * an EXEC writes only into the EXEC's serve_multi (each queued command's
 * time and whether it failed, and an error tally of its own), which the
 * loop adds in when it answers the EXEC (serve_multi_answer).
 *
 * Invariants:
 *   S1. stat->calls counts commands that ran; stat->failed <= calls;
 *       stat->lat, when there, holds calls records (since the last
 *       RESETSTAT), unless --latency-tracking no (then none).
 *   S2. errs.total counts every error reply sent through out_error to a
 *       client; the codes' counts add up to total - errs.untracked (a
 *       code past SERVE_ERRCODES_MAX distinct ones is not named).
 *   S3. The slow log holds at most slowlog_max_len entries, newest first;
 *       ids grow by one per entry and never go back (not even at RESET).
 */
#ifndef KV_SERVE_STATS_H
#define KV_SERVE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "histogram.h"
#include "serve_errtally.h"

struct server;
struct serve_client;
struct serve_cmd;
struct serve_req;
struct serve_out;

#define SERVE_SLOWLOG_SLOWER_US 10000   /* default slowlog-log-slower-than (Redis's) */
#define SERVE_SLOWLOG_MAX_LEN   128     /* default slowlog-max-len (Redis's) */
#define SERVE_SLOWLOG_MAX_ARGS  32      /* words kept per entry (Redis's) */
#define SERVE_SLOWLOG_MAX_BYTES 128     /* bytes kept per word (Redis's) */
#define SERVE_SLOWLOG_LIMIT     1000000 /* the largest slowlog-max-len accepted */
#define SERVE_PERCENTILES_MAX   16      /* latency-tracking-info-percentiles */

typedef struct serve_cmdstat {
    unsigned long long calls, rejected, failed;
    unsigned long long ns;   /* time the calls took, added up */
    histogram *lat;          /* allocated at the first call (NULL: none yet, or no memory) */
} serve_cmdstat;

/* A word of a command, for the slow log. */
typedef struct serve_arg {
    const char *p;
    size_t n;
} serve_arg;

typedef struct serve_slowentry serve_slowentry;

typedef struct serve_obs {
    serve_cmdstat *stat;     /* per row of the command table (serve_stats.c) */
    size_t nstat;
    serve_errtally errs;
    /* CONFIG's parameters (also command-line options): */
    long long slowlog_slower_us;   /* slowlog-log-slower-than; < 0: nothing logged */
    size_t slowlog_max_len;        /* slowlog-max-len */
    int latency_tracking;          /* latency-tracking: 1 = histograms recorded */
    double pct[SERVE_PERCENTILES_MAX];  /* latency-tracking-info-percentiles */
    size_t npct;
    /* The slow log, a ring of slowlog_cap entries, newest at head - 1: */
    serve_slowentry **slow;
    size_t slow_cap, slow_n, slow_head;
    unsigned long long slow_next_id;
} serve_obs;

int  serve_stats_init(struct server *s);   /* KV_OK or KV_ERR_NOMEM */
void serve_stats_free(struct server *s);
/* CONFIG RESETSTAT: zeroes the command and error counts, the histograms
 * and INFO's Stats counters (not the slow log). */
void serve_stats_reset(struct server *s);

/* The counts of a row of the command table (a command's, or one of its
 * subcommands': the row a request names, serve_cmd_find). */
serve_cmdstat *serve_stats_of(struct server *s, const struct serve_cmd *cmd);
/* A command ran and took ns: counted (failed: it answered an error), and
 * put in the slow log if slow enough (args: its first words, as many as
 * the slow log keeps, of argc; cmd says whether to and how, e.g. AUTH's
 * words are redacted). */
void serve_stats_ran(struct server *s, const struct serve_client *c, const struct serve_cmd *cmd,
                     serve_cmdstat *st, long long ns, int failed, const serve_arg *args,
                     size_t nargs, size_t argc);
/* The same for a request run now (its words are r's). */
void serve_stats_ran_req(struct server *s, const struct serve_client *c,
                         const struct serve_cmd *cmd, serve_cmdstat *st, long long ns, int failed,
                         const struct serve_req *r);
/* 1 if a command of ns would go to the slow log (so its words are worth
 * gathering). */
int  serve_slowlog_wants(const struct server *s, long long ns);

/* Every command's and subcommand's counts, in the command table's order:
 * start, then next until NULL, *name getting "cmd" or "cmd|sub". */
typedef struct serve_stats_walk {
    size_t at, ncmds;
    const struct serve_cmd *cmds;
} serve_stats_walk;
void serve_stats_walk_start(const struct server *s, serve_stats_walk *w);
serve_cmdstat *serve_stats_walk_next(struct server *s, serve_stats_walk *w, char *name,
                                     size_t cap);

/* INFO's sections, appended to t ("# Commandstats\r\n..."). */
void serve_info_commandstats(struct server *s, struct serve_out *t);
void serve_info_errorstats(struct server *s, struct serve_out *t);
void serve_info_latencystats(struct server *s, struct serve_out *t);

/* serve_slowlog.c: SLOWLOG's own row (its answer to a subcommand it does
 * not take) and its subcommands' rows (serve_cmd_table.c). */
void serve_slowlog_cmd(struct server *s, struct serve_client *c,
                       const struct serve_cmd *cmd, const struct serve_req *r);
void serve_slowlog_get(struct server *s, struct serve_client *c,
                       const struct serve_cmd *cmd, const struct serve_req *r);
void serve_slowlog_len(struct server *s, struct serve_client *c,
                       const struct serve_cmd *cmd, const struct serve_req *r);
void serve_slowlog_reset(struct server *s, struct serve_client *c,
                         const struct serve_cmd *cmd, const struct serve_req *r);
void serve_slowlog_help(struct server *s, struct serve_client *c,
                        const struct serve_cmd *cmd, const struct serve_req *r);
void serve_slowlog_add(struct server *s, const struct serve_client *c, long long us,
                       const serve_arg *args, size_t nargs, size_t argc);
/* Sets slowlog-max-len, dropping the oldest entries past it; 0, or -1
 * when out of memory (nothing changed). */
int  serve_slowlog_set_max(struct server *s, size_t max);
void serve_slowlog_free(struct server *s);

#endif
