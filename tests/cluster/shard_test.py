#!/usr/bin/env python3
"""shard_test.py: writes spread over two Raft groups by a proxy in front
(docs/10-raft-operating.md, "Scale out: shards in front").  Two groups of three
members (`kv DIR cluster --members 3`, twice), and nutcracker
(twemproxy) in front of their two leaders: keys hashed to servers with
fnv1a_64 on a ketama continuum.  1,000 keys SET through nutcracker read
back through it; asked directly, each leader holds some of them, the two
together all, none both.  redis-benchmark through nutcracker (its lines
printed; no figure is asserted).  Then what a user must know: leadership
moved to another member of one group, a write through nutcracker to a
key of that group gets the old leader's -MOVED, which nutcracker hands
to the client as it is (it follows no redirects); a config naming the
new leader, under the same server name, writes again, and every key
stays where it was.  Prints RUN/ok/FAIL/skip lines, "N skipped" if any,
and "N passed, N failed".

  python3 tests/cluster/shard_test.py build/10-raft/kv

Without nutcracker or redis-benchmark (make deps DEPS=shard installs both)
the tests that need them are skipped, and say so.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cluster_test as ct  # noqa: E402  (free_run, command, check, Fail, Skip, redis)
from cluster_test import Fail, Skip, check  # noqa: E402

KEYS = ["shard:%d" % i for i in range(1000)]
NAMES = ["group1", "group2"]  # the servers' names: ketama hashes these, not addresses



class Group:
    """`kv DIR cluster --members 3` on three free client ports and three
    free Raft ports; self.leader: the client port of the member it names
    as leader."""

    def __init__(self, kv, root, name, used):
        self.port = ct.free_run(3, avoid=used)
        used.update(range(self.port, self.port + 3))
        self.raft_port = ct.free_run(3, avoid=used)
        used.update(range(self.raft_port, self.raft_port + 3))
        # A session of its own: if kv cluster does not stop on SIGINT,
        # stop() kills its members with it.
        self.proc = subprocess.Popen(
            [kv, os.path.join(root, name), "cluster", "--members", "3",
             "--port", str(self.port), "--raft-port", str(self.raft_port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.leader = None

    def wait_leader(self):
        line = self.proc.stdout.readline().decode()
        m = re.search(r"member (\d+) leads\.", line)
        check(m is not None, "kv cluster names a leader (it said %r)" % line)
        self.leader = self.port + int(m.group(1)) - 1

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Shards:
    """Two groups and, once started, nutcracker in front of their leaders."""

    def __init__(self, kv):
        self.kv = kv
        self.root = tempfile.mkdtemp(prefix="kv-shard-")
        self.used = set()
        self.groups = []
        self.nut = None
        self.nut_port = None
        self.home = {}  # key: index of the group holding it

    def write_conf(self):
        """The pool's YAML: one server per group, its leader's client port."""
        path = os.path.join(self.root, "nutcracker.yml")
        with open(path, "w") as f:
            f.write("shards:\n"
                    "  listen: 127.0.0.1:%d\n"
                    "  redis: true\n"
                    "  hash: fnv1a_64\n"
                    "  distribution: ketama\n"
                    "  auto_eject_hosts: false\n"
                    "  timeout: 5000\n"
                    "  servers:\n" % self.nut_port)
            for g, name in zip(self.groups, NAMES):
                f.write("   - 127.0.0.1:%d:1 %s\n" % (g.leader, name))
        return path

    def start_nutcracker(self):
        conf = self.write_conf()
        tested = subprocess.run(["nutcracker", "-t", "-c", conf], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, timeout=10)
        check(tested.returncode == 0,
              "nutcracker -t accepts the config: %s" % tested.stdout.decode().strip())
        stats = ct.free_run(1, avoid=self.used | {self.nut_port})
        self.nut = subprocess.Popen(
            ["nutcracker", "-c", conf, "-s", str(stats), "-a", "127.0.0.1",
             "-o", os.path.join(self.root, "nutcracker.log"),
             "-p", os.path.join(self.root, "nutcracker.pid")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:  # nutcracker answers nothing itself: ready once it accepts
            try:
                socket.create_connection(("127.0.0.1", self.nut_port), timeout=1).close()
                return
            except OSError:
                check(self.nut.poll() is None and time.time() < deadline,
                      "nutcracker listens on %d (see %s/nutcracker.log)"
                      % (self.nut_port, self.root))
                time.sleep(0.05)

    def stop_nutcracker(self):
        if self.nut is not None and self.nut.poll() is None:
            self.nut.send_signal(signal.SIGTERM)
            try:
                self.nut.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nut.kill()
                self.nut.wait()
        self.nut = None

    def proxy(self):
        return ct.redis.Redis(port=self.nut_port, socket_timeout=10)

    def stop(self):
        self.stop_nutcracker()
        for g in self.groups:
            g.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def needs(*programs):
    for p in programs:
        if shutil.which(p) is None:
            raise Skip("no %s here (make deps DEPS=shard)" % p)


def needs_started(s):
    needs("nutcracker")
    if s.nut is None:
        raise Skip("nutcracker did not start (above)")


def in_batches(r, keys, call, n=100):
    """call(pipe, key) for every key, n to a pipeline (no MULTI): replies."""
    out = []
    for i in range(0, len(keys), n):
        pipe = r.pipeline(transaction=False)
        for k in keys[i:i + n]:
            call(pipe, k)
        out += pipe.execute(raise_on_error=False)
    return out


# ---- the tests ---------------------------------------------------------------

def two_groups_elect_their_leaders(s):
    needs("nutcracker")
    for name in ("a", "b"):
        s.groups.append(Group(s.kv, s.root, name, s.used))
    for g in s.groups:
        g.wait_leader()
        info = ct.redis.Redis(port=g.leader).execute_command("CLUSTER", "INFO")
        text = info.decode() if isinstance(info, bytes) else str(info)
        check("raft_state:leader" in text, "port %d says it leads (%r)" % (g.leader, text))
    s.nut_port = ct.free_run(1, avoid=s.used)
    s.used.add(s.nut_port)


def nutcracker_starts_in_front_of_the_leaders(s):
    needs("nutcracker")
    check(len(s.groups) == 2, "two groups are running")
    s.start_nutcracker()


def keys_set_through_nutcracker_read_back(s):
    needs_started(s)
    r = s.proxy()
    sets = in_batches(r, KEYS, lambda p, k: p.set(k, "v-" + k))
    bad = [(k, v) for k, v in zip(KEYS, sets) if v is not True]
    check(not bad, "%d SETs through nutcracker not +OK, first %r" % (len(bad), bad[:1]))
    got = in_batches(r, KEYS, lambda p, k: p.get(k))
    bad = [k for k, v in zip(KEYS, got) if v != ("v-" + k).encode()]
    check(not bad, "%d keys read back wrong through nutcracker, first %r" % (len(bad), bad[:1]))


def each_key_is_in_one_group(s):
    needs_started(s)
    held = []
    for g in s.groups:
        got = in_batches(ct.redis.Redis(port=g.leader, socket_timeout=10), KEYS,
                         lambda p, k: p.get(k))
        held.append({k for k, v in zip(KEYS, got) if v == ("v-" + k).encode()})
    both = held[0] & held[1]
    neither = set(KEYS) - held[0] - held[1]
    print("    group 1 holds %d keys, group 2 %d" % (len(held[0]), len(held[1])))
    check(held[0] and held[1], "each group holds some of the keys")
    check(not both, "%d keys in both groups, first %r" % (len(both), sorted(both)[:1]))
    check(not neither, "%d keys in neither group, first %r" % (len(neither),
                                                               sorted(neither)[:1]))
    for i, h in enumerate(held):
        for k in h:
            s.home[k] = i


def redis_benchmark_through_nutcracker(s):
    needs_started(s)
    needs("redis-benchmark")
    out = subprocess.run(["redis-benchmark", "-p", str(s.nut_port), "-t", "set,get",
                          "-n", "20000", "-r", "20000", "-c", "20", "-q"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    # -q rewrites a progress line with \r: what is left after the last one
    lines = [l.split("\r")[-1].strip() for l in out.stdout.decode().split("\n")]
    lines = [l for l in lines if l]
    for l in lines:
        print("    " + l)
    check(out.returncode == 0, "redis-benchmark exits with 0 (got %d)" % out.returncode)
    check(sum("requests per second" in l for l in lines) == 2,
          "redis-benchmark reports SET and GET")


def a_leader_change_is_moved_through_nutcracker(s):
    """Leadership of group 1 moved to another member: nutcracker still
    sends that group's keys to the old leader, whose -MOVED reaches the
    client unchanged, for a write and for a read."""
    needs_started(s)
    check(s.home, "the keys' groups are known (each_key_is_in_one_group)")
    g = s.groups[0]
    old = g.leader - g.port + 1
    to = old % 3 + 1
    got = ct.command(g.leader, "CLUSTER", "FAILOVER", "TO", str(to), timeout=10)
    check(got == "+OK", "the transfer to member %d answers +OK (%r)" % (to, got))
    key = next(k for k in KEYS if s.home[k] == 0)
    try:
        s.proxy().set(key, "after")
        raise Fail("a write of %r through nutcracker after the transfer was taken" % key)
    except ct.redis.exceptions.ResponseError as err:
        said = str(err)
    want = "MOVED %d 127.0.0.1:%d" % (ct.slot_of(key), g.port + to - 1)
    check(said.startswith(want), "the write gets %r (got %r)" % (want, said))
    try:  # the old leader, a follower now, redirects reads too (no READONLY)
        s.proxy().get(key)
        raise Fail("a read of %r through nutcracker after the transfer was answered" % key)
    except ct.redis.exceptions.ResponseError as err:
        check(str(err).startswith(want), "the read gets %r (got %r)" % (want, str(err)))
    print("    group 1's leadership moved from member %d to %d; SET %s through nutcracker "
          "answers -%s: nutcracker does not follow redirects, its config must name the new "
          "leader" % (old, to, key, said))
    g.leader = g.port + to - 1


def a_config_naming_the_new_leader_writes_again(s):
    """nutcracker restarted with the new leader's address under the same
    server name: ketama hashes names, so every key stays in its group."""
    needs_started(s)
    check(s.home, "the keys' groups are known (each_key_is_in_one_group)")
    s.stop_nutcracker()
    s.start_nutcracker()
    key = next(k for k in KEYS if s.home[k] == 0)
    r = s.proxy()
    check(r.set(key, "after") is True, "SET %s through nutcracker answers +OK" % key)
    got = ct.redis.Redis(port=s.groups[0].leader).get(key)
    check(got == b"after", "the new leader holds the write (%r)" % got)
    rest = [k for k in KEYS if k != key]
    got = in_batches(r, rest, lambda p, k: p.get(k))
    bad = [k for k, v in zip(rest, got) if v != ("v-" + k).encode()]
    check(not bad, "%d keys read back wrong after the change, first %r" % (len(bad), bad[:1]))


def main():
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        print("usage: shard_test.py build/10-raft/kv")
        return 2
    if ct.redis is None:
        print("shard_test.py: redis-py is missing: make deps DEPS=server (python3-redis)")
        return 2
    s = Shards(sys.argv[1])
    try:
        for name, fn in [("two_groups_elect_their_leaders", two_groups_elect_their_leaders),
                         ("nutcracker_starts_in_front_of_the_leaders",
                          nutcracker_starts_in_front_of_the_leaders),
                         ("keys_set_through_nutcracker_read_back",
                          keys_set_through_nutcracker_read_back),
                         ("each_key_is_in_one_group", each_key_is_in_one_group),
                         ("redis_benchmark_through_nutcracker",
                          redis_benchmark_through_nutcracker),
                         ("a_leader_change_is_moved_through_nutcracker",
                          a_leader_change_is_moved_through_nutcracker),
                         ("a_config_naming_the_new_leader_writes_again",
                          a_config_naming_the_new_leader_writes_again)]:
            ct.run(name, fn, s, suite="shard")
    finally:
        s.stop()
    if ct.skipped:  # a line of its own: the last line is read as it is
        print("%d skipped (neither passed nor failed)" % ct.skipped)
    print("%d passed, %d failed" % (ct.passed, ct.failed))
    return 1 if ct.failed else 0


if __name__ == "__main__":
    sys.exit(main())
