#!/usr/bin/env python3
"""server_test.py: drives `kv DIR serve` through real sockets.

    python3 tests/server_test.py build/S/kv [NAME-FILTER]

Each test starts its own server on a fresh directory and a port the kernel
picks (`--port 0`; the port is read from the --verbose start-up line), so
runs in parallel do not collide.  It speaks RESP2 itself (no client
library), so it can also send what no library would: torn, malformed and
oversized requests.  Prints "RUN name" / "ok name" or "FAIL name: why" per
test and ends with "N passed, N failed" (tests/run.sh reads it).
"""
import os
import random
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

KV = sys.argv[1] if len(sys.argv) > 1 else "build/03-wal/kv"
# The stage's number (build/06-leveled/kv: 6): kv refuses a knob the stage
# has no use for, serve as every other command.
STAGE_NUM = int(os.path.basename(os.path.dirname(os.path.abspath(KV)))[:2])
FILTER = sys.argv[2] if len(sys.argv) > 2 else ""
MAX_VALUE = 64 * 1024 * 1024
TIMEOUT = 30


RUNNING = []  # every server started, so a failed test leaves none behind
SERVERS = []  # ... and their logs, searched for sanitizer reports
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer")


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


class Server:
    """A `kv DIR serve` process; its stderr is collected in self.log."""

    def __init__(self, dirpath, *opts, verbose=True, port=None, nofile=None):
        self.dir = dirpath
        args = [KV, dirpath, "serve", "--port", str(port if port else 0)] + list(opts)
        if verbose:
            args.append("--verbose")

        def limit_files():  # in the child, before exec: the open-file limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE,
                                     preexec_fn=limit_files if nofile else None)
        RUNNING.append(self.proc)
        SERVERS.append(self)
        self.log = []
        self.port = port
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        if verbose:
            check(self.ready.wait(TIMEOUT), "server did not start: %s" % self.log)
            check(self.port is not None, "no port in the start-up line: %s" % self.log)
        else:
            self._wait_connectable()

    def _read_log(self):
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            self.log.append(line)
            if " port " in line and "listening" in line and self.port is None:
                self.port = int(line.rsplit(" port ", 1)[1].split(",")[0])
                self.ready.set()
        self.ready.set()

    def _wait_connectable(self):
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                check(self.proc.poll() is None, "server exited: %s" % self.log)
                time.sleep(0.05)
        raise Fail("server did not listen")

    def connect(self):
        return Conn(self.port)

    def stop(self):
        """SIGTERM; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Fail("server did not stop within %ds of SIGTERM" % TIMEOUT)
        self.reader.join(TIMEOUT)
        return status

    def cpu_seconds(self):
        """User and system CPU time the server has used (/proc/PID/stat)."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def sanitizer_lines(self):
        return [l for l in self.log if any(m in l for m in SANITIZER_MARKS)]

    def errors(self):
        """Log lines about connections that failed."""
        return [l for l in self.log if ": connected" not in l and ": closed" not in l
                and "listening on" not in l and "stopping" not in l and "stopped" not in l]


class RedisServer:
    """Debian's redis-server on a free port, in memory only (no RDB, no
    AOF), to compare replies with (`make deps DEPS=server` installs it)."""

    def __init__(self, dirpath):
        exe = shutil.which("redis-server")
        check(exe is not None, "redis-server is missing: make deps DEPS=server")
        os.makedirs(dirpath, exist_ok=True)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", dirpath],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        RUNNING.append(self.proc)
        deadline = time.time() + TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                check(self.proc.poll() is None and time.time() < deadline,
                      "redis-server did not start")
                time.sleep(0.05)

    def connect(self):
        return Conn(self.port)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(TIMEOUT)


def same_as_redis(tmp, steps, *opts):
    """Runs steps, (client number, command words...), against `kv serve`
    and against redis-server, each on its own clients; returns our replies
    after checking that they are Redis's (an error matches any error: the
    wording differs)."""
    ours, theirs = Server(tmp, *opts), RedisServer(tmp + "-redis")
    n = 1 + max(step[0] for step in steps)
    conns = [([ours.connect() for _ in range(n)], []), ([theirs.connect() for _ in range(n)], [])]
    for step in steps:
        for cs, replies in conns:
            replies.append(cs[step[0]].cmd(*step[1:]))
    theirs.stop()
    check(ours.stop() == 0, "exit status")
    got, want = conns[0][1], conns[1][1]
    for step, g, w in zip(steps, got, want):
        same = isinstance(g, Err) and isinstance(w, Err) if isinstance(w, Err) else g == w
        check(same, "%s: kv serve answered %r, redis-server %r" % (step, g, w))
    return got


class Conn:
    """One client connection speaking RESP2."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), TIMEOUT)
        self.sock.settimeout(TIMEOUT)
        self.buf = bytearray()  # received, not yet parsed from self.pos on
        self.pos = 0

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        if self.pos > (1 << 20):
            del self.buf[:self.pos]
            self.pos = 0
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def _take(self, n):
        while len(self.buf) - self.pos < n:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return data

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos:end])
                self.pos = end + 2
                return line
            self._fill()

    def reply(self):
        """The next reply: bytes, int, None (nil), list, or Err."""
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return Err(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            return self._take(n + 2)[:n]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise Fail("not a RESP reply: %r" % line)

    def cmd(self, *args):
        self.send(encode(*args))
        return self.reply()

    def at_eof(self):
        """True if the server closed the connection (after what is buffered)."""
        try:
            while True:
                if len(self.buf) > self.pos:
                    return False
                self._fill()
        except (EOFError, ConnectionResetError):
            return True

    def close(self):
        self.sock.close()

    def reset(self):
        """Closes with a TCP reset (SO_LINGER 0): what is unsent or unread is dropped."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


class Err(str):
    pass


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def is_err(r, prefix="ERR"):
    return isinstance(r, Err) and r.startswith(prefix)


# ---- the tests -----------------------------------------------------------

def test_ping_echo_and_unknown_commands(tmp):
    s = Server(tmp)
    c = s.connect()
    check(c.cmd("PING") == b"PONG", "PING")
    check(c.cmd("ping", "hi") == b"hi", "PING msg")
    check(c.cmd("ECHO", b"a\x00b") == b"a\x00b", "ECHO binary")
    r = c.cmd("FLUSHALL", "x")
    check(is_err(r) and "FLUSHALL" in r, "unknown command named: %r" % r)
    check(is_err(c.cmd("GET")) and "wrong number" in c.cmd("GET", "a", "b"), "arity")
    check(c.cmd("PING") == b"PONG", "still usable after errors")
    check(s.stop() == 0, "exit status")


