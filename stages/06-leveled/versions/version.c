/*
 * version.c: versions of levels: reference counts, lookups by key
 * (version.h).  A version is made by version_builder.c.
 */
#include "version.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "escape.h"
#include "kv.h"

/* ---- vfiles --------------------------------------------------------------- */

int vfile_new(const edit_file *f, vfile **out)
{
    *out = NULL;
    vfile *v = calloc(1, sizeof *v);
    uint8_t *keys = malloc(f->smallest_len + f->largest_len + 1);
    if (v == NULL || keys == NULL) {
        free(v);
        free(keys);
        return kv_error(KV_ERR_NOMEM, "version: out of memory for table %06llu",
                        (unsigned long long)f->number);
    }
    atomic_init(&v->refs, 1);
    v->number = f->number;
    v->file_bytes = f->file_bytes;
    v->entries = f->entries;
    v->dead = f->dead;
    v->dead_from = f->dead_from;
    /* One allocation holds both keys: smallest, then largest. */
    memcpy(keys, f->smallest, f->smallest_len);
    memcpy(keys + f->smallest_len, f->largest, f->largest_len);
    v->smallest = keys;
    v->smallest_len = f->smallest_len;
    v->largest = keys + f->smallest_len;
    v->largest_len = f->largest_len;
    *out = v;
    return KV_OK;
}

int vfile_open_plain(void *ctx, const edit_file *f, vfile **out)
{
    (void)ctx;
    return vfile_new(f, out);
}

