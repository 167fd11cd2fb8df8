/*
 * svg.h: a small writer of SVG pictures (Scalable Vector Graphics, the
 * XML that browsers draw: https://www.w3.org/TR/SVG11/), enough for kv's
 * draw command and kvgrade's plots: rectangles, lines, text, groups, each
 * with an optional class and a <title> that a browser shows on hover.  In
 * a folder of its own because two programs that share nothing else draw
 * with it: the CLI (tools/) and the grader (kvgrade/), which builds
 * without any of the CLI.
 *
 * The body is written to memory as the picture is drawn, so the picture
 * may grow downwards as it goes (svg_extend); svg_close then writes the
 * <svg> element with the final size, the body, and the end.  Text and
 * attribute values are escaped for XML (& < > " '), and bytes that are not
 * printable ASCII become '?', so that whatever a key holds, the file is
 * well-formed XML.
 *
 * Failures (no memory) are kept in the writer: every later call does
 * nothing, and svg_close returns -1 without writing.
 */
#ifndef KV_SVG_H
#define KV_SVG_H

#include <stddef.h>
#include <stdio.h>

#define SVG_WIDTH 1000.0   /* the width of every picture */
#define SVG_MARGIN 16.0

typedef struct svg {
    FILE *body;
    char *buf;
    size_t len;
    double height;
    int failed;
} svg;

void svg_open(svg *s);
/* Writes the whole picture to out and frees the writer: 0, or -1 if
 * something failed before (out is then untouched). */
int  svg_close(svg *s, FILE *out, const char *title);
/* The picture reaches down to y at least. */
void svg_extend(svg *s, double y);

/* fill, stroke: colours ("#a0c4ff", "none"); cls, tip: NULL for none. */
void svg_rect(svg *s, double x, double y, double w, double h, const char *fill,
              const char *stroke, const char *cls, const char *tip);
/* A rectangle's outline only, of this width. */
void svg_frame(svg *s, double x, double y, double w, double h, const char *stroke, double width,
               const char *cls);
void svg_line(svg *s, double x1, double y1, double x2, double y2, const char *stroke,
              double width, const char *cls);
/* anchor: "start", "middle" or "end"; weight: "normal" or "bold". */
void svg_text(svg *s, double x, double y, double size, const char *anchor, const char *fill,
              const char *weight, const char *text);
void svg_textf(svg *s, double x, double y, double size, const char *anchor, const char *fill,
               const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* One entry of a legend at (x, y): a square of colour fill, then text;
 * returns the x where the next entry may start. */
double svg_legend(svg *s, double x, double y, const char *fill, const char *text);
/* A group of shapes that stands for one thing (class cls, tooltip tip). */
void svg_group_begin(svg *s, const char *cls, const char *tip);
void svg_group_end(svg *s);

#endif
