/*
 * level_iter.h: one iterator (iterator.h) over a whole level >= 1 of a
 * version, as if its tables were one table.
 *
 * A level >= 1 is sorted and its tables are disjoint (version.h, V3), so
 * its entries in order are table 0's, then table 1's, and so on: the
 * level iterator concatenates the tables' iterators.  It opens a table's
 * iterator only when the walk reaches that table, and closes it when the
 * walk leaves it, so a scan of a level with a thousand tables holds one
 * table iterator at a time, and a read that touches two tables pays for
 * two, not a thousand.  A seek finds its table by binary search over the
 * tables' largest keys (version_level_seek), in memory, reading nothing.
 * (LevelDB's two-level iterator over a level's file list does the same.)
 *
 * The iterator holds a reference to the version, so its tables stay alive
 * however the database changes meanwhile.  The merging iterator of a read
 * has one child per non-empty level >= 1 (and one per L0 table).
 */
#ifndef KV_LEVELED_LEVEL_ITER_H
#define KV_LEVELED_LEVEL_ITER_H

#include "iterator.h"
#include "version.h"

/* Opens the iterator of one table.  NULL (the default) means
 * table_iter_new(f->t). */
typedef int (*level_table_iter_fn)(void *ctx, vfile *f, iter **out);

/* An iterator over every entry of v's `level` in internal-key order.
 * REQUIRES: 1 <= level < VERSION_LEVELS.  KV_OK or KV_ERR_NOMEM.  A table
 * whose iterator cannot be opened, or fails, makes the level iterator fail
 * the same way (iterator.h rule 5). */
int level_iter_new(version *v, int level, level_table_iter_fn open, void *ctx, iter **out);

#endif
