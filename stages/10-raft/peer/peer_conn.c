/*
 * peer_conn.c: one connection between members, from its first byte to
 * its close (peer_conn.h has its states, peer_transport.h what it
 * promises).
 *
 * Once OPEN, a connection is a pump between the network and libraft's
 * end of a socket pair: on an accepted one, the network's bytes are
 * decrypted (TLS mode), checked message by message (peer_frame.h) and
 * written to the pair; on an outgoing one, what libraft writes to the
 * pair is encrypted and sent.  libraft only ever reads an accepted
 * connection and writes an outgoing one, so anything the network sends
 * on an outgoing one, once its handshake is done, ends it.  A confirm
 * link, open, has no pair: its bytes are peer_confirm.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "kv.h"
#include "peer_conn.h"
#include "timeline.h"

typedef struct peer_write {
    uv_write_t req;
    peer_conn *c;
    size_t len;
    uint8_t data[];
} peer_write;

static void conn_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void conn_pipe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void conn_defer(peer_conn *c);

/* An accepted connection not open yet reads PEER_TLS_FEED bytes at a
 * time: what its TLS session may be given at once (T4). */
static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    peer_conn *c = h->data;
    (void)suggested;
    int unfinished = c->kind == CONN_ACCEPTED && c->state != ST_OPEN;
    *buf = uv_buf_init((char *)c->pt->rbuf, unfinished ? PEER_TLS_FEED : sizeof c->pt->rbuf);
}

/* Reading from the network (or the pair) stops while the other side has
 * too much queued (C3), and starts again below PEER_QUEUE_LOW. */
static void conn_flow(peer_conn *c)
{
    if (c->state == ST_CLOSED || c->state == ST_PARKED)
        return;
    size_t to_tcp = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
    size_t to_pipe = c->pipe_made ? uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) : 0;
    int tcp_should = !c->deferred && /* C6 */
                     to_pipe < (c->tcp_reading ? PEER_QUEUE_HIGH : PEER_QUEUE_LOW);
    int pipe_should = c->pipe_made && to_tcp < (c->pipe_reading ? PEER_QUEUE_HIGH : PEER_QUEUE_LOW);
    if (tcp_should != c->tcp_reading) {
        c->tcp_reading = tcp_should;
        if (tcp_should)
            uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_tcp_read);
        else
            uv_read_stop((uv_stream_t *)&c->tcp);
    }
    if (pipe_should != c->pipe_reading) {
        c->pipe_reading = pipe_should;
        if (pipe_should)
            uv_read_start((uv_stream_t *)&c->pipe, conn_alloc, conn_pipe_read);
        else
            uv_read_stop((uv_stream_t *)&c->pipe);
    }
}

static void conn_late(uv_timer_t *timer);

/* c no longer waits to open: its slot goes to the parked connections that
 * fit now, in their turn (P3c), each read from now on. */
static void conn_release(peer_conn *c)
{
    peer_transport *pt = c->pt;
    peer_admit_release(c);
    peer_memory_give_back(c); /* C5 */
    unsigned ms;
    for (peer_conn *next; (next = peer_admit_next(pt, &ms)) != NULL;) {
        uv_timer_start(&next->timer, conn_late, ms, 0);
        conn_flow(next);
    }
}

static void conn_written(uv_write_t *req, int status)
{
    peer_write *w = req->data;
    peer_conn *c = w->c;
    free(w);
    if (status != 0 && status != UV_ECANCELED && c->state != ST_CLOSED) {
        peer_conn_close(c, NULL); /* the peer, or libraft, went away */
        return;
    }
    if (c->answered_probe && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
        peer_conn_close(c, NULL); /* the probe's answer is out */
        return;
    }
    conn_flow(c);
}

/* Queues n bytes at p on stream s (copied).  0, or -1 (closed).  On an
 * open link with nothing queued on s, what the socket takes at once is
 * written there and then (uv_try_write): no copy, no request, and no
 * change to what the loop watches, for each of libraft's messages and
 * answers; the rest, if any, is queued as before. */
