/*
 * peer_transport_test.c: the members' transport (peer_transport.h), two
 * or three of them on one libuv loop, driven as libraft drives a
 * transport (init, listen, connect; the streams it is handed read and
 * written).  With the group's credentials (peer_certs.h): a message
 * crosses byte for byte; a malformed one ends the connection before
 * libraft would read it; a peer of another group, one whose certificate
 * names another member than it claims, one dialled as the wrong member,
 * and bytes that are no opening at all are refused and never reach
 * libraft (P1, P2); a probe is answered; plain mode and TLS do not mix.
 * Admission (P3): a stranger's address is held to its bound, the rest
 * parked and promoted in turn, while a member still connects; a
 * connection that stalls is closed at its step's deadline, counted by
 * its reason (P4); a member the configuration does not hold is refused
 * at its opening, and one removed while connected is cut off.  A notice
 * crosses between two of libraft's messages, never inside one (P5), and
 * a vote's disrupt-leader flag reaches libraft only when allowed (F5).
 * Memory (P9): connections half way through their handshakes hold what
 * the budget allows, the rest refused, a member's address still admitted,
 * and the books read 0 once they are gone.  Pace (P10): handshakes ready
 * at once take a few steps a pass, each has its turn, and those from
 * members' addresses go first.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../tests/harness.h"
#include "coding.h"
#include "kv.h"
#include "peer_certs.h"
#include "peer_transport.h"

/* One transport and what reached "libraft" through it. */
typedef struct side {
    struct raft_uv_transport t;
    peer_config cfg;
    char addr[32];
    int accepted;             /* connections accept_cb was given */
    uint64_t accepted_id;
    uv_stream_t *in;          /* the last one accepted */
    uint8_t got[4096];        /* ... and what was read from it */
    size_t got_len;
    int in_eof;
    int closed;
    uv_stream_t *kept[8];     /* with keep_links: the ones before, still open */
    int n_kept;
} side;

/* Whether accept_cb keeps the connections it was given before (as a
 * libraft that holds every link a member opens), rather than ending them. */
static int keep_links;

static uv_loop_t loop;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

static void answer(void *arg, uint64_t asker, peer_answer *out)
{
    (void)arg;
    *out = (peer_answer){.has_log = 1, .role = asker == 1 ? 1 : PEER_ROLE_NONE,
                         .last_index = 42, .term = 7};
}

static void quiet(void *arg, const char *line)
{
    (void)arg, (void)line;
}

static void in_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf)
{
    side *s = h->data;
    (void)n;
    *buf = uv_buf_init((char *)s->got + s->got_len, (unsigned)(sizeof s->got - s->got_len));
}

static void in_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    side *s = stream->data;
    (void)buf;
    if (n > 0)
        s->got_len += (size_t)n;
    else if (n < 0)
        s->in_eof = 1;
}

static void stream_freed(uv_handle_t *h);

static void accepted(struct raft_uv_transport *t, raft_id id, const char *address,
                     uv_stream_t *stream)
{
    side *s = (side *)((char *)t - offsetof(side, t));
    (void)address;
    if (s->in != NULL && keep_links && s->n_kept < 8 && !uv_is_closing((uv_handle_t *)s->in))
        s->kept[s->n_kept++] = s->in;
    else if (s->in != NULL && !uv_is_closing((uv_handle_t *)s->in)) /* as libraft: the old one ends */
        uv_close((uv_handle_t *)s->in, stream_freed);
    s->accepted++;
    s->accepted_id = id;
    s->in = stream;
    s->got_len = 0;
    s->in_eof = 0;
    stream->data = s;
    uv_read_start(stream, in_alloc, in_read);
}

/* What the next side started is configured with besides (0, NULL: the
 * defaults), and what its member callbacks saw. */
static peer_config next;
static uint64_t refused_id;        /* the one member next's admits refuses (0: none) */
static uint32_t member_ip;         /* the one address next's member_address calls a member's */
static int disrupt_ok;             /* next's may_disrupt */
static peer_notice got_notice;
static uint64_t got_notice_from;
static int got_notices;

static int test_admits(void *arg, uint64_t id)
{
    (void)arg;
    return id != refused_id;
}

static int test_member_address(void *arg, uint32_t ip)
{
    (void)arg;
    return ip == member_ip;
}

static uint64_t test_term(void *arg)
{
    (void)arg;
    return 3;
}

static int test_may_disrupt(void *arg, uint64_t candidate, uint64_t term)
{
    (void)arg, (void)candidate, (void)term;
    return disrupt_ok;
}

static void test_notice(void *arg, uint64_t sender, const peer_notice *n)
{
    (void)arg;
    got_notice = *n;
    got_notice_from = sender;
    got_notices++;
}

/* Starts member id's transport with the credentials in dir (NULL: plain). */
static void side_start(side *s, uint64_t id, const char *dir, uint64_t cert_id)
{
    memset(s, 0, sizeof *s);
    snprintf(s->addr, sizeof s->addr, "127.0.0.1:%d", free_port());
    s->cfg = next;
    s->cfg.id = id;
    s->cfg.address = s->addr;
    s->cfg.answer = answer;
    s->cfg.log = quiet;
    s->cfg.limits = (peer_frame_limits){.max_entry = 4096, .max_message = 1 << 20};
    if (dir != NULL)
        CHECK_KV(peer_tls_ctx_open(dir, cert_id, &s->cfg.tls), KV_OK);
    CHECK_MSG(peer_transport_init(&s->t, &loop, &s->cfg) == 0, "listening at %s: %s", s->addr,
              s->t.errmsg);
    CHECK_MSG(s->t.init(&s->t, id, s->addr) == 0, "init with its own id and address");
    CHECK_MSG(s->t.init(&s->t, id + 1, s->addr) != 0, "init with another id is refused");
    s->t.listen(&s->t, accepted);
}

