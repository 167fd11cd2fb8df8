/*
 * peer_frame.h: libraft's messages checked before libraft reads them.
 *
 * libraft 0.15 decodes what arrives on its Raft port without checking it
 * (its src/uv_encoding.c: a header's fields are read at fixed offsets
 * whatever the header's length, an entry count is trusted, a
 * configuration is read until a NUL byte), and it allocates a message's
 * payload at the size the message announces before a byte of it has
 * come.  So every byte a peer sends passes through this checker first
 * (peer_conn.c), which hands on only what it has checked: a message's
 * preamble and header once the whole header is here and holds together,
 * then its payload as it arrives, but a configuration entry only once it
 * is whole and decodes.  The first thing wrong ends the connection.
 *
 * The stream, as libraft writes it (src/uv_encoding.c, all integers
 * little-endian): each message is a preamble, 8 bytes of type (1..6) and
 * 8 of header length H, then H bytes of header, then a payload (the
 * entries' bytes for AppendEntries, the snapshot's for InstallSnapshot).
 *
 *   type 1 AppendEntries   H = 48 + 16 n: term, previous index, previous
 *                          term, commit index, n, then n entry headers
 *                          (term 8, type 1 (1 command, 2 barrier,
 *                          3 configuration) and 3 unused, length 4), then
 *                          8 unused; the payload, the n entries in order,
 *                          each a multiple of 8 bytes
 *   type 2 its result      H = 24: term, rejected, last index
 *   type 3 RequestVote     H = 40: term, candidate id, last index, last
 *                          term, flags (bit 0 disrupt leader, 1 pre-vote)
 *   type 4 its result      H = 24: term, granted (0, 1), flags (bit 0)
 *   type 5 InstallSnapshot H = 56 + C: term, last index, last term,
 *                          configuration index, C, C bytes of
 *                          configuration, snapshot length S, 8 unused;
 *                          the payload, S bytes
 *   type 6 TimeoutNow      H = 24: term, last index, last term
 *
 * and one type libraft never sends, the transport's own (peer_notice,
 * carried between two of libraft's messages and never handed to it):
 *
 *   type 100 a notice      H = 32: kind (1 a leadership transfer begun,
 *                          2 heard), term, target, 0; no payload
 *
 * A configuration (src/configuration.c): version 1 (1 byte), N servers
 * (8), then each: id (8, not 0), its address and a NUL, its role (1: 0
 * standby, 1 voter, 2 spare); padded to a multiple of 8.
 *
 * What the checker refuses besides a break of that layout, given a
 * policy (peer_frame_policy: what the member it guards knows; without
 * one, only the layout, F2 and F3 are checked, a notice is refused,
 * every flag passes and no term is lowered):
 *   F1. No term more than PEER_TERM_WINDOW above the member's own
 *       reaches libraft in a message it takes a term from (F7 says what
 *       reaches it instead): no
 *       group moves that far between two messages by elections, and a
 *       term near 2^64 would leave no term to go on with.  The bound is
 *       the member's term, not a number: one message cannot reach a term
 *       the group cannot go past.
 *   F2. A RequestVote whose candidate is not the member the connection
 *       proved to be.
 *   F3. An entry over limits.max_entry bytes, a message (header and
 *       payload) over limits.max_message: refused from its header,
 *       before its payload is waited for.
 *   F4. An entry whose term is above its message's.
 * And what it changes or takes out:
 *   F7. A message of a term more than PEER_TERM_WINDOW above the
 *       member's own raises its term by PEER_TERM_WINDOW at most:
 *         - a pre-vote (flags bit 1) passes as it is: libraft takes no
 *           term from one, and answers it with the request's own term;
 *         - a vote, or an answer (types 2 and 4), passes with its term
 *           lowered to the member's term plus PEER_TERM_WINDOW (a vote
 *           whose log's last term is above that is lifted instead);
 *         - a leader's message (AppendEntries, InstallSnapshot,
 *           TimeoutNow) is lifted: not handed on (its payload skipped),
 *           but replaced by a vote of its sender at the member's term
 *           plus PEER_TERM_WINDOW, with an empty log and no flags, whose
 *           effect on a member without a leader is to give it that term.
 *       Two members whose terms were pushed further apart than the
 *       window (by a ladder of messages each within it) so still move
 *       toward each other with every message, and meet; refusing the
 *       messages instead would part them for good, each refusing all the
 *       other says.  It is safe: a member may always take a higher term
 *       (it is what a candidate does), and nothing lowered or lifted says
 *       who leads a term: an answer of a higher term only makes its
 *       receiver take the term and follow, and a vote granted at the
 *       lowered term is one its candidate, at a higher term, never
 *       counts.
 *   F5. A RequestVote's disrupt-leader flag (bit 0) reaches libraft only
 *       if the policy says a transfer of leadership to its candidate is
 *       under way (may_disrupt); otherwise the flag is cleared, and
 *       libraft then refuses the vote while it has a leader.
 *   F6. A notice is handed to the policy, not to libraft.
 */
