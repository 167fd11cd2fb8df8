/*
 * kvg_steps.c: lists of steps (kvg_run.h), and the replay file they are
 * saved in: a text file, one step a line, that a person can read and edit.
 *
 *   kvgrade-replay 1
 *   rung kills
 *   durability sync
 *   window 8
 *   needs-fs no
 *   # engine: python3 kvgrade/examples/ackfirst.py {dir}
 *   # failed: after the kill (...): ...
 *   start
 *   pipe SET "k1" "v\x00"
 *     -> +OK
 *   kill
 *   start
 *   verify
 *     !! after the kill ...
 *
 * Lines beginning with '#' are comments; indented lines ("->" a reply
 * seen, "==" a note, "!!" the failure) say what happened when the file
 * was written and are ignored when it is read.  Strings are quoted with
 * the escapes of kvg_print_bytes (\xNN, \r, \n, \t, \", \\).
 */
#include <stdlib.h>
#include <string.h>

#include "kvg_run.h"

kvg_step *kvg_steps_add(kvg_steps *l, int kind)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->s = kvg_realloc(l->s, l->cap * sizeof *l->s);
    }
    kvg_step *st = &l->s[l->n++];
    memset(st, 0, sizeof *st);
    st->kind = kind;
    st->allow = -1;
    return st;
}

void kvg_steps_add_req(kvg_steps *l, int kind, size_t argc, const kvg_buf *argv)
{
    kvg_step *st = kvg_steps_add(l, kind);
    st->req = kvg_req_make(argc, argv);
}

static void step_clear_result(kvg_step *st)
{
    if (st->has_reply)
        kvg_reply_free(&st->reply);
    st->has_reply = 0;
    free(st->note);
    st->note = NULL;
    st->ran = 0;
}

void kvg_steps_clear_results(kvg_steps *l)
{
    for (size_t i = 0; i < l->n; i++)
        step_clear_result(&l->s[i]);
}

void kvg_steps_free(kvg_steps *l)
{
    for (size_t i = 0; i < l->n; i++) {
        step_clear_result(&l->s[i]);
        kvg_req_free(&l->s[i].req);
        free(l->s[i].file);
    }
    free(l->s);
    memset(l, 0, sizeof *l);
}

void kvg_steps_copy(kvg_steps *to, const kvg_steps *from)
{
    memset(to, 0, sizeof *to);
    for (size_t i = 0; i < from->n; i++) {
        const kvg_step *f = &from->s[i];
        kvg_step *t = kvg_steps_add(to, f->kind);
        t->req = kvg_req_dup(&f->req);
        t->n = f->n;
        t->allow = f->allow;
        t->file = f->file != NULL ? kvg_strdup(f->file) : NULL;
        t->tear = f->tear;
        t->tear_off = f->tear_off;
    }
}

void kvg_replay_head_free(kvg_replay_head *h)
{
    free(h->rung);
    free(h->engine);
    free(h->what);
    memset(h, 0, sizeof *h);
}

static const char *step_names[] = {"start", "send", "pipe", "wait",  "close", "kill", "arm",
                                   "cut",   "verify", "flip", "truncate", "image", "batch"};

/* One step, as its line (no newline). */
static void step_print(FILE *out, const kvg_step *st, size_t max)
{
    fputs(step_names[st->kind], out);
    switch (st->kind) {
    case KVG_ST_SEND:
    case KVG_ST_PIPE:
        fputc(' ', out);
        kvg_print_req(out, &st->req, max);
        break;
    case KVG_ST_WAIT:
    case KVG_ST_ARM:
    case KVG_ST_BATCH:
        fprintf(out, " %llu", st->n);
        break;
    case KVG_ST_FLIP:
    case KVG_ST_TRUNCATE:
        fputc(' ', out);
        kvg_print_bytes(out, (const unsigned char *)st->file, strlen(st->file), 0);
        fprintf(out, " %llu", st->n);
        if (st->allow >= 0)
            fprintf(out, " allow %lld", st->allow);
        break;
    case KVG_ST_IMAGE:
        fprintf(out, " %llu %lld", st->n, st->allow);
        if (st->tear != 0)
            fprintf(out, " %s %llu", st->tear == 'p' ? "prefix" : "zero", st->tear_off);
        break;
    default:
        break;
    }
}

/* Writes each line of text indented, after a marker. */
static void print_indented(FILE *out, const char *mark, const char *text)
{
    fprintf(out, "    %s ", mark);
    for (const char *p = text; *p; p++) {
        fputc(*p, out);
        if (*p == '\n' && p[1] != '\0')
            fprintf(out, "    %s ", mark);
    }
    fputc('\n', out);
}

void kvg_steps_print(FILE *out, const kvg_steps *l, long fail_step, size_t max)
{
    for (size_t i = 0; i < l->n; i++) {
        const kvg_step *st = &l->s[i];
        if (st->ran == 2 && st->kind != KVG_ST_VERIFY)
            fputs("# not sent (the engine was frozen and killed): ", out);
        step_print(out, st, max);
        fputc('\n', out);
        if (st->has_reply) {
            fputs("    -> ", out);
            kvg_print_reply(out, &st->reply, max);
            fputc('\n', out);
        }
        if (st->note != NULL)
            print_indented(out, "==", st->note);
        if ((long)i == fail_step)
            fputs("    !! the check failed here\n", out);
    }
}

