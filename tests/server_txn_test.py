#!/usr/bin/env python3
"""server_txn_test.py: Redis transactions in `kv DIR serve` (MULTI, EXEC,
DISCARD, WATCH, UNWATCH), through real sockets and through redis-py.

    python3 tests/server_txn_test.py build/S/kv [NAME-FILTER]

It shares server_test.py's harness (a server per test on a fresh directory
and a free port; "RUN name" / "ok name" / "FAIL name: why"; "N passed,
N failed").  The raw-socket client checks the exact replies (+QUEUED,
-EXECABORT, the null array *-1); redis-py (Debian's python3-redis, `make
deps DEPS=server`) checks what its users rely on: WatchError and the
retry loop of Redis.transaction.  What WATCH notices depends on the stage
(docs/server.md, "Transactions"): stages 01-06 compare values, stage 07
versions; the tests ask the server which stage it runs (INFO).
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_test as st  # noqa: E402  (reads KV and FILTER from sys.argv)
from server_test import Err, Server, check, encode  # noqa: E402

try:
    import redis
except ImportError:  # Debian's python3-redis, under another python3 (pyenv, venv)
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import redis
    except ImportError:
        redis = None

MULTI_ARGS = 4096               # SERVE_MULTI_ARGS (server.h)
MULTI_BYTES = 4 * 1024 * 1024   # SERVE_MULTI_BYTES
WATCH_KEYS = 4096               # SERVE_WATCH_KEYS


def client(srv):
    check(redis is not None, "redis-py is missing: make deps DEPS=server (python3-redis)")
    return redis.Redis(port=srv.port, socket_timeout=st.TIMEOUT)


def compares_versions(conn):
    """True on a stage whose kv_txn finds conflicts by versions (07-txn on)."""
    info = conn.cmd("INFO", "server")
    stage = [l for l in info.split(b"\r\n") if l.startswith(b"kv_stage:")]
    check(stage, "no kv_stage in INFO: %r" % info)
    return int(stage[0].split(b":", 1)[1].strip()[:2]) >= 7


def test_multi_exec_runs_the_queue_and_answers_each(tmp):
    s = Server(tmp)
    c = s.connect()
    check(c.cmd("SET", "a", "0") == b"OK", "SET")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    for args in (("SET", "a", "1"), ("GET", "a"), ("MSET", "b", "2", "c", "3"),
                 ("DEL", "c", "nope"), ("EXISTS", "a", "b", "c"), ("MGET", "a", "b", "c"),
                 ("PING",), ("STRLEN", "b"), ("TYPE", "c")):
        got = c.cmd(*args)
        check(got == b"QUEUED", "%s: %r, want QUEUED" % (args[0], got))
    check(c.cmd("GET", "a") == b"QUEUED", "GET queued")
    got = c.cmd("EXEC")
    want = [b"OK", b"1", b"OK", 1, 2, [b"1", b"2", None], b"PONG", 1, b"none", b"1"]
    check(got == want, "EXEC: %r, want %r" % (got, want))
    check(c.cmd("GET", "a") == b"1", "applied")
    check(c.cmd("MULTI") == b"OK", "MULTI again")
    check(c.cmd("EXEC") == [], "empty EXEC")
    # Misuse, answered as Redis answers it.
    check(isinstance(c.cmd("EXEC"), Err), "EXEC without MULTI")
    check(isinstance(c.cmd("DISCARD"), Err), "DISCARD without MULTI")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    got = c.cmd("MULTI")
    check(isinstance(got, Err) and "nested" in got, "nested MULTI: %r" % got)
    got = c.cmd("WATCH", "a")
    check(isinstance(got, Err) and "inside MULTI" in got, "WATCH in MULTI: %r" % got)
    check(c.cmd("SET", "a", "2") == b"QUEUED", "still queuing")
    check(c.cmd("EXEC") == [b"OK"], "nested MULTI and WATCH do not abort it")
    # Through redis-py: a transactional pipeline is MULTI ... EXEC.
    r = client(s)
    p = r.pipeline(transaction=True)
    p.set("x", "1").get("x").delete("x").get("x")
    check(p.execute() == [True, b"1", 1, None], "redis-py pipeline")
    check(s.stop() == 0, "exit status")


def test_pipelined_exec_is_ordered_with_the_clients_other_writes(tmp):
    s = Server(tmp)
    c = s.connect()
    c.send(encode("SET", "k", "1") + encode("MULTI") + encode("GET", "k") +
           encode("SET", "k", "2") + encode("GET", "k") + encode("EXEC") +
           encode("SET", "k", "3") + encode("GET", "k"))
    got = [c.reply() for _ in range(8)]
    want = [b"OK", b"OK", b"QUEUED", b"QUEUED", b"QUEUED", [b"1", b"OK", b"2"], b"OK", b"3"]
    check(got == want, "replies %r, want %r" % (got, want))
    check(s.stop() == 0, "exit status")


def test_errors_while_queuing_make_exec_abort(tmp):
    s = Server(tmp)
    c = s.connect()
    for bad in (("SET", "a"), ("NOSUCHCOMMAND", "x"), ("KEYS", "*"), ("GET",)):
        check(c.cmd("MULTI") == b"OK", "MULTI")
        check(c.cmd("SET", "a", "1") == b"QUEUED", "SET before")
        got = c.cmd(*bad)
        check(isinstance(got, Err), "%r while queuing: %r, want an error" % (bad, got))
        check(c.cmd("SET", "b", "1") == b"QUEUED", "SET after %r" % (bad,))
        got = c.cmd("EXEC")
        check(isinstance(got, Err) and got.startswith("EXECABORT"), "EXEC: %r" % got)
        check(c.cmd("EXISTS", "a", "b") == 0, "nothing of an aborted transaction applied")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    got = c.cmd("EXEC", "extra")
    check(isinstance(got, Err) and got.startswith("EXECABORT"), "EXEC with arguments: %r" % got)
    check(isinstance(c.cmd("EXEC"), Err), "the transaction is gone")
    # An error the command itself answers at EXEC (as Redis: the others run).
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "a", "1", "EX", "10") == b"QUEUED", "SET with options is queued")
    check(c.cmd("SET", "b", "2") == b"QUEUED", "SET")
    got = c.cmd("EXEC")
    check(len(got) == 2 and isinstance(got[0], Err) and got[1] == b"OK", "EXEC: %r" % got)
    check(c.cmd("MGET", "a", "b") == [None, b"2"], "the valid command applied")
    r = client(s)
    p = r.pipeline(transaction=True)
    p.execute_command("SET", "z")
    p.set("y", "1")
    try:
        p.execute()
        raise st.Fail("redis-py: no error for a queued error")
    except redis.exceptions.ResponseError as e:
        check("EXECABORT" in str(e) or "wrong number" in str(e), "redis-py: %s" % e)
    check(r.exists("y") == 0, "redis-py: nothing applied")
    check(s.stop() == 0, "exit status")


def test_discard_drops_the_queue_and_the_watches(tmp):
    s = Server(tmp)
    c, other = s.connect(), s.connect()
    check(c.cmd("WATCH", "w") == b"OK", "WATCH")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "a", "1") == b"QUEUED", "queued")
    check(c.cmd("DISCARD") == b"OK", "DISCARD")
    check(c.cmd("EXISTS", "a") == 0, "nothing applied")
    check(isinstance(c.cmd("EXEC"), Err), "EXEC after DISCARD")
    check(other.cmd("SET", "w", "changed") == b"OK", "other writes w")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "a", "2") == b"QUEUED", "queued")
    check(c.cmd("EXEC") == [b"OK"], "DISCARD dropped the watch")
    check(c.cmd("WATCH", "w") == b"OK", "WATCH")
    check(c.cmd("UNWATCH") == b"OK", "UNWATCH")
    check(other.cmd("SET", "w", "again") == b"OK", "other writes w")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "a", "3") == b"QUEUED", "queued")
    check(c.cmd("EXEC") == [b"OK"], "UNWATCH dropped the watch")
    check(c.cmd("RESET") == b"RESET", "RESET")
    check(s.stop() == 0, "exit status")


def test_watched_key_written_by_another_makes_exec_null(tmp):
    s = Server(tmp)
    c, other = s.connect(), s.connect()
    check(c.cmd("SET", "k", "1") == b"OK", "SET")
    # Written with a new value: every stage notices.
    check(c.cmd("WATCH", "k", "absent") == b"OK", "WATCH")
    check(other.cmd("SET", "k", "2") == b"OK", "other SET")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "k", "mine") == b"QUEUED", "queued")
    check(c.cmd("EXEC") is None, "EXEC after a watched key changed: want *-1")
    check(c.cmd("GET", "k") == b"2", "nothing of it applied")
    # A key watched while absent, then created.
    check(c.cmd("WATCH", "absent") == b"OK", "WATCH absent")
    check(other.cmd("SET", "absent", "now") == b"OK", "other creates it")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "k", "mine") == b"QUEUED", "queued")
    check(c.cmd("EXEC") is None, "EXEC after a watched absent key was created")
    # Deleted.
    check(c.cmd("WATCH", "k") == b"OK", "WATCH")
    check(other.cmd("DEL", "k") == 1, "other DEL")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "x", "1") == b"QUEUED", "queued")
    check(c.cmd("EXEC") is None, "EXEC after a watched key was deleted")
    check(c.cmd("EXISTS", "x") == 0, "x not written")
    # The client's own write counts too (as in Redis).
    check(c.cmd("WATCH", "k") == b"OK", "WATCH")
    check(c.cmd("SET", "k", "own") == b"OK", "own SET")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "x", "1") == b"QUEUED", "queued")
    check(c.cmd("EXEC") is None, "EXEC after its own write of a watched key")
    # Unchanged: applied, and the watch ends with EXEC.
    check(c.cmd("WATCH", "k") == b"OK", "WATCH")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "k", "mine") == b"QUEUED", "queued")
    check(c.cmd("EXEC") == [b"OK"], "EXEC with nothing changed")
    check(other.cmd("SET", "k", "later") == b"OK", "other SET after EXEC")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "x", "2") == b"QUEUED", "queued")
    check(c.cmd("EXEC") == [b"OK"], "EXEC ended the watch")
    info = c.cmd("INFO", "stats")
    check(b"exec_watch_null:4\r\n" in info, "INFO counts the nulls: %r" % info)
    # redis-py: WatchError.
    r, r2 = client(s), client(s)
    with r.pipeline() as p:
        p.watch("k")
        r2.set("k", "by-r2")
        p.multi()
        p.set("k", "by-r")
        try:
            p.execute()
            raise st.Fail("redis-py: no WatchError")
        except redis.WatchError:
            pass
    check(r.get("k") == b"by-r2", "redis-py: nothing applied")
    check(s.stop() == 0, "exit status")


def test_watch_rewrite_with_same_value_is_stage_dependent(tmp):
    """Stages 01-06 compare values: a rewrite with the same value is no
    change.  Stage 07 compares versions: any write is."""
    s = Server(tmp)
    c, other = s.connect(), s.connect()
    versions = compares_versions(c)
    check(c.cmd("SET", "k", "same") == b"OK", "SET")
    check(c.cmd("WATCH", "k") == b"OK", "WATCH")
    check(other.cmd("SET", "k", "same") == b"OK", "other rewrites the same value")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "x", "1") == b"QUEUED", "queued")
    got = c.cmd("EXEC")
    if versions:
        check(got is None, "stage 07: any write counts, got %r" % got)
    else:
        check(got == [b"OK"], "stages 01-06: same value, no conflict, got %r" % got)
    # Written and written back (ABA).
    check(c.cmd("WATCH", "k") == b"OK", "WATCH")
    check(other.cmd("SET", "k", "other") == b"OK", "other A->B")
    check(other.cmd("SET", "k", "same") == b"OK", "other B->A")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "x", "2") == b"QUEUED", "queued")
    got = c.cmd("EXEC")
    if versions:
        check(got is None, "stage 07: written back still counts, got %r" % got)
    else:
        check(got == [b"OK"], "stages 01-06: written back is unchanged, got %r" % got)
    check(s.stop() == 0, "exit status")


def test_reads_after_watch_see_the_watch_so_no_update_is_lost(tmp):
    """A balance changed and put back between WATCH and EXEC (A, B, A):
    a check by values sees no change, so the client must have computed
    from A, not B.  Its GET after WATCH reads the WATCH's view."""
    s = Server(tmp)
    c, other = s.connect(), s.connect()
    versions = compares_versions(c)
    check(c.cmd("SET", "bal", "1000") == b"OK", "SET")
    check(c.cmd("WATCH", "bal") == b"OK", "WATCH")
    check(other.cmd("SET", "bal", "980") == b"OK", "other withdraws 20")
    got = c.cmd("GET", "bal")
    check(got == b"1000", "GET after WATCH: %r, want the WATCH's 1000" % got)
    check(c.cmd("MGET", "bal", "none") == [b"1000", None], "MGET after WATCH")
    check(c.cmd("EXISTS", "bal") == 1 and c.cmd("STRLEN", "bal") == 4, "EXISTS, STRLEN")
    check(other.cmd("SET", "bal", "1000") == b"OK", "other deposits 20")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "bal", str(int(got) + 5)) == b"QUEUED", "queued")
    got = c.cmd("EXEC")
    want = None if versions else [b"OK"]
    check(got == want, "EXEC: %r, want %r" % (got, want))
    final = c.cmd("GET", "bal")
    check(final == (b"1000" if versions else b"1005"), "balance %r: an update was lost" % final)
    # Without a WATCH going on, reads see the database as it is.
    check(other.cmd("SET", "bal", "7") == b"OK", "other SET")
    check(c.cmd("GET", "bal") == b"7", "GET after EXEC reads the database")
    check(s.stop() == 0, "exit status")


