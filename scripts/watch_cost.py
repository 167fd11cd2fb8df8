#!/usr/bin/env python3
"""watch_cost.py: what a WATCH costs `kv serve` (`make bench-watch`).

    python3 scripts/watch_cost.py [--keys N] [--watches N] [--watchers N] build/S/kv...

For each kv binary given (a stage each): a fresh database of N keys (default
200,000: 16-byte keys, 16-byte values, written with pipelined MSETs), then
on an otherwise idle server:
  - WATCH: the round trip of WATCH k / UNWATCH pairs, N times (default 200),
    each WATCH timed alone: the loop runs nothing else meanwhile, so its
    round trip bounds the loop time it took; PING's round trip, timed the
    same way, is the floor (the network and the loop's own pass);
  - memory: the server's resident set before and after W clients (default
    20) each WATCH a key and stay, divided by W.
Prints one line per stage: WATCH's median and largest round trip, PING's
(the largest says how noisy the machine was), and the memory per watcher.  The server is a release build
(build/S/kv); TMPDIR holds the databases (/dev/shm if unset).
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import server_test as st  # noqa: E402


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def fill(c, nkeys):
    batch = 1000
    for i in range(0, nkeys, batch):
        args = []
        for j in range(i, min(nkeys, i + batch)):
            args += ["key:%012d" % j, "value:%010d" % j]
        c.send(st.encode("MSET", *args))
    for i in range(0, nkeys, batch):
        r = c.reply()
        st.check(r == b"OK", "MSET: %r" % r)


def round_trips(c, n, *cmds):
    """The round trip of cmds[0] (each with the others after it, untimed)."""
    times = []
    for i in range(n):
        words = [w % i if isinstance(w, str) and "%" in w else w for w in cmds[0]]
        t0 = time.perf_counter()
        r = c.cmd(*words)
        times.append(time.perf_counter() - t0)
        st.check(not isinstance(r, st.Err), "%s: %r" % (words[0], r))
        for more in cmds[1:]:
            st.check(not isinstance(c.cmd(*more), st.Err), "%s" % (more,))
    return times


def measure(kv, a):
    st.KV = kv
    tmp = tempfile.mkdtemp(prefix="kvwatch.")
    try:
        s = st.Server(os.path.join(tmp, "db"))
        c = s.connect()
        fill(c, a.keys)
        w = s.connect()
        watch = round_trips(w, a.watches, ("WATCH", "key:%012d"), ("UNWATCH",))
        ping = round_trips(w, a.watches, ("PING",))
        before = rss_bytes(s.proc.pid)
        watchers = [s.connect() for _ in range(a.watchers)]
        for i, k in enumerate(watchers):
            st.check(k.cmd("WATCH", "key:%012d" % (i * 7)) == b"OK", "WATCH")
        per_watcher = (rss_bytes(s.proc.pid) - before) / a.watchers
        s.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return watch, ping, per_watcher


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=200000)
    ap.add_argument("--watches", type=int, default=200)
    ap.add_argument("--watchers", type=int, default=20)
    ap.add_argument("kv", nargs="+")
    a = ap.parse_args()
    print("%d keys; %d WATCHes timed one at a time; %d watchers for memory"
          % (a.keys, a.watches, a.watchers))
    print("%-24s %14s %14s %14s %14s %16s" % ("kv", "WATCH median", "WATCH largest",
                                              "PING median", "PING largest", "memory/watcher"))
    for kv in a.kv:
        watch, ping, per = measure(kv, a)
        print("%-24s %11.3f ms %11.3f ms %11.3f ms %11.3f ms %13.1f KB"
              % (kv, statistics.median(watch) * 1e3, max(watch) * 1e3,
                 statistics.median(ping) * 1e3, max(ping) * 1e3, per / 1024), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
