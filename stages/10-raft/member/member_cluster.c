/*
 * member_cluster.c: a member's peers, and what Redis Cluster clients are
 * told about them (member.h).
 *
 * The group serves every key: to a Redis Cluster client it is one shard,
 * the 16,384 slots on the leader, the other members its replicas.  A
 * command for a key sent to a follower is answered "-MOVED SLOT
 * HOST:PORT", the leader's client address, which `redis-cli -c` and
 * redis-py's RedisCluster follow; the slot is Redis Cluster's, CRC16 of
 * the key (of its {hash tag} if it has one) modulo 16384, so a client's
 * own slot table agrees with ours (CLUSTER KEYSLOT says it).  CLUSTER
 * SLOTS, SHARDS and NODES describe the one shard; READONLY lets a client
 * read from a follower (reads that may be stale: no read index there).
 *
 * The members are the current configuration's (libraft's, which
 * membership changes move: member_change.c); a member's client address
 * is the one the log carried (member_note.h, kept by the replica), or
 * for a member of the first configuration the CLIENTPORT --raft-peers
 * gave it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key_slot.h"
#include "member.h"
#include "member_note.h"

int member_peers_parse(struct serve_member *m, const char *list, raft_id self)
{
    const char *p = list;
    m->npeers = 0;
    m->self = NULL;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        char item[160];
        if (n >= sizeof item || m->npeers == MEMBER_MAX_PEERS) {
            fprintf(stderr, "kv serve: --raft-peers: at most %d peers, each ID@HOST:PORT"
                    "[/CLIENTPORT]\n", MEMBER_MAX_PEERS);
            return -1;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        member_peer *pe = &m->peers[m->npeers];
        char *at = strchr(item, '@'), *colon = at != NULL ? strrchr(at, ':') : NULL;
        char *slash = colon != NULL ? strchr(colon, '/') : NULL;
        char *end = NULL;
        unsigned long long id = strtoull(item, &end, 10);
        if (at == NULL || colon == NULL || end != at || id == 0 || colon == at + 1 ||
            (size_t)(colon - at - 1) >= sizeof pe->host) {
            fprintf(stderr, "kv serve: --raft-peers: '%s' is not ID@HOST:PORT[/CLIENTPORT]\n",
                    item);
            return -1;
        }
        pe->id = id;
        memcpy(pe->host, at + 1, (size_t)(colon - at - 1));
        pe->host[colon - at - 1] = '\0';
        pe->client_port = slash != NULL ? atoi(slash + 1) : 0;
        if (slash != NULL)
            *slash = '\0';
        snprintf(pe->raft_addr, sizeof pe->raft_addr, "%s", at + 1);
        for (int i = 0; i < m->npeers; i++)
            if (m->peers[i].id == id) {
                fprintf(stderr, "kv serve: --raft-peers: id %llu twice\n", id);
                return -1;
            }
        if (id == self)
            m->self = pe;
        m->npeers++;
        p += n;
        p += *p == ',';
    }
    if (m->self == NULL) {
        fprintf(stderr, "kv serve: --raft-peers names no member %llu (--raft-id)\n",
                (unsigned long long)self);
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

int member_peer_of(struct serve_member *m, raft_id id, member_peer *out)
{
    *out = (member_peer){.id = id, .role = -1};
    int known = 0;
    for (int i = 0; i < m->npeers; i++)
        if (m->peers[i].id == id) {
            *out = m->peers[i];
            out->role = -1;
            known = 1;
        }
    const struct raft_configuration *conf = &m->raft.configuration;
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

int member_leader(struct serve_member *m, member_peer *out)
{
    raft_id id = 0;
    const char *addr = NULL;
    raft_leader(&m->raft, &id, &addr);
    return id != 0 && member_peer_of(m, id, out);
}

void member_redirect(struct serve_member *m, serve_client *c, const serve_req *r, size_t key)
{
    member_peer l;
    if (!member_leader(m, &l) || l.client_port == 0) {
        out_error(&c->out, "CLUSTERDOWN no leader is known to member %llu now",
                  (unsigned long long)m->self->id);
        return;
    }
    unsigned slot = key > 0 && key < r->argc ? key_slot(req_ptr(r, key), req_len(r, key)) : 0;
    out_error(&c->out, "MOVED %u %s:%d", slot, l.host, l.client_port);
}

/* A node of CLUSTER SLOTS: host, port, id (40 hex digits, as Redis's). */
static void node_entry(serve_out *o, const member_peer *p)
{
    char id[48];
    snprintf(id, sizeof id, "%040llx", (unsigned long long)p->id);
    out_array(o, 3);
    out_bulk_str(o, p->host);
    out_int(o, p->client_port);
    out_bulk_str(o, id);
}

/* The members a client may be sent to: the leader first, then every
 * other member of the configuration that holds the log (voters and
 * standbys; a spare holds nothing yet) and whose client address is
 * known.  Returns how many, at most cap. */
