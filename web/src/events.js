// events.js: what a command changed in a database, from what the engine
// said before and after it (kv_inspect's lines, kv_stats): the tables a
// flush or a compaction made, the ones a compaction replaced (gone from
// the list), the ones moved to another level without being rewritten,
// and the memtables frozen and flushed on the way (in the WebAssembly
// build a flush runs inside the write that fills the memtable, so the
// frozen memtable is never there between two commands: this is how the
// picture can still show it).

import { ofKind } from "./inspect.js";

const num = (st, name) => (typeof st?.[name] === "number" ? st[name] : 0);

export function diffEvents(oldData, data, before, after, seen) {
  const ev = { created: new Set(), replaced: [], moved: new Map(), flushes: 0, flushEntries: 0, flushBytes: 0,
    compactions: 0, merges: 0, unseen: 0 };
  if (!oldData || !before || !Object.keys(before).length) return ev;
  // Every table there was during the command: before it, and those seen
  // on the way (a fill looks between its puts).
  const was = new Map(ofKind(oldData.lines, "table").map((t) => [t.file, t]));
  const oldFiles = new Set(was.keys());
  for (const [file, t] of seen || []) if (!was.has(file)) was.set(file, t);
  const tables = new Map(ofKind(data.lines, "table").map((t) => [t.file, t]));
  for (const [file, t] of tables) {
    const first = was.get(file);
    if (!oldFiles.has(file)) ev.created.add(file);
    if (first && first.level !== undefined && first.level !== t.level) ev.moved.set(file, first.level);
  }
  for (const [file, t] of was) if (!tables.has(file)) ev.replaced.push(t);
  ev.flushes = num(after, "flush.count") - num(before, "flush.count");
  ev.flushEntries = num(after, "flush.entries") - num(before, "flush.entries");
  ev.flushBytes = num(after, "flush.bytes") - num(before, "flush.bytes");
  ev.compactions = num(after, "compact.count") - num(before, "compact.count");
  ev.merges = num(after, "session.merges") - num(before, "session.merges");
  // A reopen or a power cut starts the counters again: no event then.
  for (const k of ["flushes", "flushEntries", "flushBytes", "compactions", "merges"]) if (ev[k] < 0) ev[k] = 0;
  return ev;
}
