/*
 * paced_build.c: table.h's builder in this stage, format v2's (version 1,
 * or with kv_options.table_partitions version 2, tables of partitions:
 * parted_format.h's builder) with the context's rate limiter
 * (record_ctx.h) asked for the bytes a new table writes.
 *
 * Every table is written by a flush or a compaction on the background
 * thread (stage 04's lsm_bg.c; the tools' rebuild and repair too, with a
 * context of their own, unlimited unless its options say otherwise).
 * After each add, the bytes format v2 appended since the last ask (its
 * 256 KiB buffer reaches the file a buffer at a time) are asked of the
 * limiter, which waits until the bucket holds them; finish asks for the
 * rest: the partitions, the kept blocks and the footer.  The builder thus
 * never runs more than one buffer ahead of the rate, and over a
 * compaction writes at most
 * rate * (time + burst) + one buffer (rate_limiter.h).
 *
 * Priorities: a flush's table (table_builder_mark_flush: writers wait for
 * it) asks at RL_HIGH, every other table (a merge's, a tool's) at RL_LOW,
 * so a flush's bytes are never paced behind a merge's: while a flush's
 * request waits, a merge's takes nothing.  In this engine one thread
 * writes every table, and a merge stops between two entries to flush a
 * memtable frozen meanwhile (lsm_compact.c), so the two requests meet
 * only when something else shares the context (a second writer); what
 * the priority cannot shorten is a merge's request already waiting when
 * the memtable is frozen: at most one buffer at the rate.
 */
#include <stdlib.h>

#include "error.h"
#include "parted_format.h"
#include "record_ctx.h"

struct table_builder {
    parted_builder *v2;
    rate_limiter *limiter;
    uint64_t asked;          /* bytes the limiter has granted for this table */
    int prio;                /* RL_HIGH for a flush's table, else RL_LOW */
    int flush_priority;      /* the context's: RL_HIGH (record_ctx.h) */
};

/* Asks the limiter for what the file gained since the last ask. */
static void paced_ask(table_builder *b, uint64_t written)
{
    if (written > b->asked) {
        rate_limiter_request(b->limiter, written - b->asked, b->prio);
        b->asked = written;
    }
}

int table_builder_new(table_ctx *ctx, const char *path, table_builder **out)
{
    *out = NULL;
    table_builder *b = calloc(1, sizeof *b);
    if (b == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a table builder", path);
    uint32_t version = record_ctx_of(ctx)->parted_tables ? PARTED_VERSION : TABLE_V2_VERSION;
    int rc = parted_builder_new(ctx, path, version, &b->v2);
    if (rc != KV_OK) {
        free(b);
        return rc;
    }
    b->limiter = &record_ctx_of(ctx)->limiter;
    b->prio = RL_LOW;
    b->flush_priority = record_ctx_of(ctx)->flush_priority;
    *out = b;
    return KV_OK;
}

int table_builder_add(table_builder *b, const uint8_t *ikey, size_t ikey_len,
                      const uint8_t *value, size_t value_len)
{
    int rc = parted_builder_add(b->v2, ikey, ikey_len, value, value_len);
    if (rc == KV_OK) {
        table_v2_progress p;
        parted_builder_progress(b->v2, &p);
        paced_ask(b, p.written);
    }
    return rc;
}

void table_builder_mark_flush(table_builder *b)
{
    b->prio = b->flush_priority;
}

uint64_t table_builder_entries(const table_builder *b)
{
    table_v2_progress p;
    parted_builder_progress(b->v2, &p);
    return p.entries;
}

uint64_t table_builder_file_bytes(const table_builder *b)
{
    return parted_builder_file_bytes(b->v2);
}

int table_builder_finish(table_builder *b, table_meta *meta)
{
    table_meta m = {0};
    int rc = parted_builder_finish(b->v2, &m); /* frees b->v2 whatever happens */
    if (rc == KV_OK) {
        paced_ask(b, m.file_bytes);
        if (meta != NULL)
            *meta = m;
    }
    free(b);
    return rc;
}

void table_builder_abandon(table_builder *b)
{
    if (b == NULL)
        return;
    parted_builder_abandon(b->v2);
    free(b);
}
