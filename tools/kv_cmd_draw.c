/*
 * kv_cmd_draw.c: the kv commands that show what the database is made of,
 * from kv_inspect (include/kv.h; its lines are docs/lab.md's table
 * "kv_inspect lines"):
 *
 *   inspect [--detail]   kv_inspect's lines as they are
 *   draw FILE.svg        a picture of them, an SVG file a browser shows
 *
 * draw reads the lines with KV_INSPECT_DETAIL into a list of parts
 * (draw.h), then hands them to the picture of the stage's family, chosen
 * by what the lines hold: levels (stages 06, 07: draw_levels.c), with a
 * value log under them (08: draw_vlog.c) and the cache under that (09:
 * draw_cache.c), tables (04, 05: draw_lsm.c),
 * segments (02, 03: draw_hash.c) or a log (01: draw_log.c).  The picture is written to FILE.tmp and renamed to FILE,
 * so a failure leaves no half-written FILE.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "kv_tool.h"

static int cmd_inspect(tool *t, const text_word *args, int nargs)
{
    unsigned flags = 0;
    if (nargs == 1) {
        if (!text_word_is(args[0], "--detail"))
            return tool_fail("inspect: unknown option (the one option is --detail)");
        flags |= KV_INSPECT_DETAIL;
    }
    int st = kv_inspect(t->db, flags, tool_print_line, stdout);
    return st == KV_OK ? EXIT_OK : tool_fail_status(st);
}

static void draw_collect(void *ctx, const char *line)
{
    draw_parts_add(ctx, line);
}

/* The family of the parts: the kind of line only it has. */
static int draw_has_kind(const draw_parts *ps, const char *kind)
{
    for (size_t i = 0; i < ps->n; i++)
        if (draw_is(&ps->p[i], kind))
            return 1;
    return 0;
}

/* The picture of the parts, for the database in dir, written to f: the
 * stage family's, chosen by the parts' kinds.  0, or -1 if memory ran
 * out (nothing written). */
static int draw_database(const draw_parts *ps, const char *dir, FILE *f, draw_summary *sum)
{
    svg s;
    svg_open(&s);
    const char *stage = ps->n > 0 ? draw_str(&ps->p[0], "stage") : NULL;
    char title[512];
    snprintf(title, sizeof title, "%s, stage %s", dir, stage ? stage : "?");
    svg_text(&s, SVG_MARGIN, 22, 15, "start", "#111", "bold", title);
    if (draw_has_kind(ps, "level")) {
        draw_levels(ps, &s, sum);
        if (draw_has_kind(ps, "values"))
            draw_vlog(ps, &s, sum);
        if (draw_has_kind(ps, "cache"))
            draw_cache(ps, &s, sum);
    } else if (draw_has_kind(ps, "memtable"))
        draw_lsm(ps, &s, sum);
    else if (draw_has_kind(ps, "segment"))
        draw_hash(ps, &s, sum);
    else
        draw_log(ps, &s, sum);
    return svg_close(&s, f, title);
}

static int cmd_draw(tool *t, const text_word *args, int nargs)
{
    (void)nargs;
    char *path = tool_path(args[0]);
    if (path == NULL)
        return EXIT_ERROR;
    draw_parts parts = {0};
    int rc = EXIT_OK;
    int st = kv_inspect(t->db, KV_INSPECT_DETAIL, draw_collect, &parts);
    if (st != KV_OK)
        rc = tool_fail_status(st);
    else if (parts.failed)
        rc = tool_fail("draw: %s", parts.failed == DRAW_NOMEM ? "out of memory"
                                                              : "a line of kv_inspect that "
                                                                "does not parse");
    char *tmp = NULL;
    FILE *f = NULL;
    if (rc == EXIT_OK && (tmp = malloc(strlen(path) + 5)) == NULL)
        rc = tool_fail("out of memory");
    if (rc == EXIT_OK) {
        sprintf(tmp, "%s.tmp", path);
        if ((f = fopen(tmp, "w")) == NULL)
            rc = tool_fail("draw: cannot create %s: %s", tmp, strerror(errno));
    }
    if (rc == EXIT_OK) {
        draw_summary sum = {0};
        int nomem = draw_database(&parts, t->dir, f, &sum) != 0;
        int werr = ferror(f);
        if (fclose(f) != 0 || werr) {
            rc = tool_fail("draw: error writing %s", tmp);
        } else if (nomem) {
            rc = tool_fail("draw: out of memory");
        } else if (rename(tmp, path) != 0) {
            rc = tool_fail("draw: cannot rename %s to %s: %s", tmp, path, strerror(errno));
        } else {
            printf("draw: %s: %s\n", path, sum.text);
        }
        if (rc != EXIT_OK)
            remove(tmp);
    }
    free(tmp);
    free(path);
    draw_parts_free(&parts);
    return rc;
}

const tool_cmd tool_cmds_draw[] = {
    {"inspect", 0, 1, NEED_READ, cmd_inspect},
    {"draw", 1, 1, NEED_READ, cmd_draw},
    {NULL, 0, 0, 0, NULL},
};
