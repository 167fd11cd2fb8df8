// engine.js: one stage's engine in the page.  Each stage is its own
// WebAssembly module (build/wasm/lab/kv-<stage>.js, made by emscripten
// from the stage's libkv.a and web/lab_api.c), with its own memory and its
// own in-memory file system, where its database lives in /db.
//
// Keys and values go to the module as bytes copied into its heap (malloc),
// never through its stack: a 2 MB value is one more allocation.  A call
// that traps inside the module (a WebAssembly RuntimeError: memory out of
// bounds, an abort) leaves that module unusable; call() turns it into an
// EngineCrash, and restart() starts a fresh module on the files the dead
// one left, as an operating system keeps a crashed process's files: what
// was written is there, kv_open recovers from it.

import { Durable } from "./durable.js";
import { byteString, utf8 } from "./bytes.js";
import { parseLines } from "./inspect.js";

export const STATUS = { 0: "ok", 1: "not found", "-1": "I/O error", "-2": "corrupt", "-3": "invalid",
  "-4": "out of memory", "-5": "busy", "-6": "conflict" };

// The page's own bound on a value or a key typed in: the engines take
// values up to 64 MiB (KV_MAX_VALUE), but all of them share one tab's
// memory, and the browser's storage holds about 9.8 MB for all.
export const LAB_MAX_VALUE = 4 << 20;

export class EngineCrash extends Error {
  constructor(stage, cause) {
    super(`${stage}'s engine crashed: ${cause && cause.message ? cause.message.split("\n")[0] : cause}`);
    this.cause = cause;
  }
}

const decoder = new TextDecoder("latin1");

export class Engine {
  constructor(stage, factory) {
    this.stage = stage;
    this.factory = factory;
    this.dir = "/db";
    this.options = "";
    this.durable = new Durable(stage, this.dir);
    this.crashed = null;
  }

  // A fresh instance of the stage's module: its own memory and file
  // system, attached to this stage's durable image (durable.js).
  async start() {
    const module = await this.factory({ print: () => {}, printErr: () => {} });
    module.kvDurable = this.durable;
    this.durable.attach(module.FS);
    this.m = module;
    this.crashed = null;
    this.wild = false;
  }

  // Calls lab_NAME with args: numbers as they are, strings as C strings,
  // Uint8Arrays as a pointer and a length, all copied into the heap.
  call(name, ...args) {
    if (this.crashed) throw new EngineCrash(this.stage, this.crashed);
    const m = this.m;
    const ptrs = [];
    const flat = [];
    try {
      for (const a of args) {
        if (typeof a === "number") {
          flat.push(a);
          continue;
        }
        const bytes = typeof a === "string" ? utf8(`${a}\0`) : a;
        const p = m._malloc(Math.max(1, bytes.length));
        if (!p) throw new Error(`the module could not allocate ${bytes.length} bytes`);
        ptrs.push(p);
        m.HEAPU8.set(bytes, p);
        // lab.trap() (for the browser test): a pointer past the memory.
        const wild = this.wild && typeof a !== "string";
        if (wild) this.wild = false;
        flat.push(wild ? 0x7ffffff0 : p);
        if (typeof a !== "string") flat.push(bytes.length);
      }
      return m[`_lab_${name}`](...flat);
    } catch (e) {
      this.crashed = e;
      throw new EngineCrash(this.stage, e);
    } finally {
      if (!this.crashed) for (const p of ptrs) m._free(p);
    }
  }

  // What the last call left: its bytes, as a byte string (bytes.js).
  textBytes() {
    if (this.crashed) return "";
    const p = this.m._lab_text();
    const n = this.m._lab_text_len();
    return byteString(this.m.HEAPU8.subarray(p, p + n));
  }

  // The same as text (kv_inspect's lines, kv_stats: ASCII).
  text() {
    if (this.crashed) return "";
    const p = this.m._lab_text();
    return decoder.decode(this.m.HEAPU8.subarray(p, p + this.m._lab_text_len()));
  }

  errmsg() {
    return this.crashed ? String(this.crashed) : this.m.UTF8ToString(this.m._lab_errmsg());
  }