static int conn_write(peer_conn *c, uv_stream_t *s, const void *p, size_t n)
{
    if (n > 0 && c->state == ST_OPEN && (c->kind == CONN_ACCEPTED || c->kind == CONN_OUTGOING) &&
        uv_stream_get_write_queue_size(s) == 0) {
        uv_buf_t now = uv_buf_init((char *)(uintptr_t)p, (unsigned)n);
        int done = uv_try_write(s, &now, 1);
        if (done < 0 && done != UV_EAGAIN) {
            peer_conn_close(c, NULL); /* the peer, or libraft, went away */
            return -1;
        }
        if (done > 0) {
            p = (const uint8_t *)p + done;
            n -= (size_t)done;
        }
    }
    if (n == 0)
        return 0;
    peer_write *w = malloc(sizeof *w + n);
    if (w == NULL) {
        peer_conn_close(c, "out of memory for a write");
        return -1;
    }
    memcpy(w->data, p, n);
    w->c = c;
    w->len = n;
    w->req.data = w;
    uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)n);
    int rv = uv_write(&w->req, s, &buf, 1, conn_written);
    if (rv != 0) {
        free(w);
        peer_conn_close(c, NULL);
        return -1;
    }
    return 0;
}

/* Sends what the TLS session has for the network. */
static int conn_tls_flush(peer_conn *c)
{
    uint8_t buf[16384];
    size_t n;
    while ((n = peer_tls_take(c->tls, buf, sizeof buf)) > 0)
        if (conn_write(c, (uv_stream_t *)&c->tcp, buf, n) != 0)
            return -1;
    return 0;
}

/* Sends plain bytes to the peer: encrypted in TLS mode. */
static int conn_send(peer_conn *c, const void *p, size_t n)
{
    if (c->tls == NULL)
        return conn_write(c, (uv_stream_t *)&c->tcp, p, n);
    if (peer_tls_write(c->tls, p, n) != KV_OK) {
        peer_conn_close(c, kv_errmsg());
        return -1;
    }
    return conn_tls_flush(c);
}

int peer_conn_send(peer_conn *c, const void *p, size_t n)
{
    return conn_send(c, p, n);
}

/* A confirm link's answer to send (peer_confirm.h): 0, or -1 once the
 * link is closed (its peer reads no answers while it asks on: C3). */
static int conn_confirm_send(void *arg, const uint8_t out[PEER_CONFIRM])
{
    peer_conn *c = arg;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > PEER_QUEUE_HIGH) {
        peer_conn_close(c, "it asks faster than it reads the answers");
        return -1;
    }
    return conn_send(c, out, PEER_CONFIRM);
}

/* Plain bytes that came on an open confirm link (P7). */
static void conn_confirm_in(peer_conn *c, const uint8_t *p, size_t n)
{
    int rc = peer_confirm_feed(&c->link, &c->pt->cfg, c->id, p, n, conn_confirm_send, c);
    if (rc == KV_ERR_CORRUPT)
        peer_conn_close(c, kv_errmsg());
}

/* peer_frame's emit: checked bytes, staged for one write to the pair. */
static void conn_stage(void *arg, const uint8_t *p, size_t n)
{
    peer_conn *c = arg;
    if (c->staged_len + n > c->staged_cap) {
        size_t cap = c->staged_cap != 0 ? c->staged_cap : PEER_BUF;
        while (cap < c->staged_len + n)
            cap *= 2;
        uint8_t *grown = realloc(c->staged, cap);
        if (grown == NULL) {
            c->stage_failed = 1; /* conn_checked closes the connection */
            return;
        }
        c->staged = grown;
        c->staged_cap = cap;
    }
    memcpy(c->staged + c->staged_len, p, n);
    c->staged_len += n;
}

/* Plain bytes that came to an OPEN accepted connection: checked, then
 * written to libraft's end (P1). */
static void conn_checked(peer_conn *c, const uint8_t *p, size_t n)
{
    c->staged_len = 0;
    int rc = peer_frame_feed(&c->frame, p, n, conn_stage, c);
    if (rc == KV_OK && c->stage_failed)
        rc = kv_error(KV_ERR_NOMEM, "out of memory for a message on its way to libraft");
    if (rc != KV_OK) {
        c->pt->counts.frames_refused++;
        peer_conn_refuse(c, PEER_REFUSED_MESSAGE, kv_errmsg());
        return;
    }
    if (c->staged_len > 0)
        c->pt->to_libraft++;
    if (conn_write(c, (uv_stream_t *)&c->pipe, c->staged, c->staged_len) == 0) {
        timeline_mark(TL_PIPE_OUT, c->id);
        conn_flow(c);
    }
}

