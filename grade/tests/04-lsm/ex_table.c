/*
 * ex_table.c: the helpers of ex_table.h.
 */
#include "ex_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "exercise.h"
#include "file_header.h"

static size_t ex_klen(const ex_entry *e) { return e->klen ? e->klen : strlen(e->key); }

size_t ex_entry_vlen(const ex_entry *e)
{
    if (e->type == IKEY_DELETE || e->val == NULL)
        return 0;
    return e->vlen ? e->vlen : strlen(e->val);
}

size_t ex_entry_ikey(const ex_entry *e, uint8_t *out)
{
    size_t kl = ex_klen(e);
    ikey_encode(out, e->key, kl, e->seq, e->type);
    return kl + IKEY_TRAILER_SIZE;
}

size_t ex_record(const ex_entry *e, uint8_t *out, int with_value)
{
    size_t kl = ex_klen(e) + IKEY_TRAILER_SIZE, vl = ex_entry_vlen(e);
    uint8_t *p = coding_put_varint32(out + 8, (uint32_t)kl);
    p = coding_put_varint32(p, (uint32_t)vl);
    p += ex_entry_ikey(e, p);
    coding_put_u32(out + 4, crc32c_value(vl ? (const uint8_t *)e->val : (const uint8_t *)"", vl));
    coding_put_u32(out, crc32c_value(out + 4, (size_t)(p - out) - 4));
    if (with_value && vl > 0) {
        memcpy(p, e->val, vl);
        p += vl;
    }
    return (size_t)(p - out);
}

uint8_t *ex_table_bytes(const ex_entry *e, size_t n, size_t *size, uint64_t **offsets)
{
    size_t cap = 16 + 52 + 2 * (KV_MAX_KEY + 8);
    for (size_t i = 0; i < n; i++)
        cap += 18 + ex_klen(&e[i]) + 8 + ex_entry_vlen(&e[i]) + 8;
    uint8_t *b = malloc(cap);
    uint64_t *off = malloc((n + 1) * sizeof *off);
    EX_CHECK(b != NULL && off != NULL, "test setup: out of memory");
    file_header_encode(b, FILE_MAGIC_TBL04, 1);
    size_t at = 16;
    uint64_t deletes = 0;
    for (size_t i = 0; i < n; i++) {
        off[i] = at;
        at += ex_record(&e[i], b + at, 1);
        deletes += e[i].type == IKEY_DELETE;
    }
    uint64_t array_at = at;
    for (size_t i = 0; i < n; i++, at += 8)
        coding_put_u64(b + at, off[i]);
    uint32_t array_crc = crc32c_value(b + array_at, 8 * n);
    size_t first_at = at;
    size_t fl = ex_entry_ikey(&e[0], b + at);
    at += fl;
    size_t ll = ex_entry_ikey(&e[n - 1], b + at);
    at += ll;
    uint8_t *tail = b + at;
    memcpy(tail, FILE_MAGIC_TBL04, 8);
    coding_put_u32(tail + 8, 1);
    coding_put_u32(tail + 12, array_crc);
    coding_put_u64(tail + 16, n);
    coding_put_u64(tail + 24, deletes);
    coding_put_u64(tail + 32, array_at);
    coding_put_u32(tail + 40, (uint32_t)fl);
    coding_put_u32(tail + 44, (uint32_t)ll);
    coding_put_u32(tail + 48, crc32c_extend(crc32c_value(b + first_at, fl + ll), tail, 48));
    at += 52;
    *size = at;
    if (offsets != NULL)
        *offsets = off;
    else
        free(off);
    return b;
}

const char *ex_table_file(const ex_entry *e, size_t n, const char *name)
{
    size_t size;
    uint8_t *b = ex_table_bytes(e, n, &size, NULL);
    const char *path = ex_write_file(name, b, size);
    free(b);
    return path;
}

ex_entry *ex_entries(int n, int versions)
{
    ex_entry *e = calloc((size_t)(n * versions), sizeof *e);
    EX_CHECK(e != NULL, "test setup: out of memory");
    uint64_t seq = 1;
    /* Sequence numbers go up with the version: the newest (largest) comes
     * first in THE ORDER, so version v of a key is at index
     * k * versions + (versions - 1 - v). */
    for (int v = 0; v < versions; v++)
        for (int k = 0; k < n; k++) {
            ex_entry *x = &e[k * versions + (versions - 1 - v)];
            char *key = malloc(16), *val = malloc(48);
            snprintf(key, 16, "key%05d", 2 * k);
            int vl = (int)((seq * 7) % 41);
            memset(val, 'a' + (int)(seq % 26), (size_t)vl);
            val[vl] = '\0';
            x->key = key;
            x->seq = seq;
            x->type = seq % 4 == 0 ? IKEY_DELETE : IKEY_PUT;
            x->val = val;
            x->vlen = 0; /* strlen(val); "" for an empty value */
            seq++;
        }
    return e;
}

void ex_entries_free(ex_entry *e, int count)
{
    for (int i = 0; i < count; i++) {
        free((char *)e[i].key);
        free((char *)e[i].val);
    }
    free(e);
}
