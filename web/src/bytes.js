// bytes.js: keys and values as the engines see them, bytes, and as a
// learner reads them.
//
// Inside the page a key is a "byte string": a JavaScript string with one
// character per byte (code 0..255), which is what inspect.js makes of
// kv_inspect's quoted values.  Two byte strings compare as kv.h orders
// keys (bytewise, a prefix first), and they are exact: a NUL or an
// invalid UTF-8 sequence stays what it is.  shown() is what a person
// reads: the bytes decoded as UTF-8 (日本語, not æ—¥æœ¬èªž), with a byte
// that is not part of valid UTF-8, a control character or a backslash
// written \xNN.

const encoder = new TextEncoder();

// A typed string's UTF-8 bytes.
export function utf8(text) {
  return encoder.encode(text);
}

export function byteString(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return s;
}

export function bytesOf(bs) {
  const out = new Uint8Array(bs.length);
  for (let i = 0; i < bs.length; i++) out[i] = bs.charCodeAt(i) & 0xff;
  return out;
}

const escapeByte = (b) => `\\x${b.toString(16).padStart(2, "0")}`;

// The code point of the UTF-8 sequence at bytes[i], and its length; or
// null if none starts there (a stray continuation byte, an overlong
// form, a surrogate, a sequence cut short).
function utf8At(bytes, i) {
  const b0 = bytes[i];
  if (b0 < 0x80) return [b0, 1];
  const n = b0 >= 0xf0 && b0 <= 0xf4 ? 4 : b0 >= 0xe0 ? (b0 <= 0xef ? 3 : 0) : b0 >= 0xc2 ? 2 : 0;
  if (n === 0 || i + n > bytes.length) return null;
  let cp = b0 & (0xff >> (n + 1));
  for (let k = 1; k < n; k++) {
    const b = bytes[i + k];
    if ((b & 0xc0) !== 0x80) return null;
    cp = (cp << 6) | (b & 0x3f);
  }
  const least = [0, 0, 0x80, 0x800, 0x10000][n];
  if (cp < least || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
  return [cp, n];
}

// The bytes as readable text: UTF-8 where they are, \xNN where not (and
// for control characters and the backslash); at most max characters,
// then "…".
export function shown(bs, max = Infinity) {
  const bytes = typeof bs === "string" ? bytesOf(bs) : bs;
  let out = "";
  let chars = 0;
  for (let i = 0; i < bytes.length;) {
    if (chars >= max) return `${out}…`;
    const at = utf8At(bytes, i);
    if (at === null || at[0] < 0x20 || at[0] === 0x7f || at[0] === 0x5c) {
      out += escapeByte(bytes[i]);
      i++;
    } else {
      out += String.fromCodePoint(at[0]);
      i += at[1];
    }
    chars++;
  }
  return out;
}

// Text already readable, cut to max characters (code points), then "…".
export function clip(text, max) {
  const chars = [...String(text)];
  return chars.length > max ? `${chars.slice(0, Math.max(0, max - 1)).join("")}…` : String(text);
}

// A key cut to max characters, keeping the end that tells keys apart:
// the part after what it shares with its neighbours (prefix), so that
// "user:000123" next to "user:000124" reads "…0123", not "user:00…".
export function cutKey(text, max, prefix = 0) {
  const chars = [...text];
  if (chars.length <= max) return text;
  if (max <= 1) return "…";
  // Keep the first character or two when they are what differs.
  const skip = Math.max(0, Math.min(prefix, chars.length - max + 1));
  if (skip === 0) return `${chars.slice(0, max - 1).join("")}…`;
  const rest = chars.slice(skip);
  return rest.length + 1 <= max ? `…${rest.join("")}` : `…${rest.slice(rest.length - (max - 1)).join("")}`;
}

// How many leading characters two strings share.
export function sharedPrefix(a, b) {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

// A value for the console: quoted, cut at max characters with its size.
export function quoted(bs, max = 60) {
  const text = shown(bs, max);
  return bs.length > max ? `"${text}" (${bs.length.toLocaleString("en")} bytes)` : `"${text}"`;
}

export function kib(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}
