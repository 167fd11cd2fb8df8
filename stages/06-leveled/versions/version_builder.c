/*
 * version_builder.c: a base version, edits, then the next version, with
 * the checks of version_builder.h.
 *
 * The builder keeps one slot per table number an edit touched, in a hash
 * table (open addressing, linear probing): whether the base's table of
 * that number was removed, and the table added under it, if any.  The
 * base itself is never changed; finish walks it once, leaves out what was
 * removed, adds what was added, and sorts each level.
 */
#include "version_builder.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "escape.h"
#include "internal_key.h"
#include "kv.h"

typedef struct vb_slot {
    uint64_t number;        /* 0: an empty slot */
    int base_removed;       /* the base's table of this number is removed */
    int added;              /* an added table of this number is in the version */
    edit_file file;         /* if added: a copy (its keys owned), file.level its level */
    uint64_t tag;           /* the edit that added it */
} vb_slot;

struct version_builder {
    version *base;
    vb_slot *slots;
    size_t nslots, nused;   /* nslots a power of two; at most half used */
};

int version_builder_new(const version *base, version_builder **out)
{
    version_builder *b = calloc(1, sizeof *b);
    *out = b;
    if (b == NULL)
        return kv_error(KV_ERR_NOMEM, "version: out of memory for a builder");
    b->base = (version *)base; /* a reference: the builder never changes it */
    version_ref(b->base);
    return KV_OK;
}

void version_builder_free(version_builder *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->nslots; i++)
        if (b->slots[i].added) {
            free(b->slots[i].file.smallest);
            free(b->slots[i].file.largest);
        }
    free(b->slots);
    version_unref(b->base);
    free(b);
}

/* ---- the slots ------------------------------------------------------------ */

