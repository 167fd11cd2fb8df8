// events.js: what a command changed in a database, from what the engine
// said before and after it (kv_inspect's lines, kv_stats): the tables a
// flush or a compaction made, the ones a compaction replaced (gone from
// the list), the ones moved to another level without being rewritten,
// and the memtables frozen and flushed on the way (in the WebAssembly
// build a flush runs inside the write that fills the memtable, so the
// frozen memtable is never there between two commands: this is how the
// picture can still show it).  Stage 08: the value-log files the command
// made (a flush renames its log one) and those its collection removed,
// and what the collection moved.

import { vlogId } from "./draw_vlog.js";
import { ofKind } from "./inspect.js";

const num = (st, name) => (typeof st?.[name] === "number" ? st[name] : 0);

export function diffEvents(oldData, data, before, after, seen) {
  const ev = { created: new Set(), replaced: [], moved: new Map(), flushes: 0, flushEntries: 0, flushBytes: 0,
    compactions: 0, merges: 0, unseen: 0, vlogCreated: new Set(), vlogRemoved: [], gcMoved: 0, gcMovedBytes: 0 };
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
  // Value-log files, by number (a log keeps it when renamed .vlog).
  const oldVlogs = new Map(ofKind(oldData.lines, "vlog").map((f) => [vlogId(f.file), f]));
  const vlogs = new Set(ofKind(data.lines, "vlog").map((f) => vlogId(f.file)));
  for (const id of vlogs) if (!oldVlogs.has(id)) ev.vlogCreated.add(id);
  // Removed by the command's collection (not by a reset or a reopen).
  const removed = num(after, "session.values.gc_files_removed") - num(before, "session.values.gc_files_removed");
  if (removed > 0) for (const [id, f] of oldVlogs) if (!vlogs.has(id)) ev.vlogRemoved.push(f);
  ev.gcMoved = num(after, "session.values.gc_values_moved") - num(before, "session.values.gc_values_moved");
  ev.gcMovedBytes = num(after, "session.values.gc_bytes_moved") - num(before, "session.values.gc_bytes_moved");
  ev.flushes = num(after, "flush.count") - num(before, "flush.count");
  ev.flushEntries = num(after, "flush.entries") - num(before, "flush.entries");
  ev.flushBytes = num(after, "flush.bytes") - num(before, "flush.bytes");
  ev.compactions = num(after, "compact.count") - num(before, "compact.count");
  ev.merges = num(after, "session.merges") - num(before, "session.merges");
  // A reopen or a power cut starts the counters again: no event then.
  for (const k of ["flushes", "flushEntries", "flushBytes", "compactions", "merges", "gcMoved", "gcMovedBytes"]) if (ev[k] < 0) ev[k] = 0;
  return ev;
}
