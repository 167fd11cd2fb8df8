/*
 * draw_vlog.c: stage 08's value log (draw.h), drawn under stage 06's
 * levels (draw_levels.c): where the large values are, and what the
 * garbage collection would reclaim.  A put's value of at least
 * value_threshold bytes stays in the write-ahead log that took it; once
 * the tables hold that log's writes, the log is renamed a value-log file
 * (NNNNNNNNNNNN.vlog) and the tables keep only where each value is.
 *
 * Each file is a bar of its bytes, every file on one scale (the largest
 * spans the width), split in three:
 *   live     (green)  the values tables still point at;
 *   garbage  (grey)   values no table points at any more: overwritten or
 *                     deleted, and the entry that pointed dropped by a
 *                     compaction (until then the value still counts as
 *                     live); what collecting the file reclaims;
 *   the rest (pale)   block and record headers, keys, the small values
 *                     kept in the tables: never garbage.
 * A file whose garbage is at least gc_percent of its values is outlined in
 * orange: the collection empties it (writes its live values again, as new
 * puts) and removes it.  An emptied file is red and struck through: its
 * live values are written again, and it is removed once no snapshot,
 * iterator or unflushed write can still read it.  A file whose counts are
 * unknown (a crash lost them) is hatched: a job measures it first.
 *
 * From the lines "values" (threshold, gc_percent, files, bytes,
 * value_bytes, live, garbage) and "vlog" (file, bytes, value_bytes, live,
 * garbage, state: live, busy, emptied, unmeasured, log or damaged).
 */
#include <string.h>

#include "draw.h"

#define VL_LABEL_X SVG_MARGIN
#define VL_BAR_X0 300.0
#define VL_BAR_X1 (SVG_WIDTH - SVG_MARGIN)
/* Past this many files, the first and the last VL_ROWS_MAX / 2 are drawn
 * and a row between says how many were left out and what they hold. */
#define VL_ROWS_MAX 200

#define VL_LIVE "#8ce99a"
#define VL_GARBAGE "#adb5bd"
#define VL_REST "#f1f3f5"
#define VL_EMPTIED "#ffc9c9"
#define VL_UNKNOWN "#e9ecef"
#define VL_COLLECT "#e8590c"

/* What the picture found in the "vlog" lines. */
typedef struct vl_sums {
    size_t files, collect, emptied, unmeasured, damaged;
    uint64_t bytes, live, garbage, collect_bytes, collect_live, emptied_bytes;
} vl_sums;

static const char *vl_state(const draw_part *f)
{
    const char *st = draw_str(f, "state");
    return st != NULL ? st : "live";
}

static int vl_state_is(const draw_part *f, const char *state)
{
    return strcmp(vl_state(f), state) == 0;
}

/* Whether the collection would empty file f now: a file it may take
 * (handed over, not being read by a job, not emptied or damaged) with
 * garbage, at least gc_percent of its value bytes (vlog_gc.c's rule). */
static int vl_would_collect(const draw_part *f, uint64_t gc_percent)
{
    uint64_t garbage = draw_u64(f, "garbage"), values = draw_u64(f, "value_bytes");
    return vl_state_is(f, "live") && draw_str(f, "garbage") != NULL && garbage > 0 &&
           garbage * 100 >= gc_percent * values;
}

/* "000000000101.vlog" as "101.vlog": the start, without its zeros. */
static const char *vl_short(const char *file, char *buf, size_t cap)
{
    if (file == NULL)
        return "?";
    const char *p = file;
    while (*p == '0' && p[1] >= '0' && p[1] <= '9')
        p++;
    snprintf(buf, cap, "%s", p);
    return buf;
}

