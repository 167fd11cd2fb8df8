/*
 * table_v2_inspect.c: table_inspect.h for table format v2
 * (table_v2_format.h), from what an open table keeps in memory (its
 * index, or the one the caller hands in, and its filter; nothing is read
 * from the file):
 *
 *   index table=F off=O size=S blocks=N
 *   filter table=F off=O size=S bits=M k=K bits_set=B    (if it has one)
 *   block table=F n=I off=O size=S last="k"              (one per data block)
 *
 * A block's size is its stored size with its trailer; "last" is the
 * index's separator for it, a key >= the block's last key and < the next
 * block's first key (the table's largest key for the last block).
 */
#include <stdlib.h>

#include "inspect_line.h"
#include "table_inspect.h"
#include "table_v2_format.h"

static void table_v2_inspect_meta(table *t, const char *label, kv_line_fn line, void *ctx)
{
    inspect_line l;
    inspect_begin(&l, "index");
    inspect_word(&l, "table", label);
    inspect_u64(&l, "off", t->kept.index_h.offset);
    inspect_u64(&l, "size", t->kept.index_h.size + TABLE_V2_TRAILER);
    inspect_u64(&l, "blocks", t->kept.data_blocks);
    inspect_emit(&l, line, ctx);
    bloom_info info;
    const uint8_t *f = t->kept.filter;
    if (f == NULL || bloom_check(f, f + t->kept.filter_len, &info) != KV_OK)
        return;
    inspect_begin(&l, "filter");
    inspect_word(&l, "table", label);
    inspect_u64(&l, "off", t->filter_h.offset);
    inspect_u64(&l, "size", t->filter_h.size + TABLE_V2_TRAILER);
    inspect_u64(&l, "bits", info.bits);
    inspect_u64(&l, "k", (uint64_t)info.k);
    inspect_u64(&l, "bits_set", info.bits_set);
    inspect_emit(&l, line, ctx);
}

int table_v2_inspect_parts(table *t, const block *index, const char *label, kv_line_fn line,
                           void *ctx)
{
    table_v2_inspect_meta(t, label, line, ctx);
    int rc = KV_OK;
    if (index == NULL)
        return rc;
    block_iter ix;
    ix.key = NULL;
    ix.key_cap = 0;
    block_iter_init(&ix, index, TABLE_V2_IKEY_MIN);
    inspect_cap cap = {0};
    uint64_t n = 0;
    for (block_iter_seek_first(&ix); ix.valid; block_iter_next(&ix), n++) {
        table_v2_handle h;
        if ((rc = table_v2_index_handle(t, &ix, &h)) != KV_OK)
            break;
        if (!inspect_cap_take(&cap, "table", label, line, ctx))
            break;
        inspect_line l;
        inspect_begin(&l, "block");
        inspect_word(&l, "table", label);
        inspect_u64(&l, "n", n);
        inspect_u64(&l, "off", h.offset);
        inspect_u64(&l, "size", (uint64_t)h.size + TABLE_V2_TRAILER);
        inspect_key(&l, "last", ix.key, ix.key_len - IKEY_TRAILER_SIZE);
        inspect_emit(&l, line, ctx);
    }
    if (rc == KV_OK && ix.status != KV_OK)
        rc = table_v2_block_iter_error(t, &ix, "index", t->kept.index_h.offset);
    block_iter_free(&ix);
    return rc;
}