def test_watch_retry_loop_succeeds_against_a_writer(tmp):
    s = Server(tmp)
    r = client(s)
    r.set("counter", "0")
    stop = threading.Event()
    bumps = [0]

    def bumper():  # another client incrementing the same counter, its own way
        w = client(s)
        while not stop.is_set() and bumps[0] < 300:
            def incr(p):
                v = int(p.get("counter"))
                p.multi()
                p.set("counter", str(v + 1))
            w.transaction(incr, "counter")
            bumps[0] += 1

    t = threading.Thread(target=bumper)
    t.start()
    retries = [0]

    def add_one(p):
        v = int(p.get("counter"))
        time.sleep(0.0005)  # widen the window between the read and EXEC
        p.multi()
        p.set("counter", str(v + 1))

    n = 200
    for _ in range(n):
        while True:  # Redis.transaction's loop, counted
            try:
                with r.pipeline() as p:
                    p.watch("counter")
                    add_one(p)
                    p.execute()
                break
            except redis.WatchError:
                retries[0] += 1
    stop.set()
    t.join(st.TIMEOUT)
    want = n + bumps[0]
    got = int(r.get("counter"))
    check(got == want, "counter %d, want %d (%d + %d): an update was lost" % (got, want, n,
                                                                            bumps[0]))
    check(bumps[0] > 0, "the other client made progress")
    print("  %d retries for %d + %d increments" % (retries[0], n, bumps[0]), flush=True)
    check(s.stop() == 0, "exit status")


