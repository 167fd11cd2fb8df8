/*
 * kvg_resp.c: byte strings, requests, replies and their RESP2 encoding
 * (kvg_resp.h).  The reply parser only looks inside [p, limit).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "kvg_resp.h"

void *kvg_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "kvgrade: out of memory\n");
        exit(2);
    }
    return p;
}

void *kvg_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        fprintf(stderr, "kvgrade: out of memory\n");
        exit(2);
    }
    return q;
}

char *kvg_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(kvg_alloc(n), s, n);
}

char *kvg_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = kvg_alloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

double kvg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

kvg_buf kvg_buf_of(const void *p, size_t n)
{
    kvg_buf b = {kvg_alloc(n + 1), n};
    if (n > 0)
        memcpy(b.p, p, n);
    b.p[n] = 0;
    return b;
}

kvg_buf kvg_buf_str(const char *s)
{
    return kvg_buf_of(s, strlen(s));
}

kvg_buf kvg_buf_dup(kvg_buf b)
{
    return kvg_buf_of(b.p, b.n);
}

void kvg_buf_free(kvg_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

int kvg_buf_eq(kvg_buf a, kvg_buf b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

int kvg_buf_cmp(kvg_buf a, kvg_buf b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n > 0 ? memcmp(a.p, b.p, n) : 0;
    if (c != 0)
        return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

kvg_req kvg_req_make(size_t argc, const kvg_buf *argv)
{
    kvg_req r = {argc, kvg_alloc(argc * sizeof *r.argv)};
    for (size_t i = 0; i < argc; i++)
        r.argv[i] = kvg_buf_dup(argv[i]);
    return r;
}

kvg_req kvg_req_dup(const kvg_req *r)
{
    return kvg_req_make(r->argc, r->argv);
}

void kvg_req_free(kvg_req *r)
{
    for (size_t i = 0; i < r->argc; i++)
        kvg_buf_free(&r->argv[i]);
    free(r->argv);
    r->argv = NULL;
    r->argc = 0;
}

int kvg_req_is(const kvg_req *r, const char *name)
{
    size_t n = strlen(name);
    return r->argc > 0 && r->argv[0].n == n && strncasecmp((const char *)r->argv[0].p, name, n) == 0;
}

unsigned char *kvg_req_encode(const kvg_req *r, size_t *len)
{
    size_t cap = 32;
    for (size_t i = 0; i < r->argc; i++)
        cap += r->argv[i].n + 32;
    unsigned char *out = kvg_alloc(cap);
    size_t n = (size_t)snprintf((char *)out, cap, "*%zu\r\n", r->argc);
    for (size_t i = 0; i < r->argc; i++) {
        n += (size_t)snprintf((char *)out + n, cap - n, "$%zu\r\n", r->argv[i].n);
        if (r->argv[i].n > 0)
            memcpy(out + n, r->argv[i].p, r->argv[i].n);
        n += r->argv[i].n;
        out[n++] = '\r';
        out[n++] = '\n';
    }
    *len = n;
    return out;
}

/* ---- replies ----------------------------------------------------------- */

/* The line at p (up to \r\n): its length, 0 if incomplete, -1 if bad. */
static long resp_line(const unsigned char *p, const unsigned char *limit)
{
    for (const unsigned char *q = p; q + 1 < limit; q++) {
        if (q[0] == '\r')
            return q[1] == '\n' ? (long)(q - p) : -1;
        if (q[0] == '\n')
            return -1;
    }
    return limit - p > 64 * 1024 ? -1 : 0;
}

static int resp_number(const unsigned char *p, size_t n, long long *v)
{
    if (n == 0 || n > 20)
        return -1;
    char tmp[24];
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    char *end;
    long long x = strtoll(tmp, &end, 10);
    if (*end != '\0' || (!isdigit((unsigned char)tmp[0]) && tmp[0] != '-'))
        return -1;
    *v = x;
    return 0;
}

