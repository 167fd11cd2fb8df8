/*
 * peer_transport.c: libraft's transport for a member: the listener, the
 * methods libraft calls (struct raft_uv_transport), probes, a leader's
 * confirm asks, and the transport's side of its connections
 * (peer_transport.h; each connection's life is peer_conn.c's, the list of
 * them peer_conns.c's, a confirm link's end peer_confirm.c's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer_conn.h"

#define PT(t) ((peer_transport *)(t)->impl)

static void transport_accepted(uv_stream_t *listener, int status)
{
    peer_transport *pt = listener->data;
    if (status == 0)
        peer_conn_accept(pt);
}

/* libraft's init: the id and address it gives must be the ones the
 * transport listens for. */
static int transport_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    peer_transport *pt = PT(t);
    if (id != pt->cfg.id || strcmp(address, pt->cfg.address) != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "the transport is member %llu's at %s",
                 (unsigned long long)pt->cfg.id, pt->cfg.address);
        return RAFT_INVALID;
    }
    return 0;
}

static int transport_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    PT(t)->accept_cb = cb;
    return 0;
}

static int transport_connect(struct raft_uv_transport *t, struct raft_uv_connect *req,
                             raft_id id, const char *address, raft_uv_connect_cb cb)
{
    req->cb = cb;
    int rv = peer_conn_dial(PT(t), CONN_OUTGOING, id, address, req, NULL);
    if (rv != 0)
        snprintf(t->errmsg, sizeof t->errmsg, "cannot connect to member %llu at %s",
                 (unsigned long long)id, address);
    return rv;
}

static void transport_listener_closed(uv_handle_t *h)
{
    peer_transport *pt = h->data;
    pt->listener_open = 0;
    peer_transport_maybe_closed(pt);
}

void peer_transport_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    peer_transport *pt = PT(t);
    if (pt->closing)
        return;
    pt->closing = 1;
    pt->close_cb = cb;
    pt->accept_cb = NULL;
    if (pt->listener_open)
        uv_close((uv_handle_t *)&pt->listener, transport_listener_closed);
    /* Each connection closes: libraft's pending ones are told
     * RAFT_CANCELED, and its open ones see their pair end. */
    for (peer_conn *c = pt->conns; c != NULL; c = c->next)
        peer_conn_close(c, NULL);
    peer_pace_close(pt);
    peer_transport_maybe_closed(pt);
}

/* Parses HOST:PORT (an IPv4 address, as libraft's own transport takes). */
static int transport_addr(const char *address, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(address, ':');
    if (colon == NULL || colon == address || (size_t)(colon - address) >= sizeof host)
        return UV_EINVAL;
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port <= 0 || port > 65535)
        return UV_EINVAL;
    return uv_ip4_addr(host, (int)port, sa);
}

/* The checker's policy (peer_frame.h), through the transport: the
 * member's answers, counted. */
static uint64_t transport_term(void *arg)
{
    peer_transport *pt = arg;
    return pt->cfg.term != NULL ? pt->cfg.term(pt->cfg.arg) : 0;
}

static int transport_may_disrupt(void *arg, uint64_t candidate, uint64_t term)
{
    peer_transport *pt = arg;
    return pt->cfg.may_disrupt != NULL && pt->cfg.may_disrupt(pt->cfg.arg, candidate, term);
}

static void transport_notice(void *arg, uint64_t sender, const peer_notice *n)
{
    peer_transport *pt = arg;
    pt->counts.notices_received++;
    if (pt->cfg.notice != NULL)
        pt->cfg.notice(pt->cfg.arg, sender, n);
}

