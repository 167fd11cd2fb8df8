#!/bin/sh
# bench_cache_rss.sh: `make bench-cache-rss`: the resident memory of stages
# 08 and 09 holding 10 and 20 million keys with a 64 MiB cache budget
# (build/S/rss, bench/rss.c: loaded in random order, closed, reopened, a
# million random gets), with the run's description, to
# build/bench/cache-rss/results.md.  --publish also copies it to
# bench/results/cache-rss-results.md and updates docs/09-cache.md
# (scripts/docs_figures.sh).
#
#   sh scripts/bench_cache_rss.sh BUILD_DIR [--publish] [--keys="10000000 20000000"]
#
# The databases go to /var/tmp (a disk, as a user's would be).
set -u
build=${1:?usage: sh scripts/bench_cache_rss.sh BUILD_DIR [--publish] [--keys=LIST]}
shift
publish=0
sizes="10000000 20000000"
for a in "$@"; do
    case $a in
    --publish) publish=1 ;;
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
: >"$rows"
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
    echo "    each run: build/S/rss --keys=N --gets=$gets --order=random --cache=$budget"
    echo
} >"$res"
for n in $sizes; do
    for s in 08-vlog 09-cache; do
        db=$(mktemp -d /var/tmp/cache_rss.XXXXXX)
        rmdir "$db"
        if ! "$build/$s/rss" --keys="$n" --gets=$gets --order=random --cache=$budget \
            --db="$db" >"$out/$s-$n.txt" 2>&1; then
            cat "$out/$s-$n.txt" >&2
            rm -rf "$db"
            echo "bench_cache_rss.sh: stage $s at $n keys failed" >&2
            exit 1
        fi
        rm -rf "$db"
        cat "$out/$s-$n.txt"
        grep '^rss-row: ' "$out/$s-$n.txt" | cut -d ' ' -f 2- >>"$rows"
    done
done
awk -v budget="$budget" '
function group(x,    s, out) {
    s = sprintf("%.0f", x); out = ""
    while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
    return s out
}
{
    st = $1; k = $2
    rss[st, k] = $5; anon[st, k] = $6; file[st, k] = $7
    row[++n] = sprintf("| %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f |", st, group(k), $4, $5, $6, $7, $8)
    if (!(k in seen)) { seen[k] = 1; ks[++nk] = k }
}
END {
    print "### Memory"
    print ""
    print "VmRSS of the process that reopened the database and made the gets, in MiB, and what it is made of after the gets: anonymous memory (the heap: caches, memtables, every open table'"'"'s index and filter) and pages of the table files it maps."
    print ""
    print "| stage | keys | after kv_open | after the gets | of which heap | of which mapped files | peak |"
    print "|---|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= n; i++) print row[i]
    print ""
    print "### Targets"
    print ""
    print "| target | result | |"
    print "|---|---|---|"
    big = ks[nk]; small = ks[1]
    if (("09-cache", big) in rss && ("08-vlog", big) in rss) {
        r = rss["09-cache", big] / rss["08-vlog", big]
        printf "| 09-cache at %s keys at most 0.5x the RSS of 08-vlog | %.0f / %.0f MiB = **%.2fx** (the heap alone: %.0f / %.0f MiB = %.2fx) | %s |\n", group(big), rss["09-cache", big], rss["08-vlog", big], r, anon["09-cache", big], anon["08-vlog", big], anon["08-vlog", big] ? anon["09-cache", big] / anon["08-vlog", big] : 0, r <= 0.5 ? "met" : "**not met**"
    }
    if (nk > 1 && ("09-cache", big) in rss && ("09-cache", small) in rss) {
        g = rss["09-cache", big] / rss["09-cache", small]
        printf "| 09-cache flat from %s to %s keys (at most 1.1x) | %.0f / %.0f MiB = **%.2fx** (the heap alone: %.2fx) | %s |\n", group(small), group(big), rss["09-cache", big], rss["09-cache", small], g, anon["09-cache", small] ? anon["09-cache", big] / anon["09-cache", small] : 0, g <= 1.1 ? "met" : "**not met**"
    }
}' "$rows" >>"$res"
cat "$res"
if [ "$publish" = 1 ]; then
    cp "$res" bench/results/cache-rss-results.md
    sh scripts/docs_figures.sh docs/09-cache.md
    echo "bench-cache-rss: published bench/results/cache-rss-results.md and docs/09-cache.md"
fi
