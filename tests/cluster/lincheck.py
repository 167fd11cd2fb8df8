#!/usr/bin/env python3
"""lincheck.py: is a history of operations on keys linearizable?

  python3 tests/cluster/lincheck.py HISTORY.jsonl

A history is what clients saw: for each operation, when it was invoked
and when (and how) it completed.  It is linearizable if every operation
can be given one instant between its invocation and its completion such
that, taken in the order of those instants, the operations are what a
single copy of the data would have answered (Herlihy and Wing, 1990).
This is the property a replicated store promises when it says its reads
and writes are linearizable: no stale read, no lost write, no value read
that later vanishes.

Each key is a register, checked apart from the others (a history is
linearizable if and only if each key's part is: linearizability is
local).  Per key, the search is Wing and Gong's, with Lowe's memo of the
(linearized set, state) pairs already explored, as Knossos and Porcupine
do it: take the operations in the order of their events; linearize an
operation whose invocation comes next if the register allows it, and go
on; when a completion comes that has not been linearized, undo the last
choice and try the next.

The history, one JSON object a line:

  {"process": 3, "type": "invoke", "f": "write", "key": "x", "value": "1", "time": 17}
  {"process": 3, "type": "ok",     "f": "write", "key": "x", "value": "1", "time": 25}

  type   invoke; then, by the same process, ok (it took effect, with its
         result), fail (it certainly did not take effect: dropped), or
         info (unknown: a timeout, a connection lost; it may take effect
         at any time after its invocation, or never)
  f      read (ok's value: what it read, null for absent), write (value:
         the value written), delete, cas (value: [expected, new]; ok's
         value: true if it swapped, false if it did not; expected null:
         the key absent)
  time   any number that orders the events (monotonic ns); ties are
         taken in the order of the lines

A process has at most one operation outstanding.  Every key starts
absent.  Prints one line per key, and for a key that is not linearizable
the operation no order could place, with its line; exit status 0 if every
key is linearizable, 1 if one is not, 2 on a malformed history.
"""
import json
import sys

INF = float("inf")


class Op:
    __slots__ = ("id", "f", "value", "output", "inv", "ret", "line")

    def __init__(self, id, f, value, inv, line):
        self.id, self.f, self.value, self.inv, self.line = id, f, value, inv, line
        self.output, self.ret = None, INF


def parse(lines):
    """{key: [Op]}, from the history's lines.  Raises ValueError naming the
    line of a malformed one."""
    pending, keys = {}, {}
    for n, text in enumerate(lines, 1):
        text = text.strip()
        if not text:
            continue
        try:
            e = json.loads(text)
            kind, f, p = e["type"], e["f"], e["process"]
            t = float(e["time"])
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError("line %d: not an event: %s" % (n, err))
        if f not in ("read", "write", "delete", "cas"):
            raise ValueError("line %d: unknown f %r" % (n, f))
        if kind == "invoke":
            if p in pending:
                raise ValueError("line %d: process %r invokes with an operation outstanding" %
                                 (n, p))
            if "key" not in e:
                raise ValueError("line %d: an invocation without a key" % n)
            value = e.get("value")
            if f == "cas" and not (isinstance(value, list) and len(value) == 2):
                raise ValueError("line %d: a cas's value is [expected, new]" % n)
            op = Op(0, f, value, t, n)
            ops = keys.setdefault(e["key"], [])
            op.id = len(ops)
            ops.append(op)
            pending[p] = (e["key"], op)
        elif kind in ("ok", "fail", "info"):
            if p not in pending:
                raise ValueError("line %d: process %r completes nothing" % (n, p))
            key, op = pending.pop(p)
            if op.f != f:
                raise ValueError("line %d: completes a %s with a %s" % (n, op.f, f))
            if kind == "fail":
                op.ret = None  # did not happen: dropped below
            elif kind == "ok":
                op.ret = t
                op.output = e.get("value")
        else:
            raise ValueError("line %d: unknown type %r" % (n, kind))
    # Operations still outstanding at the end are unknown, as info is.
    return {k: without_silent_unknowns([o for o in ops if o.ret is not None])
            for k, ops in keys.items()}


