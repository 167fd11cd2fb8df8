/*
 * http_request.c: the head of an HTTP/1.x request, found and read
 * (http_request.h has the grammar and the answers).  Every read is inside
 * [p, p + n): words and lines are (pointer, length) pairs into the input,
 * never copied, never NUL-terminated.
 */
#include "http_request.h"

#include <string.h>

/* A run of bytes of the input. */
typedef struct http_span {
    const char *p;
    size_t n;
} http_span;

static int http_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

static char http_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* 1 if s is exactly the NUL-terminated word w (case counts unless nocase). */
static int http_is(http_span s, const char *w, int nocase)
{
    size_t n = strlen(w);
    if (s.n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (nocase ? http_lower(s.p[i]) != http_lower(w[i]) : s.p[i] != w[i])
            return 0;
    return 1;
}

/* 1 if the word w (NUL-terminated, lower case) is in s, in any case. */
static int http_holds(http_span s, const char *w)
{
    size_t n = strlen(w);
    for (size_t at = 0; at + n <= s.n; at++) {
        size_t i = 0;
        while (i < n && http_lower(s.p[at + i]) == w[i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

size_t http_request_end(const char *p, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (p[i] != '\n')
            continue;
        if (p[i - 1] == '\n' || (i >= 2 && p[i - 1] == '\r' && p[i - 2] == '\n'))
            return i + 1;
    }
    return 0;
}

/* The words of the line [p, p + n), separated by WS: at most max of them
 * in w (*more set if there were more).  Returns how many. */
static size_t http_words(const char *p, size_t n, http_span *w, size_t max, int *more)
{
    size_t count = 0, i = 0;
    *more = 0;
    for (;;) {
        while (i < n && http_ws(p[i]))
            i++;
        if (i == n)
            return count;
        size_t start = i;
        while (i < n && !http_ws(p[i]))
            i++;
        if (count == max) {
            *more = 1;
            return count;
        }
        w[count++] = (http_span){p + start, i - start};
    }
}

void http_request_parse(const char *p, size_t len, http_request *r)
{
    *r = (http_request){.verdict = HTTP_BAD_REQUEST};
    const char *end = p + len;
    const char *eol = memchr(p, '\n', len);
    if (eol == NULL)
        return; /* (not a head: http_request_end says where one ends) */
    http_span w[3];
    int more = 0;
    if (http_words(p, (size_t)(eol - p), w, 3, &more) != 3 || more || w[2].n != 8 ||
        memcmp(w[2].p, "HTTP/1.", 7) != 0 || w[2].p[7] < '0' || w[2].p[7] > '9')
        return;
    int http10 = w[2].p[7] == '0';
    /* The headers: each line up to the blank one. */
    int close = 0, keep = 0, body = 0;
    for (const char *line = eol + 1; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t n = (size_t)((nl != NULL ? nl : end) - line);
        const char *colon = memchr(line, ':', n);
        if (colon != NULL) {
            http_span name = {line, (size_t)(colon - line)};
            http_span value = {colon + 1, n - name.n - 1};
            if (http_is(name, "Connection", 1)) {
                close |= http_holds(value, "close");
                keep |= http_holds(value, "keep-alive");
            } else if (http_is(name, "Transfer-Encoding", 1)) {
                body = 1;
            } else if (http_is(name, "Content-Length", 1)) {
                size_t digits = 0;
                for (size_t i = 0; i < value.n; i++) {
                    if (value.p[i] == '0')
                        digits++;
                    else if (!http_ws(value.p[i]))
                        body = 1; /* a length that is not 0, or not a number */
                }
                body |= digits == 0;
            }
        }
        line = nl != NULL ? nl + 1 : end;
    }
    int head = http_is(w[0], "HEAD", 0);
    if (!head && !http_is(w[0], "GET", 0)) {
        r->verdict = HTTP_BAD_METHOD; /* (and a body may follow, unread) */
        return;
    }
    if (body)
        return;
    r->head = head;
    r->keep_alive = http10 ? keep : !close;
    const char *q = memchr(w[1].p, '?', w[1].n);
    http_span path = {w[1].p, q != NULL ? (size_t)(q - w[1].p) : w[1].n};
    r->verdict = http_is(path, "/metrics", 0) ? HTTP_METRICS
                 : http_is(path, "/", 0)      ? HTTP_ROOT
                                              : HTTP_NOT_FOUND;
}
