/*
 * lsm_out.c: writing one output table of a job (lsm_out.h).
 */
#include "lsm_out.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "table_set.h"

int lsm_out_begin(table_set *ts, table_ctx *tctx, bg_rate *rate, table_job *job,
                  lsm_out *w)
{
    memset(w, 0, sizeof *w);
    table_output *o = NULL;
    int rc = table_set_output(ts, job, &o);
    if (rc != KV_OK)
        return rc;
    w->job = job;
    w->at = (size_t)(o - job->outputs);
    w->rate = rate;
    w->who = job->kind == TABLE_JOB_FLUSH ? BG_RATE_FLUSH : BG_RATE_MERGE;
    return table_builder_new(tctx, o->path, &w->b);
}

/* Asks the pace for the bytes the file has grown by since the last ask. */
static void lsm_out_pace(lsm_out *w, uint64_t written)
{
    if (written > w->asked) {
        bg_rate_ask(w->rate, written - w->asked, w->who);
        w->asked = written;
    }
}

static int lsm_out_keep(uint8_t **dst, size_t *cap, const uint8_t *p, size_t n)
{
    if (n > *cap) {
        uint8_t *grown = realloc(*dst, n);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "out of memory for a table's key range");
        *dst = grown;
        *cap = n;
    }
    memcpy(*dst, p, n);
    return KV_OK;
}

int lsm_out_add(lsm_out *w, const uint8_t *ikey, size_t klen, const uint8_t *val, size_t vlen)
{
    table_output *o = &w->job->outputs[w->at];
    uint64_t from = DROP_NEVER;
    int rc = drop_rule_next(&w->rule, ikey, klen, NULL, NULL, &from);
    if (rc == KV_OK)
        rc = table_builder_add(w->b, ikey, klen, val, vlen);
    if (rc == KV_OK && from != DROP_NEVER) {
        o->dead++;
        if (from > o->dead_from)
            o->dead_from = from;
    }
    if (rc == KV_OK && o->smallest == NULL) {
        size_t cap = 0;
        rc = lsm_out_keep(&o->smallest, &cap, ikey, klen);
        o->smallest_len = klen;
    }
    if (rc == KV_OK && (rc = lsm_out_keep(&o->largest, &w->largest_cap, ikey, klen)) == KV_OK)
        o->largest_len = klen;
    if (rc == KV_OK)
        lsm_out_pace(w, table_builder_written(w->b));
    return rc;
}

uint64_t lsm_out_bytes(const lsm_out *w)
{
    return w->b != NULL ? table_builder_file_bytes(w->b) : 0;
}

int lsm_out_finish(lsm_out *w)
{
    table_output *o = &w->job->outputs[w->at];
    table_builder *b = w->b;
    w->b = NULL;
    int rc = table_builder_finish(b, &o->meta); /* removes the file if it fails */
    o->finished = rc == KV_OK;
    if (rc == KV_OK)
        lsm_out_pace(w, o->meta.file_bytes);
    drop_rule_free(&w->rule);
    return rc;
}

void lsm_out_abandon(lsm_out *w)
{
    table_builder_abandon(w->b);
    w->b = NULL;
    drop_rule_free(&w->rule);
}
