#!/bin/sh
# bench_report.sh: turns kvbench's rows into medians, Markdown tables and
# charts (run by scripts/bench.sh; can be rerun on an existing run).
#
#   sh scripts/bench_report.sh DIR "ENGINE..."
#
# Reads DIR/results.csv (one row per engine, workload, N and repetition) and
# DIR/machine.txt; writes
#   DIR/medians.csv      the median of every column over the repetitions
#   DIR/results.md       the tables below, for the largest N, and the ratios
#   DIR/throughput.png   ops/s of every workload for every engine (gnuplot)
#   DIR/growth.png       how µs/op grows with N, per engine (stages solid,
#                        peers dashed), for the workloads where stages differ most
# and prints the tables (throughput, latency, system calls per operation,
# space and write amplification).
# ENGINE... gives the column order (stages first, then peers).
set -u

dir=${1:-build/bench}
engines=${2:-}
csv=$dir/results.csv
med=$dir/medians.csv
md=$dir/results.md
[ -s "$csv" ] || {
    echo "bench_report: no results in $csv" >&2
    exit 2
}
[ -n "$engines" ] || engines=$(awk -F, 'NR > 1 { print $1 }' "$csv" | sort -u | tr '\n' ' ')

# ---- medians over the repetitions -----------------------------------------------
# Key: engine, workload, N.  Column 4 (rep) becomes the number of repetitions.
awk -F, '
NR == 1 { print; ncol = NF; next }
{
    key = $1 "," $2 "," $3
    if (!(key in reps)) order[++nkeys] = key
    reps[key]++
    for (c = 5; c <= NF; c++) val[key, c, reps[key]] = $c
}
function median(key, c, n,    i, j, t, m, a) {
    m = 0
    for (i = 1; i <= n; i++) if (val[key, c, i] != "") a[++m] = val[key, c, i] + 0
    if (m == 0) return ""
    for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
    for (k = 1; k <= nkeys; k++) {
        key = order[k]
        line = key "," reps[key]
        for (c = 5; c <= ncol; c++) line = line "," median(key, c, reps[key])
        print line
    }
}' "$csv" >"$med" || exit 2

