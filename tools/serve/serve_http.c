/*
 * serve_http.c: `kv serve --metrics-port N`, a small HTTP/1.1 server on
 * the loop thread that answers GET /metrics with the Prometheus text
 * format (serve_metrics.c).  See docs/metrics.md.
 *
 * It must never hold up the Redis clients, whatever an HTTP client does,
 * so everything is non-blocking and bounded:
 *   - its sockets live in an epoll set of their own, itself in the loop's
 *     set: when one is ready the loop calls serve_http_ready, which does
 *     what is ready and returns;
 *   - at most SERVE_HTTP_CONNS connections; one more evicts the one that
 *     has been quiet longest (a full table of idle connections cannot
 *     keep a scraper out);
 *   - a request (line and headers) is at most SERVE_HTTP_REQUEST bytes
 *     (431 and closed beyond) and must arrive whole within
 *     SERVE_HTTP_REQUEST_MS of its first byte (closed otherwise: a client
 *     that sends a byte a second gets nowhere);
 *   - replies wait in a buffer that is sent as the socket takes it; while
 *     SERVE_HTTP_OUT bytes wait, no further request of that connection is
 *     read, and a connection whose replies make no progress for
 *     SERVE_HTTP_WRITE_MS is closed (a client that never reads);
 *   - an idle keep-alive connection is closed after SERVE_HTTP_IDLE_MS;
 *   - a connection the server closes (an error, "Connection: close") is
 *     shut for writing once its reply is sent, and read until the peer
 *     closes, at most SERVE_HTTP_DRAIN_MS (else unread input would reset
 *     it and the reply could be lost).
 * Building the body reads kv_stats and the server's counts: what INFO
 * costs, in time proportional to the number of metrics.
 *
 * Requests (http_request.h reads them): GET or HEAD; /metrics (any query
 * string) is the metrics, / a line saying where they are, anything else
 * 404; other methods 405; a request with a body (Content-Length other
 * than 0, Transfer-Encoding) 400.  HTTP/1.1 keeps the connection unless
 * it says "Connection: close"; HTTP/1.0 closes it unless it says
 * "keep-alive".
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_request.h"
#include "server.h"

typedef struct http_conn http_conn;
struct http_conn {
    int fd;
    char in[SERVE_HTTP_REQUEST];
    size_t in_len;
    serve_out out;
    long long started_ms;    /* the first byte of the request being read, or 0 */
    long long active_ms;     /* the last byte read or written */
    int closing;             /* close once out is sent */
    int draining;            /* sent, our side shut: reading what the peer still sends */
    unsigned events;
    http_conn *prev, *next;
};

struct serve_http {
    int listen_fd, epfd;
    http_conn *conns;
    size_t nconns;
    unsigned long long requests, evicted, timed_out;
};

static void http_close(struct serve_http *h, http_conn *k)
{
    epoll_ctl(h->epfd, EPOLL_CTL_DEL, k->fd, NULL);
    close(k->fd);
    if (k->prev != NULL)
        k->prev->next = k->next;
    else
        h->conns = k->next;
    if (k->next != NULL)
        k->next->prev = k->prev;
    h->nconns--;
    out_free(&k->out);
    free(k);
}

int serve_http_start(server *s, int listen_fd)
{
    struct serve_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return -1;
    h->listen_fd = listen_fd;
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (h->epfd < 0 || epoll_ctl(h->epfd, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
        serve_log("--metrics-port: epoll: %s", strerror(errno));
        if (h->epfd >= 0)
            close(h->epfd);
        free(h);
        return -1;
    }
    s->http = h;
    return 0;
}

int serve_http_fd(const server *s)
{
    return s->http != NULL ? s->http->epfd : -1;
}

void serve_http_stop(server *s)
{
    struct serve_http *h = s->http;
    if (h == NULL)
        return;
    if (s->epfd >= 0)
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, h->epfd, NULL);
    while (h->conns != NULL)
        http_close(h, h->conns);
    close(h->listen_fd);
    close(h->epfd);
    free(h);
    s->http = NULL;
}

