/*
 * libraft_fields.c: libraft 0.15.0's struct raft, read where its API has
 * no call (libraft_fields.h says why here and nowhere else).
 */
#include "libraft_fields.h"

raft_id libraft_id(const struct raft *r)
{
    return r->id;
}

raft_term libraft_term(const struct raft *r)
{
    return r->current_term;
}

raft_id libraft_voted_for(const struct raft *r)
{
    return r->voted_for;
}

raft_index libraft_commit_index(const struct raft *r)
{
    return r->commit_index;
}

raft_index libraft_snapshot_index(const struct raft *r)
{
    return r->log.snapshot.last_index;
}

const struct raft_configuration *libraft_configuration(const struct raft *r)
{
    return &r->configuration;
}

raft_index libraft_match_index(const struct raft *r, unsigned i)
{
    if (r->state != RAFT_LEADER || r->leader_state.progress == NULL || i >= r->configuration.n)
        return 0;
    return r->leader_state.progress[i].match_index;
}

/* libraft's logTermOf (src/log.c): the entry's term from the log's
 * circular buffer, or the snapshot's last term at its last index. */
raft_term libraft_term_of(const struct raft *r, raft_index index)
{
    const struct raft_log *l = &r->log;
    size_t n = l->front <= l->back ? l->back - l->front : l->size - l->front + l->back;
    if (index == 0)
        return 0;
    if (index == l->snapshot.last_index)
        return l->snapshot.last_term;
    if (index <= l->offset || index > l->offset + n)
        return 0;
    return l->entries[(l->front + (size_t)(index - 1 - l->offset)) % l->size].term;
}

raft_id libraft_transferee(const struct raft *r)
{
    return r->transfer != NULL ? r->transfer->id : 0;
}
