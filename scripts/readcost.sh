#!/bin/sh
# readcost.sh: what stage 04 costs, measured (docs/04-lsm-reference.md, "Measured
# costs"): `make readcost`, READCOST_ARGS passes the options.
#
#   sh scripts/readcost.sh [BUILD] [OUT] [--publish] [--rss-keys="N..."] [--bench-keys=N]
#                          [--replot]
#
# Four series, each point one run of a program (their own lines go to
# OUT/readcost.txt):
#   tables   build/04-lsm/readcost: 200,000 keys loaded in random order,
#            with memtables sized for T = 1, 2, 4, 8, 16, 32, 64 tables
#            (1: merged by kv_compact); positioned reads and µs per get of
#            present and of absent keys;
#   size     the same, one table (kv_compact) of N = 1,000 .. 1,000,000 keys;
#   memory   build/02-hash/rss and build/04-lsm/rss: resident memory after
#            a reopen and 100,000 random gets, at each --rss-keys (default
#            1000000 10000000; the 10M runs write 1.4 GB each under /tmp);
#   syscalls build/03-wal/kvbench and build/04-lsm/kvbench at --bench-keys
#            (default 1000000), 5 s per read workload: system calls per
#            operation (syscr, syscw of /proc/self/io).
# Writes OUT/04-lsm-costs.md (and prints it), the series as OUT/*.dat and,
# with gnuplot, the chart OUT/04-lsm-readcost.png (default OUT:
# build/readcost).  --publish also copies the page and the chart to
# docs/generated/ and updates the pages that quote them
# (scripts/docs_figures.sh).  --replot measures nothing: it draws the
# chart again from OUT's series and page.  Takes about 5 minutes on an
# idle machine.
set -eu
build=build
out=build/readcost
publish=0
replot=0
rss_keys="1000000 10000000"
bench_keys=1000000
n=0
for arg in "$@"; do
    case $arg in
    --publish) publish=1 ;;
    --rss-keys=*) rss_keys=${arg#*=} ;;
    --bench-keys=*) bench_keys=${arg#*=} ;;
    --replot) replot=1 ;;
    -*)
        echo "readcost.sh: unknown option '$arg'" >&2
        exit 2
        ;;
    *)
        n=$((n + 1))
        if [ "$n" = 1 ]; then build=$arg; else out=$arg; fi
        ;;
    esac
done
page=$out/04-lsm-costs.md
if [ "$replot" = 1 ]; then
    [ -f "$page" ] || { echo "readcost.sh: --replot: no $page" >&2; exit 2; }
    date=$(sed -n 's/^ *date: //p' "$page" | head -1)
    commit=$(sed -n 's/^ *commit: //p' "$page" | head -1)
