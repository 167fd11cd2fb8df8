/*
 * read_round.c: one round of a leader's read index, counted
 * (read_round.h has its rules).
 */
#include <stdlib.h>

#include "error.h"
#include "kv.h"
#include "read_round.h"

int read_round_start(read_round *r, const struct raft_configuration *conf, uint64_t self,
                     uint64_t number, uint64_t term, uint64_t index)
{
    if (conf->n > r->cap) {
        uint64_t *voters = malloc(conf->n * sizeof *voters);
        unsigned char *counted = malloc(conf->n);
        if (voters == NULL || counted == NULL) {
            free(voters);
            free(counted);
            return kv_error(KV_ERR_NOMEM, "out of memory for a read round of %u members",
                            conf->n);
        }
        free(r->voters);
        free(r->counted);
        r->voters = voters;
        r->counted = counted;
        r->cap = conf->n;
    }
    r->number = number;
    r->term = term;
    r->index = index;
    r->nvoters = r->yes = 0;
    r->later_id = r->later_term = 0;
    r->state = READ_ROUND_OPEN;
    for (unsigned i = 0; i < conf->n; i++) {
        if (conf->servers[i].role != RAFT_VOTER)
            continue;
        r->voters[r->nvoters] = conf->servers[i].id;
        r->counted[r->nvoters] = conf->servers[i].id == self;
        r->yes += r->counted[r->nvoters];
        r->nvoters++;
    }
    if (r->nvoters > 0 && 2 * r->yes > r->nvoters)
        r->state = READ_ROUND_CONFIRMED;
    return r->state;
}

int read_round_answer(read_round *r, uint64_t id, uint64_t term, uint64_t number)
{
    if (r->state != READ_ROUND_OPEN || number != r->number)
        return r->state;
    size_t i = 0;
    while (i < r->nvoters && r->voters[i] != id)
        i++;
    if (i == r->nvoters || r->counted[i])
        return r->state; /* not a voter of this round, or counted already (R1) */
    if (term > r->term && !r->count_later) { /* R2 */
        r->later_id = id;
        r->later_term = term;
        r->state = READ_ROUND_FAILED;
        return r->state;
    }
    r->counted[i] = 1;
    r->yes++;
    if (2 * r->yes > r->nvoters) /* R3 */
        r->state = READ_ROUND_CONFIRMED;
    return r->state;
}

int read_round_waits_for(const read_round *r, uint64_t id)
{
    for (size_t i = 0; i < r->nvoters; i++)
        if (r->voters[i] == id)
            return !r->counted[i];
    return 0;
}

void read_round_free(read_round *r)
{
    free(r->voters);
    free(r->counted);
    r->voters = NULL;
    r->counted = NULL;
    r->cap = 0;
}
