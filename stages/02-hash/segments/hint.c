/*
 * hint.c: building, writing and reading hint files (format in hint.h and
 * docs/02-hash.md).
 */
#include "hint.h"

#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "io.h"
#include "kv.h"
#include "log_record.h"
#include "segment.h"

static int hint_reserve(hint_builder *b, size_t more)
{
    if (b->len + more <= b->cap)
        return KV_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    uint8_t *buf = realloc(b->buf, cap);
    if (buf == NULL)
        return kv_error(KV_ERR_NOMEM, "hint: no memory for %zu bytes", cap);
    b->buf = buf;
    b->cap = cap;
    return KV_OK;
}

int hint_builder_init(hint_builder *b)
{
    memset(b, 0, sizeof *b);
    int rc = hint_reserve(b, HINT_HEADER);
    if (rc == KV_OK)
        b->len = HINT_HEADER; /* filled in by hint_write */
    return rc;
}

void hint_builder_free(hint_builder *b)
{
    free(b->buf);
    memset(b, 0, sizeof *b);
}

int hint_add(hint_builder *b, const void *key, size_t klen, uint32_t size, size_t *key_pos)
{
    int rc = hint_reserve(b, 2 * CODING_MAX_VARINT32 + klen);
    if (rc != KV_OK)
        return rc;
    b->last = b->len;
    uint8_t *p = coding_put_varint32(b->buf + b->len, (uint32_t)klen);
    p = coding_put_varint32(p, size);
    memcpy(p, key, klen);
    if (key_pos)
        *key_pos = (size_t)(p - b->buf);
    b->len = (size_t)(p - b->buf) + klen;
    b->count++;
    b->covered += size;
    return KV_OK;
}

int hint_extend_last(hint_builder *b, uint32_t extra, size_t *key_pos)
{
    int rc = hint_reserve(b, CODING_MAX_VARINT32);
    if (rc != KV_OK)
        return rc;
    uint32_t klen = 0, size = 0;
    const uint8_t *end = b->buf + b->len;
    const uint8_t *q = coding_get_varint32(b->buf + b->last, end, &klen);
    const uint8_t *key = coding_get_varint32(q, end, &size);
    uint8_t head[2 * CODING_MAX_VARINT32];
    uint8_t *h = coding_put_varint32(head, klen);
    h = coding_put_varint32(h, size + extra);
    size_t old_head = (size_t)(key - (b->buf + b->last)), new_head = (size_t)(h - head);
    memmove(b->buf + b->last + new_head, key, klen);
    memcpy(b->buf + b->last, head, new_head);
    b->len = b->last + new_head + klen;
    b->covered += extra;
    (void)old_head;
    *key_pos = b->last + new_head;
    return KV_OK;
}

int hint_write(const char *path, uint32_t seg_id, uint64_t seg_bytes, hint_builder *b)
{
    int rc = hint_reserve(b, HINT_TRAILER);
    if (rc != KV_OK)
        return rc;
    memcpy(b->buf, HINT_MAGIC, 8);
    coding_put_u32(b->buf + 8, HINT_VERSION);
    coding_put_u32(b->buf + 12, seg_id);
    coding_put_u64(b->buf + 16, seg_bytes);
    coding_put_u64(b->buf + b->len, b->count);
    coding_put_u32(b->buf + b->len + 8, crc32c_value(b->buf, b->len + 8));
    size_t total = b->len + HINT_TRAILER;

    io_file *f = NULL;
    if ((rc = io_open(path, IO_WRITE | IO_CREATE | IO_TRUNC, &f)) != KV_OK)
        return rc;
    rc = io_append_bytes(f, b->buf, total);
    if (rc == KV_OK)
        rc = io_sync(f);
    int crc = io_close(f);
    return rc != KV_OK ? rc : crc;
}

/* Decodes the entry at *p (bounded by limit); on success moves *p past it.
 * Returns NULL, or what is wrong. */
static const char *hint_decode(const uint8_t **p, const uint8_t *limit, const uint8_t **key,
                               uint32_t *klen, uint32_t *size)
{
    const uint8_t *q = coding_get_varint32(*p, limit, klen);
    if (q != NULL)
        q = coding_get_varint32(q, limit, size);
    if (q == NULL)
        return "entry lengths run past the entries";
    if (*klen == 0 || *klen > KV_MAX_KEY)
        return "key length is out of range";
    if ((size_t)(limit - q) < *klen)
        return "key runs past the entries";
    if (*size < LOG_RECORD_HEADER + *klen || *size - LOG_RECORD_HEADER - *klen > KV_MAX_VALUE)
        return "record size is impossible for the key length";
    *key = q;
    *p = q + *klen;
    return NULL;
}

