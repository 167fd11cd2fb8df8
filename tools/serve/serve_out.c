/*
 * serve_out.c: the reply buffer and the RESP2 encoders (serve_out.h).
 */
#include "serve_out.h"
#include "serve_errtally.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for n more bytes; 0, or -1 (and o->failed) if it cannot. */
static int out_reserve(serve_out *o, size_t n)
{
    if (o->failed)
        return -1;
    if (o->cap - o->len >= n)
        return 0;
    size_t cap = o->cap == 0 ? 4096 : o->cap;
    while (cap - o->len < n) {
        if (cap > ((size_t)-1) / 2) {
            o->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *grown = realloc(o->buf, cap);
    if (grown == NULL) {
        o->failed = 1;
        return -1;
    }
    o->buf = grown;
    o->cap = cap;
    return 0;
}

void out_bytes(serve_out *o, const void *p, size_t n)
{
    if (n == 0 || out_reserve(o, n) != 0)
        return;
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

/* A type byte, a number, CRLF (digits written by hand: this is on the
 * path of every reply). */
static void out_header(serve_out *o, char type, long long v)
{
    char tmp[32];
    char *end = tmp + sizeof tmp, *p = end;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    *--p = '\n';
    *--p = '\r';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0)
        *--p = '-';
    *--p = type;
    out_bytes(o, p, (size_t)(end - p));
}

void out_simple(serve_out *o, const char *s)
{
    out_bytes(o, "+", 1);
    out_bytes(o, s, strlen(s));
    out_bytes(o, "\r\n", 2);
}

void out_error(serve_out *o, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof tmp)
        n = sizeof tmp - 1;
    for (int i = 0; i < n; i++)
        if (tmp[i] == '\r' || tmp[i] == '\n')
            tmp[i] = ' ';
    tmp[n] = '\0';
    o->errors++;
    if (o->tally != NULL)
        serve_errtally_add(o->tally, tmp);
    out_bytes(o, "-", 1);
    out_bytes(o, tmp, (size_t)n);
    out_bytes(o, "\r\n", 2);
}

void out_int(serve_out *o, long long v)
{
    out_header(o, ':', v);
}

void out_bulk(serve_out *o, const void *p, size_t n)
{
    out_header(o, '$', (long long)n);
    if (out_reserve(o, n + 2) != 0)
        return;
    if (n > 0)
        memcpy(o->buf + o->len, p, n);
    memcpy(o->buf + o->len + n, "\r\n", 2);
    o->len += n + 2;
}

void out_bulk_str(serve_out *o, const char *s)
{
    out_bulk(o, s, strlen(s));
}

void out_nil(serve_out *o)
{
    out_bytes(o, "$-1\r\n", 5);
}

void out_array(serve_out *o, size_t n)
{
    out_header(o, '*', (long long)n);
}

void out_null_array(serve_out *o)
{
    out_bytes(o, "*-1\r\n", 5);
}

void out_truncate(serve_out *o, size_t mark)
{
    if (mark >= o->sent && mark <= o->len)
        o->len = mark;
}

void out_compact(serve_out *o)
{
    if (o->sent == o->len && o->cap > 256 * 1024 && !o->failed) {
        out_free(o);
        return;
    }
    if (o->sent == 0)
        return;
    memmove(o->buf, o->buf + o->sent, o->len - o->sent);
    o->len -= o->sent;
    o->sent = 0;
}

void out_free(serve_out *o)
{
    free(o->buf);
    struct serve_errtally *tally = o->tally;
    unsigned long long errors = o->errors;
    memset(o, 0, sizeof *o);
    o->tally = tally;
    o->errors = errors;
}