/* What epoll should watch for k now. */
static void http_update(struct serve_http *h, http_conn *k)
{
    unsigned want = 0;
    if (k->draining || (!k->closing && out_pending(&k->out) < SERVE_HTTP_OUT))
        want |= EPOLLIN;
    if (out_pending(&k->out) > 0)
        want |= EPOLLOUT;
    if (want == k->events)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = k};
    if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, k->fd, &ev) == 0)
        k->events = want;
}

static void http_accept(server *s, struct serve_http *h)
{
    for (;;) {
        int fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or out of descriptors: the next event tries again */
        if (h->nconns >= SERVE_HTTP_CONNS) {
            http_conn *quiet = h->conns;
            for (http_conn *k = h->conns; k != NULL; k = k->next)
                if (k->active_ms < quiet->active_ms)
                    quiet = k;
            http_close(h, quiet);
            h->evicted++;
        }
        http_conn *k = calloc(1, sizeof *k);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = k};
        if (k == NULL || epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            free(k);
            close(fd);
            continue;
        }
        k->fd = fd;
        k->events = EPOLLIN;
        k->active_ms = serve_now_ms();
        k->next = h->conns;
        if (h->conns != NULL)
            h->conns->prev = k;
        h->conns = k;
        h->nconns++;
        (void)s;
    }
}

/* Queues a whole response; a body of blen bytes (sent unless HEAD). */
static void http_respond(http_conn *k, int head, const char *status, const char *type,
                         const char *body, size_t blen, const char *extra)
{
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
                     status, type, blen, extra != NULL ? extra : "",
                     k->closing ? "Connection: close\r\n" : "");
    out_bytes(&k->out, hdr, (size_t)n);
    if (!head)
        out_bytes(&k->out, body, blen);
}

static void http_error(http_conn *k, const char *status, const char *extra)
{
    char body[128];
    int n = snprintf(body, sizeof body, "%s\n", status);
    http_respond(k, 0, status, "text/plain; charset=utf-8", body, (size_t)n, extra);
}

/* Answers the request whose head is k->in[0, len) (http_request.h). */
static void http_answer(server *s, struct serve_http *h, http_conn *k, size_t len)
{
    h->requests++;
    http_request r;
    http_request_parse(k->in, len, &r);
    if (!r.keep_alive)
        k->closing = 1;
    switch (r.verdict) {
    case HTTP_BAD_REQUEST:
        http_error(k, "400 Bad Request", NULL);
        break;
    case HTTP_BAD_METHOD:
        http_error(k, "405 Method Not Allowed", "Allow: GET, HEAD\r\n");
        break;
    case HTTP_METRICS: {
        serve_out body = {0};
        const struct serve_http *h = s->http;
        serve_http_counts counts = {h->nconns, h->requests, h->evicted, h->timed_out};
        serve_metrics_text(s, &counts, &body);
        if (body.failed) {
            k->closing = 1;
            http_error(k, "500 Internal Server Error", NULL);
        } else {
            http_respond(k, r.head, "200 OK", "text/plain; version=0.0.4; charset=utf-8",
                         body.buf, body.len, NULL);
        }
        out_free(&body);
        break;
    }
    case HTTP_ROOT: {
        static const char hello[] = "kv serve: the metrics are at /metrics\n";
        http_respond(k, r.head, "200 OK", "text/plain; charset=utf-8", hello,
                     sizeof hello - 1, NULL);
        break;
    }
    case HTTP_NOT_FOUND:
        http_error(k, "404 Not Found", NULL);
        break;
    }
}

