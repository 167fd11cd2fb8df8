/*
 * table_blocks_fuzz.c: fuzz harness for the blocks of a table of format
 * v2 (stage 05's table_v2_format.h, version 1; stage 09's parted_format.h,
 * version 2: an index and filters cut into partitions under a top-level
 * index), every checksum made right, so that a mutation inside a block
 * reaches the block's decoder instead of stopping at its crc32c.
 *
 * The input is a table file.  The harness copies it and walks it as a
 * reader does, making right (table_blocks_walk) the checksum of every
 * stored block a handle it can read names: the metaindex's entries (the
 * properties, version 1's filter), the index (version 2: the top level,
 * then each partition, index and filter), every data block an index entry
 * names; then the footer's and the file header's.  Then it reads the file
 * (in memory, common/io_mem.h) as the engine does:
 *   - table_open, a scan forward and one backward, a lookup of keys the
 *     scan returned (the first and last keys of each partition, the last
 *     keys of the data blocks and other keys, up to 32 of each but the
 *     first, evenly spread, and the last; table_get: its filter, or its
 *     filter partition and index partition, then its data block: with a
 *     block cache full after one block, lz4 blocks are searched by steps),
 *     for each of the evenly spread ones the filter asked
 *     (table_inspect_filter_says_absent) and a lookup of a key just after
 *     it (absent, or the next one); then kv check where a read
 *     disagreed; and on one input in four (by its crc32c; every input in
 *     the replays), kv_inspect's parts, then kv check (on half of those
 *     inputs) or kv dump (the other half; both in the replays);
 * and checks: open, scans, lookups, check and dump fail only with
 * KV_ERR_CORRUPT; if the scan forward reads every entry, the backward one
 * reads the same in reverse; when the scan's keys are internal keys that
 * ascend, no more than the properties count, and the properties' smallest
 * and largest are the first and last, each lookup finds what the scan
 * found; and a table where any of that fails (a read believes a block its
 * checksum vouches for: an entry that is not an internal key is for kv
 * check to find), or a lookup does not find what the scan found, or a
 * filter rules out a key the scan found, fails kv check.  ASan and UBSan catch a read
 * outside the bytes.
 *
 * The file header's checksum as the input holds it (bytes 12-15, which
 * the harness writes again) picks how the I/O layer serves the file: the
 * right one (every table a stage writes) with the file mapped; any other
 * through io_fault.h, which maps nothing (every block read with a
 * positioned read), the difference's low byte N the number of the I/O call
 * that fails with EIO (0: none), once, or from then on if its next bit is
 * set; then check or dump runs too (by the input's crc32c; both in the
 * replays), and a call may also fail with
 * KV_ERR_IO once a call failed, always with a message, and the reading
 * stops comparing at that failure (fuzz/regressions/table_blocks/
 * *-io-call-N-fails, *-unmapped).
 *
 * Then, for one input in sixteen (fuzz_dbfile_sampled), the table with its
 * checksums made right is the only table of a database of the stage
 * (fuzz_dbfile_table_name) through the whole engine and kv_repair
 * (fuzz_dbfile.h): a table kv check calls damaged is rewritten with what
 * its salvage reads (table_v2_salvage.c in stage 05; in stage 09
 * parted_salvage.c, the data blocks its index partitions name, then format
 * v2's salvage), and the repaired database must open strictly and check
 * clean.
 *
 * A mutator of its own (LLVMFuzzerCustomMutator) changes one block at a
 * time, a kind of block picked first, so that the few blocks of a kind
 * (the top level, the filters) change as often as the many data blocks.
 *
 * It is in FUZZ_05-blocks and FUZZ_09-cache (their stage.mk); seeds are the
 * tables of scripts/fuzz_seeds.sh (stage 09: tables of partitions, with
 * and without filters, and of version 1).  docs/fuzzing.md says how to run
 * it.
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
#include "table_inspect.h"
#include "table_v2_format.h"

#include "../tests/alloc/alloc_wrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
/* libFuzzer's own mutator; absent (NULL) where no libFuzzer is linked:
 * the replay driver and AFL++, which never call the custom mutator. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));

/* Version 2 (stage 09's tables of partitions): its top-level index entries
 * name partitions, not data blocks (parted_format.h). */
#define TABLE_BLOCKS_PARTED 2u
/* Lookups of keys a scan found, at most. */
#define TABLE_BLOCKS_LOOKUPS 32u

static void table_blocks_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "table_blocks fuzz invariant broken: %s (%s)\n", what, kv_errmsg());
        abort();
    }
}

/* Whether io_fault.h is installed for this input (table_blocks_faults). */
static int table_blocks_fault_armed;

/* Whether the I/O layer has failed a call of this input. */
static int table_blocks_faulted(void)
{
    return table_blocks_fault_armed && io_fault_failures() > 0;
}

/* Whether rc is what a reading of the table may answer: KV_OK, or
 * KV_ERR_CORRUPT, or KV_ERR_IO once the I/O layer failed a call; an error
 * with a message (cleared before each call: table_blocks_call). */
static int table_blocks_rc(int rc)
{
    if (rc == KV_OK)
        return 1;
    return (rc == KV_ERR_CORRUPT || (rc == KV_ERR_IO && table_blocks_faulted())) &&
           kv_errmsg()[0] != '\0';
}

/* ---- checksums made right ------------------------------------------------------ */

/* Whether the stored block h (trailer included) lies in [lo, hi). */
static int table_blocks_inside(table_v2_handle h, uint64_t lo, uint64_t hi)
{
    return h.offset >= lo && h.offset < hi && hi - h.offset >= TABLE_V2_TRAILER &&
           hi - h.offset - TABLE_V2_TRAILER >= h.size;
}

