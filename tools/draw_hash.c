/*
 * draw_hash.c: the picture of stages 02 and 03 (draw.h): on the left the
 * hash index, one box per used slot; on the right each segment, oldest
 * first, as a bar of its bytes (the header dark, then its records); a
 * line joins each slot to the record it points at.  Records no slot
 * points at (overwritten or deleted) are grey: what a merge (kv compact)
 * drops.  Stage 03 adds, under each segment, its log's framing: the
 * 32 KiB blocks, the fragments each record is cut into (full, or first,
 * middle and last across a block's end), and the sync markers (black).
 *
 * From the lines "segment", "index", "slot" (detail, at most
 * KV_INSPECT_DETAIL_MAX), and per segment "record" (02: with op, key and
 * live; 03: with ops, then one "op" line each, live per op), "seal" (02),
 * "block", "frag" and "marker" (03), and "cut" when a part had more.
 */
#include <string.h>

#include "draw.h"

#define HASH_SLOT_X SVG_MARGIN
#define HASH_SLOT_W 200.0
#define HASH_SLOT_H 13.0
#define HASH_SEG_X 300.0
#define HASH_SEG_W (SVG_WIDTH - SVG_MARGIN - HASH_SEG_X)
#define HASH_TOP 84.0
#define HASH_BAR_H 20.0

typedef struct seg_row {
    const draw_part *seg;
    double y;        /* the bar's top */
} seg_row;

typedef struct hash_pic {
    const draw_parts *ps;
    svg *s;
    seg_row rows[64];
    size_t nrows;
    double scale;    /* pixels per byte, the same for every segment */
    int wal;         /* stage 03: framed records */
    size_t records;  /* records drawn */
} hash_pic;

/* The row of segment id (NULL if it is not drawn). */
static const seg_row *hash_row(const hash_pic *h, uint64_t id)
{
    for (size_t i = 0; i < h->nrows; i++)
        if (draw_u64(h->rows[i].seg, "id") == id)
            return &h->rows[i];
    return NULL;
}

static double hash_x(const hash_pic *h, uint64_t off)
{
    return HASH_SEG_X + (double)off * h->scale;
}

/* 03: whether any op of the record at (seg, rec) is live, its op count,
 * and its first op (for the label). */
static const draw_part *wal_ops(const hash_pic *h, size_t i, int *live)
{
    const draw_part *first = NULL;
    *live = 0;
    for (size_t j = i + 1; j < h->ps->n && draw_is(&h->ps->p[j], "op"); j++) {
        if (first == NULL)
            first = &h->ps->p[j];
        *live |= draw_u64(&h->ps->p[j], "live") != 0;
    }
    return first;
}

static void hash_record(hash_pic *h, size_t i)
{
    const draw_part *r = &h->ps->p[i];
    const seg_row *row = hash_row(h, draw_u64(r, "seg"));
    if (row == NULL)
        return;
    int live;
    uint64_t ops = 1;
    const draw_part *op = r;
    if (h->wal) {
        ops = draw_u64(r, "ops");
        op = wal_ops(h, i, &live);
        if (op == NULL)
            op = r;
    } else {
        live = draw_u64(r, "live") != 0;
    }
    const char *kind = draw_str(op, "op") ? draw_str(op, "op") : "put";
    int del = strcmp(kind, "del") == 0;
    /* (a lone delete is red even though no slot points at it: no slot
     * ever does, and it is what a learner looks for) */
    const char *fill = ops == 1 && del ? "#f4a6a6"
                       : !live         ? "#d0d0d0"
                       : ops > 1       ? "#9ec5fe"
                                       : "#8fd19e";
    char key[80], tip[240];
    draw_key_label(draw_str(op, "key"), 60, key, sizeof key);
    snprintf(tip, sizeof tip, "%s offset %llu, %llu bytes: %s \"%s\"%s%s",
             draw_str(r, "file") ? draw_str(r, "file") : "", (unsigned long long)draw_u64(r, "off"),
             (unsigned long long)draw_u64(r, "size"), ops > 1 ? "a batch, first" : kind, key,
             ops > 1 ? " and more ops" : "",
             live ? "" : " (no slot points at it: a merge drops it)");
    double x = hash_x(h, draw_u64(r, "off")), w = (double)draw_u64(r, "size") * h->scale;
    svg_rect(h->s, x, row->y, w, HASH_BAR_H, fill, "#ffffff", "record", tip);
    char shown[16];
    size_t fits = (size_t)((w - 2) / 5.5);
    if (fits >= 3)
        svg_text(h->s, x + w / 2, row->y + 14, 9, "middle", "#222222", "normal",
                 draw_key_label(draw_str(op, "key"), fits < 15 ? fits : 15, shown, sizeof shown));
    h->records++;
}

/* 03: a fragment, a block's start, or a sync marker, on the strip under
 * the segment's bar. */
