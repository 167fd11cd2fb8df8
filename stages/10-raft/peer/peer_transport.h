/*
 * peer_transport.h: the members' connections, as libraft's transport
 * (struct raft_uv_transport): who may connect, and what reaches libraft.
 *
 * libraft's own TCP transport takes a connection's first bytes, "I am
 * member N at this address", on trust, and hands every byte after them
 * to its decoder, which does not check what it reads.  This one:
 *   - reads the opening (peer_hello.h) and, in TLS mode, completes a
 *     mutual TLS 1.3 handshake (peer_tls.h) before anything else;
 *   - accepts a connection only if the certificate the peer proved names
 *     the member its opening claims (P1), and, connecting, only if the
 *     member that answers proves to be the one libraft asked for (P2);
 *   - hands libraft, for each connection, one end of a socket pair it
 *     pumps on the member's loop: TLS records decrypted, and every
 *     message checked by peer_frame.h, on their way in; libraft's bytes
 *     encrypted on their way out.  libraft reads and writes its end as
 *     the TCP stream its own transport would give it.
 *   - answers probes (a member about to bootstrap asks the others what
 *     they hold: peer_probe) from the moment it is made, before libraft
 *     starts;
 *   - keeps a leader's confirm links (peer_confirm_ask): one to each
 *     member it asks, on which it asks "round R of term T" and the member
 *     answers with its own current term, outside libraft (a leader
 *     confirms that no later term had begun after a read arrived:
 *     member_read.c).
 * In plain mode (--raft-insecure, loopback only) there is no TLS: the
 * opening's claim is taken as it is, but the frames are still checked.
 *
 * Invariants:
 *   P1. No byte from a connection reaches libraft before the connection
 *       has proved (TLS) or stated (plain) its member id, sent a hello
 *       that decodes, and libraft has asked to listen; and no byte of a
 *       message reaches it before that message's header passed
 *       peer_frame.h.
 *   P2. An outgoing connection is handed to libraft only once the member
 *       that accepted it proved to be the id libraft asked for.
 *   P3. At most PEER_MAX_PENDING connections are being opened at once;
 *       one not open within PEER_OPEN_MS (or cfg.open_ms) is closed.
 *   P4. Everything runs on the loop given; nothing blocks.
 *   P5. Nothing of a confirm link reaches libraft.  An accepted one
 *       answers each ask, in order, with the term cfg.term gives at that
 *       moment; a dialled one hands cfg.confirmed each answer whose round
 *       it asked, and closes on anything else.  A transport keeps at most
 *       one confirm link to a member, and dials it at most once in
 *       PEER_CONFIRM_REDIAL_MS.
 */
#ifndef KV_RAFT_PEER_TRANSPORT_H
#define KV_RAFT_PEER_TRANSPORT_H

#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "peer_frame.h"
#include "peer_hello.h"
#include "peer_tls.h"

#define PEER_MAX_PENDING 64
#define PEER_OPEN_MS 10000
#define PEER_CONFIRM_REDIAL_MS 100   /* P5: at most one confirm dial to a member in this */

typedef struct peer_config {
    uint64_t id;               /* this member's Raft id */
    const char *address;       /* its Raft address, HOST:PORT (IPv4) */
    const char *bind;          /* where it listens, or NULL: address */
    peer_tls_ctx *tls;         /* its credentials, or NULL: plain mode */
    peer_frame_limits limits;  /* what a peer's message may hold */
    unsigned open_ms;          /* how long a connection may take to open
                                * (P3); 0: PEER_OPEN_MS */
    /* This member's current term, as an answer on a confirm link gives
     * it (NULL: 0). */
    uint64_t (*term)(void *arg);
    /* An answer on a confirm link this member asked on: member id, the
     * term it answered, and the round it answers (NULL: dropped). */
    void (*confirmed)(void *arg, uint64_t id, uint64_t term, uint64_t round);
    /* What a probe is answered (the asker's id given). */
    void (*answer)(void *arg, uint64_t asker, peer_answer *out);
    /* A line for the member's log (a refused connection, say); the
     * transport limits itself to about one a second. */
    void (*log)(void *arg, const char *line);
    void *arg;
} peer_config;

typedef struct peer_counts {
    unsigned long long accepted;       /* connections handed to libraft */
    unsigned long long connected;      /* outgoing ones handed to it */
    unsigned long long refused;        /* closed before reaching it */
    unsigned long long frames_refused; /* closed for a message peer_frame refused */
    unsigned long long probes_answered;
} peer_counts;

/* Makes t a transport for libraft (give it to raft_uv_init) and starts
 * listening at cfg->bind or cfg->address.  cfg's strings and tls must
 * outlive it.  0, or a libuv error (the address does not parse, the
 * port is taken) with t->errmsg set. */
int  peer_transport_init(struct raft_uv_transport *t, uv_loop_t *loop, const peer_config *cfg);
/* Frees what is left once the transport has been closed (by libraft's
 * raft_close, or peer_transport_close when libraft never started). */
void peer_transport_free(struct raft_uv_transport *t);
/* Closes a transport libraft never took over (t->close, for that case). */
void peer_transport_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb);
void peer_transport_counts(const struct raft_uv_transport *t, peer_counts *out);

/* A probe: asks member id at address what it holds (peer_hello.h). */
typedef struct peer_probe_req peer_probe_req;
typedef void (*peer_probe_cb)(peer_probe_req *req, int status, const peer_answer *answer);
struct peer_probe_req {
    void *data;
    peer_probe_cb cb;          /* status 0 and the answer, or a RAFT_* error */
};
int  peer_probe(struct raft_uv_transport *t, peer_probe_req *req, uint64_t id,
                const char *address, peer_probe_cb cb);

/* Asks member id (at address) round `round` of term `term` on the
 * confirm link to it (P5): sent now if the link is open and has not been
 * asked this round, once it opens if it is being opened, or after a dial
 * (P5's limit allowing).  The answer comes to cfg.confirmed.  0, or
 * RAFT_NOCONNECTION if there is no link and none may be dialled yet
 * (asked again later, it dials). */
int  peer_confirm_ask(struct raft_uv_transport *t, uint64_t id, const char *address,
                      uint64_t term, uint64_t round);

#endif
