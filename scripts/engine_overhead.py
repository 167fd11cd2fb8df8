#!/usr/bin/env python3
"""engine_overhead.py: what the engine's latency histograms cost, measured
(`make bench-engine-overhead`; docs/metrics.md quotes it).

    python3 scripts/engine_overhead.py [--publish] KVBENCH_ON KVBENCH_OFF [ROUNDS] [N]

KVBENCH_ON is a stage's kvbench built as usual (every kv_get, kv_put,
iterator step, flush, compaction and stall recorded in its histogram:
common/latency.h); KVBENCH_OFF the same stage built with
KV_NO_HISTOGRAMS (`make FLAVOUR=nohist`: no clock read, nothing
recorded; kv_cost still counted).  Each round runs `kvbench --num=N
--benchmarks=fillrandom,readrandom` with one and then the other, on a
fresh database each time (the order alternating from round to round, so
that neither always goes first), and takes from each run the two
workloads' throughputs (kvbench's ops/sec) and the CPU seconds the run
used (user + system of the process and its children: the fill's flushes
and compactions included).  A round gives the ratios on / off; the
medians of the ratios over the rounds are the figures: below 1 for a
throughput, above 1 for the CPU, is what the histograms cost.  On a
machine shared with other work the throughputs swing from run to run;
pairing the two builds run by run, and the median, are what make the
comparison hold.  The report goes to build/metrics/engine-overhead.md,
or with --publish to docs/generated/engine-overhead.md, whose figures
docs/metrics.md quotes (scripts/docs_figures.sh copies them there).
"""
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics_run import median_line, paired_row, run_facts  # noqa: E402

WORKLOADS = ("fillrandom", "readrandom")


def run(kvbench, n, db):
    """({workload: ops/sec}, CPU seconds) of one kvbench run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([kvbench, "--num=%d" % n, "--benchmarks=" + ",".join(WORKLOADS),
                          "--db=" + db], capture_output=True, text=True, timeout=3600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        sys.exit("engine_overhead: %s exited %d: %s" % (kvbench, out.returncode,
                                                        out.stderr.strip()))
    ops = {}
    for line in out.stdout.splitlines():
        m = re.match(r"(\w+)\s*:\s*[\d.]+ micros/op;\s*([\d.]+) ops/sec", line)
        if m and m.group(1) in WORKLOADS:
            ops[m.group(1)] = float(m.group(2))
    if set(ops) != set(WORKLOADS):
        sys.exit("engine_overhead: %s said:\n%s" % (kvbench, out.stdout))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return ops, cpu


def main():
    args = sys.argv[1:]
    publish = "--publish" in args
    args = [a for a in args if a != "--publish"]
    if len(args) < 2:
        sys.exit("usage: engine_overhead.py [--publish] KVBENCH_ON KVBENCH_OFF [ROUNDS] [N]")
    on, off = args[0], args[1]
    rounds = int(args[2]) if len(args) > 2 else 9
    n = int(args[3]) if len(args) > 3 else 1000000
    stage = os.path.basename(os.path.dirname(os.path.abspath(on)))
    facts = run_facts("python3 scripts/engine_overhead.py %s %s %d %d" % (on, off, rounds, n))
    tmp = tempfile.mkdtemp(prefix="kvengine-overhead-", dir=os.environ.get("TMPDIR"))
    report = ["| round | fillrandom/s on | off | ratio | readrandom/s on | off | ratio | "
              "CPU s on | off | ratio |", "|---|---|---|---|---|---|---|---|---|---|"]
    ratios = {"fillrandom": [], "readrandom": [], "cpu": []}
    print("%s, %d rounds of kvbench --num=%d --benchmarks=%s, with histograms (on) and "
          "without (off)" % (stage, rounds, n, ",".join(WORKLOADS)))
    print("%-6s %10s %10s %7s %10s %10s %7s %8s %8s %7s" % (
        "round", "fill on", "fill off", "ratio", "read on", "read off", "ratio", "cpu on",
        "cpu off", "ratio"))
    try:
        for r in range(rounds):
            order = ("on", "off") if r % 2 == 0 else ("off", "on")
            got, cpu = {}, {}
            for mode in order:
                db = os.path.join(tmp, mode)
                shutil.rmtree(db, ignore_errors=True)
                got[mode], cpu[mode] = run(on if mode == "on" else off, n, db)
                shutil.rmtree(db, ignore_errors=True)
            row = paired_row(WORKLOADS, got, cpu, "on", "off", ratios)
            print("%-6d %10.0f %10.0f %7.3f %10.0f %10.0f %7.3f %8.2f %8.2f %7.3f"
                  % tuple([r + 1] + row), flush=True)
            report.append("| %d | %.0f | %.0f | %.3f | %.0f | %.0f | %.3f | %.2f | %.2f | %.3f |"
                          % tuple([r + 1] + row))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = [median_line("%s: median throughput" % w, ratios[w]) for w in WORKLOADS]
    summary.append(median_line("CPU seconds of a run (both workloads, background work "
                               "included), median", ratios["cpu"]))
    for line in summary:
        print(line)
    out = "docs/generated/engine-overhead.md" if publish else "build/metrics/engine-overhead.md"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write("# What the engine's latency histograms cost\n\n"
                "Written by `make bench-engine-overhead` (`scripts/engine_overhead.py`; "
                "`METRICS_ARGS=--publish` writes this file): kvbench fillrandom and readrandom "
                "on stage %s at %d keys, built with the histograms (on) and with "
                "KV_NO_HISTOGRAMS (off, `make FLAVOUR=nohist`), one right after the other in "
                "each round, the order alternating.  A ratio is on / off.\n\n" % (stage, n) +
                "### The run\n\n" + "\n".join(facts) + "\n\n### Rounds\n\n" +
                "\n".join(report) + "\n\n### Summary\n\n" +
                "\n".join("- " + l for l in summary) + "\n")
    print("wrote " + out)


if __name__ == "__main__":
    main()
