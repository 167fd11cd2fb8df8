// draw_lsm.js: stages 04 to 07.
//   - Top, the memtable: a box as wide as memtable_bytes, filled as far as
//     its bytes go, its entries inside in key order, each as wide as its
//     share of those bytes (a put green, a delete red), with its key and
//     value.  A frozen memtable waiting for its flush beside it; and since
//     in this build a flush runs inside the write that fills the memtable
//     (KV_BG_INLINE), a command that froze and flushed some says so, with
//     the tables it made marked new.
//   - Under it the tables on one key axis.  The axis is by key rank:
//     every key the picture knows (the memtable's entries, each table's
//     smallest and largest key, each data block's last key) in order,
//     evenly spaced, with tick labels; a table spans from its smallest
//     key to just before the key after its largest, so that ranges that
//     touch are drawn touching.  Stages 04 and 05: a row per table, newest
//     first (the order a get asks them in).  Stage 06 on: a row per level
//     (level 0: a row per table, since its tables overlap), labelled with
//     its size against its target and its score.
//   - Stage 05 on: a table's data blocks in a strip along its bottom, and
//     its bloom filter as a band along its top (darker: more bits set).
//   - A get: every place it looks, in order, marked by what it found
//     there: read and absent, skipped by its key range (dashed: no read),
//     skipped by its bloom filter (the band struck: no read), the answer
//     (orange; dark red for a delete, which answers "not found"), and in
//     the table it searched, the block its index named and whether that
//     cost a read or came from the block cache.
//   - Stage 06 on: the compaction the picker would run next, its tables
//     outlined; after a command, the tables a compaction made (new), the
//     ones it replaced (drawn faded, below, as they were), the ones moved
//     to another level whole.
//   - A transaction's conflict: the newer version that caused it.
//   - Stage 08: the value log (draw_vlog.js) beside the levels, to their
//     right when the panel is wide enough (the key axis narrows to make
//     room), else under them.
// Pictures stay bounded: table rows shrink, then pack, to fit ROWS_PX.

import * as d3 from "d3";
import { clip, cutKey, kib, sharedPrefix, shown } from "./bytes.js";
import { drawCache } from "./draw_cache.js";
import { drawValueLog } from "./draw_vlog.js";
import { ofKind } from "./inspect.js";
import { legend, note } from "./picture.js";

const ROWS_PX = 1800;
const LOOK_CLASS = { absent: "looked", skipped_range: "skipped", skipped_bloom: "bloom-skipped",
  found: "answer", deleted: "deleted-answer" };

// A table's file name, short: 000000000019-000000000077.tbl is 19-77.
function shortName(file) {
  const parts = String(file).replace(/\.tbl$/, "").split("-");
  return parts.every((p) => /^[0-9]+$/.test(p)) ? parts.map((p) => String(Number(p))).join("-") : String(file);
}

// "smallest..largest", each cut keeping the end that tells them apart.
function rangeLabel(a, b, room) {
  const sa = shown(a), sb = shown(b);
  if (sa.length + sb.length + 2 <= room) return `${sa}..${sb}`;
  const keep = Math.max(2, Math.floor((room - 2) / 2));
  const p = sharedPrefix(sa, sb);
  return `${cutKey(sa, keep, 0)}..${cutKey(sb, keep, p)}`;
}

// The first block whose last key is >= key: the one a table's index names
// for a lookup of key (stages/05-blocks/table_v2/table_v2_read.c, step 3).
function blockFor(blocks, key) {
  return blocks.find((b) => b.last >= key);
}