def test_bank_transfers_from_several_clients_add_up(tmp, sync=False):
    s = Server(tmp, *(["--sync"] if sync else []))
    r = client(s)
    accounts = ["acct:%d" % i for i in range(8)]
    start = 1000
    r.mset({a: start for a in accounts})
    total = start * len(accounts)
    errors, done = [], [0, 0]
    stop = threading.Event()

    def transfers(seed):
        import random
        rnd = random.Random(seed)
        w = client(s)
        try:
            for _ in range(150):
                src, dst = rnd.sample(accounts, 2)
                amount = rnd.randint(1, 50)

                def move(p):
                    a, b = (int(x) for x in p.mget(src, dst))
                    p.multi()
                    if a >= amount:
                        p.mset({src: a - amount, dst: b + amount})
                w.transaction(move, src, dst)
                done[0] += 1
        except Exception as e:  # noqa: BLE001 (reported by the main thread)
            errors.append(repr(e))

    def auditor():  # MULTI; MGET; EXEC sees one moment: the sum never moves
        w = client(s)
        try:
            while not stop.is_set():
                p = w.pipeline(transaction=True)
                p.mget(accounts)
                values = p.execute()[0]
                got = sum(int(v) for v in values)
                if got != total:
                    errors.append("auditor saw a total of %d, want %d" % (got, total))
                    return
                done[1] += 1
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=transfers, args=(i,)) for i in range(6)]
    audit = threading.Thread(target=auditor)
    audit.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stop.set()
    audit.join(st.TIMEOUT)
    check(not errors, "; ".join(errors[:3]))
    check(done[0] == 6 * 150, "transfers done: %d" % done[0])
    values = [int(v) for v in r.mget(accounts)]
    check(sum(values) == total, "balances %r add up to %d, want %d" % (values, sum(values),
                                                                      total))
    check(all(v >= 0 for v in values), "no account overdrawn: %r" % values)
    check(done[1] > 0, "the auditor ran")
    check(s.stop() == 0, "exit status")
    # Durable as any write: the balances are there after a restart.
    s = Server(tmp, *(["--sync"] if sync else []))
    got = [int(v) for v in client(s).mget(accounts)]
    check(got == values, "after a restart: %r, want %r" % (got, values))
    check(s.stop() == 0, "exit status")


