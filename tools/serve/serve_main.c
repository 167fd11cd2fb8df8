/*
 * serve_main.c: `kv DIR serve [options]`: options, start-up, shutdown.
 *
 *   --port N            TCP port (default 6380; 0 = any free one, printed
 *                       with --verbose)
 *   --bind ADDR         address to listen on (default 127.0.0.1)
 *   --sync              kv_options.sync = 1: a write is answered once it is
 *                       on stable storage (stage 03 on)
 *   --requirepass FILE  clients must AUTH with the first line of FILE
 *   --maxclients N      refuse connections beyond N clients (default 1024)
 *   --max-open-files N  kv_options.max_open_files, the table cache (stage 05
 *                       on); default: 1000, less if the open-file limit is low
 *   the kv command's knobs (kv --help): --memtable-bytes 256k (stage 04
 *                       on), --table-bytes N (06 on), --value-threshold N
 *                       and --value-gc-percent P (08 on), ...: the same
 *                       size forms, and refused by a stage without the idea,
 *                       as in every other kv command; before DIR too
 *   --watch-max-age S   a WATCH keeps its snapshot at most S seconds
 *                       (default 60; 0: no bound): serve_watch.c
 *   --metrics-port N    GET /metrics there, on the --bind address, in the
 *                       Prometheus text format (serve_http.c; 0 = any
 *                       free port, printed with --verbose)
 *   --slowlog-log-slower-than US, --slowlog-max-len N, --latency-tracking
 *                       yes|no, --latency-tracking-info-percentiles "P..."
 *                       the parameters CONFIG SET also sets
 *                       (serve_config.c)
 *   --verbose           log start-up, connections and shutdown on stderr
 *
 * --stdio: no socket; one client reads standard input and writes standard
 * output (serve_loop_add_stdio), and the server stops once that client is
 * done: at the end of the input, its replies written, the database closed.
 *
 * Start-up: read the password, budget the open files (below), open the
 * database, listen (not with --stdio), block SIGTERM and SIGINT in every thread (they arrive
 * through a signalfd in the loop), start the writer threads, fit
 * --maxclients to the descriptors left, run the loop.  After the loop
 * returns, every acknowledged write has been applied: close the database.
 * Without --verbose the server prints nothing but one line per connection
 * error (and start-up errors, and one line if the open-file limit made it
 * lower --maxclients).
 *
 * Open files.  Each client is a socket; the engine has its own files: a
 * lock, logs, a manifest, the directory, tables being written, and the
 * tables its table cache keeps open (kv_options.max_open_files, default
 * 1000).  If the clients took every descriptor, the engine could not open
 * a table or start a new log, and would fail reads and writes.  So:
 *   1. ask for an open-file limit (RLIMIT_NOFILE) with room for all: the
 *      descriptors open now, the server's own (SERVE_OWN_FILES), the
 *      engine's besides its table cache (SERVE_ENGINE_FILES), an
 *      extension's (serve_ext_ops.files: a member's Raft connections), the
 *      table cache, and --maxclients;
 *   2. if the hard limit does not allow it and --max-open-files was not
 *      given, share what is left between the table cache and the clients;
 *   3. once the database is open and the server listening, count the
 *      descriptors open, keep room for what the engine may still open,
 *      and lower --maxclients to what is left (as Redis does), logging it.
 * INFO clients shows the result (open_files_limit, engine_open_files,
 * maxclients).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../kv_tool.h"
#include "serve.h"
#include "server.h"

static void serve_print_usage(FILE *to, const serve_ext_ops *ext)
{
    fprintf(to,
            "usage: kv DIR serve [--port N] [--bind ADDR] [--sync] [--requirepass FILE]\n"
            "                    [--maxclients N] [--max-open-files N] [--watch-max-age S]\n"
            "                    [--stdio] [--verbose] [--metrics-port N]\n"
            "                    [--slowlog-log-slower-than US] [--slowlog-max-len N]\n"
            "                    [--latency-tracking yes|no]\n"
            "                    [--latency-tracking-info-percentiles \"50 99 99.9\"]\n"
            "                    [the kv command's knobs: --memtable-bytes 256k, ...]\n"
            "Serves the database in DIR over the Redis protocol (RESP2); see docs/server.md.\n"
            "--stdio: one client, requests on standard input, replies on standard output,\n"
            "until the end of the input (kvgrade's protocol: docs/kvgrade.md).\n");
    if (ext != NULL)
        ext->usage(to);
    fprintf(to, "The knobs, as kv --help lists them (this stage takes those it has an idea\n"
                "for), may come after serve or before DIR:\n");
    tool_knobs_usage(to);
}

static int serve_usage(const server *s)
{
    serve_print_usage(stderr, s->ext);
    return 2;
}

static int serve_options(server *s, int nargs, char **args)
{
    serve_config *cfg = &s->cfg;
    serve_config_defaults(s);
    cfg->metrics_port = -1;
    cfg->bind = "127.0.0.1";
    cfg->port = 6380;
    cfg->maxclients = SERVE_MAXCLIENTS;
    cfg->watch_max_age = SERVE_WATCH_MAX_AGE;
    for (int i = 0; i < nargs; i++) {
        const char *a = args[i];
        int has_value = i + 1 < nargs;
        long v;
        int bad = 0, knob;
        if (serve_config_option(s, args, nargs, &i, &bad)) {
            if (bad)
                return serve_usage(s);
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            serve_print_usage(stdout, s->ext);
            return -1; /* asked for: nothing to serve, and no error */
        } else if (strcmp(a, "--sync") == 0) {
            cfg->sync = 1;
        } else if (strcmp(a, "--stdio") == 0) {
            cfg->stdio = 1;
        } else if (strcmp(a, "--verbose") == 0) {
            cfg->verbose = 1;
        } else if (strcmp(a, "--port") == 0 && has_value && tool_number(args[i + 1], 0, 65535, &v)) {
            cfg->port = (int)v;
            i++;
        } else if (strcmp(a, "--metrics-port") == 0 && has_value &&
                   tool_number(args[i + 1], 0, 65535, &v)) {
            cfg->metrics_port = (int)v;
            i++;
        } else if (strcmp(a, "--maxclients") == 0 && has_value &&
                   tool_number(args[i + 1], 1, 1000000, &v)) {
            cfg->maxclients = (size_t)v;
            i++;
        } else if (strcmp(a, "--max-open-files") == 0 && has_value &&
                   tool_number(args[i + 1], 1, 1000000, &v)) {
            cfg->max_open_files = (int)v;
            i++;
        } else if ((knob = tool_knob_parse_into(&cfg->knobs, args, nargs, &i)) !=
                   TOOL_NOT_A_KNOB) {
            if (knob != EXIT_OK)
                return serve_usage(s); /* (tool_fail said what is wrong) */
        } else if (strcmp(a, "--watch-max-age") == 0 && has_value &&
                   tool_number(args[i + 1], 0, 1000000000, &v)) {
            cfg->watch_max_age = v;
            i++;
        } else if (strcmp(a, "--bind") == 0 && has_value) {
            cfg->bind = args[++i];
        } else if (strcmp(a, "--requirepass") == 0 && has_value) {
            cfg->passfile = args[++i];
        } else if (s->ext != NULL && s->ext->option(s->ext_state, args, nargs, &i, &bad)) {
            if (bad)
                return serve_usage(s);
        } else {
            fprintf(stderr, "kv serve: bad option '%s'%s%s\n", a,
                    has_value || a[0] != '-' ? "" : " (it needs a value)",
                    strncmp(a, "--raft-", 7) == 0 && s->ext == NULL
                        ? " (a member of a Raft group is stage 10's kv serve: build/10-raft/kv)"
                        : "");
            return serve_usage(s);
        }
    }
    if (s->ext != NULL) { /* does the extension's own options ask for it? */
        int wanted = s->ext->wanted(s->ext_state, cfg->stdio);
        if (wanted < 0)
            return serve_usage(s);
        if (wanted == 0) {
            s->ext->destroy(s->ext_state);
            s->ext = NULL;
            s->ext_state = NULL;
        }
    }
    return 0;
}

