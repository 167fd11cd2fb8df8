// inspect.js: kv_inspect's lines (include/kv.h; the grammar is in
// common/inspect_line.h and docs/lab.md) parsed into objects:
//   "record file=data.log off=16 key=\"a\""  ->  {kind: "record", file: "data.log", off: 16, key: "a"}
// Numbers become numbers; a quoted value becomes a byte string (one
// character per byte, its \xNN escapes decoded: bytes.js), so that keys
// compare and sort as the engine orders them; shown() makes it readable.

// One field at a time, from where the last one ended (the sticky flag:
// no copies of the rest of the line).
const FIELD = / ([a-z_]+)=(?:"([^"]*)"|([A-Za-z0-9_.:/+-]+))/y;
const NUMBER = /^[0-9]+(\.[0-9]+)?$/;

function unescapeValue(s) {
  return s.indexOf("\\x") < 0 ? s : s.replace(/\\x([0-9a-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

export function parseLine(line) {
  const kind = /^[a-z_]+/.exec(line);
  if (!kind) throw new Error(`not a kv_inspect line: ${line}`);
  const out = { kind: kind[0] };
  FIELD.lastIndex = kind[0].length;
  while (FIELD.lastIndex < line.length) {
    const at = FIELD.lastIndex;
    const m = FIELD.exec(line);
    if (!m) throw new Error(`not a kv_inspect field: "${line.slice(at)}" in ${line}`);
    if (m[2] !== undefined) out[m[1]] = unescapeValue(m[2]);
    else out[m[1]] = NUMBER.test(m[3]) ? Number(m[3]) : m[3];
  }
  return out;
}

export function parseLines(text) {
  return text.split("\n").filter((l) => l.length > 0).map(parseLine);
}

// Lines of one kind, in order.
export function ofKind(lines, kind) {
  return lines.filter((l) => l.kind === kind);
}

// A key as the engine has it, for comparing: its bytes, and its length
// when kv_inspect cut it to 64 bytes (key_len).
export function keyId(line, field = "key") {
  const len = line[`${field}_len`];
  return len !== undefined ? `${line[field]}\u0100${len}` : line[field];
}