def test_bank_transfers_with_sync_add_up(tmp):
    test_bank_transfers_from_several_clients_add_up(tmp, sync=True)


def test_queue_limits_refuse_with_a_clear_error(tmp):
    s = Server(tmp)
    c = s.connect()
    # Words: SET k v is 3 words; the queue holds at most MULTI_ARGS.
    check(c.cmd("MULTI") == b"OK", "MULTI")
    fits = MULTI_ARGS // 3
    c.send(b"".join(encode("SET", "k%d" % i, "v") for i in range(fits + 1)))
    got = [c.reply() for _ in range(fits + 1)]
    check(all(g == b"QUEUED" for g in got[:fits]), "the first %d are queued" % fits)
    check(isinstance(got[fits], Err) and "transaction too large" in got[fits],
          "one more: %r" % got[fits])
    check(c.cmd("SET", "after", "1") == b"QUEUED", "later commands answer QUEUED")
    got = c.cmd("EXEC")
    check(isinstance(got, Err) and got.startswith("EXECABORT"), "EXEC: %r" % got)
    check(c.cmd("EXISTS", "k0", "after") == 0, "nothing applied")
    # Bytes: values of 1.5 MB until the queue holds MULTI_BYTES.
    check(c.cmd("MULTI") == b"OK", "MULTI")
    big = b"x" * (1536 * 1024)
    n = 0
    while True:
        got = c.cmd("SET", "big%d" % n, big)
        if got != b"QUEUED":
            break
        n += 1
        check(n * len(big) < MULTI_BYTES + 2 * len(big), "queued %d values: no limit" % n)
    check(isinstance(got, Err) and "transaction too large" in got, "refused: %r" % got)
    check(n * len(big) >= MULTI_BYTES - len(big), "refused after only %d values" % n)
    got = c.cmd("EXEC")
    check(isinstance(got, Err) and got.startswith("EXECABORT"), "EXEC: %r" % got)
    # WATCH's limit.
    keys = ["w%d" % i for i in range(WATCH_KEYS + 1)]
    got = c.cmd("WATCH", *keys)
    check(isinstance(got, Err) and "watch at most" in got, "WATCH of too many: %r" % got)
    check(c.cmd("WATCH", *keys[:WATCH_KEYS]) == b"OK", "WATCH of as many as allowed")
    check(isinstance(c.cmd("WATCH", "one-more"), Err), "and not one more")
    check(c.cmd("UNWATCH") == b"OK", "UNWATCH")
    check(c.cmd("PING") == b"PONG", "still served")
    check(s.stop() == 0, "exit status")


