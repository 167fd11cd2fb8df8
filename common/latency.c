/*
 * latency.c: the names and kv_stats lines of the engine's latency
 * histograms (latency.h).
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "latency.h"
#include "stats_text.h"

#ifndef KV_NO_HISTOGRAMS
_Thread_local latency_sampler latency_samplers[LATENCY_OPS];
#endif

static const char *const latency_names[LATENCY_OPS] = {
    [LATENCY_GET] = "session.get.latency",
    [LATENCY_PUT] = "session.put.latency",
    [LATENCY_DELETE] = "session.delete.latency",
    [LATENCY_BATCH] = "session.batch.latency",
    [LATENCY_ITER_SEEK] = "session.iter.seek.latency",
    [LATENCY_ITER_NEXT] = "session.iter.next.latency",
    [LATENCY_TXN_COMMIT] = "session.txn.commit.latency",
    [LATENCY_FLUSH] = "session.flush.time",
    [LATENCY_COMPACT] = "session.compact.time",
    [LATENCY_STALL_MEMTABLE] = "session.stall.memtable.time",
    [LATENCY_STALL_SLOWDOWN] = "session.stall.l0_slowdown.time",
    [LATENCY_STALL_STOP] = "session.stall.l0_stop.time",
    [LATENCY_VALUE_GC] = "session.values.gc.time",
};

#ifndef KV_NO_HISTOGRAMS
histogram *latency_histogram_make(latency_set *l, latency_op op)
{
    histogram *made = histogram_new();
    if (made == NULL)
        return NULL;
    histogram *seen = NULL;
    if (atomic_compare_exchange_strong_explicit(&l->h[op], &seen, made, memory_order_acq_rel,
                                                memory_order_acquire))
        return made;
    histogram_free(made);   /* another thread's first record made it first */
    return seen;
}
#endif

void latency_set_free(latency_set *l)
{
    for (int op = 0; op < LATENCY_OPS; op++) {
        histogram_free(atomic_load_explicit(&l->h[op], memory_order_acquire));
        atomic_store_explicit(&l->h[op], NULL, memory_order_relaxed);
    }
}

const char *latency_name(latency_op op)
{
    return op < LATENCY_OPS ? latency_names[op] : "session.unknown";
}

int latency_stats(const latency_set *l, unsigned mask, kv_line_fn line, void *ctx)
{
#ifdef KV_NO_HISTOGRAMS
    (void)l, (void)mask;
    line(ctx, "latency.histograms: off (built with KV_NO_HISTOGRAMS)");
    return KV_OK;
#else
    /* 8 KiB of counts: on the heap (a thread of a small stack may ask). */
    histogram_counts *c = malloc(sizeof *c);
    if (c == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_stats: out of memory for a histogram's counts");
    for (int op = 0; op < LATENCY_OPS; op++) {
        const histogram *h = atomic_load_explicit(&l->h[op], memory_order_acquire);
        if (h == NULL && !(mask & LATENCY_MASK(op)))
            continue;   /* not printed: nothing recorded, and not asked for */
        if (h != NULL)
            histogram_read(h, c);
        else
            memset(c, 0, sizeof *c);   /* nothing recorded yet */
        if (!(mask & LATENCY_MASK(op)) && !(op == LATENCY_VALUE_GC && c->count > 0))
            continue;
        histogram_stats_line(c, latency_names[op], line, ctx);
        histogram_buckets_line(c, latency_names[op], line, ctx);
    }
    free(c);
    return KV_OK;
#endif
}

int latency_stats_append(char **text, const latency_set *l, unsigned mask)
{
    size_t len = strlen(*text);
    stats_text s = {.p = *text, .len = len, .cap = len + 1};
    int rc = latency_stats(l, mask, stats_text_line, &s);
    if (rc == KV_OK && s.failed)
        rc = kv_error(KV_ERR_NOMEM, "kv_stats: out of memory");
    if (rc != KV_OK) {
        free(s.p);
        *text = NULL;
        return rc;
    }
    *text = s.p;
    return KV_OK;
}
