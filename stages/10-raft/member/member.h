/*
 * member.h: what the files of a member share: `kv serve` as a member of
 * a Raft group (serve_ext.h's extension, as stage 10's kv installs it),
 * the group as this process sees it.
 *
 *   member.c          the extension: start and stop, the loop's share
 *                     (libraft and its libuv loop run on the server's loop
 *                     thread), and its operations for the server
 *   member_options.c  the --raft-* options, checked before anything starts
 *   member_guard.c    what a peer's word may do: who may connect (the
 *                     configuration), a transfer's disrupt-leader flag
 *   member_certs.c    the credentials: refused expired, warned of before
 *                     they expire, reloaded on SIGHUP
 *   member_boot.c     whether an empty directory may start a new group,
 *                     asked of the peers (no wiped member rewrites history)
 *   member_disk.c     room on disk: writes refused, and libraft's log
 *                     kept from running out of space, while it is short
 *   member_write.c    the server's writes proposed as commands, settled
 *                     when applied; the gate before each command
 *   member_read.c     reads at the leader behind a read index, confirmed
 *                     by a round of the voters (read_round.c counts it),
 *                     with no entry in the log
 *   member_wait.c     where those wait: writes by the serial their
 *                     command carries, reads by the index they need
 *   member_peers.c    the peers: --raft-peers, the configuration, the
 *                     leader, and where each is reached
 *   member_cluster.c  CLUSTER's subcommands as rows of the server's
 *                     command table; SLOTS, SHARDS, NODES, INFO, MYID,
 *                     KEYSLOT, RELOADCERTS; and MOVED
 *   member_change.c   membership: CLUSTER ADDMEMBER, REMOVEMEMBER,
 *                     FAILOVER TO, each answered once committed
 *   key_slot.c        a key's slot, as Redis Cluster clients compute it
 *
 * Threads: everything here runs on the server's loop thread, libraft's
 * callbacks included (its libuv loop runs from the server's, without
 * waiting: member.c); the only other threads are libuv's pool, for
 * libraft's log.  The member talks to the server through serve_ext.h alone.
 */
#ifndef KV_RAFT_MEMBER_H
#define KV_RAFT_MEMBER_H

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "libraft_fields.h"
#include "member_wait.h"
#include "peer_transport.h"
#include "read_rounds.h"
#include "replica_fsm.h"
#include "serve_ext.h"

#define MEMBER_MAX_PEERS 9

typedef struct member_peer {
    raft_id id;
    char raft_addr[64];    /* HOST:PORT, libraft's address */
    char host[64];
    int client_port;       /* its Redis port, or 0 if not known */
    int role;              /* RAFT_VOTER, RAFT_STANDBY, RAFT_SPARE (-1: not configured) */
} member_peer;

/* The --raft-* options (member_options.c). */
typedef struct member_options {
    unsigned long long id;        /* --raft-id; 0 = not a member */
    const char *peers;            /* --raft-peers: ID@HOST:PORT/CLIENTPORT,... */
    unsigned snapshot_every;      /* --raft-snapshot-every; 0: libraft's default */
    unsigned election_ms;         /* --raft-election-timeout; 0: libraft's, 1000 */
    const char *bind;             /* --raft-bind HOST:PORT, or NULL: its own address */
    int join;                     /* --raft-join: no bootstrap; wait to be added */
    int bootstrap;                /* --raft-bootstrap: an empty directory may start the group */
    const char *tls;              /* --raft-tls DIR: the group's credentials */
    int insecure;                 /* --raft-insecure: no TLS, loopback addresses only */
    unsigned long long max_entry, max_message;  /* --raft-max-entry, --raft-max-message */
    unsigned long long reserve;   /* --raft-disk-reserve: bytes kept free (member_disk.c);
                                     MEMBER_RESERVE_UNSET until given or defaulted */
    unsigned long long log_block; /* --raft-log-block: the log's write unit (member.c) */
} member_options;
#define MEMBER_RESERVE_UNSET (~0ull)

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
} member_change;

