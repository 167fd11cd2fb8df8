/*
 * peer_confirm.c: a leader's confirm links (peer_transport.h, P5;
 * peer_hello.h has their bytes, docs/10-raft.md, "Reads", what they are
 * for).
 *
 * A leader about to answer reads asks each voter "round R; my term is T"
 * and counts the answers (member_read.c); a member answers with its own
 * current term at the moment it answers, and does nothing else.  The
 * link is a connection of this transport like any other (the opening,
 * TLS with the group's credentials, the hello), whose hello says kind 3:
 * the member that accepts it answers here, and nothing of it reaches
 * libraft, on either side.
 *
 * A dialled link keeps one ask, the latest.  Asked while it is being
 * opened, the ask goes out once it opens; asked on an open link for the
 * round it was last asked, nothing goes out again.  Answers come back in
 * the order of the asks (one stream, answered in turn), so an answer may
 * be for an earlier round than the last ask, which the leader ignores;
 * an answer for a round not asked yet ends the link.
 */
#include <string.h>

#include "error.h"
#include "kv.h"
#include "peer_conn.h"

#define PT(t) ((peer_transport *)(t)->impl)

/* The confirm link to member id, open or being opened, or NULL. */
static peer_conn *confirm_link(peer_transport *pt, uint64_t id)
{
    for (peer_conn *c = pt->conns; c != NULL; c = c->next)
        if (c->kind == CONN_CONFIRM && c->id == id && c->state != ST_CLOSED)
            return c;
    return NULL;
}

/* 1 if a confirm link to id may be dialled now: none was dialled in the
 * last PEER_CONFIRM_REDIAL_MS (P5).  The dial is then recorded, in id's
 * slot or the one used longest ago. */
static int confirm_may_dial(peer_transport *pt, uint64_t id)
{
    uint64_t now = uv_now(pt->loop);
    peer_confirm_dial *slot = NULL;
    for (int i = 0; i < PEER_CONFIRM_DIALS && slot == NULL; i++)
        if (pt->confirm_dials[i].id == id)
            slot = &pt->confirm_dials[i];
    if (slot != NULL && now - slot->ms < PEER_CONFIRM_REDIAL_MS)
        return 0;
    for (int i = 0; i < PEER_CONFIRM_DIALS && slot == NULL; i++)
        if (pt->confirm_dials[i].id == 0)
            slot = &pt->confirm_dials[i];
    if (slot == NULL) {
        slot = &pt->confirm_dials[0];
        for (int i = 1; i < PEER_CONFIRM_DIALS; i++)
            if (pt->confirm_dials[i].ms < slot->ms)
                slot = &pt->confirm_dials[i];
    }
    slot->id = id;
    slot->ms = now;
    return 1;
}

static void confirm_send_ask(peer_conn *c)
{
    uint8_t out[PEER_CONFIRM];
    peer_confirm_encode(&c->ask, out);
    c->ask_sent = 1;
    peer_conn_send(c, out, sizeof out); /* a failure closes the link: asked again, it dials */
}

int peer_confirm_ask(struct raft_uv_transport *t, uint64_t id, const char *address,
                     uint64_t term, uint64_t round)
{
    peer_transport *pt = PT(t);
    if (pt->closing)
        return RAFT_NOCONNECTION;
    peer_conn *c = confirm_link(pt, id);
    if (c == NULL) {
        if (!confirm_may_dial(pt, id) ||
            peer_conn_dial(pt, CONN_CONFIRM, id, address, NULL, NULL) != 0 ||
            (c = confirm_link(pt, id)) == NULL)
            return RAFT_NOCONNECTION;
        c->confirm = 1;
    }
    if (c->ask.round == round && c->ask_sent)
        return 0; /* asked this round already */
    c->ask = (peer_confirm_msg){.kind = PEER_CONFIRM_ASK, .round = round, .term = term};
    c->ask_sent = 0;
    if (c->state == ST_OPEN)
        confirm_send_ask(c);
    return 0;
}

void peer_confirm_opened(peer_conn *c)
{
    c->in_len = 0; /* (an accepted link's hello was gathered there) */
    if (c->kind == CONN_CONFIRM && c->ask.round != 0 && !c->ask_sent)
        confirm_send_ask(c);
}

/* A whole message on an open confirm link: an answer to this member's
 * ask, or an ask to answer. */
static void confirm_message(peer_conn *c, const peer_confirm_msg *msg)
{
    peer_transport *pt = c->pt;
    if (c->kind == CONN_CONFIRM) {
        if (msg->kind != PEER_CONFIRM_ANSWER || msg->round > c->ask.round ||
            (msg->round == c->ask.round && !c->ask_sent)) {
            peer_conn_close(c, "an answer to no ask of this member's");
            return;
        }
        if (pt->cfg.confirmed != NULL)
            pt->cfg.confirmed(pt->cfg.arg, c->id, msg->term, msg->round);
        return;
    }
    if (msg->kind != PEER_CONFIRM_ASK) {
        peer_conn_close(c, "an answer on a confirm link where asks belong");
        return;
    }
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > PEER_QUEUE_HIGH) {
        peer_conn_close(c, "asks faster than it reads their answers"); /* C3 */
        return;
    }
    peer_confirm_msg a = {.kind = PEER_CONFIRM_ANSWER, .round = msg->round,
                          .term = pt->cfg.term != NULL ? pt->cfg.term(pt->cfg.arg) : 0};
    uint8_t out[PEER_CONFIRM];
    peer_confirm_encode(&a, out);
    peer_conn_send(c, out, sizeof out);
}

void peer_confirm_in(peer_conn *c, const uint8_t *p, size_t n)
{
    while (n > 0 && c->state == ST_OPEN) {
        size_t take = PEER_CONFIRM - c->in_len < n ? PEER_CONFIRM - c->in_len : n;
        memcpy(c->in + c->in_len, p, take);
        c->in_len += take;
        p += take;
        n -= take;
        if (c->in_len < PEER_CONFIRM)
            return;
        c->in_len = 0;
        peer_confirm_msg msg;
        if (peer_confirm_decode(c->in, &msg) != KV_OK) {
            peer_conn_close(c, kv_errmsg());
            return;
        }
        confirm_message(c, &msg);
    }
}
