/*
 * level_compact.h: one compaction, run by the background thread
 * (level_compact.c has the merge's rules; compaction_pick.h says which
 * tables it takes).
 */
#ifndef KV_LEVEL_COMPACT_H
#define KV_LEVEL_COMPACT_H

#include "compaction_pick.h"
#include "level_set.h"

/* Runs c, picked from the current version: a trivial move (an edit only)
 * or a merge of its inputs into new tables of the next level, made durable
 * and installed (version_set_apply).  manual (kv_compact): never a trivial
 * move.  KV_OK or an error (nothing of c installed).
 * REQUIRES: write_lock held (released while it reads and writes files);
 * the background thread. */
int level_compact(table_set *ts, compaction *c, int manual);

#endif
