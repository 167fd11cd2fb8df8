/*
 * draw_levels.c: the picture of stages 06 and 07 (draw.h): the memtable,
 * then the levels top down on one key axis (draw_axis.c).  Level 0's
 * tables are flushed memtables whose ranges may overlap, so each gets a
 * row of its own, newest first; a deeper level's tables are disjoint, in
 * key order on one row.  Each level says its bytes against its target
 * and its score (>= 1: due for compaction).  The tables the next
 * compaction would take (kv_inspect's "next" line: the level with the
 * highest score, its round-robin seed, and what overlaps it below) are
 * outlined in orange, with a line that says whether it is due yet.
 *
 * From the lines "memtable" (and its "entry" lines), "level", "table"
 * (with level), "next", "next_table" and "amp".
 */
#include <string.h>

#include "draw.h"

#define LV_LABEL_X SVG_MARGIN
#define LV_AXIS_X0 300.0
#define LV_AXIS_X1 (SVG_WIDTH - SVG_MARGIN)
#define LV_BAR_H 18.0
#define LV_ROW_H 24.0

static const char *const lv_fill[] = {"#ffd8a8", "#a5d8ff", "#b2f2bb", "#d0bfff",
                                      "#fcc2d7", "#99e9f2", "#e9ecef"};

/* 1 if the next compaction would take table file. */
static int lv_is_next(const draw_parts *ps, const char *file)
{
    for (size_t i = 0; i < ps->n; i++) {
        const char *f = draw_str(&ps->p[i], "file");
        if (draw_is(&ps->p[i], "next_table") && f != NULL && file != NULL && strcmp(f, file) == 0)
            return 1;
    }
    return 0;
}

static void lv_table(const draw_parts *ps, const draw_part *t, const draw_axis *ax, svg *s,
                     double y, int level)
{
    const char *lo = draw_str(t, "smallest"), *hi = draw_str(t, "largest");
    const char *file = draw_str(t, "file") ? draw_str(t, "file") : "?";
    char b[32], k1[40], k2[40], tip[300];
    draw_key_label(lo, 30, k1, sizeof k1);
    draw_key_label(hi, 30, k2, sizeof k2);
    int next = lv_is_next(ps, file);
    snprintf(tip, sizeof tip, "%s, level %d: %llu bytes, %llu entries, keys \"%s\" to \"%s\"%s",
             file, level, (unsigned long long)draw_u64(t, "bytes"),
             (unsigned long long)draw_u64(t, "entries"), k1, k2,
             next ? "; the next compaction takes it" : "");
    double x0 = draw_axis_left(ax, lo), x1 = draw_axis_right(ax, hi);
    svg_rect(s, x0, y, x1 - x0, LV_BAR_H, lv_fill[level % 7], "#495057", "table", tip);
    if (next)
        svg_frame(s, x0 - 1.5, y - 1.5, x1 - x0 + 3, LV_BAR_H + 3, "#e8590c", 3, "next");
    char label[64];
    size_t n = strcspn(file, ".");
    snprintf(label, sizeof label, "%.*s %s", (int)n, file, draw_bytes(draw_u64(t, "bytes"), b, sizeof b));
    if ((x1 - x0) > (double)strlen(label) * 5.5 + 4)
        svg_text(s, x0 + 3, y + 13, 9, "start", "#222222", "normal", label);
}

/* The deepest level that holds a table, at least 1. */
static uint64_t lv_deepest(const draw_parts *ps)
{
    uint64_t deepest = 1;
    for (size_t i = 0; i < ps->n; i++)
        if (draw_is(&ps->p[i], "level") && draw_u64(&ps->p[i], "tables") > 0 &&
            draw_u64(&ps->p[i], "n") > deepest)
            deepest = draw_u64(&ps->p[i], "n");
    return deepest;
}

/* The line that says what the next compaction takes; returns its y + 1 row. */
static double lv_next_line(const draw_parts *ps, svg *s, double y, char *sum, size_t cap)
{
    const draw_part *next = NULL;
    uint64_t here = 0, below = 0;
    for (size_t i = 0; i < ps->n; i++) {
        if (draw_is(&ps->p[i], "next"))
            next = &ps->p[i];
        else if (draw_is(&ps->p[i], "next_table") && next != NULL)
            *(draw_u64(&ps->p[i], "level") == draw_u64(next, "level") ? &here : &below) += 1;
    }
    if (next == NULL) {
        svg_text(s, SVG_MARGIN, y, 11, "start", "#333333", "normal",
                 "next compaction: none (no table, or every candidate is being compacted)");
        snprintf(sum, cap, "no compaction to pick");
        return y + 18;
    }
    uint64_t level = draw_u64(next, "level");
    char b[32];
    const char *due = draw_u64(next, "due") ? "due now: the background thread runs it next"
                                            : "not due yet (at score 1)";
    if (draw_u64(next, "move"))
        svg_textf(s, SVG_MARGIN, y, 11, "start", "#c2410c",
                  "next compaction: level %llu, score %.2f, %s: a trivial move of 1 table "
                  "to level %llu (no byte rewritten)", (unsigned long long)level,
                  draw_num(next, "score"), due, (unsigned long long)level + 1);
    else
        svg_textf(s, SVG_MARGIN, y, 11, "start", "#c2410c",
                  "next compaction: level %llu, score %.2f, %s: %llu table%s of level %llu and "
                  "the %llu of level %llu they overlap, %s, merged into level %llu",
                  (unsigned long long)level, draw_num(next, "score"), due,
                  (unsigned long long)here, here == 1 ? "" : "s", (unsigned long long)level,
                  (unsigned long long)below, (unsigned long long)level + 1,
                  draw_bytes(draw_u64(next, "bytes"), b, sizeof b), (unsigned long long)level + 1);
    snprintf(sum, cap, "next compaction L%llu -> L%llu, %llu table%s, %s",
             (unsigned long long)level, (unsigned long long)level + 1,
             (unsigned long long)(here + below), here + below == 1 ? "" : "s",
             draw_u64(next, "due") ? "due" : "not due");
    return y + 18;
}