/* The pair that libraft reads or writes (pipe_made); its end (a stream
 * libraft closes and frees with raft_free) in *raft_end. */
static int conn_make_pair(peer_conn *c, uv_stream_t **raft_end)
{
    uv_os_sock_t fds[2];
    uv_pipe_t *theirs = raft_malloc(sizeof *theirs);
    int rv = theirs != NULL ? uv_socketpair(SOCK_STREAM, 0, fds, UV_NONBLOCK_PIPE,
                                            UV_NONBLOCK_PIPE)
                            : UV_ENOMEM;
    if (rv != 0) {
        raft_free(theirs);
        return rv;
    }
    uv_pipe_init(c->pt->loop, theirs, 0);
    uv_pipe_init(c->pt->loop, &c->pipe, 0);
    c->pipe.data = c;
    c->pipe_made = 1;
    c->handles++;
    if ((rv = uv_pipe_open(theirs, fds[0])) != 0) {
        close(fds[0]);
        close(fds[1]);
        uv_close((uv_handle_t *)theirs, (uv_close_cb)raft_free);
        return rv;
    }
    if ((rv = uv_pipe_open(&c->pipe, fds[1])) != 0) {
        close(fds[1]);
        uv_close((uv_handle_t *)theirs, (uv_close_cb)raft_free); /* closes fds[0] */
        return rv;
    }
    *raft_end = (uv_stream_t *)theirs;
    return 0;
}

/* P8: c, accepted, opens; if its member then has more than
 * PEER_LINKS_PER_MEMBER open links of its kind, the oldest is closed. */
static void conn_bound_links(peer_conn *c)
{
    peer_transport *pt = c->pt;
    c->opened = ++pt->opened;
    peer_conn *oldest = NULL;
    unsigned n = 0;
    for (peer_conn *o = pt->conns; o != NULL; o = o->next) {
        if (o->kind != CONN_ACCEPTED || o->state != ST_OPEN || o->id != c->id ||
            o->confirm != c->confirm)
            continue;
        n++;
        if (oldest == NULL || o->opened < oldest->opened)
            oldest = o;
    }
    if (n > PEER_LINKS_PER_MEMBER && oldest != NULL && oldest != c)
        peer_conn_refuse(oldest, PEER_REFUSED_REPLACED, "a newer link of the same member opened");
}

/* The connection is open: the timer stops, the pump starts (P1, P2). */
static void conn_open(peer_conn *c)
{
    uv_stream_t *theirs = NULL;
    int rv = c->confirm ? 0 : conn_make_pair(c, &theirs); /* a confirm link: no libraft */
    if (rv != 0) {
        char why[120];
        snprintf(why, sizeof why, "a socket pair for libraft: %s", uv_strerror(rv));
        peer_conn_refuse(c, PEER_REFUSED_OTHER, why);
        return;
    }
    uv_timer_stop(&c->timer);
    if (c->kind == CONN_ACCEPTED)
        conn_release(c);
    c->state = ST_OPEN;
    if (c->kind == CONN_ACCEPTED)
        conn_bound_links(c);
    conn_flow(c);
    if (c->confirm) { /* an ask made while it opened goes now */
        uint8_t ask[PEER_CONFIRM];
        if (peer_confirm_opened(&c->link, ask))
            conn_send(c, ask, sizeof ask);
        return;
    }
    if (c->kind == CONN_OUTGOING) {
        /* libraft's own messages, tracked so that a notice goes between
         * two of them (P5); no bound but the layout's. */
        static const peer_frame_limits any = {UINT64_MAX, UINT64_MAX};
        peer_frame_init(&c->out_frame, &any, 0, NULL);
        c->out_frame_made = 1;
        struct raft_uv_connect *req = c->raft_req;
        c->raft_req = NULL; /* C1 */
        c->pt->counts.connected++;
        req->cb(req, theirs, 0);
        return;
    }
    peer_frame_init(&c->frame, &c->pt->cfg.limits, c->id, &c->pt->policy);
    c->frame_made = 1;
    c->pt->counts.accepted++;
    c->pt->accept_cb(c->pt->t, c->id, c->addr, theirs);
}

/* An accepted connection's hello is whole: a probe answered, or the
 * connection handed to libraft. */
