#!/usr/bin/env python3
"""cluster_test.py: three `kv serve` members of a Raft group on
localhost (stage 10, docs/10-raft.md), through redis-py's RedisCluster
and raw sockets: a leader is elected; writes reach every member; a
follower redirects a write to the leader (-MOVED); the leader killed with
SIGKILL, the two others elect a new one, and no acknowledged write is
lost; the killed member restarted catches up; clients writing and
reading three hot keys, reading them at any member, and checking and
setting a fourth (WATCH, MULTI, EXEC) across a leader's death leave a
history that lincheck.py finds linearizable, and across a pause of the
leader longer than the election timeout, and across partitions (the
leader cut off, then a bridge) made by a proxy between the members
(linkproxy.py); a transaction refused just after a snapshot is not
applied again when every member restarts.  Membership, on a group of
its own: a fourth member added (kv HOST:PORT member add) receives every
key and serves READONLY reads; leadership moves to a named member; a
member removed leaves the rest writing; a follower wiped (SIGKILL, its
directory deleted), removed, and replaced by a fresh member under the
clients leaves a linearizable history.  On a group of its own, what a
rude client or a user's typo is told: the membership commands with
wrong arguments, ids or addresses, at a follower, or while a change is
under way; a member that never answers left a spare; other CLUSTER
subcommands; hash tags in MOVED; MULTI queues a member cannot
replicate; `kv HOST:PORT member`, `kv DIR cluster` and a member's `kv
serve` with bad arguments, each exact error checked.  A member's directory on a
tmpfs filled with junk, as a follower and then as the leader: the member
stops by itself, the others go on acknowledging writes, the history is
linearizable, and restarted it holds what the leader holds (skipped,
and said so, where a tmpfs cannot be mounted).  A thousand GETs at the
leader write no entry to its log, each confirmed by a round of the
voters.  And each of six planted mistakes (member.h: writes acknowledged
before they are committed, followers answering reads, a leader
answering reads without a read index, or before its round is answered,
or counting a later term's answer, the log applied again over the
engine after a restart) leaves a history it does not, the first time.  Prints RUN/ok/FAIL/skip
lines, "N skipped" if any, and "N passed, N failed".

  python3 tests/cluster/cluster_test.py build/10-raft/kv
  python3 tests/cluster/cluster_test.py build/10-raft/kv --campaign 20 --members 5

--campaign RUNS (make test-cluster): each fault schedule RUNS times, each
planted mistake RUNS times, and RUNS kills of a leader timed, on N
members (default 3); prints one line per schedule and "campaign: N
failed".
"""
import errno
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lincheck  # noqa: E402
import linkproxy  # noqa: E402
import outsider  # noqa: E402
import trust_test  # noqa: E402

try:
    import redis
except ImportError:  # Debian's python3-redis, under another python3 (pyenv, venv)
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import redis
    except ImportError:
        redis = None
if redis is not None:
    from redis.cluster import ClusterNode, RedisCluster

passed = failed = skipped = 0


class Fail(Exception):
    pass


class NotSent(Exception):
    """A request no member received: it certainly changed nothing."""


class Skip(Exception):
    """A test that could not run here (its reason): never counted as passed."""


def check(cond, what):
    if not cond:
        raise Fail(what)


def free_ports(n):
    """n TCP ports nothing listens on now."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def command(port, *words, timeout=2.0):
    """One request over a fresh socket: the reply's first line."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        req = b"*%d\r\n" % len(words) + b"".join(
            b"$%d\r\n%s\r\n" % (len(w), w) for w in (x.encode() if isinstance(x, str) else x
                                                    for x in words))
        s.sendall(req)
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.split(b"\r\n")[0].decode()


def free_run(n, avoid=()):
    """The first of n consecutive TCP ports nothing listens on now, below
    the kernel's range for outgoing connections' own ports
    (/proc/sys/net/ipv4/ip_local_port_range, 32768 up by default), so that
    no client's connection takes one between this check and the bind."""
    rng = random.Random()
    low = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    top = low - n if low - n > 20000 else 60000
    while True:
        base = rng.randrange(20000, top)
        if any(p in avoid for p in range(base, base + n)):
            continue
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            pass
        finally:
            for s in socks:
                s.close()


