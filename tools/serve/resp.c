/*
 * resp.c: the RESP2 request parser; the contract is in resp.h.
 *
 * The grammar it accepts (what Redis accepts from a client):
 *
 *   request  := array | inline
 *   array    := '*' int CRLF bulk{int}         int in -1..max_args
 *   bulk     := '$' uint CRLF byte{uint} CRLF  uint in 0..max_bulk
 *   inline   := a line not starting with '*', ending with LF (CR LF allowed),
 *               at most max_inline bytes; words split on spaces and tabs
 *   int      := ['-'] digit{1..18}
 *
 * Everything is read inside [p, limit).  A number has at most 18 digits, so
 * it cannot overflow a long long, and its line must end within 21 bytes of
 * its type byte, so a stream of digits without CRLF is invalid, not a
 * reason to wait for ever.
 */
#include "resp.h"

#include <stdlib.h>
#include <string.h>

#define RESP_MAX_DIGITS 18

void resp_parser_init(resp_parser *ps, const resp_limits *lim)
{
    memset(ps, 0, sizeof *ps);
    ps->lim = *lim;
    ps->want = -1;
}

void resp_parser_next(resp_parser *ps)
{
    ps->pos = 0;
    ps->need = 0;
    ps->want = -1;
    ps->argc = 0;
    ps->why = NULL;
}

void resp_parser_free(resp_parser *ps)
{
    free(ps->args);
    ps->args = NULL;
    ps->cap = 0;
}

static int resp_invalid(resp_parser *ps, const char *why)
{
    ps->why = why;
    return RESP_INVALID;
}

static int resp_need(resp_parser *ps, size_t need)
{
    ps->need = need;
    return RESP_NEED_MORE;
}

/* Reads "int CRLF" at p[at..have): the number after a type byte.  On
 * RESP_COMPLETE, *v is the number and *next the offset after the CRLF. */
static int resp_read_int(resp_parser *ps, const char *p, size_t at, size_t have,
                         long long *v, size_t *next)
{
    size_t i = at;
    int neg = 0;
    if (i < have && p[i] == '-') {
        neg = 1;
        i++;
    }
    long long n = 0;
    size_t digits = 0;
    while (i < have && p[i] >= '0' && p[i] <= '9') {
        if (++digits > RESP_MAX_DIGITS)
            return resp_invalid(ps, "Protocol error: number too long");
        n = n * 10 + (p[i] - '0');
        i++;
    }
    if (i == have)
        return resp_need(ps, i + 1);
    if (digits == 0 || p[i] != '\r')
        return resp_invalid(ps, "Protocol error: expected a number ending in CRLF");
    if (i + 1 == have)
        return resp_need(ps, i + 2);
    if (p[i + 1] != '\n')
        return resp_invalid(ps, "Protocol error: expected LF after CR");
    *v = neg ? -n : n;
    *next = i + 2;
    return RESP_COMPLETE;
}

/* Appends argument [off, off + len) to the table, growing it by doubling. */
static int resp_add_arg(resp_parser *ps, size_t off, size_t len)
{
    if (ps->argc == ps->cap) {
        size_t cap = ps->cap == 0 ? 8 : ps->cap * 2;
        resp_span *grown = realloc(ps->args, cap * sizeof *grown);
        if (grown == NULL)
            return RESP_NOMEM;
        ps->args = grown;
        ps->cap = cap;
    }
    ps->args[ps->argc].off = off;
    ps->args[ps->argc].len = len;
    ps->argc++;
    return RESP_COMPLETE;
}

/* An inline command: one line, split into words. */
static int resp_parse_inline(resp_parser *ps, const char *p, size_t have)
{
    size_t look = have < ps->lim.max_inline ? have : ps->lim.max_inline;
    const char *nl = memchr(p, '\n', look);
    if (nl == NULL) {
        if (have >= ps->lim.max_inline)
            return resp_invalid(ps, "Protocol error: too big inline request");
        return resp_need(ps, have + 1);
    }
    size_t end = (size_t)(nl - p);
    size_t line = end > 0 && p[end - 1] == '\r' ? end - 1 : end;
    size_t i = 0;
    while (i < line) {
        while (i < line && (p[i] == ' ' || p[i] == '\t'))
            i++;
        size_t start = i;
        while (i < line && p[i] != ' ' && p[i] != '\t')
            i++;
        if (i == start)
            continue;
        if (ps->argc == ps->lim.max_args)
            return resp_invalid(ps, "Protocol error: too many arguments");
        if (resp_add_arg(ps, start, i - start) != RESP_COMPLETE)
            return RESP_NOMEM;
    }
    ps->pos = end + 1;
    ps->want = (long long)ps->argc; /* so that a second call answers the same */
    return RESP_COMPLETE;
}

int resp_parse(resp_parser *ps, const char *p, const char *limit)
{
    size_t have = (size_t)(limit - p);
    if (ps->want < 0) {
        if (have == 0)
            return resp_need(ps, 1);
        if (p[0] != '*')
            return resp_parse_inline(ps, p, have);
        long long n;
        size_t next;
        int rc = resp_read_int(ps, p, 1, have, &n, &next);
        if (rc != RESP_COMPLETE)
            return rc;
        if (n < -1)
            return resp_invalid(ps, "Protocol error: invalid multibulk length");
        if ((unsigned long long)n > ps->lim.max_args && n > 0)
            return resp_invalid(ps, "Protocol error: too many arguments");
        ps->want = n < 0 ? 0 : n;
        ps->pos = next;
    }
    while (ps->argc < (size_t)ps->want) {
        size_t at = ps->pos;
        if (at == have)
            return resp_need(ps, at + 1);
        if (p[at] != '$')
            return resp_invalid(ps, "Protocol error: expected '$' before an argument");
        long long n;
        size_t body;
        int rc = resp_read_int(ps, p, at + 1, have, &n, &body);
        if (rc != RESP_COMPLETE)
            return rc;
        if (n < 0 || (unsigned long long)n > ps->lim.max_bulk)
            return resp_invalid(ps, "Protocol error: invalid bulk length");
        size_t end = body + (size_t)n + 2;
        if (end > ps->lim.max_request)
            return resp_invalid(ps, "Protocol error: request too large");
        if (end > have)
            return resp_need(ps, end);
        if (p[end - 2] != '\r' || p[end - 1] != '\n')
            return resp_invalid(ps, "Protocol error: expected CRLF after a bulk string");
        if (resp_add_arg(ps, body, (size_t)n) != RESP_COMPLETE)
            return RESP_NOMEM;
        ps->pos = end;
    }
    return RESP_COMPLETE;
}