def test_disconnect_mid_multi_frees_everything(tmp):
    s = Server(tmp)
    other = s.connect()
    big = b"v" * 4096
    for round_ in range(20):
        c = s.connect()
        check(c.cmd("WATCH", "k%d" % round_, "shared") == b"OK", "WATCH")
        check(c.cmd("MULTI") == b"OK", "MULTI")
        c.send(b"".join(encode("SET", "q%d" % i, big) for i in range(500)))
        for _ in range(500):
            check(c.reply() == b"QUEUED", "queued")
        if round_ % 2:
            c.reset()  # a TCP reset
        else:
            c.close()
    # A client gone mid-EXEC: its EXEC is sent, the reply never read.
    c = s.connect()
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "last", "1") == b"QUEUED", "queued")
    c.send(encode("EXEC"))
    c.reset()
    deadline = time.time() + st.TIMEOUT
    while True:
        info = other.cmd("INFO", "clients")
        if b"connected_clients:1\r\n" in info:
            break
        check(time.time() < deadline, "clients not freed: %r" % info)
        time.sleep(0.05)
    check(other.cmd("EXISTS", "q0", "q499") == 0, "nothing of the dropped queues applied")
    # The watches went with them: a write to a watched key harms no one.
    check(other.cmd("SET", "shared", "x") == b"OK", "SET shared")
    check(other.cmd("WATCH", "shared") == b"OK", "WATCH")
    check(other.cmd("MULTI") == b"OK", "MULTI")
    check(other.cmd("SET", "shared", "y") == b"QUEUED", "queued")
    check(other.cmd("EXEC") == [b"OK"], "EXEC")
    # A client left in WATCH and MULTI at shutdown: its kv_txn is aborted
    # before kv_close, which then succeeds.
    c = s.connect()
    check(c.cmd("WATCH", "shared") == b"OK", "WATCH")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "z", "1") == b"QUEUED", "queued")
    check(s.stop() == 0, "exit status")
    check(not [l for l in s.log if "closing the database:" in l], "kv_close failed: %s" % s.log)


