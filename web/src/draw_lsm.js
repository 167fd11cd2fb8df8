// draw_lsm.js: stages 04 to 07: the memtables (top: the active one, and a
// frozen one while it waits for its flush), each a box as wide as its
// bytes are of the memtable limit, its entries inside it in key order (a
// put green, a delete red); under them the tables on one key axis, each a
// bar from its smallest key to its largest, so that overlaps show.
// Stages 04 and 05: a row per table, newest on top.  Stage 06 on: a row
// per level (level 0: a row per table, since its tables overlap), with
// the level's size against its target; a table of stage 05 on shows its
// data blocks in a strip along its bottom.  A get: every place it looks, in order, marked by
// what it found there (read and absent, skipped by key range or by the
// bloom filter, the answer, or a delete that answers "not found").

import * as d3 from "d3";
import { ofKind } from "./inspect.js";

const LOOK_CLASS = { absent: "looked", skipped_range: "skipped", skipped_bloom: "skipped bloom",
  found: "answer", deleted: "deleted-answer" };

// A table's file name, short: 000000000019-000000000077.tbl is 19-77.
function shortName(file) {
  const parts = String(file).replace(/\.tbl$/, "").split("-");
  return parts.every((p) => /^[0-9]+$/.test(p)) ? parts.map((p) => String(Number(p))).join("-") : String(file);
}

