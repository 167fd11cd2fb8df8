/*
 * hint_verify.c: a hint checked against its segment's records (see
 * hint_verify.h).
 */
#include "hint_verify.h"

#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "hint.h"
#include "kv.h"
#include "record_io.h"

typedef struct hint_verify_ctx {
    io_file *seg;
    uint8_t *buf;
    size_t cap;
    uint64_t entries;
} hint_verify_ctx;

static int hint_verify_entry(void *ctx, const uint8_t *key, size_t klen, uint64_t offset,
                             uint32_t size)
{
    hint_verify_ctx *c = ctx;
    hash_loc loc = {.offset = offset, .size = size};
    const uint8_t *val = NULL;
    size_t vlen = 0;
    int rc = record_read_value(c->seg, c->seg->end, &loc, key, klen, &c->buf, &c->cap, &val,
                               &vlen);
    if (rc == KV_ERR_CORRUPT) {
        char why[512];
        snprintf(why, sizeof why, "%s", kv_errmsg());
        rc = kv_error(KV_ERR_CORRUPT, "%s: offset %llu: the record there is not a put of "
                      "the key the hint names (%s)", io_path(c->seg),
                      (unsigned long long)offset, why);
    }
    c->entries++;
    return rc;
}

int hint_verify(const char *path, uint32_t id, io_file *seg, uint64_t *entries)
{
    hint_verify_ctx c = {.seg = seg};
    int rc = hint_load(path, id, seg->end, hint_verify_entry, &c, NULL);
    free(c.buf);
    if (entries != NULL)
        *entries = c.entries;
    return rc;
}
