/*
 * user_iter.h: what a reader at sequence s sees: one entry per user key,
 * its newest version at or below s, and no deleted keys.
 *
 * Underneath is an iterator over internal keys (normally a merging
 * iterator over every source), which yields every version of every key,
 * newest first within a key, tombstones included.  This one turns that
 * into the user's view:
 *   - versions with a sequence above s are invisible (written after the
 *     snapshot was taken);
 *   - of the visible versions of a key, only the newest counts;
 *   - if that is a tombstone, the key is skipped.
 * Its keys are user keys and its seek takes a user key; otherwise it is an
 * iterator like the others (iterator.h), forward and backward, streaming.
 * It is what a kv_iter of the stage wraps.  LevelDB's db/db_iter.cc is the
 * model, including how it switches direction.
 *
 * Invariants:
 *   U1. Forward (after seek, seek_first, next): the internal iterator is on
 *       the entry shown, and key/value point into it.
 *   U2. Backward (after seek_last, prev): the internal iterator is before
 *       every entry of the key shown (on the last entry of an earlier user
 *       key, or off the start), and key/value point to copies this
 *       iterator holds: to find the newest visible version going backward
 *       it has to walk past it, over the older ones, first.
 *   U3. A key shown is always a put at or below s with no newer visible
 *       tombstone.
 */
#ifndef KV_LSM_USER_ITER_H
#define KV_LSM_USER_ITER_H

#include <stdint.h>

#include "iterator.h"

/* The user's view of `internal` at sequence seq.  Takes ownership of
 * `internal`, also when it fails (KV_ERR_NOMEM: it is freed). */
int user_iter_new(iter *internal, uint64_t seq, iter **out);
/* Whether the value shown is an IKEY_PUT_ELSEWHERE's: where the engine's
 * value store keeps it (value_store.h), not the value.
 * REQUIRES: it from user_iter_new, valid. */
int user_iter_elsewhere(const iter *it);

#endif
