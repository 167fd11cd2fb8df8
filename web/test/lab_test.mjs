// lab_test.mjs: the lab page in a real browser (make test-wasm runs it):
//   node web/test/lab_test.mjs LABDIR [SHOTDIR]
// Debian's Chromium, headless, driven by playwright-core, opens
// LABDIR/index.html from disk (no server) and runs, as a learner would:
//   - a scripted session on each stage alone, checking after each step
//     that the picture agrees with the engine (what is drawn is counted
//     and compared with kv_stats, read from the same engine), and what
//     each picture teaches: stage 01's tail, stage 02's every slot and
//     its merge, stage 03's one scale, the key axis by rank of 04-07,
//     the bloom filter and the block a get reads, compactions replaced
//     and made during the first fill, write skew refused on stage 07,
//     stage 08's value log (its files against kv_stats, a get's read,
//     garbage from overwrites, files emptied while a snapshot holds them,
//     then removed);
//   - what must not break the page: a 2 MB value, an engine that traps,
//     a 1 MB value on every stage then reopen, the browser's storage
//     full, bad options, fill 10000 on all stages (chunked, with progress,
//     pictures bounded, a command answered within 1 s), unicode keys and
//     a NUL in a key, command history;
//   - a reload (a power cut: the browser kept what was synced).
// Screenshots go to SHOTDIR (default LABDIR/../shots); the ones
// docs/lab.md shows are among them (checked; `make lab-shots` copies
// them to docs/lab/).  Ends with "N passed, N failed".
import { chromium } from "playwright-core";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const labdir = resolve(process.argv[2] || "build/wasm/lab");
const shots = resolve(process.argv[3] || join(labdir, "..", "shots"));
mkdirSync(shots, { recursive: true });
const saved = new Set();

