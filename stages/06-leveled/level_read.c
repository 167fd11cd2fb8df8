/*
 * level_read.c: reading a version's tables (table_set_get and
 * table_set_iters, which stage 04's lsm_read.c and lsm_iter.c call once
 * they have read the view's memtables).
 *
 * A lookup asks the level-0 tables newest first (their ranges overlap, so
 * each may hold the key; table_get answers from the table's key range and
 * its bloom filter before it reads a block), then at most one table per
 * level >= 1 (version_level_find: a binary search of the level's ranges,
 * in memory).  The first version of the key found answers, since every
 * level holds only older writes than the levels above it.
 *
 * An iterator merges mem, imm (the engine's), one table iterator per
 * level-0 table and one level iterator (level_iter.h) per level >= 1.
 * Each level iterator holds a reference to the version, so no table it
 * reads is deleted while it lives; when no level >= 1 has a table, an
 * iterator over the empty last level is added all the same, to hold that
 * reference for the level-0 tables.
 */
#include <stdlib.h>

#include "error.h"
#include "level_iter.h"
#include "level_set.h"

int table_set_get(table_set *ts, const table_set_version *v, const ikey_lookup *lk,
                  void **val, size_t *vlen)
{
    size_t ulen = 0;
    const uint8_t *ukey = ikey_lookup_user(lk, &ulen);
    uint64_t reads = 0, searched = 0;
    int rc = KV_NOT_FOUND;
    int done = 0;
    for (int level = 0; !done && level < VERSION_LEVELS; level++) {
        size_t n = level == 0 ? v->nfiles[0] : 1;
        for (size_t i = 0; !done && i < n; i++) {
            vfile *f = level == 0 ? v->files[0][i]
                                  : version_level_find(v, level, ukey, ulen);
            if (f == NULL)
                break;
            table_get_result r;
            int st = table_get(f->t, lk, &r);
            reads += r.reads;
            searched += r.reads > 0;
            if (st != KV_OK) {
                rc = st;
                done = 1;
            } else if (r.state == IKEY_FOUND) {
                *val = r.value;
                *vlen = r.value_len;
                rc = KV_OK;
                done = 1;
            } else if (r.state == IKEY_DELETED) {
                done = 1;
            }
        }
    }
    __atomic_add_fetch(&ts->db->get_table_reads, reads, __ATOMIC_RELAXED);
    __atomic_add_fetch(&ts->db->get_tables_searched, searched, __ATOMIC_RELAXED);
    return rc;
}

size_t table_set_iters_max(const table_set_version *v)
{
    return v->nfiles[0] + VERSION_LEVELS - 1;
}

int table_set_iters(table_set_version *v, iter **out, size_t *n)
{
    int rc = KV_OK;
    *n = 0;
    for (size_t i = 0; rc == KV_OK && i < v->nfiles[0]; i++)
        if ((rc = table_iter_new(v->files[0][i]->t, &out[*n])) == KV_OK)
            (*n)++;
    int levels = 0;
    for (int level = 1; rc == KV_OK && level < VERSION_LEVELS; level++) {
        if (v->nfiles[level] == 0 && (levels > 0 || level + 1 < VERSION_LEVELS))
            continue; /* the last level's iterator holds the version if none else does */
        if ((rc = level_iter_new(v, level, NULL, NULL, &out[*n])) == KV_OK) {
            (*n)++;
            levels++;
        }
    }
    if (rc != KV_OK)
        while (*n > 0)
            iter_free(out[--*n]);
    return rc;
}
