/*
 * table_blocks_fuzz_model.c: the oracle of the table_blocks fuzz harness
 * (table_blocks_fuzz.c says what an input is and what it checks): a table
 * of format v2 read by the harness's own walk of its bytes, apart from the
 * engine's reader: every block a handle names, liblz4 for lz4 blocks and
 * for each value compressed alone (block_value.h), each data block's hash
 * index (block_hash.h) and the filters (bloom.h).
 *
 * Invariants (table_blocks_model in table_blocks_fuzz.h): `whole` only if
 * every block was read and the table is what its format promises;
 * `filters_hold` only if every key is in the filter a lookup asks; the
 * model reads nothing outside the file's bytes.
 */
#include <limits.h>
#include <lz4.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "block_hash.h"
#include "bloom.h"
#include "crc32c.h"
#include "error.h"
#include "file_header.h"
#include "fuzz_dbfile.h"
#include "internal_key.h"
#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"
#include "table.h"
#include "table_blocks_fuzz.h"
#include "table_inspect.h"
#include "table_v2_format.h"

#include "../tests/alloc/alloc_wrap.h"

static void table_blocks_model_add(table_blocks_model *m, const uint8_t *k, size_t klen,
                                   const uint8_t *v, size_t vlen)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        m->ends = realloc(m->ends, m->cap * sizeof *m->ends);
        m->value_crc = realloc(m->value_crc, m->cap * sizeof *m->value_crc);
        m->edge = realloc(m->edge, m->cap);
        table_blocks_check(m->ends != NULL && m->value_crc != NULL && m->edge != NULL,
                           "allocate");
    }
    if (m->keys_len + klen > m->keys_cap) {
        m->keys_cap = 2 * (m->keys_len + klen);
        m->keys = realloc(m->keys, m->keys_cap);
        table_blocks_check(m->keys != NULL, "allocate");
    }
    memcpy(m->keys + m->keys_len, k, klen);
    m->keys_len += klen;
    m->ends[m->n] = m->keys_len;
    m->edge[m->n] = 0;
    m->value_crc[m->n++] = crc32c_value(v, vlen);
}

static void table_blocks_model_filter_add(table_blocks_model *m, const uint8_t *lo,
                                          const uint8_t *hi, size_t first)
{
    if (m->nfilters == m->filters_cap) {
        m->filters_cap = m->filters_cap ? 2 * m->filters_cap : 16;
        m->filters = realloc(m->filters, m->filters_cap * sizeof *m->filters);
        table_blocks_check(m->filters != NULL, "allocate");
    }
    m->filters[m->nfilters++] = (table_blocks_filter){lo, hi, first, m->n};
}

const uint8_t *table_blocks_model_key(const table_blocks_model *m, size_t i,
                                      size_t *len)
{
    size_t from = i ? m->ends[i - 1] : 0;
    *len = m->ends[i] - from;
    return m->keys + from;
}

/* The raw contents of the stored block h inside [lo, hi) of f: in place,
 * or decompressed by liblz4 into *buf (malloc'd).  NULL if it cannot be
 * read so. */
static const uint8_t *table_blocks_model_block(const uint8_t *f, table_v2_handle h, uint64_t lo,
                                               uint64_t hi, uint8_t **buf, size_t *n)
{
    *buf = NULL;
    if (!table_blocks_inside(h, lo, hi))
        return NULL;
    const uint8_t *p = f + h.offset, *tr = p + h.size;
    uint32_t raw = coding_get_u32(tr + 1);
    if (tr[0] == TABLE_V2_RAW && raw == h.size) {
        *n = h.size;
        return p;
    }
    /* The model's own reading of the trailer (table_v2_format.h): an lz4
     * block expands at most about 255 times.  No cap of the harness's
     * besides: a raw size the reader wrongly lets through reaches the
     * reader's allocation and the fuzzer's malloc limit. */
    if (tr[0] != TABLE_V2_LZ4 || raw == 0 || raw > TABLE_V2_RAW_MAX ||
        raw > 256 * (uint64_t)h.size + 64 || h.size > INT32_MAX)
        return NULL;
    *buf = malloc(raw);
    table_blocks_check(*buf != NULL, "allocate");
    if (LZ4_decompress_safe((const char *)p, (char *)*buf, (int)h.size, (int)raw) != (int)raw) {
        free(*buf);
        *buf = NULL;
        return NULL;
    }
    *n = raw;
    return *buf;
}