/* The kinds of stored blocks a walk meets, for the mutator. */
enum { TB_DATA, TB_INDEX, TB_TOP, TB_FILTER, TB_META, TB_KINDS };

/* What a walk does with each stored block it meets (a handle inside its
 * region): the checksum made right, or the block noted for the mutator. */
typedef struct table_blocks_walker {
    int fix;                       /* 1: make each block's crc32c right */
    table_v2_handle *seen[TB_KINDS]; /* else: the blocks of each kind */
    size_t nseen[TB_KINDS], cap[TB_KINDS];
} table_blocks_walker;

/* The stored block h of kind `kind` of file f, if it lies in [lo, hi):
 * fixed or noted as w says; then, if it is stored raw, its contents as a
 * block in *b (returns 1). */
static int table_blocks_visit(table_blocks_walker *w, uint8_t *f, int kind, table_v2_handle h,
                              uint64_t lo, uint64_t hi, block *b)
{
    if (!table_blocks_inside(h, lo, hi))
        return 0;
    uint8_t *p = f + h.offset, *tr = p + h.size;
    if (w->fix) {
        coding_put_u32(tr + 5, crc32c_extend(crc32c_value(p, h.size), tr, 5));
    } else if (h.size > 0) {
        if (w->nseen[kind] == w->cap[kind]) {
            w->cap[kind] = w->cap[kind] ? 2 * w->cap[kind] : 16;
            w->seen[kind] = realloc(w->seen[kind], w->cap[kind] * sizeof *w->seen[kind]);
            table_blocks_check(w->seen[kind] != NULL, "allocate");
        }
        w->seen[kind][w->nseen[kind]++] = h;
    }
    return b != NULL && tr[0] == TABLE_V2_RAW && block_init(b, p, h.size) == NULL;
}

/* The handles in an index entry's value: up to two (version 2's top
 * level: an index partition and a filter partition). */
static int table_blocks_handles(const block_iter *it, table_v2_handle h[2])
{
    const uint8_t *p = it->value, *end = it->value + it->value_len;
    int n = 0;
    while (n < 2 && p != NULL && p < end)
        if ((p = table_v2_handle_decode(p, end, &h[n])) != NULL)
            n++;
    return n;
}

/* Visits every data block the index block b names. */
static void table_blocks_walk_data(table_blocks_walker *w, uint8_t *f, const block *b,
                                   uint64_t d)
{
    block_iter it = {0};
    block_iter_init(&it, b, TABLE_V2_IKEY_MIN);
    for (block_iter_seek_first(&it); it.valid; block_iter_next(&it)) {
        table_v2_handle h[2];
        if (table_blocks_handles(&it, h) >= 1)
            table_blocks_visit(w, f, TB_DATA, h[0], TABLE_V2_DATA_AT, d, NULL);
    }
    block_iter_free(&it);
}

/* Walks the file f of size bytes as a reader does, visiting every stored
 * block a handle it can read names: the metaindex and its entries (the
 * properties, version 1's filter), the index (version 2: the top level,
 * then each partition, index and filter), every data block an index
 * entry names.  Fixing, it then makes the footer's and the file header's
 * checksums right. */
static void table_blocks_walk(table_blocks_walker *w, uint8_t *f, size_t size)
{
    if (size < FILE_HEADER_SIZE + TABLE_V2_FOOTER)
        return;
    uint32_t version = coding_get_u32(f + 8);
    uint8_t *foot = f + size - TABLE_V2_FOOTER;
    uint64_t meta_end = size - TABLE_V2_FOOTER, d = coding_get_u64(foot);
    table_v2_handle index = {.offset = coding_get_u64(foot + 8),
                             .size = coding_get_u32(foot + 16)};
    table_v2_handle metaindex = {.offset = coding_get_u64(foot + 20),
                                 .size = coding_get_u32(foot + 28)};
    if (d <= meta_end) {
        block b;
        if (table_blocks_visit(w, f, TB_META, metaindex, d, meta_end, &b)) {
            block_iter it = {0};
            block_iter_init(&it, &b, 1);
            for (block_iter_seek_first(&it); it.valid; block_iter_next(&it)) {
                table_v2_handle h[2];
                int is_filter = it.key_len == strlen(TABLE_V2_META_FILTER) &&
                                memcmp(it.key, TABLE_V2_META_FILTER, it.key_len) == 0;
                if (table_blocks_handles(&it, h) >= 1)
                    table_blocks_visit(w, f, is_filter ? TB_FILTER : TB_META, h[0], d,
                                       meta_end, NULL);
            }
            block_iter_free(&it);
        }
        if (table_blocks_visit(w, f, version != TABLE_BLOCKS_PARTED ? TB_INDEX : TB_TOP, index,
                               d, meta_end, &b)) {
            if (version != TABLE_BLOCKS_PARTED) {
                table_blocks_walk_data(w, f, &b, d);
            } else {
                block_iter top = {0};
                block_iter_init(&top, &b, TABLE_V2_IKEY_MIN);
                for (block_iter_seek_first(&top); top.valid; block_iter_next(&top)) {
                    table_v2_handle h[2];
                    int n = table_blocks_handles(&top, h);
                    block part;
                    if (n >= 1 && table_blocks_visit(w, f, TB_INDEX, h[0], d, index.offset, &part))
                        table_blocks_walk_data(w, f, &part, d);
                    if (n == 2)
                        table_blocks_visit(w, f, TB_FILTER, h[1], d, index.offset, NULL);
                }
                block_iter_free(&top);
            }
        }
    }
    if (w->fix) {
        coding_put_u32(foot + 44, crc32c_value(foot, 44));
        coding_put_u32(f + 12, crc32c_value(f, 12));
    }
}

