// durable.js: what a power cut would leave of one stage's database.  The
// engine's I/O layer (common/io_posix_wasm.c) tells it what each sync
// made durable:
//   file(path, bytes)   a file's sync: these are its bytes now;
//   dir(dir)            a directory's sync: these are its names now;
//   rename, unlink      durable at once.
// A name created and not yet synced in its directory is lost, with its
// bytes, and a file's bytes are as of its last sync: of what POSIX allows
// a power cut to leave, the outcome that loses the most.  Only paths
// under the database's directory (root) count; the page's scratch
// directories (an options probe) are not the database.
//
// The durable image lives in the page's memory, so the console's
// `powercut` keeps exactly what was synced, whatever its size.  Each
// change is also written to the browser's storage (localStorage), so that
// reloading the page is a power cut too.  That storage is small (Chromium
// gives a page opened from disk 5,242,880 characters, for every stage
// together): bytes are packed 15 bits to a character, about 9.8 MB.  When
// a write to it fails, this stage's copy there is dropped whole (a copy
// with some files of one sync and some of another would be no state a
// disk could be in), a note saying so is kept in its place, and
// onFull(message) tells the page: the stage goes on, powercut still
// keeps what it synced, but a reload will find it empty, and says why.
// A reset (clear) starts the copy again.

// 15 bits a character, from U+0100: no control character, no surrogate.
const BASE = 0x100;

export function pack(bytes) {
  const codes = [];
  let acc = 0, bits = 0;
  for (let i = 0; i < bytes.length; i++) {
    acc = (acc << 8) | bytes[i];
    bits += 8;
    if (bits >= 15) {
      bits -= 15;
      codes.push(BASE + ((acc >>> bits) & 0x7fff));
      acc &= (1 << bits) - 1;
    }
  }
  if (bits > 0) codes.push(BASE + ((acc << (15 - bits)) & 0x7fff));
  let s = `${bytes.length}:`;
  for (let i = 0; i < codes.length; i += 0x4000) s += String.fromCharCode.apply(null, codes.slice(i, i + 0x4000));
  return s;
}