let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail !== undefined ? `: ${detail}` : ""}`);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  // Nothing may come from the network: the page is whole on disk.
  const requests = [];
  page.on("request", (r) => { if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) requests.push(r.url()); });
  await page.goto(pathToFileURL(join(labdir, "index.html")).href);
  await page.evaluate(() => window.lab.ready);
  await page.evaluate(() => localStorage.clear());
  const stages = await page.evaluate(() => window.lab.shown());
  check("page loads its engines", stages.length > 0, `stages: ${stages}`);

  // A command that has not answered in 120 s fails the run, saying where
  // the page was.
  const run = async (line) => {
    let timer;
    const late = new Promise((_, no) => { timer = setTimeout(() => no(new Error("late")), 120000); });
    try {
      return await Promise.race([page.evaluate((l) => window.lab.run(l), line), late]);
    } catch (e) {
      if (e.message !== "late") throw e;
      const where = await page.evaluate(() => `${document.querySelector("#progress").textContent} | ${document.querySelector("#log").textContent.slice(-400)}`);
      throw new Error(`"${line.slice(0, 60)}" did not answer in 120 s: ${where}`);
    } finally {
      clearTimeout(timer);
    }
  };
  const pick = (ids) => page.evaluate((s) => window.lab.pick(s), ids);
  // Elements of a panel, the legend's swatches left out.
  const count = (stage, sel) => page.evaluate(([s, q]) => [...document.querySelectorAll(`#panel-${s} ${q}`)]
    .filter((n) => !n.closest("g.legend")).length, [stage, sel]);
  const text = (stage, sel) => page.evaluate(([s, q]) => [...document.querySelectorAll(`#panel-${s} ${q}`)].map((n) => n.textContent).join("\n"), [stage, sel]);
  const stats = (stage) => page.evaluate((s) => window.lab.stats(s), stage);
  const drawn = (stage) => page.evaluate((s) => window.lab.drawn(s), stage);
  const height = (stage) => page.evaluate((s) => Number(document.querySelector(`#panel-${s} svg`).getAttribute("height")), stage);
  const nodes = (stage) => page.evaluate((s) => document.querySelectorAll(`#panel-${s} svg *`).length, stage);
  const logText = () => page.evaluate(() => document.querySelector("#log").textContent);
  const box = (stage, sel) => page.evaluate(([s, q]) => [...document.querySelectorAll(`#panel-${s} ${q}`)].map((n) => {
    const r = n.getBoundingClientRect();
    return { x: r.x, w: r.width, right: r.right, file: n.parentNode.getAttribute("data-file") };
  }), [stage, sel]);
  async function shot(name, stage) {
    const path = join(shots, `${name}.png`);
    if (stage) await page.locator(`#panel-${stage}`).screenshot({ path });
    else await page.screenshot({ path, fullPage: true });
    saved.add(`${name}.png`);
  }
  const ok = (out) => out.length >= 1 && out.every((r) => r.cls !== "err");

  // What the picture must show, against kv_stats, for a stage.
  async function agree(stage, when) {
    const st = await stats(stage);
    const d = await drawn(stage);
    if (st["log.records"] !== undefined) {
      check(`${stage} ${when}: every record of data.log in the picture`, d.record === st["log.records"],
        `drawn ${d.record}, kv_stats log.records ${st["log.records"]}`);
      check(`${stage} ${when}: a box per record of the tail`, (await count(stage, "g.records g.record")) === Math.min(st["log.records"], 256));
    }
    if (st["segments.count"] !== undefined) {
      check(`${stage} ${when}: one bar per segment`, (await count(stage, "g.segment")) === st["segments.count"],
        `drawn ${await count(stage, "g.segment")}, kv_stats segments.count ${st["segments.count"]}`);
      check(`${stage} ${when}: one used slot per live key`, d.slot === st["live.keys"], `drawn ${d.slot}, kv_stats live.keys ${st["live.keys"]}`);
      check(`${stage} ${when}: the index's every slot drawn, or its overview`, d.slots === st["index.slots"] &&
        (await count(stage, d.slots <= 1024 ? "g.slots.grid g.slot" : "g.slots.overview g.bucket")) === Math.min(d.slots, d.slots <= 1024 ? d.slots : 256));
    }
    if (st["tables.count"] !== undefined) {
      check(`${stage} ${when}: one bar per table`, (await count(stage, "g.rows g.table")) === st["tables.count"],
        `drawn ${await count(stage, "g.rows g.table")}, kv_stats tables.count ${st["tables.count"]}`);
      check(`${stage} ${when}: the active memtable's entries drawn in it`,
        (await count(stage, 'g.memtable[data-state="active"] g.entry')) === Math.min(st["memtable.entries"], 256),
        `drawn ${await count(stage, 'g.memtable[data-state="active"] g.entry')}, kv_stats memtable.entries ${st["memtable.entries"]}`);
    }
    for (let n = 0; n < 7; n++) {
      if (st[`level.${n}`] === undefined) continue;
      const tables = parseInt(String(st[`level.${n}`]), 10);
      check(`${stage} ${when}: level ${n}'s tables drawn in its row`, (await count(stage, `g.rows g.table[data-level="${n}"]`)) === tables,
        `drawn ${await count(stage, `g.rows g.table[data-level="${n}"]`)}, kv_stats level.${n} ${st[`level.${n}`]}`);
    }
    if (st["values.files"] !== undefined) {
      const files = st["values.files"];
      check(`${stage} ${when}: a bar per value-log file`, (await count(stage, "g.vlogs g.vlog")) === Math.min(files, 120) && d.vlogFiles === files,
        `drawn ${await count(stage, "g.vlogs g.vlog")} of ${d.vlogFiles}, kv_stats values.files ${files}`);
      check(`${stage} ${when}: the value log's live and garbage bytes as kv_stats counts them`,
        d.vlogLive === st["values.live_bytes"] && d.vlogGarbage === st["values.garbage_bytes"],
        `drawn live ${d.vlogLive} garbage ${d.vlogGarbage}; kv_stats values.live_bytes ${st["values.live_bytes"]} values.garbage_bytes ${st["values.garbage_bytes"]}`);
      check(`${stage} ${when}: the emptied value-log files waiting drawn as such`, d.vlogEmptied === st["values.emptied_files_waiting"] &&
        (await count(stage, "g.vlogs g.vlog.emptied")) === d.vlogEmptied, `drawn ${d.vlogEmptied}, kv_stats ${st["values.emptied_files_waiting"]}`);
    }
    check(`${stage} ${when}: a legend`, (await page.evaluate((s) => document.querySelectorAll(`#panel-${s} g.legend g.item`).length, stage)) >= 3);
  }

  // ---- the layout: the picture shows below the console at 1024x768 ----
  await page.setViewportSize({ width: 1024, height: 768 });
  const firstTop = await page.evaluate(() => document.querySelector("#panels svg").getBoundingClientRect().top);
  check("at 1024x768 the first picture starts in the top half of the window", firstTop < 768 - 400, `at ${firstTop} px`);
  await page.setViewportSize({ width: 1400, height: 1000 });

  // ---- each stage alone: a session ----
  for (const stage of stages) {
    await pick([stage]);
    for (const line of ["reset", "fill 12 16 k sequential", "put apple red", "put apple green", "del k003",
      "batch put b1 x; put b2 y; del b1"]) {
      const out = await run(line);
      check(`${stage}: ${line}`, out.length === 1 && ok(out), out[0]?.text);
    }
    await agree(stage, "after writes");
    const got = await run("get apple");
    check(`${stage}: get apple says green`, got[0].text === '"green"', got[0].text);
    check(`${stage}: the picture marks where get apple's answer came from`,
      (await count(stage, ".answer, .entry.hit")) >= 1, `${await count(stage, ".answer")} marked`);
    if (stage >= "04") {
      check(`${stage}: the memtable entry that answers get apple is marked`, (await count(stage, "g.entry.hit")) === 1);
      check(`${stage}: memtable entries carry their key and value`, /put "apple" seq [0-9]+ = "green"/.test(await text(stage, "g.entry title")));
      const mem = await page.evaluate((s) => {
        const fill = document.querySelector(`#panel-${s} g.memtable[data-state="active"] rect.fill`).getBoundingClientRect().width;
        const sum = [...document.querySelectorAll(`#panel-${s} g.memtable[data-state="active"] g.entry rect`)].reduce((n, r) => n + r.getBoundingClientRect().width + 1, 0);
        return { fill, sum };
      }, stage);
      check(`${stage}: the memtable's entries fill it as its bytes do`, Math.abs(mem.fill - mem.sum) <= 2 + mem.sum * 0.02, JSON.stringify(mem));
    }
    const missing = await run("get k003");
    check(`${stage}: get k003 (deleted) is not found`, missing[0].text === "not found", missing[0].text);
    check(`${stage}: nothing answers a get of a deleted key`, (await count(stage, ".answer")) === 0);
    const scan = await run("scan b 3");
    check(`${stage}: scan from b`, scan[0].text.split("\n")[0] === 'b2 = "y"', scan[0].text);

    if (stage.startsWith("01")) {
      const c = await run("compact");
      check("01: compact says it has nothing to do, and why", /nothing to compact: stage 01 never reclaims/.test(c[0].text), c[0].text);
      await run("fill 600 16 t sequential");
      await run("get t010");
      check("01: past 256 records the tail is drawn, the whole file in a strip", (await count(stage, "g.records g.record")) === 256 &&
        (await count(stage, "g.strip rect.slice")) > 10 && (await count(stage, "g.strip rect.window")) === 1);
      check("01: an answer before the tail is marked on the strip", (await count(stage, "g.strip path.strip-mark.answer")) === 1);
      await run("get t599");
      check("01: the answer in the tail is marked", (await count(stage, "g.records g.record.answer")) === 1);
      check("01: records carry key and value", /put "t599" = "value-599-/.test(await text(stage, "g.records g.record title")));
      await agree(stage, "past 256 records");
      await shot("01-log", stage);
    }
    if (stage >= "02" && stage < "04") {
      await run("compact");
      const nothing = await run("compact");
      check(`${stage}: compact with no garbage says nothing to merge`, /nothing to merge/.test(nothing[0].text), nothing[0].text);
      await run("put apple green");
      check(`${stage}: overwritten records are drawn as garbage before a merge`, (await count(stage, "g.record.dead")) > 0);
      const st0 = await stats(stage);
      check(`${stage}: every slot of the index drawn, empty ones too`, (await count(stage, "g.slots.grid g.slot")) === st0["index.slots"] &&
        (await count(stage, "g.slots.grid g.slot.used")) === st0["live.keys"]);
      const absent = await run("get zz-absent");
      check(`${stage}: a get that ends at an empty slot marks it`, absent[0].text === "not found" && (await count(stage, "g.slot.empty-stop")) === 1);
      check(`${stage}: records carry their keys`, /apple/.test(await text(stage, "g.record text")));
      if (stage.startsWith("02")) await shot("02-hash", stage);
      const merged = await run("compact");
      const st = await stats(stage);
      check(`${stage}: compact merged`, st["session.merges"] >= 1 && /merged/.test(merged[0].text), `${merged[0].text}; session.merges ${st["session.merges"]}`);
      check(`${stage}: no garbage after the merge`, (await count(stage, "g.record.dead")) === 0);
      await agree(stage, "after compact");
      // The merge synced the directory: a power cut keeps the merged keys.
      const keys = st["live.keys"];
      const cut = await run("powercut");
      check(`${stage}: after compact, a power cut keeps every merged key`, (await stats(stage))["live.keys"] === keys && /nothing was lost/.test(cut[0].text), cut[0].text);
      // The overwrite order: every key written about four times.
      const over = await run("fill 400 16 o overwrite");
      const stO = await stats(stage);
      check(`${stage}: fill overwrite writes 400 puts over 100 keys, leaving garbage`, /400 puts over 100 keys/.test(over[0].text) &&
        (await count(stage, "g.record.dead")) >= 200, `${over[0].text}; ${await count(stage, "g.record.dead")} garbage records, live.keys ${stO["live.keys"]}`);
      // One scale for every segment: widths in proportion to bytes.
      await run("options segment_bytes=4096");
      await run("fill 200 16 s sequential");
      await run("put big " + "v".repeat(3000));
      const bars = await page.evaluate((s) => [...document.querySelectorAll(`#panel-${s} g.segment`)].map((g) => ({
        w: g.querySelector("rect.bar").getBoundingClientRect().width, t: g.querySelector("title").textContent })), stage);
      const sizes = bars.map((b) => ({ w: b.w, bytes: Number(/: ([0-9]+) bytes/.exec(b.t)[1]) })).filter((b) => b.bytes > 200);
      const ratios = sizes.map((b) => b.w / b.bytes);
      check(`${stage}: segments drawn on one scale`, sizes.length >= 2 && Math.max(...ratios) / Math.min(...ratios) < 1.05, JSON.stringify(sizes));
      await run("options segment_bytes=1024");
      await run("put apple green");
    }
    if (stage.startsWith("03")) {
      await run("options segment_bytes=65536");
      await run("fill 2 40000 big");
      check(`${stage}: a 40000-byte value is cut into fragments across blocks`,
        (await count(stage, "rect.frag.first")) >= 1 && (await count(stage, "rect.frag.last")) >= 1);
      check(`${stage}: blocks past the first are drawn`, (await count(stage, "g.block")) >= 1);
      await shot("03-wal", stage);
      await run("options segment_bytes=1024");
      await run("put apple green");
    }
    if (stage >= "04") {
      const before = await stats(stage);
      const fl = await run("flush");
      const flushed = await stats(stage);
      check(`${stage}: flush makes a table`, flushed["tables.count"] > before["tables.count"] && flushed["memtable.entries"] === 0 && /flushed/.test(fl[0].text));
      const again = await run("flush");
      check(`${stage}: flush of an empty memtable says so`, /nothing to flush/.test(again[0].text), again[0].text);
      await agree(stage, "after flush");
      await run("get apple");
      check(`${stage}: get apple's answer marked on a table`, (await count(stage, "g.rows g.table.answer")) === 1);
      await run("fill 400 24 f sequential");
      const filled = await stats(stage);
      check(`${stage}: a full memtable is flushed by the write that fills it`, filled["flush.count"] >= flushed["flush.count"] + 2);
      check(`${stage}: the frozen memtable of those flushes is drawn`, (await count(stage, "g.memtable.frozen.ghost")) === 1);
      check(`${stage}: the tables they made are marked new`, (await count(stage, "g.rows g.table.new")) >= 2);
      await agree(stage, "after writes past the memtable");
      // The key axis: by rank, ticks, touching ranges touching.
      const ticks = await text(stage, "g.keyaxis g.tick text");
      check(`${stage}: the key axis has tick labels`, (await count(stage, "g.keyaxis g.tick")) >= 3 && /f|k/.test(ticks), ticks);
      const fs = (await box(stage, "g.rows g.table rect.bar"))
        .filter((b) => b.file).sort((a, b) => a.x - b.x);
      const seqTables = (await page.evaluate((s) => window.lab.inspect(s), stage)).filter((l) => l.kind === "table" && l.smallest.startsWith("f"));
      check(`${stage}: a sequential fill's tables are side by side on the axis`, seqTables.length >= 2);
      if (stage < "06") {
        // Adjacent ranges (no key between them) touch.
        const sorted = seqTables.slice().sort((a, b) => (a.smallest < b.smallest ? -1 : 1));
        const xs = new Map(fs.map((b) => [b.file, b]));
        let touching = 0, pairs = 0;
        for (let i = 0; i + 1 < sorted.length; i++) {
          const a = xs.get(sorted[i].file), b = xs.get(sorted[i + 1].file);
          if (!a || !b) continue;
          pairs++;
          if (Math.abs(a.right - b.x) < 1.5) touching++;
        }
        check(`${stage}: ranges that touch are drawn touching`, pairs >= 1 && touching === pairs, `${touching} of ${pairs}`);
      }
      const looked = await run("get f123");
      check(`${stage}: get f123 through the tables`, /^"/.test(looked[0].text), looked[0].text);
      check(`${stage}: a get marks its answer once`, (await count(stage, "g.rows .answer")) === 1);
      if (stage >= "05") {
        check(`${stage}: each table's data blocks drawn`, (await count(stage, "g.rows g.table rect.dblock")) >= (await count(stage, "g.rows g.table")));
        check(`${stage}: each table's bloom filter drawn`, (await count(stage, "g.rows g.table rect.filter")) === (await count(stage, "g.rows g.table")));
        check(`${stage}: the block the get read is marked`, (await count(stage, "g.rows rect.dblock.read")) === 1);
        // Costs: a reopen empties the block cache; the first get reads, the
        // next one finds the block in the cache; the path is measured by
        // the lookup itself, before the get.
        await run("reopen");
        const cold = await run("get f200");
        const coldNote = await text(stage, "text.getnote");
        await run("get f200");
        const warmNote = await text(stage, "text.getnote");
        check(`${stage}: a get's block read costs a read on a cold cache`, /^"/.test(cold[0].text) && /block [0-9]+: 1 read/.test(coldNote), coldNote);
        // (Stage 09: the record cache answers the get again, before the block cache.)
        const warm = stage >= "09" ? /from the record cache: no filter, index or block/ : /from the block cache, no read/;
        check(`${stage}: and none once the ${stage >= "09" ? "record" : "block"} is cached`, warm.test(warmNote), warmNote);
        await run("get 0000");
        check(`${stage}: a key out of every range is a range skip`, (await count(stage, "g.rows .skipped")) >= 1 &&
          /out of range|no table holds the key/.test(await text(stage, "text.getnote")), await text(stage, "text.getnote"));
        await run("get f2000x");
        // (Stage 09 leaves unasked the filter of the last table a key can
        // be in (filters_for_hits): where only that table's range holds
        // the key, the table is searched, and the note says it is absent.)
        const missNote = await text(stage, "text.getnote");
        const skipped = (await count(stage, "g.rows g.table.bloom-skipped")) + (await count(stage, "g.rows g.table.skipped")) >= 1 &&
          /skipped \(the filter says no\)|skipped \(out of range\)/.test(missNote);
        const lastSearched = stage >= "09" && /→ [0-9]+: absent, block [0-9]+: [^→]*⇒ not found$/.test(missNote);
        check(`${stage}: a key the filters rule out is a bloom skip, told apart${stage >= "09" ? " (or, only the last table in range, searched without its filter)" : ""}`,
          skipped || lastSearched, missNote);
      }
      if (stage < "06") await shot(stage, stage);
      const c = await run("compact");
      const compacted = await stats(stage);
      if (compacted["compact.count"] > filled["compact.count"]) {
        check(`${stage}: compact compacted, and says so`, /compacted/.test(c[0].text), c[0].text);
        check(`${stage}: the tables it replaced are drawn`, (await count(stage, "g.ghosts g.table.replaced")) >= 1);
      } else {
        check(`${stage}: compact with nothing to do says so`, /nothing to compact/.test(c[0].text), c[0].text);
      }
      await agree(stage, "after compact");
    }
    await run("reopen");
    await agree(stage, "after reopen");
    const again = await run("get apple");
    check(`${stage}: get apple after reopen`, again[0].text === '"green"', again[0].text);
    // A power cut: only what was synced is left, and kv_open recovers.
    await run("options sync=1");
    await run("put p1 kept");
    const cut = await run("powercut");
    check(`${stage}: kv_open recovers after a power cut`, /recovered/.test(cut[0].text), cut[0].text);
    await agree(stage, "after a power cut");
    const p1 = await run("get p1");
    const durable = stage >= "03";
    if (durable) check(`${stage}: with sync=1 a write survives a power cut`, p1[0].text === '"kept"', p1[0].text);
    await run("options sync=0");
    await run("put q1 unsynced");
    const cut2 = await run("powercut");
    const q1 = await run("get q1");
    if (durable) check(`${stage}: with sync=0 an unsynced write is lost in a power cut, and it says so`, q1[0].text === "not found" && /lost 1 of/.test(cut2[0].text), cut2[0].text);
    if (stage.startsWith("01")) check("01: a power cut says what stage 01 lost", /lost [0-9]+ of [0-9]+ keys/.test(cut2[0].text) || /never syncs/.test(cut2[0].text), cut2[0].text);
  }

  // ---- stage 06 and 07: a compaction within the first fill ----
  for (const stage of stages.filter((s) => s >= "06")) {
    await pick([stage]);
    await run("reset");
    const filled = await run("fill");
    const st = await stats(stage);
    check(`${stage}: the first fill of the default options compacts`, ok(filled) && st["compact.count"] >= 1, `compact.count ${st["compact.count"]}`);
    check(`${stage}: the tables it replaced are drawn, the ones it made marked`,
      (await count(stage, "g.ghosts g.table.replaced")) >= 2 && (await count(stage, "g.rows g.table.new")) >= 1);
    check(`${stage}: the next compaction's tables outlined`, (await count(stage, "g.rows g.table.next")) >= 1);
    const labels = await page.evaluate((s) => {
      const p = document.querySelector(`#panel-${s}`);
      const right = Math.max(...[...p.querySelectorAll("g.rows text.seglabel")].map((t) => t.getBoundingClientRect().right));
      const left = Math.min(...[...p.querySelectorAll("g.rows g.table rect.bar")].map((r) => r.getBoundingClientRect().left));
      return { right, left };
    }, stage);
    check(`${stage}: level labels end before the first table`, labels.right <= labels.left + 0.5, JSON.stringify(labels));
    await agree(stage, "after the first fill");
    if (stage.startsWith("06")) await shot("06-leveled", stage);
  }

  // ---- stage 08: the value log beside the levels ----
  // 300-byte values, over the page's value_threshold (128): each flush of
  // a 4 KiB memtable renames its log a value-log file.  Overwrites make
  // garbage as compactions drop the older entries; compact (the only place
  // the page runs the value log's jobs: no threads) empties the files at
  // value_gc_percent, but not while a snapshot may read them.
  for (const stage of stages.filter((s) => s >= "08")) {
    await pick([stage]);
    await run("reset");
    const filled = await run("fill 200 300 v");
    const st1 = await stats(stage);
    check(`${stage}: large values go to value-log files`, ok(filled) && st1["values.files"] >= 2 && st1["values.live_bytes"] >= 200 * 300 * 0.5,
      `values.files ${st1["values.files"]}, values.live_bytes ${st1["values.live_bytes"]}`);
    check(`${stage}: each file's live values drawn`, (await count(stage, "g.vlogs g.vlog rect.live")) >= 2);
    await agree(stage, "after large values");
    const got = await run("get v010");
    check(`${stage}: a get of a large value reads it from the value log`, /300 bytes/.test(got[0].text) && /\.vlog: [0-9]+ bytes read at offset [0-9]+/.test(await text(stage, "text.getnote")),
      `${got[0].text}; ${await text(stage, "text.getnote")}`);
    check(`${stage}: the bytes it read are marked in their file`, (await count(stage, "g.vlogs g.vlog.answer")) === 1 && (await count(stage, "g.vlogs g.vlog rect.read")) === 1);
    await run("fill 200 300 v overwrite");
    const st2 = await stats(stage);
    const d2 = await drawn(stage);
    check(`${stage}: overwrites make garbage as compactions drop the older entries`, st2["values.garbage_bytes"] > st1["values.garbage_bytes"] &&
      (await count(stage, "g.vlogs g.vlog rect.garbage")) >= 1, `garbage ${st1["values.garbage_bytes"]} -> ${st2["values.garbage_bytes"]}`);
    check(`${stage}: the files compact would empty are outlined`, d2.vlogCollect >= 1 && (await count(stage, "g.vlogs g.vlog.collect")) === d2.vlogCollect,
      `${d2.vlogCollect} to collect, ${await count(stage, "g.vlogs g.vlog.collect")} outlined`);
    await agree(stage, "after overwrites");
    await run("get v010");
    if (stage.startsWith("08")) await shot("08-vlog", stage);
    // A snapshot keeps the emptied files.
    const snap = await run("snapshot");
    await run("fill 200 300 v overwrite");
    const current = await run("get v010");
    const held = await run("compact");
    const st3 = await stats(stage);
    check(`${stage}: compact with a snapshot empties files that then wait for it`, st3["values.emptied_files_waiting"] >= 1 &&
      /wait/.test(held[0].text) && (await count(stage, "g.vlogs g.vlog.emptied")) === st3["values.emptied_files_waiting"],
      `${held[0].text}; values.emptied_files_waiting ${st3["values.emptied_files_waiting"]}`);
    check(`${stage}: they are said to wait`, /wait for the snapshots/.test(await text(stage, "text.vlognote")));
    await agree(stage, "with a snapshot");
    await run(`release ${/snapshot ([0-9]+)/.exec(snap[0].text)?.[1]}`);
    const done = await run("compact");
    const st4 = await stats(stage);
    const removed = st4["session.values.gc_files_removed"] - st3["session.values.gc_files_removed"];
    check(`${stage}: once released, compact removes the files`, removed >= st3["values.emptied_files_waiting"] &&
      st4["values.files"] < st3["values.files"] && st4["values.emptied_files_waiting"] === 0 && /removed [1-9]/.test(done[0].text),
      `${done[0].text}; values.files ${st3["values.files"]} -> ${st4["values.files"]}`);
    check(`${stage}: the files it removed are drawn, faded`, (await count(stage, "g.vlog-ghosts g.vlog.removed")) === Math.min(removed, 120) &&
      (await drawn(stage)).vlogRemoved === removed, `${await count(stage, "g.vlog-ghosts g.vlog.removed")} drawn, ${removed} removed`);
    check(`${stage}: no file is left at value_gc_percent`, (await drawn(stage)).vlogCollect === 0);
    await agree(stage, "after the collection");
    if (stage.startsWith("08")) await shot("08-vlog-compact", stage);
    const back = await run("get v010");
    check(`${stage}: after the collection a get answers as before it`, back[0].text === current[0].text && /300 bytes/.test(back[0].text), `${current[0].text} / ${back[0].text}`);
    await run("reopen");
    const st5 = await stats(stage);
    check(`${stage}: the value log's counts survive a reopen`, st5["values.live_bytes"] === st4["values.live_bytes"] && st5["values.files"] === st4["values.files"],
      `live ${st4["values.live_bytes"]} -> ${st5["values.live_bytes"]}, files ${st4["values.files"]} -> ${st5["values.files"]}`);
    await agree(stage, "after reopen");
    // value_gc_percent out of 1..99: stage 08 refuses it, and says so.
    const badGc = await run("options value_gc_percent=100");
    check(`${stage}: value_gc_percent=100 is refused, its field marked`, badGc[0].cls === "err" &&
      (await page.evaluate(() => document.querySelector("#opt-value_gc_percent").classList.contains("invalid"))), badGc[0].text);
    await run("options value_gc_percent=50");
  }

  // ---- stage 09: the record cache in front of the tables ----
  // A get of a key in a table, asked twice: the first reads the table and
  // keeps the record, the second is answered by the record cache alone.
  // (A get in the page is kv_inspect_get, which asks the tables as kv_get
  // does, then kv_get: so the counts checked are the misses, which only
  // the first lookup of the first get makes.)
  for (const stage of stages.filter((s) => s >= "09")) {
    await pick([stage]);
    await run("reset");
    await run("fill 200");
    await run("flush");
    const st0 = await stats(stage);
    const first = await run("get k010");
    const st1 = await stats(stage);
    const second = await run("get k010");
    const st2 = await stats(stage);
    const misses = (st) => st["session.record_cache.misses"], hits = (st) => st["session.record_cache.hits"];
    check(`${stage}: a get of a key in a table asks the table once and keeps its record`, ok(first) &&
      st1["session.record_cache.entries"] >= 1 && misses(st1) === misses(st0) + 1,
      `entries ${st1["session.record_cache.entries"]}, misses ${misses(st0)} -> ${misses(st1)}`);
    check(`${stage}: the same get again is answered by the record cache, the table not asked`, second[0].text === first[0].text &&
      misses(st2) === misses(st1) && hits(st2) > hits(st1),
      `${first[0].text} / ${second[0].text}; misses ${misses(st1)} -> ${misses(st2)}, hits ${hits(st1)} -> ${hits(st2)}`);
    check(`${stage}: the get's note says the record cache answered`, /from the record cache: no filter, index or block/.test(await text(stage, "text.getnote")),
      await text(stage, "text.getnote"));
    const d2 = await drawn(stage);
    check(`${stage}: the cache is drawn as kv_stats counts it (records, blocks, pinned indexes and filters)`,
      d2.cache === 1 && (await count(stage, "g.cache.records rect.used")) === 1 && (await count(stage, "g.cache.blocks")) === 1 &&
      d2.cacheRecords === st2["session.record_cache.entries"] && d2.cacheRecordBytes === st2["session.record_cache.usage"] &&
      d2.cacheBlocks === st2["block_cache.entries"] && d2.cacheBlockBytes === st2["block_cache.usage"] &&
      d2.cachePinned === st2["table.meta_bytes"],
      `drawn ${JSON.stringify(d2)}; kv_stats records ${st2["session.record_cache.entries"]} (${st2["session.record_cache.usage"]} bytes), ` +
      `blocks ${st2["block_cache.entries"]} (${st2["block_cache.usage"]} bytes), pinned ${st2["table.meta_bytes"]}`);
    await shot("09-cache", stage);
    const bad = await run("options record_cache_percent=91");
    check(`${stage}: record_cache_percent=91 is refused, its field marked`, bad[0].cls === "err" &&
      (await page.evaluate(() => document.querySelector("#opt-record_cache_percent").classList.contains("invalid"))), bad[0].text);
    await run("options record_cache_percent=25");
    // cache_bytes is the one budget: a quarter of it for records, the rest
    // for blocks; 0 is the default (8 MiB).
    await run("options cache_bytes=32768");
    const st3 = await stats(stage);
    check(`${stage}: cache_bytes=32768 splits into records and blocks`,
      st3["session.record_cache.capacity"] === 8192 && st3["block_cache.capacity"] === 24576,
      `records ${st3["session.record_cache.capacity"]}, blocks ${st3["block_cache.capacity"]}`);
    await run("options cache_bytes=0");
    const st4 = await stats(stage);
    check(`${stage}: cache_bytes=0 is the default budget, 8 MiB`,
      st4["session.record_cache.capacity"] + st4["block_cache.capacity"] === 8388608,
      `records ${st4["session.record_cache.capacity"]}, blocks ${st4["block_cache.capacity"]}`);
  }

  // ---- transactions: every stage, and write skew on 07 ----
  for (const stage of stages) {
    await pick([stage]);
    await run("reset");
    await run("put x 1");
    await run("put y 1");
    for (const line of ["begin a serializable", "begin b serializable", "tget a x", "tget a y", "tget b x", "tget b y",
      "tput a x 0", "tput b y 0"]) {
      const out = await run(line);
      check(`${stage}: ${line}`, ok(out), out[0]?.text);
    }
    check(`${stage}: two sessions side by side with their read sets`, (await count(stage, "div.session")) === 2 &&
      /read: x = "1", y = "1"/.test(await text(stage, 'div.session[data-session="b"]')));
    if (stage >= "04") check(`${stage}: a session shows its snapshot's sequence number`, /sequence numbers up to 2/.test(await text(stage, 'div.session[data-session="a"]')));
    const ca = await run("commit a");
    const cb = await run("commit b");
    check(`${stage}: write skew under serializable: a commits, b conflicts`, ca[0].text === "a: committed" && /conflict/.test(cb[0].text), `${ca[0].text} / ${cb[0].text}`);
    check(`${stage}: the conflict is drawn as the newer version that caused it`,
      (await count(stage, 'div.session[data-state="conflict"]')) === 1 && (await count(stage, ".conflict")) >= 1 &&
      (await count(stage, "text.conflictnote")) === 1, await text(stage, "text.conflictnote"));
    if (stage.startsWith("07")) {
      check("07: the conflicting version is the entry after b's snapshot", (await count(stage, "g.entry.conflict")) === 1);
      await shot("07-txn", stage);
      // Under snapshot isolation write skew commits both.
      await run("begin a snapshot");
      await run("begin b snapshot");
      for (const line of ["tget a x", "tget a y", "tget b x", "tget b y", "tput a x 5", "tput b y 5"]) await run(line);
      const sa = await run("commit a"), sb = await run("commit b");
      check("07: under snapshot isolation both sides of write skew commit", sa[0].text === "a: committed" && sb[0].text === "b: committed");
    }
    const xWas = (await run("get x"))[0].text;
    const more = [await run("begin c"), await run("tdel c x"), await run("tget c x"), await run("abort c"), await run("get x")];
    check(`${stage}: tdel hides the key from its own session, abort writes nothing`,
      more.every(ok) && more[2][0].text === "not found" && more[4][0].text === xWas && xWas !== "not found", more.map((o) => o[0].text).join(" / "));
    await run("begin a");
    const re = await run("reopen");
    check(`${stage}: reopen with a live transaction aborts it first`, /1 live transaction aborted first/.test(re[0].text), re[0].text);
  }

  // ---- what must not break the page ----
  await pick(stages);
  await run("reset");
  const big = "x".repeat(2 * 1024 * 1024);
  const put2 = await run(`put big2 ${big}`);
  check("a 2 MB value is taken by every stage", put2.length === stages.length && ok(put2), put2.map((r) => r.text).join(" | "));
  const get2 = await run("get big2");
  check("and read back whole", get2.every((r) => /\(2,097,152 bytes\)/.test(r.text)), get2[0].text);
  const after2 = await run("put small 1");
  check("every stage works after it", ok(after2));
  const huge = await run(`put huge ${"h".repeat(5 * 1024 * 1024)}`);
  check("a value past the page's bound is refused with a message", huge.length === 1 && /refused: a value of 5,242,880 bytes/.test(huge[0].text), huge[0].text);

  // An engine that traps is restarted on its files.
  await page.evaluate((s) => window.lab.trap(s), stages[stages.length - 1]);
  const trapped = await run("put t1 v");
  const last = trapped.find((r) => r.stage === stages[stages.length - 1]);
  check("an engine that traps is restarted, and the console says so", last && /crashed.*restarted it on the files it left/.test(last.text), last?.text);
  const afterTrap = await run("get small");
  check("every stage answers after the restart", afterTrap.every((r) => r.text === '"1"'), afterTrap.map((r) => r.text).join(" | "));

  // A sync that fails: the engine refuses writes until reopened; the page
  // reopens it and says so.
  const syncing = stages.filter((s) => s >= "03");
  if (syncing.length) {
    await run("options sync=1");
    await run("put before-fail 1");
    for (const s of syncing) await page.evaluate((x) => window.lab.failSync(x), s);
    const failedPut = await run("put during-fail 1");
    const told = failedPut.filter((r) => syncing.includes(r.stage));
    check("a failed sync is an I/O error, said", told.every((r) => r.cls === "err" && /I\/O error/.test(r.text)), told.map((r) => `${r.stage}: ${r.text}`).join(" | "));
    const next = await run("put after-fail 1");
    const back = await run("get before-fail");
    check("after it every stage takes writes again", ok(next) && back.every((r) => r.text === '"1"'),
      [...next, ...back].filter((r) => r.cls === "err" || r.text !== '"1"' && r.text !== "ok").map((r) => `${r.stage}: ${r.text}`).join(" | "));
    await run("options sync=0");
  }

  // A 1 MB value with every stage shown, then reopen.
  await run("reset");
  const mb = await run(`put one ${"m".repeat(1024 * 1024)}`);
  const re = await run("reopen");
  const after1 = await run("put after 1");
  const got1 = await run("get one");
  check("1 MB on every stage, then reopen: every stage reopens and goes on", ok(mb) && ok(re) && ok(after1) && got1.every((r) => /1,048,576 bytes/.test(r.text)),
    [...re, ...after1].filter((r) => r.cls === "err").map((r) => `${r.stage}: ${r.text}`).join(" | "));

  // The browser's storage full: said as such, the stage goes on.
  await run("options sync=1");
  const room = await page.evaluate(() => {
    let n = 0;
    const chunk = "z".repeat(100000);
    try { for (;;) localStorage.setItem(`filler${n++}`, chunk); } catch (e) { /* full */ }
    return n;
  });
  const full = await run(`put full ${"f".repeat(400000)}`);
  const log1 = await logText();
  check("a full browser storage is said as such", room > 0 && /browser storage full/.test(log1));
  const goes = await run("put goes on");
  const cutFull = await run("powercut");
  const kept = await run("get goes");
  check("the stages go on, and a power cut still keeps what was synced", ok(full) && ok(goes) && kept.slice(2).every((r) => r.text === '"on"'),
    kept.map((r) => `${r.stage}: ${r.text}`).join(" | "));
  check("the power cut itself worked", ok(cutFull));
  await page.evaluate(() => { for (const k of Object.keys(localStorage)) if (k.startsWith("filler")) localStorage.removeItem(k); });
  await run("options sync=0");

  // Bad options: the field marked, the databases left open.
  await run("reset");
  await run("put keep me");
  const bloom = await run("options bloom_bits_per_key=-1");
  check("bloom_bits_per_key=-1 (no filters) is taken", ok(bloom), bloom.map((r) => r.text).join(" | "));
  if (stages.includes("05-blocks")) {
    await pick(["05-blocks"]);
    await run("fill 200 16 n sequential");
    check("05: with bloom_bits_per_key=-1 the tables have no filter", (await count("05-blocks", "g.rows g.table")) >= 1 && (await count("05-blocks", "rect.filter")) === 0);
    await pick(stages);
  }
  await run("put keep me");
  const bad = await run("options block_bytes=1");
  const optsAfter = await page.evaluate(() => window.lab.options());
  check("block_bytes=1 is refused, nothing reset", bad.length === 1 && bad[0].cls === "err" && /block_bytes=256/.test(optsAfter), optsAfter);
  check("the field is marked", (await page.evaluate(() => document.querySelector("#opt-block_bytes").classList.contains("invalid"))));
  const still = await run("get keep");
  check("every database stayed open", still.length === stages.length && still.every((r) => r.text === '"me"'), still.map((r) => r.text).join(" | "));
  const junk = await run("options nonsense=3");
  check("an unknown option is refused", junk[0].cls === "err");
  await run("options block_bytes=256 bloom_bits_per_key=10");
  check("a good value clears the mark", !(await page.evaluate(() => document.querySelector("#opt-block_bytes").classList.contains("invalid"))));

  // All stages side by side: the same commands on each.
  await run("reset");
  await run("fill 40 16 k sequential");
  await run("del k004");
  await run("put ключ значение");
  await run("get ключ");
  check("side by side: a panel per stage", (await page.$$("#panels div.panel")).length === stages.length);
  for (const stage of stages) await agree(stage, "side by side");
  await shot("all");

  // Unicode keys and a NUL in a key.
  await run("reset");
  await run("put 日本語 値");
  await run("put ключ значение");
  const uni = await run("get 日本語");
  check("a unicode key and value round-trip", uni.every((r) => r.text === '"値"'), uni[0].text);
  for (const stage of stages) {
    const t = await text(stage, "svg");
    check(`${stage}: the unicode key drawn as UTF-8`, t.includes("日本語") && !t.includes("æ—"), t.slice(0, 80));
  }
  for (const stage of stages.filter((s) => s >= "04")) check(`${stage}: the memtable entry of a unicode key is marked`, (await count(stage, "g.entry.hit")) === 1);
  await run('put "nul\\x00key" zero');
  const nul = await run('get "nul\\x00key"');
  const nul2 = await run("get nul");
  check("a NUL in a key is kept, not cut", nul.every((r) => r.text === '"zero"') && nul2.every((r) => r.text === "not found"));
  check("and drawn as \\x00", (await text(stages[0], "svg")).includes("nul\\x00key"));
  await run("get ключ");

  // Command history.
  await page.fill("#line", "get ключ");
  await page.press("#line", "Enter");
  await page.waitForFunction(() => !window.lab.busy());
  await page.press("#line", "ArrowUp");
  check("ArrowUp brings back the last command", (await page.inputValue("#line")) === "get ключ");
  await page.fill("#line", "");

  // fill 10000 on every stage: chunks that yield, progress, bounded pictures.
  await run("reset");
  const watch = await page.evaluate(async () => {
    const seen = new Set();
    let worst = 0, ticks = 0, lastTick = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - lastTick);
      lastTick = now;
      ticks++;
      const p = document.querySelector("#progress").textContent;
      if (p) seen.add(p.replace(/[0-9,]+ of/, "N of"));
    }, 10);
    const t0 = performance.now();
    window.lab.submit("fill 10000");
    while (window.lab.busy()) await new Promise((r) => setTimeout(r, 20));
    clearInterval(timer);
    return { worst, ticks, progress: [...seen], ms: performance.now() - t0 };
  });
  check("fill 10000 on every stage shows its progress", watch.progress.length >= Math.min(3, stages.length), JSON.stringify(watch.progress));
  // The page gets its turns all along (a timer every 10 ms ran, on
  // average, at least every 250 ms): the fill yields.  How long the
  // longest pause was is a figure, printed, not a bound: machines are
  // noisy (docs/lab.md quotes it).
  check("and the page keeps its turns while it runs", watch.ticks >= watch.ms / 250, `${watch.ticks} turns in ${Math.round(watch.ms)} ms`);
  console.log(`# fill 10000 on ${stages.length} stages: ${Math.round(watch.ms)} ms, the longest pause ${Math.round(watch.worst)} ms, ${watch.ticks} turns of a 10 ms timer`);
  for (const stage of stages) await agree(stage, "at 10,000 keys");
  // "A command answers within 1 s": each command three times, the best
  // of the three per stage against the bound, so that a moment of load on
  // a shared machine does not decide it; every time is printed.
  for (const line of ["get k5000", "put k5000 new", "get k9999x", "del k0001"]) {
    const best = new Map();
    const all = [];
    for (let i = 0; i < 3; i++) {
      const out = await run(line);
      for (const r of out) best.set(r.stage, Math.min(best.get(r.stage) ?? Infinity, r.ms));
      all.push(out);
    }
    const slow = [...best].filter(([, ms]) => ms > 1000);
    console.log(`# ${line}: ${[...best].map(([s, ms]) => `${s} ${Math.round(ms)} ms`).join(", ")} (best of 3)`);
    check(`at 10,000 keys "${line}" answers within 1 s on every stage`, best.size === stages.length && slow.length === 0 && all.every(ok),
      slow.map(([s, ms]) => `${s} ${Math.round(ms)} ms`).join(", "));
  }
  for (const stage of stages) {
    const h = await height(stage), n = await nodes(stage);
    console.log(`# ${stage} at 10,000 keys: ${h} px tall, ${n} SVG nodes`);
    check(`${stage}: the picture at 10,000 keys stays under 3,000 px`, h < 3000, `${h} px`);
    check(`${stage}: and under 8,000 SVG nodes`, n < 8000, `${n}`);
  }
  await run("get k5000");
  if (stages.includes("02-hash")) {
    check("02 at 10,000 keys: the index as an overview, the get's probes slot by slot",
      (await count("02-hash", "g.slots.overview g.bucket")) === 256 && (await count("02-hash", "g.slots.window g.slot.answer")) === 1);
    await shot("02-hash-10000", "02-hash");
  }
  await shot("all-10000");
  const pageH = await page.evaluate(() => document.body.scrollHeight);
  console.log(`# the page with ${stages.length} stages at 10,000 keys: ${pageH} px`);

  // Reloading the page is a power cut too: the browser kept what was synced.
  await run("reset");
  await run("options sync=1");
  await run("put reload-key survives");
  await page.reload();
  await page.evaluate(() => window.lab.ready);
  for (const stage of stages) {
    await pick([stage]);
    const got = await run("get reload-key");
    if (stage >= "03") check(`${stage}: a synced write survives a reload of the page`, got[0].text === '"survives"', got[0].text);
    await agree(stage, "after a reload");
  }
  await run("options sync=0");

  // Stage 10's group (built with WASM_RAFT=1: group.js), driven by its
  // buttons as a learner would: a put, the leader killed, a new leader
  // elected as the clock is stepped, the value still read through it.
  if (await page.evaluate(() => window.lab.group() !== null)) {
    const leaderNow = () => page.evaluate(() => Number(document.querySelector("#group").dataset.leader));
    const said = () => page.evaluate(() => document.querySelector("#group .group-said").textContent);
    const cardOf = (id) => page.evaluate((i) => {
      const c = document.querySelector(`#group-member-${i}`);
      return { state: c.dataset.state, head: c.querySelector(".head").textContent,
        keys: [...c.querySelectorAll("table.keys tr")].map((tr) => [...tr.children].map((td) => td.textContent).join("=")) };
    }, id);
    const first = await leaderNow();
    check("10-raft: the group's panel shows a leader", first >= 1 && first <= 3, `data-leader ${first}`);
    await page.fill("#group-key", "city");
    await page.fill("#group-value", "Lisbon");
    await page.click("#group-put");
    check("10-raft: a put through the leader is committed", /^put city Lisbon: committed at index/.test(await said()), await said());
    await page.click("#group-step-1000");
    const cards = await Promise.all([1, 2, 3].map(cardOf));
    check("10-raft: after a step every member's engine holds it, in the picture",
      cards.every((c) => c.keys.includes("city=Lisbon")), JSON.stringify(cards));
    await page.click(`#group-member-${first} button.kill`);
    check("10-raft: the leader's card shows it killed", (await cardOf(first)).state === "killed", JSON.stringify(await cardOf(first)));
    for (let i = 0; i < 3 && [0, first].includes(await leaderNow()); i++) await page.click("#group-step-1000");
    const second = await leaderNow();
    check("10-raft: stepping the clock, the two others elect a new leader", second >= 1 && second !== first,
      `leader ${second}, was ${first}: ${JSON.stringify(await Promise.all([1, 2, 3].map(cardOf)))}`);
    check("10-raft: its card says so, at a higher term", /leader · term (\d+)/.test((await cardOf(second)).head) &&
      Number((await cardOf(second)).head.match(/term (\d+)/)[1]) > Number(cards[first - 1].head.match(/term (\d+)/)[1]),
      `${cards[first - 1].head} -> ${(await cardOf(second)).head}`);
    await page.click("#group-get");
    check("10-raft: the value is still read, through the new leader", /read from leader \d after a barrier → Lisbon$/.test(await said()), await said());
    await page.locator("#group").screenshot({ path: join(shots, "10-raft.png") });
    saved.add("10-raft.png");
    await page.click(`#group-member-${first} button.kill`);
    await page.click("#group-step-1000");
    check("10-raft: the killed member, restarted, follows and holds the value",
      (await cardOf(first)).state === "follower" && (await cardOf(first)).keys.includes("city=Lisbon"), JSON.stringify(await cardOf(first)));
  } else {
    console.log("# 10-raft: the page was built without stage 10's group (WASM_RAFT=0): its checks were not run");
  }

  // The screenshots docs/lab.md shows are ones this test saved.
  const doc = join(here, "..", "..", "docs", "lab.md");
  if (existsSync(doc)) {
    const shown = [...readFileSync(doc, "utf8").matchAll(/\]\(lab\/([^)]+\.png)\)/g)].map((m) => m[1]);
    const missing = shown.filter((n) => !saved.has(n));
    check("every screenshot docs/lab.md shows is one this test saves", shown.length >= 5 && missing.length === 0,
      `shown ${shown.length}, not saved: ${missing.join(", ")}`);
  }
  check("no errors in the page", errors.length === 0, errors.join("; "));
  check("nothing fetched from the network", requests.length === 0, requests.join(" "));
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
