/*
 * level_out.h: a table being written by a flush or a compaction, under its
 * final name (NNNNNN.tbl, level_files.c): until an edit naming it is in
 * the manifest, the file is garbage that kv_open removes, so no temporary
 * name and no rename are needed (stage 04's tables needed both, since
 * there the directory listing was the database).  It records the first
 * and last internal keys added: the table's range, for the edit; and how
 * many of its entries a newer version of their own key, in the table,
 * hides, and from which oldest snapshot on all of them may be dropped
 * (drop_rule.h): the edit says it too, so that the picker finds a table
 * full of versions no one can read any more (compaction_pick_garbage).
 */
#ifndef KV_LEVEL_OUT_H
#define KV_LEVEL_OUT_H

#include <stdint.h>

#include "drop_rule.h"
#include "level_set.h"

typedef struct level_out {
    table_builder *b;
    uint64_t number;
    uint8_t *smallest, *largest;
    size_t smallest_len, largest_len, largest_cap;
    drop_rule rule;             /* the walk of its own entries */
    uint64_t dead, dead_from;   /* entries droppable from some snapshot on,
                                   and the smallest one from which all are */
    table_meta meta;            /* once finished */
} level_out;

/* Starts table `number`.  KV_OK, or an error (nothing is left behind). */
int  level_out_begin(table_set *ts, uint64_t number, level_out *o);
/* Adds an entry (table_builder_add), keeping the range and counting it if
 * a newer version of its key before it in the table hides it (C1 of
 * drop_rule.h).  REQUIRES: entries in internal-key order. */
int  level_out_add(level_out *o, const uint8_t *ikey, size_t klen, const uint8_t *val,
                   size_t vlen);
/* Finishes the file (synced); the keys stay for level_out_edit.  On
 * failure the file is removed. */
int  level_out_finish(level_out *o);
/* Adds the finished table to e at `level`.  KV_OK or NOMEM. */
int  level_out_edit(const level_out *o, version_edit *e, int level);
/* Frees the keys; abandons (removes) a table not finished; with `remove`,
 * removes a finished one too (its edit never became durable). */
void level_out_free(table_set *ts, level_out *o, int remove);

#endif
