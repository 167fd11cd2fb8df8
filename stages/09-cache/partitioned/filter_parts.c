/*
 * filter_parts.c: partitioned bloom filters (filter_parts.h).
 */
#include "filter_parts.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "error.h"
#include "kv.h"

#define FILTER_PARTS_TRAILER 8

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return KV_OK;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    uint8_t *p = realloc(*buf, n);
    if (p == NULL)
        return kv_error(KV_ERR_NOMEM, "partitioned filter: cannot allocate %zu bytes", n);
    *buf = p;
    *cap = n;
    return KV_OK;
}

void filter_parts_builder_init(filter_parts_builder *b, int bits_per_key, size_t target_bytes)
{
    memset(b, 0, sizeof *b);
    bloom_builder_init(&b->bloom, bits_per_key);
    b->target_bytes = target_bytes;
}

void filter_parts_builder_destroy(filter_parts_builder *b)
{
    bloom_builder_destroy(&b->bloom);
    free(b->out);
    free(b->top);
    free(b->last);
    memset(b, 0, sizeof *b);
}

/* Writes the partition being filled and its top entry (its separator is
 * the last key added). */
static int close_partition(filter_parts_builder *b)
{
    size_t n = bloom_builder_bytes(&b->bloom);
    int rc = grow(&b->out, &b->out_cap, b->out_len + n);
    if (rc == KV_OK)
        rc = grow(&b->top, &b->top_cap, b->top_len + 5 + b->last_len + 4);
    if (rc != KV_OK)
        return rc;
    if (b->out_len + n > UINT32_MAX)
        return kv_error(KV_ERR_INVALID, "partitioned filter: more than 4 GiB of partitions");
    bloom_builder_finish(&b->bloom, b->out + b->out_len);
    b->out_len += n;
    uint8_t *p = coding_put_varint32(b->top + b->top_len, (uint32_t)b->last_len);
    if (b->last_len > 0)
        memcpy(p, b->last, b->last_len);
    p += b->last_len;
    coding_put_u32(p, (uint32_t)b->out_len);
    b->top_len = (size_t)(p + 4 - b->top);
    b->parts++;
    bloom_builder_reset(&b->bloom);
    return KV_OK;
}

int filter_parts_add(filter_parts_builder *b, const void *key, size_t len)
{
    int same = b->has_last && len == b->last_len && memcmp(key, b->last, len) == 0;
    if (!same && b->has_last && bloom_builder_bytes(&b->bloom) >= b->target_bytes) {
        int rc = close_partition(b);
        if (rc != KV_OK)
            return rc;
    }
    int rc = bloom_builder_add(&b->bloom, key, len);
    if (rc != KV_OK || same)
        return rc;
    if ((rc = grow(&b->last, &b->last_cap, len ? len : 1)) != KV_OK)
        return rc;
    if (len > 0)
        memcpy(b->last, key, len);
    b->last_len = len;
    b->has_last = 1;
    return KV_OK;
}

int filter_parts_finish(filter_parts_builder *b, uint8_t **out, size_t *out_len)
{
    int rc = close_partition(b);
    size_t total = b->out_len + b->top_len + FILTER_PARTS_TRAILER;
    if (rc == KV_OK && total > UINT32_MAX)
        rc = kv_error(KV_ERR_INVALID, "partitioned filter: more than 4 GiB");
    uint8_t *p = rc == KV_OK ? malloc(total) : NULL;
    if (rc == KV_OK && p == NULL)
        rc = kv_error(KV_ERR_NOMEM, "partitioned filter: cannot allocate %zu bytes", total);
    if (rc != KV_OK)
        return rc;
    memcpy(p, b->out, b->out_len);
    memcpy(p + b->out_len, b->top, b->top_len);
    coding_put_u32(p + b->out_len + b->top_len, b->parts);
    coding_put_u32(p + b->out_len + b->top_len + 4, (uint32_t)b->out_len);
    *out = p;
    *out_len = total;
    return KV_OK;
}

static int keys_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c != 0 ? c : (alen > blen) - (alen < blen);
}

static int damaged(filter_parts_top *top, size_t at, const char *why)
{
    filter_parts_close(top);
    return kv_error(KV_ERR_CORRUPT, "partitioned filter: offset %zu: %s", at, why);
}

int filter_parts_open(const uint8_t *p, size_t n, filter_parts_top *top)
{
    memset(top, 0, sizeof *top);
    if (n < FILTER_PARTS_TRAILER)
        return damaged(top, 0, "shorter than its 8-byte trailer");
    uint32_t count = coding_get_u32(p + n - 8), top_at = coding_get_u32(p + n - 4);
    size_t top_end = n - FILTER_PARTS_TRAILER;
    if (count == 0)
        return damaged(top, n - 8, "no partition");
    if (top_at > top_end)
        return damaged(top, n - 4, "the top level starts past its end");
    /* Each entry takes at least 5 bytes: count is believed only below that. */
    if (count > (top_end - top_at) / 5)
        return damaged(top, n - 8, "more partitions than the top level has room for");
    top->sep = malloc(count * sizeof *top->sep);
    top->sep_len = malloc(count * sizeof *top->sep_len);
    top->end = malloc(count * sizeof *top->end);
    if (top->sep == NULL || top->sep_len == NULL || top->end == NULL) {
        filter_parts_close(top);
        return kv_error(KV_ERR_NOMEM, "partitioned filter: cannot allocate a top level of %"
                        PRIu32 " partitions", count);
    }
    const uint8_t *q = p + top_at, *limit = p + top_end;
    for (uint32_t i = 0; i < count; i++) {
        size_t at = (size_t)(q - p);
        uint32_t slen;
        const uint8_t *k = coding_get_varint32(q, limit, &slen);
        if (k == NULL || slen > (size_t)(limit - k) || (size_t)(limit - k) - slen < 4)
            return damaged(top, at, "a top entry runs past the top level");
        uint32_t end = coding_get_u32(k + slen);
        if (end > top_at || (i > 0 && end <= top->end[i - 1]) || (i == 0 && end == 0))
            return damaged(top, at, "a partition's end is out of order or past the partitions");
        if (i > 0 && keys_compare(top->sep[i - 1], top->sep_len[i - 1], k, slen) >= 0)
            return damaged(top, at, "separators are not ascending");
        top->sep[i] = k;
        top->sep_len[i] = slen;
        top->end[i] = end;
        q = k + slen + 4;
    }
    if (q != limit)
        return damaged(top, (size_t)(q - p), "bytes after the last top entry");
    if (top->end[count - 1] != top_at)
        return damaged(top, top_at, "the partitions do not end where the top level starts");
    top->count = count;
    return KV_OK;
}

void filter_parts_close(filter_parts_top *top)
{
    free(top->sep);
    free(top->sep_len);
    free(top->end);
    memset(top, 0, sizeof *top);
}

int filter_parts_find(const filter_parts_top *top, const void *key, size_t len,
                      uint32_t *start, uint32_t *end)
{
    uint32_t lo = 0, hi = top->count; /* the first separator >= key is in [lo, hi] */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (keys_compare(top->sep[mid], top->sep_len[mid], key, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == top->count)
        return 0;
    *start = lo == 0 ? 0 : top->end[lo - 1];
    *end = top->end[lo];
    return 1;
}

int filter_parts_may_contain(const filter_parts_top *top, const uint8_t *p, const void *key,
                             size_t len)
{
    uint32_t start, end;
    if (!filter_parts_find(top, key, len, &start, &end))
        return 0;
    return bloom_may_contain(p + start, p + end, key, len);
}