static size_t vb_home(uint64_t number, size_t nslots)
{
    /* Fibonacci hashing; nslots is a power of two. */
    return (size_t)((number * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (nslots - 1);
}

static vb_slot *vb_find(const version_builder *b, uint64_t number)
{
    if (b->nslots == 0)
        return NULL;
    for (size_t i = vb_home(number, b->nslots);; i = (i + 1) & (b->nslots - 1)) {
        if (b->slots[i].number == number)
            return &b->slots[i];
        if (b->slots[i].number == 0)
            return NULL;
    }
}

/* The slot of `number`, made (empty of state) if there is none. */
static int vb_slot_of(version_builder *b, uint64_t number, vb_slot **out)
{
    *out = vb_find(b, number);
    if (*out != NULL)
        return KV_OK;
    if (2 * (b->nused + 1) > b->nslots) {
        size_t n = b->nslots ? 2 * b->nslots : 16;
        vb_slot *slots = calloc(n, sizeof *slots);
        if (slots == NULL)
            return kv_error(KV_ERR_NOMEM, "version: out of memory for %zu tables", n);
        for (size_t i = 0; i < b->nslots; i++) {
            if (b->slots[i].number == 0)
                continue;
            size_t j = vb_home(b->slots[i].number, n);
            while (slots[j].number != 0)
                j = (j + 1) & (n - 1);
            slots[j] = b->slots[i];
        }
        free(b->slots);
        b->slots = slots;
        b->nslots = n;
    }
    size_t i = vb_home(number, b->nslots);
    while (b->slots[i].number != 0)
        i = (i + 1) & (b->nslots - 1);
    b->slots[i].number = number;
    b->nused++;
    *out = &b->slots[i];
    return KV_OK;
}

/* The base's table `number` and its level, or NULL. */
static vfile *vb_in_base(const version *base, uint64_t number, int *level)
{
    for (int l = 0; l < VERSION_LEVELS; l++)
        for (size_t i = 0; i < base->nfiles[l]; i++)
            if (base->files[l][i]->number == number) {
                *level = l;
                return base->files[l][i];
            }
    return NULL;
}

/* The level that holds `number` in the version so far, or -1; *tag the
 * edit that added it (0: the base's). */
static int vb_level_of(const version_builder *b, uint64_t number, uint64_t *tag)
{
    const vb_slot *s = vb_find(b, number);
    int level = -1;
    *tag = 0;
    if (s != NULL && s->added) {
        *tag = s->tag;
        return s->file.level;
    }
    if ((s == NULL || !s->base_removed) && vb_in_base(b->base, number, &level) != NULL)
        return level;
    return -1;
}

/* ---- applying an edit -------------------------------------------------------- */

/* " (added by the record at offset TAG)", or nothing (tag 0). */
static const char *vb_added_by(uint64_t tag, char *buf, size_t n)
{
    if (tag == 0)
        return "";
    snprintf(buf, n, " (added by the record at offset %" PRIu64 ")", tag);
    return buf;
}

/* VB1. */
static int vb_remove(version_builder *b, const edit_removed *r)
{
    char by[64];
    uint64_t tag = 0;
    int level = vb_level_of(b, r->number, &tag);
    if (level < 0)
        return kv_error(KV_ERR_CORRUPT, "removes table %06" PRIu64 " from level %d, but no "
                        "level holds it", r->number, r->level);
    if (level != r->level)
        return kv_error(KV_ERR_CORRUPT, "removes table %06" PRIu64 " from level %d, but it is "
                        "at level %d%s", r->number, r->level, level,
                        vb_added_by(tag, by, sizeof by));
    vb_slot *s = NULL;
    int rc = vb_slot_of(b, r->number, &s);
    if (rc != KV_OK)
        return rc;
    if (s->added) {
        free(s->file.smallest);
        free(s->file.largest);
        s->added = 0;
    } else {
        s->base_removed = 1;
    }
    return KV_OK;
}

/* VB3: before anything is made of it. */
static int vb_check_added(const edit_file *f)
{
    if (f->level < 0 || f->level >= VERSION_LEVELS)
        return kv_error(KV_ERR_CORRUPT, "adds table %06" PRIu64 " to level %d (levels are "
                        "0..%d)", f->number, f->level, VERSION_LEVELS - 1);
    if (f->number == 0)
        return kv_error(KV_ERR_CORRUPT, "adds a table numbered 0 (numbers start at 1)");
    if (f->smallest_len <= IKEY_TRAILER_SIZE || f->largest_len <= IKEY_TRAILER_SIZE ||
        ikey_compare(f->smallest, f->smallest_len, f->largest, f->largest_len) > 0)
        return kv_error(KV_ERR_CORRUPT, "adds table %06" PRIu64 ", whose smallest key is not "
                        "an internal key at or below its largest", f->number);
    return KV_OK;
}

/* VB2. */
static int vb_add(version_builder *b, const edit_file *f, uint64_t tag)
{
    char by[64];
    uint64_t at = 0;
    int rc = vb_check_added(f);
    if (rc != KV_OK)
        return rc;
    int level = vb_level_of(b, f->number, &at);
    if (level >= 0)
        return kv_error(KV_ERR_CORRUPT, "adds table %06" PRIu64 " to level %d, but level %d "
                        "holds it already%s", f->number, f->level, level,
                        vb_added_by(at, by, sizeof by));
    vb_slot *s = NULL;
    if ((rc = vb_slot_of(b, f->number, &s)) != KV_OK)
        return rc;
    edit_file copy = *f;
    copy.smallest = malloc(f->smallest_len);
    copy.largest = malloc(f->largest_len);
    if (copy.smallest == NULL || copy.largest == NULL) {
        free(copy.smallest);
        free(copy.largest);
        return kv_error(KV_ERR_NOMEM, "version: out of memory for table %06" PRIu64, f->number);
    }
    memcpy(copy.smallest, f->smallest, f->smallest_len);
    memcpy(copy.largest, f->largest, f->largest_len);
    s->file = copy;
    s->added = 1;
    s->tag = tag;
    return KV_OK;
}

int version_builder_apply(version_builder *b, const version_edit *e, uint64_t tag)
{
    int rc = KV_OK;
    for (size_t i = 0; rc == KV_OK && i < e->nremoved; i++)
        rc = vb_remove(b, &e->removed[i]);
    for (size_t i = 0; rc == KV_OK && i < e->nadded; i++)
        rc = vb_add(b, &e->added[i], tag);
    return rc;
}

/* ---- the finished version ------------------------------------------------------ */

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

/* V3 over the sorted levels >= 1 of v (V1 holds by VB1 and VB2). */
static int vb_check_disjoint(const version *v)
{
    for (int l = 1; l < VERSION_LEVELS; l++) {
        for (size_t i = 1; i < v->nfiles[l]; i++) {
            const vfile *a = v->files[l][i - 1], *b = v->files[l][i];
            if (ikey_user_compare(a->largest, a->largest_len - IKEY_TRAILER_SIZE, b->smallest,
                                  b->smallest_len - IKEY_TRAILER_SIZE) >= 0) {
                char ka[100], kb[100];
                escape_bytes(ka, sizeof ka, a->largest, a->largest_len - IKEY_TRAILER_SIZE, 20);
                escape_bytes(kb, sizeof kb, b->smallest, b->smallest_len - IKEY_TRAILER_SIZE, 20);
                return kv_error(KV_ERR_CORRUPT, "level %d: table %06" PRIu64 " (largest key "
                                "\"%s\") overlaps table %06" PRIu64 " (smallest key \"%s\"); "
                                "a level above 0 holds disjoint tables", l, a->number, ka,
                                b->number, kb);
            }
        }
    }
    return KV_OK;
}

/* The vfile for an added table: the base's, if the edit moved it to
 * another level unchanged (a trivial move keeps the open table), else a
 * new one from open. */
static int vb_vfile(const version_builder *b, const vb_slot *s, vfile_open_fn open, void *ctx,
                    vfile **out)
{
    int level = 0;
    vfile *old = s->base_removed ? vb_in_base(b->base, s->number, &level) : NULL;
    const edit_file *f = &s->file;
    if (old != NULL && old->file_bytes == f->file_bytes &&
        ikey_compare(old->smallest, old->smallest_len, f->smallest, f->smallest_len) == 0 &&
        ikey_compare(old->largest, old->largest_len, f->largest, f->largest_len) == 0) {
        vfile_ref(old);
        *out = old;
        return KV_OK;
    }
    return open(ctx, f, out);
}

int version_builder_finish(version_builder *b, vfile_open_fn open, void *ctx, version **out)
{
    *out = NULL;
    const version *base = b->base;
    version *v = NULL;
    int rc = version_new_empty(base->release, base->release_ctx, &v);
    size_t cap[VERSION_LEVELS] = {0};
    for (int l = 0; l < VERSION_LEVELS; l++)
        cap[l] = base->nfiles[l];
    for (size_t i = 0; i < b->nslots; i++)
        if (b->slots[i].added)
            cap[b->slots[i].file.level]++;
    for (int l = 0; rc == KV_OK && l < VERSION_LEVELS; l++)
        if (cap[l] > 0 && (v->files[l] = malloc(cap[l] * sizeof *v->files[l])) == NULL)
            rc = kv_error(KV_ERR_NOMEM, "version: out of memory");
    for (int l = 0; rc == KV_OK && l < VERSION_LEVELS; l++)
        for (size_t i = 0; i < base->nfiles[l]; i++) {
            vfile *f = base->files[l][i];
            const vb_slot *s = vb_find(b, f->number);
            if (s != NULL && s->base_removed)
                continue;
            vfile_ref(f);
            v->files[l][v->nfiles[l]++] = f;
        }
    for (size_t i = 0; rc == KV_OK && i < b->nslots; i++) {
        const vb_slot *s = &b->slots[i];
        vfile *vf = NULL;
        if (s->added && (rc = vb_vfile(b, s, open, ctx, &vf)) == KV_OK)
            v->files[s->file.level][v->nfiles[s->file.level]++] = vf;
    }
    for (int l = 0; rc == KV_OK && l < VERSION_LEVELS; l++) {
        if (v->nfiles[l] > 1)
            qsort(v->files[l], v->nfiles[l], sizeof *v->files[l],
                  l == 0 ? by_number_newest_first : by_smallest);
        for (size_t i = 0; i < v->nfiles[l]; i++)
            v->level_bytes[l] += v->files[l][i]->file_bytes;
    }
    if (rc == KV_OK)
        rc = vb_check_disjoint(v);
    if (rc == KV_OK)
        rc = version_fences_make(v);
    if (rc != KV_OK) {
        version_unref(v); /* releases what was made so far */
        return rc;
    }
    *out = v;
    return KV_OK;
}

int version_apply(const version *base, const version_edit *e, vfile_open_fn open, void *ctx,
                  version **out)
{
    *out = NULL;
    version_builder *b = NULL;
    int rc = version_builder_new(base, &b);
    if (rc == KV_OK)
        rc = version_builder_apply(b, e, 0);
    if (rc == KV_OK)
        rc = version_builder_finish(b, open, ctx, out);
    if (rc != KV_OK && rc != KV_ERR_NOMEM) {
        char why[600];
        snprintf(why, sizeof why, "%s", kv_errmsg());
        kv_error(rc, "version edit: %s", why);
    }
    version_builder_free(b);
    return rc;
}