static void conn_hello(peer_conn *c)
{
    peer_hello h;
    if (peer_hello_decode(c->in, c->in_len, &h) != KV_OK) {
        peer_conn_refuse(c, PEER_REFUSED_HELLO, kv_errmsg());
        return;
    }
    snprintf(c->addr, sizeof c->addr, "%s", h.addr);
    if (h.kind == PEER_KIND_PROBE) {
        peer_answer a = {0};
        uint8_t out[PEER_ANSWER];
        c->pt->cfg.answer(c->pt->cfg.arg, c->id, &a);
        peer_answer_encode(&a, out);
        c->pt->counts.probes_answered++;
        c->answered_probe = 1;
        uv_timer_stop(&c->timer);
        conn_release(c);
        c->state = ST_ANSWER;
        conn_send(c, out, sizeof out); /* closed once written (conn_written) */
        return;
    }
    if (h.kind == PEER_KIND_CONFIRM) { /* a leader's confirm link (P7): answered here */
        c->confirm = 1;
        conn_open(c);
        return;
    }
    if (c->pt->accept_cb == NULL || c->pt->closing) {
        peer_conn_refuse(c, PEER_REFUSED_NOT_READY, NULL); /* libraft not listening yet: the
                                                            * peer retries */
        return;
    }
    conn_open(c);
}

/* Gathers `want` bytes into c->in; 1 once it holds them, and *used is
 * how many of p[0..n) it took. */
static int conn_gather(peer_conn *c, const uint8_t *p, size_t n, size_t want, size_t *used)
{
    size_t take = want - c->in_len < n ? want - c->in_len : n;
    memcpy(c->in + c->in_len, p, take);
    c->in_len += take;
    *used = take;
    return c->in_len == want;
}

/* Plain bytes (decrypted, in TLS mode), by state. */
static void conn_plain(peer_conn *c, const uint8_t *p, size_t n)
{
    while (n > 0 && c->state != ST_CLOSED) {
        size_t used = 0;
        if (c->state == ST_OPEN && c->confirm) {
            conn_confirm_in(c, p, n);
            return;
        }
        if (c->state == ST_OPEN && c->kind == CONN_ACCEPTED) {
            conn_checked(c, p, n);
            return;
        }
        if (c->state == ST_HELLO) {
            size_t want = c->in_len < PEER_HELLO_HEAD ? PEER_HELLO_HEAD
                                                      : peer_hello_length(c->in);
            if (want == 0) {
                conn_hello(c); /* a head already wrong: refused, saying why */
                return;
            }
            if (conn_gather(c, p, n, want, &used) && want > PEER_HELLO_HEAD)
                conn_hello(c);
        } else if (c->state == ST_ANSWER && c->kind == CONN_PROBE) {
            if (conn_gather(c, p, n, PEER_ANSWER, &used)) {
                peer_answer a;
                peer_probe_req *req = c->probe;
                if (peer_answer_decode(c->in, &a) != KV_OK) {
                    peer_conn_refuse(c, PEER_REFUSED_HELLO, kv_errmsg());
                    return;
                }
                c->probe = NULL; /* C1 */
                req->cb(req, 0, &a);
                peer_conn_close(c, NULL);
                return;
            }
        } else {
            peer_conn_refuse(c, PEER_REFUSED_HELLO,
                             "bytes the member's side of this connection never expects");
            return;
        }
        p += used;
        n -= used;
    }
}

/* A dialled connection's hello (what it is for, where this member
 * listens), sent once the other side is proved (or, without TLS, at
 * once); then a probe waits for its answer and a Raft stream opens. */
static void conn_send_hello(peer_conn *c)
{
    peer_hello h = {.kind = c->kind == CONN_PROBE     ? PEER_KIND_PROBE
                            : c->kind == CONN_CONFIRM ? PEER_KIND_CONFIRM
                                                      : PEER_KIND_RAFT};
    uint8_t out[PEER_HELLO_HEAD + PEER_ADDR_MAX];
    snprintf(h.addr, sizeof h.addr, "%s", c->pt->cfg.address);
    if (conn_send(c, out, peer_hello_encode(&h, out, sizeof out)) != 0)
        return;
    if (c->kind == CONN_PROBE)
        c->state = ST_ANSWER;
    else
        conn_open(c);
}