/* The value of the cell [c, c + n) (block_value.h, read here from its
 * bytes): the value, in place or decompressed by liblz4 into *buf
 * (malloc'd), and *len; NULL if it is not a cell a builder writes. */
static const uint8_t *table_blocks_model_cell(const uint8_t *c, size_t n, uint8_t **buf,
                                              size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (n == 0)
        return c;
    if (c[0] == 0) {
        *len = n - 1;
        return n > 1 ? c + 1 : NULL;
    }
    uint32_t raw;
    const uint8_t *q = coding_get_varint32(c, c + n, &raw);
    size_t packed = q == NULL ? 0 : n - (size_t)(q - c);
    if (packed == 0 || packed > INT32_MAX || raw > KV_MAX_VALUE ||
        raw > 256 * (uint64_t)packed + 64)
        return NULL;
    *buf = malloc(raw ? raw : 1);
    table_blocks_check(*buf != NULL, "allocate");
    if (LZ4_decompress_safe((const char *)q, (char *)*buf, (int)packed, (int)raw) != (int)raw)
        return NULL;
    *len = raw;
    return *buf;
}

/* The data block h, whose separator is sep (the one before: low, NULL for
 * the first block), into m; the filter [flo, fhi) asked for each key. */
static void table_blocks_model_data(const uint8_t *f, table_v2_handle h, uint64_t d,
                                    const uint8_t *sep, size_t sep_len, const uint8_t *low,
                                    size_t low_len, const uint8_t *flo, const uint8_t *fhi,
                                    table_blocks_model *m)
{
    uint8_t *buf;
    size_t n;
    const uint8_t *p = table_blocks_model_block(f, h, TABLE_V2_DATA_AT, d, &buf, &n);
    block b;
    if (p == NULL || block_init(&b, p, n) != NULL || (b.cells && buf != NULL)) {
        m->whole = 0;
        free(buf);
        return;
    }
    block_iter it = {0};
    block_iter_init(&it, &b, TABLE_V2_IKEY_MIN);
    size_t first = m->n, bucket_at;
    if (block_hash_check_buckets(&b, &bucket_at) != NULL)
        m->whole = 0;
    for (block_iter_seek_first(&it); it.valid; block_iter_next(&it)) {
        ikey_parsed k;
        size_t plen;
        const uint8_t *prev = m->n ? table_blocks_model_key(m, m->n - 1, &plen) : NULL;
        int is_ikey = ikey_decode(it.key, it.key + it.key_len, &k);
        if (!is_ikey || (prev != NULL && ikey_compare(prev, plen, it.key, it.key_len) >= 0) ||
            ikey_compare(it.key, it.key_len, sep, sep_len) > 0 ||
            (low != NULL && ikey_compare(it.key, it.key_len, low, low_len) <= 0) ||
            block_hash_check_entry(&b, it.key, it.key_len, it.restart) != NULL)
            m->whole = 0;
        if (is_ikey && flo != NULL && !bloom_may_contain(flo, fhi, k.user_key, k.user_len))
            m->filters_hold = 0;
        uint8_t *cell = NULL;
        const uint8_t *v = it.value;
        size_t vlen = it.value_len;
        if (b.cells && (v = table_blocks_model_cell(it.value, it.value_len, &cell, &vlen)) == NULL)
            m->whole = 0;
        table_blocks_model_add(m, it.key, it.key_len, v, vlen);
        free(cell);
    }
    if (it.status != KV_OK)
        m->whole = 0;
    if (m->n > first)
        m->edge[m->n - 1] = 1; /* where its separator (and a top-level key) matters */
    block_iter_free(&it);
    free(buf);
}

/* The data blocks an index block ix names (version 1's index, or an
 * index partition), its first separator above low; *last: its last
 * separator (a pointer into ix's bytes). */
