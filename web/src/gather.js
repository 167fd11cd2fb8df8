// gather.js: what a picture needs from its engine, all through kv.h.
// kv_inspect's lines are the base; where they stop, two more calls of
// kv.h fill in:
//   kv_dump      every record of the database's logs with its key and the
//                first 48 bytes of its value: stage 01's records past the
//                256 kv_inspect details (the tail, where writes go and
//                where a get finds its answer), and the values drawn on
//                records (01-03) and memtable entries (04 on, from the
//                log that holds them), which kv_inspect gives only the
//                lengths of.  Skipped above DUMP_MAX_ENTRIES entries (02
//                and 03 draw no values past 3,000 records), but not in
//                stage 01, whose picture is made of them.
//   kv_inspect_get of every key (stages 02, 03), once more than 256
//                slots are used: each key's home slot and the slot it
//                ends at, for the overview of the whole index.
// None of these changes what kv_stats counts in these stages (stage 04
// on, kv_dump reads the files, not the block cache).

import { ofKind } from "./inspect.js";

export const DUMP_MAX_ENTRIES = { hash: 3000, lsm: 20000 };  // see HASH_RECORDS_MAX
export const EVERY_GET_MAX = 200000;

const unescape = (s) => s.replace(/\\x([0-9a-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));

// A value or key as the dump shows it: its first 48 bytes, then "..." if
// it had more.
function dumped(text, len) {
  const bytes = unescape(text);
  if (bytes.length > len && bytes.endsWith("...")) return bytes.slice(0, -3);
  return bytes;
}

// kv_dump's lines (common/log_report.c, stages/03-wal/tools/wal_dump.c, the log
// dump of stage 04 on): a file's section starts "# FILE: ..."; a record
// of stages 01-02 is "OFF  crc=X  put  key_len=K  value_len=V  key="k"  value="v"";
// stage 03's "OFF  record: ..." then "op I: put key_len=K value_len=V key="k" value="v"";
// stage 04's "OFF  record: ..." then "seq S: put ...".
const FILE = /^# ([^ :]+): /;
const LOG_RECORD = /^ *([0-9]+) {2}crc=[0-9a-f]{8} {2}(put|del) {2}key_len=([0-9]+)(?: {2}value_len=([0-9]+))? {2}key="((?:[^"\\]|\\x[0-9a-f]{2})*)"(?: {2}value="((?:[^"\\]|\\x[0-9a-f]{2})*)")?/;
const FRAMED = /^ *([0-9]+) {2}record: /;
const OP = /^ +(op|seq) ([0-9]+): (put|del) key_len=([0-9]+)(?: value_len=([0-9]+))? key="((?:[^"\\]|\\x[0-9a-f]{2})*)"(?: value="((?:[^"\\]|\\x[0-9a-f]{2})*)")?/;

export function parseDump(lines) {
  const out = { files: new Map(), ops: new Map(), seqs: new Map() };
  let file = null, rec = null;
  for (const line of lines || []) {
    let m;
    if ((m = FILE.exec(line))) {
      file = m[1];
      if (!out.files.has(file)) out.files.set(file, []);
    } else if ((m = LOG_RECORD.exec(line)) && file) {
      const klen = Number(m[3]), vlen = m[4] !== undefined ? Number(m[4]) : 0;
      out.files.get(file).push({ off: Number(m[1]), op: m[2], klen, vlen, key: dumped(m[5], klen),
        value: m[6] !== undefined ? dumped(m[6], vlen) : undefined });
    } else if ((m = FRAMED.exec(line))) {
      rec = Number(m[1]);
    } else if ((m = OP.exec(line))) {
      const v = { op: m[3], klen: Number(m[4]), vlen: m[5] !== undefined ? Number(m[5]) : 0, key: dumped(m[6], Number(m[4])) };
      v.value = m[7] !== undefined ? dumped(m[7], v.vlen) : undefined;
      if (m[1] === "seq") out.seqs.set(Number(m[2]), v);
      else out.ops.set(`${file}@${rec}#${m[2]}`, v);
    }
  }
  return out;
}

// Stage 01's records from its dump, each {off, size, op, key, klen, vlen,
// value}; size is the distance to the next record (the last: to end).
function logRecords(dump, end) {
  const out = dump.files.get("data.log") || [];
  for (let i = 0; i < out.length; i++) out[i].size = (i + 1 < out.length ? out[i + 1].off : end) - out[i].off;
  return out;
}

// The slots of every key, from the lines of lab_inspect_every_get: one
// {n, home, probes, key, seg, off, size} per key, in slot order.
function slotsFromGets(lines) {
  const out = [];
  let key = null;
  for (const l of lines) {
    if (l.kind === "key") key = l;
    else if (l.kind === "look" && l.part === "index" && l.slot !== undefined) {
      out.push({ n: l.slot, home: l.home, probes: l.probes, key: key?.key, key_len: key?.key_len, seg: l.seg, off: l.off, size: l.size });
    }
  }
  return out.sort((a, b) => a.n - b.n);
}

// Past this many keys stages 02 and 03 sum each segment's records
// (draw_hash.js), so their details are not asked for.
export const HASH_RECORDS_MAX = 3000;

export function gather(engine, kind) {
  const t0 = performance.now();
  let lines = null, summed = false;
  if (kind === "hash") {
    const parts = engine.inspect(false);
    const db = ofKind(parts, "db")[0];
    summed = db !== undefined && db.keys > HASH_RECORDS_MAX;
    if (summed) lines = parts;
  }
  if (lines === null) lines = engine.inspect();
  const data = { lines, error: engine.inspectError, summed };
  const db = ofKind(lines, "db")[0] || {};
  const entries = kind === "log" ? db.records : kind === "hash" ? ofKind(lines, "record").length + ofKind(lines, "op").length
    : ofKind(lines, "table").reduce((n, t) => n + t.entries, 0);
  // Stage 01's picture needs its records whatever their number.
  data.dumped = kind === "log" || entries <= DUMP_MAX_ENTRIES[kind];
  const dump = data.dumped ? engine.dump() : null;
  data.dump = dump ? parseDump(dump) : null;
  if (kind === "log") {
    const log = ofKind(lines, "log")[0];
    data.records = log && data.dump ? logRecords(data.dump, log.bytes) : [];
  } else if (kind === "hash") {
    const cut = summed || ofKind(lines, "cut").find((c) => c.part === "index");
    if (cut) {
      const every = engine.inspectEveryGet(EVERY_GET_MAX);
      data.slots = every ? slotsFromGets(every) : ofKind(lines, "slot");
      data.slotsComplete = every !== null;
    } else {
      data.slots = ofKind(lines, "slot");
      data.slotsComplete = true;
    }
  }
  data.ms = performance.now() - t0;
  return data;
}
