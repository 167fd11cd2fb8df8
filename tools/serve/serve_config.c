/*
 * serve_config.c: CONFIG GET, CONFIG SET, CONFIG RESETSTAT (each a row of
 * the command table, serve_cmd_table.c), and the parameters that can be
 * set both ways, at start-up as options of `kv serve` and later with
 * CONFIG SET, with Redis's names and defaults:
 *
 *   slowlog-log-slower-than N           microseconds; -1: none (10000)
 *   slowlog-max-len N                   entries kept (128)
 *   latency-tracking yes|no             per-command histograms (yes)
 *   latency-tracking-info-percentiles   "50 99 99.9": INFO latencystats
 *
 * and one of the engine's, set at start-up with the kv command's knob
 * (--background-bytes-per-sec) and later with CONFIG SET:
 *
 *   background-bytes-per-sec N          kv_set_background_rate: bytes a
 *                                       second flushes and compactions
 *                                       write; 0: no limit (stage 09 on;
 *                                       earlier stages refuse any other
 *                                       value, with the engine's message)
 *
 * CONFIG GET also answers the fixed parameters clients ask about at
 * start-up (save, appendonly, appendfsync, databases, port, bind,
 * maxclients).  CONFIG SET takes several pairs and sets all of them or,
 * if one is refused, none, with Redis's messages.  CONFIG RESETSTAT
 * zeroes what INFO counts (serve_stats_reset).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

void serve_config_defaults(server *s)
{
    s->obs.slowlog_slower_us = SERVE_SLOWLOG_SLOWER_US;
    s->obs.slowlog_max_len = SERVE_SLOWLOG_MAX_LEN;
    s->obs.latency_tracking = 1;
    s->obs.pct[0] = 50;
    s->obs.pct[1] = 99;
    s->obs.pct[2] = 99.9;
    s->obs.npct = 3;
}

/* The parameters CONFIG SET may change, parsed into one of these. */
typedef struct config_value {
    long long slower_us;
    size_t max_len;
    int tracking;
    double pct[SERVE_PERCENTILES_MAX];
    size_t npct;
    size_t background_rate;
} config_value;

enum { P_SLOWER, P_MAXLEN, P_TRACKING, P_PERCENTILES, P_BACKGROUND_RATE, P_SETTABLE };
static const char *const config_names[P_SETTABLE] = {
    "slowlog-log-slower-than", "slowlog-max-len", "latency-tracking",
    "latency-tracking-info-percentiles", "background-bytes-per-sec"};

/* Which settable parameter `name` is (any case), or -1. */
static int config_find(const char *name, size_t len)
{
    for (int i = 0; i < P_SETTABLE; i++)
        if (strlen(config_names[i]) == len && strncasecmp(config_names[i], name, len) == 0)
            return i;
    return -1;
}

/* Parses value v of parameter p into *cv; NULL, or why it is refused. */
static const char *config_parse(int p, const char *v, config_value *cv)
{
    char *end;
    if (p == P_BACKGROUND_RATE) {
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0' || *v < '0' || *v > '9' || n > SIZE_MAX)
            return "argument couldn't be parsed into an integer";
        cv->background_rate = (size_t)n;
        return NULL;
    }
    if (p == P_SLOWER || p == P_MAXLEN) {
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0')
            return "argument couldn't be parsed into an integer";
        if (p == P_SLOWER) {
            if (n < -1)
                return "argument must be between -1 and 9223372036854775807 inclusive";
            cv->slower_us = n;
        } else {
            if (n < 0 || n > SERVE_SLOWLOG_LIMIT)
                return "argument must be between 0 and 1000000 inclusive";
            cv->max_len = (size_t)n;
        }
        return NULL;
    }
    if (p == P_TRACKING) {
        if (strcasecmp(v, "yes") != 0 && strcasecmp(v, "no") != 0)
            return "argument must be 'yes' or 'no'";
        cv->tracking = strcasecmp(v, "yes") == 0;
        return NULL;
    }
    cv->npct = 0;
    for (const char *at = v;;) {
        while (*at == ' ')
            at++;
        if (*at == '\0')
            return NULL;
        double d = strtod(at, &end);
        if (end == at || (*end != ' ' && *end != '\0'))
            return "latency-tracking-info-percentiles parameters should be a list of numbers";
        if (!(d >= 0 && d <= 100))
            return "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]";
        if (cv->npct == SERVE_PERCENTILES_MAX)
            return "latency-tracking-info-percentiles takes at most 16 percentiles";
        cv->pct[cv->npct++] = d;
        at = end;
    }
}

static void config_current(const server *s, config_value *cv)
{
    cv->slower_us = s->obs.slowlog_slower_us;
    cv->max_len = s->obs.slowlog_max_len;
    cv->tracking = s->obs.latency_tracking;
    memcpy(cv->pct, s->obs.pct, sizeof cv->pct);
    cv->npct = s->obs.npct;
    cv->background_rate = s->cfg.knobs.background_bytes_per_sec;
}

/* Applies cv: NULL, or why nothing changed (the engine refused the rate:
 * *engine set; or out of memory). */
static const char *config_apply(server *s, const config_value *cv, int *engine)
{
    size_t was = s->cfg.knobs.background_bytes_per_sec;
    *engine = 0;
    if (cv->background_rate != was) {
        if (kv_set_background_rate(s->db, cv->background_rate) != KV_OK) {
            *engine = 1;
            return kv_errmsg();
        }
    }
    if (serve_slowlog_set_max(s, cv->max_len) != 0) {
        if (cv->background_rate != was)
            kv_set_background_rate(s->db, was);
        return "out of memory";
    }
    s->cfg.knobs.background_bytes_per_sec = cv->background_rate;
    s->obs.slowlog_slower_us = cv->slower_us;
    s->obs.latency_tracking = cv->tracking;
    memcpy(s->obs.pct, cv->pct, sizeof s->obs.pct);
    s->obs.npct = cv->npct;
    return 0;
}

