/*
 * raft_load.c: build/bench/raft_load, SET- or GET-shaped load of the same
 * shape as `redis-benchmark -t set|get -c C -n N -r N -d D`, for the
 * servers, promises and read paths redis-benchmark cannot drive (`make
 * bench-raft`, scripts/bench_raft.sh, docs/perf-10-raft.md).
 *
 *   raft_load --proto resp|resp-wait|resp-get|resp-readonly-get
 *             [--host 127.0.0.1] --port P
 *             [-c CLIENTS] [-n REQUESTS] [-r KEYS] [-d VALUE_BYTES]
 *
 * C connections (50), each a thread running a closed loop: send one
 * request, read its whole answer, send the next.  N requests (100,000) in
 * all, shared out evenly; each writes (or, for the GET protocols, reads) a
 * random key of [0, KEYS) (KEYS = N by default), named "key:%012lu" like
 * redis-benchmark's; a write's value is D bytes of 'x' (3).  Each
 * request's latency, from its write to the end of its answer, is kept
 * (CLOCK_MONOTONIC); at the end every latency is sorted and one line
 * printed:
 *
 *   rps,p50_ms,p99_ms
 *
 * three columns of build/bench-raft/results.csv (rps: answered requests over
 * the wall time from the moment every connection is open to the last
 * answer).  Failed requests are counted and named on stderr; the program
 * then exits 3 (the line is printed all the same).  A connection that
 * cannot be opened (or, for resp-readonly-get, is not answered +OK to its
 * READONLY), is closed by the server or stays silent for 10 s ends the
 * run: a message on stderr, exit 1.
 *
 * The protocols:
 *   resp       SET key value; the answer must be +OK.
 *   resp-wait  SET key value and WAIT 1 1000, written together (one write,
 *              pipelined), both answers read: +OK, then an integer >= 1,
 *              the number of replicas that acknowledged the write.  A write
 *              answered once a replica holds it: Redis's nearest promise to
 *              a Raft commit (a replica that holds it in memory, not on
 *              disk, and no election to say which copy wins).
 *   resp-get   GET key; the answer must be a bulk string or a nil bulk
 *              string ($-1, a key never written); anything else, such as
 *              -MOVED from a follower or -ERR, fails.  On a stage 10
 *              leader this is a linearizable read: it waits for a read
 *              index (a barrier committed by a majority).
 *   resp-readonly-get
 *              each connection sends READONLY once, before the clock
 *              starts, and needs +OK; then GETs as resp-get.  Sent to a
 *              stage 10 follower, each GET reads that follower's own
 *              engine, possibly stale, with no barrier.
 *
 * etcd is driven by build/bench/etcd_load (bench/etcd_load/main.go), on
 * etcd's own client library, with the same loops, keys, values and
 * output line.
 *
 * A thread per connection keeps each loop plain to read; on a two-core
 * machine the 50 threads share the cores with the servers, as
 * redis-benchmark's one thread does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOAD_BUF 65536
#define LOAD_SILENCE_S 10
#define LOAD_MAX_VALUE 4096

enum load_proto {
    PROTO_NONE,
    PROTO_RESP,
    PROTO_RESP_WAIT,
    PROTO_RESP_GET,
    PROTO_RESP_READONLY_GET
};

typedef struct load_conf {
    enum load_proto proto;
    const char *host;
    int port;
    long clients;
    long requests;
    long keys;
    long value_bytes;
} load_conf;

/* One connection: its socket, a read buffer [buf + pos, buf + len), its
 * share of the requests and what it measured. */
typedef struct load_conn {
    const load_conf *conf;
    int id;
    int fd;
    char buf[LOAD_BUF];
    size_t pos, len;
    long todo;
    uint64_t *lat_ns; /* todo entries, one per request */
    long done, failed;
    uint64_t rng;
    char last_error[160];
} load_conn;

static pthread_barrier_t load_start;

