#!/usr/bin/env python3
"""bench_raft_summary.py: the tables of `make bench-raft` from its runs
(scripts/bench_raft.sh calls it; docs/perf-10-raft.md).

    python3 scripts/bench_raft_summary.py OUT ROUNDS VALUE KEYS CONNS

VALUE and KEYS name the headline workload (its value bytes and key space)
and CONNS the headline's etcd row (shared: etcd-tls-shared, each:
etcd-tls-each).  Reads OUT/rounds.csv (one line per run of the
alternating rounds: round,server,client,op,pipeline,value_bytes,keys,
clients,connections,rps,p50_ms,p99_ms,requests,server_cpu_s,client_cpu_s)
and OUT/one-run.csv (the rows run once), and writes:
  OUT/results.csv  server,client,op,pipeline,value_bytes,keys,clients,
                   connections,rounds,rps,p50_ms,p99_ms: for the rounds,
                   the median of the rounds of each column for each server,
                   workload and client count (rounds: how many rounds gave
                   the row a figure), then the one-run rows
  OUT/ratios.txt   for each workload and client count, raft-tls against
                   each etcd row and how much etcd's connection method
                   moves that ratio, and raft-tls against raft-insecure:
                   the ratio of the median requests a second, and the
                   ratio within each round (the runs of a round ran
                   minutes apart at most, on the same machine); with the
                   server CPU time a request cost
  OUT/results.md   the headline table first, then how the method moves it,
                   the second workload's, every row, and the one-run rows,
                   in Markdown; every row says its value size, key space,
                   clients and connections
On the headline workload the ratios are set against the group's targets:
at least 4x the headline etcd row's requests a second at 50 clients and
2.5x at 1 (TARGET_VS_ETCD; no target at the other counts), and TLS costing the group at most 15% at 50 clients.  Of the
one-run rows, a GET at the group's leader (linearizable: a round of the
voters, no log entry) is set against a GET at one synced server
(kv-09-sync), client by client, in ratios.txt and results.md; the target
is at least 0.6x with redis-benchmark at -P 1.
"""
import csv
import os
import statistics
import sys

TARGET_VS_ETCD = {50: 4.0, 1: 2.5}   # clients: the least ratio to etcd
TARGET_TLS_CLIENTS = 50
TARGET_TLS_COST = 0.15
TARGET_GET_VS_ONE = 0.6
ETCD_ROWS = ("etcd-tls-shared", "etcd-tls-each")
HOW = {"etcd-tls-shared": "one gRPC connection shared by every client",
       "etcd-tls-each": "a gRPC connection per client"}


def read(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def wkey(r):
    """A run's workload and client count: (value_bytes, keys, clients)."""
    return (int(r["value_bytes"]), int(r["keys"]), int(r["clients"]))


def medians(runs):
    """{(server, value, keys, clients): row of medians} in the order the runs came."""
    groups = {}
    for r in runs:
        groups.setdefault((r["server"],) + wkey(r), []).append(r)
    rows = {}
    for key, rs in groups.items():
        med = lambda col: statistics.median(float(r[col]) for r in rs)  # noqa: E731
        rows[key] = {
            "server": key[0], "client": rs[0]["client"], "op": rs[0]["op"],
            "pipeline": rs[0]["pipeline"], "value_bytes": key[1], "keys": key[2],
            "clients": key[3], "connections": int(rs[0]["connections"]), "rounds": len(rs),
            "rps": med("rps"), "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"),
            "cpu_us": statistics.median(float(r["server_cpu_s"]) * 1e6 / float(r["requests"])
                                        for r in rs),
            "client_cpu_us": statistics.median(float(r["client_cpu_s"]) * 1e6 / float(r["requests"])
                                               for r in rs),
        }
    return rows


def ratio(runs, rows, a, b, w):
    """a against b on workload and client count w: the ratio of medians and
    of each round, or None if either has no figure."""
    if (a,) + w not in rows or (b,) + w not in rows:
        return None
    by_round = {}
    for r in runs:
        if wkey(r) == w and r["server"] in (a, b):
            by_round.setdefault(r["round"], {})[r["server"]] = float(r["rps"])
    each = [v[a] / v[b] for _, v in sorted(by_round.items()) if a in v and b in v and v[b] > 0]
    ra, rb = rows[(a,) + w], rows[(b,) + w]
    return {
        "ratio": ra["rps"] / rb["rps"],
        "each": each,
        "cpu": ra["cpu_us"] / rb["cpu_us"] if rb["cpu_us"] > 0 else float("nan"),
        "a": ra["rps"], "b": rb["rps"],
    }