class Cluster:
    def __init__(self, kv, n=3, planted=None, extra=(), proxied=False, extra_of=None,
                 tmpfs=None, insecure=False, tmpfs_all=None, prepare=None):
        # tmpfs_all: a size: every member's directory (and the group's
        # credentials and logs) on one tmpfs of that size, as members
        # sharing one disk;
        # insecure: --raft-insecure (no TLS) rather than the group's
        # credentials (kv DIR certs, made in ROOT/certs);
        # planted: a planted mistake every member runs with, restarted
        # ones too (KV_RAFT_PLANTED, member.h); extra: more options of
        # kv serve; extra_of: {member index: options of its own};
        # proxied: the members reach each other through a LinkProxy
        # (self.net), which cuts and heals links; tmpfs: {member index:
        # size, or (size, "raft")}, its directory (or only its Raft log,
        # DIR/raft) on a tmpfs of that size, mounted here and unmounted
        # by stop() (Skip if it cannot be mounted); prepare: called with
        # the cluster once its credentials are made, before any member
        # starts
        self.kv, self.n, self.extra = kv, n, list(extra)
        self.prepare = prepare
        self.insecure = insecure
        self.extra_of = dict(extra_of or {})
        self.env = dict(os.environ)
        if planted is not None:
            self.env["KV_RAFT_PLANTED"] = planted
        self.root = tempfile.mkdtemp(prefix="kv-cluster-")
        self.mounts = []
        if tmpfs_all is not None:
            self.mount_tmpfs(self.root, tmpfs_all)
        for i, size in sorted((tmpfs or {}).items()):
            size, under = size if isinstance(size, tuple) else (size, "")
            self.mount_tmpfs(os.path.join(self.root, "m%d" % (i + 1), under), size)
        try:
            self.begin(n, proxied)
        except BaseException:
            self.unmount()
            raise

    def begin(self, n, proxied):
        ports = free_ports(3 * n)
        self.client_ports, self.raft_ports = ports[:n], ports[n:2 * n]
        self.bind_ports = ports[2 * n:] if proxied else None
        self.net = linkproxy.LinkProxy(self.raft_ports, self.bind_ports) if proxied else None
        self.peers = ",".join("%d@127.0.0.1:%d/%d" % (i + 1, self.raft_ports[i],
                                                       self.client_ports[i]) for i in range(n))
        self.procs = [None] * n
        self.certs = os.path.join(self.root, "certs")  # the group's credentials
        if not self.insecure:
            self.make_certs(range(1, n + 1))
        if self.prepare is not None:
            self.prepare(self)
        self.joined = set()  # members added by CLUSTER ADDMEMBER (add_member)
        self.outside = set()  # members not in the configuration: leader() asks them nothing
        for i in range(n):
            self.start(i)

    def mount_tmpfs(self, path, size):
        os.makedirs(path, exist_ok=True)
        why = None
        if os.geteuid() != 0:
            why = "mounting a tmpfs needs root"
        else:
            out = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", path],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if out.returncode != 0:
                why = "mount -t tmpfs refused: %s" % out.stdout.decode().strip()
        if why is not None:
            self.unmount()
            shutil.rmtree(self.root, ignore_errors=True)
            raise Skip(why)
        self.mounts.append(path)

    def unmount(self):
        for path in self.mounts:
            subprocess.run(["umount", path])
        self.mounts = []

    def make_certs(self, ids):
        """Credentials for members `ids` (`kv DIR certs`: --members N the
        first time, which makes the group's authority, --ids after)."""
        ids = list(ids)
        new = not os.path.exists(os.path.join(self.certs, "ca.key"))
        out = subprocess.run([self.kv, self.certs, "certs"] + (
            ["--members", str(len(ids))] if new else ["--ids", ",".join(str(i) for i in ids)]),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if out.returncode != 0:
            raise Fail("kv certs: %s" % out.stdout.decode())

    def command(self, i):
        """Member i's command line (the same at every start)."""
        peers = self.peers if i not in self.joined else "%d@127.0.0.1:%d/%d" % (
            i + 1, self.raft_ports[i], self.client_ports[i])
        return ([self.kv, os.path.join(self.root, "m%d" % (i + 1)), "serve", "--port",
                 str(self.client_ports[i]), "--raft-id", str(i + 1), "--raft-peers", peers]
                + (["--raft-join"] if i in self.joined else ["--raft-bootstrap"])
                + (["--raft-insecure"] if self.insecure else ["--raft-tls", self.certs])
                + self.extra + self.extra_of.get(i, [])
                + (["--raft-bind", "127.0.0.1:%d" % self.bind_ports[i]] if self.net else []))

    def start(self, i):
        log = open(os.path.join(self.root, "member%d.log" % (i + 1)), "ab")
        # A member added later knows only itself: the others' client
        # addresses reach it through the log (member_note.h).
        self.procs[i] = subprocess.Popen(self.command(i), stdout=log, stderr=log, env=self.env)

    def add_member(self):
        """Starts member n + 1 with an empty directory and --raft-join (it
        waits to be added): its index."""
        i = self.n
        client, raft = free_ports(2)
        self.client_ports.append(client)
        self.raft_ports.append(raft)
        self.procs.append(None)
        self.joined.add(i)
        self.outside.add(i)  # until the leader has added it (CLUSTER ADDMEMBER)
        self.n += 1
        if not self.insecure:
            self.make_certs([i + 1])
        self.start(i)
        return i

    def raft_addr(self, i):
        return "127.0.0.1:%d" % self.raft_ports[i]

    def client_addr(self, i):
        return "127.0.0.1:%d" % self.client_ports[i]

    def kill(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()
        self.procs[i] = None

    def pause(self, i):
        self.procs[i].send_signal(signal.SIGSTOP)

    def resume(self, i):
        self.procs[i].send_signal(signal.SIGCONT)

    def info(self, i):
        """CLUSTER INFO of member i as a dict, or None if it does not answer."""
        try:
            with socket.create_connection(("127.0.0.1", self.client_ports[i]), timeout=1) as s:
                s.sendall(b"*2\r\n$7\r\nCLUSTER\r\n$4\r\nINFO\r\n")
                data = b""
                deadline = time.time() + 1
                while time.time() < deadline:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                    if data.count(b"\r\n") >= 2 and data.endswith(b"\r\n\r\n"):
                        break
                    if b"raft_applied_index" in data and data.endswith(b"\r\n"):
                        break
            return dict(l.split(":", 1) for l in data.decode().split("\r\n")[1:] if ":" in l)
        except OSError:
            return None

    def leader(self, timeout=15, among=None):
        """The index of the member all live ones (or `among`) call leader."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            live = [i for i in range(self.n) if self.procs[i] is not None
                    and (among is None or i in among) and i not in self.outside]
            infos = {i: self.info(i) for i in live}
            leaders = {v.get("raft_leader") for v in infos.values() if v}
            if len(leaders) == 1 and all(infos.values()):
                lid = int(leaders.pop())
                if lid > 0 and lid - 1 in live and infos[lid - 1]["raft_state"] == "leader":
                    return lid - 1
            time.sleep(0.05)
        raise Fail("no leader all live members agree on within %d s" % timeout)

    def client(self):
        """A RedisCluster client that knows every member (any may be down)."""
        nodes = [ClusterNode("127.0.0.1", p) for p in self.client_ports]
        return RedisCluster(startup_nodes=nodes, cluster_error_retry_attempts=10,
                            socket_timeout=2)

    def stop(self):
        if self.net is not None:
            self.net.heal()
        for i in range(self.n):
            if self.procs[i] is not None:
                self.procs[i].send_signal(signal.SIGTERM)
        for i in range(self.n):
            if self.procs[i] is not None:
                try:
                    self.procs[i].wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.procs[i].kill()
        if self.net is not None:
            self.net.stop()
        self.unmount()
        shutil.rmtree(self.root, ignore_errors=True)


def retrying(fn, seconds=20):
    """fn() again while the group is between leaders."""
    deadline = time.time() + seconds
    while True:
        try:
            return fn()
        except (redis.exceptions.RedisError, redis.exceptions.RedisClusterException, OSError):
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def run(name, fn, cluster, suite="cluster"):
    """fn(cluster) as the test suite/name, counted in this module's passed,
    failed and skipped (shard_test.py runs its tests through it too)."""
    global passed, failed, skipped
    only = os.environ.get("KV_CLUSTER_ONLY")
    if only and not any(o in name for o in only.split(",")):  # a developer's shortcut:
        return  # parts of the names of the tests to run, comma-separated
    print("RUN  %s/%s" % (suite, name), flush=True)
    began = time.time()
    try:
        fn(cluster)
        passed += 1
        print("ok   %s/%s (%.1f s)" % (suite, name, time.time() - began), flush=True)
    except Skip as err:
        skipped += 1
        print("skip %s/%s: %s" % (suite, name, err), flush=True)
    except Exception as err:  # a Fail, or anything unexpected: the test fails
        failed += 1
        print("    %s: %s" % (type(err).__name__, err))
        print("FAIL %s/%s" % (suite, name), flush=True)


def a_leader_is_elected(c):
    c.leader()


def writes_reach_every_member(c):
    rc = c.client()
    for i in range(200):
        retrying(lambda: rc.set("w%03d" % i, "v%d" % i))
    lead = c.leader()
    want = int(c.info(lead)["raft_applied_index"])
    deadline = time.time() + 10
    while time.time() < deadline:
        if all(int((c.info(i) or {}).get("raft_applied_index", 0)) >= want for i in range(c.n)):
            break
        time.sleep(0.05)
    for i in range(c.n):
        got = command(c.client_ports[i], "GET", "w199") if i == lead else None
        if i != lead:
            with socket.create_connection(("127.0.0.1", c.client_ports[i]), timeout=2) as s:
                s.sendall(b"*1\r\n$8\r\nREADONLY\r\n*2\r\n$3\r\nGET\r\n$4\r\nw199\r\n")
                data = b""
                while data.count(b"\r\n") < 3:
                    data += s.recv(4096)
                got = data.split(b"\r\n")[1].decode()
        check(got in ("$4",), "member %d holds w199 (its reply began %r)" % (i + 1, got))


def server_stats(port):
    """INFO stats of the member on that client port, as a dict."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n")
        f = s.makefile("rb")
        size = int(f.readline()[1:])
        body = f.read(size + 2).decode()
    return dict(line.split(":", 1) for line in body.split("\r\n") if ":" in line)


def a_quiet_client_holds_one_batch_at_most(c, writes=200):
    """With nothing in flight, the leader holds a batch for the clients
    the last settled batch answered until each sends its next command
    (serve_ext.h, `gather_us`).  A client answered once that then stays
    connected and quiet holds the next batch to the bound, once: the
    batch after that answers other clients, whose marks replace its own.
    Here: a SET on a connection kept open and silent, then 200 SETs one
    after another on another connection; at most one batch ran its hold
    out (each of the 200 came back itself), and every SET was answered."""
    lead = c.leader()
    p = c.client_ports[lead]
    with socket.create_connection(("127.0.0.1", p), timeout=5) as quiet:
        quiet.sendall(b"*3\r\n$3\r\nSET\r\n$2\r\nqa\r\n$1\r\n1\r\n")
        check(quiet.makefile("rb").readline() == b"+OK\r\n", "the quiet client's SET answered")
        before = server_stats(p)
        with socket.create_connection(("127.0.0.1", p), timeout=5) as s:
            f = s.makefile("rb")
            for i in range(writes):
                s.sendall(b"*3\r\n$3\r\nSET\r\n$2\r\nqb\r\n$%d\r\n%d\r\n" % (len(str(i)), i))
                got = f.readline()
                check(got == b"+OK\r\n", "SET %d answered +OK (%r)" % (i + 1, got))
        after = server_stats(p)
    held = int(after["write_batches_held"]) - int(before["write_batches_held"])
    ran_out = (int(after["write_batch_holds_ran_out"]) -
               int(before["write_batch_holds_ran_out"]))
    check(ran_out <= 1, "%d SETs, a quiet client: %d holds ran out (at most 1)" % (writes, ran_out))
    print("    %d SETs beside a quiet client: %d batches held, %d of them to the bound" % (
        writes, held, ran_out))


def a_read_at_the_leader_writes_no_entry(c, reads=1000):
    """A linearizable GET at the leader is confirmed by a round of the
    voters (member_read.c), not by an entry in the log: over 1,000 GETs,
    one after another on one connection, the leader's commit index and
    last index do not move, while its count of confirmed rounds grows by
    one a GET at least (each GET waits for a round started after it
    arrived).  A first GET and a SET first, so that an entry of the
    leader's term is committed already (else the first read of a term
    costs one barrier)."""
    lead = c.leader()
    p = c.client_ports[lead]
    expect(command(p, "SET", "ri", "x" * 10), "+OK", "a SET at the leader")
    expect(command(p, "GET", "ri"), "$10", "a GET at the leader")
    before = c.info(lead)
    with socket.create_connection(("127.0.0.1", p), timeout=5) as s:
        f = s.makefile("rb")
        for i in range(reads):
            s.sendall(b"*2\r\n$3\r\nGET\r\n$2\r\nri\r\n")
            head, body = f.readline(), f.readline()
            check(head == b"$10\r\n" and body == b"x" * 10 + b"\r\n",
                  "GET %d at the leader answers the value (%r %r)" % (i + 1, head, body))
    after = c.info(lead)
    check(after["raft_state"] == "leader" and after["raft_term"] == before["raft_term"],
          "member %d still leads, in the same term" % (lead + 1))
    check(after["raft_commit_index"] == before["raft_commit_index"] and
          after["raft_last_index"] == before["raft_last_index"],
          "%d GETs at the leader wrote no entry: commit index %s then %s, last index %s then %s"
          % (reads, before["raft_commit_index"], after["raft_commit_index"],
             before["raft_last_index"], after["raft_last_index"]))
    rounds = int(after["raft_read_rounds"]) - int(before["raft_read_rounds"])
    check(rounds >= reads, "each GET waited for a round of its own (%d rounds for %d GETs)"
          % (rounds, reads))
    print("    %d GETs at the leader: commit index %s before and after, %d read rounds" % (
        reads, after["raft_commit_index"], rounds))


def a_members_own_key_is_not_the_clients(c):
    """The applied index a member keeps in its engine (replica.h) is not
    one of the clients' keys: KEYS, SCAN and DBSIZE leave it out, at the
    leader and at a follower (READONLY), once the follower has applied
    what the leader has (the test before this one writes)."""
    lead = c.leader()
    for i in (lead, (lead + 1) % c.n):
        r = redis.Redis(port=c.client_ports[i], socket_timeout=2)
        if i != lead:
            caught_up(c, i)
            r.execute_command("READONLY")
        keys = r.keys("*")
        scanned = list(r.scan_iter(count=50))
        size = r.dbsize()
        own = [k for k in keys + scanned if k.startswith(b"\xff\xff")]
        check(not own, "member %d's KEYS and SCAN leave out its applied index (got %r)" % (
            i + 1, own[:2]))
        check(size == len(keys) == len(set(scanned)),
              "member %d's DBSIZE counts the clients' keys, as KEYS and SCAN list them "
              "(%d, %d, %d)" % (i + 1, size, len(keys), len(set(scanned))))


def an_engine_lost_is_rebuilt_from_the_log(c):
    """A member's engine syncs nothing of its own (docs/10-raft.md, "No
    fsync of its own"): what a power cut takes from it, the group's log
    (synced by libraft) still holds, or a snapshot libraft kept.  The
    harshest case of that: a follower killed and its engine's directory
    deleted whole, its Raft log kept.  Restarted, it must hold every
    acknowledged write again (read at it with READONLY)."""
    rc = retrying(c.client)
    acked = {}
    for i in range(300):
        k, v = "e:%03d" % (i % 100), "v%d" % i
        retrying(lambda: rc.set(k, v))
        acked[k] = v
    lead = c.leader()
    f = (lead + 1) % c.n
    want = int(c.info(lead)["raft_applied_index"])
    c.kill(f)
    shutil.rmtree(os.path.join(c.root, "m%d" % (f + 1), "replica"))
    c.start(f)
    deadline = time.time() + 20
    while int((c.info(f) or {}).get("raft_applied_index", 0)) < want:
        check(time.time() < deadline, "member %d, its engine deleted, applies the log again "
              "to index %d within 20 s (%r)" % (f + 1, want, c.info(f)))
        time.sleep(0.1)
    r = redis.Redis(port=c.client_ports[f], socket_timeout=5)
    r.execute_command("READONLY")
    for k, v in acked.items():
        got = r.get(k)
        check(got == v.encode(), "member %d, its engine rebuilt from the log, reads %s = %r "
              "(got %r)" % (f + 1, k, v, got))


def a_log_written_in_other_blocks_is_read_back(c):
    """The unit libraft writes its log in (--raft-log-block, 16 KiB by
    default) is no part of the log's format: each member in turn, killed
    while clients write (its open segments left as a power cut would),
    starts again with another (4 KiB, 64 KiB, then the default), over
    segments written in the old one, and catches up.  Every acknowledged
    write is then read at every member (READONLY)."""
    rc = retrying(c.client)
    acked = {}
    n = 0

    def write(count):
        nonlocal n
        for _ in range(count):
            k, v = "blk:%03d" % (n % 150), "v%d" % n
            retrying(lambda: rc.set(k, v))
            acked[k] = v
            n += 1

    try:
        for i, block in enumerate(("4k", "64k", None)):
            write(200)
            c.kill(i)
            c.extra_of[i] = ["--raft-log-block", block] if block else []
            c.start(i)
            write(50)
            caught_up(c, i)
        write(100)
        for i in range(c.n):
            caught_up(c, i)
            keys = sorted(acked)
            got = readonly_get(c, i, keys)
            wrong = [(k, acked[k], g) for k, g in zip(keys, got) if g != acked[k]]
            check(not wrong, "member %d, restarted with another block, reads every "
                  "acknowledged write (first wrong: %r)" % (i + 1, wrong[:3]))
    finally:
        for i in range(c.n):
            c.extra_of.pop(i, None)


def a_transaction_is_one_command(c):
    """EXEC on the leader (serve_handoff.c, member_write.c): its queue's SET
    (NX and XX too), MSET and DEL applied as one command, with their
    replies; a WATCH whose key changed makes EXEC answer *-1, and nothing
    of it is applied; a read queued inside MULTI answers what the
    transaction's own writes before it left; WATCH at a follower
    redirects."""
    lead = c.leader()
    r = redis.Redis(port=c.client_ports[lead], socket_timeout=5)
    r.set("t:a", "0")
    p = r.pipeline(transaction=True)
    p.set("t:a", "1").mset({"t:b": "2", "t:c": "3"}).delete("t:a", "t:none")
    got = p.execute()
    check(got == [True, True, 1], "EXEC of SET, MSET, DEL answers [OK, OK, 1] (got %r)" % got)
    check(r.mget("t:a", "t:b", "t:c") == [None, b"2", b"3"], "the three applied together")
    p = r.pipeline(transaction=True)
    p.set("t:k", "a", nx=True).set("t:k", "b", nx=True).set("t:k2", "c").set(
        "t:k3", "d", xx=True).set("t:k2", "e", xx=True)
    got = p.execute()
    check(got == [True, None, True, None, True], "EXEC of SET NX, SET NX, SET, SET XX, SET XX "
          "answers [OK, nil, OK, nil, OK], each NX and XX judged after the writes before it "
          "(got %r)" % got)
    check(r.mget("t:k", "t:k2", "t:k3") == [b"a", b"e", None], "the values read back: k = a, "
          "k2 = e, k3 absent (got %r)" % r.mget("t:k", "t:k2", "t:k3"))
    p = r.pipeline(transaction=True)
    p.watch("t:b")
    p.get("t:b")
    redis.Redis(port=c.client_ports[lead]).set("t:b", "changed")
    p.multi()
    p.set("t:b", "mine").set("t:d", "mine")
    try:
        p.execute()
        check(False, "EXEC after the watched key changed answers *-1")
    except redis.exceptions.WatchError:
        pass
    check(r.get("t:b") == b"changed" and r.get("t:d") is None,
          "an EXEC answered *-1 applied nothing")
    p = r.pipeline(transaction=True)
    p.set("t:e", "1").get("t:e")
    got = p.execute()
    check(got == [True, b"1"], "EXEC of SET, GET of the same key answers [OK, 1], as Redis "
          "does (got %r)" % got)
    check(r.get("t:e") == b"1", "and the SET applied")
    f = (lead + 1) % c.n
    reply = command(c.client_ports[f], "WATCH", "foo")
    check(reply.startswith("-MOVED 12182 "), "WATCH at a follower redirects (got %r)" % reply)


def reads_inside_a_transaction_answer_at_the_leader(c):
    """Reads queued inside MULTI at the leader (command.h: read ops,
    answered where the command applies, in log order) answer as Redis
    does: MULTI, SET k v, GET k, EXEC is OK and v, through redis-cli and
    redis-py; GET, MGET, EXISTS, TYPE and STRLEN see the writes before
    them in the queue (a SET NX that does not apply changes nothing, a
    DEL leaves nil) and nothing after; a WATCH stays exact: a watched key
    changed makes the EXEC answer *-1 with nothing applied, reads
    included; at a follower a queued GET is MOVED and EXEC answers
    EXECABORT, with or without READONLY."""
    lead = c.leader()
    f = (lead + 1) % c.n
    F, L = c.client_ports[f], c.client_ports[lead]
    cli = shutil.which("redis-cli")
    if cli is None:
        print("    skip: redis-cli is not installed (make deps DEPS=server): its half not run")
    else:
        out = subprocess.run([cli, "-p", str(L)], input="MULTI\nSET tr:k v\nGET tr:k\nEXEC\n",
                             capture_output=True, text=True, timeout=10).stdout.split("\n")
        check(out[:6] == ["OK", "QUEUED", "QUEUED", "1) OK", "2) \"v\"", ""] or
              out[:6] == ["OK", "QUEUED", "QUEUED", "OK", "v", ""],
              "redis-cli at the leader: MULTI, SET k v, GET k, EXEC answers OK and v (got %r)"
              % out)
    r = redis.Redis(port=L, socket_timeout=5)
    r.set("tr:x", "old")
    p = r.pipeline(transaction=True)
    p.get("tr:x").set("tr:x", "new").get("tr:x").set("tr:x", "nx", nx=True).get("tr:x")
    p.mget("tr:x", "tr:none").exists("tr:x", "tr:none", "tr:x").type("tr:x").strlen("tr:x")
    p.delete("tr:x").get("tr:x").exists("tr:x").type("tr:x")
    got = p.execute()
    want = [b"old", True, b"new", None, b"new", [b"new", None], 2, b"string", 3, 1, None, 0,
            b"none"]
    check(got == want, "redis-py's transaction: each read sees the writes queued before it "
          "and none after (want %r, got %r)" % (want, got))
    check(r.get("tr:x") is None, "and the DEL applied")
    p = r.pipeline(transaction=True)
    p.watch("tr:w")
    p.multi()
    p.set("tr:w2", "mine").get("tr:w2").get("tr:w")
    got = p.execute()
    check(got == [True, b"mine", None], "WATCH, then SET, GET, GET of the watched key: "
          "[OK, mine, nil] (got %r)" % got)
    p = r.pipeline(transaction=True)
    p.watch("tr:w")
    redis.Redis(port=L).set("tr:w", "changed")
    p.multi()
    p.set("tr:w3", "mine").get("tr:w")
    try:
        p.execute()
        check(False, "EXEC after the watched key changed answers *-1")
    except redis.exceptions.WatchError:
        pass
    check(r.get("tr:w3") is None, "an EXEC answered *-1 applied nothing")
    p = r.pipeline(transaction=True)
    p.get("tr:only").exists("tr:w")
    check(p.execute() == [None, 1], "a transaction of reads alone answers them")
    moved = "MOVED %d 127.0.0.1:%d" % (slot_of("tr:k"), L)
    for readonly in (False, True):
        with socket.create_connection(("127.0.0.1", F), timeout=5) as s:
            s.sendall((b"*1\r\n$8\r\nREADONLY\r\n" if readonly else b"") +
                      b"*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nGET\r\n$4\r\ntr:k\r\n"
                      b"*1\r\n$4\r\nEXEC\r\n")
            want = 4 if readonly else 3
            data = b""
            while data.count(b"\r\n") < want:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        lines = data.decode().split("\r\n")[want - 3:want]
        check(lines == ["+OK", "-" + moved,
                        "-EXECABORT Transaction discarded because of previous errors."],
              "MULTI, GET, EXEC at a follower%s: +OK, -%s, -EXECABORT (got %r)" %
              (" after READONLY" if readonly else "", moved, lines))


def a_transaction_at_a_follower_redirects(c):
    """MULTI, SET, EXEC at a follower, as Redis Cluster answers them: the
    queued SET is -MOVED to the leader, the transaction is flagged and
    EXEC answers -EXECABORT, nothing applied; never "not the leader".
    Through a raw socket, redis-cli and redis-py's pipeline(transaction=
    True); and at the leader the same through redis-cli, with SET NX."""
    lead = c.leader()
    f = (lead + 1) % c.n
    F, L = c.client_ports[f], c.client_ports[lead]
    moved = "MOVED %d 127.0.0.1:%d" % (slot_of("tf:k1"), L)
    with socket.create_connection(("127.0.0.1", F), timeout=5) as s:
        s.sendall(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$5\r\ntf:k1\r\n$2\r\nv1\r\n"
                  b"*1\r\n$4\r\nEXEC\r\n")
        data = b""
        while data.count(b"\r\n") < 3:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    lines = data.decode().split("\r\n")[:3]
    check(lines == ["+OK", "-" + moved,
                    "-EXECABORT Transaction discarded because of previous errors."],
          "MULTI, SET, EXEC at a follower: +OK, -%s, -EXECABORT (got %r)" % (moved, lines))
    cli = shutil.which("redis-cli")
    if cli is None:
        print("    skip: redis-cli is not installed (make deps DEPS=server): its half not run")
    else:
        out = subprocess.run([cli, "-p", str(F)], input="MULTI\nSET tf:k1 v1\nEXEC\n",
                             capture_output=True, text=True, timeout=10).stdout.split("\n")
        out = [line for line in out if line] # (redis-cli follows an error with an empty line)
        check(out == ["OK", moved, "EXECABORT Transaction discarded because of previous "
                      "errors."], "redis-cli at a follower: OK, MOVED, EXECABORT (got %r)" % out)
        out = subprocess.run([cli, "-p", str(L)], input="MULTI\nSET tf:n a NX\nSET tf:n b NX\n"
                             "SET tf:n2 c\nEXEC\nMGET tf:n tf:n2\n", capture_output=True,
                             text=True, timeout=10).stdout.split("\n")
        check(out[:10] == ["OK", "QUEUED", "QUEUED", "QUEUED", "OK", "", "OK", "a", "c", ""],
              "redis-cli at the leader: MULTI, SET NX twice, SET, EXEC answers OK, nil, OK, and "
              "the values read back a, c (got %r)" % out)
    rf = redis.Redis(port=F, socket_timeout=5)
    p = rf.pipeline(transaction=True)
    p.set("tf:k2", "v2")
    try:
        p.execute()
        check(False, "redis-py's transaction at a follower fails")
    except redis.exceptions.ResponseError as err:
        check(("MOVED %d 127.0.0.1:%d" % (slot_of("tf:k2"), L)) in str(err),
              "redis-py's transaction at a follower is refused with the queued SET's redirect "
              "(got %s: %s)" % (type(err).__name__, err))
        check("not the leader" not in str(err), "never 'not the leader' (got %s)" % err)
    rl = redis.Redis(port=L, socket_timeout=5)
    check(rl.mget("tf:k1", "tf:k2") == [None, None], "nothing of the redirected transactions "
          "was applied")
    p = rl.pipeline(transaction=True)
    p.set("tf:k3", "a", nx=True).set("tf:k3", "b", nx=True).set("tf:k4", "c")
    got = p.execute()
    check(got == [True, None, True], "redis-py's transaction at the leader: SET NX, SET NX, SET "
          "answers [True, None, True] (got %r)" % got)
    check(rl.mget("tf:k3", "tf:k4") == [b"a", b"c"], "and the values read back")
    reply = command(F, "EXEC")
    check(reply == "-ERR EXEC without MULTI", "EXEC alone at a follower: no transaction to run "
          "or to redirect (got %r)" % reply)


def ioredis_transactions_at_a_follower_and_the_leader(c):
    """ioredis (Node.js; tests/cluster/ioredis_test.mjs): a transaction at
    a follower is refused with MOVED and EXECABORT, one at the leader
    answers SET NX as Redis does, and Redis.Cluster, given a follower,
    takes its transaction to the leader.  Skipped, and said so, without
    node and ioredis (make deps DEPS=server installs both)."""
    node = shutil.which("node")
    here = os.path.dirname(os.path.abspath(__file__))
    if node is None or not os.path.exists(os.path.join(here, "js", "node_modules", "ioredis",
                                                       "package.json")):
        raise Skip("no node with ioredis (make deps DEPS=server installs them)")
    lead = c.leader()
    f = (lead + 1) % c.n
    out = subprocess.run([node, os.path.join(here, "ioredis_test.mjs"),
                          str(c.client_ports[lead]), str(c.client_ports[f])],
                         capture_output=True, text=True, timeout=60)
    for line in out.stdout.splitlines():
        print("    " + line)
    check(out.returncode == 0 and out.stdout.rstrip().endswith("all passed"),
          "ioredis's checks pass (exit %d: %s)" % (out.returncode,
                                                   (out.stdout + out.stderr)[-400:]))


def a_follower_redirects_a_write(c):
    lead = c.leader()
    f = (lead + 1) % c.n
    reply = command(c.client_ports[f], "SET", "foo", "bar")
    # foo's slot in Redis Cluster is 12182.
    check(reply == "-MOVED 12182 127.0.0.1:%d" % c.client_ports[lead],
          "a write to a follower answers -MOVED 12182 to the leader (got %r)" % reply)
    check(command(c.client_ports[lead], "SET", "foo", "bar") == "+OK",
          "the leader takes the write")


def cluster_nodes_describes_the_group(c):
    """CLUSTER NODES, as Redis answers it, from a follower: one line per
    member, the leader the master of 0-16383, the others its replicas
    ("slave"), the member asked flagged "myself", each bus port its Raft
    port; and CLUSTER KEYSLOT, Redis Cluster's slot of a key."""
    lead = c.leader()
    f = (lead + 1) % c.n
    r = redis.Redis(port=c.client_ports[f], socket_timeout=2)
    # (redis-py parses the reply into a dict: read the bulk string itself.)
    with socket.create_connection(("127.0.0.1", c.client_ports[f]), timeout=5) as sock:
        sock.sendall(b"*2\r\n$7\r\nCLUSTER\r\n$5\r\nNODES\r\n")
        data = b""
        while b"\r\n" not in data or len(data) < data.index(b"\r\n") + 2 + int(
                data[1:data.index(b"\r\n")]) + 2:
            chunk = sock.recv(65536)
            check(chunk and data[:1] in (b"", b"$"), "CLUSTER NODES: a bulk string (%r)" % data)
            data += chunk
    text = data[data.index(b"\r\n") + 2:-2].decode()
    lines = [line.split(" ") for line in text.strip("\n").split("\n")]
    check(len(lines) == c.n, "one line per member (%r)" % text)
    lid = "%040x" % (lead + 1)
    by_port = {int(w[1].split("@")[0].split(":")[1]): w for w in lines if len(w) >= 8}
    check(sorted(by_port) == sorted(c.client_ports), "each member's client port (%r)" % text)
    for i in range(c.n):
        w = by_port.get(c.client_ports[i], [])
        flags = w[2].split(",") if len(w) > 2 else []
        check(w[0] == "%040x" % (i + 1), "member %d's id (%r)" % (i + 1, w))
        check(w[1] == "127.0.0.1:%d@%d" % (c.client_ports[i], c.raft_ports[i]),
              "member %d's address, its Raft port as the bus port (%r)" % (i + 1, w))
        check(("myself" in flags) == (i == f), "only the member asked is myself (%r)" % w)
        if i == lead:
            check("master" in flags and w[3] == "-" and w[8:] == ["0-16383"],
                  "the leader is the master of every slot (%r)" % w)
        else:
            check("slave" in flags and w[3] == lid and len(w) == 8,
                  "a follower is the leader's replica, holding no slot (%r)" % w)
        check(w[7] == "connected", "member %d's link is connected (%r)" % (i + 1, w))
    for key in ("foo", "{user1000}.following", "a%03d" % random.randrange(1000)):
        got = r.execute_command("CLUSTER KEYSLOT", key)
        check(got == slot_of(key), "CLUSTER KEYSLOT %s: %r, want %d" % (key, got, slot_of(key)))


RUBY_WRITER = r"""
require "redis"
r = nil
50.times do  # (a group still electing its leader answers CLUSTERDOWN)
  begin
    r = Redis.new(cluster: ARGV.map { |p| "redis://127.0.0.1:#{p}" }, timeout: 2)
    break
  rescue StandardError
    sleep 0.2
  end
end
acked, failed, n = {}, 0, 0
t0 = Time.now
while Time.now - t0 < 7
  n += 1
  begin
    r.set("rb#{n}", n.to_s)
    acked["rb#{n}"] = [n.to_s, failed]
    if acked.size == 1
      puts "writing"  # (the test kills the leader only once writes flow)
      $stdout.flush
    end
  rescue StandardError
    failed += 1
    sleep 0.2
  end
end
after = acked.count { |_, (_, f)| f > 0 }
wrong = 0
acked.each do |k, (v, _)|
  tries = 0
  begin
    wrong += 1 if r.get(k) != v
  rescue StandardError
    tries += 1
    sleep 0.2
    retry if tries < 50
    wrong += 1
  end
end
puts "acked #{acked.size} after_error #{after} errors #{failed} wrong #{wrong}"
"""


def the_ruby_cluster_client_follows_a_leader_change(c):
    """redis-rb's cluster client (Debian's ruby-redis), which learns the
    group from CLUSTER NODES and CLUSTER SLOTS: writes for 7 s while the
    leader is killed; it finds the new leader, and every write it was told
    succeeded reads back."""
    ruby = shutil.which("ruby")
    if ruby is None or subprocess.run([ruby, "-e", "require 'redis'"],
                                      capture_output=True).returncode != 0:
        raise Skip("no ruby with the redis gem (make deps DEPS=server installs ruby-redis)")
    c.leader()
    writer = subprocess.Popen([ruby, "-e", RUBY_WRITER] + [str(p) for p in c.client_ports],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The leader dies once the writer's first write is acknowledged, and a
    # second later: on a loaded machine ruby can take seconds to start,
    # and a leader killed before then would leave no write to fail.
    first = writer.stdout.readline()
    check(first == "writing\n", "the writer's first write (stdout %r)" % first)
    time.sleep(1)
    old = c.leader()
    c.kill(old)
    try:
        out, err = writer.communicate(timeout=120)
    finally:
        if writer.poll() is None:
            writer.kill()
        c.start(old)
    words = out.split()
    check(len(words) == 8 and words[0] == "acked",
          "the writer's summary (stdout %r, stderr %r)" % (out, err[-400:]))
    got = dict(zip(words[::2], (int(w) for w in words[1::2])))
    print("    redis-rb: %(acked)d writes acknowledged, %(after_error)d of them after the "
          "leader's death, %(errors)d failed tries" % got)
    check(got["acked"] > got["after_error"] > 0,
          "writes acknowledged before and after the leader's death (%r)" % got)
    check(got["wrong"] == 0, "every acknowledged write reads back (%r)" % got)
    c.leader()


def the_leader_killed_loses_no_acknowledged_write(c):
    rc = c.client()
    acked = {}
    for i in range(100):
        k, v = "a%03d" % i, "before%d" % i
        retrying(lambda: rc.set(k, v))
        acked[k] = v
    old = c.leader()
    killed_at = time.time()
    c.kill(old)
    fresh = c.leader(among=[i for i in range(c.n) if i != old])
    took = time.time() - killed_at
    print("    a new leader, member %d, %.2f s after member %d was killed" % (
        fresh + 1, took, old + 1))
    rc = retrying(c.client)
    for i in range(100, 150):
        k, v = "a%03d" % i, "after%d" % i
        retrying(lambda: rc.set(k, v))
        acked[k] = v
    for k, v in acked.items():
        got = retrying(lambda: rc.get(k))
        check(got == v.encode(), "%s reads %r after the leader's death (got %r)" % (k, v, got))
    c.start(old)
    restarted = time.time()
    want = int(c.info(fresh)["raft_applied_index"])
    deadline = time.time() + 15
    back = None
    while time.time() < deadline:
        back = c.info(old)
        if back and int(back.get("raft_applied_index", 0)) >= want:
            break
        time.sleep(0.1)
    check(back and int(back.get("raft_applied_index", 0)) >= want,
          "the restarted member catches up to index %d (it is at %s)" % (
              want, back and back.get("raft_applied_index")))
    print("    member %d, restarted, applied index %d %.2f s later" % (
        old + 1, want, time.time() - restarted))


class MemberClient:
    """A plain Redis connection to one member at a time, for what
    RedisCluster does not do: a transaction (WATCH, MULTI, EXEC: redis-py's
    cluster pipelines refuse WATCH), or a read sent to any member.  It
    follows -MOVED to the leader, and after a lost connection tries the
    next member."""

    def __init__(self, c, rng):
        self.c, self.rng = c, rng
        self.at = rng.randrange(c.n)
        self.r = None

    def conn(self):
        if self.r is None:
            self.r = redis.Redis(port=self.c.client_ports[self.at], socket_timeout=2,
                                 socket_connect_timeout=1)
        return self.r

    def moved(self, err):
        """True (and the connection moved) if err is a redirect."""
        words = str(err).split()
        # (a queued command's redirect comes wrapped by redis-py:
        # "Command # 1 (SET k v) of pipeline caused error: MOVED ...")
        at = words.index("MOVED") if "MOVED" in words else -1
        if at >= 0 and len(words) >= at + 3:
            port = int(words[at + 2].rsplit(":", 1)[1])
            self.at = self.c.client_ports.index(port)
            self.r = None
            return True
        return False

    def lost(self):
        self.at = (self.at + 1) % self.c.n
        self.r = None

    def get(self, key):
        """The value of key, read at some member (as many redirects as it
        takes, within 3)."""
        for _ in range(3):
            try:
                return self.conn().get(key)
            except redis.exceptions.ResponseError as err:
                if not self.moved(err):
                    raise
        raise redis.exceptions.ConnectionError("redirected three times")

    def set(self, key, value):
        """SET key value at the leader.  What certainly sent nothing is
        tried again elsewhere: a connection that could not be opened (the
        next member), a redirect (the leader it names), a member that knows
        no leader (CLUSTERDOWN: the next member, a little later).  Once the request
        may have gone out, a failure (a timeout, a connection lost) is
        raised and the write never sent again: it may have been applied,
        and one sent again could be applied twice, once before the writes
        of others and once after, which no history of one write can hold.
        (RedisCluster sends a command again after a timeout, so the
        histories' writes do not go through it.)  NotSent if no member took
        the request at all."""
        for _ in range(3 + self.c.n):
            r = self.conn()
            try:  # opened now if it was not: a failure here sent nothing
                r.connection_pool.release(r.connection_pool.get_connection("SET"))
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                self.lost()
                continue
            try:
                return r.set(key, value)
            except redis.exceptions.ResponseError as err:
                if str(err).startswith("CLUSTERDOWN"):  # no leader known: not proposed
                    self.lost()
                    time.sleep(0.05)
                elif not self.moved(err):
                    raise
        raise NotSent("no member took the write (refused, redirected or without a leader "
                      "each time)")

    def cas(self, key, choose):
        """WATCH key, GET it (expected), then MULTI, GET key, SET key
        choose(expected) (DEL if that is None), GET key, EXEC.  (expected,
        new, swapped): swapped is True, False (the EXEC's *-1), None (the
        EXEC's outcome is unknown), or the string "refused" (it certainly
        did not happen: the WATCH or GET failed, or it was refused before
        it was proposed).  self.txn_reads: what the two GETs inside the
        transaction answered, if it swapped (they must be expected and
        new: the transaction's reads see its own writes and nothing
        between), else None."""
        p = self.conn().pipeline(transaction=True)
        new = None
        self.txn_reads = None
        try:
            p.watch(key)
            expected = p.get(key)
            if expected is not None:
                expected = expected.decode()
            new = choose(expected)
        except redis.exceptions.ResponseError as err:
            p.reset()
            self.moved(err)
            return None, None, "refused"
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            p.reset()
            self.lost()
            return None, None, "refused"
        try:
            p.multi()
            p.get(key)
            if new is None:
                p.delete(key)
            else:
                p.set(key, new)
            p.get(key)
            got = p.execute()
            self.txn_reads = [None if g is None else g.decode() for g in (got[0], got[2])]
            return expected, new, True
        except redis.exceptions.WatchError as err:
            if "changed" in str(err):  # the EXEC's *-1
                return expected, new, False
            # redis-py says WatchError for a connection lost while
            # watching too: the outcome is unknown.
            self.lost()
            return expected, new, None
        except redis.exceptions.ResponseError as err:
            # A queued command refused (a redirect, a full disk: redis-py
            # raises its error, "... of pipeline caused error: MOVED ...")
            # made the EXEC answer EXECABORT: nothing of it was applied.
            # So was an EXEC the member says it never proposed.
            queued = "of pipeline caused error" in str(err) or "EXECABORT" in str(err)
            if queued:
                self.moved(err)
            return expected, new, "refused" if queued or "not applied" in str(err) else None
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            self.lost()
            return expected, new, None
        finally:
            p.reset()


def run_clients(c, seconds, fault=None):
    """Clients for `seconds`, logging a history: two that only write x, y
    and z and four that read and write them (reads through RedisCluster,
    so at the leader; writes through MemberClient.set, which follows
    redirects to the leader but never sends a write again); two that
    read them at any member (MemberClient: a
    follower must redirect them); two that check-and-set c (WATCH, MULTI,
    EXEC), creating it when absent and deleting what they read otherwise.
    fault(c, ctl) runs meanwhile on this thread; ctl.quiet(seconds) makes
    the clients only read until every key has been read once (at most that
    long): what they find then is what the group kept, before anyone
    writes over it; the clients go on past `seconds` until then.
    seconds None: the clients run until fault returns.  The history.  Each call's keys are new ones (x.N,
    y.N, z.N, c.N): the checker takes every key to start absent."""
    run_clients.calls += 1
    keys = ["%s.%d" % (k, run_clients.calls) for k in "xyz"]
    ckey = "c.%d" % run_clients.calls
    history, lock = [], threading.Lock()
    stop = time.time() + seconds if seconds is not None else float("inf")
    clock = time.monotonic_ns

    class Ctl:
        until = 0.0
        read_after = set()

        def quiet(self, secs):
            with lock:
                self.read_after = set()
                self.until = time.time() + secs

    ctl = Ctl()

    def log(event):
        with lock:
            history.append(event)

    def is_quiet():
        return time.time() < ctl.until

    def read_done(k):
        with lock:
            ctl.read_after.add(k)
            if len(ctl.read_after) == len(keys):
                ctl.until = 0.0

    def worker(first):
        rng = random.Random(first)
        rc = retrying(c.client)  # reads: one sent again is still one read
        wc = MemberClient(c, rng)  # writes: never sent again (MemberClient.set)
        p, n = first, 0
        writer = first < 2  # two clients only write: a read waiting for a barrier holds none of them
        while time.time() < stop or is_quiet():
            k = rng.choice(keys)
            quiet = is_quiet()
            if quiet and writer:
                time.sleep(0.01)
                continue
            if not quiet and (writer or rng.random() < 0.5):
                v = "%d-%d" % (p, n)
                n += 1
                log({"process": p, "type": "invoke", "f": "write", "key": k, "value": v,
                     "time": clock()})
                try:
                    wc.set(k, v)
                    kind = "ok"
                except NotSent:
                    kind = "fail"
                except redis.exceptions.ResponseError as err:
                    kind = "fail" if "not applied" in str(err) else "info"
                except Exception:  # a timeout, a lost or refused connection
                    kind = "info"
                log({"process": p, "type": kind, "f": "write", "key": k, "value": v,
                     "time": clock()})
                if kind == "info":
                    # Its outcome unknown, the process may invoke no more (it
                    # has an operation outstanding forever): a new one goes on.
                    p += 1000
                    wc.lost()
            else:
                log({"process": p, "type": "invoke", "f": "read", "key": k, "time": clock()})
                try:
                    got = rc.get(k)
                    log({"process": p, "type": "ok", "f": "read", "key": k,
                         "value": got.decode() if got is not None else None, "time": clock()})
                    if quiet:
                        read_done(k)
                except Exception:  # a read that did not answer changed nothing
                    log({"process": p, "type": "fail", "f": "read", "key": k, "time": clock()})
                    rc = c.client() if rng.random() < 0.5 else rc

    def member_reader(first):
        rng = random.Random(first)
        mc = MemberClient(c, rng)
        while time.time() < stop or is_quiet():
            k = rng.choice(keys)
            mc.at = rng.randrange(c.n)  # any member: a follower must redirect
            mc.r = None
            log({"process": first, "type": "invoke", "f": "read", "key": k, "time": clock()})
            try:
                got = mc.get(k)
                log({"process": first, "type": "ok", "f": "read", "key": k,
                     "value": got.decode() if got is not None else None, "time": clock()})
            except Exception:
                log({"process": first, "type": "fail", "f": "read", "key": k, "time": clock()})
                time.sleep(0.01)

    def cas_client(first):
        rng = random.Random(first)
        mc = MemberClient(c, rng)
        p, n = first, 0
        while time.time() < stop or is_quiet():
            if is_quiet():
                time.sleep(0.01)
                continue
            v = "%d-%d" % (p, n)
            n += 1
            invoked = clock()
            # c created when absent, deleted when present: "absent" comes
            # back again and again, so a transaction applied twice can
            # find its condition true the second time.
            expected, new, swapped = mc.cas(ckey, lambda got: v if got is None else None)
            if swapped == "refused":
                time.sleep(0.01)
                continue
            log({"process": p, "type": "invoke", "f": "cas", "key": ckey,
                 "value": [expected, new], "time": invoked})
            if swapped is None:
                log({"process": p, "type": "info", "f": "cas", "key": ckey,
                     "value": [expected, new], "time": clock()})
                p += 1000
            else:
                done = clock()
                log({"process": p, "type": "ok", "f": "cas", "key": ckey,
                     "value": swapped, "time": done})
                if swapped is True:
                    # The reads inside the transaction, each a read of its
                    # own in the cas's window: before its write they found
                    # `expected`, after it `new`.  Any other answer is
                    # logged as a value no write wrote, which no order
                    # can place: the history is then not linearizable.
                    for i, (got, want) in enumerate(zip(mc.txn_reads, (expected, new))):
                        value = got if got == want else "txn read %d: %r, not %r" % (
                            i + 1, got, want)
                        log({"process": 100000 + 2 * p + i, "type": "invoke", "f": "read",
                             "key": ckey, "time": invoked})
                        log({"process": 100000 + 2 * p + i, "type": "ok", "f": "read", "key": ckey,
                             "value": value, "time": done})

    threads = [threading.Thread(target=worker, args=(p,)) for p in range(6)]
    threads += [threading.Thread(target=member_reader, args=(p,)) for p in (6, 7)]
    threads += [threading.Thread(target=cas_client, args=(p,)) for p in (8, 9)]
    for t in threads:
        t.start()
    try:
        if fault is not None:
            fault(c, ctl)
    finally:  # a fault that failed stops the clients too
        if seconds is None:
            stop = time.time()
        for t in threads:
            t.join()
    return history


run_clients.calls = 0


def history_across_a_leaders_death(c, seconds=12):
    """run_clients for `seconds`.  After 2 s the two followers are killed,
    so that the leader can commit nothing while clients still write to it;
    1 s later the leader is killed with SIGKILL and the followers
    restarted; the leader is restarted at the end.  The history, the
    leader's index, the operations completed before its kill, and in
    all."""
    marks = {}

    def fault(c, ctl):
        time.sleep(2)
        lead = c.leader()
        followers = [i for i in range(c.n) if i != lead]
        for i in followers:
            c.kill(i)
        marks["paused"] = time.monotonic_ns()
        time.sleep(1.0)
        marks["killed"] = time.monotonic_ns()
        ctl.quiet(60)
        c.kill(lead)
        for i in followers:
            c.start(i)
        ctl.quiet(10)
        marks["lead"] = lead

    history = run_clients(c, seconds, fault)
    c.start(marks["lead"])
    oks = sum(1 for e in history if e["type"] == "ok")
    before = sum(1 for e in history if e["type"] == "ok" and e["time"] < marks["killed"])
    paused = sum(1 for e in history if e["type"] == "ok" and e["f"] == "write"
                 and marks["paused"] < e["time"] < marks["killed"])
    print("    %d writes acknowledged while the followers were down" % paused)
    return history, marks["lead"], before, oks


def linearizable(history):
    """(True, None), or (False, what no order could place)."""
    ops = lincheck.parse(json.dumps(e) for e in history)
    for k, kops in sorted(ops.items()):
        ok, op = lincheck.check_key(kops)
        if not ok:
            return False, "key %s: %s" % (k, lincheck.describe(op))
    return True, None


def a_history_across_a_leaders_death_is_linearizable(c):
    history, lead, before, oks = history_across_a_leaders_death(c)
    print("    %d operations completed (%d before member %d was killed, its followers killed "
          "1 s before), %d events, over 4 keys" % (oks, before, lead + 1, len(history)))
    check(before > 50 and oks - before > 10,
          "clients completed operations before the leader's death and after it (%d, %d)" % (
              before, oks - before))
    ok, what = linearizable(history)
    check(ok, "not linearizable: %s" % what)


def partition_history(c):
    """For three members or more whose links run through a LinkProxy: the
    clients of run_clients for 14 s.  At 2 s the leader is cut off from
    all others for 3 s (longer than the election timeout: they elect a
    new leader, and the old one, alone, can commit nothing); healed for
    2 s; then a bridge for 3 s: the new leader and one follower cannot
    reach each other, and both reach the rest; healed again.  (history,
    marks): marks["elected"] is (the new leader, seconds) or None,
    marks["bridge"] the two members cut apart."""
    marks = {}

    def fault(c, ctl):
        time.sleep(2)
        lead = c.leader()
        others = [i for i in range(c.n) if i != lead]
        cut_at = time.time()
        c.net.partition([lead + 1], [i + 1 for i in others])
        try:
            fresh = c.leader(timeout=10, among=others)
            marks["elected"] = (fresh, time.time() - cut_at)
        except Fail:
            marks["elected"] = None
        time.sleep(max(0.0, 3 - (time.time() - cut_at)))
        c.net.heal()
        time.sleep(2)
        lead = c.leader()
        a, b = lead, (lead + 1) % c.n
        c.net.cut_links([(a + 1, b + 1)])
        marks["bridge"] = (a, b)
        time.sleep(3)
        c.net.heal()
        time.sleep(1)

    return run_clients(c, 14, fault), marks


def a_history_across_partitions_is_linearizable(kv):
    """partition_history on three members: a new leader on the majority's
    side, and a linearizable history."""
    c = Cluster(kv, proxied=True)
    try:
        c.leader()
        history, marks = partition_history(c)
        check(marks.get("elected") is not None,
              "with the leader cut off, the two others elect a leader within 10 s")
        print("    leader cut off: member %d elected %.2f s later; then a bridge, members %d "
              "and %d apart" % (marks["elected"][0] + 1, marks["elected"][1],
                                marks["bridge"][0] + 1, marks["bridge"][1] + 1))
        oks = sum(1 for e in history if e["type"] == "ok")
        check(oks > 100, "clients completed operations (%d)" % oks)
        ok, what = linearizable(history)
        print("    %d operations completed, %d events" % (oks, len(history)))
        check(ok, "not linearizable: %s" % what)
    finally:
        logs_of(c)
        c.stop()


def pause_history(c, marks=None):
    """The clients of run_clients for 10 s; at 2 s the leader is paused
    (SIGSTOP) for 3 s, longer than the election timeout, then resumed: it
    wakes up believing it leads, with clients' requests waiting in its
    sockets, while the others have elected a leader and taken writes.
    The history; marks["elected"] = (paused member, new leader or None,
    seconds)."""
    marks = {} if marks is None else marks

    def fault(c, ctl):
        time.sleep(2)
        lead = c.leader()
        c.pause(lead)
        paused = time.time()
        try:
            fresh = c.leader(timeout=10, among=[i for i in range(c.n) if i != lead])
            marks["elected"] = (lead, fresh, time.time() - paused)
        except Fail:
            marks["elected"] = (lead, None, None)
        time.sleep(max(0.0, 3 - (time.time() - paused)))
        c.resume(lead)

    return run_clients(c, 10, fault)


def a_history_across_a_pause_is_linearizable(c):
    """pause_history: it must be linearizable."""
    marks = {}
    history = pause_history(c, marks)
    lead, fresh, took = marks["elected"]
    check(fresh is not None, "with member %d paused, the others elect a leader" % (lead + 1))
    print("    member %d paused: member %d elected %.2f s later" % (lead + 1, fresh + 1, took))
    oks = sum(1 for e in history if e["type"] == "ok")
    ok, what = linearizable(history)
    print("    %d operations completed, %d events" % (oks, len(history)))
    check(ok, "not linearizable: %s" % what)


def leadership_lost_with_batches_in_flight(c, clients=8, depth=64):
    """Clients pipeline SETs of keys of their own at the leader, `depth`
    at a time, while the leader is paused (SIGSTOP) longer than the
    election timeout and then resumed: the batches it had proposed are in
    flight when it stops (a member keeps several out at once), and it
    wakes with more requests waiting, which it proposes in a term the
    others have left.  Every SET sent must get a reply in its turn, +OK
    or an error; every key answered +OK must hold its value at the new
    leader, and every key refused as certainly not applied (MOVED, or
    "not applied" without "may") must be absent: no wrong success."""
    run_id = "pl%d" % int(time.time() * 1000)
    old = c.leader()
    port = c.client_ports[old]
    replies = {}   # key -> its reply line
    sent = {}      # client -> SETs sent
    lost = []
    stop = threading.Event()

    def client(n):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                f = s.makefile("rb")
                i = 0
                while not stop.is_set():
                    keys = ["%s.%d.%d" % (run_id, n, i + j) for j in range(depth)]
                    s.sendall(b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
                        len(k), k.encode(), len(k) + 1, b"v" + k.encode()) for k in keys))
                    sent[n] = sent.get(n, 0) + depth
                    moved = False
                    for k in keys:
                        line = f.readline()
                        if not line.endswith(b"\r\n"):
                            raise OSError("connection ended after %d replies" % len(replies))
                        replies[k] = line.rstrip(b"\r\n").decode()
                        moved |= replies[k].startswith("-MOVED")
                    if moved:  # it no longer leads: its part is over
                        break
                    i += depth
        except OSError as err:
            lost.append("client %d: %s" % (n, err))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    time.sleep(1)
    c.pause(old)
    try:
        fresh = c.leader(timeout=15, among=[i for i in range(c.n) if i != old])
    finally:
        c.resume(old)
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join(60)
    check(not lost, "every client got a reply to each SET: %s" % "; ".join(lost))
    check(len(replies) == sum(sent.values()),
          "%d SETs sent, %d answered" % (sum(sent.values()), len(replies)))
    fresh = c.leader()
    kinds = {"ok": 0, "unknown": 0, "not applied": 0, "other error": 0}
    at_fresh = redis.Redis(port=c.client_ports[fresh], socket_timeout=10)
    wants = []
    for k, r in replies.items():
        if r == "+OK":
            kinds["ok"] += 1
            wants.append((k, r, ("v" + k).encode()))
        elif r.startswith("-MOVED") or ("not applied" in r and "may" not in r):
            kinds["not applied"] += 1
            wants.append((k, r, None))
        elif r.startswith("-"):
            kinds["unknown" if "may or may not" in r else "other error"] += 1
        else:
            raise Fail("SET %s answered %r: neither +OK nor an error" % (k, r))
    for at in range(0, len(wants), 1000):
        part = wants[at:at + 1000]
        got = retrying(lambda: at_fresh.mget([k for k, _, _ in part]))
        for (k, r, want), g in zip(part, got):
            check(g == want, "%s answered %r, but the new leader reads %r" % (k, r, g))
    flying = int(retrying(lambda: redis.Redis(port=port, socket_timeout=5).info("stats"))[
        "write_batches_in_flight_max"])
    check(flying >= 2, "member %d had at most %d batch in flight" % (old + 1, flying))
    print("    member %d paused with clients pipelining %d SETs each; member %d leads; at "
          "most %d batches were in flight; replies: %s" % (
              old + 1, depth, fresh + 1, flying,
              ", ".join("%d %s" % (n, what) for what, n in kinds.items())))


