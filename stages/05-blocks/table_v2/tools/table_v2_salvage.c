/*
 * table_v2_salvage.c: table_salvage for format v2 (table.h): what kv
 * repair can still read of a damaged table.
 *
 * Every stored block carries its own checksum (table_v2_format.h), so a
 * data block is believed or not on its own.  Two ways to find the blocks:
 *   - through the index, when the footer and the index block check: each
 *     data block the index names is read and checked; one that does not
 *     check is lost, and the index's separators bound what it held (a
 *     caller that read the index some other way names the blocks itself:
 *     table_v2_salvage_named; a gap between two named blocks is scanned);
 *   - without it (the footer or the index is damaged, or the file was cut
 *     short), from offset 16 on: a stored block has no length in front,
 *     so its end is found by its trailer, the first place after its start
 *     where the CRC-32C of the bytes so far and five more equals the four
 *     after them, and the block decodes into entries that ascend from the
 *     last key kept.  (The CRC is asked only where the five bytes could be
 *     a trailer's, a known compression and a raw size it allows; it is
 *     carried from one such place to the next, so the scan is linear.)  The
 *     next block starts after its trailer.  Where no block ends, the rest
 *     of the file is lost (without the index nothing says where the next
 *     block starts), unless the meta blocks start there: properties that
 *     count the entries read and end with the last key read say that
 *     every data block was read.
 * If the index fails part of the way, the scan goes on without it from the
 * end of the last block it named.  Within a block that checks, entries are
 * kept in order up to the first that is not an internal key above the
 * last one kept.
 */
#include <stdlib.h>
#include <string.h>

#include "block_value.h"
#include "crc32c.h"
#include "error.h"
#include "file_bytes.h"
#include "table_salvage.h"
#include "table_v2_format.h"

typedef struct salvage {
    salvage_sink sink;
    const uint8_t *p;
    uint8_t *raw;            /* a decompressed block */
    size_t raw_cap;
    uint8_t *value;          /* a value unpacked from its cell */
    size_t value_cap;
} salvage;

/* What salvage_block_open and salvage_unpack answer when room cannot be
 * had: no memory is this process's problem, never the table's damage, and
 * their callers return KV_ERR_NOMEM rather than drop what is there. */
static const char salvage_no_memory[] = "no memory";

static int salvage_nomem(const salvage *s, uint64_t at)
{
    return kv_error(KV_ERR_NOMEM, "%s: offset %llu: out of memory to read a block",
                    s->sink.path, (unsigned long long)at);
}

/* The stored block [at, at + size + 9) as a block of entries; NULL, why,
 * or salvage_no_memory. */
static const char *salvage_block_open(salvage *s, uint64_t at, uint32_t size, block *b)
{
    int type;
    uint32_t raw;
    const uint8_t *p = s->p + at;
    const char *why = table_v2_stored_check(p, size, &type, &raw);
    if (why != NULL)
        return why;
    if (type == TABLE_V2_LZ4) {
        if (raw > s->raw_cap) {
            uint8_t *grown = realloc(s->raw, raw);
            if (grown == NULL)
                return salvage_no_memory;
            s->raw = grown;
            s->raw_cap = raw;
        }
        if ((why = table_v2_uncompress(p, size, s->raw, raw)) != NULL)
            return why;
        p = s->raw;
    }
    return table_v2_block_init(b, p, raw, type);
}

/* The value of entry it of a block whose values are cells (block_value.h),
 * unpacked into s->value: *v and *n.  NULL, what is wrong, or
 * salvage_no_memory. */
static const char *salvage_unpack(salvage *s, const block_iter *it, const uint8_t **v,
                                  size_t *n)
{
    const char *why = block_value_size(it->value, it->value_len, n);
    if (why == NULL && *n > s->value_cap) {
        uint8_t *grown = realloc(s->value, *n);
        if (grown == NULL)
            return salvage_no_memory;
        s->value = grown;
        s->value_cap = *n;
    }
    *v = *n > 0 ? s->value : it->value; /* never NULL */
    return why != NULL ? why : block_value_unpack(it->value, it->value_len, s->value, *n);
}

/* Keeps the entries of the checked data block b (stored at `at`) in order,
 * up to the first one that is not an internal key above the last one kept:
 * from there the block is lost. */
