#!/bin/sh
# fuzz_coverage.sh STAGE:TARGET...: what the fuzz harnesses reach of the
# code that decodes bytes someone else wrote.
#
# Each pair's coverage binary, build/fuzzcov/STAGE/TARGET (clang's
# source-based coverage and fuzz/replay_main.c; `make fuzz-coverage` builds
# them), replays the pair's corpora as `make test` and `make fuzz-smoke`
# hand them to it:
#   build/fuzz/seeds/STAGE-TARGET   the seeds (make fuzz-seeds)
#   fuzz/regressions/TARGET         the inputs that once broke a harness
#   build/fuzz/corpus/STAGE-TARGET  what make fuzz-smoke kept, if it ran here
#   fuzz/seeds/TARGET               the committed seeds of the stage-less
#                                   groups (serve, replica)
# with KV_FUZZ_ENGINE=all, as the replay does: every input also goes
# through the whole engine.  Each pair writes its own profile
# (LLVM_PROFILE_FILE=build/fuzzcov/profiles/STAGE-TARGET-%m.profraw); they
# are merged (llvm-profdata), and llvm-cov reports over every binary at
# once, for the files of fuzz/reads_bytes.txt only.
#
# Prints, per file: the lines and branches reached and the functions never
# reached; then the exceptions (fuzz/coverage_exceptions.txt: what no
# harness can reach, and why), printed apart and not counted as misses;
# then a summary line.  build/fuzzcov/report.txt holds the same with every
# function of every listed file (its lines and branches reached).
# Exits 1 if a harness failed on an input (its log is
# build/fuzzcov/STAGE-TARGET.log), 2 if a binary or a tool is missing.
# docs/fuzzing.md, "Coverage: what the harnesses reach".
set -u
out=build/fuzzcov
prof=$out/profiles
list=fuzz/reads_bytes.txt
exceptions=fuzz/coverage_exceptions.txt
root=$(pwd)
for tool in llvm-profdata llvm-cov; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "fuzz-coverage: $tool is missing (make deps DEPS=fuzz installs clang's tools)" >&2; exit 2; }
done
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
    export TMPDIR
fi
KV_FUZZ_ENGINE=${KV_FUZZ_ENGINE:-all}
export KV_FUZZ_ENGINE
rm -rf "$prof"
mkdir -p "$prof"

# ---- 1. Every pair over its corpora.
first="" objects="" pairs=0 inputs_total=0 harness_failed=0
echo "fuzz-coverage: replaying each pair's corpora (KV_FUZZ_ENGINE=$KV_FUZZ_ENGINE)"
for pair in "$@"; do
    stage=${pair%%:*} target=${pair#*:}
    bin=$out/$stage/$target
    [ -x "$bin" ] || { echo "fuzz-coverage: $bin is missing (make fuzz-coverage builds it)" >&2; exit 2; }
    if [ -z "$first" ]; then first=$bin; else objects="$objects -object=$bin"; fi
    pairs=$((pairs + 1))
    dirs=""
    for d in "build/fuzz/seeds/$stage-$target" "fuzz/regressions/$target" "build/fuzz/corpus/$stage-$target"; do
        [ -d "$d" ] && [ -n "$(ls -A "$d")" ] && dirs="$dirs $d"
    done
    case $stage in
    serve | replica) [ -d "fuzz/seeds/$target" ] && dirs="$dirs fuzz/seeds/$target" ;;
    esac
    log=$out/$stage-$target.log
    if [ -z "$dirs" ]; then
        printf '  %-26s no inputs (make fuzz-seeds makes the seeds)\n' "$pair"
        continue
    fi
    # shellcheck disable=SC2086
    if LLVM_PROFILE_FILE="$prof/$stage-$target-%m.profraw" "$bin" $dirs >"$log" 2>&1; then
        n=$(sed -n 's/^\([0-9]*\) passed, 0 failed$/\1/p' "$log" | tail -n 1)
        inputs_total=$((inputs_total + ${n:-0}))
        printf '  %-26s %5s inputs from%s\n' "$pair" "${n:-?}" "$dirs"
    else
        harness_failed=$((harness_failed + 1))
        printf '  %-26s FAIL: the harness broke on an input (see %s)\n' "$pair" "$log"
        grep -v '^RUN ' "$log" | tail -n 5 | sed 's/^/      /'
    fi
