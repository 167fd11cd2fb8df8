//! batching DIR: a key-value engine in Rust, standard library only, that
//! speaks kvgrade's protocol (RESP2 on standard input and output: SET GET
//! DEL RANGE MSET; docs/kvgrade.md) and keeps every acknowledged write
//! (durability sync).  It answers what has arrived as one batch: every
//! request answered in memory, the writes of all of them appended to
//! DIR/data.log as ONE record, one fsync, then every reply (group commit).
//! The record format is kvgrade/examples/correct.py's: hcrc u32 (crc32 of
//! the next 8 bytes), len u32, bcrc u32 (crc32 of the body), body (ops:
//! op u8, klen u32, vlen u32, key, value; little-endian).
//!
//! One record per sync keeps correct.py's recovery rule exact: a power cut
//! can tear only the last record, so a bad record with nothing good after
//! it is dropped (the file cut back before it), and a bad record with a
//! good one after it is damage to durable bytes, refused.
//!
//! Rust notes this engine follows: `stdout()` is line-buffered whether or
//! not it is a terminal, so the replies of a batch are written into one
//! buffer and sent with one `write_all` and `flush`; recovery returns an
//! error (exit status 1) instead of panicking, since a panic under
//! `panic = "abort"` is a signal, not a refusal; `BTreeMap::range` panics
//! when its start is past its end, so RANGE checks that first.
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::ops::Bound;
use std::process::exit;

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

fn u32_at(d: &[u8], p: usize) -> u32 {
    u32::from_le_bytes([d[p], d[p + 1], d[p + 2], d[p + 3]])
}

/// The length of a whole record at pos, if one starts there.
fn whole(d: &[u8], pos: usize) -> Option<usize> {
    if d.len() < pos + 12 || crc32(&d[pos + 4..pos + 12]) != u32_at(d, pos) {
        return None;
    }
    let n = u32_at(d, pos + 4) as usize;
    if d.len() - pos - 12 < n || crc32(&d[pos + 12..pos + 12 + n]) != u32_at(d, pos + 8) {
        return None;
    }
    Some(12 + n)
}

fn apply(body: &[u8], db: &mut Map) -> Result<(), String> {
    let mut i = 0;
    while i < body.len() {
        if body.len() - i < 9 {
            return Err("an op cut short".into());
        }
        let (kn, vn) = (u32_at(body, i + 1) as usize, u32_at(body, i + 5) as usize);
        if body.len() - i - 9 < kn + vn {
            return Err("an op past its record".into());
        }
        let k = body[i + 9..i + 9 + kn].to_vec();
        if body[i] == b'S' {
            db.insert(k, body[i + 9 + kn..i + 9 + kn + vn].to_vec());
        } else {
            db.remove(&k);
        }
        i += 9 + kn + vn;
    }
    Ok(())
}

/// Replays the log into db: the length of its good part, or why it is refused.
fn replay(d: &[u8], db: &mut Map) -> Result<usize, String> {
    let mut pos = 0;
    while pos < d.len() {
        match whole(d, pos) {
            Some(n) => {
                apply(&d[pos + 12..pos + n], db).map_err(|e| format!("data.log: byte {}: {}", pos, e))?;
                pos += n;
            }
            None if (pos + 1..d.len()).any(|q| whole(d, q).is_some()) => {
                return Err(format!("data.log: a bad record at byte {}, good ones after it", pos));
            }
            None => break, // the last record, torn by a power cut: never acknowledged
        }
    }
    Ok(pos)
}

fn record(ops: &[u8]) -> Vec<u8> {
    let mut head = Vec::with_capacity(8);
    head.extend_from_slice(&(ops.len() as u32).to_le_bytes());
    head.extend_from_slice(&crc32(ops).to_le_bytes());
    let mut r = crc32(&head).to_le_bytes().to_vec();
    r.extend_from_slice(&head);
    r.extend_from_slice(ops);
    r
}

fn op(ops: &mut Vec<u8>, kind: u8, k: &[u8], v: &[u8]) {
    ops.push(kind);
    ops.extend_from_slice(&(k.len() as u32).to_le_bytes());
    ops.extend_from_slice(&(v.len() as u32).to_le_bytes());
    ops.extend_from_slice(k);
    ops.extend_from_slice(v);
}

fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

/// A number ended by \r\n at p: Ok(Some((value, after))), Ok(None) if more must come.
fn number(b: &[u8], p: usize) -> Result<Option<(usize, usize)>, String> {
    let Some(off) = b[p..].windows(2).position(|w| w == b"\r\n") else { return Ok(None) };
    let s = std::str::from_utf8(&b[p..p + off]).map_err(|_| "not a number")?;
    let v = s.parse::<usize>().map_err(|_| format!("not a number: {:?}", s))?;
    Ok(Some((v, p + off + 2)))
}