static long resp_parse_at(const unsigned char *p, const unsigned char *limit, kvg_reply *out,
                          const char **why, int depth)
{
    memset(out, 0, sizeof *out);
    if (p >= limit)
        return 0;
    long ln = resp_line(p + 1, limit);
    if (ln < 0) {
        *why = "a line of the reply does not end in \\r\\n";
        return -1;
    }
    if (ln == 0 && !(p + 2 < limit && p[1] == '\r'))
        return 0;
    const unsigned char *body = p + 1;
    long head = 1 + ln + 2;
    long long v;
    switch (p[0]) {
    case '+':
    case '-':
        out->type = p[0] == '+' ? KVG_SIMPLE : KVG_ERROR;
        out->str = kvg_buf_of(body, (size_t)ln);
        return head;
    case ':':
        if (resp_number(body, (size_t)ln, &v) != 0) {
            *why = "an integer reply is not a number";
            return -1;
        }
        out->type = KVG_INT;
        out->num = v;
        return head;
    case '$':
        if (resp_number(body, (size_t)ln, &v) != 0 || v < -1 || v > KVG_MAX_BULK) {
            *why = "a bulk string's length is not a number from -1 to 64 MiB";
            return -1;
        }
        if (v == -1) {
            out->type = KVG_NIL;
            return head;
        }
        if (limit - (p + head) < v + 2)
            return 0;
        if (p[head + v] != '\r' || p[head + v + 1] != '\n') {
            *why = "a bulk string is not followed by \\r\\n (its length is wrong?)";
            return -1;
        }
        out->type = KVG_BULK;
        out->str = kvg_buf_of(p + head, (size_t)v);
        return head + (long)v + 2;
    case '*': {
        if (resp_number(body, (size_t)ln, &v) != 0 || v < -1 || v > KVG_MAX_ELEMS) {
            *why = "an array's length is not a number";
            return -1;
        }
        if (v == -1) {
            out->type = KVG_NILARRAY;
            return head;
        }
        if (depth >= KVG_MAX_DEPTH) {
            *why = "arrays nested too deep";
            return -1;
        }
        out->type = KVG_ARRAY;
        out->n = (size_t)v;
        out->elem = kvg_alloc((size_t)v * sizeof *out->elem);
        memset(out->elem, 0, (size_t)v * sizeof *out->elem);
        long at = head;
        for (long long i = 0; i < v; i++) {
            long used = resp_parse_at(p + at, limit, &out->elem[i], why, depth + 1);
            if (used <= 0) {
                out->n = (size_t)i + (used < 0 ? 1 : 0);
                kvg_reply_free(out);
                return used;
            }
            at += used;
        }
        return at;
    }
    default:
        *why = "a reply starts with none of + - : $ *";
        return -1;
    }
}

long kvg_reply_parse(const unsigned char *p, const unsigned char *limit, kvg_reply *out,
                     const char **why)
{
    return resp_parse_at(p, limit, out, why, 0);
}

void kvg_reply_free(kvg_reply *r)
{
    kvg_buf_free(&r->str);
    for (size_t i = 0; i < r->n; i++)
        kvg_reply_free(&r->elem[i]);
    free(r->elem);
    memset(r, 0, sizeof *r);
}

kvg_reply kvg_reply_dup(const kvg_reply *r)
{
    kvg_reply d = *r;
    d.str = r->str.p != NULL ? kvg_buf_dup(r->str) : r->str;
    if (r->n > 0) {
        d.elem = kvg_alloc(r->n * sizeof *d.elem);
        for (size_t i = 0; i < r->n; i++)
            d.elem[i] = kvg_reply_dup(&r->elem[i]);
    } else {
        d.elem = NULL;
    }
    return d;
}

int kvg_reply_eq(const kvg_reply *a, const kvg_reply *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case KVG_INT:
        return a->num == b->num;
    case KVG_SIMPLE:
    case KVG_ERROR:
    case KVG_BULK:
        return kvg_buf_eq(a->str, b->str);
    case KVG_ARRAY:
        if (a->n != b->n)
            return 0;
        for (size_t i = 0; i < a->n; i++)
            if (!kvg_reply_eq(&a->elem[i], &b->elem[i]))
                return 0;
        return 1;
    default:
        return 1;
    }
}

kvg_reply kvg_reply_simple(const char *s)
{
    kvg_reply r = {0};
    r.type = KVG_SIMPLE;
    r.str = kvg_buf_str(s);
    return r;
}

kvg_reply kvg_reply_int(long long n)
{
    kvg_reply r = {0};
    r.type = KVG_INT;
    r.num = n;
    return r;
}

kvg_reply kvg_reply_bulk(kvg_buf b)
{
    kvg_reply r = {0};
    r.type = KVG_BULK;
    r.str = kvg_buf_dup(b);
    return r;
}

kvg_reply kvg_reply_nil(void)
{
    kvg_reply r = {0};
    r.type = KVG_NIL;
    return r;
}

/* ---- text -------------------------------------------------------------- */

void kvg_print_bytes(FILE *out, const unsigned char *p, size_t n, size_t max)
{
    size_t shown = max > 0 && n > max ? max : n;
    fputc('"', out);
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 32 || c >= 127)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
    if (shown < n)
        fprintf(out, "...(%zu bytes)", n);
}

