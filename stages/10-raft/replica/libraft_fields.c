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
