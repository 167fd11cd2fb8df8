/*
 * serve_log.c: serve_log (serve_log.h), one line on stderr.
 */
#include <stdarg.h>
#include <stdio.h>

#include "serve_log.h"

void serve_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n] = '\n';
    line[n + 1] = '\0';
    fprintf(stderr, "kv serve: %s", line);
}