else
    for bin in 04-lsm/readcost 04-lsm/rss 02-hash/rss 04-lsm/kvbench 03-wal/kvbench; do
        [ -x "$build/$bin" ] || { echo "readcost.sh: $build/$bin is not built (make readcost)" >&2; exit 2; }
    done
    mkdir -p "$out"
    txt=$out/readcost.txt
    : >"$txt"
    started=$(date +%s)
    date=$(date -u '+%Y-%m-%d %H:%M UTC')
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    commit="$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"

    # One readcost run: appends its lines to the text and prints
    # "tables reads_present us_present reads_absent us_absent searched_present".
    point() {
        "$build/04-lsm/readcost" "$@" >"$out/one.txt"
        cat "$out/one.txt" >>"$txt"
        awk '
        # readcost: 04-lsm keys=N tables=T gets=present: R reads/get, S tables searched/get, U us/get
        /gets=present/ { t = $4; sub("tables=", "", t); rp = $6; sp = $8; up = $11 }
        /gets=absent/  { ra = $6; ua = $11 }
        END { print t, rp, up, ra, ua, sp }' "$out/one.txt"
    }

    echo "# T reads/get(present) us/get(present) reads/get(absent) us/get(absent) tables-searched(present)" \
        >"$out/readcost-tables.dat"
    for t in 1 2 4 8 16 32 64; do
        echo "readcost: 200000 keys, about $t tables" >&2
        point --keys=200000 --tables="$t" --gets=2000 >>"$out/readcost-tables.dat"
    done
    echo "# N reads/get(present) us/get(present) reads/get(absent) us/get(absent)" \
        >"$out/readcost-size.dat"
    for k in 1000 10000 100000 1000000; do
        echo "readcost: one table of $k keys" >&2
        point --keys="$k" --tables=1 --gets=5000 | awk -v n="$k" '{ print n, $2, $3, $4, $5 }' \
            >>"$out/readcost-size.dat"
    done

    # Memory: "stage keys disk_mb open_s get_us rss_open_mb rss_gets_mb hwm_mb".
    echo "# stage keys MB-on-disk reopen-s us/get VmRSS-after-open VmRSS-after-gets VmHWM (MB)" \
        >"$out/rss.dat"
    for k in $rss_keys; do
        for s in 02-hash 04-lsm; do
            echo "readcost: $build/$s/rss --keys=$k" >&2
            "$build/$s/rss" --keys="$k" >"$out/one.txt"
            cat "$out/one.txt" >>"$txt"
            awk -v s="$s" -v k="$k" '
            function after(pat,    i) { i = index($0, pat); return i ? substr($0, i + length(pat)) + 0 : -1 }
            / on disk$/ { d = $(NF - 3) }
            /reopened in/ { o = after("reopened in "); g = after("s (") }
            /VmRSS/ { a = after("MB before kv_open, "); b = after("MB after it, "); h = after("VmHWM ") }
            END { print s, k, d, o, g, a, b, h }' "$out/one.txt" >>"$out/rss.dat"
        done
    done

    # System calls: "stage workload us_per_op syscr syscw".
    echo "# stage workload us/op syscr/op syscw/op" >"$out/syscalls.dat"
    for s in 03-wal 04-lsm; do
        echo "readcost: $build/$s/kvbench --num=$bench_keys --seconds=5" >&2
        "$build/$s/kvbench" --num="$bench_keys" --seconds=5 \
            --benchmarks=fillseq,fillrandom,overwrite,readrandom,readmissing,readseq,seekrandom,compact,deleterandom,fillsync \
            >"$out/one.txt"
        cat "$out/one.txt" >>"$txt"
        awk -v s="$s" '
        / micros\/op;.*syscalls\/op / {
            i = index($0, "syscalls/op "); split(substr($0, i + 12), c, /[ ,)]+/)
            print s, $1, $3, c[1], c[3]
        }' "$out/one.txt" >>"$out/syscalls.dat"
    done
    rm -f "$out/one.txt"
    load_after=$(cut -d' ' -f1-3 /proc/loadavg)

    {
        cat <<EOF
# Stage 04's measured costs

Written by \`make readcost\` (\`scripts/readcost.sh\`, which runs
\`build/04-lsm/readcost\`, \`build/S/rss\` and \`build/S/kvbench\`:
\`bench/readcost.c\`, \`bench/rss.c\`, \`bench/kvbench.c\`).  Keys are 16
bytes, values 100 bytes.  Every point is one run.  \`docs/04-lsm-reference.md\`
quotes these tables through \`scripts/docs_figures.sh\`; \`make readcost
READCOST_ARGS=--publish\` writes this file and
\`docs/generated/04-lsm-readcost.png\` again and updates it.

### The run

    date: $date
    commit: $commit
    command: sh scripts/readcost.sh $build $out --rss-keys="$rss_keys" --bench-keys=$bench_keys
    cpu: $(nproc) x $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
    compiler: $(${CC:-cc} --version | head -1)
    databases: $(df -T /tmp | awk 'NR == 2 { print $2 }') (/tmp)
    load average: $load_before before, $load_after after (1, 5, 15 min)
    time: $(($(date +%s) - started)) s in all
EOF
        busy=$(awk -v l="${load_before%% *}" -v m="${load_after%% *}" -v c="$(nproc)" \
            'BEGIN { print (l + 0 > c / 2 || m + 0 > c / 2) }')
        if [ "$busy" = 1 ]; then
            echo
            echo "The machine was shared (a load average above half its $(nproc) cores): the"
            echo "times per operation are noisier than on an idle machine; the counts of"
            echo "reads and system calls, and memory, do not depend on it."
        fi
        awk '
        function commas(x,    s) {
            x = sprintf("%.0f", x); s = ""
            while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
            return x s
        }
        function fig(x) {   # three significant figures
            if (x >= 1000) return commas(x)
            if (x >= 100) return sprintf("%.0f", x)
            if (x >= 10) return sprintf("%.1f", x)
            if (x >= 1) return sprintf("%.2f", x)
            return sprintf("%.3f", x)
        }
        FILENAME ~ /readcost-tables/ && !/^#/ { nt++; T[nt] = $0 }
        FILENAME ~ /readcost-size/ && !/^#/ { nz++; Z[nz] = $0 }
        FILENAME ~ /rss/ && !/^#/ { nr++; R[nr] = $0; mem[$1, $2] = $7; if (!($2 in seen)) { seen[$2] = 1; K[++nk] = $2 } }
        FILENAME ~ /syscalls/ && !/^#/ {
            if (!($2 in wseen)) { wseen[$2] = 1; W[++nw] = $2 }
            us[$1, $2] = $3; cr[$1, $2] = $4; cw[$1, $2] = $5
        }
        END {
            print "\n### Read cost against the number of tables\n"
            print "200,000 keys loaded in random order (so every table covers the whole key"
            print "range), memtables sized for the number of tables, every key in a table;"
            print "2,000 gets of present keys, 2,000 of absent ones, after a reopen.\n"
            print "| tables | reads per get, present | tables searched, present | µs per get, present | reads per get, absent | µs per get, absent |"
            print "|---:|---:|---:|---:|---:|---:|"
            for (i = 1; i <= nt; i++) {
                split(T[i], a, " ")
                printf "| %d | %s | %s | %s | %s | %s |\n", a[1], fig(a[2]), fig(a[6]), fig(a[3]), fig(a[4]), fig(a[5])
            }
            print "\n### Read cost against the size of a table\n"
            print "One table (the load, then `kv_compact`); 5,000 gets of present keys, 5,000"
            print "of absent ones, after a reopen.\n"
            print "| keys in the table | reads per get, present | 2 log2 N | µs per get, present | reads per get, absent | µs per get, absent |"
            print "|---:|---:|---:|---:|---:|---:|"
            for (i = 1; i <= nz; i++) {
                split(Z[i], a, " ")
                printf "| %s | %s | %.1f | %s | %s | %s |\n", commas(a[1]), fig(a[2]), 2 * log(a[1]) / log(2), fig(a[3]), fig(a[4]), fig(a[5])
            }
            print "\n### Memory after a reopen\n"
            print "The keys loaded in ascending order and closed; then a new process opens the"
            print "database and makes 100,000 gets of random keys.  VmRSS and VmHWM of that"
            print "process (`/proc/self/status`), in MB.\n"
            print "| stage | keys | MB on disk | reopen s | µs per get | VmRSS after kv_open | VmRSS after the gets | VmHWM |"
            print "|---|---:|---:|---:|---:|---:|---:|---:|"
            for (i = 1; i <= nr; i++) {
                split(R[i], a, " ")
                printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", a[1], commas(a[2]), fig(a[3]), fig(a[4]), fig(a[5]), fig(a[6]), fig(a[7]), fig(a[8])
            }
            print "\n| keys | 02-hash VmRSS after the gets, MB | 04-lsm, MB | 04-lsm / 02-hash |"
            print "|---:|---:|---:|---:|"
            for (i = 1; i <= nk; i++)
                if (mem["02-hash", K[i]] > 0)
                    printf "| %s | %s | %s | %.4f (1/%.0f) |\n", commas(K[i]), fig(mem["02-hash", K[i]]), fig(mem["04-lsm", K[i]]),
                        mem["04-lsm", K[i]] / mem["02-hash", K[i]], mem["02-hash", K[i]] / mem["04-lsm", K[i]]
            print "\n### System calls per operation\n"
            print "kvbench (`bench/kvbench.c`) of stages 03 and 04: `syscr` and `syscw` of"
            print "`/proc/self/io` around each workload, per operation, every thread counted"
            print "(stage 04 flushes in the background); fsync, open and rename are in"
            print "neither.  A workload stops after 5 s of reads; µs per operation is the mean.\n"
            print "| workload | 03-wal reads | 03-wal writes | 03-wal µs | 04-lsm reads | 04-lsm writes | 04-lsm µs |"
            print "|---|---:|---:|---:|---:|---:|---:|"
            for (i = 1; i <= nw; i++) {
                w = W[i]
                printf "| %s | %s | %s | %s | %s | %s | %s |\n", w, fig(cr["03-wal", w]), fig(cw["03-wal", w]), fig(us["03-wal", w]),
                    fig(cr["04-lsm", w]), fig(cw["04-lsm", w]), fig(us["04-lsm", w])
            }
        }' "$out/readcost-tables.dat" "$out/readcost-size.dat" "$out/rss.dat" "$out/syscalls.dat"
    } >"$page"
    cat "$page"
fi

if command -v gnuplot >/dev/null 2>&1; then
    gnuplot <<EOF
set terminal pngcairo size 1200,480 font "DejaVu Sans,10" noenhanced
set output "$out/04-lsm-readcost.png"
set multiplot layout 1,2 title "stage 04: what a kv_get costs (scripts/readcost.sh, $(echo "$date" | cut -c1-10), commit $(echo "$commit" | cut -d' ' -f1))"
set grid
set key top left
set xrange [0:*]
set xlabel "tables (200,000 keys, loaded in random order)"
set ylabel "positioned reads per get"
set y2label "µs per get (a shared machine: noisy)"
set ytics nomirror
set y2tics
plot "$out/readcost-tables.dat" using 1:2 with linespoints lw 2 pt 7 title "reads, present keys", \
     "" using 1:4 with linespoints lw 2 pt 5 title "reads, absent keys", \
     "" using 1:3 axes x1y2 with linespoints dt 2 pt 7 title "µs, present keys", \
     "" using 1:5 axes x1y2 with linespoints dt 2 pt 5 title "µs, absent keys"
set logscale x 10
set xrange [500:2000000]
set format x "%.0s%c"
set xlabel "keys in the one table"
plot "$out/readcost-size.dat" using 1:2 with linespoints lw 2 pt 7 title "reads, present keys", \
     "" using 1:(2*log(\$1)/log(2)) with lines dt 3 title "2 log2 N", \
     "" using 1:3 axes x1y2 with linespoints dt 2 pt 7 title "µs, present keys"
unset multiplot
EOF
    echo "readcost.sh: $out/04-lsm-readcost.png"
else
    echo "readcost.sh: gnuplot is not installed (make deps DEPS=gnuplot): no chart" >&2
fi
[ "$replot" = 1 ] || echo "readcost.sh: $page ($(($(date +%s) - started)) s)"
if [ "$publish" = 1 ]; then
    mkdir -p docs/generated
    cp "$page" docs/generated/04-lsm-costs.md
    [ -f "$out/04-lsm-readcost.png" ] && cp "$out/04-lsm-readcost.png" docs/generated/
    echo "readcost.sh: copied to docs/generated/"
    sh scripts/docs_figures.sh
fi
