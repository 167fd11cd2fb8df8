// draw_log.js: stage 01's picture: data.log, one box per record in file
// order (width by its size), flowing like text.  A put is green, a delete
// red; a record that a later record of the same key overrides is faded
// (the log keeps it forever: this stage never reclaims space).  A get
// scans every record and answers with the last one of its key: all are
// outlined, the answer in orange.

import * as d3 from "d3";
import { ofKind } from "./inspect.js";

export function drawLog(svg, lines, get, width) {
  const records = ofKind(lines, "record");
  const log = ofKind(lines, "log")[0];
  const cut = ofKind(lines, "cut")[0];
  const lastOf = new Map();
  records.forEach((r, i) => lastOf.set(r.key, i));
  // Flow the records into rows, 3 px a byte at most, 8 px at least.
  const pxPerByte = Math.min(3, Math.max(0.25, (width * 6) / Math.max(1, d3.sum(records, (r) => r.size))));
  const rowH = 30, top = 34;
  let x = 0, row = 0;
  const placed = records.map((r, i) => {
    const w = Math.max(8, r.size * pxPerByte);
    if (x + w > width && x > 0) { x = 0; row++; }
    const p = { ...r, i, x, y: top + row * rowH, w, shadowed: lastOf.get(r.key) !== i };
    x += w + 1;
    return p;
  });
  const height = top + (row + 1) * rowH + 40;
  svg.attr("width", width).attr("height", height);
  svg.selectAll("*").remove();
  svg.append("text").attr("class", "title").attr("x", 0).attr("y", 14)
    .text(log ? `data.log: ${log.bytes} bytes, ${log.records} records (a 16-byte header, then records)` : "no log yet");
  if (cut) svg.append("text").attr("class", "note").attr("x", 0).attr("y", 28)
    .text(`the first ${cut.shown} records are drawn`);
  // The record that decided the get: its value (found), or a delete.
  const look = get ? get.lines.find((l) => l.kind === "look") : undefined;
  const decided = look?.at;
  const mark = look?.result === "found" ? " answer" : " deleted-answer";
  const g = svg.append("g").selectAll("g.record").data(placed).join("g")
    .attr("class", (d) => `record ${d.op}${d.shadowed ? " shadowed" : ""}${get ? " scanned" : ""}${d.off === decided ? mark : ""}`)
    .attr("data-off", (d) => d.off)
    .attr("transform", (d) => `translate(${d.x},${d.y})`);
  g.append("rect").attr("width", (d) => d.w).attr("height", rowH - 8).attr("rx", 2);
  g.filter((d) => d.w > 30).append("text").attr("x", 3).attr("y", 15)
    .text((d) => (d.op === "del" ? `×${d.key}` : d.key).slice(0, Math.floor(d.w / 7)));
  g.append("title").text((d) => `offset ${d.off}, ${d.size} bytes: ${d.op} "${d.key}"${d.op === "put" ? ` (${d.vlen}-byte value)` : ""}${d.shadowed ? ", overridden by a later record" : ""}`);
  if (get) {
    svg.append("text").attr("class", "getnote").attr("x", 0).attr("y", height - 12)
      .text(`get ${get.key}: read all ${look?.records ?? 0} records; ${look?.matches ?? 0} of them for this key; ` +
        (look?.result === "found" ? `the last, at offset ${look.at}, answers` : look?.result === "deleted" ? "the last is a delete: not found" : "not found"));
  }
  return { drawn: { record: placed.length } };
}