static int salvage_entries(salvage *s, const block *b, uint64_t at)
{
    block_iter it = {0};
    block_iter_init(&it, b, TABLE_V2_IKEY_MIN);
    int rc = KV_OK;
    for (block_iter_seek_first(&it); rc == KV_OK && it.valid; block_iter_next(&it)) {
        if (!salvage_sink_follows(&s->sink, it.key, it.key_len)) {
            salvage_sink_damage(&s->sink, at, "an entry that is not an internal key above "
                                              "the one before it");
            break;
        }
        const uint8_t *v = it.value;
        size_t n = it.value_len;
        const char *why = b->cells ? salvage_unpack(s, &it, &v, &n) : NULL;
        if (why == salvage_no_memory) {
            rc = salvage_nomem(s, at);
            break;
        }
        if (why != NULL) {
            salvage_sink_damage(&s->sink, at, why);
            break;
        }
        rc = salvage_sink_keep(&s->sink, at, it.key, it.key_len, v, n);
    }
    if (rc == KV_OK && it.status == KV_ERR_NOMEM)
        rc = kv_error(KV_ERR_NOMEM, "%s: cannot allocate a key", s->sink.path);
    else if (rc == KV_OK && it.status != KV_OK)
        salvage_sink_damage(&s->sink, at, it.why);
    block_iter_free(&it);
    return rc;
}

/* 1 if the block's first entry would be kept: what tells a data block
 * found by its trailer from the meta blocks after the data; 0 if not; -1
 * if its key could not be held (no memory: nothing is known of the
 * block, and taking it for a meta block would lose its entries). */
static int salvage_first_follows(salvage *s, const block *b)
{
    block_iter it = {0};
    block_iter_init(&it, b, TABLE_V2_IKEY_MIN);
    block_iter_seek_first(&it);
    int ok = it.status == KV_ERR_NOMEM
                 ? -1
                 : it.valid && salvage_sink_follows(&s->sink, it.key, it.key_len);
    block_iter_free(&it);
    return ok;
}

/* The CRC-32C of [at, to) of a scan for a block that starts at `at`. */
typedef struct salvage_crc {
    uint64_t to;
    uint32_t crc;
} salvage_crc;

/* 1 if the block that starts at `at` may end at e: the trailer at e could
 * be a stored block's of e - at bytes (table_v2_trailer_check), and the
 * CRC of [at, e) and its first five bytes is the four after them.  A
 * trailer no block could have needs no CRC: table_v2_stored_check refuses
 * it all the same.  REQUIRES: at <= c->to <= e, e - at <= UINT32_MAX, the
 * trailer's TABLE_V2_TRAILER bytes inside the file. */
static int salvage_trailer_at(const salvage *s, uint64_t at, uint64_t e, salvage_crc *c)
{
    int type;
    uint32_t raw;
    if (table_v2_trailer_check(s->p + at, (uint32_t)(e - at), &type, &raw) != NULL)
        return 0;
    c->crc = crc32c_extend(c->crc, s->p + c->to, (size_t)(e - c->to));
    c->to = e;
    return crc32c_extend(c->crc, s->p + e, 5) == coding_get_u32(s->p + e + 5);
}

/* The end of the first stored block from `at` on (after its trailer), found
 * by its trailer; 0 if none ends before `end`. */
static uint64_t salvage_stored_end(const salvage *s, uint64_t at, uint64_t end)
{
    salvage_crc c = {at, 0};
    for (uint64_t e = at; e + TABLE_V2_TRAILER <= end && e - at <= UINT32_MAX; e++) {
        int type;
        uint32_t raw;
        if (salvage_trailer_at(s, at, e, &c) &&
            table_v2_stored_check(s->p + at, (uint32_t)(e - at), &type, &raw) == NULL)
            return e + TABLE_V2_TRAILER;
    }
    return 0;
}

/* 1 if, the footer being unreadable, the meta blocks start at `at`: the
 * filter (if any) and then properties that count the entries read and
 * end with the last key kept.  Every data block was read: only the
 * table's own structure is damaged. */