/* Reads at the leader (member_read.c): the rounds of its read index,
 * and the barrier that commits an entry of its term first. */
typedef struct member_reads {
    read_rounds out;                /* in flight, each with its pass and clock */
    uint64_t said_round;            /* the round a line said waits long */
    raft_term confirmed_term;       /* the last round confirmed (0: none this term) */
    raft_index confirmed_index;
    unsigned long long confirmed_pass;
    raft_term failed_term;          /* a round of this term failed: none starts again in it */
    raft_term led_term;             /* the term it led at the last look (0: it did not) */
    struct raft_barrier barrier_req;  /* an entry of its term, committed first */
    int barrier_wanted, barrier_busy;
    uint64_t barrier_after;         /* not before (the loop's clock), after a refusal */
    unsigned long long confirmed, failed, barriers;  /* counts, for CLUSTER INFO */
} member_reads;

/* Room on disk (member_disk.c). */
typedef struct member_disk {
    char *raft_dir, *engine_dir;
    uint64_t raft_free, engine_free;   /* bytes, at the last look */
    long long looked_ms;               /* when (the loop's clock) */
    int short_of_room;                 /* under the reserve: writes refused */
    int handed_over;                   /* ... and leadership handed away once */
    int engine_stuck;                  /* its engine keeps commands for want of room */
    long long retried_ms;              /* ... tried again then */
    unsigned long long refused;        /* writes refused for want of room */
    struct raft_io *inner;             /* libraft's own I/O, which member_disk wraps */
    struct member_held *held;          /* log writes held back: short, or a leader's */
    unsigned long long held_total;     /* ... how many, over time */
} member_disk;

struct member;

/* Who may talk to this member; transfers the followers are told of (member_guard.c). */
typedef struct member_guard {
    /* A transfer this member, leading, started (one at a time). */
    int busy;                       /* under way: telling, or libraft's */
    int telling;                    /* notices out, raft_transfer not called yet */
    raft_id target;
    raft_term term;
    long long told_ms;              /* when (the loop's clock) */
    int n_told, n_heard;
    raft_id heard[MEMBER_MAX_PEERS];
    struct raft_transfer req;
    void (*done)(struct member *m, int status);  /* 0: ended (who leads says how) */
    /* The transfer this member's leader told it of. */
    raft_id told_by, told_target;
    raft_term told_term;
    long long told_until;
} member_guard;

struct member {
    serve_host *host;
    member_options opt;
    serve_ext_env env;
    uv_loop_t loop;
    struct raft_uv_transport transport;
    peer_tls_ctx *tls;             /* the credentials in use (member_certs.c) */
    peer_tls_expiry expiry;        /* ... and when the first of them expires */
    uv_signal_t hup;               /* SIGHUP: reload them */
    int hup_made;
    long long cert_warned_ms;      /* the last warning of their expiry (the loop's clock) */
    unsigned long long cert_reloads, cert_reload_failures;
    struct raft_io io;             /* libraft's uv I/O (wrapped: member_disk.c) */
    struct raft_io guarded;        /* what libraft is given */
    struct raft raft;
    replica *r;
    replica_fsm fsm;
    /* --raft-peers: the first configuration, and the client addresses of
     * its members until the log gives them (member_peers.c). */
    member_peer peers[MEMBER_MAX_PEERS];
    int npeers;
    const member_peer *self;
    member_change change;
    member_disk disk;
    member_guard guard;
    int loop_made, transport_made, started, closed, transport_closed;
    int raft_had_log;             /* its Raft directory held a log at the start */
    char *marker;                 /* the credentials' record that this member ran, or NULL */
    unsigned long long pass;       /* the server's loop pass, as run() was told */
    unsigned long long stepped_pass;        /* the last whose libuv took a handshake step */
    unsigned long long passes, libuv_runs, sent;  /* run() called, libuv's runs, libraft's sends */
    member_reads reads;            /* reads behind a read index (member_read.c) */
    /* The writes proposed and not settled yet, and the reads waiting for
     * their read index (member_wait.h). */
    member_waits waits;
    /* A transaction's reads' answers, as the server takes them
     * (member_applied), reused from command to command. */
    serve_read_found *answers;
    size_t answers_cap;
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
     *   unconfirmed-reads  a leader answers a read once a round of its
     *                      read index has started after it and the engine
     *                      has applied that far, without waiting for the
     *                      voters' answers: the same reads are missed
     *   later-term-answers a round counts a voter's answer with a later
     *                      term than the leader's as a yes (read_round.h,
     *                      R2 broken): a leader whose Raft links are cut,
     *                      but whose confirm links still reach the others,
     *                      is confirmed by members that elected another
     *   applied-apart      the applied index is not kept with the data
     *                      (replica_plant_applied_apart): after a restart
     *                      the log applies again over the engine from the
     *                      last snapshot, and a transaction that found its
     *                      condition false finds it true the second time */
    int planted_ack_early, planted_follower_reads, planted_leader_reads;
    int planted_unconfirmed_reads, planted_later_term;
};

