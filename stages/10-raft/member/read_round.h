/*
 * read_round.h: one round of a leader's read index (Raft's ReadIndex:
 * Ongaro's thesis, section 6.4): who must answer, and what the answers
 * say.  It holds no connection and no clock: member_read.c asks the
 * voters (peer_confirm_ask) and hands it each answer (several rounds
 * may be out at once: read_rounds.h).
 *
 * A round starts with the leader's current term, its read index (its
 * commit index then) and the voters of its configuration then; the
 * leader counts at once if it is one of them.  Each other voter answers
 * with its own current term at the moment it answered:
 *   R1. an answer from a voter of the round, for this round or a later
 *       one, with a term at most the round's, counts once for that
 *       voter (a later round was asked after this one started: its
 *       answer came after too); any other answer (an earlier round's, a
 *       non-voter's, a voter's second) changes nothing;
 *   R2. such an answer with a later term fails the round: that member
 *       had moved on, so a later leader may have been elected, and have
 *       committed writes this leader lacks;
 *   R3. the round is confirmed once more than half its voters have
 *       counted and none failed it; confirmed or failed, it stays so.
 * Confirmed, it proves that after it started no majority had moved past
 * its term: no later leader had committed anything before then.
 */
#ifndef KV_RAFT_READ_ROUND_H
#define KV_RAFT_READ_ROUND_H

#include <stddef.h>
#include <stdint.h>

#include <raft.h>

enum { READ_ROUND_OPEN, READ_ROUND_CONFIRMED, READ_ROUND_FAILED };

typedef struct read_round {
    uint64_t number;        /* rounds count from 1 */
    uint64_t term;          /* the leader's, at the start */
    uint64_t index;         /* the read index: the commit index at the start */
    uint64_t *voters;       /* the configuration's voters at the start */
    unsigned char *counted; /* ... 1 once each counted (R1) */
    size_t nvoters, cap;
    size_t yes;             /* voters counted */
    int state;              /* READ_ROUND_* */
    uint64_t later_id, later_term;  /* who failed it, with what term (R2) */
    /* The planted mistake later-term-answers (member.h): an answer with
     * a later term counts as one with the round's (R2 broken). */
    int count_later;
    unsigned long long pass; /* the caller's: when it started (read_rounds.h) */
    uint64_t ms;
} read_round;

/* Starts round `number` of member self, in `term`, with read index
 * `index`, over conf's voters: READ_ROUND_OPEN, or READ_ROUND_CONFIRMED
 * at once if self alone is a majority.  KV_ERR_NOMEM if its voters do not
 * fit (round unchanged). */
int  read_round_start(read_round *round, const struct raft_configuration *conf,
                      uint64_t self, uint64_t number, uint64_t term, uint64_t index);
/* Member id answered round `number` with `term` (R1, R2, R3): the round's
 * state after it. */
int  read_round_answer(read_round *round, uint64_t id, uint64_t term, uint64_t number);
/* 1 if id is one of the round's voters that has not counted yet. */
int  read_round_waits_for(const read_round *round, uint64_t id);
void read_round_free(read_round *round);

#endif
