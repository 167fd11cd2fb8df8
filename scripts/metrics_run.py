"""metrics_run.py: what scripts/metrics_graph.py and metrics_overhead.py
share: a free loopback port, and the lines that say which run a report
comes from (date, commit, load average, machine, command)."""
import os
import socket
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
