/*
 * peer_confirm.h: one end of a confirm link, what it does with the bytes
 * that come on it (peer_transport.h, P7; peer_hello.h has the messages,
 * docs/10-raft.md, "Reads", what they are for).
 *
 * A leader about to answer reads asks each voter "round R; my term is T"
 * and counts the answers (member_read.c).  The end that dialled (the
 * leader's) asks; the end that accepted answers each ask, in turn, with
 * the term its member holds at that moment, and does nothing else.  This
 * module holds no connection: peer_conn.c feeds it a link's plain bytes
 * and sends what it hands back, peer_transport.c asks through it.
 *
 * Invariants:
 *   K1. An asking end keeps one ask, the latest: asked again for the
 *       round it was last asked, it sends nothing; an ask made before the
 *       link opened goes out when it opens.
 *   K2. An asking end hands on (cfg.confirmed) only answers for a round
 *       it asked and sent; answers come in the order of the asks, so one
 *       may be for an earlier round than the last ask.  An answer for a
 *       round not sent yet, an ask sent to it, or a message that does not
 *       decode is refused (KV_ERR_CORRUPT): the link ends.
 *   K3. An answering end answers every ask with cfg.term at that moment,
 *       and refuses an answer sent to it.
 */
#ifndef KV_RAFT_PEER_CONFIRM_H
#define KV_RAFT_PEER_CONFIRM_H

#include <stddef.h>
#include <stdint.h>

#include "peer_hello.h"

struct peer_config;

typedef struct peer_confirm_link {
    int asking;                  /* 1: the end that dialled (a leader's) */
    peer_confirm_msg ask;        /* asking: the last ask (round 0: none yet) (K1) */
    int ask_sent;
    uint8_t in[PEER_CONFIRM];    /* a message coming */
    size_t in_len;
} peer_confirm_link;

/* When a confirm link to a member was last dialled. */
typedef struct peer_confirm_dial {
    uint64_t id;
    uint64_t ms;                 /* the loop's clock */
} peer_confirm_dial;

/* Round `round` of `term` asked on l (K1): 1 if out now holds the ask to
 * send (the link is open and was not asked this round), else 0. */
int  peer_confirm_ask_on(peer_confirm_link *l, int open, uint64_t term, uint64_t round,
                         uint8_t out[PEER_CONFIRM]);
/* l has opened: 1 if out holds an ask made before, to send now (K1). */
int  peer_confirm_opened(peer_confirm_link *l, uint8_t out[PEER_CONFIRM]);
/* Bytes that came on l from member `peer`: each whole message handled
 * (K2, K3); an answer to send goes to send(arg, bytes), which returns 0,
 * or -1 to stop (the link closed).  KV_OK, or KV_ERR_CORRUPT with
 * kv_errmsg() saying what was wrong (the link must end). */
int  peer_confirm_feed(peer_confirm_link *l, const struct peer_config *cfg, uint64_t peer,
                       const uint8_t *p, size_t n,
                       int (*send)(void *arg, const uint8_t out[PEER_CONFIRM]), void *arg);
/* 1 if a confirm link to member id may be dialled at `now`: none was
 * in the last `gap` ms by dials[0..n); the dial is then recorded, in id's
 * slot or the one used longest ago. */
int  peer_confirm_may_dial(peer_confirm_dial *dials, size_t n, uint64_t id, uint64_t now,
                           uint64_t gap);

#endif