static void table_blocks_repair(uint8_t *f, size_t size)
{
    table_blocks_walker w = {.fix = 1};
    table_blocks_walk(&w, f, size);
}

/* ---- the table as the harness reads it ------------------------------------------ */

/* The entries of a table as the harness's own walk of its bytes finds them
 * (table_blocks_model_read): the oracle of the engine's reads.  `whole`: every
 * block a handle names was read (liblz4 for lz4 contents) and parsed, and
 * the table is what its format promises: internal keys strictly
 * ascending, each data block's keys above the separator before it and at
 * most its own, version 2's top-level keys each its partition's last
 * separator, the properties' smallest and largest the first and last key
 * and their count of data blocks the number the index entries name (a
 * table of partitions opens without reading them: a count one short is
 * for a scan, which joins them, and kv check to find), and each data
 * block's hash index, if it has one, as a builder makes it
 * (every bucket empty, a collision or a restart point of its block, every
 * key's bucket its run or a collision: block_hash.h, kv check's reading),
 * and each value of a block whose values are cells (block_value.h) read
 * from its cell by the harness's own reading of the bytes, with liblz4 (a
 * block stored with lz4 holds none).
 * `filters_hold`: every key is in the filter a lookup asks (version 1's
 * one, or its partition's), as bloom_may_contain reads it.  `filters`:
 * each filter's bytes in the file and the entries it answers for (the
 * mutator writes a filter again for them). */
typedef struct table_blocks_filter {
    const uint8_t *lo, *hi;
    size_t first, end;      /* entries [first, end) */
} table_blocks_filter;

typedef struct table_blocks_model {
    int whole, filters_hold;
    table_blocks_filter *filters;
    size_t nfilters, filters_cap;
    uint8_t *keys;
    size_t keys_len, keys_cap;
    size_t *ends;           /* key i is [ends[i - 1], ends[i]) of keys */
    uint32_t *value_crc;
    uint8_t *edge;          /* 1: the last entry of its data block; 2: the
                               first or last of its partition (version 2) */
    size_t n, cap;
    uint64_t blocks;        /* the data blocks the index entries name */
} table_blocks_model;

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

static const uint8_t *table_blocks_model_key(const table_blocks_model *m, size_t i,
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

static void table_blocks_model_read(const uint8_t *f, size_t size, table_blocks_model *m)
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

static void table_blocks_model_free(table_blocks_model *m)
{
    free(m->filters);
    free(m->keys);
    free(m->ends);
    free(m->value_crc);
    free(m->edge);
}

/* ---- the table read as the engine reads it ------------------------------------- */

/* The table, a file in memory (common/io_mem.h: no system call, and a
 * table the reader maps is an allocation of exactly its size, so a read
 * past its end is AddressSanitizer's). */
static const char table_blocks_path[] = "/kvfuzz/t.tbl";
/* The context the input is read with: table_blocks_kept, made once a
 * process, or table_blocks_fresh, made again for the input
 * (table_blocks_setup). */
static table_ctx *table_blocks_ctx, *table_blocks_kept, *table_blocks_fresh;

static void table_blocks_remove(void)
{
    table_ctx_free(table_blocks_kept);
    table_ctx_free(table_blocks_fresh);
}

/* A block cache full after its first block, so that lookups also take the
 * way of a block the full cache turns away (table_v2_scan.c).  Half of
 * the inputs (by bit 7 of their crc32c) are read with a context made
 * again for the input: the first block the input reads is the one cached
 * (table_v2_block.c: an lz4 block uncompressed into the cache), whatever
 * ran before it in the process; the other half with the one context of
 * the process, whose cache an earlier input filled: each of their blocks
 * is turned away (and an lz4 block's entries decoded as far as a lookup
 * needs). */
static void table_blocks_setup(uint32_t crc)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.cache_bytes = 1;
    if (table_blocks_kept == NULL) {
        table_blocks_check(table_ctx_new(&opt, &table_blocks_kept) == KV_OK, "table_ctx_new");
        atexit(table_blocks_remove);
    }
    table_ctx_free(table_blocks_fresh);
    table_blocks_fresh = NULL;
    if ((crc >> 7) & 1) {
        table_blocks_ctx = table_blocks_kept;
        return;
    }
    table_blocks_check(table_ctx_new(&opt, &table_blocks_fresh) == KV_OK, "table_ctx_new");
    table_blocks_ctx = table_blocks_fresh;
}

/* What the forward scan saw of each entry. */
typedef struct table_blocks_entry {
    uint32_t value_crc;
    size_t key_at, key_len; /* the key's copy in the key store */
    uint64_t seq;
    ikey_type type;
} table_blocks_entry;

/* A lookup of the user key [u, u + ulen) at seq: KV_OK or KV_ERR_CORRUPT,
 * the state in *r (its value freed). */
static int table_blocks_get(table *t, const uint8_t *u, size_t ulen, uint64_t seq,
                            table_get_result *r)
{
    ikey_lookup lk;
    table_blocks_check(ikey_lookup_init(&lk, u, ulen, seq) == KV_OK, "lookup key");
    kv_error_clear();
    int rc = table_get(t, &lk, r);
    table_blocks_check(table_blocks_rc(rc), "a lookup fails only with KV_ERR_CORRUPT (or "
                       "KV_ERR_IO where a read failed), with a message");
    ikey_lookup_free(&lk);
    return rc;
}

/* A lookup of the user key [u, u + ulen), with a 0 byte added if after:
 * whatever it answers, it fails only as table_blocks_get allows. */
