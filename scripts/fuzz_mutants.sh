#!/bin/sh
# fuzz_mutants.sh STAGE|all: tests the fuzzers as the grade is tested, by
# planting decoder bugs one at a time and seeing whether fuzzing finds them.
#
# The bugs are the entries of fuzz/mutants/S.txt (S a stage, or "serve" and
# "replica" for the stage-less harnesses; STAGE picks the files whose names
# start with it, "all" every file).  An entry names a file, lines of it and
# what replaces them, and the STAGE:TARGET fuzz pairs expected to find it
# (the format is described at the top of each file and in docs/fuzzing.md,
# "Testing the fuzzers").  For each entry, in a copy of the source tree
# (build/fuzz-mutants/tree/; the real tree and fuzz/regressions/ are never
# touched):
#   1. the entry is applied (its "-" lines must occur exactly once, or the
#      entry is refused: a mutant that no longer applies is a failure, not
#      a pass), the pairs' libFuzzer binaries and ASan+UBSan replay drivers
#      are built from the copy, and the file is put back;
#   2. each pair in turn runs libFuzzer as `make fuzz-smoke` does, for
#      KV_FUZZ_SECONDS (default 60, the Makefile's FUZZ_SECONDS), from
#      `make fuzz-seeds`' seeds and an EMPTY corpus, with the target's
#      dictionary, until one finds it;
#   3. found: libFuzzer saved an input (crash-, leak-, timeout-, oom-,
#      slow-unit-: every kind scripts/fuzz_limits.sh counts); the
#      executions it took (libFuzzer's stat::number_of_executed_units at the
#      crash); and whether every saved input makes the mutant's
#      build/asan/S/fuzz-T-replay fail, and the unmutated one pass (an input
#      that breaks the unmutated code too is a bug of the project, not this
#      mutant's find, and is not counted as found).
# An entry with an "equivalent:" line is applied and built but not fuzzed:
# its line says why no input can tell it from the correct code.
#
# Prints one line per mutant, then per format: mutants, equivalent, found
# and the share found of the others; writes all of it, with the command,
# date, commit and machine load, to build/fuzz-mutants/report.txt.  Exits 1
# if an entry does not apply or build, a found input does not fail its
# replay, or a format has less than 90% found.
#
# Environment: KV_FUZZ_SECONDS (seconds per pair), KV_FUZZ_MUTANT (run only
# the entry of that name), KV_FUZZ_TIMEOUT, KV_FUZZ_SLOW_S, KV_FUZZ_RSS_MB
# and KV_FUZZ_MALLOC_MB (the limits, scripts/fuzz_limits.sh), KV_FUZZ_SEED (libFuzzer's -seed, for
# rerunning one line exactly: each line says the seed it ran with).
set -u
if [ $# -ne 1 ]; then
    echo "usage: sh scripts/fuzz_mutants.sh STAGE|all" >&2
    exit 2
fi
picked=$1
seconds=${KV_FUZZ_SECONDS:-60}
only=${KV_FUZZ_MUTANT:-}
root=$(pwd)
. "$root/scripts/fuzz_limits.sh"
out=$root/build/fuzz-mutants
tree=$out/tree
work=$out/work
report=$out/report.txt
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
    export TMPDIR
fi
jobs=$(nproc 2>/dev/null || echo 2)

files=""
for f in fuzz/mutants/*.txt; do
    [ -f "$f" ] || continue
    name=${f##*/}
    case $name in
    "$picked"*) files="$files $f" ;;
    *) [ "$picked" = all ] && files="$files $f" ;;
    esac
done
if [ -z "$files" ]; then
    echo "fuzz_mutants: no file fuzz/mutants/$picked*.txt" >&2
    exit 2
fi

rm -rf "$work"
mkdir -p "$out" "$work" "$tree"