#ifndef KV_RAFT_PEER_FRAME_H
#define KV_RAFT_PEER_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define PEER_TERM_WINDOW (1ull << 32)
#define PEER_FRAME_PREAMBLE 16u
#define PEER_FRAME_NOTICE 100u        /* the transport's own message type */
#define PEER_NOTICE_HEADER 32u
#define PEER_NOTICE_BYTES (PEER_FRAME_PREAMBLE + PEER_NOTICE_HEADER)
#define PEER_MAX_CONF (64u * 1024u)   /* a configuration's bytes */

typedef struct peer_frame_limits {
    uint64_t max_entry;      /* one entry's bytes */
    uint64_t max_message;    /* a message's header and payload */
} peer_frame_limits;

/* A notice: what a member tells another beside libraft's messages. */
enum { PEER_NOTICE_TRANSFER = 1, PEER_NOTICE_HEARD = 2 };
typedef struct peer_notice {
    uint64_t kind;       /* PEER_NOTICE_TRANSFER: the leader of `term` moves
                          * leadership to `target`; PEER_NOTICE_HEARD: the
                          * follower that got it says so */
    uint64_t term, target;
} peer_notice;

/* What the member the checker guards knows (F1, F5, F6, F7). */
typedef struct peer_frame_policy {
    void *arg;
    uint64_t (*term)(void *arg);                  /* its current term */
    /* 1 if a vote of `term` from `candidate` may disrupt its leader */
    int (*may_disrupt)(void *arg, uint64_t candidate, uint64_t term);
    void (*notice)(void *arg, uint64_t sender, const peer_notice *n);
} peer_frame_policy;

/* Writes n as a message of the stream into out. */
void peer_notice_encode(const peer_notice *n, uint8_t out[PEER_NOTICE_BYTES]);

/* Hands on n bytes at p, in order, to whatever reads after the checker. */
typedef void (*peer_frame_emit)(void *arg, const uint8_t *p, size_t n);

typedef struct peer_frame {
    peer_frame_limits lim;
    uint64_t sender;           /* the member the connection proved to be; 0 for
                                * a member's own outgoing stream (no F2) */
    int in_payload;            /* 0: gathering a preamble and header */
    uint8_t *held;             /* the preamble and header, or a configuration entry */
    size_t held_len, held_cap, held_want;
    uint64_t type;
    /* the payload: the entries left of an AppendEntries (lengths and
     * types kept from its header), or a snapshot's bytes */
    uint32_t *entry_len;
    uint8_t *entry_type;
    uint64_t n_entries, entry_at, entry_left, snapshot_left;
    uint64_t messages;         /* messages handed on whole */
    const peer_frame_policy *policy;   /* or NULL */
    uint64_t disrupt_cleared;  /* F5: flags cleared */
    uint64_t terms_lowered;    /* F7: messages lowered or lifted */
    int lifting;               /* F7: the message is replaced by lift, its payload skipped */
    uint64_t skip_left;        /* its payload's bytes still to skip */
    uint8_t lift[PEER_FRAME_PREAMBLE + 40];
} peer_frame;

/* policy (may be NULL) must outlive f. */
void peer_frame_init(peer_frame *f, const peer_frame_limits *lim, uint64_t sender,
                     const peer_frame_policy *policy);
void peer_frame_free(peer_frame *f);
/* Checks the next n bytes of the stream, calling emit for every byte it
 * hands on.  KV_OK, or KV_ERR_CORRUPT (kv_errmsg: the message's number
 * on the connection, its offset, and what is wrong; nothing more may be
 * fed) or KV_ERR_NOMEM. */
int  peer_frame_feed(peer_frame *f, const uint8_t *p, size_t n, peer_frame_emit emit, void *arg);
/* As peer_frame_feed, but stops right after the first message that ends
 * in p[0..n): *used says how many bytes it took. */
int  peer_frame_feed_one(peer_frame *f, const uint8_t *p, size_t n, peer_frame_emit emit,
                         void *arg, size_t *used);
/* 1 if the stream fed so far ends between two messages. */
int  peer_frame_at_boundary(const peer_frame *f);

/* Checks a configuration's bytes (the layout above).  KV_OK, or
 * KV_ERR_CORRUPT naming the offset. */
int  peer_conf_check(const uint8_t *p, size_t len);

#endif