static void table_blocks_probe(table *t, const uint8_t *u, size_t ulen, int after)
{
    if (ulen + 1 > KV_MAX_KEY)
        return;
    uint8_t *k = malloc(ulen + 1);
    table_blocks_check(k != NULL, "allocate");
    memcpy(k, u, ulen);
    k[ulen] = 0;
    table_get_result r;
    table_blocks_get(t, k, ulen + (after != 0), IKEY_MAX_SEQ, &r);
    free(r.value);
    free(k);
}

/* Reads the open table t (the file of size bytes, m its entries as the
 * harness reads them); returns NULL, or what a read of it found wrong (kv
 * check must then fail).  Where m is whole, a scan reads its entries, and
 * (where its filters hold them) every lookup answers as they say. */
static const char *table_blocks_read(table *t, const table_blocks_model *m, size_t size,
                                     int tools)
{
    uint64_t n = table_entries(t); /* the properties' count: anything */
    size_t cap = 64;
    table_blocks_entry *e = malloc(cap * sizeof *e);
    size_t keys_cap = size + 1;
    uint8_t *keys = malloc(keys_cap);
    table_blocks_check(e != NULL && keys != NULL, "allocate");
    size_t keys_len = 0;
    iter *it;
    kv_error_clear();
    int rc = table_iter_new(t, &it);
    table_blocks_check(rc == KV_OK || (rc == KV_ERR_IO && table_blocks_rc(rc)), "table_iter_new");
    if (rc != KV_OK) {
        free(e);
        free(keys);
        return NULL;
    }
    uint64_t got = 0;
    int ascending = 1;
    int wellformed = 1;
    for (iter_seek_first(it); iter_valid(it); iter_next(it), got++) {
        /* A read believes a block whose checksum holds: an entry that is
         * not an internal key, or more entries than the properties count,
         * is for kv check to find (it must). */
        ikey_parsed k = {0};
        if (got >= n || !ikey_decode(it->key, it->key + it->key_len, &k))
            wellformed = 0;
        if (got == cap) {
            table_blocks_entry *grown = realloc(e, 2 * cap * sizeof *e);
            table_blocks_check(grown != NULL, "allocate");
            e = grown;
            cap *= 2;
        }
        if (keys_len + it->key_len > keys_cap) { /* (shared prefixes, lz4) */
            uint8_t *grown = realloc(keys, 2 * (keys_len + it->key_len));
            table_blocks_check(grown != NULL, "allocate");
            keys = grown;
            keys_cap = 2 * (keys_len + it->key_len);
        }
        memcpy(keys + keys_len, it->key, it->key_len);
        e[got] = (table_blocks_entry){crc32c_value(it->value, it->value_len), keys_len,
                                      it->key_len, k.seq, k.type};
        if (got > 0 && ikey_compare(keys + e[got - 1].key_at, e[got - 1].key_len, it->key,
                                    it->key_len) >= 0)
            ascending = 0;
        keys_len += it->key_len;
    }
    int st = iter_status(it);
    table_blocks_check(st == KV_OK || table_blocks_rc(st), "a scan fails only with "
                       "KV_ERR_CORRUPT (or KV_ERR_IO where a read failed), with a message");
    /* A read the I/O layer failed ends the reading: no answer after it
     * is compared, but none may crash, leak, or fail otherwise. */
    int io_failed = st == KV_ERR_IO;
    if (st == KV_OK) {
        uint64_t back = got;
        for (iter_seek_last(it); iter_valid(it); iter_prev(it)) {
            table_blocks_check(back > 0, "a backward scan reads as many entries");
            back--;
            table_blocks_check(it->key_len == e[back].key_len &&
                               memcmp(it->key, keys + e[back].key_at, it->key_len) == 0 &&
                               crc32c_value(it->value, it->value_len) == e[back].value_crc,
                               "a backward scan reads the same entries");
        }
        io_failed = iter_status(it) == KV_ERR_IO && table_blocks_rc(KV_ERR_IO);
        table_blocks_check(io_failed || (iter_status(it) == KV_OK && back == 0),
                           "a backward scan reads what a forward scan read");
    }
    iter_free(it);
    if (m->whole && !io_failed) {
        table_blocks_check(st == KV_OK && got == m->n, "a table the harness reads whole, a "
                           "scan reads whole, as many entries");
        for (size_t i = 0; i < m->n; i++) {
            size_t klen;
            const uint8_t *k = table_blocks_model_key(m, i, &klen);
            table_blocks_check(klen == e[i].key_len && memcmp(k, keys + e[i].key_at, klen) == 0 &&
                               m->value_crc[i] == e[i].value_crc,
                               "a table the harness reads whole, a scan reads the same entries");
        }
    }
    /* Lookups must answer right where the table is whole and its filters
     * hold its keys; elsewhere a wrong answer is for kv check to find. */
    int strict = m->whole && m->filters_hold;
    size_t lo_len, hi_len;
    const uint8_t *lo = table_smallest(t, &lo_len), *hi = table_largest(t, &hi_len);
    int range_ok = got > 0 && lo_len == e[0].key_len &&
                   memcmp(lo, keys + e[0].key_at, lo_len) == 0 &&
                   hi_len == e[got - 1].key_len &&
                   memcmp(hi, keys + e[got - 1].key_at, hi_len) == 0;
    const char *disagree = io_failed ? NULL
                           : st != KV_OK ? "a scan failed"
                           : !ascending ? "the keys do not ascend"
                           : !wellformed ? "an entry is not an internal key, or there are more "
                                           "than the properties count"
                                         : NULL;
    /* Where the scan stopped at damage: lookups of the table's smallest
     * user key and of the one just after the last key the scan read (the
     * block after it, where the damage is), which must fail only with
     * KV_ERR_CORRUPT, whatever they answer. */
    if (st == KV_ERR_CORRUPT && lo_len >= IKEY_TRAILER_SIZE)
        table_blocks_probe(t, lo, lo_len - IKEY_TRAILER_SIZE, 0);
    if (st == KV_ERR_CORRUPT && got > 0)
        table_blocks_probe(t, keys + e[got - 1].key_at, e[got - 1].key_len - IKEY_TRAILER_SIZE, 1);
    /* The first and last keys of each partition, the last keys of the
     * data blocks (as the harness's walk found them: where a top-level key
     * or a separator out of place shows), and other keys, up to
     * TABLE_BLOCKS_LOOKUPS of each but the first, evenly spread, and the
     * last (each lookup reads its blocks again: the cache is full). */
    uint64_t step = got / TABLE_BLOCKS_LOOKUPS + 1, edges = 0, edge_at = 0;
    for (uint64_t i = 0; m->n == got && i < got; i++)
        edges += m->edge[i] == 1;
    uint64_t edge_step = edges / TABLE_BLOCKS_LOOKUPS + 1;
    for (uint64_t i = 0; disagree == NULL && !io_failed && range_ok && i < got; i++) {
        int edge = m->n == got && m->edge[i] && (m->edge[i] == 2 || edge_at++ % edge_step == 0);
        if (i % step != 0 && i + 1 != got && !edge)
            continue;
        const uint8_t *key = keys + e[i].key_at;
        size_t ulen = e[i].key_len - IKEY_TRAILER_SIZE;
        /* The first entry at or after (key, seq): this one, or the one
         * before it if that is a put of the same key at the same sequence
         * (a put sorts before a tombstone). */
        uint64_t want = i;
        if (i > 0 && e[i - 1].seq == e[i].seq && e[i - 1].key_len == e[i].key_len &&
            memcmp(keys + e[i - 1].key_at, key, ulen) == 0)
            want = i - 1;
        table_get_result r;
        rc = table_blocks_get(t, key, ulen, e[i].seq, &r);
        if ((io_failed = rc == KV_ERR_IO) != 0) {
            free(r.value);
            break;
        }
        if (rc != KV_OK || r.state != (e[want].type == IKEY_DELETE ? IKEY_DELETED : IKEY_FOUND) ||
            (r.state == IKEY_FOUND && crc32c_value(r.value, r.value_len) != e[want].value_crc))
            disagree = rc != KV_OK ? "a lookup of a key the scan found failed"
                                   : "a lookup of a key the scan found found something else";
        free(r.value);
        table_blocks_check(!strict || disagree == NULL, "in a whole table whose filters hold its "
                           "keys, a lookup of a key finds it");
        /* For the evenly spread keys: the filter asked as kv check and
         * kv_inspect ask it, and a user key just after this one (a 0 byte
         * added): absent, unless the next user key is that one. */
        if (i % step != 0 && i + 1 != got)
            continue;
        if (table_inspect_filter_says_absent(t, key, ulen))
            disagree = "a filter rules out a key the scan found";
        table_blocks_check(!strict || disagree == NULL, "a filter that holds a key, as "
                           "bloom_may_contain reads it, does not rule it out");
        uint8_t *after = malloc(ulen + 1);
        table_blocks_check(after != NULL, "allocate");
        memcpy(after, key, ulen);
        after[ulen] = 0;
        uint64_t next = i + 1;
        while (next < got && e[next].key_len == e[i].key_len &&
               memcmp(keys + e[next].key_at, key, ulen) == 0)
            next++;
        int next_is_it = next < got && e[next].key_len == e[i].key_len + 1 &&
                         memcmp(keys + e[next].key_at, after, ulen + 1) == 0;
        /* The filter asked for that key too where the table holds it, and
         * after the last key (past every partition: whatever it answers,
         * it answers). */
        if ((next_is_it || i + 1 == got) &&
            table_inspect_filter_says_absent(t, after, ulen + 1) && next_is_it)
            disagree = "a filter rules out a key the scan found";
        table_blocks_check(!strict || disagree == NULL, "a filter that holds a key, as "
                           "bloom_may_contain reads it, does not rule it out");
        rc = table_blocks_get(t, after, ulen + 1, IKEY_MAX_SEQ, &r);
        if ((io_failed = rc == KV_ERR_IO) != 0) {
            free(r.value);
            free(after);
            break;
        }
        if (rc != KV_OK || (!next_is_it && r.state != IKEY_ABSENT))
            disagree = rc != KV_OK ? "a lookup of a key after one the scan found failed"
                                   : "a lookup of a key the scan did not find found it";
        table_blocks_check(!strict || disagree == NULL, "in a whole table, a lookup of a key it "
                           "does not hold finds nothing");
        free(r.value);
        free(after);
    }
    free(e);
    free(keys);
    if (!tools)
        return disagree;
    kv_error_clear();
    rc = table_inspect_parts(t, "t.tbl", fuzz_dbfile_ignore_line, NULL);
    table_blocks_check(table_blocks_rc(rc), "inspecting the parts fails only with "
                       "KV_ERR_CORRUPT (or KV_ERR_IO where a read failed), with a message");
    return disagree;
}