def test_large_exec_does_not_hold_up_others(tmp):
    """An EXEC of 1,300 SETs over 20,000 keys (on stage 01 a second of
    reads at commit): applied by the writer thread while PING answers."""
    s = Server(tmp)
    c = s.connect()
    c.send(b"".join(encode("SET", "k%06d" % i, "v" * 100) for i in range(20000)))
    for _ in range(20000):
        check(c.reply() == b"OK", "SET")
    queued = MULTI_ARGS // 3 - 65

    def exec_big(k):
        k.send(encode("MULTI") + b"".join(encode("SET", "k%06d" % i, "w" * 100)
                                          for i in range(queued)) + encode("EXEC"))
        replies = [k.reply() for _ in range(queued + 2)]
        return replies[-1]

    got, slowest, secs = st.ping_latency_during(s, exec_big)
    print("  EXEC of %d SETs over 20,000 keys: %.2f s, slowest PING %.3f s" % (queued, secs,
                                                                            slowest), flush=True)
    check(got == [b"OK"] * queued, "EXEC answered %r" % (got[:3] if got else got,))
    check(slowest < 1, "PING took %.2f s during an EXEC of %d SETs (%.2f s)" % (slowest, queued,
                                                                             secs))
    check(c.cmd("GET", "k000000") == b"w" * 100, "applied")
    check(s.stop() == 0, "exit status")


