#!/usr/bin/env python3
"""server_metrics_test.py: what `kv serve` tells about itself, checked with
the tools people use to read it (docs/metrics.md).

    python3 tests/server_metrics_test.py build/01-log/kv build/02-hash/kv ...

  - Prometheus (Debian's prometheus package) scrapes `kv serve
    --metrics-port` of every stage given, one server each, once a second;
    the test waits for up == 1 through Prometheus's HTTP query API, makes
    a different number N of SETs on each, and waits until the PromQL
    queries kv_server_commands_total{cmd="set"} and the SET latency
    histogram's _count return exactly N for that stage; then M GETs, and
    the engine's histograms (kv_stats's, as Prometheus histograms) give
    M kv_gets, as many kv_writes as the server counts, and a p99 from
    their buckets;
  - `promtool check metrics` (shipped with Prometheus) finds nothing to
    say about each endpoint's output, read after the load (every stage's
    kv_stats lines translated);
  - CONFIG SET background-bytes-per-sec changes the engine's rate on a
    stage with a rate limiter (read back by CONFIG GET and the gauge in
    /metrics), and is refused, all pairs with it, on the others;
  - INFO commandstats, errorstats and latencystats, SLOWLOG and CONFIG
    SET/GET of the slow log's parameters, read with redis-py, answer as
    Debian's redis-server answers the same commands (the same lines and
    fields, the same counts; the times differ);
  - hostile HTTP clients do not stall the Redis clients: a request that
    never ends, headers past the limit, more connections than the limit,
    a client that pipelines requests and never reads; after each, PING
    answers and a normal scrape works.
The comparisons with redis-server and the hostile clients run on the first
kv given (the server's code is every stage's).  Prints "RUN name" / "ok
name" / "FAIL name: why" and "N passed, N failed".  Needs prometheus,
redis-server and python3-redis (`make deps DEPS=server,metrics`).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

try:
    import redis
except ImportError:  # Debian's python3-redis, under another python3
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import redis
    except ImportError:
        redis = None

KVS = [a for a in sys.argv[1:] if not a.startswith("-")]
TIMEOUT = 30          # seconds: a bound for anything to happen, never a performance target
SCRAPE = "1s"
passed = failed = 0
PROCS = []


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def run_test(name, fn, *args):
    global passed, failed
    print("RUN  " + name, flush=True)
    try:
        fn(*args)
        passed += 1
        print("ok   " + name, flush=True)
    except Fail as e:
        failed += 1
        print("FAIL %s: %s" % (name, e), flush=True)
    except Exception as e:  # a crash of the test itself is a failure too
        failed += 1
        print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Kv:
    """`kv DIR serve --port 0 --metrics-port 0 --verbose`; the ports from its log."""

    def __init__(self, kv, tmp, *opts):
        self.kv = kv
        self.stage = os.path.basename(os.path.dirname(os.path.abspath(kv)))
        self.dir = tempfile.mkdtemp(prefix="db-", dir=tmp)
        self.proc = subprocess.Popen([kv, self.dir, "serve", "--port", "0", "--metrics-port", "0",
                                      "--verbose"] + list(opts), stderr=subprocess.PIPE)
        PROCS.append(self.proc)
        self.log = []
        self.port = self.metrics = None
        ready = threading.Event()

        def read():
            for raw in self.proc.stderr:
                line = raw.decode(errors="replace").rstrip("\n")
                self.log.append(line)
                if "listening on" in line and self.port is None:
                    self.port = int(line.rsplit(" port ", 1)[1].split(",")[0])
                if "metrics on http://" in line:
                    self.metrics = int(line.rsplit(":", 1)[1].split("/")[0])
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        check(ready.wait(TIMEOUT) and self.metrics is not None,
              "%s did not start: %s" % (kv, self.log))

    def client(self):
        return redis.Redis(port=self.port, socket_timeout=TIMEOUT)

    def scrape(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.metrics,
                                    timeout=TIMEOUT) as r:
            check(r.status == 200, "GET /metrics: %d" % r.status)
            check(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"),
                  "Content-Type %r" % r.headers["Content-Type"])
            return r.read().decode()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        status = self.proc.wait(TIMEOUT)
        time.sleep(0.1)   # the last lines of its log
        reports = [l for l in self.log if "Sanitizer" in l or "runtime error:" in l]
        check(status == 0 and not reports,
              "%s exited %s: %s" % (self.kv, status, "\n".join(reports or self.log[-5:])))


class Prometheus:
    """Debian's prometheus, scraping the servers every SCRAPE, its storage in tmp."""

    def __init__(self, tmp, servers):
        self.port = free_port()
        conf = os.path.join(tmp, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: %s\n  scrape_timeout: %s\n" % (SCRAPE, SCRAPE))
            f.write("scrape_configs:\n  - job_name: kv\n    static_configs:\n")
            for s in servers:
                f.write("      - targets: ['127.0.0.1:%d']\n        labels: {stage: '%s'}\n"
                        % (s.metrics, s.stage))
        self.logf = open(os.path.join(tmp, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file=" + conf, "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdout=self.logf, stderr=subprocess.STDOUT)
        PROCS.append(self.proc)

    def query(self, promql):
        """The instant vector of promql as {stage: value}; None while Prometheus is not up."""
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (
            self.port, urllib.parse.urlencode({"query": promql}))
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = json.load(r)
        except OSError:
            check(self.proc.poll() is None, "prometheus exited: see its log")
            return None
        check(body.get("status") == "success", "query %s: %s" % (promql, body))
        return {m["metric"].get("stage"): float(m["value"][1]) for m in body["data"]["result"]}

    def wait_for(self, promql, want, what):
        """Polls until the query gives `want` ({stage: value}); the last answer otherwise."""
        deadline = time.time() + TIMEOUT
        got = None
        while time.time() < deadline:
            got = self.query(promql)
            if got == want:
                return got
            time.sleep(0.25)
        raise Fail("%s: %s gave %s, want %s" % (what, promql, got, want))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(TIMEOUT)
        self.logf.close()


def test_prometheus_counts_the_sets_on_every_stage(tmp, servers):
    check(shutil.which("prometheus") is not None, "prometheus is missing: make deps DEPS=metrics")
    prom = Prometheus(tmp, servers)
    try:
        prom.wait_for('up{job="kv"}', {s.stage: 1.0 for s in servers}, "scrapes")
        want = {}
        for i, s in enumerate(servers):
            n = 100 + 7 * i   # each stage its own count, so that a mix-up shows
            p = s.client().pipeline(transaction=False)
            for k in range(n):
                p.set("key:%d" % k, "value %d" % k)
            check(all(r is True for r in p.execute()), "a SET failed on " + s.stage)
            want[s.stage] = float(n)
        prom.wait_for('kv_server_commands_total{cmd="set"}', want, "SET counts")
        prom.wait_for('kv_server_command_duration_seconds_count{cmd="set"}', want,
                      "SET latency histogram")
        got = prom.query('histogram_quantile(0.99, kv_server_command_duration_seconds_bucket{cmd="set"})')
        check(got is not None and set(got) == set(want) and all(v > 0 for v in got.values()),
              "p99 of SET from the buckets: %s" % got)
        engine = prom.query("kv_engine_info")
        check(engine == {s.stage: 1.0 for s in servers}, "kv_engine_info: %s" % engine)
        # The engine's own histograms: each GET one kv_get, the SETs the
        # server's kv_write calls, as the engine timed them.
        gets = {}
        for i, s in enumerate(servers):
            m = 40 + 3 * i
            p = s.client().pipeline(transaction=False)
            for k in range(m):
                p.get("key:%d" % k)
            check(all(r is not None for r in p.execute()), "a GET failed on " + s.stage)
            gets[s.stage] = float(m)
        prom.wait_for("kv_engine_session_get_latency_seconds_count", gets, "engine get counts")
        writes = prom.query("kv_server_kv_writes_total")
        check(writes is not None and set(writes) == set(want) and all(v > 0 for v in writes.values()),
              "kv_server_kv_writes_total: %s" % writes)
        prom.wait_for("kv_engine_session_batch_latency_seconds_count", writes,
                      "engine kv_write counts")
        for family in ("kv_engine_session_get_latency_seconds",
                       "kv_engine_session_batch_latency_seconds"):
            got = prom.query("histogram_quantile(0.99, %s_bucket)" % family)
            check(got is not None and set(got) == set(want) and all(v > 0 for v in got.values()),
                  "p99 of %s from its buckets: %s" % (family, got))
        print("    Prometheus: up == 1, SET counts %s, engine gets %s"
              % (sorted(want.items()), sorted(gets.items())))
    finally:
        prom.stop()


def test_promtool_finds_nothing_to_say(tmp, servers):
    check(shutil.which("promtool") is not None, "promtool is missing: make deps DEPS=metrics")
    for s in servers:
        c = s.client()
        for k in range(300):   # some flushes and compactions: the level lines have numbers
            c.set("fill:%d" % k, "x" * 400)
        c.get("fill:1")
        try:
            c.execute_command("SET", "only-a-key")
        except redis.ResponseError:
            pass
        text = s.scrape()
        r = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=TIMEOUT)
        out = (r.stdout + r.stderr).decode().strip()
        check(r.returncode == 0 and out == "",
              "%s: promtool check metrics exit %d: %s" % (s.stage, r.returncode, out[:2000]))
        families = ["kv_server_commands_total", "kv_server_command_duration_seconds_bucket",
                    "kv_server_errors_total", "kv_server_connected_clients", "process_open_fds",
                    "kv_engine_info", "kv_engine_session_get_latency_seconds_bucket",
                    "kv_engine_session_batch_latency_seconds_sum",
                    "kv_engine_session_iter_next_latency_seconds_count",
                    "kv_engine_session_txn_commit_latency_seconds_bucket"]
        if "\nkv_engine_memtable_bytes " in text:   # the LSM stages: flushes
            families += ["kv_engine_session_flush_time_seconds_bucket",
                         "kv_engine_session_stall_memtable_time_seconds_count"]
        for family in families:
            check(("\n" + family) in text, "%s: no %s in /metrics" % (s.stage, family))
        check("# TYPE kv_engine_session_get_latency_seconds histogram" in text,
              "%s: the engine's get latency is no histogram" % s.stage)
        check('kv_server_errors_total{code="ERR"} 1' in text, "%s: the one ERR" % s.stage)
    print("    promtool check metrics: clean on %d stages" % len(servers))


class RedisServer:
    """Debian's redis-server on a free port, nothing saved."""

    def __init__(self, tmp):
        self.port = free_port()
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--save", "",
                                      "--appendonly", "no", "--dir", tmp],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        PROCS.append(self.proc)
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise Fail("redis-server did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(TIMEOUT)


def same_steps(c):
    """The same commands on kv serve and redis-server; what they answered."""
    out = []
    c.config_set("slowlog-log-slower-than", 0)
    c.slowlog_reset()
    c.config_resetstat()
    for args in (("SET", "a", "1"), ("GET", "a"), ("GET", "nope"), ("SET", "a"),
                 ("NOSUCH", "x"), ("MSET", "b", "2", "c", "3"), ("DEL", "b", "zz"),
                 ("MGET", "a", "c"), ("EXISTS", "a")):
        try:
            out.append(c.execute_command(*args))
        except redis.ResponseError as e:
            out.append("error: %s" % str(e).split(" ")[0])
    p = c.pipeline(transaction=True)
    p.set("m", "1").get("m")
    out.append(p.execute())
    return out


def commandstats_shape(c):
    stats = c.info("commandstats")
    return {k: {f: v for f, v in d.items() if f not in ("usec", "usec_per_call")}
            for k, d in stats.items()}, {k: sorted(d) for k, d in stats.items()}


def test_info_and_slowlog_answer_as_redis(tmp, servers):
    check(redis is not None, "redis-py is missing: make deps DEPS=server")
    kv = servers[0].client()
    rs = RedisServer(tmp)
    try:
        rc = redis.Redis(port=rs.port, socket_timeout=TIMEOUT)
        check(same_steps(kv) == same_steps(rc), "replies differ")
        kv_counts, kv_fields = commandstats_shape(kv)
        rs_counts, rs_fields = commandstats_shape(rc)
        # INFO itself: counted after it answers, as in Redis; CONFIG SET and
        # RESETSTAT, SLOWLOG RESET: the same in both.
        check(kv_counts == rs_counts, "commandstats:\n  kv    %s\n  redis %s" % (kv_counts, rs_counts))
        check(kv_fields == rs_fields, "commandstats fields: %s / %s" % (kv_fields, rs_fields))
        check(kv.info("errorstats") == rc.info("errorstats"),
              "errorstats: %s / %s" % (kv.info("errorstats"), rc.info("errorstats")))
        kl, rl = kv.info("latencystats"), rc.info("latencystats")
        check(sorted(kl) == sorted(rl), "latencystats names: %s / %s" % (sorted(kl), sorted(rl)))
        for name, pct in kl.items():
            check(sorted(pct) == ["p50", "p99", "p99.9"] and
                  all(isinstance(v, float) and v >= 0 for v in pct.values()),
                  "latencystats %s: %s" % (name, pct))
            check(pct["p50"] <= pct["p99"] <= pct["p99.9"], "%s: %s" % (name, pct))
        # SLOWLOG: the same entries, newest first, as redis-py reads them.
        ks, rss = kv.slowlog_get(100), rc.slowlog_get(100)
        check([e["command"] for e in ks] == [e["command"] for e in rss],
              "slowlog commands:\n  kv    %s\n  redis %s" % ([e["command"] for e in ks],
                                                             [e["command"] for e in rss]))
        for e in ks:
            check(set(e) == set(rss[0]) and e["duration"] >= 0 and
                  abs(e["start_time"] - time.time()) < 600,
                  "slowlog entry %s (redis: %s)" % (e, rss[0]))
        check([e["id"] for e in ks] == sorted((e["id"] for e in ks), reverse=True), "ids")
        check(kv.slowlog_len() == rc.slowlog_len(), "SLOWLOG LEN")
        for raw in kv.execute_command("SLOWLOG", "GET", "100"):   # redis-py leaves out 5 and 6
            check(len(raw) == 6 and raw[4].startswith(b"127.0.0.1:") and raw[5] == b"",
                  "slowlog entry %r" % (raw,))
        for args in (("SLOWLOG", "HELP"), ("SLOWLOG", "GET", "-2"), ("SLOWLOG", "GET", "x"),
                     ("SLOWLOG", "NOPE"), ("SLOWLOG", "GET", "1", "2"),
                     ("CONFIG", "SET", "slowlog-max-len", "-1"),
                     ("CONFIG", "SET", "slowlog-log-slower-than", "abc"),
                     ("CONFIG", "SET", "latency-tracking-info-percentiles", "101"),
                     ("CONFIG", "SET", "no-such-parameter", "1"),
                     ("CONFIG", "SET", "slowlog-max-len", "2", "slowlog-log-slower-than", "5"),
                     ("CONFIG", "GET", "slowlog-*"),
                     ("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99.99"),
                     ("CONFIG", "GET", "latency-tracking-info-percentiles")):
            def ask(conn):
                try:
                    return conn.execute_command(*args)
                except redis.ResponseError as e:
                    return "error: " + str(e)
            a, b = ask(kv), ask(rc)
            if args[2:4] == ("slowlog-max-len", "-1"):   # the bound differs: docs/metrics.md
                a, b = a.split(" and ")[0], b.split(" and ")[0]
            if isinstance(a, list):   # CONFIG GET: the pairs in any order
                a = sorted(zip(a[::2], a[1::2])) if args[0] == "CONFIG" else a
                b = sorted(zip(b[::2], b[1::2])) if args[0] == "CONFIG" else b
            check(a == b, "%s:\n  kv    %r\n  redis %r" % (" ".join(args), a, b))
        kv.set("after", "1")
        check(kv.slowlog_len() == 2, "slowlog-max-len 2 keeps 2: %d" % kv.slowlog_len())
        check(sorted(kv.info("latencystats")["latency_percentiles_usec_set"]) == ["p50", "p99.99"],
              "percentiles set: %s" % kv.info("latencystats"))
        kv.config_set("slowlog-log-slower-than", -1)
        n = kv.slowlog_len()
        kv.get("after")
        check(kv.slowlog_len() == n, "slowlog-log-slower-than -1 logs nothing")
        long_args = ["MSET"] + ["k%d" % i if i % 2 == 0 else "v" * 200 for i in range(40)]
        kv.config_set("slowlog-log-slower-than", 0)
        kv.config_set("slowlog-max-len", 10)
        kv.execute_command(*long_args)
        rc.config_set("slowlog-max-len", 10)
        rc.execute_command(*long_args)
        a = kv.slowlog_get(1)[0]["command"]
        b = rc.slowlog_get(1)[0]["command"]
        check(a == b, "a long MSET in the slow log:\n  kv    %r\n  redis %r" % (a, b))
    finally:
        rs.stop()
    print("    INFO commandstats/errorstats/latencystats and SLOWLOG as redis-server answers")


def test_background_rate_set_while_serving(tmp, servers):
    """CONFIG SET background-bytes-per-sec sets the engine's rate while it
    serves (kv_set_background_rate): stage 09 on, CONFIG GET and the
    engine's gauge in /metrics read it back; a stage without the limiter
    takes 0 and refuses any other rate with the engine's message, and the
    other pairs of that CONFIG SET are not applied either (all or none)."""
    def config_get(c, name):
        got = c.execute_command("CONFIG", "GET", name)
        check(len(got) == 2 and got[0] == name.encode(), "CONFIG GET %s: %r" % (name, got))
        return got[1]

    def gauge(s):
        for line in s.scrape().splitlines():
            if line.startswith("kv_engine_rate_limiter_bytes_per_second "):
                return float(line.split()[1])
        return None

    for s in servers:
        c = s.client()
        n = int(s.stage[:2])
        check(config_get(c, "background-bytes-per-sec") == b"0",
              "%s: the rate before any CONFIG SET" % s.stage)
        check(c.execute_command("CONFIG", "SET", "background-bytes-per-sec", "0") == b"OK",
              "%s: CONFIG SET background-bytes-per-sec 0" % s.stage)
        for bad in ("-1", "abc", "1k", ""):
            try:
                c.execute_command("CONFIG", "SET", "background-bytes-per-sec", bad)
                check(False, "%s: CONFIG SET background-bytes-per-sec %r answered OK" % (s.stage, bad))
            except redis.ResponseError as e:
                check("couldn't be parsed into an integer" in str(e), "%s: %r: %s" % (s.stage, bad, e))
        maxlen = config_get(c, "slowlog-max-len")
        try:
            c.execute_command("CONFIG", "SET", "slowlog-max-len", "7",
                              "background-bytes-per-sec", "1048576")
            refused = None
        except redis.ResponseError as e:
            refused = str(e)
        if n >= 9:
            check(refused is None, "%s: CONFIG SET of a rate refused: %s" % (s.stage, refused))
            check(config_get(c, "background-bytes-per-sec") == b"1048576", "%s: rate read back" % s.stage)
            check(config_get(c, "slowlog-max-len") == b"7", "%s: the other pair" % s.stage)
            check(gauge(s) == 1048576, "%s: the engine's gauge says %r" % (s.stage, gauge(s)))
            c.execute_command("CONFIG", "SET", "background-bytes-per-sec", "0",
                              "slowlog-max-len", maxlen)
            check(gauge(s) == 0, "%s: the gauge after 0: %r" % (s.stage, gauge(s)))
        else:
            check(refused is not None and "background-bytes-per-sec" in refused and
                  ("stage " + s.stage) in refused and "stage 09" not in refused,
                  "%s: a rate on a stage without the limiter (refused in the stage's own "
                  "words): %r" % (s.stage, refused))
            check(config_get(c, "background-bytes-per-sec") == b"0", "%s: rate unchanged" % s.stage)
            check(config_get(c, "slowlog-max-len") == maxlen,
                  "%s: the other pair was applied" % s.stage)
        c.close()


def ping_ok(s, what):
    c = redis.Redis(port=s.port, socket_timeout=5)   # a hang check, not a speed target
    try:
        check(c.ping() is True, what + ": PING")
    except redis.TimeoutError:
        raise Fail(what + ": PING did not answer within 5 s")


def http(port, data, read=True, timeout=5):
    sock = socket.create_connection(("127.0.0.1", port), timeout)
    sock.sendall(data)
    if not read:
        return sock
    got = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
            if b"\r\n\r\n" in got:
                head, body = got.split(b"\r\n\r\n", 1)
                length = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if length and len(body) >= int(length[0].split(b":")[1]):
                    break
    except socket.timeout:
        pass
    sock.close()
    return got


def test_hostile_http_clients_do_not_stall_redis_clients(tmp, servers):
    s = servers[0]
    m = s.metrics
    # Plain answers first.
    check(http(m, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 200 OK"), "GET")
    head = http(m, b"HEAD /metrics HTTP/1.1\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 200 OK") and head.endswith(b"\r\n\r\n"), "HEAD: %r" % head[:200])
    check(http(m, b"GET /nope HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 404"), "404")
    check(http(m, b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc").startswith(
        b"HTTP/1.1 405"), "405")
    check(http(m, b"BLAH\r\n\r\n").startswith(b"HTTP/1.1 400"), "400")
    two = http(m, b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n", timeout=5)
    check(two.count(b"HTTP/1.1 200 OK") == 2, "keep-alive, two requests: %r" % two[:300])
    # A request that never ends, held open while Redis clients work.
    stuck = [http(m, b"GET /metr", read=False) for _ in range(3)]
    ping_ok(s, "requests that never end")
    # Headers past the limit: 431, closed.
    big = http(m, b"GET /metrics HTTP/1.1\r\n" + b"X-Filler: " + b"y" * 20000 + b"\r\n\r\n")
    check(big.startswith(b"HTTP/1.1 431"), "huge headers: %r" % big[:100])
    ping_ok(s, "huge headers")
    # More connections than the limit, each with half a request.
    many = []
    for _ in range(200):
        many.append(http(m, b"GET /met", read=False))
    ping_ok(s, "200 connections")
    check(s.scrape().startswith("# HELP"), "a scrape after 200 connections (evicted the quiet)")
    # A client that pipelines requests and never reads its replies.
    greedy = http(m, b"GET /metrics HTTP/1.1\r\n\r\n" * 2000, read=False)
    time.sleep(0.5)
    ping_ok(s, "a client that never reads")
    check(s.scrape().startswith("# HELP"), "a scrape beside a client that never reads")
    text = s.scrape()
    closed = [l for l in text.split("\n") if l.startswith("kv_server_metrics_closed_total ")]
    check(closed and float(closed[0].split()[1]) > 0, "evictions counted: %s" % closed)
    for sock in stuck + many + [greedy]:
        sock.close()
    ping_ok(s, "after the hostile clients left")
    print("    PING answered beside every hostile HTTP client")


def main():
    if not KVS:
        print("usage: server_metrics_test.py build/S/kv...", file=sys.stderr)
        sys.exit(2)
    tmp = tempfile.mkdtemp(prefix="kvmetrics-", dir=os.environ.get("TMPDIR"))
    servers = []
    try:
        for kv in KVS:
            n = int(os.path.basename(os.path.dirname(os.path.abspath(kv)))[:2])
            knobs = ["--memtable-bytes", "64k"] if n >= 4 else []  # (kv refuses a knob a
            knobs += ["--table-bytes", "64k"] if n >= 6 else []   # stage has no use for)
            servers.append(Kv(kv, tmp, *knobs))
        run_test("prometheus_counts_the_sets_on_every_stage",
                 test_prometheus_counts_the_sets_on_every_stage, tmp, servers)
        run_test("promtool_finds_nothing_to_say", test_promtool_finds_nothing_to_say, tmp, servers)
        run_test("info_and_slowlog_answer_as_redis", test_info_and_slowlog_answer_as_redis, tmp,
                 servers)
        run_test("background_rate_set_while_serving", test_background_rate_set_while_serving, tmp,
                 servers)
        run_test("hostile_http_clients_do_not_stall_redis_clients",
                 test_hostile_http_clients_do_not_stall_redis_clients, tmp, servers)
        for s in servers:
            run_test("clean_stop " + s.stage, s.stop)
    except Fail as e:
        global failed
        failed += 1
        print("FAIL start: %s" % e)
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