def workload_name(value, keys):
    return "%d-byte values, key space %s" % (value, f"{keys:,}")


def ratio_lines(runs, rows, headline, headline_etcd):
    """Every ratio, a line each, workload by workload."""
    lines = []
    for w in sorted({k[1:] for k in rows}, key=lambda w: (w[:2] != headline, w)):
        name = "%s, clients %d" % (workload_name(w[0], w[1]), w[2])
        vs = {}
        for etcd in ETCD_ROWS:
            x = ratio(runs, rows, "raft-tls", etcd, w)
            if not x:
                continue
            vs[etcd] = x
            line = ("%s: raft-tls / %s %.2fx (median req/s %.0f / %.0f; rounds: %s;"
                    " server CPU a request %.2fx)" % (
                        name, etcd, x["ratio"], x["a"], x["b"],
                        " ".join("%.2f" % r for r in x["each"]), x["cpu"]))
            want = TARGET_VS_ETCD.get(w[2])
            if w[:2] == headline and etcd == headline_etcd and want is not None:
                line += "; target >= %.1fx: %s" % (
                    want, "met" if x["ratio"] >= want else "not met")
            lines.append(line)
        if len(vs) == 2:
            s, e = vs["etcd-tls-shared"], vs["etcd-tls-each"]
            lines.append("%s: etcd's connection method moves the ratio by %+.0f%% (%.2fx against"
                         " a shared connection, %.2fx against one a client; etcd each / shared"
                         " %.2f)" % (name, 100 * (e["ratio"] / s["ratio"] - 1), s["ratio"],
                                     e["ratio"], e["b"] / s["b"]))
        tls = ratio(runs, rows, "raft-tls", "raft-insecure", w)
        if tls:
            line = ("%s: TLS costs the group %.1f%% of its req/s (raft-tls / raft-insecure"
                    " %.3f, median req/s %.0f / %.0f; rounds: %s; server CPU a request %.2fx)" % (
                        name, 100 * (1 - tls["ratio"]), tls["ratio"], tls["a"], tls["b"],
                        " ".join("%.3f" % r for r in tls["each"]), tls["cpu"]))
            if w[:2] == headline and w[2] == TARGET_TLS_CLIENTS:
                line += "; target <= %.0f%%: %s" % (
                    100 * TARGET_TLS_COST, "met" if 1 - tls["ratio"] <= TARGET_TLS_COST else "not met")
            lines.append(line)
    return lines


def get_lines(one):
    """GET at the group's leader against GET at one synced server, for each
    client (and pipeline) both were run with."""
    by = {(r["server"], r["client"], r["pipeline"]): float(r["rps"])
          for r in one if r["op"] == "GET"}
    lines = []
    for (server, client, pipe), rps in by.items():
        alone = by.get(("kv-09-sync", client, pipe))
        if server != "raft-tls" or not alone:
            continue
        line = ("GET at the leader (raft-tls) against one synced server (kv-09-sync), %s -P %s:"
                " %s / %s = %.2fx" % (client, pipe, f"{rps:,.0f}", f"{alone:,.0f}", rps / alone))
        if client == "redis-benchmark" and pipe == "1":
            line += "; target >= %.1fx: %s" % (
                TARGET_GET_VS_ONE, "met" if rps / alone >= TARGET_GET_VS_ONE else "not met")
        lines.append(line)
    return lines


def fmt_rps(rows, key):
    return f'{rows[key]["rps"]:,.0f}' if key in rows else ""


def workload_table(runs, rows, value, keys, etcd):
    """The table of one workload against one etcd row, a line a client count."""
    md = ["| clients | `%s` | `raft-tls` | `raft-insecure` | `raft-tls` / `%s` (rounds)"
          " | TLS's cost to the group |" % (etcd, etcd),
          "|---:|---:|---:|---:|---:|---:|"]
    for c in sorted({k[3] for k in rows if k[1:3] == (value, keys)}):
        w = (value, keys, c)
        vs = ratio(runs, rows, "raft-tls", etcd, w)
        tls = ratio(runs, rows, "raft-tls", "raft-insecure", w)
        md.append("| %d | %s | %s | %s | %s | %s |" % (
            c, fmt_rps(rows, (etcd,) + w), fmt_rps(rows, ("raft-tls",) + w),
            fmt_rps(rows, ("raft-insecure",) + w),
            "%.2fx (%s)" % (vs["ratio"], ", ".join("%.2f" % r for r in vs["each"])) if vs else "",
            "%.1f%%" % (100 * (1 - tls["ratio"])) if tls else ""))
    return md