def transactions_after_a_snapshot(c):
    """A transaction that found its condition false, just after a
    snapshot, then every member killed and restarted: each applies its log
    again from the snapshot, over an engine that already holds it, unless
    it skips what it applied before (replica.h, R1).  Key d: client 1
    WATCHes d (absent); client 2 creates d = A; writes elsewhere until
    every member has taken a snapshot holding A (kv serve
    --raft-snapshot-every 16; CLUSTER INFO's raft_snapshot_index);
    client 1's EXEC, creating d = B, finds d present and answers *-1;
    client 2 deletes A.  Applied again over an engine where d is absent,
    the creation of B would hold.  The history of d, with a read of it
    after the restart.  A try whose snapshots fall elsewhere (a member
    took one after the EXEC) is made again, three times at most."""
    for attempt in range(3):
        history = transactions_try(c)
        if history is not None:
            return history
    raise Fail("three tries, and each time a member took a snapshot after the transaction "
               "it had to come before")


def member_indexes(c):
    """[(applied index, snapshot index)] of every member."""
    out = []
    for i in range(c.n):
        inf = c.info(i) or {}
        out.append((int(inf.get("raft_applied_index", 0)), int(inf.get("raft_snapshot_index", 0))))
    return out


def transactions_try(c):
    history, clock = [], time.monotonic_ns
    lead = c.leader()
    rc = retrying(c.client)
    k = "d.%d" % random.randrange(1 << 30)
    one, two = MemberClient(c, random.Random(1)), MemberClient(c, random.Random(2))
    one.at = two.at = lead
    history.append({"process": 1, "type": "invoke", "f": "cas", "key": k,
                    "value": [None, "B"], "time": clock()})
    p1 = one.conn().pipeline(transaction=True)
    p1.watch(k)
    check(p1.get(k) is None, "d is absent at first")
    history.append({"process": 2, "type": "invoke", "f": "cas", "key": k,
                    "value": [None, "A"], "time": clock()})
    expected, new, swapped = two.cas(k, lambda got: "A")
    check(expected is None and swapped is True, "client 2 creates d = A (%r %r)" % (
        expected, swapped))
    check(two.txn_reads == [None, "A"], "its GETs inside MULTI, before and after its SET, "
          "answer nil and A (%r)" % (two.txn_reads,))
    history.append({"process": 2, "type": "ok", "f": "cas", "key": k, "value": True,
                    "time": clock()})
    index_a = member_indexes(c)[lead][0]
    deadline = time.time() + 20
    while min(snap for _, snap in member_indexes(c)) < index_a:
        check(time.time() < deadline, "every member takes a snapshot within 20 s (%r)" % (
            member_indexes(c),))
        rc.set("pad", "x")
    # Every member's applied index is where its next snapshot may be
    # taken from: none may be taken before the EXEC's index.
    before_b = max(applied for applied, _ in member_indexes(c))
    p1.multi()
    p1.set(k, "B")
    try:
        p1.execute()
        check(False, "client 1's EXEC, after d changed under its WATCH, answers *-1")
    except redis.exceptions.WatchError as err:
        check("changed" in str(err), "client 1's EXEC answers *-1 (got %s)" % err)
    history.append({"process": 1, "type": "ok", "f": "cas", "key": k, "value": False,
                    "time": clock()})
    history.append({"process": 2, "type": "invoke", "f": "cas", "key": k,
                    "value": ["A", None], "time": clock()})
    expected, new, swapped = two.cas(k, lambda got: None)
    check(expected == "A" and swapped is True, "client 2 deletes A (%r %r)" % (
        expected, swapped))
    check(two.txn_reads == ["A", None], "its GETs inside MULTI, before and after its DEL, "
          "answer A and nil (%r)" % (two.txn_reads,))
    history.append({"process": 2, "type": "ok", "f": "cas", "key": k, "value": True,
                    "time": clock()})
    time.sleep(0.5)  # the followers apply the deletion
    if max(snap for _, snap in member_indexes(c)) > before_b:
        return None
    for i in range(c.n):
        c.kill(i)
    for i in range(c.n):
        c.start(i)
    c.leader(timeout=20)
    rc = retrying(c.client)
    history.append({"process": 3, "type": "invoke", "f": "read", "key": k, "time": clock()})
    got = retrying(lambda: rc.get(k))
    history.append({"process": 3, "type": "ok", "f": "read", "key": k,
                    "value": got.decode() if got is not None else None, "time": clock()})
    return history