export function unpack(text) {
  const colon = text.indexOf(":");
  const n = Number(text.slice(0, colon));
  const out = new Uint8Array(n);
  let acc = 0, bits = 0, o = 0;
  for (let i = colon + 1; i < text.length && o < n; i++) {
    acc = (acc << 15) | ((text.charCodeAt(i) - BASE) & 0x7fff);
    bits += 15;
    while (bits >= 8 && o < n) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

const dirOf = (path) => path.slice(0, path.lastIndexOf("/")) || "/";
const baseOf = (path) => path.slice(path.lastIndexOf("/") + 1);

export class Durable {
  constructor(stage, root, storage = globalThis.localStorage) {
    this.stage = stage;
    this.root = root;                 // "/db"
    this.prefix = `kvlab/${stage}/`;  // keys in the browser's storage
    this.store = storage;
    this.files = new Map();           // path -> bytes as of its last sync
    this.names = new Map();           // dir -> {files: [...], dirs: [...]}, as of its last sync
    this.FS = null;
    this.onFull = () => {};
    this.dropped = this.store.getItem(`${this.prefix}dropped`);  // why the storage has no copy
  }

  attach(FS) {
    this.FS = FS;
  }

  mine(path) {
    return path === this.root || path.startsWith(`${this.root}/`);
  }

  // ---- the hooks of io_posix_wasm.c: each returns true (a sync never
  // fails for want of room: the image is in memory; only lab.failSync()
  // makes one fail, to show what an engine does with a failed sync) ----

  file(path, bytes) {
    if (!this.mine(path)) return true;
    // lab.failSync() (for the browser test): this sync fails, as a disk's can.
    if (this.failNext) {
      this.failNext = false;
      return false;
    }
    this.files.set(path, bytes.slice());
    this.mirror(`bytes:${path}`, () => pack(bytes));
    return true;
  }

  dir(dir) {
    if (!this.mine(dir)) return true;
    const FS = this.FS;
    const files = [], dirs = [];
    for (const name of FS.readdir(dir)) {
      if (name === "." || name === "..") continue;
      (FS.isDir(FS.stat(`${dir}/${name}`.replace("//", "/")).mode) ? dirs : files).push(name);
    }
    // Bytes kept for a name the directory no longer has are garbage.
    const old = this.names.get(dir);
    if (old) for (const name of old.files) if (!files.includes(name)) this.forget(`${dir}/${name}`);
    this.setNames(dir, { files, dirs });
    return true;
  }

  rename(from, to) {
    if (!this.mine(from) && !this.mine(to)) return;
    const bytes = this.files.get(from);
    this.forget(to);
    if (bytes !== undefined) {
      this.forget(from);
      if (this.mine(to)) {
        this.files.set(to, bytes);
        this.mirror(`bytes:${to}`, () => pack(bytes));
      }
    }
    const a = this.names.get(dirOf(from));
    if (a && a.files.includes(baseOf(from))) {
      this.setNames(dirOf(from), { ...a, files: a.files.filter((n) => n !== baseOf(from)) });
      if (this.mine(to)) {
        const b = this.names.get(dirOf(to)) || { files: [], dirs: [] };
        if (!b.files.includes(baseOf(to))) this.setNames(dirOf(to), { ...b, files: [...b.files, baseOf(to)] });
      }
    }
  }

  unlink(path) {
    if (!this.mine(path)) return;
    this.forget(path);
    const d = this.names.get(dirOf(path));
    if (d && d.files.includes(baseOf(path))) this.setNames(dirOf(path), { ...d, files: d.files.filter((n) => n !== baseOf(path)) });
  }

  // ---- the image ----

  setNames(dir, names) {
    this.names.set(dir, names);
    this.mirror(`names:${dir}`, () => JSON.stringify(names));
  }

  forget(path) {
    this.files.delete(path);
    this.mirror(`bytes:${path}`, null);
  }

  // Whether anything of the database was made durable.
  has() {
    const d = this.names.get(this.root);
    return d !== undefined && d.files.length > 0;
  }

  // Bytes of the image (what the storage needs, unpacked).
  bytes() {
    let n = 0;
    for (const b of this.files.values()) n += b.length;
    return n;
  }

  // Lays the image out in a fresh file system: every durable name, with
  // its bytes as of its last sync (none: empty).
  restore(FS) {
    const walk = (dir) => {
      const d = this.names.get(dir);
      if (!d) return;
      if (!FS.analyzePath(dir).exists) FS.mkdir(dir);
      for (const name of d.files) FS.writeFile(`${dir}/${name}`, this.files.get(`${dir}/${name}`) || new Uint8Array(0));
      for (const name of d.dirs) walk(`${dir}/${name}`);
    };
    walk(this.root);
  }

  // Forgets the image and the storage's copy (a reset).
  clear() {
    this.files.clear();
    this.names.clear();
    for (const k of this.storageKeys()) this.store.removeItem(k);
    this.dropped = null;
  }

  // ---- the browser's copy ----

  storageKeys() {
    const mine = [];
    for (let i = 0; i < this.store.length; i++) {
      const k = this.store.key(i);
      if (k.startsWith(this.prefix)) mine.push(k);
    }
    return mine;
  }

  // Reads the browser's copy into the image (the page was loaded: a
  // power cut).  Returns what it found: "kept", "none", or "dropped" (the
  // note of a copy dropped for want of room, this.dropped says when).
  load() {
    this.files.clear();
    this.names.clear();
    if (this.dropped) return "dropped";
    for (const k of this.storageKeys()) {
      const rest = k.slice(this.prefix.length);
      const value = this.store.getItem(k);
      if (rest.startsWith("names:")) this.names.set(rest.slice(6), JSON.parse(value));
      else if (rest.startsWith("bytes:")) this.files.set(rest.slice(6), unpack(value));
    }
    return this.has() ? "kept" : "none";
  }

  // Writes one key of the copy (value() null: removes it); on a full
  // storage drops the whole copy and says so once.
  mirror(key, value) {
    if (this.dropped) return;
    const k = `${this.prefix}${key}`;
    if (value === null) {
      this.store.removeItem(k);
      return;
    }
    try {
      this.store.setItem(k, value());
    } catch (e) {
      for (const old of this.storageKeys()) this.store.removeItem(old);
      const need = this.bytes();
      this.dropped = `the browser's storage was full when ${this.stage} synced ${need.toLocaleString("en")} bytes of files`;
      try {
        this.store.setItem(`${this.prefix}dropped`, this.dropped);
      } catch (e2) {
        // Not even the note fits: a reload finds no copy, and says only that.
      }
      this.onFull(`browser storage full: ${this.stage}'s synced files (${need.toLocaleString("en")} bytes) no longer fit ` +
        `in the browser's storage (about 9.8 MB for all stages), so it keeps none of them: the database goes on, ` +
        `powercut still keeps what was synced, but a reload of the page will start it empty. ` +
        `reset it (or show fewer stages and reset) to make room.`);
    }
  }
}
