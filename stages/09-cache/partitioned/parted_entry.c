/*
 * parted_entry.c: this stage's stand-in for stage 05's
 * table_v2/file_entry: where a table is opened, walked, checked and
 * mended, the file's version decides.  Version 2 (partitioned index and
 * filters, parted_format.h) is this stage's; version 1 is handed to
 * format v2's own steps (table_v2_parts.h), as stage 05 reads it.  New
 * tables are written as version 1 by default, as version 2 with
 * kv_options.table_partitions = KV_PARTITIONS (paced_build/).  Each
 * function here asks the open table its version (table_v2_kept) and calls
 * that version's code: nothing of format v2 calls back into this stage.
 * table_check, table_dump and table_inspect_parts are in parted_tools.c,
 * table_salvage in parted_salvage.c.
 */
#include "bloom.h"
#include "parted_format.h"
#include "table_inspect.h"

int table_open(table_ctx *ctx, const char *path, table **out)
{
    table_v2_footer f;
    int rc = table_v2_open_ends(ctx, path, PARTED_VERSION, out, &f);
    if (rc != KV_OK)
        return rc;
    /* Version 2's kept region begins at its top level (P), the index its
     * builder stored before the meta blocks; version 1's at D. */
    int parted = table_v2_kept_of(*out)->version == PARTED_VERSION;
    rc = table_v2_open_kept(*out, &f, parted ? f.index.offset : f.data_end);
    if (rc == KV_OK && parted)
        rc = parted_open_meta(*out, &f);
    if (rc != KV_OK) {
        table_unref(*out);
        *out = NULL;
    }
    return rc;
}

/* A version-2 table's iterator walks its index partitions joined into one
 * block (parted_join_index), made when the iterator is: an iterator reads
 * every block it passes anyway, and the index is about 1% of a table.  A
 * version-1 table's walks the index it keeps. */
int table_iter_new(table *t, iter **out)
{
    table_v2_blockref index;
    int rc = parted_join_index(t, &index);
    if (rc == KV_OK || rc == KV_ERR_NOMEM)
        return rc == KV_OK ? table_v2_iter_over(t, &index, out) : rc;
    /* An index that could not be had: an iterator failed with its error
     * (over the kept top level, which it never reads), as table.h has
     * only KV_ERR_NOMEM an error of table_iter_new. */
    table_v2_blockref top = {.b = table_v2_kept_of(t)->index};
    int failed = rc;
    if ((rc = table_v2_iter_over(t, &top, out)) == KV_OK)
        iter_fail(*out, failed);
    return rc;
}

/* Version 1's filter is the one its table keeps (table_v2_kept). */
int table_inspect_filter_says_absent(const table *t, const uint8_t *ukey, size_t ulen)
{
    const table_v2_kept *k = table_v2_kept_of(t);
    if (k->version == PARTED_VERSION)
        return parted_filter_says_absent((table *)t, ukey, ulen);
    return k->filter != NULL && !bloom_may_contain(k->filter, k->filter + k->filter_len, ukey,
                                                   ulen);
}
