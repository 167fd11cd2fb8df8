#!/usr/bin/env python3
"""bench_raft_summary.py: the tables of `make bench-raft` from its runs
(scripts/bench_raft.sh calls it; docs/10-raft.md).

    python3 scripts/bench_raft_summary.py OUT ROUNDS

Reads OUT/rounds.csv (one line per run of the alternating rounds:
round,server,client,op,pipeline,clients,rps,p50_ms,p99_ms,requests,
server_cpu_s,client_cpu_s) and OUT/one-run.csv (the rows run once), and writes:
  OUT/results.csv  server,client,op,pipeline,clients,rounds,rps,p50_ms,p99_ms:
                   for the rounds, the median of the rounds of each column
                   for each server and client count (rounds: how many
                   rounds gave the row a figure), then the one-run rows
  OUT/ratios.txt   for each client count, raft-tls against etcd-tls and
                   raft-tls against raft-insecure: the ratio of the median
                   requests a second, and the ratio within each round (the
                   two runs of a round ran minutes apart at most, on the
                   same machine); with the server CPU time a request cost
  OUT/results.md   both tables and the ratios, in Markdown
At 50 clients the ratios are set against the group's targets: at least
2x etcd's requests a second with TLS on both sides, and TLS costing the
group at most 15% against --raft-insecure.
"""
import csv
import os
import statistics
import sys

TARGET_CLIENTS = 50
TARGET_VS_ETCD = 2.0
TARGET_TLS_COST = 0.15


def read(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def medians(runs):
    """{(server, clients): row of medians} in the order the runs came."""
    groups = {}
    for r in runs:
        groups.setdefault((r["server"], int(r["clients"])), []).append(r)
    rows = {}
    for key, rs in groups.items():
        med = lambda col: statistics.median(float(r[col]) for r in rs)  # noqa: E731
        rows[key] = {
            "server": key[0], "client": rs[0]["client"], "op": rs[0]["op"],
            "pipeline": rs[0]["pipeline"], "clients": key[1], "rounds": len(rs),
            "rps": med("rps"), "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"),
            "cpu_us": statistics.median(float(r["server_cpu_s"]) * 1e6 / float(r["requests"])
                                        for r in rs),
            "client_cpu_us": statistics.median(float(r["client_cpu_s"]) * 1e6 / float(r["requests"])
                                               for r in rs),
        }
    return rows


def ratio_line(runs, rows, a, b, c):
    """a against b at c clients: the ratio of medians and of each round, or None."""
    if (a, c) not in rows or (b, c) not in rows:
        return None
    by_round = {}
    for r in runs:
        if int(r["clients"]) == c and r["server"] in (a, b):
            by_round.setdefault(r["round"], {})[r["server"]] = float(r["rps"])
    each = [v[a] / v[b] for _, v in sorted(by_round.items()) if a in v and b in v and v[b] > 0]
    ra, rb = rows[(a, c)], rows[(b, c)]
    return {
        "ratio": ra["rps"] / rb["rps"],
        "each": each,
        "cpu": ra["cpu_us"] / rb["cpu_us"] if rb["cpu_us"] > 0 else float("nan"),
        "a": ra["rps"], "b": rb["rps"],
    }


def ratios(runs, rows):
    lines = []
    for c in sorted({k[1] for k in rows}):
        vs = ratio_line(runs, rows, "raft-tls", "etcd-tls", c)
        if vs:
            line = ("clients %d: raft-tls / etcd-tls %.2fx (median req/s %.0f / %.0f; rounds: %s;"
                    " server CPU a request %.2fx)" % (
                        c, vs["ratio"], vs["a"], vs["b"],
                        " ".join("%.2f" % x for x in vs["each"]), vs["cpu"]))
            if c == TARGET_CLIENTS:
                line += "; target >= %.0fx: %s" % (
                    TARGET_VS_ETCD, "met" if vs["ratio"] >= TARGET_VS_ETCD else "not met")
            lines.append(line)
        tls = ratio_line(runs, rows, "raft-tls", "raft-insecure", c)
        if tls:
            line = ("clients %d: TLS costs the group %.1f%% of its req/s (raft-tls / raft-insecure"
                    " %.3f, median req/s %.0f / %.0f; rounds: %s; server CPU a request %.2fx)" % (
                        c, 100 * (1 - tls["ratio"]), tls["ratio"], tls["a"], tls["b"],
                        " ".join("%.3f" % x for x in tls["each"]), tls["cpu"]))
            if c == TARGET_CLIENTS:
                line += "; target <= %.0f%%: %s" % (
                    100 * TARGET_TLS_COST, "met" if 1 - tls["ratio"] <= TARGET_TLS_COST else "not met")
            lines.append(line)
    return lines


def main():
    out, rounds = sys.argv[1], sys.argv[2]
    runs = read(os.path.join(out, "rounds.csv"))
    one = read(os.path.join(out, "one-run.csv"))
    rows = medians(runs)
    cols = ["server", "client", "op", "pipeline", "clients", "rounds", "rps", "p50_ms", "p99_ms"]
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for key in sorted(rows, key=lambda k: (k[1], k[0])):
            r = rows[key]
            w.writerow([r["server"], r["client"], r["op"], r["pipeline"], r["clients"], r["rounds"],
                        "%.2f" % r["rps"], "%.3f" % r["p50_ms"], "%.3f" % r["p99_ms"]])
        for r in one:
            w.writerow([r[c] for c in cols])
    lines = ratios(runs, rows)
    with open(os.path.join(out, "ratios.txt"), "w") as f:
        f.write("".join(x + "\n" for x in lines))
    md = ["Alternating rounds (%s asked), medians; CPU: the user + system time of the"
          " servers and of the client over the requests of a run:" % rounds, "",
          "| server | client | clients | rounds | req/s | p50 ms | p99 ms | server CPU µs/request"
          " | client CPU µs/request |",
          "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for key in sorted(rows, key=lambda k: (k[1], k[0])):
        r = rows[key]
        md.append("| %s | %s | %d | %d | %s | %.3f | %.3f | %.0f | %.0f |" % (
            r["server"], r["client"], r["clients"], r["rounds"], f'{r["rps"]:,.0f}',
            r["p50_ms"], r["p99_ms"], r["cpu_us"], r["client_cpu_us"]))
    md += [""] + ["- " + x for x in lines]
    if one:
        md += ["", "One run each, 50 connections:", "",
               "| server | client | op | -P | req/s | p50 ms | p99 ms |",
               "|---|---|---|---:|---:|---:|---:|"]
        for r in one:
            md.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                r["server"], r["client"], r["op"], r["pipeline"], f'{float(r["rps"]):,.0f}',
                r["p50_ms"], r["p99_ms"]))
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