function kib(n) {
  return n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

export function drawLsm(svg, lines, get, width) {
  const db = ofKind(lines, "db")[0] || {};
  const mems = ofKind(lines, "memtable");
  const entries = ofKind(lines, "entry").filter((e) => e.mem !== undefined);
  const tables = ofKind(lines, "table");
  const levels = ofKind(lines, "level");
  const amp = ofKind(lines, "amp")[0];
  const blocks = d3.group(ofKind(lines, "block"), (b) => b.table);
  const filters = new Map(ofKind(lines, "filter").map((f) => [f.table, f]));
  const looks = get ? get.lines.filter((l) => l.kind === "look") : [];
  const memLook = new Map(looks.filter((l) => l.part === "memtable").map((l) => [l.state, l]));
  const tableLook = new Map(looks.filter((l) => l.part === "table").map((l) => [l.file, l]));
  const levelSkipped = new Set(looks.filter((l) => l.part === "level").map((l) => l.level));

  const labelW = 230, axisX = labelW + 8, axisW = Math.max(120, width - axisX - 4);
  const top = 40, memH = 34, rowH = 22;
  svg.attr("width", width);
  svg.selectAll("*").remove();
  svg.append("text").attr("class", "title").attr("x", 0).attr("y", 14)
    .text(`${tables.length} tables, ${kib(d3.sum(tables, (t) => t.bytes))}; last sequence number ${db.seq ?? 0}`);
  svg.append("text").attr("class", "subtitle").attr("x", 0).attr("y", 30)
    .text(amp ? `write amplification ${amp.write}; a get reads at most ${amp.read} tables`
      : `memtable limit ${kib(db.memtable_limit ?? 0)}: a full memtable is frozen and flushed to a table`);

  // The memtables, side by side, each at most half the width.
  const memW = (axisW + labelW) / 2 - 8;
  const limit = Math.max(1, db.memtable_limit || 1);
  const mg = svg.append("g").selectAll("g.memtable").data(mems).join("g")
    .attr("class", (d) => `memtable ${d.state}${memLook.has(d.state) ? ` ${LOOK_CLASS[memLook.get(d.state).result] || "looked"}` : ""}`)
    .attr("data-state", (d) => d.state)
    .attr("transform", (d, i) => `translate(${i * (memW + 16)},${top})`);
  mg.append("rect").attr("class", "limit").attr("width", memW).attr("height", memH - 14);
  mg.append("rect").attr("class", "fill").attr("width", (d) => Math.min(1, d.bytes / limit) * memW).attr("height", memH - 14);
  mg.each(function (m) {
    const mine = entries.filter((e) => e.mem === m.state);
    const w = Math.min(10, memW / Math.max(1, mine.length));
    // The entry that answered a get here: its key's newest (first) entry.
    const look = memLook.get(m.state);
    const hit = look && (look.result === "found" || look.result === "deleted") ? mine.find((e) => e.key === get.key) : undefined;
    d3.select(this).selectAll("rect.entry").data(mine).join("rect")
      .attr("class", (e) => `entry ${e.op}${e === hit ? " hit" : ""}`).attr("x", (e, i) => i * w).attr("y", 3)
      .attr("width", Math.max(1, w - 1)).attr("height", memH - 20)
      .append("title").text((e) => `${e.op} "${e.key}" seq ${e.seq}${e.op === "put" ? ` (${e.vlen}-byte value)` : ""}`);
  });
  mg.append("text").attr("class", "seglabel").attr("x", 0).attr("y", memH - 2)
    .text((d) => `${d.state} memtable: ${d.entries} entries, ${kib(d.bytes)} of ${kib(limit)}`);
  mg.append("title").text((d) => `the ${d.state} memtable: ${d.entries} entries, ${d.bytes} bytes`);

  // One key axis for every table: the keys that bound a table, in order.
  const keys = [...new Set(tables.flatMap((t) => [t.smallest, t.largest]))].sort();
  const kx = d3.scalePoint().domain(keys).range([0, axisW]).padding(0.5);
  const span = (t) => {
    const a = kx(t.smallest) ?? 0, b = kx(t.largest) ?? a;
    return { x: a - 3, w: Math.max(6, b - a + 6) };
  };

  // The rows: one per table (04, 05, and level 0), or one per level.
  const rows = [];
  if (levels.length) {
    const deepest = d3.max(levels.filter((l) => l.tables > 0), (l) => l.n) ?? 1;
    for (const lv of levels.filter((l) => l.n <= Math.max(1, deepest))) {
      const mine = tables.filter((t) => t.level === lv.n);
      const label = `L${lv.n}: ${lv.tables} tables, ${kib(lv.bytes)}` + (lv.n > 0 ? ` of ${kib(lv.target)}` : "") +
        `, score ${lv.score}`;
      if (lv.n === 0 && mine.length > 1) mine.forEach((t, i) => rows.push({ label: i === 0 ? label : "", level: lv, tables: [t] }));
      else rows.push({ label, level: lv, tables: mine });
    }
  } else {
    tables.forEach((t, i) => rows.push({ label: i === 0 ? "tables, newest first" : "", tables: [t] }));
  }
  const rowsTop = top + memH + 18;
  const height = rowsTop + Math.max(1, rows.length) * rowH + (get ? 40 : 16);
  svg.attr("height", height);
  if (!rows.length) svg.append("text").attr("class", "note").attr("x", 0).attr("y", rowsTop + 12)
    .text("no tables yet: everything is in the memtable (flush, or fill until it is full)");

  const rg = svg.append("g").selectAll("g.row").data(rows).join("g")
    .attr("class", (d) => `row${d.level && levelSkipped.has(d.level.n) ? " skipped" : ""}`)
    .attr("transform", (d, i) => `translate(0,${rowsTop + i * rowH})`);
  rg.append("text").attr("class", (d) => `seglabel${d.level && d.level.score >= 1 ? " due" : ""}`)
    .attr("x", 0).attr("y", 14).text((d) => d.label);
  rg.append("line").attr("class", "axis").attr("x1", axisX).attr("x2", axisX + axisW).attr("y1", 9).attr("y2", 9);

  const tg = rg.selectAll("g.table").data((d) => d.tables).join("g")
    .attr("class", (t) => `table${tableLook.has(t.file) ? ` ${LOOK_CLASS[tableLook.get(t.file).result] || "looked"}` : ""}`)
    .attr("data-file", (t) => t.file).attr("data-level", (t) => t.level ?? "")
    .attr("transform", (t) => `translate(${axisX + span(t).x},0)`);
  tg.append("rect").attr("class", "bar").attr("width", (t) => span(t).w).attr("height", rowH - 3).attr("rx", 2);
  // Stage 05 on: the table's data blocks, a strip under its name, each
  // block as wide as its share of the data blocks' bytes.
  tg.each(function (t) {
    const mine = blocks.get(t.file) || [];
    const total = d3.sum(mine, (b) => b.size);
    if (!total) return;
    const w = span(t).w;
    let x = 0;
    d3.select(this).selectAll("rect.dblock").data(mine).join("rect")
      .attr("class", (b) => `dblock${b.n % 2 ? " odd" : ""}`)
      .attr("x", (b) => { const at = x; x += (b.size / total) * w; return at; })
      .attr("y", rowH - 9).attr("width", (b) => Math.max(0.5, (b.size / total) * w)).attr("height", 4)
      .append("title").text((b) => `${t.file} block ${b.n}: ${b.size} bytes at offset ${b.off}, keys up to "${b.last}"`);
  });
  tg.filter((t) => span(t).w > 30).append("text").attr("x", 3).attr("y", 13)
    .text((t) => `${shortName(t.file)} ${t.smallest}..${t.largest}`.slice(0, Math.floor(span(t).w / 6.5)));
  tg.insert("title", ":first-child").text((t) => {
    const f = filters.get(t.file);
    const n = (blocks.get(t.file) || []).length;
    return `${t.file}${t.level !== undefined ? `, level ${t.level}` : ""}: ${t.bytes} bytes, ${t.entries} entries, ` +
      `keys "${t.smallest}" to "${t.largest}"` + (n ? `; ${n} blocks` : "") +
      (f ? `; bloom filter ${f.bits} bits, ${f.k} hashes` : "");
  });

  if (get) {
    const steps = looks.map((l) => (l.part === "memtable" ? `${l.state} memtable ${l.result}`
      : l.part === "level" ? `L${l.level} skipped (no table holds the key)`
      : `${shortName(l.file)} ${l.result.replace("skipped_", "skipped by ")}${l.reads !== undefined ? ` (${l.reads} reads)` : ""}`));
    const answer = get.lines.find((l) => l.kind === "answer");
    svg.append("text").attr("class", "getnote").attr("x", 0).attr("y", height - 14)
      .text(`get ${get.key}: ${steps.join(" -> ")}: ${answer?.result === "found" ? "found" : "not found"}`.slice(0, Math.floor(width / 6)));
  }
  return { drawn: { memtable: mems.length, entry: entries.length, table: tables.length, row: rows.length } };
}
