#!/usr/bin/env python3
"""metrics_graph.py: a picture of a real run of `kv serve`, drawn from what
Prometheus scraped (`make metrics-graph`; docs/metrics.md shows it).

    python3 scripts/metrics_graph.py [--publish] build/06-leveled/kv [SECONDS]

Starts `kv DIR serve --metrics-port` (small memtables and tables, so that
the engine flushes and compacts often) and Debian's prometheus scraping
it every second, then runs redis-benchmark: GETs and SETs over 100,000
keys for the whole run (the load whose throughput and p99 are drawn),
and, from a third to two thirds of the run, a second redis-benchmark
writing 1 KiB values over a million keys, whose flushes make the engine
compact.  At the end it asks Prometheus (query_range, a point a second)
for the commands per second, the p99 of GET and SET from the latency
histogram, and the bytes compactions wrote per second, and draws them
with gnuplot, one panel each.  Prints the queries and the figures it
drew from.  Writes build/metrics/run.svg, run.csv (the series) and
run.md (the run: date, commit, queries, figures); with --publish
docs/pictures/metrics-run.svg, docs/generated/metrics-run.csv and
docs/generated/metrics-run.md, which docs/metrics.md shows and quotes.
"""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics_run import free_port, run_facts  # noqa: E402




def wait_http(url, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read()
        except OSError:
            time.sleep(0.2)
    sys.exit("metrics_graph: %s did not answer" % url)


def main():
    args = sys.argv[1:]
    publish = "--publish" in args
    args = [a for a in args if a != "--publish"]
    if not args:
        sys.exit("usage: metrics_graph.py [--publish] build/S/kv [SECONDS]")
    kv = args[0]
    seconds = int(args[1]) if len(args) > 1 else 45
    if publish:
        out, base = "docs/pictures/metrics-run.svg", "docs/generated/metrics-run"
    else:
        os.makedirs("build/metrics", exist_ok=True)
        out, base = "build/metrics/run.svg", "build/metrics/run"
    facts = run_facts("python3 scripts/metrics_graph.py %s%s %d"
                      % ("--publish " if publish else "", kv, seconds))
    lines = []
    for tool in ("prometheus", "redis-benchmark", "gnuplot"):
        if shutil.which(tool) is None:
            sys.exit("metrics_graph: %s is missing (make deps DEPS=metrics,server,gnuplot)" % tool)
    tmp = tempfile.mkdtemp(prefix="kvgraph-", dir=os.environ.get("TMPDIR"))
    port, mport, pport = free_port(), free_port(), free_port()
    procs = []
    try:
        server = subprocess.Popen([kv, os.path.join(tmp, "db"), "serve", "--port", str(port),
                                   "--metrics-port", str(mport), "--memtable-bytes", "1048576",
                                   "--table-bytes", "1048576"], stderr=subprocess.DEVNULL)
        procs.append(server)
        wait_http("http://127.0.0.1:%d/metrics" % mport)
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                    "  - job_name: kv\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % mport)
        prom = subprocess.Popen(["prometheus", "--config.file=" + os.path.join(tmp, "prometheus.yml"),
                                 "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
                                 "--web.listen-address=127.0.0.1:%d" % pport, "--log.level=warn"])
        procs.append(prom)
        api = "http://127.0.0.1:%d/api/v1/" % pport
        wait_http(api + "query?query=up")
        time.sleep(3)   # a few scrapes of the idle server first
        start = time.time()
        load = subprocess.Popen(["redis-benchmark", "-p", str(port), "-t", "get,set", "-r", "100000",
                                 "-d", "100", "-c", "20", "-P", "4", "-l", "-q"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(load)
        time.sleep(seconds / 3)
        burst_at = time.time() - start
        burst = subprocess.Popen(["redis-benchmark", "-p", str(port), "-t", "set", "-r", "1000000",
                                  "-d", "1024", "-c", "10", "-P", "8", "-l", "-q"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(burst)
        time.sleep(seconds / 3)
        burst.send_signal(signal.SIGINT)
        burst.wait()
        burst_end = time.time() - start
        time.sleep(seconds / 3)
        load.send_signal(signal.SIGINT)
        load.wait()
        end = time.time()
        time.sleep(2.5)  # the last scrapes
        queries = [
            ("commands_per_s",
             'sum(rate(kv_server_commands_total{cmd=~"get|set"}[5s]))'),
            ("get_p99_ms",
             'histogram_quantile(0.99, sum by (le) (rate(kv_server_command_duration_seconds_bucket{cmd="get"}[5s]))) * 1000'),
            ("set_p99_ms",
             'histogram_quantile(0.99, sum by (le) (rate(kv_server_command_duration_seconds_bucket{cmd="set"}[5s]))) * 1000'),
            ("compact_mib_written_per_s",
             'rate(kv_engine_compact_bytes_written_total[5s]) / 1048576'),
        ]
        series = {}
        for name, q in queries:
            url = api + "query_range?" + urllib.parse.urlencode(
                {"query": q, "start": start, "end": end, "step": "1"})
            with urllib.request.urlopen(url, timeout=30) as r:
                body = json.load(r)
            result = body["data"]["result"]
            series[name] = {float(t): float(v) for t, v in result[0]["values"]} if result else {}
            print("%-26s %s" % (name, q))
            lines.append("    %-26s %s" % (name, q))
        times = sorted(set().union(*[set(s) for s in series.values()]))
        with open(base + ".csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["seconds"] + [n for n, _ in queries])
            for t in times:
                w.writerow(["%.0f" % (t - start)] +
                           ["%.4f" % series[n][t] if t in series[n] and series[n][t] == series[n][t]
                            else "" for n, _ in queries])
        for name, _ in queries:
            vals = [v for v in series[name].values() if v == v]
            if vals:
                figure = ("%-26s min %.3f  median %.3f  max %.3f" %
                          (name, min(vals), sorted(vals)[len(vals) // 2], max(vals)))
                print(figure)
                lines.append("    " + figure)
                for label, lo, hi in (("before the burst", 5, burst_at),
                                      ("during the burst", burst_at + 5, burst_end),
                                      ("after the burst", burst_end + 5, end - start)):
                    part = [v for t, v in series[name].items() if lo <= t - start < hi and v == v]
                    if part:
                        lines.append("    %-26s   %s: median %.3f" % (
                            "", label, sorted(part)[len(part) // 2]))
        burst = "write burst from %.0f s to %.0f s of %.0f s" % (burst_at, burst_end, end - start)
        print(burst)
        with open(base + ".md", "w") as f:
            f.write("# kv serve under load, as Prometheus scraped it\n\n"
                    "Written by `make metrics-graph` (`scripts/metrics_graph.py`; "
                    "`METRICS_ARGS=--publish` writes this file and the picture, "
                    "docs/pictures/metrics-run.svg).  Medians of the series a second "
                    "apart, in each part of the run (the 5 s after a change left out: "
                    "the rates are over 5 s).\n\n### The run\n\n" + "\n".join(facts) +
                    "\n    " + burst + "\n\n### Figures\n\n" + "\n".join(lines) + "\n")
        plot = """set terminal svg size 900,720 dynamic font 'sans,12' background '#ffffff'
set output '{out}'
set datafile separator ','
set multiplot layout 3,1 title "kv serve ({stage}) under redis-benchmark: GET and SET over 100,000 keys; 1 KiB SETs from {a:.0f} s to {b:.0f} s"
set grid
set lmargin 12
set key top left
set xrange [0:{end:.0f}]
set object 1 rect from {a:.0f}, graph 0 to {b:.0f}, graph 1 behind fc rgb '#f3e3c3' fs solid noborder
set ylabel 'commands/s'
set format y '%.0s%c'
plot '{csv}' using 1:2 every ::1 with lines lw 2 lc rgb '#1f77b4' title 'GET + SET per second (rate of kv\\_server\\_commands\\_total)'
set ylabel 'p99 (ms)'
set format y '%g'
plot '{csv}' using 1:3 every ::1 with lines lw 2 lc rgb '#2ca02c' title 'GET p99', \\
     '{csv}' using 1:4 every ::1 with lines lw 2 lc rgb '#d62728' title 'SET p99 (until its batch is applied)'
set ylabel 'MiB/s'
set xlabel 'seconds'
plot '{csv}' using 1:5 every ::1 with lines lw 2 lc rgb '#9467bd' title 'bytes compactions wrote (rate of kv\\_engine\\_compact\\_bytes\\_written\\_total)'
unset multiplot
""".format(out=out, csv=base + ".csv", a=burst_at, b=burst_end, end=end - start,
           stage=os.path.basename(os.path.dirname(os.path.abspath(kv))))
        with open(os.path.join(tmp, "plot.gp"), "w") as f:
            f.write(plot)
        subprocess.run(["gnuplot", os.path.join(tmp, "plot.gp")], check=True)
        print("wrote %s, %s.csv and %s.md" % (out, base, base))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