/* The first line of the password file. */
static int serve_read_password(serve_config *cfg)
{
    FILE *f = fopen(cfg->passfile, "r");
    if (f == NULL) {
        fprintf(stderr, "kv serve: --requirepass %s: %s\n", cfg->passfile, strerror(errno));
        return 2;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    n = strcspn(buf, "\r\n");
    if (n == 0) {
        fprintf(stderr, "kv serve: --requirepass %s: the first line is empty\n", cfg->passfile);
        return 2;
    }
    cfg->password = malloc(n + 1);
    if (cfg->password == NULL) {
        fprintf(stderr, "kv serve: out of memory\n");
        return 2;
    }
    memcpy(cfg->password, buf, n);
    cfg->password[n] = '\0';
    cfg->passlen = n;
    return 0;
}

/* A non-blocking listening socket on bind:want; the fd, or -1; *bound is
 * the port it got. */
static int serve_listen(server *s, int want, int *bound)
{
    struct addrinfo hints = {0}, *res;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%d", want);
    int rc = getaddrinfo(s->cfg.bind, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "kv serve: --bind %s: %s\n", s->cfg.bind, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 511) != 0) {
        fprintf(stderr, "kv serve: listen on %s:%d: %s\n", s->cfg.bind, want, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    *bound = want;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
        if (sa.ss_family == AF_INET)
            *bound = ntohs(((struct sockaddr_in *)&sa)->sin_port);
        else if (sa.ss_family == AF_INET6)
            *bound = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    }
    return fd;
}

/* The descriptors this process has open now. */
static size_t serve_open_fds(void)
{
    size_t n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            n += e->d_name[0] != '.';
        closedir(d);
        return n > 0 ? n - 1 : 0; /* not the one reading the directory */
    }
    struct rlimit rl;
    rlim_t top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? rl.rlim_cur : 65536;
    for (rlim_t fd = 0; fd < top; fd++)
        n += fcntl((int)fd, F_GETFD) != -1;
    return n;
}

