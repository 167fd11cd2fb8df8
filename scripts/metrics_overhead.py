#!/usr/bin/env python3
"""metrics_overhead.py: what the server's latency histograms cost, measured
(`make bench-metrics-overhead`; docs/metrics.md quotes it).

    python3 scripts/metrics_overhead.py [--publish] build/S/kv [ROUNDS] [REQUESTS]

First build/histogram_cost (bench/histogram_cost.c), beside the kv
given: what one record into a histogram costs, and one reading of the
clock.  Then two `kv serve` of the same build side by side, on databases of their own:
one with --latency-tracking yes (the default: every command recorded in
its histogram), one with --latency-tracking no (none recorded; the rest,
the clocks read for INFO commandstats and the slow log, is the same).
Each round runs the same redis-benchmark against one and then the other
(the order alternating from round to round, so that neither always goes
first): `-t set,get -n REQUESTS -r 1000000 -d 100 -c 50 -P 16`, SETs then
GETs over a million keys.  A round gives, per test, the ratio of the two
throughputs (on / off) measured one right after the other; the script
prints each round's figures and the median ratio of each test: below 1
is what the histograms cost.  On a machine shared with other work the
throughputs swing from run to run, so it also measures what is less
swayed by the neighbours: the CPU time each server used for the round
(user + system, from /proc/PID/stat), per million requests, and its
ratio (on / off; above 1 is the cost).  The report goes to
build/metrics/overhead.md, or with --publish to
docs/generated/metrics-overhead.md, whose figures docs/metrics.md quotes
(scripts/docs_figures.sh copies them there).
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics_run import free_port, median_line, paired_row, run_facts  # noqa: E402




def bench(port, requests):
    """{test: requests per second} from redis-benchmark --csv."""
    try:
        out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set,get", "-n",
                              str(requests), "-r", "1000000", "-d", "100", "-c", "50", "-P", "16",
                              "--csv"], capture_output=True, text=True, timeout=600).stdout
    except subprocess.TimeoutExpired:
        info = subprocess.run(["redis-cli", "-p", str(port), "info", "all"], capture_output=True,
                              text=True, timeout=30).stdout
        sys.exit("metrics_overhead: redis-benchmark took over 600 s against port %d; the "
                 "server's INFO:\n%s" % (port, info))
    rps = {}
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) >= 2 and cells[0] in ("SET", "GET"):
            rps[cells[0]] = float(cells[1])
    if set(rps) != {"SET", "GET"}:
        sys.exit("metrics_overhead: redis-benchmark said: %s" % out)
    return rps


def cpu_seconds(pid):
    """User + system CPU time of a process so far, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")




def main():
    args = sys.argv[1:]
    publish = "--publish" in args
    args = [a for a in args if a != "--publish"]
    if not args:
        sys.exit("usage: metrics_overhead.py [--publish] build/S/kv [ROUNDS] [REQUESTS]")
    kv = args[0]
    rounds = int(args[1]) if len(args) > 1 else 15
    requests = int(args[2]) if len(args) > 2 else 500000
    facts = run_facts("python3 scripts/metrics_overhead.py %s %d %d" % (kv, rounds, requests))
    report = []
    cost_bin = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(kv))), "histogram_cost")
    cost = subprocess.run([cost_bin], capture_output=True, text=True, timeout=600).stdout.rstrip()
    print(cost)
    if shutil.which("redis-benchmark") is None:
        sys.exit("metrics_overhead: redis-benchmark is missing (make deps DEPS=bench-server)")
    tmp = tempfile.mkdtemp(prefix="kvoverhead-", dir=os.environ.get("TMPDIR"))
    servers = {}
    try:
        for mode in ("yes", "no"):
            port = free_port()
            proc = subprocess.Popen([kv, os.path.join(tmp, mode), "serve", "--port", str(port),
                                     "--latency-tracking", mode])
            servers[mode] = (port, proc)
        for port, proc in servers.values():
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                    break
                except OSError:
                    time.sleep(0.1)
        print("%s, %d rounds of redis-benchmark -t set,get -n %d -r 1000000 -d 100 -c 50 -P 16"
              % (os.path.basename(os.path.dirname(os.path.abspath(kv))), rounds, requests))
        report.append("| round | SET/s on | SET/s off | ratio | GET/s on | GET/s off | ratio | "
                      "CPU s per M on | CPU s per M off | ratio |")
        report.append("|---|---|---|---|---|---|---|---|---|---|")
        print("%-6s %10s %10s %7s %10s %10s %7s %9s %9s %7s" % (
            "round", "SET on/s", "SET off/s", "ratio", "GET on/s", "GET off/s", "ratio",
            "cpu on", "cpu off", "ratio"))
        ratios = {"SET": [], "GET": [], "cpu": []}
        for r in range(rounds):
            order = ("yes", "no") if r % 2 == 0 else ("no", "yes")
            got, cpu = {}, {}
            for mode in order:
                before = cpu_seconds(servers[mode][1].pid)
                got[mode] = bench(servers[mode][0], requests)
                cpu[mode] = (cpu_seconds(servers[mode][1].pid) - before) / (2 * requests / 1e6)
            row = paired_row(("SET", "GET"), got, cpu, "yes", "no", ratios)
            print("%-6d %10.0f %10.0f %7.3f %10.0f %10.0f %7.3f %9.3f %9.3f %7.3f"
                  % tuple([r + 1] + row), flush=True)
            report.append("| %d | %.0f | %.0f | %.3f | %.0f | %.0f | %.3f | %.3f | %.3f | %.3f |"
                          % tuple([r + 1] + row))
        summary = [median_line("%s: median throughput" % t, ratios[t]) for t in ("SET", "GET")]
        summary.append(median_line("server CPU seconds per million requests, median",
                                   ratios["cpu"]))
        for line in summary:
            print(line)
        out = "docs/generated/metrics-overhead.md" if publish else "build/metrics/overhead.md"
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            f.write("# What the server's latency histograms cost\n\n"
                    "Written by `make bench-metrics-overhead` (`scripts/metrics_overhead.py`; "
                    "`METRICS_ARGS=--publish` writes this file): redis-benchmark against two "
                    "`kv serve` of one build, `--latency-tracking yes` and `no`, one right after "
                    "the other in each round, the order alternating.  A ratio is on / off.\n\n"
                    "### The run\n\n" + "\n".join(facts) + "\n\n### One record\n\n" +
                    "".join("    " + l + "\n" for l in cost.splitlines()) + "\n### Rounds\n\n" +
                    "\n".join(report) + "\n\n### Summary\n\n" +
                    "\n".join("- " + l for l in summary) + "\n")
        print("wrote " + out)
    finally:
        for port, proc in servers.values():
            proc.terminate()
            proc.wait(60)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
