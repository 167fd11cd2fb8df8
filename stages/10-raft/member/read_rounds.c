/*
 * read_rounds.c: the rounds of a leader's read index in flight
 * (read_rounds.h has their rules).
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kv.h"
#include "read_rounds.h"

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
    if (state == READ_ROUND_CONFIRMED) { /* Q2: it serves whatever the others would */
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
        if (state == READ_ROUND_FAILED) { /* Q3: the term is over for reads */
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

int read_rounds_serve(const read_rounds *rs, unsigned long long pass)
{
    return rs->n > 0 && rs->out[rs->n - 1].pass >= pass;
}

unsigned long long read_rounds_last_pass(const read_rounds *rs)
{
    return rs->n > 0 ? rs->out[rs->n - 1].pass : 0;
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