static void hash_frame(hash_pic *h, const draw_part *p)
{
    const seg_row *row = hash_row(h, draw_u64(p, "seg"));
    if (row == NULL)
        return;
    double y = row->y + HASH_BAR_H + 3;
    char tip[160];
    if (draw_is(p, "frag")) {
        const char *type = draw_str(p, "type") ? draw_str(p, "type") : "full";
        const char *fill = strcmp(type, "full") == 0    ? "#74c0fc"
                           : strcmp(type, "first") == 0 ? "#ffa94d"
                           : strcmp(type, "last") == 0  ? "#b197fc"
                                                        : "#ffd43b";
        snprintf(tip, sizeof tip, "fragment (%s) at offset %llu: 7-byte header and %llu bytes, "
                 "block %llu", type, (unsigned long long)draw_u64(p, "off"),
                 (unsigned long long)draw_u64(p, "len"), (unsigned long long)draw_u64(p, "block"));
        svg_rect(h->s, hash_x(h, draw_u64(p, "off")), y,
                 (double)(draw_u64(p, "len") + 7) * h->scale, 7, fill, "#ffffff", "frag", tip);
    } else if (draw_is(p, "marker")) {
        snprintf(tip, sizeof tip, "sync marker at offset %llu%s", (unsigned long long)draw_u64(p, "off"),
                 draw_u64(p, "seal") ? " (the seal)" : "");
        svg_rect(h->s, hash_x(h, draw_u64(p, "off")), row->y,
                 (double)draw_u64(p, "size") * h->scale, HASH_BAR_H + 10, "#111111", NULL, "marker",
                 tip);
    } else if (draw_is(p, "block")) {
        double x = hash_x(h, draw_u64(p, "off"));
        svg_line(h->s, x, row->y - 4, x, y + 11, "#1971c2", 1.5, "block");
        svg_textf(h->s, x + 2, y + 20, 9, "start", "#1971c2", "block %llu",
                  (unsigned long long)draw_u64(p, "n"));
    } else if (draw_is(p, "seal")) {
        snprintf(tip, sizeof tip, "the seal at offset %llu: this segment is complete",
                 (unsigned long long)draw_u64(p, "off"));
        svg_rect(h->s, hash_x(h, draw_u64(p, "off")), row->y,
                 (double)draw_u64(p, "size") * h->scale, HASH_BAR_H, "#333333", "#ffffff", "seal",
                 tip);
    }
}

/* The segments' bars and labels; returns the y under the last. */
static double hash_segments(hash_pic *h, double row_h)
{
    uint64_t widest = 1;
    for (size_t i = 0; i < h->ps->n; i++)
        if (draw_is(&h->ps->p[i], "segment") && draw_u64(&h->ps->p[i], "bytes") > widest)
            widest = draw_u64(&h->ps->p[i], "bytes");
    h->scale = HASH_SEG_W / (double)widest;
    double y = HASH_TOP;
    svg_text(h->s, HASH_SEG_X, y - 22, 12, "start", "#111111", "bold",
             "segments, oldest first (a bar is the file's bytes, to scale)");
    size_t more = 0;
    for (size_t i = 0; i < h->ps->n; i++) {
        const draw_part *p = &h->ps->p[i];
        if (!draw_is(p, "segment"))
            continue;
        if (h->nrows == sizeof h->rows / sizeof h->rows[0]) {
            more++;
            continue;
        }
        char b1[32], b2[32], tip[200];
        const char *file = draw_str(p, "file") ? draw_str(p, "file") : "?";
        uint64_t cut = draw_cut(h->ps, "segment", file);
        svg_textf(h->s, HASH_SEG_X, y - 4, 10, "start", "#333333",
                  "%s: %s, %s live%s%s%s", file, draw_bytes(draw_u64(p, "bytes"), b1, sizeof b1),
                  draw_bytes(draw_u64(p, "live_bytes"), b2, sizeof b2),
                  draw_u64(p, "active") ? ", active (appended to)" : "",
                  draw_u64(p, "sealed") ? ", sealed" : "", cut ? ", records cut short" : "");
        snprintf(tip, sizeof tip, "%s: %llu bytes, %llu of them live", file,
                 (unsigned long long)draw_u64(p, "bytes"),
                 (unsigned long long)draw_u64(p, "live_bytes"));
        svg_rect(h->s, HASH_SEG_X, y, (double)draw_u64(p, "bytes") * h->scale, HASH_BAR_H,
                 "#f1f3f5", "#868e96", "segment", tip);
        svg_rect(h->s, HASH_SEG_X, y, 16 * h->scale, HASH_BAR_H, "#555555", NULL, NULL,
                 "the file header");
        h->rows[h->nrows++] = (seg_row){p, y};
        y += row_h;
    }
    if (more > 0)
        svg_textf(h->s, HASH_SEG_X, y, 11, "start", "#aa0000", "... and %zu newer segment%s, "
                  "not drawn", more, more == 1 ? "" : "s");
    return y;
}

/* The slots on the left, each with a line to its record; returns the y
 * under the last. */
