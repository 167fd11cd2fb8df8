#!/bin/sh
# bench_report.sh: turns kvbench's rows into medians, Markdown tables and
# charts (run by scripts/bench.sh; can be rerun on an existing run).
#
#   sh scripts/bench_report.sh DIR "ENGINE..."
#
# Reads DIR/results.csv (one row per engine, workload, N and repetition) and
# DIR/machine.txt; writes
#   DIR/medians.csv      the median of every column over the repetitions
#   DIR/results.md       the run (from machine.txt), the tables below for the
#                        largest N, the ratios of each stage, how µs/op grows
#                        with N, the targets, and how far repetitions spread
#   DIR/throughput.png   ops/s of every workload for every engine (gnuplot)
#   DIR/growth.png       how µs/op grows with N, per engine (stages solid,
#                        peers dashed), for the workloads where stages differ most
# and prints the tables (throughput, latency, system calls per operation,
# space and write amplification).
# ENGINE... gives the column order (stages first, then peers).
#
# fillsync runs with sync = 1; an engine that ignores it (no fsync at all:
# stages 01 and 02) is marked in its tables and charts, so its figure is not
# read as a win.  Which engines those are comes from machine.txt's
# `engine:` lines (`kvbench --describe`, written by bench.sh); for a run
# without them, from the kvbench binaries in build/.
#
# The pages of docs/ quote the sections of results.md through
# scripts/docs_figures.sh, never by hand, so a new run changes every page.
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

# ---- which engines ignore sync = 1 ---------------------------------------------
nosync=$(sed -n 's/^engine: \([^:]*\):.*sync = 1: no fsync.*/\1/p' "$dir/machine.txt" 2>/dev/null | tr '\n' ' ')
if ! grep -q '^engine: ' "$dir/machine.txt" 2>/dev/null; then
    for e in $engines; do
        for bin in build/$e/kvbench build/bench/kvbench-$e; do
            [ -x "$bin" ] || continue
            "$bin" --describe 2>/dev/null | grep -q 'sync = 1: no fsync' && nosync="$nosync $e"
            break
        done
    done
    echo "bench_report: $dir/machine.txt does not say which engines fsync; asked build/*/kvbench:" \
        "no fsync:${nosync:- none}" >&2
    nosync_note="machine.txt does not say which engines fsync: the kvbench binaries of build/ said so when this report was written (no fsync:${nosync:- none})."
fi

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
# BENCH_WORKLOADS: the rows, in order (a run of opt-in workloads names them).
workloads=${BENCH_WORKLOADS:-"fillseq fillrandom overwrite readrandom readmissing readseq seekrandom readwhilewriting deleterandom fillsync"}
awk -F, -v engines="$engines" -v workloads="$workloads" -v machine="$dir/machine.txt" \
    -v nosync=" $nosync " -v nosync_note="${nosync_note:-}" '
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
# 1 if engine e ignores sync = 1 (no fsync) and w is the sync = 1 workload.
function unsynced(e, w) { return w == "fillsync" && index(nosync, " " e " ") > 0 }
# The ratio of a to b on w, or why there is none: one of them did not fsync.
function pair(a, b, w, n) {
    if (unsynced(a, w) != unsynced(b, w)) return "- (no fsync)"
    return ratio(ops_s[a SUBSEP w SUBSEP n], ops_s[b SUBSEP w SUBSEP n])
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
    printf "### The run\n\n"
    printf "Medians of %d repetitions.  Machine and run (machine.txt):\n\n%s\n", reps[E[1] SUBSEP "fillrandom" SUBSEP n], info
    if (nosync_note != "") printf "%s\n\n", nosync_note
    hdr = "| workload |"; sep = "|---|"
    for (e = 1; e <= ne; e++) { hdr = hdr " " E[e] " |"; sep = sep "---:|" }

    printf "### Throughput (operations per second; higher is better)\n\n"
    printf "`*`: the workload hit its time bound; the rate is over the operations it did.\n"
    printf "fillsync runs with sync = 1, every other workload with sync = 0; \"no fsync\": the engine\n"
    printf "ignores sync = 1, so its fillsync figure is that of unsynced writes, not comparable.\n\n"
    print hdr; print sep
    for (w = 1; w <= nw; w++) {
        row = "| " W[w] " |"
        for (e = 1; e <= ne; e++) {
            k = E[e] SUBSEP W[w] SUBSEP n
            cell = (k in ops_s) ? rate(ops_s[k]) : "-"
            if ((k in ops) && ops[k] + 0 < expected(W[w], n)) cell = cell "*"
            if ((k in ops_s) && unsynced(E[e], W[w])) cell = cell " (no fsync)"
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

    printf "\n### The fillsync database: write amplification\n\n"
    printf "%s puts with sync = 1 into a fresh database.  Each synced put dirties a whole page again\n", commas(expected("fillsync", n))
    printf "once the sync has cleaned it, so write_bytes counts what the device really writes.\n\n"
    print "| engine | write amp | logical write amp |"
    print "|---|---:|---:|"
    for (e = 1; e <= ne; e++) {
        k = E[e] SUBSEP "fillsync" SUBSEP n
        if (!(k in ops)) continue
        printf "| %s | %s | %s |\n", E[e] (unsynced(E[e], "fillsync") ? " (no fsync)" : ""), num(wamp[k]), num(lwamp[k])
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
                row = "| " W[w] " | " rate(ops_s[k]) (unsynced(S[s], W[w]) ? " (no fsync)" : "") " |"
                if (s > 1) row = row " " pair(S[s], S[s - 1], W[w], n) " |"
                for (p = 1; p <= np; p++) row = row " " pair(S[s], P[p], W[w], n) " |"
                print row
            }
        }
    }
}' "$med" >"$md" || exit 2

