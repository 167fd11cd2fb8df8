/*
 * table_v2_fences.c: step 3 of a lookup (the index) answered by an array
 * of numbers, one per data block, made when the table is opened.
 *
 * The index is a block with a restart point at every entry (one entry per
 * data block), and step 3 is a binary search over them: some nine probes
 * for a table of 2 MiB, each one an entry decoded and an internal key
 * compared, on a database of millions of keys most of them in no CPU
 * cache.  So an open table of version 1 also keeps its fences
 * (common/key_fence.h): for each index entry, the 8 bytes of its
 * separator's user key that follow the bytes every separator of the table
 * shares (`skip` of them), read as a big-endian number, zeros past the
 * key's end.  Where two fences differ the separators differ the same way
 * (KF1; where they are equal, the separators may still differ past the 8
 * bytes, or in their sequence numbers).  A lookup of user key K makes
 * K's number the same way and finds, by binary search over a dense array
 * of 8 bytes a block (4 KiB for a table of 512 blocks), the entries whose
 * fence is below K's (their separators are below every internal key of
 * K), equal, or above.  Where none is equal, the answer is the first one
 * above, and its entry is read straight from the index (the restart point
 * of each entry is its place): no search of the index at all.  Where one
 * is equal (a separator that agrees with K in those 8 bytes: rare), the
 * index is searched as it always was.
 *
 * It is a copy of what the index holds, made at open, checked against
 * nothing but the index itself (checked whole at open, T1), and asked
 * only for where to look: the answer is still the index's entry.
 * The fences are kept in lines of 64 bytes, 5 fences each and, beside
 * them, where the line's 5 data blocks start and where the next one does
 * (block places, read from the index at open, kept where the blocks lie
 * back to back, as a builder writes them, and the file is under 4 GiB:
 * 6 numbers of 4 bytes); the last fence of every line is again in an
 * array of its own (fence_tops), which the binary search runs over, then
 * it reads one line.  At ten million keys a table's fences miss the CPU
 * caches on the search's last probes, one after another; the tops, a
 * fifth of them, mostly do not, and the one line read gives both the
 * entry and its block's handle, with no read of the index's restart
 * array and entry after, and no second line of places.
 * Memory: 14.4 bytes a data block (a line for 5, and a top), 0.35% of a
 * table of 4 KiB blocks, in table.meta_bytes.  RocksDB and LevelDB
 * search their index block as it is; the idea is that of a B-tree's
 * keys compared by a prefix first (Bayer and Unterauer, "Prefix
 * B-trees", 1977), and of the learned indexes that predict where a key
 * lies before the last few probes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "key_fence.h"
#include "table_v2_format.h"

/* The user key of an index entry's separator (an internal key). */
static size_t table_v2_sep_user(const block_iter *ix)
{
    return ix->key_len - IKEY_TRAILER_SIZE;
}

/* A line: TABLE_V2_FENCES_PER_LINE fences, then the places of its blocks
 * and of the block after them, 4 bytes each, in the rest of its 8 numbers. */
#define TABLE_V2_FENCES_PER_LINE 5u
#define TABLE_V2_LINE_WORDS 8u
#define TABLE_V2_LINE_BYTES (TABLE_V2_LINE_WORDS * sizeof(uint64_t))
_Static_assert(TABLE_V2_FENCES_PER_LINE * 8 + (TABLE_V2_FENCES_PER_LINE + 1) * 4 <=
                   TABLE_V2_LINE_BYTES, "a line holds its fences and their blocks' places");

static size_t table_v2_fence_groups(size_t n)
{
    return (n + TABLE_V2_FENCES_PER_LINE - 1) / TABLE_V2_FENCES_PER_LINE;
}

/* The bytes of the allocation of the tops and lines of this many groups:
 * the tops, at most 63 to the boundary, the lines. */
static size_t table_v2_fences_alloc_bytes(size_t groups)
{
    return groups * sizeof(uint64_t) + 63 + groups * TABLE_V2_LINE_BYTES;
}

/* Where the place of block i of line `line`, j = i % 5 (or 5: the block
 * after the line's), is kept. */
