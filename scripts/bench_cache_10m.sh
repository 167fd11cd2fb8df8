#!/bin/sh
# bench_cache_10m.sh: gets at ten million keys, every engine reading its
# own database in one settled state, in rounds that alternate
# (`make bench-cache-10m`; docs/perf-09-cache.md).
#
#   sh scripts/bench_cache_10m.sh BUILD [--keys=N] [--rounds=R] [--seconds=S]
#       [--engines="E1 E2 ..."] [--db=DIR] [--refill] [--publish]
#
# First, each engine's database is made once and kept (kvbench
# --use_existing_db=1): N keys by fillrandom, then the engine's full
# compaction (kvbench's settle: the LSM engines' levels merged, nothing
# pending; LMDB's is nothing, a B+tree is settled after its load), in
# DIR/ENGINE (default /var/tmp/kv-cache10m: some 6 GB for the five
# engines).  A database made before is read again as it is, unless
# --refill, or its stamp (DIR/ENGINE.made) names another key count,
# another engine or version (kvbench --describe), or another
# KV_COMPRESSION; a stage whose table format changed needs --refill.
# Then R rounds (default 5): in each, every engine, its database's files
# read once first so that it starts from the page cache, runs readrandom (N
# uniform gets) and readzipf (N zipfian gets, skew 0.99), each bounded by
# S seconds (default 10), in a fresh process, the order of the engines
# reversed every other round, so that a slow drift of a shared machine
# falls on all of them.  Printed: each engine's operations per second
# round by round and their median, and each target's ratio (stage 09's
# gets over a peer's in the same round) with its median and range;
# BUILD/bench/cache10m.md has it all.  --publish copies that to
# bench/results/cache10m-results.md and updates the pages that quote it
# (scripts/docs_figures.sh).
#
# Engines: 08-vlog and 09-cache (BUILD/S/kvbench, every option the
# stage's default, compression too: stage 08's blocks compressed whole
# with lz4, stage 09's values compressed one by one; KV_COMPRESSION=none
# in the environment stores their data blocks raw, as LMDB stores its
# pages, and =lz4 or =lz4-values picks the other kinds: bench/engine_kv.c),
# leveldb-bloom (10 bits a key), rocksdb-cache (its read path matched to
# stage 09's: bench/engine_rocksdb.c), lmdb; and 09-cache-raw, stage 09
# with KV_COMPRESSION=none whatever the environment says, on a database of
# its own: a second row, labelled, beside the headline of the defaults.
# An engine whose binary is missing is left out, and said so.  The table
# of throughput ends with each database's size on disk after its fill and
# settle (kvbench's "fillrandom db" line, kept in DIR/ENGINE.made).
set -eu
build=${1:?usage: bench_cache_10m.sh BUILD [OPTION...]}
shift
keys=10000000 rounds=5 seconds=10 refill=0 publish=0
engines="08-vlog 09-cache 09-cache-raw leveldb-bloom rocksdb-cache lmdb"
dbroot=/var/tmp/kv-cache10m
for arg in "$@"; do
    case $arg in
    --keys=*) keys=${arg#*=} ;;
    --rounds=*) rounds=${arg#*=} ;;
    --seconds=*) seconds=${arg#*=} ;;
    --engines=*) engines=${arg#*=} ;;
    --db=*) dbroot=${arg#*=} ;;
    --refill) refill=1 ;;
    --publish) publish=1 ;;
    *) echo "bench_cache_10m: unknown option $arg" >&2; exit 2 ;;
    esac
done
out=$build/bench
mkdir -p "$out" "$dbroot"
KV_COMPRESSION=${KV_COMPRESSION-}
export KV_COMPRESSION
report=$out/cache10m.md
rows=$out/cache10m-rounds.txt
: >"$rows"

# The binary and environment of engine $1: sets bin and ev.
engine_of() {
    ev=KVBENCH_NONE=1
    case $1 in
    leveldb-bloom) bin=$build/bench/kvbench-leveldb ev=KVBENCH_BLOOM_BITS=10 ;;
    rocksdb-cache) bin=$build/bench/kvbench-rocksdb ev=KVBENCH_ROCKSDB_CACHE=1 ;;
    lmdb) bin=$build/bench/kvbench-lmdb ;;
    09-cache-raw) bin=$build/09-cache/kvbench ev=KV_COMPRESSION=none ;;
    *) bin=$build/$1/kvbench ;;
    esac
}

