/*
 * read_round.c: the rounds of a leader's read index, counted, one at a
 * time and several in flight (read_round.h has their rules).
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kv.h"
#include "read_round.h"

int read_round_start(read_round *round, const struct raft_configuration *conf,
                     uint64_t self, uint64_t number, uint64_t term, uint64_t index)
{
    if (conf->n > round->cap) {
        uint64_t *voters = malloc(conf->n * sizeof *voters);
        unsigned char *counted = malloc(conf->n);
        if (voters == NULL || counted == NULL) {
            free(voters);
            free(counted);
            return kv_error(KV_ERR_NOMEM, "out of memory for a read round of %u members",
                            conf->n);
        }
        free(round->voters);
        free(round->counted);
        round->voters = voters;
        round->counted = counted;
        round->cap = conf->n;
    }
    round->number = number;
    round->term = term;
    round->index = index;
    round->nvoters = round->yes = 0;
    round->later_id = round->later_term = 0;
    round->state = READ_ROUND_OPEN;
    for (unsigned i = 0; i < conf->n; i++) {
        if (conf->servers[i].role != RAFT_VOTER)
            continue;
        round->voters[round->nvoters] = conf->servers[i].id;
        round->counted[round->nvoters] = conf->servers[i].id == self;
        round->yes += round->counted[round->nvoters];
        round->nvoters++;
    }
    if (round->nvoters > 0 && 2 * round->yes > round->nvoters)
        round->state = READ_ROUND_CONFIRMED;
    return round->state;
}

int read_round_answer(read_round *round, uint64_t id, uint64_t term, uint64_t number)
{
    if (round->state != READ_ROUND_OPEN || number < round->number)
        return round->state; /* ended, or an answer to an ask made before it (R1) */
    size_t i = 0;
    while (i < round->nvoters && round->voters[i] != id)
        i++;
    if (i == round->nvoters || round->counted[i])
        return round->state; /* not a voter of this round, or counted already (R1) */
    if (term > round->term && !round->count_later) { /* R2 */
        round->later_id = id;
        round->later_term = term;
        round->state = READ_ROUND_FAILED;
        return round->state;
    }
    round->counted[i] = 1;
    round->yes++;
    if (2 * round->yes > round->nvoters) /* R3 */
        round->state = READ_ROUND_CONFIRMED;
    return round->state;
}

int read_round_waits_for(const read_round *round, uint64_t id)
{
    for (size_t i = 0; i < round->nvoters; i++)
        if (round->voters[i] == id)
            return !round->counted[i];
    return 0;
}

void read_round_free(read_round *round)
{
    free(round->voters);
    free(round->counted);
    round->voters = NULL;
    round->counted = NULL;
    round->cap = 0;
}

/* The first k rounds leave the set; their memory is kept at the end. */
static void rounds_drop(read_rounds *rs, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        read_round gone = rs->out[0];
        memmove(&rs->out[0], &rs->out[1], (rs->cap - 1) * sizeof *rs->out);
        rs->out[rs->cap - 1] = gone;
        rs->n--;
    }
}

/* What a caller keeps of an ended round: its figures, no memory. */
static void rounds_end(const read_round *r, read_round *end)
{
    *end = *r;
    end->voters = NULL;
    end->counted = NULL;
    end->cap = 0;
}

int read_rounds_start(read_rounds *rs, const struct raft_configuration *conf, uint64_t self,
                      uint64_t term, uint64_t index, unsigned long long pass, uint64_t ms,
                      read_round *end)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap != 0 ? 2 * rs->cap : 4;
        read_round *grown = realloc(rs->out, cap * sizeof *grown);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "out of memory for %zu read rounds", cap);
        memset(grown + rs->cap, 0, (cap - rs->cap) * sizeof *grown);
        rs->out = grown;
        rs->cap = cap;
    }
    read_round *r = &rs->out[rs->n];
    r->count_later = rs->count_later;
    int state = read_round_start(r, conf, self, rs->started + 1, term, index);
    if (state < 0)
        return state;
    rs->started++;
    r->pass = pass;
    r->ms = ms;
    rs->n++;
    if (state == READ_ROUND_CONFIRMED) { /* R4: it serves whatever the others would */
        rounds_end(r, end);
        rounds_drop(rs, rs->n);
    }
    return state;
}

int read_rounds_answer(read_rounds *rs, uint64_t id, uint64_t term, uint64_t number,
                       read_round *end)
{
    size_t confirmed = 0; /* the rounds [0, confirmed) end confirmed */
    for (size_t i = 0; i < rs->n && rs->out[i].number <= number; i++) {
        int state = read_round_answer(&rs->out[i], id, term, number);
        if (state == READ_ROUND_FAILED) { /* R2, R4: the term is over for reads */
            rounds_end(&rs->out[i], end);
            rounds_drop(rs, rs->n);
            return READ_ROUND_FAILED;
        }
        if (state == READ_ROUND_CONFIRMED)
            confirmed = i + 1;
    }
    if (confirmed == 0)
        return READ_ROUND_OPEN;
    rounds_end(&rs->out[confirmed - 1], end);
    rounds_drop(rs, confirmed);
    return READ_ROUND_CONFIRMED;
}

const read_round *read_rounds_newest(const read_rounds *rs)
{
    return rs->n > 0 ? &rs->out[rs->n - 1] : NULL;
}

const read_round *read_rounds_oldest(const read_rounds *rs)
{
    return rs->n > 0 ? &rs->out[0] : NULL;
}

int read_rounds_waits_for(const read_rounds *rs, uint64_t id)
{
    for (size_t i = 0; i < rs->n; i++)
        if (read_round_waits_for(&rs->out[i], id))
            return 1;
    return 0;
}

void read_rounds_clear(read_rounds *rs)
{
    rs->n = 0;
}

void read_rounds_free(read_rounds *rs)
{
    for (size_t i = 0; i < rs->cap; i++)
        read_round_free(&rs->out[i]);
    free(rs->out);
    rs->out = NULL;
    rs->n = rs->cap = 0;
}