/* The TLS handshake is done: the ids compared (P1, P2), then the hello. */
static void conn_proved(peer_conn *c)
{
    uint64_t proved = peer_tls_peer_id(c->tls);
    if (proved != c->id) {
        char why[160];
        snprintf(why, sizeof why, "its certificate names member %llu, but it %s %llu",
                 (unsigned long long)proved,
                 c->kind == CONN_ACCEPTED ? "claims to be" : "was dialled as member",
                 (unsigned long long)c->id);
        peer_conn_refuse(c, PEER_REFUSED_IDENTITY, why);
        return;
    }
    if (c->kind == CONN_ACCEPTED)
        c->state = ST_HELLO;
    else
        conn_send_hello(c);
}

/* Network bytes in TLS mode: the handshake, then the plain bytes. */
static void conn_tls_in(peer_conn *c, const uint8_t *p, size_t n)
{
    if (peer_tls_put(c->tls, p, n) != KV_OK) {
        peer_conn_refuse(c, PEER_REFUSED_OTHER, kv_errmsg());
        return;
    }
    if (c->state == ST_TLS) {
        if (c->kind == CONN_ACCEPTED && !peer_pace_step(c)) {
            conn_defer(c); /* P10: its bytes wait in the session for a later pass */
            return;
        }
        int done = peer_tls_handshake(c->tls);
        if (done < 0) {
            conn_tls_flush(c); /* the alert, if any */
            peer_conn_refuse(c, PEER_REFUSED_TLS, kv_errmsg());
            return;
        }
        if (conn_tls_flush(c) != 0 || done == 0)
            return;
        conn_proved(c);
    }
    long got;
    while (c->state != ST_CLOSED && (got = peer_tls_read(c->tls, c->pt->plain,
                                                        sizeof c->pt->plain)) != 0) {
        if (got < 0) {
            if (c->state == ST_OPEN)
                peer_conn_close(c, NULL);
            else
                peer_conn_refuse(c, PEER_REFUSED_TLS, kv_errmsg());
            return;
        }
        conn_plain(c, c->pt->plain, (size_t)got);
    }
    if (c->state != ST_CLOSED)
        conn_tls_flush(c); /* post-handshake records (key updates) */
}

/* An accepted connection's opening is whole. */
static void conn_opening(peer_conn *c)
{
    peer_opening o;
    if (peer_opening_decode(c->in, &o) != KV_OK) {
        peer_conn_refuse(c, PEER_REFUSED_OPENING, kv_errmsg());
        return;
    }
    c->id = o.id;
    c->in_len = 0;
    int tls = c->pt->tls != NULL;
    if ((o.mode == PEER_MODE_TLS) != tls) {
        peer_conn_refuse(c, PEER_REFUSED_OPENING,
                         tls ? "it speaks without TLS (--raft-insecure), this member only "
                               "with TLS"
                             : "it speaks TLS, this member without (--raft-insecure)");
        return;
    }
    unsigned ms;
    if (!peer_admit_member(c, o.id, &ms)) { /* P3b: refused, before any TLS */
        char why[120];
        snprintf(why, sizeof why, "member %llu is not in this member's configuration "
                 "(removed, or never added)", (unsigned long long)o.id);
        peer_conn_refuse(c, PEER_REFUSED_NOT_MEMBER, why);
        return;
    }
    uv_timer_start(&c->timer, conn_late, ms, 0);
    c->state = tls ? ST_TLS : ST_HELLO; /* the session made when its first bytes come */
}

static void conn_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    peer_conn *c = s->data;
    if (n < 0) {
        if (c->state == ST_OPEN || c->kind != CONN_ACCEPTED)
            peer_conn_close(c, c->state == ST_OPEN || n == UV_EOF ? NULL : uv_strerror((int)n));
        else
            peer_conn_refuse(c, PEER_REFUSED_LEFT, n == UV_EOF ? NULL : uv_strerror((int)n));
        return;
    }
    peer_transport *pt = c->pt;
    if (c->state == ST_OPEN && c->kind == CONN_ACCEPTED && pt->cfg.admits != NULL &&
        !pt->cfg.admits(pt->cfg.arg, c->id)) { /* P3b: removed since it opened */
        pt->counts.revoked++;
        peer_conn_close(c, "its member is no longer in the configuration");
        return;
    }
    if (c->state == ST_OPEN && c->kind == CONN_ACCEPTED)
        timeline_mark(TL_TCP_IN, c->id);
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t left = (size_t)n, used = 0;
    if (c->state == ST_OPENING) {
        if (!conn_gather(c, p, left, PEER_OPENING, &used))
            return;
        conn_opening(c);
        p += used;
        left -= used;
    }
    if (left == 0 || c->state == ST_CLOSED)
        return;
    if (c->tls == NULL && c->state == ST_TLS) {
        if (!peer_memory_take(c, PEER_TLS_HOLD)) { /* P9 */
            peer_conn_refuse(c, PEER_REFUSED_MEMORY, "the connections not open yet hold "
                             "their share of the memory budget");
            return;
        }
        if (peer_tls_new(c->pt->tls, 1, &c->tls) != KV_OK) {
            peer_conn_refuse(c, PEER_REFUSED_OTHER, kv_errmsg());
            return;
        }
    }
    if (c->tls != NULL)
        conn_tls_in(c, p, left);
    else
        conn_plain(c, p, left);
}