# ---- growth with N, targets, spread of the repetitions --------------------------------
# The targets the project set its stages, as STAGE:WORKLOAD:PEER:FACTOR: the
# stage's ops/s on WORKLOAD at the largest N at least FACTOR times the peer's.
targets=${BENCH_TARGETS:-"02-hash:readrandom:leveldb:2 01-log:fillseq:leveldb:1 02-hash:fillseq:leveldb:1 03-wal:fillseq:leveldb:1 05-blocks:readmissing:04-lsm:3 06-leveled:fillrandom:leveldb-bloom:1.2 06-leveled:overwrite:leveldb-bloom:1.2 06-leveled:readrandom:leveldb-bloom:1.2 06-leveled:readseq:leveldb-bloom:1.2"}
growth="fillrandom readrandom seekrandom readseq"
awk -F, -v engines="$engines" -v growth="$growth" -v targets="$targets" -v medfile="$med" '
function commas(x,    s) {
    x = sprintf("%.0f", x); s = ""
    while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
    return x s
}
function num(x) {
    x += 0
    if (x >= 1000) return commas(x)
    if (x >= 100) return sprintf("%.0f", x)
    if (x >= 10) return sprintf("%.1f", x)
    return sprintf("%.2f", x)
}
function fx(x) { return x >= 100 ? commas(x) "x" : x >= 10 ? sprintf("%.1fx", x) : sprintf("%.2fx", x) }
FNR == 1 { next }
FILENAME == medfile {
    us[$1, $2, $3] = $6; ops_s[$1, $2, $3] = $5
    if (!(($3 + 0) in seen)) { seen[$3 + 0] = 1; N[++nn] = $3 + 0 }
    if ($3 + 0 > maxn) maxn = $3 + 0
    next
}
{   # results.csv: one row per repetition
    if ($3 + 0 != maxn) next
    k = $1 SUBSEP $2
    if (!(k in nrep)) pairs[++np] = k
    r = ++nrep[k]; rep_ops[k, r] = $5 + 0; rep_no[k, r] = $4
}
END {
    for (i = 2; i <= nn; i++) { t = N[i]; for (j = i - 1; j >= 1 && N[j] > t; j--) N[j + 1] = N[j]; N[j + 1] = t }
    ne = split(engines, E, " "); ng = split(growth, G, " ")

    printf "\n### How µs/op grows with N\n\n"
    printf "Mean µs per operation (median of the repetitions) at each N, and the largest N over the smallest.\n\n"
    hdr = "| engine | workload |"; sep = "|---|---|"
    for (i = 1; i <= nn; i++) { hdr = hdr " " commas(N[i]) " keys |"; sep = sep "---:|" }
    print hdr " " commas(N[nn]) " / " commas(N[1]) " |"; print sep "---:|"
    for (e = 1; e <= ne; e++)
        for (g = 1; g <= ng; g++) {
            if (!((E[e], G[g], N[1]) in us)) continue
            row = "| " E[e] " | " G[g] " |"
            for (i = 1; i <= nn; i++) row = row " " (((E[e], G[g], N[i]) in us) ? num(us[E[e], G[g], N[i]]) : "-") " |"
            a = us[E[e], G[g], N[1]]; b = us[E[e], G[g], N[nn]]
            print row " " (a > 0 && b > 0 ? sprintf("%.1fx", b / a) : "-") " |"
        }

    printf "\n### Targets\n\n"
    printf "Each target: a stage'"'"'s operations per second at %s keys at least a factor times a peer'"'"'s.\n\n", commas(maxn)
    print "| target | result: median / median (each repetition) | |"
    print "|---|---|---|"
    nt = split(targets, T, " ")
    for (t = 1; t <= nt; t++) {
        split(T[t], f, ":"); s = f[1]; w = f[2]; p = f[3]; want = f[4] + 0
        what = sprintf("`%s` of %s at least %sx %s'"'"'s", w, s, want, p)
        a = ops_s[s, w, maxn]; b = ops_s[p, w, maxn]
        if (a == "" || b == "") { printf "| %s | not in this run (%s) | |\n", what, a == "" ? s : p; continue }
        each = ""
        for (r = 1; r <= nrep[s SUBSEP w]; r++)
            for (q = 1; q <= nrep[p SUBSEP w]; q++)
                if (rep_no[s SUBSEP w, r] == rep_no[p SUBSEP w, q] && rep_ops[p SUBSEP w, q] > 0)
                    each = each (each == "" ? "" : ", ") sprintf("%.2fx", rep_ops[s SUBSEP w, r] / rep_ops[p SUBSEP w, q])
        printf "| %s | %s / %s = **%s** (%s) | %s |\n", what, commas(a), commas(b), fx(a / b), each,
            (a / b >= want ? "met" : "**not met**")
    }

    printf "\n### Spread of the repetitions\n\n"
    c125 = 0; c16 = 0; m = 0; cnt = 0
    for (i = 1; i <= np; i++) {
        k = pairs[i]; if (nrep[k] < 2 || k ~ /compact$/) continue
        lo = hi = rep_ops[k, 1]
        for (r = 2; r <= nrep[k]; r++) { if (rep_ops[k, r] < lo) lo = rep_ops[k, r]; if (rep_ops[k, r] > hi) hi = rep_ops[k, r] }
        if (lo <= 0) continue
        cnt++; x = hi / lo
        if (x <= 1.25) c125++
        if (x <= 1.6) c16++
        if (x > m) { m = x; split(k, mk, SUBSEP) }
    }
    if (cnt == 0) { print "One repetition only: no spread to report." }
    else printf "At %s keys, in operations per second, the fastest repetition was within 1.25x of the slowest for %d of the %d engine and workload pairs (compact, a single operation, left out), within 1.6x for %d, and at most %.1fx apart (%s, `%s`).\n",
        commas(maxn), c125, cnt, c16, m, mk[1], mk[2]
}' "$med" "$csv" >>"$md" || exit 2

# What `make bench` prints: the tables, without the ratios of each stage.
awk '/^### Each stage/ { skip = 1 } /^### How/ { skip = 0 } !skip { print }' "$md"
echo
echo "bench_report: $md (with the ratios of each stage), $med"

# ---- charts ------------------------------------------------------------------------------
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "bench_report: gnuplot is not installed (make deps DEPS=gnuplot): no charts" >&2
    exit 0
fi
maxn=$(awk -F, 'NR > 1 && $3 + 0 > m { m = $3 + 0 } END { print m }' "$med")
# throughput-bars.dat: one bar per line (x, ops/s, colour = engine's column,
# 1 if the engine ignores sync = 1 on this workload); throughput-labels.dat:
# the text above a bar (the value of a bar under 1,000 ops/s, so that tiny
# bars are read, `*` if it hit its time bound; "no fsync");
# throughput.gp: the x tics and the y floor.  The sync = 1 workload
# (fillsync) comes last, behind a dashed line, its engines that fsync first
# and those that do not after a gap, hatched.
awk -F, -v engines="$engines" -v workloads="$workloads" -v n="$maxn" -v nosync=" $nosync " \
    -v bars="$dir/throughput-bars.dat" -v labels="$dir/throughput-labels.dat" '
function expected(w) { return w == "fillsync" ? (n / 100 < 100 ? (n < 100 ? n : 100) : int(n / 100)) : n }
function label(x) { return x < 10 ? sprintf("%.1f", x) : sprintf("%.0f", x) }
function bar(e, x, w,    k, un, t) {
    k = E[e] SUBSEP w
    if (!(k in v) || v[k] <= 0) return
    un = w == "fillsync" && index(nosync, " " E[e] " ") > 0
    printf "%.2f %s %d %d\n", x, v[k], e, un > bars
    if (v[k] < min || min == "") min = v[k]
    if (v[k] > max) max = v[k]
    t = ""
    if (v[k] < 1000) t = label(v[k]) (ops[k] + 0 < expected(w) ? "*" : "")
    if (un) t = (t == "" ? "" : t " ") "no fsync"
    if (t != "") printf "%.2f %s \"%s\"\n", x, v[k], t > labels
}
NR > 1 && $3 == n { v[$1, $2] = $5; ops[$1, $2] = $15 }
END {
    ne = split(engines, E, " "); nw = split(workloads, W, " ")
    x = 0; tics = ""; sep = ""
    printf "" > bars; printf "" > labels
    for (w = 1; w <= nw; w++) {
        if (W[w] == "fillsync") { sep = x - 0.75; x += 0.5 }
        x0 = x
        if (W[w] != "fillsync")
            for (e = 1; e <= ne; e++) { bar(e, x, W[w]); x++ }
        else {
            for (e = 1; e <= ne; e++) if (index(nosync, " " E[e] " ") == 0) { bar(e, x, W[w]); x++ }
            gap = 0.6
            for (e = 1; e <= ne; e++) if (index(nosync, " " E[e] " ") > 0) { x += gap; gap = 0; bar(e, x, W[w]); x++ }
        }
        tics = tics (tics == "" ? "" : ", ") sprintf("\"%s\" %.2f", W[w], (x0 + x - 1) / 2)
        x += 1.5
    }
    floor = 1; while (floor > min / 2) floor /= 10
    printf "set xtics (%s) rotate by -25 nomirror\n", tics
    printf "set xrange [-1:%.2f]\n", x - 1
    printf "set yrange [%g:%g]\n", floor, max * 12
    printf "floor = %g\n", floor
    if (sep != "") {
        printf "set arrow from %.2f, graph 0 to %.2f, graph 1 nohead dt 2 lc rgb \"gray30\"\n", sep, sep
        printf "set label \"sync = 0\" at %.2f, graph 0.96 right textcolor rgb \"gray30\"\n", sep - 0.3
        printf "set label \"sync = 1\" at %.2f, graph 0.96 left textcolor rgb \"gray30\"\n", sep + 0.3
    }
}' "$med" >"$dir/throughput.gp"
# growth-W.dat: one row per N, one column per engine (µs/op), for each W.
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
    # A workload this run did not do has no line to draw.
    if awk 'NR > 1 { for (i = 2; i <= NF; i++) if ($i != "NaN") f = 1 } END { exit !f }' \
        "$dir/growth-$w.dat"; then
        drawn="${drawn:-}${drawn:+ }$w"
    fi
done
ne=$(echo "$engines" | wc -w)
nst=$(for e in $engines; do echo "$e"; done | grep -c '^[0-9]')
host=$(sed -n 's/^cpu: //p' "$dir/machine.txt" 2>/dev/null)
when=$(sed -n 's/^date: //p' "$dir/machine.txt" 2>/dev/null)
names=$(echo $engines)
gnuplot <<EOF || exit 2
set terminal pngcairo enhanced size 1400,660 font "DejaVu Sans,10"
set output "$dir/throughput.png"
set title "kvbench: operations per second at N = $maxn (median of the repetitions; log scale; $host; $when)\\n{/:Italic hatched}: the engine ignores sync = 1 (no fsync), its figure is not comparable;  a number above a bar: its value, for bars under 1,000 ops/s;  *: hit its time bound"
load "$dir/throughput.gp"
set logscale y
set format y "10^{%L}"
set ylabel "ops/s (median)"
set grid ytics
set key outside right top vertical
plot "$dir/throughput-bars.dat" using 1:(\$4 == 0 ? \$2 : NaN):(\$1 - 0.45):(\$1 + 0.45):(floor):(\$4 == 0 ? \$2 : NaN):3 \\
        with boxxyerror lc variable fs solid 0.85 border -1 notitle, \\
     "$dir/throughput-bars.dat" using 1:(\$4 == 1 ? \$2 : NaN):(\$1 - 0.45):(\$1 + 0.45):(floor):(\$4 == 1 ? \$2 : NaN):3 \\
        with boxxyerror lc variable fs pattern 4 border -1 notitle, \\
     "$dir/throughput-labels.dat" using 1:2:3 with labels rotate by 90 left offset 0,0.4 font ",8" notitle, \\
     for [i=1:$ne] keyentry with boxes fs solid 0.85 border -1 lc i title word("$names", i), \\
     keyentry with boxes fs pattern 4 border -1 lc rgb "gray40" title "no fsync"

reset
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
do for [w in "${drawn:-}"] {
    set title w
    set autoscale y
    f = sprintf("$dir/growth-%s.dat", w)
    plot for [i=2:$((nst + 1))] f using 1:i title columnheader(i) lw 2 pt 7 ps 1 dt 1, \
         for [i=$((nst + 2)):$((ne + 1))] f using 1:i title columnheader(i) lw 2 pt 7 ps 1 dt 2
}
unset multiplot
EOF
echo "bench_report: charts $dir/throughput.png $dir/growth.png"