/* The tooltip of file f. */
static void vl_tip(const draw_part *f, int collect, char *tip, size_t cap)
{
    const char *file = draw_str(f, "file") ? draw_str(f, "file") : "?";
    uint64_t bytes = draw_u64(f, "bytes");
    if (vl_state_is(f, "emptied")) {
        snprintf(tip, cap, "%s: %llu bytes, emptied: its live values were written again; it is "
                 "removed once no snapshot, iterator or unflushed write can read it",
                 file, (unsigned long long)bytes);
    } else if (draw_str(f, "live") == NULL) {
        snprintf(tip, cap, "%s: %llu bytes, %s: how much of it is live is not known yet (a "
                 "crash lost its counts); the collection measures it first", file,
                 (unsigned long long)bytes, vl_state(f));
    } else {
        uint64_t values = draw_u64(f, "value_bytes");
        snprintf(tip, cap, "%s: %llu bytes, %s; values %llu bytes: %llu live, %llu garbage "
                 "(%.0f%%); %llu bytes of headers and keys%s", file, (unsigned long long)bytes,
                 vl_state(f), (unsigned long long)values,
                 (unsigned long long)draw_u64(f, "live"),
                 (unsigned long long)draw_u64(f, "garbage"),
                 values ? 100.0 * (double)draw_u64(f, "garbage") / (double)values : 0.0,
                 (unsigned long long)(bytes > values ? bytes - values : 0),
                 collect ? "; the collection would empty it" : "");
    }
}

/* One file's row at y, rows h tall; scale: pixels per byte. */
static void vl_file(const draw_part *f, uint64_t gc_percent, double scale, svg *s, double y,
                    double h)
{
    int collect = vl_would_collect(f, gc_percent);
    int emptied = vl_state_is(f, "emptied"), counted = draw_str(f, "live") != NULL;
    uint64_t bytes = draw_u64(f, "bytes");
    char tip[400], b[32], name[40];
    vl_tip(f, collect, tip, sizeof tip);
    double bar = h > 8 ? h - 6 : h - 1, w = (double)bytes * scale;
    if (w < 1)
        w = 1;
    svg_group_begin(s, "vlog", tip);
    if (emptied || !counted) {
        svg_rect(s, VL_BAR_X0, y, w, bar, emptied ? VL_EMPTIED : VL_UNKNOWN,
                 emptied ? "#c92a2a" : "#868e96", emptied ? "emptied" : "unmeasured", NULL);
        if (emptied)
            svg_line(s, VL_BAR_X0, y + bar / 2, VL_BAR_X0 + w, y + bar / 2, "#c92a2a", 1.5, NULL);
        else
            for (double x = VL_BAR_X0 + 6; x < VL_BAR_X0 + w; x += 8)
                svg_line(s, x, y + bar, x - (bar < 6 ? bar : 6), y, "#868e96", 0.8, NULL);
    } else {
        uint64_t live = draw_u64(f, "live"), garbage = draw_u64(f, "garbage");
        svg_rect(s, VL_BAR_X0, y, w, bar, VL_REST, h < 8 ? "none" : "#868e96", "file", NULL);
        if (live > 0)
            svg_rect(s, VL_BAR_X0, y, (double)live * scale, bar, VL_LIVE, "none", "live", NULL);
        if (garbage > 0)
            svg_rect(s, VL_BAR_X0 + (double)live * scale, y, (double)garbage * scale, bar,
                     VL_GARBAGE, "none", "garbage", NULL);
    }
    /* Thin rows (many files) get thin outlines, which do not cover them. */
    double fw = h < 8 ? 1.0 : 2.5, d = h < 8 ? 0.5 : 1.5;
    if (collect)
        svg_frame(s, VL_BAR_X0 - d, y - d, w + 2 * d, bar + 2 * d, VL_COLLECT, fw, "collect");
    if (vl_state_is(f, "damaged"))
        svg_frame(s, VL_BAR_X0 - d, y - d, w + 2 * d, bar + 2 * d, "#e03131", fw, "damaged");
    svg_group_end(s);
    if (h < 12)
        return;
    vl_short(draw_str(f, "file"), name, sizeof name);
    const char *state = vl_state(f);
    if (emptied)
        svg_textf(s, VL_LABEL_X, y + 11, 10, "start", "#c92a2a", "%s %s: emptied, waits for "
                  "its readers", name, draw_bytes(bytes, b, sizeof b));
    else if (!counted)
        svg_textf(s, VL_LABEL_X, y + 11, 10, "start", "#555555", "%s %s: %s", name,
                  draw_bytes(bytes, b, sizeof b), state);
    else {
        uint64_t values = draw_u64(f, "value_bytes"), garbage = draw_u64(f, "garbage");
        svg_textf(s, VL_LABEL_X, y + 11, 10, "start", collect ? "#c2410c" : "#111111",
                  "%s %s: %.0f%% garbage%s%s", name, draw_bytes(bytes, b, sizeof b),
                  values ? 100.0 * (double)garbage / (double)values : 0.0,
                  strcmp(state, "live") == 0 ? "" : ", ",
                  strcmp(state, "live") == 0 ? "" : state);
    }
}

