#!/bin/sh
# coverage_raft.sh: line and branch coverage of stage 10's own code (the
# replica, the transport, the member, its tools, and the server's files
# that only run with an extension: serve_handoff.c, serve_host.c),
# from a --coverage build (build/cov/) of its unit tests
# (build/cov/10-raft/stagetest) and of `kv serve` as a member, driven by the
# cluster test (tests/cluster/cluster_test.py, the short schedule `make
# test` runs).  Called by `make coverage-raft`; prints a table and writes
# the HTML report to build/coverage-raft/html/.
set -u
B=${1:-build/cov}
OUT=build/coverage-raft
RC="--rc lcov_branch_coverage=1"
mkdir -p "$OUT"
started=$(date +%s)
lcov -q $RC --zerocounters -d "$B" >/dev/null 2>&1
echo "coverage-raft: build/cov/10-raft/stagetest"
"$B/10-raft/stagetest" >"$OUT/stagetest.log" 2>&1 || echo "coverage-raft: stagetest reported failures ($OUT/stagetest.log)"
echo "coverage-raft: the cluster test against build/cov/10-raft/kv"
python3 tests/cluster/cluster_test.py "$B/10-raft/kv" >"$OUT/cluster.log" 2>&1 ||
    echo "coverage-raft: the cluster test reported failures ($OUT/cluster.log)"
tail -n 1 "$OUT/cluster.log"
lcov -q $RC --capture -d "$B" -o "$OUT/all.info" >"$OUT/lcov.log" 2>&1 || {
    echo "lcov failed; see $OUT/lcov.log"; exit 1; }
# The stage's own code: stages/10-raft/ without its tests, and the
# server's files only an extension runs (the writes handed over, the
# calls back).
lcov -q $RC --extract "$OUT/all.info" "$PWD/stages/10-raft/*" "$PWD/tools/serve/serve_handoff.c" \
    "$PWD/tools/serve/serve_host.c" -o "$OUT/own.all.info" >/dev/null 2>&1
lcov -q $RC --remove "$OUT/own.all.info" "*/tests/*" -o "$OUT/own.info" >/dev/null 2>&1
lcov $RC --list "$OUT/own.info" 2>/dev/null | sed -n '1,60p'
lcov $RC --summary "$OUT/own.info" 2>&1 | grep -E "lines|branches"
genhtml -q $RC --legend -o "$OUT/html" "$OUT/own.info" >"$OUT/genhtml.log" 2>&1 &&
    echo "coverage-raft: HTML report in $OUT/html/index.html"
echo "coverage-raft: $(($(date +%s) - started)) s"