ran=
for e in $engines; do
    engine_of "$e"
    if [ ! -x "$bin" ]; then
        echo "bench_cache_10m: leaving out $e: $bin was not built" >&2
        continue
    fi
    ran="$ran $e"
done
[ -n "$ran" ] || { echo "bench_cache_10m: no engine to run" >&2; exit 2; }

# ---- each engine's database, made once -------------------------------------
for e in $ran; do
    engine_of "$e"
    stamp="keys $keys; $(env "$ev" "$bin" --describe)"
    case $e in
    09-cache-raw) stamp="$stamp; KV_COMPRESSION=none" ;;
    0*) stamp="$stamp; KV_COMPRESSION=${KV_COMPRESSION:-}" ;;
    esac
    made=$dbroot/$e.made
    if [ "$refill" = 0 ] && [ -d "$dbroot/$e/main" ] && [ -f "$made" ] &&
        [ "$(head -1 "$made")" = "$stamp" ]; then
        echo "bench_cache_10m: $e: the database made before ($(sed -n 2p "$made"))"
        continue
    fi
    echo "bench_cache_10m: $e: filling $keys keys, then settling it (minutes)"
    rm -rf "${dbroot:?}/$e" "$made"
    env "$ev" "$bin" --num="$keys" --fill_seconds=1000000 --db="$dbroot/$e" --use_existing_db=1 \
        --benchmarks=fillrandom,settle >"$dbroot/$e.fill.txt" 2>&1 ||
        { cat "$dbroot/$e.fill.txt" >&2; exit 1; }
    {
        echo "$stamp"
        echo "made $(date -u '+%Y-%m-%d %H:%M UTC') at commit $(git rev-parse --short HEAD 2>/dev/null)"
        grep -E '^(fillrandom|settle|fillrandom db) ' "$dbroot/$e.fill.txt"
    } >"$made"
done