def test_set_get_del_exists_round_trip(tmp):
    s = Server(tmp)
    c = s.connect()
    check(c.cmd("SET", "k", "v") == b"OK", "SET")
    check(c.cmd("GET", "k") == b"v", "GET")
    check(c.cmd("GET", "nope") is None, "GET absent is nil")
    check(c.cmd("SET", b"\x00bin\xff", b"") == b"OK", "binary key, empty value")
    check(c.cmd("GET", b"\x00bin\xff") == b"", "empty value back")
    big = os.urandom(1 << 20)
    check(c.cmd("SET", "big", big) == b"OK" and c.cmd("GET", "big") == big, "1 MiB value")
    check(c.cmd("EXISTS", "k", "nope", "k") == 2, "EXISTS counts")
    check(c.cmd("DEL", "k", "nope") == 1, "DEL counts what existed")
    check(c.cmd("DEL", "k") == 0, "DEL of a deleted key")
    check(c.cmd("GET", "k") is None, "deleted")
    check(is_err(c.cmd("SET", "", "v")), "empty key refused")
    check(is_err(c.cmd("SET", "k" * 65536, "v")), "key over KV_MAX_KEY refused")
    check(c.cmd("GET", "k" * 65536) is None, "long key read as absent")
    check(is_err(c.cmd("SET", "k", "v", "EX", "10")), "SET EX refused: nothing expires here")
    check(is_err(c.cmd("SET", "k", "v", "GET")), "SET GET refused")
    check(is_err(c.cmd("SET", "k", "v", "NX", "XX")), "SET NX XX refused")
    check(c.cmd("GET", "k") is None, "a refused SET wrote nothing")
    check(c.cmd("PING") == b"PONG", "connection kept after command errors")
    check(s.stop() == 0, "exit status")


def set_nx_and_xx_answer_as_redis(tmp, *opts):
    """SET NX and XX (and KEEPTTL, which changes nothing where nothing
    expires) answer what redis-server answers, each judged on its key as
    the writes before it left it: pipelined in one batch (several on one
    key, beside DELs, which the batch counts the same way), inside MULTI,
    and one client's conditional SET after another's plain one."""
    a, b = encode, None
    steps = [(0, "SET", "n", "1", "NX"), (0, "SET", "n", "2", "NX"), (0, "GET", "n"),
             (0, "SET", "x", "1", "XX"), (0, "GET", "x"), (0, "SET", "n", "3", "XX"),
             (0, "SET", "n", "4", "KEEPTTL"), (0, "GET", "n"),
             (1, "SET", "o", "1"), (0, "SET", "o", "2", "NX"), (0, "GET", "o"),
             (0, "MULTI"), (0, "SET", "t", "a", "NX"), (0, "SET", "t", "b", "NX"),
             (0, "DEL", "t", "t"), (0, "SET", "t", "c", "XX"), (0, "SET", "t", "d", "NX"),
             (0, "GET", "t"), (0, "EXEC"), (0, "SET", "t", "e", "xx", "keepttl"),
             (0, "GET", "t")]
    got = same_as_redis(tmp, steps, *opts)
    check(got[1] is None and got[2] == b"1" and got[3] is None and got[7] == b"4",
          "NX found n, XX found no x, XX on n applied (%r)" % (got[:8],))
    check(got[18] == [b"OK", None, 1, None, b"OK", b"d"], "EXEC's replies (%r)" % (got[18],))
    # Pipelined: one batch, several conditional SETs and DELs on one key.
    srv = Server(tmp + "-pipe", *opts)
    c = srv.connect()
    words = [("SET", "p", "1", "NX"), ("SET", "p", "2", "NX"), ("DEL", "p", "q"),
             ("SET", "p", "3", "XX"), ("SET", "p", "4", "NX"), ("SET", "q", "5", "XX"),
             ("DEL", "p", "p"), ("SET", "p", "6", "NX"), ("GET", "p"), ("GET", "q")]
    c.send(b"".join(a(*w) for w in words))
    got = [c.reply() for _ in words]
    check(got == [b"OK", None, 1, None, b"OK", None, 1, b"OK", b"6", b], "a pipeline of SET NX "
          "and XX and DELs on one key, answered in order as Redis would (%r)" % (got,))
    check(srv.stop() == 0, "exit status")


def test_set_nx_and_xx_answer_as_redis(tmp):
    set_nx_and_xx_answer_as_redis(tmp)


def test_set_nx_and_xx_answer_as_redis_with_sync(tmp):
    set_nx_and_xx_answer_as_redis(tmp, "--sync")


def test_mset_is_atomic_and_mget_answers_each(tmp):
    s = Server(tmp)
    c = s.connect()
    check(c.cmd("MSET", "a", "1", "b", "2", "a", "3") == b"OK", "MSET")
    check(c.cmd("MGET", "a", "b", "zz") == [b"3", b"2", None], "MGET (a later pair wins)")
    check(is_err(c.cmd("MSET", "a", "1", "b")), "MSET odd arguments")
    check(is_err(c.cmd("MSET", "a", "1", "", "2")), "MSET with an empty key")
    check(c.cmd("GET", "a") == b"3", "a refused MSET wrote nothing")
    check(c.cmd("DEL", "a", "b", "a") == 2, "DEL a b a")
    check(c.cmd("DBSIZE") == 0, "DBSIZE after deleting all")
    check(s.stop() == 0, "exit status")


ATOMIC_READ_SECONDS = 2.0  # each mode; tests/server_atomic_reads.py runs it for longer


def reads_are_atomic(tmp, *opts, seconds=None):
    """Writers keep a == b (pipelined MSETs from one client, MULTI/EXECs
    from another) and make c and d exist together or not at all (MSET c d,
    then DEL c d); a reader's MGET a b must see a == b, and its EXISTS c d
    0 or 2, every time: a read of several keys is at one snapshot, while
    writer threads apply batches (with --sync, and every EXEC).  Returns
    (reads, torn)."""
    seconds = ATOMIC_READ_SECONDS if seconds is None else seconds
    s = Server(tmp, *opts)
    stop = threading.Event()
    errors = []
    writes = [0, 0, 0]

    def writer(which):
        try:
            c = s.connect()
            i = 0
            while not stop.is_set():
                req, n = [], 0
                for _ in range(8):
                    i += 1
                    v = "%d-%d" % (which, i)
                    if which == 0:
                        req.append(encode("MSET", "a", v, "b", v))
                        n += 1
                    elif which == 1:
                        req += [encode("MULTI"), encode("SET", "a", v), encode("SET", "b", v),
                                encode("EXEC")]
                        n += 4
                    else:
                        req.append(encode("MSET", "c", v, "d", v) if i % 2 else
                                   encode("DEL", "c", "d"))
                        n += 1
                c.send(b"".join(req))
                for _ in range(n):
                    r = c.reply()
                    if isinstance(r, Err):
                        raise Fail("writer %d: %s" % (which, r))
                writes[which] += 8
        except Exception as e:  # noqa: BLE001 (reported by the test)
            errors.append("writer %d: %s" % (which, e))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    reads = torn = 0
    examples = []
    try:
        rd = s.connect()
        deadline = time.time() + seconds
        while time.time() < deadline and not errors:
            rd.send((encode("MGET", "a", "b") + encode("EXISTS", "c", "d")) * 16)
            for _ in range(16):
                ab, cd = rd.reply(), rd.reply()
                reads += 2
                if not isinstance(ab, list) or ab[0] != ab[1]:
                    torn += 1
                    examples.append(ab)
                if cd not in (0, 2):
                    torn += 1
                    examples.append(cd)
    finally:
        stop.set()
        for t in threads:
            t.join(TIMEOUT)
    check(not errors, "; ".join(errors))
    label = "atomic reads%s" % ("".join(" " + o for o in opts))
    FIGURES[label + ": reads"] = reads
    FIGURES[label + ": torn"] = torn
    FIGURES[label + ": writes"] = sum(writes)
    check(s.stop() == 0, "exit status")
    check(torn == 0, "%d of %d reads saw half of a batch (%s)" % (torn, reads, examples[:3]))
    check(reads > 0 and min(writes) > 0, "reads %d, writes %s" % (reads, writes))
    return reads, torn