def without_silent_unknowns(ops):
    """ops without the unknown ones that cannot change the answer, each
    of which would double the search: an unknown read (any state allows
    it), and, on a key no cas touches, an unknown write whose value no
    read returned.  Had such a write taken effect, another write came
    before any read (else a read would have returned its value), so
    leaving it out changes no read's answer; and leaving it out is what
    "it never took effect" means, which an unknown operation allows.  (A
    cas that answered false can depend on a write no read saw, so a key
    with a cas keeps them.)  The ids are numbered again."""
    read = {json.dumps(o.output) for o in ops if o.f == "read" and o.ret != INF}
    has_cas = any(o.f == "cas" for o in ops)
    kept = [o for o in ops if o.ret != INF or not (
        o.f == "read" or (o.f == "write" and not has_cas and json.dumps(o.value) not in read))]
    for i, o in enumerate(kept):
        o.id = i
    return kept


def step(state, op):
    """(allowed, next state) for op applied to a register holding state
    (None: absent)."""
    if op.f == "write":
        return True, op.value
    if op.f == "delete":
        return True, None
    if op.f == "read":
        # An unknown read says nothing: any state allows it.
        return op.ret == INF or op.output == state, state
    expected, new = op.value
    if op.ret == INF:  # an unknown cas: it swapped if it could, or did nothing
        return state == expected, new
    if op.output:
        return state == expected, new
    return state != expected, state


def check_key(ops):
    """(True, None) if the key's operations are linearizable, else (False,
    the operation that no order could place)."""
    # The events in time order; an invocation before a completion at the
    # same time (the operations overlap).
    events = []
    for o in ops:
        events.append((o.inv, 0, o.line, o, True))
        events.append((o.ret, 1, o.line, o, False))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    n = len(events)
    # A doubly linked list of the events still to place, index n its head.
    nxt = [i + 1 for i in range(n)] + [0 if n else n]
    prv = [n] + [i for i in range(n - 1)] + [n - 1 if n else n]
    if n:
        nxt[n - 1] = n
    match = {}
    for i, e in enumerate(events):
        match.setdefault(e[3].id, [None, None])[0 if e[4] else 1] = i

    def lift(i):
        for j in match[events[i][3].id]:
            nxt[prv[j]] = nxt[j]
            prv[nxt[j]] = prv[j]

    def unlift(i):
        for j in reversed(match[events[i][3].id]):
            nxt[prv[j]] = j
            prv[nxt[j]] = j

    seen = set()
    stack = []
    state, done = None, 0
    deepest, blocker = -1, None
    i = nxt[n]
    while i != n:
        _, _, _, op, is_call = events[i]
        if is_call:
            ok, new = step(state, op)
            key = (done | (1 << op.id), new)
            if ok and key not in seen:
                seen.add(key)
                stack.append((i, state))
                state, done = new, done | (1 << op.id)
                lift(i)
                i = nxt[n]
            else:
                i = nxt[i]
            continue
        if op.ret == INF:
            return True, None  # only unknown operations are left: they may never happen
        if len(stack) > deepest:
            deepest, blocker = len(stack), op
        if not stack:
            return False, blocker
        j, state = stack.pop()
        done &= ~(1 << events[j][3].id)
        unlift(j)
        i = nxt[j]
    return True, None


def describe(op):
    if op.f == "read":
        return "read of %s" % json.dumps(op.output)
    if op.f == "cas":
        return "cas %s -> %s answered %s" % (json.dumps(op.value[0]), json.dumps(op.value[1]),
                                             json.dumps(op.output))
    if op.f == "write":
        return "write of %s" % json.dumps(op.value)
    return "delete"


def main(argv):
    if len(argv) != 2:
        print("usage: lincheck.py HISTORY.jsonl", file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as f:
            keys = parse(f)
    except (OSError, ValueError) as err:
        print("lincheck: %s: %s" % (argv[1], err), file=sys.stderr)
        return 2
    bad = 0
    for key in sorted(keys, key=str):
        ok, op = check_key(keys[key])
        if ok:
            print("key %s: linearizable (%d operations)" % (json.dumps(key), len(keys[key])))
        else:
            bad += 1
            print("key %s: NOT linearizable: no order of its %d operations places the %s "
                  "invoked at line %d" % (json.dumps(key), len(keys[key]), describe(op), op.line))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
