"""metrics_run.py: what scripts/metrics_graph.py, metrics_overhead.py and
engine_overhead.py share: a free loopback port, the lines that say which
run a report comes from (date, commit, load average, machine, command),
and the bookkeeping of runs paired with histograms and without."""
import os
import socket
import statistics
import subprocess
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_facts(command):
    """The lines of a report's "The run" section, indented as code."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return ["    date: " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "    commit: " + commit + (" (with changes not committed)" if dirty else ""),
            "    load average: " + load + " (1, 5, 15 min, before the run)",
            "    machine: %d cores" % os.cpu_count(),
            "    command: " + command]


def paired_row(tests, got, cpu, on, off, ratios):
    """One round of paired runs: for each test its figure on, off and their
    ratio, then the same of the CPU seconds; each ratio appended to
    ratios[test] (ratios["cpu"])."""
    row = []
    for t in tests:
        ratio = got[on][t] / got[off][t]
        ratios[t].append(ratio)
        row += [got[on][t], got[off][t], ratio]
    ratios["cpu"].append(cpu[on] / cpu[off])
    return row + [cpu[on], cpu[off], cpu[on] / cpu[off]]


def median_line(what, ratios):
    """A summary line: the median of the ratios (with histograms / without)."""
    med = statistics.median(ratios)
    return "%s with histograms / without = %.3f (%+.1f%%), min %.3f, max %.3f" % (
        what, med, (med - 1) * 100, min(ratios), max(ratios))
