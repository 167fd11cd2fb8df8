/*
 * peer_flood.c: build/bench/peer_flood, an outsider holding unfinished
 * openings at stage 10 members' Raft ports, for `make bench-flood`
 * (scripts/bench_flood.sh; docs/10-raft-security.md, "Who may talk to a member").
 *
 *   peer_flood [--host 127.0.0.1] [--from ADDR] [-c PER_PORT] [-s SECONDS] [-k KINDS] PORT...
 *
 * Holds PER_PORT connections (1,000) to each port, in the kinds KINDS
 * names ("0123" by default), taken in turn: 0 idle (nothing sent), 1 half
 * the 16-byte opening, 2 a whole opening claiming member 1 and then
 * nothing, 3 the opening followed by a TLS 1.3 ClientHello and then
 * nothing (the member answers it: a handshake it computes and that never
 * ends), and 4 a handshake storm: the opening and the ClientHello, and
 * as soon as the member's first answer comes (its key share and
 * signature computed), a reset and a new connection at once.  Each
 * connection the member closes (its deadline) is opened again at once,
 * as a flood that wants its slots back would; one refused at once (a
 * port nothing listens on) is tried again 100 ms later.  It never answers
 * what it is sent.  --from binds every connection to that local address
 * (127.0.0.2, say: a stranger's, not the members' 127.0.0.1).  Runs
 * SECONDS (0: until SIGTERM or SIGINT), then prints one line:
 *
 *   opened,closed_by_member,cpu_s,answers
 *
 * the connections it made, those the members closed, the CPU time it
 * used (user and system), which it takes from the machine the members
 * share, and the handshakes the storm (kind 4) had answered.  One thread, epoll; it raises its open-file limit to what it
 * holds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#define FLOOD_PORTS 16

typedef struct flood_conn {
    int fd, port_i, kind, sent;
    double opened_at, retry_at;     /* retry_at > 0: waiting to be opened again */
} flood_conn;

static volatile sig_atomic_t flood_stop;
static struct sockaddr_in flood_addr[FLOOD_PORTS];
static struct sockaddr_in flood_from; /* sin_family 0: not bound */
static unsigned char flood_hello[2048];
static size_t flood_hello_len;
static unsigned long long flood_opened, flood_closed, flood_answers;

static void flood_signal(int sig)
{
    (void)sig;
    flood_stop = 1;
}

static double flood_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The first bytes of a TLS 1.3 handshake, from a client with no
 * certificate, made once with OpenSSL's memory BIOs. */
static void flood_make_hello(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL *ssl = SSL_new(ctx);
    BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
    SSL_do_handshake(ssl);
    int n = BIO_read(out, flood_hello, sizeof flood_hello);
    flood_hello_len = n > 0 ? (size_t)n : 0;
    SSL_free(ssl);
    SSL_CTX_free(ctx);
}

/* The 16-byte opening claiming member 1, in TLS mode (peer_hello.h). */
static void flood_opening(unsigned char out[16])
{
    memcpy(out, "kvpeer", 6);
    out[6] = 1;
    out[7] = 1;
    memset(out + 8, 0, 8);
    out[8] = 1;
}

static void flood_open(int ep, flood_conn *c)
{
    c->retry_at = 0;
    c->sent = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        c->retry_at = flood_now() + 0.1;
        return;
    }
    if (flood_from.sin_family != 0 &&
        bind(c->fd, (struct sockaddr *)&flood_from, sizeof flood_from) != 0) {
        close(c->fd);
        c->fd = -1;
        c->retry_at = flood_now() + 0.1;
        return;
    }
    int rv = connect(c->fd, (struct sockaddr *)&flood_addr[c->port_i], sizeof flood_addr[0]);
    if (rv != 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        c->retry_at = flood_now() + 0.1;
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->opened_at = flood_now();
    flood_opened++;
}

