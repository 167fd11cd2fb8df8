#!/bin/sh
# bench_cache_rss.sh: `make bench-cache-rss`: the resident memory of stages
# 08 and 09 holding 10 and 20 million keys with a 64 MiB cache budget
# (build/S/rss, bench/rss.c: loaded in random order, closed, reopened, a
# million random gets), stage 09 three times: with its tables mapped (the
# default), read with positioned reads (--no-map: kv_options.map_tables =
# KV_NO_MAP), and read so with tables of partitions too (--partitions:
# kv_options.table_partitions = KV_PARTITIONS), and mapped with tables of
# partitions and a mapping budget as large as the cache's (--map-bytes:
# kv_options.map_bytes), with the run's description, to
# build/bench/cache-rss/results.md.  --publish also copies it to
# bench/results/cache-rss-results.md and updates docs/perf-09-cache.md
# (scripts/docs_figures.sh).
#
#   sh scripts/bench_cache_rss.sh BUILD_DIR [--publish] [--keys="10000000 20000000"] [--report]
#
# --report runs nothing: it writes the results again from the last run's
# rows (build/bench/cache-rss/rows.txt) and description.
#
# The databases go to /var/tmp (a disk, as a user's would be).
set -u
build=${1:?usage: sh scripts/bench_cache_rss.sh BUILD_DIR [--publish] [--keys=LIST]}
shift
publish=0
report=0
sizes="10000000 20000000"
for a in "$@"; do
    case $a in
    --publish) publish=1 ;;
    --report) report=1 ;;
    --keys=*) sizes=${a#--keys=} ;;
    *) echo "bench_cache_rss.sh: unknown argument $a" >&2; exit 2 ;;
    esac
done
budget=67108864
gets=1000000
out=build/bench/cache-rss
mkdir -p "$out"
res=$out/results.md
rows=$out/rows.txt
if [ "$report" = 1 ]; then
    sizes=
    sed -n '1,/each run:/p' "$res" >"$res.head" && echo >>"$res.head"
else
    : >"$rows"
fi
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD -- common include bench stages 2>/dev/null; then
    commit="$commit (with changes not committed)"
fi
{
    echo "## cache-rss: resident memory with a 64 MiB budget, stages 08 and 09"
    echo
    echo "### The run"
    echo
    echo "    date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "    command: make bench-cache-rss CACHE_RSS_ARGS=\"$*\""
    echo "    filesystem: $(df -T /var/tmp 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 }') (/var/tmp)"
    echo "    commit: $commit"
    echo "    load average: $(cut -d ' ' -f 1-3 /proc/loadavg) (1, 5, 15 min, before the runs)"
    echo "    each run: build/S/rss --keys=N --gets=$gets --order=random --cache=$budget [--no-map] [--partitions] [--map-bytes=$budget]"
    echo
} >"$res"
[ "$report" = 1 ] && mv "$res.head" "$res"
for n in $sizes; do
    for run in 08-vlog 09-cache 09-cache:--no-map 09-cache:--no-map,--partitions \
        09-cache:--partitions,--map-bytes=$budget; do
        s=${run%%:*}
        flag=
        case $run in *:*) flag=$(echo "${run#*:}" | tr ',' ' ') ;; esac
        name=$s$(echo "$flag" | tr -d ' ')
        db=$(mktemp -d /var/tmp/cache_rss.XXXXXX)
        rmdir "$db"
        # shellcheck disable=SC2086 # flag is words or nothing
        if ! "$build/$s/rss" --keys="$n" --gets=$gets --order=random --cache=$budget $flag \
            --db="$db" >"$out/$name-$n.txt" 2>&1; then
            cat "$out/$name-$n.txt" >&2
            rm -rf "$db"
            echo "bench_cache_rss.sh: $name at $n keys failed" >&2
            exit 1
        fi
        rm -rf "$db"
        cat "$out/$name-$n.txt"
        grep '^rss-row: ' "$out/$name-$n.txt" | cut -d ' ' -f 2- >>"$rows"
    done
