#!/bin/sh
# costs.sh: what each stage's basic operations cost (`make costs`): runs
# build/S/costs (bench/costs.c) for every stage, several times, and writes
# the medians as Markdown to build/costs.md, which it also prints.
#
#   sh scripts/costs.sh BUILD "STAGE..." [--publish] [--reps=R] [N...]
#
#   N...       database sizes, in keys (default 1000 10000 100000 1000000)
#   --reps=R   runs of each stage (default 3); the stages take turns, one
#              run each, starting with a different one each time, so a
#              slow spell of a shared machine spreads over all of them
#   --publish  also copy build/costs.md to docs/generated/costs.md and
#              update the pages that quote it (scripts/docs_figures.sh)
#
# build/S/costs N... fills N keys (16-byte keys, 100-byte values, random
# order) into a fresh database under /tmp, times random gets of present keys
# for about a second, reopens it, and measures the directory.  Timing
# figures depend on the machine and on what else runs on it: the run block
# of costs.md records the date, the commit, the CPU and the load average.
set -u

build=${1:-build}
stages=${2:-}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
reps=3
publish=0
sizes=
for arg in "$@"; do
    case $arg in
    --reps=*) reps=${arg#*=} ;;
    --publish) publish=1 ;;
    [0-9]*) sizes="$sizes $arg" ;;
    *)
        echo "costs.sh: unknown option '$arg'" >&2
        exit 2
        ;;
    esac
done
[ -n "$sizes" ] || sizes="1000 10000 100000 1000000"
sizes=$(echo $sizes)
[ -n "$stages" ] || {
    echo "costs.sh: no stages" >&2
    exit 2
}

out=build/costs.md
raw=build/costs.raw
mkdir -p build || exit 2
: >"$raw"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
date=$(date -u '+%Y-%m-%d %H:%M UTC')
count=$(echo "$stages" | wc -w)
echo "costs: stages $stages; sizes $sizes; $reps runs of each, a line as each ends"
started=$(date +%s)
r=1
while [ "$r" -le "$reps" ]; do
    i=0
    while [ "$i" -lt "$count" ]; do
        k=$(((i + r - 1) % count + 1))
        s=$(echo "$stages" | awk -v k="$k" '{ print $k }')
        # shellcheck disable=SC2086
        "$build/$s/costs" $sizes >"$raw.one" || {
            echo "costs: $build/$s/costs failed" >&2
            exit 2
        }
        awk -v s="$s" -v r="$r" '$1 ~ /^[0-9]+$/ { print s, r, $0 }' "$raw.one" >>"$raw"
        echo "  run $r of $reps: $s ($(($(date +%s) - started)) s so far)"
        i=$((i + 1))
    done
    r=$((r + 1))
done
rm -f "$raw.one"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

{
    cat <<EOF
# What each stage's basic operations cost

Written by \`make costs\` (\`scripts/costs.sh\`, which runs \`build/S/costs\`,
\`bench/costs.c\`, for every stage).  For each size N: N keys (16-byte keys,
100-byte values) put in random order into a fresh database, random gets of
present keys for about a second, a reopen (the check or index rebuild that
\`kv_open\` does), and the bytes on disk.  Each figure is the median of the
runs below; the stages took turns.  The pages of \`docs/\` quote these
tables through \`scripts/docs_figures.sh\`; \`make costs
COSTS_ARGS=--publish\` writes this file again and updates them.

### The run

    date: $date
    commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')
    command: sh scripts/costs.sh $build "$(echo $stages)" --reps=$reps $sizes
    cpu: $(nproc) x $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
    compiler: $(${CC:-cc} --version | head -1)
    databases: $(df -T /tmp | awk 'NR == 2 { print $2 }') (/tmp)
    load average: $load_before before, $load_after after (1, 5, 15 min)
    runs: $reps of each stage, $(($(date +%s) - started)) s in all
EOF
    busy=$(awk -v l="${load_before%% *}" -v c="$(nproc)" 'BEGIN { print (l + 0 > c + 0) }')
    if [ "$busy" = 1 ]; then
        echo
        echo "The machine was busy (a load average above its $(nproc) cores): these timings are"
        echo "slower and noisier than on an idle machine; compare stages within this run only."
    fi
    awk -v stages="$stages" -v sizes="$sizes" '
    function median(key, c,    n, i, j, t, a) {
        n = cnt[key]
        for (i = 1; i <= n; i++) a[i] = v[key, i, c] + 0
        for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function commas(x,    s) {
        x = sprintf("%.0f", x); s = ""
        while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
        return x s
    }
    # Three significant figures, thousands with commas.
    function fig(x) {
        if (x >= 1000) return commas(x)
        if (x >= 100) return sprintf("%.0f", x)
        if (x >= 10) return sprintf("%.1f", x)
        if (x >= 1) return sprintf("%.2f", x)
        return sprintf("%.3f", x)
    }
    {   # stage run keys put_us get_us reopen_ms mb bytes_per_key
        key = $1 SUBSEP $3; n = ++cnt[key]
        for (c = 4; c <= 8; c++) v[key, n, c] = $c
    }
    END {
        ns = split(stages, S, " "); nn = split(sizes, N, " ")
        for (s = 1; s <= ns; s++) {
            printf "\n### %s\n\n", S[s]
            print "| keys | put µs/op | get µs/op | reopen ms | MB on disk | bytes/key |"
            print "|---:|---:|---:|---:|---:|---:|"
            for (i = 1; i <= nn; i++) {
                key = S[s] SUBSEP N[i]
                if (!(key in cnt)) continue
                printf "| %s | %s | %s | %s | %s | %s |\n", commas(N[i]), fig(median(key, 4)),
                    fig(median(key, 5)), fig(median(key, 6)), fig(median(key, 7)), fig(median(key, 8))
            }
        }
        split("4 5 6", C, " "); split("put µs/op|get µs/op|reopen ms", T, "|")
        for (c = 1; c <= 3; c++) {
            printf "\n### %s, every stage\n\n", T[c]
            row = "| keys |"; sep = "|---:|"
            for (s = 1; s <= ns; s++) { row = row " " S[s] " |"; sep = sep "---:|" }
            print row; print sep
            for (i = 1; i <= nn; i++) {
                row = "| " commas(N[i]) " |"
                for (s = 1; s <= ns; s++) {
                    key = S[s] SUBSEP N[i]
                    row = row " " ((key in cnt) ? fig(median(key, C[c])) : "-") " |"
                }
                print row
            }
        }
    }' "$raw"
} >"$out" || exit 2
rm -f "$raw"
cat "$out"
echo
echo "costs: $out"
if [ "$publish" = 1 ]; then
    mkdir -p docs/generated && cp "$out" docs/generated/costs.md &&
        echo "costs: copied to docs/generated/costs.md" &&
        sh scripts/docs_figures.sh
fi