done
[ -n "$first" ] || { echo "fuzz-coverage: no pair" >&2; exit 2; }
set -- "$prof"/*.profraw
[ -f "$1" ] || { echo "fuzz-coverage: no profile was written" >&2; exit 2; }
llvm-profdata merge -sparse -o "$out/fuzz.profdata" "$@" || exit 2

# ---- 2. llvm-cov over every binary, the listed files only.
files=$(awk '!/^#/ && NF { print $1 }' "$list")
abs=""
for f in $files; do abs="$abs $root/$f"; done
# shellcheck disable=SC2086
llvm-cov report "$first" $objects -instr-profile="$out/fuzz.profdata" -show-functions $abs \
    >"$out/functions.txt" 2>"$out/llvm-cov.log" || { cat "$out/llvm-cov.log" >&2; exit 2; }

# ---- 3. The report.  functions.txt has, per file, a block "File 'PATH':",
# a header, a row per function (name, regions, missed, cover, lines,
# missed, cover, branches, missed, cover; a static function's name is
# FILE.c:NAME) and a TOTAL row.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain 2>/dev/null | grep -q . && echo " (with uncommitted changes)")
awk -v root="$root/" -v listfile="$list" -v excfile="$exceptions" \
    -v report="$out/report.txt" -v pairs="$pairs" -v inputs="$inputs_total" \
    -v when="$(date -u '+%Y-%m-%d %H:%M UTC')" -v commit="$commit$dirty" \
    -v cmd="make fuzz-coverage${STAGE:+ STAGE=$STAGE}${TARGET:+ TARGET=$TARGET}" '
function pct(hit, all) { return all == 0 ? "    -" : sprintf("%5.1f%%", 100 * hit / all) }
function pct1(hit, all) { return all == 0 ? "-" : sprintf("%.1f%%", 100 * hit / all) }
function short(name) { sub(/^[^:]*\.c:/, "", name); return name }
BEGIN {
    while ((getline line < listfile) > 0) {
        if (line ~ /^#/ || line !~ /[^ \t]/) continue
        split(line, w, /[ \t]+/); nfiles++; order[nfiles] = w[1]; listed[w[1]] = 1
    }
    # Exceptions: FILE FUNCTION REASON...; FUNCTION "*" is the whole file.
    while ((getline line < excfile) > 0) {
        if (line ~ /^#/ || line !~ /[^ \t]/) continue
        f = line; sub(/[ \t].*/, "", f)
        rest = line; sub(/^[^ \t]+[ \t]+/, "", rest)
        fn = rest; sub(/[ \t].*/, "", fn)
        why = rest; sub(/^[^ \t]+[ \t]+/, "", why)
        nexc++; exc_file[nexc] = f; exc_fn[nexc] = fn; exc_why[nexc] = why
        exc[f SUBSEP fn] = nexc
    }
}
/^File / { file = $2; gsub(/^'\''|'\'':$/, "", file); sub("^" root, "", file); seen[file] = 1; next }
/^Name|^---|^$/ { next }
/^TOTAL/ { L[file] = $5; LM[file] = $6; B[file] = $8; BM[file] = $9; next }
file != "" {
    name = short($1)
    nf[file]++; fname[file, nf[file]] = name
    flines[file, nf[file]] = pct($5 - $6, $5); fbr[file, nf[file]] = pct($8 - $9, $8)
    # Never reached: none of its regions ran.
    dead = ($2 == $3 && $2 > 0)
    fdead[file, nf[file]] = dead
    if (dead) reached_not[file, name] = 1; else reached[file, name] = 1
}
END {
    hdr = sprintf("fuzz-coverage: %d pairs replayed %d inputs; the %d files of %s\n", pairs, inputs, nfiles, listfile)
    printf "%s", hdr
    printf "fuzz-coverage report\ncommand: %s\ndate: %s\ncommit: %s\n%s\n", cmd, when, commit, hdr > report
    printf "%7s %9s  %-48s %s\n", "lines", "branches", "file", "functions never reached" | "cat"
    close("cat")
    printf "%7s %9s  %-48s %s\n", "lines", "branches", "file", "functions never reached" > report
    for (i = 1; i <= nfiles; i++) {
        f = order[i]
        if (!(f in seen)) {
            if ((f SUBSEP "*") in exc) { line = sprintf("%7s %9s  %-48s %s", "-", "-", f, "(no harness links it: an exception)"); nexcfiles++ }
            else { line = sprintf("%7s %9s  %-48s %s", "-", "-", f, "NO HARNESS LINKS IT"); unlinked++ }
            print line; print line > report
            continue
        }
        if ((f SUBSEP "*") in exc) whole = 1; else whole = 0
        dead = ""; edead = ""
        for (k = 1; k <= nf[f]; k++) {
            if (!fdead[f, k]) continue
            n = fname[f, k]
            if (whole || ((f SUBSEP n) in exc)) { edead = edead (edead ? ", " : "") n; continue }
            dead = dead (dead ? ", " : "") n
            ndead++
        }
        if (!whole) {
            TL += L[f]; TLM += LM[f]; TB += B[f]; TBM += BM[f]
            if (B[f] > 0 && (B[f] - BM[f]) / B[f] < 0.9) below++
        } else nexcfiles++
        line = sprintf("%7s %9s  %-48s %s", pct(L[f] - LM[f], L[f]), pct(B[f] - BM[f], B[f]), f,
                       (whole ? "(the whole file is an exception) " : "") dead (edead ? (dead ? "; " : "") "excepted: " edead : ""))
        print line; print line > report
    }
    # Every function of every file, for report.txt.
    print "\nEvery function (lines, branches reached; - where it has none):" > report
    for (i = 1; i <= nfiles; i++) {
        f = order[i]
        if (!(f in seen)) continue
        print "\n" f > report
        for (k = 1; k <= nf[f]; k++) {
            n = fname[f, k]
            mark = fdead[f, k] ? (((f SUBSEP n) in exc || (f SUBSEP "*") in exc) ? "never reached (an exception)" : "NEVER REACHED") : ""
            printf "  %7s %7s  %-44s %s\n", flines[f, k], fbr[f, k], n, mark > report
        }
    }
    # The exceptions, apart.
    out = sprintf("\nExceptions (%s): what no harness reaches, and why\n", excfile)
    printf "%s", out; printf "%s", out > report
    for (e = 1; e <= nexc; e++) {
        f = exc_file[e]; n = exc_fn[e]
        state = ""
        if (!(f in listed)) { state = " [NOT IN " listfile "]"; stale++ }
        else if (!(f in seen)) {
            state = ""   # not linked by the pairs of this run (STAGE=, TARGET=)
        } else if (n == "*") {
            state = ""
        } else if (n != "*" && ((f SUBSEP n) in reached)) { state = " [REACHED NOW: take the exception out]"; stale++ }
        else if (n != "*" && !((f SUBSEP n) in reached_not)) { state = " [NO SUCH FUNCTION in the harnesses: take it out or rename it]"; stale++ }
        line = sprintf("  %s %s: %s%s", f, (n == "*" ? "(the whole file)" : n), exc_why[e], state)
        print line; print line > report
    }
    sum = sprintf("\nsummary: %d files: lines %s (%d of %d), branches %s (%d of %d) outside the exceptions; %d functions never reached (not excepted), %d files below 90%% of branches, %d files not linked by any harness (not excepted), %d exceptions (%d stale)\n",
                  nfiles, pct1(TL - TLM, TL), TL - TLM, TL, pct1(TB - TBM, TB), TB - TBM, TB,
                  ndead, below, unlinked, nexc, stale)
    printf "%s", sum; printf "%s", sum > report
}' "$out/functions.txt"
echo "fuzz-coverage: every function of every file: $out/report.txt"
if [ "$harness_failed" -gt 0 ]; then
    echo "fuzz-coverage: $harness_failed harness(es) broke on an input: fix it, or save the input in fuzz/regressions/"
    exit 1
fi
exit 0
