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
 *   P3. Admission (peer_admit.c): strangers cannot keep the group's own
 *       links from opening.
 *       a. An accepted connection has opening_ms (PEER_OPENING_MS) for
 *          its 16 clear bytes, then handshake_ms (PEER_HANDSHAKE_MS) for
 *          its TLS handshake and hello; past either it is closed.  While
 *          at most a quarter of the slots (c) are taken, a step gets
 *          slack (PEER_SLACK) times its deadline, down to the deadline
 *          itself as they fill: a flood that reconnects whatever is
 *          closed then costs the member fewer accepts and handshakes, and
 *          one that fills the slots meets the short deadlines.
 *       b. Its opening must name a member cfg.admits admits (one of the
 *          current configuration, not one removed from it); an open
 *          connection whose member is no longer admitted is closed at its
 *          next bytes (revoked).
 *       c. A connection whose far end's address cannot be read (it was
 *          reset before it was named) is refused at once, counted in no
 *          address's slots.  At most PEER_PER_SOURCE connections not
 *          open yet from one address that is no member's
 *          (cfg.member_address), and
 *          PEER_MAX_UNFINISHED in all.  One over either bound is parked:
 *          accepted but not read, read in its turn once a slot frees,
 *          closed after PEER_PARKED_MS; past PEER_MAX_PARKED parked, it is
 *          closed at once.  A stranger that reconnects as soon as it is
 *          closed thus waits as long as one that does not.
 *       d. Outgoing connections (libraft's, and probes) count in none of
 *          these: a member's own links out never wait for strangers.
 *       e. A stranger's address (no member's) takes at most
 *          PEER_STRANGER_RATE slots a second, and all strangers together
 *          PEER_STRANGERS_RATE (token buckets of PEER_STRANGER_BURST,
 *          spent when a connection takes its slot, before a byte of it is
 *          read, so before its TLS handshake).  One over a rate is parked
 *          as over a bound, and takes a slot when a token is due.  A TLS
 *          handshake costs the member a key exchange and a signature on
 *          the loop its group's writes run on: slots bound how many
 *          handshakes a stranger holds at once, the rate how many it
 *          costs a second, however fast it reconnects.
 *   P4. Every connection closed before it opened, and every one closed
 *       for a refused message, is counted once, by its reason
 *       (peer_refusal).
 *   P5. A notice (peer_transport_notify) goes out on the outgoing
 *       connection to its member between two of libraft's messages,
 *       never inside one; the checker on the other side hands it to its
 *       policy, not to libraft (peer_frame.h, F6).
 *   P6. Everything runs on the loop given; nothing blocks.
 *   P8. At most PEER_LINKS_PER_MEMBER accepted links of one member id
 *       are open at once, of each kind (libraft's, confirm links): when
 *       one more opens, the oldest is closed (counted as `replaced`).  A
 *       member needs one of each, and a second while a link it lost is
 *       still open here; the newest is the one in use, as after a
 *       restart whose old connection nothing has closed yet.  So one
 *       member's certificate, opening link after link, holds a handful
 *       of descriptors, not the process's open-file limit.
 *   P7. Nothing of a confirm link reaches libraft.  An accepted one
 *       answers each ask, in order, with the term cfg.term gives at that
 *       moment; a dialled one hands cfg.confirmed each answer whose round
 *       it asked, and closes on anything else.  A transport keeps at most
 *       one confirm link to a member, and dials it at most once in
 *       PEER_CONFIRM_REDIAL_MS.
 *   P9. Memory (peer_memory.c): every accepted connection not open yet
 *       is charged PEER_CONN_HOLD, and PEER_TLS_HOLD more from the moment
 *       its TLS session is made (what such a session holds at most:
 *       peer_tls.h, T4), against a budget (cfg.pending_budget,
 *       PEER_PENDING_BUDGET) of which strangers' addresses may take
 *       three quarters and members' addresses all.  A connection whose
 *       charge would pass its share is refused (`memory`): at its accept,
 *       or before its session is made.  Its charge is given back when it opens,
 *       answers a probe or closes, so the books read 0 once no
 *       connection waits to open; and when they come back to 0 after
 *       holding PEER_TRIM_AT or more, the allocator gives the freed memory
 *       back once every closed connection has freed its session.
 *   P10. Pace (peer_pace.c): at most PEER_HANDSHAKES_PER_PASS TLS
 *       handshake steps of accepted connections run in one pass of the
 *       loop; one more waits, its bytes held by its session and its
 *       reading stopped, and takes its step in a later pass, oldest
 *       first, connections from members' addresses before strangers'.
 *       A step costs a key exchange and a signature, or the check of a
 *       certificate and its signature: connections ready at once then
 *       hold the loop, and with it the clients and the links, for a few
 *       steps a pass, not for as many as there are of them.  A member's
 *       own links out are not paced.
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

#define PEER_OPENING_MS 1000       /* P3a: the 16 clear bytes */
#define PEER_HANDSHAKE_MS 2000     /* P3a: then the TLS handshake and the hello */
#define PEER_SLACK 10              /* P3a: the deadlines' factor while slots are free */
#define PEER_DIAL_MS 10000         /* an outgoing connection's time to open */
#define PEER_CONFIRM_REDIAL_MS 100 /* P7: at most one confirm dial to a member in this */
#define PEER_PER_SOURCE 32         /* P3c: not open yet, from one stranger's address */
#define PEER_MAX_UNFINISHED 1536   /* P3c: not open yet, in all */
#define PEER_MAX_PARKED 1536       /* P3c: held unread over a bound */
#define PEER_LINKS_PER_MEMBER 2    /* P8: open accepted links of one member, of each kind */
#define PEER_STRANGER_RATE 8       /* P3e: slots a second for one stranger's address */
#define PEER_STRANGERS_RATE 64     /* P3e: ... and for all strangers' together */
#define PEER_STRANGER_BURST 16     /* P3e: the most either gives at once */
#define PEER_PARKED_MS 20000      /* the longest deadline: a member's parked one outlives it */
#define PEER_CONN_HOLD 6144u       /* P9: an accepted connection not open yet (its struct, its writes) */
#define PEER_PENDING_BUDGET (32u << 20)  /* P9: what they hold in all, at most */
#define PEER_TRIM_AT (4u << 20)    /* P9: back to 0 from this, the memory goes back to the system */
#define PEER_HANDSHAKES_PER_PASS 4 /* P10: accepted connections' handshake steps in one loop pass */
/* The descriptors a transport holds at most, besides its open links. */
#define PEER_FILES (PEER_MAX_UNFINISHED + PEER_MAX_PARKED + 64)

/* Why a connection was refused (P4); peer_refusal_name[] says each in a
 * word, as CLUSTER INFO and the metrics do. */
enum peer_refusal {
    PEER_REFUSED_OPENING,         /* its 16 clear bytes were no opening */
    PEER_REFUSED_NOT_MEMBER,      /* it named a member the configuration does not hold */
    PEER_REFUSED_SOURCE,          /* parked over PEER_PER_SOURCE, and closed */
    PEER_REFUSED_FULL,            /* parked over PEER_MAX_UNFINISHED, or past PEER_MAX_PARKED */
    PEER_REFUSED_OPENING_LATE,    /* no opening within opening_ms */
    PEER_REFUSED_HANDSHAKE_LATE,  /* no handshake and hello within handshake_ms */
    PEER_REFUSED_TLS,             /* its TLS handshake failed (no certificate, not the group's) */
    PEER_REFUSED_IDENTITY,        /* its certificate names another member than it claims */
    PEER_REFUSED_HELLO,           /* a hello that does not decode, or bytes out of turn */
    PEER_REFUSED_MESSAGE,         /* a message the checker refused (peer_frame.h) */
    PEER_REFUSED_LEFT,            /* the peer closed it before it opened */
    PEER_REFUSED_NOT_READY,       /* libraft not listening yet, or the transport closing */
    PEER_REFUSED_NO_ADDRESS,      /* its far end's address could not be read (P3c) */
    PEER_REFUSED_RATE,            /* parked over its address's rate of openings (P3e), and closed */
    PEER_REFUSED_REPLACED,        /* an open link, closed for a newer one of its member (P8) */
    PEER_REFUSED_MEMORY,          /* its charge would pass the budget for unfinished ones (P9) */
    PEER_REFUSED_OTHER,           /* out of memory, a socket pair not made */
    PEER_REFUSALS
};
extern const char *const peer_refusal_name[PEER_REFUSALS];

typedef struct peer_config {
    uint64_t id;               /* this member's Raft id */
    const char *address;       /* its Raft address, HOST:PORT (IPv4) */
    const char *bind;          /* where it listens, or NULL: address */
    peer_tls_ctx *tls;         /* its credentials, or NULL: plain mode */
    peer_frame_limits limits;  /* what a peer's message may hold */
    unsigned opening_ms;       /* P3a; 0: PEER_OPENING_MS */
    unsigned handshake_ms;     /* P3a; 0: PEER_HANDSHAKE_MS */
    unsigned slack;            /* P3a; 0: PEER_SLACK, 1: none */
    unsigned parked_ms;        /* P3c; 0: PEER_PARKED_MS */
    unsigned per_source;       /* P3c; 0: PEER_PER_SOURCE */
    unsigned max_unfinished;   /* P3c; 0: PEER_MAX_UNFINISHED */
    size_t pending_budget;     /* P9; 0: PEER_PENDING_BUDGET */
    /* P3b: 1 if member id may connect now; NULL: any member. */
    int (*admits)(void *arg, uint64_t id);
    /* P3c: 1 if the IPv4 address (host byte order) is a member's; NULL:
     * none is. */
    int (*member_address)(void *arg, uint32_t ip);
    /* What the checker of each accepted connection asks (peer_frame.h:
     * F1, F5, F6); its arg is this config's arg. */
    uint64_t (*term)(void *arg);
    int (*may_disrupt)(void *arg, uint64_t candidate, uint64_t term);
    void (*notice)(void *arg, uint64_t sender, const peer_notice *n);
    /* P7: an answer on a confirm link this member asked on: member id,
     * the term it answered (an accepted link answers with cfg.term), and
     * the round it answers (NULL: dropped). */
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
    unsigned long long refused;        /* every refusal (P4): the sum of refused_by */
    unsigned long long refused_by[PEER_REFUSALS];
    unsigned long long frames_refused; /* closed for a message peer_frame refused */
    unsigned long long probes_answered;
    unsigned long long revoked;        /* open, closed once its member was not admitted */
    unsigned long long disrupt_cleared;  /* votes whose disrupt-leader flag was cleared (F5) */
    unsigned long long terms_lowered;    /* votes and answers whose term was lowered (F7) */
    unsigned long long notices_sent, notices_received;
    unsigned long long unfinished, parked;  /* now: accepted, not open yet; parked of them */
    unsigned long long pending_bytes;  /* now: what the unfinished are charged (P9) */
    unsigned long long handshake_steps;     /* accepted connections' handshake steps (P10) */
    unsigned long long handshakes_deferred; /* ... put off to a later pass */
    unsigned long long pass_steps_most;     /* ... the most taken in one pass */
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
/* Cheaply: out[0] messages written to libraft's ends of pairs, out[1] handshake_steps. */
void peer_transport_activity(const struct raft_uv_transport *t, unsigned long long out[2]);
/* Credentials for the connections made from now on (a reload); the ones
 * open keep the sessions they proved.  tls must outlive the transport or
 * the next call; the old one may be freed once this returns. */
void peer_transport_set_tls(struct raft_uv_transport *t, peer_tls_ctx *tls);
/* Sends n to member id on libraft's outgoing connection to it, between
 * two of libraft's messages (P5).  0, RAFT_NOCONNECTION if none is open,
 * or RAFT_NOMEM (too many notices waiting on it). */
int  peer_transport_notify(struct raft_uv_transport *t, uint64_t id, const peer_notice *n);

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
 * confirm link to it (P7): sent now if the link is open and has not been
 * asked this round, once it opens if it is being opened, or after a dial
 * (P7's limit allowing).  The answer comes to cfg.confirmed.  0, or
 * RAFT_NOCONNECTION if there is no link and none may be dialled yet
 * (asked again later, it dials). */
int  peer_confirm_ask(struct raft_uv_transport *t, uint64_t id, const char *address,
                      uint64_t term, uint64_t round);

#endif
