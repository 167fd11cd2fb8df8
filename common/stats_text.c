/*
 * stats_text.c: kv_stats' text builder (stats_text.h).
 */
#include "stats_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends n bytes of line and its '\n' (ST1, ST2). */
static void stats_text_append(stats_text *s, const char *line, size_t n)
{
    if (s->failed)
        return;
    size_t need = s->len + n + 2;
    if (need > s->cap) {
        size_t cap = need * 2;
        char *grown = realloc(s->p, cap);
        if (grown == NULL) {
            s->failed = 1;
            return;
        }
        s->p = grown;
        s->cap = cap;
    }
    memcpy(s->p + s->len, line, n);
    s->len += n;
    s->p[s->len++] = '\n';
    s->p[s->len] = '\0';
}

void stats_text_add(stats_text *s, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1; /* ST2 */
    stats_text_append(s, line, (size_t)n);
}

void stats_text_line(void *ctx, const char *line) { stats_text_append(ctx, line, strlen(line)); }