int peer_transport_init(struct raft_uv_transport *t, uv_loop_t *loop, const peer_config *cfg)
{
    memset(t, 0, sizeof *t);
    peer_transport *pt = calloc(1, sizeof *pt);
    if (pt == NULL) {
        snprintf(t->errmsg, sizeof t->errmsg, "out of memory");
        return UV_ENOMEM;
    }
    pt->t = t;
    pt->loop = loop;
    pt->cfg = *cfg;
    if (pt->cfg.max_unfinished > PEER_MAX_UNFINISHED) /* the address table's size */
        pt->cfg.max_unfinished = PEER_MAX_UNFINISHED;
    pt->tls = cfg->tls;
    /* Without a term to compare with, F1 is off: only a member with no
     * term yet (the tests' transports) runs so. */
    pt->policy = (peer_frame_policy){pt, cfg->term != NULL ? transport_term : NULL,
                                     transport_may_disrupt, transport_notice};
    t->impl = pt;
    t->init = transport_init;
    t->listen = transport_listen;
    t->connect = transport_connect;
    t->close = peer_transport_close;
    peer_pace_init(pt);
    struct sockaddr_in sa;
    const char *at = cfg->bind != NULL ? cfg->bind : cfg->address;
    int rv = transport_addr(at, &sa);
    if (rv != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "'%s' is not IPV4-ADDRESS:PORT", at);
        return rv;
    }
    uv_tcp_init(loop, &pt->listener);
    pt->listener.data = pt;
    pt->listener_open = 1;
    if ((rv = uv_tcp_bind(&pt->listener, (struct sockaddr *)&sa, 0)) != 0 ||
        (rv = uv_listen((uv_stream_t *)&pt->listener, 128, transport_accepted)) != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "listening at %s: %s (is the Raft port free?)",
                 at, uv_strerror(rv));
        return rv;
    }
    return 0;
}

void peer_transport_free(struct raft_uv_transport *t)
{
    free(t->impl);
    t->impl = NULL;
}

void peer_transport_activity(const struct raft_uv_transport *t, unsigned long long out[2])
{
    const peer_transport *pt = PT(t);
    out[0] = pt->to_libraft;
    out[1] = pt->counts.handshake_steps;
}

void peer_transport_counts(const struct raft_uv_transport *t, peer_counts *out)
{
    const peer_transport *pt = PT(t);
    *out = pt->counts;
    for (const peer_conn *c = pt->conns; c != NULL; c = c->next)
        if (c->frame_made) { /* the open ones' too, not only the closed ones' */
            out->disrupt_cleared += c->frame.disrupt_cleared;
            out->terms_lowered += c->frame.terms_lowered;
        }
    peer_admit_counts(pt, out);
    out->pending_bytes = pt->pending;
    if (pt->pass_steps > out->pass_steps_most) /* the pass under way */
        out->pass_steps_most = pt->pass_steps;
}

void peer_transport_set_tls(struct raft_uv_transport *t, peer_tls_ctx *tls)
{
    PT(t)->tls = tls;
}

int peer_transport_notify(struct raft_uv_transport *t, uint64_t id, const peer_notice *n)
{
    peer_transport *pt = PT(t);
    uint8_t bytes[PEER_NOTICE_BYTES];
    peer_notice_encode(n, bytes);
    for (peer_conn *c = pt->conns; c != NULL; c = c->next)
        if (c->kind == CONN_OUTGOING && c->state == ST_OPEN && c->id == id)
            return peer_conn_notify(c, bytes);
    return RAFT_NOCONNECTION;
}

int peer_probe(struct raft_uv_transport *t, peer_probe_req *req, uint64_t id,
               const char *address, peer_probe_cb cb)
{
    req->cb = cb;
    return peer_conn_dial(PT(t), CONN_PROBE, id, address, NULL, req);
}

/* The confirm link to member id, open or being opened, or NULL (P7: one). */
static peer_conn *transport_confirm_link(peer_transport *pt, uint64_t id)
{
    for (peer_conn *c = pt->conns; c != NULL; c = c->next)
        if (c->kind == CONN_CONFIRM && c->id == id && c->state != ST_CLOSED)
            return c;
    return NULL;
}

int peer_confirm_ask(struct raft_uv_transport *t, uint64_t id, const char *address,
                     uint64_t term, uint64_t round)
{
    peer_transport *pt = PT(t);
    if (pt->closing)
        return RAFT_NOCONNECTION;
    peer_conn *c = transport_confirm_link(pt, id);
    if (c == NULL) {
        if (!peer_confirm_may_dial(pt->confirm_dials, PEER_CONFIRM_DIALS, id, uv_now(pt->loop),
                                   PEER_CONFIRM_REDIAL_MS) ||
            peer_conn_dial(pt, CONN_CONFIRM, id, address, NULL, NULL) != 0 ||
            (c = transport_confirm_link(pt, id)) == NULL)
            return RAFT_NOCONNECTION;
        c->confirm = 1;
        c->link.asking = 1;
    }
    uint8_t ask[PEER_CONFIRM];
    if (peer_confirm_ask_on(&c->link, c->state == ST_OPEN, term, round, ask))
        peer_conn_send(c, ask, sizeof ask); /* a failure closes the link: asked again, it dials */
    return 0;
}