/* Whether the tools read this input too (kv_inspect's parts, then kv check
 * on one half of those inputs and kv dump on the other, by the crc32c of
 * the input): they walk every block again, ask the filter for every key
 * and format a line for each, two thirds of an input's time where every
 * input ran them (callgrind, docs/fuzzing.md "Harness speed").  So one
 * input in TABLE_BLOCKS_TOOLS, by its crc32c, or 2 (check and dump both)
 * for every input where the engine reads every input (KV_FUZZ_ENGINE=all,
 * as the replay drivers set it: what `make test` replays reaches them). */
#define TABLE_BLOCKS_TOOLS 4u
static int table_blocks_tools(uint32_t crc)
{
    static int every = -1;
    if (every < 0) {
        const char *e = getenv("KV_FUZZ_ENGINE");
        every = e != NULL && strcmp(e, "all") == 0;
    }
    return every ? 2 : (crc >> 1) % TABLE_BLOCKS_TOOLS == 0;
}

/* The I/O layer's mode for this input, from the file header's checksum as
 * the input holds it (bytes 12-15, which table_blocks_repair writes
 * again): the right one, as in every table a stage writes, for the
 * reading with the file mapped; else their difference says the reading
 * without a mapping (io_fault.h, wrapped around the files in memory, maps
 * nothing: every block is read with a positioned read), with its low byte
 * N the number of the I/O call that fails with EIO (0: none), once, or
 * from then on if the next bit is set.  Returns 1 if it installed it. */