done
# The bound of the budgeted run: the cache's budget, the mapping budget,
# the write buffer's (memtable_bytes: stage 08's default, 64 MiB; the open
# rebuilds the memtable from the log, up to that), and a constant for what
# is none of them (the program's own pages, threads' stacks, open tables'
# structures and top levels, the doorkeeper, the allocator's slack).
memtable_mib=64
constant_mib=24
awk -v budget="$budget" -v constant="$constant_mib" -v memtable="$memtable_mib" '
function group(x,    s, out) {
    s = sprintf("%.0f", x); out = ""
    while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
    return s out
}
function target(st, label,    r, g) {
    if (!((st, big) in rss) || !(("08-vlog", big) in rss))
        return
    r = rss[st, big] / rss["08-vlog", big]
    printf "| %s at %s keys at most 0.5x the RSS of 08-vlog | %.0f / %.0f MiB = **%.2fx** (the heap alone: %.0f / %.0f MiB = %.2fx) | %s |\n", label, group(big), rss[st, big], rss["08-vlog", big], r, anon[st, big], anon["08-vlog", big], anon["08-vlog", big] ? anon[st, big] / anon["08-vlog", big] : 0, r <= 0.5 ? "met" : "**not met**"
    if (nk > 1 && (st, small) in rss) {
        g = rss[st, big] / rss[st, small]
        printf "| %s flat from %s to %s keys (at most 1.1x) | %.0f / %.0f MiB = **%.2fx** (the heap alone: %.2fx) | %s |\n", label, group(small), group(big), rss[st, big], rss[st, small], g, anon[st, small] ? anon[st, big] / anon[st, small] : 0, g <= 1.1 ? "met" : "**not met**"
    }
    printf "| %s at %s keys: a get'"'"'s time against 08-vlog'"'"'s (reads, not a target here) | %.2f / %.2f us = %.2fx | |\n", label, group(big), us[st, big], us["08-vlog", big], us["08-vlog", big] ? us[st, big] / us["08-vlog", big] : 0
}
function bound(st, label,    i, k, b) {
    for (i = 1; i <= nk; i++) {
        k = ks[i]
        if (!((st, k) in rss))
            continue
        b = 2 * budget / 1048576 + memtable + constant
        printf "| %s at %s keys: peak RSS at most cache_bytes + map_bytes + memtable_bytes + %d MiB (%d MiB) | peak %.0f MiB (after the gets %.0f: heap %.0f, mapped files %.0f; the memtable rebuilt at the open %.0f) | %s |\n", label, group(k), constant, b, peak[st, k], rss[st, k], anon[st, k], file[st, k], mem[st, k], peak[st, k] <= b ? "met" : "**not met**"
    }
}
{
    how = $9 == "positioned" ? ", positioned reads" : ""
    if ($9 == "positioned/partitions") how = ", positioned reads, partitions"
    reads = $9
    if ($11 > 0) {
        how = ", mapped within map_bytes, partitions"
        reads = sprintf("%s, map_bytes %.0f MiB", $9, $11 / 1048576)
    }
    st = $1 how; k = $2
    rss[st, k] = $5; anon[st, k] = $6; file[st, k] = $7; peak[st, k] = $8; us[st, k] = $10
    mem[st, k] = $12
    row[++n] = sprintf("| %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f |", $1, group(k), reads, $4, $5, $6, $7, $8, $10)
    if (!(k in seen)) { seen[k] = 1; ks[++nk] = k }
}
END {
    print "### Memory"
    print ""
    print "VmRSS of the process that reopened the database and made the gets, in MiB, and what it is made of after the gets: anonymous memory (the heap: caches, memtables, every open table'"'"'s index and filter) and pages of the table files it maps.  Tables are read through mappings (mapped, the default; with map_bytes, at most that many bytes of table files mapped at once, the rest read with positioned reads), or with positioned reads into the cache (positioned: kv_options.map_tables = KV_NO_MAP); /partitions: tables of partitions (kv_options.table_partitions = KV_PARTITIONS), an open table keeping only their top level.  The last column is a get'"'"'s mean time in the same run, in microseconds."
    print ""
    print "| stage | keys | tables read | after kv_open | after the gets | of which heap | of which mapped files | peak | us per get |"
    print "|---|---:|---|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= n; i++) print row[i]
    print ""
    print "### Targets"
    print ""
    print "| target | result | |"
    print "|---|---|---|"
    big = ks[nk]; small = ks[1]
    target("09-cache", "09-cache")
    target("09-cache, positioned reads", "09-cache with positioned reads")
    target("09-cache, positioned reads, partitions", "09-cache with positioned reads and tables of partitions")
    target("09-cache, mapped within map_bytes, partitions", "09-cache mapped within map_bytes, with tables of partitions")
    bound("09-cache, mapped within map_bytes, partitions", "09-cache mapped within map_bytes (64 MiB), with tables of partitions")
}' "$rows" >>"$res"
cat "$res"
if [ "$publish" = 1 ]; then
    cp "$res" bench/results/cache-rss-results.md
    sh scripts/docs_figures.sh docs/perf-09-cache.md
    echo "bench-cache-rss: published bench/results/cache-rss-results.md and docs/perf-09-cache.md"
fi
