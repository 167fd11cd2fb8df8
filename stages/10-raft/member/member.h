/*
 * member.h: what the files of a member (serve_member.h's stage-10 side)
 * share: the group as this process sees it.
 *
 *   member.c          start and stop: the replica, libraft and its libuv
 *                     loop run on the server's loop thread
 *   member_write.c    a batch of writes proposed as one command, answered
 *                     when applied; reads behind a read index
 *   member_cluster.c  the peers (--raft-peers), key slots, MOVED, CLUSTER
 *
 * Threads: everything here runs on the server's loop thread, libraft's
 * callbacks included (its libuv loop is run from the server's loop:
 * uv_backend_fd in the epoll set, uv_run without waiting).  Only libuv's
 * own thread pool touches the disk, for libraft's log.
 */
#ifndef KV_RAFT_MEMBER_H
#define KV_RAFT_MEMBER_H

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "replica_fsm.h"
#include "serve_member.h"

#define MEMBER_MAX_PEERS 9

typedef struct member_peer {
    raft_id id;
    char raft_addr[64];    /* HOST:PORT, libraft's address */
    char host[48];
    int client_port;       /* its Redis port, or 0 if not given */
} member_peer;

struct serve_member {
    server *s;
    uv_loop_t loop;
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft raft;
    replica *r;
    replica_fsm fsm;
    member_peer peers[MEMBER_MAX_PEERS];
    int npeers;
    const member_peer *self;
    int started, closed;
    /* Read indexes: barriers started and done; one in flight at a time. */
    struct raft_barrier barrier_req;
    unsigned long long epoch_started, epoch_done;
    int barrier_busy, barrier_wanted;
    /* A planted mistake, for the cluster tests to show their checker
     * catches it (never set otherwise): KV_RAFT_PLANTED=ack-before-commit
     * answers a batch as soon as it is proposed, before a majority holds
     * it, so a leader killed right after loses writes it acknowledged. */
    int planted_ack_early;
};

/* member_cluster.c */
int  member_peers_parse(struct serve_member *m, const char *list, raft_id self);
/* The leader as a peer, or NULL if none is known (or it is this one and
 * the caller asked for another). */
const member_peer *member_leader(struct serve_member *m);
/* Answers c with -MOVED to the leader for the key r's argument `key`
 * (0: a command with no key) names, or -CLUSTERDOWN if no leader is
 * known. */
void member_redirect(struct serve_member *m, serve_client *c, const serve_req *r, size_t key);

/* member_write.c */
void member_barrier_kick(struct serve_member *m);

#endif