def test_watched_exec_that_writes_nothing_answers_null_as_redis(tmp):
    """An EXEC after WATCH answers *-1 when a watched key changed, whatever
    its queue holds: nothing, reads only, or writes (the engine's
    kv_txn_check for a queue that writes nothing, its commit otherwise);
    and the queue's replies when nothing changed.  Compared reply for reply
    with redis-server."""
    steps = [(0, "MSET", "a", "1", "b", "1"),
             # empty EXEC, a watched key changed
             (0, "WATCH", "a"), (1, "SET", "a", "2"), (0, "MULTI"), (0, "EXEC"),
             # read-only EXEC, a watched key changed
             (0, "WATCH", "a"), (1, "SET", "a", "3"), (0, "MULTI"), (0, "GET", "b"),
             (0, "MGET", "a", "b"), (0, "EXEC"),
             # deleted, then a write queued
             (0, "WATCH", "a", "b"), (1, "DEL", "b"), (0, "MULTI"), (0, "SET", "a", "x"),
             (0, "EXEC"), (0, "GET", "a"),
             # created
             (0, "WATCH", "new"), (1, "SET", "new", "1"), (0, "MULTI"), (0, "EXEC"),
             # nothing changed: empty, read-only, and writing EXECs answer
             (0, "WATCH", "a"), (0, "MULTI"), (0, "EXEC"),
             (0, "WATCH", "a"), (1, "SET", "other", "1"), (0, "MULTI"), (0, "GET", "a"),
             (0, "EXEC"),
             (0, "WATCH", "a"), (0, "MULTI"), (0, "SET", "a", "4"), (0, "GET", "a"),
             (0, "EXEC"),
             # EXEC ends the watches: the next EXEC is not watched
             (1, "SET", "a", "5"), (0, "MULTI"), (0, "GET", "a"), (0, "EXEC"),
             # UNWATCH too
             (0, "WATCH", "a"), (1, "SET", "a", "6"), (0, "UNWATCH"), (0, "MULTI"),
             (0, "GET", "a"), (0, "EXEC")]
    got = st.same_as_redis(tmp, steps)
    execs = [r for step, r in zip(steps, got) if step[1] == "EXEC"]
    check(execs == [None, None, None, None, [], [b"3"], [b"OK", b"4"], [b"5"], [b"6"]],
          "EXEC replies %r" % execs)
    # And through redis-py: a read-only transaction after a change raises
    # WatchError, which its retry loop takes as "again".
    s = Server(tmp + "-py")
    r = client(s)
    r.set("k", "1")
    p = r.pipeline(transaction=True)
    p.watch("k")
    r.set("k", "2")
    p.multi()
    p.get("k")
    try:
        p.execute()
        raise st.Fail("redis-py: no WatchError for a read-only EXEC after a change")
    except redis.exceptions.WatchError:
        pass
    check(s.stop() == 0, "exit status")


def test_aba_history_through_the_server(tmp):
    """kv.h's A-B-A history through WATCH (docs/server.md, "WATCH"): the
    EXEC's transaction is serializable, so a watched and read key that
    moved on answers *-1 on every stage, as in Redis; with only the
    written-back key watched, stages 01-06 apply the EXEC (compared by
    values) where stage 07 and Redis answer *-1."""
    steps = [(0, "MSET", "a", "10", "b", "20"),
             (0, "WATCH", "a", "b"), (0, "GET", "a"), (0, "GET", "b"),
             (1, "MSET", "a", "15", "b", "25"), (2, "SET", "a", "10"),
             (0, "MULTI"), (0, "SET", "a", "30"), (0, "EXEC"), (0, "MGET", "a", "b")]
    got = st.same_as_redis(tmp, steps)
    check(got[8] is None and got[9] == [b"10", b"25"], "EXEC %r, then %r" % (got[8], got[9]))
    s = Server(tmp + "-one")
    c, o2, o3 = s.connect(), s.connect(), s.connect()
    versions = compares_versions(c)
    check(c.cmd("MSET", "a", "10", "b", "20") == b"OK", "MSET")
    check(c.cmd("WATCH", "a") == b"OK" and c.cmd("GET", "a") == b"10", "WATCH a, GET a")
    check(o2.cmd("MSET", "a", "15", "b", "25") == b"OK" and o3.cmd("SET", "a", "10") == b"OK",
          "the others")
    check(c.cmd("MULTI") == b"OK" and c.cmd("SET", "a", "30") == b"QUEUED", "MULTI")
    got = c.cmd("EXEC")
    check(got is None if versions else got == [b"OK"],
          "EXEC after a written back: %r (by %s)" % (got, "versions" if versions else "values"))
    check(c.cmd("GET", "a") == (b"10" if versions else b"30"), "a")
    check(s.stop() == 0, "exit status")


