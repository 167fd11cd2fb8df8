/*
 * peer_conn.h: what peer_transport.c and peer_conn.c share: the
 * transport's state and one connection's (peer_transport.h says what
 * they promise).
 *
 * A connection goes through these states, and is closed from any of
 * them (on a refusal, an error, the peer closing, the transport closing):
 *
 *   accepted:   [PARKED ->] OPENING -> [TLS] -> HELLO -> OPEN (pumping), or
 *               -> a probe answered, then closed, or -> OPEN (a confirm
 *               link: answering asks)
 *   outgoing:   DIALING -> [TLS] -> OPEN (handed to libraft)
 *   probe:      DIALING -> [TLS] -> ANSWER (waiting for it), then closed
 *   confirm:    DIALING -> [TLS] -> OPEN (asking: peer_confirm.c)
 *
 * Invariants:
 *   C1. libraft's callback for an outgoing connection, and a probe's,
 *       is called exactly once: with the stream once OPEN, else with an
 *       error when the connection closes.
 *   C2. A connection is freed only once each of its libuv handles has
 *       been closed (handles counts them); the transport's own close
 *       callback waits for every connection to be freed.
 *   C3. A stream never has more than PEER_QUEUE_HIGH bytes queued to
 *       write: reading from the other side stops until its queue is
 *       below PEER_QUEUE_LOW again.
 *   C4. An accepted connection holds a slot (P3c: counted in unfinished
 *       and in its address's count) from its admission until it opens,
 *       answers a probe or closes, and is in the parked list exactly
 *       while it is PARKED.
 *   C5. An accepted connection's charge (held, P9) is in the transport's
 *       pending from its accept until it opens, answers a probe or
 *       closes; pending is the sum of the charges.
 *   C6. A connection is in a deferred list exactly while `deferred` is
 *       set (P10): then it is in TLS, its bytes wait in its session, and
 *       it is not read.
 */
#ifndef KV_RAFT_PEER_CONN_H
#define KV_RAFT_PEER_CONN_H

#include "peer_confirm.h"
#include "peer_transport.h"

#define PEER_QUEUE_HIGH (8u * 1024u * 1024u)
#define PEER_QUEUE_LOW (1u * 1024u * 1024u)
#define PEER_BUF (64u * 1024u)
#define PEER_CONFIRM_DIALS 16          /* members whose last confirm dial is kept */
#define PEER_SOURCE_SLOTS 4096u   /* the table of addresses' counts (> PEER_MAX_UNFINISHED) */
#define PEER_NOTICES_QUEUED 8

typedef struct peer_conn peer_conn;

/* A token bucket (P3e): milli-tokens, refilled as of `at` (ms, the loop's
 * clock), for stranger address ip (0: all strangers'). */
typedef struct peer_bucket {
    uint32_t ip;
    long long milli, at;
} peer_bucket;

typedef struct peer_transport {
    struct raft_uv_transport *t;
    uv_loop_t *loop;
    peer_config cfg;
    uv_tcp_t listener;
    int listener_open;
    raft_uv_accept_cb accept_cb;     /* set once libraft listens */
    peer_tls_ctx *tls;               /* the credentials new connections use */
    peer_frame_policy policy;        /* what each accepted connection's checker asks */
    peer_conn *conns;                /* every connection not freed yet */
    size_t unfinished;               /* accepted ones holding a slot (P3c, C4) */
    size_t parked;
    peer_conn *park_head, *park_tail;  /* the parked, oldest first */
    unsigned long long opened;       /* accepted links opened so far (P8's order) */
    struct { uint32_t ip, n; } sources[PEER_SOURCE_SLOTS];  /* strangers' slots by address */
    peer_bucket buckets[PEER_SOURCE_SLOTS];  /* strangers' rates by address (P3e) */
    peer_bucket strangers;           /* ... and all strangers' together */
    size_t pending;                  /* P9, C5: what the unfinished are charged */
    size_t pending_peak;             /* ... the most since it was last 0 */
    size_t conns_closing;            /* closed, their memory not freed yet */
    int trim_owed;                   /* ... and the allocator to be asked once it is (P9) */
    uv_check_t pass_end;             /* P10: a pass of the loop ends: its steps counted anew */
    uv_idle_t deferred_run;          /* ... runs while some wait: their steps */
    int pace_handles;                /* of those two, not closed yet */
    unsigned pass_steps;             /* handshake steps in this pass */
    peer_conn *deferred_head[2], *deferred_tail[2];  /* C6: members' addresses', strangers' */
    int closing;
    raft_uv_transport_close_cb close_cb;
    peer_counts counts;
    unsigned long long to_libraft;   /* messages written to libraft's end of a pair */
    long long log_ms;                /* the last log line (ms, the loop's clock) */
    unsigned long long log_quiet;    /* lines not written since */
    uint8_t rbuf[PEER_BUF];          /* what a read brought (one read at a time) */
    uint8_t plain[PEER_BUF];         /* ... decrypted */
    peer_confirm_dial confirm_dials[PEER_CONFIRM_DIALS];  /* P7's limit */
} peer_transport;