def test_mget_and_exists_read_one_snapshot(tmp):
    reads_are_atomic(tmp + "-1")
    reads_are_atomic(tmp + "-2", "--sync")


def test_pipelined_replies_in_order_see_earlier_writes(tmp):
    s = Server(tmp)
    c = s.connect()
    req, want = [], []
    for i in range(600):
        k = "k%d" % (i % 37)
        req.append(encode("SET", k, "v%d" % i))
        want.append(b"OK")
        req.append(encode("GET", k))
        want.append(b"v%d" % i)
        if i % 50 == 0:
            req.append(encode("DEL", k))
            want.append(1)
            req.append(encode("EXISTS", k))
            want.append(0)
            req.append(b"PING\r\n")
            want.append(b"PONG")
    c.send(b"".join(req))
    got = [c.reply() for _ in want]
    check(got == want, "first difference at %s" % next(
        (i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w) if got != want else "")
    check(s.stop() == 0, "exit status")


def test_concurrent_clients_each_see_their_writes(tmp):
    s = Server(tmp)
    errors = []

    def client(n):
        try:
            c = s.connect()
            for i in range(100):
                k = "c%d-%d" % (n, i)
                c.send(encode("SET", k, k) + encode("GET", k))
                if c.reply() != b"OK" or c.reply() != k.encode():
                    errors.append("client %d op %d" % (n, i))
                    return
            c.close()
        except Exception as e:  # noqa: BLE001 (report any failure)
            errors.append("client %d: %r" % (n, e))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "; ".join(errors[:3]))
    check(s.connect().cmd("DBSIZE") == 10 * 100, "DBSIZE")
    check(s.stop() == 0, "exit status")


def scan_all(c, *opts):
    keys, cursor, calls = [], b"0", 0
    while True:
        r = c.cmd("SCAN", cursor, *opts)
        check(isinstance(r, list) and len(r) == 2, "SCAN reply %r" % (r,))
        cursor, batch = r
        keys += batch
        calls += 1
        if cursor == b"0":
            return keys, calls
        check(calls < 10000, "SCAN does not end")


