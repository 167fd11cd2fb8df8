# compaction_sim.gp: level sizes over time from the compaction simulator's
# --plot file (build/06-leveled/compaction_sim, docs/06-leveled-reference.md, "The
# compaction simulator").  Columns of the .dat file: flushes, writes,
# MiB in L0..L6 (3-9), tables in L0..L6 (10-16), write amplification (17).
#
#   build/06-leveled/compaction_sim --keys=10000000 --plot=build/sim.dat
#   gnuplot -e "dat='build/sim.dat'; out='build/sim.png'" scripts/compaction_sim.gp
#
# dat defaults to build/compaction_sim.dat, out to the same name in .png.
if (!exists("dat")) dat = 'build/compaction_sim.dat'
if (!exists("out")) out = dat[1:strlen(dat) - 4] . '.png'
set terminal pngcairo size 1000,640 font ',10' noenhanced
set output out
set multiplot layout 2,1 title "compaction_sim: ".dat
set key outside right
set grid
set format x '%.0s%c'
set xlabel 'writes'
set ylabel 'MiB in the level'
set logscale y
set yrange [0.1:*]
plot for [l=0:6] dat using 2:(column(3 + l) > 0 ? column(3 + l) : 1/0) \
     with lines lw 2 title sprintf('L%d', l)
unset logscale y
set yrange [0:*]
set ylabel 'write amplification'
plot dat using 2:17 with lines lw 2 lc rgb 'black' title 'WA so far'
unset multiplot
