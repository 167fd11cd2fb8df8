#!/usr/bin/env python3
"""server_atomic_reads.py: reads of several keys through `kv serve` are
atomic (`make serve-atomic-reads`).

    python3 tests/server_atomic_reads.py [--seconds S] build/S/kv...

For each kv binary given (a stage each), without and with --sync: for S
seconds (default 60) three writers keep a == b (pipelined MSETs, and
MULTI/EXECs) and make c and d exist together or not at all (MSET c d,
DEL c d), while a reader pipelines MGET a b and EXISTS c d; every MGET must
answer a == b, every EXISTS 0 or 2 (tests/server_test.py,
reads_are_atomic; `make test` runs it for 2 s per mode).  Prints "ok" or
"FAIL" per stage and mode, then the reads, torn reads and writes of each
run, and "N passed, N failed".
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
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("kv", nargs="+")
    a = ap.parse_args()
    passed = failed = 0
    figures = []
    for kv in a.kv:
        st.KV = kv
        for opts in ((), ("--sync",)):
            label = "%s: reads_are_atomic%s" % (kv, "".join(" " + o for o in opts))
            print("RUN", label, flush=True)
            st.FIGURES.clear()
            tmp = tempfile.mkdtemp(prefix="kvatomic.")
            t0 = time.time()
            why = st.run_test(label, lambda d: st.reads_are_atomic(d, *opts, seconds=a.seconds),
                              tmp)
            shutil.rmtree(tmp, ignore_errors=True)
            if why is None:
                print("ok %s (%.1f s)" % (label, time.time() - t0), flush=True)
                passed += 1
            else:
                print("FAIL %s: %s" % (label, why), flush=True)
                failed += 1
            figures += [(kv, k, v) for k, v in sorted(st.FIGURES.items())]
    print("\nfigures (%.0f s per run):" % a.seconds)
    for kv, k, v in figures:
        print("  %-24s %-36s %10d" % (kv, k, v))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
