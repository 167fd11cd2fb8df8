/*
 * draw_parse.c: kv_inspect's lines read into parts (draw.h), and the
 * helpers the pictures share.
 *
 * A line is "KIND name=value ...", a value a number, a word or a quoted
 * string holding no '"' (common/inspect_line.h): so a line splits at its
 * spaces outside quotes, and each field at its first '='.
 */
#include <stdlib.h>
#include <string.h>

#include "draw.h"

static int parse_fail(draw_parts *ps, int why, char *line, draw_field *fields)
{
    free(line);
    free(fields);
    if (!ps->failed)
        ps->failed = why;
    return 0;
}

/* Cuts line (a copy) into *p; 1, or 0 with ps->failed set. */
static int parse_line(draw_parts *ps, char *line, draw_part *p)
{
    size_t cap = 1;
    for (const char *c = line; *c; c++)
        cap += *c == ' ';
    draw_field *fields = malloc(cap * sizeof *fields);
    if (fields == NULL)
        return parse_fail(ps, DRAW_NOMEM, line, NULL);
    char *c = line;
    p->kind = c;
    c += strspn(c, "abcdefghijklmnopqrstuvwxyz_");
    if (c == line || (*c != ' ' && *c != '\0'))
        return parse_fail(ps, DRAW_BAD_LINE, line, fields);
    size_t n = 0;
    while (*c == ' ') {
        *c++ = '\0';
        draw_field *f = &fields[n];
        f->name = c;
        c += strspn(c, "abcdefghijklmnopqrstuvwxyz_");
        if (c == f->name || *c != '=' || n == cap)
            return parse_fail(ps, DRAW_BAD_LINE, line, fields);
        *c++ = '\0';
        f->quoted = *c == '"';
        if (f->quoted) {
            f->value = ++c;
            c = strchr(c, '"');
            if (c == NULL)
                return parse_fail(ps, DRAW_BAD_LINE, line, fields);
            *c++ = '\0';
        } else {
            f->value = c;
            c += strcspn(c, " ");
        }
        if (*c != ' ' && *c != '\0')
            return parse_fail(ps, DRAW_BAD_LINE, line, fields);
        n++;
    }
    p->line = line;
    p->fields = fields;
    p->nfields = n;
    return 1;
}

void draw_parts_add(draw_parts *ps, const char *line)
{
    if (ps->failed)
        return;
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 64;
        draw_part *p = realloc(ps->p, cap * sizeof *p);
        if (p == NULL) {
            ps->failed = DRAW_NOMEM;
            return;
        }
        ps->p = p;
        ps->cap = cap;
    }
    char *copy = strdup(line);
    if (copy == NULL) {
        ps->failed = DRAW_NOMEM;
        return;
    }
    if (parse_line(ps, copy, &ps->p[ps->n]))
        ps->n++;
}

void draw_parts_free(draw_parts *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->p[i].line);
        free(ps->p[i].fields);
    }
    free(ps->p);
    memset(ps, 0, sizeof *ps);
}

const char *draw_str(const draw_part *p, const char *name)
{
    for (size_t i = 0; i < p->nfields; i++)
        if (strcmp(p->fields[i].name, name) == 0)
            return p->fields[i].value;
    return NULL;
}

uint64_t draw_u64(const draw_part *p, const char *name)
{
    const char *v = draw_str(p, name);
    return v != NULL && *v >= '0' && *v <= '9' ? strtoull(v, NULL, 10) : 0;
}

double draw_num(const draw_part *p, const char *name)
{
    const char *v = draw_str(p, name);
    return v != NULL && *v >= '0' && *v <= '9' ? strtod(v, NULL) : 0.0;
}

int draw_is(const draw_part *p, const char *kind)
{
    return strcmp(p->kind, kind) == 0;
}

/* The next byte of an escaped key at *s (a \xNN is one byte), moving *s;
 * -1 at its end. */
static int key_byte(const char **s)
{
    const char *p = *s;
    if (*p == '\0')
        return -1;
    if (p[0] == '\\' && p[1] == 'x' && p[2] != '\0' && p[3] != '\0') {
        char hex[3] = {p[2], p[3], '\0'};
        *s = p + 4;
        return (int)strtol(hex, NULL, 16);
    }
    *s = p + 1;
    return (unsigned char)*p;
}

int draw_key_compare(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    for (;;) {
        int x = key_byte(&a), y = key_byte(&b);
        if (x != y)
            return x < y ? -1 : 1;
        if (x < 0)
            return 0;
    }
}

const char *draw_key_label(const char *key, size_t max, char *buf, size_t cap)
{
    if (key == NULL || cap < 4) {
        if (cap > 0)
            buf[0] = '\0';
        return buf;
    }
    size_t n = strlen(key);
    if (max + 1 > cap)
        max = cap - 1;
    if (n <= max) {
        memcpy(buf, key, n + 1);
        return buf;
    }
    memcpy(buf, key, max - 2);
    memcpy(buf + max - 2, "..", 3);
    return buf;
}

const char *draw_key_tail(const char *key, size_t max, char *buf, size_t cap)
{
    if (key == NULL || cap < 4 || max < 3)
        return draw_key_label(key, max, buf, cap);
    size_t n = strlen(key);
    if (max + 1 > cap)
        max = cap - 1;
    if (n <= max) {
        memcpy(buf, key, n + 1);
        return buf;
    }
    memcpy(buf, "..", 2);
    memcpy(buf + 2, key + n - (max - 2), max - 1);
    return buf;
}

const char *draw_bytes(uint64_t n, char *buf, size_t cap)
{
    if (n < 1024)
        snprintf(buf, cap, "%llu B", (unsigned long long)n);
    else if (n < 1024 * 1024)
        snprintf(buf, cap, "%.1f KiB", (double)n / 1024.0);
    else
        snprintf(buf, cap, "%.1f MiB", (double)n / (1024.0 * 1024.0));
    return buf;
}

uint64_t draw_cut(const draw_parts *ps, const char *part, const char *name)
{
    for (size_t i = 0; i < ps->n; i++) {
        const draw_part *p = &ps->p[i];
        if (!draw_is(p, "cut"))
            continue;
        const char *pp = draw_str(p, "part"), *pn = draw_str(p, "name");
        if (pp != NULL && strcmp(pp, part) == 0 &&
            (name == NULL || (pn != NULL && strcmp(pn, name) == 0)))
            return draw_u64(p, "shown");
    }
    return 0;
}