/* The deferred, in their turn, while the pass has steps left (P10). */
static void conn_run_deferred(uv_idle_t *h)
{
    peer_transport *pt = h->data;
    for (peer_conn *c; (c = peer_pace_next(pt)) != NULL;) {
        conn_tls_in(c, NULL, 0); /* its bytes are in its session already */
        conn_flow(c);            /* and it reads again */
    }
    if (!peer_pace_waiting(pt))
        uv_idle_stop(h);
}

static void conn_defer(peer_conn *c)
{
    conn_flow(c); /* stops its reading (C6) */
    if (!c->pt->closing)
        uv_idle_start(&c->pt->deferred_run, conn_run_deferred);
}

static void conn_unchecked(void *arg, const uint8_t *p, size_t n)
{
    (void)arg, (void)p, (void)n; /* libraft's bytes go out as they came */
}

/* Sends the notices waiting (the stream is between two messages). */
static int conn_notices(peer_conn *c)
{
    for (int i = 0; i < c->n_notices; i++)
        if (conn_send(c, c->notices[i], PEER_NOTICE_BYTES) != 0)
            return -1;
    c->pt->counts.notices_sent += (unsigned long long)c->n_notices;
    c->n_notices = 0;
    return 0;
}

/* What libraft wrote to an outgoing connection: to the peer. */
static void conn_pipe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    peer_conn *c = s->data;
    if (n < 0) {
        peer_conn_close(c, NULL); /* libraft closed its end */
        return;
    }
    if (n == 0)
        return;
    if (c->kind != CONN_OUTGOING) {
        peer_conn_close(c, NULL); /* libraft never writes an accepted connection */
        return;
    }
    timeline_mark(TL_PIPE_IN, c->id);
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t left = (size_t)n;
    while (left > 0) {
        /* Whole, unless a notice waits for the end of a message (P5). */
        size_t used = left;
        int rc = c->n_notices == 0
                     ? peer_frame_feed(&c->out_frame, p, left, conn_unchecked, NULL)
                     : peer_frame_feed_one(&c->out_frame, p, left, conn_unchecked, NULL, &used);
        if (rc != KV_OK) {
            peer_conn_close(c, kv_errmsg()); /* libraft's own bytes: never seen */
            return;
        }
        if (conn_send(c, p, used) != 0)
            return;
        p += used;
        left -= used;
        if (c->n_notices > 0 && peer_frame_at_boundary(&c->out_frame) && conn_notices(c) != 0)
            return;
    }
    timeline_mark(TL_TCP_OUT, c->id);
    conn_flow(c);
}

int peer_conn_notify(peer_conn *c, const uint8_t n[PEER_NOTICE_BYTES])
{
    if (c->n_notices == PEER_NOTICES_QUEUED)
        return RAFT_NOMEM;
    memcpy(c->notices[c->n_notices++], n, PEER_NOTICE_BYTES);
    if (peer_frame_at_boundary(&c->out_frame))
        conn_notices(c); /* libraft is between two messages: now */
    return 0;
}

static void conn_dial_timeout(uv_timer_t *timer)
{
    peer_conn_close(timer->data, NULL); /* libraft (or the probe) is told: C1 */
}

/* An accepted connection's time for its step (P3a) is up, or its time
 * parked. */