int serve_config_option(server *s, char **argv, int argc, int *i, int *bad)
{
    const char *a = argv[*i];
    if (strncmp(a, "--", 2) != 0)
        return 0;
    int p = config_find(a + 2, strlen(a + 2));
    if (p < 0 || p == P_BACKGROUND_RATE) /* the engine's: a kv knob */
        return 0;
    *bad = 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "kv serve: %s needs a value\n", a);
        *bad = 1;
        return 1;
    }
    config_value cv;
    config_current(s, &cv);
    const char *why = config_parse(p, argv[*i + 1], &cv);
    if (why != NULL) {
        fprintf(stderr, "kv serve: %s %s: %s\n", a, argv[*i + 1], why);
        *bad = 1;
    } else {
        int engine;
        config_apply(s, &cv, &engine); /* no slow log yet, the rate unchanged: cannot fail */
    }
    (*i)++;
    return 1;
}

/* CONFIG SET name value [name value ...]: all or none.  Its row's arity
 * cannot say "pairs": the count is checked here. */
void serve_config_set(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    if (r->argc < 4 || r->argc % 2 != 0) {
        out_error(&c->out, "ERR wrong number of arguments for 'config|set' command");
        return;
    }
    config_value cv;
    config_current(s, &cv);
    int seen[P_SETTABLE] = {0};
    for (size_t i = 2; i < r->argc; i += 2) {
        int p = config_find(req_ptr(r, i), req_len(r, i));
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(req_len(r, i) < 48 ? req_len(r, i) : 48),
                 req_ptr(r, i));
        if (p < 0) {
            out_error(&c->out, "ERR Unknown option or number of arguments for CONFIG SET - '%s'",
                      name);
            return;
        }
        if (seen[p]++) {
            out_error(&c->out, "ERR CONFIG SET failed (possibly related to argument '%s') - "
                               "duplicate parameter", name);
            return;
        }
        char value[512];
        size_t vlen = req_len(r, i + 1);
        const char *why = vlen < sizeof value ? NULL : "argument is too long";
        if (why == NULL) {
            memcpy(value, req_ptr(r, i + 1), vlen);
            value[vlen] = '\0';
            if (memchr(value, '\0', vlen) != NULL)
                why = "argument couldn't be parsed";
            else
                why = config_parse(p, value, &cv);
        }
        if (why != NULL) {
            out_error(&c->out, "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
                      name, why);
            return;
        }
    }
    int engine;
    const char *why = config_apply(s, &cv, &engine);
    if (why == NULL)
        out_simple(&c->out, "OK");
    else if (engine)
        out_error(&c->out, "ERR CONFIG SET failed (possibly related to argument "
                           "'background-bytes-per-sec') - %s", why);
    else
        out_error(&c->out, "ERR %s", why);
}

/* CONFIG GET pattern [pattern ...]: the parameters clients ask about at
 * start-up, and the settable ones. */
void serve_config_get(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    char port[16], maxclients[24], slower[24], maxlen[24], rate[24];
    char pct[SERVE_PERCENTILES_MAX * 24] = "";
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(maxclients, sizeof maxclients, "%zu", s->cfg.maxclients);
    snprintf(slower, sizeof slower, "%lld", s->obs.slowlog_slower_us);
    snprintf(maxlen, sizeof maxlen, "%zu", s->obs.slowlog_max_len);
    snprintf(rate, sizeof rate, "%zu", s->cfg.knobs.background_bytes_per_sec);
    for (size_t i = 0; i < s->obs.npct; i++) {
        char one[24];
        snprintf(one, sizeof one, "%s%g", i ? " " : "", s->obs.pct[i]);
        strcat(pct, one);
    }
    const char *params[][2] = {
        {"save", ""},
        {"appendonly", "yes"},
        {"appendfsync", s->cfg.sync ? "always" : "no"},
        {"databases", "1"},
        {"port", port},
        {"bind", s->cfg.bind},
        {"maxclients", maxclients},
        {"slowlog-log-slower-than", slower},
        {"slowlog-max-len", maxlen},
        {"latency-tracking", s->obs.latency_tracking ? "yes" : "no"},
        {"latency-tracking-info-percentiles", pct},
        {"background-bytes-per-sec", rate},
    };
    size_t n = sizeof params / sizeof params[0];
    int hit[sizeof params / sizeof params[0]] = {0};
    size_t nhits = 0;
    for (size_t i = 2; i < r->argc; i++)
        for (size_t j = 0; j < n; j++)
            if (!hit[j] && serve_glob_match(req_ptr(r, i), req_len(r, i), params[j][0],
                                            strlen(params[j][0]), 1)) {
                hit[j] = 1;
                nhits++;
            }
    out_array(&c->out, 2 * nhits);
    for (size_t j = 0; j < n; j++)
        if (hit[j]) {
            out_bulk_str(&c->out, params[j][0]);
            out_bulk_str(&c->out, params[j][1]);
        }
}

void serve_config_resetstat(server *s, serve_client *c, const serve_cmd *cmd,
                            const serve_req *r)
{
    (void)cmd, (void)r;
    serve_stats_reset(s);
    out_simple(&c->out, "OK");
}

/* CONFIG's own row: a subcommand it does not have, or too many or too
 * few words for the one it names. */
void serve_config_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)s, (void)cmd, (void)r;
    out_error(&c->out, "ERR unknown subcommand or wrong number of arguments for CONFIG "
                       "(the server has CONFIG GET, CONFIG SET and CONFIG RESETSTAT)");
}