def test_scan_walks_every_key_once_in_key_order(tmp):
    s = Server(tmp)
    c = s.connect()
    names = sorted({b"key:%d" % (i * 7919 % 1000) for i in range(300)} | {b"a", b"a\x00", b"z"})
    c.send(b"".join(encode("SET", k, "x") for k in names))
    for _ in names:
        check(c.reply() == b"OK", "SET")
    keys, calls = scan_all(c, "COUNT", "7")
    check(keys == names, "SCAN COUNT 7 returned %d keys, want %d in order" % (len(keys), len(names)))
    check(calls > len(names) // 7, "COUNT honoured")
    keys, _ = scan_all(c, "MATCH", "key:1?", "COUNT", "50")
    check(keys == sorted(k for k in names if k.startswith(b"key:1") and len(k) == 6), "MATCH")
    keys, _ = scan_all(c, "TYPE", "hash")
    check(keys == [], "TYPE hash matches nothing")
    # A key added during the walk, after the cursor: returned; one deleted
    # ahead of it: the walk still ends.
    r = c.cmd("SCAN", "0", "COUNT", "5")
    c.cmd("SET", "zz", "x")
    rest, _ = scan_all(c)  # an independent walk still sees everything
    check(b"zz" in rest, "a new walk sees the new key")
    check(is_err(c.cmd("SCAN", "123456789")), "an unknown cursor is an error")
    check(is_err(c.cmd("SCAN", "abc")), "a cursor that is not a number")
    check(r[0] != b"0", "a cursor to continue with")
    check(s.stop() == 0, "exit status")


def test_info_dbsize_config_and_command_answer(tmp):
    s = Server(tmp)
    c = s.connect()
    c.cmd("MSET", "a", "1", "b", "2")
    info = c.cmd("INFO")
    check(isinstance(info, bytes), "INFO is a bulk string")
    text = info.decode()
    for section in ("# Server", "# Clients", "# Stats", "# Engine", "# Keyspace"):
        check(section in text, "INFO has %s" % section)
    check("db0:keys=2" in text, "Keyspace counts keys")
    check("stage:" in text, "kv_stats lines in Engine")
    only = c.cmd("INFO", "keyspace").decode()
    check("# Keyspace" in only and "# Server" not in only, "INFO section")
    check(c.cmd("DBSIZE") == 2, "DBSIZE")
    cfg = c.cmd("CONFIG", "GET", "save")
    check(cfg == [b"save", b""], "CONFIG GET save: %r" % cfg)
    cfg = c.cmd("CONFIG", "GET", "append*")
    check(b"appendonly" in cfg and b"appendfsync" in cfg, "CONFIG GET pattern")
    check(c.cmd("COMMAND", "COUNT") == len(c.cmd("COMMAND")), "COMMAND and COUNT agree")
    check(c.cmd("COMMAND", "DOCS") == [], "COMMAND DOCS")
    get = c.cmd("COMMAND", "INFO", "get", "nosuch")
    check(get[0][0] == b"get" and get[0][1] == 2 and get[1] is None, "COMMAND INFO")
    # Subcommands are rows of the table: COMMAND INFO reports one by
    # "name|sub", COMMAND COUNT counts commands alone, a subcommand's
    # arity is checked (the command's own answer) and each row is counted
    # apart in INFO commandstats.
    sub = c.cmd("COMMAND", "INFO", "config|get", "config|nosuch", "CONFIG|RESETSTAT")
    check(sub[0][:2] == [b"config|get", -3] and sub[1] is None and
          sub[2][:2] == [b"config|resetstat", 2], "COMMAND INFO name|sub: %r" % (sub,))
    check(b"config" in c.cmd("COMMAND", "LIST") and
          not any(b"|" in n for n in c.cmd("COMMAND", "LIST")), "COMMAND LIST: commands alone")
    for words in (("CONFIG", "GET"), ("CONFIG", "RESETSTAT", "x"), ("CONFIG", "nosuch")):
        check(is_err(c.cmd(*words), "ERR unknown subcommand or wrong number of arguments for "
                     "CONFIG"), "%s: CONFIG's own answer" % " ".join(words))
    stats = c.cmd("INFO", "commandstats").decode()
    check("cmdstat_config|get:calls=3," in stats and "cmdstat_config:calls=1," in stats and
          "cmdstat_config|resetstat:calls=1,usec=" in stats and
          "cmdstat_command|info:calls=2," in stats,
          "commandstats per row: %s" % stats.replace("\r\n", " "))
    check(s.stop() == 0, "exit status")


def test_inline_commands_work(tmp):
    s = Server(tmp)
    c = s.connect()
    c.send(b"SET  a\tb\r\nGET a\n\r\nPING\r\n")
    check([c.reply(), c.reply(), c.reply()] == [b"OK", b"b", b"PONG"], "inline")
    check(s.stop() == 0, "exit status")


def expect_protocol_error(s, data, what):
    c = s.connect()
    c.send(data)
    r = c.reply()
    check(is_err(r, "ERR Protocol error"), "%s: got %r" % (what, r))
    check(c.at_eof(), "%s: connection closed" % what)


def test_malformed_input_gets_an_error_and_is_closed(tmp):
    s = Server(tmp)
    cases = [
        (b"*2\r\n:1\r\n", "an integer where a bulk string must be"),
        (b"*1\r\n$3\r\nabcXY", "no CRLF after a bulk string"),
        (b"*x\r\n", "an array length that is not a number"),
        (b"*1\r\n$-1\r\n", "a nil bulk string in a request"),
        (b"*-5\r\n", "a negative array length"),
        (b"*1\r\n$1234567890123456789012\r\n", "a length with too many digits"),
        (b"*1\r\n$%d\r\n" % (MAX_VALUE + 1), "a bulk string over KV_MAX_VALUE"),
        (b"*1048577\r\n", "an array over 1M elements"),
        (b"x" * (64 * 1024 + 10), "an inline line over 64 KiB"),
    ]
    for data, what in cases:
        expect_protocol_error(s, data, what)
    check(s.connect().cmd("PING") == b"PONG", "others still served")
    check(s.stop() == 0, "exit status")
    errors = s.errors()
    check(len(errors) == len(cases), "one log line per bad connection: %s" % errors)


def test_largest_value_waited_for_torn_request_harmless(tmp):
    s = Server(tmp)
    c = s.connect()
    check(c.cmd("SET", "v", b"v" * 100000) == b"OK", "a 100 KB value")
    check(c.cmd("GET", "v") == b"v" * 100000, "read back")
    # A bulk string of exactly KV_MAX_VALUE is not refused: the server
    # waits for its bytes (one more byte is refused, in the test above).
    t = s.connect()
    t.send(b"*3\r\n$3\r\nSET\r\n$4\r\ntorn\r\n$%d\r\nonly part" % MAX_VALUE)
    time.sleep(0.2)
    check(c.cmd("PING") == b"PONG", "others served meanwhile")
    t.sock.settimeout(0.2)
    try:
        t.sock.recv(1)
        raise Fail("the connection sending KV_MAX_VALUE bytes was answered or closed")
    except socket.timeout:
        pass
    t.close()  # a request cut short is never run
    time.sleep(0.1)
    check(c.cmd("EXISTS", "torn") == 0, "torn request not applied")
    check(s.stop() == 0, "exit status")
    check(s.errors() == [], "a client hanging up is not an error: %s" % s.errors())


def writes_larger_than_a_batch(tmp, full=False):
    """An MSET or DEL is one atomic kv_write, so one larger than kv.h's
    batch bound (KV_MAX_BATCH_BYTES: 64 MiB and 64 KiB) is refused with
    nothing written.  full (tests/server_stress.py): a DEL too, and SETs of
    several clients that together pass the bound, sent in one pass of the
    loop, each applied (in batches of their own)."""
    s = Server(tmp)
    c = s.connect()
    big = b"v" * (64 << 20)
    r = c.cmd("MSET", "a", big, "b", b"w" * 70000)
    check(is_err(r) and "KV_MAX_BATCH_BYTES" in r, "MSET of 64 MiB and 70 KB: %r" % r)
    check(c.cmd("EXISTS", "a", "b") == 0, "nothing of it written")
    check(c.cmd("MSET", "a", big[:1000], "b", b"1") == b"OK", "an MSET within the bound")
    if full:
        keys = [b"k%05d" % i + b"x" * 64000 for i in range(1100)]  # 70 MB of keys
        r = c.cmd("DEL", *keys)
        check(is_err(r) and "KV_MAX_BATCH_BYTES" in r, "DEL of 70 MB of keys: %r" % r)
        conns = [s.connect() for _ in range(3)]
        for i, k in enumerate(conns):
            k.send(encode("SET", "big%d" % i, big[:(22 << 20) + i]) + encode("DEL", "nothing"))
        for i, k in enumerate(conns):
            check(k.reply() == b"OK" and k.reply() == 0, "client %d's SET and DEL" % i)
        for i in range(3):
            check(c.cmd("STRLEN", "big%d" % i) == (22 << 20) + i, "big%d applied" % i)
    check(s.stop() == 0, "exit status")


def test_mset_larger_than_a_batch_is_refused(tmp):
    writes_larger_than_a_batch(tmp)


def test_slow_reader_does_not_hold_up_others(tmp):
    s = Server(tmp)
    c = s.connect()
    value = b"x" * (1 << 20)
    c.cmd("SET", "v", value)
    slow = s.connect()
    slow.send(encode("GET", "v") * 16)  # 16 MiB of replies it does not read yet
    time.sleep(0.2)
    t0 = time.time()
    check(c.cmd("PING") == b"PONG", "another client answered")
    check(time.time() - t0 < 5, "answered promptly")
    for _ in range(16):
        check(slow.reply() == value, "the slow reader gets every reply")
    check(s.stop() == 0, "exit status")


def test_requirepass_needs_auth_first(tmp):
    pw = tmp + ".pass"
    with open(pw, "w") as f:
        f.write("s3cret\n")
    s = Server(tmp, "--requirepass", pw)
    c = s.connect()
    check(is_err(c.cmd("GET", "a"), "NOAUTH"), "NOAUTH before AUTH")
    check(is_err(c.cmd("SET", "a", "1"), "NOAUTH"), "no write before AUTH")
    check(is_err(c.cmd("AUTH", "wrong"), "WRONGPASS"), "wrong password")
    check(is_err(c.cmd("AUTH", "other", "s3cret"), "WRONGPASS"), "unknown user")
    check(c.cmd("AUTH", "s3cret") == b"OK", "AUTH")
    check(c.cmd("SET", "a", "1") == b"OK", "after AUTH")
    d = s.connect()
    check(d.cmd("AUTH", "default", "s3cret") == b"OK", "AUTH default password")
    check(d.cmd("GET", "a") == b"1", "read after AUTH")
    check(s.stop() == 0, "exit status")
    os.unlink(pw)
    s = Server(tmp)
    check(is_err(s.connect().cmd("AUTH", "x")), "AUTH without a password configured")
    check(s.stop() == 0, "exit status")


def test_maxclients_refuses_one_more(tmp):
    s = Server(tmp, "--maxclients", "3")
    conns = [s.connect() for _ in range(3)]
    for c in conns:
        check(c.cmd("PING") == b"PONG", "within the limit")
    extra = s.connect()
    r = extra.reply()
    check(is_err(r) and "max number of clients" in r, "refused: %r" % r)
    conns[0].close()
    time.sleep(0.2)
    check(s.connect().cmd("PING") == b"PONG", "room again after a client left")
    check(s.stop() == 0, "exit status")


def test_quiet_without_verbose_but_connection_errors(tmp):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    s = Server(tmp, verbose=False, port=port)
    c = s.connect()
    check(c.cmd("SET", "a", "1") == b"OK", "SET")
    c.close()
    expect_protocol_error(s, b"*1\r\n$-7\r\n", "bad length")
    check(s.stop() == 0, "exit status")
    check(len(s.log) == 1 and "client 127.0.0.1:" in s.log[0], "exactly one log line: %s" % s.log)


def test_sigterm_loses_nothing_acknowledged(tmp, sync=False):
    opts = ["--sync"] if sync else []
    s = Server(tmp, *opts)
    acked = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n):
        c = s.connect()
        i = 0
        try:
            while not stop.is_set() or i < 5:
                batch = [("w%d-%d" % (n, i + j), "v%d" % (i + j)) for j in range(20)]
                c.send(b"".join(encode("SET", k, v) for k, v in batch))
                for k, v in batch:
                    if c.reply() != b"OK":
                        return
                    with lock:
                        acked[k] = v
                i += 20
        except (EOFError, OSError):
            pass  # the server closed after SIGTERM: what was acknowledged counts

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    status = s.stop()
    stop.set()
    for t in threads:
        t.join(TIMEOUT)
    check(status == 0, "exit status %s" % status)
    check(len(acked) > 0, "some writes acknowledged")
    # Read everything back in one pass with the kv tool (a get per key
    # would scan stage 01's whole log each time).
    out = subprocess.run([KV, tmp, "scan"], stdout=subprocess.PIPE, check=True).stdout
    stored = dict(line.split(b"\t", 1) for line in out.splitlines())
    missing = [k for k, v in acked.items() if stored.get(k.encode()) != v.encode()]
    check(not missing, "%d of %d acknowledged writes lost, e.g. %s" % (len(missing), len(acked), missing[:3]))
    s = Server(tmp, *opts)
    check(s.connect().cmd("GET", missing[0] if missing else next(iter(acked))) is not None, "served after restart")
    check(s.stop() == 0, "exit status after restart")


