/*
 * member_guard.c: what a peer's word may do to this member (member.h;
 * docs/10-raft-security.md, "Who may talk to a member"), as its transport asks
 * (peer_transport.h), and leadership transfers the followers are told of.
 *
 *   member_admits      who may open a connection: a member of the current
 *                      configuration, or one this member cannot know of
 *                      yet (added after its log ends).  A member the group
 *                      knew (in --raft-peers, or named by a member note of
 *                      the log) that the configuration no longer holds was
 *                      removed, and is refused: removing a member revokes
 *                      its certificate.
 *   member_is_address  the hosts of the members' Raft addresses: not held
 *                      to a stranger's bound of connections.
 *   member_term        the checker's F1: no term far above this member's.
 *   member_may_disrupt a vote asking to disrupt the leader, only during a
 *                      transfer the leader started: on the leader, its own
 *                      transfer to that candidate (libraft's); on a
 *                      follower, the one its leader told it of.
 *   member_notice      that telling, and its answer.
 *
 * libraft's transfer sends the target a TimeoutNow, and the target asks
 * every member for its vote with the disrupt-leader flag; a follower that
 * did not know of the transfer would clear the flag and refuse (it has a
 * leader).  So member_transfer first tells each voter, through the
 * transport (a notice between libraft's messages), and calls
 * raft_transfer once each has said it heard, or after GUARD_TELL_MS for
 * those that did not answer (down, or cut off: their vote is not needed).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "member.h"
#include "member_note.h"

#define GUARD_TELL_MS 200

/* The voters of the configuration other than this member and `but`. */
static int guard_voter(const struct raft_server *s, raft_id self, raft_id but)
{
    return s->role == RAFT_VOTER && s->id != self && s->id != but;
}

int member_admits(void *arg, uint64_t id)
{
    struct member *m = arg;
    if (!m->started)
        return 1; /* before libraft: probes, which ask only what it holds */
    const struct raft_configuration *conf = libraft_configuration(&m->raft);
    if (conf->n == 0)
        return 1; /* joining: the leader that adds it is not known yet */
    for (unsigned i = 0; i < conf->n; i++)
        if (conf->servers[i].id == id)
            return 1;
    for (int i = 0; i < m->npeers; i++)
        if (m->peers[i].id == id)
            return 0; /* of the first configuration, and removed */
    char addr[MEMBER_ADDR_MAX + 1];
    return replica_member_address(m->r, id, addr, sizeof addr) != 1; /* noted, then removed */
}

/* 1 if HOST:PORT's host is the IPv4 address ip (host order). */
static int guard_host_is(const char *addr, uint32_t ip)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    struct in_addr in;
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host)
        return 0;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    return inet_pton(AF_INET, host, &in) == 1 && ntohl(in.s_addr) == ip;
}

int member_is_address(void *arg, uint32_t ip)
{
    struct member *m = arg;
    for (int i = 0; i < m->npeers; i++)
        if (guard_host_is(m->peers[i].raft_addr, ip))
            return 1;
    if (!m->started)
        return 0;
    const struct raft_configuration *conf = libraft_configuration(&m->raft);
    for (unsigned i = 0; i < conf->n; i++)
        if (guard_host_is(conf->servers[i].address, ip))
            return 1;
    return 0;
}

uint64_t member_term(void *arg)
{
    struct member *m = arg;
    return m->started ? libraft_term(&m->raft) : 0;
}

int member_may_disrupt(void *arg, uint64_t candidate, uint64_t term)
{
    struct member *m = arg;
    member_guard *g = &m->guard;
    raft_term now = libraft_term(&m->raft);
    if (term != now + 1)
        return 0;
    if (raft_state(&m->raft) == RAFT_LEADER)
        return libraft_transferee(&m->raft) == candidate;
    return g->told_target == candidate && g->told_term == now &&
           (long long)uv_now(&m->loop) < g->told_until;
}