# ---- the rounds ---------------------------------------------------------------
# Each run starts with its database's files in the page cache: they are
# read whole first.  This machine's page cache does not keep a database
# read minutes ago (a first round once read stage 09's from the disk at
# 18,000 gets a second, and LMDB's from memory), and a run that reads the
# disk measures the disk.
warm() {
    find "$1" -type f -exec cat {} + >/dev/null
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
date=$(date -u '+%Y-%m-%d %H:%M UTC')
r=1
while [ "$r" -le "$rounds" ]; do
    order=$ran
    if [ $((r % 2)) = 0 ]; then
        order=
        for e in $ran; do order="$e $order"; done
    fi
    for e in $order; do
        engine_of "$e"
        warm "$dbroot/$e"
        env "$ev" "$bin" --num="$keys" --seconds="$seconds" --db="$dbroot/$e" --use_existing_db=1 \
            --benchmarks=readrandom,readzipf >"$out/cache10m-run.txt" 2>&1 ||
            { cat "$out/cache10m-run.txt" >&2; exit 1; }
        awk -v r="$r" -v e="$e" '$2 == ":" && $6 == "ops/sec;" { print r, e, $1, $5 }
            $1 == "fillrandom" && $2 == "db" { for (i = 1; i <= NF; i++) if ($i == "RSS") print r, e, "peak_rss_mb", $(i + 1) }' \
            "$out/cache10m-run.txt" >>"$rows"
    done
    echo "bench_cache_10m: round $r of $rounds done"
    r=$((r + 1))
done

# ---- the report -----------------------------------------------------------------
{
    echo "## make bench-cache-10m: $keys keys, each engine on its own settled database"
    echo
    echo "### The run"
    echo
    echo "    date: $date"
    echo "    command: sh scripts/bench_cache_10m.sh $build --keys=$keys --rounds=$rounds --seconds=$seconds"
    echo "    cpu: $(nproc) x $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
    echo "    memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "    filesystem: $(df -T "$dbroot" | awk 'NR == 2 { print $2 " on " $1 }') ($dbroot)"
    for p in libleveldb-dev librocksdb-dev liblmdb-dev; do
        v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null) && echo "    package: $p $v"
    done
    echo "    stages 08 and 09: KV_COMPRESSION=${KV_COMPRESSION:-(unset: each stage's default)} (none: data blocks stored raw)"
    echo "    commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "    load average: $load_before (1, 5, 15 min, before the rounds); after: $(cut -d' ' -f1-3 /proc/loadavg)"
    for e in $ran; do
        engine_of "$e"
        echo "    engine: $(env "$ev" "$bin" --describe 2>/dev/null)"
        echo "    database of $e: $(sed -n 2p "$dbroot/$e.made")"
        sed -n '3,$p' "$dbroot/$e.made" | sed 's/^/        /'
    done
    echo
    # shellcheck disable=SC2086 # the engines are words
    python3 - "$rows" "$dbroot" $ran <<'EOF'
import collections, statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
dbroot = sys.argv[2]
engines = sys.argv[3:]
v = collections.defaultdict(dict)            # (workload, engine) -> {round: value}
for r, e, w, x in rows:
    v[(w, e)][int(r)] = float(x)
def fmt(x):
    return "{:,.0f}".format(x)
targets = [("readzipf", "09-cache", "lmdb", 1.0), ("readrandom", "09-cache", "lmdb", 1.0),
           ("readzipf", "09-cache", "leveldb-bloom", 2.0), ("readzipf", "09-cache", "rocksdb-cache", 1.0),
           ("readrandom", "09-cache", "08-vlog", 1.0),
           ("readzipf", "09-cache-raw", "lmdb", 1.0), ("readrandom", "09-cache-raw", "lmdb", 1.0)]
print("### Targets")
print()
print("Each target: stage 09's gets per second at least a factor times a peer's, as the median")
print("of the rounds' ratios (each round's ratio is of two runs minutes apart).  09-cache runs")
print("the stage's defaults, the headline; 09-cache-raw, its blocks stored raw, is a second row.")
print()
print("| target | median ratio (range; each round) | |")
print("|---|---|---|")
for w, a, b, f in targets:
    if (w, a) not in v or (w, b) not in v:
        continue
    rs = [v[(w, a)][r] / v[(w, b)][r] for r in sorted(v[(w, a)]) if r in v[(w, b)] and v[(w, b)][r] > 0]
    if not rs:
        continue
    m = statistics.median(rs)
    print("| `%s` of %s at least %gx %s's | **%.2fx** (%.2fx to %.2fx; %s) | %s |"
          % (w, a, f, b, m, min(rs), max(rs), ", ".join("%.2fx" % x for x in rs),
             "met" if m >= f else "**not met**"))
print()
print("### Throughput (operations per second, median of the rounds)")
print()
print("| workload | " + " | ".join(engines) + " |")
print("|---|" + "---:|" * len(engines))
for w in ("readrandom", "readzipf"):
    cells = []
    for e in engines:
        xs = list(v.get((w, e), {}).values())
        cells.append(fmt(statistics.median(xs)) if xs else "")
    print("| %s | %s |" % (w, " | ".join(cells)))
rss = []
for e in engines:
    xs = list(v.get(("peak_rss_mb", e), {}).values())
    rss.append("%.0f" % statistics.median(xs) if xs else "")
print("| peak RSS of a round's process, MB | %s |" % " | ".join(rss))
size = []
for e in engines:
    mb = ""
    try:
        for line in open("%s/%s.made" % (dbroot, e)):
            w = line.split()
            if w[:2] == ["fillrandom", "db"] and "MB" in w:
                mb = "{:,.0f}".format(float(w[w.index("MB") - 1]))
    except OSError:
        pass
    size.append(mb)
print("| database on disk after its fill and settle, MB | %s |" % " | ".join(size))
print()
print("### Each round")
print()
print("| workload | engine | " + " | ".join("round %d" % r for r in sorted({int(x[0]) for x in rows})) + " |")
print("|---|---|" + "---:|" * len({x[0] for x in rows}))
for w in ("readrandom", "readzipf"):
    for e in engines:
        d = v.get((w, e), {})
        print("| %s | %s | %s |" % (w, e, " | ".join(fmt(d[r]) if r in d else "" for r in sorted(d))))
EOF
} >"$report"
cat "$report"
if [ "$publish" = 1 ]; then
    cp "$report" bench/results/cache10m-results.md
    sh scripts/docs_figures.sh
fi