static void side_closed(struct raft_uv_transport *t)
{
    side *s = (side *)((char *)t - offsetof(side, t));
    s->closed = 1;
}

static void stream_freed(uv_handle_t *h)
{
    raft_free(h);
}

static void side_stop(side *s)
{
    if (s->in != NULL && !uv_is_closing((uv_handle_t *)s->in))
        uv_close((uv_handle_t *)s->in, stream_freed);
    for (int i = 0; i < s->n_kept; i++)
        if (!uv_is_closing((uv_handle_t *)s->kept[i]))
            uv_close((uv_handle_t *)s->kept[i], stream_freed);
    s->n_kept = 0;
    s->t.close(&s->t, side_closed);
    for (int i = 0; i < 1000 && !s->closed; i++)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_MSG(s->closed, "the transport closes");
    peer_transport_free(&s->t);
    peer_tls_ctx_free(s->cfg.tls);
    s->in = NULL;
}

/* Closes the loop once every handle on it has closed. */
static void loop_done(void)
{
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_MSG(uv_loop_close(&loop) == 0, "every handle on the loop closed");
}

/* Runs the loop until *flag is set, or 5 s. */
static int run_until(const int *flag)
{
    uint64_t end = uv_now(&loop) + 5000;
    while (!*flag && uv_now(&loop) < end)
        uv_run(&loop, UV_RUN_ONCE);
    return *flag;
}

typedef struct dial {
    struct raft_uv_connect req;
    int done, status;
    uv_stream_t *stream;
} dial;

static void dialled(struct raft_uv_connect *req, uv_stream_t *stream, int status)
{
    dial *d = req->data;
    d->done = 1;
    d->status = status;
    d->stream = stream;
}

static void dial_to(side *from, side *to, uint64_t as_id, dial *d)
{
    memset(d, 0, sizeof *d);
    d->req.data = d;
    CHECK(from->t.connect(&from->t, &d->req, as_id, to->addr, dialled) == 0);
    CHECK_MSG(run_until(&d->done), "the connection ends one way or the other");
}

static void written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void send_bytes(uv_stream_t *s, const uint8_t *p, size_t n)
{
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t buf = uv_buf_init((char *)p, (unsigned)n);
    CHECK(uv_write(w, s, &buf, 1, written) == 0);
}

/* A RequestVote from member `candidate`, as libraft encodes it. */
static size_t vote(uint8_t *b, uint64_t candidate, uint64_t type)
{
    coding_put_u64(b, type);
    coding_put_u64(b + 8, 40);
    coding_put_u64(b + 16, 3);
    coding_put_u64(b + 24, candidate);
    coding_put_u64(b + 32, 10);
    coding_put_u64(b + 40, 2);
    coding_put_u64(b + 48, 0);
    return 56;
}

static void close_stream(uv_stream_t *s)
{
    uv_close((uv_handle_t *)s, stream_freed);
}

static char *make_certs(const char *name, uint64_t n)
{
    char *dir = malloc(strlen(harness_tmpdir()) + strlen(name) + 2);
    sprintf(dir, "%s/%s", harness_tmpdir(), name);
    uint64_t ids[4] = {1, 2, 3, 4};
    int made = 0;
    CHECK_KV(peer_certs_make(dir, ids, n, 30, PEER_CERTS_NEW_AUTHORITY, &made), KV_OK);
    CHECK_MSG(made, "a new directory gets a new authority");
    return dir;
}

static void members_of_a_group_talk_and_malformed_messages_end_the_connection(void)
{
    uv_loop_init(&loop);
    char *dir = make_certs("group", 3);
    side a, b;
    side_start(&a, 1, dir, 1);
    side_start(&b, 2, dir, 2);
    dial d;
    dial_to(&a, &b, 2, &d);
    CHECK_MSG(d.status == 0 && d.stream != NULL, "member 1 reaches member 2 (status %d)",
              d.status);
    uint8_t msg[64];
    size_t n = vote(msg, 1, 3);
    send_bytes(d.stream, msg, n);
    for (int i = 0; i < 500 && b.got_len < n; i++)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_MSG(b.accepted == 1 && b.accepted_id == 1, "member 2's libraft is given one "
              "connection, from member 1 (%d, from %llu)", b.accepted,
              (unsigned long long)b.accepted_id);
    CHECK_MSG(b.got_len == n && memcmp(b.got, msg, n) == 0, "the vote crosses byte for byte");
    n = vote(msg, 3, 3); /* a vote asked for member 3, over member 1's connection (F2) */
    send_bytes(d.stream, msg, n);
    CHECK_MSG(run_until(&b.in_eof), "a vote for another member ends the connection");
    CHECK_MSG(b.got_len == 56, "nothing of it reached libraft");
    peer_counts c;
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.frames_refused == 1 && c.accepted == 1 && c.refused_by[PEER_REFUSED_MESSAGE] == 1,
              "counted as a refused frame (%llu, %llu accepted)", c.frames_refused, c.accepted);
    close_stream(d.stream);
    /* A type that does not exist, on a new connection. */
    dial_to(&a, &b, 2, &d);
    CHECK(d.status == 0);
    n = vote(msg, 1, 9);
    send_bytes(d.stream, msg, n);
    for (int i = 0; i < 500 && !(b.accepted == 2 && b.in_eof); i++)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_MSG(b.accepted == 2 && b.in_eof && b.got_len == 0,
              "a message of type 9 ends its connection, unread by libraft");
    close_stream(d.stream);
    side_stop(&a);
    side_stop(&b);
    loop_done();
    free(dir);
}