static void table_blocks_model_index(const uint8_t *f, const block *ix, uint64_t d,
                                     const uint8_t *low, size_t low_len, const uint8_t *flo,
                                     const uint8_t *fhi, table_blocks_model *m,
                                     uint8_t **last, size_t *last_len)
{
    block_iter it = {0};
    block_iter_init(&it, ix, TABLE_V2_IKEY_MIN);
    uint8_t *prev = low ? malloc(low_len) : NULL;
    size_t prev_len = low_len;
    if (prev != NULL)
        memcpy(prev, low, low_len);
    int any = 0;
    for (block_iter_seek_first(&it); it.valid; block_iter_next(&it)) {
        table_v2_handle h;
        if (table_v2_handle_decode(it.value, it.value + it.value_len, &h) !=
            it.value + it.value_len) {
            m->whole = 0;
            continue;
        }
        m->blocks++;
        table_blocks_model_data(f, h, d, it.key, it.key_len, prev, prev_len, flo, fhi, m);
        prev = realloc(prev, it.key_len);
        table_blocks_check(prev != NULL, "allocate");
        memcpy(prev, it.key, it.key_len);
        prev_len = it.key_len;
        any = 1;
    }
    if (it.status != KV_OK || !any)
        m->whole = 0;
    block_iter_free(&it);
    *last = prev;
    *last_len = prev_len;
}

/* The bloom bytes of a meta block or filter partition h: version 1's is
 * the block; a partition's, its one entry "f". */
static int table_blocks_model_filter(const uint8_t *f, table_v2_handle h, uint64_t lo,
                                     uint64_t hi, int partition, const uint8_t **flo,
                                     const uint8_t **fhi)
{
    uint8_t *buf;
    size_t n;
    const uint8_t *p = table_blocks_model_block(f, h, lo, hi, &buf, &n);
    if (p == NULL || buf != NULL) { /* (meta blocks are never compressed) */
        free(buf);
        return 0;
    }
    if (!partition) {
        *flo = p;
        *fhi = p + n;
        return 1;
    }
    block b;
    if (block_init(&b, p, n) != NULL)
        return 0;
    block_iter it = {0};
    block_iter_init(&it, &b, 1);
    block_iter_seek_first(&it);
    int ok = it.valid && it.key_len == 1 && it.key[0] == 'f';
    if (ok) {
        *flo = it.value;
        *fhi = it.value + it.value_len;
    }
    block_iter_free(&it);
    return ok;
}