void draw_levels(const draw_parts *ps, svg *s, draw_summary *sum)
{
    draw_axis ax = {0};
    size_t tables = 0, levels = 0;
    for (size_t i = 0; i < ps->n; i++) {
        const draw_part *p = &ps->p[i];
        if (draw_is(p, "table")) {
            draw_axis_add(&ax, draw_str(p, "smallest"));
            draw_axis_add(&ax, draw_str(p, "largest"));
            tables++;
        }
    }
    draw_memtable_keys(ps, &ax);
    if (ax.failed) {
        s->failed = 1;
        draw_axis_free(&ax);
        return;
    }
    draw_axis_done(&ax, LV_AXIS_X0, LV_AXIS_X1);
    svg_textf(s, SVG_MARGIN, 44, 12, "start", "#333333",
              "the memtable, then the levels: level 0's tables may overlap (newest first), a "
              "deeper level's do not");
    double y = 70;
    draw_axis_labels(&ax, s, y);
    y += 16;
    for (size_t i = 0; i < ps->n; i++)
        if (draw_is(&ps->p[i], "memtable"))
            y = draw_memtable(ps, &ps->p[i], &ax, s, y);
    uint64_t deepest = lv_deepest(ps);
    char per_level[128] = "";
    size_t pl = 0;
    for (size_t i = 0; i < ps->n; i++) {
        const draw_part *lv = &ps->p[i];
        if (!draw_is(lv, "level") || draw_u64(lv, "n") > deepest)
            continue;
        int level = (int)draw_u64(lv, "n");
        uint64_t n = draw_u64(lv, "tables");
        size_t rows = level == 0 ? (n > 0 ? n : 1) : 1;
        double band = (double)rows * LV_ROW_H + 8;
        char b1[32], b2[32];
        svg_rect(s, SVG_MARGIN - 4, y - 4, SVG_WIDTH - 2 * SVG_MARGIN + 8, band,
                 level % 2 ? "#f8f9fa" : "#ffffff", "#dee2e6", "level", NULL);
        svg_textf(s, LV_LABEL_X, y + 10, 11, "start", "#111111", "level %d: %llu table%s, %s",
                  level, (unsigned long long)n, n == 1 ? "" : "s",
                  draw_bytes(draw_u64(lv, "bytes"), b1, sizeof b1));
        if (level == 0)
            svg_textf(s, LV_LABEL_X, y + 23, 10, "start", "#555555", "score %.2f: %llu of %llu "
                      "tables", draw_num(lv, "score"), (unsigned long long)n,
                      (unsigned long long)draw_u64(lv, "target"));
        else
            svg_textf(s, LV_LABEL_X, y + 23, 10, "start", "#555555", "score %.2f: of %s target",
                      draw_num(lv, "score"), draw_bytes(draw_u64(lv, "target"), b2, sizeof b2));
        double row = y;
        for (size_t j = i + 1; j < ps->n && !draw_is(&ps->p[j], "level"); j++) {
            if (!draw_is(&ps->p[j], "table"))
                continue;
            lv_table(ps, &ps->p[j], &ax, s, row, level);
            if (level == 0)
                row += LV_ROW_H;
        }
        if (pl < sizeof per_level)
            pl += (size_t)snprintf(per_level + pl, sizeof per_level - pl, "%sL%d %llu",
                                   pl ? ", " : "", level, (unsigned long long)n);
        levels++;
        y += band + 6;
    }
    y += 12;
    char next[128];
    y = lv_next_line(ps, s, y, next, sizeof next);
    for (size_t i = 0; i < ps->n; i++)
        if (draw_is(&ps->p[i], "amp"))
            svg_textf(s, SVG_MARGIN, y, 11, "start", "#333333", "write amplification %.2f "
                      "(bytes written to tables over bytes flushed); a get reads up to %llu "
                      "table%s", draw_num(&ps->p[i], "write"),
                      (unsigned long long)draw_u64(&ps->p[i], "read"),
                      draw_u64(&ps->p[i], "read") == 1 ? "" : "s");
    y += 22;
    double x = svg_legend(s, SVG_MARGIN, y, "#fff3bf", "memtable");
    for (int l = 0; l <= (int)deepest && l < 7; l++) {
        char text[24];
        snprintf(text, sizeof text, "level %d", l);
        x = svg_legend(s, x, y, lv_fill[l], text);
    }
    svg_frame(s, x, y - 10, 12, 12, "#e8590c", 3, NULL);
    svg_text(s, x + 18, y, 11, "start", "#333333", "normal", "taken by the next compaction");
    snprintf(sum->text, sizeof sum->text, "%zu table%s in levels 0-%llu (%s); %s", tables,
             tables == 1 ? "" : "s", (unsigned long long)deepest, per_level, next);
    (void)levels;
    draw_axis_free(&ax);
}
