/*
 * libraft_fields.h: what is read of libraft's struct raft where the
 * library's API gives no call for it: the term, the vote, the commit
 * index, the configuration, the last snapshot's index, the member's own
 * id, a leader's match indexes, the term of an entry in the log, and the
 * member a leadership transfer moves to.  Checked against libraft 0.15.0
 * (Debian 12's libraft-dev): its raft.h declares these fields in struct
 * raft, where a later version may move or drop them, so they are read in
 * libraft_fields.c and nowhere else (tests/structure_test.py checks it):
 * by a member (stages/10-raft/member/) and by the lab's group
 * (web/lab_raft.c) alike.  The unit test raft_internals_match_the_api
 * (tests/group_test.c) fails if what any of them says stops agreeing
 * with the library's own view of a group.
 *
 * What the API does give is used instead everywhere: raft_state,
 * raft_leader, raft_last_index, raft_last_applied.
 */
#ifndef KV_RAFT_LIBRAFT_FIELDS_H
#define KV_RAFT_LIBRAFT_FIELDS_H

#include <raft.h>

raft_id libraft_id(const struct raft *r);
raft_term libraft_term(const struct raft *r);
raft_id libraft_voted_for(const struct raft *r);   /* 0: no vote in this term */
raft_index libraft_commit_index(const struct raft *r);
raft_index libraft_snapshot_index(const struct raft *r);  /* 0: no snapshot yet */
const struct raft_configuration *libraft_configuration(const struct raft *r);
/* The leader's match index for configuration entry i, or 0 if this
 * member does not lead. */
raft_index libraft_match_index(const struct raft *r, unsigned i);
/* The term of entry `index` of this member's log (its snapshot's last
 * term at its last index), or 0 if the log no longer or not yet holds it. */
raft_term libraft_term_of(const struct raft *r, raft_index index);
/* The member a leadership transfer under way moves to, or 0. */
raft_id libraft_transferee(const struct raft *r);

#endif