def a_snapshot_installed_ends_the_old_engines_handles(kv):
    """A follower cut off from the others (its links closed, so nothing
    sent to it waits in a socket's buffer, as it would for a member
    paused) while the leader takes 200 writes (and, with
    --raft-snapshot-every 16, truncates its log behind a snapshot) catches
    up once healed by installing a snapshot, which replaces its engine: a READONLY
    client's WATCH there is ended (its EXEC answers *-1, as after
    --watch-max-age), a SCAN cursor goes on over the new engine, and the
    follower reads what the leader wrote (serve_release.c)."""
    c = Cluster(kv, extra=["--raft-snapshot-every", "16"], proxied=True)
    try:
        lead = c.leader()
        rc = retrying(c.client)
        for i in range(30):
            rc.set("s:%03d" % i, "before")
        f = (lead + 1) % c.n
        r = redis.Redis(port=c.client_ports[f], socket_timeout=5)
        r.execute_command("READONLY")
        r.execute_command("WATCH", "s:000")
        cursor, first = r.scan(0, count=5)
        check(cursor != 0, "a SCAN of 5 of 30 keys returns a cursor")
        c.net.partition([f + 1], [i + 1 for i in range(c.n) if i != f])
        for i in range(200):
            rc.set("s:%03d" % (i % 30), "after%d" % i)
        c.net.heal()
        deadline = time.time() + 15
        while int((c.info(f) or {}).get("raft_snapshots_installed", 0)) < 1:
            check(time.time() < deadline, "the paused follower installs a snapshot within 15 s "
                  "(%r)" % (c.info(f),))
            time.sleep(0.1)
        r.execute_command("MULTI")
        got = r.execute_command("EXEC")
        check(got is None, "the EXEC of a WATCH on the replaced engine answers *-1 (got %r)" % (
            got,))
        seen = set(first)
        while cursor != 0:
            cursor, keys = r.scan(cursor, count=5)
            seen.update(keys)
        check(len(seen) >= 30, "the SCAN goes on over the new engine to the end (%d keys)" % (
            len(seen),))
        deadline = time.time() + 10
        while r.get("s:019") != b"after199":
            check(time.time() < deadline, "the follower reads the last write (%r)" % (
                r.get("s:019"),))
            time.sleep(0.1)
    finally:
        logs_of(c)
        c.stop()


def a_restart_applies_no_command_twice(kv):
    c = Cluster(kv, extra=["--raft-snapshot-every", "16"])
    try:
        history = transactions_after_a_snapshot(c)
        ok, what = linearizable(history)
        check(ok, "after every member restarted, d: not linearizable: %s" % what)
    finally:
        logs_of(c)
        c.stop()