void kvg_print_reply(FILE *out, const kvg_reply *r, size_t max)
{
    switch (r->type) {
    case KVG_SIMPLE:
        fputc('+', out);
        fwrite(r->str.p, 1, r->str.n, out);
        break;
    case KVG_ERROR:
        fputc('-', out);
        for (size_t i = 0; i < r->str.n; i++)
            fputc(r->str.p[i] >= 32 && r->str.p[i] < 127 ? r->str.p[i] : '?', out);
        break;
    case KVG_INT:
        fprintf(out, ":%lld", r->num);
        break;
    case KVG_BULK:
        kvg_print_bytes(out, r->str.p, r->str.n, max);
        break;
    case KVG_NIL:
        fputs("(nil)", out);
        break;
    case KVG_NILARRAY:
        fputs("(nil array)", out);
        break;
    case KVG_ARRAY:
        fputc('[', out);
        for (size_t i = 0; i < r->n; i++) {
            if (i > 0)
                fputs(", ", out);
            if (max > 0 && i >= 40) {
                fprintf(out, "...(%zu elements)", r->n);
                break;
            }
            kvg_print_reply(out, &r->elem[i], max);
        }
        fputc(']', out);
        break;
    }
}

void kvg_print_req(FILE *out, const kvg_req *r, size_t max)
{
    for (size_t i = 0; i < r->argc; i++) {
        if (i > 0)
            fputc(' ', out);
        if (i == 0 && r->argv[0].n > 0 && r->argv[0].n < 32 &&
            strspn((const char *)r->argv[0].p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_") ==
                r->argv[0].n)
            fwrite(r->argv[0].p, 1, r->argv[0].n, out);
        else
            kvg_print_bytes(out, r->argv[i].p, r->argv[i].n, max);
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int kvg_parse_bytes(const char *s, kvg_buf *out, const char **end)
{
    while (*s == ' ')
        s++;
    if (*s != '"')
        return -1;
    s++;
    size_t cap = strlen(s) + 1, n = 0;
    unsigned char *b = kvg_alloc(cap);
    while (*s != '"') {
        if (*s == '\0') {
            free(b);
            return -1;
        }
        if (*s != '\\') {
            b[n++] = (unsigned char)*s++;
            continue;
        }
        s++;
        switch (*s) {
        case 'n': b[n++] = '\n'; s++; break;
        case 'r': b[n++] = '\r'; s++; break;
        case 't': b[n++] = '\t'; s++; break;
        case '"': b[n++] = '"'; s++; break;
        case '\\': b[n++] = '\\'; s++; break;
        case 'x': {
            int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
            if (lo < 0) {
                free(b);
                return -1;
            }
            b[n++] = (unsigned char)(hi * 16 + lo);
            s += 3;
            break;
        }
        default:
            free(b);
            return -1;
        }
    }
    out->p = b;
    out->n = n;
    b[n] = 0;
    *end = s + 1;
    return 0;
}

int kvg_parse_reply(const char *s, kvg_reply *out, const char **end)
{
    memset(out, 0, sizeof *out);
    while (*s == ' ')
        s++;
    if (*s == '+' || *s == '-') {
        out->type = *s == '+' ? KVG_SIMPLE : KVG_ERROR;
        const char *e = s + 1;
        while (*e != '\0' && *e != '\n' && !(*e == ',' && out->type == KVG_SIMPLE) && *e != ']')
            e++;
        out->str = kvg_buf_of(s + 1, (size_t)(e - s - 1));
        *end = e;
        return 0;
    }
    if (*s == ':') {
        char *e;
        out->type = KVG_INT;
        out->num = strtoll(s + 1, &e, 10);
        *end = e;
        return e == s + 1 ? -1 : 0;
    }
    if (strncmp(s, "(nil array)", 11) == 0) {
        out->type = KVG_NILARRAY;
        *end = s + 11;
        return 0;
    }
    if (strncmp(s, "(nil)", 5) == 0) {
        out->type = KVG_NIL;
        *end = s + 5;
        return 0;
    }
    if (*s == '"') {
        out->type = KVG_BULK;
        return kvg_parse_bytes(s, &out->str, end);
    }
    if (*s == '[') {
        out->type = KVG_ARRAY;
        s++;
        size_t cap = 0;
        while (*s == ' ')
            s++;
        while (*s != ']') {
            if (out->n == cap) {
                cap = cap ? cap * 2 : 8;
                out->elem = kvg_realloc(out->elem, cap * sizeof *out->elem);
            }
            if (kvg_parse_reply(s, &out->elem[out->n], &s) != 0) {
                kvg_reply_free(out);
                return -1;
            }
            out->n++;
            while (*s == ' ')
                s++;
            if (*s == ',')
                s++;
            else if (*s != ']') {
                kvg_reply_free(out);
                return -1;
            }
        }
        *end = s + 1;
        return 0;
    }
    return -1;
}
