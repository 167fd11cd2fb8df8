/*
 * draw_cache.c: stage 09's memory for reads (draw.h), drawn under the rest
 * of the picture: one budget (kv_options.cache_bytes) split between the
 * record cache and the block cache, and what open tables keep outside it.
 *
 * The budget is one bar across the width, cut where the split is:
 *   records  (blue)    the record cache: the newest version of keys gets
 *                      asked for, per table; a get it answers reads no
 *                      filter, index or block;
 *   blocks   (yellow)  the block cache: uncompressed data blocks;
 *   free     (pale)    what each part has not filled yet.
 * Under it, on the same scale, a bar for what is pinned: what every open
 * table keeps in memory outside the budget, its index and filter (only
 * their top level for a table of partitions) and its properties (cut at
 * the width, with an arrow, when it is larger than the budget), and a line
 * for the table files mapped (stage 05's file cache; none when
 * map_tables is KV_NO_MAP).  Each part says its hits and misses this
 * session.
 *
 * From the line "cache" (budget, record_budget, record_bytes, records,
 * record_hits, record_misses, block_budget, block_bytes, blocks,
 * block_hits, block_misses, pinned_bytes, tables, mapped_bytes).
 */
#include <stdio.h>
#include <string.h>

#include "draw.h"

#define CA_X0 SVG_MARGIN
#define CA_X1 (SVG_WIDTH - SVG_MARGIN)
#define CA_BAR 22.0

#define CA_RECORDS "#74c0fc"
#define CA_BLOCKS "#ffd43b"
#define CA_FREE "#f8f9fa"
#define CA_PINNED "#b197fc"

/* "hits 12, misses 3 (80% hits)", or "not asked yet". */
static const char *ca_rate(uint64_t hits, uint64_t misses, char *buf, size_t cap)
{
    if (hits + misses == 0)
        snprintf(buf, cap, "not asked yet");
    else
        snprintf(buf, cap, "hits %llu, misses %llu (%.0f%% hits)", (unsigned long long)hits,
                 (unsigned long long)misses, 100.0 * (double)hits / (double)(hits + misses));
    return buf;
}

/* One part of the budget: its share [x, x + w), filled as far as used. */
static void ca_part(svg *s, const char *cls, const char *fill, double x, double w, double y,
                    uint64_t used, uint64_t budget, const char *tip)
{
    svg_group_begin(s, cls, tip);
    svg_rect(s, x, y, w, CA_BAR, CA_FREE, "#868e96", "budget", NULL);
    double filled = budget ? w * (double)(used < budget ? used : budget) / (double)budget : 0;
    if (filled > 0)
        svg_rect(s, x, y, filled, CA_BAR, fill, "none", "used", NULL);
    svg_group_end(s);
}