export function drawLsm(svg, view, width) {
  const lines = view.data.lines;
  const get = view.get;
  const ev = view.events || { created: new Set(), replaced: [], moved: new Map() };
  const db = ofKind(lines, "db")[0] || {};
  const mems = ofKind(lines, "memtable");
  const entries = ofKind(lines, "entry").filter((e) => e.mem !== undefined);
  const tableEntries = ofKind(lines, "entry").filter((e) => e.table !== undefined);
  const tables = ofKind(lines, "table");
  const levels = ofKind(lines, "level");
  const amp = ofKind(lines, "amp")[0];
  const next = ofKind(lines, "next")[0];
  const nextTables = new Set(ofKind(lines, "next_table").map((t) => t.file));
  const blocks = d3.group(ofKind(lines, "block"), (b) => b.table);
  const filters = new Map(ofKind(lines, "filter").map((f) => [f.table, f]));
  const cutTables = new Set(ofKind(lines, "cut").filter((c) => c.part === "table").map((c) => c.name));
  const looks = get ? get.lines.filter((l) => l.kind === "look") : [];
  const memLook = new Map(looks.filter((l) => l.part === "memtable").map((l) => [l.state, l]));
  const tableLook = new Map(looks.filter((l) => l.part === "table").map((l) => [l.file, l]));
  const levelSkipped = new Set(looks.filter((l) => l.part === "level").map((l) => l.level));
  const conflict = view.conflict;
  const conflictLooks = conflict ? conflict.lines.filter((l) => l.kind === "look") : [];
  const values = view.data.dump?.seqs;
  const leveled = levels.length > 0;
  const hasBlocks = blocks.size > 0;

  svg.attr("width", width);
  svg.selectAll("*").remove();
  let y = note(svg, "title", 0, 14, width,
    `${tables.length} tables, ${kib(d3.sum(tables, (t) => t.bytes))}; last sequence number ${db.seq ?? 0}`);
  if (amp) {
    const lost = amp.write === 0 && tables.length > 0
      ? " (counted from the totals in the STATS file, saved once a minute and at kv_close: a power cut takes them back to the last save)" : "";
    y = note(svg, "subtitle", 0, y + 2, width, `write amplification ${amp.write}${lost}: bytes written to tables per byte flushed; a get reads at most ${amp.read} tables; a level's score is its size over its target (level 0: its tables over 4), due for compaction at 1`);
  } else {
    y = note(svg, "subtitle", 0, y + 2, width, `a full memtable (${kib(db.memtable_limit ?? 0)}) is frozen and flushed to a new table, on top`);
  }
  y = legend(svg, y, width, [
    { cls: "entry-swatch put", label: "put" },
    { cls: "entry-swatch del", label: "delete" },
    { cls: "table", inner: "bar", label: "table (from its smallest key to its largest)" },
    ...(hasBlocks ? [{ cls: "dblock-swatch", label: "data blocks" }, { cls: "filter-swatch", label: "bloom filter (darker: more bits set)" }] : []),
    ...(get ? [{ cls: "mark looked", label: "read, absent" }, { cls: "mark skipped", label: "skipped: key out of range" },
      ...(hasBlocks ? [{ cls: "mark bloom-skipped", label: "skipped: the filter says no" }, { cls: "dblock-swatch read", label: "the block read" }] : []),
      { cls: "mark answer", label: "the answer" }, { cls: "mark deleted-answer", label: "a delete answers" }] : []),
    ...(ev.created.size ? [{ cls: "mark new", label: "made by the last command" }] : []),
    ...(ev.replaced.length ? [{ cls: "mark replaced", label: "replaced by it (gone)" }] : []),
    ...(ev.moved.size ? [{ cls: "mark moved", label: "moved to another level whole" }] : []),
    ...(next ? [{ cls: "mark next", label: "next compaction's tables" }] : []),
    ...(conflict ? [{ cls: "mark conflict", label: "the newer version that conflicts" }] : []),
    ...(ofKind(lines, "values").length ? [{ cls: "vlog-swatch live", label: "value log: live values" },
      { cls: "vlog-swatch garbage", label: "garbage" }, { cls: "vlog-swatch rest", label: "headers, keys" },
      { cls: "mark collect", label: "compact would empty it" },
      ...(ofKind(lines, "vlog").some((f) => f.state === "emptied") ? [{ cls: "mark emptied", label: "emptied, waits for its readers" }] : []),
      ...(ev.vlogRemoved?.length ? [{ cls: "mark replaced", label: "removed by the last command" }] : [])] : []),
    ...(ofKind(lines, "cache").length ? [{ cls: "cache-swatch records", label: "cache: records" },
      { cls: "cache-swatch blocks", label: "blocks" }, { cls: "cache-swatch pinned", label: "pinned indexes and filters" }] : []),
  ]);

  // ---- the memtables ----
  const limit = Math.max(1, db.memtable_limit || 1);
  const memW = mems.length > 1 || ev.flushes > 0 ? (width - 16) / 2 : width;
  const memH = 26, memTop = y + 6;
  const conflictEntry = conflict
    ? entries.find((e) => e.key === conflict.key && (conflict.session?.seq === null || conflict.session?.seq === undefined || e.seq > conflict.session.seq))
    : undefined;
  const mg = svg.append("g").attr("class", "memtables").selectAll("g.memtable").data(mems).join("g")
    .attr("class", (d) => `memtable ${d.state}${memLook.has(d.state) ? ` ${LOOK_CLASS[memLook.get(d.state).result] || "looked"}` : ""}`)
    .attr("data-state", (d) => d.state)
    .attr("transform", (d, i) => `translate(${i * (memW + 16)},${memTop})`);
  mg.append("rect").attr("class", "limit").attr("width", memW).attr("height", memH);
  mg.append("rect").attr("class", "fill").attr("width", (d) => Math.min(1, d.bytes / limit) * memW).attr("height", memH);
  mg.each(function (m) {
    const mine = entries.filter((e) => e.mem === m.state);
    // Each entry as wide as its share of the memtable's bytes.
    const weight = (e) => e.key.length + e.vlen + 24;
    const total = d3.sum(mine, weight) || 1;
    const filled = Math.min(1, m.bytes / limit) * memW;
    let x = 0;
    const look = memLook.get(m.state);
    const hit = look && (look.result === "found" || look.result === "deleted") ? mine.find((e) => e.key === get.id) : undefined;
    const eg = d3.select(this).selectAll("g.entry").data(mine).join("g")
      .attr("class", (e) => `entry ${e.op}${e === hit ? " hit" : ""}${e === conflictEntry ? " conflict" : ""}`)
      .attr("transform", (e) => { const at = x; x += (weight(e) / total) * filled; return `translate(${at},0)`; });
    eg.append("rect").attr("class", (e) => `entry ${e.op}`).attr("y", 3)
      .attr("width", (e) => Math.max(1, (weight(e) / total) * filled - 1)).attr("height", memH - 6);
    eg.filter((e) => (weight(e) / total) * filled >= 26).append("text").attr("x", 2).attr("y", memH - 9)
      .text((e) => {
        const v = values?.get(e.seq);
        const room = Math.floor(((weight(e) / total) * filled - 4) / 6.2);
        return clip(e.op === "del" ? `×${shown(e.key)}` : v && v.value !== undefined ? `${shown(e.key)}=${shown(v.value)}` : shown(e.key), room);
      });
    eg.append("title").text((e) => {
      const v = values?.get(e.seq);
      return `${e.op} "${shown(e.key)}" seq ${e.seq}${e.op === "put" ? ` = "${shown(v?.value ?? "", 48)}" (${e.vlen}-byte value)` : ""}`;
    });
  });
  mg.append("text").attr("class", "seglabel").attr("x", 0).attr("y", memH + 11)
    .text((d) => `${d.state} memtable: ${d.entries} entries, ${kib(d.bytes)} of ${kib(limit)}` +
      (entries.filter((e) => e.mem === d.state).length < d.entries ? ` (the first ${entries.filter((e) => e.mem === d.state).length} drawn)` : ""));
  if (ev.flushes > 0 && !mems.some((m) => m.state === "frozen")) {
    const fg = svg.append("g").attr("class", "memtable frozen ghost").attr("transform", `translate(${memW + 16},${memTop})`);
    fg.append("rect").attr("class", "limit").attr("width", memW).attr("height", memH);
    fg.append("text").attr("class", "ghostlabel").attr("x", 4).attr("y", 16)
      .text(clip(`frozen, then flushed: ${ev.flushes} memtable${ev.flushes > 1 ? "s" : ""}`, Math.floor(memW / 6.2)));
    fg.append("text").attr("class", "seglabel").attr("x", 0).attr("y", memH + 11)
      .text(clip(`${ev.flushEntries} entries, ${kib(ev.flushBytes)} of tables, marked new`, Math.floor(memW / 5.6)));
    fg.append("title").text(`this command filled the memtable ${ev.flushes} time${ev.flushes > 1 ? "s" : ""}: each time it was frozen, a new one took the writes, and the frozen one was flushed to a table (in the page, on the writer's thread)`);
  }
  y = memTop + memH + 16;
  // Stage 08's value log: beside the levels when there is room.
  const hasValueLog = ofKind(lines, "values").length > 0;
  const vlogW = hasValueLog && width >= 760 ? Math.min(420, Math.max(260, Math.floor(width * 0.34))) : 0;
  const areaW = width - (vlogW ? vlogW + 16 : 0);

  // ---- the key axis, by rank ----
  // Each key the picture knows weighs the entries it stands for: a
  // memtable entry or a stage 04 table entry one; a data block's last key
  // the block's share of its table's entries; a table's smallest and
  // largest key nothing more (they place it).  A key's place is the
  // weight of the keys before it, so the axis is the keys' rank, and a
  // table spans from its smallest key to the place of the key after its
  // largest: tables whose ranges touch are drawn touching.
  const weight = new Map();
  const add = (k, w) => { if (k !== undefined) weight.set(k, (weight.get(k) || 0) + w); };
  for (const e of entries) add(e.key, 1);
  const detailed = new Set(tableEntries.map((e) => e.table));
  for (const e of tableEntries) add(e.key, 1);
  for (const t of tables) {
    add(t.smallest, 0);
    add(t.largest, 0);
    const bs = blocks.get(t.file) || [];
    if (bs.length) for (const b of bs) add(b.last, t.entries / bs.length);
    else if (!detailed.has(t.file)) { add(t.smallest, t.entries / 2); add(t.largest, t.entries / 2); }
  }
  for (const t of ev.replaced) { add(t.smallest, 0); add(t.largest, 0); }
  if (get) add(get.id, 0);
  const keys = [...weight.keys()].sort();
  // Every key weighs at least a little, so that each has a place.
  const floor = Math.max(0.05, (d3.sum(keys, (k) => weight.get(k)) || 1) / Math.max(1, keys.length) / 20);
  const cum = new Map();
  let total = 0;
  for (const k of keys) { cum.set(k, total); total += Math.max(floor, weight.get(k)); }
  // Ticks name keys that exist (a block's last key may be a shortened
  // separator, a key no one wrote: it places, it is not named).
  const real = new Set([...entries.map((e) => e.key), ...tables.flatMap((t) => [t.smallest, t.largest]), ...tableEntries.map((e) => e.key)]);
  const labelW = leveled ? 214 : 118;
  const axisX = labelW + 6, axisW = Math.max(120, areaW - axisX - 2);
  const U = Math.max(1e-9, total);
  const place = (k) => axisX + ((cum.get(k) ?? 0) / U) * axisW;
  const after = (k) => axisX + (((cum.get(k) ?? 0) + Math.max(floor, weight.get(k) ?? 0)) / U) * axisW;
  const span = (t) => {
    const a = place(t.smallest), b = after(t.largest);
    return { x: a, w: Math.max(2.5, b - a) };
  };

  // ---- the rows ----
  const rows = [];
  if (leveled) {
    const deepest = d3.max(levels.filter((l) => l.tables > 0), (l) => l.n) ?? 1;
    for (const lv of levels.filter((l) => l.n <= Math.max(1, deepest))) {
      const mine = tables.filter((t) => t.level === lv.n);
      const label = `L${lv.n}: ${lv.tables} · ${lv.n > 0 ? `${kib(lv.bytes)} of ${kib(lv.target)}`.replace(/ KiB of/, " of") : kib(lv.bytes)} · ${lv.score}`;
      if (lv.n === 0 && mine.length > 1) mine.forEach((t, i) => rows.push({ label: i === 0 ? label : "", level: lv, tables: [t] }));
      else rows.push({ label, level: lv, tables: mine });
    }
  } else {
    tables.forEach((t) => rows.push({ label: `${shortName(t.file)} · ${kib(t.bytes)}`, tables: [t] }));
  }
  let rowH = Math.max(5, Math.min(24, Math.floor(ROWS_PX / Math.max(1, rows.length))));
  if (!leveled && rows.length * 5 > ROWS_PX) {
    // Too many tables for a row each: packed, newest first, a table in
    // the first row where it overlaps none.
    const packed = [];
    for (const t of tables) {
      const s = span(t);
      let row = packed.find((r) => r.tables.every((o) => { const q = span(o); return s.x + s.w <= q.x || q.x + q.w <= s.x; }));
      if (!row) packed.push((row = { label: "", tables: [] }));
      row.tables.push(t);
    }
    rows.length = 0;
    rows.push(...packed);
    if (rows.length) rows[0].label = "tables, packed";
    rowH = Math.max(5, Math.min(24, Math.floor(ROWS_PX / Math.max(1, rows.length))));
  }

  // Ticks over the axis: real keys at even steps of rank.
  const tickTop = y + 8;
  const nt = Math.max(2, Math.floor(axisW / 92));
  const realKeys = keys.filter((k) => real.has(k));
  const ticks = [];
  for (let i = 0; i < nt && realKeys.length; i++) {
    const want = (i / (nt - 1)) * total;
    const k = realKeys.find((q) => cum.get(q) >= want) ?? realKeys[realKeys.length - 1];
    // At least 60 px apart, so that labels do not run into each other.
    if (!ticks.length || place(k) - place(ticks[ticks.length - 1]) >= 60) ticks.push(k);
  }
  const ax = svg.append("g").attr("class", "keyaxis");
  ax.append("line").attr("class", "axisline").attr("x1", axisX).attr("x2", axisX + axisW).attr("y1", tickTop + 12).attr("y2", tickTop + 12);
  ax.append("text").attr("class", "axisname").attr("x", 0).attr("y", tickTop + 10)
    .text(leveled ? "level: tables · bytes · score" : "newest first ↓");
  const room = Math.floor(axisW / Math.max(1, ticks.length) / 6) - 1;
  ticks.forEach((key, i) => {
    const k = shown(key);
    const near = [ticks[i - 1], ticks[i + 1]].filter((q) => q !== undefined).map((q) => sharedPrefix(k, shown(q)));
    const p = near.length ? Math.max(...near) : 0;
    const x = (place(key) + after(key)) / 2;
    const g = ax.append("g").attr("class", "tick").attr("transform", `translate(${x},${tickTop})`);
    g.append("line").attr("y1", 8).attr("y2", 14);
    g.append("text").attr("text-anchor", i === 0 ? "start" : i === ticks.length - 1 ? "end" : "middle").attr("y", 6)
      .text(cutKey(k, Math.max(3, room), p));
  });
  const rowsTop = tickTop + 18;
  if (!rows.length) y = note(svg, "note", 0, rowsTop + 12, width, "no tables yet: everything is in the memtable (flush, or fill until it is full)");

  const rg = svg.append("g").attr("class", "rows").selectAll("g.row").data(rows).join("g")
    .attr("class", (d) => `row${d.level && levelSkipped.has(d.level.n) ? " skipped" : ""}`)
    .attr("transform", (d, i) => `translate(0,${rowsTop + i * rowH})`);
  if (rowH >= 10) {
    rg.append("text").attr("class", (d) => `seglabel${d.level && d.level.score >= 1 ? " due" : ""}`)
      .attr("x", 0).attr("y", Math.min(14, rowH - 3)).text((d) => clip(d.label, Math.floor(labelW / 5.6)));
  }
  rg.filter((d) => d.level && d.label).append("title").text((d) => `level ${d.level.n}: ${d.level.tables} tables, ${d.level.bytes} bytes` +
    (d.level.n > 0 ? ` of its ${d.level.target}-byte target` : `; level 0 is due for compaction at ${d.level.target} tables`) +
    `; score ${d.level.score} (due at 1)`);
  rg.append("line").attr("class", "axis").attr("x1", axisX).attr("x2", axisX + axisW).attr("y1", rowH / 2).attr("y2", rowH / 2);

  // Where a get searched a table: the block its index named.
  const readBlock = new Map();
  for (const [file, l] of tableLook) {
    if (l.reads === undefined || l.from === "record_cache") continue;
    const b = blockFor(blocks.get(file) || [], get.id);
    if (b) readBlock.set(file, b);
  }
  const conflictTable = conflictEntry ? null : conflictLooks.find((l) => l.part === "table" && (l.result === "found" || l.result === "deleted"))?.file;
  const barH = Math.max(3, rowH - 3);
  const tg = rg.selectAll("g.table").data((d) => d.tables).join("g")
    .attr("class", (t) => `table${tableLook.has(t.file) ? ` ${LOOK_CLASS[tableLook.get(t.file).result] || "looked"}` : ""}` +
      `${ev.created.has(t.file) ? " new" : ""}${ev.moved.has(t.file) ? " moved" : ""}${nextTables.has(t.file) ? " next" : ""}` +
      `${t.file === conflictTable ? " conflict" : ""}`)
    .attr("data-file", (t) => t.file).attr("data-level", (t) => t.level ?? "")
    .attr("transform", (t) => `translate(${span(t).x},0)`);
  tg.append("rect").attr("class", "bar").attr("width", (t) => span(t).w).attr("height", barH).attr("rx", 1.5);
  if (hasBlocks && barH >= 8) {
    tg.each(function (t) {
      const mine = blocks.get(t.file) || [];
      const total = d3.sum(mine, (b) => b.size);
      const w = span(t).w;
      const f = filters.get(t.file);
      if (f) {
        d3.select(this).append("rect").attr("class", "filter").attr("x", 0.5).attr("y", 0.5).attr("width", Math.max(1, w - 1)).attr("height", 3)
          .attr("fill-opacity", 0.25 + 0.75 * (f.bits ? f.bits_set / f.bits : 0))
          .append("title").text(`bloom filter of ${t.file}: ${f.bits} bits, ${f.bits_set} set, ${f.k} hashes; a key it was not built with passes it about ${(100 * (f.bits ? f.bits_set / f.bits : 0) ** f.k).toFixed(1)}% of the time`);
      }
      if (!total) return;
      const read = readBlock.get(t.file);
      let x = 0;
      // Blocks narrower than a pixel are drawn as one strip.
      const sel = w / mine.length >= 1.5 ? mine : [];
      d3.select(this).selectAll("rect.dblock").data(sel).join("rect")
        .attr("class", (b) => `dblock${b.n % 2 ? " odd" : ""}${b === read ? " read" : ""}`)
        .attr("x", (b) => { const at = x; x += (b.size / total) * w; return at; })
        .attr("y", barH - 4).attr("width", (b) => Math.max(0.5, (b.size / total) * w - 0.3)).attr("height", 4)
        .append("title").text((b) => `${t.file} block ${b.n}: ${b.size} bytes at offset ${b.off}, keys up to "${shown(b.last)}"`);
      if (!sel.length) d3.select(this).append("rect").attr("class", "dblock").attr("y", barH - 4).attr("width", w).attr("height", 4);
    });
  }
  tg.filter((t) => span(t).w > 34 && barH >= 11).append("text").attr("x", 3).attr("y", Math.min(13, barH - 2))
    .text((t) => {
      const room = Math.floor((span(t).w - 5) / 6);
      const name = leveled ? `${shortName(t.file)} ` : "";
      return `${name}${rangeLabel(t.smallest, t.largest, room - name.length)}`.slice(0, room);
    });
  tg.filter((t) => tableLook.get(t.file)?.result === "skipped_bloom").append("path").attr("class", "bloom-no")
    .attr("d", (t) => { const w = Math.min(span(t).w, barH); return `M0,0 L${w},${barH} M${w},0 L0,${barH}`; });
  tg.insert("title", ":first-child").text((t) => {
    const f = filters.get(t.file);
    const n = (blocks.get(t.file) || []).length;
    return `${t.file}${t.level !== undefined ? `, level ${t.level}` : ""}: ${t.bytes} bytes, ${t.entries} entries, ` +
      `keys "${shown(t.smallest)}" to "${shown(t.largest)}"` + (n ? `; ${n}${cutTables.has(t.file) ? "+" : ""} blocks` : "") +
      (f ? `; bloom filter ${f.bits} bits, ${f.k} hashes` : "") +
      (ev.created.has(t.file) ? "; made by the last command" : "") +
      (ev.moved.has(t.file) ? `; moved from level ${ev.moved.get(t.file)} by the last command, not rewritten` : "") +
      (nextTables.has(t.file) ? "; an input of the next compaction" : "");
  });
  y = Math.max(y, rowsTop + rows.length * rowH + 6);
  let vlogDrawn = {};
  if (hasValueLog) {
    const v = vlogW ? drawValueLog(svg, view, width - vlogW, tickTop - 12, vlogW) : drawValueLog(svg, view, 0, y + 4, width);
    vlogDrawn = v.drawn;
    y = Math.max(y, v.y + 6);
  }
  let cacheDrawn = {};
  if (ofKind(lines, "cache").length) {
    const c = drawCache(svg, view, 0, y + 4, width);
    cacheDrawn = c.drawn;
    y = Math.max(y, c.y + 6);
  }

  // The tables the last command replaced, as they were.
  if (ev.replaced.length) {
    y = note(svg, "note", 0, y + 12, width,
      `the last command's compaction${ev.compactions > 1 ? "s" : ""} replaced these ${ev.replaced.length} tables (gone now: their entries are in the tables marked new)`);
    const byLevel = d3.group(ev.replaced, (t) => t.level ?? -1);
    const ghostRows = [];
    for (const [lv, ts] of [...byLevel].sort((a, b) => a[0] - b[0])) {
      for (const t of ts) {
        const s = span(t);
        let row = ghostRows.find((r) => r.lv === lv && r.tables.every((o) => { const q = span(o); return s.x + s.w <= q.x || q.x + q.w <= s.x; }));
        if (!row) ghostRows.push((row = { lv, tables: [], label: ghostRows.some((r) => r.lv === lv) ? "" : lv >= 0 ? `was L${lv}` : "was" }));
        row.tables.push(t);
      }
    }
    const gh = Math.min(18, rowH + 2);
    const gg = svg.append("g").attr("class", "ghosts").selectAll("g.row").data(ghostRows).join("g").attr("class", "row")
      .attr("transform", (d, i) => `translate(0,${y + 4 + i * gh})`);
    gg.append("text").attr("class", "seglabel").attr("x", 0).attr("y", Math.min(13, gh - 3)).text((d) => d.label);
    const ggt = gg.selectAll("g.table").data((d) => d.tables).join("g").attr("class", "table replaced").attr("data-file", (t) => t.file)
      .attr("transform", (t) => `translate(${span(t).x},0)`);
    ggt.append("rect").attr("class", "bar").attr("width", (t) => span(t).w).attr("height", gh - 3).attr("rx", 1.5);
    ggt.filter((t) => span(t).w > 34 && gh >= 14).append("text").attr("x", 3).attr("y", gh - 6)
      .text((t) => { const room = Math.floor((span(t).w - 5) / 6); const name = `${shortName(t.file)} `; return `${name}${rangeLabel(t.smallest, t.largest, room - name.length)}`.slice(0, room); });
    ggt.append("title").text((t) => `${t.file} (was level ${t.level ?? "-"}): ${t.bytes} bytes, ${t.entries} entries, "${shown(t.smallest)}" to "${shown(t.largest)}": replaced`);
    y += 4 + ghostRows.length * gh + 4;
  }

  // What the last command did, and what the picker would do next.
  const did = [];
  if (ev.flushes) did.push(`${ev.flushes} flush${ev.flushes > 1 ? "es" : ""}`);
  if (ev.compactions) did.push(`${ev.compactions} compaction${ev.compactions > 1 ? "s" : ""}`);
  if (ev.moved.size) did.push(`${ev.moved.size} table${ev.moved.size > 1 ? "s" : ""} moved down whole`);
  if (did.length) y = note(svg, "note", 0, y + 14, width, `the last command ran ${did.join(", ")} (on the writer's thread in this page)`);
  if (next) {
    y = note(svg, "note", 0, y + 14, width,
      `next compaction: L${next.level} into L${next.level + 1}, ${next.inputs} table${next.inputs > 1 ? "s" : ""} (outlined), ${kib(next.bytes)}; ` +
      (next.move ? "a move: the table changes level and no byte is rewritten; " : "") +
      (next.due ? `due now (score ${next.score} >= 1): it runs at the next write` : `not due yet (score ${next.score} < 1)`));
  }
  if (get) {
    const steps = looks.map((l) => {
      if (l.part === "memtable") return `${l.state} memtable: ${l.result}`;
      if (l.part === "level") return `L${l.level} skipped (no table holds the key)`;
      if (l.part === "vlog") return `the value log, ${String(Number(String(l.file).replace(/\.v?log$/, "")))}.vlog: ${l.read_bytes} bytes read at offset ${l.offset}${l.result === "found" ? "" : ` (${l.result})`}`;
      const b = readBlock.get(l.file);
      const cost = l.reads === undefined ? "" : l.from === "record_cache" ? ", from the record cache: no filter, index or block" : b ? `, block ${b.n}: ${l.reads ? `${l.reads} read${l.reads > 1 ? "s" : ""}` : "from the block cache, no read"}`
        : `, ${l.reads} read${l.reads === 1 ? "" : "s"}`;
      return `${shortName(l.file)}: ${l.result.replace("skipped_range", "skipped (out of range)").replace("skipped_bloom", "skipped (the filter says no)")}${cost}` +
        (l.value === "elsewhere" ? " (where its value is)" : "");
    });
    const answer = get.lines.find((l) => l.kind === "answer");
    y = note(svg, "getnote", 0, y + 14, width, `get ${get.key}: ${steps.join(" → ")} ⇒ ${answer?.result === "found" ? "found" : "not found"}`);
  }
  if (conflict) {
    const s = conflict.session;
    const which = /which the transaction read/.test(conflict.session?.conflict?.msg || "") ? "read" : "writes";
    const where = conflictEntry ? `at sequence ${conflictEntry.seq} (the memtable entry marked)`
      : conflictTable ? `in table ${shortName(conflictTable)} (marked)` : "";
    y = note(svg, "conflictnote", 0, y + 14, width,
      `${s?.name ?? "the transaction"} could not commit: "${conflict.shownKey}", which it ${which}, was written ${where}` +
      (s && s.seq !== null && s.seq !== undefined ? `, after its snapshot (sequence ${s.seq})` : " since it began") +
      (db.stage === "07-txn" ? ": stage 07 finds it by that version's sequence number" : ": this stage finds it by comparing values") +
      "; nothing of it was written");
  }
  svg.attr("height", y + 8);
  return { drawn: { memtable: mems.length, entry: entries.length, table: tables.length, row: rows.length, replaced: ev.replaced.length, ...vlogDrawn, ...cacheDrawn } };
}
