/*
 * peer_confirm_test.c: the transport's confirm links (peer_transport.h,
 * P7; peer_confirm.c), two transports on one libuv loop, or one and a
 * raw socket playing the other side: an ask crosses (with TLS) and is
 * answered with the member's term at that moment, on one link reused
 * round after round, and nothing of it reaches libraft; a round asked
 * twice goes out once; a link to a member that is down is dialled again
 * at most every PEER_CONFIRM_REDIAL_MS; an answer to no ask, an ask on a
 * dialled link, an answer on an accepted one and a message that does not
 * decode each end their link.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../tests/harness.h"
#include "kv.h"
#include "peer_certs.h"
#include "peer_transport.h"

static uv_loop_t loop;

/* One transport, and the answers its confirm links brought. */
typedef struct member {
    struct raft_uv_transport t;
    peer_config cfg;
    char addr[32];
    uint64_t term;               /* what it answers asks with */
    int answers, accepted, closed;
    uint64_t last_id, last_term, last_round;
} member;

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

static void quiet(void *arg, const char *line)
{
    (void)arg, (void)line;
}

static void no_probe(void *arg, uint64_t asker, peer_answer *out)
{
    (void)arg, (void)asker;
    *out = (peer_answer){0};
}

static uint64_t term_of(void *arg)
{
    return ((member *)arg)->term;
}

static void confirmed(void *arg, uint64_t id, uint64_t term, uint64_t round)
{
    member *m = arg;
    m->answers++;
    m->last_id = id;
    m->last_term = term;
    m->last_round = round;
}

static void accepted(struct raft_uv_transport *t, raft_id id, const char *address,
                     uv_stream_t *stream)
{
    member *m = (member *)((char *)t - offsetof(member, t));
    (void)id, (void)address;
    m->accepted++;
    uv_close((uv_handle_t *)stream, (uv_close_cb)raft_free);
}

static void member_start(member *m, uint64_t id, const char *dir, const char *addr)
{
    memset(m, 0, sizeof *m);
    if (addr != NULL)
        snprintf(m->addr, sizeof m->addr, "%s", addr);
    else
        snprintf(m->addr, sizeof m->addr, "127.0.0.1:%d", free_port());
    m->cfg = (peer_config){.id = id, .address = m->addr, .answer = no_probe, .log = quiet,
                           .limits = {.max_entry = 4096, .max_message = 1 << 20},
                           .term = term_of, .confirmed = confirmed, .arg = m};
    if (dir != NULL)
        CHECK_KV(peer_tls_ctx_open(dir, id, &m->cfg.tls), KV_OK);
    CHECK_MSG(peer_transport_init(&m->t, &loop, &m->cfg) == 0, "listening at %s: %s", m->addr,
              m->t.errmsg);
    CHECK(m->t.init(&m->t, id, m->addr) == 0);
    m->t.listen(&m->t, accepted);
}

static void member_closed(struct raft_uv_transport *t)
{
    ((member *)((char *)t - offsetof(member, t)))->closed = 1;
}

static void member_stop(member *m)
{
    m->t.close(&m->t, member_closed);
    for (int i = 0; i < 1000 && !m->closed; i++)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_MSG(m->closed, "the transport closes");
    peer_transport_free(&m->t);
    peer_tls_ctx_free(m->cfg.tls);
}

static void loop_done(void)
{
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_MSG(uv_loop_close(&loop) == 0, "every handle on the loop closed");
}

/* Runs the loop until *count reaches want, or 5 s. */
static int run_until(const int *count, int want)
{
    uint64_t end = uv_now(&loop) + 5000;
    while (*count < want && uv_now(&loop) < end)
        uv_run(&loop, UV_RUN_ONCE);
    return *count >= want;
}

/* Runs the loop for about ms milliseconds. */
static void run_for(unsigned ms)
{
    uv_update_time(&loop);
    uint64_t end = uv_now(&loop) + ms;
    while (uv_now(&loop) < end) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
        uv_update_time(&loop);
    }
}

