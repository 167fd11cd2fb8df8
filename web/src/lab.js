// lab.js: the lab page (docs/lab.md).  A console whose commands run on
// every stage picked, and beside it, per stage, a picture of what its
// database is made of, drawn again after every command from what the
// engine says (kv_inspect, gather.js).  The engines are the stages' own C
// code compiled to WebAssembly (engine.js); nothing here knows how a
// stage works but through what its engine tells.
//
// Nothing typed may break the page: commands run one at a time, in order
// (a queue); a long one (fill) runs in chunks that give the browser a
// turn and show progress; an engine that traps is restarted on the files
// it left, and the console says so; options are tried on a scratch
// database of each stage before any database is reset with them.

import * as d3 from "d3";
import { HELP, parse, run, sessionsOf } from "./commands.js";
import { EngineCrash, loadEngine } from "./engine.js";
import { gather } from "./gather.js";
import { ofKind, parseLine } from "./inspect.js";
import { diffEvents } from "./events.js";
import { drawHash } from "./draw_hash.js";
import { drawLog } from "./draw_log.js";
import { drawLsm } from "./draw_lsm.js";
import { drawSessions } from "./draw_txn.js";
import { startGroup } from "./group.js";

const STAGES = [
  { id: "01-log", kind: "log", title: "01 · the append-only log", what: "every write appended to one file; a read scans all of it", draw: drawLog },
  { id: "02-hash", kind: "hash", title: "02 · hash index over segments", what: "an index in memory points each key at its latest record; compact merges the segments", draw: drawHash },
  { id: "03-wal", kind: "hash", title: "03 · a write-ahead log", what: "stage 02 over 32 KiB blocks of checksummed fragments; batches are records", draw: drawHash },
  { id: "04-lsm", kind: "lsm", title: "04 · LSM tree", what: "memtable, frozen memtable, sorted tables newest first", draw: drawLsm },
  { id: "05-blocks", kind: "lsm", title: "05 · tables in blocks", what: "blocks, an index and a bloom filter per table", draw: drawLsm },
  { id: "06-leveled", kind: "lsm", title: "06 · leveled compaction", what: "levels of tables, compactions, write and read amplification", draw: drawLsm },
  { id: "07-txn", kind: "lsm", title: "07 · transactions by versions", what: "stage 06's engine; a commit's conflicts found by sequence numbers", draw: drawLsm },
  { id: "08-vlog", kind: "lsm", title: "08 · a value log", what: "stage 07 with large values kept apart, in a value log beside the levels; compact collects its garbage", draw: drawLsm },
  { id: "09-cache", kind: "lsm", title: "09 · a record cache", what: "stage 08 with a record cache in front of the tables: a get asked again is answered without a table, block or filter", draw: drawLsm },
];

const OPTIONS = [
  ["segment_bytes", 1024, "02+: a new segment past this size"],
  ["memtable_bytes", 4096, "04+: the memtable is flushed at this size"],
  ["block_bytes", 256, "05+: a table's block size (64 .. 1048576)"],
  ["bloom_bits_per_key", 10, "05+: filter bits per key (-1: no filters)"],
  ["cache_bytes", 0, "05+: the cache's budget in bytes: blocks, and records in 09 (0: 8 MiB)"],
  ["l1_bytes", 16384, "06+: level 1's target size"],
  ["level_ratio", 4, "06+: each level this many times the one above"],
  ["table_bytes", 4096, "06+: a compaction's output tables"],
  ["sync", 0, "03+: 1 = each write synced before it returns"],
  ["value_threshold", 128, "08+: a value of this many bytes or more goes to the value log"],
  ["value_gc_percent", 50, "08+: compact empties a value-log file once this % of its values is garbage (1 .. 99)"],
  ["record_cache_percent", 25, "09: the % of the cache kept for records (1 .. 90; -1: none)"],
];

const built = STAGES.filter((s) => typeof globalThis[`kvStage_${s.id.replace(/-/g, "_")}`] === "function");
const engines = new Map();
const views = new Map();      // stage -> {data, events, get, conflict, drawn, ms}
const timings = [];           // {line, stage, ms}: a command's run, gather and draw
let shown = built.map((s) => s.id);
let applied = new Map(OPTIONS.map(([n, v]) => [n, String(v)]));
const history = [];
let historyAt = 0;
let busy = 0;
let group = null;             // stage 10's group (group.js), if built

const optionsText = (map = applied) => [...map].map(([n, v]) => `${n}=${v}`).join(" ");

function log(text, cls) {
  const pre = d3.select("#log");
  // A 2 MB line would make the console crawl: it shows the start.
  const cut = text.length > 2000 ? `${text.slice(0, 2000)}… (${text.length.toLocaleString("en")} characters)` : text;
  pre.append("div").attr("class", cls || "out").text(cut);
  const node = pre.node();
  while (node.childNodes.length > 400) node.removeChild(node.firstChild);
  node.scrollTop = node.scrollHeight;
}