void table_blocks_model_read(const uint8_t *f, size_t size, table_blocks_model *m)
{
    memset(m, 0, sizeof *m);
    m->whole = m->filters_hold = 1;
    if (size < FILE_HEADER_SIZE + TABLE_V2_FOOTER) {
        m->whole = 0;
        return;
    }
    uint32_t version = coding_get_u32(f + 8);
    const uint8_t *foot = f + size - TABLE_V2_FOOTER;
    uint64_t meta_end = size - TABLE_V2_FOOTER, d = coding_get_u64(foot);
    table_v2_handle index = {.offset = coding_get_u64(foot + 8),
                             .size = coding_get_u32(foot + 16)};
    table_v2_handle metaindex = {.offset = coding_get_u64(foot + 20),
                                 .size = coding_get_u32(foot + 28)};
    uint8_t *buf;
    size_t n;
    block mb, ib;
    const uint8_t *p = d <= meta_end ? table_blocks_model_block(f, metaindex, d, meta_end, &buf,
                                                                 &n) : NULL;
    if (p == NULL || buf != NULL || block_init(&mb, p, n) != NULL) {
        free(p == NULL ? NULL : buf);
        m->whole = 0;
        return;
    }
    /* The metaindex: the properties, and version 1's filter. */
    const uint8_t *flo = NULL, *fhi = NULL, *smallest = NULL, *largest = NULL;
    size_t slen = 0, llen = 0;
    uint64_t props_blocks = 0;
    block_iter it = {0};
    block_iter_init(&it, &mb, 1);
    for (block_iter_seek_first(&it); it.valid; block_iter_next(&it)) {
        table_v2_handle h;
        if (table_v2_handle_decode(it.value, it.value + it.value_len, &h) == NULL)
            continue;
        if (it.key_len == strlen(TABLE_V2_META_FILTER) &&
            memcmp(it.key, TABLE_V2_META_FILTER, it.key_len) == 0 && version != TABLE_BLOCKS_PARTED)
            table_blocks_model_filter(f, h, d, meta_end, 0, &flo, &fhi);
        if (it.key_len != strlen(TABLE_V2_META_PROPS) ||
            memcmp(it.key, TABLE_V2_META_PROPS, it.key_len) != 0)
            continue;
        p = table_blocks_model_block(f, h, d, meta_end, &buf, &n);
        if (p != NULL && buf == NULL && n >= TABLE_V2_PROPS_FIXED &&
            TABLE_V2_PROPS_FIXED + (uint64_t)coding_get_u32(p + 32) + coding_get_u32(p + 36) == n) {
            props_blocks = coding_get_u64(p + 16);
            slen = coding_get_u32(p + 32);
            llen = coding_get_u32(p + 36);
            smallest = p + TABLE_V2_PROPS_FIXED;
            largest = smallest + slen;
        }
        free(buf);
    }
    block_iter_free(&it);
    p = table_blocks_model_block(f, index, d, meta_end, &buf, &n);
    if (p == NULL || buf != NULL || block_init(&ib, p, n) != NULL || smallest == NULL) {
        free(p == NULL ? NULL : buf);
        m->whole = 0;
        return;
    }
    uint8_t *last = NULL;
    size_t last_len = 0;
    if (version != TABLE_BLOCKS_PARTED) {
        table_blocks_model_index(f, &ib, d, NULL, 0, flo, fhi, m, &last, &last_len);
        if (flo != NULL)
            table_blocks_model_filter_add(m, flo, fhi, 0);
    } else {
        /* Each partition: its separators against the top level (P2), its
         * filter against its keys (P3). */
        block_iter top = {0};
        block_iter_init(&top, &ib, TABLE_V2_IKEY_MIN);
        int any = 0;
        for (block_iter_seek_first(&top); top.valid; block_iter_next(&top)) {
            table_v2_handle h[2];
            int hn = table_blocks_handles(&top, h);
            block part;
            if (hn < 1 || (p = table_blocks_model_block(f, h[0], d, index.offset, &buf, &n)) ==
                              NULL || buf != NULL || block_init(&part, p, n) != NULL) {
                free(p == NULL ? NULL : buf);
                m->whole = 0;
                break;
            }
            const uint8_t *plo = NULL, *phi = NULL;
            if (hn == 2 && !table_blocks_model_filter(f, h[1], d, index.offset, 1, &plo, &phi))
                m->whole = 0;
            uint8_t *sep;
            size_t sep_len;
            size_t first = m->n;
            table_blocks_model_index(f, &part, d, last, last_len, plo, phi, m, &sep, &sep_len);
            if (plo != NULL)
                table_blocks_model_filter_add(m, plo, phi, first);
            if (m->n > first) /* where the top level's keys matter */
                m->edge[first] = m->edge[m->n - 1] = 2;
            if (sep_len != top.key_len || memcmp(sep, top.key, sep_len) != 0)
                m->whole = 0;
            free(last);
            last = sep;
            last_len = sep_len;
            any = 1;
        }
        if (top.status != KV_OK || !any)
            m->whole = 0;
        block_iter_free(&top);
    }
    free(last);
    size_t k0, kn;
    const uint8_t *first = m->n ? table_blocks_model_key(m, 0, &k0) : NULL;
    const uint8_t *lastk = m->n ? table_blocks_model_key(m, m->n - 1, &kn) : NULL;
    if (m->n == 0 || k0 != slen || memcmp(first, smallest, slen) != 0 || kn != llen ||
        memcmp(lastk, largest, llen) != 0 || m->blocks != props_blocks)
        m->whole = 0;
}

void table_blocks_model_free(table_blocks_model *m)
{
    free(m->filters);
    free(m->keys);
    free(m->ends);
    free(m->value_crc);
    free(m->edge);
}

