/*
 * version_fences.c: the search for a key's table in a level narrowed first
 * by a number per table (common/key_fence.h).
 *
 * A get asks one table per level >= 1: the first whose largest user key
 * is at or above the key (version_level_find).  Its binary search over a
 * level of some hundreds of tables follows, at each of its ten or so
 * probes, a pointer to the table's vfile and another to its largest key:
 * three loads that depend on each other, in lines no other probe shares.
 * So each version keeps, for each level >= 1, the fence of every table's
 * largest user key past the bytes they all share, made with the version
 * (a version never changes): the binary search runs over that dense
 * array, and the keys themselves are compared only where fences are
 * equal, usually for no table or one.  8 bytes a table a level, for each
 * version alive.  Stage 05's tables keep the same kind of numbers for
 * their index (table_v2_fences.c).
 */
#include <stdlib.h>

#include "error.h"
#include "key_fence.h"
#include "version.h"

static size_t vf_user_len(size_t ikey_len)
{
    return ikey_len - IKEY_TRAILER_SIZE;
}

int version_fences_make(version *v)
{
    for (int l = 1; l < VERSION_LEVELS; l++) {
        size_t n = v->nfiles[l];
        if (n < 2)
            continue; /* one table: nothing to narrow */
        /* The bytes every largest key shares: those the first and the last
         * share (V3: in order). */
        const vfile *first = v->files[l][0], *last = v->files[l][n - 1];
        size_t a = vf_user_len(first->largest_len), b = vf_user_len(last->largest_len), skip = 0;
        while (skip < a && skip < b && first->largest[skip] == last->largest[skip])
            skip++;
        uint64_t *f = malloc(n * sizeof *f);
        if (f == NULL)
            return kv_error(KV_ERR_NOMEM, "version: out of memory for the fences of %zu tables",
                            n);
        for (size_t i = 0; i < n; i++) {
            const vfile *vf = v->files[l][i];
            f[i] = key_fence(vf->largest + skip, vf_user_len(vf->largest_len) - skip);
        }
        v->fences[l] = f;
        v->fence_skip[l] = skip;
    }
    return KV_OK;
}

void version_fences_range(const version *v, int level, const uint8_t *ukey, size_t len,
                          size_t *lo, size_t *hi)
{
    size_t n = v->nfiles[level], skip = v->fence_skip[level];
    const vfile *last = v->files[level][n - 1];
    int side = key_fence_side(ukey, len, last->largest, skip);
    if (side != 0) {
        /* Below every largest key: the first table; above: none. */
        *lo = *hi = side < 0 ? 0 : n;
        return;
    }
    size_t i, j;
    key_fence_equal_range(v->fences[level], n, key_fence(ukey + skip, len - skip), &i, &j);
    /* Tables before i have their largest key below ukey, from j on above
     * it (KF1): the first at or above it is one of i .. j. */
    *lo = i;
    *hi = j;
}
