/*
 * version_edit.c: building, encoding and decoding version edits
 * (version_edit.h has the byte table and the invariants).
 */
#include "version_edit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "error.h"
#include "internal_key.h"

void version_edit_init(version_edit *e)
{
    memset(e, 0, sizeof *e);
}

void version_edit_free(version_edit *e)
{
    for (size_t i = 0; i < e->nadded; i++) {
        free(e->added[i].smallest);
        free(e->added[i].largest);
    }
    for (size_t i = 0; i < e->npointers; i++)
        free(e->pointers[i].key);
    free(e->added);
    free(e->removed);
    free(e->pointers);
    version_edit_init(e);
}

/* Room for one more element in *arr (n used of *cap, `size` bytes each). */
static int edit_grow(void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return KV_OK;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *p = realloc(*arr, ncap * size);
    if (p == NULL)
        return kv_error(KV_ERR_NOMEM, "version edit: out of memory for %zu entries", ncap);
    *arr = p;
    *cap = ncap;
    return KV_OK;
}

static uint8_t *edit_copy(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    if (c != NULL && n > 0)
        memcpy(c, p, n);
    return c;
}

int version_edit_add_file(version_edit *e, int level, uint64_t number, uint64_t file_bytes,
                          uint64_t entries, const uint8_t *smallest, size_t slen,
                          const uint8_t *largest, size_t llen)
{
    int rc = edit_grow((void **)&e->added, e->nadded, &e->added_cap, sizeof *e->added);
    if (rc != KV_OK)
        return rc;
    edit_file *f = &e->added[e->nadded];
    f->smallest = edit_copy(smallest, slen);
    f->largest = edit_copy(largest, llen);
    if (f->smallest == NULL || f->largest == NULL) {
        free(f->smallest);
        free(f->largest);
        return kv_error(KV_ERR_NOMEM, "version edit: out of memory for the keys of file %"
                        PRIu64, number);
    }
    f->level = level;
    f->number = number;
    f->file_bytes = file_bytes;
    f->entries = entries;
    f->smallest_len = slen;
    f->largest_len = llen;
    f->dead = f->dead_from = 0;
    e->nadded++;
    return KV_OK;
}

int version_edit_remove_file(version_edit *e, int level, uint64_t number)
{
    int rc = edit_grow((void **)&e->removed, e->nremoved, &e->removed_cap,
                       sizeof *e->removed);
    if (rc != KV_OK)
        return rc;
    e->removed[e->nremoved].level = level;
    e->removed[e->nremoved].number = number;
    e->nremoved++;
    return KV_OK;
}

int version_edit_set_pointer(version_edit *e, int level, const uint8_t *key, size_t len)
{
    uint8_t *copy = edit_copy(key, len);
    if (copy == NULL)
        return kv_error(KV_ERR_NOMEM, "version edit: out of memory for a %zu-byte key", len);
    for (size_t i = 0; i < e->npointers; i++)
        if (e->pointers[i].level == level) {
            free(e->pointers[i].key);
            e->pointers[i].key = copy;
            e->pointers[i].len = len;
            return KV_OK;
        }
    int rc = edit_grow((void **)&e->pointers, e->npointers, &e->pointers_cap,
                       sizeof *e->pointers);
    if (rc != KV_OK) {
        free(copy);
        return rc;
    }
    e->pointers[e->npointers].level = level;
    e->pointers[e->npointers].key = copy;
    e->pointers[e->npointers].len = len;
    e->npointers++;
    return KV_OK;
}

/* ---- encoding ------------------------------------------------------------ */

/* The most bytes the edit can take (varints at their longest). */
static size_t edit_max_size(const version_edit *e)
{
    const size_t tag = CODING_MAX_VARINT32, v32 = CODING_MAX_VARINT32,
                 v64 = CODING_MAX_VARINT64;
    size_t n = 3 * (tag + v64);
    for (size_t i = 0; i < e->npointers; i++)
        n += tag + 2 * v32 + e->pointers[i].len;
    n += e->nremoved * (tag + v32 + v64);
    for (size_t i = 0; i < e->nadded; i++)
        n += tag + 3 * v32 + 3 * v64 + e->added[i].smallest_len + e->added[i].largest_len +
             tag + 3 * v64;
    return n;
}