static void strangers_are_refused_before_libraft(void)
{
    uv_loop_init(&loop);
    char *dir = make_certs("group", 3), *other = make_certs("other", 2);
    side b, a;
    side_start(&b, 2, dir, 2);
    /* Member 1 of another group (another authority). */
    side_start(&a, 1, other, 1);
    dial d;
    dial_to(&a, &b, 2, &d);
    CHECK_MSG(d.status != 0, "a member of another group cannot connect");
    side_stop(&a);
    /* Member 3's certificate, claiming to be member 1. */
    side_start(&a, 1, dir, 3);
    dial_to(&a, &b, 2, &d);
    for (int i = 0; i < 100; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    if (d.status == 0)
        close_stream(d.stream); /* its side may finish first: member 2 then closes it */
    /* Dialled as member 3 at member 2's address: the answer proves 2 (P2). */
    side_stop(&a);
    side_start(&a, 1, dir, 1);
    dial_to(&a, &b, 3, &d);
    CHECK_MSG(d.status == RAFT_NOCONNECTION, "member 2 dialled as member 3 is refused by the "
              "one that dials (status %d)", d.status);
    /* Bytes that are no opening. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    sa.sin_port = htons((uint16_t)atoi(strchr(b.addr, ':') + 1));
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(write(fd, junk, sizeof junk - 1) == (ssize_t)(sizeof junk - 1));
    for (int i = 0; i < 200; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    close(fd);
    CHECK_MSG(b.accepted == 0, "no connection of the four reached member 2's libraft (%d did)",
              b.accepted);
    peer_counts c;
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.refused >= 3, "member 2 refused them (%llu counted)", c.refused);
    side_stop(&a);
    side_stop(&b);
    loop_done();
    free(dir);
    free(other);
}

typedef struct probe {
    peer_probe_req req;
    int done, status;
    peer_answer a;
} probe;

static void probed(peer_probe_req *req, int status, const peer_answer *a)
{
    probe *p = req->data;
    p->done = 1;
    p->status = status;
    if (a != NULL)
        p->a = *a;
}

static void a_probe_is_answered_and_plain_does_not_mix_with_tls(void)
{
    uv_loop_init(&loop);
    char *dir = make_certs("group", 3);
    side a, b, plain;
    side_start(&a, 1, dir, 1);
    side_start(&b, 2, dir, 2);
    probe p = {.req.data = &p};
    CHECK(peer_probe(&a.t, &p.req, 2, b.addr, probed) == 0);
    CHECK_MSG(run_until(&p.done) && p.status == 0, "member 1's probe of member 2 is answered");
    CHECK_MSG(p.a.has_log && p.a.role == 1 && p.a.last_index == 42 && p.a.term == 7,
              "with what member 2's answer callback said");
    CHECK_MSG(b.accepted == 0, "a probe never reaches libraft");
    side_start(&plain, 3, NULL, 0);
    dial d;
    dial_to(&plain, &b, 2, &d);
    for (int i = 0; i < 100; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    CHECK_MSG(b.accepted == 0, "a member without TLS cannot reach one with it");
    if (d.status == 0)
        close_stream(d.stream);
    side plain2;
    side_start(&plain2, 4, NULL, 0);
    dial_to(&plain, &plain2, 4, &d);
    CHECK_MSG(d.status == 0, "two members without TLS talk (--raft-insecure)");
    uint8_t msg[64];
    size_t n = vote(msg, 3, 3);
    send_bytes(d.stream, msg, n);
    for (int i = 0; i < 500 && plain2.got_len < n; i++)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_MSG(plain2.got_len == n && memcmp(plain2.got, msg, n) == 0,
              "and their messages cross byte for byte");
    close_stream(d.stream);
    side_stop(&plain);
    side_stop(&plain2);
    side_stop(&a);
    side_stop(&b);
    loop_done();
    free(dir);
}

/* A socket connected to s's port from address `from` ("127.0.0.2").  The
 * loop runs a little, so that s accepts it. */
static int connect_from(side *s, const char *from)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in src = {.sin_family = AF_INET}, sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, from, &src.sin_addr);
    CHECK(bind(fd, (struct sockaddr *)&src, sizeof src) == 0);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    sa.sin_port = htons((uint16_t)atoi(strchr(s->addr, ':') + 1));
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    for (int i = 0; i < 5; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    return fd;
}

static void spin(int passes)
{
    for (int i = 0; i < passes; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
}

/* P3c: connections from a stranger's address take at most per_source
 * slots; the others are parked, unread, and one takes a slot as soon as
 * one frees; a member (another address) connects all the while, and so
 * does one from a member's address however many that address holds. */
static void a_strangers_address_is_held_to_its_bound(void)
{
    uv_loop_init(&loop);
    char *dir = make_certs("group", 2);
    side a, b;
    next = (peer_config){.per_source = 4};
    member_ip = 0x7f000003; /* 127.0.0.3 is a member's */
    next.member_address = test_member_address;
    side_start(&b, 2, dir, 2);
    next = (peer_config){0};
    int fds[6];
    for (int i = 0; i < 6; i++)
        fds[i] = connect_from(&b, "127.0.0.2");
    spin(50);
    peer_counts c;
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.unfinished == 4 && c.parked == 2 && c.refused == 0,
              "4 of a stranger's 6 connections take slots, 2 are parked (%llu, %llu, %llu "
              "refused)", c.unfinished, c.parked, c.refused);
    side_start(&a, 1, dir, 1);
    dial d;
    dial_to(&a, &b, 2, &d);
    CHECK_MSG(d.status == 0, "a member from another address connects meanwhile");
    close_stream(d.stream);
    close(fds[0]);
    spin(100);
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.unfinished == 4 && c.parked == 1 && c.refused_by[PEER_REFUSED_LEFT] == 1,
              "one gone, a parked one takes its slot (%llu, %llu)", c.unfinished, c.parked);
    int mine[12];
    for (int i = 0; i < 12; i++)
        mine[i] = connect_from(&b, "127.0.0.3");
    spin(50);
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.unfinished == 16 && c.parked == 1, "a member's address is not held to the "
              "bound: 12 more take slots (%llu, %llu)", c.unfinished, c.parked);
    for (int i = 0; i < 12; i++)
        close(mine[i]);
    for (int i = 1; i < 6; i++)
        close(fds[i]);
    spin(200);
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.unfinished == 0 && c.parked == 0, "all gone, no slot is held (%llu, %llu)",
              c.unfinished, c.parked);
    side_stop(&a);
    side_stop(&b);
    loop_done();
    free(dir);
}

