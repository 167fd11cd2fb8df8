// draw_hash.js: stages 02 and 03: the hash index in memory over the
// segments on disk.
//   - The index: every slot of its table, used or empty, in table order,
//     while there are at most GRID_SLOTS; past that, an overview (each
//     cell a bucket of slots, darker the fuller) and, drawn slot by slot,
//     the stretch a get probed (or, with no get, the longest run of used
//     slots, the worst a get can meet).  A get hashes its key to a home
//     slot and probes forward to its key or to an empty slot.
//   - The segments, oldest first, on one scale (a byte is as wide in
//     every segment), flowing in rows: each record a box (live green,
//     garbage grey: no slot points at it, and compact drops it), with its
//     key and value where there is room; past RECORDS_MAX records, each
//     segment's live and garbage bytes summed.  Stage 03 adds under each
//     segment its fragments and its 32 KiB blocks, and the sync markers.
// Where the index has more than 256 used slots, the slots come from a
// kv_inspect_get of every key (gather.js).

import * as d3 from "d3";
import { clip, shown } from "./bytes.js";
import { ofKind } from "./inspect.js";
import { legend, note } from "./picture.js";

export const GRID_SLOTS = 1024;
const OVERVIEW_CELLS = 256;
const WINDOW_SLOTS = 32;
const RECORDS_MAX = 3000;
const SEGMENT_ROWS = 14;
const FRAG_COLORS = { full: "#4c9a5a", first: "#d98c1f", middle: "#e8b04a", last: "#b36b00" };

// The records of a segment as one list: stage 02's record lines, or stage
// 03's records with their ops; values from the dump where it has them.
function recordsOf(lines, dump) {
  const ops = ofKind(lines, "op");
  if (!ops.length && !ofKind(lines, "frag").length) {
    return ofKind(lines, "record").map((r) => {
      const d = dump?.files.get(r.file)?.find((x) => x.off === r.off);
      return { ...r, ops: [{ op: r.op, key: r.key, vlen: r.vlen, live: r.live, value: d?.value }] };
    });
  }
  const byRec = d3.group(ops, (o) => `${o.file}@${o.rec}`);
  return ofKind(lines, "record").map((r) => {
    const mine = (byRec.get(`${r.file}@${r.off}`) || []).map((o) => ({ ...o, value: dump?.ops.get(`${o.file}@${o.rec}#${o.i}`)?.value }));
    const first = mine[0] || {};
    return { ...r, ops: mine, op: mine.length > 1 ? "batch" : first.op || "put", key: first.key ?? "", live: mine.some((o) => o.live) ? 1 : 0 };
  });
}

function recordText(r, room) {
  const o = r.ops[0];
  if (!o) return "";
  const key = shown(o.key);
  const text = r.ops.length > 1 ? `${r.ops.length} ops: ${key}…` : o.op === "del" ? `×${key}`
    : o.value !== undefined && key.length + 4 < room ? `${key}=${shown(o.value)}` : key;
  return clip(text, room);
}

