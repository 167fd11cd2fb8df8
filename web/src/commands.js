// commands.js: the lab's console.  A line is parsed once (parse), then run
// on every stage shown (run), each engine answering for itself.  The
// commands are kv.h's calls (put, get, del, scan, batch, snapshots,
// transactions, flush, compact) and a few of the lab's (fill, reopen,
// powercut, reset, options, stats, files).  Where a call did nothing, the
// answer says so and why (compact with no garbage, flush of an empty
// memtable); where something was lost (a power cut), it says what.

import { byteString, bytesOf, kib, quoted, shown } from "./bytes.js";
import { LAB_MAX_VALUE } from "./engine.js";
import { FILL_MAX, parseFill, runFill } from "./fill.js";
import { ofKind } from "./inspect.js";
import { restBytes, words } from "./words.js";

export const HELP = `commands (each runs on every stage shown):
  put KEY VALUE          kv_put (VALUE: the rest of the line)
  get KEY                kv_get, and the places it looked, drawn (kv_inspect_get)
  del KEY                kv_delete
  scan [FROM] [N]        an iterator from the first key >= FROM, N pairs (20)
  batch OP; OP; ...      kv_write of one batch, OP = put KEY VALUE | del KEY
  snapshot               kv_snapshot_new: says its number
  get@N KEY              kv_get_at snapshot N
  release N              kv_snapshot_free
  begin S [snapshot|serializable]   a transaction in session S (a, b, c or d)
  tget S KEY, tput S KEY VALUE, tdel S KEY   its reads and writes
  check S, commit S, abort S        kv_txn_check, kv_txn_commit, kv_txn_abort
  flush                  the memtable becomes a table (stage 04 on)
  compact                kv_compact (stages 02-03: a merge of the segments)
  fill [N] [BYTES] [PREFIX] [shuffled|sequential|overwrite]
                         N puts (1000) of keys PREFIX000.. with BYTES-byte values (16),
                         shuffled (the default), in order, or over N/4 keys
  reopen                 kv_close, then kv_open: what recovery finds
  powercut               the power goes: only what was synced is left, then
                         kv_open (reloading the page is one too)
  reset                  an empty database (with the options above)
  options [NAME=N ...]   show, or check and set kv_options (sync=1 too), then reset
  stats, files           kv_stats; the database's files and their sizes
Keys and values with spaces go in double quotes, where \\xNN is any byte:
  put "a b" 1    put "nul\\x00key" 2    put 日本語 3
ArrowUp and ArrowDown step through the commands typed.  Values up to ${LAB_MAX_VALUE >> 20} MiB.`;

const SESSIONS = ["a", "b", "c", "d"];
const ISOLATION = { snapshot: 0, si: 0, serializable: 1, ser: 1 };

function usage(text) {
  return { error: `usage: ${text}` };
}

function tooBig(bytes) {
  return bytes && bytes.length > LAB_MAX_VALUE
    ? { error: `refused: a value of ${bytes.length.toLocaleString("en")} bytes; the lab takes values up to ${LAB_MAX_VALUE.toLocaleString("en")} bytes (${LAB_MAX_VALUE >> 20} MiB: the engines of every stage share this tab's memory, and the browser keeps about 9.8 MB of their files)` }
    : null;
}

