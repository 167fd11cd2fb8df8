/*
 * draw_log.c: the picture of stage 01 (draw.h): data.log, its 16-byte
 * header and then one box per record in file order, its width the
 * record's size, wrapped into rows like text.  A put is green, a delete
 * red; a record that a later record of the same key overrides is grey,
 * since this stage keeps it forever and a get reads past it.
 *
 * From the lines "log file start bytes records" and, with detail,
 * "record file off size op key vlen" (at most KV_INSPECT_DETAIL_MAX, then
 * a "cut" line: the picture then says how many it left out, and a record
 * may look current although a later one it did not draw overrides it).
 */
#include <stdlib.h>
#include <string.h>

#include "draw.h"

#define LOG_ROW_H 30.0
#define LOG_BOX_H 22.0
/* Pixels per byte: the records drawn fill about LOG_ROWS rows, each
 * byte between LOG_PPB_MIN and LOG_PPB_MAX pixels wide. */
#define LOG_ROWS 10.0
#define LOG_PPB_MIN 0.2
#define LOG_PPB_MAX 3.0

/* 1 if a record after records[i] (in file order) has the same key. */
static int log_overridden(const draw_part *const *recs, size_t n, size_t i)
{
    const char *key = draw_str(recs[i], "key");
    for (size_t j = i + 1; j < n; j++)
        if (draw_key_compare(draw_str(recs[j], "key"), key) == 0)
            return 1;
    return 0;
}

void draw_log(const draw_parts *ps, svg *s, draw_summary *sum)
{
    const draw_part *log = NULL;
    size_t n = 0;
    const draw_part **recs = malloc((ps->n + 1) * sizeof *recs);
    if (recs == NULL) {
        s->failed = 1;
        return;
    }
    for (size_t i = 0; i < ps->n; i++) {
        if (draw_is(&ps->p[i], "log"))
            log = &ps->p[i];
        else if (draw_is(&ps->p[i], "record"))
            recs[n++] = &ps->p[i];
    }
    uint64_t records = log ? draw_u64(log, "records") : 0, bytes = log ? draw_u64(log, "bytes") : 0;
    char b[32];
    svg_textf(s, SVG_MARGIN, 44, 12, "start", "#333333",
              "%s: %s, %llu record%s, in file order (a record's width is its size)",
              log ? draw_str(log, "file") : "data.log", draw_bytes(bytes, b, sizeof b),
              (unsigned long long)records, records == 1 ? "" : "s");
    double x0 = SVG_MARGIN, x1 = SVG_WIDTH - SVG_MARGIN, x = x0, y = 60;
    uint64_t start = log ? draw_u64(log, "start") : 16, drawn = start;
    for (size_t i = 0; i < n; i++)
        drawn += draw_u64(recs[i], "size");
    double ppb = (x1 - x0) * LOG_ROWS / (double)drawn;
    ppb = ppb < LOG_PPB_MIN ? LOG_PPB_MIN : ppb > LOG_PPB_MAX ? LOG_PPB_MAX : ppb;
    svg_rect(s, x, y, (double)start * ppb, LOG_BOX_H, "#555555", "#ffffff", "header",
             "the file header: magic, format version, checksum");
    x += (double)start * ppb;
    for (size_t i = 0; i < n; i++) {
        const draw_part *r = recs[i];
        double w = (double)draw_u64(r, "size") * ppb;
        if (x + w > x1 && x > x0) {
            x = x0;
            y += LOG_ROW_H;
        }
        int del = strcmp(draw_str(r, "op") ? draw_str(r, "op") : "", "del") == 0;
        int old = log_overridden(recs, n, i);
        const char *fill = old ? "#d0d0d0" : del ? "#f4a6a6" : "#8fd19e";
        char key[80], tip[200];
        draw_key_label(draw_str(r, "key"), 60, key, sizeof key);
        snprintf(tip, sizeof tip, "offset %llu, %llu bytes: %s \"%s\"%s%s",
                 (unsigned long long)draw_u64(r, "off"), (unsigned long long)draw_u64(r, "size"),
                 del ? "delete" : "put", key, del ? "" : ", value bytes: ",
                 del ? "" : draw_str(r, "vlen") ? draw_str(r, "vlen") : "?");
        if (old)
            strncat(tip, " (overridden by a later record of its key)", sizeof tip - strlen(tip) - 1);
        svg_rect(s, x, y, w, LOG_BOX_H, fill, "#ffffff", "record", tip);
        char shown[16];
        size_t fits = (size_t)((w - 2) / 5.5);
        if (fits >= 3)
            svg_text(s, x + w / 2, y + 15, 9, "middle", "#222222", "normal",
                     draw_key_tail(draw_str(r, "key"), fits < 15 ? fits : 15, shown,
                                   sizeof shown));
        x += w;
    }
    y += LOG_ROW_H + 18;
    uint64_t cut = draw_cut(ps, "log", NULL);
    if (cut > 0) {
        svg_textf(s, SVG_MARGIN, y, 11, "start", "#aa0000",
                  "... and %llu more records, not drawn (kv_inspect shows the first %llu)",
                  (unsigned long long)(records - cut), (unsigned long long)cut);
        y += 18;
    }
    double lx = svg_legend(s, SVG_MARGIN, y, "#555555", "header");
    lx = svg_legend(s, lx, y, "#8fd19e", "put");
    lx = svg_legend(s, lx, y, "#f4a6a6", "delete");
    svg_legend(s, lx, y, "#d0d0d0", "overridden by a later record of its key: dead bytes, kept");
    snprintf(sum->text, sizeof sum->text, "the log, %llu record%s (%zu drawn)",
             (unsigned long long)records, records == 1 ? "" : "s", n);
    free(recs);
}
