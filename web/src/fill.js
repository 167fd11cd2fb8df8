// fill.js: the console's `fill`: many puts, in one of three orders, run in
// chunks so that the page stays alive (each chunk ends by giving the
// browser a turn, and says how far it got).
//
//   shuffled    (the default) keys PREFIX000 .. in a shuffled order, the
//               same order on every stage: tables flushed from it overlap,
//               so stage 06 compacts as soon as level 0 fills;
//   sequential  keys in order: each table holds a range no other has, and
//               stage 06 moves tables down without rewriting them;
//   overwrite   N puts over a quarter as many keys, each written about
//               four times: garbage for stage 02's merge, old versions for
//               a compaction to drop.

const MODES = { shuffled: "shuffled", random: "shuffled", sequential: "sequential", seq: "sequential",
  overwrite: "overwrite", over: "overwrite" };

export const FILL_MAX = 100000;
// Enough puts, with the page's options, for ten flushes of a memtable and
// the first compactions of stage 06.
export const FILL_DEFAULT = 1000;

// "fill N [BYTES] [PREFIX] [MODE]": numbers in that order, a mode word
// anywhere, any other word the prefix.  {n, bytes, prefix, mode} or
// {error}.
export function parseFill(ws, maxValue) {
  const nums = [];
  let prefix = "k", mode = "shuffled";
  for (const w of ws) {
    if (/^[0-9]+$/.test(w.text) && !w.quoted) nums.push(Number(w.text));
    else if (MODES[w.text.toLowerCase()]) mode = MODES[w.text.toLowerCase()];
    else prefix = w.key;
  }
  const n = nums[0] ?? FILL_DEFAULT, bytes = nums[1] ?? 16;
  if (nums.length > 2 || !(n >= 1 && n <= FILL_MAX) || bytes > maxValue) {
    return { error: `usage: fill N [BYTES] [PREFIX] [shuffled|sequential|overwrite] (N 1..${FILL_MAX}, BYTES up to ${maxValue})` };
  }
  return { n, bytes, prefix, mode };
}

// A small deterministic generator (mulberry32), so that every stage gets
// the same order.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedOf(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

// The key numbers the puts write, in order.
export function fillOrder(f) {
  const random = rng(seedOf(`${f.prefix}/${f.n}/${f.mode}`));
  if (f.mode === "overwrite") {
    const keys = Math.max(1, Math.floor(f.n / 4));
    return { keys, order: Array.from({ length: f.n }, () => Math.floor(random() * keys)) };
  }
  const order = Array.from({ length: f.n }, (_, i) => i);
  if (f.mode === "shuffled") {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  return { keys: f.n, order };
}

const encoder = new TextEncoder();

function fillValue(i, bytes) {
  const base = `value-${i}-`;
  const text = base.length >= bytes ? base.slice(0, bytes) : base + ".".repeat(bytes - base.length);
  return encoder.encode(text);
}

export function fillKey(f, k, keys) {
  const width = Math.max(3, String(keys - 1).length);
  return `${f.prefix}${String(k).padStart(width, "0")}`;
}

// Runs the puts on one engine; pause() is awaited between chunks (it
// gives the browser a turn and shows progress(done)); watch(), if given,
// is called after each put (the page notes the tables a flush or a
// compaction made on the way).  Returns the console's answer.
export async function runFill(engine, f, pause, watch) {
  const { keys, order } = fillOrder(f);
  const prefix = encoder.encode(f.prefix);
  const width = Math.max(3, String(keys - 1).length);
  let last = performance.now();
  for (let i = 0; i < order.length; i++) {
    const digits = encoder.encode(String(order[i]).padStart(width, "0"));
    const key = new Uint8Array(prefix.length + digits.length);
    key.set(prefix);
    key.set(digits, prefix.length);
    const res = engine.put(key, fillValue(i, f.bytes));
    if (!res.ok) return { text: `after ${i} puts: ${res.text}`, cls: "err" };
    if (watch) watch();
    if (performance.now() - last > 40) {
      await pause(i + 1, order.length);
      last = performance.now();
    }
  }
  const first = fillKey(f, 0, keys), lastKey = fillKey(f, keys - 1, keys);
  const what = f.mode === "overwrite"
    ? `${f.n} puts over ${keys} keys ${first} .. ${lastKey}, each written about ${Math.round(f.n / keys)} times`
    : `${f.n} puts of keys ${first} .. ${lastKey}, ${f.mode === "shuffled" ? "in a shuffled order" : "in order"}`;
  return { text: `${what} (${f.bytes}-byte values)` };
}