static int salvage_meta_follows(salvage *s, uint64_t at, uint64_t end)
{
    table_salvage_info *info = s->sink.info;
    for (int k = 0; k < 2 && info->entries > 0; k++) {
        uint64_t stop = salvage_stored_end(s, at, end);
        table_v2_props pr;
        if (stop == 0)
            return 0;
        if (table_v2_props_decode(s->p + at, stop - at - TABLE_V2_TRAILER, &pr) == NULL &&
            pr.entries == info->entries && pr.largest_len == s->sink.last_len &&
            memcmp(pr.largest, s->sink.last, s->sink.last_len) == 0) {
            info->expected = pr.entries;
            return 1;
        }
        at = stop;
    }
    return 0;
}

/* Without the index: the blocks of [at, end), each found by its trailer;
 * `to_eof`: end is the file's (the footer is unreadable), so the meta
 * blocks may follow the data. */
static int salvage_scan(salvage *s, uint64_t at, uint64_t end, int to_eof)
{
    int rc = KV_OK;
    while (rc == KV_OK && at + TABLE_V2_TRAILER < end) {
        salvage_crc c = {at, 0};
        uint64_t found = 0;
        block b;
        for (uint64_t e = at; e + TABLE_V2_TRAILER <= end && e - at <= UINT32_MAX; e++) {
            const char *why = NULL;
            int follows = 0;
            if (salvage_trailer_at(s, at, e, &c) &&
                (why = salvage_block_open(s, at, (uint32_t)(e - at), &b)) == NULL &&
                (follows = salvage_first_follows(s, &b)) != 0) {
                if (follows < 0)
                    return salvage_nomem(s, at);
                found = e + TABLE_V2_TRAILER;
                break;
            }
            if (why == salvage_no_memory)
                return salvage_nomem(s, at);
        }
        if (found == 0) {
            if (!to_eof || !salvage_meta_follows(s, at, end))
                salvage_sink_damage(&s->sink, at, "no data block can be read from here on "
                                    "(without the index, nothing says where the next one "
                                    "starts)");
            return KV_OK;
        }
        rc = salvage_entries(s, &b, at);
        at = found;
    }
    if (at < end)
        salvage_sink_damage(&s->sink, at, "bytes after the last data block that is whole");
    return rc;
}

/* The index block, if the footer and it check; *f gets the footer.  The
 * footer must say the version the header says.  An index whose entries do
 * not name the data blocks from offset 16 on names none here, and the
 * scan of [16, D) takes over, unless the caller named them. */
static int salvage_index(salvage *s, uint64_t size, table_v2_footer *f, block *ix)
{
    unsigned why_at;
    if (size < TABLE_V2_FILE_MIN ||
        table_v2_footer_decode(s->p + size - TABLE_V2_FOOTER, size,
                               coding_get_u32(s->p + 8), f, &why_at) != NULL)
        return 0;
    return table_v2_handle_within(f->index, f->data_end, size - TABLE_V2_FOOTER) &&
           table_v2_stored_check(s->p + f->index.offset, f->index.size, &(int){0},
                                 &(uint32_t){0}) == NULL &&
           s->p[f->index.offset + f->index.size] == TABLE_V2_RAW &&
           block_init(ix, s->p + f->index.offset, f->index.size) == NULL;
}

/* The entries the properties count, or 0 if they cannot be read. */
static uint64_t salvage_expected(const salvage *s, uint64_t size, const table_v2_footer *f)
{
    block mb;
    table_v2_handle filter, props;
    int has_filter, type;
    uint32_t raw;
    table_v2_props pr;
    uint64_t meta_end = size - TABLE_V2_FOOTER;
    if (!table_v2_handle_within(f->metaindex, f->data_end, meta_end) ||
        table_v2_stored_check(s->p + f->metaindex.offset, f->metaindex.size, &type, &raw) ||
        type != TABLE_V2_RAW ||
        block_init(&mb, s->p + f->metaindex.offset, f->metaindex.size) != NULL ||
        table_v2_metaindex_decode(&mb, &filter, &has_filter, &props) != NULL ||
        !table_v2_handle_within(props, f->data_end, meta_end) ||
        table_v2_stored_check(s->p + props.offset, props.size, &type, &raw) != NULL ||
        type != TABLE_V2_RAW || table_v2_props_decode(s->p + props.offset, props.size, &pr))
        return 0;
    return pr.entries;
}

/* The data blocks named by `named` (in order), each read and checked: one
 * that does not check is lost, and where the next named one starts is
 * known.  A gap before a named block (one an index that could not be read
 * named) is scanned for blocks.  Stops at a handle that goes back or lies
 * outside [16, data_end); *named_to is where the named blocks end. */
