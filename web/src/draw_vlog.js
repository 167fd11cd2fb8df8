// draw_vlog.js: stage 08's value log, beside its levels (draw_lsm.js
// places it: to the right of the levels when the panel is wide enough,
// else under them).  A put's value of at least value_threshold bytes
// stays in the write-ahead log that took it; once the tables hold that
// log's writes it is renamed a value-log file, and the table entry keeps
// only where the value is.  From kv_inspect's lines "values" and "vlog"
// (docs/lab.md), each file is a bar of its bytes, every file on one
// scale, split as the engine counts it:
//   - live (green): the values tables still point at;
//   - garbage (grey): values no table points at any more, counted when a
//     compaction drops the entry that pointed (an overwrite alone is not
//     garbage yet: the older entry is still in a table);
//   - the rest (pale): headers, keys, values small enough to stay in the
//     tables; never garbage.
// A file whose garbage reaches value_gc_percent of its values is outlined
// (the collection would empty it: in the page, at the next compact, since
// without threads the value log's jobs run only in kv_compact); a file
// emptied but still needed by a snapshot is struck through, waiting; the
// files the last command made are marked new, the ones its collection
// removed drawn faded below; a get that read its value here marks the
// bytes it read.

import { clip, kib } from "./bytes.js";
import { ofKind } from "./inspect.js";
import { note } from "./picture.js";

// Past this many files, the first and the last VLOG_ROWS_MAX / 2 are drawn
// and a line between says how many are left out.
export const VLOG_ROWS_MAX = 120;

// A file's number, the same under both its names (000000000101.log, then
// .vlog): what tells one file apart across commands.
export const vlogId = (file) => String(file).replace(/\.v?log$/, "");

// "000000000101.vlog" as "101".
const shortName = (file) => String(Number(vlogId(file))) || String(file);

// Whether the collection would empty f now (vlog_gc.c's rule): a file it
// may take, with garbage at least gc_percent of its value bytes.
export function wouldCollect(f, gcPercent) {
  return f.state === "live" && f.garbage > 0 && f.garbage * 100 >= gcPercent * f.value_bytes;
}

function tip(f, why) {
  if (f.state === "emptied") return `${f.file}: ${f.bytes} bytes, emptied: its live values were written again; it goes once no snapshot, iterator or unflushed write can read it (in the page: at a compact after the snapshot is released)`;
  if (f.live === undefined) return `${f.file}: ${f.bytes} bytes, ${f.state}: how much of it is live is not known (a crash lost its counts); the collection measures it first`;
  const pc = f.value_bytes ? Math.round((100 * f.garbage) / f.value_bytes) : 0;
  return `${f.file}: ${f.bytes} bytes, ${f.state}; values ${f.value_bytes} bytes: ${f.live} live, ${f.garbage} garbage (${pc}%); ` +
    `${Math.max(0, f.bytes - f.value_bytes)} bytes of headers, keys and small values${why}`;
}

