/*
 * svg.c: the SVG writer (svg.h).
 */
#include "svg.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void svg_open(svg *s)
{
    s->buf = NULL;
    s->len = 0;
    s->height = 0;
    s->body = open_memstream(&s->buf, &s->len);
    s->failed = s->body == NULL;
}

void svg_extend(svg *s, double y)
{
    if (y > s->height)
        s->height = y;
}

/* Text with the characters XML gives a meaning escaped. */
static void svg_escaped(FILE *f, const char *t)
{
    for (; *t; t++) {
        unsigned char c = (unsigned char)*t;
        switch (c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(c == '\n' || (c >= 0x20 && c < 0x7f) ? c : '?', f);
        }
    }
}

static int svg_live(svg *s)
{
    return !s->failed && s->body != NULL;
}

static void svg_attr(svg *s, const char *name, const char *value)
{
    if (value == NULL)
        return;
    fprintf(s->body, " %s=\"", name);
    svg_escaped(s->body, value);
    fputc('"', s->body);
}

static void svg_tip(svg *s, const char *tip)
{
    if (tip == NULL)
        return;
    fputs("<title>", s->body);
    svg_escaped(s->body, tip);
    fputs("</title>", s->body);
}

void svg_rect(svg *s, double x, double y, double w, double h, const char *fill,
              const char *stroke, const char *cls, const char *tip)
{
    if (!svg_live(s))
        return;
    if (w < 0.5)
        w = 0.5;
    fprintf(s->body, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"", x, y, w, h);
    svg_attr(s, "fill", fill);
    svg_attr(s, "stroke", stroke);
    svg_attr(s, "class", cls);
    if (tip != NULL) {
        fputc('>', s->body);
        svg_tip(s, tip);
        fputs("</rect>\n", s->body);
    } else {
        fputs("/>\n", s->body);
    }
    svg_extend(s, y + h);
}

void svg_frame(svg *s, double x, double y, double w, double h, const char *stroke, double width,
               const char *cls)
{
    if (!svg_live(s))
        return;
    fprintf(s->body, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke-width=\"%.1f\"", x, y, w, h, width);
    svg_attr(s, "stroke", stroke);
    svg_attr(s, "class", cls);
    fputs("/>\n", s->body);
    svg_extend(s, y + h);
}

void svg_line(svg *s, double x1, double y1, double x2, double y2, const char *stroke,
              double width, const char *cls)
{
    if (!svg_live(s))
        return;
    fprintf(s->body, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"%.1f\"",
            x1, y1, x2, y2, width);
    svg_attr(s, "stroke", stroke);
    svg_attr(s, "class", cls);
    fputs("/>\n", s->body);
    svg_extend(s, y1 > y2 ? y1 : y2);
}

void svg_text(svg *s, double x, double y, double size, const char *anchor, const char *fill,
              const char *weight, const char *text)
{
    if (!svg_live(s))
        return;
    fprintf(s->body, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\"", x, y, size);
    svg_attr(s, "text-anchor", anchor);
    svg_attr(s, "fill", fill);
    if (weight != NULL && weight[0] != 'n')
        svg_attr(s, "font-weight", weight);
    fputc('>', s->body);
    svg_escaped(s->body, text);
    fputs("</text>\n", s->body);
    svg_extend(s, y + size / 3);
}

void svg_textf(svg *s, double x, double y, double size, const char *anchor, const char *fill,
               const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    svg_text(s, x, y, size, anchor, fill, "normal", text);
}

double svg_legend(svg *s, double x, double y, const char *fill, const char *text)
{
    svg_rect(s, x, y - 9, 10, 10, fill, "#777777", NULL, NULL);
    svg_text(s, x + 14, y, 11, "start", "#333333", "normal", text);
    return x + 14 + (double)strlen(text) * 6.6 + 18;
}

void svg_group_begin(svg *s, const char *cls, const char *tip)
{
    if (!svg_live(s))
        return;
    fputs("<g", s->body);
    svg_attr(s, "class", cls);
    fputc('>', s->body);
    svg_tip(s, tip);
    fputc('\n', s->body);
}

void svg_group_end(svg *s)
{
    if (svg_live(s))
        fputs("</g>\n", s->body);
}

int svg_close(svg *s, FILE *out, const char *title)
{
    int rc = -1;
    if (s->body != NULL && fclose(s->body) == 0 && !s->failed) {
        double h = s->height + SVG_MARGIN;
        fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                     "viewBox=\"0 0 %.0f %.0f\" font-family=\"monospace\">\n<title>",
                SVG_WIDTH, h, SVG_WIDTH, h);
        svg_escaped(out, title);
        fputs("</title>\n<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n",
              out);
        fwrite(s->buf, 1, s->len, out);
        fputs("</svg>\n", out);
        rc = 0;
    }
    free(s->buf);
    s->body = NULL;
    s->buf = NULL;
    return rc;
}