static void a_leaders_ask_is_answered_with_the_members_term_on_one_link(void)
{
    uv_loop_init(&loop);
    char *dir = malloc(strlen(harness_tmpdir()) + 8);
    sprintf(dir, "%s/group", harness_tmpdir());
    uint64_t ids[2] = {1, 2};
    int made = 0;
    CHECK_KV(peer_certs_make(dir, ids, 2, 30, PEER_CERTS_NEW_AUTHORITY, &made), KV_OK);
    member a, b;
    member_start(&a, 1, dir, NULL);
    member_start(&b, 2, dir, NULL);
    a.term = 5;
    b.term = 5;
    CHECK(peer_confirm_ask(&a.t, 2, b.addr, 5, 1) == 0);
    CHECK_MSG(run_until(&a.answers, 1), "member 1's ask of member 2 is answered (with TLS)");
    CHECK_MSG(a.last_id == 2 && a.last_term == 5 && a.last_round == 1,
              "by member 2, with its term 5, for round 1");
    CHECK_MSG(peer_confirm_ask(&a.t, 2, b.addr, 5, 1) == 0, "asking round 1 again is no error");
    run_for(50);
    CHECK_MSG(a.answers == 1, "but nothing went out again: one answer (%d)", a.answers);
    b.term = 6; /* member 2 has moved on */
    CHECK(peer_confirm_ask(&a.t, 2, b.addr, 5, 2) == 0);
    CHECK_MSG(run_until(&a.answers, 2) && a.last_term == 6 && a.last_round == 2,
              "round 2 is answered with the term member 2 holds when it answers, 6");
    peer_counts ca, cb;
    peer_transport_counts(&a.t, &ca);
    peer_transport_counts(&b.t, &cb);
    CHECK_MSG(b.accepted == 0 && cb.accepted == 0 && ca.connected == 0,
              "nothing of the link reached libraft on either side");
    CHECK_MSG(cb.refused == 0, "and member 2 refused no connection");
    member_stop(&a);
    member_stop(&b);
    loop_done();
    free(dir);
}

static void a_member_that_is_down_is_dialled_again_at_most_every_redial(void)
{
    uv_loop_init(&loop);
    member a, b;
    member_start(&a, 1, NULL, NULL);
    char nowhere[32];
    snprintf(nowhere, sizeof nowhere, "127.0.0.1:%d", free_port());
    /* Each try asks a member of its own, twice within the limit (a busy
     * machine may take longer between the two: then another member). */
    int within = 0;
    for (uint64_t id = 2; id < 12 && !within; id++) {
        uv_update_time(&loop);
        uint64_t t0 = uv_now(&loop);
        CHECK_MSG(peer_confirm_ask(&a.t, id, nowhere, 3, 1) == 0, "the first ask dials");
        run_for(20); /* refused: the link closes */
        int rc = peer_confirm_ask(&a.t, id, nowhere, 3, 2);
        uv_update_time(&loop);
        if (uv_now(&loop) - t0 >= PEER_CONFIRM_REDIAL_MS)
            continue;
        within = 1;
        CHECK_MSG(rc == RAFT_NOCONNECTION, "asked again within %d ms, it does not dial (%d)",
                  PEER_CONFIRM_REDIAL_MS, rc);
    }
    CHECK_MSG(within, "two asks came within %d ms of each other in one of ten tries",
              PEER_CONFIRM_REDIAL_MS);
    run_for(PEER_CONFIRM_REDIAL_MS);
    CHECK_MSG(peer_confirm_ask(&a.t, 2, nowhere, 3, 2) == 0, "after it, it dials again");
    run_for(20); /* refused again */
    member_start(&b, 2, NULL, nowhere); /* member 2 comes up there */
    b.term = 3;
    run_for(PEER_CONFIRM_REDIAL_MS);
    CHECK_MSG(peer_confirm_ask(&a.t, 2, nowhere, 3, 3) == 0, "after it, it dials again");
    CHECK_MSG(run_until(&a.answers, 1) && a.last_round == 3, "and round 3 is answered");
    member_stop(&a);
    member_stop(&b);
    loop_done();
}

