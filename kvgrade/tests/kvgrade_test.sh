#!/bin/sh
# kvgrade_test.sh: kvgrade graded: it must catch the example engines'
# mistakes, pass the right ones, say so loudly when it cannot cut the
# power, and pass our stages.
#
#   sh kvgrade/tests/kvgrade_test.sh BUILD examples [--full]
#       every example engine of kvgrade/examples/ gets its verdict:
#       correct.py passes every rung; nofsync.py fails power (and passes
#       kills); nodirsync.py fails power; ackfirst.py fails kills;
#       nochecksum.py fails the sweep; compacting.py passes power and
#       skipfsync.py, fsyncfirst.py, renamefirst.py, norenamesync.py
#       (compacting.py with one mistake each) fail it; refusetorn.py
#       (correct.py refusing a torn last record) fails power at a torn
#       state, naming it; the power failures name the file or directory
#       and the sync it lacked; each failure's scorecard line is the
#       failure shown; each failure leaves a replay file,
#       and `kvgrade --replay` shows it failing again (--full: every rung
#       of every example, at full size: make kvgrade-examples)
#   sh kvgrade/tests/kvgrade_test.sh BUILD engines [--seeds LIST] [--full]
#       engines that answer a pipelined batch with one fsync, in Python
#       (kvgrade/examples/batching.py, batchlog.py), C (BUILD/kvgrade/
#       engines/batching) and Rust (kvgrade/tests/engines/batching.rs,
#       built here with rustc if there is one, else SKIP, said) pass every
#       rung; the mistakes pass none of the power rung, on every seed of
#       LIST (default 7), each failure saying what was wrong: refusing a
#       torn batch (refusebatch.py, batchlog_mistakes refusebatch) says it
#       refused a torn write; never cutting a torn tail (nocut.py,
#       batchlog_mistakes nocut) fails at the start after the writes that
#       follow it; each missing sync (nofsync, fsyncfirst, nodirsync,
#       nologsync) names data.log and the sync it lacked.  --quick unless
#       --full; with --full the mistakes are judged in both, and one
#       counterexample of each kind replays
#   sh kvgrade/tests/kvgrade_test.sh BUILD skip
#       without FUSE (KVGRADE_NO_FUSE, --no-fuse) the power rung is
#       skipped, said so, the exit status is 3, never 0
#   sh kvgrade/tests/kvgrade_test.sh BUILD docs
#       the engine printed in docs/kvgrade.md is kvgrade/examples/correct.py
#   sh kvgrade/tests/kvgrade_test.sh BUILD fs
#       kvgrade-fs empties a file opened with O_TRUNC, and keeps answering
#       its commands when a FUSE request it was told of is withdrawn before
#       it reads it (a held create dropped while the kernel's interrupt for
#       it waited); without FUSE: SKIP
#   sh kvgrade/tests/kvgrade_test.sh BUILD stage STAGE DURABILITY
#       build/STAGE/kv serve --stdio passes every rung (--quick)
#
# Prints "ok NAME" or "FAIL NAME: why" per check and ends with
# "N passed, N failed" (tests/run.sh reads it).  PYTHON picks the
# interpreter of the examples (default /usr/bin/python3, Debian's); it is
# run with -S -E -X pycache_prefix (below).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:?usage: kvgrade_test.sh BUILD MODE}
mode=${2:?usage: kvgrade_test.sh BUILD MODE}
shift 2
kvgrade=$build/kvgrade/kvgrade
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    [ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
fi
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
    export TMPDIR
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/kvgrade-test.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
# A grade starts an example engine hundreds of times (every kill, power
# cut, durable state and damaged copy is a start), so the start is made
# cheap: no site (-S: the examples use the standard library only, and
# site reads every .pth file of site-packages at each start), no PYTHON*
# variables (-E: PYTHONDONTWRITEBYTECODE would have the modules the
# examples import, correct, compacting and batchlog, compiled again at
# every start), those modules compiled once, into $work/pycache.
pyrun="$PYTHON -S -E -X pycache_prefix=$work/pycache"
passed=0
failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# row LOG RUNG: the scorecard's word for the rung (pass, FAIL, skipped).
row() { sed -n "s/^  rung $2 *\([A-Za-z]*\).*/\1/p" "$1" | head -n 1; }

# grade NAME EXPECT_STATUS RUNGS ARGS...: runs kvgrade on an example.
grade() {
    name=$1 want=$2 rungs=$3
    shift 3
    log=$work/$name.log
    out=$work/$name.out
    mkdir -p "$out"
    "$kvgrade" --engine "$pyrun $root/kvgrade/examples/$name.py {dir}" --durability sync \
        --rungs "$rungs" --report "$out" --seed 7 --scale none "$@" >"$log" 2>&1
    status=$?
    if [ "$status" -ne "$want" ]; then
        fail "$name" "exit status $status, expected $want; the end of its output:"
        tail -n 25 "$log" | sed 's/^/    /'
        return 1
    fi
    return 0
}

# expect NAME RUNG WORD: the scorecard says WORD for the rung.
expect() {
    got=$(row "$work/$1.log" "$2")
    if [ "$got" = "$3" ]; then
        ok "$1: rung $2 $3"
    else
        fail "$1: rung $2" "the scorecard says '$got', expected '$3'"
        tail -n 25 "$work/$1.log" | sed 's/^/    /'
    fi
}

# same_run NAME RUNG: the scorecard's line for the failed rung and the
# failure text below it describe the same run (the one shown, shrunk).
same_run() {
    said=$(grep "^Rung $2 failed: " "$work/$1.log" | head -n 1 | cut -c $((${#2} + 15))-)
    head=$(echo "$said" | cut -c 1-100)
    if [ -n "$head" ] && grep "^  rung $2 " "$work/$1.log" | grep -qF "$head"; then
        ok "$1: the scorecard's $2 line is the failure shown"
    else
        fail "$1: $2 scorecard" "its line does not begin as the failure: '$head'"
    fi
}

# replays NAME RUNG: a counterexample was saved, printed, and fails again
# when replayed (a timed kill may need a try or two).
replays() {
    file=$work/$1.out/kvgrade-$2.replay
    if [ ! -f "$file" ]; then
        fail "$1: $2 counterexample" "no replay file $file"
        return
    fi
    if ! grep -q "^Replay it: .*--replay $file" "$work/$1.log"; then
        fail "$1: $2 counterexample" "the scorecard does not say how to replay it"
        return
    fi
    if ! grep -q "counterexample" "$work/$1.out/index.html"; then
        fail "$1: $2 counterexample" "the HTML report does not show it"
        return
    fi
    for try in 1 2 3; do
        "$kvgrade" --replay "$file" --engine "$pyrun $root/kvgrade/examples/$1.py {dir}" \
            >"$work/$1.replay.log" 2>&1
        if [ $? -eq 1 ] && grep -q "fails again" "$work/$1.replay.log"; then
            ok "$1: the $2 counterexample replays ($(grep -c '' "$file") lines, try $try)"
            return
        fi
    done
    fail "$1: $2 counterexample" "it did not fail again in 3 replays"
    tail -n 5 "$work/$1.replay.log" | sed 's/^/    /'
}

case $mode in
examples)
    full=--quick
    [ "${1:-}" = --full ] && full=""
    all=conformance,model,kills,power,sweep,speed
    if grade correct 0 "$all" $full; then
        for r in conformance model kills power sweep speed; do expect correct $r pass; done
        [ -f "$work/correct.out/index.html" ] && [ -f "$work/correct.out/kills.svg" ] &&
            [ -f "$work/correct.out/speed.svg" ] && ok "correct: the report and its plots" ||
            fail "correct: report" "index.html, kills.svg or speed.svg missing"
    fi
    rungs=kills,power
    [ -z "$full" ] && rungs=$all
    if grade nofsync 1 "$rungs" $full; then
        expect nofsync kills pass
        expect nofsync power FAIL
        # Failed for what the engine did, not for the grader's own trouble.
        grep "^  rung power" "$work/nofsync.log" | grep -q "after the power cut" &&
            ok "nofsync: the scorecard names what the power cut lost" ||
            fail "nofsync: power" "the scorecard says: $(grep "^  rung power" "$work/nofsync.log" | cut -c 1-200)"
        same_run nofsync power
        replays nofsync power
    fi
    rungs=power
    [ -z "$full" ] && rungs=$all
    if grade nodirsync 1 "$rungs" $full; then
        expect nodirsync power FAIL
        grep -A3 "^Rung power failed" "$work/nodirsync.log" | grep -q "after the power cut" &&
            ok "nodirsync: the failure names the power cut" ||
            fail "nodirsync: power" "the failure does not say what was lost"
        replays nodirsync power
    fi
    rungs=kills
    [ -z "$full" ] && rungs=$all
    if grade ackfirst 1 "$rungs" $full; then
        expect ackfirst kills FAIL
        grep -A2 "^Rung kills failed" "$work/ackfirst.log" | grep -q "acknowledged" &&
            ok "ackfirst: the failure names an acknowledged write" ||
            fail "ackfirst: kills" "the failure does not name an acknowledged write"
        same_run ackfirst kills
        replays ackfirst kills
    fi
    # A compaction, as a learner writes one, passes; each durability
    # mistake planted in it fails the power rung at its exact part.
    if grade compacting 0 power $full; then
        expect compacting power pass
        grep "^  rung power" "$work/compacting.log" | grep -q "renamed 1\|renamed [2-9]" &&
            ok "compacting: the scorecard saw its compaction's rename" ||
            fail "compacting: power" "the scorecard does not say it saw a rename: $(grep "^  rung power" "$work/compacting.log" | cut -c 1-300)"
    fi
    for planted in skipfsync fsyncfirst renamefirst norenamesync; do
        if grade $planted 1 power $full; then
            expect $planted power FAIL
            grep "^  rung power" "$work/$planted.log" | grep -q "after the power cut" &&
                ok "$planted: the scorecard names what the power cut lost" ||
                fail "$planted: power" "the scorecard says: $(grep "^  rung power" "$work/$planted.log" | cut -c 1-200)"
        fi
    done
    # Each names the file or directory and the sync it lacked, from what
    # kvgrade-fs saw, on the scorecard and in the failure alike.
    for named in "nofsync|no fsync at all" "nodirsync|data.log's directory entry was never synced" \
        "fsyncfirst|data.log had no fsync between the write of" \
        "skipfsync|data.log had no fsync between the write of" \
        "renamefirst|data.tmp was renamed over data.log and the rename made durable" \
        "norenamesync|the rename of data.tmp to data.log was never synced"; do
        e=${named%%|*} words=${named#*|}
        [ -f "$work/$e.log" ] || continue
        if grep "^  rung power" "$work/$e.log" | grep -qF "$words" &&
            grep "^Rung power failed" "$work/$e.log" | grep -qF "$words"; then
            ok "$e: the power failure names its cause ($words)"
        else
            fail "$e: power" "no '$words' in: $(grep "^Rung power failed" "$work/$e.log" | cut -c 1-300)"
        fi
    done
    replays renamefirst power
    # Refusing a torn last record: the exact images pass (a cut leaves
    # only what was synced), a torn state does not.
    if grade refusetorn 1 power $full; then
        expect refusetorn power FAIL
        grep -A2 "^Rung power failed" "$work/refusetorn.log" |
            grep -q "refused to open .*a torn write: .*data.log.*a power cut keeps part of an unsynced write (of every write since the file's last completed fsync)" &&
            ok "refusetorn: the failure names the file, the torn region and the rule" ||
            fail "refusetorn: power" "the failure says: $(grep -A1 "^Rung power failed" "$work/refusetorn.log" | cut -c 1-300)"
        grep "^image [0-9]* [0-9]* \(prefix\|zero\) [0-9]*$" "$work/refusetorn.out/kvgrade-power.replay" >/dev/null &&
            ok "refusetorn: the counterexample loads a torn image" ||
            fail "refusetorn: power" "no 'image N A prefix|zero OFF' step in its replay file"
        same_run refusetorn power
        replays refusetorn power
    fi
    grep "^  rung power" "$work/correct.log" | grep -q "torn states checked ([1-9]" &&
        ok "correct: the scorecard counts the torn states it opened" ||
        fail "correct: power" "the scorecard does not count torn states: $(grep "^  rung power" "$work/correct.log" | cut -c 1-300)"
    rungs=conformance,sweep
    [ -z "$full" ] && rungs=$all
    if grade nochecksum 1 "$rungs" $full; then
        expect nochecksum conformance pass
        expect nochecksum sweep FAIL
        grep -A2 "^Rung sweep failed" "$work/nochecksum.log" | grep -q "a wrong value" &&
            ok "nochecksum: the failure is a wrong value" ||
            fail "nochecksum: sweep" "the failure is not a wrong value"
        same_run nochecksum sweep
        replays nochecksum sweep
    fi
    ;;
engines)
    seeds=7 modes=--quick
    while [ $# -gt 0 ]; do
        case $1 in
        --seeds) seeds=$(echo "$2" | tr ',' ' ') && shift 2 ;;
        --full) modes="full --quick" && shift ;;
        *) echo "kvgrade_test.sh engines: [--seeds LIST] [--full], not $1" >&2 && exit 2 ;;
        esac
    done
    py="$pyrun $root/kvgrade/examples"
    c=$build/kvgrade/engines
    rs=""
    if ! command -v rustc >/dev/null 2>&1; then
        echo "SKIP batching.rs: no rustc here: the Rust engine was not checked"
    elif rustc --edition 2021 -O -o "$work/batching-rs" "$root/kvgrade/tests/engines/batching.rs" \
        >"$work/rustc.log" 2>&1; then
        rs=$work/batching-rs
    else
        fail "batching.rs" "rustc could not build it: $(head -c 300 "$work/rustc.log")"
    fi
    # judge NAME SEED MODE RUNGS CMD: kvgrade on an engine ($log, $status).
    judge() {
        log=$work/$1-$2-$3.log
        "$kvgrade" --engine "$5" --durability sync --rungs "$4" --report "$work/$1-$2-$3.out" \
            --seed "$2" --scale none $( [ "$3" = quick ] && echo --quick) >"$log" 2>&1
        status=$?
    }
    for seed in $seeds; do
        mode=${modes%% *}
        [ "$mode" = --quick ] && mode=quick
        for right in "py-batching|$py/batching.py {dir}" "py-batchlog|$py/batchlog.py {dir}" \
            "c-batching|$c/batching {dir}" ${rs:+"rs-batching|$rs {dir}"}; do
            name=${right%%|*}
            judge "$name" "$seed" "$mode" conformance,model,kills,power,sweep,speed "${right#*|}"
            bad=""
            for r in conformance model kills power sweep speed; do
                [ "$(row "$log" $r)" = pass ] || bad="$bad $r"
            done
            if [ $status -eq 0 ] && [ -z "$bad" ]; then
                ok "$name (seed $seed, $mode): every rung passes"
            else
                fail "$name (seed $seed, $mode)" "exit status $status; not passed:$bad"
                grep -A3 "^Rung .* failed" "$log" | cut -c 1-300 | sed 's/^/    /'
            fi
        done
        for mode in $modes; do
            [ "$mode" = --quick ] && mode=quick
            for wrong in \
                "py-refusebatch|$py/refusebatch.py {dir}|the engine refused to open a state a power cut leaves, a torn write|data.log" \
                "c-refusebatch|$c/batchlog_mistakes {dir} refusebatch|the engine refused to open a state a power cut leaves, a torn write|data.log" \
                "py-nocut|$py/nocut.py {dir}|took more writes and stopped cleanly, and then failed at its next start|data.log" \
                "c-nocut|$c/batchlog_mistakes {dir} nocut|took more writes and stopped cleanly, and then failed at its next start|data.log" \
                "py-nologsync|$py/nologsync.py {dir}|data.log was never fsynced before|no fsync after creating it" \
                "c-nologsync|$c/batchlog_mistakes {dir} nologsync|data.log was never fsynced before|no fsync after creating it" \
                "c-nofsync|$c/batchlog_mistakes {dir} nofsync|nothing was fsynced before|no fsync at all" \
                "c-fsyncfirst|$c/batchlog_mistakes {dir} fsyncfirst|data.log had no fsync between the write of|an fsync before the write" \
                "c-nodirsync|$c/batchlog_mistakes {dir} nodirsync|data.log's directory entry was never synced before|its directory was not fsynced after"; do
                name=${wrong%%|*} rest=${wrong#*|}
                cmd=${rest%%|*} rest=${rest#*|}
                judge "$name" "$seed" "$mode" power "$cmd"
                said=$(grep "^Rung power failed" "$log")
                missing=""
                while [ -n "$rest" ]; do
                    words=${rest%%|*}
                    echo "$said" | grep -qF "$words" || missing="$missing '$words'"
                    [ "$rest" = "$words" ] && rest="" || rest=${rest#*|}
                done
                if [ $status -eq 1 ] && [ "$(row "$log" power)" = FAIL ] && [ -z "$missing" ] &&
                    grep "^  rung power" "$log" | grep -qF "$(echo "$said" | cut -c 20-120)"; then
                    ok "$name (seed $seed, $mode): power fails, saying why"
                else
                    fail "$name (seed $seed, $mode)" "exit status $status, power '$(row "$log" power)'; not said:$missing; it said: $(echo "$said" | cut -c 1-300)"
                fi
            done
        done
    done
    # The counterexamples replay (a batch's too), and --report makes the
    # folders it names.
    first=${seeds%% *}
    mode=${modes%% *}
    [ "$mode" = --quick ] && mode=quick
    for kind in py-refusebatch c-nocut c-nodirsync; do
        file=$work/$kind-$first-$mode.out/kvgrade-power.replay
        case $kind in
        py-*) cmd="$py/${kind#py-}.py {dir}" ;;
        *) cmd="$c/batchlog_mistakes {dir} ${kind#c-}" ;;
        esac
        "$kvgrade" --replay "$file" --engine "$cmd" >"$work/$kind.replay.log" 2>&1
        st=$?
        [ $st -eq 1 ] && grep -q "fails again" "$work/$kind.replay.log" &&
            ok "$kind: its counterexample fails again when replayed" ||
            fail "$kind: replay" "exit status $st: $(tail -n 1 "$work/$kind.replay.log" | cut -c 1-300)"
    done
    "$kvgrade" --engine "$c/batchlog_mistakes {dir} nodirsync" --durability sync --rungs power --quick \
        --scale none --seed "$first" --report "$work/not/made/yet" >"$work/report.log" 2>&1
    [ -f "$work/not/made/yet/kvgrade-power.replay" ] && [ -f "$work/not/made/yet/index.html" ] &&
        ok "--report a/b/c: the folders are made, the report and the replay written there" ||
        fail "--report" "no report in a folder whose parents were missing: $(tail -n 2 "$work/report.log")"
    ;;
skip)
    for how in env option; do
        if [ $how = env ]; then
            KVGRADE_NO_FUSE=1 "$kvgrade" --engine "$pyrun $root/kvgrade/examples/correct.py {dir}" \
                --durability sync --rungs conformance,power --quick --scale none >"$work/skip.log" 2>&1
        else
            "$kvgrade" --engine "$pyrun $root/kvgrade/examples/correct.py {dir}" --no-fuse \
                --durability sync --rungs power --quick --scale none >"$work/skip.log" 2>&1
        fi
        status=$?
        [ $status -eq 3 ] && ok "no FUSE ($how): exit status 3, not 0" ||
            fail "no FUSE ($how)" "exit status $status, expected 3"
        [ "$(row "$work/skip.log" power)" = skipped ] && ok "no FUSE ($how): power is 'skipped'" ||
            fail "no FUSE ($how)" "the power rung is not marked skipped"
        grep -q "SKIPPED" "$work/skip.log" && ok "no FUSE ($how): said loudly" ||
            fail "no FUSE ($how)" "no loud SKIPPED line"
        last=$(tail -n 1 "$work/skip.log")
        case $last in
        *"durability claim"*"NOT checked"*) ok "no FUSE ($how): the last line says the claim was not checked" ;;
        *) fail "no FUSE ($how)" "the last line is: $last" ;;
        esac
    done
    ;;