// A line as a command: {name, ...} or {error}.
export function parse(line) {
  const w = words(line);
  const name = (w[0]?.text || "").toLowerCase();
  const key = w[1]?.bytes;
  switch (name) {
    case "":
      return { name: "" };
    case "help":
      return { name };
    case "put": {
      if (w.length < 3) return usage("put KEY VALUE");
      const value = restBytes(line, w, 2);
      return tooBig(value) || { name, key, value };
    }
    case "get":
    case "del":
      return w.length === 2 ? { name, key } : usage(`${name} KEY`);
    case "scan": {
      const n = w[2] ? Number(w[2].text) : 20;
      if (w.length > 3 || !(n >= 1 && n <= 1000)) return usage("scan [FROM] [N] (N 1..1000)");
      return { name, from: w[1] ? w[1].bytes : new Uint8Array(0), n };
    }
    case "batch": {
      const body = line.slice(w[0].end);
      const ops = [];
      for (const part of body.split(";")) {
        const o = words(part);
        if (!o.length) continue;
        if (o[0].text === "put" && o.length >= 3) ops.push(["put", o[1].bytes, restBytes(part, o, 2)]);
        else if (o[0].text === "del" && o.length === 2) ops.push(["del", o[1].bytes]);
        else return usage("batch put KEY VALUE; del KEY; ...");
      }
      if (!ops.length) return usage("batch put KEY VALUE; del KEY; ...");
      return tooBig(ops.find((o) => o[2] && o[2].length > LAB_MAX_VALUE)?.[2]) || { name, ops };
    }
    case "snapshot":
    case "flush":
    case "compact":
    case "reopen":
    case "powercut":
    case "reset":
    case "stats":
    case "files":
      return w.length === 1 ? { name } : usage(name);
    case "release":
      return w.length === 2 && /^[0-9]+$/.test(w[1].text) ? { name, id: Number(w[1].text) } : usage("release N");
    case "fill": {
      const f = parseFill(w.slice(1), LAB_MAX_VALUE);
      return f.error ? f : { name, ...f };
    }
    case "begin": {
      const s = w[1]?.text.toLowerCase();
      const iso = (w[2]?.text || "snapshot").toLowerCase();
      if (!SESSIONS.includes(s) || ISOLATION[iso] === undefined || w.length > 3) {
        return usage("begin S [snapshot|serializable] (S: a, b, c or d)");
      }
      return { name, session: s, slot: SESSIONS.indexOf(s), isolation: ISOLATION[iso], level: ISOLATION[iso] ? "serializable" : "snapshot" };
    }
    case "tget":
    case "tdel":
    case "tput":
    case "check":
    case "commit":
    case "abort": {
      const s = w[1]?.text.toLowerCase();
      const want = name === "tput" ? 4 : name === "tget" || name === "tdel" ? 3 : 2;
      const form = { tput: "tput S KEY VALUE", tget: "tget S KEY", tdel: "tdel S KEY" }[name] || `${name} S`;
      if (!SESSIONS.includes(s) || (name === "tput" ? w.length < want : w.length !== want)) return usage(`${form} (S: a, b, c or d)`);
      const c = { name, session: s, slot: SESSIONS.indexOf(s), key: w[2]?.bytes };
      if (name === "tput") {
        c.value = restBytes(line, w, 3);
        return tooBig(c.value) || c;
      }
      return c;
    }
    default: {
      const at = /^get@([0-9]+)$/.exec(name);
      if (at) return w.length === 2 ? { name: "get@", id: Number(at[1]), key } : usage("get@N KEY");
      return { error: `unknown command "${shown(name, 30)}": try help` };
    }
  }
}

// What kv_stats says about the work a command may have done.
function counts(st) {
  return {
    merges: st["session.merges"] ?? 0,
    flushes: st["flush.count"] ?? 0,
    compactions: st["compact.count"] ?? 0,
    moves: st["session.compact.moves"] ?? 0,
    // Stage 08's value log: what its collection did.
    emptied: st["session.values.gc_files_emptied"] ?? 0,
    moved: st["session.values.gc_values_moved"] ?? 0,
    movedBytes: st["session.values.gc_bytes_moved"] ?? 0,
    removed: st["session.values.gc_files_removed"] ?? 0,
    removedBytes: st["session.values.gc_bytes_removed"] ?? 0,
    waiting: st["values.emptied_files_waiting"] ?? 0,
  };
}

// What a compact's value-log collection did (stage 08), from the counts
// before and after it; "" for the other stages.
function collected(engine, before, after) {
  if (engine.stats()["values.files"] === undefined) return "";
  const d = (k) => after[k] - before[k];
  if (d("emptied") <= 0 && d("removed") <= 0) {
    return after.waiting > 0 ? `; the value log: no file to empty, ${after.waiting} emptied file${after.waiting > 1 ? "s" : ""} still wait${after.waiting > 1 ? "" : "s"} for a snapshot (release it, then compact)`
      : `; the value log: no file has ${engine.stats()["values.gc_percent"]}% garbage, none emptied`;
  }
  let text = `; the value log's collection emptied ${d("emptied")} file${d("emptied") === 1 ? "" : "s"}, writing ${d("moved")} live value${d("moved") === 1 ? "" : "s"} (${kib(d("movedBytes"))}) again, and removed ${d("removed")} (${kib(d("removedBytes"))})`;
  if (after.waiting > 0) text += `; ${after.waiting} emptied file${after.waiting > 1 ? "s" : ""} wait${after.waiting > 1 ? "" : "s"} for a snapshot that may still read ${after.waiting > 1 ? "them" : "it"}`;
  return text;
}

// Every pair of the database (for what a power cut lost): a Map, or null
// if it has more than limit keys.
function everything(engine, limit = 20000) {
  const r = engine.scan(new Uint8Array(0), limit + 1);
  if (!r.ok || r.pairs.length > limit) return null;
  return new Map(r.pairs);
}