static void conn_late(uv_timer_t *timer)
{
    peer_conn *c = timer->data;
    if (c->state == ST_PARKED) { /* P3c, P3e: a slot now, or a later look */
        unsigned ms;
        int r = peer_admit_retry(c, &ms);
        if (r >= 0) {
            uv_timer_start(&c->timer, conn_late, ms, 0);
            if (r == 0)
                conn_flow(c);
            return;
        }
    }
    int reason = peer_admit_late(c);
    peer_conn_refuse(c, reason, reason == PEER_REFUSED_OPENING_LATE ? "no opening in time"
                                : reason == PEER_REFUSED_HANDSHAKE_LATE
                                    ? "no TLS handshake and hello in time"
                                    : "parked over a bound, and never read");
}

static void conn_handle_closed(uv_handle_t *h)
{
    peer_conn *c = h->data;
    if (--c->handles > 0)
        return;
    peer_transport *pt = c->pt;
    peer_tls_free(c->tls);
    if (c->frame_made) {
        c->pt->counts.disrupt_cleared += c->frame.disrupt_cleared;
        c->pt->counts.terms_lowered += c->frame.terms_lowered;
        peer_frame_free(&c->frame);
    }
    if (c->out_frame_made)
        peer_frame_free(&c->out_frame);
    free(c->staged);
    pt->conns_closing--;
    peer_memory_freed(pt); /* before the unlink, which may end the transport */
    peer_conn_unlink(pt, c);
}

void peer_conn_refuse(peer_conn *c, int reason, const char *why)
{
    if (c->state == ST_CLOSED)
        return;
    c->pt->counts.refused++; /* P4 */
    c->pt->counts.refused_by[reason]++;
    if (why != NULL)
        peer_log(c->pt, "%s %s (member %llu%s%s): %s: %s",
                 c->state == ST_OPEN ? "closed the connection with" : "refused a connection "
                 "with", c->remote, (unsigned long long)c->id, c->addr[0] ? " at " : "", c->addr,
                 peer_refusal_name[reason], why);
    c->refused = 1;
    peer_conn_close(c, NULL);
}

void peer_conn_close(peer_conn *c, const char *why)
{
    if (c->state == ST_CLOSED)
        return;
    peer_transport *pt = c->pt;
    /* An accepted connection closed before it opened (but for a probe
     * answered) is a refusal, whatever closed it (P4). */
    if (!c->refused && c->kind == CONN_ACCEPTED && c->state != ST_OPEN && !c->answered_probe) {
        peer_conn_refuse(c, pt->closing ? PEER_REFUSED_NOT_READY : PEER_REFUSED_OTHER, why);
        return;
    }
    if (why != NULL)
        peer_log(pt, "%s %s (member %llu%s%s): %s",
                 c->state == ST_OPEN ? "closed the connection with" : "gave up a connection "
                 "with", c->remote, (unsigned long long)c->id, c->addr[0] ? " at " : "", c->addr,
                 why);
    pt->conns_closing++; /* until conn_handle_closed has freed it */
    if (c->kind == CONN_ACCEPTED)
        conn_release(c);
    peer_pace_forget(c);
    c->state = ST_CLOSED;
    if (c->raft_req != NULL) { /* C1 */
        struct raft_uv_connect *req = c->raft_req;
        c->raft_req = NULL;
        req->cb(req, NULL, pt->closing ? RAFT_CANCELED : RAFT_NOCONNECTION);
    }
    if (c->probe != NULL) {
        peer_probe_req *req = c->probe;
        c->probe = NULL;
        req->cb(req, pt->closing ? RAFT_CANCELED : RAFT_NOCONNECTION, NULL);
    }
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
    if (c->pipe_made)
        uv_close((uv_handle_t *)&c->pipe, conn_handle_closed);
}

/* P9: an unfinished connection's charge holds its struct and the write
 * of its handshake's answer (about 1.3 KiB with the group's keys). */
_Static_assert(sizeof(peer_conn) + sizeof(peer_write) + 2048 <= PEER_CONN_HOLD,
               "PEER_CONN_HOLD holds a connection not open yet");

/* A connection's handles made and linked; 0 or a libuv error. */
static peer_conn *conn_new(peer_transport *pt, int kind)
{
    peer_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->pt = pt;
    c->kind = kind;
    uv_tcp_init(pt->loop, &c->tcp);
    uv_timer_init(pt->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    c->next = pt->conns;
    if (pt->conns != NULL)
        pt->conns->prev = c;
    pt->conns = c;
    return c;
}

static void conn_name_remote(peer_conn *c)
{
    struct sockaddr_storage sa;
    int len = sizeof sa;
    char ip[48] = "?";
    int port = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0 &&
        sa.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&sa;
        uv_ip4_name(in, ip, sizeof ip);
        port = ntohs(in->sin_port);
        c->src = ntohl(in->sin_addr.s_addr);
    }
    snprintf(c->remote, sizeof c->remote, "%s:%d", ip, port);
}