def test_sigterm_with_sync_loses_nothing_acknowledged(tmp):
    test_sigterm_loses_nothing_acknowledged(tmp, sync=True)


def test_half_closed_client_still_gets_replies(tmp):
    s = Server(tmp)
    c = s.connect()
    c.send(encode("SET", "h", "1") + encode("GET", "h"))
    c.sock.shutdown(socket.SHUT_WR)
    check([c.reply(), c.reply()] == [b"OK", b"1"], "replies after the client's FIN")
    check(c.at_eof(), "then closed")
    check(s.stop() == 0, "exit status")


def test_quit_answers_then_closes(tmp):
    s = Server(tmp)
    c = s.connect()
    c.send(encode("SET", "q", "1") + encode("QUIT") + encode("PING"))
    check(c.reply() == b"OK" and c.reply() == b"OK", "SET and QUIT answered")
    check(c.at_eof(), "closed after QUIT, PING not run")
    check(s.stop() == 0, "exit status")


# ---- what a client must not be able to do to the server -----------------
# The sizes the acceptance run (tests/server_stress.py, `make serve-stress`)
# raises; `make test` keeps them small.
RESET_ROUNDS = 3
RESET_CLIENTS = 60
RANDOM_CLOSE_SECONDS = 2.0
DEL_KEYS = 200000
FIGURES = {}  # measured figures, printed by tests/server_stress.py


def reset_clients_with_replies_pending(tmp, *opts):
    """Clients pipeline GETs of a large value (and SETs), then close with a
    reset while their replies are pending: the server's sends fail."""
    s = Server(tmp, *opts)
    c = s.connect()
    value = b"v" * 65536
    check(c.cmd("SET", "big", value) == b"OK", "SET")
    for r in range(RESET_ROUNDS):
        conns = [s.connect() for _ in range(RESET_CLIENTS)]
        for i, k in enumerate(conns):
            k.send(encode("GET", "big") * 8 + encode("SET", "r%d-%d" % (r, i), "x") +
                   encode("GET", "big") + encode("MGET", "big", "big"))
        for k in conns:
            k.reset()
        check(s.proc.poll() is None, "round %d: the server died: %s" % (r, s.log[-5:]))
        check(c.cmd("PING") == b"PONG", "round %d: the server answers" % r)
    check(c.cmd("GET", "big") == value, "the value is intact")
    check(s.stop() == 0, "exit status")


def test_reset_clients_with_replies_pending(tmp):
    reset_clients_with_replies_pending(tmp)


def test_reset_clients_with_replies_pending_sync(tmp):
    reset_clients_with_replies_pending(tmp, "--sync")


def random_pipeline(rng, n):
    """n random requests, encoded, and a key prefix they write under."""
    tag = "r%d-" % rng.randrange(1 << 30)
    reqs = []
    for _ in range(n):
        k = tag + str(rng.randrange(20))
        reqs.append(rng.choice([
            lambda: encode("GET", "big"),
            lambda: encode("GET", k),
            lambda: encode("SET", k, "x" * rng.randrange(1, 3000)),
            lambda: encode("MSET", k, "1", k + "b", "2"),
            lambda: encode("DEL", k, k + "b", "nope"),
            lambda: encode("MGET", k, "big"),
            lambda: encode("SCAN", "0", "MATCH", tag + "*", "COUNT", "50"),
            lambda: encode("KEYS", "r*[0-9]"),
            lambda: encode("TYPE", k),
            lambda: encode("STRLEN", "big"),
            lambda: encode("EXISTS", k, "big"),
            lambda: encode("INFO", "stats"),
            lambda: b"PING\r\n",
        ])())
    return b"".join(reqs)


def random_client(s, rng, deadline, errors):
    """Connections that end at a random point: mid-request, mid-reply, with
    requests pipelined, by reset, FIN or half-close."""
    while time.time() < deadline and not errors:
        try:
            k = Conn(s.port)
            data = random_pipeline(rng, rng.randrange(1, 40))
            if rng.random() < 0.4:  # and a request cut short
                more = random_pipeline(rng, 1)
                data += more[:rng.randrange(1, len(more))]
            cut = rng.randrange(len(data) + 1)
            k.send(data[:cut])
            if rng.random() < 0.3:
                time.sleep(rng.random() * 0.01)
            end = rng.choice(["reset", "close", "half", "read-some", "send-all-reset"])
            if end == "send-all-reset":
                k.send(data[cut:])
                time.sleep(rng.random() * 0.005)
                k.reset()
            elif end == "reset":
                k.reset()
            elif end == "close":
                k.close()
            elif end == "half":
                k.send(data[cut:])
                k.sock.shutdown(socket.SHUT_WR)
                k.sock.settimeout(TIMEOUT)
                while k.sock.recv(1 << 16):
                    pass
                k.close()
            else:
                k.sock.settimeout(0.05)
                try:
                    k.sock.recv(rng.randrange(1, 1 << 17))
                except socket.timeout:
                    pass
                (k.reset if rng.random() < 0.5 else k.close)()
        except (ConnectionError, BrokenPipeError):
            pass  # the server closed first (a request after a bad one): fine
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
        if s.proc.poll() is not None:
            errors.append("the server died: %s" % s.log[-5:])


def clients_closing_at_random_points(tmp, *opts, seed=None):
    seed = seed if seed is not None else random.randrange(1 << 30)
    s = Server(tmp, *opts)
    c = s.connect()
    check(c.cmd("SET", "big", b"b" * 200000) == b"OK", "SET")
    errors = []
    deadline = time.time() + RANDOM_CLOSE_SECONDS
    threads = [threading.Thread(target=random_client,
                                args=(s, random.Random(seed + n), deadline, errors))
               for n in range(8)]
    for t in threads:
        t.start()
    i = 0
    while time.time() < deadline and not errors:  # a well-behaved client meanwhile
        check(c.cmd("SET", "ctl%d" % i, "v%d" % i) == b"OK", "control SET (seed %d)" % seed)
        check(c.cmd("GET", "ctl%d" % i) == b"v%d" % i, "control GET (seed %d)" % seed)
        i += 1
    for t in threads:
        t.join(TIMEOUT)
    check(not errors, "seed %d: %s" % (seed, errors[:3]))
    check(c.cmd("GET", "big") == b"b" * 200000, "the value is intact (seed %d)" % seed)
    check(c.cmd("GET", "ctl%d" % (i - 1)) == b"v%d" % (i - 1), "control writes kept")
    check(s.stop() == 0, "exit status (seed %d)" % seed)