/* A raw socket to m's port in plain mode: the opening of member `id`, a
 * hello of kind 3.  Returns the descriptor. */
static int raw_confirm_link(member *m, uint64_t id)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    sa.sin_port = htons((uint16_t)atoi(strchr(m->addr, ':') + 1));
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    uint8_t b[PEER_OPENING + PEER_HELLO_HEAD + 32];
    peer_opening_encode(&(peer_opening){.mode = PEER_MODE_PLAIN, .id = id}, b);
    peer_hello h = {.kind = PEER_KIND_CONFIRM};
    snprintf(h.addr, sizeof h.addr, "127.0.0.1:9");
    size_t n = PEER_OPENING + peer_hello_encode(&h, b + PEER_OPENING, sizeof b - PEER_OPENING);
    CHECK(write(fd, b, n) == (ssize_t)n);
    return fd;
}

/* Reads n bytes from fd while the loop runs; 1 if they all came. */
static int raw_read(int fd, uint8_t *p, size_t n)
{
    size_t got = 0;
    uint64_t end = uv_now(&loop) + 5000;
    while (got < n && uv_now(&loop) < end) {
        uv_run(&loop, UV_RUN_NOWAIT);
        ssize_t r = recv(fd, p + got, n - got, MSG_DONTWAIT);
        if (r == 0)
            return 0;
        if (r > 0)
            got += (size_t)r;
        usleep(500);
        uv_update_time(&loop);
    }
    return got == n;
}

/* 1 once the member has closed fd (reads 0), within 5 s. */
static int raw_closed(int fd)
{
    uint64_t end = uv_now(&loop) + 5000;
    while (uv_now(&loop) < end) {
        uv_run(&loop, UV_RUN_NOWAIT);
        uint8_t byte;
        ssize_t r = recv(fd, &byte, 1, MSG_DONTWAIT);
        if (r == 0)
            return 1;
        usleep(500);
        uv_update_time(&loop);
    }
    return 0;
}

static void an_accepted_link_answers_each_ask_in_turn_and_ends_on_anything_else(void)
{
    uv_loop_init(&loop);
    member b;
    member_start(&b, 2, NULL, NULL);
    b.term = 9;
    int fd = raw_confirm_link(&b, 1);
    uint8_t asks[2 * PEER_CONFIRM];
    peer_confirm_encode(&(peer_confirm_msg){PEER_CONFIRM_ASK, 4, 8}, asks);
    peer_confirm_encode(&(peer_confirm_msg){PEER_CONFIRM_ASK, 5, 8}, asks + PEER_CONFIRM);
    CHECK(write(fd, asks, sizeof asks - 3) == (ssize_t)(sizeof asks - 3)); /* in two pieces */
    run_for(10);
    CHECK(write(fd, asks + sizeof asks - 3, 3) == 3);
    uint8_t got[2 * PEER_CONFIRM];
    CHECK_MSG(raw_read(fd, got, sizeof got), "two asks, two answers");
    peer_confirm_msg m1, m2;
    CHECK_KV(peer_confirm_decode(got, &m1), KV_OK);
    CHECK_KV(peer_confirm_decode(got + PEER_CONFIRM, &m2), KV_OK);
    CHECK_MSG(m1.kind == PEER_CONFIRM_ANSWER && m1.round == 4 && m1.term == 9 &&
                  m2.round == 5 && m2.term == 9,
              "answers, in turn, each with the member's term 9");
    uint8_t answer[PEER_CONFIRM];
    peer_confirm_encode(&(peer_confirm_msg){PEER_CONFIRM_ANSWER, 6, 1}, answer);
    CHECK(write(fd, answer, sizeof answer) == (ssize_t)sizeof answer);
    CHECK_MSG(raw_closed(fd), "an answer sent to the member that answers ends the link");
    close(fd);
    fd = raw_confirm_link(&b, 1);
    uint8_t junk[PEER_CONFIRM] = {1, 0, 0, 0, 0, 0, 0, 0}; /* round 0 */
    CHECK(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk);
    CHECK_MSG(raw_closed(fd), "an ask that does not decode ends the link");
    close(fd);
    CHECK_MSG(b.accepted == 0, "none reached libraft");
    member_stop(&b);
    loop_done();
}