static unsigned long long serve_limit_value(rlim_t v)
{
    return v == RLIM_INFINITY ? ULLONG_MAX : (unsigned long long)v;
}

/* Steps 1 and 2 of "Open files" (the opening comment), before kv_open;
 * in_use: the descriptors open now.  0, or 2 after a message. */
static int serve_fit_files(serve_config *cfg, size_t in_use, size_t ext_files)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        cfg->nofile = ULLONG_MAX;
        return 0;
    }
    unsigned long long tables = cfg->max_open_files > 0 ? (unsigned long long)cfg->max_open_files
                                                        : SERVE_TABLE_FILES;
    unsigned long long fixed = in_use + SERVE_OWN_FILES + SERVE_ENGINE_FILES +
                               (cfg->metrics_port >= 0 ? SERVE_HTTP_CONNS + 2 : 0) + ext_files;
    unsigned long long want = fixed + tables + cfg->maxclients;
    if (serve_limit_value(rl.rlim_cur) < want) {
        rl.rlim_cur = serve_limit_value(rl.rlim_max) < want ? rl.rlim_max : (rlim_t)want;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    unsigned long long limit = serve_limit_value(rl.rlim_cur);
    cfg->nofile = limit;
    if (limit < fixed + 2) {
        fprintf(stderr, "kv serve: the open-file limit (%llu) is too low: %zu descriptors are "
                        "open and the server and the engine need at least %llu more\n",
                limit, in_use, fixed + 2 - in_use);
        return 2;
    }
    if (cfg->max_open_files == 0 && limit < want) {
        /* Share what is left: half for the table cache, or what the
         * clients leave if that is more; at most the default. */
        unsigned long long spare = limit - fixed;
        tables = spare / 2;
        if (spare > cfg->maxclients && spare - cfg->maxclients > tables)
            tables = spare - cfg->maxclients;
        if (tables > SERVE_TABLE_FILES)
            tables = SERVE_TABLE_FILES;
        cfg->max_open_files = (int)tables;
        cfg->max_open_files_lowered = 1;
    }
    cfg->engine_files = (size_t)tables + SERVE_ENGINE_FILES;
    return 0;
}

