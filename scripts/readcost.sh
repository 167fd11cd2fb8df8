#!/bin/sh
# readcost.sh: what a stage-04 lookup costs against the number of tables and
# their size, measured with build/04-lsm/readcost and plotted (docs/04-lsm.md,
# "Measured costs").
#
#   sh scripts/readcost.sh [BUILD] [OUT]      (make readcost)
#
# Two series, each point one readcost run (its lines go to OUT/readcost.txt):
#   tables  200,000 keys loaded in random order, with memtables sized for
#           T = 1, 2, 4, 8, 16, 32, 64 tables (1: merged by kv_compact);
#   size    one table (kv_compact) of N = 1,000 .. 1,000,000 keys.
# Writes OUT/readcost-tables.dat, OUT/readcost-size.dat and, with gnuplot,
# OUT/04-lsm-readcost.png (default OUT: build/readcost).
set -eu
build=${1:-build}
out=${2:-build/readcost}
bin=$build/04-lsm/readcost
[ -x "$bin" ] || { echo "readcost.sh: $bin is not built (make $bin)" >&2; exit 2; }
mkdir -p "$out"
txt=$out/readcost.txt
: >"$txt"
{
    echo "# date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null)"
    echo "# load: $(cut -d' ' -f1-3 /proc/loadavg); cpu: $(nproc) x $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
} >>"$txt"

# One run: appends its two lines to the text and prints
# "tables reads_present us_present reads_absent us_absent searched_present".
point() {
    "$bin" "$@" >"$out/one.txt"
    cat "$out/one.txt" >>"$txt"
    awk '
    /gets=present/ { t = $4; sub("tables=", "", t); rp = $6; sp = $8; up = $12 }
    /gets=absent/  { ra = $6; ua = $12 }
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
for n in 1000 10000 100000 1000000; do
    echo "readcost: one table of $n keys" >&2
    point --keys="$n" --tables=1 --gets=5000 | awk -v n="$n" '{ print n, $2, $3, $4, $5 }' \
        >>"$out/readcost-size.dat"
done
cat "$out/readcost-tables.dat" "$out/readcost-size.dat"

if ! command -v gnuplot >/dev/null 2>&1; then
    echo "readcost.sh: gnuplot is not installed (make deps DEPS=gnuplot): no chart" >&2
    exit 0
fi
when=$(date -u '+%Y-%m-%d')
gnuplot <<EOF
set terminal pngcairo size 1200,480 font "DejaVu Sans,10"
set output "$out/04-lsm-readcost.png"
set multiplot layout 1,2 title "stage 04: what a kv_get costs (build/04-lsm/readcost, $when)"
set grid
set key top left
set logscale x 2
set xlabel "tables (200,000 keys, loaded in random order)"
set ylabel "positioned reads per get"
set y2label "µs per get"
set ytics nomirror
set y2tics
plot "$out/readcost-tables.dat" using 1:2 with linespoints lw 2 pt 7 title "reads, present keys", \
     "" using 1:4 with linespoints lw 2 pt 5 title "reads, absent keys", \
     "" using 1:3 axes x1y2 with linespoints dt 2 pt 7 title "µs, present keys", \
     "" using 1:5 axes x1y2 with linespoints dt 2 pt 5 title "µs, absent keys"
set logscale x 10
set xlabel "keys in the one table"
plot "$out/readcost-size.dat" using 1:2 with linespoints lw 2 pt 7 title "reads, present keys", \
     "" using 1:(2*log(\$1)/log(2)) with lines dt 3 title "2 log2 N", \
     "" using 1:3 axes x1y2 with linespoints dt 2 pt 7 title "µs, present keys"
unset multiplot
EOF
echo "readcost.sh: $out/04-lsm-readcost.png"
