#!/usr/bin/env python3
"""cluster_test.py: three `kv serve` members of a Raft group on
localhost (stage 10, docs/10-raft.md), through redis-py's RedisCluster
and raw sockets: a leader is elected; writes reach every member; a
follower redirects a write to the leader (-MOVED); the leader killed with
SIGKILL, the two others elect a new one, and no acknowledged write is
lost; the killed member restarted catches up; clients writing and
reading three hot keys across a leader's death leave a history that
lincheck.py finds linearizable.  Prints RUN/ok/FAIL lines and "N passed,
N failed".

  python3 tests/cluster/cluster_test.py build/10-raft/kv
"""
import os
import random
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

passed = failed = 0


class Fail(Exception):
    pass


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


class Cluster:
    def __init__(self, kv, n=3):
        self.kv, self.n = kv, n
        self.root = tempfile.mkdtemp(prefix="kv-cluster-")
        ports = free_ports(2 * n)
        self.client_ports, self.raft_ports = ports[:n], ports[n:]
        self.peers = ",".join("%d@127.0.0.1:%d/%d" % (i + 1, self.raft_ports[i],
                                                       self.client_ports[i]) for i in range(n))
        self.procs = [None] * n
        for i in range(n):
            self.start(i)

    def start(self, i):
        log = open(os.path.join(self.root, "member%d.log" % (i + 1)), "ab")
        self.procs[i] = subprocess.Popen(
            [self.kv, os.path.join(self.root, "m%d" % (i + 1)), "serve", "--port",
             str(self.client_ports[i]), "--raft-id", str(i + 1), "--raft-peers", self.peers],
            stdout=log, stderr=log)

    def kill(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()
        self.procs[i] = None

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
                    and (among is None or i in among)]
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
        for i in range(self.n):
            if self.procs[i] is not None:
                self.procs[i].send_signal(signal.SIGTERM)
        for i in range(self.n):
            if self.procs[i] is not None:
                try:
                    self.procs[i].wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.procs[i].kill()
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


def run(name, fn, cluster):
    global passed, failed
    print("RUN  cluster/%s" % name, flush=True)
    began = time.time()
    try:
        fn(cluster)
        passed += 1
        print("ok   cluster/%s (%.1f s)" % (name, time.time() - began), flush=True)
    except Exception as err:  # a Fail, or anything unexpected: the test fails
        failed += 1
        print("    %s: %s" % (type(err).__name__, err))
        print("FAIL cluster/%s" % name, flush=True)


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


def a_follower_redirects_a_write(c):
    lead = c.leader()
    f = (lead + 1) % c.n
    reply = command(c.client_ports[f], "SET", "foo", "bar")
    # foo's slot in Redis Cluster is 12182.
    check(reply == "-MOVED 12182 127.0.0.1:%d" % c.client_ports[lead],
          "a write to a follower answers -MOVED 12182 to the leader (got %r)" % reply)
    check(command(c.client_ports[lead], "SET", "foo", "bar") == "+OK",
          "the leader takes the write")


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


def a_history_across_a_leaders_death_is_linearizable(c):
    keys = ["x", "y", "z"]
    history, lock = [], threading.Lock()
    stop = time.time() + 12  # the kill at 2 s, an election, then clients find the new leader
    clock = time.monotonic_ns

    def log(event):
        with lock:
            history.append(event)

    def worker(first):
        rng = random.Random(first)
        rc = retrying(c.client)
        p, n = first, 0
        while time.time() < stop:
            k = rng.choice(keys)
            if rng.random() < 0.5:
                v = "%d-%d" % (p, n)
                n += 1
                log({"process": p, "type": "invoke", "f": "write", "key": k, "value": v,
                     "time": clock()})
                try:
                    rc.set(k, v)
                    kind = "ok"
                except redis.exceptions.ResponseError as err:
                    kind = "fail" if "not applied" in str(err) else "info"
                except Exception:  # a lost connection, a refresh of the slots that failed
                    kind = "info"
                log({"process": p, "type": kind, "f": "write", "key": k, "value": v,
                     "time": clock()})
                if kind == "info":
                    # Its outcome unknown, the process may invoke no more (it
                    # has an operation outstanding forever): a new one goes on.
                    p += 1000
                    rc = retrying(c.client)
            else:
                log({"process": p, "type": "invoke", "f": "read", "key": k, "time": clock()})
                try:
                    got = rc.get(k)
                    log({"process": p, "type": "ok", "f": "read", "key": k,
                         "value": got.decode() if got is not None else None, "time": clock()})
                except Exception:  # a read that did not answer changed nothing
                    log({"process": p, "type": "fail", "f": "read", "key": k, "time": clock()})
                    rc = c.client() if rng.random() < 0.5 else rc

    threads = [threading.Thread(target=worker, args=(p,)) for p in range(6)]
    for t in threads:
        t.start()
    time.sleep(2)
    lead = c.leader()
    killed_at = clock()
    c.kill(lead)
    for t in threads:
        t.join()
    c.start(lead)
    ops = lincheck.parse(__import__("json").dumps(e) for e in history)
    oks = sum(1 for e in history if e["type"] == "ok")
    before = sum(1 for e in history if e["type"] == "ok" and e["time"] < killed_at)
    print("    %d operations completed (%d before member %d was killed), %d events, over "
          "3 keys" % (oks, before, lead + 1, len(history)))
    check(before > 50 and oks - before > 10,
          "clients completed operations before the leader's death and after it (%d, %d)" % (
              before, oks - before))
    for k, kops in ops.items():
        ok, op = lincheck.check_key(kops)
        check(ok, "key %s: not linearizable: %s" % (k, op and lincheck.describe(op)))


def main():
    # redis-py 4.3 prints the tracebacks of the connection errors it
    # recovers from (a member killed): not this test's output.
    sys.stderr = open(os.devnull, "w")
    # redis-py 4.3's ClusterNode.__del__ fails on nodes it gave up building
    # (a member down): Python prints that for nothing; the test says what
    # matters.
    sys.unraisablehook = lambda unraisable: None
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        print("usage: cluster_test.py build/10-raft/kv")
        return 2
    if redis is None:
        print("cluster_test.py: redis-py is missing: make deps DEPS=server (python3-redis)")
        return 2
    c = Cluster(sys.argv[1])
    try:
        for name, fn in [("a_leader_is_elected", a_leader_is_elected),
                         ("writes_reach_every_member", writes_reach_every_member),
                         ("a_follower_redirects_a_write", a_follower_redirects_a_write),
                         ("the_leader_killed_loses_no_acknowledged_write",
                          the_leader_killed_loses_no_acknowledged_write),
                         ("a_history_across_a_leaders_death_is_linearizable",
                          a_history_across_a_leaders_death_is_linearizable)]:
            run(name, fn, c)
    finally:
        if failed:
            for i in range(c.n):
                path = os.path.join(c.root, "member%d.log" % (i + 1))
                if os.path.exists(path):
                    print("    member %d's log:" % (i + 1))
                    for line in open(path, errors="replace").read().splitlines()[-5:]:
                        print("      " + line)
        c.stop()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