function progress(text) {
  d3.select("#progress").text(text || "").classed("on", !!text);
}

// A turn for the browser (input, painting), then on: a message to
// ourselves, which timers' clamping and throttling do not delay.
const turns = new MessageChannel();
const waiting = [];
turns.port1.onmessage = () => waiting.shift()?.();
const nextTurn = () => new Promise((resolve) => {
  waiting.push(resolve);
  turns.port2.postMessage(0);
});

function stageOf(id) {
  return STAGES.find((s) => s.id === id);
}

// The database's files under its picture: all of them while they are
// few, else the first and the last few, and the count and bytes of all.
function filesLine(files) {
  const one = (f) => `${f.name} ${f.bytes}`;
  if (files.length <= 14) return files.map(one).join(" · ");
  const bytes = files.reduce((n, f) => n + f.bytes, 0);
  return `${files.length} files, ${bytes.toLocaleString("en")} bytes: ${files.slice(0, 8).map(one).join(" · ")} · … · ${files.slice(-4).map(one).join(" · ")}`;
}

function redraw(id) {
  const stage = stageOf(id);
  const engine = engines.get(id);
  const view = views.get(id);
  const panel = d3.select(`#panel-${id}`);
  if (!engine || !view || panel.empty()) return;
  const t0 = performance.now();
  const width = Math.max(420, Math.floor(panel.node().clientWidth) - 16);
  drawSessions(panel.select("div.sessions"), engine.sessions, view);
  const svg = panel.select("svg");
  let result;
  try {
    result = stage.draw(svg, { ...view, stage: id }, width);
  } catch (e) {
    svg.selectAll("*").remove();
    svg.attr("height", 30).append("text").attr("class", "note").attr("y", 16).text(`this picture could not be drawn: ${e.message}`);
    log(`[${id}] the picture failed: ${e.message}`, "err");
    result = { drawn: {} };
  }
  view.drawn = result.drawn;
  view.drawMs = performance.now() - t0;
  panel.select(".problem").text(view.data?.error ? `kv_inspect failed: ${view.data.error}` : "");
  panel.select(".files").text(engine.crashed ? "" : filesLine(engine.files()));
}

// Asks the engine what it is made of now, and keeps it with what changed.
function refresh(id, statsBefore, res, seen) {
  const engine = engines.get(id);
  const stage = stageOf(id);
  const old = views.get(id);
  const data = gather(engine, stage.kind);
  const statsAfter = engine.stats();
  const events = diffEvents(old?.data, data, statsBefore, statsAfter, seen);
  views.set(id, { data, events, get: res?.get, conflict: res?.conflict, stats: statsAfter });
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
      p.append("div").attr("class", "sessions");
      p.append("svg").attr("class", "picture");
      p.append("div").attr("class", "problem");
      p.append("div").attr("class", "files");
      return p;
    });
  d3.select("#panels").attr("data-count", panels.size());
  for (const id of shown) redraw(id);
}

// For a fill on an LSM stage: after each put, whether the database's
// files changed (a flush or a compaction made or removed a table); if so,
// the tables kv_inspect lists now are noted in seen, so that the picture
// after the fill can show the ones a compaction replaced on the way.
// Tables made and replaced inside one put are not seen: kv_stats counts
// them (events.js).
function tableWatch(engine, seen) {
  if (engine.stage < "04") return undefined;
  let names = "";
  return () => {
    const now = engine.m.FS.readdir(engine.dir).join(" ");
    if (now === names) return;
    names = now;
    const r = engine.result(engine.call("inspect", 0));
    if (!r.ok) return;
    for (const line of engine.text().split("\n")) {
      if (!line.startsWith("table ")) continue;
      const t = parseLine(line);
      if (!seen.has(t.file)) seen.set(t.file, t);
    }
  };
}

// An engine trapped: a fresh module on its files, and the console told.
async function recover(id, e, what) {
  const engine = engines.get(id);
  const r = await engine.restart(engine.options);
  delete engine.sessions;
  return {
    text: `${e.message} (during ${what}): the page restarted it on the files it left, as after a crashed process; ` +
      (r.ok ? "kv_open recovered from them" : `kv_open failed: ${r.text}; reset starts an empty database`),
    cls: "err",
  };
}

// ---- options: checked on a scratch database of each stage first ----

function markOption(name, why) {
  d3.select(`#opt-${name}`).classed("invalid", !!why).attr("title", why || null);
}

