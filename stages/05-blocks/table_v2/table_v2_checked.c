/*
 * table_v2_checked.c: a data block of a mapped table file has its
 * checksum computed once, the first time a lookup or an iterator reads it
 * there, not on every read.
 *
 * A block in the block cache is checked once, when it goes in (T3), and
 * every hit after that trusts it.  A block read from the file's mapping
 * (file_cache.h, F4) was checked on every read: the checksum runs over
 * the whole stored block, so a lookup that needs a few of its entries
 * fetched every cache line of it from memory, and on a database much
 * larger than the block cache that was most of a get's misses
 * (docs/perf-05-blocks.md).  The mapping shows the file's bytes, and a
 * table file never changes once written; so a block whose bytes in the
 * mapping passed their checksum once is trusted like a cached one.  The
 * open table keeps a bit per data block, set when its bytes in the
 * mapping passed (with a relaxed atomic or: two threads that check the
 * same block at once both set it, and either order is right), and a
 * second beside it if the block is stored raw and its restart array
 * passed block_init: such a block is searched where it lies
 * (table_v2_block.c) and never enters the block cache, so a lookup of it
 * does not ask the cache first; and what its trailer says and its
 * restart array are not read again (block_init_known), as a block mostly
 * in no CPU cache is cheaper by every line not touched.
 *
 * Which bit: the data block's place in the table, which version 1's index
 * gives (a restart point at each of its entries, one per data block,
 * checked at open: the entry's restart is its place), carried in the
 * handle (table_v2_handle's nth1).  A handle that does not say (one read
 * from elsewhere: a table of partitions, the tools) is checked every
 * time.  A block read with a positioned read (an unmapped file) is
 * checked every time too: the bit speaks of the mapping.
 *
 * The checks themselves are table_v2_trailer.c's.  A lookup of a block
 * with both bits reads it through the table's pinned file, its bits read
 * once and nothing of table_v2_block_keep's general way taken
 * (table_v2_checked_pinned).
 *
 * What it gives up: a table file damaged under an open database after
 * one of its blocks was checked is not seen in that block until the table
 * is opened again, as a block already cached is not.  `kv check` reads
 * every block with positioned reads and checks it (table_v2_tools.c).
 */
#include <stdlib.h>

#include "error.h"
#include "table_v2_format.h"

int table_v2_checked_init(table *t)
{
    /* (Version 2's open has checked one index entry per data block.) */
    if (t->kept.version != TABLE_V2_VERSION)
        return KV_OK; /* nothing says a block's place: every read checks */
    t->checked_len = (size_t)((t->kept.data_blocks + 3) / 4);
    t->checked = calloc(t->checked_len, 1);
    if (t->checked == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate %zu bytes for the checked blocks",
                        t->path, t->checked_len);
    return KV_OK;
}

/* Where h's two bits are (CHECKED, and RAW above it): *byte and *shift;
 * 0 if h has none. */
enum { TABLE_V2_CHECKED = 1u, TABLE_V2_RAW_IN_MAP = 2u };
static int table_v2_checked_bits(const table *t, table_v2_handle h, size_t *byte,
                                 unsigned *shift)
{
    if (t->checked == NULL || h.nth1 == 0 || h.nth1 > t->kept.data_blocks)
        return 0;
    *byte = (h.nth1 - 1) / 4;
    *shift = 2 * ((h.nth1 - 1) % 4);
    return 1;
}

static unsigned table_v2_checked_get(const table *t, table_v2_handle h)
{
    size_t byte;
    unsigned shift;
    if (!table_v2_checked_bits(t, h, &byte, &shift))
        return 0;
    return (atomic_load_explicit(&t->checked[byte], memory_order_relaxed) >> shift) & 3u;
}

static void table_v2_checked_set(table *t, table_v2_handle h, unsigned bits)
{
    size_t byte;
    unsigned shift;
    if (table_v2_checked_bits(t, h, &byte, &shift))
        atomic_fetch_or_explicit(&t->checked[byte], (unsigned char)(bits << shift),
                                 memory_order_relaxed);
}