/* P3e: a stranger's address takes PEER_STRANGER_BURST slots at once, then
 * PEER_STRANGER_RATE a second; the others wait parked (counted nowhere
 * yet: they are not refused), and a member's address is not held to it. */
static void a_strangers_address_is_held_to_its_rate(void)
{
    uv_loop_init(&loop);
    char *dir = make_certs("group", 2);
    side b;
    next = (peer_config){.per_source = 64};
    member_ip = 0x7f000003; /* 127.0.0.3 is a member's */
    next.member_address = test_member_address;
    side_start(&b, 2, dir, 2);
    next = (peer_config){0};
    enum { N = 30 };
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = connect_from(&b, "127.0.0.2");
    spin(50);
    peer_counts c;
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.unfinished == PEER_STRANGER_BURST && c.parked == N - PEER_STRANGER_BURST &&
                  c.refused == 0,
              "%d of a stranger's %d connections take slots at once, the others wait (%llu, "
              "%llu parked, %llu refused)", PEER_STRANGER_BURST, N, c.unfinished, c.parked,
              c.refused);
    int mine[4];
    for (int i = 0; i < 4; i++)
        mine[i] = connect_from(&b, "127.0.0.3");
    spin(50);
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.unfinished == PEER_STRANGER_BURST + 4, "a member's address takes its slots "
              "meanwhile (%llu)", c.unfinished);
    uint64_t start = uv_now(&loop);
    while (uv_now(&loop) - start < 1000) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(2000);
        uv_update_time(&loop);
    }
    peer_transport_counts(&b.t, &c);
    unsigned long long more = c.unfinished - PEER_STRANGER_BURST - 4;
    CHECK_MSG(more >= PEER_STRANGER_RATE - 2 && more <= PEER_STRANGER_RATE + 1,
              "a second later, about %d more of the stranger's took slots (%llu)",
              PEER_STRANGER_RATE, more);
    for (int i = 0; i < 4; i++)
        close(mine[i]);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    spin(200);
    side_stop(&b);
    loop_done();
    free(dir);
}

/* P3c, the bound in all: past max_unfinished, even a member's address
 * parks; parked past its time, a connection is closed unread, counted
 * "full"; and the member's own links out open all the while (P3d). */
static void past_the_bound_in_all_a_connection_is_parked_then_closed(void)
{
    uv_loop_init(&loop);
    char *dir = make_certs("group", 2);
    side b;
    next = (peer_config){.max_unfinished = 3, .opening_ms = 20000, .parked_ms = 1000};
    member_ip = 0x7f000002;
    next.member_address = test_member_address;
    side_start(&b, 2, dir, 2);
    next = (peer_config){0};
    int fds[4];
    for (int i = 0; i < 4; i++)
        fds[i] = connect_from(&b, "127.0.0.2");
    spin(50);
    peer_counts c;
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.unfinished == 3 && c.parked == 1, "3 slots in all, the fourth parked");
    side a; /* P3d: member 2's own links out count in none of its bounds */
    side_start(&a, 1, dir, 1);
    dial d;
    dial_to(&b, &a, 1, &d);
    CHECK_MSG(d.status == 0, "member 2, its slots full, still opens a link out (status %d)",
              d.status);
    close_stream(d.stream);
    side_stop(&a);
    uint64_t start = uv_now(&loop);
    while (uv_now(&loop) - start < 1300) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(2000);
        uv_update_time(&loop);
    }
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.parked == 0 && c.refused_by[PEER_REFUSED_FULL] == 1,
              "parked %d ms, closed and counted full (%llu)", 1000,
              c.refused_by[PEER_REFUSED_FULL]);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    side_stop(&b);
    loop_done();
    free(dir);
}