/* Step 3, once the database is open and every descriptor of the server
 * is: engine_open is how many the engine opened.  0, or 2 after a message. */
static int serve_fit_clients(serve_config *cfg, size_t engine_open, size_t ext_files)
{
    size_t now = serve_open_fds();
    /* The engine may still open up to its budget, and at least a few more
     * whatever it holds now (a new log, a flush's table). */
    size_t more = cfg->engine_files > engine_open ? cfg->engine_files - engine_open : 0;
    if (more < SERVE_ENGINE_FILES / 2)
        more = SERVE_ENGINE_FILES / 2;
    unsigned long long taken = (unsigned long long)now + more + ext_files + 1; /* 1: to refuse
                                                                               * a client */
    if (cfg->nofile <= taken) {
        fprintf(stderr, "kv serve: the open-file limit (%llu) leaves no descriptor for a "
                        "client: %zu are open and the engine may open %zu more%s\n",
                cfg->nofile, now, more,
                cfg->max_open_files_lowered ? "" : " (a lower --max-open-files leaves more)");
        return 2;
    }
    unsigned long long fit = cfg->nofile - taken;
    if (fit < cfg->maxclients) {
        cfg->maxclients = (size_t)fit;
        cfg->maxclients_lowered = 1;
    }
    if (cfg->maxclients_lowered || cfg->max_open_files_lowered)
        serve_log("open-file limit %llu: --maxclients %s%zu, the engine's table cache %d files "
                  "(max_open_files), %zu descriptors open, %zu kept for the engine to open",
                  cfg->nofile, cfg->maxclients_lowered ? "lowered to " : "", cfg->maxclients,
                  cfg->max_open_files, now, more);
    return 0;
}

/* The extension's state, gone (after its options, or at the end). */
static void serve_drop_ext(server *s)
{
    if (s->ext != NULL)
        s->ext->destroy(s->ext_state);
    s->ext = NULL;
    s->ext_state = NULL;
}