def method_table(runs, rows, value, keys):
    """etcd's two connection methods side by side on one workload."""
    md = ["| clients | `etcd-tls-shared` | `etcd-tls-each` | `raft-tls` / shared"
          " | `raft-tls` / each | the method moves the ratio by |",
          "|---:|---:|---:|---:|---:|---:|"]
    for c in sorted({k[3] for k in rows if k[1:3] == (value, keys)}):
        w = (value, keys, c)
        s = ratio(runs, rows, "raft-tls", "etcd-tls-shared", w)
        e = ratio(runs, rows, "raft-tls", "etcd-tls-each", w)
        if not s or not e:
            continue
        md.append("| %d | %s | %s | %.2fx | %.2fx | %+.0f%% |" % (
            c, fmt_rps(rows, ("etcd-tls-shared",) + w), fmt_rps(rows, ("etcd-tls-each",) + w),
            s["ratio"], e["ratio"], 100 * (e["ratio"] / s["ratio"] - 1)))
    return md if len(md) > 2 else []


def main():
    out, rounds = sys.argv[1], sys.argv[2]
    headline = (int(sys.argv[3]), int(sys.argv[4]))
    headline_etcd = "etcd-tls-" + sys.argv[5]
    runs = read(os.path.join(out, "rounds.csv"))
    one = read(os.path.join(out, "one-run.csv"))
    rows = medians(runs)
    order = sorted(rows, key=lambda k: (k[1:3] != headline, k[1], k[2], k[3], k[0]))
    cols = ["server", "client", "op", "pipeline", "value_bytes", "keys", "clients", "connections",
            "rounds", "rps", "p50_ms", "p99_ms"]
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for key in order:
            r = rows[key]
            w.writerow([r["server"], r["client"], r["op"], r["pipeline"], r["value_bytes"],
                        r["keys"], r["clients"], r["connections"], r["rounds"],
                        "%.2f" % r["rps"], "%.3f" % r["p50_ms"], "%.3f" % r["p99_ms"]])
        for r in one:
            w.writerow([r[c] for c in cols])
    lines = ratio_lines(runs, rows, headline, headline_etcd)
    gets = get_lines(one)
    with open(os.path.join(out, "ratios.txt"), "w") as f:
        f.write("".join(x + "\n" for x in lines + gets))

    md = ["Headline: writes a second, %s (each write a random key of it), etcd's clients on %s"
          " (`%s`); medians of %s alternating rounds, the ratio within each round in"
          " brackets:" % (workload_name(*headline), HOW.get(headline_etcd, "?"), headline_etcd,
                          rounds), ""]
    md += workload_table(runs, rows, headline[0], headline[1], headline_etcd)
    method = method_table(runs, rows, headline[0], headline[1])
    if method:
        md += ["", "How etcd's connection method moves the ratio, same workload (at 1 client"
               " both are one connection, one run):", ""] + method
    for value, keys in sorted({k[1:3] for k in rows} - {headline}):
        md += ["", "Second workload, the small-value run: %s, etcd's clients on %s:" % (
            workload_name(value, keys), HOW.get(headline_etcd, "?")), ""]
        md += workload_table(runs, rows, value, keys, headline_etcd)
        method = method_table(runs, rows, value, keys)
        if method:
            md += ["", "and the method's effect on it:", ""] + method
    md += ["", "Every row, medians of the rounds (%s asked); CPU: the user + system time of the"
           " servers and of the client over the requests of a run:" % rounds, "",
           "| server | client | value bytes | key space | clients | connections | rounds | req/s"
           " | p50 ms | p99 ms | server CPU µs/request | client CPU µs/request |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key in order:
        r = rows[key]
        md.append("| %s | %s | %d | %s | %d | %d | %d | %s | %.3f | %.3f | %.0f | %.0f |" % (
            r["server"], r["client"], r["value_bytes"], f'{r["keys"]:,}', r["clients"],
            r["connections"], r["rounds"], f'{r["rps"]:,.0f}', r["p50_ms"], r["p99_ms"],
            r["cpu_us"], r["client_cpu_us"]))
    md += [""] + ["- " + x for x in lines]
    if one:
        md += ["", "One run each:", "",
               "| server | client | op | -P | value bytes | key space | clients | connections"
               " | req/s | p50 ms | p99 ms |",
               "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in one:
            md.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                r["server"], r["client"], r["op"], r["pipeline"], r["value_bytes"],
                f'{int(r["keys"]):,}', r["clients"], r["connections"],
                f'{float(r["rps"]):,.0f}', r["p50_ms"], r["p99_ms"]))
        md += [""] + ["- " + x for x in gets]
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
