// draw_log.js: stage 01's picture: data.log.
//   - A strip of the whole file, its bytes left to right: for each slice
//     of it, how much is a live put (green), a put a later record of its
//     key overrides (grey: this stage keeps it forever), a delete (red).
//     It marks the records drawn below, the record a get's answer came
//     from, and the end, where every write goes.
//   - Under it the records themselves, one box per record, its width its
//     size, with its key and value: all of them while they fit
//     (TAIL_RECORDS), else the tail of the file, the newest ones.
// A get reads every record (all outlined) and answers with the last one
// of its key (orange).  The records come from kv_dump (gather.js); their
// number is checked against kv_inspect's and kv_stats's.

import * as d3 from "d3";
import { clip, cutKey, shown } from "./bytes.js";
import { ofKind } from "./inspect.js";
import { legend, note } from "./picture.js";

export const TAIL_RECORDS = 256;

export function drawLog(svg, view, width) {
  const lines = view.data.lines;
  const log = ofKind(lines, "log")[0];
  const all = view.data.records || [];
  const get = view.get;
  svg.attr("width", width);
  svg.selectAll("*").remove();
  let y = note(svg, "title", 0, 14, width, log
    ? `data.log: ${log.bytes.toLocaleString("en")} bytes, ${log.records.toLocaleString("en")} records (a 16-byte header, then records)`
    : "no log yet");
  // Which records a later record of the same key overrides.
  const lastOf = new Map();
  all.forEach((r, i) => lastOf.set(`${r.key}\u0100${r.klen}`, i));
  const shadowed = (r, i) => lastOf.get(`${r.key}\u0100${r.klen}`) !== i;
  y = legend(svg, y, width, [
    { cls: "record put", label: "put, the key's latest" },
    { cls: "record put shadowed", label: "put overridden by a later record (kept forever)" },
    { cls: "record del", label: "delete" },
    ...(get ? [{ cls: "record put scanned", label: "read by the get (every record)" }, { cls: "record put answer", label: "the record that answers" }] : []),
    ...(view.conflict ? [{ cls: "record put conflict", label: "the newer version that conflicts" }] : []),
  ]);

  const look = get ? get.lines.find((l) => l.kind === "look") : undefined;
  const conflictLook = view.conflict ? view.conflict.lines.find((l) => l.kind === "look") : undefined;
  const bytes = log ? log.bytes : 0;
  const from = Math.max(0, all.length - TAIL_RECORDS);
  const tail = all.slice(from);

  // The whole file as a strip.
  if (bytes > 0 && all.length) {
    const stripH = 18, top = y + 4;
    const x = d3.scaleLinear().domain([0, bytes]).range([0, width]);
    const slices = Math.max(1, Math.min(Math.floor(width / 3), all.length));
    const per = bytes / slices;
    const sums = Array.from({ length: slices }, () => ({ live: 0, old: 0, del: 0 }));
    all.forEach((r, i) => {
      const s = sums[Math.min(slices - 1, Math.floor(r.off / per))];
      if (r.op === "del") s.del += r.size;
      else if (shadowed(r, i)) s.old += r.size;
      else s.live += r.size;
    });
    const strip = svg.append("g").attr("class", "strip").attr("transform", `translate(0,${top})`);
    strip.append("rect").attr("class", "strip-bg").attr("width", width).attr("height", stripH);
    strip.append("rect").attr("class", "header").attr("width", Math.max(1, x(16))).attr("height", stripH);
    const sw = width / slices;
    sums.forEach((s, i) => {
      const total = s.live + s.old + s.del;
      if (!total) return;
      let at = stripH;
      for (const [kind, cls] of [["live", "put"], ["old", "put shadowed"], ["del", "del"]]) {
        const h = (s[kind] / total) * stripH;
        if (h <= 0) continue;
        at -= h;
        strip.append("rect").attr("class", `record ${cls} slice`).attr("x", i * sw).attr("y", at)
          .attr("width", Math.max(0.8, sw)).attr("height", h);
      }
    });
    if (from > 0) {
      strip.append("rect").attr("class", "window").attr("x", x(all[from].off)).attr("y", -3)
        .attr("width", Math.max(2, width - x(all[from].off))).attr("height", stripH + 6);
    }
    const mark = (off, cls) => strip.append("path").attr("class", `strip-mark ${cls}`)
      .attr("d", `M${x(off)},${stripH + 1} l-5,8 h10 z`);
    if (look && look.at !== undefined) mark(look.at, look.result === "found" ? "answer" : "deleted-answer");
    if (conflictLook && conflictLook.at !== undefined) mark(conflictLook.at, "conflict");
    strip.append("title").text(`the whole of data.log, ${bytes.toLocaleString("en")} bytes: each slice coloured by what its records are`);
    y = top + stripH + 12;
    y = note(svg, "note", 0, y + 10, width, from > 0
      ? `the whole file above; below, its tail: the last ${tail.length} of ${all.length.toLocaleString("en")} records (from offset ${all[from].off.toLocaleString("en")}, outlined above), where every write is appended`
      : `the whole file above; below, all ${all.length} records, in file order: every write is appended at the end`);
  }

  // The records, flowing like text, 3 px a byte at most.
  const tailBytes = d3.sum(tail, (r) => r.size) || 1;
  const pxPerByte = Math.min(3, Math.max(0.05, (width * 8) / tailBytes));
  const rowH = 30, top = y + 6;
  let x = 0, row = 0;
  const placed = tail.map((r, k) => {
    const w = Math.min(width, Math.max(8, r.size * pxPerByte));
    if (x + w > width && x > 0) { x = 0; row++; }
    const p = { ...r, x, y: top + row * rowH, w, shadowed: shadowed(r, from + k) };
    x += w + 1;
    return p;
  });
  const decided = look?.at;
  const mark = look?.result === "found" ? " answer" : " deleted-answer";
  const g = svg.append("g").attr("class", "records").attr("data-records", all.length).attr("data-drawn", tail.length)
    .selectAll("g.record").data(placed).join("g")
    .attr("class", (d) => `record ${d.op}${d.shadowed ? " shadowed" : ""}${get ? " scanned" : ""}${d.off === decided ? mark : ""}` +
      `${conflictLook && d.off === conflictLook.at ? " conflict" : ""}`)
    .attr("data-off", (d) => d.off)
    .attr("transform", (d) => `translate(${d.x},${d.y})`);
  g.append("rect").attr("width", (d) => d.w).attr("height", rowH - 8).attr("rx", 2);
  g.filter((d) => d.w > 24).append("text").attr("x", 3).attr("y", 15)
    .text((d) => {
      const room = Math.floor((d.w - 4) / 6.2);
      const key = shown(d.key);
      // Too narrow for key and value: the key, its end first (what tells
      // k0598 from k0599).
      if (key.length + 4 >= room) return cutKey(d.op === "del" ? `×${key}` : key, room, key.length);
      const text = d.op === "del" ? `×${key}` : d.value !== undefined ? `${key}=${shown(d.value)}` : key;
      return clip(text, room);
    });
  g.append("title").text((d) => `offset ${d.off}, ${d.size} bytes: ${d.op} "${shown(d.key)}"` +
    (d.op === "put" ? ` = "${shown(d.value ?? "", 48)}" (${d.vlen}-byte value)` : "") +
    (d.shadowed ? ", overridden by a later record" : ""));
  y = top + (tail.length ? row + 1 : 0) * rowH + 6;
  if (!all.length && log) y = note(svg, "note", 0, y + 6, width, "the log holds no record yet (after a power cut: stage 01 never syncs, so nothing was kept)");

  if (get) {
    const where = look?.at !== undefined && all.length && look.at < all[from].off
      ? ` (before the records drawn: its place is marked on the strip)` : "";
    y = note(svg, "getnote", 0, y + 12, width,
      `get ${get.key}: read all ${look?.records ?? 0} records; ${look?.matches ?? 0} of them for this key; ` +
      (look?.result === "found" ? `the last, at offset ${look.at}, answers${where}`
        : look?.result === "deleted" ? `the last, at offset ${look.at}, is a delete: not found${where}` : "none: not found"));
  }
  if (view.conflict) y = conflictNote(svg, y, width, view.conflict, conflictLook);
  svg.attr("height", y + 8);
  return { drawn: { record: all.length, recordDrawn: tail.length } };
}

function conflictNote(svg, y, width, c, look) {
  return note(svg, "conflictnote", 0, y + 12, width,
    `${c.session?.name ?? "the transaction"} could not commit: "${c.shownKey}" was written since it began` +
    (look?.at !== undefined ? ` (the record at offset ${look.at}, marked)` : "") +
    "; stage 01 finds it by comparing the key's value now with the value at its snapshot: nothing of it was written");
}