enum { CONN_ACCEPTED, CONN_OUTGOING, CONN_PROBE, CONN_CONFIRM };
enum { ST_DIALING, ST_PARKED, ST_OPENING, ST_TLS, ST_HELLO, ST_ANSWER, ST_OPEN, ST_CLOSED };

struct peer_conn {
    peer_transport *pt;
    int kind, state;
    uv_tcp_t tcp;
    uv_connect_t dial;
    uv_timer_t timer;                /* the time it has to open (P3a) */
    uv_pipe_t pipe;                  /* our end of the pair, once OPEN */
    int pipe_made, handles;          /* C2: handles open */
    int tcp_reading, pipe_reading, answered_probe;
    int refused;                     /* counted refused (P4): once */
    peer_tls *tls;                   /* TLS mode, or NULL */
    uint64_t id;                     /* the peer's: claimed (accepted) or wanted */
    char addr[PEER_ADDR_MAX + 1];    /* the peer's Raft address */
    char remote[64];                 /* the socket's far end, for log lines */
    uint32_t src;                    /* accepted: the far end's IPv4 address (host order),
                                      * 0 if it could not be read */
    unsigned long long opened;       /* accepted and OPEN: the transport's count then (P8) */
    int member_src;                  /* ... a member's (P3c) */
    int slot;                        /* holds a slot (C4) */
    size_t held;                     /* accepted, not open: its charge (P9, C5) */
    int deferred;                    /* its handshake step waits for a later pass (C6) */
    peer_conn *defer_prev, *defer_next;
    int park_reason;                 /* PARKED: PEER_REFUSED_SOURCE, _FULL or _RATE */
    long long parked_at;             /* ... since (ms, the loop's clock) */
    peer_conn *park_prev, *park_next;
    uint8_t in[PEER_HELLO_HEAD + PEER_ADDR_MAX + 1];  /* opening, hello or answer */
    size_t in_len;
    peer_frame frame;                /* accepted and OPEN: the messages checked */
    int frame_made;
    struct raft_uv_connect *raft_req;   /* outgoing: libraft's request (C1) */
    peer_probe_req *probe;              /* probe: its request (C1) */
    int confirm;                     /* a confirm link: accepted, it answers; CONN_CONFIRM, it asks */
    peer_confirm_link link;          /* ... its end (peer_confirm.h) */
    peer_frame out_frame;            /* outgoing and OPEN: libraft's messages, for P5 */
    int out_frame_made;
    uint8_t notices[PEER_NOTICES_QUEUED][PEER_NOTICE_BYTES];  /* waiting for a boundary */
    int n_notices;
    uint8_t *staged;                 /* bytes checked, for one write to the pipe */
    size_t staged_len, staged_cap;
    int stage_failed;                /* ... but memory ran out */
    peer_conn *prev, *next;
};

