/*
 * draw.h: `kv DIR draw FILE.svg`, a picture of an open database made from
 * kv_inspect's lines (include/kv.h; their grammar and every KIND are in
 * docs/lab.md, "kv_inspect lines").
 *
 * The lines are read once into parts (draw_parse.c): one part per line,
 * its KIND and its name=value fields, in the order kv_inspect emitted
 * them, which is the order that says what belongs to what (a table's
 * blocks follow its table line, a level's tables its level line).  Each
 * family of stages has its picture in a file of its own, over the SVG
 * writer (svg.h):
 *   draw_log.c     01        the log's records, in file order;
 *   draw_hash.c    02, 03    the index's slots pointing into the
 *                            segments, and 03's blocks and fragments;
 *   draw_lsm.c     04, 05    the memtables and the tables newest first
 *                            on one key axis, and 05's blocks, index and
 *                            filter in each table;
 *   draw_levels.c  06, 07    the levels, each table at its key range,
 *                            and what the next compaction would take;
 *   draw_vlog.c    08        under stage 06's levels, the value log: its
 *                            files, each with its live values and its
 *                            garbage, and what the collection would take;
 *   draw_cache.c   09        under the rest, the one budget split between
 *                            records and blocks, and what is pinned.
 * kv_cmd_draw.c, the draw command, picks one by the kinds of the parts.
 * Each returns, in a draw_summary, one line that counts what it drew (the
 * kv command prints it; the tests compare it and the SVG with kv_stats).
 *
 * Pictures only read the parts: what kv_inspect did not say is not drawn.
 * Every shape that stands for a part of the database carries a class
 * naming that part (class="record", "segment", "table", "level", ...),
 * and its key ranges and sizes in a <title> a browser shows on hover.
 */
#ifndef KV_TOOLS_DRAW_H
#define KV_TOOLS_DRAW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "svg.h"

enum { DRAW_OK = 0, DRAW_NOMEM = 1, DRAW_BAD_LINE = 2 };

typedef struct draw_field {
    const char *name;
    const char *value;   /* a quoted value without its quotes, still escaped */
    int quoted;
} draw_field;

typedef struct draw_part {
    char *line;          /* the line, cut into the strings below */
    const char *kind;
    draw_field *fields;
    size_t nfields;
} draw_part;

typedef struct draw_parts {
    draw_part *p;
    size_t n, cap;
    int failed;          /* DRAW_NOMEM or DRAW_BAD_LINE: the first failure */
} draw_parts;

/* Parses one kv_inspect line and adds it (a kv_line_fn's work); a failure
 * is kept in ps->failed and later lines are dropped. */
void draw_parts_add(draw_parts *ps, const char *line);
void draw_parts_free(draw_parts *ps);

/* A field's value as written (quoted values without quotes, escaped), or
 * NULL if the part has no such field. */
const char *draw_str(const draw_part *p, const char *name);
/* A number field; 0 if absent or not a number. */
uint64_t draw_u64(const draw_part *p, const char *name);
double draw_num(const draw_part *p, const char *name);
/* 1 if the part is of this KIND. */
int draw_is(const draw_part *p, const char *kind);
/* Compares two escaped keys (draw_str of quoted fields) as the engine
 * orders their bytes: bytewise, a prefix first.  NULL sorts first. */
int draw_key_compare(const char *a, const char *b);

/* What a picture drew, in one line for the kv command to print. */
typedef struct draw_summary {
    char text[512];
} draw_summary;

/* The pictures, one per family (ps->p[0] is the "db" line). */
void draw_log(const draw_parts *ps, svg *s, draw_summary *sum);
void draw_hash(const draw_parts *ps, svg *s, draw_summary *sum);
void draw_lsm(const draw_parts *ps, svg *s, draw_summary *sum);
void draw_levels(const draw_parts *ps, svg *s, draw_summary *sum);
/* Below what is drawn (s->height), the value log of the "values" and
 * "vlog" parts, if there are any; adds to sum's line. */
void draw_vlog(const draw_parts *ps, svg *s, draw_summary *sum);
/* Below what is drawn, the memory for reads of the "cache" part, if there
 * is one; adds to sum's line. */
void draw_cache(const draw_parts *ps, svg *s, draw_summary *sum);

struct draw_axis;
/* The row of memtable m (a "memtable" part): a bar over its keys, one
 * tick per entry; returns the y under it (draw_lsm.c, for 04 to 07). */
double draw_memtable(const draw_parts *ps, const draw_part *m, const struct draw_axis *ax,
                     svg *s, double y);
/* Adds the keys of every memtable's entries to ax. */
void draw_memtable_keys(const draw_parts *ps, struct draw_axis *ax);

/* ---- helpers the pictures share (draw_parse.c) ---- */

/* A key for a label: the escaped text, cut to at most max characters with
 * ".." at the end; "" for NULL. */
const char *draw_key_label(const char *key, size_t max, char *buf, size_t cap);
/* The same, cut at the front ("..29" for "key029"): what tells apart the
 * keys of neighbouring blocks, which share their first bytes. */
const char *draw_key_tail(const char *key, size_t max, char *buf, size_t cap);
/* A byte count as "812 B", "4.0 KiB", "1.3 MiB". */
const char *draw_bytes(uint64_t n, char *buf, size_t cap);
/* The "cut" line of part `part` named `name` (NULL: of any name):
 * how many detail lines kv_inspect showed of it, or 0 if it cut none. */
uint64_t draw_cut(const draw_parts *ps, const char *part, const char *name);

/* ---- a key axis (draw_axis.c) ----
 * Keys placed left to right in key order, each key a slot of equal width
 * (the rank of a key, not its bytes, decides where it goes), so that a
 * table's bar spans the slots of its smallest to its largest key and two
 * tables with disjoint ranges never overlap on the page. */
typedef struct draw_axis {
    const char **keys;   /* escaped keys (pointers into the parts), sorted, unique */
    size_t n, cap;
    double x0, x1;
    int failed;
} draw_axis;

void draw_axis_add(draw_axis *a, const char *key);   /* NULL: ignored */
/* Sorts the keys; the axis runs from x0 to x1. */
void draw_axis_done(draw_axis *a, double x0, double x1);
/* The left edge of key's slot, and its right edge (a key not on the axis:
 * where it would go). */
double draw_axis_left(const draw_axis *a, const char *key);
double draw_axis_right(const draw_axis *a, const char *key);
/* The first and last keys written under the axis at y. */
void draw_axis_labels(const draw_axis *a, svg *s, double y);
void draw_axis_free(draw_axis *a);

#endif