# ---- the entries: each into $work/entries/N/ (meta: key=value lines;
# minus, plus: the lines, without their "- " and "+ ") -----------------------
mkdir -p "$work/entries"
n=0
for f in $files; do
    awk -v dir="$work/entries" -v src="$f" -v start="$n" '
    function flush() {
        if (open) { close(meta); close(minus); close(plus) }
        open = 0
    }
    function begin() {
        if (open) return
        count++
        d = dir "/" (start + count)
        system("mkdir -p \"" d "\"")
        meta = d "/meta"; minus = d "/minus"; plus = d "/plus"
        printf "" > minus; printf "" > plus
        print "source=" src ":" NR > meta
        open = 1
    }
    /^#/ { next }
    /^[ \t]*$/ { flush(); next }
    /^- / || /^-$/ { begin(); print substr($0, 3) > minus; next }
    /^\+ / || /^\+$/ { begin(); print substr($0, 3) > plus; next }
    /^[a-z]+:/ {
        begin()
        key = $0; sub(/:.*/, "", key)
        val = $0; sub(/^[a-z]+:[ \t]*/, "", val)
        print key "=" val > meta
        next
    }
    { printf "%s:%d: not an entry line: %s\n", src, NR, $0 > "/dev/stderr"; bad = 1 }
    END { flush(); print start + count; exit bad }
    ' "$f" >"$work/count" || exit 2
    n=$(cat "$work/count")
done

# meta N KEY: the value of KEY in entry N ("" if none).
meta() { sed -n "s/^$2=//p" "$work/entries/$1/meta" | head -n 1; }

