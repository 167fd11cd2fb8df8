/*
 * record_cache.c: the record cache of record_cache.h over a CLOCK cache
 * (clock_cache.h).  An entry's key is the table's id (8 bytes, little
 * endian) then the user key; its value is a 9-byte head (flags, then the
 * sequence number, 8 bytes little endian) then the value's bytes.
 */
#include "record_cache.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "clock_cache.h"
#include "coding.h"
#include "error.h"
#include "kv.h"

#define RECORD_HEAD 9
#define RECORD_DELETED 1u
#define RECORD_ELSEWHERE 2u
/* A user key this long or shorter is keyed on the stack. */
#define RECORD_STACK_KEY 256

struct record_cache {
    clock_cache *clock;
    atomic_uint_fast64_t bypassed;
};

int record_cache_open(size_t budget, unsigned nshards, record_cache **out)
{
    record_cache *rc = malloc(sizeof *rc);
    if (rc == NULL)
        return kv_error(KV_ERR_NOMEM, "record cache: cannot allocate");
    int err = clock_cache_new(budget, nshards, &rc->clock);
    if (err != KV_OK) {
        free(rc);
        return err == KV_ERR_NOMEM ? kv_error(err, "record cache: cannot allocate its %u shards",
                                              nshards)
                                   : kv_error(err, "record cache: %u shards", nshards);
    }
    atomic_init(&rc->bypassed, 0);
    *out = rc;
    return KV_OK;
}

void record_cache_close(record_cache *rc)
{
    if (rc == NULL)
        return;
    clock_cache_free(rc->clock);
    free(rc);
}

/* The cache's key for (table_id, ukey) in buf (of RECORD_STACK_KEY + 8
 * bytes) or a malloc'd buffer; NULL if memory runs out. */
static uint8_t *record_key(uint8_t *buf, uint64_t table_id, const void *ukey, size_t ulen)
{
    uint8_t *k = ulen <= RECORD_STACK_KEY ? buf : malloc(8 + ulen);
    if (k == NULL)
        return NULL;
    coding_put_u64(k, table_id);
    if (ulen > 0)
        memcpy(k + 8, ukey, ulen);
    return k;
}

int record_cache_get(record_cache *rc, uint64_t table_id, const void *ukey, size_t ulen,
                     uint64_t seq, record *out, int *hit)
{
    *hit = 0;
    uint8_t buf[RECORD_STACK_KEY + 8];
    uint8_t *k = record_key(buf, table_id, ukey, ulen);
    if (k == NULL)
        return kv_error(KV_ERR_NOMEM, "record cache: cannot allocate a key of %zu bytes", ulen);
    void *v = NULL;
    size_t vlen = 0;
    int err = clock_cache_get(rc->clock, k, 8 + ulen, &v, &vlen);
    if (k != buf)
        free(k);
    if (err == KV_NOT_FOUND)
        return KV_OK;
    if (err != KV_OK)
        return kv_error(err, "record cache: cannot copy out a record of %zu bytes", ulen);
    uint8_t *p = v;
    if (vlen < RECORD_HEAD || coding_get_u64(p + 1) > seq) {
        /* R2: the version is newer than the lookup. */
        free(v);
        atomic_fetch_add_explicit(&rc->bypassed, 1, memory_order_relaxed);
        return KV_OK;
    }
    out->deleted = (p[0] & RECORD_DELETED) != 0;
    out->elsewhere = (p[0] & RECORD_ELSEWHERE) != 0;
    out->seq = coding_get_u64(p + 1);
    out->value_len = vlen - RECORD_HEAD;
    memmove(p, p + RECORD_HEAD, out->value_len);
    out->value = p;
    *hit = 1;
    return KV_OK;
}

size_t record_cache_charge(size_t ulen, const record *newest)
{
    return clock_cache_charge(8 + ulen, RECORD_HEAD + (newest->deleted ? 0 : newest->value_len));
}

int record_cache_put(record_cache *rc, uint64_t table_id, const void *ukey, size_t ulen,
                     const record *newest)
{
    size_t vlen = newest->deleted ? 0 : newest->value_len;
    uint8_t buf[RECORD_STACK_KEY + 8];
    uint8_t *k = record_key(buf, table_id, ukey, ulen);
    uint8_t *v = malloc(RECORD_HEAD + vlen);
    if (k == NULL || v == NULL) {
        if (k != buf)
            free(k);
        free(v);
        return kv_error(KV_ERR_NOMEM, "record cache: cannot allocate a record of %zu bytes",
                        ulen + vlen);
    }
    v[0] = (uint8_t)((newest->deleted ? RECORD_DELETED : 0) |
                     (newest->elsewhere ? RECORD_ELSEWHERE : 0));
    coding_put_u64(v + 1, newest->seq);
    if (vlen > 0)
        memcpy(v + RECORD_HEAD, newest->value, vlen);
    int err = clock_cache_put(rc->clock, k, 8 + ulen, v, RECORD_HEAD + vlen);
    if (k != buf)
        free(k);
    free(v);
    return err == KV_OK ? KV_OK
                        : kv_error(err, "record cache: cannot keep a record of %zu bytes",
                                   ulen + vlen);
}

void record_cache_counts(record_cache *rc, record_counts *out)
{
    clock_cache_stats c;
    clock_cache_stats_get(rc->clock, &c);
    uint64_t bypassed = atomic_load_explicit(&rc->bypassed, memory_order_relaxed);
    /* clock_cache_get counted a bypassed entry as a hit (read apart from the
     * shards' counts, so a get racing this call may be in one only). */
    out->hits = c.hits > bypassed ? c.hits - bypassed : 0;
    out->misses = c.misses;
    out->bypassed = bypassed;
    out->evictions = c.evictions;
    out->bytes = c.bytes;
    out->entries = c.entries;
}