# ---- tables ---------------------------------------------------------------------------
# table_awk prints the Markdown for the largest N in the medians.
workloads="fillseq fillrandom overwrite readrandom readmissing readseq seekrandom readwhilewriting deleterandom fillsync"
awk -F, -v engines="$engines" -v workloads="$workloads" -v machine="$dir/machine.txt" '
function commas(x,    s, neg) {
    x = sprintf("%.0f", x); neg = x ~ /^-/; if (neg) x = substr(x, 2)
    s = ""
    while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
    return (neg ? "-" : "") x s
}
# An ops/s figure: "1,234,567", or "0.8" below 10.
function rate(x) { return x + 0 < 10 ? sprintf("%.1f", x) : commas(x) }
function num(x) {
    if (x == "") return "-"
    x += 0
    if (x >= 1000) return commas(x)
    if (x >= 100) return sprintf("%.0f", x)
    if (x >= 10) return sprintf("%.1f", x)
    return sprintf("%.2f", x)
}
# a/b as "2.31x", or "1/1,816" when a is under a tenth of b.
function ratio(a, b) {
    if (a == "" || b == "" || a + 0 == 0 || b + 0 == 0) return "-"
    a /= b
    if (a < 0.1) return "1/" commas(1 / a)
    return a >= 100 ? commas(a) "x" : a >= 10 ? sprintf("%.1fx", a) : sprintf("%.2fx", a)
}
function expected(w, n) {
    if (w == "fillsync") return n / 100 < 100 ? (n < 100 ? n : 100) : int(n / 100)
    return n
}
NR == 1 { next }
{
    key = $1 SUBSEP $2 SUBSEP $3
    ops_s[key] = $5; us[key] = $6; p50[key] = $7; p99[key] = $8; p999[key] = $9
    mbs[key] = $10; fill_b[key] = $11; comp_b[key] = $12; wamp[key] = $13; rss[key] = $14
    ops[key] = $15; secs[key] = $16; space[key] = $19; lwamp[key] = $20; reps[key] = $4
    if (NF >= 23) { scr[key] = $22; scw[key] = $23 }
    if ($3 + 0 > maxn) maxn = $3 + 0
}
END {
    ne = split(engines, E, " "); nw = split(workloads, W, " ")
    n = maxn
    while ((getline line < machine) > 0) info = info "    " line "\n"
    printf "## kvbench: %s keys (16-byte keys, 100-byte values)\n\n", commas(n)
    printf "Medians of %d repetitions.  Machine and run:\n\n%s\n", reps[E[1] SUBSEP "fillrandom" SUBSEP n], info
    hdr = "| workload |"; sep = "|---|"
    for (e = 1; e <= ne; e++) { hdr = hdr " " E[e] " |"; sep = sep "---:|" }

    printf "### Throughput (operations per second; higher is better)\n\n"
    printf "`*`: the workload hit its time bound; the rate is over the operations it did.\n\n"
    print hdr; print sep
    for (w = 1; w <= nw; w++) {
        row = "| " W[w] " |"
        for (e = 1; e <= ne; e++) {
            k = E[e] SUBSEP W[w] SUBSEP n
            cell = (k in ops_s) ? rate(ops_s[k]) : "-"
            if ((k in ops) && ops[k] + 0 < expected(W[w], n)) cell = cell "*"
            row = row " " cell " |"
        }
        print row
    }

    printf "\n### Latency (µs per operation: mean; p50 / p99 / p99.9)\n\n"
    print hdr; print sep
    for (w = 1; w <= nw; w++) {
        row = "| " W[w] " |"
        for (e = 1; e <= ne; e++) {
            k = E[e] SUBSEP W[w] SUBSEP n
            row = row " " ((k in us) ? num(us[k]) "; " num(p50[k]) " / " num(p99[k]) " / " num(p999[k]) : "-") " |"
        }
        print row
    }

    printf "\n### System calls per operation (read-like / write-like)\n\n"
    printf "syscr / syscw of /proc/self/io around each workload, every thread of the process counted\n"
    printf "(a background flush or compaction too); fsync, open and rename are in neither.\n\n"
    print hdr; print sep
    for (w = 1; w <= nw; w++) {
        row = "| " W[w] " |"
        for (e = 1; e <= ne; e++) {
            k = E[e] SUBSEP W[w] SUBSEP n
            row = row " " ((k in scr) && scr[k] != "" ? num(scr[k]) " / " num(scw[k]) : "-") " |"
        }
        print row
    }

    printf "\n### The fillrandom database: space, writes, memory\n\n"
    printf "After fillrandom (%s keys), overwrite, the reads and readwhilewriting, then compact.\n", commas(n)
    printf "Space amp: bytes on disk after compact / live key+value bytes.  Write amp: bytes the process\n"
    printf "dirtied in the page cache (/proc/self/io write_bytes) per key+value byte written; logical:\n"
    printf "bytes handed to write calls (wchar).  Peak RSS: the whole kvbench process for this database.\n\n"
    print "| engine | MB after fill | MB after compact | space amp | write amp | logical write amp | compact s | peak RSS MB |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|"
    for (e = 1; e <= ne; e++) {
        k = E[e] SUBSEP "fillrandom" SUBSEP n; c = E[e] SUBSEP "compact" SUBSEP n
        if (!(k in ops)) continue
        printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", E[e], num(fill_b[k] / 1e6),
            comp_b[k] == "" ? "-" : num(comp_b[k] / 1e6), num(space[k]), num(wamp[k]), num(lwamp[k]),
            (c in secs) ? num(secs[c]) : "-", num(rss[k] / 1024)
    }

    # Ratios: each stage against the stage before it and against each peer.
    np = 0; ns = 0
    for (e = 1; e <= ne; e++) if (E[e] ~ /^[0-9]/) S[++ns] = E[e]; else P[++np] = E[e]
    if (ns > 0) {
        printf "\n### Each stage against the previous stage and the peers (ratio of ops/s: 2.00x = twice as fast, 1/100 = a hundredth)\n"
        for (s = 1; s <= ns; s++) {
            hdr2 = "| workload | " S[s] " ops/s |"; sep2 = "|---|---:|"
            if (s > 1) { hdr2 = hdr2 " vs " S[s - 1] " |"; sep2 = sep2 "---:|" }
            for (p = 1; p <= np; p++) { hdr2 = hdr2 " vs " P[p] " |"; sep2 = sep2 "---:|" }
            printf "\n%s\n%s\n", hdr2, sep2
            for (w = 1; w <= nw; w++) {
                k = S[s] SUBSEP W[w] SUBSEP n
                if (!(k in ops_s)) continue
                row = "| " W[w] " | " rate(ops_s[k]) " |"
                if (s > 1) row = row " " ratio(ops_s[k], ops_s[S[s - 1] SUBSEP W[w] SUBSEP n]) " |"
                for (p = 1; p <= np; p++) row = row " " ratio(ops_s[k], ops_s[P[p] SUBSEP W[w] SUBSEP n]) " |"
                print row
            }
        }
    }
}' "$med" >"$md" || exit 2

