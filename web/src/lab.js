// lab.js: the lab page (docs/lab.md).  A console whose commands run on
// every stage picked, and beside it, per stage, a picture of what its
// database is made of, drawn again from kv_inspect after every command.
// The engines are the stages' own C code compiled to WebAssembly
// (engine.js); nothing here knows how a stage works but through the
// lines it tells (inspect.js).

import * as d3 from "d3";
import { HELP, run, words } from "./commands.js";
import { loadEngine } from "./engine.js";
import { drawHash } from "./draw_hash.js";
import { drawLog } from "./draw_log.js";
import { drawLsm } from "./draw_lsm.js";

const STAGES = [
  { id: "01-log", title: "01 · the append-only log", what: "every write appended to one file; a read scans all of it", draw: drawLog },
  { id: "02-hash", title: "02 · hash index over segments", what: "an index in memory points each key at its latest record; compact merges the segments", draw: drawHash },
  { id: "03-wal", title: "03 · a write-ahead log", what: "stage 02 over 32 KiB blocks of checksummed fragments; batches are records", draw: drawHash },
  { id: "04-lsm", title: "04 · LSM tree", what: "memtable, frozen memtable, sorted tables newest first", draw: drawLsm },
  { id: "05-blocks", title: "05 · tables in blocks", what: "blocks, an index and a bloom filter per table", draw: drawLsm },
  { id: "06-leveled", title: "06 · leveled compaction", what: "levels of tables, compactions, write and read amplification", draw: drawLsm },
  { id: "07-txn", title: "07 · transactions by versions", what: "stage 06's engine; conflicts found by sequence numbers", draw: drawLsm },
];

const OPTIONS = [
  ["segment_bytes", 1024, "02+: a new segment past this size"],
  ["memtable_bytes", 4096, "04+: the memtable is flushed at this size"],
  ["block_bytes", 256, "05+: a table's block size"],
  ["bloom_bits_per_key", 10, "05+: filter bits per key (-1: none)"],
  ["l1_bytes", 16384, "06+: level 1's target size"],
  ["level_ratio", 4, "06+: each level this many times the one above"],
  ["table_bytes", 4096, "06+: a compaction's output tables"],
  ["sync", 0, "03+: 1 = each write synced before it returns"],
];

const built = STAGES.filter((s) => typeof globalThis[`kvStage_${s.id.replace(/-/g, "_")}`] === "function");
const engines = new Map();
const drawn = new Map();
const lastGet = new Map();
let shown = built.map((s) => s.id);