  // A kv.h status as {ok, rc, word}, with kv_errmsg() for a failure.
  result(rc) {
    if (rc < 0) return { ok: false, rc, text: `${STATUS[rc] || rc}: ${this.errmsg()}`, msg: this.errmsg() };
    return { ok: true, rc, word: STATUS[rc] ?? String(rc) };
  }

  // ---- kv.h through lab_api.c ----

  open(options) {
    this.options = options;
    return this.result(this.call("open", this.dir, options));
  }

  // Closes (aborting live transactions: kv_close refuses while any
  // lives); .aborted says how many.
  close() {
    const r = this.result(this.call("close"));
    r.aborted = Number(this.text()) || 0;
    return r;
  }

  // Whether this stage's kv_open takes these options: a scratch database
  // opened and closed in /probe, removed after.
  probe(options) {
    const r = this.result(this.call("probe", "/probe", options));
    this.removeTree("/probe");
    return r;
  }

  put(key, value) { return this.result(this.call("put", key, value)); }
  del(key) { return this.result(this.call("del", key)); }
  flush() { return this.result(this.call("flush")); }
  compact() { return this.result(this.call("compact")); }

  // {ok, rc, value: byte string} (rc 1: not found).
  get(key) {
    const r = this.result(this.call("get", key));
    if (r.ok && r.rc === 0) r.value = this.textBytes();
    return r;
  }

  getAt(id, key) {
    const r = this.result(this.call("get_at", id, key));
    if (r.ok && r.rc === 0) r.value = this.textBytes();
    return r;
  }

  snapshot() {
    const id = this.call("snapshot");
    return id > 0 ? { ok: true, rc: 0, id } : this.result(id);
  }

  release(id) { return this.result(this.call("snapshot_free", id)); }

  // pairs: [[key, value], ...] as byte strings.
  scan(from, limit) {
    const r = this.result(this.call("scan", from, limit));
    if (!r.ok) return r;
    const p = this.m._lab_text(), n = this.m._lab_text_len();
    const heap = this.m.HEAPU8;
    const u32 = (at) => heap[at] | (heap[at + 1] << 8) | (heap[at + 2] << 16) | (heap[at + 3] << 24);
    r.pairs = [];
    for (let at = p; at + 8 <= p + n;) {
      const kl = u32(at), vl = u32(at + 4);
      at += 8;
      r.pairs.push([byteString(heap.subarray(at, at + kl)), byteString(heap.subarray(at + kl, at + kl + vl))]);
      at += kl + vl;
    }
    return r;
  }

  // ops: [["put", key, value] | ["del", key]], keys and values Uint8Arrays.
  batch(ops) {
    let size = 0;
    for (const o of ops) size += 9 + o[1].length + (o[2] ? o[2].length : 0);
    const buf = new Uint8Array(size);
    let at = 0;
    const u32 = (v) => { buf[at++] = v & 255; buf[at++] = (v >>> 8) & 255; buf[at++] = (v >>> 16) & 255; buf[at++] = (v >>> 24) & 255; };
    for (const o of ops) {
      buf[at++] = o[0] === "put" ? 0x70 : 0x64;
      u32(o[1].length);
      u32(o[2] ? o[2].length : 0);
      buf.set(o[1], at);
      at += o[1].length;
      if (o[2]) {
        buf.set(o[2], at);
        at += o[2].length;
      }
    }
    return this.result(this.call("batch", buf));
  }

  txnBegin(slot, isolation) { return this.result(this.call("txn_begin", slot, isolation)); }
  txnPut(slot, key, value) { return this.result(this.call("txn_put", slot, key, value)); }
  txnDel(slot, key) { return this.result(this.call("txn_del", slot, key)); }
  txnCheck(slot) { return this.result(this.call("txn_check", slot)); }
  txnCommit(slot) { return this.result(this.call("txn_commit", slot)); }
  txnAbort(slot) { return this.result(this.call("txn_abort", slot)); }
  txnGet(slot, key) {
    const r = this.result(this.call("txn_get", slot, key));
    if (r.ok && r.rc === 0) r.value = this.textBytes();
    return r;
  }

