/*
 * cost.c: kv_cost_reset, kv_cost_get and the counts they read (cost.h).
 */
#include <string.h>

#include "cost.h"
#include "io.h"

static _Thread_local kv_cost cost_mine;
_Thread_local int cost_wanted;

void kv_cost_reset(void)
{
    memset(&cost_mine, 0, sizeof cost_mine);
    cost_wanted = 1;
}

void kv_cost_get(kv_cost *out)
{
    if (out != NULL)
        *out = cost_mine;
}

void cost_add(const kv_cost *c)
{
    kv_cost *m = &cost_mine;
    m->gets += c->gets;
    m->nanos += c->nanos;
    m->memtables += c->memtables;
    m->tables_in_range += c->tables_in_range;
    m->bloom_checks += c->bloom_checks;
    m->bloom_skips += c->bloom_skips;
    m->bloom_false_positives += c->bloom_false_positives;
    m->tables_searched += c->tables_searched;
    m->blocks_read += c->blocks_read;
    m->block_cache_hits += c->block_cache_hits;
    m->reads += c->reads;
    m->bytes_read += c->bytes_read;
    m->record_cache_hits += c->record_cache_hits;
    m->block_hash_probes += c->block_hash_probes;
}

cost_mark cost_begin(void)
{
    cost_mark m = {.t0 = cost_start()};
    io_thread_reads(&m.reads, &m.bytes);
    return m;
}

void cost_end_get(const cost_mark *m, latency_set *l)
{
    uint64_t reads = 0, bytes = 0;
    io_thread_reads(&reads, &bytes);
    uint64_t ns = latency_call_ns(LATENCY_GET, m->t0);
    latency_record_ns(l, LATENCY_GET, ns);
    cost_add(&(kv_cost){.gets = 1, .nanos = ns, .reads = reads - m->reads,
                        .bytes_read = bytes - m->bytes});
}