static void vl_add_up(const draw_parts *ps, uint64_t gc_percent, vl_sums *t)
{
    for (size_t i = 0; i < ps->n; i++) {
        const draw_part *f = &ps->p[i];
        if (!draw_is(f, "vlog"))
            continue;
        t->files++;
        t->bytes += draw_u64(f, "bytes");
        if (vl_state_is(f, "emptied")) {
            t->emptied++;
            t->emptied_bytes += draw_u64(f, "bytes");
        } else if (draw_str(f, "live") == NULL) {
            t->unmeasured++;
        } else {
            t->live += draw_u64(f, "live");
            t->garbage += draw_u64(f, "garbage");
        }
        t->damaged += vl_state_is(f, "damaged");
        if (vl_would_collect(f, gc_percent)) {
            t->collect++;
            t->collect_bytes += draw_u64(f, "bytes");
            t->collect_live += draw_u64(f, "live");
        }
    }
}

void draw_vlog(const draw_parts *ps, svg *s, draw_summary *sum)
{
    const draw_part *values = NULL;
    for (size_t i = 0; i < ps->n && values == NULL; i++)
        if (draw_is(&ps->p[i], "values"))
            values = &ps->p[i];
    if (values == NULL)
        return;
    uint64_t gc_percent = draw_u64(values, "gc_percent");
    vl_sums t = {0};
    vl_add_up(ps, gc_percent, &t);
    uint64_t biggest = 1;
    for (size_t i = 0; i < ps->n; i++)
        if (draw_is(&ps->p[i], "vlog") && draw_u64(&ps->p[i], "bytes") > biggest)
            biggest = draw_u64(&ps->p[i], "bytes");
    double scale = (VL_BAR_X1 - VL_BAR_X0) / (double)biggest;
    char b1[32], b2[32], b3[32], b4[32];
    double y = s->height + 34;
    svg_line(s, SVG_MARGIN, y - 20, SVG_WIDTH - SVG_MARGIN, y - 20, "#dee2e6", 1, NULL);
    svg_textf(s, SVG_MARGIN, y, 13, "start", "#111111",
              "the value log: %zu file%s, %s; values of %llu bytes or more are kept here, the "
              "tables hold where they are", t.files, t.files == 1 ? "" : "s",
              draw_bytes(t.bytes, b1, sizeof b1), (unsigned long long)draw_u64(values, "threshold"));
    y += 18;
    svg_textf(s, SVG_MARGIN, y, 11, "start", "#333333",
              "values: %s live (the tables point at them), %s garbage (overwritten or deleted, "
              "dropped by a compaction)", draw_bytes(t.live, b1, sizeof b1),
              draw_bytes(t.garbage, b2, sizeof b2));
    y += 16;
    if (t.collect > 0)
        svg_textf(s, SVG_MARGIN, y, 11, "start", "#c2410c",
                  "a file goes once %llu%% of its values are garbage: %zu file%s would go "
                  "(outlined), %s reclaimed, %s of live values written again",
                  (unsigned long long)gc_percent, t.collect, t.collect == 1 ? "" : "s",
                  draw_bytes(t.collect_bytes, b3, sizeof b3),
                  draw_bytes(t.collect_live, b4, sizeof b4));
    else
        svg_textf(s, SVG_MARGIN, y, 11, "start", "#333333",
                  "a file goes once %llu%% of its values are garbage (the collection writes its "
                  "live values again): no file has that much yet", (unsigned long long)gc_percent);
    y += 16;
    if (t.emptied > 0) {
        svg_textf(s, SVG_MARGIN, y, 11, "start", "#c92a2a",
                  "%zu emptied file%s (%s) wait%s for the snapshots, iterators and unflushed "
                  "writes that may still read %s", t.emptied, t.emptied == 1 ? "" : "s",
                  draw_bytes(t.emptied_bytes, b1, sizeof b1), t.emptied == 1 ? "s" : "",
                  t.emptied == 1 ? "it" : "them");
        y += 16;
    }
    if (t.unmeasured > 0) {
        svg_textf(s, SVG_MARGIN, y, 11, "start", "#555555",
                  "%zu file%s not measured yet (hatched: the counts of %s were lost in a crash): "
                  "the collection measures %s first", t.unmeasured, t.unmeasured == 1 ? "" : "s",
                  t.unmeasured == 1 ? "it" : "them", t.unmeasured == 1 ? "it" : "them");
        y += 16;
    }
    y += 6;
    if (t.files == 0) {
        svg_text(s, SVG_MARGIN, y + 8, 11, "start", "#555555", "normal",
                 "no value-log file yet: large values wait in the write-ahead log until a flush "
                 "puts its writes in tables");
        y += 22;
    }
    double h = t.files <= 40 ? 18 : t.files <= 100 ? 12 : 5;
    size_t shown = 0, n = 0, left_out = 0;
    uint64_t out_bytes = 0;
    for (size_t i = 0; i < ps->n; i++) {
        const draw_part *f = &ps->p[i];
        if (!draw_is(f, "vlog"))
            continue;
        n++;
        if (t.files > VL_ROWS_MAX && n > VL_ROWS_MAX / 2 && n <= t.files - VL_ROWS_MAX / 2) {
            left_out++;
            out_bytes += draw_u64(f, "bytes");
            if (n == t.files - VL_ROWS_MAX / 2) {
                svg_textf(s, VL_LABEL_X, y + 9, 10, "start", "#555555", "... %zu files, %s, "
                          "not drawn", left_out, draw_bytes(out_bytes, b1, sizeof b1));
                y += 14;
            }
            continue;
        }
        vl_file(f, gc_percent, scale, s, y, h);
        shown++;
        y += h;
    }
    y += 16;
    double x = svg_legend(s, SVG_MARGIN, y, VL_LIVE, "live values");
    x = svg_legend(s, x, y, VL_GARBAGE, "garbage");
    x = svg_legend(s, x, y, VL_REST, "headers, keys, small values");
    x = svg_legend(s, x, y, VL_EMPTIED, "emptied, waiting for readers");
    svg_frame(s, x, y - 10, 12, 12, VL_COLLECT, 2.5, NULL);
    svg_text(s, x + 18, y, 11, "start", "#333333", "normal", "the collection would empty it");
    size_t len = strlen(sum->text);
    snprintf(sum->text + len, sizeof sum->text - len,
             "; value log %zu file%s (%zu drawn), %llu bytes: live %llu, garbage %llu; %zu to "
             "collect, %zu emptied waiting", t.files, t.files == 1 ? "" : "s", shown,
             (unsigned long long)t.bytes, (unsigned long long)t.live,
             (unsigned long long)t.garbage, t.collect, t.emptied);
}
