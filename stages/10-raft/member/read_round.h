/*
 * read_round.h: one round of a leader's read index (Raft's ReadIndex:
 * Ongaro's thesis, section 6.4): who must answer, and what the answers
 * say.  It holds no connection and no clock: member_read.c asks the
 * voters (peer_confirm_ask) and hands it each answer.
 *
 * A round starts with the leader's current term, its read index (its
 * commit index then) and the voters of its configuration then; the
 * leader counts at once if it is one of them.  Each other voter answers
 * with its own current term at the moment it answered:
 *   R1. an answer from a voter of the round, for this round or a later
 *       one, with a term at most the round's, counts once for that
 *       voter; any other answer (an earlier round's, a non-voter's, a
 *       voter's second) changes nothing.  A later round's counts: it was
 *       asked after this one started, so it was answered after too, and
 *       proves as much (the read position etcd's ReadIndex carries);
 *   R2. such an answer with a later term fails the round: that member
 *       had moved on, so a later leader may have been elected, and have
 *       committed writes this leader lacks;
 *   R3. the round is confirmed once more than half its voters have
 *       counted and none failed it; confirmed or failed, it stays so.
 * Confirmed, it proves that after it started no majority had moved past
 * its term: no later leader had committed anything before then.
 *
 * Several rounds may be out at once (read_rounds): a read that arrives
 * while one is out needs a round started after it, and waits for one
 * started at once rather than for the one out to end first.  Since an
 * answer counts for every earlier round too (R1), the voters' answers to
 * the newest round confirm all of them: a read waits for at most one
 * round after it arrives, however late the answers to an earlier one.
 *   R4. rounds are numbered in the order they start; once a round is
 *       confirmed, it and every earlier round leave the set (a round
 *       started later serves every read an earlier one would); once one
 *       fails, the set is emptied (the term is over for reads).
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
    /* The caller's, kept with it: when it started (member_read.c: the
     * server's loop pass, and the loop's clock in ms). */
    unsigned long long pass;
    uint64_t ms;
} read_round;

/* The rounds in flight, oldest first (R4). */
typedef struct read_rounds {
    read_round *out;        /* [0, n) in flight; [n, cap) kept for their memory */
    size_t n, cap;
    uint64_t started;       /* the last round's number (0: none yet) */
    int count_later;        /* the planted mistake, for every round started */
} read_rounds;

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

/* Starts the next round (numbered rs->started + 1) as read_round_start
 * does, tagged with pass and ms.  READ_ROUND_OPEN: it is in flight, the
 * newest; READ_ROUND_CONFIRMED: confirmed at once, *end is it, and the
 * set is empty (R4); KV_ERR_NOMEM: nothing started. */
int  read_rounds_start(read_rounds *rs, const struct raft_configuration *conf, uint64_t self,
                       uint64_t term, uint64_t index, unsigned long long pass, uint64_t ms,
                       read_round *end);
/* Member id answered round `number` with `term`, counted in every round
 * in flight up to `number` (R1-R4).  READ_ROUND_OPEN: no round ended;
 * READ_ROUND_CONFIRMED: *end is the newest round confirmed, out of the
 * set with every earlier one; READ_ROUND_FAILED: *end is the round
 * failed (its later_id, later_term), and the set is empty.  *end holds
 * no memory of its own (voters NULL). */
int  read_rounds_answer(read_rounds *rs, uint64_t id, uint64_t term, uint64_t number,
                        read_round *end);
/* The newest and oldest rounds in flight, or NULL if none is. */
const read_round *read_rounds_newest(const read_rounds *rs);
const read_round *read_rounds_oldest(const read_rounds *rs);
/* 1 if a round in flight waits for member id's answer. */
int  read_rounds_waits_for(const read_rounds *rs, uint64_t id);
/* No round is in flight any more (a term over); numbers go on. */
void read_rounds_clear(read_rounds *rs);
void read_rounds_free(read_rounds *rs);

#endif