/* P3a: a connection that stops part way through opening (half an
 * opening; a whole one, then nothing of the TLS handshake) is closed at
 * that step's deadline, counted by the step, and takes nothing from the
 * member's own. */
static void a_connection_that_stalls_while_opening_is_closed(void)
{
    uv_loop_init(&loop);
    char *dir = make_certs("group", 2);
    side a, b;
    next = (peer_config){.opening_ms = 200, .handshake_ms = 300, .slack = 1};
    side_start(&b, 2, dir, 2);
    next = (peer_config){0};
    uint8_t opening[PEER_OPENING];
    peer_opening_encode(&(peer_opening){.mode = PEER_MODE_TLS, .id = 1}, opening);
    int fds[2];
    for (int i = 0; i < 2; i++) {
        fds[i] = connect_from(&b, "127.0.0.1");
        size_t n = i == 0 ? PEER_OPENING / 2 : PEER_OPENING;
        CHECK(write(fds[i], opening, n) == (ssize_t)n);
    }
    uint64_t start = uv_now(&loop);
    spin(50);
    peer_counts c;
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.refused == 0, "not closed before its time (%llu refused)", c.refused);
    while (uv_now(&loop) - start < 700) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
        uv_update_time(&loop);
    }
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.refused == 2 && c.refused_by[PEER_REFUSED_OPENING_LATE] == 1 &&
                  c.refused_by[PEER_REFUSED_HANDSHAKE_LATE] == 1,
              "both closed, one late for its opening and one for its handshake (%llu, %llu, "
              "%llu)", c.refused, c.refused_by[PEER_REFUSED_OPENING_LATE],
              c.refused_by[PEER_REFUSED_HANDSHAKE_LATE]);
    for (int i = 0; i < 2; i++) {
        char byte;
        ssize_t got;
        do
            got = read(fds[i], &byte, 1);
        while (got > 0); /* (the second may have been sent the TLS alert) */
        CHECK_MSG(got == 0, "connection %d was closed by the member", i + 1);
        close(fds[i]);
    }
    side_start(&a, 1, dir, 1);
    dial d;
    dial_to(&a, &b, 2, &d);
    CHECK_MSG(d.status == 0, "a member still connects");
    close_stream(d.stream);
    side_stop(&a);
    side_stop(&b);
    loop_done();
    free(dir);
}

/* P3b: a member the configuration does not hold is refused at its
 * opening, before any TLS; one removed while connected is cut off at its
 * next bytes. */
static void a_member_not_in_the_configuration_is_refused(void)
{
    uv_loop_init(&loop);
    char *dir = make_certs("group", 3);
    side a, b, x;
    next = (peer_config){.admits = test_admits};
    refused_id = 3;
    side_start(&b, 2, dir, 2);
    next = (peer_config){0};
    side_start(&x, 3, dir, 3);
    dial d;
    dial_to(&x, &b, 2, &d);
    spin(100);
    peer_counts c;
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(b.accepted == 0 && c.refused_by[PEER_REFUSED_NOT_MEMBER] == 1 &&
                  c.refused_by[PEER_REFUSED_TLS] == 0,
              "member 3, not in the configuration, is refused at its opening (%llu)",
              c.refused_by[PEER_REFUSED_NOT_MEMBER]);
    if (d.status == 0)
        close_stream(d.stream);
    side_start(&a, 1, dir, 1);
    dial_to(&a, &b, 2, &d);
    CHECK(d.status == 0);
    uint8_t msg[64];
    size_t n = vote(msg, 1, 3);
    send_bytes(d.stream, msg, n);
    for (int i = 0; i < 500 && b.got_len < n; i++)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_MSG(b.got_len == n, "member 1's vote reaches libraft");
    refused_id = 1; /* member 1 removed */
    send_bytes(d.stream, msg, n);
    CHECK_MSG(run_until(&b.in_eof), "member 1, removed, is cut off at its next bytes");
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(b.got_len == n && c.revoked == 1, "nothing more reached libraft; counted "
              "revoked (%llu)", c.revoked);
    refused_id = 0;
    close_stream(d.stream);
    side_stop(&a);
    side_stop(&x);
    side_stop(&b);
    loop_done();
    free(dir);
}

/* P5 and F5: a notice goes between two of libraft's messages, reaches
 * the other member's policy and not its libraft; a vote's disrupt-leader
 * flag arrives cleared unless the policy allows it. */