def test_clients_closing_at_random_points(tmp):
    clients_closing_at_random_points(tmp)


def info_fields(c, section):
    text = c.cmd("INFO", section).decode()
    return dict(l.split(":", 1) for l in text.split("\r\n") if ":" in l)


def table_value(i):
    return random.Random(i).randbytes(1000)


def fill_many_tables(tmp, nkeys):
    """A database of many small tables (stages 04 on): 32 KiB memtables and
    tables, filled with keys in order (so compactions only move tables),
    10 at a time, one MSET after the other (a pipeline would be one batch,
    and one table)."""
    knobs = ["--memtable-bytes", "32k"] if STAGE_NUM >= 4 else []
    knobs += ["--table-bytes", "32k"] if STAGE_NUM >= 6 else []
    s = Server(tmp, *knobs)
    c = s.connect()
    for base in range(0, nkeys, 10):
        args = []
        for i in range(base, min(base + 10, nkeys)):
            args += [b"t%08d" % i, table_value(i)]
        check(c.cmd("MSET", *args) == b"OK", "MSET")
    tables = int(info_fields(c, "engine").get("tables.count", "0"))
    check(s.stop() == 0, "exit status")
    return tables


def start_under_open_file_limit(tmp, nofile, tables):
    """A server over tmp under the limit, or None where stage 04 cannot
    open so many tables (and says so)."""
    try:
        return Server(tmp, nofile=nofile)
    except Fail:
        # Stage 04 keeps every table's file open (docs/04-lsm.md, "Every
        # table is an open file"; stage 05's table cache bounds it): with
        # more tables than the limit it cannot open the database, and the
        # server must say so and exit, not serve.
        if "04-" not in KV or tables + 8 < nofile:
            raise
        s = SERVERS[-1]
        check(s.proc.wait(TIMEOUT) == 2, "exit status 2")
        check(any("Too many open files" in l for l in s.log), "why it stopped: %s" % s.log)
        FIGURES["open-file limit %d: stage 04 cannot open %d tables" % (nofile, tables)] = 1
        return None


def check_served_under_open_file_limit(s, nofile, conns, nkeys):
    """Each connection served or refused; once they leave, writes and reads
    of the tables work."""
    served = refused = 0
    for sock in conns:
        sock.settimeout(2)
        try:
            sock.sendall(b"PING\r\n")
            r = sock.recv(100)
            served += r == b"+PONG\r\n"
            refused += b"max number of clients" in r
        except OSError:
            pass
    accepts = [l for l in s.log if "accept:" in l]
    check(len(accepts) <= 2, "limit %d: accept errors logged %d times: %s"
          % (nofile, len(accepts), accepts[:2]))
    for sock in conns:
        sock.close()
    time.sleep(0.3)
    c = s.connect()
    info = info_fields(c, "clients")
    check(served >= 1 and served <= int(info["maxclients"]),
          "limit %d: %d clients served, maxclients %s" % (nofile, served, info["maxclients"]))
    check(served + refused == len(conns), "limit %d: each of %d clients served (%d) or refused (%d)"
          % (nofile, len(conns), served, refused))
    check(c.cmd("SET", "after", "clients") == b"OK", "limit %d: SET once the clients left" % nofile)
    check(c.cmd("GET", "after") == b"clients", "limit %d: GET once the clients left" % nofile)
    for i in random.Random(nofile).sample(range(nkeys), 20):
        check(c.cmd("GET", b"t%08d" % i) == table_value(i), "limit %d: GET t%08d" % (nofile, i))
    check(s.stop() == 0, "exit status")


def test_open_file_limit_keeps_the_server_idle(tmp):
    """Under open-file limits of 64 and 256 (two servers, over copies of one
    database of about 130 tables), more clients than fit connect and stay
    idle: the servers must idle too, and serve writes once they leave."""
    nkeys = 2600
    tables = fill_many_tables(tmp, nkeys)
    FIGURES["tables"] = tables
    servers = []
    for nofile in (64, 256):
        copy = "%s-%d" % (tmp, nofile)
        shutil.copytree(tmp, copy)
        s = start_under_open_file_limit(copy, nofile, tables)
        if s is not None:
            conns = [socket.create_connection(("127.0.0.1", s.port), TIMEOUT)
                     for _ in range(nofile + 16)]  # more than fit: some wait, some are refused
            servers.append((nofile, s, conns))
    time.sleep(0.5)
    cpu = [s.cpu_seconds() for _, s, _ in servers]
    time.sleep(3)
    for (nofile, s, _), before in zip(servers, cpu):
        used = s.cpu_seconds() - before
        FIGURES["idle CPU s in 3 s, open-file limit %d" % nofile] = used
        check(used < 0.5, "open-file limit %d: %.2f s of CPU in 3 idle seconds" % (nofile, used))
    for nofile, s, conns in servers:
        check_served_under_open_file_limit(s, nofile, conns, nkeys)


def free_port():
    sk = socket.socket()
    sk.bind(("127.0.0.1", 0))
    port = sk.getsockname()[1]
    sk.close()
    return port


def test_a_stop_and_a_scrape_in_one_wakeup(tmp):
    """SIGTERM and a metrics scrape become ready in the same wake-up of the
    loop, the signal first (the server is stopped with SIGSTOP while both
    arrive, then continued): stopping closes the metrics port, and the
    scrape's readiness, fetched before, must find it closed, not freed.
    Then the same with the database's directory removed at once, as a
    supervisor cleaning up might: the server reports the failed close and
    exits 2, never dies of a signal."""
    for remove in (False, True):
        mport = free_port()
        d = "%s-%d" % (tmp, remove)
        s = Server(d, "--metrics-port", str(mport))
        c = s.connect()
        check(c.cmd("SET", "k", "v") == b"OK", "SET")
        s.proc.send_signal(signal.SIGSTOP)
        time.sleep(0.1)
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.1)
        scrape = socket.create_connection(("127.0.0.1", mport), TIMEOUT)
        scrape.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
        if remove:
            shutil.rmtree(d, ignore_errors=True)
        s.proc.send_signal(signal.SIGCONT)
        status = s.stop()
        scrape.close()
        check(status >= 0, "the server died of signal %d (removed directory: %s)" % (-status, remove))
        if not remove:
            check(status == 0, "exit status %d" % status)


def test_accept_out_of_descriptors_pauses_instead_of_spinning(tmp):
    """The open-file limit is lowered under a running server (prlimit) to
    what it has open: accept fails with EMFILE, and the connections wait in
    the backlog.  The server must not spin on its listening socket, must
    log the failure once, and must accept them once descriptors are free."""
    s = Server(tmp)
    c = s.connect()
    check(c.cmd("SET", "k", "v") == b"OK", "SET")
    pid = s.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    in_use = len(os.listdir("/proc/%d/fd" % pid))
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use, hard))
    waiting = [socket.create_connection(("127.0.0.1", s.port), TIMEOUT) for _ in range(5)]
    time.sleep(0.3)
    cpu = s.cpu_seconds()
    time.sleep(2)
    cpu = s.cpu_seconds() - cpu
    FIGURES["CPU s in 2 s with accept failing (EMFILE)"] = cpu
    check(cpu < 0.5, "%.2f s of CPU in 2 s while accept fails" % cpu)
    accepts = [l for l in s.log if "accept:" in l]
    check(len(accepts) == 1 and "Too many open files" in accepts[0], "logged once: %s" % accepts[:3])
    check(c.cmd("GET", "k") == b"v", "a connected client is served meanwhile")
    check(info_fields(c, "stats")["accept_pauses"] != "0", "INFO counts the pauses")
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    for w in waiting:
        w.settimeout(TIMEOUT)
        w.sendall(b"PING\r\n")
        check(w.recv(100) == b"+PONG\r\n", "accepted once descriptors are free")
    check(s.stop() == 0, "exit status")


