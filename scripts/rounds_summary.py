#!/usr/bin/env python3
"""rounds_summary.py: the summary of alternating rounds, for reads_ab.sh
and reads_dbs.sh.

    python3 scripts/rounds_summary.py ROWS NAME...

ROWS holds lines "round name workload ops_per_sec".  Printed for each
workload: each NAME's operations per second, round by round, and their
median; and for each NAME after the first, the median of each round's
ratio to the first NAME's in the same round, with every round's ratio.
"""
import collections
import statistics
import sys

rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
names = sys.argv[2:]
v = collections.defaultdict(dict)            # (workload, name) -> {round: ops/s}
for r, e, w, x in rows:
    v[(w, e)][int(r)] = float(x)
for w in sorted({w for (w, e) in v}):
    print("%s:" % w)
    base = v.get((w, names[0]), {})
    for e in names:
        xs = v.get((w, e), {})
        if not xs:
            continue
        line = "  %-8s median %10s  (%s)" % (e, "{:,.0f}".format(statistics.median(xs.values())),
                                            ", ".join("{:,.0f}".format(xs[r]) for r in sorted(xs)))
        rs = [xs[r] / base[r] for r in sorted(xs) if r in base and base[r] > 0]
        if e != names[0] and rs:
            line += "  ratio to %s: median %.3f (%s)" % (names[0], statistics.median(rs),
                                                         ", ".join("%.2f" % x for x in rs))
        print(line)
