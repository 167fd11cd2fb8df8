/*
 * table_lines.c: kv_inspect's lines about one table (table_lines.h).
 */
#include "table_lines.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "inspect_line.h"
#include "table_cost.h"
#include "table_inspect.h"

const char *table_lines_result(ikey_lookup_state state)
{
    static const char *const words[] = {"absent", "found", "deleted"};
    return words[state];
}

const char *table_lines_name(const table *t)
{
    const char *path = table_path(t);
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int table_lines_table(table *t, int level, unsigned flags, kv_line_fn line, void *ctx)
{
    size_t slen = 0, llen = 0;
    const uint8_t *smallest = table_smallest(t, &slen);
    const uint8_t *largest = table_largest(t, &llen);
    ikey_parsed lo, hi;
    if (!ikey_decode(smallest, smallest + slen, &lo) || !ikey_decode(largest, largest + llen, &hi))
        return kv_error(KV_ERR_CORRUPT, "kv_inspect: %s: its key range is not two internal "
                        "keys", table_path(t));
    const char *name = table_lines_name(t);
    inspect_line l;
    inspect_begin(&l, "table");
    inspect_word(&l, "file", name);
    if (level >= 0)
        inspect_u64(&l, "level", (uint64_t)level);
    inspect_u64(&l, "bytes", table_file_bytes(t));
    inspect_u64(&l, "entries", table_entries(t));
    inspect_key(&l, "smallest", lo.user_key, lo.user_len);
    inspect_key(&l, "largest", hi.user_key, hi.user_len);
    inspect_emit(&l, line, ctx);
    return (flags & KV_INSPECT_DETAIL) ? table_inspect_parts(t, name, line, ctx) : KV_OK;
}

int table_lines_look(table *t, int level, int last, const ikey_lookup *lk, kv_line_fn line,
                     void *ctx, table_get_result *r)
{
    inspect_line l;
    inspect_begin(&l, "look");
    inspect_word(&l, "part", "table");
    inspect_word(&l, "file", table_lines_name(t));
    if (level >= 0)
        inspect_u64(&l, "level", (uint64_t)level);
    /* The lookup itself, as the set asks this table: what it says it did
     * is what the line says. */
    int rc = last ? table_get_last(t, lk, r) : table_get(t, lk, r);
    if (rc != KV_OK)
        return rc;
    free(r->value);
    r->value = NULL;
    if (!r->in_range) {
        inspect_word(&l, "result", "skipped_range");
    } else if (r->filter_said_no) {
        inspect_word(&l, "result", "skipped_bloom");
    } else {
        inspect_word(&l, "result", table_lines_result(r->state));
        inspect_u64(&l, "reads", r->reads);
        kv_cost cost = {0};
        table_cost_add(&cost, r);
        if (cost.record_cache_hits) /* answered before its filter or entries */
            inspect_word(&l, "from", "record_cache");
        if (r->state == IKEY_FOUND)
            inspect_u64(&l, "vlen", r->value_len);
        if (r->state == IKEY_FOUND && r->elsewhere)
            inspect_word(&l, "value", "elsewhere"); /* vlen: where's bytes */
    }
    inspect_emit(&l, line, ctx);
    return KV_OK;
}
