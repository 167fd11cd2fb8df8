/*
 * manifest_state.c: replaying edits into a state, with the checks of
 * manifest_state.h.
 */
#include "manifest_state.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "internal_key.h"

void manifest_state_init(manifest_state *s)
{
    memset(s, 0, sizeof *s);
}

void manifest_state_free(manifest_state *s)
{
    for (size_t i = 0; i < s->nslots; i++)
        if (s->slots[i].file.number != 0 && !s->slots[i].gone) {
            free(s->slots[i].file.smallest);
            free(s->slots[i].file.largest);
        }
    free(s->slots);
    for (int l = 0; l < VERSION_LEVELS; l++) {
        for (size_t i = 0; i < s->nfiles[l]; i++) {
            free(s->files[l][i].smallest);
            free(s->files[l][i].largest);
        }
        free(s->files[l]);
        free(s->pointer[l]);
    }
    manifest_state_init(s);
}

/* ---- the tables by number: open addressing, linear probing ------------- */

static size_t slot_home(uint64_t number, size_t nslots)
{
    /* Fibonacci hashing; nslots is a power of two. */
    return (size_t)((number * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (nslots - 1);
}

/* The slot holding `number`, or NULL. */
static manifest_slot *slot_find(const manifest_state *s, uint64_t number)
{
    if (s->nslots == 0)
        return NULL;
    for (size_t i = slot_home(number, s->nslots);; i = (i + 1) & (s->nslots - 1)) {
        manifest_slot *sl = &s->slots[i];
        if (sl->file.number == 0)
            return NULL;
        if (sl->file.number == number && !sl->gone)
            return sl;
    }
}

/* Puts a table (whose number is not in the table) into a free slot. */
static void slot_put(manifest_slot *slots, size_t nslots, const edit_file *f, uint64_t at)
{
    size_t i = slot_home(f->number, nslots);
    while (slots[i].file.number != 0 && !slots[i].gone)
        i = (i + 1) & (nslots - 1);
    slots[i].file = *f;
    slots[i].added_at = at;
    slots[i].gone = 0;
}

/* Room for one more table: at most half the slots used, tombstones
 * included; a rebuild drops the tombstones. */
static int slots_reserve(manifest_state *s)
{
    if (2 * (s->nused + 1) <= s->nslots)
        return KV_OK;
    size_t n = 16;
    while (n < 4 * (s->nlive + 1))
        n *= 2;
    manifest_slot *slots = calloc(n, sizeof *slots);
    if (slots == NULL)
        return kv_error(KV_ERR_NOMEM, "manifest replay: out of memory for %zu tables", n);
    for (size_t i = 0; i < s->nslots; i++)
        if (s->slots[i].file.number != 0 && !s->slots[i].gone)
            slot_put(slots, n, &s->slots[i].file, s->slots[i].added_at);
    free(s->slots);
    s->slots = slots;
    s->nslots = n;
    s->nused = s->nlive;
    return KV_OK;
}

/* ---- applying an edit ----------------------------------------------------- */

static int state_remove(manifest_state *s, const edit_removed *r, uint64_t offset,
                        const char *path)
{
    manifest_slot *sl = slot_find(s, r->number);
    if (sl == NULL)
        return kv_error(KV_ERR_CORRUPT, "%s: record at offset %" PRIu64 ": removes table %"
                        PRIu64 " from level %d, but no level holds it", path, offset,
                        r->number, r->level);
    if (sl->file.level != r->level)
        return kv_error(KV_ERR_CORRUPT, "%s: record at offset %" PRIu64 ": removes table %"
                        PRIu64 " from level %d, but it is at level %d (added by the record "
                        "at offset %" PRIu64 ")", path, offset, r->number, r->level,
                        sl->file.level, sl->added_at);
    free(sl->file.smallest);
    free(sl->file.largest);
    sl->gone = 1;
    s->nlive--;
    return KV_OK;
}

static int state_add(manifest_state *s, const edit_file *f, uint64_t offset,
                     const char *path)
{
    const manifest_slot *sl = slot_find(s, f->number);
    if (sl != NULL)
        return kv_error(KV_ERR_CORRUPT, "%s: record at offset %" PRIu64 ": adds table %"
                        PRIu64 " to level %d, but level %d holds it already (added by the "
                        "record at offset %" PRIu64 ")", path, offset, f->number, f->level,
                        sl->file.level, sl->added_at);
    int rc = slots_reserve(s);
    if (rc != KV_OK)
        return rc;
    edit_file copy = *f;
    copy.smallest = malloc(f->smallest_len);
    copy.largest = malloc(f->largest_len);
    if (copy.smallest == NULL || copy.largest == NULL) {
        free(copy.smallest);
        free(copy.largest);
        return kv_error(KV_ERR_NOMEM, "manifest replay: out of memory for table %" PRIu64,
                        f->number);
    }
    memcpy(copy.smallest, f->smallest, f->smallest_len);
    memcpy(copy.largest, f->largest, f->largest_len);
    slot_put(s->slots, s->nslots, &copy, offset);
    s->nlive++;
    s->nused++;
    return KV_OK;
}

static int state_set_pointer(manifest_state *s, const edit_pointer *p)
{
    uint8_t *key = malloc(p->len);
    if (key == NULL)
        return kv_error(KV_ERR_NOMEM, "manifest replay: out of memory for a pointer");
    memcpy(key, p->key, p->len);
    free(s->pointer[p->level]);
    s->pointer[p->level] = key;
    s->pointer_len[p->level] = p->len;
    return KV_OK;
}

int manifest_state_apply(manifest_state *s, const version_edit *e, uint64_t offset,
                         const char *path)
{
    if (s->records == 0 && !(e->has_log_seq && e->has_next_file && e->has_last_seq))
        return kv_error(KV_ERR_CORRUPT, "%s: record at offset %" PRIu64 ": the first record "
                        "is not a snapshot: it does not set%s%s%s", path, offset,
                        e->has_log_seq ? "" : " log_seq", e->has_next_file ? "" : " next_file",
                        e->has_last_seq ? "" : " last_seq");
    if (e->has_log_seq)
        s->log_seq = e->log_seq;
    if (e->has_next_file)
        s->next_file = e->next_file;
    if (e->has_last_seq)
        s->last_seq = e->last_seq;
    int rc = KV_OK;
    for (size_t i = 0; rc == KV_OK && i < e->npointers; i++)
        rc = state_set_pointer(s, &e->pointers[i]);
    for (size_t i = 0; rc == KV_OK && i < e->nremoved; i++)
        rc = state_remove(s, &e->removed[i], offset, path);
    for (size_t i = 0; rc == KV_OK && i < e->nadded; i++)
        rc = state_add(s, &e->added[i], offset, path);
    if (rc == KV_OK)
        s->records++;
    return rc;
}

/* ---- the finished state ------------------------------------------------------ */

static int by_number_descending(const void *a, const void *b)
{
    uint64_t x = ((const edit_file *)a)->number, y = ((const edit_file *)b)->number;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int by_smallest(const void *a, const void *b)
{
    const edit_file *x = a, *y = b;
    int c = ikey_compare(x->smallest, x->smallest_len, y->smallest, y->smallest_len);
    return c != 0 ? c : by_number_descending(a, b);
}

/* Check 4 on a sorted level >= 1: user keys, as version.h requires (one
 * table per level may hold a key). */
static int state_check_disjoint(const manifest_state *s, int level, const char *path)
{
    const edit_file *f = s->files[level];
    for (size_t i = 1; i < s->nfiles[level]; i++)
        if (ikey_user_compare(f[i - 1].largest, f[i - 1].largest_len - IKEY_TRAILER_SIZE,
                              f[i].smallest, f[i].smallest_len - IKEY_TRAILER_SIZE) >= 0)
            return kv_error(KV_ERR_CORRUPT, "%s: level %d: tables %" PRIu64 " and %" PRIu64
                            " overlap (the first one's largest user key is not below the "
                            "second one's smallest); a level above 0 holds disjoint tables",
                            path, level, f[i - 1].number, f[i].number);
    return KV_OK;
}

int manifest_state_finish(manifest_state *s, const char *path)
{
    size_t count[VERSION_LEVELS] = {0};
    uint64_t max_number = 0;
    for (size_t i = 0; i < s->nslots; i++)
        if (s->slots[i].file.number != 0 && !s->slots[i].gone)
            count[s->slots[i].file.level]++;
    for (int l = 0; l < VERSION_LEVELS; l++)
        if (count[l] > 0 && (s->files[l] = malloc(count[l] * sizeof(edit_file))) == NULL)
            return kv_error(KV_ERR_NOMEM, "manifest replay: out of memory for %zu tables",
                            count[l]);
    for (size_t i = 0; i < s->nslots; i++) {
        manifest_slot *sl = &s->slots[i];
        if (sl->file.number == 0 || sl->gone)
            continue;
        int l = sl->file.level;
        s->files[l][s->nfiles[l]++] = sl->file; /* the keys move */
        s->level_bytes[l] += sl->file.file_bytes;
        if (sl->file.number > max_number)
            max_number = sl->file.number;
        sl->gone = 1;
    }
    free(s->slots);
    s->slots = NULL;
    s->nslots = s->nlive = s->nused = 0;
    for (int l = 0; l < VERSION_LEVELS; l++) {
        if (s->nfiles[l] > 1)
            qsort(s->files[l], s->nfiles[l], sizeof(edit_file),
                  l == 0 ? by_number_descending : by_smallest);
        int rc = l == 0 ? KV_OK : state_check_disjoint(s, l, path);
        if (rc != KV_OK)
            return rc;
    }
    if (max_number >= s->next_file)
        return kv_error(KV_ERR_CORRUPT, "%s: the next file number is %" PRIu64 ", but table %"
                        PRIu64 " is in the version: a new table would take its name", path,
                        s->next_file, max_number);
    return KV_OK;
}

int manifest_state_snapshot(const manifest_state *s, version_edit *e)
{
    version_edit_init(e);
    version_edit_set_log_seq(e, s->log_seq);
    version_edit_set_next_file(e, s->next_file);
    version_edit_set_last_seq(e, s->last_seq);
    int rc = KV_OK;
    for (int l = 0; rc == KV_OK && l < VERSION_LEVELS; l++)
        if (s->pointer[l] != NULL)
            rc = version_edit_set_pointer(e, l, s->pointer[l], s->pointer_len[l]);
    for (int l = 0; rc == KV_OK && l < VERSION_LEVELS; l++)
        for (size_t i = 0; rc == KV_OK && i < s->nfiles[l]; i++) {
            const edit_file *f = &s->files[l][i];
            rc = version_edit_add_file(e, l, f->number, f->file_bytes, f->entries,
                                       f->smallest, f->smallest_len, f->largest,
                                       f->largest_len);
        }
    if (rc != KV_OK)
        version_edit_free(e);
    return rc;
}