docs)
    # The engine in docs/kvgrade.md: the lines between the two markers.
    sed -n '/^<!-- correct.py: begin -->$/,/^<!-- correct.py: end -->$/p' "$root/docs/kvgrade.md" |
        sed '1,2d;$d' | sed '$d' >"$work/doc.py"
    if cmp -s "$work/doc.py" "$root/kvgrade/examples/correct.py"; then
        ok "docs/kvgrade.md shows kvgrade/examples/correct.py as it is"
    else
        fail "docs/kvgrade.md" "its engine differs from kvgrade/examples/correct.py:"
        diff "$work/doc.py" "$root/kvgrade/examples/correct.py" | head -n 20 | sed 's/^/    /'
    fi
    ;;
fs)
    # The race, made likely: kvgrade-fs is stopped while the process whose
    # create it holds is killed (the kernel queues an interrupt for the
    # create: the device is readable) and "drop" is written; once it runs
    # again, one poll() sees both, the command is read first, its answer
    # to the create takes the interrupt away, and the device has nothing
    # left to read (unless the kernel sends something else meanwhile,
    # which is why it is tried five times).  It must still answer "stats".
    if [ ! -r /dev/fuse ] || [ ! -w /dev/fuse ] || [ ! -x "$build/kvgrade/kvgrade-fs" ]; then
        echo "SKIP kvgrade-fs: /dev/fuse or kvgrade-fs is not usable here: not checked"
    else
        mkdir -p "$work/mnt"
        mkfifo "$work/fs.in" "$work/fs.out"
        "$build/kvgrade/kvgrade-fs" "$work/mnt" <"$work/fs.in" >"$work/fs.out" 2>"$work/fs.err" &
        fspid=$!
        exec 7>"$work/fs.in" 8<"$work/fs.out"
        answer() { timeout 10 sh -c 'read -r l && echo "$l"' <&8; }
        said=$(answer)
        if [ "$said" != ready ]; then
            fail "kvgrade-fs" "it did not mount ($said; $(head -c 300 "$work/fs.err"))"
        else
            # open(O_TRUNC) of a file that exists empties it (the shell's >).
            printf 'a longer first content\n' >"$work/mnt/trunc" && printf 'x\n' >"$work/mnt/trunc"
            got=$(wc -c <"$work/mnt/trunc")
            [ "$got" -eq 2 ] && ok "kvgrade-fs: open(O_TRUNC) empties a file that exists" ||
                fail "kvgrade-fs: O_TRUNC" "23 bytes, then 2 written with O_TRUNC: it holds $got bytes ($(head -c 40 "$work/mnt/trunc" | tr '\n' ' '))"
            round=0 bad=""
            while [ $round -lt 5 ] && [ -z "$bad" ]; do
                round=$((round + 1))
                echo "freeze-at 1" >&7
                answer >/dev/null
                sh -c ': >"$1/file"' sh "$work/mnt" &
                child=$!
                said=$(answer)
                kill -STOP "$fspid"
                kill -KILL "$child"
                sleep 0.3
                echo drop >&7
                sleep 0.3
                kill -CONT "$fspid"
                dropped=$(answer)
                sleep 0.3
                echo stats >&7
                stats=$(answer)
                wait "$child" 2>/dev/null
                case "$said/$dropped/$stats" in
                frozen*/ok*/"ok ops"*) echo cut >&7; answer >/dev/null ;;
                *) bad="round $round: it answered '$said', '$dropped', then '$stats' (nothing: its loop waits in read(2) on the device)" ;;
                esac
            done
            [ -z "$bad" ] && ok "kvgrade-fs answers after a request it was told of was withdrawn (5 rounds)" ||
                fail "kvgrade-fs" "after a withdrawn request, $bad"
        fi
        exec 7>&- # the end of its input: it unmounts and exits
        for i in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$fspid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL "$fspid" 2>/dev/null
        wait
        exec 8<&-
    fi
    ;;
stage)
    stage=$1 durability=$2
    flag=""
    [ "$durability" = sync ] && flag=--sync
    "$kvgrade" --engine "$build/$stage/kv $flag {dir} serve --stdio" --durability "$durability" \
        --quick --scale none --report "$work/report" >"$work/stage.log" 2>&1
    status=$?
    for r in conformance model kills power sweep speed; do
        [ "$(row "$work/stage.log" $r)" = pass ] && ok "$stage: rung $r pass" ||
            fail "$stage: rung $r" "$(grep "^  rung $r" "$work/stage.log")"
    done
    [ $status -eq 0 ] && ok "$stage: exit status 0" || {
        fail "$stage" "exit status $status"
        tail -n 30 "$work/stage.log" | sed 's/^/    /'
    }
    ;;
*)
    echo "kvgrade_test.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
