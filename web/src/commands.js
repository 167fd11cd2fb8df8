// commands.js: the lab's console.  One command line runs on every stage
// shown; each engine answers for itself.  The commands are kv.h's calls
// (put, get, del, scan, batch, snapshot, compact) and a few for the lab
// (fill, reopen, reset, options, stats, files).

export const HELP = `commands (each runs on every stage shown):
  put KEY VALUE          kv_put (VALUE: the rest of the line)
  get KEY                kv_get, and the places it looked (kv_inspect_get)
  del KEY                kv_delete
  scan [FROM] [N]        an iterator from the first key >= FROM, N pairs (20)
  batch OP; OP; ...      kv_write of one batch, OP = put KEY VALUE | del KEY
  snapshot               kv_snapshot_new: says its number
  get@N KEY              kv_get_at snapshot N
  release N              kv_snapshot_free
  flush                  write what is in memory to a table (stage 04 on)
  compact                kv_compact (stage 02: a merge of the segments)
  fill N [BYTES] [PREFIX] N puts of keys PREFIX000.. (values of BYTES bytes)
  reopen                 kv_close, then kv_open: what recovery finds
  powercut               the power goes: only what was synced is left, then
                         kv_open (reloading the page is one too)
  reset                  an empty database (with the options below)
  options [NAME=N ...]   show or set kv_options (sync=1 too), then reset
  stats                  kv_stats
  files                  the database's files and their sizes
Keys and values with spaces go in double quotes.`;

// Splits a line into words; "double quoted" words may hold spaces.
export function words(line) {
  const out = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m;
  while ((m = re.exec(line)) !== null) out.push(m[1] !== undefined ? m[1] : m[2]);
  return out;
}

function fillValue(i, bytes) {
  const base = `value-${i}-`;
  return base.length >= bytes ? base.slice(0, Math.max(bytes, 1)) : base + ".".repeat(bytes - base.length);
}

// Runs one command on one engine; returns {text, get} (get: the lines of
// kv_inspect_get for a get, to be drawn).
export function run(engine, line, options) {
  const w = words(line.trim());
  const cmd = (w[0] || "").toLowerCase();
  const r = (res, okText) => (res.ok ? okText ?? res.word : res.text);
  const rest = (n) => w.slice(n).join(" ");
  const c = engine.c;
  switch (cmd) {
    case "":
      return { text: "" };
    case "help":
      return { text: HELP };
    case "put":
      if (w.length < 3) return { text: "usage: put KEY VALUE" };
      return { text: r(engine.result(c.put(w[1], rest(2)))) };
    case "del":
      if (w.length !== 2) return { text: "usage: del KEY" };
      return { text: r(engine.result(c.del(w[1]))) };
    case "get": {
      if (w.length !== 2) return { text: "usage: get KEY" };
      const res = engine.result(c.get(w[1]));
      const text = res.ok && res.rc === 0 ? JSON.stringify(res.text) : r(res);
      return { text, get: { key: w[1], lines: engine.inspectGet(w[1]) } };
    }
    case "scan": {
      const from = w[1] || "";
      const n = Number(w[2] || 20);
      const res = engine.result(c.scan(from, n));
      if (!res.ok) return { text: res.text };
      const pairs = res.text.split("\n").filter((l) => l.length);
      return { text: pairs.length ? pairs.map((p) => p.replace("\t", " = ")).join("\n") : "(no keys)" };
    }
    case "batch": {
      const ops = rest(1).split(";").map((s) => words(s.trim())).filter((o) => o.length);
      const bad = ops.find((o) => !((o[0] === "put" && o.length >= 3) || (o[0] === "del" && o.length === 2)));
      if (!ops.length || bad) return { text: "usage: batch put KEY VALUE; del KEY; ..." };
      const text = ops.map((o) => (o[0] === "put" ? `put ${o[1]} ${o.slice(2).join(" ")}` : `del ${o[1]}`)).join("\n");
      return { text: r(engine.result(c.batch(text)), `ok (${ops.length} ops in one kv_write)`) };
    }
    case "snapshot": {
      const id = c.snapshot();
      return { text: id > 0 ? `snapshot ${id}` : engine.result(id).text };
    }
    case "release":
      return { text: r(engine.result(c.snapshotFree(Number(w[1])))) };
    case "flush":
      return { text: engine.stage < "04" ? "nothing to flush: in this stage a write is in its file when it returns"
        : r(engine.result(c.flush()), "flushed: the memtable is a table now") };
    case "compact":
      return { text: r(engine.result(c.compact())) };
    case "fill": {
      const n = Number(w[1] || 10), bytes = Number(w[2] || 16), prefix = w[3] || "k";
      if (!(n > 0 && n <= 100000 && bytes >= 0 && bytes <= 1 << 20)) return { text: "usage: fill N [BYTES] [PREFIX]" };
      for (let i = 0; i < n; i++) {
        const res = engine.result(c.put(`${prefix}${String(i).padStart(3, "0")}`, fillValue(i, bytes)));
        if (!res.ok) return { text: `after ${i} puts: ${res.text}` };
      }
      return { text: `${n} puts` };
    }
    case "reopen": {
      const closed = engine.close();
      if (!closed.ok) return { text: closed.text };
      return { text: r(engine.open(engine.options), "reopened: kv_open read the files again") };
    }
    case "reset":
      return { text: r(engine.reset(options.text()), "an empty database") };
    case "stats": {
      const res = engine.result(c.stats());
      return { text: res.ok ? res.text.trim() : res.text };
    }
    case "files":
      return { text: engine.files().map((f) => `${f.name} ${f.bytes} bytes`).join("\n") || "(none)" };
    default: {
      const at = /^get@([0-9]+)$/.exec(cmd);
      if (at && w.length === 2) {
        const res = engine.result(c.getAt(Number(at[1]), w[1]));
        return { text: res.ok && res.rc === 0 ? JSON.stringify(res.text) : r(res) };
      }
      return { text: `unknown command "${cmd}": try help` };
    }
  }
}