const char *table_v2_check_stored(table *t, table_v2_handle h, const uint8_t *stored,
                                  int mapped, int *type, uint32_t *raw)
{
    unsigned bits = mapped ? table_v2_checked_get(t, h) : 0;
    if (bits == (TABLE_V2_CHECKED | TABLE_V2_RAW_IN_MAP)) {
        *type = TABLE_V2_RAW; /* what its trailer said when it was checked */
        *raw = h.size;
        return NULL;
    }
    if (bits & TABLE_V2_CHECKED)
        return table_v2_trailer_check(stored, h.size, type, raw);
    const char *why = table_v2_stored_check(stored, h.size, type, raw);
    if (why != NULL || !mapped)
        return why;
    /* Raw, its restart array sound: from now on searched in place, the
     * array not checked again (block_init_known). */
    block b;
    bits = TABLE_V2_CHECKED;
    if (*type == TABLE_V2_RAW && block_init(&b, stored, *raw) == NULL)
        bits |= TABLE_V2_RAW_IN_MAP;
    table_v2_checked_set(t, h, bits);
    return NULL;
}

int table_v2_checked_in_place(const table *t, table_v2_handle h)
{
    return table_v2_checked_get(t, h) == (TABLE_V2_CHECKED | TABLE_V2_RAW_IN_MAP);
}

/* ---- a lookup's block read in place (table_v2_block_get's first steps) ------- */

/* The end of block h (its trailer, and before it the restart array a
 * search reads first) asked of the memory where the file was last mapped,
 * so that the fetch goes on while the file cache is asked for the file:
 * a block read in place is mostly in no CPU cache.  Only a block that is
 * read in place (raw, checked before): any other may be in the block
 * cache, and its stored bytes not needed.  A prefetch never faults, so a
 * mapping since ended costs nothing but the hint. */
void table_v2_checked_prefetch(const table *t, table_v2_handle h, int in_place)
{
    uintptr_t map = atomic_load_explicit(&t->map_hint, memory_order_relaxed);
    /* (h lies inside the data blocks: its decode checked it.  In place,
     * the block was read from a mapping, whose address went to the hint
     * first; a hint not yet seen here prefetches nothing harmful.) */
    if (in_place) {
        uintptr_t end = map + (uintptr_t)(h.offset + h.size); /* (no pointer yet) */
        __builtin_prefetch((const void *)end);
        if (h.size >= 64)
            __builtin_prefetch((const void *)(end - 64));
    }
}

/* A lookup's raw block, checked in the mapping before, read where it lies
 * through the table's pinned file: no lock, no lookup in the file cache.
 * 1 if it was (*why NULL, or what is wrong with it), else 0 and the
 * lookup takes the way of every other read.  REQUIRES:
 * table_v2_checked_in_place(t, h). */
int table_v2_checked_pinned(table *t, table_v2_handle h, table_v2_blockref *ref,
                            unsigned *reads, const char **why)
{
    file_cache_handle *fh = atomic_load_explicit(&t->map_pin, memory_order_acquire);
    if (fh == NULL)
        return 0;
    uint64_t len;
    const uint8_t *map = file_cache_map(fh, &len);
    size_t n = (size_t)h.size + TABLE_V2_TRAILER;
    if (map == NULL || h.offset + n > len) /* (both below 2^63: no wrap) */
        return 0;
    table_v2_count(&t->kept.ctx->reads, 1);
    table_v2_count(&t->kept.ctx->read_bytes, n);
    if (reads != NULL)
        (*reads)++;
    /* What table_v2_block_keep does with such a block, its bits read
     * once: raw, h.size bytes, its restart array passed block_init; the
     * pin holds the file, not the block. */
    *why = block_init_known(&ref->b, map + h.offset, h.size);
    return 1;
}
