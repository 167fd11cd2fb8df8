/*
 * inspect_lines.h: kv_inspect's lines (kv.h; the grammar is in
 * common/inspect_line.h and docs/lab.md), parsed strictly, for the tests
 * of tests/inspect.c and tests/inspect_race.c.  A parser written apart from
 * the code that writes the lines, so that a line the grammar does not
 * allow fails a test instead of being read the same wrong way twice.
 */
#ifndef KV_TESTS_INSPECT_LINES_H
#define KV_TESTS_INSPECT_LINES_H

#include <stddef.h>
#include <stdint.h>

#define IL_MAX_FIELDS 24
#define IL_NAME_MAX 32
#define IL_VALUE_MAX 300

typedef struct il_field {
    char name[IL_NAME_MAX];
    char value[IL_VALUE_MAX];  /* without its quotes */
    int quoted;
} il_field;

typedef struct il_line {
    char kind[IL_NAME_MAX];
    il_field f[IL_MAX_FIELDS];
    int n;
} il_line;

/* 0 and *out filled if s follows the grammar; -1 (and *why) if not. */
int il_parse(const char *s, il_line *out, const char **why);

/* The value of field name, or NULL. */
const char *il_get(const il_line *l, const char *name);
/* The field as a number; UINT64_MAX if absent or not a number. */
uint64_t il_u64(const il_line *l, const char *name);

/* Lines collected from kv_inspect (a kv_line_fn: il_collect), parsed as
 * they come; the first line that does not parse is kept in `bad`. */
typedef struct il_list {
    il_line *v;
    size_t n, cap;
    char bad[1100];
    const char *bad_why;
} il_list;
void il_collect(void *ctx, const char *line);
void il_list_free(il_list *l);
/* Lines of this kind; with name and value, only those whose field name
 * is value. */
size_t il_count(const il_list *l, const char *kind, const char *name, const char *value);
/* The first line of this kind, or NULL. */
const il_line *il_find(const il_list *l, const char *kind);

#endif