void draw_cache(const draw_parts *ps, svg *s, draw_summary *sum)
{
    const draw_part *c = NULL;
    for (size_t i = 0; i < ps->n; i++)
        if (draw_is(&ps->p[i], "cache"))
            c = &ps->p[i];
    if (c == NULL)
        return;
    uint64_t budget = draw_u64(c, "budget"), rbudget = draw_u64(c, "record_budget");
    uint64_t bbudget = draw_u64(c, "block_budget"), pinned = draw_u64(c, "pinned_bytes");
    uint64_t rbytes = draw_u64(c, "record_bytes"), bbytes = draw_u64(c, "block_bytes");
    uint64_t records = draw_u64(c, "records"), blocks = draw_u64(c, "blocks");
    uint64_t tables = draw_u64(c, "tables");
    char b1[32], b2[32], r1[80], tip[256];
    double y = s->height + 34;
    svg_line(s, SVG_MARGIN, y - 20, SVG_WIDTH - SVG_MARGIN, y - 20, "#dee2e6", 1, NULL);
    svg_textf(s, SVG_MARGIN, y, 13, "start", "#111111",
              "memory for reads: one budget of %s, %s of it for records, the rest for blocks",
              draw_bytes(budget, b1, sizeof b1), draw_bytes(rbudget, b2, sizeof b2));
    y += 10;
    double scale = (CA_X1 - CA_X0) / (double)(budget ? budget : 1);
    double rw = (double)rbudget * scale;
    snprintf(tip, sizeof tip, "record cache: %llu records, %s of %s", (unsigned long long)records,
             draw_bytes(rbytes, b1, sizeof b1), draw_bytes(rbudget, b2, sizeof b2));
    if (rbudget > 0)
        ca_part(s, "cache-records", CA_RECORDS, CA_X0, rw, y, rbytes, rbudget, tip);
    snprintf(tip, sizeof tip, "block cache: %llu blocks, %s of %s", (unsigned long long)blocks,
             draw_bytes(bbytes, b1, sizeof b1), draw_bytes(bbudget, b2, sizeof b2));
    ca_part(s, "cache-blocks", CA_BLOCKS, CA_X0 + rw, CA_X1 - CA_X0 - rw, y, bbytes, bbudget, tip);
    y += CA_BAR + 16;
    if (rbudget > 0)
        svg_textf(s, SVG_MARGIN, y, 11, "start", "#333333",
                  "records: %llu held, %s of %s; %s", (unsigned long long)records,
                  draw_bytes(rbytes, b1, sizeof b1), draw_bytes(rbudget, b2, sizeof b2),
                  ca_rate(draw_u64(c, "record_hits"), draw_u64(c, "record_misses"), r1,
                          sizeof r1));
    else
        svg_text(s, SVG_MARGIN, y, 11, "start", "#333333", "normal",
                 "records: none (record_cache_percent is KV_NO_RECORD_CACHE)");
    y += 16;
    svg_textf(s, SVG_MARGIN, y, 11, "start", "#333333", "blocks: %llu held, %s of %s; %s",
              (unsigned long long)blocks, draw_bytes(bbytes, b1, sizeof b1),
              draw_bytes(bbudget, b2, sizeof b2),
              ca_rate(draw_u64(c, "block_hits"), draw_u64(c, "block_misses"), r1, sizeof r1));
    y += 12;
    double pw = (double)pinned * scale;
    int cut = pw > CA_X1 - CA_X0;
    if (cut)
        pw = CA_X1 - CA_X0;
    snprintf(tip, sizeof tip, "pinned: the indexes and filters of %llu open tables, %s",
             (unsigned long long)tables, draw_bytes(pinned, b1, sizeof b1));
    svg_group_begin(s, "pinned", tip);
    svg_rect(s, CA_X0, y, pw > 1 || pinned == 0 ? pw : 1, CA_BAR / 2, CA_PINNED, "none", NULL,
             NULL);
    if (cut)
        svg_text(s, CA_X1 - 4, y + 9, 10, "end", "#111111", "normal", "... more");
    svg_group_end(s);
    y += CA_BAR / 2 + 16;
    svg_textf(s, SVG_MARGIN, y, 11, "start", "#333333",
              "pinned outside the budget: the indexes and filters of %llu open table%s, %s%s",
              (unsigned long long)tables, tables == 1 ? "" : "s", draw_bytes(pinned, b1, sizeof b1),
              cut ? " (more than the budget: the bar is cut)" : "");
    uint64_t mapped = draw_u64(c, "mapped_bytes");
    if (mapped > 0) { /* 0: not mapped (map_tables = KV_NO_MAP, or a backend that cannot) */
        y += 16;
        svg_textf(s, SVG_MARGIN, y, 11, "start", "#333333",
                  "mapped outside the budget: %s of table files, each page a read touched "
                  "resident (map_tables)", draw_bytes(mapped, b1, sizeof b1));
    }
    y += 20;
    double x = svg_legend(s, SVG_MARGIN, y, CA_RECORDS, "records");
    x = svg_legend(s, x, y, CA_BLOCKS, "blocks");
    x = svg_legend(s, x, y, CA_FREE, "free");
    svg_legend(s, x, y, CA_PINNED, "pinned indexes and filters");
    svg_extend(s, y + 8);
    size_t len = strlen(sum->text);
    snprintf(sum->text + len, sizeof sum->text - len,
             "; cache %llu bytes: records %llu (%llu of %llu bytes), blocks %llu (%llu of %llu "
             "bytes), pinned %llu bytes", (unsigned long long)budget,
             (unsigned long long)records, (unsigned long long)rbytes,
             (unsigned long long)rbudget, (unsigned long long)blocks,
             (unsigned long long)bbytes, (unsigned long long)bbudget,
             (unsigned long long)pinned);
}
