/*
 * draw_lsm.c: the picture of stages 04 and 05 (draw.h): the memtable
 * (and a frozen one being flushed), then the tables newest first, the
 * order in which a get looks, each as a bar over the key range it holds
 * on one key axis (draw_axis.c), so that which tables a get of a key must
 * search is the column under that key.  Under each table, its file to
 * scale: stage 04's entries and offset array; stage 05's data blocks
 * (each labelled with the last key its index entry keeps), bloom filter
 * and index block, so that a get reads one block of each table whose
 * range and filter it passes.
 *
 * From the lines "memtable" and its "entry" lines (detail), "table", and
 * per table "array" (04) or "block", "filter", "index" (05).
 */
#include <string.h>

#include "draw.h"

#define LSM_LABEL_X SVG_MARGIN
#define LSM_AXIS_X0 300.0
#define LSM_AXIS_X1 (SVG_WIDTH - SVG_MARGIN)
#define LSM_BAR_H 18.0

static const char *part_of(const draw_part *p, const char *field, const char *name)
{
    const char *v = draw_str(p, field);
    return v != NULL && name != NULL && strcmp(v, name) == 0 ? v : NULL;
}

/* A memtable's row: its entries as ticks on the axis, in a bar from its
 * smallest to its largest key. */
double draw_memtable(const draw_parts *ps, const draw_part *m, const draw_axis *ax, svg *s,
                     double y)
{
    const char *state = draw_str(m, "state") ? draw_str(m, "state") : "active";
    char b[32], tip[200];
    svg_textf(s, LSM_LABEL_X, y + 9, 11, "start", "#111111", "memtable (%s)", state);
    svg_textf(s, LSM_LABEL_X, y + 22, 10, "start", "#555555", "%llu entries, %s",
              (unsigned long long)draw_u64(m, "entries"), draw_bytes(draw_u64(m, "bytes"), b, sizeof b));
    const char *lo = NULL, *hi = NULL;
    for (size_t i = 0; i < ps->n; i++) {
        const draw_part *e = &ps->p[i];
        if (!draw_is(e, "entry") || !part_of(e, "mem", state))
            continue;
        const char *k = draw_str(e, "key");
        if (lo == NULL || draw_key_compare(k, lo) < 0)
            lo = k;
        if (hi == NULL || draw_key_compare(k, hi) > 0)
            hi = k;
    }
    snprintf(tip, sizeof tip, "the %s memtable: %llu entries in memory (and in its log), "
             "sorted by key", state, (unsigned long long)draw_u64(m, "entries"));
    if (lo != NULL) {
        double x0 = draw_axis_left(ax, lo), x1 = draw_axis_right(ax, hi);
        svg_rect(s, x0, y, x1 - x0, LSM_BAR_H, "#fff3bf", "#f59f00", "memtable", tip);
    } else {
        svg_rect(s, LSM_AXIS_X0, y, 4, LSM_BAR_H, "#fff3bf", "#f59f00", "memtable", tip);
    }
    for (size_t i = 0; i < ps->n; i++) {
        const draw_part *e = &ps->p[i];
        if (!draw_is(e, "entry") || !part_of(e, "mem", state))
            continue;
        const char *k = draw_str(e, "key");
        double x = (draw_axis_left(ax, k) + draw_axis_right(ax, k)) / 2;
        int del = part_of(e, "op", "del") != NULL;
        svg_line(s, x, y + 3, x, y + LSM_BAR_H - 3, del ? "#e03131" : "#2b8a3e", 1.2, "entry");
    }
    return y + 34;
}

void draw_memtable_keys(const draw_parts *ps, draw_axis *ax)
{
    for (size_t i = 0; i < ps->n; i++)
        if (draw_is(&ps->p[i], "entry") && draw_str(&ps->p[i], "mem") != NULL)
            draw_axis_add(ax, draw_str(&ps->p[i], "key"));
}

