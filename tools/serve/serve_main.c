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
 *   --verbose           log start-up, connections and shutdown on stderr
 *
 * Start-up: read the password, open the database, listen, block SIGTERM
 * and SIGINT in every thread (they arrive through a signalfd in the loop),
 * start the writer thread (with --sync), run the loop.  After the loop
 * returns, every acknowledged write has been applied: close the database.
 * Without --verbose the server prints nothing but one line per connection
 * error (and start-up errors).
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve.h"
#include "server.h"

void serve_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n] = '\n';
    line[n + 1] = '\0';
    fprintf(stderr, "kv serve: %s", line);
}

static int serve_usage(void)
{
    fprintf(stderr,
            "usage: kv DIR serve [--port N] [--bind ADDR] [--sync] [--requirepass FILE]\n"
            "                    [--maxclients N] [--verbose]\n"
            "Serves the database in DIR over the Redis protocol (RESP2); see docs/server.md.\n");
    return 2;
}

/* Parses a decimal number in [lo, hi]; 0 if it is not one. */
static int serve_number(const char *s, long lo, long hi, long *v)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n < lo || n > hi)
        return 0;
    *v = n;
    return 1;
}

static int serve_options(serve_config *cfg, int nargs, char **args)
{
    cfg->bind = "127.0.0.1";
    cfg->port = 6380;
    cfg->maxclients = SERVE_MAXCLIENTS;
    for (int i = 0; i < nargs; i++) {
        const char *a = args[i];
        int has_value = i + 1 < nargs;
        long v;
        if (strcmp(a, "--sync") == 0) {
            cfg->sync = 1;
        } else if (strcmp(a, "--verbose") == 0) {
            cfg->verbose = 1;
        } else if (strcmp(a, "--port") == 0 && has_value && serve_number(args[i + 1], 0, 65535, &v)) {
            cfg->port = (int)v;
            i++;
        } else if (strcmp(a, "--maxclients") == 0 && has_value &&
                   serve_number(args[i + 1], 1, 1000000, &v)) {
            cfg->maxclients = (size_t)v;
            i++;
        } else if (strcmp(a, "--bind") == 0 && has_value) {
            cfg->bind = args[++i];
        } else if (strcmp(a, "--requirepass") == 0 && has_value) {
            cfg->passfile = args[++i];
        } else {
            fprintf(stderr, "kv serve: bad option '%s'%s\n", a,
                    has_value || a[0] != '-' ? "" : " (it needs a value)");
            return serve_usage();
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

/* A non-blocking listening socket on bind:port; the fd, or -1. */
static int serve_listen(server *s)
{
    struct addrinfo hints = {0}, *res;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%d", s->cfg.port);
    int rc = getaddrinfo(s->cfg.bind, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "kv serve: --bind %s: %s\n", s->cfg.bind, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 511) != 0) {
        fprintf(stderr, "kv serve: listen on %s:%d: %s\n", s->cfg.bind, s->cfg.port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    s->port = s->cfg.port;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
        if (sa.ss_family == AF_INET)
            s->port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
        else if (sa.ss_family == AF_INET6)
            s->port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    }
    return fd;
}

/* Room for maxclients sockets: raise the soft limit on open files, or
 * lower maxclients to what fits (as Redis does). */
static void serve_fit_maxclients(serve_config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)cfg->maxclients + 32;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < want && rl.rlim_cur > 64) {
        cfg->maxclients = (size_t)(rl.rlim_cur - 32);
        serve_log("--maxclients lowered to %zu (open-file limit %llu)", cfg->maxclients,
                  (unsigned long long)rl.rlim_cur);
    }
}

int serve_main(const char *dir, int nargs, char **args)
{
    server s;
    memset(&s, 0, sizeof s);
    s.epfd = s.listen_fd = s.signal_fd = -1;
    s.cfg.dir = dir;
    int status = serve_options(&s.cfg, nargs, args);
    if (status == 0 && s.cfg.passfile != NULL)
        status = serve_read_password(&s.cfg);
    if (status != 0) {
        free(s.cfg.password);
        return status;
    }
    serve_fit_maxclients(&s.cfg);
    signal(SIGPIPE, SIG_IGN);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    kv_options opt;
    kv_options_init(&opt);
    opt.sync = s.cfg.sync;
    int rc = kv_open(dir, &opt, &s.db);
    if (rc != KV_OK) {
        fprintf(stderr, "kv serve: %s: %s\n", kv_strerror(rc), kv_errmsg());
        free(s.cfg.password);
        return 2;
    }
    status = 2;
    s.started = time(NULL);
    if ((s.listen_fd = serve_listen(&s)) < 0)
        goto out;
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
    if (s.cfg.verbose)
        serve_log("stage %s, database %s, listening on %s port %d%s%s", kv_stage(), dir,
                  s.cfg.bind, s.port, s.cfg.sync ? ", sync" : "",
                  s.cfg.password != NULL ? ", password required" : "");
    if (serve_loop_run(&s) == 0)
        status = 0;
    if (s.cfg.verbose)
        serve_log("stopped; closing the database");
out:
    serve_commit_free(&s);
    serve_scan_free(&s);
    for (serve_client *c = s.clients, *next; c != NULL; c = next) {
        next = c->next;
        if (c->fd >= 0)
            close(c->fd);
        resp_parser_free(&c->ps);
        out_free(&c->out);
        free(c->in);
        free(c);
    }
    free(s.ready);
    free(s.dirty);
    if (s.listen_fd >= 0)
        close(s.listen_fd);
    if (s.signal_fd >= 0)
        close(s.signal_fd);
    if (s.epfd >= 0)
        close(s.epfd);
    rc = kv_close(s.db);
    if (rc != KV_OK) {
        fprintf(stderr, "kv serve: closing the database: %s: %s\n", kv_strerror(rc), kv_errmsg());
        status = 2;
    }
    free(s.cfg.password);
    return status;
}