static uint8_t *table_v2_place_at(uint64_t *line, size_t j)
{
    return (uint8_t *)(line + TABLE_V2_FENCES_PER_LINE) + 4 * j;
}

static uint32_t table_v2_place(const uint64_t *line, size_t j)
{
    uint32_t v;
    memcpy(&v, (const uint8_t *)(line + TABLE_V2_FENCES_PER_LINE) + 4 * j, sizeof v);
    return v;
}

/* Keeps place `at` of block i (i up to n: the end of the last block) in
 * the line of block i and, as the block after its line's, in the line
 * before. */
static void table_v2_place_set(uint64_t *lines, size_t n, size_t i, uint32_t at)
{
    size_t g = i / TABLE_V2_FENCES_PER_LINE, j = i % TABLE_V2_FENCES_PER_LINE;
    if (i < n)
        memcpy(table_v2_place_at(lines + g * TABLE_V2_LINE_WORDS, j), &at, sizeof at);
    if (j == 0 && g > 0)
        memcpy(table_v2_place_at(lines + (g - 1) * TABLE_V2_LINE_WORDS, TABLE_V2_FENCES_PER_LINE),
               &at, sizeof at);
    else if (i == n) /* the last line, not full: after its last block */
        memcpy(table_v2_place_at(lines + g * TABLE_V2_LINE_WORDS, j), &at, sizeof at);
}

int table_v2_fences_init(table *t)
{
    const block *index = &t->kept.index;
    /* (Version 2's open has checked one index entry per data block, and
     * made the checked bits a handle's nth1 names.) */
    if (t->kept.version != TABLE_V2_VERSION)
        return KV_OK;
    size_t n = index->nrestarts;
    /* The bytes every separator shares: those the first and the last
     * share, as they are in order.  The last is the table's largest key,
     * which stays in the kept region: the prefix points into it. */
    block_iter ix = {0};
    block_iter_init(&ix, index, TABLE_V2_IKEY_MIN);
    block_iter_seek_first(&ix);
    size_t first_len = ix.valid ? table_v2_sep_user(&ix) : 0;
    uint8_t first[TABLE_V2_IKEY_MAX];
    if (ix.valid)
        memcpy(first, ix.key, first_len);
    size_t skip = 0;
    if (ix.valid && t->kept.largest_len >= IKEY_TRAILER_SIZE) {
        size_t last_len = t->kept.largest_len - IKEY_TRAILER_SIZE;
        while (skip < first_len && skip < last_len && first[skip] == t->kept.largest[skip])
            skip++;
    }
    size_t groups = table_v2_fence_groups(n);
    /* One allocation: the tops, then the lines from the next 64-byte
     * boundary, so that a line is a cache line. */
    uint8_t *mem = malloc(table_v2_fences_alloc_bytes(groups));
    uint64_t *tops = (uint64_t *)(void *)mem;
    uint64_t *lines = mem == NULL ? NULL
                      : (uint64_t *)(void *)(((uintptr_t)(tops + groups) + 63) & ~(uintptr_t)63);
    if (mem == NULL) {
        block_iter_free(&ix);
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate the fences of %zu blocks", t->path,
                        n);
    }
    memset(lines, 0, groups * TABLE_V2_LINE_BYTES);
    /* Places fit in the lines' 4 bytes only below 4 GiB. */
    int places = t->kept.data_end <= UINT32_MAX;
    uint64_t next_at = TABLE_V2_DATA_AT, prev = 0;
    size_t i = 0;
    for (; ix.valid && i < n; i++, block_iter_next(&ix)) {
        size_t ulen = table_v2_sep_user(&ix);
        /* A separator outside what the first and the last share, or out
         * of order (kv check's to say): no fences, the index searched as
         * it is. */
        if (ulen < skip || memcmp(ix.key, t->kept.largest, skip) != 0)
            break;
        uint64_t f = key_fence(ix.key + skip, ulen - skip);
        if (i > 0 && f < prev)
            break;
        size_t g = i / TABLE_V2_FENCES_PER_LINE;
        lines[g * TABLE_V2_LINE_WORDS + i % TABLE_V2_FENCES_PER_LINE] = f;
        tops[g] = f; /* the line's last one stays */
        prev = f;
        /* Its block where the one before ended: else no places kept. */
        table_v2_handle h = {0};
        const uint8_t *end = ix.value + ix.value_len;
        if (table_v2_handle_read(ix.value, end, TABLE_V2_DATA_AT, t->kept.data_end, &h) != end ||
            h.offset != next_at)
            places = 0;
        if (places)
            table_v2_place_set(lines, n, i, (uint32_t)h.offset);
        next_at = h.offset + h.size + TABLE_V2_TRAILER;
    }
    int nomem = ix.status == KV_ERR_NOMEM;
    block_iter_free(&ix);
    if (i < n || n == 0) {
        free(mem);
        return nomem ? kv_error(KV_ERR_NOMEM, "%s: out of memory reading the index", t->path)
                     : KV_OK;
    }
    if (places && next_at == t->kept.data_end)
        table_v2_place_set(lines, n, n, (uint32_t)next_at);
    t->fence_lines = lines;
    t->fence_tops = tops;
    t->block_places = places && next_at == t->kept.data_end;
    t->fence_skip = skip;
    return KV_OK;
}

