/*
 * peer_pace.c: how much TLS handshake work one pass of the loop may do
 * (peer_transport.h, P10).
 *
 * The member's loop runs everything: its clients' requests, libraft's
 * messages and disk writes, and the handshakes of whoever connects to
 * its Raft port.  A handshake step is the costly part of that (the
 * answer to a ClientHello is a key exchange and a signature; the step
 * after it checks a certificate and a signature).  libuv hands a pass
 * every connection ready at once, so without a bound, every connection
 * whose ClientHello arrived since the last pass would take its step
 * before the next client is read.
 *
 * So a pass takes at most PEER_HANDSHAKES_PER_PASS steps of accepted
 * connections.  One more is deferred: its bytes are already in its TLS
 * session (at most PEER_TLS_FEED of them, peer_tls.h T4), its reading
 * stops, and it waits in a list, members' addresses' list first, each
 * oldest first.  While a list is not empty an idle handle runs (so the
 * loop polls without waiting) and gives the deferred their steps, within
 * the same share; a check handle, which libuv runs once at the end of
 * every pass, starts the next pass's count.  So between two checks at
 * most PEER_HANDSHAKES_PER_PASS steps run, whatever is ready, and
 * whatever else is ready (clients, open links) is served in between.
 *
 * This file keeps the count and the lists, and answers; peer_conn.c acts
 * on its answers (stops a deferred connection's reading, starts the idle
 * handle, takes a deferred connection's step when this file names it).
 *
 * The connections' deadlines (P3a) keep running while they wait: a
 * connection deferred past its handshake deadline is closed as any
 * late one.  A member's own connections out take their steps at once.
 */
#include "peer_conn.h"

static void pace_pass_end(uv_check_t *h)
{
    peer_transport *pt = h->data;
    if (pt->pass_steps > pt->counts.pass_steps_most)
        pt->counts.pass_steps_most = pt->pass_steps;
    pt->pass_steps = 0;
}

static void pace_unlink(peer_conn *c)
{
    peer_transport *pt = c->pt;
    int q = !c->member_src;
    if (c->defer_prev != NULL)
        c->defer_prev->defer_next = c->defer_next;
    else
        pt->deferred_head[q] = c->defer_next;
    if (c->defer_next != NULL)
        c->defer_next->defer_prev = c->defer_prev;
    else
        pt->deferred_tail[q] = c->defer_prev;
    c->defer_prev = c->defer_next = NULL;
    c->deferred = 0;
}

peer_conn *peer_pace_next(peer_transport *pt)
{
    peer_conn *c = pt->deferred_head[0] != NULL ? pt->deferred_head[0] : pt->deferred_head[1];
    if (c == NULL || pt->pass_steps >= PEER_HANDSHAKES_PER_PASS || pt->closing)
        return NULL;
    pace_unlink(c);
    return c;
}

int peer_pace_waiting(const peer_transport *pt)
{
    return pt->deferred_head[0] != NULL || pt->deferred_head[1] != NULL;
}

void peer_pace_init(peer_transport *pt)
{
    uv_check_init(pt->loop, &pt->pass_end);
    uv_idle_init(pt->loop, &pt->deferred_run);
    pt->pass_end.data = pt->deferred_run.data = pt;
    pt->pace_handles = 2;
    uv_check_start(&pt->pass_end, pace_pass_end);
    uv_unref((uv_handle_t *)&pt->pass_end); /* neither keeps the loop running */
    uv_unref((uv_handle_t *)&pt->deferred_run);
}

static void pace_closed(uv_handle_t *h)
{
    peer_transport *pt = h->data;
    pt->pace_handles--;
    peer_transport_maybe_closed(pt);
}

void peer_pace_close(peer_transport *pt)
{
    uv_close((uv_handle_t *)&pt->pass_end, pace_closed);
    uv_close((uv_handle_t *)&pt->deferred_run, pace_closed);
}

int peer_pace_step(peer_conn *c)
{
    peer_transport *pt = c->pt;
    if (pt->pass_steps < PEER_HANDSHAKES_PER_PASS && !pt->closing) {
        pt->pass_steps++;
        pt->counts.handshake_steps++;
        return 1;
    }
    int q = !c->member_src;
    c->deferred = 1;
    c->defer_prev = pt->deferred_tail[q];
    if (pt->deferred_tail[q] != NULL)
        pt->deferred_tail[q]->defer_next = c;
    else
        pt->deferred_head[q] = c;
    pt->deferred_tail[q] = c;
    pt->counts.handshakes_deferred++;
    return 0;
}

void peer_pace_forget(peer_conn *c)
{
    if (c->deferred)
        pace_unlink(c);
}
