/*
 * kvg_report.c: the scorecard (text, on standard output) and the report
 * (--report DIR: index.html, the counterexamples' replay files, and SVG
 * plots drawn with svg/svg.h: each engine's throughput per phase of
 * the speed workload; per crash, the writes acknowledged against the
 * writes recovered).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kvgrade.h"
#include "svg.h"

static const char *status_word(int st)
{
    return st == KVG_PASS ? "pass" : st == KVG_FAIL ? "FAIL" : st == KVG_SKIP ? "skipped" : "not run";
}

void kvg_scorecard(FILE *out, const kvg_ctx *ctx, kvg_rung_result *rr)
{
    fprintf(out, "\nScorecard: engine \"%s\", durability %s%s (seed %llu, %.0f s)\n",
            ctx->engine.template, ctx->sync ? "sync" : "none", ctx->quick ? ", quick" : "",
            (unsigned long long)ctx->seed, kvg_now() - ctx->started);
    for (int i = 0; i < KVG_NRUNGS; i++) {
        if (!ctx->rung_wanted[i])
            continue;
        fprintf(out, "  rung %-12s %-8s %s (%.1f s)\n", kvg_rung_names[i], status_word(rr[i].status),
                rr[i].summary != NULL ? rr[i].summary : "", rr[i].seconds);
    }
    int failed = 0, skipped = 0;
    for (int i = 0; i < KVG_NRUNGS; i++) {
        if (!ctx->rung_wanted[i])
            continue;
        if (rr[i].status == KVG_FAIL) {
            failed++;
            fprintf(out, "\nRung %s failed: %s\n", kvg_rung_names[i], rr[i].reason);
            if (rr[i].cex_text != NULL) {
                fprintf(out, "The shortest counterexample found (%zu steps):\n", rr[i].cex.n);
                const char *t = rr[i].cex_text;
                size_t lines = 0;
                for (const char *p = t; *p; p++)
                    lines += *p == '\n';
                if (lines > 60) {
                    /* the first and the last lines */
                    size_t seen = 0;
                    const char *p = t;
                    for (; *p && seen < 20; p++) {
                        fputc(*p, out);
                        seen += *p == '\n';
                    }
                    fprintf(out, "  ... (%zu lines; all of them in the replay file)\n", lines - 45);
                    const char *q = t + strlen(t);
                    for (seen = 0; q > p && seen < 26; q--)
                        seen += q[-1] == '\n';
                    fputs(q, out);
                } else {
                    fputs(t, out);
                }
            }
            if (rr[i].cex_file != NULL)
                fprintf(out, "Replay it: %s --replay %s --engine %s\n", ctx->self, rr[i].cex_file,
                        ctx->replay_engine_arg);
        } else if (rr[i].status == KVG_SKIP) {
            skipped++;
        }
    }
    if (ctx->rung_wanted[KVG_RUNG_POWER] && rr[KVG_RUNG_POWER].status == KVG_SKIP) {
        fprintf(out, "\n!!! The power-cut rung was SKIPPED: %s.\n", rr[KVG_RUNG_POWER].reason);
    }
    fputc('\n', out);
    if (failed > 0)
        fprintf(out, "%d rung(s) failed.\n", failed);
    else if (skipped > 0)
        fprintf(out, "No rung failed, but %d rung(s) were skipped: not every rung passed.\n", skipped);
    else
        fprintf(out, "Every requested rung passed.\n");
    if (ctx->rung_wanted[KVG_RUNG_POWER] && rr[KVG_RUNG_POWER].status == KVG_SKIP)
        fprintf(out, "The durability claim (%s) was NOT checked against power cuts: the power "
                     "rung was skipped.\n", ctx->sync ? "sync" : "none");
}

/* ---- HTML ------------------------------------------------------------------- */

static void html_text(FILE *f, const char *s)
{
    for (; s != NULL && *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
    }
}