# ---- the copy of the tree ----------------------------------------------------
# The files git knows and the new ones it does not ignore, copied where they
# differ (so make rebuilds only what changed), and nothing else.
sync_tree() {
    git -C "$root" ls-files --cached --others --exclude-standard >"$work/files.all" || return 1
    : >"$work/files"
    while IFS= read -r f; do
        [ -f "$root/$f" ] || continue
        case $f in build/*) continue ;; esac
        echo "$f" >>"$work/files"
        if ! cmp -s "$root/$f" "$tree/$f"; then
            mkdir -p "$(dirname "$tree/$f")"
            cp "$root/$f" "$tree/$f"
        fi
    done <"$work/files.all"
    (cd "$tree" && find . -path ./build -prune -o -type f -print | sed 's|^\./||') | sort >"$work/files.tree"
    sort "$work/files" | comm -23 "$work/files.tree" - | while IFS= read -r f; do
        rm -f "$tree/$f"
    done
}
echo "fuzz_mutants: copying the tree to $tree"
sync_tree || { echo "fuzz_mutants: cannot list the tree's files (git ls-files)" >&2; exit 2; }

# apply N: the entry's change made in the copy (the original kept in
# $work/orig); 0, or 1 with the reason in $work/why.
apply() {
    file=$(meta "$1" file)
    if [ -z "$file" ] || [ ! -f "$tree/$file" ]; then
        echo "no file '$file'" >"$work/why"
        return 1
    fi
    cp "$tree/$file" "$work/orig"
    awk -v minus="$work/entries/$1/minus" -v plus="$work/entries/$1/plus" '
    BEGIN {
        while ((getline l < minus) > 0) m[++nm] = l
        while ((getline l < plus) > 0) p[++np] = l
    }
    { line[++nl] = $0 }
    END {
        if (nm == 0) { print "no \"-\" line" > "/dev/stderr"; exit 1 }
        found = 0
        for (i = 1; i + nm - 1 <= nl; i++) {
            for (j = 1; j <= nm && line[i + j - 1] == m[j]; j++) ;
            if (j > nm) { found++; at = i }
        }
        if (found != 1) {
            printf "its \"-\" lines occur %d times in the file, not once\n", found > "/dev/stderr"
            exit 1
        }
        for (i = 1; i < at; i++) print line[i]
        for (j = 1; j <= np; j++) print p[j]
        for (i = at + nm; i <= nl; i++) print line[i]
    }' "$work/orig" >"$work/mutated" 2>"$work/why" || return 1
    cp "$work/mutated" "$tree/$file"
}

# restore N: the file as it was.
restore() { cp "$work/orig" "$tree/$(meta "$1" file)"; }

# build PAIR...: the pairs' libFuzzer binaries and ASan+UBSan replay drivers
# in the copy; the log in $work/build.log.
build() {
    targets="" asan=""
    for pair in "$@"; do
        targets="$targets build/fuzz/${pair%%:*}/${pair#*:}"
        asan="$asan build/asan/${pair%%:*}/fuzz-${pair#*:}-replay"
    done
    # shellcheck disable=SC2086
    nice make -C "$tree" --no-print-directory -s -j"$jobs" $targets >"$work/build.log" 2>&1 &&
        nice make -C "$tree" --no-print-directory -s -j"$jobs" FLAVOUR=asan $asan \
            >>"$work/build.log" 2>&1
}

# replay_fails BINARY INPUT: 0 if the replay driver fails on the input.
replay_fails() {
    env ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$1" "$2" >"$work/replay.log" 2>&1
    status=$?
    [ "$status" -ne 0 ] && return 0
    grep -q -E '^(WARNING|ERROR): (AddressSanitizer|LeakSanitizer)|runtime error:' \
        "$work/replay.log"
}

# ---- the pairs, their seeds and the unmutated replay drivers -----------------
selected=""
i=1
while [ "$i" -le "$n" ]; do
    if [ -z "$only" ] || [ "$(meta "$i" name)" = "$only" ]; then
        selected="$selected $i"
    fi
    i=$((i + 1))
done
if [ -z "$selected" ]; then
    echo "fuzz_mutants: no entry named '$only' in$files" >&2
    exit 2
fi
pairs=$(for i in $selected; do meta "$i" pairs | tr ' ,' '\n\n'; done | sed '/^$/d' | sort -u)
echo "fuzz_mutants: seeds for" $pairs
# shellcheck disable=SC2086
sh scripts/fuzz_seeds.sh build/fuzz/seeds $pairs >"$work/seeds.log" 2>&1 || {
    cat "$work/seeds.log"
    exit 2
}
echo "fuzz_mutants: building the unmutated harnesses (build/fuzz-mutants/base/)"
# shellcheck disable=SC2086
if ! build $pairs; then
    tail -n 30 "$work/build.log"
    echo "fuzz_mutants: the unmutated tree does not build" >&2
    exit 2
fi
for pair in $pairs; do
    s=${pair%%:*} t=${pair#*:}
    mkdir -p "$out/base/$s"
    cp "$tree/build/asan/$s/fuzz-$t-replay" "$out/base/$s/"
    if replay_fails "$out/base/$s/fuzz-$t-replay" "$root/build/fuzz/seeds/$s-$t"; then
        tail -n 20 "$work/replay.log"
        echo "fuzz_mutants: $pair fails on its own seeds without a mutant" >&2
        exit 2
    fi
done

# ---- each entry --------------------------------------------------------------
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$root" status --porcelain -- . ':!build' 2>/dev/null)" ] && commit="$commit (with uncommitted changes)"
: >"$work/lines"
: >"$work/results"
failures=0
for i in $selected; do
    name=$(meta "$i" name) format=$(meta "$i" format) entry_pairs=$(meta "$i" pairs | tr ',' ' ')
    equivalent=$(meta "$i" equivalent)
    label=$(printf '%-38s %-12s' "$name" "$format")
    if [ -z "$name" ] || [ -z "$format" ] || [ -z "$entry_pairs" ] || [ -z "$(meta "$i" kind)" ]; then
        line="REFUSED $label $(meta "$i" source): needs name, format, pairs, file and kind"
        echo "$line" | tee -a "$work/lines"
        echo "$format refused" >>"$work/results"
        failures=$((failures + 1))
        continue
    fi
    if ! apply "$i"; then
        line="REFUSED $label $(meta "$i" source): $(cat "$work/why")"
        echo "$line" | tee -a "$work/lines"
        echo "$format refused" >>"$work/results"
        failures=$((failures + 1))
        continue
    fi
    # shellcheck disable=SC2086
    build $entry_pairs
    built=$?
    restore "$i"
    if [ "$built" -ne 0 ]; then
        line="REFUSED $label does not build: $(grep -m1 -E 'error' "$work/build.log")"
        echo "$line" | tee -a "$work/lines"
        echo "$format refused" >>"$work/results"
        failures=$((failures + 1))
        continue
    fi
    if [ -n "$equivalent" ]; then
        line="equiv   $label $equivalent"
        echo "$line" | tee -a "$work/lines"
        echo "$format equivalent" >>"$work/results"
        continue
    fi
    result=missed total_execs=0 detail=""
    for pair in $entry_pairs; do
        s=${pair%%:*} t=${pair#*:}
        rm -rf "$work/corpus" "$work/art"
        mkdir -p "$work/corpus" "$work/art"
        dict=""
        [ -f "$tree/fuzz/dict/$t.dict" ] && dict="-dict=$tree/fuzz/dict/$t.dict"
        seed=${KV_FUZZ_SEED:-$(od -An -tu4 -N4 /dev/urandom | tr -d ' ')}
        # shellcheck disable=SC2086
        nice timeout $((seconds * 3 + 120)) "$tree/build/fuzz/$s/$t" -max_total_time="$seconds" \
            $fuzz_limit_flags -print_final_stats=1 -seed="$seed" \
            -artifact_prefix="$work/art/" $dict "$work/corpus" "$root/build/fuzz/seeds/$s-$t" \
            >"$work/fuzz.log" 2>&1
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)
        [ -n "$execs" ] || execs=$(grep -o -E '^#[0-9]+' "$work/fuzz.log" | tail -n 1 | tr -d '#')
        execs=${execs:-0}
        saved=$(ls "$work/art" | grep -c -E "^($fuzz_artifact_kinds)-")
        if [ "$saved" -eq 0 ]; then
            total_execs=$((total_execs + execs))
            continue
        fi
        kinds=$(ls "$work/art" | sed -n -E "s/^($fuzz_artifact_kinds)-.*/\\1/p" | sort -u | tr '\n' ' ')
        failing=0 base_failing=0
        for a in "$work"/art/*; do
            replay_fails "$tree/build/asan/$s/fuzz-$t-replay" "$a" && failing=$((failing + 1))
            replay_fails "$out/base/$s/fuzz-$t-replay" "$a" && base_failing=$((base_failing + 1))
        done
        mkdir -p "$out/found/$name"
        cp "$work"/art/* "$out/found/$name/"
        cp "$work/fuzz.log" "$out/found/$name/libfuzzer.log"
        if [ "$base_failing" -gt 0 ]; then
            result=unmutated-fails
            detail="$pair saved ${kinds% } after $execs execs (seed $seed), but the unmutated code fails on it too: a bug of the project (build/fuzz-mutants/found/$name/)"
            continue
        fi
        result=found
        detail="$pair after $execs execs (seed $seed): ${kinds% }; replay fails on $failing of $saved"
        if [ "$failing" -ne "$saved" ]; then
            result=replay-passes
            detail="$detail: the replay driver passes what libFuzzer saved (build/fuzz-mutants/found/$name/)"
        fi
        break
    done
    case $result in
    found) line="found   $label $detail" ;;
    replay-passes) line="FOUND   $label $detail"; failures=$((failures + 1)) ;;
    unmutated-fails) line="BUG     $label $detail"; failures=$((failures + 1)) ;;
    *) line="missed  $label by $entry_pairs: $total_execs execs in $seconds s a pair" ;;
    esac
    echo "$line" | tee -a "$work/lines"
    echo "$format $result" >>"$work/results"
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)

# ---- the table per format ----------------------------------------------------
awk '
{ fmt[$1] = 1; total[$1]++; if ($2 == "equivalent") eq[$1]++; if ($2 == "found" || $2 == "replay-passes") found[$1]++ }
END {
    printf "%-14s %8s %11s %6s %6s\n", "format", "mutants", "equivalent", "found", "%"
    low = 0
    for (f in fmt) order[++n] = f
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (order[j] < order[i]) { t = order[i]; order[i] = order[j]; order[j] = t }
    for (i = 1; i <= n; i++) {
        f = order[i]
        rest = total[f] - eq[f]
        pct = rest > 0 ? int(100 * found[f] / rest) : 100
        printf "%-14s %8d %11d %6d %5d%%\n", f, total[f], eq[f], found[f], pct
        if (pct < 90) low++
    }
    exit low > 0
}' "$work/results" >"$work/table"
table_low=$?
{
    echo "make fuzz-mutants STAGE=$picked${only:+ MUTANT=$only} FUZZ_SECONDS=$seconds"
    echo "started $started, commit $commit; load average $load_start at the start, $load_end at the end"
    echo "libFuzzer: $(clang --version 2>/dev/null | head -n 1), $seconds s a pair, $fuzz_limit_flags, seeds of make fuzz-seeds, an empty corpus"
    echo
    cat "$work/lines"
    echo
    cat "$work/table"
} >"$report"
echo
cat "$work/table"
echo "fuzz_mutants: the report is $report"
[ "$failures" -eq 0 ] && [ "$table_low" -eq 0 ]
