#!/usr/bin/env python3
"""raft_timeline.py PREFIX: where a one-client write's time goes.

Reads the members' timelines (stages/10-raft/peer/timeline.h: a group
run with KV_RAFT_TIMELINE=PREFIX writes PREFIX.PID for each member) and
lines them up write by write: for each batch the leader proposed, the
first step of each kind that followed it, at the leader and at each
follower, in the order a write takes them.  Prints the median (and the
90th percentile) of each gap in microseconds over the writes in which
every step was found, on the path of the follower whose answer came
first (and, for comparing with the leader's own, every follower's
append).  Meant for one client, whose writes do not overlap
(docs/perf-10-raft.md, "A one-client write's timeline").
"""
import glob
import sys
from bisect import bisect_left

PROPOSE, SEND, PIPE_IN, TCP_OUT, TCP_IN, PIPE_OUT, APPEND, APPENDED, ANSWERED, LIBUV, PASS = \
    range(1, 12)


def load(path):
    steps = {}
    for line in open(path):
        if line.startswith("#"):
            continue
        ns, step, arg = (int(x) for x in line.split())
        steps.setdefault(step, []).append((ns, arg))
    return steps


class Member:
    def __init__(self, path):
        self.path = path
        self.steps = load(path)
        self.times = {k: [t for t, _ in v] for k, v in self.steps.items()}

    def first(self, step, after, arg=None, before=None):
        """The first `step` at or after `after` (with `arg`, if given)."""
        times = self.times.get(step, [])
        i = bisect_left(times, after)
        while i < len(times):
            t, a = self.steps[step][i]
            if before is not None and t >= before:
                return None
            if arg is None or a == arg:
                return t
            i += 1
        return None

    def count(self, step, lo, hi):
        times = self.times.get(step, [])
        return bisect_left(times, hi) - bisect_left(times, lo)


def quantile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: raft_timeline.py PREFIX")
    members = [Member(p) for p in sorted(glob.glob(sys.argv[1] + ".*"))]
    leader = max(members, key=lambda m: len(m.times.get(PROPOSE, [])))
    followers = [m for m in members if m is not leader]
    proposals = leader.times.get(PROPOSE, [])
    rows = {}
    order = []
    last_own = 0
    found = 0
    passes = {"leader": [], "follower": []}

    def gap(name, a, b):
        if name not in rows:
            rows[name] = []
            order.append(name)
        rows[name].append((b - a) / 1000.0)

    for i, t0 in enumerate(proposals):
        t1 = proposals[i + 1] if i + 1 < len(proposals) else float("inf")
        send = leader.first(SEND, t0, before=t1)
        pipe_in = send and leader.first(PIPE_IN, send, before=t1)
        own = leader.first(APPEND, t0, before=t1)
        own_done = own and leader.first(APPENDED, own, before=t1)
        answered = leader.first(ANSWERED, t0, before=t1)
        if None in (send, pipe_in, own, own_done, answered):
            continue
        paths = []
        for f in followers:
            f_in = f.first(TCP_IN, pipe_in, before=t1)
            f_pipe = f_in and f.first(PIPE_OUT, f_in, before=t1)
            f_app = f_pipe and f.first(APPEND, f_pipe, before=t1)
            f_done = f_app and f.first(APPENDED, f_app, before=t1)
            f_send = f_done and f.first(SEND, f_done, before=t1)
            f_pin = f_send and f.first(PIPE_IN, f_send, before=t1)
            f_out = f_pin and f.first(TCP_OUT, f_pin, before=t1)
            if None in (f_in, f_pipe, f_app, f_done, f_send, f_pin, f_out):
                continue
            l_in = leader.first(TCP_IN, f_out, before=t1)
            l_pipe = l_in and leader.first(PIPE_OUT, l_in, before=t1)
            if None in (l_in, l_pipe):
                continue
            paths.append((l_pipe, f, (f_in, f_pipe, f_app, f_done, f_send, f_pin, f_out, l_in)))
        if not paths:
            continue
        paths.sort(key=lambda p: p[0])
        l_pipe, f, (f_in, f_pipe, f_app, f_done, f_send, f_pin, f_out, l_in) = paths[0]
        # the leader's message to this follower left at its first TCP_OUT after pipe_in
        l_out = leader.first(TCP_OUT, pipe_in, before=t1)
        if l_out is None or l_out > f_in:
            continue
        found += 1
        gap("propose -> libraft sends AppendEntries", t0, send)
        gap("  -> transport reads it from the pair", send, pipe_in)
        gap("  -> encrypted, on the wire (first follower)", pipe_in, l_out)
        gap("  -> follower: bytes arrive", l_out, f_in)
        gap("  -> follower: decrypted, written to its pair", f_in, f_pipe)
        gap("  -> follower: libraft submits its append", f_pipe, f_app)
        gap("  -> follower: append done (disk)", f_app, f_done)
        gap("  -> follower: libraft sends its answer", f_done, f_send)
        gap("  -> follower: transport reads it from the pair", f_send, f_pin)
        gap("  -> follower: encrypted, on the wire", f_pin, f_out)
        gap("  -> leader: the answer's bytes arrive", f_out, l_in)
        gap("  -> leader: decrypted, written to its pair", l_in, l_pipe)
        for _, _, steps in paths:
            gap("any follower: its append (disk)", steps[2], steps[3])
        gap("leader: propose -> its own append submitted", t0, own)
        gap("leader: its own append (disk)", own, own_done)
        ready = max(l_pipe, own_done)
        gap("leader: last of (answer in pair, own append) -> answered", ready, answered)
        gap("propose -> answered", t0, answered)
        if own_done > l_pipe:
            last_own += 1
        passes["leader"].append(leader.count(PASS, t0, answered))
        passes["follower"].append(f.count(PASS, f_in, f_out + 1))
    print("writes lined up: %d of %d proposals" % (found, len(proposals)))
    print("%-58s %8s %8s %8s" % ("gap (microseconds)", "median", "p90", "mean"))
    for name in order:
        xs = rows[name]
        print("%-58s %8.1f %8.1f %8.1f" % (name, quantile(xs, 0.5), quantile(xs, 0.9),
                                           sum(xs) / len(xs)))
    print("the leader's own append done after the first answer: %d of %d" % (last_own, found))
    print("server loop passes a write: leader %.1f (median), first follower %.1f" %
          (quantile(passes["leader"], 0.5), quantile(passes["follower"], 0.5)))


if __name__ == "__main__":
    main()
