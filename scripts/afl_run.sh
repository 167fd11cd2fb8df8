#!/bin/sh
# afl_run.sh STAGE TARGET SECONDS: one AFL++ campaign on build/afl/STAGE/TARGET.
# Inputs: the stage's seed corpus, earlier regression inputs, and the
# target's dictionary.  Findings: build/afl/out/STAGE-TARGET/default/{crashes,
# hangs}; each is copied into fuzz/regressions/TARGET/ (replayed by `make
# test` from then on) and the run fails.  Resumes an earlier campaign's
# queue when there is one.
set -u
stage=$1 target=$2 seconds=$3
bin=build/afl/$stage/$target
out=build/afl/out/$stage-$target
in=build/afl/in/$stage-$target
reg=fuzz/regressions/$target
dict=fuzz/dict/$target.dict
mkdir -p "$in" "$reg" build/afl/out
cp build/fuzz/seeds/$stage-$target/* "$in"/ 2>/dev/null
cp "$reg"/* "$in"/ 2>/dev/null
# An empty seed file makes afl-fuzz stop: keep only non-empty ones.
find "$in" -type f -size 0 -delete
resume=""
[ -d "$out/default/queue" ] && resume=1

export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export AFL_AUTORESUME=1
# Do not pin to a core: with more campaigns than free cores afl-fuzz would
# refuse to start.
export AFL_NO_AFFINITY=1
echo "afl-fuzz on $stage/$target for ${seconds}s (output in $out)"
afl-fuzz -V "$seconds" -t 2000 -m none $( [ -f "$dict" ] && echo "-x $dict" ) \
    -i "$( [ -n "$resume" ] && echo - || echo "$in" )" -o "$out" -- "$bin" >"$out.log" 2>&1
status=$?
stats=$out/default/fuzzer_stats
if [ -f "$stats" ]; then
    grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|corpus_found|saved_crashes|saved_hangs|bitmap_cvg)' "$stats"
else
    tail -n 20 "$out.log"
    exit 1
fi
found=0
for f in "$out"/default/crashes/id:* "$out"/default/hangs/id:*; do
    [ -f "$f" ] || continue
    name=$(echo "${f##*/}" | tr ':,' '__')
    cp "$f" "$reg/afl-$stage-$name"
    found=$((found + 1))
done
if [ "$found" -gt 0 ]; then
    echo "afl-fuzz: $found finding(s) saved in $reg/: replay with build/asan/$stage/fuzz-$target-replay"
    exit 1
fi
exit $status