int serve_main(const char *dir, int sync, const kv_options *knobs, int nargs, char **args,
               const serve_ext_ops *ext)
{
    server s;
    memset(&s, 0, sizeof s);
    s.epfd = s.listen_fd = s.signal_fd = -1;
    s.cfg.dir = dir;
    s.cfg.sync = sync;
    s.cfg.knobs = *knobs;
    if (ext != NULL && (s.ext_state = ext->create()) == NULL) {
        fprintf(stderr, "kv serve: out of memory\n");
        return 2;
    }
    s.ext = ext;
    int status = serve_options(&s, nargs, args);
    if (status < 0) {
        serve_drop_ext(&s);
        return 0; /* --help */
    }
    if (status == 0 && s.cfg.passfile != NULL)
        status = serve_read_password(&s.cfg);
    if (status != 0) {
        free(s.cfg.password);
        serve_drop_ext(&s);
        return status;
    }
    size_t fds_before = serve_open_fds();
    if ((status = serve_fit_files(&s.cfg, fds_before, s.ext != NULL ? s.ext->files : 0)) != 0) {
        free(s.cfg.password);
        serve_drop_ext(&s);
        return status;
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    kv_options opt = s.cfg.knobs;
    opt.sync = s.cfg.sync;
    opt.max_open_files = s.cfg.max_open_files;

    int rc = KV_OK;
    if (s.ext != NULL) { /* its engine is the extension's (a member's: the group's) */
        serve_ext_env env = {dir, opt};
        if (s.ext->start(s.ext_state, (serve_host *)&s, &env) != 0) {
            serve_drop_ext(&s);
            free(s.cfg.password);
            return 2;
        }
    } else if ((rc = kv_open(dir, &opt, &s.db)) != KV_OK) {
        fprintf(stderr, "kv serve: %s: %s\n", kv_strerror(rc), kv_errmsg());
        free(s.cfg.password);
        return 2;
    }
    size_t fds_open = serve_open_fds();
    size_t engine_open = fds_open > fds_before ? fds_open - fds_before : 0;
    status = 2;
    s.started = time(NULL);
    if (!s.cfg.stdio && (s.listen_fd = serve_listen(&s, s.cfg.port, &s.port)) < 0)
        goto out;
    int metrics_port = -1;
    if (s.cfg.metrics_port >= 0) {
        int fd = serve_listen(&s, s.cfg.metrics_port, &metrics_port);
        if (fd < 0)
            goto out;
        if (serve_http_start(&s, fd) != 0) {
            close(fd);
            goto out;
        }
    }
    if (serve_cmd_table_init(&s) != KV_OK || serve_stats_init(&s) != KV_OK) {
        fprintf(stderr, "kv serve: out of memory\n");
        goto out;
    }
    s.signal_fd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
    s.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s.signal_fd < 0 || s.epfd < 0) {
        fprintf(stderr, "kv serve: %s\n", strerror(errno));
        goto out;
    }
    if ((rc = serve_commit_init(&s)) != KV_OK) {
        fprintf(stderr, "kv serve: cannot start the writer: %s\n", kv_strerror(rc));
        goto out;
    }
    if (serve_fit_clients(&s.cfg, engine_open, s.ext != NULL ? s.ext->files : 0) != 0)
        goto out;
    if (s.cfg.stdio && serve_loop_add_stdio(&s) != 0)
        goto out;
    if (s.cfg.verbose && s.cfg.stdio)
        serve_log("stage %s, database %s, serving standard input and output%s", kv_stage(), dir,
                  s.cfg.sync ? ", sync" : "");
    else if (s.cfg.verbose)
        serve_log("stage %s, database %s, listening on %s port %d%s%s", kv_stage(), dir,
                  s.cfg.bind, s.port, s.cfg.sync ? ", sync" : "",
                  s.cfg.password != NULL ? ", password required" : "");
    if (s.cfg.verbose && metrics_port >= 0)
        serve_log("metrics on http://%s:%d/metrics", s.cfg.bind, metrics_port);
    if (serve_loop_run(&s) == 0)
        status = 0;
    if (s.cfg.verbose)
        serve_log("stopped; closing the database");
out:
    serve_http_stop(&s);
    serve_commit_free(&s);
    serve_scan_free(&s);
    for (serve_client *c = s.clients, *next; c != NULL; c = next) {
        next = c->next;
        if (c->fd >= 0)
            close(c->fd);
        serve_keys_free(c);
        serve_multi_free(&s, c); /* its queue, and its WATCH's kv_txn before kv_close */
        resp_parser_free(&c->ps);
        out_free(&c->out);
        free(c->in);
        free(c);
    }
    s.clients = NULL; /* an extension's callbacks, cancelled as it stops, find no client */
    free(s.ready);
    free(s.dirty);
    serve_stats_free(&s);
    if (s.listen_fd >= 0)
        close(s.listen_fd);
    if (s.signal_fd >= 0)
        close(s.signal_fd);
    if (s.epfd >= 0)
        close(s.epfd);
    serve_handoff_free(&s); /* what the extension settles from here on has no one to answer */
    if (s.ext != NULL)
        s.ext->stop(s.ext_state); /* a member: the group left, its engine closed (s.db NULL) */
    serve_drop_ext(&s);
    serve_cmd_table_free(&s);
    rc = kv_close(s.db);
    if (rc != KV_OK) {
        fprintf(stderr, "kv serve: closing the database: %s: %s\n", kv_strerror(rc), kv_errmsg());
        status = 2;
    }
    free(s.cfg.password);
    return status;
}
