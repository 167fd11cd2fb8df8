/*
 * kv_export.c: encoding and bounded decoding of the export stream.  The
 * byte table and the invariants are in kv_export.h (and docs/formats.md);
 * every decoder here looks only inside [p, limit) and checks a length
 * against the bytes there before using it.
 */
#include "kv_export.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"

/* Sets *e (offset `at`, printf-style message) and returns -1. */
static int export_fail(export_error *e, uint64_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int export_fail(export_error *e, uint64_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    e->at = at;
    vsnprintf(e->what, sizeof e->what, fmt, ap);
    va_end(ap);
    return -1;
}

/* "s" unless n is 1. */
static const char *export_s(uint64_t n)
{
    return n == 1 ? "" : "s";
}

void export_header_encode(uint8_t out[EXPORT_HEADER_SIZE])
{
    file_header_encode(out, EXPORT_MAGIC, EXPORT_VERSION);
}

void export_chunk_encode(uint8_t out[EXPORT_CHUNK_HEADER_SIZE], int type, uint64_t count,
                         uint32_t body_len)
{
    out[0] = (uint8_t)type;
    coding_put_u64(out + 1, count);
    coding_put_u32(out + 9, body_len);
    coding_put_u32(out + 13, crc32c_value(out, 13));
}

size_t export_record_size(size_t klen, size_t vlen)
{
    return EXPORT_RECORD_HEAD + klen + vlen;
}

uint8_t *export_record_encode(uint8_t *out, const void *key, size_t klen, const void *val,
                              size_t vlen)
{
    coding_put_u32(out, (uint32_t)klen);
    coding_put_u32(out + 4, (uint32_t)vlen);
    memcpy(out + EXPORT_RECORD_HEAD, key, klen);
    if (vlen > 0)
        memcpy(out + EXPORT_RECORD_HEAD + klen, val, vlen);
    return out + export_record_size(klen, vlen);
}

int export_header_decode(const uint8_t *p, const uint8_t *limit, export_error *e)
{
    size_t n = (size_t)(limit - p);
    if (n < EXPORT_HEADER_SIZE)
        return export_fail(e, 0, "the stream ends after %zu byte%s, inside its %u-byte header",
                           n, export_s(n), EXPORT_HEADER_SIZE);
    if (memcmp(p, EXPORT_MAGIC, FILE_MAGIC_SIZE) != 0) {
        const char *is = file_header_describe(p);
        if (is != NULL)
            return export_fail(e, 0, "this is %s, not an export stream (kv import reads "
                               "what kv export writes)", is);
        return export_fail(e, 0, "no export stream starts here: its first 8 bytes are not "
                           "\"" EXPORT_MAGIC "\"");
    }
    uint32_t crc = coding_get_u32(p + 12);
    if (crc != crc32c_value(p, 12))
        return export_fail(e, 12, "header checksum is %08x, its bytes give %08x", crc,
                           crc32c_value(p, 12));
    uint32_t version = coding_get_u32(p + 8);
    if (version != EXPORT_VERSION)
        return export_fail(e, 8, "export stream version %u; this build reads version %u",
                           version, EXPORT_VERSION);
    return 0;
}

int export_chunk_decode(const uint8_t *p, const uint8_t *limit, export_chunk *c,
                        export_error *e)
{
    size_t n = (size_t)(limit - p);
    if (n < EXPORT_CHUNK_HEADER_SIZE)
        return export_fail(e, 0, "the stream ends %zu byte%s into the %u-byte chunk header "
                           "that starts here: it was cut short", n, export_s(n),
                           EXPORT_CHUNK_HEADER_SIZE);
    uint32_t crc = coding_get_u32(p + 13);
    if (crc != crc32c_value(p, 13))
        return export_fail(e, 13, "chunk header checksum is %08x, its bytes give %08x", crc,
                           crc32c_value(p, 13));
    c->type = p[0];
    c->count = coding_get_u64(p + 1);
    c->body_len = coding_get_u32(p + 9);
    if (c->type == EXPORT_CHUNK_END) {
        if (c->body_len != 0)
            return export_fail(e, 9, "the end chunk has a body length of %u, not 0",
                               c->body_len);
        return 0;
    }
    if (c->type != EXPORT_CHUNK_RECORDS)
        return export_fail(e, 0, "chunk type %u: want 1 (records) or 2 (end)", p[0]);
    if (c->body_len > EXPORT_BODY_MAX)
        return export_fail(e, 9, "chunk body of %u bytes, more than the %u a chunk can hold",
                           c->body_len, (unsigned)EXPORT_BODY_MAX);
    /* Each record takes at least EXPORT_RECORD_HEAD + 1 bytes. */
    if (c->count == 0 || c->count > c->body_len / (EXPORT_RECORD_HEAD + 1))
        return export_fail(e, 1, "a chunk of %llu record%s cannot have a %u-byte body",
                           (unsigned long long)c->count, export_s(c->count), c->body_len);
    return 0;
}

uint64_t export_chunk_rest(const export_chunk *c)
{
    return c->type == EXPORT_CHUNK_RECORDS ? (uint64_t)c->body_len + EXPORT_CRC_SIZE : 0;
}

int export_record_decode(const uint8_t **p, const uint8_t *limit, export_record *r,
                         export_error *e)
{
    const uint8_t *q = *p;
    size_t left = (size_t)(limit - q);
    if (left < EXPORT_RECORD_HEAD)
        return export_fail(e, 0, "%zu byte%s left, too few for a record's lengths", left,
                           export_s(left));
    uint32_t klen = coding_get_u32(q), vlen = coding_get_u32(q + 4);
    if (klen == 0 || klen > KV_MAX_KEY)
        return export_fail(e, 0, "key length %u: keys are 1 to %u bytes", klen, KV_MAX_KEY);
    if (vlen > KV_MAX_VALUE)
        return export_fail(e, 4, "value length %u: values are at most %u bytes", vlen,
                           KV_MAX_VALUE);
    if ((uint64_t)klen + vlen > left - EXPORT_RECORD_HEAD)
        return export_fail(e, 0, "a record of %llu bytes, and %zu left in the chunk",
                           (unsigned long long)export_record_size(klen, vlen), left);
    r->key = q + EXPORT_RECORD_HEAD;
    r->klen = klen;
    r->val = r->key + klen;
    r->vlen = vlen;
    *p = r->val + vlen;
    return 0;
}

/* 1 if key a sorts strictly before key b (bytewise, a prefix first). */
static int export_key_before(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c < 0 || (c == 0 && alen < blen);
}

int export_body_check(const uint8_t *p, const uint8_t *limit, const export_chunk *c,
                      const void *prev, size_t prev_len, export_error *e)
{
    uint64_t n = (uint64_t)(limit - p);
    if (c->type != EXPORT_CHUNK_RECORDS || n != export_chunk_rest(c))
        return export_fail(e, 0, "%llu byte%s after the chunk header, want %llu",
                           (unsigned long long)n, export_s(n),
                           (unsigned long long)export_chunk_rest(c));
    const uint8_t *body = p, *end = p + c->body_len;
    uint32_t crc = coding_get_u32(end);
    if (crc != crc32c_value(body, c->body_len))
        return export_fail(e, 0, "the %u-byte chunk body starting here does not match its "
                           "checksum (stored %08x, computed %08x): it is damaged",
                           c->body_len, crc, crc32c_value(body, c->body_len));
    for (uint64_t i = 0; i < c->count; i++) {
        const uint8_t *at = p;
        export_record r;
        if (export_record_decode(&p, end, &r, e) != 0) {
            e->at += (uint64_t)(at - body);
            return -1;
        }
        if (prev_len > 0 && !export_key_before(prev, prev_len, r.key, r.klen))
            return export_fail(e, (uint64_t)(at - body), "record %llu of the chunk: its key "
                               "does not sort after the key before it",
                               (unsigned long long)i + 1);
        prev = r.key;
        prev_len = r.klen;
    }
    if (p != end)
        return export_fail(e, (uint64_t)(p - body), "%llu byte%s left in the chunk body after "
                           "its %llu record%s", (unsigned long long)(end - p),
                           export_s((uint64_t)(end - p)), (unsigned long long)c->count,
                           export_s(c->count));
    return 0;
}