/* One piece of a table's file, on its strip. */
static void lsm_piece(svg *s, double x0, double scale, double y, uint64_t off, uint64_t size,
                      const char *fill, const char *cls, const char *tip, const char *label,
                      int key)
{
    double x = x0 + (double)off * scale, w = (double)size * scale;
    svg_rect(s, x, y, w, 14, fill, "#ffffff", cls, tip);
    char shown[24];
    size_t fits = (size_t)((w - 2) / 5.0);
    if (label != NULL && fits >= 3)
        svg_text(s, x + w / 2, y + 10.5, 8, "middle", "#222222", "normal",
                 key ? draw_key_tail(label, fits < 20 ? fits : 20, shown, sizeof shown)
                     : draw_key_label(label, fits < 20 ? fits : 20, shown, sizeof shown));
}

/* The strip of table t's file under its bar: its parts, to scale;
 * returns the number of data blocks drawn. */
static size_t lsm_table_file(const draw_parts *ps, size_t ti, svg *s, double y)
{
    const draw_part *t = &ps->p[ti];
    const char *file = draw_str(t, "file");
    uint64_t bytes = draw_u64(t, "bytes");
    if (bytes == 0)
        return 0;
    double x0 = LSM_AXIS_X0, scale = (LSM_AXIS_X1 - LSM_AXIS_X0) / (double)bytes;
    svg_rect(s, x0, y, (double)bytes * scale, 14, "#e9ecef", "#adb5bd", NULL,
             "the rest: the keys at the ends, and the footer that says where the parts are");
    lsm_piece(s, x0, scale, y, 0, 16, "#555555", NULL, "the file header", NULL, 0);
    size_t blocks = 0;
    char tip[200];
    for (size_t i = ti + 1; i < ps->n && !draw_is(&ps->p[i], "table"); i++) {
        const draw_part *p = &ps->p[i];
        if (!part_of(p, "table", file))
            continue;
        uint64_t off = draw_u64(p, "off"), size = draw_u64(p, "size");
        if (draw_is(p, "block")) {
            char last[80];
            draw_key_label(draw_str(p, "last"), 60, last, sizeof last);
            snprintf(tip, sizeof tip, "data block %llu: offset %llu, %llu bytes; its index "
                     "entry says its keys are <= \"%s\"", (unsigned long long)draw_u64(p, "n"),
                     (unsigned long long)off, (unsigned long long)size, last);
            lsm_piece(s, x0, scale, y, off, size, blocks % 2 ? "#74c0fc" : "#a5d8ff", "block",
                      tip, draw_str(p, "last"), 1);
            blocks++;
        } else if (draw_is(p, "filter")) {
            snprintf(tip, sizeof tip, "bloom filter: %llu bytes, %llu bits (%llu set), %llu "
                     "probes a key", (unsigned long long)size, (unsigned long long)draw_u64(p, "bits"),
                     (unsigned long long)draw_u64(p, "bits_set"), (unsigned long long)draw_u64(p, "k"));
            lsm_piece(s, x0, scale, y, off, size, "#ffe066", "filter", tip, "filter", 0);
        } else if (draw_is(p, "index")) {
            snprintf(tip, sizeof tip, "index block: %llu bytes, one entry per data block (%llu)",
                     (unsigned long long)size, (unsigned long long)draw_u64(p, "blocks"));
            lsm_piece(s, x0, scale, y, off, size, "#d0bfff", "index", tip, "index", 0);
        } else if (draw_is(p, "array")) {
            uint64_t n = draw_u64(p, "entries");
            snprintf(tip, sizeof tip, "entries, in key order, from offset 16 to %llu",
                     (unsigned long long)off);
            lsm_piece(s, x0, scale, y, 16, off > 16 ? off - 16 : 0, "#a5d8ff", "entries", tip,
                      "entries", 0);
            snprintf(tip, sizeof tip, "the offset array: where each of the %llu entries starts, "
                     "for a binary search", (unsigned long long)n);
            lsm_piece(s, x0, scale, y, off, 8 * n, "#d0bfff", "array", tip, "offsets", 0);
        }
    }
    return blocks;
}

