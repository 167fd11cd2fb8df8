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
 * The fences are kept in groups of 8, a cache line each, and the first
 * of every group again in an array of its own (fence_tops), which the
 * binary search runs over; then it reads one group.  At ten million keys
 * a table's 4 KiB of fences miss the CPU caches on the search's last
 * probes, one after another; the tops, an eighth of that, mostly do not,
 * and the one group's line is asked of memory together with the line of
 * the blocks' places the answer lies in (block_at: where each data block
 * starts, read from the index at open, kept where the blocks lie back to
 * back, as a builder writes them), so that the handle of the block
 * needs no read of the index's restart array and entry after.
 * Memory: 17 bytes a data block (0.4% of a table of 4 KiB blocks), in
 * table.meta_bytes.  RocksDB and LevelDB search their index block as it
 * is; the idea is that of a B-tree's keys compared by a prefix first
 * (Bayer and Unterauer, "Prefix B-trees", 1977), and of the learned
 * indexes that predict where a key lies before the last few probes.
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

/* The bytes of the allocation of the tops and fences of this many groups:
 * the tops, at most 63 to the boundary, the fences. */
static size_t table_v2_fences_alloc_bytes(size_t groups)
{
    return groups * sizeof(uint64_t) + 63 + groups * KEY_FENCE_GROUP * sizeof(uint64_t);
}

int table_v2_fences_init(table *t)
{
    const block *index = &t->kept.index;
    if (t->kept.version != TABLE_V2_VERSION || index->nrestarts != t->kept.data_blocks)
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
    size_t groups = (n + KEY_FENCE_GROUP - 1) / KEY_FENCE_GROUP;
    /* One allocation: the tops, then the fences from the next 64-byte
     * boundary, so that a group is one cache line. */
    uint8_t *mem = malloc(table_v2_fences_alloc_bytes(groups));
    uint64_t *tops = (uint64_t *)(void *)mem;
    uint64_t *f = mem == NULL ? NULL
                  : (uint64_t *)(void *)(((uintptr_t)(tops + groups) + 63) & ~(uintptr_t)63);
    uint64_t *at = malloc((n + 1) * sizeof *at);
    if (mem == NULL || at == NULL) {
        free(mem);
        free(at);
        block_iter_free(&ix);
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate the fences of %zu blocks", t->path,
                        n);
    }
    int back_to_back = 1;
    uint64_t next_at = TABLE_V2_DATA_AT;
    size_t i = 0;
    for (; ix.valid && i < n; i++, block_iter_next(&ix)) {
        size_t ulen = table_v2_sep_user(&ix);
        /* A separator outside what the first and the last share, or out
         * of order (kv check's to say): no fences, the index searched as
         * it is. */
        if (ulen < skip || memcmp(ix.key, t->kept.largest, skip) != 0)
            break;
        f[i] = key_fence(ix.key + skip, ulen - skip);
        if (i > 0 && f[i] < f[i - 1])
            break;
        if (i % KEY_FENCE_GROUP == 0)
            tops[i / KEY_FENCE_GROUP] = f[i];
        /* Its block where the one before ended: else no places kept. */
        table_v2_handle h = {0};
        const uint8_t *end = ix.value + ix.value_len;
        if (table_v2_handle_read(ix.value, end, TABLE_V2_DATA_AT, t->kept.data_end, &h) != end ||
            h.offset != next_at)
            back_to_back = 0;
        at[i] = h.offset;
        next_at = h.offset + h.size + TABLE_V2_TRAILER;
    }
    at[n] = next_at;
    int nomem = ix.status == KV_ERR_NOMEM;
    block_iter_free(&ix);
    if (i < n) {
        free(mem);
        free(at);
        return nomem ? kv_error(KV_ERR_NOMEM, "%s: out of memory reading the index", t->path)
                     : KV_OK;
    }
    if (!back_to_back || next_at != t->kept.data_end) {
        free(at);
        at = NULL;
    }
    t->fences = f;
    t->fence_tops = tops;
    t->block_at = at;
    t->fence_skip = skip;
    return KV_OK;
}

size_t table_v2_fences_bytes(const table *t)
{
    if (t->fences == NULL)
        return 0;
    size_t n = t->kept.index.nrestarts, groups = (n + KEY_FENCE_GROUP - 1) / KEY_FENCE_GROUP;
    return table_v2_fences_alloc_bytes(groups) +
           (t->block_at != NULL ? (n + 1) * sizeof *t->block_at : 0);
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
    size_t start = key_fence_group_start(t->fence_tops, n, k), i, j;
    /* The group's line, and the places of its blocks, which
     * table_v2_fences_handle reads next, asked of memory side by side. */
    __builtin_prefetch(&t->fences[start]);
    if (t->block_at != NULL) {
        __builtin_prefetch(&t->block_at[start]);
        if (start + KEY_FENCE_GROUP <= n)
            __builtin_prefetch(&t->block_at[start + KEY_FENCE_GROUP]);
    }
    key_fence_group_range(t->fences, n, start, k, &i, &j);
    /* Separators before i are below every internal key of K, from j on
     * above (KF1); where none ties (i == j), the first at or above (K, s)
     * is entry i, whatever s.  A tie needs the index's own search. */
    *entry = (uint32_t)i;
    return i == j && i < n;
}

int table_v2_fences_handle(table *t, uint32_t entry, table_v2_handle *h)
{
    if (t->block_at != NULL) { /* checked against the index at open */
        h->offset = t->block_at[entry];
        h->size = (uint32_t)(t->block_at[entry + 1] - h->offset - TABLE_V2_TRAILER);
        h->nth1 = t->checked != NULL ? entry + 1 : 0;
        return KV_OK;
    }
    const block *b = &t->kept.index;
    uint32_t off = block_restart(b, entry), shared, unshared, vlen;
    const uint8_t *limit = b->data + b->entries_end;
    const uint8_t *k = block_entry_decode(b->data + off, limit, &shared, &unshared, &vlen);
    const uint8_t *end = k != NULL ? k + unshared + vlen : NULL;
    if (k != NULL && shared == 0 &&
        table_v2_handle_read(k + unshared, end, TABLE_V2_DATA_AT, t->kept.data_end, h) == end) {
        h->nth1 = t->checked != NULL ? entry + 1 : 0;
        return KV_OK;
    }
    return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the index entry there holds no "
                    "handle of a data block (the data blocks end at %" PRIu64 ")", t->path,
                    t->kept.index_h.offset + off, t->kept.data_end);
}