/* Checks every entry of [p, limit) against a segment of seg_bytes bytes;
 * returns the number of entries, or -1 with *why and *at (offset from p)
 * set. */
static int64_t hint_validate(const uint8_t *p, const uint8_t *limit, uint64_t seg_bytes,
                             const char **why, size_t *at)
{
    const uint8_t *start = p;
    int64_t n = 0;
    uint64_t offset = SEGMENT_START;
    while (p < limit) {
        *at = (size_t)(p - start);
        const uint8_t *key;
        uint32_t klen, size;
        if ((*why = hint_decode(&p, limit, &key, &klen, &size)) != NULL)
            return -1;
        if (size > seg_bytes - offset) {
            *why = "records run past the end of the segment";
            return -1;
        }
        offset += size;
        n++;
    }
    *at = (size_t)(p - start);
    if (offset != seg_bytes) {
        *why = "records do not cover the whole segment";
        return -1;
    }
    return n;
}

int hint_load(const char *path, uint32_t seg_id, uint64_t seg_bytes, hint_entry_fn fn,
              void *ctx, uint64_t *file_bytes)
{
    io_file *f = NULL;
    int rc = io_open(path, IO_READ, &f);
    if (rc != KV_OK)
        return rc;
    uint64_t size = f->end;
    if (file_bytes)
        *file_bytes = size;
    uint8_t *buf = NULL;
    /* Each entry is shorter than the record it describes, so a hint is never
     * larger than its header and trailer plus the segment's records: a
     * size past that is damage, and is refused before any allocation. */
    uint64_t most = HINT_HEADER + HINT_TRAILER +
                    (seg_bytes > SEGMENT_START ? seg_bytes - SEGMENT_START : 0);
    if (size < HINT_HEADER + HINT_TRAILER || size > most || size > SIZE_MAX / 2) {
        io_close(f);
        return kv_error(KV_ERR_CORRUPT, "%s: %llu bytes is not a possible size for the hint "
                        "of a %llu-byte segment", path, (unsigned long long)size,
                        (unsigned long long)seg_bytes);
    }
    if ((buf = malloc((size_t)size)) == NULL) {
        io_close(f);
        return kv_error(KV_ERR_NOMEM, "%s: no memory to read %llu bytes", path,
                        (unsigned long long)size);
    }
    size_t got = 0;
    rc = io_read_at(f, 0, buf, (size_t)size, &got);
    io_close(f);
    if (rc == KV_OK && got != size)
        rc = kv_error(KV_ERR_IO, "%s: read %zu of %llu bytes", path, got,
                      (unsigned long long)size);
    if (rc != KV_OK) {
        free(buf);
        return rc;
    }

    const uint8_t *trailer = buf + size - HINT_TRAILER;
    const char *why = NULL;
    size_t at = 0;
    int64_t entries = 0;
    if (crc32c_value(buf, (size_t)size - 4) != coding_get_u32(trailer + 8))
        why = "checksum mismatch", at = (size_t)size - 4;
    else if (memcmp(buf, HINT_MAGIC, 8) != 0)
        why = "bad magic (not a hint file)";
    else if (coding_get_u32(buf + 8) != HINT_VERSION)
        why = "unknown version", at = 8;
    else if (coding_get_u32(buf + 12) != seg_id)
        why = "it describes another segment", at = 12;
    else if (coding_get_u64(buf + 16) != seg_bytes)
        why = "the segment's size differs from the one recorded", at = 16;
    else if ((entries = hint_validate(buf + HINT_HEADER, trailer, seg_bytes, &why, &at)) < 0)
        at += HINT_HEADER;
    else if ((uint64_t)entries != coding_get_u64(trailer))
        why = "entry count differs from the trailer", at = (size_t)size - HINT_TRAILER;
    if (why != NULL) {
        free(buf);
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu: %s", path, at, why);
    }

    uint64_t offset = SEGMENT_START;
    for (const uint8_t *p = buf + HINT_HEADER; p < trailer && rc == KV_OK;) {
        const uint8_t *key;
        uint32_t klen, size;
        hint_decode(&p, trailer, &key, &klen, &size);
        rc = fn(ctx, key, klen, offset, size);
        offset += size;
    }
    free(buf);
    return rc;
}
