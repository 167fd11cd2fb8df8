/*
 * drop_rule.h: what a compaction may drop, the one place that says it.
 *
 * A merge of tables sees every version of every key, newest first within a
 * key (internal_key.h).  Let s be the oldest live snapshot's sequence
 * number (the last sequence number if none is live).  A version may go
 * when no reader can read it any more:
 *   C1. a newer version of its key is at or below s: every reader that
 *       could see this one sees that one instead;
 *   C2. it is a tombstone at or below s, and nothing older of its key lies
 *       below what the merge writes: for every reader the key is absent
 *       either way.  The caller says whether that holds (the merge asks its
 *       job, table_job_base_for_key: stage 04's kv_compact merges every
 *       table, always; stage 06 asks the levels below the output).
 * Versions above s are all kept: a snapshot between them may need any of
 * them.  LevelDB's DoCompactionWork applies the same two rules
 * (db/db_impl.cc).
 *
 * The rule is given as "from which s on may this entry go", drop_rule_next,
 * so that it answers two questions the same way: a merge, which knows s,
 * drops the entries whose answer is at or below it (the engine's merge,
 * lsm_compact.c, the one every table set's jobs run); and a table being
 * written, which counts how many of its entries a newer version of their
 * key in the same table hides, and from which s on they may all go
 * (lsm_out.c; stage 06's manifest keeps the count: a table full of them is
 * rewritten once the oldest snapshot gets there, compaction_pick_garbage).
 */
#ifndef KV_DROP_RULE_H
#define KV_DROP_RULE_H

#include <stddef.h>
#include <stdint.h>

/* No s makes the entry droppable. */
#define DROP_NEVER UINT64_MAX

/* The state of one walk of entries in internal-key order. */
typedef struct drop_rule {
    uint8_t *ukey;          /* the user key of the last entry seen */
    size_t ulen, cap;
    uint64_t newer_seq;     /* its sequence number (0: none seen yet) */
} drop_rule;

/* Whether nothing older of user key [k, k + len) lies below the merge's
 * output (C2); ctx is the caller's. */
typedef int (*drop_base_fn)(void *ctx, const uint8_t *k, size_t len);

/* The next entry of the walk (after the one before it in internal-key
 * order): *from = the smallest s from which on it may be dropped: C1, the
 * sequence number of the newer version of its key seen just before; C2, a
 * tombstone's own, if base(ctx, its user key) says so (base NULL: C2 is not
 * asked); the smaller of the two; else DROP_NEVER.  A compaction at s drops
 * the entry iff *from <= s.  KV_OK, or KV_ERR_NOMEM (a copy of the key). */
int  drop_rule_next(drop_rule *r, const uint8_t *ikey, size_t len, drop_base_fn base,
                    void *ctx, uint64_t *from);
/* Frees the key copy; r may be used again (a new walk). */
void drop_rule_free(drop_rule *r);

#endif
