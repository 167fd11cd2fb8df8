/*
 * inspect_line.c: building kv_inspect's lines (inspect_line.h).
 */
#include "inspect_line.h"

#include <stdio.h>
#include <string.h>

#include "escape.h"

void inspect_begin(inspect_line *l, const char *kind)
{
    l->len = 0;
    l->buf[0] = '\0';
    int n = snprintf(l->buf, sizeof l->buf, "%s", kind);
    l->len = n > 0 && (size_t)n < sizeof l->buf ? (size_t)n : 0;
}

/* Appends " name=" then text, or nothing if the whole field does not fit. */
static void inspect_field(inspect_line *l, const char *name, const char *text, int quoted)
{
    size_t room = sizeof l->buf - l->len;
    int n = snprintf(l->buf + l->len, room, quoted ? " %s=\"%s\"" : " %s=%s", name, text);
    if (n > 0 && (size_t)n < room)
        l->len += (size_t)n;
    else
        l->buf[l->len] = '\0';
}

void inspect_u64(inspect_line *l, const char *name, uint64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)v);
    inspect_field(l, name, text, 0);
}

void inspect_word(inspect_line *l, const char *name, const char *word)
{
    inspect_field(l, name, word, 0);
}

void inspect_double(inspect_line *l, const char *name, double v)
{
    char text[40];
    snprintf(text, sizeof text, "%.2f", v < 0 ? 0.0 : v);
    inspect_field(l, name, text, 0);
}

void inspect_key(inspect_line *l, const char *name, const void *key, size_t klen)
{
    char text[4 * INSPECT_KEY_SHOWN + 8];
    size_t shown = klen < INSPECT_KEY_SHOWN ? klen : INSPECT_KEY_SHOWN;
    escape_bytes(text, sizeof text, key, shown, shown);
    inspect_field(l, name, text, 1);
    if (shown < klen) {
        char len_name[64];
        snprintf(len_name, sizeof len_name, "%s_len", name);
        inspect_u64(l, len_name, klen);
    }
}

void inspect_emit(inspect_line *l, kv_line_fn fn, void *ctx)
{
    if (fn != NULL)
        fn(ctx, l->buf);
}

int inspect_cap_take(inspect_cap *c, const char *part, const char *name, kv_line_fn fn,
                     void *ctx)
{
    if (c->shown < KV_INSPECT_DETAIL_MAX) {
        c->shown++;
        return 1;
    }
    if (!c->cut) {
        c->cut = 1;
        inspect_line l;
        inspect_begin(&l, "cut");
        inspect_word(&l, "part", part);
        if (name != NULL)
            inspect_word(&l, "name", name);
        inspect_u64(&l, "shown", c->shown);
        inspect_emit(&l, fn, ctx);
    }
    return 0;
}