static void a_notice_crosses_between_libraft_messages(void)
{
    uv_loop_init(&loop);
    char *dir = make_certs("group", 2);
    side a, b;
    next = (peer_config){.term = test_term, .may_disrupt = test_may_disrupt,
                         .notice = test_notice};
    side_start(&b, 2, dir, 2);
    next = (peer_config){0};
    side_start(&a, 1, dir, 1);
    dial d;
    dial_to(&a, &b, 2, &d);
    CHECK(d.status == 0);
    uint8_t msg[64];
    size_t n = vote(msg, 1, 3);
    coding_put_u64(msg + 48, 1); /* disrupt leader */
    disrupt_ok = 0;
    got_notices = 0;
    send_bytes(d.stream, msg, 20); /* libraft is inside a message... */
    spin(50);
    peer_notice note = {PEER_NOTICE_TRANSFER, 3, 2};
    CHECK_MSG(peer_transport_notify(&a.t, 2, &note) == 0, "a notice to member 2 is queued");
    CHECK_MSG(peer_transport_notify(&a.t, 5, &note) == RAFT_NOCONNECTION,
              "none to a member with no connection");
    spin(50);
    CHECK_MSG(got_notices == 0, "... so the notice waits for its end");
    send_bytes(d.stream, msg + 20, n - 20);
    for (int i = 0; i < 500 && (b.got_len < n || got_notices == 0); i++)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_MSG(got_notices == 1 && got_notice_from == 1 && got_notice.kind == PEER_NOTICE_TRANSFER &&
                  got_notice.term == 3 && got_notice.target == 2,
              "then it reaches member 2's policy, from member 1");
    CHECK_MSG(b.got_len == n && memcmp(b.got, msg, 48) == 0 && coding_get_u64(b.got + 48) == 0,
              "libraft got the vote whole, its flag cleared, and no notice");
    disrupt_ok = 1;
    send_bytes(d.stream, msg, n);
    for (int i = 0; i < 500 && b.got_len < 2 * n; i++)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_MSG(b.got_len == 2 * n && coding_get_u64(b.got + n + 48) == 1,
              "allowed, the flag reaches libraft");
    peer_counts c;
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.disrupt_cleared == 1 && c.notices_received == 1, "one flag cleared, one "
              "notice counted (%llu, %llu)", c.disrupt_cleared, c.notices_received);
    close_stream(d.stream);
    side_stop(&a);
    side_stop(&b);
    loop_done();
    free(dir);
}

static void credentials_are_checked_when_opened(void)
{
    char *dir = make_certs("group", 2), *other = make_certs("other", 2);
    peer_tls_ctx *ctx = NULL;
    CHECK_MSG(peer_tls_ctx_open(dir, 3, &ctx) != KV_OK && strstr(kv_errmsg(), "member-3.crt"),
              "no credentials for member 3: the file is named (%s)", kv_errmsg());
    char from[512], to[512];
    snprintf(from, sizeof from, "%s/ca.crt", other);
    snprintf(to, sizeof to, "%s/ca.crt", dir);
    CHECK(rename(from, to) == 0); /* member 1's certificate, and another group's authority */
    CHECK_MSG(peer_tls_ctx_open(dir, 1, &ctx) == KV_ERR_INVALID &&
                  strstr(kv_errmsg(), "not signed") != NULL,
              "a certificate its ca.crt did not sign is refused (%s)", kv_errmsg());
    uint64_t again[1] = {2};
    int made = 0;
    CHECK_MSG(peer_certs_make(other, again, 1, 30, 0, &made) == KV_ERR_INVALID,
              "a member's credentials are never replaced (K2)");
    CHECK_MSG(peer_tls_id_of_cn("kv-raft-member-12") == 12 &&
                  peer_tls_id_of_cn("kv-raft-member-012") == 0 &&
                  peer_tls_id_of_cn("kv-raft-member-") == 0 &&
                  peer_tls_id_of_cn("kv-raft-member-1x") == 0 &&
                  peer_tls_id_of_cn("kv-raft-group-1") == 0 &&
                  peer_tls_id_of_cn("kv-raft-member-99999999999999999999") == 0,
              "a common name gives an id only as kv-raft-member-ID, ID from 1");
    free(dir);
    free(other);
}

/* P8: member 1 opens link after link to member 2, whose libraft keeps
 * every one: past PEER_LINKS_PER_MEMBER, each new one closes the oldest,
 * and the newest carries messages. */
static void a_members_links_are_bounded_the_newest_kept(void)
{
    uv_loop_init(&loop);
    char *dir = make_certs("group", 3);
    side a, b;
    side_start(&a, 1, dir, 1);
    side_start(&b, 2, dir, 2);
    keep_links = 1;
    enum { LINKS = 6 };
    dial d[LINKS];
    for (int i = 0; i < LINKS; i++) {
        dial_to(&a, &b, 2, &d[i]);
        CHECK_MSG(d[i].status == 0, "link %d opens (status %d)", i + 1, d[i].status);
        for (int k = 0; k < 200 && b.accepted < i + 1; k++)
            uv_run(&loop, UV_RUN_ONCE);
    }
    spin(50);
    peer_counts c;
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(b.accepted == LINKS && c.refused_by[PEER_REFUSED_REPLACED] ==
                                         LINKS - PEER_LINKS_PER_MEMBER,
              "%d links opened, %llu closed as replaced (%d expected)", b.accepted,
              c.refused_by[PEER_REFUSED_REPLACED], LINKS - PEER_LINKS_PER_MEMBER);
    uint8_t msg[64];
    size_t n = vote(msg, 1, 3);
    b.got_len = 0;
    send_bytes(d[LINKS - 1].stream, msg, n);
    for (int i = 0; i < 500 && b.got_len < n; i++)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_MSG(b.got_len == n && memcmp(b.got, msg, n) == 0, "the newest link carries a vote");
    keep_links = 0;
    for (int i = 0; i < LINKS; i++)
        close_stream(d[i].stream);
    side_stop(&a);
    side_stop(&b);
    loop_done();
    free(dir);
}

/* A stranger's TLS handshake begun from address `from`: the opening,
 * claiming member 1, and a ClientHello from *cl (a session of member 1's
 * credentials ctx), written without running the loop. */
