// lab_test.mjs: the lab page in a real browser (make test-wasm runs it):
//   node web/test/lab_test.mjs LABDIR [SHOTDIR]
// Debian's Chromium, headless, driven by playwright-core, opens
// LABDIR/index.html from disk (no server), runs a scripted session on each
// stage alone and then on all of them side by side, and checks that the
// picture agrees with the engine: what is drawn (the SVG's elements) is
// counted and compared with kv_stats, read from the same engine.  It
// saves a screenshot of each stage (stages 04 on: also one with their
// tables, STAGE-tables.png) and of the side-by-side view in
// SHOTDIR (default LABDIR/../shots), and ends with "N passed, N failed".
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const labdir = resolve(process.argv[2] || "build/wasm/lab");
const shots = resolve(process.argv[3] || join(labdir, "..", "shots"));
mkdirSync(shots, { recursive: true });

let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ""}`);
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
  const stages = await page.evaluate(() => window.lab.shown());
  check("page loads its engines", stages.length > 0, `stages: ${stages}`);

  const run = (line) => page.evaluate((l) => window.lab.run(l), line);
  const count = (stage, sel) => page.evaluate(([s, q]) => document.querySelectorAll(`#panel-${s} svg ${q}`).length, [stage, sel]);
  const stats = (stage) => page.evaluate((s) => window.lab.stats(s), stage);

  // What the picture must show, against kv_stats, for a stage.
  async function agree(stage, when) {
    const st = await stats(stage);
    if (st["log.records"] !== undefined) {
      check(`${stage} ${when}: one box per record of data.log`,
        (await count(stage, "g.record")) === Math.min(st["log.records"], 256),
        `drawn ${await count(stage, "g.record")}, kv_stats log.records ${st["log.records"]}`);
    }
    if (st["segments.count"] !== undefined) {
      check(`${stage} ${when}: one bar per segment`, (await count(stage, "g.segment")) === st["segments.count"],
        `drawn ${await count(stage, "g.segment")}, kv_stats segments.count ${st["segments.count"]}`);
      check(`${stage} ${when}: one slot per live key`, (await count(stage, "g.slot")) === Math.min(st["live.keys"], 256),
        `drawn ${await count(stage, "g.slot")}, kv_stats live.keys ${st["live.keys"]}`);
      check(`${stage} ${when}: one link per slot`, (await count(stage, "path.link")) === (await count(stage, "g.slot")));
    }
    if (st["tables.count"] !== undefined) {
      check(`${stage} ${when}: one bar per table`, (await count(stage, "g.table")) === st["tables.count"],
        `drawn ${await count(stage, "g.table")}, kv_stats tables.count ${st["tables.count"]}`);
      check(`${stage} ${when}: the active memtable's entries drawn in it`,
        (await count(stage, 'g.memtable[data-state="active"] rect.entry')) === Math.min(st["memtable.entries"], 256),
        `drawn ${await count(stage, 'g.memtable[data-state="active"] rect.entry')}, kv_stats memtable.entries ${st["memtable.entries"]}`);
      check(`${stage} ${when}: a frozen memtable drawn while there is one`,
        (await count(stage, 'g.memtable[data-state="frozen"]')) === (st["memtable.frozen_bytes"] > 0 ? 1 : 0));
    }
    for (let n = 0; n < 7; n++) {
      if (st[`level.${n}`] === undefined) continue;
      const tables = parseInt(String(st[`level.${n}`]), 10);
      check(`${stage} ${when}: level ${n}'s tables drawn in its row`,
        (await count(stage, `g.table[data-level="${n}"]`)) === tables,
        `drawn ${await count(stage, `g.table[data-level="${n}"]`)}, kv_stats level.${n} ${st[`level.${n}`]}`);
    }
  }

  for (const stage of stages) {
    await page.evaluate((s) => window.lab.pick([s]), stage);
    for (const line of ["reset", "fill 12 16", "put apple red", "put apple green", "del k003",
      "batch put b1 x; put b2 y; del b1"]) {
      const out = await run(line);
      check(`${stage}: ${line}`, out.length === 1 && !/error|invalid|corrupt/.test(out[0].text), out[0]?.text);
    }
    await agree(stage, "after writes");
    const got = await run("get apple");
    check(`${stage}: get apple says green`, got[0].text === '"green"', got[0].text);
    check(`${stage}: the picture marks where get apple's answer came from`,
      (await count(stage, ".answer")) >= 1, `${await count(stage, ".answer")} marked`);
    if (stage >= "04") {
      check(`${stage}: the memtable entry that answers get apple is marked`, (await count(stage, "rect.entry.hit")) === 1,
        `${await count(stage, "rect.entry.hit")} entries marked`);
    }
    const missing = await run("get k003");
    check(`${stage}: get k003 (deleted) is not found`, missing[0].text === "not found", missing[0].text);
    check(`${stage}: nothing answers a get of a deleted key`, (await count(stage, ".answer")) === 0);
    const scan = await run("scan b 3");
    check(`${stage}: scan from b`, scan[0].text.split("\n")[0] === "b2 = y", scan[0].text);
    if (stage >= "02" && stage < "04") {
      check(`${stage}: overwritten records are drawn as garbage before a merge`, (await count(stage, "g.record.dead")) > 0);
      await run("compact");
      const st = await stats(stage);
      check(`${stage}: compact merged`, st["session.merges"] >= 1, `session.merges ${st["session.merges"]}`);
      check(`${stage}: no garbage after the merge`, (await count(stage, "g.record.dead")) === 0,
        `${await count(stage, "g.record.dead")} dead records drawn`);
      await agree(stage, "after compact");
    }
    if (stage >= "04") {
      // The memtable, flushed to a table; more writes than it holds, so
      // that flushes (and, past a few tables, compactions) run on the
      // writer's thread (KV_BG_INLINE); then kv_compact.
      const before = await stats(stage);
      await run("flush");
      const flushed = await stats(stage);
      check(`${stage}: flush makes a table`, flushed["tables.count"] > before["tables.count"] && flushed["memtable.entries"] === 0,
        `tables.count ${before["tables.count"]} -> ${flushed["tables.count"]}, memtable.entries ${flushed["memtable.entries"]}`);
      await agree(stage, "after flush");
      await run("get apple");
      check(`${stage}: get apple's answer marked on a table`, (await count(stage, "g.table.answer")) === 1,
        `${await count(stage, "g.table.answer")} tables marked`);
      await run("fill 400 24 f");
      const filled = await stats(stage);
      check(`${stage}: a full memtable is flushed by the write that fills it`, filled["flush.count"] >= flushed["flush.count"] + 2,
        `flush.count ${flushed["flush.count"]} -> ${filled["flush.count"]}`);
      await agree(stage, "after writes past the memtable");
      const looked = await run("get f123");
      check(`${stage}: get f123 through the tables`, /^"/.test(looked[0].text), looked[0].text);
      check(`${stage}: a get marks its answer once`, (await count(stage, ".answer")) === 1);
      await page.screenshot({ path: join(shots, `${stage}-tables.png`), fullPage: true });
      if (stage >= "05") {
        check(`${stage}: each table's data blocks drawn`,
          (await count(stage, "g.table rect.dblock")) >= 2 * (await count(stage, "g.table")),
          `${await count(stage, "g.table rect.dblock")} blocks in ${await count(stage, "g.table")} tables`);
      }
      await run("compact");
      const compacted = await stats(stage);
      check(`${stage}: compact compacted`, compacted["compact.count"] > filled["compact.count"],
        `compact.count ${filled["compact.count"]} -> ${compacted["compact.count"]}`);
      await agree(stage, "after compact");
      if (stage >= "06") {
        check(`${stage}: after compact the tables are below level 0`,
          (await count(stage, 'g.table[data-level="0"]')) === 0 && (await count(stage, "g.table")) >= 1);
      }
    }
    if (stage >= "03" && stage < "04") {
      await run("fill 2 40000 big");
      check(`${stage}: a 40000-byte value is cut into fragments across blocks`,
        (await count(stage, "rect.frag.first")) >= 1 && (await count(stage, "rect.frag.last")) >= 1,
        `first ${await count(stage, "rect.frag.first")}, last ${await count(stage, "rect.frag.last")}`);
      check(`${stage}: blocks are drawn`, (await count(stage, "g.block")) >= 2);
    }
    await run("reopen");
    await agree(stage, "after reopen");
    const again = await run("get apple");
    check(`${stage}: get apple after reopen`, again[0].text === '"green"', again[0].text);
    // A power cut: only what was synced is left, and kv_open recovers.
    // With sync=1 a stage that promises durable syncs keeps every
    // acknowledged write; with sync=0 stage 03 loses what it never synced.
    await run("options sync=1");
    await run("put p1 kept");
    const cut = await run("powercut");
    check(`${stage}: kv_open recovers after a power cut`, /recovered/.test(cut[0].text), cut[0].text);
    await agree(stage, "after a power cut");
    const p1 = await run("get p1");
    const durable = (await stats(stage))["stage"] >= "03";
    if (durable) check(`${stage}: with sync=1 a write survives a power cut`, p1[0].text === '"kept"', p1[0].text);
    else check(`${stage}: a stage without fsync answers after a power cut`, ['"kept"', "not found"].includes(p1[0].text), p1[0].text);
    await run("options sync=0");
    await run("put q1 unsynced");
    await run("powercut");
    const q1 = await run("get q1");
    if (durable) check(`${stage}: with sync=0 an unsynced write is lost in a power cut`, q1[0].text === "not found", q1[0].text);
    await page.screenshot({ path: join(shots, `${stage}.png`), fullPage: true });
  }

  // All stages side by side: the same commands on each.
  await page.evaluate((s) => window.lab.pick(s), stages);
  await run("reset");
  await run("fill 20 24");
  await run("del k004");
  await run("get k007");
  check("side by side: a panel per stage", (await page.$$("#panels div.panel")).length === stages.length);
  for (const stage of stages) await agree(stage, "side by side");
  await page.screenshot({ path: join(shots, "all.png"), fullPage: true });

  // Reloading the page is a power cut too: the browser kept what was synced.
  await run("options sync=1");
  await run("put reload-key survives");
  await page.reload();
  await page.evaluate(() => window.lab.ready);
  for (const stage of stages) {
    await page.evaluate((s) => window.lab.pick([s]), stage);
    const got = await run("get reload-key");
    if (stage >= "03") check(`${stage}: a synced write survives a reload of the page`, got[0].text === '"survives"', got[0].text);
    await agree(stage, "after a reload");
  }

  check("no errors in the page", errors.length === 0, errors.join("; "));
  check("nothing fetched from the network", requests.length === 0, requests.join(" "));
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
