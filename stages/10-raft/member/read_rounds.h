/*
 * read_rounds.h: the rounds of a leader's read index in flight, several
 * at once (each one a read_round.h).
 *
 * A read that arrives while a round is out needs a round started after
 * it.  Rather than wait for the round out to end and then for one of its
 * own (two round trips), it has one started at once, with the earlier
 * still out, and each voter is asked the newest.  Asks and answers travel
 * in order on a voter's link, so an answer to the newest round was given
 * after every earlier round started, and counts for them too
 * (read_round.h, R1: the read position etcd's ReadIndex carries in its
 * heartbeats): the answers to the newest round confirm every round out,
 * and a read waits for at most one round trip after it arrives, however
 * late the answers to a round before it.
 *
 * Invariants:
 *   Q1. Rounds are numbered in the order they start, from 1, and the
 *       numbers go on when the set is emptied.
 *   Q2. An answer counts in every round in flight numbered up to the
 *       round it answers (R1).  Once a round is confirmed, it and every
 *       earlier round leave the set: a round started later serves every
 *       read an earlier one would, with a read index no smaller.
 *   Q3. Once a round fails (R2), the set is emptied: the term is over
 *       for reads.
 */
#ifndef KV_RAFT_READ_ROUNDS_H
#define KV_RAFT_READ_ROUNDS_H

#include "read_round.h"

typedef struct read_rounds {
    read_round *out;        /* [0, n) in flight, oldest first; [n, cap) kept for
                               their memory */
    size_t n, cap;
    uint64_t started;       /* the last round's number (0: none yet) */
    int count_later;        /* the planted mistake, for every round started */
} read_rounds;

/* Starts the next round (numbered rs->started + 1) as read_round_start
 * does, tagged with pass and ms.  READ_ROUND_OPEN: it is in flight, the
 * newest; READ_ROUND_CONFIRMED: confirmed at once, *end is it, and the
 * set is empty (Q2); KV_ERR_NOMEM: nothing started. */
int  read_rounds_start(read_rounds *rs, const struct raft_configuration *conf, uint64_t self,
                       uint64_t term, uint64_t index, unsigned long long pass, uint64_t ms,
                       read_round *end);
/* Member id answered round `number` with `term` (Q2, Q3).
 * READ_ROUND_OPEN: no round ended; READ_ROUND_CONFIRMED: *end is the
 * newest round confirmed, out of the set with every earlier one;
 * READ_ROUND_FAILED: *end is the round failed (its later_id,
 * later_term), and the set is empty.  *end holds no memory of its own
 * (voters NULL). */
int  read_rounds_answer(read_rounds *rs, uint64_t id, uint64_t term, uint64_t number,
                        read_round *end);
/* The newest and oldest rounds in flight, or NULL if none is. */
const read_round *read_rounds_newest(const read_rounds *rs);
const read_round *read_rounds_oldest(const read_rounds *rs);
/* 1 if a round in flight started in `pass` or later (the caller's tag). */
int  read_rounds_serve(const read_rounds *rs, unsigned long long pass);
/* The pass the newest round in flight started in; 0 if none is. */
unsigned long long read_rounds_last_pass(const read_rounds *rs);
/* 1 if a round in flight waits for member id's answer. */
int  read_rounds_waits_for(const read_rounds *rs, uint64_t id);
/* No round is in flight any more (a term over); numbers go on (Q1). */
void read_rounds_clear(read_rounds *rs);
void read_rounds_free(read_rounds *rs);

#endif
