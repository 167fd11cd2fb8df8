#!/usr/bin/env python3
"""space_after_watch.py: the space a WATCH pins, and whether it comes back
(`make bench-space`).

    python3 scripts/space_after_watch.py [--keys N] [--before N] [--after N]
                                         [--value-bytes N] build/S/kv...

For each kv binary given (a stage each), two runs on fresh directories:
  watched   a client WATCHes a key (and stays idle), N SETs (default
            500,000) over K keys (default 10,000), the client UNWATCHes,
            M more SETs (default 400,000);
  plain     the same SETs, no WATCH.
The SETs are pipelined by one client, values of V bytes (default 100)
that do not compress.  The server runs with --watch-max-age 0 (a WATCH
lives until UNWATCH) and nothing asks for a compaction: what comes back
comes back by itself.  Prints, per run, the directory's bytes after the
first SETs and after the last ones (once it has stayed the same for 3 s:
background work is over), and the ratio of the watched run's final size
to the plain one's.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import server_test as st  # noqa: E402


def dir_bytes(path):
    total = 0
    for name in os.listdir(path):
        try:
            total += os.stat(os.path.join(path, name)).st_size
        except FileNotFoundError:
            pass  # removed meanwhile
    return total


def settled_bytes(path, quiet=3.0, limit=120.0):
    """The directory's size once it has not changed for `quiet` seconds."""
    last, since, start = dir_bytes(path), time.time(), time.time()
    while time.time() - since < quiet and time.time() - start < limit:
        time.sleep(0.25)
        now = dir_bytes(path)
        if now != last:
            last, since = now, time.time()
    return last


def sets(c, n, nkeys, vbytes, start):
    pipe = 256
    for base in range(0, n, pipe):
        req = []
        for i in range(base, min(n, base + pipe)):
            k = (start + i) * 7919 % nkeys
            v = os.urandom(vbytes // 2).hex().encode()[:vbytes]
            req.append(st.encode("SET", "key:%08d" % k, v))
        c.send(b"".join(req))
        for _ in req:
            r = c.reply()
            st.check(r == b"OK", "SET: %r" % r)


def run(kv, a, watched):
    tmp = tempfile.mkdtemp(prefix="kvspace.")
    d = os.path.join(tmp, "db")
    try:
        s = st.Server(d, "--watch-max-age", "0")
        c, w = s.connect(), s.connect()
        if watched:
            st.check(w.cmd("WATCH", "key:00000000") == b"OK", "WATCH")
        sets(c, a.before, a.keys, a.value_bytes, 0)
        first = settled_bytes(d)
        if watched:
            st.check(w.cmd("UNWATCH") == b"OK", "UNWATCH")
        sets(c, a.after, a.keys, a.value_bytes, a.before)
        final = settled_bytes(d)
        st.check(s.stop() == 0, "exit status")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return first, final


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=10000)
    ap.add_argument("--before", type=int, default=500000)
    ap.add_argument("--after", type=int, default=400000)
    ap.add_argument("--value-bytes", type=int, default=100)
    ap.add_argument("kv", nargs="+")
    a = ap.parse_args()
    print("%d keys, values of %d bytes; %d SETs (watched: with a WATCH), UNWATCH, %d SETs"
          % (a.keys, a.value_bytes, a.before, a.after))
    print("%-24s %-8s %14s %14s" % ("kv", "run", "after first", "after last"))
    for kv in a.kv:
        st.KV = kv
        sizes = {}
        for watched in (True, False):
            first, final = run(kv, a, watched)
            name = "watched" if watched else "plain"
            sizes[name] = final
            print("%-24s %-8s %11.1f MB %11.1f MB" % (kv, name, first / 1e6, final / 1e6),
                  flush=True)
        print("%-24s final watched / plain: %.2fx" % (kv, sizes["watched"] / sizes["plain"]),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