static double hash_slots(hash_pic *h, size_t *drawn)
{
    double y = HASH_TOP;
    svg_text(h->s, HASH_SLOT_X, y - 22, 12, "start", "#111111", "bold",
             "index: used slots, in table order");
    *drawn = 0;
    for (size_t i = 0; i < h->ps->n; i++) {
        const draw_part *p = &h->ps->p[i];
        if (!draw_is(p, "slot"))
            continue;
        char key[40], tip[200];
        draw_key_label(draw_str(p, "key"), 22, key, sizeof key);
        snprintf(tip, sizeof tip, "slot %llu: \"%s\" is at segment %llu, offset %llu",
                 (unsigned long long)draw_u64(p, "n"), key, (unsigned long long)draw_u64(p, "seg"),
                 (unsigned long long)draw_u64(p, "off"));
        svg_rect(h->s, HASH_SLOT_X, y, HASH_SLOT_W, HASH_SLOT_H - 1, "#e7f5ff", "#a5d8ff", "slot",
                 tip);
        svg_textf(h->s, HASH_SLOT_X + 3, y + 9.5, 9, "start", "#222222", "%5llu %s",
                  (unsigned long long)draw_u64(p, "n"), key);
        const seg_row *row = hash_row(h, draw_u64(p, "seg"));
        if (row != NULL) {
            double x = hash_x(h, draw_u64(p, "off")) + (double)draw_u64(p, "size") * h->scale / 2;
            svg_line(h->s, HASH_SLOT_X + HASH_SLOT_W, y + HASH_SLOT_H / 2, x, row->y, "#4dabf7",
                     0.6, "pointer");
        }
        y += HASH_SLOT_H;
        (*drawn)++;
    }
    return y;
}

void draw_hash(const draw_parts *ps, svg *s, draw_summary *sum)
{
    hash_pic h = {.ps = ps, .s = s};
    const draw_part *db = &ps->p[0], *index = NULL;
    for (size_t i = 0; i < ps->n; i++) {
        h.wal |= draw_is(&ps->p[i], "frag");
        if (draw_is(&ps->p[i], "index"))
            index = &ps->p[i];
    }
    char b1[32], b2[32];
    svg_textf(s, SVG_MARGIN, 44, 12, "start", "#333333",
              "%llu segment%s, %s (%s live); the index holds %llu key%s in %llu slots%s",
              (unsigned long long)draw_u64(db, "segments"), draw_u64(db, "segments") == 1 ? "" : "s",
              draw_bytes(draw_u64(db, "bytes"), b1, sizeof b1),
              draw_bytes(draw_u64(db, "live_bytes"), b2, sizeof b2),
              (unsigned long long)draw_u64(db, "keys"), draw_u64(db, "keys") == 1 ? "" : "s",
              (unsigned long long)(index ? draw_u64(index, "slots") : 0),
              draw_u64(db, "merges") ? "" : "; no merge yet");
    double y_seg = hash_segments(&h, h.wal ? 74 : 56);
    size_t slots = 0;
    double y_slot = hash_slots(&h, &slots);  /* (under the records, which cover the lines' ends) */
    for (size_t i = 0; i < ps->n; i++) {
        const draw_part *p = &ps->p[i];
        if (draw_is(p, "record"))
            hash_record(&h, i);
        else if (draw_is(p, "frag") || draw_is(p, "marker") || draw_is(p, "block") ||
                 draw_is(p, "seal"))
            hash_frame(&h, p);
    }
    double y = (y_seg > y_slot ? y_seg : y_slot) + 16;
    uint64_t cut = draw_cut(ps, "index", NULL);
    if (cut > 0) {
        svg_textf(s, SVG_MARGIN, y, 11, "start", "#aa0000",
                  "the index has more used slots than these %llu (kv_inspect shows that many)",
                  (unsigned long long)cut);
        y += 18;
    }
    double x = svg_legend(s, SVG_MARGIN, y, "#8fd19e", "put");
    x = svg_legend(s, x, y, "#f4a6a6", "delete");
    if (h.wal)
        x = svg_legend(s, x, y, "#9ec5fe", "batch");
    svg_legend(s, x, y, "#d0d0d0", "no slot points at it: dead, a merge drops it");
    if (h.wal) {
        y += 18;
        x = svg_legend(s, SVG_MARGIN, y, "#74c0fc", "full fragment");
        x = svg_legend(s, x, y, "#ffa94d", "first");
        x = svg_legend(s, x, y, "#ffd43b", "middle");
        x = svg_legend(s, x, y, "#b197fc", "last");
        svg_legend(s, x, y, "#111111", "sync marker");
    }
    snprintf(sum->text, sizeof sum->text,
             "%zu segment%s, an index of %llu key%s (%zu slot%s drawn), %zu record%s drawn",
             h.nrows, h.nrows == 1 ? "" : "s", (unsigned long long)draw_u64(db, "keys"),
             draw_u64(db, "keys") == 1 ? "" : "s", slots, slots == 1 ? "" : "s", h.records,
             h.records == 1 ? "" : "s");
}