/// A whole request at pos: Ok(Some((args, end))), Ok(None) if more must come.
fn request(b: &[u8], pos: usize) -> Result<Option<(Vec<Vec<u8>>, usize)>, String> {
    if pos == b.len() {
        return Ok(None);
    }
    if b[pos] != b'*' {
        return Err("a request is an array".into());
    }
    let Some((count, mut p)) = number(b, pos + 1)? else { return Ok(None) };
    let mut args = Vec::with_capacity(count);
    for _ in 0..count {
        if p == b.len() {
            return Ok(None);
        }
        if b[p] != b'$' {
            return Err("an argument is a bulk string".into());
        }
        let Some((n, q)) = number(b, p + 1)? else { return Ok(None) };
        if b.len() < q + n + 2 {
            return Ok(None);
        }
        args.push(b[q..q + n].to_vec());
        p = q + n + 2;
    }
    Ok(Some((args, p)))
}

/// Answers a request into out, applies its writes to db and adds them to ops.
fn answer(a: &[Vec<u8>], db: &mut Map, ops: &mut Vec<u8>, out: &mut Vec<u8>) {
    let cmd = a.first().map(|c| c.to_ascii_uppercase()).unwrap_or_default();
    match (cmd.as_slice(), a.len()) {
        (b"GET", 2) => match db.get(&a[1]) {
            Some(v) => bulk(out, v),
            None => out.extend_from_slice(b"$-1\r\n"),
        },
        (b"SET", 3) | (b"MSET", _) if a.len() >= 3 && a.len() % 2 == 1 => {
            for kv in a[1..].chunks(2) {
                op(ops, b'S', &kv[0], &kv[1]);
                db.insert(kv[0].clone(), kv[1].clone());
            }
            out.extend_from_slice(b"+OK\r\n");
        }
        (b"DEL", 2) => {
            let had = db.remove(&a[1]).is_some();
            if had {
                op(ops, b'D', &a[1], b"");
            }
            out.extend_from_slice(if had { b":1\r\n" } else { b":0\r\n" });
        }
        (b"RANGE", 4) => {
            let limit = std::str::from_utf8(&a[3]).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
            let end = if a[2].is_empty() { Bound::Unbounded } else { Bound::Excluded(a[2].clone()) };
            // BTreeMap::range panics when start > end: such a range is empty.
            let pairs: Vec<(&Vec<u8>, &Vec<u8>)> = if !a[2].is_empty() && a[1] >= a[2] {
                Vec::new()
            } else {
                db.range((Bound::Included(a[1].clone()), end)).take(limit).collect()
            };
            out.extend_from_slice(format!("*{}\r\n", 2 * pairs.len()).as_bytes());
            for (k, v) in pairs {
                bulk(out, k);
                bulk(out, v);
            }
        }
        _ => out.extend_from_slice(b"-ERR unknown command\r\n"),
    }
}

fn sync_dir(dir: &str) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

fn run(dir: &str) -> Result<(), String> {
    let path = format!("{}/data.log", dir);
    let io = |e: std::io::Error| format!("{}: {}", path, e);
    if !std::path::Path::new(&path).exists() {
        File::create(&path).map_err(io)?;
        sync_dir(dir).map_err(io)?; // the new name on stable storage
    }
    let mut db = Map::new();
    let mut log = OpenOptions::new().read(true).append(true).open(&path).map_err(io)?;
    let mut data = Vec::new();
    log.read_to_end(&mut data).map_err(io)?;
    let good = replay(&data, &mut db)?;
    log.set_len(good as u64).map_err(io)?; // the torn tail cut off the file, not only dropped
    log.sync_all().map_err(io)?;
    let (mut stdin, mut stdout) = (std::io::stdin().lock(), std::io::stdout().lock());
    let (mut buf, mut chunk) = (Vec::new(), vec![0u8; 1 << 16]);
    loop {
        let n = stdin.read(&mut chunk).map_err(|e| format!("standard input: {}", e))?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        let (mut pos, mut ops, mut out) = (0, Vec::new(), Vec::new());
        while let Some((args, end)) = request(&buf, pos)? {
            answer(&args, &mut db, &mut ops, &mut out);
            pos = end;
        }
        buf.drain(..pos);
        if !ops.is_empty() {
            log.write_all(&record(&ops)).map_err(io)?; // one record for the batch,
            log.sync_all().map_err(io)?; // one sync, on stable storage before any answer
        }
        stdout.write_all(&out).and_then(|_| stdout.flush()).map_err(|e| format!("standard output: {}", e))?;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: batching DIR   (RESP2 on standard input and output: docs/kvgrade.md)");
        exit(2);
    }
    if let Err(why) = run(&args[1]) {
        eprintln!("{}", why);
        exit(1);
    }
}
