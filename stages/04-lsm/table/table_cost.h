/*
 * table_cost.h: what one table's part of a lookup cost, in kv.h's kv_cost
 * terms, from what table_get said of it (table.h's table_get_result).
 * The engine adds it up for each get (table_set.h's table_get_cost_add),
 * and kv_inspect_get's look line words it (table_lines.c): one rule, so
 * the two agree.  A field a format has no part for stays 0.
 */
#ifndef KV_LSM_TABLE_COST_H
#define KV_LSM_TABLE_COST_H

#include "kv.h"
#include "table.h"

static inline void table_cost_add(kv_cost *c, const table_get_result *r)
{
    c->tables_in_range += r->in_range;
    c->tables_searched += r->searched;
    c->bloom_checks += r->filter_asked;
    c->bloom_skips += r->filter_said_no;
    c->bloom_false_positives += r->filter_asked && !r->filter_said_no && r->state == IKEY_ABSENT;
    c->blocks_read += r->blocks_read;
    c->block_cache_hits += r->blocks_cached;
    c->block_hash_probes += r->block_hash_probes;
    c->reads += r->reads;
    c->bytes_read += r->bytes_read;
    /* kv.h's record_cache_hits: a table asked (the key in its range) whose
     * answer took neither its filter nor its entries. */
    c->record_cache_hits += r->in_range && !r->filter_asked && !r->searched;
}

#endif
