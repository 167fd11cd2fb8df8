// words.js: a console line cut into words.  A word is its text and its
// bytes: "double quoted" words may hold spaces, and inside the quotes
// \xNN is the byte NN, \\ a backslash and \" a quote, so that any key can
// be typed, a NUL or an invalid UTF-8 sequence included:
//   put "a\x00b" x     a 3-byte key with a NUL in the middle
// Unquoted words are their UTF-8 bytes.  Each word also knows where it
// ends in the line, so that a value can be "the rest of the line".

import { byteString, utf8 } from "./bytes.js";

function unquote(body) {
  const out = [];
  for (let i = 0; i < body.length;) {
    const c = body[i];
    if (c === "\\" && body[i + 1] === "x" && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 2, i + 4))) {
      out.push(parseInt(body.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (c === "\\" && (body[i + 1] === "\\" || body[i + 1] === '"')) {
      out.push(body.charCodeAt(i + 1));
      i += 2;
    } else {
      const cp = body.codePointAt(i);
      const ch = String.fromCodePoint(cp);
      for (const b of utf8(ch)) out.push(b);
      i += ch.length;
    }
  }
  return new Uint8Array(out);
}

// [{text, bytes, end}]: text as typed (quotes removed), bytes (a
// Uint8Array), end (the index in line just past the word).
export function words(line) {
  const out = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m;
  while ((m = re.exec(line)) !== null) {
    const quoted = m[1] !== undefined;
    const bytes = quoted ? unquote(m[1]) : utf8(m[2]);
    out.push({ text: quoted ? m[1] : m[2], bytes, key: byteString(bytes), quoted, start: m.index, end: re.lastIndex });
  }
  return out;
}

// The bytes of the rest of the line after word i: a single quoted word
// there is its bytes; anything else is taken as typed (spaces and all).
export function restBytes(line, ws, i) {
  if (i >= ws.length) return null;
  if (i === ws.length - 1 && ws[i].quoted) return ws[i].bytes;
  return utf8(line.slice(ws[i].start));
}