export function drawHash(svg, view, width) {
  const lines = view.data.lines;
  const get = view.get;
  const db = ofKind(lines, "db")[0] || {};
  const segs = ofKind(lines, "segment");
  const index = ofKind(lines, "index")[0] || { keys: 0, slots: 0 };
  const slots = view.data.slots || [];
  const wal = ofKind(lines, "frag").length > 0 || String(db.stage).startsWith("03");
  const recs = recordsOf(lines, view.data.dump);
  const seals = ofKind(lines, "seal");
  const markers = ofKind(lines, "marker");
  const frags = ofKind(lines, "frag");
  const blocks = ofKind(lines, "block");
  svg.attr("width", width);
  svg.selectAll("*").remove();
  let y = note(svg, "title", 0, 14, width,
    `${db.segments ?? 0} segments, ${(db.bytes ?? 0).toLocaleString("en")} bytes, ${(db.live_bytes ?? 0).toLocaleString("en")} live; ${db.merges ?? 0} merges since open`);
  y = legend(svg, y, width, [
    { cls: "slot used", label: "slot holding a key" },
    { cls: "slot", label: "empty slot" },
    { cls: "record put live", label: "live record" },
    { cls: "record put dead", label: "garbage: no slot points here (compact drops it)" },
    { cls: "record del dead", label: "delete" },
    ...(wal ? [{ cls: "record batch live", label: "batch (several ops)" }, { cls: "marker-swatch", label: "sync marker" }] : [{ cls: "seal-swatch", label: "seal" }]),
    ...(get ? [{ cls: "slot probed", label: "probed" }, { cls: "slot answer", label: "the slot that holds the key" }, { cls: "slot empty-stop", label: "empty: the probe stops, not found" }] : []),
    ...(view.conflict ? [{ cls: "record put conflict", label: "the newer version that conflicts" }] : []),
  ]);

  // ---- the index ----
  const S = index.slots || 0;
  const used = new Map(slots.map((s) => [s.n, s]));
  const getLook = get ? get.lines.find((l) => l.kind === "look" && l.part === "index") : null;
  const conflictLook = view.conflict ? view.conflict.lines.find((l) => l.kind === "look" && l.part === "index") : null;
  const probed = new Set();
  let stopAt = null;
  if (getLook && S) {
    for (let k = 0; k < getLook.probes; k++) probed.add((getLook.home + k) % S);
    if (getLook.result !== "found") stopAt = (getLook.home + getLook.probes - 1) % S;
  }
  const slotClass = (n) => `slot${used.has(n) ? " used" : ""}${probed.has(n) ? " probed" : ""}` +
    `${getLook && getLook.slot === n ? " answer" : ""}${n === stopAt ? " empty-stop" : ""}${getLook && getLook.home === n ? " home" : ""}` +
    `${conflictLook && conflictLook.slot === n ? " conflict" : ""}`;
  const slotTitle = (n) => {
    const s = used.get(n);
    return s ? `slot ${n}: "${shown(s.key)}" -> segment ${s.seg}, offset ${s.off}, ${s.size} bytes` : `slot ${n}: empty`;
  };
  y = note(svg, "subtitle", 0, y + 12, width,
    `index: ${index.keys.toLocaleString("en")} keys in ${S.toLocaleString("en")} slots (${S ? Math.round((100 * index.keys) / S) : 0}% used), ` +
    `${(index.bytes ?? 0).toLocaleString("en")} bytes of memory; a get hashes its key to a home slot and probes forward to its key or an empty slot`);
  const slotXY = new Map();   // slot -> centre of its cell, for the link to its record
  if (S && S <= GRID_SLOTS) {
    const cols = Math.min(S, 64);
    const cs = Math.max(8, Math.min(48, Math.floor(width / cols)));
    const ch = Math.min(cs - 1, 20);
    const top = y + 4;
    const g = svg.append("g").attr("class", "slots grid").attr("data-slots", S).attr("data-used", used.size);
    const cells = g.selectAll("g.slot").data(d3.range(S)).join("g").attr("class", slotClass)
      .attr("data-n", (n) => n)
      .attr("transform", (n) => `translate(${(n % cols) * cs},${top + Math.floor(n / cols) * (ch + 1)})`);
    cells.append("rect").attr("width", cs - 1).attr("height", ch).attr("rx", 1.5);
    if (cs >= 24) cells.filter((n) => used.has(n)).append("text").attr("x", 2).attr("y", ch - 5)
      .text((n) => shown(used.get(n).key, Math.floor((cs - 4) / 6)));
    cells.append("title").text(slotTitle);
    for (let n = 0; n < S; n++) slotXY.set(n, [(n % cols) * cs + cs / 2, top + Math.floor(n / cols) * (ch + 1) + ch]);
    y = top + Math.ceil(S / cols) * (ch + 1) + 4;
  } else if (S) {
    // The overview: each cell a bucket of slots.
    const per = S / OVERVIEW_CELLS, cols = 64, cs = Math.max(6, Math.floor(width / cols)), ch = 10;
    const fill = new Array(OVERVIEW_CELLS).fill(0);
    for (const s of slots) fill[Math.min(OVERVIEW_CELLS - 1, Math.floor(s.n / per))]++;
    const top = y + 4;
    const bucketOf = (n) => Math.floor(n / per);
    const g = svg.append("g").attr("class", "slots overview").attr("data-slots", S).attr("data-used", used.size);
    const cells = g.selectAll("g.bucket").data(d3.range(OVERVIEW_CELLS)).join("g")
      .attr("class", (b) => `bucket${getLook && bucketOf(getLook.home) === b ? " home" : ""}`)
      .attr("transform", (b) => `translate(${(b % cols) * cs},${top + Math.floor(b / cols) * (ch + 1)})`);
    cells.append("rect").attr("width", cs - 1).attr("height", ch).attr("fill-opacity", (b) => 0.08 + 0.92 * (fill[b] / per));
    cells.append("title").text((b) => `slots ${Math.ceil(b * per)} .. ${Math.ceil((b + 1) * per) - 1}: ${fill[b]} of ${Math.round(per)} used`);
    y = top + Math.ceil(OVERVIEW_CELLS / cols) * (ch + 1) + 2;
    // One stretch slot by slot: the get's probes, or the longest run.
    let start, why;
    if (getLook) {
      start = (getLook.home - 2 + S) % S;
      why = `slots ${start} .. ${(start + WINDOW_SLOTS - 1) % S}, slot by slot: the get's home slot ${getLook.home} (outlined) and its ${getLook.probes} probe${getLook.probes > 1 ? "s" : ""}`;
    } else {
      let best = 0, bestAt = 0, run = 0;
      for (let n = 0; n < S; n++) {
        run = used.has(n) ? run + 1 : 0;
        if (run > best) { best = run; bestAt = n - run + 1; }
      }
      start = Math.max(0, bestAt - 2);
      why = `slots ${start} .. ${start + WINDOW_SLOTS - 1}, slot by slot: the longest run of used slots (${best}): a get whose key hashes to its start probes them all`;
    }
    y = note(svg, "note", 0, y + 12, width, `each cell above is ${Math.round(per)} slots, darker the fuller; below, ${why}`);
    const wcs = Math.floor(width / WINDOW_SLOTS), wtop = y + 2;
    const win = d3.range(WINDOW_SLOTS).map((k) => (start + k) % S);
    const wg = svg.append("g").attr("class", "slots window").selectAll("g.slot").data(win).join("g").attr("class", slotClass)
      .attr("data-n", (n) => n).attr("transform", (n, k) => `translate(${k * wcs},${wtop})`);
    wg.append("rect").attr("width", wcs - 1).attr("height", 20).attr("rx", 1.5);
    if (wcs >= 24) wg.filter((n) => used.has(n)).append("text").attr("x", 2).attr("y", 14).text((n) => shown(used.get(n).key, Math.floor((wcs - 4) / 6)));
    wg.append("title").text(slotTitle);
    win.forEach((n, k) => slotXY.set(n, [k * wcs + wcs / 2, wtop + 20]));
    y = wtop + 24;
  }

  // ---- the segments, one scale, flowing in rows ----
  y = note(svg, "subtitle", 0, y + 16, width, `segments, oldest first, each a bar of its bytes on one scale (the 16-byte header dark)${wal ? "; under each, its fragments and 32 KiB blocks" : ""}`);
  const maxSeg = d3.max(segs, (s) => s.bytes) || 1;
  const gap = 6;
  const oneEach = segs.length <= SEGMENT_ROWS;
  const flow = (ppb) => {
    let x = 0, row = 0;
    const at = [];
    for (const s of segs) {
      const w = Math.max(3, s.bytes * ppb);
      if (oneEach ? at.length > 0 : x > 0 && x + w > width) { x = 0; row++; }
      at.push({ x, row, w });
      x += w + gap;
    }
    return { at, rows: row + 1 };
  };
  let ppb = Math.min(3, width / maxSeg);
  let laid = flow(ppb);
  while (!oneEach && laid.rows > SEGMENT_ROWS && ppb > 1e-6) {
    ppb *= 0.85;
    laid = flow(ppb);
  }
  const barH = 20, rowH = 14 + barH + (wal ? 24 : 6);
  const top = y + 4;
  const place = new Map(segs.map((s, i) => [s.id, { ...laid.at[i], y: top + laid.at[i].row * rowH }]));
  const sx = (seg, off) => (place.get(seg)?.x ?? 0) + off * ppb;
  const sy = (seg) => (place.get(seg)?.y ?? top) + 12;
  const sg = svg.append("g").attr("class", "segments").selectAll("g.segment").data(segs).join("g")
    .attr("class", (d) => `segment${d.active ? " active" : ""}`).attr("data-id", (d) => d.id)
    .attr("transform", (d) => `translate(${place.get(d.id).x},${place.get(d.id).y})`);
  sg.append("text").attr("class", "seglabel").attr("x", 0).attr("y", 9)
    .text((d) => {
      const w = place.get(d.id).w;
      const full = `${d.file}: ${d.bytes.toLocaleString("en")} B, ${d.live_bytes.toLocaleString("en")} live${d.active ? " (active: writes go here)" : ""}`;
      return w >= full.length * 5.6 || oneEach ? full : w >= 26 ? `#${d.id}` : "";
    });
  sg.append("rect").attr("class", "bar").attr("y", 12).attr("width", (d) => place.get(d.id).w).attr("height", barH);
  sg.append("rect").attr("class", "header").attr("y", 12).attr("width", Math.max(1, 16 * ppb)).attr("height", barH);
  sg.append("title").text((d) => `${d.file}: ${d.bytes} bytes, ${d.live_bytes} live${d.hint ? ", a hint file beside it" : ""}${d.sealed ? ", sealed" : ""}`);

  const segLook = get ? get.lines.find((l) => l.kind === "look" && l.part === "segment") : null;
  const isAnswer = (r) => segLook && r.seg === segLook.seg && r.off === segLook.off;
  const isConflict = (r) => conflictLook && r.seg === conflictLook.seg && r.off === conflictLook.off;
  // A segment whose records kv_inspect cut (past 256) is summed, as are
  // all of them past RECORDS_MAX.
  const segCut = ofKind(lines, "cut").some((c) => c.part === "segment");
  const each = recs.length <= RECORDS_MAX && !segCut && !view.data.summed;
  if (each) {
    const rg = svg.append("g").attr("class", "records").attr("data-records", recs.length).selectAll("g.record").data(recs).join("g")
      .attr("class", (d) => `record ${d.op}${d.live ? " live" : " dead"}${isAnswer(d) ? " answer" : ""}${isConflict(d) ? " conflict" : ""}`)
      .attr("transform", (d) => `translate(${sx(d.seg, d.off)},${sy(d.seg)})`);
    rg.append("rect").attr("width", (d) => Math.max(1.5, d.size * ppb - 0.5)).attr("height", barH);
    rg.filter((d) => d.size * ppb >= 26).append("text").attr("x", 2).attr("y", 14)
      .text((d) => recordText(d, Math.floor((d.size * ppb - 4) / 6.2)));
    rg.append("title").text((d) => `${d.file} offset ${d.off}, ${d.size} bytes: ` +
      d.ops.map((o) => `${o.op} "${shown(o.key)}"${o.op === "put" ? ` = "${shown(o.value ?? "", 48)}" (${o.vlen} bytes)` : ""}`).join("; ") +
      (d.live ? "" : " (garbage: no slot points here)"));
  } else {
    // Summed per segment: its live bytes, then its garbage.
    const ag = svg.append("g").attr("class", "records summed").attr("data-records", recs.length).selectAll("g.segsum").data(segs).join("g")
      .attr("class", "segsum").attr("transform", (d) => `translate(${sx(d.id, 16)},${sy(d.id)})`);
    ag.append("rect").attr("class", "sum-live").attr("width", (d) => Math.max(0, d.live_bytes * ppb)).attr("height", barH);
    ag.append("rect").attr("class", "sum-dead").attr("x", (d) => d.live_bytes * ppb)
      .attr("width", (d) => Math.max(0, (d.bytes - 16 - d.live_bytes) * ppb)).attr("height", barH);
    const marked = [segLook && getLook ? { seg: getLook.seg, off: getLook.off, size: getLook.size } : null,
      conflictLook?.slot !== undefined ? { seg: conflictLook.seg, off: conflictLook.off, size: conflictLook.size } : null].filter(Boolean);
    for (const r of marked) {
      svg.append("rect").attr("class", `record-mark${isAnswer(r) ? " answer" : " conflict"}`).attr("x", sx(r.seg, r.off) - 1)
        .attr("y", sy(r.seg) - 2).attr("width", Math.max(3, r.size * ppb + 2)).attr("height", barH + 4);
    }
  }
  svg.append("g").attr("class", "seals").selectAll("rect").data(seals).join("rect").attr("class", "seal")
    .attr("x", (d) => sx(d.seg, d.off)).attr("y", (d) => sy(d.seg)).attr("width", (d) => Math.max(1.5, d.size * ppb)).attr("height", barH)
    .append("title").text((d) => `the seal of ${d.file}: the segment is closed for good`);
  svg.append("g").attr("class", "markers").selectAll("rect").data(markers).join("rect").attr("class", "marker")
    .attr("x", (d) => sx(d.seg, d.off)).attr("y", (d) => sy(d.seg)).attr("width", (d) => Math.max(1.5, d.size * ppb)).attr("height", barH)
    .append("title").text((d) => `sync marker: every byte before ${d.synced_to} was synced${d.seal ? " (the seal: the file is closed for good)" : ""}`);
  let allBlockZero = true;
  if (wal) {
    if (frags.length <= RECORDS_MAX) {
      svg.append("g").attr("class", "frags").selectAll("rect.frag").data(frags).join("rect")
        .attr("class", (d) => `frag ${d.type}`).attr("fill", (d) => FRAG_COLORS[d.type])
        .attr("x", (d) => sx(d.seg, d.off)).attr("y", (d) => sy(d.seg) + barH + 3)
        .attr("width", (d) => Math.max(1, (7 + d.len) * ppb - 0.5)).attr("height", 7)
        .append("title").text((d) => `fragment at ${d.off}: a 7-byte header + ${d.len} bytes, ${d.type}, in block ${d.block}`);
    }
    const cuts = blocks.filter((b) => b.n > 0);
    allBlockZero = cuts.length === 0;
    svg.append("g").attr("class", "blocks").selectAll("g.block").data(cuts).join("g").attr("class", "block")
      .attr("transform", (d) => `translate(${sx(d.seg, d.off)},${sy(d.seg) + barH + 2})`)
      .call((g) => {
        g.append("line").attr("x1", 0).attr("x2", 0).attr("y1", -barH - 4).attr("y2", 10);
        g.append("text").attr("x", 2).attr("y", 19).text((d) => `block ${d.n}`);
      });
  }
  y = top + laid.rows * rowH;
  if (!each) {
    y = note(svg, "note", 0, y + 10, width, segCut
      ? "a segment holds more than the 256 records kv_inspect details: each segment's live bytes (green) and garbage (grey) are summed"
      : `${(db.keys ?? 0).toLocaleString("en")} keys: each segment's live bytes (green) and garbage (grey) are summed; records are drawn one by one up to ${RECORDS_MAX.toLocaleString("en")}`);
  }
  if (wal && allBlockZero && segs.length) {
    y = note(svg, "note", 0, y + 10, width, `every segment here fits in its first 32 KiB block (block 0): a record crosses a block, cut into fragments, once a segment passes 32 KiB (options segment_bytes=65536, then fill 2 40000 big)`);
  }

  // The get's link: from its slot to the record it reads.
  if (getLook && getLook.result === "found" && slotXY.has(getLook.slot) && place.has(getLook.seg)) {
    const [ax, ay] = slotXY.get(getLook.slot);
    svg.insert("path", ":first-child").attr("class", "link answer")
      .attr("d", d3.linkVertical()({ source: [ax, ay], target: [sx(getLook.seg, getLook.off) + 3, sy(getLook.seg)] }));
  }
  if (get) {
    const note1 = getLook && getLook.result === "found"
      ? `get ${get.key}: hash -> home slot ${getLook.home}, ${getLook.probes} probe${getLook.probes > 1 ? "s" : ""} to slot ${getLook.slot} -> ${segLook?.file} offset ${getLook.off}: one read of ${getLook.size} bytes`
      : `get ${get.key}: hash -> home slot ${getLook?.home}, ${getLook?.probes} probe${getLook?.probes > 1 ? "s" : ""}, the last to an empty slot (${stopAt}): not found, no read`;
    y = note(svg, "getnote", 0, y + 14, width, note1);
  }
  if (view.conflict) {
    const c = view.conflict;
    y = note(svg, "conflictnote", 0, y + 14, width,
      `${c.session?.name ?? "the transaction"} could not commit: "${c.shownKey}" was written since it began` +
      (conflictLook?.slot !== undefined ? ` (its record now, marked: segment ${conflictLook.seg} offset ${conflictLook.off})` : "") +
      `; this stage finds it by comparing the key's value now with the value at the snapshot: nothing of it was written`);
  }
  svg.attr("height", y + 8);
  return { drawn: { segment: segs.length, slot: used.size, slots: S, record: recs.length, recordDrawn: each ? recs.length : 0, frag: frags.length } };
}