// Draws the value log into svg at (x, y), w wide.  view: the stage's view
// (its lines, events, get).  Returns {y: the bottom, drawn: counts}.
export function drawValueLog(svg, view, x, y, w) {
  const lines = view.data.lines;
  const values = ofKind(lines, "values")[0];
  if (!values) return { y, drawn: {} };
  const files = ofKind(lines, "vlog");
  const ev = view.events || {};
  const created = ev.vlogCreated || new Set();
  const removed = ev.vlogRemoved || [];
  const look = view.get ? view.get.lines.find((l) => l.kind === "look" && l.part === "vlog") : undefined;
  const gc = values.gc_percent;
  const live = files.reduce((n, f) => n + (f.state !== "emptied" && f.live !== undefined ? f.live : 0), 0);
  const garbage = files.reduce((n, f) => n + (f.state !== "emptied" && f.garbage !== undefined ? f.garbage : 0), 0);
  const collect = files.filter((f) => wouldCollect(f, gc));
  const emptied = files.filter((f) => f.state === "emptied");

  const g = svg.append("g").attr("class", "valuelog").attr("transform", `translate(${x},0)`);
  y = note(g, "subtitle", 0, y + 12, w, `the value log: ${files.length} file${files.length === 1 ? "" : "s"}, ${kib(values.bytes)}: ` +
    `values of ${values.threshold} bytes or more, kept apart from the tables' keys (a table entry holds where)`);
  y = note(g, "note", 0, y, w, `live ${kib(live)} · garbage ${kib(garbage)}` +
    (collect.length ? ` · ${collect.length} file${collect.length > 1 ? "s" : ""} at ${gc}% garbage or more: compact empties ${collect.length > 1 ? "them" : "it"}, writing ${kib(collect.reduce((n, f) => n + f.live, 0))} again, removing ${kib(collect.reduce((n, f) => n + f.bytes, 0))}`
      : ` · a file goes at ${gc}% garbage (none yet)`));
  if (emptied.length) {
    y = note(g, "vlognote", 0, y, w, `${emptied.length} emptied file${emptied.length > 1 ? "s" : ""} (${kib(emptied.reduce((n, f) => n + f.bytes, 0))}) ` +
      `wait${emptied.length > 1 ? "" : "s"} for the snapshots, iterators and unflushed writes that may still read ${emptied.length > 1 ? "them" : "it"}`);
  }
  if (!files.length) {
    y = note(g, "note", 0, y + 4, w, "no value-log file yet: large values wait in the write-ahead log until a flush puts its writes in tables");
  }

  // The rows: the first and last VLOG_ROWS_MAX / 2 past that many files.
  let rows = files;
  let leftOut = null;
  if (files.length > VLOG_ROWS_MAX) {
    const half = VLOG_ROWS_MAX / 2;
    const mid = files.slice(half, files.length - half);
    leftOut = { n: mid.length, bytes: mid.reduce((n, f) => n + f.bytes, 0) };
    rows = [...files.slice(0, half), null, ...files.slice(files.length - half)];
  }
  const rowH = Math.max(4, Math.min(16, Math.floor(900 / Math.max(1, rows.length))));
  const labelW = rowH >= 11 ? Math.min(150, Math.floor(w * 0.36)) : 0;
  const barX = labelW, barW = Math.max(40, w - labelW - 2);
  const biggest = Math.max(1, ...files.map((f) => f.bytes), ...removed.map((f) => f.bytes));
  const scale = barW / biggest;
  const top = y + 4;
  const rg = g.append("g").attr("class", "vlogs");
  rows.forEach((f, i) => {
    const at = top + i * rowH;
    if (f === null) {
      rg.append("text").attr("class", "note").attr("x", barX).attr("y", at + rowH - 1)
        .text(`… ${leftOut.n} files, ${kib(leftOut.bytes)}, not drawn`);
      return;
    }
    const willGo = wouldCollect(f, gc);
    const read = look && vlogId(look.file) === vlogId(f.file);
    const fg = rg.append("g")
      .attr("class", `vlog ${f.state}${willGo ? " collect" : ""}${created.has(vlogId(f.file)) ? " new" : ""}${read ? " answer" : ""}`)
      .attr("data-file", f.file).attr("data-state", f.state)
      .attr("transform", `translate(0,${at})`);
    const bw = Math.max(2, f.bytes * scale), bh = Math.max(3, rowH - 3);
    fg.append("rect").attr("class", "bar").attr("x", barX).attr("width", bw).attr("height", bh);
    if (f.state !== "emptied" && f.live !== undefined) {
      if (f.live > 0) fg.append("rect").attr("class", "live").attr("x", barX).attr("width", f.live * scale).attr("height", bh);
      if (f.garbage > 0) fg.append("rect").attr("class", "garbage").attr("x", barX + f.live * scale).attr("width", f.garbage * scale).attr("height", bh);
    } else if (f.state === "emptied") {
      fg.append("line").attr("class", "strike").attr("x1", barX).attr("x2", barX + bw).attr("y1", bh / 2).attr("y2", bh / 2);
    }
    if (read) {
      fg.append("rect").attr("class", "read").attr("x", barX + look.offset * scale).attr("y", -1)
        .attr("width", Math.max(2, look.read_bytes * scale)).attr("height", bh + 2)
        .append("title").text(`the get read ${look.read_bytes} bytes at offset ${look.offset} of ${look.file}: its ${look.vlen}-byte value`);
    }
    if (labelW) {
      const pc = f.value_bytes ? Math.round((100 * f.garbage) / f.value_bytes) : 0;
      const what = f.state === "emptied" ? "emptied" : f.live === undefined ? f.state : `${pc}%`;
      fg.append("text").attr("class", `seglabel${willGo ? " due" : ""}`).attr("x", 0).attr("y", Math.min(11, bh))
        .text(clip(`${shortName(f.file)} · ${kib(f.bytes)} · ${what}`, Math.floor(labelW / 6.2)));
    }
    fg.insert("title", ":first-child").text(tip(f, (willGo ? "; compact would empty it" : "") +
      (created.has(vlogId(f.file)) ? "; made by the last command" : "")));
  });
  y = top + rows.length * rowH;

  // The files the last command's collection removed, as they were.
  if (removed.length) {
    y = note(g, "note", 0, y + 12, w, `removed by the last command's collection: ${removed.length} file${removed.length > 1 ? "s" : ""}, ${kib(removed.reduce((n, f) => n + f.bytes, 0))}` +
      (ev.gcMoved ? ` (${ev.gcMoved} live value${ev.gcMoved > 1 ? "s" : ""}, ${kib(ev.gcMovedBytes)}, written again first)` : ""));
    // One small box per file, in rows (their bytes are in the tooltips).
    const shown = removed.slice(0, VLOG_ROWS_MAX);
    const per = Math.max(1, Math.floor(w / 12));
    const gg = g.append("g").attr("class", "vlog-ghosts");
    shown.forEach((f, i) => {
      const fg = gg.append("g").attr("class", "vlog removed").attr("data-file", f.file)
        .attr("transform", `translate(${(i % per) * 12},${y + 4 + Math.floor(i / per) * 11})`);
      fg.append("rect").attr("class", "bar").attr("width", 10).attr("height", 8);
      fg.append("title").text(`${f.file}: ${f.bytes} bytes, removed by the last command's collection (its live values written again first)`);
    });
    y += 4 + Math.ceil(shown.length / per) * 11;
    if (removed.length > shown.length) y = note(g, "note", 0, y + 10, w, `… and ${removed.length - shown.length} more`);
  }
  return {
    y,
    drawn: { vlog: rows.filter((f) => f !== null).length, vlogFiles: files.length, vlogLive: live, vlogGarbage: garbage,
      vlogCollect: collect.length, vlogEmptied: emptied.length, vlogRemoved: removed.length },
  };
}
