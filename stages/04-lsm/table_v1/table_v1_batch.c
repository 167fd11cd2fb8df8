/*
 * table_v1_batch.c: a lookup in two steps (table_batch.h) for format v1,
 * which cannot say in advance what it will read: its binary search over
 * the offset array on disk chooses each read from the one before.  So the
 * first step is the whole lookup, and there is never a read to wait for.
 */
#include "table_batch.h"

#include "error.h"

int table_get_start(table *t, const ikey_lookup *lk, int last, table_get_result *r,
                    table_pending *p, int *pending)
{
    (void)p;
    *pending = 0;
    return last ? table_get_last(t, lk, r) : table_get(t, lk, r);
}

int table_get_finish(table_pending *p, const io_read_req *done, const ikey_lookup *lk,
                     table_get_result *r)
{
    (void)p, (void)done, (void)lk;
    *r = (table_get_result){.state = IKEY_ABSENT};
    return kv_error(KV_ERR_INVALID, "table format v1: no lookup waits for a read");
}

void table_pending_release(table_pending *p) { (void)p; }
