/*
 * footer_fuzz.c: fuzz harness for the end of a stage-05 table
 * (stages/05-blocks/table_v2/table_v2_format.h): the fixed-size footer and the meta
 * blocks it leads to (the metaindex, the properties, the filter, the
 * index), as table_open reads them.
 *
 * The input is the tail of a table file: its meta region then its 48-byte
 * footer, the file's first D bytes (D, the footer's first field) left out.
 * The harness writes the right checksums into a copy (of the footer, then
 * of each meta block a handle points at: the fuzzer could not find them;
 * the table harness covers wrong ones) and decodes: the footer against the
 * file's size, each meta block's trailer, the metaindex's entries, the
 * properties, the filter (bloom_check), the index's restart array.
 * Nothing may crash or read outside the bytes (ASan), and every handle the
 * decoders accept lies inside the meta region.
 *
 * It is in FUZZ_05-blocks (stages/05-blocks/stage.mk); seeds are the tails
 * of real tables (scripts/fuzz_seeds.sh), docs/fuzzing.md says how to run
 * it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "bloom.h"
#include "crc32c.h"
#include "kv.h"
#include "table_v2_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void footer_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "footer fuzz invariant broken: %s\n", what);
        abort();
    }
}

/* Whether the block h, trailer included, lies inside [lo, hi) (without
 * the sums that could wrap). */
static int footer_fuzz_inside(table_v2_handle h, uint64_t lo, uint64_t hi)
{
    return h.offset >= lo && h.offset < hi && hi - h.offset >= TABLE_V2_TRAILER &&
           hi - h.offset - TABLE_V2_TRAILER >= h.size;
}

/* The meta block h of the tail (which starts at file offset d), its
 * checksum made to match, checked; its contents, or NULL. */
static const uint8_t *footer_fuzz_block(uint8_t *tail, uint64_t d, uint64_t meta_end,
                                        table_v2_handle h)
{
    if (!table_v2_handle_within(h, d, meta_end))
        return NULL;
    uint8_t *p = tail + (h.offset - d), *tr = p + h.size;
    coding_put_u32(tr + 5, crc32c_extend(crc32c_value(p, h.size), tr, 5));
    int type;
    uint32_t raw;
    if (table_v2_stored_check(p, h.size, &type, &raw) != NULL)
        return NULL;
    footer_fuzz_check(type == TABLE_V2_LZ4 || raw == h.size, "a raw block's sizes agree");
    return type == TABLE_V2_RAW ? p : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < TABLE_V2_FOOTER)
        return 0;
    uint8_t *tail = malloc(size); /* exactly the input: ASan sees overreads */
    footer_fuzz_check(tail != NULL, "allocate");
    memcpy(tail, data, size);
    uint8_t *foot = tail + size - TABLE_V2_FOOTER;
    uint64_t d = coding_get_u64(foot);
    uint64_t file_bytes = d + size < d ? UINT64_MAX : d + size;
    table_v2_footer f;
    unsigned at;
    /* As it is, then with its checksum right. */
    if (table_v2_footer_decode(foot, file_bytes, TABLE_V2_VERSION, &f, &at) == NULL)
        footer_fuzz_check(crc32c_value(foot, 44) == coding_get_u32(foot + 44),
                          "a footer is accepted only with its checksum");
    coding_put_u32(foot + 44, crc32c_value(foot, 44));
    const char *why = table_v2_footer_decode(foot, file_bytes, TABLE_V2_VERSION, &f, &at);
    footer_fuzz_check(why != NULL || at <= 44, "a failure names a field of the footer");
    if (why != NULL || f.data_end != d) {
        free(tail);
        return 0;
    }
    uint64_t meta_end = file_bytes - TABLE_V2_FOOTER;
    footer_fuzz_check(footer_fuzz_inside(f.index, d, meta_end) &&
                      footer_fuzz_inside(f.metaindex, d, meta_end),
                      "the footer's handles lie inside the meta region");
    const uint8_t *p = footer_fuzz_block(tail, d, meta_end, f.metaindex);
    block b;
    table_v2_handle filter, props;
    int has_filter = 0;
    if (p != NULL && block_init(&b, p, f.metaindex.size) == NULL &&
        table_v2_metaindex_decode(&b, &filter, &has_filter, &props) == NULL) {
        if ((p = footer_fuzz_block(tail, d, meta_end, props)) != NULL) {
            table_v2_props pr;
            if (table_v2_props_decode(p, props.size, &pr) == NULL)
                footer_fuzz_check(pr.entries >= 1 && pr.deletes <= pr.entries &&
                                  pr.smallest + pr.smallest_len <= p + props.size &&
                                  pr.largest + pr.largest_len == p + props.size,
                                  "the properties lie inside their block");
        }
        if (has_filter && (p = footer_fuzz_block(tail, d, meta_end, filter)) != NULL) {
            int rc = bloom_check(p, p + filter.size, NULL);
            footer_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT, "only KV_ERR_CORRUPT");
        }
    }
    if ((p = footer_fuzz_block(tail, d, meta_end, f.index)) != NULL)
        (void)block_init(&b, p, f.index.size);
    free(tail);
    return 0;
}
