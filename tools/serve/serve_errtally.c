/*
 * serve_errtally.c: error replies counted by code (serve_errtally.h).
 */
#include <stdlib.h>
#include <string.h>

#include "serve_errtally.h"

static serve_errcode *errtally_find(serve_errtally *t, const char *code, size_t len)
{
    for (size_t i = 0; i < t->n; i++)
        if (strlen(t->e[i].code) == len && memcmp(t->e[i].code, code, len) == 0)
            return &t->e[i];
    if (t->n >= SERVE_ERRCODES_MAX)
        return NULL;
    if (t->n == t->cap) {
        size_t cap = t->cap == 0 ? 4 : t->cap * 2;
        serve_errcode *grown = realloc(t->e, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        t->e = grown;
        t->cap = cap;
    }
    serve_errcode *e = &t->e[t->n++];
    memcpy(e->code, code, len);
    e->code[len] = '\0';
    e->count = 0;
    return e;
}

static void errtally_count(serve_errtally *t, const char *code, size_t len,
                           unsigned long long n)
{
    if (len >= sizeof t->e[0].code)
        len = sizeof t->e[0].code - 1;
    serve_errcode *e = errtally_find(t, code, len);
    t->total += n;
    if (e != NULL)
        e->count += n;
    else
        t->untracked += n;
}

void serve_errtally_add(serve_errtally *t, const char *msg)
{
    errtally_count(t, msg, strcspn(msg, " \r\n"), 1);
}

void serve_errtally_merge(serve_errtally *into, const serve_errtally *from)
{
    for (size_t i = 0; i < from->n; i++)
        errtally_count(into, from->e[i].code, strlen(from->e[i].code), from->e[i].count);
    into->total += from->untracked;
    into->untracked += from->untracked;
}

void serve_errtally_free(serve_errtally *t)
{
    free(t->e);
    memset(t, 0, sizeof *t);
}