function lostText(before, after) {
  if (!before || !after) return "";
  const lost = [], changed = [], back = [];
  for (const [k, v] of before) {
    if (!after.has(k)) lost.push(k);
    else if (after.get(k) !== v) changed.push(k);
  }
  for (const k of after.keys()) if (!before.has(k)) back.push(k);
  if (!lost.length && !changed.length && !back.length) return `; nothing was lost: all ${before.size} keys are as they were`;
  const list = (ks) => ks.slice(0, 4).map((k) => shown(k, 16)).join(", ") + (ks.length > 4 ? ", …" : "");
  const parts = [];
  if (lost.length) parts.push(`lost ${lost.length} of ${before.size} keys (${list(lost)})`);
  if (changed.length) parts.push(`${changed.length} back to an older value (${list(changed)})`);
  if (back.length) parts.push(`${back.length} deleted keys back (${list(back)})`);
  return `; ${parts.join("; ")}: what was written since the last sync`;
}

// The sessions of one engine: {a: {...}, ...}, each with its isolation,
// the sequence number its snapshot saw, what it read and wrote, and how it
// ended.
export function sessionsOf(engine) {
  if (!engine.sessions) engine.sessions = {};
  return engine.sessions;
}

function dbSeq(lines) {
  const db = ofKind(lines || [], "db")[0] || {};
  return db.seq !== undefined ? db.seq : null;
}

// The key a conflict names (kv_txn_commit's message), as a byte string.
function conflictKey(msg) {
  const m = /the key "((?:[^"\\]|\\x[0-9a-f]{2})*)"/.exec(msg || "");
  return m ? m[1].replace(/\\x([0-9a-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))) : null;
}