static int table_blocks_faults(const uint8_t *data, const uint8_t *f, size_t size)
{
    if (size < FILE_HEADER_SIZE + TABLE_V2_FOOTER)
        return 0;
    uint32_t diff = coding_get_u32(data + 12) ^ coding_get_u32(f + 12);
    if (diff == 0)
        return 0;
    io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = (long)(diff & 0xff),
                          .persistent = (diff >> 8) & 1};
    io_fault_install(&plan);
    table_blocks_fault_armed = 1;
    return 1;
}

/* ---- allocations refused ---------------------------------------------------------- */

/* What one reading of the table answered (table_blocks_alloc_read): each
 * step's rc, the entries its scan and its salvage read. */
typedef struct table_blocks_answers {
    int open, scan, get, salvage;
    uint64_t scanned, salvaged;
    ikey_lookup_state state; /* the lookup's, if KV_OK */
    int absent;             /* the filter's answers: bit 0 for the key, bit 1
                               for the long key */
} table_blocks_answers;

static int table_blocks_count_entry(void *ctx, const uint8_t *ikey, size_t ikey_len,
                                    const uint8_t *value, size_t value_len)
{
    (void)ikey, (void)ikey_len, (void)value, (void)value_len;
    (*(uint64_t *)ctx)++;
    return KV_OK;
}

static void table_blocks_ignore_loss(void *ctx, const table_loss *loss)
{
    (void)ctx, (void)loss;
}

/* An error comes with a message, read at once. */
static int table_blocks_said(int rc)
{
    table_blocks_check(rc == KV_OK || kv_errmsg()[0] != '\0', "an error comes with a message");
    return rc;
}

/* A lookup of t's smallest user key (as its properties say: a key in its
 * range), and its filter asked: into a. */
static void table_blocks_alloc_lookup(table *t, table_blocks_answers *a)
{
    size_t len = 0;
    const uint8_t *smallest = table_smallest(t, &len);
    size_t ulen = len >= IKEY_TRAILER_SIZE ? len - IKEY_TRAILER_SIZE : 0;
    ikey_lookup lk;
    table_get_result r = {0};
    kv_error_clear();
    a->get = table_blocks_said(ikey_lookup_init(&lk, smallest, ulen, IKEY_MAX_SEQ));
    if (a->get == KV_OK) {
        kv_error_clear();
        a->get = table_blocks_said(table_get(t, &lk, &r));
        a->state = r.state;
        free(r.value);
        ikey_lookup_free(&lk);
    }
    /* The filter asked for that key, and for a key longer than a lookup
     * holds without an allocation (IKEY_LOOKUP_INLINE). */
    uint8_t long_key[IKEY_LOOKUP_INLINE + 1];
    memset(long_key, 'k', sizeof long_key);
    a->absent = table_inspect_filter_says_absent(t, smallest, ulen) +
                2 * table_inspect_filter_says_absent(t, long_key, sizeof long_key);
}

/* The table read as a reader and kv repair read it, with a context of
 * its own (so that nothing stays cached after it): opened, scanned, a key
 * looked up and its filter asked, then salvaged (table_salvage); the
 * allocator armed with alloc_fail_at(fail) around it all, or, with
 * lookup_only, around the lookup alone (no scan, no salvage). */
static void table_blocks_alloc_read(table_blocks_answers *a, long fail, int lookup_only)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.cache_bytes = 1;
    table_ctx *ctx = NULL;
    table *t = NULL;
    memset(a, 0, sizeof *a);
    if (!lookup_only)
        alloc_fail_at(fail);
    kv_error_clear();
    a->open = table_blocks_said(table_ctx_new(&opt, &ctx));
    if (a->open == KV_OK)
        a->open = table_blocks_said(table_open(ctx, table_blocks_path, &t));
    a->scan = a->get = a->salvage = a->open;
    if (a->open == KV_OK && !lookup_only) {
        iter *it = NULL;
        kv_error_clear();
        a->scan = table_blocks_said(table_iter_new(t, &it));
        if (a->scan == KV_OK) { /* (an iterator made failed keeps its message) */
            for (iter_seek_first(it); iter_valid(it); iter_next(it))
                a->scanned++;
            a->scan = table_blocks_said(iter_status(it));
            iter_free(it);
        }
    }
    if (a->open == KV_OK) {
        if (lookup_only)
            alloc_fail_at(fail);
        table_blocks_alloc_lookup(t, a);
    }
    table_unref(t);
    table_ctx_free(ctx);
    if (lookup_only)
        return;
    table_salvage_info info;
    kv_error_clear();
    a->salvage = table_blocks_said(table_salvage(table_blocks_path, table_blocks_count_entry,
                                                 table_blocks_ignore_loss, &a->salvaged,
                                                 &info));
}

/* Whether rc, with an allocation refused, is what the reading without
 * one answered (want), or the refusal's KV_ERR_NOMEM, or KV_ERR_IO (the
 * disk in memory out of memory). */
