/*
 * parted_salvage.c: table_salvage for a table of partitions (version 2,
 * parted_format.h): the data blocks its index partitions name, for format
 * v2's salvage to read (table_v2_salvage_named).
 *
 * A version-2 table's footer names the top level, not the data blocks, so
 * format v2's own salvage would find them only by their trailers, and a
 * damaged data block would stop it there: without an index nothing says
 * where the next block starts.  Here the top level is walked, and each
 * index partition that checks names its data blocks, so a damaged block
 * costs only itself.  A damaged index partition costs nothing either when
 * its data blocks are whole: they lie between the blocks the partitions
 * around it name, and format v2 scans that gap for them.  A file whose
 * footer or top level does not check is format v2's to scan, as any
 * other.
 */
#include <stdlib.h>

#include "coding.h"
#include "error.h"
#include "file_bytes.h"
#include "parted_format.h"
#include "table_salvage.h"

/* The stored block h of p (size bytes), checked, never compressed, as a
 * block in *b: 1, or 0 if it is damaged or out of [lo, hi). */
static int salvage_raw_block(const uint8_t *p, table_v2_handle h, uint64_t lo, uint64_t hi,
                             block *b)
{
    int type;
    uint32_t raw;
    return table_v2_handle_within(h, lo, hi) &&
           table_v2_stored_check(p + h.offset, h.size, &type, &raw) == NULL &&
           type == TABLE_V2_RAW && block_init(b, p + h.offset, h.size) == NULL;
}

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
        if (table_v2_handle_decode(it.value, end, &h) != end ||
            !table_v2_handle_within(h, TABLE_V2_DATA_AT, data_end))
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
    block_iter_free(&it);
    return rc;
}

int parted_salvage(const char *path, table_entry_fn entry, table_loss_fn loss, void *ctx,
                   table_salvage_info *info)
{
    file_bytes fb;
    int rc = file_bytes_open(path, &fb);
    table_v2_handle *named = NULL;
    size_t n = 0, cap = 0;
    table_v2_footer f;
    unsigned why_at;
    block top;
    if (rc == KV_OK && fb.n >= TABLE_V2_FILE_MIN && coding_get_u32(fb.p + 8) == PARTED_VERSION &&
        table_v2_footer_decode(fb.p + fb.n - TABLE_V2_FOOTER, fb.n, PARTED_VERSION, &f,
                               &why_at) == NULL &&
        salvage_raw_block(fb.p, f.index, f.data_end, fb.n - TABLE_V2_FOOTER, &top)) {
        block_iter it = {0};
        block_iter_init(&it, &top, TABLE_V2_IKEY_MIN);
        for (block_iter_seek_first(&it); rc == KV_OK && it.valid; block_iter_next(&it)) {
            table_v2_handle ih;
            block ix;
            const uint8_t *end = it.value + it.value_len;
            if (table_v2_handle_decode(it.value, end, &ih) != NULL &&
                salvage_raw_block(fb.p, ih, f.data_end, f.index.offset, &ix))
                rc = salvage_partition(&ix, f.data_end, &named, &n, &cap);
        }
        block_iter_free(&it);
    }
    file_bytes_close(&fb);
    if (rc != KV_ERR_NOMEM) /* a file that cannot be read is format v2's to report */
        rc = table_v2_salvage_named(path, named, n, entry, loss, ctx, info);
    free(named);
    return rc;
}