static size_t shard_nodes(struct serve_member *m, const member_peer *l, member_peer *out,
                          size_t cap)
{
    size_t n = 0;
    out[n++] = *l;
    const struct raft_configuration *conf = &m->raft.configuration;
    for (unsigned i = 0; i < conf->n && n < cap; i++) {
        if (conf->servers[i].id == l->id || conf->servers[i].role == RAFT_SPARE)
            continue;
        if (member_peer_of(m, conf->servers[i].id, &out[n]) && out[n].client_port != 0)
            n++;
    }
    return n;
}

#define SHARD_MAX 32

/* The shard's nodes, as shard_nodes, for an answer that describes them;
 * 0 once the client is told CLUSTERDOWN, no leader being known. */
static size_t shard_or_down(struct serve_member *m, serve_client *c, member_peer *nodes)
{
    member_peer l;
    if (!member_leader(m, &l) || l.client_port == 0) {
        out_error(&c->out, "CLUSTERDOWN no leader is known to member %llu now",
                  (unsigned long long)m->self->id);
        return 0;
    }
    return shard_nodes(m, &l, nodes, SHARD_MAX);
}

static void cluster_slots(struct serve_member *m, serve_client *c)
{
    member_peer nodes[SHARD_MAX];
    size_t n = shard_or_down(m, c, nodes);
    if (n == 0)
        return;
    out_array(&c->out, 1);
    out_array(&c->out, 2 + n);
    out_int(&c->out, 0);
    out_int(&c->out, 16383);
    for (size_t i = 0; i < n; i++)
        node_entry(&c->out, &nodes[i]);
}

/* CLUSTER SHARDS, as Redis 7 answers it (maps as flat arrays in RESP2):
 * one shard, its slots, its nodes. */
static void cluster_shards(struct serve_member *m, serve_client *c)
{
    member_peer nodes[SHARD_MAX];
    size_t n = shard_or_down(m, c, nodes);
    if (n == 0)
        return;
    out_array(&c->out, 1);
    out_array(&c->out, 4);
    out_bulk_str(&c->out, "slots");
    out_array(&c->out, 2);
    out_int(&c->out, 0);
    out_int(&c->out, 16383);
    out_bulk_str(&c->out, "nodes");
    out_array(&c->out, n);
    for (size_t i = 0; i < n; i++) {
        char id[48];
        snprintf(id, sizeof id, "%040llx", (unsigned long long)nodes[i].id);
        out_array(&c->out, 14);
        out_bulk_str(&c->out, "id");
        out_bulk_str(&c->out, id);
        out_bulk_str(&c->out, "port");
        out_int(&c->out, nodes[i].client_port);
        out_bulk_str(&c->out, "ip");
        out_bulk_str(&c->out, nodes[i].host);
        out_bulk_str(&c->out, "endpoint");
        out_bulk_str(&c->out, nodes[i].host);
        out_bulk_str(&c->out, "role");
        out_bulk_str(&c->out, i == 0 ? "master" : "replica");
        out_bulk_str(&c->out, "replication-offset");
        out_int(&c->out, 0);
        out_bulk_str(&c->out, "health");
        out_bulk_str(&c->out, "online");
    }
}

/* The port of HOST:PORT (libraft's address), or 0. */
static int addr_port(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    return colon != NULL ? atoi(colon + 1) : 0;
}

/* CLUSTER NODES, as Redis answers it: a line per node, "ID HOST:PORT@BUS
 * FLAGS MASTER PING PONG EPOCH LINK SLOTS...", the bus port here the
 * member's Raft port, the epoch the current term, the leader the master
 * holding 0-16383 and the other members its replicas ("slave", Redis's
 * word in this line); "myself" marks the member asked.  Clients that
 * learn a cluster from it (redis-rb's) then find the leader as they find
 * a master. */
static void cluster_nodes(struct serve_member *m, serve_client *c)
{
    member_peer nodes[SHARD_MAX];
    size_t n = shard_or_down(m, c, nodes);
    if (n == 0)
        return;
    char text[SHARD_MAX * 256];
    size_t at = 0;
    for (size_t i = 0; i < n && at < sizeof text; i++) {
        const member_peer *p = &nodes[i];
        char master[48] = "-";
        if (i > 0)
            snprintf(master, sizeof master, "%040llx", (unsigned long long)nodes[0].id);
        at += (size_t)snprintf(text + at, sizeof text - at,
                               "%040llx %s:%d@%d %s%s %s 0 0 %llu connected%s\n",
                               (unsigned long long)p->id, p->host, p->client_port,
                               addr_port(p->raft_addr), p->id == m->self->id ? "myself," : "",
                               i == 0 ? "master" : "slave", master,
                               (unsigned long long)m->raft.current_term,
                               i == 0 ? " 0-16383" : "");
    }
    out_bulk(&c->out, text, at < sizeof text ? at : sizeof text - 1);
}