static uint8_t *edit_put_bytes(uint8_t *p, const uint8_t *b, size_t n)
{
    p = coding_put_varint32(p, (uint32_t)n);
    if (n > 0)
        memcpy(p, b, n);
    return p + n;
}

int version_edit_encode(const version_edit *e, uint8_t **out, size_t *len)
{
    uint8_t *buf = malloc(edit_max_size(e));
    if (buf == NULL)
        return kv_error(KV_ERR_NOMEM, "version edit: out of memory encoding %zu bytes",
                        edit_max_size(e));
    uint8_t *p = buf;
    if (e->has_log_seq) {
        p = coding_put_varint32(p, EDIT_TAG_LOG_SEQ);
        p = coding_put_varint64(p, e->log_seq);
    }
    if (e->has_next_file) {
        p = coding_put_varint32(p, EDIT_TAG_NEXT_FILE);
        p = coding_put_varint64(p, e->next_file);
    }
    if (e->has_last_seq) {
        p = coding_put_varint32(p, EDIT_TAG_LAST_SEQ);
        p = coding_put_varint64(p, e->last_seq);
    }
    for (size_t i = 0; i < e->npointers; i++) {
        p = coding_put_varint32(p, EDIT_TAG_POINTER);
        p = coding_put_varint32(p, (uint32_t)e->pointers[i].level);
        p = edit_put_bytes(p, e->pointers[i].key, e->pointers[i].len);
    }
    for (size_t i = 0; i < e->nremoved; i++) {
        p = coding_put_varint32(p, EDIT_TAG_REMOVED);
        p = coding_put_varint32(p, (uint32_t)e->removed[i].level);
        p = coding_put_varint64(p, e->removed[i].number);
    }
    for (size_t i = 0; i < e->nadded; i++) {
        const edit_file *f = &e->added[i];
        p = coding_put_varint32(p, EDIT_TAG_ADDED);
        p = coding_put_varint32(p, (uint32_t)f->level);
        p = coding_put_varint64(p, f->number);
        p = coding_put_varint64(p, f->file_bytes);
        p = coding_put_varint64(p, f->entries);
        p = edit_put_bytes(p, f->smallest, f->smallest_len);
        p = edit_put_bytes(p, f->largest, f->largest_len);
        if (f->dead > 0) {
            p = coding_put_varint32(p, EDIT_TAG_DEAD);
            p = coding_put_varint64(p, f->number);
            p = coding_put_varint64(p, f->dead);
            p = coding_put_varint64(p, f->dead_from);
        }
    }
    *out = buf;
    *len = (size_t)(p - buf);
    return KV_OK;
}

/* ---- decoding -------------------------------------------------------------- */

/* Where the decoder is, for its messages. */
typedef struct edit_reader {
    const uint8_t *base, *p, *limit;
    const char *label;
} edit_reader;

static int edit_bad(const edit_reader *r, const uint8_t *at, const char *what)
{
    return kv_error(KV_ERR_CORRUPT, "%s: offset %zu in the edit: %s", r->label,
                    (size_t)(at - r->base), what);
}

static int edit_get_u64(edit_reader *r, uint64_t *v, const char *what)
{
    const uint8_t *q = coding_get_varint64(r->p, r->limit, v);
    if (q == NULL)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu in the edit: %s: not a varint "
                        "before the record's end", r->label, (size_t)(r->p - r->base), what);
    r->p = q;
    return KV_OK;
}

