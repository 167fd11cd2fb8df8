/*
 * table_salvage.c: what every format's salvage shares (table_salvage.h).
 */
#include "table_salvage.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

void salvage_sink_init(salvage_sink *s, const char *path, table_entry_fn entry,
                       table_loss_fn loss, void *ctx, table_salvage_info *info)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->entry = entry;
    s->loss = loss;
    s->ctx = ctx;
    s->info = info;
}

void salvage_sink_free(salvage_sink *s)
{
    free(s->last);
    s->last = NULL;
}

int salvage_sink_follows(const salvage_sink *s, const uint8_t *k, size_t n)
{
    ikey_parsed p;
    return ikey_decode(k, k + n, &p) &&
           (s->last_len == 0 || ikey_compare(s->last, s->last_len, k, n) < 0);
}

void salvage_sink_damage(salvage_sink *s, uint64_t at, const char *why)
{
    if (s->damaged)
        return;
    s->damaged = 1;
    s->bad = at;
    s->why = why;
}

/* The damaged region [s->bad, end) ends; `before` is the next key kept. */
static void salvage_sink_loss(salvage_sink *s, uint64_t end, const uint8_t *before,
                              size_t before_len)
{
    if (!s->damaged)
        return;
    s->damaged = 0;
    s->info->losses++;
    table_loss l = {.offset = s->bad, .end = end, .why = s->why,
                    .after = s->last_len ? s->last : NULL, .after_len = s->last_len,
                    .before = before, .before_len = before_len};
    if (s->loss != NULL)
        s->loss(s->ctx, &l);
}

int salvage_sink_keep(salvage_sink *s, uint64_t at, const uint8_t *k, size_t n,
                      const uint8_t *v, size_t vn)
{
    salvage_sink_loss(s, at, k, n);
    ikey_parsed p;
    ikey_decode(k, k + n, &p);
    table_salvage_info *info = s->info;
    if (info->entries == 0 || p.seq < info->min_seq)
        info->min_seq = p.seq;
    if (p.seq > info->max_seq)
        info->max_seq = p.seq;
    info->entries++;
    if (n > s->last_cap) {
        uint8_t *grown = realloc(s->last, n);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a key", s->path);
        s->last = grown;
        s->last_cap = n;
    }
    memcpy(s->last, k, n);
    s->last_len = n;
    return s->entry(s->ctx, k, n, v, p.type == IKEY_DELETE ? 0 : vn);
}

void salvage_sink_end(salvage_sink *s, uint64_t end)
{
    salvage_sink_loss(s, end, NULL, 0);
}
