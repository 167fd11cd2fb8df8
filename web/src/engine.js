// engine.js: one stage's engine in the page.  Each stage is its own
// WebAssembly module (build/wasm/lab/kv-<stage>.js, made by emscripten
// from the stage's libkv.a and web/lab_api.c), with its own memory and its
// own in-memory file system, where its database lives in /db.

import { Durable } from "./durable.js";
import { parseLines } from "./inspect.js";

const STATUS = { 0: "ok", 1: "not found", "-1": "I/O error", "-2": "corrupt", "-3": "invalid",
  "-4": "out of memory", "-5": "busy" };

export class Engine {
  constructor(stage, factory) {
    this.stage = stage;
    this.factory = factory;
    this.dir = "/db";
    this.options = "";
  }

  // A fresh instance of the stage's module: its own memory and file
  // system, its durable copy in the browser's storage (durable.js).
  async start() {
    const module = await this.factory({ print: () => {}, printErr: () => {} });
    module.kvDurable = new Durable(module.FS, `kvlab/${this.stage}/`);
    this.attach(module);
  }

  attach(module) {
    this.m = module;
    this.durable = module.kvDurable;
    const w = (name, ret, args) => module.cwrap(name, ret, args);
    this.c = {
      open: w("lab_open", "number", ["string", "string"]),
      close: w("lab_close", "number", []),
      put: w("lab_put", "number", ["string", "string"]),
      get: w("lab_get", "number", ["string"]),
      del: w("lab_del", "number", ["string"]),
      scan: w("lab_scan", "number", ["string", "number"]),
      batch: w("lab_batch", "number", ["string"]),
      snapshot: w("lab_snapshot", "number", []),
      getAt: w("lab_get_at", "number", ["number", "string"]),
      snapshotFree: w("lab_snapshot_free", "number", ["number"]),
      compact: w("lab_compact", "number", []),
      flush: w("lab_flush", "number", []),
      inspect: w("lab_inspect", "number", ["number"]),
      inspectGet: w("lab_inspect_get", "number", ["string"]),
      stats: w("lab_stats", "number", []),
      text: w("lab_text", "string", []),
      errmsg: w("lab_errmsg", "string", []),
    };
  }

  // Whether the browser's storage holds a database of this stage.
  hasDurable() {
    return this.durable.has(this.dir);
  }

  // A power cut: the module is dropped as it is (no kv_close, nothing more
  // written), a fresh one finds only what was made durable, and kv_open
  // recovers from that.
  async powercut(options) {
    await this.start();
    this.durable.restore(this.dir);
    return this.open(options);
  }

  // A kv.h status as a word, with kv_errmsg() for a failure.
  result(rc) {
    if (rc < 0) return { ok: false, rc, text: `${STATUS[rc] || rc}: ${this.c.errmsg()}` };
    return { ok: true, rc, text: this.c.text(), word: STATUS[rc] };
  }

  open(options) {
    this.options = options;
    return this.result(this.c.open(this.dir, options));
  }

  close() {
    return this.result(this.c.close());
  }

  // Closes, removes the database's files, opens an empty one.
  reset(options) {
    this.close();
    this.durable.clear();
    const FS = this.m.FS;
    const remove = (path) => {
      if (!FS.analyzePath(path).exists) return;
      if (FS.isDir(FS.stat(path).mode)) {
        for (const name of FS.readdir(path)) if (name !== "." && name !== "..") remove(`${path}/${name}`);
        FS.rmdir(path);
      } else {
        FS.unlink(path);
      }
    };
    remove(this.dir);
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

  inspect() {
    const r = this.result(this.c.inspect(1));
    return r.ok ? parseLines(r.text) : [];
  }

  inspectGet(key) {
    const r = this.result(this.c.inspectGet(key));
    return r.ok ? parseLines(r.text) : [];
  }

  // kv_stats as {name: value}, numbers where they are numbers.
  stats() {
    const r = this.result(this.c.stats());
    const out = {};
    if (!r.ok) return out;
    for (const line of r.text.split("\n")) {
      const i = line.indexOf(": ");
      if (i < 0) continue;
      const v = line.slice(i + 2);
      out[line.slice(0, i)] = /^-?[0-9]+(\.[0-9]+)?$/.test(v) ? Number(v) : v;
    }
    return out;
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