// Runs command c (from parse) on one engine.  ctx: {options (the applied
// options' text), lines (what kv_inspect said before), pause(done,
// total), watch() (called between the puts of a fill)}.  Returns {text,
// cls, get, conflict}.
export async function run(engine, c, ctx) {
  const early = engine.stage < "04";
  const r = (res, okText) => (res.ok ? { text: okText ?? res.word } : { text: res.text, cls: "err" });
  switch (c.name) {
    case "":
      return { text: "" };
    case "help":
      return { text: HELP };
    case "put":
      return r(engine.put(c.key, c.value));
    case "del":
      return r(engine.del(c.key));
    case "get": {
      // The path first, on the cache as the get will find it: its reads
      // are the get's own; then the get, whose answer is printed.
      const lines = engine.inspectGet(c.key);
      const res = engine.get(c.key);
      const text = res.ok && res.rc === 0 ? quoted(res.value) : r(res).text;
      return { text, cls: res.ok ? undefined : "err", get: { key: shown(c.key), id: byteString(c.key), lines } };
    }
    case "get@": {
      const res = engine.getAt(c.id, c.key);
      return res.ok && res.rc === 0 ? { text: quoted(res.value) } : r(res);
    }
    case "scan": {
      const res = engine.scan(c.from, c.n);
      if (!res.ok) return r(res);
      return { text: res.pairs.length ? res.pairs.map(([k, v]) => `${shown(k, 40)} = ${quoted(v, 40)}`).join("\n") : "(no keys)" };
    }
    case "batch":
      return r(engine.batch(c.ops), `ok (${c.ops.length} ops in one kv_write)`);
    case "snapshot": {
      const res = engine.snapshot();
      return res.ok ? { text: `snapshot ${res.id}` } : r(res);
    }
    case "release":
      return r(engine.release(c.id));
    case "flush": {
      if (early) return { text: "nothing to flush: in this stage a write is in its file when it returns" };
      const before = counts(engine.stats());
      const res = engine.flush();
      if (!res.ok) return r(res);
      const after = counts(engine.stats());
      return { text: after.flushes > before.flushes ? "flushed: the memtable is a table now"
        : "nothing to flush: the memtable is empty" };
    }
    case "compact": {
      const before = counts(engine.stats());
      const res = engine.compact();
      if (!res.ok) return r(res);
      const after = counts(engine.stats());
      if (engine.stage.startsWith("01")) {
        return { text: "nothing to compact: stage 01 never reclaims space; every record stays in data.log (stage 02's merge is the answer)" };
      }
      if (early) {
        return { text: after.merges > before.merges
          ? "merged: the live records copied into new segments, the garbage dropped, the directory synced (a power cut now keeps them)"
          : "nothing to merge: no segment holds garbage (every record is the one its key's slot points at), so kv_compact returned at once" };
      }
      const n = after.compactions - before.compactions, moved = after.moves - before.moves;
      const vlog = collected(engine, before, after);
      if (n > 0) return { text: `compacted: ${n} compaction${n > 1 ? "s" : ""}${moved ? ` (${moved} of them moves)` : ""}; the tables each replaced are marked${vlog}` };
      if (after.emptied > before.emptied || after.removed > before.removed) return { text: `no table to compact${vlog}` };
      return { text: (engine.stage >= "06"
        ? "nothing to compact: no level is over its target and no table holds versions to drop, so kv_compact returned at once"
        : "nothing to compact: there is at most one table, so kv_compact returned at once") + vlog };
    }
    case "fill":
      return runFill(engine, c, ctx.pause, ctx.watch);
    case "reopen": {
      const closed = engine.close();
      delete engine.sessions;
      if (!closed.ok) return r(closed);
      const note = closed.aborted ? ` (${closed.aborted} live transaction${closed.aborted > 1 ? "s" : ""} aborted first: kv_close requires it)` : "";
      const res = engine.open(engine.options);
      return res.ok ? { text: `reopened: kv_open read the files again${note}` } : r(res);
    }
    case "powercut": {
      const before = everything(engine);
      const recordsBefore = engine.stats()["log.records"];
      delete engine.sessions;
      const res = await engine.powercut(engine.options);
      if (!res.ok) return r(res);
      const after = everything(engine);
      let text = `power cut: what was synced is left, and kv_open recovered from it${lostText(before, after)}`;
      if (engine.stage.startsWith("01") && recordsBefore) {
        text += ` (stage 01 never syncs: the ${recordsBefore} records of data.log were never made durable)`;
      }
      return { text, cls: /lost|back/.test(text) ? "warn" : undefined };
    }
    case "reset":
      delete engine.sessions;
      return r(engine.reset(ctx.options), "an empty database");
    case "stats": {
      const res = engine.result(engine.call("stats"));
      return res.ok ? { text: engine.text().trim() } : r(res);
    }
    case "files":
      return { text: engine.files().map((f) => `${f.name} ${f.bytes} bytes`).join("\n") || "(none)" };
    case "begin": {
      const sessions = sessionsOf(engine);
      const res = engine.txnBegin(c.slot, c.isolation);
      if (!res.ok) return r(res);
      const seq = dbSeq(ctx.lines);
      sessions[c.session] = { name: c.session, level: c.level, seq, reads: new Map(), writes: new Map(), state: "live" };
      return { text: `${c.session}: began (${c.level} isolation${seq !== null ? `, its snapshot sees sequence numbers up to ${seq}` : ""})` };
    }
    case "tget": {
      const s = sessionsOf(engine)[c.session];
      const res = engine.txnGet(c.slot, c.key);
      if (!res.ok) return r(res);
      const id = byteString(c.key);
      if (s && !s.writes.has(id)) s.reads.set(id, res.rc === 0 ? res.value : null);
      return { text: res.rc === 0 ? quoted(res.value) : "not found" };
    }
    case "tput":
    case "tdel": {
      const s = sessionsOf(engine)[c.session];
      const res = c.name === "tput" ? engine.txnPut(c.slot, c.key, c.value) : engine.txnDel(c.slot, c.key);
      if (res.ok && s) s.writes.set(byteString(c.key), c.name === "tput" ? byteString(c.value) : null);
      return r(res, `ok (kept in ${c.session} until it commits)`);
    }
    case "check":
    case "commit": {
      const s = sessionsOf(engine)[c.session];
      const res = c.name === "check" ? engine.txnCheck(c.slot) : engine.txnCommit(c.slot);
      if (c.name === "commit" && s) s.state = res.ok ? "committed" : res.rc === -6 ? "conflict" : "failed";
      if (res.rc === -6) {
        const key = conflictKey(res.msg);
        if (s) s.conflict = { key, msg: res.msg };
        const lines = key !== null ? engine.inspectGet(bytesOf(key)) : [];
        return { text: res.text, cls: "err", conflict: key !== null ? { key, shownKey: shown(key), session: s, lines } : undefined };
      }
      if (res.ok && c.name === "commit" && s) s.commitSeq = null;
      return r(res, c.name === "check" ? "ok: nothing it depends on was written since it began" : `${c.session}: committed`);
    }
    case "abort": {
      const s = sessionsOf(engine)[c.session];
      const res = engine.txnAbort(c.slot);
      if (res.ok && s) s.state = "aborted";
      return r(res, `${c.session}: aborted, nothing written`);
    }
    default:
      return { text: `unknown command "${c.name}"`, cls: "err" };
  }
}

export { FILL_MAX, kib };
