/*
 * member.h: what the files of a member (serve_member.h's stage-10 side)
 * share: the group as this process sees it.
 *
 *   member.c          start and stop: the replica, libraft and its libuv
 *                     loop run on the server's loop thread
 *   member_write.c    a batch of writes proposed as commands, answered
 *                     when applied; reads behind a read index
 *   member_exec.c     a transaction (WATCH, MULTI, EXEC) as one command
 *   key_slot.c        a key's slot, as Redis Cluster clients compute it
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
    /* The flying batch's commands not answered yet (member_write.c). */
    unsigned proposals;
    /* Planted mistakes, for the cluster tests to show their checker
     * catches each (never set otherwise; KV_RAFT_PLANTED names one):
     *   ack-before-commit  a batch's writes are answered as soon as they
     *                      are proposed, before a majority holds them: a
     *                      leader killed right after loses writes it
     *                      acknowledged
     *   follower-reads     a follower answers reads from its own engine,
     *                      as if the client had said READONLY: it may be
     *                      behind, and a read after a write misses it
     *   applied-apart      the applied index is not kept with the data
     *                      (replica_plant_applied_apart): after a restart
     *                      the log applies again over the engine from the
     *                      last snapshot, and a transaction that found its
     *                      condition false finds it true the second time */
    int planted_ack_early, planted_follower_reads;
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

/* member_exec.c */
struct serve_multi;
/* Adds to cmd the conditions of EXEC mu's WATCH and the writes of its
 * queue.  KV_OK, or an error with mu->status and mu->err set (EXEC answers
 * it; nothing is proposed). */
int  member_exec_command(struct serve_multi *mu, command *cmd);
/* EXEC mu's answer once its command applied with `outcome` (REPLICA_*):
 * its replies in mu->reply, or mu->status KV_ERR_CONFLICT (*-1). */
void member_exec_answer(struct serve_multi *mu, int outcome, const uint8_t *existed,
                        size_t nexisted);

#endif