static int table_blocks_refused(int rc, int want)
{
    return rc == want || rc == KV_ERR_NOMEM || rc == KV_ERR_IO;
}

/* Runs on every input in the replays, one in 64 when fuzzing. */
#define TABLE_BLOCKS_ALLOC_RARELY 64
/* Readings with an allocation refused, at most, per input. */
#define TABLE_BLOCKS_ALLOC_RUNS 48

/* The reading (table_blocks_alloc_read) once with its allocations counted,
 * then with allocation k refused (tests/alloc/alloc_wrap.h: NULL, once),
 * for every k if there are at most TABLE_BLOCKS_ALLOC_RUNS, else for that
 * many spread evenly, the first chosen by seed; then the same for the
 * lookup alone (its few allocations, each refused in turn): each step
 * answers as without the refusal or with KV_ERR_NOMEM (KV_ERR_IO), with a
 * message; a scan or salvage that succeeds reads as many entries, a
 * lookup that succeeds finds what it found; and no block is left
 * allocated after it. */
static void table_blocks_alloc_faults(uint32_t seed)
{
    for (int lookup_only = 0; lookup_only < 2; lookup_only++) {
        table_blocks_answers want, got;
        table_blocks_alloc_read(&want, LONG_MAX, lookup_only);
        long calls = alloc_calls();
        alloc_disarm();
        long stride = calls / TABLE_BLOCKS_ALLOC_RUNS + 1;
        for (long k = 1 + (long)(seed % (uint32_t)stride); k <= calls; k += stride) {
            long live = alloc_live();
            table_blocks_alloc_read(&got, k, lookup_only);
            if (!alloc_disarm())
                break; /* this reading made fewer allocations */
            table_blocks_check(table_blocks_refused(got.open, want.open) &&
                                   table_blocks_refused(got.scan, want.scan) &&
                                   table_blocks_refused(got.get, want.get) &&
                                   table_blocks_refused(got.salvage, want.salvage),
                               "an allocation refused: each step's answer without it, or "
                               "KV_ERR_NOMEM");
            table_blocks_check((got.scan != KV_OK || got.scanned == want.scanned) &&
                                   (got.get != KV_OK || got.state == want.state) &&
                                   (got.salvage != KV_OK || got.salvaged == want.salvaged),
                               "an allocation refused: a scan or salvage that succeeds reads "
                               "as many entries, a lookup that succeeds finds what it found");
            table_blocks_check((got.absent & ~want.absent) == 0,
                               "an allocation refused: a filter that cannot be asked rules "
                               "nothing out");
            table_blocks_check(alloc_live() == live,
                               "an allocation refused: nothing left allocated");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    table_blocks_setup(crc32c_value(data, size));
    uint8_t *f = malloc(size ? size : 1);
    table_blocks_check(f != NULL, "allocate");
    memcpy(f, data, size);
    table_blocks_repair(f, size);
    table_blocks_model m;
    table_blocks_model_read(f, size, &m);
    fuzz_dbfile_mem_reset();
    table_blocks_check(io_mem_put(table_blocks_path, f, size) == 0, "the input in memory");
    int faults = table_blocks_faults(data, f, size);
    uint32_t crc = crc32c_value(data, size);
    /* With the I/O layer failing, the tools always: kv check or kv dump
     * (by the crc32c, as below; both in the replays).  Descendants of an
     * input of this mode keep its header, so they are many. */
    int tools = faults ? (fuzz_dbfile_every() ? 2 : 1) : table_blocks_tools(crc);
    table *t = NULL;
    kv_error_clear();
    int rc = table_open(table_blocks_ctx, table_blocks_path, &t);
    table_blocks_check(table_blocks_rc(rc), "open: only KV_ERR_CORRUPT (or KV_ERR_IO where a "
                       "read failed), with a message");
    const char *disagree = NULL;
    if (rc == KV_OK) {
        disagree = table_blocks_read(t, &m, size, tools);
        table_unref(t);
    }
    table_blocks_model_free(&m);
    /* kv check where a read disagreed (it must fail), else on half of the
     * inputs the tools read; kv dump, which walks what kv check walks, on
     * the other half (by their crc32c, so that a replay does the same);
     * both in the replays. */
    uint32_t pick = crc % 2;
    if (disagree != NULL || (tools && pick == 1) || tools == 2) {
        kv_error_clear();
        rc = table_check(table_blocks_path, "t.tbl", fuzz_dbfile_ignore_line, NULL);
        table_blocks_check(table_blocks_rc(rc), "check: only KV_ERR_CORRUPT (or KV_ERR_IO where "
                           "a read failed), with a message");
        if (disagree != NULL && rc != KV_ERR_CORRUPT && rc != KV_ERR_IO) {
            fprintf(stderr, "table_blocks fuzz: %s\n", disagree);
            table_blocks_check(0, "kv check fails a table whose reads disagree with its scan "
                               "or fail");
        }
    }
    if ((tools && pick == 0) || tools == 2) {
        kv_error_clear();
        rc = table_dump(table_blocks_path, "t.tbl", fuzz_dbfile_ignore_line, NULL);
        table_blocks_check(table_blocks_rc(rc), "dump: only KV_ERR_CORRUPT (or KV_ERR_IO where "
                           "a read failed), with a message");
    }
    if (faults) {
        io_fault_uninstall();
        table_blocks_fault_armed = 0;
    } else if (fuzz_dbfile_every() ||
               fuzz_dbfile_sampled_rarely(data, size, TABLE_BLOCKS_ALLOC_RARELY)) {
        table_blocks_alloc_faults(crc);
    }
    /* One input in sixteen: the table, its checksums made right, as a
     * database's only table, through the engine, kv check, kv dump and
     * kv repair, whose salvage reads the blocks a damaged table still
     * holds (fuzz_dbfile.h). */
    if (fuzz_dbfile_sampled(data, size)) {
        fuzz_dbfile_run(fuzz_dbfile_table_name(), f, size);
        fuzz_dbfile_repair(fuzz_dbfile_table_name(), f, size);
    }
    free(f);
    fuzz_dbfile_mem_done();
    return 0;
}

/* ---- a mutator that knows the blocks ---------------------------------------------- */

/* One byte of one entry's key in the index block b (version 1's index,
 * an index partition, the top level) made one more or one less, in
 * place: a separator or a top-level key moved past its neighbours. */
static void table_blocks_key_step(const block *b, unsigned pick)
{
    block_iter it = {0};
    block_iter_init(&it, b, 1);
    size_t n = 0;
    for (block_iter_seek_first(&it); it.valid; block_iter_next(&it))
        n++;
    size_t want = n ? pick % n : 0, i = 0;
    for (block_iter_seek_first(&it); it.valid && i < want; block_iter_next(&it))
        i++;
    uint32_t shared, unshared, vlen;
    const uint8_t *k = it.valid ? block_entry_decode(b->data + it.at, b->data + b->entries_end,
                                                     &shared, &unshared, &vlen)
                                : NULL;
    if (k != NULL && unshared > 0) {
        uint8_t *byte = (uint8_t *)k + (pick >> 8) % unshared;
        *byte = (uint8_t)(*byte + ((pick >> 4) & 1 ? 1 : -1));
    }
    block_iter_free(&it);
}

/* Writes the filter f (in place, its size kept) again for the user keys
 * of its entries, with k hashes: bloom.h's format read from its header
 * (one 64-bit hash, h_i = lo + i * hi, each onto [0, m) by a multiply),
 * so that it holds them (BF1) with its last bits byte, just before k,
 * something else.  Nothing if f is shorter than the smallest filter. */
static void table_blocks_filter_rewrite(const table_blocks_model *m, const table_blocks_filter *f,
                                        int k)
{
    uint8_t *p = (uint8_t *)f->lo;
    size_t len = (size_t)(f->hi - f->lo);
    if (len < BLOOM_MIN_BITS / 8 + 1 || len - 1 > BLOOM_MAX_BITS / 8)
        return;
    uint32_t bits = (uint32_t)(len - 1) * 8;
    memset(p, 0, len - 1);
    for (size_t i = f->first; i < f->end; i++) {
        size_t klen;
        const uint8_t *key = table_blocks_model_key(m, i, &klen);
        ikey_parsed ik;
        if (!ikey_decode(key, key + klen, &ik))
            continue;
        uint64_t hash = bloom_hash(ik.user_key, ik.user_len);
        uint32_t h = (uint32_t)hash, delta = (uint32_t)(hash >> 32);
        for (int j = 0; j < k; j++, h += delta) {
            uint32_t pos = (uint32_t)(((uint64_t)h * bits) >> 32);
            p[pos / 8] |= (uint8_t)(1u << (pos % 8));
        }
    }
    p[len - 1] = (uint8_t)k;
}

/* One of the table's filters written again (table_blocks_filter_rewrite)
 * with a k of 1 to 30; 0 if it has none. */
static int table_blocks_filter_mutate(uint8_t *data, size_t size)
{
    table_blocks_model m;
    table_blocks_model_read(data, size, &m);
    int any = m.nfilters > 0;
    if (any)
        table_blocks_filter_rewrite(&m, &m.filters[(size_t)rand() % m.nfilters],
                                    1 + rand() % BLOOM_MAX_K);
    table_blocks_model_free(&m);
    return any;
}

/* Mutates one block: a kind of block picked first (data blocks, index
 * blocks or partitions, the top level, filters, the other meta blocks),
 * then a block of that kind, whose bytes libFuzzer's mutator changes in
 * place, the file's size and layout kept (the harness makes the
 * checksums right), or, three times in four for an index block or the
 * top level, one byte of one entry's key one more or one less, and half
 * the time for a filter, the filter written again for the keys it answers
 * for with a k of 1 to 30, its size kept (so that it still holds them:
 * a filter whose bits a mutation cleared holds the lookups to nothing).
 * So a table's few blocks of a kind (its top level) are changed as often
 * as its many data blocks.  One time in four, or
 * when the walk finds no block, libFuzzer's own mutation of the bytes as
 * they are. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    if (LLVMFuzzerMutate == NULL)
        return size;
    srand(seed);
    table_blocks_walker w = {.fix = 0};
    table_blocks_walk(&w, data, size);
    int kinds[TB_KINDS], nk = 0;
    for (int k = 0; k < TB_KINDS; k++)
        if (w.nseen[k] > 0)
            kinds[nk++] = k;
    size_t out = size;
    if (nk == 0 || rand() % 4 == 0) {
        out = LLVMFuzzerMutate(data, size, max_size);
    } else {
        int k = kinds[rand() % nk];
        table_v2_handle h = w.seen[k][(size_t)rand() % w.nseen[k]];
        block b;
        if ((k == TB_TOP || k == TB_INDEX) && rand() % 4 != 0 &&
            block_init(&b, data + h.offset, h.size) == NULL) {
            table_blocks_key_step(&b, (unsigned)rand());
        } else if (k == TB_FILTER && rand() % 2 == 0 &&
                   table_blocks_filter_mutate(data, size)) {
            /* a filter written again */
        } else {
            /* in place, at most its size (a shorter result leaves the
             * block's last bytes as they were) */
            size_t n = LLVMFuzzerMutate(data + h.offset, h.size, h.size);
            (void)n;
        }
    }
    for (int k = 0; k < TB_KINDS; k++)
        free(w.seen[k]);
    return out;
}
