/*
 * values_in_place.c: stage 04's value store (value_store.h): every value
 * stays in the entry that holds it, in the memtable and in the tables, as
 * LevelDB keeps them.  Nothing is kept elsewhere, so a flush copies each
 * value into the table, a log whose writes are in tables is removed, and
 * there is nothing to read, count, pin or collect.  (Stage 08 keeps large
 * values in its logs instead: value_log.h.)
 */
#include <stdlib.h>

#include "error.h"
#include "value_store.h"
#include "value_store_tools.h"

struct value_store {
    int unused;
};

int value_store_open(const value_store_env *env, const lsm_listing *l, uint64_t flushed,
                     value_store **out, int *has_jobs)
{
    (void)l, (void)flushed;
    *has_jobs = 0;
    *out = calloc(1, sizeof **out);
    return *out ? KV_OK : kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", env->dir->path);
}

int value_store_close(value_store *vs, int clean)
{
    (void)clean;
    free(vs);
    return KV_OK;
}

int value_store_flush_begin(value_store *vs, const value_logs *logs, uint64_t lo, uint64_t hi,
                            value_flush **out)
{
    (void)vs, (void)logs, (void)lo, (void)hi;
    *out = NULL; /* nothing to prepare */
    return KV_OK;
}

int value_store_flush_entry(value_flush *f, const uint8_t *ikey, size_t klen, const uint8_t *val,
                            size_t vlen, ikey_type *type, const uint8_t **out, size_t *outlen)
{
    (void)f, (void)ikey, (void)klen;
    *type = IKEY_PUT;
    *out = val;
    *outlen = vlen;
    return KV_OK;
}

void value_store_flush_end(value_store *vs, value_flush *f, int applied)
{
    (void)vs, (void)f, (void)applied;
}

int value_store_adopt_log(value_store *vs, uint64_t start, int *kept)
{
    (void)vs, (void)start;
    *kept = 0; /* its writes are in the tables, values and all */
    return KV_OK;
}

/* What a table entry saying its value is kept elsewhere is here. */
static int values_in_place_none(void)
{
    return kv_error(KV_ERR_CORRUPT, "a table entry says its value is kept elsewhere, but "
                    "this stage keeps every value in place");
}

void value_buf_free(value_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}

uint64_t value_store_pin(value_store *vs)
{
    (void)vs;
    return 0;
}

void value_store_unpin(value_store *vs, uint64_t pin) { (void)vs, (void)pin; }

int value_store_load(value_store *vs, const uint8_t *where, size_t wlen, value_buf *buf,
                     const uint8_t **val, size_t *vlen)
{
    (void)vs, (void)where, (void)wlen, (void)buf, (void)val, (void)vlen;
    return values_in_place_none();
}

size_t value_store_value_size(value_store *vs, const uint8_t *where, size_t wlen)
{
    (void)vs, (void)where, (void)wlen;
    return 0;
}

int value_store_load_many(value_store *vs, size_t n, const uint8_t *const where[],
                          const size_t wlen[], value_buf bufs[], const uint8_t *vals[],
                          size_t vlens[], int rcs[])
{
    (void)vs, (void)where, (void)wlen, (void)bufs, (void)vals, (void)vlens;
    int first = KV_OK;
    for (size_t i = 0; i < n; i++)
        if ((rcs[i] = values_in_place_none()) != KV_OK && first == KV_OK)
            first = rcs[i];
    return first;
}

void value_store_let_go(value_store *vs, value_buf *buf)
{
    (void)vs, (void)buf;
}

size_t value_store_ahead_min(value_store *vs)
{
    (void)vs;
    return 1; /* (never asked: no value is kept elsewhere) */
}

int value_store_read_ahead(value_store *vs, size_t n, const uint8_t *const where[],
                           const size_t wlen[], value_buf bufs[], const uint8_t *vals[],
                           size_t vlens[], int rcs[])
{
    return value_store_load_many(vs, n, where, wlen, bufs, vals, vlens, rcs);
}

void value_store_dropped(value_store *vs, const uint8_t *where, size_t wlen)
{
    (void)vs, (void)where, (void)wlen;
}

int value_store_pick(value_store *vs, uint64_t oldest, value_job **out)
{
    (void)vs, (void)oldest;
    *out = NULL;
    return KV_OK;
}

int value_store_pick_recount(value_store *vs, uint64_t since, int damaged, value_job **out)
{
    (void)vs, (void)since, (void)damaged;
    *out = NULL;
    return KV_OK;
}

int value_store_job_wants_keys(const value_job *job)
{
    (void)job;
    return 0;
}

int value_store_job_offer(value_job *job, const uint8_t *key, size_t klen,
                          const uint8_t *where, size_t wlen)
{
    (void)job, (void)key, (void)klen, (void)where, (void)wlen;
    return values_in_place_none();
}

int value_store_job_next(value_job *job, value_move *m)
{
    (void)job, (void)m;
    return 0;
}

int value_store_job_value(value_job *job, const uint8_t **val, size_t *vlen)
{
    (void)job, (void)val, (void)vlen;
    return values_in_place_none();
}

void value_store_job_result(value_job *job, value_fate fate) { (void)job, (void)fate; }

void value_store_job_end(value_store *vs, value_job *job, uint64_t seq, int status)
{
    (void)vs, (void)job, (void)seq, (void)status;
}

int value_store_collect(value_store *vs, uint64_t oldest, uint64_t durable, uint64_t *removed)
{
    (void)vs, (void)oldest, (void)durable;
    if (removed != NULL)
        *removed = 0;
    return KV_OK;
}

uint64_t value_store_durable_wanted(value_store *vs, uint64_t oldest)
{
    (void)vs, (void)oldest;
    return 0;
}

table_admit value_store_admit(value_store *vs)
{
    (void)vs;
    return TABLE_ADMIT_OK;
}

int value_store_describe(value_store *vs, int inspect, kv_line_fn line, void *ctx)
{
    (void)vs, (void)inspect, (void)line, (void)ctx;
    return KV_OK; /* nothing beyond the tables' lines */
}

int value_store_describe_value(value_store *vs, const uint8_t *where, size_t wlen, size_t *vlen,
                               kv_line_fn line, void *ctx)
{
    (void)vs, (void)where, (void)wlen, (void)vlen, (void)line, (void)ctx;
    return values_in_place_none();
}

int value_store_is_named(const char *name)
{
    (void)name;
    return 0; /* no files of its own */
}

int value_store_check(const char *dir, kv_line_fn line, void *ctx)
{
    (void)dir, (void)line, (void)ctx;
    return KV_OK;
}

int value_store_dump(const char *dir, kv_line_fn line, void *ctx)
{
    (void)dir, (void)line, (void)ctx;
    return KV_OK;
}

int value_store_repair(const char *dir, kv_line_fn line, void *ctx)
{
    (void)dir, (void)line, (void)ctx;
    return KV_OK;
}