def ping_latency_during(s, work):
    """Runs work(conn) in a thread while another client sends PINGs; returns
    work's result, the slowest PING's seconds and work's seconds."""
    done = threading.Event()
    out = {}

    def run():
        t0 = time.time()
        try:
            out["result"] = work(s.connect())
        except Exception as e:  # noqa: BLE001
            out["error"] = e
        out["seconds"] = time.time() - t0
        done.set()

    p = s.connect()
    t = threading.Thread(target=run)
    t.start()
    slowest = 0.0
    while not done.is_set():
        t0 = time.time()
        check(p.cmd("PING") == b"PONG", "PING")
        slowest = max(slowest, time.time() - t0)
        time.sleep(0.01)
    t.join()
    if "error" in out:
        raise out["error"]
    return out["result"], slowest, out["seconds"]


def scan_calls(c, *opts):
    keys, cursor, calls = [], b"0", 0
    while True:
        r = c.cmd("SCAN", cursor, *opts)
        check(isinstance(r, list), "SCAN: %r" % (r,))
        cursor, batch = r
        keys += batch
        calls += 1
        if cursor == b"0":
            return keys, calls


def test_pathological_scan_match_does_not_hold_up_others(tmp):
    s = Server(tmp)
    c = s.connect()
    check(c.cmd("MSET", "a" * 4000, "x", "b" * 20000, "y", "k1", "z") == b"OK", "MSET")
    # An 8 MB pattern of one class, over a 4,000-byte key: refused at once.
    huge = encode("SCAN", "0", "MATCH", b"*[" + b"c" * (8 << 20) + b"]")

    def scan_huge(k):
        k.send(huge)
        return k.reply()

    r, slowest, secs = ping_latency_during(s, scan_huge)
    FIGURES["PING s during SCAN MATCH of an 8 MB pattern"] = slowest
    check(is_err(r) and "longer than" in r, "an 8 MB pattern is refused: %r" % (r,))
    check(slowest < 1, "PING took %.2f s during an 8 MB SCAN MATCH" % slowest)
    # The longest pattern accepted, of one class: a step per byte.
    edge = b"*[" + b"c" * (256 * 1024 - 4) + b"]*"
    r, slowest, secs = ping_latency_during(s, lambda k: scan_calls(k, "MATCH", edge))
    check(r[0] == [], "no key has a c: %r" % (r[0][:3],))
    check(slowest < 1, "PING took %.2f s during SCAN MATCH of a 256 KiB class" % slowest)
    # A match of ~75M steps on one key: SCAN yields in the middle of the key.
    slow = b"*" + b"b" * 15000 + b"c"
    r, slowest, secs = ping_latency_during(s, lambda k: scan_calls(k, "MATCH", slow, "COUNT", "100"))
    FIGURES["PING s during SCAN MATCH of a 75M-step match"] = slowest
    FIGURES["SCAN calls for 3 keys, 75M-step match"] = r[1]
    check(r[0] == [], "nothing matches: %r" % (r[0][:3],))
    check(r[1] > 2, "the walk yielded in the middle of a key (%d calls for 3 keys)" % r[1])
    check(slowest < 1, "PING took %.2f s during a long SCAN MATCH" % slowest)
    # KEYS with the same pattern: several loop passes, one reply.
    r, slowest, secs = ping_latency_during(s, lambda k: k.cmd("KEYS", slow))
    FIGURES["PING s during KEYS of a 75M-step match"] = slowest
    check(r == [], "KEYS: nothing matches: %r" % (r[:3],))
    check(slowest < 1, "PING took %.2f s during a long KEYS" % slowest)
    check(c.cmd("KEYS", "*b" + "b" * 100 + "*") == [b"b" * 20000], "KEYS finds the long key")
    check(s.stop() == 0, "exit status")


def large_del(tmp, *opts):
    s = Server(tmp, *opts)
    c = s.connect()
    existing = 100
    check(c.cmd("MSET", *[x for i in range(existing) for x in ("d%07d" % i, "v")]) == b"OK", "MSET")
    # Encoded before the clock starts: the PINGs share this process.
    request = encode("DEL", *["d%07d" % i for i in range(DEL_KEYS)])

    def delete(k):
        k.send(request)
        return k.reply()

    r, slowest, secs = ping_latency_during(s, delete)
    name = "%d-key DEL%s" % (DEL_KEYS, " --sync" if opts else "")
    FIGURES["%s: seconds" % name] = secs
    FIGURES["%s: slowest PING s" % name] = slowest
    check(r == existing, "DEL answered %r, want %d" % (r, existing))
    check(slowest < 1, "PING took %.2f s during a %d-key DEL" % (slowest, DEL_KEYS))
    check(c.cmd("EXISTS", "d0000000", "d%07d" % (existing - 1)) == 0, "deleted")
    check(c.cmd("DEL", "d0000001", "d0000001", "new") == 0, "DEL again")
    check(s.stop() == 0, "exit status")


def test_large_del_does_not_hold_up_others(tmp):
    large_del(tmp)


def test_keys_type_strlen(tmp):
    s = Server(tmp)
    c = s.connect()
    check(c.cmd("MSET", "user:1", "ann", "user:2", "", "user:10", "x" * 70000, "job", "j") == b"OK",
          "MSET")
    check(c.cmd("KEYS", "*") == [b"job", b"user:1", b"user:10", b"user:2"], "KEYS * in key order")
    check(c.cmd("KEYS", "user:?") == [b"user:1", b"user:2"], "KEYS user:?")
    check(c.cmd("KEYS", "nothing*") == [], "KEYS without a match")
    check(c.cmd("KEYS", "[a-j]*") == [b"job"], "KEYS with a class")
    check(c.cmd("TYPE", "user:1") == b"string", "TYPE of a key")
    check(c.cmd("TYPE", "user:2") == b"string", "TYPE of an empty value")
    check(c.cmd("TYPE", "nope") == b"none", "TYPE of no key")
    check(c.cmd("TYPE", "") == b"none", "TYPE of an empty key")
    check(c.cmd("STRLEN", "user:1") == 3, "STRLEN")
    check(c.cmd("STRLEN", "user:2") == 0, "STRLEN of an empty value")
    check(c.cmd("STRLEN", "user:10") == 70000, "STRLEN of a long value")
    check(c.cmd("STRLEN", "nope") == 0, "STRLEN of no key")
    check(is_err(c.cmd("KEYS")) and is_err(c.cmd("TYPE", "a", "b")), "arity")
    check(is_err(c.cmd("KEYS", "*" * (256 * 1024 + 1)), "ERR pattern"), "KEYS: a pattern too long")
    # A pipeline: KEYS answers in order between writes, and sees them.
    c.send(encode("SET", "k", "1") + encode("KEYS", "k*") + encode("DEL", "k") + encode("KEYS", "k*"))
    check([c.reply() for _ in range(4)] == [b"OK", [b"k"], 1, []], "KEYS in a pipeline")
    get = c.cmd("COMMAND", "INFO", "keys", "type", "strlen")
    check([g[0] for g in get] == [b"keys", b"type", b"strlen"], "COMMAND INFO: %r" % (get,))
    check(get[0][3] == 0 and get[1][3] == 1, "KEYS takes no key, TYPE one")
    check(s.stop() == 0, "exit status")