static const char *role_name(int role)
{
    return role == RAFT_VOTER ? "voter" : role == RAFT_STANDBY ? "standby" : "spare";
}

static const char *state_name(int state)
{
    return state == RAFT_LEADER ? "leader" : state == RAFT_CANDIDATE ? "candidate"
                                           : state == RAFT_FOLLOWER  ? "follower"
                                                                     : "unavailable";
}

static void cluster_info(struct serve_member *m, serve_client *c)
{
    member_peer l;
    int leader = member_leader(m, &l);
    const struct raft_configuration *conf = &m->raft.configuration;
    char members[512] = "";
    size_t at = 0;
    for (unsigned i = 0; i < conf->n && at < sizeof members; i++)
        at += (size_t)snprintf(members + at, sizeof members - at, "%s%llu=%s",
                               i > 0 ? "," : "", (unsigned long long)conf->servers[i].id,
                               role_name(conf->servers[i].role));
    /* The leader's view of how far each member's log matches its own
     * (libraft's progress: a follower's match index, the leader's own last
     * stored entry); a follower leaves it empty, not knowing. */
    char matched[512] = "";
    at = 0;
    if (raft_state(&m->raft) == RAFT_LEADER && m->raft.leader_state.progress != NULL)
        for (unsigned i = 0; i < conf->n && at < sizeof matched; i++)
            at += (size_t)snprintf(matched + at, sizeof matched - at, "%s%llu=%llu",
                                   i > 0 ? "," : "",
                                   (unsigned long long)conf->servers[i].id,
                                   (unsigned long long)m->raft.leader_state.progress[i]
                                       .match_index);
    char text[2048];
    snprintf(text, sizeof text,
             "cluster_enabled:1\r\ncluster_state:%s\r\ncluster_slots_assigned:16384\r\n"
             "cluster_slots_ok:%d\r\ncluster_known_nodes:%u\r\ncluster_size:1\r\n"
             "raft_id:%llu\r\nraft_state:%s\r\nraft_leader:%llu\r\nraft_term:%llu\r\n"
             "raft_last_index:%llu\r\nraft_match_indexes:%s\r\n"
             "raft_commit_index:%llu\r\nraft_applied_index:%llu\r\n"
             "raft_snapshot_index:%llu\r\nraft_snapshots_taken:%llu\r\n"
             "raft_snapshots_installed:%llu\r\nraft_members:%s\r\n",
             leader ? "ok" : "fail", leader ? 16384 : 0, conf->n,
             (unsigned long long)m->self->id, state_name(raft_state(&m->raft)),
             leader ? (unsigned long long)l.id : 0ULL,
             (unsigned long long)m->raft.current_term,
             (unsigned long long)raft_last_index(&m->raft), matched,
             (unsigned long long)m->raft.commit_index,
             (unsigned long long)replica_applied(m->r),
             (unsigned long long)m->fsm.snapshot_index, (unsigned long long)m->fsm.snapshots,
             (unsigned long long)m->fsm.restores, members);
    out_bulk_str(&c->out, text);
}

void serve_member_cluster_cmd(server *s, serve_client *c, const serve_req *r)
{
    struct serve_member *m = s->member;
    if (m == NULL) {
        out_error(&c->out, "ERR This instance has cluster support disabled");
        return;
    }
    if (member_change_answer(m, c))
        return; /* a membership change of this client's, ended (member_change.c) */
    if (serve_cmd_is(r, 0, "readonly") || serve_cmd_is(r, 0, "readwrite")) {
        c->readonly = serve_cmd_is(r, 0, "readonly");
        out_simple(&c->out, "OK");
    } else if (serve_cmd_is(r, 1, "slots") && r->argc == 2) {
        cluster_slots(m, c);
    } else if (serve_cmd_is(r, 1, "shards") && r->argc == 2) {
        cluster_shards(m, c);
    } else if (serve_cmd_is(r, 1, "nodes") && r->argc == 2) {
        cluster_nodes(m, c);
    } else if (serve_cmd_is(r, 1, "keyslot") && r->argc == 3) {
        out_int(&c->out, key_slot(req_ptr(r, 2), req_len(r, 2)));
    } else if (serve_cmd_is(r, 1, "info") && r->argc == 2) {
        cluster_info(m, c);
    } else if (serve_cmd_is(r, 1, "myid") && r->argc == 2) {
        char id[48];
        snprintf(id, sizeof id, "%040llx", (unsigned long long)m->self->id);
        out_bulk_str(&c->out, id);
    } else {
        out_error(&c->out, "ERR unknown subcommand or wrong number of arguments for 'CLUSTER'"
                           " (this member knows SLOTS, SHARDS, NODES, INFO, MYID, KEYSLOT, ADDMEMBER,"
                           " REMOVEMEMBER, FAILOVER TO)");
    }
}