async function setOptions(changes) {
  const proposed = new Map(applied);
  for (const [name, value] of changes) {
    if (!OPTIONS.some(([n]) => n === name) || !/^-?[0-9]+$/.test(value || "")) {
      if (OPTIONS.some(([n]) => n === name)) markOption(name, `${name} takes an integer`);
      log(`not an option: ${name}=${value ?? ""} (names: ${OPTIONS.map(([n]) => n).join(", ")}; values are integers)`, "err");
      return false;
    }
    proposed.set(name, String(Number(value)));
    d3.select(`#opt-${name}`).property("value", String(Number(value)));
  }
  const refusals = [];
  for (const id of shown) {
    const engine = engines.get(id);
    const r = engine.probe(optionsText(proposed));
    if (!r.ok) refusals.push({ id, engine, text: r.text });
  }
  if (refusals.length) {
    // Which fields: each change alone, on the stages that refused.
    const bad = new Map();
    for (const [name, value] of proposed) {
      if (applied.get(name) === value) continue;
      const one = new Map(applied).set(name, value);
      for (const ref of refusals) {
        const r = ref.engine.probe(optionsText(one));
        if (!r.ok) bad.set(name, `${ref.id}: ${r.text}`);
      }
    }
    for (const [name] of OPTIONS) markOption(name, bad.get(name));
    for (const ref of refusals) log(`[${ref.id}] refuses these options: ${ref.text}`, "err");
    log(`options refused: nothing was reset; every database stays open with ${optionsText()}` +
      (bad.size ? ` (the field${bad.size > 1 ? "s" : ""} ${[...bad.keys()].join(", ")} marked)` : ""), "err");
    return false;
  }
  for (const [name] of OPTIONS) markOption(name, null);
  applied = proposed;
  log(`options: ${optionsText()}`);
  return true;
}

// ---- one command line on every stage shown ----

async function execute(line) {
  line = line.trim();
  if (!line) return [];
  log(`> ${line}`, "cmd");
  const first = line.split(/\s+/)[0].toLowerCase();
  if (first === "options") {
    const pairs = line.split(/\s+/).slice(1).map((kv) => {
      const i = kv.indexOf("=");
      return i < 0 ? [kv, undefined] : [kv.slice(0, i), kv.slice(i + 1)];
    });
    if (!pairs.length) {
      log(`options: ${optionsText()}`);
      return [];
    }
    if (!(await setOptions(pairs))) return [{ stage: "all", text: "options refused", cls: "err" }];
    return execute("reset");
  }
  const c = parse(line);
  if (c.error) {
    log(c.error, "err");
    return [{ stage: "all", text: c.error, cls: "err" }];
  }
  if (c.name === "help") {
    log(HELP);
    return [{ stage: "all", text: HELP }];
  }
  const results = [];
  for (const id of shown) {
    const engine = engines.get(id);
    const t0 = performance.now();
    let res, statsBefore = {};
    const seen = new Map();
    try {
      statsBefore = engine.crashed ? {} : engine.stats();
      const pause = async (done, total) => {
        progress(`${c.name}: ${done.toLocaleString("en")} of ${total.toLocaleString("en")} on ${id}`);
        await nextTurn();
      };
      res = await run(engine, c, { options: optionsText(), lines: views.get(id)?.data?.lines, pause, watch: tableWatch(engine, seen) });
    } catch (e) {
      if (!(e instanceof EngineCrash)) throw e;
      res = await recover(id, e, c.name);
    }
    try {
      refresh(id, statsBefore, res, seen);
    } catch (e) {
      if (!(e instanceof EngineCrash)) throw e;
      const r2 = await recover(id, e, "kv_inspect");
      res = { text: `${res.text}; then ${r2.text}`, cls: "err" };
      refresh(id, {}, res);
    }
    // An engine whose writes failed refuses every write until it is
    // reopened (kv.h): the page reopens it, or restarts it, and says so.
    if (!engine.crashed && Number(views.get(id).stats?.["write.failed"]) > 0 && c.name !== "powercut") {
      const closed = engine.close();
      let again = closed.ok ? engine.open(engine.options) : closed;
      if (!again.ok) again = await engine.restart(engine.options);
      delete engine.sessions;
      res = { text: `${res.text}; its writes had failed, so the page reopened it (${again.ok ? "kv_open recovered" : again.text})`, cls: "err" };
      refresh(id, {}, res);
    }
    const txn = engine.sessions && c.session ? engine.sessions[c.session] : null;
    if (txn && c.name === "commit" && txn.state === "committed") txn.commitSeq = ofKind(views.get(id).data.lines, "db")[0]?.seq ?? null;
    redraw(id);
    progress("");
    const ms = performance.now() - t0;
    timings.push({ line: line.slice(0, 60), stage: id, ms });
    results.push({ stage: id, ...res, ms });
    log(`[${id}] ${res.text}`, res.cls || "out");
    await nextTurn();
  }
  return results;
}