void member_notice(void *arg, uint64_t sender, const peer_notice *n)
{
    struct member *m = arg;
    member_guard *g = &m->guard;
    raft_term now = libraft_term(&m->raft);
    if (n->kind == PEER_NOTICE_HEARD) {
        if (!g->telling || n->term != g->term || n->target != g->target)
            return;
        for (int i = 0; i < g->n_heard; i++)
            if (g->heard[i] == sender)
                return;
        if (g->n_heard < MEMBER_MAX_PEERS)
            g->heard[g->n_heard++] = sender;
        return;
    }
    raft_id leader = 0;
    const char *addr = NULL;
    raft_leader(&m->raft, &leader, &addr);
    if (sender != leader || n->term != now || raft_state(&m->raft) != RAFT_FOLLOWER)
        return; /* only this member's leader, of this term, may say it */
    unsigned timeout = m->opt.election_ms != 0 ? m->opt.election_ms : 1000;
    g->told_by = sender;
    g->told_target = n->target;
    g->told_term = n->term;
    g->told_until = (long long)uv_now(&m->loop) + 2 * (long long)timeout;
    peer_notice heard = {PEER_NOTICE_HEARD, n->term, n->target};
    peer_transport_notify(&m->transport, sender, &heard);
}

/* The voter libraft would pick (the one whose log matches the leader's
 * furthest), or 0. */
static raft_id guard_pick(struct member *m)
{
    const struct raft_configuration *conf = libraft_configuration(&m->raft);
    raft_id best = 0;
    raft_index most = 0;
    for (unsigned i = 0; i < conf->n; i++)
        if (guard_voter(&conf->servers[i], m->self->id, 0) &&
            (best == 0 || libraft_match_index(&m->raft, i) > most)) {
            best = conf->servers[i].id;
            most = libraft_match_index(&m->raft, i);
        }
    return best;
}

static void guard_transferred(struct raft_transfer *req)
{
    struct member *m = (struct member *)((char *)req - offsetof(struct member, guard.req));
    member_guard *g = &m->guard;
    void (*done)(struct member *, int) = g->done;
    g->busy = 0;
    if (done != NULL)
        done(m, 0);
}

/* The followers were told (or had their time): libraft's transfer. */
static void guard_start(struct member *m)
{
    member_guard *g = &m->guard;
    g->telling = 0;
    int rv = raft_transfer(&m->raft, &g->req, g->target, guard_transferred);
    if (rv != 0) {
        g->busy = 0;
        if (g->done != NULL)
            g->done(m, rv);
    }
}

int member_transfer(struct member *m, raft_id to, void (*done)(struct member *m, int status))
{
    member_guard *g = &m->guard;
    if (raft_state(&m->raft) != RAFT_LEADER)
        return RAFT_NOTLEADER;
    if (g->busy || libraft_transferee(&m->raft) != 0)
        return RAFT_BUSY;
    if (to == 0 && (to = guard_pick(m)) == 0)
        return RAFT_NOTFOUND;
    const struct raft_configuration *conf = libraft_configuration(&m->raft);
    int voter = 0;
    for (unsigned i = 0; i < conf->n; i++)
        voter |= conf->servers[i].id == to && guard_voter(&conf->servers[i], m->self->id, 0);
    if (!voter)
        return RAFT_BADID;
    g->busy = 1;
    g->target = to;
    g->term = libraft_term(&m->raft);
    g->done = done;
    g->n_told = g->n_heard = 0;
    peer_notice n = {PEER_NOTICE_TRANSFER, g->term, to};
    for (unsigned i = 0; i < conf->n; i++)
        if (guard_voter(&conf->servers[i], m->self->id, to) &&
            peer_transport_notify(&m->transport, conf->servers[i].id, &n) == 0)
            g->n_told++;
    if (g->n_told == 0) { /* no one to tell (a group of two, say): at once */
        int rv = raft_transfer(&m->raft, &g->req, to, guard_transferred);
        g->busy = rv == 0;
        return rv;
    }
    g->telling = 1;
    g->told_ms = (long long)uv_now(&m->loop);
    return 0;
}

void member_guard_run(struct member *m)
{
    member_guard *g = &m->guard;
    if (!g->telling)
        return;
    if (raft_state(&m->raft) != RAFT_LEADER || libraft_term(&m->raft) != g->term) {
        g->telling = g->busy = 0;
        if (g->done != NULL)
            g->done(m, RAFT_NOTLEADER);
        return;
    }
    if (g->n_heard >= g->n_told || (long long)uv_now(&m->loop) - g->told_ms >= GUARD_TELL_MS)
        guard_start(m);
}

/* A transfer under way has no one to tell when it ends. */
void member_guard_forget(struct member *m)
{
    m->guard.done = NULL;
}
