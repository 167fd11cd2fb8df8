/*
 * read_round.c: one round of a leader's read index, counted
 * (read_round.h has its rules).
 */
#include <stdlib.h>

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
