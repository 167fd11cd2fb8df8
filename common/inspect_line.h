/*
 * inspect_line.h: the lines of kv_inspect and kv_inspect_get (kv.h), built
 * one at a time: "KIND name=value name=value ...".
 *
 * The grammar, which every stage keeps (docs/lab.md has it as a table,
 * with every KIND and its fields):
 *   line   := KIND (" " field)*
 *   KIND   := [a-z_]+
 *   field  := NAME "=" value        NAME := [a-z_]+
 *   value  := number | word | quoted
 *   number := an unsigned decimal integer, or one with a "." and digits
 *   word   := [A-Za-z0-9_.:/+-]+   (a file name, a state such as "active")
 *   quoted := '"' text '"', the bytes as common/escape.h writes them:
 *             printable ASCII but '\' and '"' as it is, every other byte
 *             as \xNN; so a quoted value holds no '"' and splits cleanly.
 * A key is written quoted, its first INSPECT_KEY_SHOWN bytes only; a key
 * cut that way has a field key_len (or first_len, last_len, ...: the
 * field's name with "_len") right after it, giving its real length.
 *
 * Invariant: a line is at most INSPECT_LINE_MAX bytes; the fields of one
 * line are never cut (a line that would be longer loses its last fields
 * whole, which a key cut to INSPECT_KEY_SHOWN bytes never needs).
 */
#ifndef KV_COMMON_INSPECT_LINE_H
#define KV_COMMON_INSPECT_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

#define INSPECT_KEY_SHOWN 64u
#define INSPECT_LINE_MAX 1024u

typedef struct inspect_line {
    char buf[INSPECT_LINE_MAX];
    size_t len;
} inspect_line;

/* Starts a line of this KIND. */
void inspect_begin(inspect_line *l, const char *kind);
/* Adds name=value. */
void inspect_u64(inspect_line *l, const char *name, uint64_t v);
void inspect_word(inspect_line *l, const char *name, const char *word);
void inspect_double(inspect_line *l, const char *name, double v);
/* Adds name="key" (and name_len=N if the key was cut). */
void inspect_key(inspect_line *l, const char *name, const void *key, size_t klen);
/* Hands the line to fn (NULL: nothing). */
void inspect_emit(inspect_line *l, kv_line_fn fn, void *ctx);

/* Counts detail lines of one part against KV_INSPECT_DETAIL_MAX: returns 1
 * while there is room (and counts the line), 0 once the part is full (the
 * first time, it emits "cut part=PART shown=N"). */
typedef struct inspect_cap {
    unsigned shown;
    int cut;
} inspect_cap;
int inspect_cap_take(inspect_cap *c, const char *part, const char *name, kv_line_fn fn,
                     void *ctx);

#endif