/* peer_conns.c */
/* A log line, limited to about one a second (the others counted). */
void peer_log(peer_transport *pt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void peer_conn_unlink(peer_transport *pt, peer_conn *c);  /* the connection is freed */
/* A transport being closed whose listener and connections are all
 * closed is closed now: its close_cb is called, once. */
void peer_transport_maybe_closed(peer_transport *pt);

/* peer_admit.c (P3): the books; peer_conn.c acts on the answers. */
/* An accepted connection named (its src and member_src set): 0 if it takes a slot now
 * (OPENING), PEER_REFUSED_SOURCE or _FULL if it is parked (PARKED), -1 if
 * it must be refused now (too many parked); *ms its deadline. */
int  peer_admit(peer_conn *c, unsigned *ms);
/* Its opening names member id: 1 and its handshake's deadline in *ms, or
 * 0 if the member is not admitted (P3b). */
int  peer_admit_member(peer_conn *c, uint64_t id, unsigned *ms);
/* c no longer waits to open (open, a probe answered, or closed): its slot
 * (or its place among the parked) is given up. */
void peer_admit_release(peer_conn *c);
/* Parked c's time is up: 0 if it takes a slot now (OPENING, *ms its
 * deadline); > 0, the bound it is still over, if it stays parked (*ms
 * until its next look: a rate's token is due sooner than a slot frees);
 * -1 if it has been parked parked_ms and must be closed. */
int  peer_admit_retry(peer_conn *c, unsigned *ms);
/* A parked connection that fits now, taken into a slot (OPENING, *ms its
 * deadline), or NULL. */
peer_conn *peer_admit_next(peer_transport *pt, unsigned *ms);
/* Why c, accepted and not open, is closed when its time is up. */
int  peer_admit_late(const peer_conn *c);
void peer_admit_counts(const peer_transport *pt, peer_counts *out);

/* peer_memory.c (P9): the budget of the connections not open yet. */
/* 1 if accepted c may hold `more` bytes more (charged now), 0 if that
 * would pass its share of the budget (nothing charged). */
int  peer_memory_take(peer_conn *c, size_t more);
/* c no longer waits to open: its charge is given back. */
void peer_memory_give_back(peer_conn *c);
/* A connection closed has freed its memory (its TLS session, its
 * buffers): the allocator's free pages go back if the books owe it. */
void peer_memory_freed(peer_transport *pt);

/* peer_pace.c (P10): the handshake steps of one pass of the loop; its
 * books, and peer_conn.c acts on the answers. */
/* Makes the transport's two handles: the end of a pass (started here),
 * and deferred_run (idle, started by peer_conn.c while some wait); both
 * closed by peer_pace_close. */
void peer_pace_init(peer_transport *pt);
void peer_pace_close(peer_transport *pt);
/* 1 if accepted c (in TLS) takes a handshake step now, counted; 0 if
 * this pass has had its share: c is then deferred (C6). */
int  peer_pace_step(peer_conn *c);
/* The deferred connection whose turn it is, taken out of its list, if
 * this pass has steps left; else NULL. */
peer_conn *peer_pace_next(peer_transport *pt);
/* 1 while some connection is deferred. */
int  peer_pace_waiting(const peer_transport *pt);
/* c, closing, leaves the deferred list if it is in it. */
void peer_pace_forget(peer_conn *c);

/* peer_conn.c */
/* A new connection: accepted from the listener, or dialled (kind
 * CONN_OUTGOING, CONN_PROBE) to id at address.  0 or a RAFT_* error. */
int  peer_conn_accept(peer_transport *pt);
int  peer_conn_dial(peer_transport *pt, int kind, uint64_t id, const char *address,
                    struct raft_uv_connect *raft_req, peer_probe_req *probe);
/* Closes c; not a refusal (an error, the peer or libraft gone). */
void peer_conn_close(peer_conn *c, const char *why);
/* Closes c, refused for `reason` (P4), logging why if not NULL. */
void peer_conn_refuse(peer_conn *c, int reason, const char *why);
/* Queues notice bytes on c (outgoing, OPEN) and sends what a boundary
 * allows (P5).  0, or RAFT_NOMEM if too many wait. */
int  peer_conn_notify(peer_conn *c, const uint8_t n[PEER_NOTICE_BYTES]);
/* Sends plain bytes to c's peer (encrypted in TLS mode).  0, or -1 (c is
 * closed). */
int  peer_conn_send(peer_conn *c, const void *p, size_t n);

#endif