void draw_lsm(const draw_parts *ps, svg *s, draw_summary *sum)
{
    draw_axis ax = {0};
    size_t tables = 0, memtables = 0, blocks = 0;
    int detail = 0;
    for (size_t i = 0; i < ps->n; i++) {
        const draw_part *p = &ps->p[i];
        if (draw_is(p, "table")) {
            draw_axis_add(&ax, draw_str(p, "smallest"));
            draw_axis_add(&ax, draw_str(p, "largest"));
            tables++;
        } else if (draw_is(p, "block") || draw_is(p, "array")) {
            detail = 1;
        }
    }
    draw_memtable_keys(ps, &ax);
    if (ax.failed) {
        s->failed = 1;
        draw_axis_free(&ax);
        return;
    }
    draw_axis_done(&ax, LSM_AXIS_X0, LSM_AXIS_X1);
    svg_textf(s, SVG_MARGIN, 44, 12, "start", "#333333",
              "the memtable, then %zu table%s newest first: the order a get looks in; each bar "
              "spans its keys", tables, tables == 1 ? "" : "s");
    double y = 70;
    draw_axis_labels(&ax, s, y);
    y += 16;
    for (size_t i = 0; i < ps->n; i++)
        if (draw_is(&ps->p[i], "memtable")) {
            y = draw_memtable(ps, &ps->p[i], &ax, s, y);
            memtables++;
        }
    for (size_t i = 0; i < ps->n; i++) {
        const draw_part *t = &ps->p[i];
        if (!draw_is(t, "table"))
            continue;
        const char *lo = draw_str(t, "smallest"), *hi = draw_str(t, "largest");
        char b[32], k1[40], k2[40], tip[300];
        draw_key_label(lo, 30, k1, sizeof k1);
        draw_key_label(hi, 30, k2, sizeof k2);
        svg_textf(s, LSM_LABEL_X, y + 9, 10, "start", "#111111", "%s",
                  draw_str(t, "file") ? draw_str(t, "file") : "?");
        svg_textf(s, LSM_LABEL_X, y + 22, 10, "start", "#555555", "%s, %llu entries",
                  draw_bytes(draw_u64(t, "bytes"), b, sizeof b),
                  (unsigned long long)draw_u64(t, "entries"));
        snprintf(tip, sizeof tip, "%s: %llu bytes, %llu entries, keys \"%s\" to \"%s\"",
                 draw_str(t, "file") ? draw_str(t, "file") : "?",
                 (unsigned long long)draw_u64(t, "bytes"),
                 (unsigned long long)draw_u64(t, "entries"), k1, k2);
        double x0 = draw_axis_left(&ax, lo), x1 = draw_axis_right(&ax, hi);
        svg_rect(s, x0, y, x1 - x0, LSM_BAR_H, "#a5d8ff", "#1c7ed6", "table", tip);
        svg_textf(s, x0 + 3, y + 13, 9, "start", "#0b3d91", "%s .. %s", k1, k2);
        y += 26;
        if (detail) {
            blocks += lsm_table_file(ps, i, s, y);
            y += 24;
        }
    }
    y += 10;
    double x = svg_legend(s, SVG_MARGIN, y, "#fff3bf", "memtable (ticks: its keys)");
    x = svg_legend(s, x, y, "#a5d8ff", "table: its key range");
    if (detail) {
        y += 18;
        x = svg_legend(s, SVG_MARGIN, y, "#555555", "header");
        x = svg_legend(s, x, y, "#a5d8ff", blocks ? "data blocks" : "entries");
        x = svg_legend(s, x, y, "#d0bfff", blocks ? "index block" : "offset array");
        if (blocks)
            x = svg_legend(s, x, y, "#ffe066", "bloom filter");
        svg_legend(s, x, y, "#e9ecef", blocks ? "properties, metaindex, footer"
                                              : "smallest and largest keys, tail");
    }
    if (blocks)
        snprintf(sum->text, sizeof sum->text, "%zu memtable%s, %zu table%s newest first, %zu data "
                 "block%s", memtables, memtables == 1 ? "" : "s", tables, tables == 1 ? "" : "s",
                 blocks, blocks == 1 ? "" : "s");
    else
        snprintf(sum->text, sizeof sum->text, "%zu memtable%s, %zu table%s newest first",
                 memtables, memtables == 1 ? "" : "s", tables, tables == 1 ? "" : "s");
    draw_axis_free(&ax);
}