static int salvage_named(salvage *s, const table_v2_handle *named, size_t n, uint64_t data_end,
                         uint64_t *named_to)
{
    int rc = KV_OK;
    *named_to = TABLE_V2_DATA_AT;
    for (size_t i = 0; rc == KV_OK && i < n; i++) {
        table_v2_handle h = named[i];
        if (h.offset < *named_to || !table_v2_handle_within(h, TABLE_V2_DATA_AT, data_end))
            break; /* the scan takes over from *named_to */
        if (h.offset > *named_to && (rc = salvage_scan(s, *named_to, h.offset, 0)) != KV_OK)
            break;
        block b;
        const char *why = salvage_block_open(s, h.offset, h.size, &b);
        if (why == salvage_no_memory)
            rc = salvage_nomem(s, h.offset);
        else if (why != NULL)
            salvage_sink_damage(&s->sink, h.offset, why);
        else
            rc = salvage_entries(s, &b, h.offset);
        *named_to = h.offset + h.size + TABLE_V2_TRAILER;
    }
    return rc;
}

/* The data blocks the index names, while its entries name blocks back to
 * back from offset 16 (else the scan takes over where they stop):
 * malloc'd into *named, KV_OK or KV_ERR_NOMEM. */
static int salvage_index_names(salvage *s, const block *ix, uint64_t data_end,
                               table_v2_handle **named, size_t *n)
{
    block_iter it = {0};
    block_iter_init(&it, ix, TABLE_V2_IKEY_MIN);
    size_t cap = 0;
    uint64_t next = TABLE_V2_DATA_AT;
    int rc = KV_OK;
    *named = NULL;
    *n = 0;
    for (block_iter_seek_first(&it); it.valid; block_iter_next(&it)) {
        table_v2_handle h;
        const uint8_t *end = it.value + it.value_len;
        if (table_v2_handle_read(it.value, end, TABLE_V2_DATA_AT, data_end, &h) != end ||
            h.offset != next)
            break;
        if (*n == cap) {
            table_v2_handle *grown = realloc(*named, (cap = cap ? 2 * cap : 64) * sizeof *grown);
            if (grown == NULL) {
                rc = kv_error(KV_ERR_NOMEM, "%s: out of memory reading the index", s->sink.path);
                break;
            }
            *named = grown;
        }
        (*named)[(*n)++] = h;
        next = h.offset + h.size + TABLE_V2_TRAILER;
    }
    block_iter_free(&it);
    return rc;
}

int table_v2_salvage_named(const char *path, const table_v2_handle *named, size_t n,
                           table_entry_fn entry, table_loss_fn loss, void *ctx,
                           table_salvage_info *info)
{
    memset(info, 0, sizeof *info);
    file_bytes fb;
    int rc = file_bytes_open(path, &fb);
    salvage s = {.p = fb.p};
    salvage_sink_init(&s.sink, path, entry, loss, ctx, info);
    info->file_bytes = fb.n;
    table_v2_footer f;
    block ix;
    table_v2_handle *from_index = NULL;
    uint64_t from = TABLE_V2_DATA_AT, end = fb.n;
    int to_eof = 1;
    if (rc == KV_OK && salvage_index(&s, fb.n, &f, &ix)) {
        info->expected = salvage_expected(&s, fb.n, &f);
        end = f.data_end;
        to_eof = 0;
        if (named == NULL && (rc = salvage_index_names(&s, &ix, end, &from_index, &n)) == KV_OK)
            named = from_index;
        if (rc == KV_OK)
            rc = salvage_named(&s, named, n, end, &from);
    }
    if (rc == KV_OK && from < end)
        rc = salvage_scan(&s, from, end, to_eof);
    if (rc == KV_OK)
        salvage_sink_end(&s.sink, end);
    salvage_sink_free(&s.sink);
    file_bytes_close(&fb);
    free(from_index);
    free(s.raw);
    free(s.value);
    return rc;
}

int table_v2_salvage(const char *path, table_entry_fn entry, table_loss_fn loss, void *ctx,
                     table_salvage_info *info)
{
    return table_v2_salvage_named(path, NULL, 0, entry, loss, ctx, info);
}