// Commands run one at a time, in the order they came.
let queue = Promise.resolve();
function submit(line) {
  busy++;
  const done = queue.then(() => execute(line)).catch((e) => {
    log(`the page failed: ${e.message}`, "err");
    return [{ stage: "all", text: e.message, cls: "err" }];
  }).finally(() => { busy--; });
  queue = done;
  return done;
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
  d3.select("#apply").on("click", () => {
    const pairs = OPTIONS.map(([n]) => `${n}=${d3.select(`#opt-${n}`).property("value")}`);
    submit(`options ${pairs.join(" ")}`);
  });

  const input = d3.select("#line");
  d3.select("#cmd").on("submit", (event) => {
    event.preventDefault();
    const line = input.property("value");
    input.property("value", "");
    if (line.trim()) {
      if (history[history.length - 1] !== line) history.push(line);
      if (history.length > 200) history.shift();
    }
    historyAt = history.length;
    submit(line);
  });
  input.on("keydown", (event) => {
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    event.preventDefault();
    historyAt = Math.max(0, Math.min(history.length, historyAt + (event.key === "ArrowUp" ? -1 : 1)));
    input.property("value", history[historyAt] ?? "");
  });
  const examples = ["fill", "put apple red", "put apple green", "del k003", "get apple", "get k003",
    "batch put b1 x; put b2 y; del b1", "flush", "compact", "fill 300 16 k overwrite", "fill 3 40000 big",
    "fill 200 300 v overwrite",
    "begin a serializable", "tget a apple", "tput a apple pear", "commit a", "reopen", "powercut", "stats", "help"];
  d3.select("#examples").selectAll("button").data(examples).join("button").attr("type", "button")
    .text((d) => d).on("click", (event, d) => submit(d));
}

async function start() {
  buildControls();
  for (const s of built) {
    const engine = await loadEngine(s.id);
    engine.durable.onFull = (msg) => log(msg, "warn");
    // A database left in the browser's storage by an earlier visit comes
    // back as a power cut leaves it; else an empty one.
    const kept = engine.durable.load();
    let res;
    if (kept === "kept") {
      engine.durable.restore(engine.m.FS);
      res = engine.open(optionsText());
    }
    if (kept !== "kept" || !res.ok) {
      const why = kept === "dropped" ? `the browser kept no copy (${engine.durable.dropped}): an empty database`
        : kept === "kept" ? `the database this browser kept did not open (${res.text}): an empty one instead` : "an empty database";
      res = engine.reset(optionsText());
      res.note = why;
    } else {
      res.note = "the database this browser kept: what its last syncs made durable";
    }
    log(`[${s.id}] ${res.ok ? res.note : res.text}`, res.ok ? (kept === "dropped" ? "warn" : "out") : "err");
    engines.set(s.id, engine);
    refresh(s.id, {}, null);
  }
  log(`${built.length} engines loaded: ${built.map((s) => s.id).join(", ")}.  Type help, or click an example.`);
  layoutPanels();
  // Stage 10's group, when the page was built with it (WASM_RAFT=1):
  // a panel of its own, driven by its buttons (group.js).
  group = await startGroup(log);
  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(() => shown.forEach(redraw), 100);
  });
}

// For the browser test (web/test/lab_test.mjs), and for a curious console.
window.lab = {
  ready: start(),
  run: async (line) => (await submit(line)).map((r) => ({ stage: r.stage, text: r.text, cls: r.cls, ms: r.ms })),
  submit: (line) => { submit(line); },
  busy: () => busy > 0,
  shown: () => shown.slice(),
  pick: (ids) => {
    d3.select("#stages").selectAll("input").property("checked", function () { return ids.includes(this.value); });
    shown = ids.filter((id) => built.some((s) => s.id === id));
    layoutPanels();
  },
  stats: (id) => engines.get(id).stats(),
  inspect: (id) => engines.get(id).inspect(),
  dump: (id) => engines.get(id).dump(),
  drawn: (id) => views.get(id)?.drawn,
  view: (id) => { const v = views.get(id); return v ? { events: v.events, gatherMs: v.data.ms, drawMs: v.drawMs } : null; },
  sessions: (id) => sessionsOf(engines.get(id)),
  options: () => optionsText(),
  timings: () => timings.slice(),
  // The next call into the stage's module passes a pointer far outside
  // its memory: the C code's read of it traps, as a bug would.
  trap: (id) => { engines.get(id).wild = true; },
  // The stage's next file sync fails with an I/O error, as a disk's can.
  failSync: (id) => { engines.get(id).durable.failNext = true; },
  // Stage 10's group: null unless the page was built with it.
  group: () => group,
  help: HELP,
};
