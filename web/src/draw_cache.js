// draw_cache.js: stage 09's memory for reads, under its levels (and the
// value log), drawn by draw_lsm.js from kv_inspect's line "cache"
// (docs/lab.md): one budget (cache_bytes) as one bar, cut where it is
// split between the record cache (the newest version of keys gets asked
// for, per table: a get it answers reads no filter, index or block) and
// the block cache (data blocks), each filled as far as it holds; under
// it, on the same scale, what open tables keep outside the budget: their
// indexes and filters, pinned.  Each part says its hits and misses this
// session.  The same picture as kv draw's (tools/draw_cache.c).

import { kib } from "./bytes.js";
import { ofKind } from "./inspect.js";
import { note } from "./picture.js";

const rate = (hits, misses) => hits + misses === 0 ? "not asked yet"
  : `hits ${hits}, misses ${misses} (${Math.round((100 * hits) / (hits + misses))}% hits)`;

// Draws the cache into svg at (x, y), w wide.  view: the stage's view.
// Returns {y: the bottom, drawn: counts}.
export function drawCache(svg, view, x, y, w) {
  const c = ofKind(view.data.lines, "cache")[0];
  if (!c) return { y, drawn: {} };
  const g = svg.append("g").attr("class", "cachepart").attr("transform", `translate(${x},0)`);
  y = note(g, "subtitle", 0, y + 12, w, `memory for reads: one budget of ${kib(c.budget)}, ${kib(c.record_budget)} of it for records, the rest for blocks`);
  const scale = w / Math.max(1, c.budget);
  const barH = 16, top = y + 2;
  const part = (cls, x0, width, used, budget, tip) => {
    const pg = g.append("g").attr("class", `cache ${cls}`).attr("transform", `translate(${x0},${top})`);
    pg.append("rect").attr("class", "bar").attr("width", Math.max(0, width)).attr("height", barH);
    const filled = budget ? (width * Math.min(used, budget)) / budget : 0;
    if (filled > 0) pg.append("rect").attr("class", "used").attr("width", filled).attr("height", barH);
    pg.append("title").text(tip);
  };
  const rw = c.record_budget * scale;
  if (c.record_budget > 0) {
    part("records", 0, rw, c.record_bytes, c.record_budget,
      `record cache: ${c.records} records, ${c.record_bytes} of ${c.record_budget} bytes; ${rate(c.record_hits, c.record_misses)}`);
  }
  part("blocks", rw, w - rw, c.block_bytes, c.block_budget,
    `block cache: ${c.blocks} blocks, ${c.block_bytes} of ${c.block_budget} bytes; ${rate(c.block_hits, c.block_misses)}`);
  y = top + barH + 4;
  y = note(g, "note", 0, y + 10, w, c.record_budget > 0
    ? `records: ${c.records} held, ${kib(c.record_bytes)} of ${kib(c.record_budget)}; ${rate(c.record_hits, c.record_misses)}`
    : "records: none (record_cache_percent is KV_NO_RECORD_CACHE)");
  y = note(g, "note", 0, y, w, `blocks: ${c.blocks} held, ${kib(c.block_bytes)} of ${kib(c.block_budget)}; ${rate(c.block_hits, c.block_misses)}`);
  const pw = Math.min(w, c.pinned_bytes * scale);
  const pg = g.append("g").attr("class", "cache pinned").attr("transform", `translate(0,${y})`);
  pg.append("rect").attr("class", "used").attr("width", c.pinned_bytes > 0 ? Math.max(1, pw) : 0).attr("height", barH / 2);
  pg.append("title").text(`pinned outside the budget: the indexes and filters of ${c.tables} open tables, ${c.pinned_bytes} bytes`);
  y = note(g, "note", 0, y + barH / 2 + 12, w, `pinned outside the budget: the indexes and filters of ${c.tables} open table${c.tables === 1 ? "" : "s"}, ${kib(c.pinned_bytes)}` +
    (c.pinned_bytes * scale > w ? " (more than the budget: the bar is cut)" : ""));
  return {
    y,
    drawn: { cache: 1, cacheRecords: c.records, cacheRecordBytes: c.record_bytes, cacheBlocks: c.blocks,
      cacheBlockBytes: c.block_bytes, cachePinned: c.pinned_bytes },
  };
}