static uint64_t load_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void load_die(const char *fmt, const char *arg) {
    fprintf(stderr, "raft_load: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

/* xorshift64*: a per-connection generator, so threads share no state. */
static uint64_t load_random(load_conn *c) {
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 2685821657736338717ull;
}

/* ---- the socket --------------------------------------------------------- */

static int load_connect(const load_conf *conf) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)conf->port)};
    if (inet_pton(AF_INET, conf->host, &sa.sin_addr) != 1)
        load_die("--host %s is not an IPv4 address", conf->host);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        load_die("socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        char where[64];
        snprintf(where, sizeof where, "%s:%d", conf->host, conf->port);
        fprintf(stderr, "raft_load: cannot connect to %s: %s\n", where, strerror(errno));
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = LOAD_SILENCE_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void load_conn_die(load_conn *c, const char *what) {
    fprintf(stderr, "raft_load: connection %d to %s:%d: %s\n", c->id, c->conf->host,
            c->conf->port, what);
    exit(1);
}

static void load_send(load_conn *c, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            load_conn_die(c, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
}

/* Reads more bytes into the buffer, first moving what is unread to its
 * start.  Ends the run if the server closes or stays silent. */
static void load_fill(load_conn *c) {
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    if (c->len == sizeof c->buf)
        load_conn_die(c, "an answer larger than the read buffer");
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r > 0) {
            c->len += (size_t)r;
            return;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            load_conn_die(c, "closed by the server");
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            load_conn_die(c, "no answer in 10 s");
        load_conn_die(c, strerror(errno));
    }
}

/* The next line, without its CRLF, as a NUL-terminated string that stays
 * valid until the next read from the connection. */
static char *load_line(load_conn *c) {
    for (;;) {
        char *start = c->buf + c->pos;
        char *nl = memchr(start, '\n', c->len - c->pos);
        if (nl != NULL) {
            c->pos = (size_t)(nl + 1 - c->buf);
            if (nl > start && nl[-1] == '\r')
                nl--;
            *nl = '\0';
            return start;
        }
        load_fill(c);
    }
}

/* Skips n bytes of the answer. */
static void load_skip(load_conn *c, size_t n) {
    while (n > 0) {
        if (c->pos == c->len)
            load_fill(c);
        size_t have = c->len - c->pos;
        size_t take = have < n ? have : n;
        c->pos += take;
        n -= take;
    }
}

/* Notes why a request failed; returns 0, the answer's verdict. */
static int load_fail(load_conn *c, const char *what, const char *got) {
    snprintf(c->last_error, sizeof c->last_error, "%s: %.100s", what, got);
    return 0;
}

/* ---- RESP ----------------------------------------------------------------- */

static const char resp_bulk[] = "a bulk string";
static const char resp_nil[] = "a nil bulk string";

/* Reads one RESP reply and returns its line (type byte first) for a
 * simple string, an error or an integer; a bulk string is read whole and
 * named by resp_bulk or resp_nil (compared by address), an array (which
 * SET, GET and WAIT never answer) read whole and named by its type. */
static const char *resp_reply(load_conn *c) {
    char *line = load_line(c);
    long n = strtol(line + 1, NULL, 10);
    if (line[0] == '$') {
        if (n < 0)
            return resp_nil;
        load_skip(c, (size_t)n + 2);
        return resp_bulk;
    }
    if (line[0] == '*') {
        for (long i = 0; i < n; i++)
            resp_reply(c);
        return "an array";
    }
    return line;
}

static int resp_is_get(const load_conf *conf) {
    return conf->proto == PROTO_RESP_GET || conf->proto == PROTO_RESP_READONLY_GET;
}

static size_t resp_request(const load_conn *c, char *out, size_t cap, const char *key,
                           const char *value) {
    size_t klen = strlen(key), vlen = strlen(value);
    if (resp_is_get(c->conf))
        return (size_t)snprintf(out, cap, "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", klen, key);
    int n = snprintf(out, cap, "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", klen, key, vlen,
                     value);
    if (c->conf->proto == PROTO_RESP_WAIT)
        n += snprintf(out + n, cap - (size_t)n,
                      "*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$4\r\n1000\r\n");
    return (size_t)n;
}

/* Reads the answers to one request; returns 1 if the write (or the read)
 * succeeded. */
static int resp_answer(load_conn *c) {
    if (resp_is_get(c->conf)) {
        const char *got = resp_reply(c);
        return got == resp_bulk || got == resp_nil || load_fail(c, "GET answered", got);
    }
    const char *set = resp_reply(c);
    int ok = strcmp(set, "+OK") == 0 || load_fail(c, "SET answered", set);
    if (c->conf->proto != PROTO_RESP_WAIT)
        return ok;
    const char *wait = resp_reply(c); /* set is not valid from here */
    if (!ok)
        return 0;
    if (wait[0] != ':')
        return load_fail(c, "WAIT answered", wait);
    if (strtol(wait + 1, NULL, 10) < 1)
        return load_fail(c, "WAIT 1 1000: no replica acknowledged in 1 s", wait);
    return 1;
}

/* READONLY, once on a new connection, before the clock starts: from here
 * a follower answers this connection's reads from its own engine. */
static void resp_readonly(load_conn *c) {
    static const char req[] = "*1\r\n$8\r\nREADONLY\r\n";
    load_send(c, req, sizeof req - 1);
    const char *got = resp_reply(c);
    if (strcmp(got, "+OK") != 0) {
        char what[160];
        snprintf(what, sizeof what, "READONLY answered %.100s", got);
        load_conn_die(c, what);
    }
}

/* ---- the loop ------------------------------------------------------------- */

static void *load_run(void *arg) {
    load_conn *c = arg;
    const load_conf *conf = c->conf;
    char value[LOAD_MAX_VALUE + 1];
    memset(value, 'x', (size_t)conf->value_bytes);
    value[conf->value_bytes] = '\0';
    char req[2 * LOAD_MAX_VALUE + 512];
    pthread_barrier_wait(&load_start);
    for (long i = 0; i < c->todo; i++) {
        char key[32];
        snprintf(key, sizeof key, "key:%012lu",
                 (unsigned long)(load_random(c) % (uint64_t)conf->keys));
        size_t n = resp_request(c, req, sizeof req, key, value);
        uint64_t t0 = load_now_ns();
        load_send(c, req, n);
        int ok = resp_answer(c);
        c->failed += !ok;
        c->lat_ns[c->done++] = load_now_ns() - t0;
    }
    return NULL;
}

static int load_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The nearest-rank percentile p (0..1) of n sorted values, in ms. */
static double load_percentile_ms(const uint64_t *sorted, long n, double p) {
    long rank = (long)(p * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    return (double)sorted[rank - 1] / 1e6;
}

/* The usage, on standard output with status 0 when asked (--help), else on
 * standard error with status 2. */
static void load_usage_to(FILE *out, int status) {
    fprintf(out, "usage: raft_load --proto resp|resp-wait|resp-get|resp-readonly-get\n"
                 "                 [--host 127.0.0.1] --port P\n"
                 "                 [-c CLIENTS] [-n REQUESTS] [-r KEYS] [-d VALUE_BYTES]\n"
                 "Prints rps,p50_ms,p99_ms (the header of this file, bench/raft_load.c,\n"
                 "says what each protocol sends and checks).\n");
    exit(status);
}

static void load_usage(void) { load_usage_to(stderr, 2); }

static long load_number(const char *s, long min, long max, const char *name) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < min || v > max)
        load_die("%s: a number out of range", name);
    return v;
}