/* Answers every whole request in k->in, while there is room for replies. */
static void http_parse(server *s, struct serve_http *h, http_conn *k)
{
    while (!k->closing && k->in_len > 0 && out_pending(&k->out) < SERVE_HTTP_OUT) {
        size_t len = http_request_end(k->in, k->in_len);
        if (len == 0) {
            if (k->in_len == sizeof k->in) {
                k->closing = 1;
                http_error(k, "431 Request Header Fields Too Large", NULL);
            }
            return;
        }
        http_answer(s, h, k, len);
        memmove(k->in, k->in + len, k->in_len - len);
        k->in_len -= len;
        k->started_ms = k->in_len > 0 ? serve_now_ms() : 0;
    }
}

/* Sends what the socket takes; -1 if the connection is to be closed. */
static int http_flush(http_conn *k)
{
    while (out_pending(&k->out) > 0) {
        ssize_t n = send(k->fd, k->out.buf + k->out.sent, out_pending(&k->out), MSG_NOSIGNAL);
        if (n > 0) {
            k->out.sent += (size_t)n;
            k->active_ms = serve_now_ms();
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            return -1;
        }
    }
    out_compact(&k->out);
    if (k->out.failed)
        return -1;
    if (k->closing && out_pending(&k->out) == 0 && !k->draining) {
        /* A lingering close: closing with unread input would reset the
         * connection, and the peer could lose the reply; so shut our side
         * and read until it closes (or SERVE_HTTP_DRAIN_MS pass). */
        shutdown(k->fd, SHUT_WR);
        k->draining = 1;
        k->active_ms = serve_now_ms();
    }
    return 0;
}

static void http_conn_event(server *s, struct serve_http *h, http_conn *k, unsigned events)
{
    if (events & EPOLLERR) {
        http_close(h, k);
        return;
    }
    if (k->draining) {
        char sink[4096];
        ssize_t n = read(k->fd, sink, sizeof sink);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK))
            http_close(h, k);
        return;
    }
    if ((events & (EPOLLIN | EPOLLHUP)) && !k->closing) {
        ssize_t n = read(k->fd, k->in + k->in_len, sizeof k->in - k->in_len);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK)) {
            http_close(h, k);
            return;
        }
        if (n > 0) {
            if (k->in_len == 0)
                k->started_ms = serve_now_ms();
            k->in_len += (size_t)n;
            k->active_ms = serve_now_ms();
        }
    }
    http_parse(s, h, k);
    if (http_flush(k) != 0) {
        http_close(h, k);
        return;
    }
    http_parse(s, h, k); /* room again for pipelined requests */
    http_update(h, k);
}

void serve_http_ready(server *s)
{
    struct serve_http *h = s->http;
    /* Stopped by an earlier event of the loop's same batch (a signal):
     * the metrics port's readiness was fetched before it closed. */
    if (h == NULL)
        return;
    struct epoll_event evs[64];
    int n = epoll_wait(h->epfd, evs, 64, 0), accept = 0;
    /* The connections first, the listening socket last: an accept may
     * evict a quiet connection, which a later event of this batch would
     * then name after it was freed.  (A connection's event closes only
     * itself.) */
    for (int i = 0; i < n; i++) {
        if (evs[i].data.ptr == NULL)
            accept = 1;
        else
            http_conn_event(s, h, evs[i].data.ptr, evs[i].events);
    }
    if (accept)
        http_accept(s, h);
}

int serve_http_expire(server *s)
{
    struct serve_http *h = s->http;
    if (h == NULL || h->conns == NULL)
        return -1;
    long long now = serve_now_ms(), next = -1;
    for (http_conn *k = h->conns, *after; k != NULL; k = after) {
        after = k->next;
        long long due = k->draining                          ? k->active_ms + SERVE_HTTP_DRAIN_MS
                        : k->in_len > 0 && k->started_ms > 0 ? k->started_ms + SERVE_HTTP_REQUEST_MS
                        : out_pending(&k->out) > 0          ? k->active_ms + SERVE_HTTP_WRITE_MS
                                                            : k->active_ms + SERVE_HTTP_IDLE_MS;
        if (due <= now) {
            http_close(h, k);
            h->timed_out++;
            continue;
        }
        if (next < 0 || due - now < next)
            next = due - now;
    }
    return (int)next;
}
