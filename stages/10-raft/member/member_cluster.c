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
 * CLUSTER's subcommands are rows of the server's command table
 * (member_cluster_cmds, at the end: serve_ext.h, serve_ext_cmd), so the
 * server finds each by its word and checks its words' count; the
 * membership changes among them are member_change.c's.  The members, and
 * where each is reached, are member_peers.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key_slot.h"
#include "member.h"
#include "member_note.h"

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
static size_t shard_nodes(struct member *m, const member_peer *l, member_peer *out,
                          size_t cap)
{
    size_t n = 0;
    out[n++] = *l;
    const struct raft_configuration *conf = libraft_configuration(&m->raft);
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
static size_t shard_or_down(struct member *m, serve_out *o, member_peer *nodes)
{
    member_peer l;
    if (!member_leader(m, &l) || l.client_port == 0) {
        out_error(o, "CLUSTERDOWN no leader is known to member %llu now",
                  (unsigned long long)m->self->id);
        return 0;
    }
    if (l.client_port == 0) {
        out_error(o, "TRYAGAIN member %llu leads, but its client address is not known to "
                  "member %llu yet", (unsigned long long)l.id, (unsigned long long)m->self->id);
        return 0;
    }
    return shard_nodes(m, &l, nodes, SHARD_MAX);
}

static void cluster_slots(void *x, unsigned long long client, const serve_req *r, serve_out *o)
{
    struct member *m = x;
    (void)client, (void)r;
    member_peer nodes[SHARD_MAX];
    size_t n = shard_or_down(m, o, nodes);
    if (n == 0)
        return;
    out_array(o, 1);
    out_array(o, 2 + n);
    out_int(o, 0);
    out_int(o, 16383);
    for (size_t i = 0; i < n; i++)
        node_entry(o, &nodes[i]);
}

/* CLUSTER SHARDS, as Redis 7 answers it (maps as flat arrays in RESP2):
 * one shard, its slots, its nodes. */
static void cluster_shards(void *x, unsigned long long client, const serve_req *r, serve_out *o)
{
    struct member *m = x;
    (void)client, (void)r;
    member_peer nodes[SHARD_MAX];
    size_t n = shard_or_down(m, o, nodes);
    if (n == 0)
        return;
    out_array(o, 1);
    out_array(o, 4);
    out_bulk_str(o, "slots");
    out_array(o, 2);
    out_int(o, 0);
    out_int(o, 16383);
    out_bulk_str(o, "nodes");
    out_array(o, n);
    for (size_t i = 0; i < n; i++) {
        char id[48];
        snprintf(id, sizeof id, "%040llx", (unsigned long long)nodes[i].id);
        out_array(o, 14);
        out_bulk_str(o, "id");
        out_bulk_str(o, id);
        out_bulk_str(o, "port");
        out_int(o, nodes[i].client_port);
        out_bulk_str(o, "ip");
        out_bulk_str(o, nodes[i].host);
        out_bulk_str(o, "endpoint");
        out_bulk_str(o, nodes[i].host);
        out_bulk_str(o, "role");
        out_bulk_str(o, i == 0 ? "master" : "replica");
        out_bulk_str(o, "replication-offset");
        out_int(o, 0);
        out_bulk_str(o, "health");
        out_bulk_str(o, "online");
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
static void cluster_nodes(void *x, unsigned long long client, const serve_req *r, serve_out *o)
{
    struct member *m = x;
    (void)client, (void)r;
    member_peer nodes[SHARD_MAX];
    size_t n = shard_or_down(m, o, nodes);
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
                               (unsigned long long)libraft_term(&m->raft),
                               i == 0 ? " 0-16383" : "");
    }
    out_bulk(o, text, at < sizeof text ? at : sizeof text - 1);
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

void member_figures(void *x, serve_figure_fn fn, void *ctx)
{
    struct member *m = x;
    peer_counts pc;
    peer_transport_counts(&m->transport, &pc);
    for (int i = 0; i < PEER_REFUSALS; i++)
        fn(ctx, &(serve_figure){"raft_peer_refused", "Connections to the Raft port refused "
                                "before they opened (or for a message), by reason.",
                                "reason", peer_refusal_name[i], 1, (double)pc.refused_by[i]});
    fn(ctx, &(serve_figure){"raft_peer_unfinished", "Connections to the Raft port accepted "
                            "and not open yet.", NULL, NULL, 0, (double)pc.unfinished});
    fn(ctx, &(serve_figure){"raft_peer_parked", "Of those, the ones held unread over a bound.",
                            NULL, NULL, 0, (double)pc.parked});
    fn(ctx, &(serve_figure){"raft_peer_pending_bytes", "Memory the connections to the "
                            "Raft port not open yet are charged (their state, their TLS "
                            "sessions), within a budget.",
                            NULL, NULL, 0, (double)pc.pending_bytes});
    fn(ctx, &(serve_figure){"raft_peer_handshakes_deferred", "TLS handshake steps of "
                            "connections to the Raft port put off to a later pass of the "
                            "loop, past the share of one.", NULL, NULL, 1,
                            (double)pc.handshakes_deferred});
    fn(ctx, &(serve_figure){"raft_peer_revoked", "Open connections closed once their member "
                            "left the configuration.", NULL, NULL, 1, (double)pc.revoked});
    fn(ctx, &(serve_figure){"raft_votes_disrupt_cleared", "Votes whose disrupt-leader flag "
                            "was cleared, no transfer being under way.", NULL, NULL, 1,
                            (double)pc.disrupt_cleared});
    fn(ctx, &(serve_figure){"raft_peer_terms_lowered", "Votes and answers of a term more than "
                            "2^32 above this member's, handed on at its term plus 2^32.", NULL,
                            NULL, 1, (double)pc.terms_lowered});
    fn(ctx, &(serve_figure){"raft_loop_passes", "Passes of the server's loop that ran the "
                            "member's share (libraft, its transport, its timers).", NULL, NULL,
                            1, (double)m->passes});
    fn(ctx, &(serve_figure){"raft_libuv_runs", "Runs of libuv's loop within those passes.",
                            NULL, NULL, 1, (double)m->libuv_runs});
    member_read_figures(m, fn, ctx);
    if (m->tls == NULL)
        return;
    fn(ctx, &(serve_figure){"raft_cert_seconds_left", "Seconds until the first of the "
                            "member's certificates (its own, or the authority's) expires.",
                            NULL, NULL, 0, (double)member_certs_left(m)});
    fn(ctx, &(serve_figure){"raft_cert_expiring", "1 from the warning before that expiry on.",
                            NULL, NULL, 0, (double)member_certs_expiring(m)});
    fn(ctx, &(serve_figure){"raft_cert_reloads", "Credentials reloaded (SIGHUP, CLUSTER "
                            "RELOADCERTS).", NULL, NULL, 1, (double)m->cert_reloads});
}

/* A figure as a CLUSTER INFO line. */
static void cluster_figure(void *ctx, const serve_figure *f)
{
    char line[160];
    if (f->label_value != NULL)
        snprintf(line, sizeof line, "%s_%s:%.15g\r\n", f->name, f->label_value, f->value);
    else
        snprintf(line, sizeof line, "%s:%.15g\r\n", f->name, f->value);
    out_bytes(ctx, line, strlen(line));
}

static void cluster_info(void *x, unsigned long long client, const serve_req *r, serve_out *o)
{
    struct member *m = x;
    (void)client, (void)r;
    member_peer l;
    int leader = member_leader(m, &l);
    const struct raft_configuration *conf = libraft_configuration(&m->raft);
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
    if (raft_state(&m->raft) == RAFT_LEADER)
        for (unsigned i = 0; i < conf->n && at < sizeof matched; i++)
            at += (size_t)snprintf(matched + at, sizeof matched - at, "%s%llu=%llu",
                                   i > 0 ? "," : "", (unsigned long long)conf->servers[i].id,
                                   (unsigned long long)libraft_match_index(&m->raft, i));
    peer_counts pc;
    peer_transport_counts(&m->transport, &pc);
    char text[3072];
    int len = snprintf(text, sizeof text,
             "cluster_enabled:1\r\ncluster_state:%s\r\ncluster_slots_assigned:16384\r\n"
             "cluster_slots_ok:%d\r\ncluster_known_nodes:%u\r\ncluster_size:1\r\n"
             "raft_id:%llu\r\nraft_state:%s\r\nraft_leader:%llu\r\nraft_term:%llu\r\n"
             "raft_last_index:%llu\r\nraft_match_indexes:%s\r\n"
             "raft_commit_index:%llu\r\nraft_applied_index:%llu\r\n"
             "raft_snapshot_index:%llu\r\nraft_snapshots_taken:%llu\r\n"
             "raft_snapshots_installed:%llu\r\nraft_members:%s\r\n"
             "raft_transport:%s\r\nraft_peer_accepted:%llu\r\nraft_peer_connected:%llu\r\n"
             "raft_peer_refused:%llu\r\nraft_peer_messages_refused:%llu\r\n"
             "raft_disk_free:%llu\r\nraft_engine_disk_free:%llu\r\nraft_disk_short:%d\r\n"
             "raft_writes_refused_disk:%llu\r\nraft_log_writes_held:%llu\r\n",
             leader && l.client_port != 0 ? "ok" : "fail",
             leader && l.client_port != 0 ? 16384 : 0, conf->n,
             (unsigned long long)m->self->id, state_name(raft_state(&m->raft)),
             leader ? (unsigned long long)l.id : 0ULL,
             (unsigned long long)libraft_term(&m->raft),
             (unsigned long long)raft_last_index(&m->raft), matched,
             (unsigned long long)libraft_commit_index(&m->raft),
             (unsigned long long)replica_applied(m->r),
             (unsigned long long)m->fsm.snapshot_index, (unsigned long long)m->fsm.snapshots,
             (unsigned long long)m->fsm.restores, members,
             m->tls != NULL ? "tls" : "plain", pc.accepted, pc.connected, pc.refused,
             pc.frames_refused, (unsigned long long)m->disk.raft_free,
             (unsigned long long)m->disk.engine_free, m->disk.short_of_room,
             m->disk.refused, m->disk.held_total);
    serve_out more = {0}; /* the figures, and the credentials' dates */
    member_figures(m, cluster_figure, &more);
    if (m->tls != NULL) {
        char date[40], line[160];
        peer_tls_date(m->expiry.not_after, date, sizeof date);
        snprintf(line, sizeof line, "raft_cert_expires:%s\r\nraft_cert_file:%s\r\n", date,
                 m->expiry.file);
        out_bytes(&more, line, strlen(line));
    }
    size_t n = len > 0 && (size_t)len < sizeof text ? (size_t)len : 0;
    char *all = malloc(n + more.len + 1);
    if (all == NULL || more.failed) {
        out_error(o, "ERR out of memory");
    } else {
        memcpy(all, text, n);
        memcpy(all + n, more.buf, more.len);
        out_bulk(o, all, n + more.len);
    }
    free(all);
    out_free(&more);
}

/* CLUSTER KEYSLOT key: the key's slot, as a client computes it. */
static void cluster_keyslot(void *x, unsigned long long client, const serve_req *r, serve_out *o)
{
    (void)x, (void)client;
    out_int(o, key_slot(req_ptr(r, 2), req_len(r, 2)));
}

/* CLUSTER RELOADCERTS: the credentials read again, as on SIGHUP
 * (member_certs.c). */
static void cluster_reloadcerts(void *x, unsigned long long client, const serve_req *r,
                                serve_out *o)
{
    (void)client, (void)r;
    char why[512];
    if (member_certs_reload(x, why, sizeof why) == 0)
        out_simple(o, "OK");
    else
        out_error(o, "ERR %s", why);
}

/* CLUSTER MYID: the member's id in 40 hex digits, as Redis's. */
static void cluster_myid(void *x, unsigned long long client, const serve_req *r, serve_out *o)
{
    struct member *m = x;
    (void)client, (void)r;
    char id[48];
    snprintf(id, sizeof id, "%040llx", (unsigned long long)m->self->id);
    out_bulk_str(o, id);
}

/* CLUSTER's subcommands, as rows of the server's command table
 * (serve_ext.h, serve_ext_cmd; their arity counts CLUSTER and the
 * subcommand).  The membership changes have no run: the gate answers
 * them (member_change.c, told which by the row's kind), a follower with
 * a redirect before any word after the subcommand is looked at.  The
 * answer to a CLUSTER none of them takes (member_cluster_cmd) names them
 * in this order. */
const serve_ext_cmd member_cluster_cmds[] = {
    {"slots", 2, 0, MEMBER_CHANGE_NONE, cluster_slots},
    {"shards", 2, 0, MEMBER_CHANGE_NONE, cluster_shards},
    {"nodes", 2, 0, MEMBER_CHANGE_NONE, cluster_nodes},
    {"info", 2, 0, MEMBER_CHANGE_NONE, cluster_info},
    {"myid", 2, 0, MEMBER_CHANGE_NONE, cluster_myid},
    {"keyslot", 3, 0, MEMBER_CHANGE_NONE, cluster_keyslot},
    {"reloadcerts", 2, SERVE_CMD_ADMIN, MEMBER_CHANGE_NONE, cluster_reloadcerts},
    {"addmember", 5, SERVE_CMD_ADMIN, MEMBER_CHANGE_ADD, NULL},
    {"removemember", 3, SERVE_CMD_ADMIN, MEMBER_CHANGE_REMOVE, NULL},
    {"failover", 4, SERVE_CMD_ADMIN, MEMBER_CHANGE_TRANSFER, NULL},
    {NULL, 0, 0, 0, NULL},
};

void member_cluster_cmd(void *x, unsigned long long client, const serve_req *r, serve_out *o)
{
    (void)x, (void)client, (void)r;
    out_error(o, "ERR unknown subcommand or wrong number of arguments for 'CLUSTER' (this "
              "member knows SLOTS, SHARDS, NODES, INFO, MYID, KEYSLOT, RELOADCERTS, "
              "ADDMEMBER, REMOVEMEMBER, FAILOVER TO)");
}
