/*
 * lsm_out.h: one output table of a job (table_job.h) being written by the
 * engine, a flush's or a merge's, where the table set said
 * (table_set_output).  It keeps in the job's record what the set needs to
 * make the table part of the database: the first and last internal keys
 * (the table's range), its size and entries, and how many of its entries
 * a newer version of their own key in the table hides, with the oldest
 * snapshot from which on all of them may go (drop_rule.h; stage 06's
 * manifest keeps them, so that a table full of versions no one reads any
 * more is found: compaction_pick_garbage).  As the file grows, the writer
 * asks the background's pace (bg_rate.h) for the bytes that reached it,
 * a flush's table as BG_RATE_FLUSH, and waits there if it must.
 */
#ifndef KV_LSM_OUT_H
#define KV_LSM_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "bg_rate.h"
#include "drop_rule.h"
#include "table.h"
#include "table_job.h"
#include "table_set.h"

typedef struct lsm_out {
    table_builder *b;           /* NULL once finished or abandoned */
    table_job *job;
    size_t at;                  /* its record: job->outputs[at] */
    drop_rule rule;             /* the walk of its own entries */
    size_t largest_cap;
    bg_rate *rate;              /* asked for the file's bytes */
    int who;                    /* BG_RATE_FLUSH for a flush's table */
    uint64_t asked;             /* bytes asked for so far */
} lsm_out;

/* Starts the job's next output table (table_set_output names it), whose
 * bytes are asked of rate.  KV_OK, or an error (nothing left behind).
 * REQUIRES: no lock held. */
int  lsm_out_begin(table_set *ts, table_ctx *tctx, bg_rate *rate, table_job *job,
                   lsm_out *w);
/* Adds an entry (table_builder_add), keeping the range and counting it if
 * a newer version of its key before it in the table hides it; waits for
 * the pace if the file grew.  REQUIRES: entries in internal-key order. */
int  lsm_out_add(lsm_out *w, const uint8_t *ikey, size_t klen, const uint8_t *val, size_t vlen);
/* The bytes written so far (0 if none is open). */
uint64_t lsm_out_bytes(const lsm_out *w);
/* Finishes the file (synced; the builder removes it if that fails): the
 * record says `finished`; the rest of its bytes are asked of the pace. */
int  lsm_out_finish(lsm_out *w);
/* Abandons (removes) a table not finished; frees the walk.  A zeroed w is
 * a no-op. */
void lsm_out_abandon(lsm_out *w);

#endif
