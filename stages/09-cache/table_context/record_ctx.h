/*
 * record_ctx.h: stage 09's table context, what table.h's table_ctx is in
 * this stage: format v2's context (struct table_ctx, table_v2_parts.h)
 * as the first member of a larger one that adds what the tables share
 * per database on top of it: one budget split between the record cache
 * and the block cache, and whether new tables are cut into partitions.
 * table_context.c makes, frees and reports it; record_lookup/ answers
 * lookups with its record cache; table_builder.c writes new tables of
 * the version it says.
 *
 * Invariants:
 *   - v2 is the first member, so a table's t->ctx (and any table_ctx of
 *     this stage) converts to the record_ctx it leads.
 *   - records is NULL when the record cache has no budget
 *     (KV_NO_RECORD_CACHE).
 */
#ifndef KV_RECORD_CTX_H
#define KV_RECORD_CTX_H

#include <stddef.h>

#include "doorkeeper.h"
#include "record_cache.h"
#include "record_sampling.h"
#include "table_v2_parts.h"

/* The doorkeeper (doorkeeper.h) sizes its table at one slot per 4 KiB of
 * what it guards; it is told of 32 times the record cache's bytes, one
 * slot per 128 bytes: about two per record the cache holds (a small
 * record is charged some 250 bytes, clock_cache_charge). */
#define RECORD_ADMIT_SCALE 32

typedef struct record_ctx {
    table_ctx v2;            /* first: a table's t->ctx points here */
    record_cache *records;
    size_t records_budget;
    doorkeeper *admit;      /* which records a full cache takes in */
    record_sampling sampling; /* whether a lookup asks the record cache */
    int parted_tables;       /* kv_options.table_partitions is
                                KV_PARTITIONS: new tables are version 2 */
} record_ctx;

static inline record_ctx *record_ctx_of(table_ctx *ctx)
{
    return (record_ctx *)ctx;
}

#endif