const options = {
  text() {
    return OPTIONS.map(([name]) => `${name}=${d3.select(`#opt-${name}`).property("value")}`).join(" ");
  },
};

function log(text, cls) {
  const pre = d3.select("#log");
  pre.append("div").attr("class", cls || "out").text(text);
  const node = pre.node();
  node.scrollTop = node.scrollHeight;
}

function redraw(stageId) {
  const stage = STAGES.find((s) => s.id === stageId);
  const engine = engines.get(stageId);
  const panel = d3.select(`#panel-${stageId}`);
  if (!engine || panel.empty()) return;
  const lines = engine.inspect();
  const width = Math.max(420, Math.floor(panel.node().clientWidth) - 16);
  const result = stage.draw(panel.select("svg"), lines, lastGet.get(stageId), width);
  drawn.set(stageId, result.drawn);
  const files = engine.files();
  panel.select(".files").text(files.map((f) => `${f.name} ${f.bytes}`).join(" · "));
}

function layoutPanels() {
  const panels = d3.select("#panels").selectAll("div.panel")
    .data(STAGES.filter((s) => shown.includes(s.id)), (d) => d.id)
    .join((enter) => {
      const p = enter.append("div").attr("class", "panel").attr("id", (d) => `panel-${d.id}`)
        .attr("data-stage", (d) => d.id);
      const h = p.append("h2");
      h.append("span").text((d) => d.title);
      h.append("a").attr("href", (d) => `../../../docs/${d.id}.md`).text("the chapter");
      p.append("p").attr("class", "what").text((d) => d.what);
      p.append("svg").attr("class", "picture");
      p.append("div").attr("class", "files");
      return p;
    });
  d3.select("#panels").attr("data-count", panels.size());
  for (const id of shown) redraw(id);
}

async function execute(line) {
  line = line.trim();
  if (!line) return [];
  log(`> ${line}`, "cmd");
  const w = words(line);
  if (w[0] === "options") {
    for (const kv of w.slice(1)) {
      const [name, value] = kv.split("=");
      if (!OPTIONS.some(([n]) => n === name) || !/^-?[0-9]+$/.test(value || "")) {
        log(`not an option: ${kv}`, "err");
        return [];
      }
      d3.select(`#opt-${name}`).property("value", value);
    }
    log(options.text());
    if (w.length === 1) return [];
    return await execute("reset");
  }
  const results = [];
  for (const id of shown) {
    const engine = engines.get(id);
    let res;
    try {
      if (w[0] === "powercut") {
        const r = await engine.powercut(engine.options);
        res = { text: r.ok ? "power cut: what was synced is left, and kv_open recovered from it" : r.text };
      } else {
        res = run(engine, line, options);
      }
    } catch (e) {
      res = { text: `error: ${e.message}` };
    }
    lastGet.set(id, res.get);
    results.push({ stage: id, ...res });
    log(`[${id}] ${res.text}`, "out");
    redraw(id);
  }
  return results;
}

function buildControls() {
  const picker = d3.select("#stages");
  const label = picker.selectAll("label").data(STAGES).join("label")
    .attr("title", (d) => (built.includes(d) ? d.what : "not in this build (make wasm WASM_STAGES=... leaves it out)"))
    .classed("missing", (d) => !built.includes(d));
  label.append("input").attr("type", "checkbox").attr("value", (d) => d.id)
    .property("checked", (d) => shown.includes(d.id)).property("disabled", (d) => !built.includes(d))
    .on("change", () => {
      shown = picker.selectAll("input").filter(function () { return this.checked; }).nodes().map((n) => n.value);
      layoutPanels();
    });
  label.append("span").text((d) => d.id);

  const opts = d3.select("#options").selectAll("label").data(OPTIONS).join("label").attr("title", (d) => d[2]);
  opts.append("span").text((d) => d[0]);
  opts.append("input").attr("id", (d) => `opt-${d[0]}`).attr("type", "number").attr("value", (d) => d[1]);
  d3.select("#apply").on("click", () => execute("reset"));

  d3.select("#cmd").on("submit", (event) => {
    event.preventDefault();
    const input = d3.select("#line");
    const line = input.property("value");
    input.property("value", "");
    execute(line);
  });
  const examples = ["fill 12 16", "put apple red", "put apple green", "del k003", "get apple", "get k003",
    "batch put b1 x; put b2 y; del b1", "flush", "compact", "fill 3 40000 big", "reopen", "powercut", "stats", "help"];
  d3.select("#examples").selectAll("button").data(examples).join("button").attr("type", "button")
    .text((d) => d).on("click", (event, d) => execute(d));
}

async function start() {
  buildControls();
  for (const s of built) {
    const engine = await loadEngine(s.id);
    // A database left in the browser's storage by an earlier visit comes
    // back as a power cut leaves it; else an empty one.
    const kept = engine.hasDurable();
    if (kept) engine.durable.restore(engine.dir);
    const res = kept ? engine.open(options.text()) : engine.reset(options.text());
    log(`[${s.id}] ${res.ok ? (kept ? "the database this browser kept: what its last syncs made durable" : "an empty database") : res.text}`,
      res.ok ? "out" : "err");
    engines.set(s.id, engine);
  }
  log(`${built.length} engines loaded: ${built.map((s) => s.id).join(", ")}.  Type help, or click an example.`);
  layoutPanels();
  window.addEventListener("resize", () => shown.forEach(redraw));
}

// For the browser test (web/test/lab_test.mjs), and for a curious console.
window.lab = {
  ready: start(),
  run: async (line) => (await execute(line)).map((r) => ({ stage: r.stage, text: r.text })),
  shown: () => shown.slice(),
  pick: (ids) => {
    d3.select("#stages").selectAll("input").property("checked", function () { return ids.includes(this.value); });
    shown = ids.filter((id) => built.some((s) => s.id === id));
    layoutPanels();
  },
  stats: (id) => engines.get(id).stats(),
  inspect: (id) => engines.get(id).inspect(),
  drawn: (id) => drawn.get(id),
  help: HELP,
};
