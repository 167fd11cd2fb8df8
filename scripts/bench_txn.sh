#!/bin/sh
# bench_txn.sh: transactions under load (`make bench-txn`): bench/txnbench.c
# over stages 06 and 07 and RocksDB's optimistic transactions, and
# kvbench's fillrandom and readrandom over the two stages (stage 07 is
# stage 06 with another way to find a conflict: do plain puts and gets
# pay anything for it?).  Writes the medians of the repetitions as
# Markdown tables and prints them.
#
#   sh scripts/bench_txn.sh BUILD "STAGES" [OPTION...]
#
# Options (through `make bench-txn BENCH_TXN_ARGS=...`):
#   --reps=R       repetitions (default 3)
#   --seconds=S    seconds of each transactional run, and readrandom's
#                  bound (default 2)
#   --accounts=A   accounts at low contention, and of readonly (default 100000)
#   --hot=H        accounts at high contention (default 16)
#   --num=N        keys of fillrandom and readrandom (default 1000000)
#   --publish      also copy the tables to bench/results/txn-results.md and
#                  the machine to bench/results/txn-machine.txt, and update
#                  the pages that quote them (scripts/docs_figures.sh)
#
# Each repetition runs, for each transactional configuration (transfer at
# A and at H accounts, readonly at A; 1 and 2 threads), every engine once,
# starting with a different engine each time, each on a fresh database;
# then kvbench --benchmarks=fillrandom,readrandom for each stage.  RocksDB
# (BUILD/bench/txnbench-rocksdb, skipped if it was not built) runs with
# KVBENCH_ROCKSDB_TXN=1 (an OptimisticTransactionDB), a 10-bit bloom
# filter per table as the stages have, and a write buffer of 4 MiB, the
# stages' memtable size (bench/engine_rocksdb.c).
#
# Output in build/bench/txn/: txn.csv and plain.csv (every run), results.md
# (the tables), machine.txt (date, command, machine, commit, load average
# before and after, each engine's --describe), log.txt (every line the
# programs printed).
set -u

build=${1:-build}
stages=${2:-"06-leveled 07-txn"}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi

reps=3
seconds=2
accounts=100000
hot=16
num=1000000
publish=0
for arg in "$@"; do
    case $arg in
    --reps=*) reps=${arg#*=} ;;
    --seconds=*) seconds=${arg#*=} ;;
    --accounts=*) accounts=${arg#*=} ;;
    --hot=*) hot=${arg#*=} ;;
    --num=*) num=${arg#*=} ;;
    --publish) publish=1 ;;
    *)
        echo "bench_txn.sh: unknown option '$arg'" >&2
        exit 2
        ;;
    esac
done
# The stages' default memtable (kv_options.memtable_bytes), for RocksDB.
write_buffer=4194304

out=build/bench/txn
db=$out/db
mkdir -p "$db" || exit 2
txn_csv=$out/txn.csv
plain_csv=$out/plain.csv
log=$out/log.txt
rm -f "$txn_csv" "$plain_csv" "$log"

# The engines: each stage with a txnbench, then RocksDB if it was built.
engines=
for s in $stages; do
    if [ -x "$build/$s/txnbench" ]; then
        engines="$engines $s"
    else
        echo "bench-txn: skipping stage $s: $build/$s/txnbench was not built" >&2
    fi
done
if [ -x "$build/bench/txnbench-rocksdb" ]; then
    engines="$engines rocksdb"
else
    echo "bench-txn: skipping RocksDB: $build/bench/txnbench-rocksdb was not built (librocksdb-dev)"
fi
count=$(echo "$engines" | wc -w)
if [ "$count" = 0 ]; then
    echo "bench-txn: nothing to run" >&2
    exit 2
fi

# txn_engine E ARG...: runs engine E's txnbench.
txn_engine() {
    e=$1
    shift
    case $e in
    rocksdb)
        KVBENCH_ROCKSDB_TXN=1 KVBENCH_BLOOM_BITS=10 KVBENCH_WRITE_BUFFER_BYTES=$write_buffer \
            "$build/bench/txnbench-rocksdb" "$@"
        ;;
    *) "$build/$e/txnbench" "$@" ;;
    esac
}

configs="transfer:$accounts:1 transfer:$accounts:2 transfer:$hot:1 transfer:$hot:2 readonly:$accounts:1 readonly:$accounts:2"
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "command: sh scripts/bench_txn.sh: $reps repetitions; transactions: $seconds s each," \
        "transfer at $accounts and $hot accounts, readonly at $accounts, 1 and 2 threads;" \
        "fillrandom and readrandom at $num keys"
    echo "cpu: $(nproc) x $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
    echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "kernel: $(uname -sr)"
    echo "filesystem: $(df -T "$db" | awk 'NR == 2 { print $2 " on " $1 }') ($db)"
    echo "compiler: ${CC:-cc}: $(${CC:-cc} --version | head -1)"
    v=$(dpkg-query -W -f='${Version}' librocksdb-dev 2>/dev/null) && echo "package: librocksdb-dev $v"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min, before the runs)"
    for e in $engines; do
        echo "engine: $(txn_engine "$e" --describe 2>/dev/null || echo "$e: --describe failed")"
    done
} >"$out/machine.txt"