static int hello_unsent(side *s, const char *from, peer_tls_ctx *ctx, peer_tls **cl)
{
    int fd = connect_from(s, from);
    uint8_t out[4096];
    peer_opening_encode(&(peer_opening){.mode = PEER_MODE_TLS, .id = 1}, out);
    CHECK_KV(peer_tls_new(ctx, 0, cl), KV_OK);
    CHECK(peer_tls_handshake(*cl) == 0);
    size_t n = PEER_OPENING + peer_tls_take(*cl, out + PEER_OPENING, sizeof out - PEER_OPENING);
    CHECK(write(fd, out, n) == (ssize_t)n);
    return fd;
}

/* Runs the loop until fd has bytes to read (1) or is closed (0), or 5 s
 * (-1). */
static int answered(int fd)
{
    uint64_t end = uv_now(&loop) + 5000;
    while (uv_now(&loop) < end) {
        uint8_t b[4096];
        ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT | MSG_PEEK);
        if (n > 0)
            return 1;
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return 0;
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
        uv_update_time(&loop);
    }
    return -1;
}

/* P9: with a budget of four unfinished handshakes, a stranger's address
 * takes three quarters of it: three half-done handshakes are held, the
 * fourth refused (`memory`); a member's address still opens a link with
 * the quarter left; once the strangers are gone the books read 0, and a
 * stranger's next handshake is answered. */
static void unfinished_handshakes_hold_memory_within_a_budget_given_back(void)
{
    uv_loop_init(&loop);
    char *dir = make_certs("group", 3);
    const size_t each = PEER_CONN_HOLD + PEER_TLS_HOLD;
    side a, b;
    next = (peer_config){.pending_budget = 4 * each};
    member_ip = 0x7f000001; /* 127.0.0.1, where member 1 dials from, is a member's */
    next.member_address = test_member_address;
    side_start(&b, 2, dir, 2);
    next = (peer_config){0};
    side_start(&a, 1, dir, 1);
    peer_tls_ctx *ctx = NULL;
    CHECK_KV(peer_tls_ctx_open(dir, 1, &ctx), KV_OK);
    peer_tls *cl[4];
    int fds[4];
    peer_counts c;
    for (int i = 0; i < 3; i++) {
        fds[i] = hello_unsent(&b, "127.0.0.2", ctx, &cl[i]);
        CHECK_MSG(answered(fds[i]) == 1, "stranger %d's ClientHello is answered", i + 1);
    }
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.pending_bytes == 3 * each && c.unfinished == 3,
              "three half-done handshakes are charged %zu bytes each (%llu in all, %llu "
              "unfinished)", each, c.pending_bytes, c.unfinished);
    fds[3] = hello_unsent(&b, "127.0.0.2", ctx, &cl[3]);
    CHECK_MSG(answered(fds[3]) == 0, "a fourth is closed unanswered");
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.refused_by[PEER_REFUSED_MEMORY] == 1 && c.pending_bytes == 3 * each,
              "refused for memory (%llu), and the books unchanged (%llu)",
              c.refused_by[PEER_REFUSED_MEMORY], c.pending_bytes);
    dial d;
    dial_to(&a, &b, 2, &d);
    CHECK_MSG(d.status == 0, "a member's address opens a link in the quarter left (status %d)",
              d.status);
    for (int i = 0; i < 200 && b.accepted < 1; i++)
        uv_run(&loop, UV_RUN_ONCE);
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(b.accepted == 1 && c.pending_bytes == 3 * each,
              "open, its charge is given back (%llu)", c.pending_bytes);
    for (int i = 0; i < 4; i++) {
        close(fds[i]);
        peer_tls_free(cl[i]);
    }
    spin(100);
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.pending_bytes == 0 && c.unfinished == 0,
              "the strangers gone, the books read 0 (%llu bytes, %llu unfinished)",
              c.pending_bytes, c.unfinished);
    fds[0] = hello_unsent(&b, "127.0.0.2", ctx, &cl[0]);
    CHECK_MSG(answered(fds[0]) == 1, "a stranger's next handshake is answered");
    close(fds[0]);
    peer_tls_free(cl[0]);
    close_stream(d.stream);
    peer_tls_ctx_free(ctx);
    side_stop(&a);
    side_stop(&b);
    loop_done();
    free(dir);
}

/* P10: 24 ClientHellos ready at once, from a member's address (held to
 * no rate): no pass takes more than PEER_HANDSHAKES_PER_PASS of their
 * steps, the others wait, and every one is answered in its turn. */
static void handshakes_ready_at_once_take_a_few_steps_a_pass(void)
{
    uv_loop_init(&loop);
    char *dir = make_certs("group", 2);
    side b;
    member_ip = 0x7f000003;
    next.member_address = test_member_address;
    side_start(&b, 2, dir, 2);
    next = (peer_config){0};
    peer_tls_ctx *ctx = NULL;
    CHECK_KV(peer_tls_ctx_open(dir, 1, &ctx), KV_OK);
    enum { N = 24 };
    peer_tls *cl[N];
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = connect_from(&b, "127.0.0.3");
    spin(20);
    peer_counts c;
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.unfinished == N, "%d connections wait for their openings (%llu)", N,
              c.unfinished);
    for (int i = 0; i < N; i++) { /* all written before the loop reads any */
        uint8_t out[4096];
        peer_opening_encode(&(peer_opening){.mode = PEER_MODE_TLS, .id = 1}, out);
        CHECK_KV(peer_tls_new(ctx, 0, &cl[i]), KV_OK);
        CHECK(peer_tls_handshake(cl[i]) == 0);
        size_t n = PEER_OPENING + peer_tls_take(cl[i], out + PEER_OPENING,
                                                sizeof out - PEER_OPENING);
        CHECK(write(fds[i], out, n) == (ssize_t)n);
    }
    int all = 1;
    for (int i = 0; i < N; i++)
        all &= answered(fds[i]) == 1;
    CHECK_MSG(all, "every ClientHello is answered in its turn");
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.handshake_steps == N && c.pass_steps_most <= PEER_HANDSHAKES_PER_PASS &&
                  c.handshakes_deferred + PEER_HANDSHAKES_PER_PASS >= (unsigned long long)N,
              "%llu steps, at most %llu in a pass (%d allowed), %llu put off to a later "
              "pass", c.handshake_steps, c.pass_steps_most, PEER_HANDSHAKES_PER_PASS,
              c.handshakes_deferred);
    for (int i = 0; i < N; i++) {
        close(fds[i]);
        peer_tls_free(cl[i]);
    }
    spin(100);
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.pending_bytes == 0 && c.unfinished == 0, "gone, nothing held (%llu, %llu)",
              c.pending_bytes, c.unfinished);
    peer_tls_ctx_free(ctx);
    side_stop(&b);
    loop_done();
    free(dir);
}