  // kv_inspect's lines, parsed ([] after a failure: .inspectError says
  // it); detail false: the parts only, without what is inside them.
  inspect(detail = true) {
    const r = this.result(this.call("inspect", detail ? 1 : 0));
    this.inspectError = r.ok ? null : r.text;
    return r.ok ? parseLines(this.text()) : [];
  }

  inspectGet(key) {
    const r = this.result(this.call("inspect_get", key));
    return r.ok ? parseLines(this.text()) : [];
  }

  // kv_inspect_get of every key (at most limit), each get's lines after a
  // "key n=I" line; null after a failure.
  inspectEveryGet(limit) {
    const r = this.result(this.call("inspect_every_get", limit));
    return r.ok ? parseLines(this.text()) : null;
  }

  // kv_dump of the database's directory, as lines of text.
  dump() {
    const r = this.result(this.call("dump", this.dir));
    return r.ok || r.rc === -2 ? this.textBytes().split("\n") : null;
  }

  // kv_stats as {name: value}, numbers where they are numbers.
  stats() {
    const r = this.result(this.call("stats"));
    const out = {};
    if (!r.ok) return out;
    for (const line of this.text().split("\n")) {
      const i = line.indexOf(": ");
      if (i < 0) continue;
      const v = line.slice(i + 2);
      out[line.slice(0, i)] = /^-?[0-9]+(\.[0-9]+)?$/.test(v) ? Number(v) : v;
    }
    return out;
  }

  // ---- the module's life ----

  removeTree(path) {
    const FS = this.m.FS;
    if (!FS.analyzePath(path).exists) return;
    if (FS.isDir(FS.stat(path).mode)) {
      for (const name of FS.readdir(path)) if (name !== "." && name !== "..") this.removeTree(`${path}/${name}`);
      FS.rmdir(path);
    } else {
      FS.unlink(path);
    }
  }

  // Closes, removes the database's files and what was kept of them, opens
  // an empty one.
  reset(options) {
    if (!this.crashed) this.close();
    this.durable.clear();
    this.removeTree(this.dir);
    return this.open(options);
  }

  // The files of the database directory and their sizes, as the file
  // system has them (what a reopen will find).
  files() {
    const FS = this.m.FS;
    if (!FS.analyzePath(this.dir).exists) return [];
    return FS.readdir(this.dir).filter((n) => n !== "." && n !== "..")
      .map((name) => ({ name, bytes: FS.stat(`${this.dir}/${name}`).size }));
  }

  // A power cut: the module is dropped as it is (no kv_close, nothing more
  // written), a fresh one finds only what was made durable, and kv_open
  // recovers from that.
  async powercut(options) {
    await this.start();
    this.durable.restore(this.m.FS);
    return this.open(options);
  }

  // After a crash: a fresh module on the files the dead one left (the
  // operating system kept them: a crash is not a power cut), kv_open.
  async restart(options) {
    const old = this.m.FS;
    const copy = [];
    const walk = (dir) => {
      if (!old.analyzePath(dir).exists) return;
      copy.push([dir, null]);
      for (const name of old.readdir(dir)) {
        if (name === "." || name === "..") continue;
        const path = `${dir}/${name}`;
        if (old.isDir(old.stat(path).mode)) walk(path);
        else copy.push([path, old.readFile(path)]);
      }
    };
    walk(this.dir);
    await this.start();
    for (const [path, bytes] of copy) {
      if (bytes === null) this.m.FS.mkdir(path);
      else this.m.FS.writeFile(path, bytes);
    }
    return this.open(options);
  }
}

// Makes the engine of a stage from its factory (kvStage_01_log, ...).
export async function loadEngine(stage) {
  const factory = globalThis[`kvStage_${stage.replace(/-/g, "_")}`];
  if (typeof factory !== "function") throw new Error(`no engine for stage ${stage} in this build`);
  const engine = new Engine(stage, factory);
  await engine.start();
  return engine;
}
