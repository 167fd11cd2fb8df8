/*
 * manifest_state.c: replaying edits into a state, with the checks of
 * manifest_state.h.  The tables are the version builder's to keep.
 */
#include "manifest_state.h"

#include <inttypes.h>
#include <stdio.h>
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
    version_builder_free(s->builder);
    version_unref(s->v);
    for (int l = 0; l < VERSION_LEVELS; l++)
        free(s->pointer[l]);
    manifest_state_init(s);
}

/* The builder's message, prefixed with where in the manifest. */
static int state_corrupt(int rc, const char *path, uint64_t offset)
{
    if (rc == KV_ERR_NOMEM)
        return rc;
    char why[600];
    snprintf(why, sizeof why, "%s", kv_errmsg());
    return kv_error(rc, "%s: record at offset %" PRIu64 ": %s", path, offset, why);
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
    int rc = KV_OK;
    if (s->builder == NULL) {
        version *empty = NULL;
        if ((rc = version_new_empty(NULL, NULL, &empty)) == KV_OK)
            rc = version_builder_new(empty, &s->builder);
        version_unref(empty);
        if (rc != KV_OK)
            return rc;
    }
    if (e->has_log_seq)
        s->log_seq = e->log_seq;
    if (e->has_next_file)
        s->next_file = e->next_file;
    if (e->has_last_seq)
        s->last_seq = e->last_seq;
    for (size_t i = 0; rc == KV_OK && i < e->npointers; i++)
        rc = state_set_pointer(s, &e->pointers[i]);
    if (rc == KV_OK && (rc = version_builder_apply(s->builder, e, offset)) != KV_OK)
        return state_corrupt(rc, path, offset);
    if (rc == KV_OK)
        s->records++;
    return rc;
}

int manifest_state_finish(manifest_state *s, const char *path)
{
    int rc = version_builder_finish(s->builder, vfile_open_plain, NULL, &s->v);
    version_builder_free(s->builder);
    s->builder = NULL;
    if (rc != KV_OK) {
        if (rc == KV_ERR_NOMEM)
            return rc;
        char why[600];
        snprintf(why, sizeof why, "%s", kv_errmsg());
        return kv_error(rc, "%s: %s", path, why);
    }
    uint64_t max_number = 0;
    for (int l = 0; l < VERSION_LEVELS; l++)
        for (size_t i = 0; i < s->v->nfiles[l]; i++)
            if (s->v->files[l][i]->number > max_number)
                max_number = s->v->files[l][i]->number;
    /* (Room after it: the next manifest's number would wrap it to 0, and
     * a new table take table 0's name; kv_repair lowers it, level_repair.c.) */
    if (s->next_file >= UINT64_MAX - 1)
        return kv_error(KV_ERR_CORRUPT, "%s: the next file number is %" PRIu64 ", with no room "
                        "after it for the numbers the engine takes next (at most 2^64 - 3)",
                        path, s->next_file);
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
        for (size_t i = 0; rc == KV_OK && i < s->v->nfiles[l]; i++) {
            const vfile *f = s->v->files[l][i];
            rc = version_edit_add_file(e, l, f->number, f->file_bytes, f->entries,
                                       f->smallest, f->smallest_len, f->largest,
                                       f->largest_len);
            if (rc == KV_OK)
                version_edit_file_dead(e, f->dead, f->dead_from);
        }
    if (rc != KV_OK)
        version_edit_free(e);
    return rc;
}
