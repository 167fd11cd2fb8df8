/*
 * table_batch.h: a table's point lookup in two steps, an interface every
 * table format implements (as it implements table.h), so that the lookups
 * of many keys can make their reads together (kv_multi_get: the engine's
 * lsm_multi_get.c; docs/io.md).  A first reading skips it: table_get
 * (table.h) is the lookup, and this is the same lookup cut at the point
 * where it would wait for the device.
 *
 *   table_get_start    does what table_get does before its read, and
 *                      either answers (*r, as table_get would: a key
 *                      outside the table, one its filter rules out, a
 *                      block already in memory) or says the one range
 *                      of the file it still needs (*pending = 1, and
 *                      p->read names the file, the offset and the length);
 *   the caller         reads the ranges of many lookups, of any tables,
 *                      with one io_read_batch (io.h), into buffers of its
 *                      own;
 *   table_get_finish   answers from the bytes read;
 *   table_pending_release  gives back what start held, for a lookup whose
 *                      read the caller abandons (it failed before reading).
 *
 * A format that cannot say in advance which read a lookup needs answers
 * in table_get_start, and its caller has nothing to read: format v1, whose
 * binary search reads as it goes (table_v1_batch.c).  Format v2 needs one
 * data block, which its index in memory names (stage 05's
 * table_v2_batch.c).
 *
 * Rules:
 *   TB1. finish answers exactly what table_get would have for the same
 *        lookup: the same result, the same errors (a failed read in
 *        io_read_at's words, a short one as the file ending, a damaged
 *        block named by file and offset), the same counters.
 *   TB2. Between start and finish (or release) p holds the table's file
 *        open; the caller holds the table itself (a version of the
 *        tables that holds it).
 *   TB3. Two pending lookups whose p->read name the same range of the
 *        same file (two keys in one block) may share one read: finish
 *        takes the read as an argument.
 */
#ifndef KV_LSM_TABLE_BATCH_H
#define KV_LSM_TABLE_BATCH_H

#include <stdint.h>

#include "internal_key.h"
#include "io.h"
#include "table.h"

/* A lookup waiting for its read.  The caller reads p->read's range (its
 * f, off and len) and looks at nothing else. */
typedef struct table_pending {
    io_read_req read;       /* f, off, len: what to read */
    table *t;
    void *held;             /* the format's: the file held open (TB2) */
    uint64_t at;            /* the format's: where the block starts */
    uint32_t size;          /* the format's: its stored size */
    unsigned first_reads;   /* the format's: reads the first step made */
    int filter_asked;       /* the format's: the first step asked a filter */
} table_pending;

/* The first step of a lookup of lk in t, table_get's, or table_get_last's
 * if last is 1 (table.h: t is the last table the lookup can reach).  KV_OK
 * with *pending = 0 and *r the answer (table.h), or *pending = 1 and p
 * filled (the read still to make; *r says nothing yet); or an error, as
 * table_get's (nothing held). */
int  table_get_start(table *t, const ikey_lookup *lk, int last, table_get_result *r,
                     table_pending *p, int *pending);
/* The second: *r from `done`, p->read's range as io_read_batch left it
 * (buf, got, status, err), and p given back.  KV_OK (see r->state) or an
 * error, as table_get's (TB1). */
int  table_get_finish(table_pending *p, const io_read_req *done, const ikey_lookup *lk,
                      table_get_result *r);
/* Gives p back without finishing it. */
void table_pending_release(table_pending *p);

#endif
