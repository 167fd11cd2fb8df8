/*
 * table_v2_test_util.c: the helpers of table_v2_test_util.h.
 */
#include "table_v2_test_util.h"

#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../04-lsm/tests/table_test_util.h"
#include "kv.h"
#include "table_v2_format.h"

table_ctx *tv_ctx(size_t block_bytes, int compression, int bloom_bits_per_key)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.block_bytes = block_bytes;
    opt.compression = compression;
    opt.bloom_bits_per_key = bloom_bits_per_key;
    table_ctx *ctx;
    CHECK_KV(table_ctx_new(&opt, &ctx), KV_OK);
    return ctx;
}

void tv_file_read(const char *path, tv_file *f)
{
    memset(f, 0, sizeof *f);
    f->size = tt_read_file(path, &f->bytes);
    CHECK(f->size >= TABLE_V2_FILE_MIN);
    table_v2_footer foot;
    unsigned at;
    const char *why = table_v2_footer_decode(f->bytes + f->size - TABLE_V2_FOOTER, f->size,
                                             TABLE_V2_VERSION, &foot, &at);
    CHECK_MSG(why == NULL, "footer: %s", why);
    f->data_end = foot.data_end;
    f->index_at = foot.index.offset;
    f->metaindex_at = foot.metaindex.offset;
    block ix;
    CHECK(block_init(&ix, f->bytes + foot.index.offset, foot.index.size) == NULL);
    f->blocks = calloc(ix.nrestarts, sizeof *f->blocks);
    CHECK(f->blocks != NULL);
    block_iter it = {0};
    block_iter_init(&it, &ix, TABLE_V2_IKEY_MIN);
    for (block_iter_seek_first(&it); it.valid; block_iter_next(&it)) {
        tv_block *b = &f->blocks[f->nblocks++];
        table_v2_handle h;
        CHECK(table_v2_handle_decode(it.value, it.value + it.value_len, &h) ==
              it.value + it.value_len);
        b->offset = h.offset;
        b->stored = h.size;
        const uint8_t *tr = f->bytes + h.offset + h.size;
        b->type = tr[0];
        b->raw = coding_get_u32(tr + 1);
        b->sep_len = it.key_len < sizeof b->sep ? it.key_len : sizeof b->sep;
        memcpy(b->sep, it.key, b->sep_len);
    }
    CHECK_KV(it.status, KV_OK);
    block_iter_free(&it);
}

void tv_file_free(tv_file *f)
{
    free(f->bytes);
    free(f->blocks);
    memset(f, 0, sizeof *f);
}

uint8_t *tv_block_contents(const tv_file *f, size_t i)
{
    const tv_block *b = &f->blocks[i];
    uint8_t *out = malloc(b->raw);
    CHECK(out != NULL);
    const char *src = (const char *)f->bytes + b->offset;
    if (b->type == TABLE_V2_LZ4)
        CHECK_EQ(LZ4_decompress_safe(src, (char *)out, (int)b->stored, (int)b->raw),
                 (int)b->raw);
    else
        memcpy(out, src, b->raw);
    return out;
}

/* The value of "name: value" among the context's stats lines. */
double tv_stat(table_ctx *ctx, const char *name)
{
    tt_lines l = {0};
    table_ctx_describe(ctx, 0, tt_collect, &l);
    char want[64];
    snprintf(want, sizeof want, "%s: ", name);
    const char *p = strstr(l.text, want);
    CHECK_MSG(p != NULL, "no stat %s", name);
    double v = strtod(p + strlen(want), NULL);
    tt_lines_clear(&l);
    return v;
}