/* The extension stage 10's kv gives `kv serve` (stages/10-raft/tools/raft_kv_main.c). */
extern const serve_ext_ops member_ext;

/* member_say.c: a line on stderr, "kv serve: raft member N: ...". */
void member_say(const struct member *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* member_options.c */
void member_usage(FILE *to);
int  member_option(void *x, char **args, int nargs, int *i, int *bad);
int  member_wanted(void *x, int stdio);

/* member_peers.c */
/* Parses --raft-peers into m->peers (every entry ID@HOST:PORT/CLIENTPORT,
 * HOST:PORT an IPv4 address): 0, or -1 after a message. */
int  member_peers_parse(struct member *m, const char *list, raft_id self);
/* Member id as *out: its role and Raft address from the current
 * configuration, its client address from the log's notes (the replica),
 * else from --raft-peers.  1 if the configuration or --raft-peers knows
 * it, else 0. */
int  member_peer_of(struct member *m, raft_id id, member_peer *out);
/* The leader as *out: 1, or 0 if none is known. */
int  member_leader(struct member *m, member_peer *out);
/* Writes to out the answer for a client that must go to the leader:
 * -MOVED to it for the slot of key (klen bytes; NULL: slot 0), -TRYAGAIN
 * while the leader's client address is not known yet, or -CLUSTERDOWN if
 * no leader is known.  The group owns every slot, so the keys of one
 * command (of one EXEC) never span owners: one redirect, by its first
 * key, answers for them all. */
void member_redirect(struct member *m, serve_out *out, const char *key, size_t klen);

/* member_boot.c */
/* Decides how the member starts on its Raft directory: 0 to go on (and
 * *bootstrap: 1 if it starts the group now), -1 after a message (it must
 * not start: its state was lost, or the group has a history it lacks). */
int  member_boot(struct member *m, int *bootstrap);
/* Records, beside the credentials, that this member holds a log (once
 * it does): a later start with an empty directory is then refused. */
void member_boot_mark(struct member *m);
/* The probe's answer for a peer asking (peer_transport.h). */
void member_boot_answer(void *arg, uint64_t asker, peer_answer *out);

/* member_guard.c: the transport's questions (peer_transport.h), and
 * leadership transfers. */
int  member_admits(void *arg, uint64_t id);
int  member_is_address(void *arg, uint32_t ip);
uint64_t member_term(void *arg);
int  member_may_disrupt(void *arg, uint64_t candidate, uint64_t term);
void member_notice(void *arg, uint64_t sender, const peer_notice *n);
/* Moves leadership to `to` (0: the voter whose log is furthest): the
 * other voters are told first, then libraft's raft_transfer.  0 (done is
 * called when it ends: 0, and who leads says whether it moved, or a
 * RAFT_* error), or a RAFT_* error now (done never called). */
int  member_transfer(struct member *m, raft_id to, void (*done)(struct member *m, int status));
void member_guard_run(struct member *m);   /* each pass: a transfer's wait */
void member_guard_forget(struct member *m);  /* done is not called any more */

/* member_certs.c */
int  member_certs_open(struct member *m);     /* at the start: 0, or -1 after a message */
void member_certs_watch(struct member *m);    /* each pass: the warning before expiry */
/* Opens the credentials again and uses them for new connections: 0, or
 * -1 and why (the ones in use stay). */
int  member_certs_reload(struct member *m, char *why, size_t cap);
void member_certs_close(struct member *m);
long long member_certs_left(const struct member *m);   /* seconds, or -1 without TLS */
int  member_certs_expiring(const struct member *m);    /* 1 within the warning */

/* member_disk.c */
/* Wraps libraft's I/O (m->io) into m->guarded; disk->raft_dir and
 * engine_dir set.  0, or -1 after a message. */
int  member_disk_init(struct member *m);
void member_disk_wrap(struct member *m);   /* after raft_uv_init: m->guarded made */
void member_disk_free(struct member *m);
/* After each libuv pass: room looked at now and then; held writes go if room. */
void member_disk_check(struct member *m);
/* The state machine's question when the engine fails an apply
 * (replica_fsm.h, W1): looks at the disk now; 1 if it is short of room. */
int  member_disk_may_wait(void *arg);
/* Applies the commands the engine kept for want of room, at most every
 * 100 ms: 1 once none is left (the reads that waited may run). */
int  member_disk_retry(struct member *m);
/* 1 if writes are refused for want of room; then out gets the refusal. */
int  member_disk_refuses(struct member *m, serve_out *out);

/* member_write.c */
int  member_gate(void *x, const serve_gate *g);
void member_propose(void *x, const serve_write *w, size_t n);
/* The fsm's word after each command applied (replica_fsm.h): the write
 * waiting under its origin settled. */
void member_applied(void *arg, command_origin origin, uint64_t index,
                    const replica_result *res);
/* 1 if a write of this member's waits under origin: only then does the
 * state machine read what a command's deletes and reads find
 * (replica_fsm.h, `wanted`). */
int  member_answer_wanted(void *arg, command_origin origin);
/* Settles every proposal still waiting (at stop): outcome unknown. */
void member_write_abandon(struct member *m);

/* member_read.c */
/* The gate for a read at the leader: SERVE_GATE_GO once a round started
 * after its bytes is confirmed and applied, else SERVE_GATE_WAIT (it
 * waits in m->waits, and is woken by serve_host_wake). */
int  member_read_gate(struct member *m, const serve_gate *g);
/* Each loop pass: the barrier of a new term, links asked again, reads
 * woken as the engine applies, leadership lost. */
void member_read_kick(struct member *m);
/* The ms until the reads need a pass (-1: none). */
int  member_read_timeout(struct member *m);
/* The transport's callback (peer_transport.h, P7): an answer on a
 * confirm link. */
void member_read_answer(void *arg, uint64_t id, uint64_t term, uint64_t round);
/* The reads' counts, as member_figures gives them (serve_ext.h). */
void member_read_figures(struct member *m, serve_figure_fn fn, void *ctx);
void member_read_free(struct member *m);

/* member_cluster.c: CLUSTER's subcommands, rows of the server's command
 * table (serve_ext.h; ended by a NULL sub), and the answer to a CLUSTER
 * none of them takes. */
extern const serve_ext_cmd member_cluster_cmds[];
void member_cluster_cmd(void *x, unsigned long long client, const serve_req *r, serve_out *out);
/* The member's figures for INFO and the metrics (serve_ext.h). */
void member_figures(void *x, serve_figure_fn fn, void *ctx);

/* member_change.c */
/* 1 if the gate's command is a membership change (CLUSTER ADDMEMBER,
 * REMOVEMEMBER, FAILOVER TO: a row of member_cluster_cmds whose kind is
 * a MEMBER_CHANGE_*). */
int  member_change_is(const serve_gate *g);
/* The gate for a membership change: starts it (WAIT), waits for it
 * (WAIT), writes the ended change's answer (ANSWERED), or a redirect or
 * a refusal (ANSWERED). */
int  member_change_gate(struct member *m, const serve_gate *g);

#endif