# What `make bench` prints: the tables before the ratios.
awk '/^### Each stage/ { exit } { print }' "$md"
echo
echo "bench_report: $md (with the ratios of each stage), $med"

# ---- charts ------------------------------------------------------------------------------
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "bench_report: gnuplot is not installed (make deps DEPS=gnuplot): no charts" >&2
    exit 0
fi
maxn=$(awk -F, 'NR > 1 && $3 + 0 > m { m = $3 + 0 } END { print m }' "$med")
# throughput.dat: one row per workload, one column per engine.
awk -F, -v engines="$engines" -v workloads="$workloads" -v n="$maxn" '
NR > 1 && $3 == n { v[$1, $2] = $5 }
END {
    ne = split(engines, E, " "); nw = split(workloads, W, " ")
    line = "workload"; for (e = 1; e <= ne; e++) line = line " " E[e]; print line
    for (w = 1; w <= nw; w++) {
        line = W[w]
        for (e = 1; e <= ne; e++) line = line " " (((E[e], W[w]) in v) && v[E[e], W[w]] > 0 ? v[E[e], W[w]] : "NaN")
        print line
    }
}' "$med" >"$dir/throughput.dat"
# growth-W.dat: one row per N, one column per engine (µs/op), for each W.
growth="fillrandom readrandom seekrandom readseq"
for w in $growth; do
    awk -F, -v engines="$engines" -v w="$w" '
    NR > 1 && $2 == w { v[$1, $3] = $6; if (!($3 in seen)) { seen[$3] = 1; ns++; N[ns] = $3 + 0 } }
    END {
        ne = split(engines, E, " ")
        for (i = 2; i <= ns; i++) { t = N[i]; for (j = i - 1; j >= 1 && N[j] > t; j--) N[j + 1] = N[j]; N[j + 1] = t }
        line = "N"; for (e = 1; e <= ne; e++) line = line " " E[e]; print line
        for (i = 1; i <= ns; i++) {
            line = N[i]
            for (e = 1; e <= ne; e++) line = line " " (((E[e], N[i]) in v) && v[E[e], N[i]] > 0 ? v[E[e], N[i]] : "NaN")
            print line
        }
    }' "$med" >"$dir/growth-$w.dat"
done
ne=$(echo "$engines" | wc -w)
nst=$(for e in $engines; do echo "$e"; done | grep -c '^[0-9]')
host=$(sed -n 's/^cpu: //p' "$dir/machine.txt" 2>/dev/null)
when=$(sed -n 's/^date: //p' "$dir/machine.txt" 2>/dev/null)
gnuplot <<EOF || exit 2
set terminal pngcairo size 1400,620 font "DejaVu Sans,10"
set output "$dir/throughput.png"
set title "kvbench: operations per second at N = $maxn (log scale; $host; $when)"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [1:*]
set format y "10^{%L}"
set ylabel "ops/s (median)"
set grid ytics
set xtics rotate by -25 nomirror
set key outside right top vertical
plot for [i=2:$((ne + 1))] "$dir/throughput.dat" using i:xtic(1) title columnheader(i)

set terminal pngcairo size 1400,900 font "DejaVu Sans,10"
set output "$dir/growth.png"
set style data linespoints
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
unset xtics
set xtics nomirror
set grid xtics ytics
set xlabel "keys (N)"
set ylabel "µs per operation (mean, median of runs)"
set key outside right top vertical
set multiplot layout 2,2 title "kvbench: how the cost of an operation grows with N ($host; $when)"
do for [w in "$growth"] {
    set title w
    set autoscale y
    f = sprintf("$dir/growth-%s.dat", w)
    plot for [i=2:$((nst + 1))] f using 1:i title columnheader(i) lw 2 pt 7 ps 1 dt 1, \
         for [i=$((nst + 2)):$((ne + 1))] f using 1:i title columnheader(i) lw 2 pt 7 ps 1 dt 2
}
unset multiplot
EOF
echo "bench_report: charts $dir/throughput.png $dir/growth.png"