void vfile_ref(vfile *f)
{
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

void vfile_unref(vfile *f, vfile_release_fn release, void *ctx)
{
    if (f == NULL || atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (release != NULL)
        release(ctx, f);
    free(f->smallest);
    free(f);
}

/* ---- versions ------------------------------------------------------------- */

static atomic_ullong versions_made, versions_freed;

void version_counts(uint64_t *made, uint64_t *freed)
{
    *made = atomic_load_explicit(&versions_made, memory_order_relaxed);
    *freed = atomic_load_explicit(&versions_freed, memory_order_relaxed);
}

int version_new_empty(vfile_release_fn release, void *release_ctx, version **out)
{
    version *v = calloc(1, sizeof *v);
    *out = v;
    if (v == NULL)
        return kv_error(KV_ERR_NOMEM, "version: out of memory");
    atomic_fetch_add_explicit(&versions_made, 1, memory_order_relaxed);
    atomic_init(&v->refs, 1);
    v->release = release;
    v->release_ctx = release_ctx;
    return KV_OK;
}

void version_ref(version *v)
{
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

/* Frees v, dropping its hold on every file it has (the part made so far,
 * when an apply fails). */
static void version_free(version *v)
{
    for (int l = 0; l < VERSION_LEVELS; l++) {
        for (size_t i = 0; i < v->nfiles[l]; i++)
            vfile_unref(v->files[l][i], v->release, v->release_ctx);
        free(v->files[l]);
        free(v->fences[l]);
    }
    free(v);
    atomic_fetch_add_explicit(&versions_freed, 1, memory_order_relaxed);
}

void version_unref(version *v)
{
    if (v != NULL && atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1)
        version_free(v);
}

size_t version_total_files(const version *v)
{
    size_t n = 0;
    for (int l = 0; l < VERSION_LEVELS; l++)
        n += v->nfiles[l];
    return n;
}

uint64_t version_total_bytes(const version *v)
{
    uint64_t n = 0;
    for (int l = 0; l < VERSION_LEVELS; l++)
        n += v->level_bytes[l];
    return n;
}

/* ---- lookups -------------------------------------------------------------- */

size_t version_level_seek(const version *v, int level, const uint8_t *ikey, size_t len)
{
    size_t lo = 0, hi = v->nfiles[level];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const vfile *f = v->files[level][mid];
        if (ikey_compare(f->largest, f->largest_len, ikey, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The index of the first file of a level >= 1 whose largest user key is
 * >= user_key. */
static size_t level_seek_user(const version *v, int level, const uint8_t *ukey, size_t len)
{
    size_t lo = 0, hi = v->nfiles[level];
    if (v->fences[level] != NULL) /* narrowed first (version_fences.c) */
        version_fences_range(v, level, ukey, len, &lo, &hi);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const vfile *f = v->files[level][mid];
        if (ikey_user_compare(f->largest, f->largest_len - IKEY_TRAILER_SIZE, ukey, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

vfile *version_level_find(const version *v, int level, const uint8_t *user_key, size_t len)
{
    size_t i = level_seek_user(v, level, user_key, len);
    if (i == v->nfiles[level])
        return NULL;
    vfile *f = v->files[level][i];
    if (ikey_user_compare(user_key, len, f->smallest, f->smallest_len - IKEY_TRAILER_SIZE) < 0)
        return NULL;
    return f;
}

/* f's user-key range meets [begin, end] (NULL = unbounded). */
static int file_meets(const vfile *f, const uint8_t *begin, size_t blen, const uint8_t *end,
                      size_t elen)
{
    if (begin != NULL &&
        ikey_user_compare(f->largest, f->largest_len - IKEY_TRAILER_SIZE, begin, blen) < 0)
        return 0;
    if (end != NULL &&
        ikey_user_compare(f->smallest, f->smallest_len - IKEY_TRAILER_SIZE, end, elen) > 0)
        return 0;
    return 1;
}

int version_level_overlaps(const version *v, int level, const uint8_t *begin, size_t blen,
                           const uint8_t *end, size_t elen)
{
    if (level == 0) {
        for (size_t i = 0; i < v->nfiles[0]; i++)
            if (file_meets(v->files[0][i], begin, blen, end, elen))
                return 1;
        return 0;
    }
    size_t i = begin != NULL ? level_seek_user(v, level, begin, blen) : 0;
    return i < v->nfiles[level] && file_meets(v->files[level][i], begin, blen, end, elen);
}

uint64_t version_overlapping_bytes(const version *v, int level, const uint8_t *begin,
                                   size_t blen, const uint8_t *end, size_t elen)
{
    uint64_t bytes = 0;
    size_t i = begin != NULL ? level_seek_user(v, level, begin, blen) : 0;
    for (; i < v->nfiles[level] && file_meets(v->files[level][i], begin, blen, end, elen); i++)
        bytes += v->files[level][i]->file_bytes;
    return bytes;
}

int version_overlapping(const version *v, int level, const uint8_t *begin, size_t blen,
                        const uint8_t *end, size_t elen, vfile_list *out)
{
    out->files = NULL;
    out->n = 0;
    size_t nf = v->nfiles[level];
    if (nf == 0)
        return KV_OK;
    out->files = malloc(nf * sizeof *out->files);
    if (out->files == NULL)
        return kv_error(KV_ERR_NOMEM, "version: out of memory");
    if (level > 0) {
        size_t i = begin != NULL ? level_seek_user(v, level, begin, blen) : 0;
        for (; i < nf && file_meets(v->files[level][i], begin, blen, end, elen); i++)
            out->files[out->n++] = v->files[level][i];
        return KV_OK;
    }
    /* L0: grow [begin, end] by each file met, and start again whenever it
     * grew, until a pass adds nothing (LevelDB's GetOverlappingInputs). */
    const uint8_t *b = begin, *en = end;
    size_t bl = blen, el = elen;
    for (size_t i = 0; i < nf;) {
        const vfile *f = v->files[0][i++];
        if (!file_meets(f, b, bl, en, el))
            continue;
        int grew = 0;
        if (b != NULL &&
            ikey_user_compare(f->smallest, f->smallest_len - IKEY_TRAILER_SIZE, b, bl) < 0) {
            b = f->smallest;
            bl = f->smallest_len - IKEY_TRAILER_SIZE;
            grew = 1;
        }
        if (en != NULL &&
            ikey_user_compare(f->largest, f->largest_len - IKEY_TRAILER_SIZE, en, el) > 0) {
            en = f->largest;
            el = f->largest_len - IKEY_TRAILER_SIZE;
            grew = 1;
        }
        if (grew) {
            out->n = 0;
            i = 0;
        } else {
            out->files[out->n++] = v->files[0][i - 1];
        }
    }
    return KV_OK;
}