/* Connected: its kind's bytes, then it only waits. */
static void flood_send(int ep, flood_conn *c)
{
    unsigned char buf[16 + sizeof flood_hello];
    size_t n = 0;
    flood_opening(buf);
    if (c->kind == 1)
        n = 8;
    else if (c->kind == 2)
        n = 16;
    else if (c->kind == 3 || c->kind == 4) {
        memcpy(buf + 16, flood_hello, flood_hello_len);
        n = 16 + flood_hello_len;
    }
    if (n > 0 && send(c->fd, buf, n, MSG_NOSIGNAL) < 0) {
        /* closed already: the read side says so */
    }
    c->sent = 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void flood_closed_one(int ep, flood_conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    flood_closed++;
    /* At once, as a flood that wants its slot back; 100 ms later if it
     * lasted less than that (nothing listening, or refused at once). */
    c->retry_at = flood_now() + (flood_now() - c->opened_at < 0.1 ? 0.1 : 0.0);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long per = 1000, seconds = 0;
    const char *kinds = "0123";
    int nports = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
            host = argv[++i];
        else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            per = atol(argv[++i]);
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            seconds = atol(argv[++i]);
        else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc)
            kinds = argv[++i];
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
            flood_from.sin_family = AF_INET;
            if (inet_pton(AF_INET, argv[++i], &flood_from.sin_addr) != 1) {
                fprintf(stderr, "peer_flood: %s is not an IPv4 address\n", argv[i]);
                return 2;
            }
        }
        else if (nports < FLOOD_PORTS && atoi(argv[i]) > 0) {
            flood_addr[nports].sin_family = AF_INET;
            flood_addr[nports].sin_port = htons((uint16_t)atoi(argv[i]));
            if (inet_pton(AF_INET, host, &flood_addr[nports].sin_addr) != 1) {
                fprintf(stderr, "peer_flood: %s is not an IPv4 address\n", host);
                return 2;
            }
            nports++;
        } else {
            int help = strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
            fprintf(help ? stdout : stderr, "usage: peer_flood [--host 127.0.0.1] [--from ADDR] "
                                            "[-c PER_PORT] [-s SECONDS] [-k KINDS] PORT...\n");
            return help ? 0 : 2;
        }
    }
    size_t nkinds = strlen(kinds);
    if (nports == 0 || per < 1 || per > 100000 || nkinds == 0 ||
        strspn(kinds, "01234") != nkinds) {
        fprintf(stderr, "peer_flood: give at least one port, -c from 1 to 100000, and -k "
                        "from 0, 1, 2, 3, 4\n");
        return 2;
    }
    size_t n = (size_t)per * (size_t)nports;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 64) {
        rl.rlim_cur = rl.rlim_max < n + 64 ? rl.rlim_max : n + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGTERM, flood_signal);
    signal(SIGINT, flood_signal);
    signal(SIGPIPE, SIG_IGN);
    flood_make_hello();
    flood_conn *conns = calloc(n, sizeof *conns);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (conns == NULL || ep < 0) {
        fprintf(stderr, "peer_flood: %s\n", strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        conns[i].port_i = (int)(i % (size_t)nports);
        conns[i].kind = kinds[i / (size_t)nports % nkinds] - '0';
        flood_open(ep, &conns[i]);
    }
    double end = seconds > 0 ? flood_now() + (double)seconds : 0;
    struct epoll_event evs[256];
    char sink[4096];
    while (!flood_stop && (end == 0 || flood_now() < end)) {
        int got = epoll_wait(ep, evs, 256, 20);
        for (int e = 0; e < got; e++) {
            flood_conn *c = evs[e].data.ptr;
            if (c->fd < 0)
                continue;
            if ((evs[e].events & EPOLLOUT) && !c->sent &&
                !(evs[e].events & (EPOLLERR | EPOLLHUP))) {
                flood_send(ep, c);
                continue;
            }
            ssize_t r = recv(c->fd, sink, sizeof sink, 0);
            if (r > 0 && c->kind == 4) { /* the storm: the answer came; reset, again */
                struct linger reset = {1, 0};
                setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
                flood_closed_one(ep, c);
                flood_closed--; /* (closed by the storm, not by the member) */
                c->retry_at = flood_now();
                flood_answers++;
                continue;
            }
            if (r > 0)
                continue; /* the member's TLS answer: never answered back */
            if (r < 0 && errno == EAGAIN && !(evs[e].events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
                continue;
            flood_closed_one(ep, c);
        }
        double now = flood_now();
        for (size_t i = 0; i < n; i++)
            if (conns[i].fd < 0 && conns[i].retry_at > 0 && conns[i].retry_at <= now)
                flood_open(ep, &conns[i]);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                 ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
    printf("%llu,%llu,%.2f,%llu\n", flood_opened, flood_closed, cpu, flood_answers);
    for (size_t i = 0; i < n; i++)
        if (conns[i].fd >= 0)
            close(conns[i].fd);
    free(conns);
    close(ep);
    return 0;
}
