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
 * own slot table agrees with ours.  CLUSTER SLOTS and CLUSTER SHARDS
 * describe the one shard; READONLY lets a client read from a follower
 * (reads that may be stale: no read index there).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key_slot.h"
#include "member.h"

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

const member_peer *member_leader(struct serve_member *m)
{
    raft_id id = 0;
    const char *addr = NULL;
    raft_leader(&m->raft, &id, &addr);
    for (int i = 0; i < m->npeers && id != 0; i++)
        if (m->peers[i].id == id)
            return &m->peers[i];
    return NULL;
}

void member_redirect(struct serve_member *m, serve_client *c, const serve_req *r, size_t key)
{
    const member_peer *l = member_leader(m);
    if (l == NULL || l->client_port == 0) {
        out_error(&c->out, "CLUSTERDOWN no leader is known to member %llu now",
                  (unsigned long long)m->self->id);
        return;
    }
    unsigned slot = key > 0 && key < r->argc ? key_slot(req_ptr(r, key), req_len(r, key)) : 0;
    out_error(&c->out, "MOVED %u %s:%d", slot, l->host, l->client_port);
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

static void cluster_slots(struct serve_member *m, serve_client *c)
{
    const member_peer *l = member_leader(m);
    if (l == NULL) {
        out_error(&c->out, "CLUSTERDOWN no leader is known to member %llu now",
                  (unsigned long long)m->self->id);
        return;
    }
    out_array(&c->out, 1);
    out_array(&c->out, 2 + (size_t)m->npeers);
    out_int(&c->out, 0);
    out_int(&c->out, 16383);
    node_entry(&c->out, l);
    for (int i = 0; i < m->npeers; i++)
        if (&m->peers[i] != l)
            node_entry(&c->out, &m->peers[i]);
}

static const char *state_name(int state)
{
    return state == RAFT_LEADER ? "leader" : state == RAFT_CANDIDATE ? "candidate"
                                           : state == RAFT_FOLLOWER  ? "follower"
                                                                     : "unavailable";
}

static void cluster_info(struct serve_member *m, serve_client *c)
{
    const member_peer *l = member_leader(m);
    char text[1024];
    snprintf(text, sizeof text,
             "cluster_enabled:1\r\ncluster_state:%s\r\ncluster_slots_assigned:16384\r\n"
             "cluster_slots_ok:%d\r\ncluster_known_nodes:%d\r\ncluster_size:1\r\n"
             "raft_id:%llu\r\nraft_state:%s\r\nraft_leader:%llu\r\nraft_term:%llu\r\n"
             "raft_commit_index:%llu\r\nraft_applied_index:%llu\r\n"
             "raft_snapshot_index:%llu\r\nraft_snapshots_taken:%llu\r\n"
             "raft_snapshots_installed:%llu\r\n",
             l != NULL ? "ok" : "fail", l != NULL ? 16384 : 0, m->npeers,
             (unsigned long long)m->self->id, state_name(raft_state(&m->raft)),
             l != NULL ? (unsigned long long)l->id : 0ULL,
             (unsigned long long)m->raft.current_term,
             (unsigned long long)m->raft.commit_index,
             (unsigned long long)replica_applied(m->r),
             (unsigned long long)m->fsm.snapshot_index, (unsigned long long)m->fsm.snapshots,
             (unsigned long long)m->fsm.restores);
    out_bulk_str(&c->out, text);
}

void serve_member_cluster_cmd(server *s, serve_client *c, const serve_req *r)
{
    struct serve_member *m = s->member;
    if (m == NULL) {
        out_error(&c->out, "ERR This instance has cluster support disabled");
        return;
    }
    if (serve_cmd_is(r, 0, "readonly") || serve_cmd_is(r, 0, "readwrite")) {
        c->readonly = serve_cmd_is(r, 0, "readonly");
        out_simple(&c->out, "OK");
    } else if (serve_cmd_is(r, 1, "slots") && r->argc == 2) {
        cluster_slots(m, c);
    } else if (serve_cmd_is(r, 1, "info") && r->argc == 2) {
        cluster_info(m, c);
    } else if (serve_cmd_is(r, 1, "myid") && r->argc == 2) {
        char id[48];
        snprintf(id, sizeof id, "%040llx", (unsigned long long)m->self->id);
        out_bulk_str(&c->out, id);
    } else {
        out_error(&c->out, "ERR unknown subcommand or wrong number of arguments for 'CLUSTER'"
                           " (this member knows SLOTS, INFO, MYID)");
    }
}