static void plot_speed(const char *path, kvg_rung_result *rr)
{
    if (rr->nspeed == 0)
        return;
    svg s;
    svg_open(&s);
    /* the phases, and the engines, in the order they came */
    const char *phases[8], *engines[8];
    size_t np = 0, ne = 0;
    double top = 1;
    for (size_t i = 0; i < rr->nspeed; i++) {
        size_t j;
        for (j = 0; j < np && strcmp(phases[j], rr->speed[i].phase) != 0; j++)
            ;
        if (j == np && np < 8)
            phases[np++] = rr->speed[i].phase;
        for (j = 0; j < ne && strcmp(engines[j], rr->speed[i].engine) != 0; j++)
            ;
        if (j == ne && ne < 8)
            engines[ne++] = rr->speed[i].engine;
        if (rr->speed[i].ops_per_s > top)
            top = rr->speed[i].ops_per_s;
    }
    static const char *colours[] = {"#e76f51", "#2a9d8f", "#264653", "#e9c46a", "#8ab17d",
                                    "#6d597a", "#b56576", "#355070"};
    double x0 = 80, y0 = 40, h = 260, w = SVG_WIDTH - x0 - 20;
    svg_text(&s, SVG_MARGIN, 24, 14, "start", "#000", "bold",
             "Throughput per phase (requests per second, higher is better)");
    svg_line(&s, x0, y0 + h, x0 + w, y0 + h, "#000", 1, NULL);
    for (int t = 0; t <= 4; t++) {
        double y = y0 + h - h * t / 4.0;
        svg_line(&s, x0, y, x0 + w, y, "#ddd", 1, NULL);
        svg_textf(&s, x0 - 6, y + 4, 11, "end", "#333", "%.0f", top * t / 4.0);
    }
    double gw = w / (double)np, bw = (gw - 20) / (double)ne;
    for (size_t p = 0; p < np; p++) {
        for (size_t e = 0; e < ne; e++)
            for (size_t i = 0; i < rr->nspeed; i++) {
                if (strcmp(rr->speed[i].phase, phases[p]) != 0 || strcmp(rr->speed[i].engine, engines[e]) != 0)
                    continue;
                double bh = h * rr->speed[i].ops_per_s / top;
                char tip[160];
                snprintf(tip, sizeof tip, "%s, %s: %.0f requests/s, p50 %.0f us, p99 %.0f us",
                         engines[e], phases[p], rr->speed[i].ops_per_s, rr->speed[i].p50_us,
                         rr->speed[i].p99_us);
                svg_rect(&s, x0 + p * gw + 10 + e * bw, y0 + h - bh, bw - 2, bh, colours[e % 8], NULL,
                         NULL, tip);
            }
        svg_text(&s, x0 + p * gw + gw / 2, y0 + h + 16, 12, "middle", "#000", "normal", phases[p]);
    }
    double lx = x0;
    for (size_t e = 0; e < ne; e++)
        lx = svg_legend(&s, lx, y0 + h + 36, colours[e % 8], engines[e]);
    svg_extend(&s, y0 + h + 44);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        svg_close(&s, f, "kvgrade: throughput");
        fclose(f);
    }
}

static void plot_crashes(const char *path, const char *what, kvg_rung_result *rr)
{
    if (rr->npoints == 0)
        return;
    svg s;
    svg_open(&s);
    double top = 1;
    for (size_t i = 0; i < rr->npoints; i++)
        if ((double)rr->points[i].sent > top)
            top = (double)rr->points[i].sent;
    double x0 = 60, y0 = 40, h = 240, w = SVG_WIDTH - x0 - 20;
    char title[160];
    snprintf(title, sizeof title, "%s: writes sent, acknowledged and recovered at each crash", what);
    svg_text(&s, SVG_MARGIN, 24, 14, "start", "#000", "bold", title);
    for (int t = 0; t <= 4; t++) {
        double y = y0 + h - h * t / 4.0;
        svg_line(&s, x0, y, x0 + w, y, "#ddd", 1, NULL);
        svg_textf(&s, x0 - 6, y + 4, 11, "end", "#333", "%.0f", top * t / 4.0);
    }
    double step = w / (double)rr->npoints;
    for (size_t i = 0; i < rr->npoints; i++) {
        const kvg_crash_point *p = &rr->points[i];
        double x = x0 + i * step;
        double bw = step > 6 ? step - 2 : step;
        char kept[32], tip[200];
        if (p->kept == (size_t)-1)
            snprintf(kept, sizeof kept, "no prefix");
        else
            snprintf(kept, sizeof kept, "%zu", p->kept);
        snprintf(tip, sizeof tip, "crash %zu (%s): %zu writes sent, %zu acknowledged, %s "
                 "recovered; restart %.1f ms", i + 1, p->cut ? "power cut" : "kill", p->sent,
                 p->acked, kept, p->restart * 1000);
        svg_group_begin(&s, NULL, tip);
        svg_rect(&s, x, y0 + h - h * (double)p->sent / top, bw, h * (double)p->sent / top, "#e0e0e0",
                 NULL, NULL, NULL);
        svg_rect(&s, x, y0 + h - h * (double)p->acked / top, bw / 2, h * (double)p->acked / top,
                 "#2a9d8f", NULL, NULL, NULL);
        if (p->kept != (size_t)-1)
            svg_rect(&s, x + bw / 2, y0 + h - h * (double)p->kept / top, bw / 2,
                     h * (double)p->kept / top, p->kept < p->acked ? "#d62828" : "#264653", NULL,
                     NULL, NULL);
        svg_group_end(&s);
    }
    svg_line(&s, x0, y0 + h, x0 + w, y0 + h, "#000", 1, NULL);
    svg_text(&s, x0 + w / 2, y0 + h + 16, 12, "middle", "#000", "normal",
             "crash points, in order (each bar: since the last known state)");
    double lx = x0;
    lx = svg_legend(&s, lx, y0 + h + 36, "#e0e0e0", "sent");
    lx = svg_legend(&s, lx, y0 + h + 36, "#2a9d8f", "acknowledged");
    lx = svg_legend(&s, lx, y0 + h + 36, "#264653", "recovered");
    svg_legend(&s, lx, y0 + h + 36, "#d62828", "recovered, fewer than acknowledged");
    svg_extend(&s, y0 + h + 44);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        svg_close(&s, f, title);
        fclose(f);
    }
}