int main(int argc, char **argv) {
    load_conf conf = {.host = "127.0.0.1", .clients = 50, .requests = 100000,
                      .value_bytes = 3};
    static const struct option opts[] = {
        {"proto", required_argument, NULL, 'P'}, {"host", required_argument, NULL, 'A'},
        {"port", required_argument, NULL, 'p'},  {"clients", required_argument, NULL, 'c'},
        {"requests", required_argument, NULL, 'n'}, {"keys", required_argument, NULL, 'r'},
        {"value-bytes", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "hP:p:c:n:r:d:", opts, NULL)) != -1) {
        switch (o) {
        case 'h': load_usage_to(stdout, 0); break;
        case 'P':
            if (strcmp(optarg, "resp") == 0)
                conf.proto = PROTO_RESP;
            else if (strcmp(optarg, "resp-wait") == 0)
                conf.proto = PROTO_RESP_WAIT;
            else if (strcmp(optarg, "resp-get") == 0)
                conf.proto = PROTO_RESP_GET;
            else if (strcmp(optarg, "resp-readonly-get") == 0)
                conf.proto = PROTO_RESP_READONLY_GET;
            else
                load_usage();
            break;
        case 'A': conf.host = optarg; break;
        case 'p': conf.port = (int)load_number(optarg, 1, 65535, "--port"); break;
        case 'c': conf.clients = load_number(optarg, 1, 10000, "-c"); break;
        case 'n': conf.requests = load_number(optarg, 1, 1000000000, "-n"); break;
        case 'r': conf.keys = load_number(optarg, 1, 1000000000000, "-r"); break;
        case 'd': conf.value_bytes = load_number(optarg, 1, LOAD_MAX_VALUE, "-d"); break;
        default: load_usage();
        }
    }
    if (conf.proto == PROTO_NONE || conf.port == 0 || optind != argc)
        load_usage();
    if (conf.keys == 0)
        conf.keys = conf.requests;
    if (conf.clients > conf.requests)
        conf.clients = conf.requests;

    /* Every connection is opened (and its READONLY answered) before the
     * clock starts. */
    load_conn *conns = calloc((size_t)conf.clients, sizeof *conns);
    uint64_t *lat = malloc((size_t)conf.requests * sizeof *lat);
    pthread_t *threads = calloc((size_t)conf.clients, sizeof *threads);
    if (conns == NULL || lat == NULL || threads == NULL)
        load_die("%s", "out of memory");
    long given = 0;
    for (long i = 0; i < conf.clients; i++) {
        load_conn *c = &conns[i];
        c->conf = &conf;
        c->id = (int)i;
        c->fd = load_connect(&conf);
        if (conf.proto == PROTO_RESP_READONLY_GET)
            resp_readonly(c);
        c->todo = conf.requests / conf.clients + (i < conf.requests % conf.clients);
        c->lat_ns = lat + given;
        given += c->todo;
        c->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
    }
    pthread_barrier_init(&load_start, NULL, (unsigned)conf.clients + 1);
    for (long i = 0; i < conf.clients; i++) {
        int err = pthread_create(&threads[i], NULL, load_run, &conns[i]);
        if (err != 0)
            load_die("pthread_create: %s", strerror(err));
    }
    pthread_barrier_wait(&load_start);
    uint64_t t0 = load_now_ns();
    for (long i = 0; i < conf.clients; i++)
        pthread_join(threads[i], NULL);
    double secs = (double)(load_now_ns() - t0) / 1e9;

    long failed = 0;
    for (long i = 0; i < conf.clients; i++) {
        if (conns[i].failed > 0 && failed == 0)
            fprintf(stderr, "raft_load: %s\n", conns[i].last_error);
        failed += conns[i].failed;
        close(conns[i].fd);
    }
    qsort(lat, (size_t)conf.requests, sizeof *lat, load_cmp_u64);
    printf("%.2f,%.3f,%.3f\n", (double)(conf.requests - failed) / secs,
           load_percentile_ms(lat, conf.requests, 0.50), load_percentile_ms(lat, conf.requests, 0.99));
    free(threads);
    free(lat);
    free(conns);
    if (failed > 0) {
        fprintf(stderr, "raft_load: %ld of %ld requests failed\n", failed, conf.requests);
        return 3;
    }
    return 0;
}
