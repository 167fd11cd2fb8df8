/*
 * table_v2_meta.c: the small fixed structures of a v2 table: block
 * handles, the footer, the properties and the metaindex's entries
 * (table_v2_format.h has their bytes).  Every decoder looks only inside
 * the bytes it is given and checks every number against what contains it.
 */
#include <string.h>

#include "crc32c.h"
#include "internal_key.h"
#include "table_v2_format.h"

uint8_t *table_v2_handle_encode(uint8_t *p, table_v2_handle h)
{
    p = coding_put_varint64(p, h.offset);
    return coding_put_varint32(p, h.size);
}

const uint8_t *table_v2_handle_decode(const uint8_t *p, const uint8_t *limit,
                                      table_v2_handle *h)
{
    h->nth1 = 0; /* the bytes say where, not which block (table_v2_checked.c) */
    p = coding_get_varint64(p, limit, &h->offset);
    return p == NULL ? NULL : coding_get_varint32(p, limit, &h->size);
}

int table_v2_handle_within(table_v2_handle h, uint64_t lo, uint64_t hi)
{
    return h.offset >= lo && h.offset <= hi && hi - h.offset >= TABLE_V2_TRAILER &&
           hi - h.offset - TABLE_V2_TRAILER >= h.size;
}

const uint8_t *table_v2_handle_read(const uint8_t *p, const uint8_t *limit, uint64_t lo,
                                    uint64_t hi, table_v2_handle *h)
{
    p = table_v2_handle_decode(p, limit, h);
    return p != NULL && table_v2_handle_within(*h, lo, hi) ? p : NULL;
}

/* ---- the footer ------------------------------------------------------------------ */

void table_v2_footer_encode(uint8_t out[TABLE_V2_FOOTER], const table_v2_footer *f)
{
    coding_put_u64(out, f->data_end);
    coding_put_u64(out + 8, f->index.offset);
    coding_put_u32(out + 16, f->index.size);
    coding_put_u64(out + 20, f->metaindex.offset);
    coding_put_u32(out + 28, f->metaindex.size);
    memcpy(out + 32, FILE_MAGIC_TBL05, FILE_MAGIC_SIZE);
    coding_put_u32(out + 40, f->version);
    coding_put_u32(out + 44, crc32c_value(out, 44));
}

const char *table_v2_footer_decode(const uint8_t p[TABLE_V2_FOOTER], uint64_t file_bytes,
                                   uint32_t version, table_v2_footer *f, unsigned *why_at)
{
    *why_at = 32;
    if (memcmp(p + 32, FILE_MAGIC_TBL05, FILE_MAGIC_SIZE) != 0)
        return "no footer of a stage-05 table here (the magic is not KVS05TBL: the file "
               "was cut short, or it is not a table)";
    *why_at = 40;
    if (coding_get_u32(p + 40) != version)
        return "the footer is of another version of table format v2 than the header";
    *why_at = 44;
    if (crc32c_value(p, 44) != coding_get_u32(p + 44))
        return "the footer's checksum does not match its bytes";
    f->version = version;
    f->data_end = coding_get_u64(p);
    f->index.offset = coding_get_u64(p + 8);
    f->index.size = coding_get_u32(p + 16);
    f->metaindex.offset = coding_get_u64(p + 20);
    f->metaindex.size = coding_get_u32(p + 28);
    uint64_t meta_end = file_bytes - TABLE_V2_FOOTER;
    *why_at = 0;
    if (file_bytes < TABLE_V2_FILE_MIN || f->data_end > meta_end ||
        f->data_end < TABLE_V2_DATA_AT + TABLE_V2_TRAILER)
        return "the footer puts the end of the data blocks outside the file";
    *why_at = 8;
    if (!table_v2_handle_within(f->index, f->data_end, meta_end))
        return "the footer's index handle points outside the meta blocks";
    *why_at = 20;
    if (!table_v2_handle_within(f->metaindex, f->data_end, meta_end))
        return "the footer's metaindex handle points outside the meta blocks";
    return NULL;
}

