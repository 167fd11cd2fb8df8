/*
 * stats_text.h: the text kv_stats returns, built one "name: value" line at
 * a time in a growing buffer.
 *
 * Invariants:
 *   ST1. p holds len bytes of whole lines, each ending in '\n', then a NUL
 *       (p is NULL until the first line).
 *   ST2. After the first failed allocation `failed` is set and every later
 *       line is dropped: the caller frees p and returns KV_ERR_NOMEM.  A
 *       line stats_text_add formats is cut to 511 bytes; stats_text_line
 *       takes a line of any length whole (a histogram's buckets).
 */
#ifndef KV_COMMON_STATS_TEXT_H
#define KV_COMMON_STATS_TEXT_H

#include <stddef.h>

typedef struct stats_text {
    char *p;
    size_t len, cap;
    int failed;
} stats_text;

/* Appends one line (fmt without its '\n'). */
void stats_text_add(stats_text *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same as a kv_line_fn (ctx: the stats_text). */
void stats_text_line(void *ctx, const char *line);

#endif
