/*
 * member_raft.c: what a member reads of libraft's struct raft that the
 * library's API gives no call for (member.h).  Checked against libraft
 * 0.15.0 (Debian 12's libraft-dev): its raft.h declares these fields in
 * struct raft, where a later version may move or drop them, so they are
 * read here and nowhere else, and the unit test
 * raft_internals_match_the_api (tests/group_test.c) fails if what they
 * say stops agreeing with the library's own view of a group.
 *
 * What the API does give is used instead everywhere: raft_state,
 * raft_leader, raft_last_index, raft_last_applied.
 */
#include "member.h"

raft_term member_raft_term(const struct raft *r)
{
    return r->current_term;
}

raft_index member_raft_commit_index(const struct raft *r)
{
    return r->commit_index;
}

const struct raft_configuration *member_raft_configuration(const struct raft *r)
{
    return &r->configuration;
}

raft_index member_raft_match_index(const struct raft *r, unsigned i)
{
    if (r->state != RAFT_LEADER || r->leader_state.progress == NULL || i >= r->configuration.n)
        return 0;
    return r->leader_state.progress[i].match_index;
}

/* libraft's logTermOf (src/log.c): the entry's term from the log's
 * circular buffer, or the snapshot's last term at its last index. */
raft_term member_raft_term_of(const struct raft *r, raft_index index)
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

raft_id member_raft_transferee(const struct raft *r)
{
    return r->transfer != NULL ? r->transfer->id : 0;
}