int kvg_steps_save(const char *path, const kvg_replay_head *h, const kvg_steps *l)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "kvgrade-replay 1\nrung %s\ndurability %s\nwindow %d\nneeds-fs %s\n",
            h->rung != NULL ? h->rung : "replay", h->sync ? "sync" : "none", h->window,
            h->needs_fs ? "yes" : "no");
    if (h->engine != NULL)
        fprintf(f, "# engine: %s\n", h->engine);
    if (h->what != NULL) {
        fputs("# failed: ", f);
        for (const char *p = h->what; *p; p++) {
            fputc(*p, f);
            if (*p == '\n')
                fputs("#   ", f);
        }
        fputc('\n', f);
    }
    kvg_steps_print(f, l, -1, 0);
    return fclose(f) == 0 ? 0 : -1;
}

static int step_kind_of(const char *word, size_t n)
{
    for (size_t k = 0; k < sizeof step_names / sizeof step_names[0]; k++)
        if (strlen(step_names[k]) == n && strncmp(step_names[k], word, n) == 0)
            return (int)k;
    return -1;
}

/* Parses a request: a bare command name, then quoted arguments. */
static int parse_req(const char *s, kvg_req *out)
{
    kvg_buf args[1024];
    size_t n = 0;
    while (*s == ' ')
        s++;
    const char *e = s;
    if (*s != '"') {
        while (*e != ' ' && *e != '\0' && *e != '\n')
            e++;
        args[n++] = kvg_buf_of(s, (size_t)(e - s));
        s = e;
    }
    for (;;) {
        while (*s == ' ')
            s++;
        if (*s == '\0' || *s == '\n')
            break;
        if (n == 1024 || kvg_parse_bytes(s, &args[n], &s) != 0) {
            for (size_t i = 0; i < n; i++)
                kvg_buf_free(&args[i]);
            return -1;
        }
        n++;
    }
    out->argc = n;
    out->argv = kvg_alloc(n * sizeof *out->argv);
    memcpy(out->argv, args, n * sizeof *args);
    return n > 0 ? 0 : -1;
}

int kvg_steps_load(const char *path, kvg_replay_head *h, kvg_steps *l, char **why)
{
    memset(h, 0, sizeof *h);
    memset(l, 0, sizeof *l);
    h->window = 1;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        *why = kvg_printf("cannot open %s", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int seen_magic = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#' || line[0] == ' ' || line[0] == '\t')
            continue;
        size_t wl = strcspn(line, " ");
        const char *rest = line + wl;
        while (*rest == ' ')
            rest++;
        if (strncmp(line, "kvgrade-replay", wl) == 0 && wl == 14) {
            seen_magic = 1;
            continue;
        }
        if (wl == 4 && strncmp(line, "rung", 4) == 0) {
            free(h->rung);
            h->rung = kvg_strdup(rest);
            continue;
        }
        if (wl == 10 && strncmp(line, "durability", 10) == 0) {
            h->sync = strcmp(rest, "sync") == 0;
            continue;
        }
        if (wl == 6 && strncmp(line, "window", 6) == 0) {
            h->window = atoi(rest) > 0 ? atoi(rest) : 1;
            continue;
        }
        if (wl == 8 && strncmp(line, "needs-fs", 8) == 0) {
            h->needs_fs = strcmp(rest, "yes") == 0;
            continue;
        }
        int kind = step_kind_of(line, wl);
        if (kind < 0) {
            *why = kvg_printf("%s:%ld: unknown step '%.*s'", path, lineno, (int)wl, line);
            goto bad;
        }
        kvg_step *st = kvg_steps_add(l, kind);
        if (kind == KVG_ST_SEND || kind == KVG_ST_PIPE) {
            if (parse_req(rest, &st->req) != 0) {
                *why = kvg_printf("%s:%ld: a request is a command name and quoted arguments", path, lineno);
                goto bad;
            }
        } else if (kind == KVG_ST_WAIT || kind == KVG_ST_ARM || kind == KVG_ST_BATCH) {
            st->n = strtoull(rest, NULL, 10);
        } else if (kind == KVG_ST_IMAGE) {
            char *e;
            st->n = strtoull(rest, &e, 10);
            st->allow = strtoll(e, &e, 10);
            while (*e == ' ')
                e++;
            if (strncmp(e, "prefix ", 7) == 0 || strncmp(e, "zero ", 5) == 0) {
                st->tear = e[0] == 'p' ? 'p' : 'z';
                st->tear_off = strtoull(e + (e[0] == 'p' ? 7 : 5), NULL, 10);
            } else if (*e != '\0') {
                *why = kvg_printf("%s:%ld: image N A, then nothing or prefix OFF or zero OFF",
                                  path, lineno);
                goto bad;
            }
        } else if (kind == KVG_ST_FLIP || kind == KVG_ST_TRUNCATE) {
            kvg_buf name;
            const char *e;
            if (kvg_parse_bytes(rest, &name, &e) != 0) {
                *why = kvg_printf("%s:%ld: %s needs a quoted file name and a number", path, lineno,
                                  step_names[kind]);
                goto bad;
            }
            st->file = (char *)name.p;
            char *e2;
            st->n = strtoull(e, &e2, 10);
            while (*e2 == ' ')
                e2++;
            if (strncmp(e2, "allow ", 6) == 0)
                st->allow = strtoll(e2 + 6, NULL, 10);
        }
    }
    free(line);
    fclose(f);
    if (!seen_magic) {
        *why = kvg_printf("%s is not a kvgrade replay file (no 'kvgrade-replay 1' line)", path);
        kvg_steps_free(l);
        return -1;
    }
    return 0;
bad:
    free(line);
    fclose(f);
    kvg_steps_free(l);
    return -1;
}
