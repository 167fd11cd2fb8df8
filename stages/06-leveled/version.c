/*
 * version.c: versions of levels, made from the one before and an edit;
 * reference counts; lookups by key (version.h).
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

/* ---- applying an edit ----------------------------------------------------- */

static int removed_by(const version_edit *e, int level, uint64_t number)
{
    for (size_t i = 0; i < e->nremoved; i++)
        if (e->removed[i].level == level && e->removed[i].number == number)
            return 1;
    return 0;
}

static vfile *find_in_level(const version *v, int level, uint64_t number)
{
    for (size_t i = 0; i < v->nfiles[level]; i++)
        if (v->files[level][i]->number == number)
            return v->files[level][i];
    return NULL;
}

static int by_number_newest_first(const void *a, const void *b)
{
    uint64_t x = (*(vfile *const *)a)->number, y = (*(vfile *const *)b)->number;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int by_smallest(const void *a, const void *b)
{
    const vfile *x = *(vfile *const *)a, *y = *(vfile *const *)b;
    int c = ikey_compare(x->smallest, x->smallest_len, y->smallest, y->smallest_len);
    if (c != 0)
        return c;
    return x->number < y->number ? -1 : x->number > y->number;
}

static int u64_ascending(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* V4 for one added file, before anything is made of it. */
static int check_added(const edit_file *f)
{
    if (f->level < 0 || f->level >= VERSION_LEVELS)
        return kv_error(KV_ERR_CORRUPT, "version edit: table %06llu added to level %d (levels are 0..%d)",
                        (unsigned long long)f->number, f->level, VERSION_LEVELS - 1);
    if (f->smallest_len <= IKEY_TRAILER_SIZE || f->largest_len <= IKEY_TRAILER_SIZE ||
        ikey_compare(f->smallest, f->smallest_len, f->largest, f->largest_len) > 0)
        return kv_error(KV_ERR_CORRUPT,
                        "version edit: table %06llu: smallest key is not an internal key at or "
                        "below its largest",
                        (unsigned long long)f->number);
    return KV_OK;
}

/* The file that an edit both removes (from base) and adds again under the
 * same number: a trivial move.  Its vfile, with the open table, is kept. */
static vfile *moved_file(const version *base, const version_edit *e, const edit_file *f)
{
    for (size_t i = 0; i < e->nremoved; i++) {
        if (e->removed[i].number != f->number)
            continue;
        vfile *old = find_in_level(base, e->removed[i].level, f->number);
        if (old != NULL && old->file_bytes == f->file_bytes &&
            ikey_compare(old->smallest, old->smallest_len, f->smallest, f->smallest_len) == 0 &&
            ikey_compare(old->largest, old->largest_len, f->largest, f->largest_len) == 0)
            return old;
    }
    return NULL;
}

/* V1 and V3 over the finished levels of v. */
static int check_levels(const version *v)
{
    size_t total = version_total_files(v), k = 0;
    uint64_t *numbers = malloc((total + 1) * sizeof *numbers);
    if (numbers == NULL)
        return kv_error(KV_ERR_NOMEM, "version: out of memory");
    for (int l = 0; l < VERSION_LEVELS; l++)
        for (size_t i = 0; i < v->nfiles[l]; i++)
            numbers[k++] = v->files[l][i]->number;
    qsort(numbers, total, sizeof *numbers, u64_ascending);
    for (size_t i = 1; i < total; i++) {
        if (numbers[i] == numbers[i - 1]) {
            unsigned long long n = (unsigned long long)numbers[i];
            free(numbers);
            return kv_error(KV_ERR_CORRUPT, "version edit: table %06llu would be in the version twice", n);
        }
    }
    free(numbers);
    for (int l = 1; l < VERSION_LEVELS; l++) {
        for (size_t i = 1; i < v->nfiles[l]; i++) {
            const vfile *a = v->files[l][i - 1], *b = v->files[l][i];
            if (ikey_user_compare(a->largest, a->largest_len - IKEY_TRAILER_SIZE, b->smallest,
                                  b->smallest_len - IKEY_TRAILER_SIZE) >= 0) {
                char ka[100], kb[100];
                escape_bytes(ka, sizeof ka, a->largest, a->largest_len - IKEY_TRAILER_SIZE, 20);
                escape_bytes(kb, sizeof kb, b->smallest, b->smallest_len - IKEY_TRAILER_SIZE, 20);
                return kv_error(KV_ERR_CORRUPT,
                                "version edit: level %d: table %06llu (largest key \"%s\") overlaps "
                                "table %06llu (smallest key \"%s\")",
                                l, (unsigned long long)a->number, ka,
                                (unsigned long long)b->number, kb);
            }
        }
    }
    return KV_OK;
}

int version_apply(const version *base, const version_edit *e, vfile_open_fn open, void *ctx,
                  version **out)
{
    *out = NULL;
    for (size_t i = 0; i < e->nremoved; i++) {
        int l = e->removed[i].level;
        uint64_t n = e->removed[i].number;
        if (l < 0 || l >= VERSION_LEVELS || find_in_level(base, l, n) == NULL)
            return kv_error(KV_ERR_CORRUPT, "version edit: removes table %06llu from level %d, "
                            "which does not hold it", (unsigned long long)n, l);
        for (size_t j = 0; j < i; j++)
            if (e->removed[j].level == l && e->removed[j].number == n)
                return kv_error(KV_ERR_CORRUPT, "version edit: removes table %06llu twice",
                                (unsigned long long)n);
    }
    for (size_t i = 0; i < e->nadded; i++) {
        int rc = check_added(&e->added[i]);
        if (rc != KV_OK)
            return rc;
    }
    version *v;
    int rc = version_new_empty(base->release, base->release_ctx, &v);
    if (rc != KV_OK)
        return rc;
    for (int l = 0; l < VERSION_LEVELS; l++) {
        size_t cap = base->nfiles[l];
        for (size_t i = 0; i < e->nadded; i++)
            cap += e->added[i].level == l;
        if (cap == 0)
            continue;
        v->files[l] = malloc(cap * sizeof *v->files[l]);
        if (v->files[l] == NULL) {
            version_free(v);
            return kv_error(KV_ERR_NOMEM, "version: out of memory");
        }
        for (size_t i = 0; i < base->nfiles[l]; i++) {
            vfile *f = base->files[l][i];
            if (!removed_by(e, l, f->number)) {
                vfile_ref(f);
                v->files[l][v->nfiles[l]++] = f;
            }
        }
    }
    for (size_t i = 0; i < e->nadded; i++) {
        const edit_file *f = &e->added[i];
        vfile *vf = moved_file(base, e, f);
        if (vf != NULL) {
            vfile_ref(vf);
        } else if ((rc = open(ctx, f, &vf)) != KV_OK) {
            version_free(v);
            return rc;
        }
        v->files[f->level][v->nfiles[f->level]++] = vf;
    }
    for (int l = 0; l < VERSION_LEVELS; l++) {
        if (v->nfiles[l] > 1)
            qsort(v->files[l], v->nfiles[l], sizeof *v->files[l],
                  l == 0 ? by_number_newest_first : by_smallest);
        for (size_t i = 0; i < v->nfiles[l]; i++)
            v->level_bytes[l] += v->files[l][i]->file_bytes;
    }
    if ((rc = check_levels(v)) != KV_OK) {
        version_free(v);
        return rc;
    }
    *out = v;
    return KV_OK;
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