int kvg_report_html(const char *dir, const kvg_ctx *ctx, kvg_rung_result *rr)
{
    mkdir(dir, 0755);
    char *path = kvg_printf("%s/index.html", dir);
    FILE *f = fopen(path, "w");
    free(path);
    if (f == NULL)
        return -1;
    fputs("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>kvgrade report</title>\n"
          "<style>body{font-family:sans-serif;max-width:1050px;margin:2em auto;padding:0 1em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;"
          "vertical-align:top}.pass{color:#1b7a3a;font-weight:bold}.FAIL{color:#b00020;font-weight:bold}"
          ".skipped{color:#a05a00;font-weight:bold}pre{background:#f6f6f6;padding:8px;overflow-x:auto;"
          "font-size:12px}.loud{background:#fff0d0;border:2px solid #a05a00;padding:8px}</style>\n"
          "</head><body>\n<h1>kvgrade report</h1>\n<p>Engine <code>", f);
    html_text(f, ctx->engine.template);
    fprintf(f, "</code>, durability <b>%s</b>%s, seed %llu, %.0f s.</p>\n", ctx->sync ? "sync" : "none",
            ctx->quick ? " (quick)" : "", (unsigned long long)ctx->seed, kvg_now() - ctx->started);
    if (ctx->rung_wanted[KVG_RUNG_POWER] && rr[KVG_RUNG_POWER].status == KVG_SKIP) {
        fputs("<p class=\"loud\">The power-cut rung was <b>skipped</b>: ", f);
        html_text(f, rr[KVG_RUNG_POWER].reason);
        fputs(". The durability claim was not checked against power cuts.</p>\n", f);
    }
    fputs("<table><tr><th>rung</th><th>result</th><th>summary</th><th>seconds</th></tr>\n", f);
    for (int i = 0; i < KVG_NRUNGS; i++) {
        if (!ctx->rung_wanted[i])
            continue;
        fprintf(f, "<tr><td><a href=\"#%s\">%s</a></td><td class=\"%s\">%s</td><td>", kvg_rung_names[i],
                kvg_rung_names[i], status_word(rr[i].status), status_word(rr[i].status));
        html_text(f, rr[i].summary);
        fprintf(f, "</td><td>%.1f</td></tr>\n", rr[i].seconds);
    }
    fputs("</table>\n", f);
    for (int i = 0; i < KVG_NRUNGS; i++) {
        if (!ctx->rung_wanted[i])
            continue;
        fprintf(f, "<h2 id=\"%s\">%s: <span class=\"%s\">%s</span></h2>\n<p>", kvg_rung_names[i],
                kvg_rung_names[i], status_word(rr[i].status), status_word(rr[i].status));
        html_text(f, rr[i].summary);
        fputs("</p>\n", f);
        if (rr[i].detail != NULL) {
            fputs("<pre>", f);
            html_text(f, rr[i].detail);
            fputs("</pre>\n", f);
        }
        if (i == KVG_RUNG_SPEED && rr[i].nspeed > 0) {
            char *svgp = kvg_printf("%s/speed.svg", dir);
            plot_speed(svgp, &rr[i]);
            free(svgp);
            fputs("<p><img src=\"speed.svg\" alt=\"throughput per phase\" width=\"1000\"></p>\n", f);
        }
        if ((i == KVG_RUNG_KILLS || i == KVG_RUNG_POWER) && rr[i].npoints > 0) {
            char *svgp = kvg_printf("%s/%s.svg", dir, kvg_rung_names[i]);
            plot_crashes(svgp, i == KVG_RUNG_KILLS ? "kills" : "power cuts", &rr[i]);
            free(svgp);
            fprintf(f, "<p><img src=\"%s.svg\" alt=\"acknowledged and recovered writes\" "
                       "width=\"1000\"></p>\n", kvg_rung_names[i]);
        }
        if (rr[i].status == KVG_FAIL) {
            fputs("<p><b>Why:</b> ", f);
            html_text(f, rr[i].reason);
            fputs("</p>\n", f);
            if (rr[i].cex_text != NULL) {
                fprintf(f, "<p>The shortest counterexample found, %zu steps (each request, then "
                           "<code>-&gt;</code> the reply the engine gave):</p>\n<pre>", rr[i].cex.n);
                html_text(f, rr[i].cex_text);
                fputs("</pre>\n", f);
            }
            if (rr[i].cex_file != NULL) {
                fputs("<p>Replay it: <code>", f);
                char *cmd = kvg_printf("%s --replay %s --engine %s", ctx->self, rr[i].cex_file,
                                       ctx->replay_engine_arg);
                html_text(f, cmd);
                free(cmd);
                fputs("</code></p>\n", f);
            }
        }
    }
    fputs("<p>What each rung checks, and the rules it applies: docs/kvgrade.md.</p>\n</body></html>\n", f);
    return fclose(f);
}
