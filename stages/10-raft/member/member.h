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
 *   member_cluster.c  the peers (the configuration, their addresses), key
 *                     slots, MOVED, CLUSTER SLOTS, SHARDS, INFO
 *   member_change.c   membership: CLUSTER ADDMEMBER, REMOVEMEMBER,
 *                     FAILOVER TO, each answered once committed
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
    char host[64];
    int client_port;       /* its Redis port, or 0 if not known */
    int role;              /* RAFT_VOTER, RAFT_STANDBY, RAFT_SPARE (-1: not configured) */
} member_peer;

/* A membership change under way (member_change.c): one at a time, for
 * one client (by id: it may have gone when the change ends). */
enum { MEMBER_CHANGE_NONE, MEMBER_CHANGE_ADD, MEMBER_CHANGE_REMOVE, MEMBER_CHANGE_TRANSFER };
typedef struct member_change {
    int kind;                   /* MEMBER_CHANGE_* */
    unsigned long long client;  /* the client that asked */
    int done;                   /* ended: err says how ("" = +OK) */
    char err[256];
    raft_id id;
    char raft_addr[64], client_addr[64];
    struct raft_apply apply_req;       /* the new member's address, through the log */
    struct raft_change change_req;     /* raft_add, raft_assign, raft_remove */
    struct raft_transfer transfer_req; /* raft_transfer */
} member_change;

struct serve_member {
    server *s;
    uv_loop_t loop;
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft raft;
    replica *r;
    replica_fsm fsm;
    /* --raft-peers: the first configuration, and the client addresses of
     * its members until the log gives them (member_note.h). */
    member_peer peers[MEMBER_MAX_PEERS];
    int npeers;
    const member_peer *self;
    member_change change;
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
     *   leader-reads       a leader answers reads from its own engine at
     *                      once, without a read index: a leader cut off
     *                      from the others still answers while they elect
     *                      another and commit writes, and its reads miss
     *                      them
     *   applied-apart      the applied index is not kept with the data
     *                      (replica_plant_applied_apart): after a restart
     *                      the log applies again over the engine from the
     *                      last snapshot, and a transaction that found its
     *                      condition false finds it true the second time */
    int planted_ack_early, planted_follower_reads, planted_leader_reads;
};

/* member_cluster.c */
int  member_peers_parse(struct serve_member *m, const char *list, raft_id self);
/* Member id as *out: its role and Raft address from the current
 * configuration, its client address from the log's notes (the replica),
 * else from --raft-peers.  1 if the configuration or --raft-peers knows
 * it, else 0. */
int  member_peer_of(struct serve_member *m, raft_id id, member_peer *out);
/* The leader as *out: 1, or 0 if none is known. */
int  member_leader(struct serve_member *m, member_peer *out);
/* Answers c with -MOVED to the leader for the key r's argument `key`
 * (0: a command with no key) names, or -CLUSTERDOWN if no leader is
 * known. */
void member_redirect(struct serve_member *m, serve_client *c, const serve_req *r, size_t key);

/* member_change.c */
/* 1 if r is a membership change (CLUSTER ADDMEMBER, REMOVEMEMBER,
 * FAILOVER TO). */
int  member_change_is(const serve_req *r);
/* serve_member_gate for a membership change: starts it (WAIT), waits for
 * it (WAIT), lets the ended one's answer run (GO), or answers a redirect
 * or a refusal (ANSWERED). */
int  member_change_gate(struct serve_member *m, serve_client *c, const serve_req *r);
/* Writes the ended change's answer to c if it is c's: 1, else 0. */
int  member_change_answer(struct serve_member *m, serve_client *c);

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
