/*
 * stats_text.c: kv_stats' text builder (stats_text.h).
 */
#include "stats_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void stats_text_add(stats_text *s, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (s->failed || n < 0)
        return;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1; /* ST2 */
    size_t need = s->len + (size_t)n + 2;
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
    memcpy(s->p + s->len, line, (size_t)n);
    s->len += (size_t)n;
    s->p[s->len++] = '\n';
    s->p[s->len] = '\0';
}

void stats_text_line(void *ctx, const char *line) { stats_text_add(ctx, "%s", line); }