static int edit_get_level(edit_reader *r, int *level)
{
    const uint8_t *at = r->p;
    uint32_t v;
    const uint8_t *q = coding_get_varint32(r->p, r->limit, &v);
    if (q == NULL)
        return edit_bad(r, at, "level: not a varint32 before the record's end");
    if (v >= VERSION_LEVELS)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu in the edit: level %" PRIu32
                        ", not below %d", r->label, (size_t)(at - r->base), v, VERSION_LEVELS);
    r->p = q;
    *level = (int)v;
    return KV_OK;
}

static int edit_get_number(edit_reader *r, uint64_t *number)
{
    const uint8_t *at = r->p;
    int rc = edit_get_u64(r, number, "file number");
    if (rc == KV_OK && *number == 0)
        return edit_bad(r, at, "file number 0 (numbers start at 1)");
    return rc;
}

static int edit_get_seq(edit_reader *r, uint64_t *seq, const char *what)
{
    const uint8_t *at = r->p;
    int rc = edit_get_u64(r, seq, what);
    if (rc == KV_OK && *seq > IKEY_MAX_SEQ)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu in the edit: %s %" PRIu64 " is above "
                        "the largest sequence number %" PRIu64, r->label,
                        (size_t)(at - r->base), what, *seq, (uint64_t)IKEY_MAX_SEQ);
    return rc;
}

/* An internal key (invariant 2): *key points into the record. */
static int edit_get_key(edit_reader *r, const uint8_t **key, size_t *len, const char *what)
{
    const uint8_t *at = r->p;
    uint32_t n;
    const uint8_t *q = coding_get_varint32(r->p, r->limit, &n);
    char msg[160];
    if (q == NULL) {
        snprintf(msg, sizeof msg, "%s: its length is not a varint32 before the record's end",
                 what);
        return edit_bad(r, at, msg);
    }
    if (n > (size_t)(r->limit - q)) {
        snprintf(msg, sizeof msg, "%s of %" PRIu32 " bytes, past the record's end (%zu bytes "
                 "left)", what, n, (size_t)(r->limit - q));
        return edit_bad(r, at, msg);
    }
    ikey_parsed ik;
    if (n > KV_MAX_KEY + IKEY_TRAILER_SIZE || !ikey_decode(q, q + n, &ik)) {
        snprintf(msg, sizeof msg, "%s of %" PRIu32 " bytes is not an internal key (a user "
                 "key of 1 to %u bytes, then a trailer of 8 with a valid type)", what, n,
                 KV_MAX_KEY);
        return edit_bad(r, at, msg);
    }
    *key = q;
    *len = n;
    r->p = q + n;
    return KV_OK;
}

static int edit_decode_added(edit_reader *r, const uint8_t *at, version_edit *e)
{
    int level;
    uint64_t number, bytes, entries;
    const uint8_t *s, *l;
    size_t slen, llen;
    int rc = edit_get_level(r, &level);
    if (rc == KV_OK)
        rc = edit_get_number(r, &number);
    if (rc == KV_OK)
        rc = edit_get_u64(r, &bytes, "file size");
    if (rc == KV_OK)
        rc = edit_get_u64(r, &entries, "entries");
    if (rc == KV_OK)
        rc = edit_get_key(r, &s, &slen, "smallest key");
    if (rc == KV_OK)
        rc = edit_get_key(r, &l, &llen, "largest key");
    if (rc != KV_OK)
        return rc;
    if (ikey_compare(s, slen, l, llen) > 0)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu in the edit: file %" PRIu64 " has "
                        "its smallest key after its largest", r->label,
                        (size_t)(at - r->base), number);
    return version_edit_add_file(e, level, number, bytes, entries, s, slen, l, llen);
}

