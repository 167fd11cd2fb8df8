#!/usr/bin/env python3
"""server_stress.py: the acceptance run of `kv serve` (`make serve-stress`).

    python3 tests/server_stress.py [--rounds N] [--clients N] [--seconds S]
                                   [--seed N] build/S/kv...

Runs, for each kv binary given (a stage each), the tests of
tests/server_test.py that guard the server against its clients, at full
size: RESET_ROUNDS rounds (default 20) of RESET_CLIENTS clients (60) that
pipeline requests and close with a reset while their replies are pending,
with and without --sync; clients closing at random points for S seconds
(10) with and without --sync; the server under an open-file limit of 64
and 256 over a database of many tables (idle CPU, writes once the clients
leave); a pathological SCAN MATCH and KEYS; a 200,000-key DEL with and
without --sync, each with another client's PING timed; an MSET and a DEL
larger than a batch may be, refused, and SETs of several clients that
together pass that bound, applied.  Prints "ok" or
"FAIL" per test and stage, then every figure measured (seconds), and
"N passed, N failed".  `make test` runs the same tests smaller.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_test as st  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--clients", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("kv", nargs="+")
    a = ap.parse_args()
    st.RESET_ROUNDS = a.rounds
    st.RESET_CLIENTS = a.clients
    st.RANDOM_CLOSE_SECONDS = a.seconds
    tests = [
        ("reset_clients_with_replies_pending", lambda d: st.reset_clients_with_replies_pending(d)),
        ("reset_clients_with_replies_pending --sync",
         lambda d: st.reset_clients_with_replies_pending(d, "--sync")),
        ("clients_closing_at_random_points",
         lambda d: st.clients_closing_at_random_points(d, seed=a.seed)),
        ("clients_closing_at_random_points --sync",
         lambda d: st.clients_closing_at_random_points(d, "--sync", seed=a.seed)),
        ("open_file_limit_keeps_the_server_idle", st.test_open_file_limit_keeps_the_server_idle),
        ("pathological_scan_match_does_not_hold_up_others",
         st.test_pathological_scan_match_does_not_hold_up_others),
        ("large_del_does_not_hold_up_others", lambda d: st.large_del(d)),
        ("large_del_does_not_hold_up_others --sync", lambda d: st.large_del(d, "--sync")),
        ("writes_larger_than_a_batch", lambda d: st.writes_larger_than_a_batch(d, full=True)),
    ]
    passed = failed = 0
    figures = []
    for kv in a.kv:
        st.KV = kv
        for name, fn in tests:
            label = "%s: %s" % (kv, name)
            print("RUN", label, flush=True)
            st.FIGURES.clear()
            tmp = tempfile.mkdtemp(prefix="kvstress.")
            t0 = time.time()
            why = st.run_test(name, fn, tmp)
            shutil.rmtree(tmp, ignore_errors=True)
            if why is None:
                print("ok %s (%.1f s)" % (label, time.time() - t0), flush=True)
                passed += 1
            else:
                print("FAIL %s: %s" % (label, why), flush=True)
                failed += 1
            figures += [(kv, k, v) for k, v in st.FIGURES.items()]
    if figures:
        print("\nfigures (seconds unless named otherwise):")
        for kv, k, v in figures:
            print("  %-28s %-52s %8.3f" % (kv, k, v) if isinstance(v, float)
                  else "  %-28s %-52s %8d" % (kv, k, v))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