size_t table_v2_fences_bytes(const table *t)
{
    if (t->fence_lines == NULL)
        return 0;
    return table_v2_fences_alloc_bytes(table_v2_fence_groups(t->kept.index.nrestarts));
}

int table_v2_fences_find(const table *t, const uint8_t *ukey, size_t ulen, uint32_t *entry)
{
    uint32_t n = t->kept.index.nrestarts;
    size_t skip = t->fence_skip;
    int side = key_fence_side(ukey, ulen, t->kept.largest, skip);
    if (side != 0) {
        *entry = 0; /* below every separator: the first; above (not in the
                       table's range, S3): the search says */
        return side < 0;
    }
    uint64_t k = key_fence(ukey + skip, ulen - skip);
    size_t g = key_fence_group_find(t->fence_tops, n, TABLE_V2_FENCES_PER_LINE, k), i, j;
    key_fence_group_range(t->fence_lines, n, TABLE_V2_FENCES_PER_LINE, TABLE_V2_LINE_WORDS, g, k,
                          &i, &j);
    /* Separators before i are below every internal key of K, from j on
     * above (KF1); where none ties (i == j), the first at or above (K, s)
     * is entry i, whatever s.  A tie needs the index's own search. */
    *entry = (uint32_t)i;
    return i == j && i < n;
}

int table_v2_fences_handle(table *t, uint32_t entry, table_v2_handle *h)
{
    if (t->block_places && entry < t->kept.index.nrestarts) { /* checked at open */
        const uint64_t *line =
            t->fence_lines + entry / TABLE_V2_FENCES_PER_LINE * TABLE_V2_LINE_WORDS;
        uint32_t at = table_v2_place(line, entry % TABLE_V2_FENCES_PER_LINE);
        uint32_t end = table_v2_place(line, entry % TABLE_V2_FENCES_PER_LINE + 1);
        h->offset = at;
        h->size = end - at - TABLE_V2_TRAILER;
        h->nth1 = entry + 1;
        return KV_OK;
    }
    const block *b = &t->kept.index;
    uint32_t off = block_restart(b, entry), shared, unshared, vlen;
    const uint8_t *limit = b->data + b->entries_end;
    const uint8_t *k = block_entry_decode(b->data + off, limit, &shared, &unshared, &vlen);
    const uint8_t *end = k != NULL ? k + unshared + vlen : NULL;
    if (k != NULL && shared == 0 &&
        table_v2_handle_read(k + unshared, end, TABLE_V2_DATA_AT, t->kept.data_end, h) == end) {
        h->nth1 = entry + 1;
        return KV_OK;
    }
    return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the index entry there holds no "
                    "handle of a data block (the data blocks end at %" PRIu64 ")", t->path,
                    t->kept.index_h.offset + off, t->kept.data_end);
}