def fill(path):
    """Junk written at path until its file system is full (ENOSPC): the
    bytes written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    n = 0
    try:
        for block in (b"\0" * (1 << 20), b"\0" * 4096, b"\0"):
            while True:
                try:
                    n += os.write(fd, block)
                except OSError as err:
                    if err.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return n


def refuses_for_room(c, i, timeout=10):
    """Waits for member i to say it is short of room on disk (CLUSTER
    INFO's raft_disk_short), writing 64 KiB values through the group
    meanwhile: True, or False after timeout seconds."""
    deadline = time.time() + timeout
    rc = retrying(c.client)
    while time.time() < deadline:
        check(c.procs[i].poll() is None, "member %d, on a full disk, is still running (it "
              "exited with %s)" % (i + 1, c.procs[i].poll()))
        if (c.info(i) or {}).get("raft_disk_short") == "1":
            return True
        try:
            rc.set("pad", "x" * 65536)
        except Exception:  # the full member led: the group moves on
            time.sleep(0.05)
    return False


def an_entry_from_before_a_restart_answers_no_new_write(kv):
    """A write waits at the member that proposed it under the origin its
    entry carries: the member, the term it leads, and a serial that starts
    again at 1 with each life of the process (member_wait.h, S1), as a
    serial taken from a clock stepped back would.  A leader that has
    proposed nothing yet (leadership moved to it) proposes DEL of three
    keys, serial 1, while both followers are down: the entry stays in its
    log, uncommitted.  Killed and restarted, with one follower back, it
    leads again (the follower's log is behind: only it can win), and a DEL
    of a key that does not exist is its new life's serial 1.  That write's
    entry, of the new term, commits the old one before it, which applies
    first: it must not answer the new write (the three keys it found would
    make the answer 1, not 0).  The followers are killed, not paused: a
    paused member's socket still takes the leader's bytes, and it would
    read the DEL on waking."""
    c = Cluster(kv)
    try:
        first = c.leader()
        got = command(c.client_ports[first], "MSET", "{r}1", "1", "{r}2", "2", "{r}3", "3")
        check(got == "+OK", "MSET at the leader (got %r)" % got)
        lead = (first + 1) % c.n  # a member that has proposed nothing in its life
        caught_up(c, lead)
        check(move_leadership(c, lead) == "+OK" and c.leader() == lead,
              "leadership moves to member %d" % (lead + 1))
        others = [i for i in range(c.n) if i != lead]
        last = int(c.info(lead)["raft_last_index"])
        for i in others:
            c.kill(i)
        s = socket.create_connection(("127.0.0.1", c.client_ports[lead]), timeout=5)
        s.sendall(b"*4\r\n$3\r\nDEL\r\n$4\r\n{r}1\r\n$4\r\n{r}2\r\n$4\r\n{r}3\r\n")
        deadline = time.time() + 5
        while int(c.info(lead)["raft_last_index"]) <= last:
            check(time.time() < deadline, "the DEL is appended to the leader's log")
            time.sleep(0.02)
        time.sleep(1)  # and written to its disk (libraft appends, then writes and syncs)
        c.kill(lead)
        s.close()
        c.start(lead)
        c.start(others[0])
        check(c.leader(timeout=20) == lead, "member %d, restarted, leads again" % (lead + 1))
        got = command(c.client_ports[lead], "DEL", "{r}none", timeout=10)
        check(got == ":0", "a DEL of a key that does not exist, the restarted leader's first "
              "write, answers 0, not what the entry of its life before found (got %r)" % got)
        got = command(c.client_ports[lead], "EXISTS", "{r}1", "{r}2", "{r}3", timeout=10)
        check(got == ":0", "the DEL from before the restart was committed and applied after "
              "it (EXISTS: %r)" % got)
    finally:
        logs_of(c)
        c.stop()


def a_full_disk_refuses_writes_not_the_group(kv, n=3, under=""):
    """One member's directory, or only its Raft log (under="raft"), on a
    tmpfs of 64 MiB with a reserve of 24 MiB (--raft-disk-reserve),
    filled with junk until ENOSPC while the clients of run_clients write
    through the group: first with that member a follower, then made the
    leader (CLUSTER FAILOVER TO) and filled again.  Each time the member
    must go on running (no crash, no freeze: it answers CLUSTER INFO),
    say it is short of room, refuse a write sent to it with an error
    naming the full disk (or redirect it, a follower or a leader that
    handed over its leadership), serve a READONLY read, and not hold up
    the group: the two others go on acknowledging writes, a leader of
    their own elected when the full member led.  The junk deleted, the
    member must catch up with the leader within 10 s, without a restart,
    and hold what the leader holds.  The history must be linearizable:
    no acknowledged write lost, no wrong value read."""
    full = 1
    c = Cluster(kv, n=n, tmpfs={full: ("64m", under)},
                extra=["--raft-snapshot-every", "1000000", "--raft-disk-reserve", "24m"])
    junk = os.path.join(c.root, "m%d" % (full + 1), under, "junk")
    marks = {}
    try:
        lead = c.leader()
        if lead == full:  # a follower first
            other = (full + 1) % c.n
            check(move_leadership(c, other) == "+OK",
                  "leadership moves away from member %d" % (full + 1))

        def fault(c, ctl):
            for phase in ("follower", "leader"):
                time.sleep(0.5)
                if phase == "leader":
                    got = move_leadership(c, full)
                    check(got == "+OK", "member %d made the leader (%r)" % (full + 1, got))
                rc = retrying(c.client)
                retrying(lambda: rc.set("pre:" + phase, "1"))  # a value it will read back full
                ro = redis.Redis(port=c.client_ports[full], socket_timeout=5)
                ro.execute_command("READONLY")
                until = time.time() + 10
                while ro.get("pre:" + phase) != b"1":
                    check(time.time() < until, "member %d applies pre:%s" % (full + 1, phase))
                    time.sleep(0.05)
                filled = time.time()
                fill(junk)
                check(refuses_for_room(c, full), "member %d, a %s on a full disk, says within "
                      "10 s that it is short of room (it is %r)" % (full + 1, phase,
                                                                    c.info(full)))
                began = time.monotonic_ns()
                m = marks[phase] = {"took": time.time() - filled}
                got = command(c.client_ports[full], "SET", "full:%s" % phase, "1")
                check(got.startswith("-ERR disk full") or got.startswith("-MOVED"),
                      "a write sent to member %d, full, is refused naming the full disk or "
                      "redirected (%r)" % (full + 1, got))
                m["said"] = got[:60]
                check(ro.get("pre:" + phase) == b"1", "member %d, full, serves a READONLY read"
                      % (full + 1))
                ro.close()
                lead = c.leader(timeout=10, among=[i for i in range(c.n) if i != full])
                m["leader"] = time.time() - filled
                rc = retrying(c.client)
                retrying(lambda: rc.set("pad", "without member %d" % (full + 1)))
                time.sleep(1)  # the two others take the clients' writes
                m["span"] = (began, time.monotonic_ns())
                os.unlink(junk)
                freed = time.time()
                want = int(c.info(lead)["raft_applied_index"])
                while int((c.info(full) or {}).get("raft_applied_index", 0)) < want:
                    check(time.time() < freed + 10, "member %d applies index %d within 10 s "
                          "of its disk freed, without a restart (%r)" % (full + 1, want,
                                                                         c.info(full)))
                    check(c.procs[full].poll() is None, "member %d still runs" % (full + 1))
                    time.sleep(0.05)
                m["back"] = time.time() - freed

        history = run_clients(c, None, fault)
        for phase in ("follower", "leader"):
            m = marks[phase]
            acked = sum(1 for e in history if e["type"] == "ok" and e["f"] == "write"
                        and m["span"][0] < e["time"] < m["span"][1])
            print("    member %d, the %s, %s full: short of room %.2f s after the fill, a "
                  "write there answered %r, a leader among the others %.2f s after the fill; "
                  "%d writes acknowledged meanwhile; caught up %.2f s after the disk was freed"
                  % (full + 1, phase, "its Raft log" if under else "its directory", m["took"],
                     m["said"], m["leader"], acked, m["back"]))
            check(acked > 0, "the two others acknowledge writes while member %d, the %s, is "
                  "full" % (full + 1, phase))
        check(c.procs[full].poll() is None, "member %d never stopped" % (full + 1))
        ok, what = linearizable(history)
        oks = sum(1 for e in history if e["type"] == "ok")
        print("    %d operations completed, %d events" % (oks, len(history)))
        check(ok, "not linearizable: %s" % what)
        caught_up(c, full)
        keys = sorted({e["key"] for e in history})
        lead = c.leader()
        check(readonly_get(c, full, keys) == readonly_get(c, lead, keys),
              "member %d holds what the leader holds for %r" % (full + 1, keys))
    finally:
        logs_of(c)
        c.stop()


def outsider_attacks(c, hows, names, certs=None):
    """Sends each message of names, each way of hows (outsider.py), to
    every member's Raft port: (attempts, [what the member did not close])."""
    term = int(c.info(c.leader())["raft_term"])
    voters = [(i + 1, c.raft_ports[i]) for i in range(c.n)]
    msgs = outsider.messages(term, voters)
    attempts, kept = 0, []
    for i in range(c.n):
        for how in hows:
            for name in names:
                attempts += 1
                if outsider.send(c.raft_ports[i], how, msgs[name], certs=certs.get(how)
                                 if certs else None):
                    kept.append("%s %s to member %d" % (how, name, i + 1))
    return attempts, kept


def group_unharmed(c, before_members):
    """Every member runs, the configuration is as it was, no term was
    raised to anything an election would not give, and no forged write
    holds."""
    for i in range(c.n):
        check(c.procs[i].poll() is None, "member %d is running (it exited with %s)" % (
            i + 1, c.procs[i].poll()))
    lead = c.leader(timeout=10)
    info = c.info(lead)
    check(info["raft_members"] == before_members, "the configuration is as it was (%s, not "
          "%s)" % (before_members, info["raft_members"]))
    check(int(info["raft_term"]) < 1000, "no term raised far (%s)" % info["raft_term"])
    expect(command(c.client_ports[lead], "GET", "injected"), "$-1", "no forged write holds")


def outsiders_while_clients_run(c, hows, names, certs, garbage, counter):
    """While the clients of run_clients write and read, an outsider sends
    every member's Raft port each message of names (outsider.py) each way
    of hows (with certs for those that need them; first 4 KiB of garbage
    in the clear if garbage).  Every connection must be closed by the
    member, each member's INFO counter must count at least one refusal an
    attempt, the group must be unharmed, and the history linearizable."""
    before = c.info(c.leader())["raft_members"]
    result = {}

    def fault(c, ctl):
        if garbage:
            junk = os.urandom(4096)
            for i in range(c.n):
                with socket.create_connection(("127.0.0.1", c.raft_ports[i])) as s:
                    s.sendall(junk)
        result["attempts"], result["kept"] = outsider_attacks(c, hows, names, certs)

    history = run_clients(c, None, fault)
    check(result["kept"] == [], "every member closes every outsider's connection (kept "
          "open: %s)" % result["kept"][:5])
    refused = [int(c.info(i)[counter]) for i in range(c.n)]
    print("    %d outsiders' connections%s, every one closed; %s: %s"
          % (result["attempts"], " (and garbage)" if garbage else "", counter, refused))
    check(all(r >= len(hows) * len(names) for r in refused), "each member counts every "
          "attempt refused (%s: %s)" % (counter, refused))
    group_unharmed(c, before)
    ok, what = linearizable(history)
    check(ok, "not linearizable: %s" % what)


def an_outsider_changes_nothing(kv):
    """While the clients of run_clients write and read, an outsider sends
    every member's Raft port each message of outsider.py (garbage, an
    AppendEntries libraft cannot decode, a vote of the largest term,
    forged entries setting a key and adding a voter, forged answers, a
    TimeoutNow, a 512 MiB entry announced), each way it can claim to be a
    member: libraft's own handshake, the members' opening without TLS,
    TLS without a certificate, with another group's certificate, and
    with this group's member 3's certificate claiming to be member 1.
    Every connection must be closed by the member, and counted refused;
    every member still runs, the configuration is as it was, no term was
    raised, no forged write holds, and the history is linearizable."""
    c = Cluster(kv)
    try:
        c.leader()
        other = os.path.join(c.root, "other")
        out = kv_run(kv, other, "certs", "--members", "1")
        check(out.returncode == 0, "another group's credentials: %s" % out.stderr)
        certs = {"otherca": (os.path.join(other, "member-1.crt"),
                             os.path.join(other, "member-1.key")),
                 "otherid": (os.path.join(c.certs, "member-3.crt"),
                             os.path.join(c.certs, "member-3.key"))}
        hows = ("libraft", "plain", "notls", "otherca", "otherid")
        names = ("malformed-count", "unknown-type", "huge-term-vote", "forged-set",
                 "forged-voter", "forged-results", "timeout-now", "oversized-entry")
        outsiders_while_clients_run(c, hows, names, certs, garbage=True,
                                    counter="raft_peer_refused")
    finally:
        logs_of(c)
        c.stop()


def an_outsider_on_loopback_reaches_only_the_checker(kv):
    """A group run with --raft-insecure (loopback only) takes the
    opening's word for who connects, so an outsider on the host reaches
    the message checker (stages/10-raft/peer/peer_frame.h): every
    message it cannot let through (an entry count larger than the
    header, an entry of an unknown type, a vote of the largest term, a
    512 MiB entry announced) must end the connection, counted as a
    refused message; every member still runs, no term was raised, and
    the clients' history is linearizable."""
    c = Cluster(kv, insecure=True)
    try:
        c.leader()
        names = ("malformed-count", "unknown-type", "huge-term-vote", "oversized-entry")
        outsiders_while_clients_run(c, ("plain",), names, None, garbage=False,
                                    counter="raft_peer_messages_refused")
    finally:
        logs_of(c)
        c.stop()


def without_tls_an_outsider_on_the_host_can_forge_a_write(kv):
    """Why TLS is the default: in a group run with --raft-insecure, an
    outsider on the host that claims to be the leader (the opening's id
    is taken on its word) and sends a follower an AppendEntries that fits
    its log (the term and last index any client can read from CLUSTER
    INFO) gets its entry applied there: a READONLY read at that follower
    finds a key no client wrote.  The same message to a group with TLS is
    refused at the opening (an_outsider_changes_nothing)."""
    c = Cluster(kv, insecure=True)
    try:
        lead = c.leader()
        for i in range(5):
            expect(command(c.client_ports[lead], "SET", "k%d" % i, "v"), "+OK", "a write")
        f = (lead + 1) % c.n
        caught_up(c, f)
        info = c.info(f)
        term, last = int(info["raft_term"]), int(info["raft_last_index"])
        forged = outsider.append_entries(term, [(term, outsider.RAFT_COMMAND,
                                                 outsider.command_set(b"forged", b"by outsider"))],
                                         prev=(last, term), commit=last + 1)
        s = socket.create_connection(("127.0.0.1", c.raft_ports[f]))
        s.sendall(outsider.opening(0, lead + 1) + outsider.hello(c.raft_addr(lead)) + forged)
        time.sleep(0.5)
        s.close()
        ro = redis.Redis(port=c.client_ports[f], socket_timeout=5)
        ro.execute_command("READONLY")
        got = ro.get("forged")
        ro.close()
        print("    follower %d, sent a forged AppendEntries as member %d: GET forged -> %r" % (
            f + 1, lead + 1, got))
        check(got == b"by outsider", "without TLS, the follower applied the forged write (it "
              "read %r): the danger --raft-insecure keeps to loopback" % got)
    finally:
        logs_of(c)
        c.stop()


def a_lone_member_short_of_room_refuses_writes_and_serves_reads(kv):
    """A group of one member, whose directory is on a 64 MiB tmpfs with a
    reserve of 24 MiB: filled with junk, it cannot hand its leadership to
    anyone, so a SET is answered -ERR naming the full disk, the directory
    and the room left, while a GET is served; the junk deleted, a SET
    applies again, and the member never stopped."""
    c = Cluster(kv, n=1, tmpfs={0: "64m"}, extra=["--raft-disk-reserve", "24m"])
    junk = os.path.join(c.root, "m1", "junk")
    try:
        c.leader()
        p = c.client_ports[0]
        expect(command(p, "SET", "k", "before"), "+OK", "a SET with room")
        fill(junk)
        deadline = time.time() + 5
        while (c.info(0) or {}).get("raft_disk_short") != "1":
            check(time.time() < deadline, "member 1 says it is short of room within 5 s (%r)"
                  % c.info(0))
            time.sleep(0.02)
        got = command(p, "SET", "k", "full")
        check(got.startswith("-ERR disk full: member 1 has ") and "/m1/" in got and
              "--raft-disk-reserve" in got, "a SET on the full disk is refused, naming it "
              "(%r)" % got)
        print("    %s" % got[:150])
        expect(command(p, "GET", "k"), "$6", "a GET is served while the disk is full")
        os.unlink(junk)
        deadline = time.time() + 10
        while command(p, "SET", "k", "after") != "+OK":
            check(time.time() < deadline, "a SET applies within 10 s of the disk freed")
            time.sleep(0.05)
        check(c.procs[0].poll() is None, "member 1 never stopped")
        check(int(c.info(0)["raft_writes_refused_disk"]) >= 1, "CLUSTER INFO counts the "
              "refused write")
    finally:
        logs_of(c)
        c.stop()


def every_member_short_of_room_refuses_writes_and_serves_reads(kv):
    """Three members sharing one disk (their directories on one tmpfs of
    160 MiB, a reserve of 24 MiB), filled with junk: every member is
    short at once.  None may stop; the leader hands its leadership away
    at most once and then keeps it; a write is refused naming the full
    disk (or redirected to the leader, which refuses it); a read at the
    leader is served (its barrier, a few bytes, still goes to the disk);
    the junk deleted, writes are taken again within 10 s."""
    c = Cluster(kv, tmpfs_all="160m", extra=["--raft-disk-reserve", "24m"])
    junk = os.path.join(c.root, "junk")
    try:
        lead = c.leader()
        expect(command(c.client_ports[lead], "SET", "k", "before"), "+OK", "a write with room")
        fill(junk)
        deadline = time.time() + 10
        while not all((c.info(i) or {}).get("raft_disk_short") == "1" for i in range(c.n)):
            check(time.time() < deadline, "every member says it is short within 10 s")
            time.sleep(0.05)
        time.sleep(2)  # a leadership handed away settles
        terms = set()
        for _ in range(20):
            lead = c.leader(timeout=10)
            terms.add(c.info(lead)["raft_term"])
            got = command(c.client_ports[lead], "SET", "k", "full")
            check(got.startswith("-ERR disk full") or got.startswith("-MOVED") or
                  got.startswith("-CLUSTERDOWN") or got.startswith("-TRYAGAIN"),
                  "a write on a full group is refused or redirected (%r)" % got)
            time.sleep(0.1)
        got = command(c.client_ports[lead], "GET", "k", timeout=5)
        check(got == "$6", "the leader serves a read while every disk is full (%r)" % got)
        check(len(terms) <= 2, "leadership does not go round while every member is short "
              "(terms %s)" % sorted(terms))
        for i in range(c.n):
            check(c.procs[i].poll() is None, "member %d still runs" % (i + 1))
        os.unlink(junk)
        deadline = time.time() + 10
        while True:
            lead = c.leader(timeout=10)
            if command(c.client_ports[lead], "SET", "k", "after") == "+OK":
                break
            check(time.time() < deadline, "a write is taken within 10 s of the disk freed")
            time.sleep(0.1)
        print("    every member short: writes refused, reads served, terms %s; writes taken "
              "again once freed" % sorted(terms))
    finally:
        logs_of(c)
        c.stop()


def an_engine_that_cannot_write_keeps_its_commands_until_there_is_room(kv):
    """Member 2's directory on a 48 MiB tmpfs with a reserve of 1 MiB,
    filled with junk and 4.5 MiB given back, so that its engine, which
    keeps 3 MiB for itself, fails to apply a 2 MiB value while the guard
    sees room enough (the clients of run_clients write meanwhile).
    Member 2 (a follower) must not stop: its engine
    keeps the commands it cannot apply (replica_fsm.h, W1) and the member
    says so; the junk deleted, it applies them and catches up without a
    restart.  The history must be linearizable, and member 2 must hold
    what the leader holds."""
    full = 1
    c = Cluster(kv, tmpfs={full: "48m"},
                extra=["--raft-snapshot-every", "1000000", "--raft-disk-reserve", "1m"])
    junk = os.path.join(c.root, "m%d" % (full + 1), "junk")
    log = os.path.join(c.root, "member%d.log" % (full + 1))
    marks = {}
    try:
        lead = c.leader()
        if lead == full:
            check(move_leadership(c, (full + 1) % c.n) == "+OK", "leadership moves away")

        def fault(c, ctl):
            time.sleep(0.5)
            # Full, then 4.5 MiB given back: above the reserve, so the
            # guard lets writes through, but too little for a 2 MiB value
            # beside the 3 MiB the engine keeps.
            size = fill(junk)
            os.truncate(junk, size - (9 << 19))
            rc = retrying(c.client)
            deadline = time.time() + 10
            while "could not apply a command" not in open(log, errors="replace").read():
                check(time.time() < deadline, "member %d's engine runs out of room within "
                      "10 s, and it says so" % (full + 1))
                check(c.procs[full].poll() is None, "member %d still runs" % (full + 1))
                try:
                    rc.set("pad", "x" * (2 << 20))
                except Exception:
                    time.sleep(0.05)
            time.sleep(1)
            check(c.procs[full].poll() is None, "member %d, its engine full, still runs"
                  % (full + 1))
            os.unlink(junk)
            freed = time.time()
            want = int(c.info(c.leader())["raft_applied_index"])
            while int((c.info(full) or {}).get("raft_applied_index", 0)) < want:
                check(time.time() < freed + 10, "member %d applies index %d within 10 s of "
                      "the disk freed (%r)" % (full + 1, want, c.info(full)))
                time.sleep(0.05)
            marks["back"] = time.time() - freed

        history = run_clients(c, None, fault)
        said = open(log, errors="replace").read()
        check("applied the commands it had kept" in said, "member %d says it applied what it "
              "kept" % (full + 1))
        print("    member %d kept the commands its full engine could not apply, and applied "
              "them %.2f s after the disk was freed" % (full + 1, marks["back"]))
        ok, what = linearizable(history)
        check(ok, "not linearizable: %s" % what)
        caught_up(c, full)
        keys = sorted({e["key"] for e in history})
        check(readonly_get(c, full, keys) == readonly_get(c, c.leader(), keys),
              "member %d holds what the leader holds for %r" % (full + 1, keys))
    finally:
        logs_of(c)
        c.stop()


def a_full_raft_log_refuses_writes_not_the_group(kv, n=3):
    """a_full_disk_refuses_writes_not_the_group with only the member's
    Raft log (DIR/raft) on the small tmpfs: libraft's log, not the
    engine, is what runs out of room."""
    a_full_disk_refuses_writes_not_the_group(kv, n, under="raft")


def the_checker_catches_writes_acknowledged_before_commit(kv):
    """Members that answer a write as soon as it is proposed
    (KV_RAFT_PLANTED=ack-before-commit, member.h): a leader whose
    followers are down goes on acknowledging writes no one else holds,
    killed it loses them, and the history of its death says so."""
    c = Cluster(kv, planted="ack-before-commit")
    try:
        c.leader()
        history, lead, before, oks = history_across_a_leaders_death(c, seconds=8)
        ok, what = linearizable(history)
        check(not ok, "a leader that acknowledges before commit killed, and the history "
              "(%d operations) passed: the checker missed a planted mistake" % oks)
        print("    member %d killed: not linearizable, %s" % (lead + 1, what))
    finally:
        c.stop()


def the_checker_catches_follower_reads(kv):
    """Members whose followers answer reads from their own engines, as if
    every client had said READONLY (KV_RAFT_PLANTED=follower-reads): a
    follower is behind the leader by a round trip, and clients reading at
    any member see a write, then miss it (run_clients, 4 s, no fault)."""
    c = Cluster(kv, planted="follower-reads")
    try:
        c.leader()
        history = run_clients(c, 4)
        ok, what = linearizable(history)
        check(not ok, "followers answering reads from their engines, and the history (%d "
              "events) passed: the checker missed a planted mistake" % len(history))
        print("    not linearizable: %s" % what)
    finally:
        c.stop()


DEPOSED = {"proxied": True, "extra_of": {0: ["--raft-election-timeout", "8000"]}}


def the_checker_catches_a_deposed_leaders_reads(kv):
    """Members whose leader answers reads from its own engine at once,
    without a read index (KV_RAFT_PLANTED=leader-reads): a leader cut off
    from the others goes on answering while they elect a leader of their
    own and commit writes, and its reads miss them
    (deposed_leader_history; member 1's election timeout is 8 s, so that
    it keeps believing it leads for 8 s at least, longer than the others
    take to elect another)."""
    c = Cluster(kv, planted="leader-reads", **DEPOSED)
    try:
        history = deposed_leader_history(c)
        ok, what = linearizable(history)
        check(not ok, "a deposed leader answering reads at once, and the history of k "
              "(it read %r) passed: the checker missed a planted mistake" % (
                  history[-1]["value"],))
        print("    not linearizable: %s" % what)
    finally:
        c.stop()


def the_checker_catches_unconfirmed_reads(kv):
    """Members whose leader answers a read once a round of its read index
    has started after it, without waiting for the voters' answers
    (KV_RAFT_PLANTED=unconfirmed-reads): cut off, it answers what its
    engine holds (deposed_leader_history, as for leader-reads)."""
    c = Cluster(kv, planted="unconfirmed-reads", **DEPOSED)
    try:
        history = deposed_leader_history(c)
        ok, what = linearizable(history)
        check(not ok, "a leader answering reads before its round is confirmed, and the "
              "history of k (it read %r) passed: the checker missed a planted mistake" % (
                  history[-1]["value"],))
        print("    not linearizable: %s" % what)
    finally:
        c.stop()


# A deposed leader whose Raft links are cut but whose confirm links still
# reach the others (linkproxy.py: the hello's kind, in the clear without
# TLS): the others elect a leader of a later term, and answer the old
# one's rounds with it.
LATER_TERM = {"proxied": True, "insecure": True,
              "extra_of": {0: ["--raft-election-timeout", "8000"]}}


def later_term_history(c):
    return deposed_leader_history(c, kinds=(1,))


def the_checker_catches_a_later_terms_answer_counted(kv):
    """Members whose read rounds count an answer with a later term than
    the leader's (KV_RAFT_PLANTED=later-term-answers, read_round.h R2
    broken): the old leader, its Raft links cut but its confirm links
    not, is confirmed by the members that elected another, and reads
    what its engine holds (later_term_history).  Without the mistake the
    same schedule is linearizable, the read failed, and the old leader
    counted its round failed."""
    c = Cluster(kv, planted="later-term-answers", **LATER_TERM)
    try:
        history = later_term_history(c)
        ok, what = linearizable(history)
        check(not ok, "a leader whose round counts a later term, and the history of k (it "
              "read %r) passed: the checker missed a planted mistake" % (history[-1]["value"],))
        print("    planted: not linearizable: %s" % what)
    finally:
        c.stop()
    c = Cluster(kv, **LATER_TERM)
    try:
        history = later_term_history(c)
        ok, what = linearizable(history)
        check(ok, "without the mistake, the same schedule is linearizable (%s)" % what)
        check(history[-1]["type"] == "fail", "the old leader's read failed (%r)" % history[-1])
        failed = int((c.info(0) or {}).get("raft_read_rounds_failed", 0))
        check(failed >= 1, "member 1 counted a round failed by a later term (%d)" % failed)
        print("    without it: linearizable, the old leader's read failed, %d round(s) failed"
              % failed)
    finally:
        c.stop()


def the_checker_catches_a_command_applied_twice(kv):
    """Members that apply every index the library hands them, also those
    their engine holds already (KV_RAFT_PLANTED=applied-apart): restarted
    after a snapshot, they apply again a transaction whose condition was
    false, and now is true (transactions_after_a_snapshot)."""
    c = Cluster(kv, planted="applied-apart", extra=["--raft-snapshot-every", "16"])
    try:
        history = transactions_after_a_snapshot(c)
        ok, what = linearizable(history)
        check(not ok, "members applying their log again after a restart, and the history "
              "of d passed: the checker missed a planted mistake (d reads %r)" % (
                  history[-1]["value"],))
        print("    not linearizable: %s" % what)
    finally:
        c.stop()


def deposed_leader_history(c, old=0, kinds=None):
    """For three members or more whose links run through a LinkProxy,
    member `old` started with a long election timeout (it steps down only
    after one passes without hearing from a majority).  It is made the
    leader (CLUSTER FAILOVER TO) and a new key k is written "1" there;
    then it is cut off from all others (its connections of `kinds` only,
    linkproxy.py, if given); once they agree on a leader of their own, k
    is written "2" there, acknowledged; then k is read at the old leader,
    which still believes it leads (checked: Fail if it stepped down
    first).  A read behind a read index waits for a round of the voters
    that cannot be confirmed (no majority answers it; or, if the old
    leader's confirm links still reach them, they answer a later term),
    and fails; one answered from the engine reads "1", after "2" was
    acknowledged.  The history of k."""
    history, clock = [], time.monotonic_ns
    lead = c.leader()
    if lead != old:
        got = command(c.client_ports[lead], "CLUSTER", "FAILOVER", "TO", str(old + 1),
                      timeout=10)
        check(got == "+OK", "leadership moves to member %d (%r)" % (old + 1, got))
        check(c.leader() == old, "member %d leads" % (old + 1))
    k = "r.%d" % random.randrange(1 << 30)
    procs = iter(range(1, 100))

    def op(i, f, value=None):
        p = next(procs)
        history.append({"process": p, "type": "invoke", "f": f, "key": k, "value": value,
                        "time": clock()})
        r = redis.Redis(port=c.client_ports[i], socket_timeout=2)
        try:
            got = r.set(k, value) and value if f == "write" else r.get(k)
            kind = "ok"
        except redis.exceptions.ResponseError as err:
            kind = "fail" if f == "read" or "not applied" in str(err) else "info"
        except Exception:  # a timeout: a read changed nothing, a write may be applied
            kind = "fail" if f == "read" else "info"
        if kind == "ok" and f == "read":
            got = got.decode() if got is not None else None
        history.append({"process": p, "type": kind, "f": f, "key": k,
                        "value": got if kind == "ok" else value, "time": clock()})
        return kind == "ok"

    check(op(old, "write", "1"), "k written at member %d, the leader" % (old + 1))
    others = [i for i in range(c.n) if i != old]
    c.net.partition([old + 1], [i + 1 for i in others], kinds=kinds)
    try:
        fresh = c.leader(timeout=10, among=others)
        deadline = time.time() + 5
        while not op(fresh, "write", "2"):
            check(time.time() < deadline, "the new leader, member %d, takes a write within 5 s"
                  % (fresh + 1))
            time.sleep(0.1)
        still = (c.info(old) or {}).get("raft_state")
        op(old, "read")
        check(still == "leader", "member %d, cut off, still believed it led when read (it was "
              "%r): the schedule missed its window" % (old + 1, still))
    finally:
        c.net.heal()
    return history


# ---- membership (member_change.c): a member added, leadership moved, a
# member removed, and a member wiped and replaced under clients ----------

def change(c, *words, timeout=30):
    """A membership change asked of the leader (CLUSTER ...): its answer."""
    return command(c.client_ports[c.leader()], "CLUSTER", *words, timeout=timeout)


def move_leadership(c, to, among=None):
    """CLUSTER FAILOVER TO member `to`, asked again (three times at most)
    while libraft gives up on it: it does after an election timeout if
    the member has not caught up with the leader's log by then, which
    under a load of writers is not a fault of the group.  The last
    answer."""
    for _ in range(3):
        got = change(c, "FAILOVER", "TO", str(to + 1))
        if got == "+OK" or c.leader(among=among) == to:
            return "+OK"
    return got


def readonly_get(c, i, keys):
    """The values of keys at member i, read from its own engine (READONLY)."""
    r = redis.Redis(port=c.client_ports[i], socket_timeout=2)
    r.execute_command("READONLY")
    return [v.decode() if v is not None else None for v in r.mget(keys)]


def caught_up(c, i, timeout=15):
    """Waits until member i has applied what the leader has."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        lead = c.leader()
        want = int(c.info(lead)["raft_applied_index"])
        got = int((c.info(i) or {}).get("raft_applied_index", 0))
        if got >= want:
            return
        time.sleep(0.05)
    raise Fail("member %d did not catch up with the leader within %d s" % (i + 1, timeout))


def members_of(c, i):
    """CLUSTER INFO's raft_members at member i: {id: role}."""
    text = (c.info(i) or {}).get("raft_members", "")
    return {int(k): v for k, v in (w.split("=") for w in text.split(",") if "=" in w)}


def slot_ports(c, i):
    """The client ports CLUSTER SLOTS at member i names, leader first."""
    r = redis.Redis(port=c.client_ports[i], socket_timeout=2)
    return [node[1] for node in r.execute_command("CLUSTER SLOTS")[0][2:]]


def a_member_added_receives_all_data_and_serves_readonly_reads(c):
    """A fourth member, started empty with --raft-join, added with `kv
    HOST:PORT member add` asked of a follower (the tool follows its MOVED
    to the leader): it receives every key written before, serves them to
    READONLY reads, and every member's CLUSTER SLOTS names it."""
    rc = retrying(c.client)
    keys = ["add.%03d" % k for k in range(100)]
    for k in keys:
        retrying(lambda: rc.set(k, "v-" + k))
    new = c.add_member()
    follower = [i for i in range(c.n - 1) if i != c.leader()][0]
    began = time.time()
    out = subprocess.run([c.kv, c.client_addr(follower), "member", "add", str(new + 1),
                          c.raft_addr(new), c.client_addr(new)], capture_output=True,
                         text=True, timeout=60)
    check(out.returncode == 0 and out.stdout.strip() == "OK",
          "kv member add answers OK once member %d is a voter (exit %d, %r %r)" % (
              new + 1, out.returncode, out.stdout, out.stderr))
    c.outside.discard(new)
    print("    member %d added, a voter, %.2f s after kv member add" % (new + 1,
                                                                       time.time() - began))
    check(members_of(c, c.leader()).get(new + 1) == "voter",
          "CLUSTER INFO's raft_members counts member %d a voter (%r)" % (
              new + 1, members_of(c, c.leader())))
    caught_up(c, new)
    got = readonly_get(c, new, keys)
    check(got == ["v-" + k for k in keys], "member %d holds the %d keys written before it "
          "joined (%d missing or different)" % (
              new + 1, len(keys), sum(1 for k, v in zip(keys, got) if v != "v-" + k)))
    for i in range(c.n):
        check(c.client_ports[new] in slot_ports(c, i),
              "member %d's CLUSTER SLOTS names member %d" % (i + 1, new + 1))
    again = change(c, "ADDMEMBER", str(new + 1), c.raft_addr(new), c.client_addr(new))
    check(again.startswith("-ERR member %d is already" % (new + 1)),
          "adding it again is refused, naming it (%r)" % again)


def leadership_moves_to_a_named_member(c):
    """CLUSTER FAILOVER TO ID at the leader answers +OK once ID leads;
    asked of a follower, it is redirected (MOVED); writes go on."""
    lead = c.leader()
    to = c.n - 1 if lead != c.n - 1 else 0
    follower = [i for i in range(c.n) if i not in (lead, to)][0]
    moved = command(c.client_ports[follower], "CLUSTER", "FAILOVER", "TO", str(to + 1))
    check(moved.startswith("-MOVED 0 127.0.0.1:%d" % c.client_ports[lead]),
          "a follower redirects the change to the leader (%r)" % moved)
    got = command(c.client_ports[lead], "CLUSTER", "FAILOVER", "TO", str(to + 1), timeout=10)
    check(got == "+OK", "the transfer to member %d answers +OK (%r)" % (to + 1, got))
    check(c.leader() == to, "member %d leads" % (to + 1))
    rc = retrying(c.client)
    retrying(lambda: rc.set("after-transfer", "1"))
    check(rc.get("after-transfer") == b"1", "a write after the transfer reads back")
    bad = command(c.client_ports[to], "CLUSTER", "FAILOVER", "TO", str(to + 1))
    check(bad.startswith("-ERR member %d is not a voter" % (to + 1)),
          "a transfer to the leader itself is refused (%r)" % bad)


def a_member_removed_leaves_the_rest_writing(c):
    """CLUSTER REMOVEMEMBER of a follower: +OK once committed; it leaves
    CLUSTER INFO and CLUSTER SLOTS; the others go on taking writes (the
    removed one, stopped, counts for nothing)."""
    lead = c.leader()
    gone = [i for i in range(c.n) if i != lead and c.procs[i] is not None][0]
    got = change(c, "REMOVEMEMBER", str(gone + 1))
    check(got == "+OK", "removing member %d answers +OK (%r)" % (gone + 1, got))
    c.kill(gone)
    c.outside.add(gone)
    check(gone + 1 not in members_of(c, c.leader()),
          "member %d has left the configuration (%r)" % (gone + 1, members_of(c, c.leader())))
    check(c.client_ports[gone] not in slot_ports(c, c.leader()),
          "CLUSTER SLOTS no longer names member %d" % (gone + 1))
    rc = retrying(c.client)
    for k in range(50):
        retrying(lambda: rc.set("after-remove.%d" % k, str(k)))
    check(rc.get("after-remove.49") == b"49", "writes go on without it")
    self_rm = change(c, "REMOVEMEMBER", str(c.leader() + 1))
    check(self_rm.startswith("-ERR member %d leads" % (c.leader() + 1)),
          "the leader's removal of itself is refused, saying to transfer first (%r)" % self_rm)


def a_member_wiped_and_replaced_loses_no_acknowledged_write(c):
    """Under the ten clients of run_clients: a follower killed with
    SIGKILL and its directory deleted, removed from the configuration, and
    a fresh member (a new id, an empty directory) added in its place.  The
    history must be linearizable (no acknowledged write lost), and the new
    member, caught up, must hold what the leader holds."""
    marks = {}

    def fault(c, ctl):
        time.sleep(1.5)
        lead = c.leader()
        wiped = [i for i in range(c.n) if i != lead and c.procs[i] is not None][0]
        c.kill(wiped)
        shutil.rmtree(os.path.join(c.root, "m%d" % (wiped + 1)))
        marks["removed"] = change(c, "REMOVEMEMBER", str(wiped + 1))
        c.outside.add(wiped)
        new = c.add_member()
        began = time.time()
        marks["added"] = change(c, "ADDMEMBER", str(new + 1), c.raft_addr(new),
                                c.client_addr(new), timeout=60)
        marks["took"] = time.time() - began
        c.outside.discard(new)
        marks["wiped"], marks["new"] = wiped, new

    history = run_clients(c, 8, fault)
    check(marks.get("removed") == "+OK" and marks.get("added") == "+OK",
          "the wiped member removed and its replacement added (%r, %r)" % (
              marks.get("removed"), marks.get("added")))
    oks = sum(1 for e in history if e["type"] == "ok")
    print("    member %d wiped, member %d added in %.2f s; %d operations completed" % (
        marks["wiped"] + 1, marks["new"] + 1, marks["took"], oks))
    ok, what = linearizable(history)
    check(ok, "not linearizable: %s" % what)
    caught_up(c, marks["new"])
    keys = sorted({e["key"] for e in history})
    lead = c.leader()
    check(readonly_get(c, marks["new"], keys) == readonly_get(c, lead, keys),
          "the new member holds what the leader holds for %r" % keys)


def a_member_wiped_and_restarted_as_before_loses_nothing(c, which="follower"):
    """Under the ten clients of run_clients: a member (a follower, or the
    leader) killed with SIGKILL, its directory deleted, and started again
    with its original command line (--raft-bootstrap among it).  It must
    refuse to start, saying its state was lost and what to do (with TLS:
    from the record its credentials keep; without: because the others
    hold a history), and the group goes on without it.  Then what the
    refusal says is done: removed at the leader, its record deleted,
    started with --raft-join, added back.  The history must be
    linearizable (no acknowledged write lost), and the member, caught up,
    must hold what the leader holds."""
    marks = {}

    def fault(c, ctl):
        time.sleep(1.5)
        lead = c.leader()
        w = lead if which == "leader" else [i for i in range(c.n) if i != lead][0]
        c.kill(w)
        shutil.rmtree(os.path.join(c.root, "m%d" % (w + 1)))
        began = time.time()
        c.start(w)  # as before
        try:
            status = c.procs[w].wait(timeout=30)
        except subprocess.TimeoutExpired:
            status = None
        c.procs[w] = None
        marks["status"], marks["refused"] = status, time.time() - began
        log = open(os.path.join(c.root, "member%d.log" % (w + 1)), errors="replace").read()
        marks["said"] = [line for line in log.splitlines() if "refusing" in line]
        c.leader(timeout=10, among=[i for i in range(c.n) if i != w])
        marks["removed"] = change(c, "REMOVEMEMBER", str(w + 1))
        marker = os.path.join(c.certs, "member-%d.started" % (w + 1))
        if os.path.exists(marker):
            os.unlink(marker)
        c.joined.add(w)
        c.outside.add(w)
        shutil.rmtree(os.path.join(c.root, "m%d" % (w + 1)), ignore_errors=True)
        c.start(w)
        marks["added"] = change(c, "ADDMEMBER", str(w + 1), c.raft_addr(w), c.client_addr(w),
                                timeout=60)
        c.outside.discard(w)
        marks["w"] = w

    history = run_clients(c, 10, fault)
    w = marks["w"]
    print("    member %d (the %s) wiped and started as before: exited %s after %.2f s: %s" % (
        w + 1, which, marks["status"], marks["refused"],
        (marks["said"][0][:150] + "...") if marks["said"] else "(nothing said)"))
    check(marks["status"] == 2 and marks["said"] and "member remove" in marks["said"][0] and
          "--raft-join" in marks["said"][0], "member %d, wiped, refuses to start again as "
          "before and says what to do (status %s, %r)" % (w + 1, marks["status"],
                                                          marks["said"]))
    check(marks.get("removed") == "+OK" and marks.get("added") == "+OK",
          "then removed and added back (%r, %r)" % (marks.get("removed"), marks.get("added")))
    ok, what = linearizable(history)
    check(ok, "not linearizable: %s" % what)
    caught_up(c, w)
    keys = sorted({e["key"] for e in history})
    lead = c.leader()
    check(readonly_get(c, w, keys) == readonly_get(c, lead, keys),
          "member %d, added back, holds what the leader holds for %r" % (w + 1, keys))


def wiped_as_before(kv, which, n=3, insecure=False):
    """a_member_wiped_and_restarted_as_before_loses_nothing on a group of
    its own."""
    c = Cluster(kv, n=n, insecure=insecure)
    try:
        c.leader()
        a_member_wiped_and_restarted_as_before_loses_nothing(c, which)
    finally:
        logs_of(c)
        c.stop()


def a_wiped_follower_restarted_as_before_loses_nothing(kv):
    """A follower wiped and started with its original command line (the
    group's credentials remember it ran: wiped_as_before)."""
    wiped_as_before(kv, "follower")


def a_wiped_leader_restarted_as_before_loses_nothing_without_tls(kv):
    """The leader wiped and started with its original command line, in a
    group without credentials (--raft-insecure): the other members, asked,
    say they hold a history (wiped_as_before)."""
    wiped_as_before(kv, "leader", insecure=True)


def new_leader_after_a_kill(c):
    """Seconds from the leader's SIGKILL to a leader the others agree on;
    the killed member restarted after."""
    lead = c.leader()
    time.sleep(0.5)
    killed = time.time()
    c.kill(lead)
    c.leader(timeout=20, among=[i for i in range(c.n) if i != lead])
    took = time.time() - killed
    c.start(lead)
    return took


def kv_cluster_starts_a_group_and_stops_it(kv):
    """`kv DIR cluster --members 3 --port P` (group_cluster.c) starts three
    members, says which leads once one does, and they take writes through
    redis-py's RedisCluster; SIGINT stops all of them and the command,
    with status 0."""
    root = tempfile.mkdtemp(prefix="kv-cluster-cmd-")
    port = free_run(3)
    raft_port = free_run(3, avoid=range(port, port + 3))
    proc = subprocess.Popen([kv, os.path.join(root, "g"), "cluster", "--members", "3",
                             "--port", str(port), "--raft-port", str(raft_port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        line = proc.stdout.readline().decode()
        check("leads" in line, "kv cluster says which member leads (it said %r)" % line)
        nodes = [ClusterNode("127.0.0.1", port + i) for i in range(3)]
        rc = RedisCluster(startup_nodes=nodes, cluster_error_retry_attempts=10, socket_timeout=2)
        retrying(lambda: rc.set("through", "the group"))
        check(rc.get("through") == b"the group", "a write through the group reads back")
        proc.send_signal(signal.SIGINT)
        status = proc.wait(timeout=30)
        check(status == 0, "after SIGINT kv cluster exits with 0 (got %d)" % status)
        left = subprocess.run(["pgrep", "-f", os.path.join(root, "g", "m")],
                              stdout=subprocess.PIPE).stdout.decode().split()
        check(not left, "no member is left running (%s)" % " ".join(left))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        subprocess.run(["pkill", "-9", "-f", os.path.join(root, "g", "m")])
        shutil.rmtree(root, ignore_errors=True)


# ---- what a rude client, or a user's typo, is told (member_change.c,
# member_cluster.c, serve_handoff.c, group_member_cli.c, group_cluster.c) --

def slot_of(key):
    """Redis Cluster's slot of key: CRC16 (XMODEM) of its hash tag, the
    bytes between its first '{' and the first '}' after it if there are
    any, else of the whole key, modulo 16384."""
    import binascii
    k = key.encode()
    o = k.find(b"{")
    if o >= 0:
        e = k.find(b"}", o + 1)
        if e > o + 1:
            k = k[o + 1:e]
    return binascii.crc_hqx(k, 0) % 16384


def expect(reply, want, what):
    check(reply == want, "%s: got %r, want %r" % (what, reply, want))


def kv_run(kv, *args, timeout=20, env=None):
    return subprocess.run([kv] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def refused_changes_and_commands_say_why(kv):
    """On a group of its own, which every member leaves by SIGTERM (so a
    coverage build keeps their counts): CLUSTER ADDMEMBER, REMOVEMEMBER
    and FAILOVER TO with wrong argument counts, ids that are not numbers
    from 1, addresses that are not HOST:PORT or too long, an id or a Raft
    address already a member's, an unknown id, the leader itself; asked
    at a follower (MOVED, before any argument is looked at); a second
    change while one is under way; a member that never answers added (a
    spare, not made a voter: the error says so, ADDMEMBER again tries
    again, REMOVEMEMBER takes it away); a change whose client left still
    ends and frees the next; other CLUSTER subcommands, unknown or with
    extra arguments; MYID and SHARDS; hash tags in MOVED's slot; MULTI's
    queue refused whole; and `kv HOST:PORT member` with bad arguments,
    an address that is not HOST:PORT, nothing listening, a peer that
    closes, and a follower's MOVED followed to the leader's answer."""
    c = Cluster(kv)
    try:
        lead = c.leader()
        L, lid = c.client_ports[lead], lead + 1
        f = [i for i in range(c.n) if i != lead][0]
        F = c.client_ports[f]

        def ask(*words, port=L, timeout=5):
            return command(port, "CLUSTER", *words, timeout=timeout)

        nobody_raft, nobody_client = ["127.0.0.1:%d" % p for p in free_ports(2)]
        usage = "-ERR CLUSTER ADDMEMBER ID RAFT-HOST:PORT CLIENT-HOST:PORT"
        for words in (["ADDMEMBER"], ["ADDMEMBER", "9", nobody_raft],
                      ["addmember", "9", nobody_raft, nobody_client, "extra"]):
            expect(ask(*words), usage, "CLUSTER %s" % " ".join(words))
        for bad in ("0", "abc", "-1", "7x", "", "99999999999999999999", "1" * 30):
            expect(ask("ADDMEMBER", bad, nobody_raft, nobody_client),
                   "-ERR a member's id is a number from 1 (got argument 2)", "id %r" % bad)
        for which, arg in (("Raft", 3), ("client", 4)):
            for bad in ("nohost", "host:", ":6379", "host:123456", "host:12a", "ho st:1",
                        "h" * 62 + ":1", "h" * 300 + ":1"):
                words = ["ADDMEMBER", "9", nobody_raft, nobody_client]
                words[arg - 1] = bad
                expect(ask(*words), "-ERR the %s address is HOST:PORT, at most 63 bytes" % which,
                       "the %s address %r" % (which, bad[:20]))
        other = (lead + 1) % c.n
        expect(ask("ADDMEMBER", str(lid), nobody_raft, nobody_client),
               "-ERR member %d is already in the configuration (a voter at %s)" % (
                   lid, c.raft_addr(lead)), "adding a voter's id again")
        expect(ask("ADDMEMBER", "9", c.raft_addr(other), nobody_client),
               "-ERR the Raft address %s is member %d's" % (c.raft_addr(other), other + 1),
               "a new id at a member's Raft address")
        for words in (["REMOVEMEMBER"], ["REMOVEMEMBER", "2", "3"]):
            expect(ask(*words), "-ERR CLUSTER REMOVEMEMBER ID", "CLUSTER %s" % " ".join(words))
        expect(ask("REMOVEMEMBER", "two"),
               "-ERR a member's id is a number from 1 (got argument 2)", "REMOVEMEMBER two")
        expect(ask("REMOVEMEMBER", "42"), "-ERR member 42 is not in the configuration",
               "removing an unknown id")
        expect(ask("REMOVEMEMBER", str(lid)),
               "-ERR member %d leads: CLUSTER FAILOVER TO another member first, then remove it "
               "there" % lid, "removing the leader")
        usage = ("-ERR CLUSTER FAILOVER TO ID (a member's leadership moved to another; "
                 "Redis's own FAILOVER options are not taken)")
        for words in (["FAILOVER"], ["FAILOVER", "FORCE"], ["FAILOVER", "TO"],
                      ["FAILOVER", "FROM", "2"], ["FAILOVER", "TO", "2", "3"]):
            expect(ask(*words), usage, "CLUSTER %s" % " ".join(words))
        expect(ask("FAILOVER", "TO", "x"),
               "-ERR a member's id is a number from 1 (got argument 3)", "FAILOVER TO x")
        for to in (42, lid):
            expect(ask("FAILOVER", "TO", str(to)), "-ERR member %d is not a voter of the "
                   "configuration other than the leader" % to, "FAILOVER TO %d" % to)
        moved = "-MOVED 0 127.0.0.1:%d" % L
        for words in (["REMOVEMEMBER", str(lid)], ["ADDMEMBER"], ["FAILOVER", "TO", "x"]):
            expect(ask(*words, port=F), moved, "CLUSTER %s at a follower" % " ".join(words))
        check(c.leader() == lead and sorted(members_of(c, lead).items()) == [
            (i + 1, "voter") for i in range(c.n)], "the refused changes changed nothing (%r)" %
              members_of(c, lead))

        # A member that never answers, added with `kv HOST:PORT member add`
        # at a follower (the tool follows MOVED): it is added as a spare,
        # never made a voter (libraft gives up its catch-up).
        began = time.time()
        tool = subprocess.Popen([kv, c.client_addr(f), "member", "add", "9", nobody_raft,
                                 nobody_client], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline, busy = time.time() + 5, None
        while time.time() < deadline:
            busy = ask("REMOVEMEMBER", "42")  # (refused anyway: no change if it wins)
            if busy.startswith("-ERR a membership change is under way"):
                break
            time.sleep(0.05)
        check(re.fullmatch(r"-ERR a membership change is under way \(asked by client \d+\): "
                           r"one at a time", busy or ""), "a second change while the first is "
              "under way is refused (%r)" % busy)
        _, err = tool.communicate(timeout=60)
        check(tool.returncode == 1 and err.startswith(
            "kv member: ERR member 9 is in the configuration as a spare, but was not made a "
            "voter (") and err.endswith("): CLUSTER ADDMEMBER again, or CLUSTER REMOVEMEMBER\n"),
            "adding a member that never answers fails, saying what to do, exit 1 (exit %d, %r)"
            % (tool.returncode, err))
        print("    a member that never answers: refused after %.1f s" % (time.time() - began))
        check(members_of(c, lead).get(9) == "spare", "member 9 is left a spare (%r)" %
              members_of(c, lead))
        check(int(nobody_client.split(":")[1]) not in slot_ports(c, lead),
              "CLUSTER SLOTS names no spare")
        expect(ask("FAILOVER", "TO", "9"), "-ERR member 9 is not a voter of the configuration "
               "other than the leader", "FAILOVER TO a spare")
        elsewhere = "127.0.0.1:%d" % free_ports(1)[0]
        expect(ask("ADDMEMBER", "9", elsewhere, nobody_client),
               "-ERR member 9 is already in the configuration (a non-voter at %s)" % nobody_raft,
               "the spare's id at another Raft address")
        # REMOVEMEMBER of the spare by a client that leaves before the answer.
        s = socket.create_connection(("127.0.0.1", L), timeout=5)
        s.sendall(b"*3\r\n$7\r\nCLUSTER\r\n$12\r\nREMOVEMEMBER\r\n$1\r\n9\r\n")
        s.close()
        deadline, got = time.time() + 10, None
        while time.time() < deadline:
            got = ask("REMOVEMEMBER", "9")
            if got == "-ERR member 9 is not in the configuration":
                break
            time.sleep(0.1)
        expect(got, "-ERR member 9 is not in the configuration",
               "the removal asked by a client that left ends, and the next change is taken")
        check(9 not in members_of(c, lead), "member 9 is gone (%r)" % members_of(c, lead))

        # Other CLUSTER subcommands.
        for words in (["NODES", "x"], ["SLOTS", "x"], ["INFO", "x"], ["MYID", "x"],
                      ["SHARDS", "x"], ["KEYSLOT"], ["KEYSLOT", "a", "b"], ["RESET"]):
            expect(ask(*words), "-ERR unknown subcommand or wrong number of arguments for "
                   "'CLUSTER' (this member knows SLOTS, SHARDS, NODES, INFO, MYID, KEYSLOT, "
                   "RELOADCERTS, ADDMEMBER, REMOVEMEMBER, FAILOVER TO)",
                   "CLUSTER %s" % " ".join(words))
        r = redis.Redis(port=F, socket_timeout=2)
        check(r.execute_command("CLUSTER MYID") == b"%040x" % (f + 1),
              "CLUSTER MYID is the member's id in 40 hex digits")
        check(r.execute_command("READWRITE") in (b"OK", True), "READWRITE answers OK")
        shards = r.execute_command("CLUSTER SHARDS")
        check(len(shards) == 1 and shards[0][0] == b"slots" and shards[0][1] == [0, 16383],
              "CLUSTER SHARDS: one shard of every slot (%r)" % shards)
        nodes = [dict(zip(n[::2], n[1::2])) for n in shards[0][3]]
        check([(n[b"port"], n[b"role"]) for n in nodes] ==
              [(L, b"master")] + [(c.client_ports[i], b"replica") for i in range(c.n)
                                  if i != lead], "CLUSTER SHARDS's nodes: the leader the "
              "master, the others replicas (%r)" % nodes)
        check(nodes[0][b"id"] == b"%040x" % lid and nodes[0][b"ip"] == b"127.0.0.1",
              "the leader's node names its id and address (%r)" % nodes[0])

        # Hash tags: MOVED names Redis Cluster's slot of the key's tag.
        for key in ("{user1000}.following", "{user1000}.followers", "foo{}{bar}",
                    "foo{{bar}}zap", "foo{bar}{zap}", "{abc", "abc}{", "{}", "x{y}"):
            expect(command(F, "SET", key, "v"), "-MOVED %d 127.0.0.1:%d" % (slot_of(key), L),
                   "SET %r at a follower" % key)
        check(slot_of("{user1000}.following") == slot_of("user1000") != slot_of("{abc"),
              "the slot arithmetic of this test (tags) is Redis's")

        # MULTI's queue: a read that looks past the keys it names (RANGE)
        # cannot be read ops of the command, and is refused as it is
        # queued (EXEC then answers EXECABORT); a SET with an option it
        # refuses answers its error inside the EXEC, and the rest applies.
        rl = redis.Redis(port=L, socket_timeout=5)
        p = rl.pipeline(transaction=True)
        p.execute_command("MSET", "q:a", "1")
        p.execute_command("RANGE", "q:a", "q:z", "10")
        try:
            p.execute()
            check(False, "EXEC of MSET, RANGE is aborted")
        except redis.exceptions.ResponseError as err:
            check("'range' inside MULTI" in str(err) and "past the keys it names" in str(err),
                  "the queued RANGE is refused naming itself (%s)" % err)
        check(rl.mget("q:a", "q:n") == [None, None], "an EXEC aborted applied nothing")
        p = rl.pipeline(transaction=True)
        p.execute_command("SET", "q:a", "1")
        p.execute_command("SET", "q:b", "2", "EX", "100")
        got = p.execute(raise_on_error=False)
        check(got[0] is True and isinstance(got[1], redis.exceptions.ResponseError) and
              "expiries" in str(got[1]), "EXEC of SET, SET EX: OK, then SET EX's error (%r)" %
              (got,))
        check(rl.mget("q:a", "q:b") == [b"1", None], "the first SET applied, the second not")
        rl.delete("q:a")
        p = rl.pipeline(transaction=True)
        p.mset({"q:a": "1", "q:b": "2", "q:c": "3"}).delete("q:a", "q:b", "q:x").delete("q:x")
        got = p.execute()
        check(got == [True, 2, 0], "EXEC of MSET, DEL of three (two exist), DEL of none "
              "answers [OK, 2, 0] (got %r)" % got)

        # kv HOST:PORT member: the tool's own errors, then the leader's answers.
        usage = "usage: kv HOST:PORT member add ID RAFT-HOST:PORT CLIENT-HOST:PORT\n"
        for args in ([], ["add", "9"], ["remove"], ["remove", "2", "3"], ["transfer"],
                     ["drop", "2"]):
            out = kv_run(kv, c.client_addr(lead), "member", *args)
            check(out.returncode == 2 and out.stderr.startswith(usage),
                  "kv member %s: usage, exit 2 (exit %d, %r)" % (" ".join(args), out.returncode,
                                                                  out.stderr))
        for addr in ("nocolon", ":%d" % L):
            out = kv_run(kv, addr, "member", "remove", "2")
            expect((out.returncode, out.stderr), (2, "kv member: '%s' is not HOST:PORT (a "
                   "member's client address)\n" % addr), "kv %s member" % addr)
        out = kv_run(kv, "127.0.0.1:noport", "member", "remove", "2")
        check(out.returncode == 2 and out.stderr.startswith("kv member: 127.0.0.1:noport: "),
              "a port that is no number: getaddrinfo's error (exit %d, %r)" % (
                  out.returncode, out.stderr))
        nobody = "127.0.0.1:%d" % free_ports(1)[0]
        out = kv_run(kv, nobody, "member", "remove", "2")
        expect((out.returncode, out.stderr), (2, "kv member: cannot connect to %s\n" % nobody),
               "kv member at an address nothing listens on")
        def fake_member(reply):
            """`kv ADDR member remove 2` at a listener that reads the request,
            answers reply and hangs up: the tool's exit status and stderr."""
            lst = socket.socket()
            lst.bind(("127.0.0.1", 0))
            lst.listen(1)
            addr = "127.0.0.1:%d" % lst.getsockname()[1]

            def serve():
                conn, _ = lst.accept()
                conn.recv(4096)
                conn.sendall(reply)
                conn.close()
            t = threading.Thread(target=serve)
            t.start()
            out = kv_run(kv, addr, "member", "remove", "2")
            t.join()
            lst.close()
            return addr, out.returncode, out.stderr
        addr, status, err = fake_member(b"+O")
        expect((status, err), (2, "kv member: %s closed without a whole answer\n" % addr),
               "kv member at a peer that hangs up mid-answer")
        _, status, err = fake_member(b"-MOVED 0 %s\r\n" % nobody.encode())
        expect((status, err), (2, "kv member: cannot connect to %s\n" % nobody),
               "kv member redirected to a leader nothing listens at")
        out = kv_run(kv, c.client_addr(f), "member", "remove", "42")
        expect((out.returncode, out.stderr), (1, "kv member: ERR member 42 is not in the "
               "configuration\n"), "kv member remove 42 at a follower: the leader's answer")
        out = kv_run(kv, c.client_addr(lead), "member", "transfer", lid)
        expect((out.returncode, out.stderr), (1, "kv member: ERR member %d is not a voter of "
               "the configuration other than the leader\n" % lid), "kv member transfer to "
               "the leader")
    finally:
        logs_of(c)
        c.stop()


def kv_cluster_and_a_members_options_refuse_what_is_wrong(kv):
    """`kv DIR cluster --help` (its usage, nothing started); with an
    option's value out of range, ports past
    65535, a DIR it cannot make, and an option every member's kv serve
    refuses (the member exits: said, exit 2); a member that exits once
    the group runs (the others stopped, exit 1).  `kv DIR serve` as a
    member with --raft-peers malformed (a peer without its client port,
    or a host name for an IPv4 address, among them), too long, with too
    many peers, an id twice, or without its own id; without credentials
    or --raft-insecure, with both, with --raft-insecure off loopback,
    with --raft-join and --raft-bootstrap, --raft-log-block out of range
    or not a power of two, an empty directory with
    neither; KV_RAFT_PLANTED naming no planted mistake; an engine it
    cannot open: each exits 2 saying what is wrong."""
    root = tempfile.mkdtemp(prefix="kv-cluster-bad-")
    try:
        d = os.path.join(root, "g")
        for args, why in (
                (["--members", "0"], "--members takes a number from 1 to 9 (got '0')"),
                (["--members", "10"], "--members takes a number from 1 to 9 (got '10')"),
                (["--port", "http"], "--port takes a number from 1 to 65535 (got 'http')"),
                (["--port", "6391", "--raft-port", "0"],
                 "--raft-port takes a number from 1 to 65535 (got '0')"),
                (["--members"], "--members takes a number from 1 to 9 (got nothing)"),
                (["--port", "65534", "--members", "3"], "ports past 65535"),
                (["--port", "6391", "--raft-port", "65535", "--members", "2"],
                 "ports past 65535")):
            out = kv_run(kv, d, "cluster", *args)
            expect((out.returncode, out.stderr), (2, "kv cluster: %s\n" % why),
                   "kv DIR cluster %s" % " ".join(args))
        check(not os.path.exists(d), "a refused kv cluster made no directory")
        out = kv_run(kv, d, "cluster", "--members", "3", "--help")
        check(out.returncode == 0 and out.stdout.startswith("usage: kv DIR cluster")
              and out.stderr == "" and not os.path.exists(d),
              "kv DIR cluster --help prints its usage and starts nothing (%r)" % (out,))
        afile = os.path.join(root, "file")
        open(afile, "w").close()
        out = kv_run(kv, os.path.join(afile, "g"), "cluster", "--members", "1")
        expect((out.returncode, out.stderr), (2, "kv cluster: %s/g: Not a directory\n" % afile),
               "kv cluster under a file")
        port = free_run(2)
        out = kv_run(kv, d, "cluster", "--members", "1", "--port", port, "--raft-port", port + 1,
                     "--no-such-option", "1")
        expect((out.returncode, out.stderr), (2, "kv cluster: member 1 exited; its output is "
               "in %s/m1.log\n" % d), "kv cluster with an option kv serve refuses")
        log = open(os.path.join(d, "m1.log")).read()
        check("bad option '--no-such-option'" in log, "the member's log says why (%r)" % log)
        proc = subprocess.Popen([kv, os.path.join(root, "one"), "cluster", "--members", "1",
                                 "--port", str(port), "--raft-port", str(port + 1)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            check("member 1 leads" in line, "a group of one leads at once (%r)" % line)
            with open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)) as ch:
                member = int(ch.read().split()[0])
            os.kill(member, signal.SIGTERM)  # the member ends, not the command
            status = proc.wait(timeout=30)
            err = proc.stderr.read()
            expect((status, err), (1, "kv cluster: member 1 exited; stopping the others (its "
                   "output is in %s/one/m1.log)\n" % root), "a member that exits while the "
                   "group runs")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        m = os.path.join(root, "m")
        form = ("is not ID@HOST:PORT/CLIENTPORT (an id from 1, an IPv4 address, the Raft port, "
                "then the client port: 1@10.0.0.1:7101/6391)")
        for peers, why in (
                ("1@127.0.0.1", "'1@127.0.0.1' " + form),
                ("x@h:1", "'x@h:1' " + form),
                ("0@127.0.0.1:1/2", "'0@127.0.0.1:1/2' " + form),
                ("1@:5/6", "'1@:5/6' " + form),
                ("1@127.0.0.1:7101", "'1@127.0.0.1:7101' " + form),  # no client port
                ("1@localhost:7101/6391", "'1@localhost:7101/6391' " + form),
                ("1@127.0.0.1:70000/6391", "'1@127.0.0.1:70000/6391' " + form),
                ("1@" + "h" * 200 + ":1/2", "at most 9 peers, each ID@HOST:PORT/CLIENTPORT"),
                (",".join("%d@127.0.0.1:%d/%d" % (i, i, i + 100) for i in range(1, 11)),
                 "at most 9 peers, each ID@HOST:PORT/CLIENTPORT"),
                ("1@127.0.0.1:1/2,2@127.0.0.1:2/3,1@127.0.0.1:3/4", "an id twice"),
                ("2@127.0.0.1:1/2,3@127.0.0.1:2/3", "names no member 1 (--raft-id)")):
            out = kv_run(kv, m, "serve", "--port", port, "--raft-id", 1, "--raft-peers", peers)
            what = "kv serve: raft member 1: --raft-peers%s %s\n" % (
                ":" if "names" not in why else "", why)
            expect((out.returncode, out.stderr.splitlines()[0] + "\n" if out.stderr else ""),
                   (2, what), "--raft-peers %s" % peers[:30])
        peers = "1@127.0.0.1:%d/%d" % (port + 1, port)
        far = "1@10.1.2.3:%d/%d" % (port + 1, port)
        for args, why in (
                ([], "the Raft port needs the group's credentials: --raft-tls DIR (`kv DIR "
                     "certs --members 3` makes them), or --raft-insecure for a group whose Raft "
                     "addresses are all on 127.0.0.0/8 (docs/10-raft-security.md, \"Who may talk to a "
                     "member\")"),
                (["--raft-tls", root, "--raft-insecure"],
                 "--raft-tls and --raft-insecure exclude each other"),
                (["--raft-insecure", "--raft-join", "--raft-bootstrap"],
                 "--raft-join (wait to be added) and --raft-bootstrap (start the group) exclude "
                 "each other"),
                (["--raft-insecure", "--raft-bind", "0.0.0.0:%d" % (port + 1)],
                 "--raft-insecure: --raft-bind 0.0.0.0:%d is not on 127.0.0.0/8; a Raft port "
                 "reachable from elsewhere needs --raft-tls" % (port + 1))):
            out = kv_run(kv, m, "serve", "--port", port, "--raft-id", 1, "--raft-peers", peers,
                         *args)
            expect((out.returncode, out.stderr.splitlines()[0] + "\n" if out.stderr else ""),
                   (2, "kv serve: raft member 1: %s\n" % why), "kv serve %s" % " ".join(args))
        for args, why in (
                (["--raft-max-entry", "12"],
                 "--raft-max-entry takes a number from 4096 to 4294967296"),
                (["--raft-max-message", "8k", "--raft-max-entry", "16k", "--raft-insecure"],
                 "--raft-max-message 8192 is below --raft-max-entry 16384"),
                (["--raft-disk-reserve", "lots"],
                 "--raft-disk-reserve takes a number from 0 to 1099511627776"),
                (["--raft-log-block", "2k"],
                 "--raft-log-block takes a number from 4096 to 1048576"),
                (["--raft-log-block", "12k", "--raft-insecure"],
                 "--raft-log-block 12288 is not a power of two"),
                (["--raft-tls"], "--raft-tls needs a value"),
                (["--stdio", "--raft-insecure"], "--raft-id and --raft-peers come together, "
                 "and not with --stdio; the other --raft- options need them")):
            out = kv_run(kv, m, "serve", "--port", port, "--raft-id", 1, "--raft-peers", peers,
                         *args)
            expect((out.returncode, out.stderr.splitlines()[0] + "\n" if out.stderr else ""),
                   (2, "kv serve: raft member 1: %s\n" % why), "kv serve %s" % " ".join(args))
        out = kv_run(kv, m, "serve", "--port", port, "--raft-bind", "127.0.0.1:1")
        expect((out.returncode, out.stderr.splitlines()[0] + "\n" if out.stderr else ""),
               (2, "kv serve: raft member 0: --raft-id and --raft-peers come together, and not "
                "with --stdio; the other --raft- options need them\n"), "--raft-bind alone")
        certs = os.path.join(root, "certs")
        for args in ([], ["--members", "0"], ["--ids", "1,x"], ["--ids", "1", "--days", "0"],
                     ["--color", "blue"]):
            out = kv_run(kv, certs, "certs", *args)
            check(out.returncode == 2 and out.stderr.startswith("usage: kv DIR certs"),
                  "kv DIR certs %s: exit 2 and its usage (%d, %r)" % (
                      " ".join(args), out.returncode, out.stderr[:60]))
        out = kv_run(kv, certs, "certs", "--ids", "1")
        check(out.returncode == 1 and "ca.key is not here" in out.stderr and
              not os.path.exists(os.path.join(certs, "ca.crt")), "kv DIR certs --ids 1 in an "
              "empty directory makes no authority, and says what it needs (%r)" % out.stderr)
        out = kv_run(kv, certs, "certs", "--members", "1")
        check(out.returncode == 0 and "a new authority" in out.stdout, "kv DIR certs --members "
              "1 makes an authority and member 1's credentials (%r)" % out.stdout)
        out = kv_run(kv, certs, "certs", "--ids", "2,3", "--days", "30")
        check(out.returncode == 0 and "a new authority" not in out.stdout and
              "member-3.crt" in out.stdout, "members added later get credentials of the same "
              "authority (%r)" % out.stdout)
        out = kv_run(kv, certs, "certs", "--ids", "1")
        expect((out.returncode, out.stderr), (1, "kv certs: %s/member-1.crt is there already: a "
               "member's credentials are never replaced but by --renew 1\n"
               % certs), "kv DIR certs for a member that has credentials")
        out = kv_run(kv, m, "serve", "--port", port, "--raft-id", 1, "--raft-peers", peers,
                     "--raft-tls", os.path.join(root, "nowhere"), "--raft-bootstrap")
        check(out.returncode == 2 and "--raft-tls: the group's credentials:" in out.stderr and
              "ca.crt" in out.stderr, "credentials that are not there are named (%r)"
              % out.stderr)
        out = kv_run(kv, m, "serve", "--port", port, "--raft-id", 1, "--raft-peers", far,
                     "--raft-insecure")
        expect((out.returncode, out.stderr.splitlines()[0] + "\n" if out.stderr else ""),
               (2, "kv serve: raft member 1: --raft-insecure: member 1's Raft address "
                "10.1.2.3:%d is not on 127.0.0.0/8; a Raft port reachable from elsewhere needs "
                "--raft-tls\n" % (port + 1)), "--raft-insecure with a Raft address off loopback")
        out = kv_run(kv, m, "serve", "--port", port, "--raft-id", 1, "--raft-peers", peers,
                     "--raft-insecure")
        check(out.returncode == 2 and "holds no Raft log: start a new group with "
              "--raft-bootstrap" in out.stderr, "an empty directory without --raft-bootstrap or "
              "--raft-join is refused, saying which to give (%r)" % out.stderr)
        out = kv_run(kv, m, "serve", "--port", port, "--raft-id", 1, "--raft-peers", peers,
                     "--raft-insecure", "--raft-bootstrap",
                     env=dict(os.environ, KV_RAFT_PLANTED="reads-anywhere"))
        expect((out.returncode, out.stderr), (2, "kv serve: raft member 1: "
               "KV_RAFT_PLANTED=reads-anywhere: no such planted mistake (ack-before-commit, "
               "follower-reads, leader-reads, unconfirmed-reads, later-term-answers, "
               "applied-apart)\n"), "a planted mistake that does "
               "not exist")
        os.makedirs(m, exist_ok=True)
        shutil.rmtree(m)
        os.makedirs(m)
        open(os.path.join(m, "replica"), "w").close()
        out = kv_run(kv, m, "serve", "--port", port, "--raft-id", 1, "--raft-peers", peers,
                     "--raft-insecure", "--raft-bootstrap")
        check(out.returncode == 2 and out.stderr.startswith(
            "kv serve: raft member 1: opening its engine: "), "an engine that cannot be opened "
            "(DIR/replica a file) stops the start, saying so (exit %d, %r)" % (out.returncode,
                                                                              out.stderr))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def a_deposed_leader_answers_no_read(kv, members):
    """later_term_history without a planted mistake, on `members`
    members: linearizable, and the old leader's read failed (Fail
    otherwise)."""
    c = Cluster(kv, n=members, **LATER_TERM)
    try:
        history = later_term_history(c)
        ok, what = linearizable(history)
        check(ok, "not linearizable: %s" % what)
        check(history[-1]["type"] == "fail", "the old leader answered a read (%r)" % history[-1])
    finally:
        c.stop()


def campaign(kv, runs, members):
    """make test-cluster: each fault schedule `runs` times on `members`
    members, each history checked; each planted mistake `runs` times, each
    to be caught; the time to a new leader after a kill, `runs` times.
    Returns the number of failures."""
    bad = 0

    def schedule(name, fn):
        nonlocal bad
        began, violations = time.time(), 0
        for r in range(runs):
            try:
                ok, what = fn()
            except Skip as err:  # said, never counted as passed
                print("%s, %d members: skipped: %s" % (name, members, err), flush=True)
                return
            if not ok:
                violations += 1
                print("    %s, run %d: %s" % (name, r + 1, what), flush=True)
        bad += violations
        print("%s, %d members: %d runs, %d not linearizable or failing a check (%.0f s)" % (
            name, members, runs, violations, time.time() - began), flush=True)

    def planted(name, mistake, fn, extra=(), **kw):
        nonlocal bad
        began, caught = time.time(), 0
        for r in range(runs):
            c = Cluster(kv, n=members, planted=mistake, extra=extra, **kw)
            try:
                c.leader()
                ok, _ = linearizable(fn(c))
                caught += not ok
            except Fail as err:
                print("    %s, run %d: %s" % (name, r + 1, err), flush=True)
            finally:
                c.stop()
        bad += runs - caught
        print("planted %s, %d members: caught in %d of %d runs (%.0f s)" % (
            mistake, members, caught, runs, time.time() - began), flush=True)

    def with_cluster(fn, **kw):
        def one():
            c = Cluster(kv, n=members, **kw)
            try:
                c.leader()
                ok, what = linearizable(fn(c))
                return ok, "not linearizable: %s" % what
            finally:
                c.stop()
        return one

    def with_checks(fn):
        """A test that checks its own history (and more): a Fail is the
        run's failure, what it says the reason."""
        def one():
            try:
                fn()
                return True, ""
            except Fail as err:
                return False, str(err)
        return one

    def wiped_and_replaced():
        c = Cluster(kv, n=members)
        try:
            c.leader()
            a_member_wiped_and_replaced_loses_no_acknowledged_write(c)
        finally:
            c.stop()

    c = Cluster(kv, n=members)
    try:
        took = sorted(new_leader_after_a_kill(c) for _ in range(runs))
    finally:
        c.stop()
    print("new leader after the leader's SIGKILL, %d members: median %.2f s (min %.2f, max "
          "%.2f; %d kills; the election timeout is libraft's default, 1 s)" % (
              members, took[len(took) // 2], took[0], took[-1], runs), flush=True)
    schedule("a leader's death", with_cluster(lambda c: history_across_a_leaders_death(c)[0]))
    schedule("a pause", with_cluster(lambda c: pause_history(c)))
    schedule("partitions", with_cluster(lambda c: partition_history(c)[0], proxied=True))
    schedule("a restart after a snapshot", with_cluster(
        transactions_after_a_snapshot, extra=["--raft-snapshot-every", "16"]))
    schedule("a member wiped and replaced", with_checks(wiped_and_replaced))
    for which in ("follower", "leader"):
        schedule("a %s wiped and restarted as before" % which, with_checks(
            lambda which=which: wiped_as_before(kv, which, n=members)))
    schedule("a deposed leader whose confirm links reach the others",
             with_checks(lambda: a_deposed_leader_answers_no_read(kv, members)))
    schedule("a full disk", with_checks(
        lambda: a_full_disk_refuses_writes_not_the_group(kv, n=members)))
    schedule("a full Raft log", with_checks(
        lambda: a_full_raft_log_refuses_writes_not_the_group(kv, n=members)))
    planted("writes acknowledged before commit", "ack-before-commit",
            lambda c: history_across_a_leaders_death(c, seconds=8)[0])
    planted("reads at followers", "follower-reads", lambda c: run_clients(c, 4))
    planted("a deposed leader's reads", "leader-reads", deposed_leader_history, **DEPOSED)
    planted("reads before their round is confirmed", "unconfirmed-reads",
            deposed_leader_history, **DEPOSED)
    planted("a later term's answer counted", "later-term-answers", later_term_history,
            **LATER_TERM)
    planted("a command applied twice", "applied-apart", transactions_after_a_snapshot,
            extra=["--raft-snapshot-every", "16"])
    return bad


def main():
    # redis-py 4.3 prints the tracebacks of the connection errors it
    # recovers from (a member killed): not this test's output.
    sys.stderr = open(os.devnull, "w")
    # redis-py 4.3's ClusterNode.__del__ fails on nodes it gave up building
    # (a member down): Python prints that for nothing; the test says what
    # matters.
    sys.unraisablehook = lambda unraisable: None
    args = sys.argv[1:]
    runs = members = None
    while len(args) > 2 and args[-2] in ("--campaign", "--members"):
        if args[-2] == "--campaign":
            runs = int(args[-1])
        else:
            members = int(args[-1])
        args = args[:-2]
    if len(args) != 1 or not os.access(args[0], os.X_OK):
        print("usage: cluster_test.py build/10-raft/kv [--campaign RUNS] [--members N]")
        return 2
    if redis is None:
        print("cluster_test.py: redis-py is missing: make deps DEPS=server (python3-redis)")
        return 2
    if runs is not None:
        bad = campaign(args[0], runs, members or 3)
        print("campaign: %d failed" % bad)
        return 1 if bad else 0
    c = Cluster(sys.argv[1])
    try:
        for name, fn in [("a_leader_is_elected", a_leader_is_elected),
                         ("writes_reach_every_member", writes_reach_every_member),
                         ("a_follower_redirects_a_write", a_follower_redirects_a_write),
                         ("cluster_nodes_describes_the_group", cluster_nodes_describes_the_group),
                         ("the_ruby_cluster_client_follows_a_leader_change",
                          the_ruby_cluster_client_follows_a_leader_change),
                         ("a_members_own_key_is_not_the_clients",
                          a_members_own_key_is_not_the_clients),
                         ("a_transaction_is_one_command", a_transaction_is_one_command),
                         ("a_read_at_the_leader_writes_no_entry",
                          a_read_at_the_leader_writes_no_entry),
                         ("a_quiet_client_holds_one_batch_at_most",
                          a_quiet_client_holds_one_batch_at_most),
                         ("a_transaction_at_a_follower_redirects",
                          a_transaction_at_a_follower_redirects),
                         ("reads_inside_a_transaction_answer_at_the_leader",
                          reads_inside_a_transaction_answer_at_the_leader),
                         ("ioredis_transactions_at_a_follower_and_the_leader",
                          ioredis_transactions_at_a_follower_and_the_leader),
                         ("an_engine_lost_is_rebuilt_from_the_log",
                          an_engine_lost_is_rebuilt_from_the_log),
                         ("a_log_written_in_other_blocks_is_read_back",
                          a_log_written_in_other_blocks_is_read_back),
                         ("the_leader_killed_loses_no_acknowledged_write",
                          the_leader_killed_loses_no_acknowledged_write),
                         ("a_history_across_a_leaders_death_is_linearizable",
                          a_history_across_a_leaders_death_is_linearizable),
                         ("a_history_across_a_pause_is_linearizable",
                          a_history_across_a_pause_is_linearizable),
                         ("leadership_lost_with_batches_in_flight",
                          leadership_lost_with_batches_in_flight)]:
            run(name, fn, c)
    finally:
        logs_of(c)
        c.stop()
    m = Cluster(sys.argv[1])
    try:
        for name, fn in [("a_member_added_receives_all_data_and_serves_readonly_reads",
                          a_member_added_receives_all_data_and_serves_readonly_reads),
                         ("leadership_moves_to_a_named_member",
                          leadership_moves_to_a_named_member),
                         ("a_member_removed_leaves_the_rest_writing",
                          a_member_removed_leaves_the_rest_writing),
                         ("a_member_wiped_and_replaced_loses_no_acknowledged_write",
                          a_member_wiped_and_replaced_loses_no_acknowledged_write)]:
            run(name, fn, m)
    finally:
        logs_of(m)
        m.stop()
    for name, fn in [("kv_cluster_starts_a_group_and_stops_it",
                      kv_cluster_starts_a_group_and_stops_it),
                     ("refused_changes_and_commands_say_why",
                      refused_changes_and_commands_say_why),
                     ("kv_cluster_and_a_members_options_refuse_what_is_wrong",
                      kv_cluster_and_a_members_options_refuse_what_is_wrong),
                     ("a_history_across_partitions_is_linearizable",
                      a_history_across_partitions_is_linearizable),
                     ("a_snapshot_installed_ends_the_old_engines_handles",
                      a_snapshot_installed_ends_the_old_engines_handles),
                     ("a_restart_applies_no_command_twice", a_restart_applies_no_command_twice),
                     ("an_entry_from_before_a_restart_answers_no_new_write",
                      an_entry_from_before_a_restart_answers_no_new_write),
                     ("a_full_disk_refuses_writes_not_the_group",
                      a_full_disk_refuses_writes_not_the_group),
                     ("a_full_raft_log_refuses_writes_not_the_group",
                      a_full_raft_log_refuses_writes_not_the_group),
                     ("a_lone_member_short_of_room_refuses_writes_and_serves_reads",
                      a_lone_member_short_of_room_refuses_writes_and_serves_reads),
                     ("every_member_short_of_room_refuses_writes_and_serves_reads",
                      every_member_short_of_room_refuses_writes_and_serves_reads),
                     ("an_engine_that_cannot_write_keeps_its_commands_until_there_is_room",
                      an_engine_that_cannot_write_keeps_its_commands_until_there_is_room),
                     ("a_wiped_follower_restarted_as_before_loses_nothing",
                      a_wiped_follower_restarted_as_before_loses_nothing),
                     ("a_wiped_leader_restarted_as_before_loses_nothing_without_tls",
                      a_wiped_leader_restarted_as_before_loses_nothing_without_tls),
                     ("an_outsider_changes_nothing", an_outsider_changes_nothing),
                     ("an_outsider_on_loopback_reaches_only_the_checker",
                      an_outsider_on_loopback_reaches_only_the_checker),
                     ("without_tls_an_outsider_on_the_host_can_forge_a_write",
                      without_tls_an_outsider_on_the_host_can_forge_a_write),
                     ] + [(name, lambda kv, fn=fn: fn(sys.modules[__name__], kv))
                          for name, fn in trust_test.TESTS] + [
                     ("the_checker_catches_writes_acknowledged_before_commit",
                      the_checker_catches_writes_acknowledged_before_commit),
                     ("the_checker_catches_follower_reads", the_checker_catches_follower_reads),
                     ("the_checker_catches_a_deposed_leaders_reads",
                      the_checker_catches_a_deposed_leaders_reads),
                     ("the_checker_catches_unconfirmed_reads",
                      the_checker_catches_unconfirmed_reads),
                     ("the_checker_catches_a_later_terms_answer_counted",
                      the_checker_catches_a_later_terms_answer_counted),
                     ("the_checker_catches_a_command_applied_twice",
                      the_checker_catches_a_command_applied_twice)]:
        run(name, fn, sys.argv[1])
    if skipped:  # a line of its own: tests/run.sh reads the last line as it is
        print("%d skipped (neither passed nor failed)" % skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def logs_of(c):
    """The last lines of each member's log, after a failure."""
    if not failed:
        return
    for i in range(c.n):
        path = os.path.join(c.root, "member%d.log" % (i + 1))
        if os.path.exists(path):
            print("    member %d's log:" % (i + 1))
            for line in open(path, errors="replace").read().splitlines()[-5:]:
                print("      " + line)


if __name__ == "__main__":
    sys.exit(main())
