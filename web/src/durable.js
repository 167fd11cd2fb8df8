// durable.js: what a power cut would leave of one stage's database, kept
// in the browser's storage (localStorage), so that reloading the page is a
// power cut, and so is the console's `powercut`.  The engine's I/O layer
// (common/io_posix_wasm.c) tells it what each sync made durable:
//   file(path, bytes)   a file's sync: these are its bytes now;
//   dir(dir)            a directory's sync: these are its names now;
//   rename, unlink      durable at once.
// A name created and not yet synced in its directory is lost, with its
// bytes, and a file's bytes are as of its last sync: of what POSIX allows
// a power cut to leave, the outcome that loses the most.  localStorage is
// written before the call returns, so nothing a sync acknowledged is lost
// by a reload; when it is full, file() and dir() say no and the engine's
// sync fails with an I/O error.

function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const dirOf = (path) => path.slice(0, path.lastIndexOf("/")) || "/";

export class Durable {
  constructor(FS, prefix) {
    this.FS = FS;
    this.prefix = prefix;           // "kvlab/01-log/"
    this.store = globalThis.localStorage;
  }

  key(kind, path) {
    return `${this.prefix}${kind}:${path}`;
  }

  set(key, value) {
    try {
      this.store.setItem(key, value);
      return true;
    } catch (e) {
      return false;                 // full: the sync fails
    }
  }

  names(dir) {
    const text = this.store.getItem(this.key("names", dir));
    return text ? JSON.parse(text) : null;
  }

  file(path, bytes) {
    return this.set(this.key("bytes", path), toBase64(bytes));
  }

  dir(dir) {
    const FS = this.FS;
    const files = [], dirs = [];
    for (const name of FS.readdir(dir)) {
      if (name === "." || name === "..") continue;
      (FS.isDir(FS.stat(`${dir}/${name}`.replace("//", "/")).mode) ? dirs : files).push(name);
    }
    // Bytes kept for a name the directory no longer has are garbage.
    const old = this.names(dir);
    if (old) for (const name of old.files) if (!files.includes(name)) this.store.removeItem(this.key("bytes", `${dir}/${name}`));
    return this.set(this.key("names", dir), JSON.stringify({ files, dirs }));
  }

  rename(from, to) {
    const bytes = this.store.getItem(this.key("bytes", from));
    this.store.removeItem(this.key("bytes", to));
    if (bytes !== null) {
      this.store.removeItem(this.key("bytes", from));
      this.set(this.key("bytes", to), bytes);
    }
    const a = this.names(dirOf(from)), fromName = from.slice(from.lastIndexOf("/") + 1);
    if (a && a.files.includes(fromName)) {
      a.files = a.files.filter((n) => n !== fromName);
      this.set(this.key("names", dirOf(from)), JSON.stringify(a));
      const b = this.names(dirOf(to)) || { files: [], dirs: [] }, toName = to.slice(to.lastIndexOf("/") + 1);
      if (!b.files.includes(toName)) b.files.push(toName);
      this.set(this.key("names", dirOf(to)), JSON.stringify(b));
    }
  }

  unlink(path) {
    this.store.removeItem(this.key("bytes", path));
    const d = this.names(dirOf(path)), name = path.slice(path.lastIndexOf("/") + 1);
    if (d && d.files.includes(name)) {
      d.files = d.files.filter((n) => n !== name);
      this.set(this.key("names", dirOf(path)), JSON.stringify(d));
    }
  }

  // Whether anything of the database under root was made durable.
  has(root) {
    const d = this.names(root);
    return d !== null && d.files.length > 0;
  }

  // Lays the durable copy of root out in the file system (a fresh one):
  // every durable name, with its bytes as of its last sync (none: empty).
  restore(root) {
    const FS = this.FS;
    const walk = (dir) => {
      const d = this.names(dir);
      if (!d) return;
      if (!FS.analyzePath(dir).exists) FS.mkdir(dir);
      for (const name of d.files) {
        const bytes = this.store.getItem(this.key("bytes", `${dir}/${name}`));
        FS.writeFile(`${dir}/${name}`, bytes === null ? new Uint8Array(0) : fromBase64(bytes));
      }
      for (const name of d.dirs) walk(`${dir}/${name}`);
    };
    walk(root);
  }

  // Forgets the durable copy (a reset).
  clear() {
    const mine = [];
    for (let i = 0; i < this.store.length; i++) {
      const k = this.store.key(i);
      if (k.startsWith(this.prefix)) mine.push(k);
    }
    for (const k of mine) this.store.removeItem(k);
  }
}
