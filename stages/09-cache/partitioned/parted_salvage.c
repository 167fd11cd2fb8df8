/*
 * parted_salvage.c: table.h's table_salvage in this stage.  For a table of
 * partitions (version 2, parted_format.h): the data blocks its index
 * partitions name, for format v2's salvage to read
 * (table_v2_salvage_named).
 *
 * A version-2 table's footer names the top level, not the data blocks, so
 * format v2's own salvage would find them only by their trailers, and a
 * damaged data block would stop it there: without an index nothing says
 * where the next block starts.  Here the table is opened as the engine
 * opens it (table_open: its footer, kept blocks and top level checked,
 * P1), and each index partition that reads and checks names its data
 * blocks, so a damaged block costs only itself.  A damaged index
 * partition costs nothing either when its data blocks are whole: they lie
 * between the blocks the partitions around it name, and format v2 scans
 * that gap for them.  A file that does not open (a version-1 file too) is
 * format v2's to salvage as its own: through its index, or by a scan; an
 * open that fails for want of memory or a read is the salvage's failure
 * (a scan alone would stop at the first damaged block the index passes
 * over).
 */
#include <stdlib.h>

#include "error.h"
#include "kv.h"
#include "parted_format.h"
#include "table_salvage.h"

/* Appends the data blocks index partition ix names; KV_OK or KV_ERR_NOMEM. */
static int salvage_partition(const block *ix, uint64_t data_end, table_v2_handle **named,
                             size_t *n, size_t *cap)
{
    block_iter it = {0};
    block_iter_init(&it, ix, TABLE_V2_IKEY_MIN);
    int rc = KV_OK;
    for (block_iter_seek_first(&it); it.valid; block_iter_next(&it)) {
        table_v2_handle h;
        const uint8_t *end = it.value + it.value_len;
        if (table_v2_handle_read(it.value, end, TABLE_V2_DATA_AT, data_end, &h) != end)
            break; /* the rest of this partition is for the scan */
        if (*n == *cap) {
            size_t grown_cap = *cap ? 2 * *cap : 64;
            table_v2_handle *grown = realloc(*named, grown_cap * sizeof *grown);
            if (grown == NULL) {
                rc = kv_error(KV_ERR_NOMEM, "out of memory reading index partitions");
                break;
            }
            *named = grown;
            *cap = grown_cap;
        }
        (*named)[(*n)++] = h;
    }
    /* (An entry's key too long for the iterator's own room, and no memory
     * for it: this run's failure, not damage the scan could pass over.) */
    if (rc == KV_OK && it.status == KV_ERR_NOMEM)
        rc = kv_error(KV_ERR_NOMEM, "out of memory reading an index partition");
    block_iter_free(&it);
    return rc;
}

/* The data blocks the index partitions of t (version 2) name, in order;
 * a partition that cannot be read is passed over.  KV_OK or KV_ERR_NOMEM. */
static int salvage_named_blocks(table *t, table_v2_handle **named, size_t *n)
{
    const table_v2_kept *k = table_v2_kept_of(t);
    size_t cap = 0;
    int rc = KV_OK;
    block_iter top = {0};
    block_iter_init(&top, &k->index, TABLE_V2_IKEY_MIN);
    for (block_iter_seek_first(&top); rc == KV_OK && top.valid; block_iter_next(&top)) {
        table_v2_handle ih, fh;
        int has_filter, from_cache;
        table_v2_blockref ref;
        if (parted_top_entry(t, k, &top, &ih, &fh, &has_filter) != KV_OK)
            break; /* checked at open */
        rc = table_v2_block_get(t, NULL, ih, NULL, 0, NULL, &ref, &from_cache, NULL);
        if (rc == KV_OK) {
            rc = salvage_partition(&ref.b, k->data_end, named, n, &cap);
            table_v2_block_release(t, &ref);
        } else if (rc != KV_ERR_NOMEM) {
            rc = KV_OK; /* its data blocks are for the scan */
        }
    }
    if (rc == KV_OK && top.status == KV_ERR_NOMEM)
        rc = kv_error(KV_ERR_NOMEM, "out of memory reading the top-level index");
    block_iter_free(&top);
    return rc;
}

int table_salvage(const char *path, table_entry_fn entry, table_loss_fn loss, void *ctx,
                  table_salvage_info *info)
{
    table_ctx *tc = NULL;
    table *t = NULL;
    table_v2_handle *named = NULL;
    size_t n = 0;
    /* No record cache: the salvage makes no lookup whose answer it could
     * keep (as parted_tools.c's walks). */
    kv_options walk;
    kv_options_init(&walk);
    walk.record_cache_percent = KV_NO_RECORD_CACHE;
    int rc = table_ctx_new(&walk, &tc);
    int opened = rc == KV_OK ? table_open(tc, path, &t) : rc;
    if (opened == KV_ERR_NOMEM || opened == KV_ERR_IO)
        rc = opened; /* this run's failure, not the file's: no other salvage */
    else if (opened == KV_OK && table_v2_kept_of(t)->version == PARTED_VERSION)
        rc = salvage_named_blocks(t, &named, &n);
    table_unref(t);
    table_ctx_free(tc);
    if (rc == KV_OK) /* a file that cannot be read is format v2's to report */
        rc = table_v2_salvage_named(path, named, n, entry, loss, ctx, info);
    free(named);
    return rc;
}