/* Whether fd has bytes to read now. */
static int has_bytes(int fd)
{
    uint8_t b[16];
    return recv(fd, b, sizeof b, MSG_DONTWAIT | MSG_PEEK) > 0;
}

/* P10, members first: 8 strangers' ClientHellos and then 4 from a
 * member's address, all ready in one pass.  That pass takes four steps,
 * whichever; the next takes the members' deferred ones before any
 * stranger's, so after two passes every member is answered (in the
 * order they came, the last strangers would go first). */
static void deferred_handshakes_of_members_addresses_go_first(void)
{
    uv_loop_init(&loop);
    char *dir = make_certs("group", 2);
    side b;
    member_ip = 0x7f000003;
    next.member_address = test_member_address;
    side_start(&b, 2, dir, 2);
    next = (peer_config){0};
    peer_tls_ctx *ctx = NULL;
    CHECK_KV(peer_tls_ctx_open(dir, 1, &ctx), KV_OK);
    enum { STRANGERS = 8, MEMBERS = 4, N = STRANGERS + MEMBERS };
    peer_tls *cl[N];
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = connect_from(&b, i < STRANGERS ? "127.0.0.2" : "127.0.0.3");
    spin(20);
    for (int i = 0; i < N; i++) {
        uint8_t out[4096];
        peer_opening_encode(&(peer_opening){.mode = PEER_MODE_TLS, .id = 1}, out);
        CHECK_KV(peer_tls_new(ctx, 0, &cl[i]), KV_OK);
        CHECK(peer_tls_handshake(cl[i]) == 0);
        size_t n = PEER_OPENING + peer_tls_take(cl[i], out + PEER_OPENING,
                                                sizeof out - PEER_OPENING);
        CHECK(write(fds[i], out, n) == (ssize_t)n);
    }
    uv_run(&loop, UV_RUN_NOWAIT); /* reads all: four steps, eight deferred */
    uv_run(&loop, UV_RUN_NOWAIT); /* four deferred: the members' first */
    int members = 0, strangers = 0;
    for (int i = 0; i < N; i++)
        *(i < STRANGERS ? &strangers : &members) += has_bytes(fds[i]);
    peer_counts c;
    peer_transport_counts(&b.t, &c);
    CHECK_MSG(c.handshake_steps == 2 * PEER_HANDSHAKES_PER_PASS,
              "two passes took %d steps (%llu)", 2 * PEER_HANDSHAKES_PER_PASS,
              c.handshake_steps);
    CHECK_MSG(members == MEMBERS, "after two passes, the %d from a member's address are "
              "answered (%d; %d strangers)", MEMBERS, members, strangers);
    int all = 1;
    for (int i = 0; i < N; i++)
        all &= answered(fds[i]) == 1;
    CHECK_MSG(all, "and then every stranger too");
    for (int i = 0; i < N; i++) {
        close(fds[i]);
        peer_tls_free(cl[i]);
    }
    spin(100);
    peer_tls_ctx_free(ctx);
    side_stop(&b);
    loop_done();
    free(dir);
}

static const harness_test tests[] = {
    HARNESS_TEST(members_of_a_group_talk_and_malformed_messages_end_the_connection),
    HARNESS_TEST(strangers_are_refused_before_libraft),
    HARNESS_TEST(a_probe_is_answered_and_plain_does_not_mix_with_tls),
    HARNESS_TEST(a_strangers_address_is_held_to_its_bound),
    HARNESS_TEST(a_strangers_address_is_held_to_its_rate),
    HARNESS_TEST(past_the_bound_in_all_a_connection_is_parked_then_closed),
    HARNESS_TEST(a_connection_that_stalls_while_opening_is_closed),
    HARNESS_TEST(a_member_not_in_the_configuration_is_refused),
    HARNESS_TEST(a_notice_crosses_between_libraft_messages),
    HARNESS_TEST(credentials_are_checked_when_opened),
    HARNESS_TEST(a_members_links_are_bounded_the_newest_kept),
    HARNESS_TEST(unfinished_handshakes_hold_memory_within_a_budget_given_back),
    HARNESS_TEST(handshakes_ready_at_once_take_a_few_steps_a_pass),
    HARNESS_TEST(deferred_handshakes_of_members_addresses_go_first),
};
const harness_suite peer_transport_suite = HARNESS_SUITE("peer_transport", tests);