/* A raw listener playing member 2: what a dialled link does with what it
 * is sent back. */
static void a_dialled_link_takes_only_answers_to_its_asks(void)
{
    uv_loop_init(&loop);
    member a;
    member_start(&a, 1, NULL, NULL);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    CHECK(bind(ls, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(ls, 4) == 0);
    fcntl(ls, F_SETFL, O_NONBLOCK);
    socklen_t len = sizeof sa;
    getsockname(ls, (struct sockaddr *)&sa, &len);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(sa.sin_port));
    const struct {
        peer_confirm_msg back;
        int counts;
        const char *what;
    } cases[] = {
        {{PEER_CONFIRM_ANSWER, 7, 4}, 1, "the answer to its ask is taken"},
        {{PEER_CONFIRM_ANSWER, 8, 4}, 0, "an answer for a round not asked ends the link"},
        {{PEER_CONFIRM_ASK, 7, 4}, 0, "an ask sent back ends the link"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int before = a.answers;
        run_for(PEER_CONFIRM_REDIAL_MS); /* the last case's link closed: it may dial again */
        CHECK(peer_confirm_ask(&a.t, 2, addr, 4, 7) == 0);
        int fd = -1;
        for (int t = 0; t < 2000 && fd < 0; t++) {
            uv_run(&loop, UV_RUN_NOWAIT);
            fd = accept(ls, NULL, NULL);
            usleep(500);
        }
        CHECK_MSG(fd >= 0, "member 1 dials member 2");
        uint8_t in[PEER_OPENING + PEER_HELLO_HEAD + 32 + PEER_CONFIRM];
        size_t want = PEER_OPENING + PEER_HELLO_HEAD + strlen(a.addr) + PEER_CONFIRM;
        CHECK_MSG(raw_read(fd, in, want), "its opening, hello and ask come");
        peer_hello h;
        peer_confirm_msg ask;
        CHECK_KV(peer_hello_decode(in + PEER_OPENING, want - PEER_OPENING - PEER_CONFIRM, &h),
                 KV_OK);
        CHECK_KV(peer_confirm_decode(in + want - PEER_CONFIRM, &ask), KV_OK);
        CHECK_MSG(h.kind == PEER_KIND_CONFIRM && ask.kind == PEER_CONFIRM_ASK &&
                      ask.round == 7 && ask.term == 4,
                  "a hello of kind confirm, then the ask of round 7 in term 4");
        uint8_t out[PEER_CONFIRM];
        peer_confirm_encode(&cases[i].back, out);
        CHECK(write(fd, out, sizeof out) == (ssize_t)sizeof out);
        if (cases[i].counts) {
            CHECK_MSG(run_until(&a.answers, before + 1) && a.last_round == 7 &&
                          a.last_term == 4 && a.last_id == 2,
                      "%s", cases[i].what);
        } else {
            CHECK_MSG(raw_closed(fd) && a.answers == before, "%s", cases[i].what);
        }
        close(fd);
    }
    close(ls);
    member_stop(&a);
    loop_done();
}

static const harness_test tests[] = {
    HARNESS_TEST(a_leaders_ask_is_answered_with_the_members_term_on_one_link),
    HARNESS_TEST(a_member_that_is_down_is_dialled_again_at_most_every_redial),
    HARNESS_TEST(an_accepted_link_answers_each_ask_in_turn_and_ends_on_anything_else),
    HARNESS_TEST(a_dialled_link_takes_only_answers_to_its_asks),
};
const harness_suite peer_confirm_suite = HARNESS_SUITE("peer_confirm", tests);
