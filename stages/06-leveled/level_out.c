/*
 * level_out.c: writing one output table (level_out.h).
 */
#include "level_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "level_files.h"

int level_out_begin(table_set *ts, uint64_t number, level_out *o)
{
    memset(o, 0, sizeof *o);
    o->number = number;
    char *path = level_table_path(&ts->db->dir, number);
    int rc = path ? table_builder_new(ts->db->tctx, path, &o->b) : KV_ERR_NOMEM;
    free(path);
    return rc;
}

static int level_out_keep(uint8_t **dst, size_t *cap, const uint8_t *p, size_t n)
{
    if (n > *cap) {
        uint8_t *grown = realloc(*dst, n);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "out of memory for a table's key range");
        *dst = grown;
        *cap = n;
    }
    memcpy(*dst, p, n);
    return KV_OK;
}

int level_out_add(level_out *o, const uint8_t *ikey, size_t klen, const uint8_t *val,
                  size_t vlen)
{
    uint64_t from = DROP_NEVER;
    int rc = drop_rule_next(&o->rule, ikey, klen, NULL, NULL, &from);
    if (rc == KV_OK)
        rc = table_builder_add(o->b, ikey, klen, val, vlen);
    if (rc == KV_OK && from != DROP_NEVER) {
        o->dead++;
        if (from > o->dead_from)
            o->dead_from = from;
    }
    if (rc == KV_OK && o->smallest == NULL) {
        size_t cap = 0;
        rc = level_out_keep(&o->smallest, &cap, ikey, klen);
        o->smallest_len = klen;
    }
    if (rc == KV_OK && (rc = level_out_keep(&o->largest, &o->largest_cap, ikey, klen)) == KV_OK)
        o->largest_len = klen;
    return rc;
}

int level_out_finish(level_out *o)
{
    table_builder *b = o->b;
    o->b = NULL;
    return table_builder_finish(b, &o->meta); /* removes the file if it fails */
}

int level_out_edit(const level_out *o, version_edit *e, int level)
{
    int rc = version_edit_add_file(e, level, o->number, o->meta.file_bytes, o->meta.entries,
                                   o->smallest, o->smallest_len, o->largest, o->largest_len);
    if (rc == KV_OK)
        version_edit_file_dead(e, o->dead, o->dead_from);
    return rc;
}

void level_out_free(table_set *ts, level_out *o, int remove)
{
    if (o->b != NULL) {
        table_builder_abandon(o->b);
    } else if (remove && o->number != 0 && o->meta.file_bytes > 0) {
        /* (Only a finished table: a failed finish removed its own file.)
         * The failure that led here stays the thread's message. */
        char why[1024];
        snprintf(why, sizeof why, "%s", kv_errmsg());
        char *path = level_table_path(&ts->db->dir, o->number);
        if (path != NULL)
            io_unlink(path); /* else garbage for the next open */
        free(path);
        kv_error(KV_OK, "%s", why);
    }
    free(o->smallest);
    free(o->largest);
    drop_rule_free(&o->rule);
    memset(o, 0, sizeof *o);
}