nconfigs=$(echo "$configs" | wc -w)
nstages=$(echo "$stages" | wc -w)
total=$((reps * (nconfigs * count + nstages)))
echo "bench-txn: engines:$engines; $reps repetitions: $total runs, a line as each ends; output in $out/"
started=$(date +%s)
failures=0
k=0
r=1
while [ "$r" -le "$reps" ]; do
    for c in $configs; do
        w=${c%%:*}
        rest=${c#*:}
        a=${rest%%:*}
        t=${rest#*:}
        i=0
        while [ "$i" -lt "$count" ]; do
            e=$(echo "$engines" | awk -v k="$(((i + r - 1) % count + 1))" '{ print $k }')
            t0=$(date +%s.%N)
            txn_engine "$e" --workload="$w" --accounts="$a" --threads="$t" --seconds="$seconds" \
                --rep="$r" --db="$db" --csv="$txn_csv" >>"$log" 2>&1
            rc=$?
            status=
            [ "$rc" != 0 ] && status="  FAILED (exit $rc; see $log)" && failures=$((failures + 1))
            k=$((k + 1))
            awk -v k="$k" -v K="$total" -v r="$r" -v R="$reps" -v c="$w, $a accounts, $t thr" \
                -v e="$e" -v a="$t0" -v b="$(date +%s.%N)" -v s="$status" \
                'BEGIN { printf "  [%d/%d] rep %d/%d  %-32s %-11s %5.1f s%s\n", k, K, r, R, c, e, b - a, s }'
            i=$((i + 1))
        done
    done
    for s in $stages; do
        [ -x "$build/$s/kvbench" ] || continue
        t0=$(date +%s.%N)
        "$build/$s/kvbench" --num="$num" --seconds="$seconds" --fill_seconds=300 --rep="$r" \
            --db="$db" --csv="$plain_csv" --benchmarks=fillrandom,readrandom >>"$log" 2>&1
        rc=$?
        status=
        [ "$rc" != 0 ] && status="  FAILED (exit $rc; see $log)" && failures=$((failures + 1))
        k=$((k + 1))
        awk -v k="$k" -v K="$total" -v r="$r" -v R="$reps" -v c="fillrandom, readrandom, $num keys" \
            -v e="$s" -v a="$t0" -v b="$(date +%s.%N)" -v s="$status" \
            'BEGIN { printf "  [%d/%d] rep %d/%d  %-32s %-11s %5.1f s%s\n", k, K, r, R, c, e, b - a, s }'
    done
    r=$((r + 1))
done
rm -rf "$db"
echo "runs: $(($(date +%s) - started)) s; $failures failed; load average after: $(cut -d' ' -f1-3 /proc/loadavg)" \
    >>"$out/machine.txt"
echo "bench-txn: runs took $(($(date +%s) - started)) s; $failures failed"

# ---- the tables ----------------------------------------------------------------------
# Medians over the repetitions (the mean of the two middle ones for an even
# count), per engine and configuration.
awk_lib='
function commas(x,    s) {
    x = sprintf("%.0f", x); s = ""
    while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
    return x s
}
function fmt(x) { x += 0; return x >= 1000 ? commas(x) : x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x) }
# The median of the numbers in the string s (separated by spaces).
function median_of(s,    n, a, i, j, t) {
    n = split(s, a, " ")
    if (n == 0) return ""
    for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
'
md=$out/results.md
{
    echo "# Transactions under load (make bench-txn)"
    echo
    echo "Medians of $reps repetitions; machine and run in machine.txt."
    echo
    awk -F, "$awk_lib"'
    function median(key, col) { return median_of(V[key, col]) }
    NR == 1 { for (i = 1; i <= NF; i++) C[$i] = i; next }
    {
        cfg = $C["workload"] ", " $C["accounts"] " accounts, " $C["threads"] (($C["threads"] == 1) ? " thread" : " threads")
        if (!(cfg in seenc)) { seenc[cfg] = 1; NC++; CFG[NC] = cfg }
        if (!($1 in seene)) { seene[$1] = 1; NE++; ENG[NE] = $1 }
        key = $1 SUBSEP cfg
        for (c in C) V[key, c] = V[key, c] " " $C[c]
    }
    END {
        print "## Commits per second"
        print ""
        print "A transfer reads two balances and writes both in one transaction, retried"
        print "until it commits; readonly reads two and commits.  Snapshot isolation on"
        print "every engine; sync = 0."
        print ""
        line = "| workload | "; sep = "|---|"
        for (e = 1; e <= NE; e++) { line = line ENG[e] " | "; sep = sep "---:|" }
        if (("07-txn" in seene) && ("06-leveled" in seene)) { line = line "07 / 06 | "; sep = sep "---:|" }
        for (e = 1; e <= NE; e++) if (ENG[e] ~ /^rocksdb/ && ("07-txn" in seene)) { line = line "07 / " ENG[e] " | "; sep = sep "---:|"; rk = ENG[e] }
        sub(/ $/, "", line); print line; print sep
        for (c = 1; c <= NC; c++) {
            line = "| " CFG[c] " | "
            for (e = 1; e <= NE; e++) {
                m[e] = ((ENG[e], CFG[c], "commits_per_sec") in V) ? median(ENG[e] SUBSEP CFG[c], "commits_per_sec") : ""
                line = line (m[e] == "" ? "-" : fmt(m[e])) " | "
                M[ENG[e]] = m[e]
            }
            if (("07-txn" in seene) && ("06-leveled" in seene))
                line = line (M["06-leveled"] > 0 ? sprintf("%.2fx", M["07-txn"] / M["06-leveled"]) : "-") " | "
            if (rk != "") line = line (M[rk] > 0 ? sprintf("%.2fx", M["07-txn"] / M[rk]) : "-") " | "
            sub(/ $/, "", line); print line
        }
        print ""
        print "## Aborts and latency"
        print ""
        print "Aborted: commits refused for a conflict, in % of the attempts (RocksDB"
        print "also refuses a transaction whose snapshot is older than its memtables:"
        print "counted in, and shown after a slash if any).  Latency of a transaction,"
        print "from its first begin to its commit, retries included: p50 / p99 in µs;"
        print "last column, p99 of a single attempt (begin to commit or conflict)."
        print ""
        print "| workload | engine | aborted | p50 µs | p99 µs | p99 µs, one attempt |"
        print "|---|---|---:|---:|---:|---:|"
        for (c = 1; c <= NC; c++)
            for (e = 1; e <= NE; e++) {
                key = ENG[e] SUBSEP CFG[c]
                if (!((ENG[e], CFG[c], "abort_rate") in V)) continue
                un = median(key, "unchecked")
                printf "| %s | %s | %.2f%%%s | %s | %s | %s |\n", CFG[c], ENG[e], 100 * median(key, "abort_rate"),
                    (un > 0 ? sprintf(" / %s unchecked", fmt(un)) : ""),
                    fmt(median(key, "p50")), fmt(median(key, "p99")), fmt(median(key, "p99_attempt"))
            }
    }' "$txn_csv"
    if [ -s "$plain_csv" ]; then
        echo
        echo "## Plain puts and gets: stage 07 against stage 06"
        echo
        echo "kvbench --num=$num --benchmarks=fillrandom,readrandom: operations per second"
        echo "(median) and the ratio, with each repetition's in parentheses."
        echo
        awk -F, "$awk_lib"'
        function median(s) { return median_of(s) }
        NR == 1 { for (i = 1; i <= NF; i++) C[$i] = i; next }
        $1 == "engine" { next }
        {
            w = $C["workload"]; if (!(w in seen)) { seen[w] = 1; NW++; W[NW] = w }
            V[$1, w] = V[$1, w] " " $C["ops_per_sec"]; R[$1, w, $C["rep"]] = $C["ops_per_sec"]
            if ($C["rep"] + 0 > maxrep) maxrep = $C["rep"] + 0
        }
        END {
            print "| workload | 06-leveled ops/s | 07-txn ops/s | 07 / 06 |"
            print "|---|---:|---:|---:|"
            for (i = 1; i <= NW; i++) {
                a = median(V["06-leveled", W[i]]); b = median(V["07-txn", W[i]])
                each = ""
                for (r = 1; r <= maxrep; r++)
                    if (R["06-leveled", W[i], r] > 0 && R["07-txn", W[i], r] != "")
                        each = each (each == "" ? "" : ", ") sprintf("%.2fx", R["07-txn", W[i], r] / R["06-leveled", W[i], r])
                printf "| %s | %s | %s | **%s** (%s) |\n", W[i], fmt(a), fmt(b), (a > 0 ? sprintf("%.2fx", b / a) : "-"), each
            }
        }' "$plain_csv"
    fi
} >"$md"
echo
cat "$md"
if [ "$publish" = 1 ]; then
    mkdir -p bench/results
    cp "$md" bench/results/txn-results.md &&
        cp "$out/machine.txt" bench/results/txn-machine.txt &&
        cp "$txn_csv" bench/results/txn-txn.csv &&
        cp "$plain_csv" bench/results/txn-plain.csv &&
        echo "bench-txn: copied to bench/results/txn-*" &&
        sh scripts/docs_figures.sh
fi
[ "$failures" = 0 ]