/* Tag 7 (invariant 4). */
static int edit_decode_dead(edit_reader *r, const uint8_t *at, version_edit *e)
{
    uint64_t number, dead, from;
    int rc = edit_get_number(r, &number);
    if (rc == KV_OK)
        rc = edit_get_u64(r, &dead, "dead entries");
    if (rc == KV_OK)
        rc = edit_get_seq(r, &from, "dead from");
    if (rc != KV_OK)
        return rc;
    edit_file *f = NULL;
    for (size_t i = 0; i < e->nadded && f == NULL; i++)
        if (e->added[i].number == number)
            f = &e->added[i];
    const char *why = f == NULL ? "its file was not added before it in the edit"
                      : f->dead != 0 ? "a second one for its file"
                      : dead == 0 || dead > f->entries ? "a count of dead entries of 0, or "
                                                         "more than the file's entries"
                      : from == 0 ? "dead from sequence 0" : NULL;
    if (why != NULL)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu in the edit: dead entries of file %"
                        PRIu64 ": %s", r->label, (size_t)(at - r->base), number, why);
    f->dead = dead;
    f->dead_from = from;
    return KV_OK;
}

static int edit_decode_pointer(edit_reader *r, const uint8_t *at, version_edit *e)
{
    int level;
    const uint8_t *key;
    size_t len;
    int rc = edit_get_level(r, &level);
    if (rc == KV_OK)
        rc = edit_get_key(r, &key, &len, "compact pointer");
    if (rc != KV_OK)
        return rc;
    for (size_t i = 0; i < e->npointers; i++)
        if (e->pointers[i].level == level)
            return kv_error(KV_ERR_CORRUPT, "%s: offset %zu in the edit: a second compact "
                            "pointer for level %d", r->label, (size_t)(at - r->base), level);
    return version_edit_set_pointer(e, level, key, len);
}

/* A counter (invariant 3: at most once). */
static int edit_decode_counter(edit_reader *r, const uint8_t *at, int *has, uint64_t *v,
                               const char *what, int is_seq)
{
    if (*has) {
        char msg[80];
        snprintf(msg, sizeof msg, "%s given a second time", what);
        return edit_bad(r, at, msg);
    }
    int rc = is_seq ? edit_get_seq(r, v, what) : edit_get_u64(r, v, what);
    if (rc == KV_OK)
        *has = 1;
    return rc;
}

static int edit_decode_field(edit_reader *r, version_edit *e)
{
    const uint8_t *at = r->p;
    uint32_t tag;
    const uint8_t *q = coding_get_varint32(r->p, r->limit, &tag);
    if (q == NULL)
        return edit_bad(r, at, "a tag that is not a varint32 before the record's end");
    r->p = q;
    switch (tag) {
    case EDIT_TAG_LOG_SEQ:
        return edit_decode_counter(r, at, &e->has_log_seq, &e->log_seq, "log sequence", 1);
    case EDIT_TAG_NEXT_FILE:
        return edit_decode_counter(r, at, &e->has_next_file, &e->next_file,
                                   "next file number", 0);
    case EDIT_TAG_LAST_SEQ:
        return edit_decode_counter(r, at, &e->has_last_seq, &e->last_seq,
                                   "last sequence", 1);
    case EDIT_TAG_POINTER:
        return edit_decode_pointer(r, at, e);
    case EDIT_TAG_REMOVED: {
        int level;
        uint64_t number;
        int rc = edit_get_level(r, &level);
        if (rc == KV_OK)
            rc = edit_get_number(r, &number);
        return rc == KV_OK ? version_edit_remove_file(e, level, number) : rc;
    }
    case EDIT_TAG_ADDED:
        return edit_decode_added(r, at, e);
    case EDIT_TAG_DEAD:
        return edit_decode_dead(r, at, e);
    default:
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu in the edit: unknown tag %" PRIu32
                        " (tags are 1 to 7)", r->label, (size_t)(at - r->base), tag);
    }
}

int version_edit_decode(version_edit *e, const uint8_t *p, size_t len, const char *label)
{
    version_edit_init(e);
    if (len == 0)
        return KV_OK; /* an empty edit (and p may be NULL) */
    edit_reader r = {p, p, p + len, label};
    while (r.p < r.limit) {
        int rc = edit_decode_field(&r, e);
        if (rc != KV_OK) {
            version_edit_free(e);
            return rc;
        }
    }
    return KV_OK;
}