/* ---- properties ------------------------------------------------------------------ */

size_t table_v2_props_encode(uint8_t *out, const table_v2_props *p)
{
    size_t n = TABLE_V2_PROPS_FIXED + p->smallest_len + p->largest_len;
    if (out == NULL)
        return n;
    coding_put_u64(out, p->entries);
    coding_put_u64(out + 8, p->deletes);
    coding_put_u64(out + 16, p->data_blocks);
    coding_put_u64(out + 24, p->raw_bytes);
    coding_put_u32(out + 32, (uint32_t)p->smallest_len);
    coding_put_u32(out + 36, (uint32_t)p->largest_len);
    memcpy(out + 40, p->smallest, p->smallest_len);
    memcpy(out + 40 + p->smallest_len, p->largest, p->largest_len);
    return n;
}

const char *table_v2_props_decode(const uint8_t *p, size_t n, table_v2_props *out)
{
    if (n < TABLE_V2_PROPS_FIXED)
        return "the properties are shorter than their fixed part";
    out->entries = coding_get_u64(p);
    out->deletes = coding_get_u64(p + 8);
    out->data_blocks = coding_get_u64(p + 16);
    out->raw_bytes = coding_get_u64(p + 24);
    out->smallest_len = coding_get_u32(p + 32);
    out->largest_len = coding_get_u32(p + 36);
    if (out->smallest_len < TABLE_V2_IKEY_MIN || out->smallest_len > TABLE_V2_IKEY_MAX ||
        out->largest_len < TABLE_V2_IKEY_MIN || out->largest_len > TABLE_V2_IKEY_MAX ||
        n != TABLE_V2_PROPS_FIXED + out->smallest_len + out->largest_len)
        return "the properties' key lengths do not match their size";
    if (out->entries == 0 || out->deletes > out->entries || out->data_blocks == 0 ||
        out->data_blocks > out->entries)
        return "the properties' counts are impossible";
    out->smallest = p + TABLE_V2_PROPS_FIXED;
    out->largest = out->smallest + out->smallest_len;
    ikey_parsed a, b;
    if (!ikey_decode(out->smallest, out->smallest + out->smallest_len, &a) ||
        !ikey_decode(out->largest, out->largest + out->largest_len, &b) ||
        ikey_compare(out->smallest, out->smallest_len, out->largest, out->largest_len) > 0)
        return "the properties' smallest and largest keys are not two internal keys in order";
    return NULL;
}

/* ---- the metaindex ---------------------------------------------------------------- */

const char *table_v2_metaindex_decode(const block *b, table_v2_handle *filter,
                                      int *has_filter, table_v2_handle *props)
{
    block_iter it = {0};
    int has_props = 0;
    const char *why = NULL;
    *has_filter = 0;
    block_iter_init(&it, b, 1);
    for (block_iter_seek_first(&it); it.valid && why == NULL; block_iter_next(&it)) {
        table_v2_handle h;
        const uint8_t *end = it.value + it.value_len;
        int is_filter = it.key_len == strlen(TABLE_V2_META_FILTER) &&
                        memcmp(it.key, TABLE_V2_META_FILTER, it.key_len) == 0;
        int is_props = it.key_len == strlen(TABLE_V2_META_PROPS) &&
                       memcmp(it.key, TABLE_V2_META_PROPS, it.key_len) == 0;
        if (!is_filter && !is_props)
            continue;
        if (table_v2_handle_decode(it.value, end, &h) != end)
            why = "a metaindex entry's value is not a block handle";
        else if (is_filter ? *has_filter : has_props)
            why = "the metaindex names a meta block twice";
        else if (is_filter)
            *filter = h, *has_filter = 1;
        else
            *props = h, has_props = 1;
    }
    if (why == NULL && it.status != KV_OK)
        why = it.status == KV_ERR_NOMEM ? "out of memory for a metaindex key" : it.why;
    if (why == NULL && !has_props)
        why = "the metaindex has no properties entry";
    block_iter_free(&it);
    return why;
}