int peer_conn_accept(peer_transport *pt)
{
    peer_conn *c = conn_new(pt, CONN_ACCEPTED);
    if (c == NULL)
        return RAFT_NOMEM;
    c->state = ST_OPENING;
    if (uv_accept((uv_stream_t *)&pt->listener, (uv_stream_t *)&c->tcp) != 0) {
        peer_conn_refuse(c, PEER_REFUSED_LEFT, NULL);
        return 0;
    }
    conn_name_remote(c);
    if (pt->closing) {
        peer_conn_refuse(c, PEER_REFUSED_NOT_READY, NULL);
        return 0;
    }
    if (c->src == 0) { /* P3c: not counted as any address's, and not read */
        peer_conn_refuse(c, PEER_REFUSED_NO_ADDRESS, NULL);
        return 0;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->member_src = pt->cfg.member_address != NULL && pt->cfg.member_address(pt->cfg.arg, c->src);
    if (!peer_memory_take(c, PEER_CONN_HOLD)) { /* P9 */
        peer_conn_refuse(c, PEER_REFUSED_MEMORY, "the connections not open yet hold their "
                         "share of the memory budget");
        return 0;
    }
    unsigned ms;
    int admitted = peer_admit(c, &ms); /* P3: read now, parked, or refused */
    if (admitted < 0) {
        peer_conn_refuse(c, PEER_REFUSED_FULL, "too many connections waiting to open");
        return 0;
    }
    uv_timer_start(&c->timer, conn_late, ms, 0);
    conn_flow(c); /* nothing while parked */
    return 0;
}

static void conn_dialled(uv_connect_t *req, int status)
{
    peer_conn *c = req->data;
    if (c->state == ST_CLOSED)
        return;
    if (status != 0) {
        peer_conn_close(c, NULL);
        return;
    }
    conn_name_remote(c);
    uv_tcp_nodelay(&c->tcp, 1);
    int tls = c->pt->tls != NULL;
    peer_opening o = {.mode = tls ? PEER_MODE_TLS : PEER_MODE_PLAIN, .id = c->pt->cfg.id};
    uint8_t out[PEER_OPENING];
    peer_opening_encode(&o, out);
    if (conn_write(c, (uv_stream_t *)&c->tcp, out, sizeof out) != 0)
        return;
    conn_flow(c);
    if (!tls) { /* the hello at once: nothing to prove */
        conn_send_hello(c);
        return;
    }
    if (peer_tls_new(c->pt->tls, 0, &c->tls) != KV_OK) {
        peer_conn_close(c, kv_errmsg());
        return;
    }
    c->state = ST_TLS;
    if (peer_tls_handshake(c->tls) < 0) { /* the ClientHello, into the session's output */
        peer_conn_close(c, kv_errmsg());
        return;
    }
    conn_tls_flush(c);
}

int peer_conn_dial(peer_transport *pt, int kind, uint64_t id, const char *address,
                   struct raft_uv_connect *raft_req, peer_probe_req *probe)
{
    char host[64];
    const char *colon = strrchr(address, ':');
    struct sockaddr_in sa;
    if (colon == NULL || (size_t)(colon - address) >= sizeof host)
        return RAFT_NOCONNECTION;
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    if (uv_ip4_addr(host, atoi(colon + 1), &sa) != 0)
        return RAFT_NOCONNECTION;
    peer_conn *c = conn_new(pt, kind);
    if (c == NULL)
        return RAFT_NOMEM;
    c->state = ST_DIALING;
    c->id = id;
    snprintf(c->addr, sizeof c->addr, "%s", address);
    snprintf(c->remote, sizeof c->remote, "%s", address);
    c->dial.data = c;
    uv_timer_start(&c->timer, conn_dial_timeout, PEER_DIAL_MS, 0);
    int rv = uv_tcp_connect(&c->dial, &c->tcp, (struct sockaddr *)&sa, conn_dialled);
    if (rv != 0) {
        peer_conn_close(c, NULL); /* no request set yet: no callback (C1) */
        return RAFT_NOCONNECTION;
    }
    c->raft_req = raft_req;
    c->probe = probe;
    return 0;
}