def test_watch_max_age_ends_the_watch_and_its_snapshot(tmp):
    """--watch-max-age 1: a WATCH older than a second is ended by the
    server: its snapshot is freed at once (the engine's snapshots.live
    falls to 0, INFO counts it), and its EXEC answers *-1 with nothing
    applied; reads after it look at the database as it is; a new WATCH
    begins afresh."""
    s = Server(tmp, "--watch-max-age", "1")
    c, other = s.connect(), s.connect()
    check(c.cmd("SET", "a", "1") == b"OK", "SET")
    check(c.cmd("WATCH", "a") == b"OK", "WATCH")
    check(st.info_fields(c, "stats")["watching_clients"] == "1", "one client watching")
    check(st.info_fields(c, "engine")["snapshots.live"] == "1", "the WATCH holds a snapshot")
    check(other.cmd("SET", "a", "2") == b"OK", "other SET")
    check(c.cmd("GET", "a") == b"1", "a read after WATCH sees the WATCH's snapshot")
    deadline = time.time() + 10
    while st.info_fields(c, "stats")["watching_clients"] != "0" and time.time() < deadline:
        time.sleep(0.1)
    stats = st.info_fields(c, "stats")
    check(stats["watching_clients"] == "0" and stats["watch_expired"] == "1",
          "the WATCH ended: %r" % stats)
    check(st.info_fields(c, "engine")["snapshots.live"] == "0", "its snapshot freed")
    check(c.cmd("GET", "a") == b"2", "reads look at the database as it is")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "a", "mine") == b"QUEUED", "queued")
    check(c.cmd("EXEC") is None, "EXEC after the WATCH ended: *-1")
    check(c.cmd("GET", "a") == b"2", "nothing applied")
    check(c.cmd("WATCH", "a") == b"OK", "WATCH again")
    check(c.cmd("MULTI") == b"OK", "MULTI")
    check(c.cmd("SET", "a", "mine") == b"QUEUED", "queued")
    check(c.cmd("EXEC") == [b"OK"], "a new WATCH, within its age: applied")
    check(s.stop() == 0, "exit status")
    # 0: no bound; and a bad value is refused at start-up.
    s = Server(tmp + "-0", "--watch-max-age", "0")
    c = s.connect()
    check(c.cmd("WATCH", "a") == b"OK", "WATCH")
    time.sleep(1.5)
    check(st.info_fields(c, "stats")["watching_clients"] == "1", "no bound: still watching")
    check(s.stop() == 0, "exit status")
    bad = st.subprocess.run([st.KV, tmp + "-bad", "serve", "--watch-max-age", "-1"],
                            capture_output=True, timeout=st.TIMEOUT)
    check(bad.returncode == 2 and b"--watch-max-age" in bad.stderr, "a bad value refused")


def main():
    tests = [(n, f) for n, f in sorted(globals().items())
             if n.startswith("test_") and callable(f) and st.FILTER in n]
    passed = failed = 0
    for name, fn in tests:
        name = name[len("test_"):]
        print("RUN", name, flush=True)
        tmp = st.tempfile.mkdtemp(prefix="kvtxn.")
        t0 = time.time()
        why = st.run_test(name, fn, tmp)
        st.shutil.rmtree(tmp, ignore_errors=True)
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
