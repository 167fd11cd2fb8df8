/*
 * member_peers.c: a member's peers, and where each is reached (member.h).
 *
 * The members are the current configuration's (libraft's, which
 * membership changes move: member_change.c); a member's client address
 * is the one the log carried (member_note.h, kept by the replica), or,
 * for a member of the first configuration, the CLIENTPORT --raft-peers
 * gave it.  Every entry of --raft-peers must give one: a member redirects
 * clients to the leader's client address, and a group whose members
 * could not name it would elect a leader no client could find.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key_slot.h"
#include "member.h"
#include "member_note.h"

/* Parses a decimal port, 1..65535, ending at `end` or at the string's end. */
static int peers_port(const char *p, const char *end)
{
    long v = 0;
    if (p == end || *p == '\0')
        return 0;
    for (; p != end && *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || v > 65535)
            return 0;
        v = v * 10 + (*p - '0');
    }
    return v >= 1 && v <= 65535 ? (int)v : 0;
}

int member_peers_parse(struct member *m, const char *list, raft_id self)
{
    const char *p = list;
    m->npeers = 0;
    m->self = NULL;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        char item[160];
        if (n >= sizeof item || m->npeers == MEMBER_MAX_PEERS) {
            member_say(m, "--raft-peers: at most %d peers, each ID@HOST:PORT/CLIENTPORT",
                       MEMBER_MAX_PEERS);
            return -1;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        member_peer *pe = &m->peers[m->npeers];
        char *at = strchr(item, '@'), *colon = at != NULL ? strrchr(at, ':') : NULL;
        char *slash = colon != NULL ? strchr(colon, '/') : NULL;
        char *end = NULL;
        unsigned long long id = strtoull(item, &end, 10);
        struct sockaddr_in sa;
        if (at != NULL && colon != NULL && colon > at + 1 &&
            (size_t)(colon - at - 1) < sizeof pe->host) {
            memcpy(pe->host, at + 1, (size_t)(colon - at - 1));
            pe->host[colon - at - 1] = '\0';
        }
        if (at == NULL || colon == NULL || end != at || id == 0 || colon == at + 1 ||
            (size_t)(colon - at - 1) >= sizeof pe->host || slash == NULL ||
            peers_port(colon + 1, slash) == 0 || peers_port(slash + 1, NULL) == 0 ||
            uv_ip4_addr(pe->host, 1, &sa) != 0) {
            member_say(m, "--raft-peers: '%s' is not ID@HOST:PORT/CLIENTPORT (an id from 1, an "
                       "IPv4 address, the Raft port, then the client port: 1@10.0.0.1:7101/6391)",
                       item);
            return -1;
        }
        pe->id = id;
        pe->client_port = peers_port(slash + 1, NULL);
        *slash = '\0';
        snprintf(pe->raft_addr, sizeof pe->raft_addr, "%s", at + 1);
        pe->role = -1;
        for (int i = 0; i < m->npeers; i++)
            if (m->peers[i].id == id || strcmp(m->peers[i].raft_addr, pe->raft_addr) == 0) {
                member_say(m, "--raft-peers: %s twice", m->peers[i].id == id ? "an id"
                                                                               : "a Raft address");
                return -1;
            }
        if (id == self)
            m->self = pe;
        m->npeers++;
        p += n;
        p += *p == ',';
    }
    if (m->self == NULL) {
        member_say(m, "--raft-peers names no member %llu (--raft-id)", (unsigned long long)self);
        return -1;
    }
    return 0;
}

/* Splits "HOST:PORT" into out's host and client port. */
static void peer_client_addr(member_peer *out, const char *addr)
{
    const char *colon = strrchr(addr, ':');
    size_t n = colon != NULL ? (size_t)(colon - addr) : 0;
    if (colon == NULL || n >= sizeof out->host)
        return;
    memcpy(out->host, addr, n);
    out->host[n] = '\0';
    out->client_port = atoi(colon + 1);
}

int member_peer_of(struct member *m, raft_id id, member_peer *out)
{
    *out = (member_peer){.id = id, .role = -1};
    int known = 0;
    for (int i = 0; i < m->npeers; i++)
        if (m->peers[i].id == id) {
            *out = m->peers[i];
            out->role = -1;
            known = 1;
        }
    const struct raft_configuration *conf = libraft_configuration(&m->raft);
    for (unsigned i = 0; i < conf->n; i++)
        if (conf->servers[i].id == id) {
            snprintf(out->raft_addr, sizeof out->raft_addr, "%s", conf->servers[i].address);
            out->role = conf->servers[i].role;
            known = 1;
        }
    char addr[MEMBER_ADDR_MAX + 1];
    if (replica_member_address(m->r, id, addr, sizeof addr) == 1)
        peer_client_addr(out, addr);
    return known;
}

int member_leader(struct member *m, member_peer *out)
{
    raft_id id = 0;
    const char *addr = NULL;
    raft_leader(&m->raft, &id, &addr);
    if (id == 0)
        return 0;
    if (!member_peer_of(m, id, out)) /* a leader the configuration does not hold yet */
        *out = (member_peer){.id = id, .role = -1};
    return 1;
}

void member_redirect(struct member *m, serve_out *out, const char *key, size_t klen)
{
    member_peer l;
    if (!member_leader(m, &l)) {
        out_error(out, "CLUSTERDOWN no leader is known to member %llu now",
                  (unsigned long long)m->self->id);
        return;
    }
    if (l.client_port == 0) {
        out_error(out, "TRYAGAIN member %llu leads, but its client address is not known to "
                  "member %llu yet", (unsigned long long)l.id, (unsigned long long)m->self->id);
        return;
    }
    unsigned slot = key != NULL ? key_slot(key, klen) : 0;
    out_error(out, "MOVED %u %s:%d", slot, l.host, l.client_port);
}