def glob_reference(pat, key):
    """Redis's glob semantics as a regular expression (bytes): a second,
    independent reading of the syntax, to compare SCAN MATCH with."""
    import re
    out, p, n = [], 0, len(pat)
    while p < n:
        ch = pat[p:p + 1]
        if ch == b"*":
            out.append(b".*")
            p += 1
        elif ch == b"?":
            out.append(b".")
            p += 1
        elif ch == b"\\" and p + 1 < n:
            out.append(re.escape(pat[p + 1:p + 2]))
            p += 2
        elif ch == b"[":
            p += 1
            negate = p < n and pat[p:p + 1] == b"^"
            p += negate
            members = set()
            while p < n and pat[p:p + 1] != b"]":
                if pat[p:p + 1] == b"\\" and p + 1 < n:
                    members.add(pat[p + 1])
                    p += 2
                elif p + 2 < n and pat[p + 1:p + 2] == b"-" and pat[p + 2:p + 3] != b"]":
                    lo, hi = sorted((pat[p], pat[p + 2]))
                    members.update(range(lo, hi + 1))
                    p += 3
                else:
                    members.add(pat[p])
                    p += 1
            p += 1
            chosen = set(range(256)) - members if negate else members
            out.append(b"[" + b"".join(b"\\x%02x" % m for m in sorted(chosen)) + b"]"
                       if chosen else b"(?!)")
        else:
            out.append(re.escape(ch))
            p += 1
    return re.fullmatch(b"".join(out), key, re.DOTALL) is not None


def test_scan_match_agrees_with_a_reference_glob(tmp):
    rng = random.Random(7)
    s = Server(tmp)
    c = s.connect()
    alphabet = b"ab-]^[\\*?c"
    keys = sorted({bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 9)))
                   for _ in range(300)})
    check(c.cmd("MSET", *[x for k in keys for x in (k, "v")]) == b"OK", "MSET")
    for _ in range(300):
        pat = bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 10)))
        want = [k for k in keys if glob_reference(pat, k)]
        got, _ = scan_calls(c, "MATCH", pat, "COUNT", "1000")
        check(got == want, "MATCH %r: got %r, want %r" % (pat, got[:5], want[:5]))
    check(s.stop() == 0, "exit status")


def test_range_is_ordered_bounded_and_limited(tmp):
    s = Server(tmp)
    c = s.connect()
    for k in [b"b", b"a\x00", b"ab", b"a", b"\xff", b"c"]:
        check(c.cmd("SET", k, b"v" + k) == b"OK", "SET")
    check(c.cmd("RANGE", "", "", "100") == [b"a", b"va", b"a\x00", b"va\x00", b"ab", b"vab",
                                           b"b", b"vb", b"c", b"vc", b"\xff", b"v\xff"],
          "RANGE of everything, in byte order")
    check(c.cmd("RANGE", "ab", "c", "100") == [b"ab", b"vab", b"b", b"vb"], "start in, end out")
    check(c.cmd("RANGE", "a", "", "2") == [b"a", b"va", b"a\x00", b"va\x00"], "the limit")
    check(c.cmd("RANGE", "c", "b", "10") == [], "start past end: empty")
    check(is_err(c.cmd("RANGE", "", "", "0")), "a limit of 0 is refused")
    check(is_err(c.cmd("RANGE", "", "", "x")), "a limit that is no number is refused")
    check(is_err(c.cmd("RANGE", "", "")), "three arguments")
    check(c.cmd("MULTI") == b"OK" and c.cmd("SET", "aa", "1") == b"QUEUED" and
          c.cmd("RANGE", "a", "ab", "10") == b"QUEUED", "RANGE queued")
    check(c.cmd("EXEC") == [b"OK", [b"a", b"va", b"a\x00", b"va\x00", b"aa", b"1"]],
          "RANGE inside EXEC sees the transaction's write")
    check(s.stop() == 0, "exit status")


def stdio_run(tmp, data, *opts):
    """`kv DIR serve --stdio` fed `data`: (exit status, stdout, stderr)."""
    p = subprocess.Popen([KV] + list(opts[:1]) + [tmp, "serve", "--stdio"] + list(opts[1:]),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    RUNNING.append(p)
    out, err = p.communicate(data, TIMEOUT)
    return p.returncode, out, err


def test_stdio_answers_every_request_then_exits(tmp):
    reqs = encode("SET", "k", "v") + encode("GET", "k") + encode("RANGE", "", "", "5") + \
        encode("DEL", "k") + encode("NOSUCH")
    want = b"+OK\r\n$1\r\nv\r\n*2\r\n$1\r\nk\r\n$1\r\nv\r\n:1\r\n"
    for opts in [(), ("--sync",), ("--sync", "--sync")]:
        shutil.rmtree(tmp, ignore_errors=True)
        status, out, err = stdio_run(tmp, reqs, *opts)
        check(status == 0, "exit status %d with %r: %s" % (status, opts, err))
        check(out.startswith(want) and out[len(want):].startswith(b"-ERR unknown command"),
              "replies with %r: %r" % (opts, out))
    # What was acknowledged is there at the next start, and the data is the engine's.
    status, out, err = stdio_run(tmp, encode("SET", "kept", "yes"))
    status2, out2, err2 = stdio_run(tmp, encode("GET", "kept"))
    check(status == 0 and status2 == 0 and out2 == b"$3\r\nyes\r\n", "restart: %r %r" % (out2, err2))
    # A file on standard input cannot be polled: a clear error, status 2.
    path = os.path.join(os.path.dirname(tmp), "requests")
    with open(path, "wb") as f:
        f.write(encode("PING"))
    with open(path, "rb") as f:
        p = subprocess.run([KV, tmp, "serve", "--stdio"], stdin=f, capture_output=True,
                           timeout=TIMEOUT)
    check(p.returncode == 2 and b"pipe" in p.stderr, "a file on stdin: %r" % p.stderr)


def run_test(name, fn, tmp):
    """Runs one test; None if it passed, else why it failed."""
    try:
        fn(os.path.join(tmp, "db"))
        why = None
    except Exception as e:  # noqa: BLE001 (a test fails on anything)
        why = "%s: %s" % (type(e).__name__, e)
    finally:
        for proc in RUNNING:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        RUNNING.clear()
        for srv in SERVERS:
            srv.reader.join(TIMEOUT)
        reports = [l for srv in SERVERS for l in srv.sanitizer_lines()]
        SERVERS.clear()
    if reports:
        # The report's lines as they are, so that tests/run.sh counts them too.
        why = (why + "; " if why else "") + "the server reported:\n" + "\n".join(reports)
    return why


def main():
    tests = [(n, f) for n, f in sorted(globals().items())
             if n.startswith("test_") and callable(f) and FILTER in n]
    passed = failed = 0
    for name, fn in tests:
        name = name[len("test_"):]
        print("RUN", name, flush=True)
        tmp = tempfile.mkdtemp(prefix="kvserve.")
        t0 = time.time()
        why = run_test(name, fn, tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        if why is None:
            print("ok %s (%.1f s)" % (name, time.time() - t0), flush=True)
            passed += 1
        else:
            print("FAIL %s: %s" % (name, why), flush=True)
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
