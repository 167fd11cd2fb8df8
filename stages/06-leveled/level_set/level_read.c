/*
 * level_read.c: reading a version's tables (table_set_get and
 * table_set_iters, which stage 04's engine calls once it has read the
 * view's memtables; kv_inspect_get passes a look function, which sees
 * each table the very same lookup meets).
 *
 * A lookup asks the level-0 tables newest first (their ranges overlap, so
 * each may hold the key; table_get answers from the table's key range and
 * its bloom filter before it reads a block), then at most one table per
 * level >= 1 (version_level_find: a binary search of the level's ranges,
 * in memory).  The first version of the key found answers, since every
 * level holds only older writes than the levels above it.  A table no
 * deeper level has a table for (none whose range holds the key; of level
 * 0's, only the oldest) is the last a lookup can reach: it is asked with
 * table_get_last.  Most keys of a settled database are in such a table,
 * whether or not its level is the deepest that has tables.  The deeper
 * levels are searched to know it only where table_get_last skips
 * something (table_get_last_skips): a lookup that would ask every filter
 * anyway pays nothing for it.
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

/* One table's part of a lookup, or the look function's; last: no older
 * table can hold the key (table_get_last). */
static int level_get_table(vfile *f, int level, int last, const ikey_lookup *lk,
                           table_look_fn look, void *look_ctx, table_get_result *r)
{
    if (look != NULL)
        return look(look_ctx, f->t, level, last, lk, r);
    return last ? table_get_last(f->t, lk, r) : table_get(f->t, lk, r);
}

/* The table of each level >= 1 whose range holds the key
 * (version_level_find), looked for once: by the walk, or before it gets
 * there, to tell whether a table above is the last the lookup can reach. */
typedef struct level_finds {
    const table_set_version *v;
    const uint8_t *ukey;
    size_t ulen;
    vfile *f[VERSION_LEVELS];
    unsigned char known[VERSION_LEVELS];
} level_finds;

static inline vfile *level_find(level_finds *lf, int level)
{
    if (!lf->known[level]) {
        lf->f[level] = lf->v->nfiles[level] == 0
                           ? NULL
                           : version_level_find(lf->v, level, lf->ukey, lf->ulen);
        lf->known[level] = 1;
    }
    return lf->f[level];
}

/* 1 if no level below `level` has a table whose range holds the key. */
static int level_none_below(level_finds *lf, int level)
{
    for (int l = level + 1; l < VERSION_LEVELS; l++)
        if (level_find(lf, l) != NULL)
            return 0;
    return 1;
}

int table_set_get(const table_set_version *v, const ikey_lookup *lk, table_look_fn look,
                  void *look_ctx, void **val, size_t *vlen, int *elsewhere,
                  table_get_cost *cost)
{
    level_finds lf = {.v = v};
    lf.ukey = ikey_lookup_user(lk, &lf.ulen);
    for (int level = 0; level < VERSION_LEVELS; level++) {
        if (v->nfiles[level] == 0)
            continue; /* no table to ask, none a look is told of */
        size_t n = level == 0 ? v->nfiles[0] : 1;
        for (size_t i = 0; i < n; i++) {
            vfile *f = level == 0 ? v->files[0][i] : level_find(&lf, level);
            table_get_result r = {0};
            if (f == NULL) {
                /* No table of the level holds the key: a look says so. */
                if (look != NULL) {
                    int st = look(look_ctx, NULL, level, 0, lk, &r);
                    if (st != KV_OK)
                        return st;
                }
                break;
            }
            int last = (level > 0 || i + 1 == n) && table_get_last_skips(f->t) &&
                       level_none_below(&lf, level);
            int st = level_get_table(f, level, last, lk, look, look_ctx, &r);
            table_get_cost_add(cost, &r);
            if (st != KV_OK)
                return st;
            if (table_get_answered(&r, val, vlen, elsewhere, &st))
                return st;
        }
    }
    return KV_NOT_FOUND;
}

int table_set_iters(table_set_version *v, size_t lead, iter ***out, size_t *n)
{
    iter **its = malloc((lead + v->nfiles[0] + VERSION_LEVELS) * sizeof *its);
    if (its == NULL)
        return kv_error(KV_ERR_NOMEM, "out of memory for the iterators of %zu tables",
                        v->nfiles[0] + VERSION_LEVELS - 1);
    int rc = KV_OK;
    size_t k = lead;
    for (size_t i = 0; rc == KV_OK && i < v->nfiles[0]; i++)
        if ((rc = table_iter_new(v->files[0][i]->t, &its[k])) == KV_OK)
            k++;
    int levels = 0;
    for (int level = 1; rc == KV_OK && level < VERSION_LEVELS; level++) {
        if (v->nfiles[level] == 0 && (levels > 0 || level + 1 < VERSION_LEVELS))
            continue; /* the last level's iterator holds the version if none else does */
        if ((rc = level_iter_new(v, level, NULL, NULL, &its[k])) == KV_OK) {
            k++;
            levels++;
        }
    }
    if (rc != KV_OK) {
        while (k > lead)
            iter_free(its[--k]);
        free(its);
        return rc;
    }
    *out = its;
    *n = k;
    return KV_OK;
}
