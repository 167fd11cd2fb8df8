/*
 * level_view.c: reading a stage-06 view's tables, the two functions stage
 * 04's lsm_read.c and lsm_iter.c (linked unchanged) ask of a view once
 * they have read its memtables.
 *
 * A lookup asks the level-0 tables newest first (their ranges overlap, so
 * each may hold the key; table_get answers from the table's key range and
 * its bloom filter before it reads a block), then at most one table per
 * level >= 1 (version_level_find: a binary search of the level's ranges,
 * in memory).  The first version of the key found answers, since every
 * level holds only older writes than the levels above it.
 *
 * An iterator merges mem, imm, one table iterator per level-0 table and
 * one level iterator (level_iter.h) per level >= 1.  Each level iterator
 * holds a reference to the version, so no table it reads is deleted while
 * it lives; when no level >= 1 has a table, an iterator over the empty
 * level 1 is added all the same, to hold that reference for the level-0
 * tables.
 */
#include <stdlib.h>

#include "error.h"
#include "level_db.h"
#include "level_iter.h"

int lsm_view_tables_get(kv_db *db, const lsm_view *view, const ikey_lookup *lk, void **val,
                        size_t *vlen)
{
    const version *v = ((const level_view *)view)->v;
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
    __atomic_add_fetch(&db->get_table_reads, reads, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->get_tables_searched, searched, __ATOMIC_RELAXED);
    return rc;
}

int lsm_view_iters(const lsm_view *view, iter ***out, size_t *n)
{
    version *v = ((const level_view *)view)->v;
    size_t cap = 2 + v->nfiles[0] + VERSION_LEVELS;
    iter **children = malloc(cap * sizeof *children);
    if (children == NULL)
        return kv_error(KV_ERR_NOMEM, "out of memory for the iterators of %zu tables", cap);
    int rc = memtable_iter_new(view->mem, &children[0]);
    *n = rc == KV_OK;
    if (rc == KV_OK && view->imm != NULL &&
        (rc = memtable_iter_new(view->imm, &children[1])) == KV_OK)
        (*n)++;
    for (size_t i = 0; rc == KV_OK && i < v->nfiles[0]; i++)
        if ((rc = table_iter_new(v->files[0][i]->t, &children[*n])) == KV_OK)
            (*n)++;
    int levels = 0;
    for (int level = 1; rc == KV_OK && level < VERSION_LEVELS; level++) {
        if (v->nfiles[level] == 0 && (levels > 0 || level + 1 < VERSION_LEVELS))
            continue; /* the last level's iterator holds the version if none else does */
        if ((rc = level_iter_new(v, level, NULL, NULL, &children[*n])) == KV_OK) {
            (*n)++;
            levels++;
        }
    }
    if (rc != KV_OK) {
        while (*n > 0)
            iter_free(children[--*n]);
        free(children);
        return rc;
    }
    *out = children;
    return KV_OK;
}
