// draw_hash.js: stages 02 and 03: the index in memory (its used slots,
// left) pointing into the segments (right, oldest on top), each a bar of
// its bytes with its records in place: live records colored, records no
// slot points at (overwritten, deleted) grey: the garbage a merge
// (compact) drops.  Stage 03 adds, under each segment, its write-ahead
// log's frames: 32 KiB blocks and the fragments a record is cut into
// (full, or first/middle/last across blocks), and its sync markers.
// A get: the home slot of its hash, the slots it probes, and the record
// the found slot points at.

import * as d3 from "d3";
import { ofKind } from "./inspect.js";

const FRAG_COLORS = { full: "#5b8def", first: "#e0a030", middle: "#c77dd8", last: "#3fb0a0" };

export function drawHash(svg, lines, get, width) {
  const db = ofKind(lines, "db")[0] || {};
  const segs = ofKind(lines, "segment");
  const index = ofKind(lines, "index")[0] || { keys: 0, slots: 0 };
  const slots = ofKind(lines, "slot");
  const wal = lines.some((l) => l.kind === "frag" || l.kind === "block");
  // A record: stage 02's "record" lines; stage 03's "record" (a batch)
  // with its "op" lines, drawn as one box live if any of its ops is.
  const recs = ofKind(lines, "record").map((r) => ({ ...r, ops: [] }));
  const byRec = new Map(recs.map((r) => [`${r.seg}:${r.off}`, r]));
  for (const op of ofKind(lines, "op")) byRec.get(`${op.seg}:${op.rec}`)?.ops.push(op);
  for (const r of recs) if (r.ops.length) { r.live = r.ops.some((o) => o.live === 1) ? 1 : 0; r.key = r.ops.map((o) => o.key).join(","); r.op = r.ops.length > 1 ? "batch" : r.ops[0].op; }
  const markers = ofKind(lines, "marker");
  const frags = ofKind(lines, "frag");
  const blocks = ofKind(lines, "block");

  const slotW = 150, gap = 40, segX = slotW + gap, segW = width - segX;
  const slotH = 14, top = 40;
  // A segment's row: its name, then its bar (22 px), then (stage 03) its
  // fragments and block boundaries.  Each bar spans the row, from offset 0
  // to its size (at least 1 KiB): the name says how many bytes that is.
  const barY = 12, rowH = barY + 22 + (wal ? 26 : 6);
  const scales = new Map(segs.map((sg) => [sg.id,
    d3.scaleLinear().domain([0, Math.max(1024, sg.bytes)]).range([0, segW])]));
  const sx = (seg, off) => (scales.get(seg) || scales.values().next().value)(off);
  const segY = new Map(segs.map((sg, i) => [sg.id, top + i * rowH]));
  const height = Math.max(top + slots.length * slotH, top + segs.length * rowH) + 50;
  svg.attr("width", width).attr("height", height);
  svg.selectAll("*").remove();
  svg.append("text").attr("class", "title").attr("x", 0).attr("y", 14)
    .text(`${db.segments ?? 0} segments, ${db.bytes ?? 0} bytes, ${db.live_bytes ?? 0} live; ${db.merges ?? 0} merges since open`);
  svg.append("text").attr("class", "subtitle").attr("x", 0).attr("y", 30)
    .text(`index: ${index.keys} keys in ${index.slots} slots`);

  // Where each slot's record is drawn.
  const recAt = (seg, off) => ({ x: segX + sx(seg, off), y: (segY.get(seg) ?? 0) + barY + 11 });

  // The links first, under everything.
  const getLook = get ? get.lines.find((l) => l.kind === "look" && l.part === "index") : null;
  const links = svg.append("g").attr("class", "links");
  links.selectAll("path").data(slots).join("path")
    .attr("class", (d) => `link${getLook && getLook.slot === d.n ? " answer" : ""}`)
    .attr("d", (d, i) => {
      const a = { x: slotW, y: top + i * slotH + slotH / 2 };
      const b = recAt(d.seg, d.off);
      return d3.linkHorizontal()({ source: [a.x, a.y], target: [b.x + 2, b.y] });
    });

  // The index's used slots, in table order.
  const probed = new Set();
  if (getLook) {
    for (let k = 0; k < getLook.probes; k++) probed.add((getLook.home + k) % Math.max(1, index.slots));
  }
  const sg = svg.append("g").selectAll("g.slot").data(slots).join("g")
    .attr("class", (d) => `slot${probed.has(d.n) ? " probed" : ""}${getLook && getLook.slot === d.n ? " answer" : ""}`)
    .attr("transform", (d, i) => `translate(0,${top + i * slotH})`);
  sg.append("rect").attr("width", slotW).attr("height", slotH - 2).attr("rx", 2);
  sg.append("text").attr("x", 3).attr("y", slotH - 4).text((d) => `${String(d.n).padStart(4)}  ${d.key}`.slice(0, 24));
  sg.append("title").text((d) => `slot ${d.n}: "${d.key}" -> segment ${d.seg}, offset ${d.off}, ${d.size} bytes`);

  // The segments, each a bar of its bytes.
  const seg = svg.append("g").selectAll("g.segment").data(segs).join("g")
    .attr("class", (d) => `segment${d.active ? " active" : ""}`)
    .attr("transform", (d) => `translate(${segX},${segY.get(d.id)})`);
  seg.append("text").attr("class", "seglabel").attr("x", 0).attr("y", barY - 2)
    .text((d) => `${d.file}: ${d.bytes} bytes, ${d.live_bytes} live${d.active ? " (active: writes go here)" : ""}`);
  seg.append("rect").attr("class", "bar").attr("y", barY).attr("width", (d) => sx(d.id, d.bytes)).attr("height", 22);
  seg.append("rect").attr("class", "header").attr("y", barY).attr("width", (d) => sx(d.id, 16)).attr("height", 22);
  seg.append("title").text((d) => `${d.file}: ${d.bytes} bytes, ${d.live_bytes} live${d.hint ? ", hint file beside it" : ""}`);

  const rg = svg.append("g").selectAll("g.record").data(recs).join("g")
    .attr("class", (d) => `record ${d.op}${d.live ? " live" : " dead"}`)
    .attr("transform", (d) => `translate(${segX + sx(d.seg, d.off)},${segY.get(d.seg) + barY})`);
  rg.append("rect").attr("width", (d) => Math.max(2, sx(d.seg, d.off + d.size) - sx(d.seg, d.off) - 1)).attr("height", 22);
  rg.append("title").text((d) => `${d.file} offset ${d.off}, ${d.size} bytes: ${d.op} ${d.key}${d.live ? "" : " (garbage: no slot points here)"}`);

  svg.append("g").selectAll("rect.marker").data(markers).join("rect")
    .attr("class", "marker").attr("x", (d) => segX + sx(d.seg, d.off)).attr("y", (d) => segY.get(d.seg) + barY)
    .attr("width", (d) => Math.max(2, sx(d.seg, d.off + d.size) - sx(d.seg, d.off))).attr("height", 22)
    .append("title").text((d) => `sync marker: every byte before ${d.synced_to} was synced${d.seal ? " (the seal: the file is closed for good)" : ""}`);

  if (wal) {
    svg.append("g").selectAll("rect.frag").data(frags).join("rect")
      .attr("class", (d) => `frag ${d.type}`).attr("fill", (d) => FRAG_COLORS[d.type])
      .attr("x", (d) => segX + sx(d.seg, d.off)).attr("y", (d) => segY.get(d.seg) + barY + 25)
      .attr("width", (d) => Math.max(1.5, sx(d.seg, d.off + 7 + d.len) - sx(d.seg, d.off) - 0.5)).attr("height", 9)
      .append("title").text((d) => `fragment at ${d.off}: 7-byte header + ${d.len} bytes, ${d.type}, block ${d.block}`);
    svg.append("g").selectAll("g.block").data(blocks).join("g").attr("class", "block")
      .attr("transform", (d) => `translate(${segX + sx(d.seg, d.off)},${segY.get(d.seg) + barY + 36})`)
      .call((g) => {
        g.append("line").attr("x1", 0).attr("x2", 0).attr("y1", -12).attr("y2", 6);
        g.append("text").attr("x", 2).attr("y", 6).text((d) => `block ${d.n}`);
      });
  }

  if (get) {
    const seglook = get.lines.find((l) => l.kind === "look" && l.part === "segment");
    const note = getLook && getLook.result === "found"
      ? `get ${get.key}: hash -> slot ${getLook.home}, ${getLook.probes} probe(s) to slot ${getLook.slot} -> ${seglook?.file} offset ${getLook.off}: one read`
      : `get ${get.key}: hash -> slot ${getLook?.home}, ${getLook?.probes} probe(s) to an empty slot: not found, no read`;
    svg.append("text").attr("class", "getnote").attr("x", 0).attr("y", height - 12).text(note);
  }
  return { drawn: { segment: segs.length, slot: slots.length, record: recs.length, frag: frags.length } };
}
