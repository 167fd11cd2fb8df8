/*
 * inspect_lines.c: a strict parser of kv_inspect's lines (inspect_lines.h).
 */
#include "inspect_lines.h"

#include <stdlib.h>
#include <string.h>

static int il_is_name(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }

static int il_is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '-';
}

int il_parse(const char *s, il_line *out, const char **why)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    while (il_is_name(s[i]) && i + 1 < IL_NAME_MAX) {
        out->kind[i] = s[i];
        i++;
    }
    if (i == 0 || (s[i] != '\0' && s[i] != ' ')) {
        *why = "no KIND of [a-z_]+ at the start";
        return -1;
    }
    const char *p = s + i;
    while (*p != '\0') {
        if (*p++ != ' ' || out->n == IL_MAX_FIELDS) {
            *why = "fields must be separated by one space";
            return -1;
        }
        il_field *f = &out->f[out->n++];
        size_t k = 0;
        while (il_is_name(*p) && k + 1 < IL_NAME_MAX)
            f->name[k++] = *p++;
        if (k == 0 || *p++ != '=') {
            *why = "a field is not NAME=";
            return -1;
        }
        k = 0;
        if (*p == '"') {
            f->quoted = 1;
            p++;
            while (*p != '"' && *p != '\0' && k + 1 < IL_VALUE_MAX) {
                if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
                    *why = "a quoted value holds a byte that is not printable ASCII";
                    return -1;
                }
                if (*p == '\\' && (p[1] != 'x' || !p[2] || !p[3])) {
                    *why = "a backslash in a quoted value that is not \\xNN";
                    return -1;
                }
                f->value[k++] = *p++;
            }
            if (*p++ != '"') {
                *why = "a quoted value does not end with a quote";
                return -1;
            }
        } else {
            while (il_is_word(*p) && k + 1 < IL_VALUE_MAX)
                f->value[k++] = *p++;
            if (k == 0) {
                *why = "an empty value";
                return -1;
            }
        }
        if (*p != ' ' && *p != '\0') {
            *why = "a value runs into the next field";
            return -1;
        }
    }
    return 0;
}

const char *il_get(const il_line *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->f[i].name, name) == 0)
            return l->f[i].value;
    return NULL;
}

uint64_t il_u64(const il_line *l, const char *name)
{
    const char *v = il_get(l, name);
    if (v == NULL || *v == '\0')
        return UINT64_MAX;
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    return *end == '\0' ? (uint64_t)n : UINT64_MAX;
}

void il_collect(void *ctx, const char *line)
{
    il_list *l = ctx;
    il_line parsed;
    const char *why = NULL;
    if (il_parse(line, &parsed, &why) != 0) {
        if (l->bad_why == NULL) {
            strncpy(l->bad, line, sizeof l->bad - 1);
            l->bad_why = why;
        }
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        il_line *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) {
            if (l->bad_why == NULL)
                l->bad_why = "out of memory";
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = parsed;
}

void il_list_free(il_list *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

size_t il_count(const il_list *l, const char *kind, const char *name, const char *value)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].kind, kind) != 0)
            continue;
        const char *v = name ? il_get(&l->v[i], name) : NULL;
        n += name == NULL || (v != NULL && strcmp(v, value) == 0);
    }
    return n;
}

const il_line *il_find(const il_list *l, const char *kind)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].kind, kind) == 0)
            return &l->v[i];
    return NULL;
}
