#!/bin/sh
# run.sh: runs every test binary and sums up.
#
#   sh tests/run.sh BUILD_DIR "STAGES" [ASAN_BUILD_DIR [TSAN_BUILD_DIR]]
#
# What follows is everything it runs; KV_TEST_PART=gate (`make test`) or
# deep (`make test-deep`) picks a part of it, as "KV_TEST_PART" below says.
# For BUILD_DIR, and ASAN_BUILD_DIR if given (with ASan/UBSan options set):
# DIR/common_test, DIR/<stage>/kvtest for each stage, and, when they exist,
# tests/cli_test.sh, tests/server_test.py and tests/server_txn_test.py on DIR/<stage>/kv,
# tests/server_metrics_test.py once over every stage's kv (BUILD_DIR; and
# under ASan+UBSan over one stage's),
# DIR/<stage>/stagetest (a stage's own tests), DIR/<stage>/alloctest
# (allocation failures), DIR/<stage>/crashtest --quick (and, in BUILD_DIR
# only, with --workload=bank: the transactional workload) and the fuzz
# harnesses' replay drivers on their seeds and regressions; in BUILD_DIR
# only, kvgrade's unit tests and kvgrade/tests/kvgrade_test.sh (the
# example engines' verdicts, the FUSE skip, stages 01, 03, 07 and 09 graded).  The libFuzzer
# smoke run if KV_FUZZ_PAIRS is set (the Makefile sets it; with it
# tests/fuzz_findings_test.sh, that the smoke run's limits hold), and the
# exercise track's honesty checks if KV_GRADE_CHECK is set (likewise).  If
# TSAN_BUILD_DIR is given, TSAN_BUILD_DIR/<stage>/racetest for each stage
# (the threaded suites under ThreadSanitizer).  Each binary ends with a line "N passed, N failed"; one
# that crashes, times out, is missing, prints no such line, exits non-zero
# with nothing failed (a leak found at exit, say), or prints a sanitizer
# report (even one that let it go on) counts as one more failure.  Lines
# other than "RUN ..." and "ok ..." are shown as they come.  Prints a
# table (per binary: tests passed, failed, and its wall-clock seconds), a
# line per lane (how many binaries it ran, their seconds, and when it was
# done), then exactly one line "N passed, N failed" (the sums), and exits non-zero
# if anything failed.  Environment: KV_TEST_TIMEOUT (seconds per
# binary, default 1200), KV_TEST_FILTER (passed to the C test binaries),
# KV_UNFINISHED_STAGES (stages still being built, whose stagetest alone
# runs, in each build that has it, and for those of KV_CLUSTER_STAGES the
# cluster test of their kv serve),
# KV_ASAN_TOOL_STAGES (the stages whose kv serve the server tests run
# under ASan+UBSan, default "06-leveled": the tools are one code, and
# stage 06 drives the most of it; every stage's in release),
# KV_ASAN_CLI_STAGES (the same for kv's cli_test.sh, default "06-leveled"),
# KV_TSAN_SKIP_STAGES (stages whose racetest ThreadSanitizer leaves out,
# default "05-blocks 10-raft": 05's threaded parts, stage 04's engine and
# its flat table set, stage 05's caches, run under TSan in 04's and 06's;
# 10's engine is 09's, unchanged, and its own code runs one thread),
# KV_SANITIZE_DIFF_STAGES (stages that are the stage before with a part or
# two changed, each as STAGE:FILTER, default "07-txn:txn
# 09-cache:snapshot,model,latency,record_race 10-raft:model" (stage 10's
# engine is stage 09's, unchanged: its shared suites check that it links
# and runs as one): under ASan+UBSan and
# ThreadSanitizer their shared suites run only the tests whose names hold
# FILTER or one of its comma-separated parts (a STAGE without one takes
# KV_SANITIZE_DIFF_FILTER, default "txn"), their own stagetest and
# alloctest whole, and their crash test in release only; the stage before
# runs everything else on the same code.  Stage 09's filter picks the
# tests that read at snapshots while tables are flushed and merged, where
# a record cache could serve a stale value, and its own race suite),
# KV_IO_STAGES (stages whose whole suite, kvtest, runs twice more in
# release with the I/O backend forced, KV_IO=posix and KV_IO=uring, and
# whose crash test runs once more with KV_IO=posix: docs/io.md; default
# "05-blocks"; the other runs take the default, io_uring where the kernel
# allows it; where it refuses, the KV_IO=uring run is a row marked
# skipped, with the kernel's words, and counts neither way),
# KV_VLOG_STAGES (stages with a value log, default "08-vlog 09-cache": their
# kvtest and crash test run once more in release with
# KV_TEST_VALUE_THRESHOLD=1, every value in the value log
# (tests/wrap/value_threshold.c); under ASan+UBSan and ThreadSanitizer
# their suites run only that way, since with the default threshold the
# shared suites' short values never leave the tables and the code is the
# stage before's),
# TMPDIR (where the tests make their databases; unset, /dev/shm if it is
# there: in memory an fsync costs nothing, where on a busy disk the suites
# take ten times as long, and no test needs a real disk: power loss is
# simulated, common/io_sim.h).
#
# The binaries run in three lanes at once (KV_TEST_LANES=N for N): one
# more than the cores of the 2-core machines the project is timed on,
# since many of them wait as much as they compute (servers answering
# sockets, members waiting out an election, kvgrade's engines), and a
# third lane fills a core the other two leave idle.  They share one
# queue: each lane takes the next binary no lane has taken, so none
# waits idle while another has a backlog.  The queue starts with the
# longest single entries (the fuzz smoke run, which takes a fixed time,
# and the grade's self-check), then the ASan+UBSan flavour (the
# slowest), then TSAN_BUILD_DIR and BUILD_DIR, so that what is left at
# the end is short.  The cluster test, the longest of all (about five
# minutes, two thirds of them waiting: members electing a leader,
# clients writing for the fixed length of a history), runs from the
# start in a lane of its own beside them, so that it holds no core's
# lane while it waits, and the three lanes share out the rest.  Their
# "== LABEL" lines interleave; the table lists the binaries in the order
# above (BUILD_DIR, the smoke run, TSAN_BUILD_DIR, ASAN_BUILD_DIR),
# whichever lane ran them.
# KV_TEST_LANES=1 runs everything in one lane, in the table's order.

if [ $# -lt 2 ] || [ $# -gt 4 ]; then
    echo "usage: sh tests/run.sh BUILD_DIR \"STAGES\" [ASAN_BUILD_DIR [TSAN_BUILD_DIR]]" >&2
    exit 2
fi
build=$1
stages=$2
asan_build=${3:-}
tsan_build=${4:-}
here=$(dirname "$0")
timeout_s=${KV_TEST_TIMEOUT:-1200}
filter=${KV_TEST_FILTER:-}

if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
    export TMPDIR
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kvrun.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'rm -rf "$work"; exit 130' INT TERM

# python3 found once: where it is a version manager's shim (pyenv's, say:
# a shell script that runs pyenv's own scripts to pick the interpreter,
# 0.37 s a start where the interpreter takes 0.03), the tests' hundred or
# so starts call the interpreter it picks, the same one, directly.
py_exe=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || py_exe=""
if [ -n "$py_exe" ] && [ -x "$py_exe" ] && [ "$py_exe" != "$(command -v python3)" ]; then
    mkdir -p "$work/bin" && ln -s "$py_exe" "$work/bin/python3" && PATH=$work/bin:$PATH
    export PATH
fi

# The jobs, one a line in $work/jobs, in the table's order:
# "N<TAB>FLAVOUR<TAB>LABEL<TAB>COMMAND", COMMAND quoted for eval.  A job's
# result is $work/row.N (its table row) and $work/sums.N ("passed failed").
njobs=0

# quote ARG...: the arguments, each in single quotes, for eval.
quote() {
    for arg in "$@"; do
        printf "'%s' " "$(printf '%s' "$arg" | sed "s/'/'\\\\''/g")"
    done
}

# Which part of the tests this call runs (KV_TEST_PART): "gate", what
# `make test` runs; "deep", what `make test-deep` adds to it; "all" (the
# default), both.  The deep part is what is a second look at code the
# gate already runs: ThreadSanitizer's race suites, the crash test under
# ASan+UBSan with its failed I/O calls, the tools' suites under
# ASan+UBSan, the suites again with a backend forced or every value in
# the value log, the server's suites over the stages beyond
# KV_GATE_SERVER_STAGES, kvgrade's example engines, the libFuzzer smoke
# run, and the grade's self-check of the stages after 05 and before it.
part=${KV_TEST_PART:-all}
case $part in
gate | deep | all) ;;
*) echo "run.sh: KV_TEST_PART must be gate, deep or all, not '$part'" >&2; exit 2 ;;
esac
# in_part PART: whether this call runs the jobs of PART (gate or deep).
in_part() {
    [ "$part" = all ] || [ "$part" = "$1" ]
}

# add_job FLAVOUR LABEL COMMAND...: queues a binary of the gate (FLAVOUR
# release, asan, tsan, smoke or long picks its environment and its place
# in the queue).
add_job() {
    in_part gate || return 0
    queue_job "$@"
}

# add_deep_job FLAVOUR LABEL COMMAND...: a job of the deep part (above).
add_deep_job() {
    in_part deep || return 0
    queue_job "$@"
}

# (queue_job's variables are its own, job_*: queue_flavour's $flavour
# must outlive the cluster test it queues as "long".)
queue_job() {
    njobs=$((njobs + 1))
    job_flavour=$1 job_label=$2
    shift 2
    printf '%s\t%s\t%s\t%s\n' "$njobs" "$job_flavour" "$job_label" "$(quote "$@")" >>"$work/jobs"
}

# missing_binary PATH: a binary of the gate not built, counted as a
# failure (count_missing PATH: the same in either part).
missing_binary() {
    in_part gate || return 0
    count_missing "$1"
}

count_missing() {
    njobs=$((njobs + 1))
    printf '%-40s %7s %7s %7s  %s\n' "$1" 0 1 - "missing (not built?)" >"$work/row.$njobs"
    echo "0 1" >"$work/sums.$njobs"
    echo "== $1: missing"
}

# skipped_job LABEL WHY: a row for a job of the deep part that could not
# run here; it counts as neither passed nor failed.
skipped_job() {
    in_part deep || return 0
    njobs=$((njobs + 1))
    printf '%-40s %7s %7s %7s  %s\n' "$1" 0 0 - "skipped: $2" >"$work/row.$njobs"
    echo "0 0" >"$work/sums.$njobs"
    echo "== $1: skipped: $2"
}

# is_io_stage STAGE: one of KV_IO_STAGES.
is_io_stage() {
    case " ${KV_IO_STAGES:-05-blocks} " in
    *" $1 "*) return 0 ;;
    esac
    return 1
}

# run_binary N LABEL COMMAND...: runs it, shows its interesting lines,
# writes its row and its counts.
run_binary() {
    n=$1 label=$2
    shift 2
    echo "== $label"
    started=$(date +%s)
    # KV_TEST_CPU=1: each binary's processor seconds (user, system) and
    # page faults too, where /usr/bin/time is installed; the sum of a run's
    # is what two cores must share (on a machine whose page faults are
    # slow, the faults are most of the system time).
    cpu=""
    if [ -n "${KV_TEST_CPU:-}" ] && [ -x /usr/bin/time ]; then
        cpu="/usr/bin/time -f %U,%S,%R -o $work/cpu.$n"
    fi
    if command -v timeout >/dev/null 2>&1; then
        # shellcheck disable=SC2086 # cpu is words or nothing
        $cpu timeout "$timeout_s" "$@" >"$log" 2>&1
    else
        # shellcheck disable=SC2086
        $cpu "$@" >"$log" 2>&1
    fi
    status=$?
    seconds=$(($(date +%s) - started))
    grep -v -e '^RUN ' -e '^ok ' "$log" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    note=""
    # Sanitizer reports: ThreadSanitizer goes on after one (exitcode=66 at
    # the end), and a report must fail the run whatever the exit status.
    reports=$(grep -c -E '^(WARNING|ERROR): (ThreadSanitizer|AddressSanitizer|LeakSanitizer)|runtime error:' "$log")
    if [ -n "$summary" ]; then
        passed=$(echo "$summary" | sed 's/ passed.*//')
        failed=$(echo "$summary" | sed 's/.*passed, //; s/ failed//')
    else
        passed=0
        failed=0
    fi
    if [ "$status" -eq 124 ]; then
        note="timed out after ${timeout_s}s"
        failed=$((failed + 1))
    elif [ "$status" -gt 128 ]; then
        note="killed by signal $((status - 128))"
        failed=$((failed + 1))
    elif [ -z "$summary" ]; then
        note="no summary line (exit status $status)"
        failed=$((failed + 1))
    elif [ "$reports" -gt 0 ]; then
        note="$reports sanitizer report(s) (exit status $status)"
        failed=$((failed + 1))
    elif [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        note="exit status $status with no failed test"
        failed=$((failed + 1))
    fi
    if [ -s "$work/cpu.$n" ]; then
        note="${note:+$note; }cpu $(tail -n 1 "$work/cpu.$n" | awk -F, '{ printf "%.0f s user, %.0f s system, %.0fk faults", $1, $2, $3 / 1000 }')"
    fi
    printf '%-40s %7s %7s %7s  %s\n' "$label" "$passed" "$failed" "$seconds" "$note" >"$work/row.$n"
    echo "$passed $failed" >"$work/sums.$n"
}

# is_vlog_stage STAGE: one of KV_VLOG_STAGES.
is_vlog_stage() {
    case " ${KV_VLOG_STAGES:-08-vlog 09-cache} " in
    *" $1 "*) return 0 ;;
    esac
    return 1
}

# vlog_env STAGE FLAVOUR: "env KV_TEST_VALUE_THRESHOLD=1" where a sanitizer
# run of a value-log stage takes it (see KV_VLOG_STAGES), else nothing.
vlog_env() {
    if is_vlog_stage "$1" && [ "$2" != release ]; then
        echo env KV_TEST_VALUE_THRESHOLD=1
    fi
}

KV_SANITIZE_DIFF_STAGES=${KV_SANITIZE_DIFF_STAGES-07-txn:txn 09-cache:snapshot,model,latency,record_race 10-raft:model}

# is_diff_stage STAGE: one of KV_SANITIZE_DIFF_STAGES.
is_diff_stage() {
    for entry in $KV_SANITIZE_DIFF_STAGES; do
        [ "${entry%%:*}" = "$1" ] && return 0
    done
    return 1
}

# diff_filter STAGE: the filter KV_SANITIZE_DIFF_STAGES gives STAGE.
diff_filter() {
    for entry in $KV_SANITIZE_DIFF_STAGES; do
        if [ "${entry%%:*}" = "$1" ]; then
            case $entry in
            *:?*) echo "${entry#*:}" ;;
            *) echo "${KV_SANITIZE_DIFF_FILTER:-txn}" ;;
            esac
            return
        fi
    done
}

# queue_cluster DIR FLAVOUR STAGE: the stage's kv serve as members of a
# Raft group, in the release build, for the stages of KV_CLUSTER_STAGES
# (default "10-raft": tests/cluster/).
queue_cluster() {
    case " ${KV_CLUSTER_STAGES:-10-raft} " in
    *" $3 "*)
        if [ "$2" = release ] && [ -x "$1/$3/kv" ]; then
            add_job long "cluster/cluster_test.py $1/$3/kv" \
                python3 "$here/cluster/cluster_test.py" "$1/$3/kv"
        fi ;;
    esac
}

# queue_flavour DIR FLAVOUR: every binary of one build directory.
queue_flavour() {
    dir=$1 flavour=$2
    # Every harness of KV_FUZZ_PAIRS (the Makefile's list, STAGE:TARGET,
    # serve:T and replica:T among them) has its replay driver here: one
    # the build left out fails, named, rather than leaving its inputs
    # unreplayed.
    for pair in ${KV_FUZZ_PAIRS:-}; do
        group=${pair%%:*} target=${pair#*:}
        case " $stages serve replica " in *" $group "*) ;; *) continue ;; esac
        [ -x "$dir/$group/fuzz-$target-replay" ] || missing_binary "$dir/$group/fuzz-$target-replay"
    done
    # Harnesses that need no stage (kv serve's RESP parser, stage 10's
    # command and snapshot formats), on their seeds: the committed ones,
    # and those make fuzz-seeds wrote field by field
    # (build/fuzz/seeds/GROUP-TARGET, scripts/fuzz_seeds_fields.sh).
    for replay in "$dir"/serve/fuzz-*-replay "$dir"/replica/fuzz-*-replay; do
        [ -x "$replay" ] || continue
        target=${replay##*/fuzz-}
        target=${target%-replay}
        group=${replay%/fuzz-*}
        group=${group##*/}
        add_job "$flavour" "$replay" "$replay" "$here/../fuzz/seeds/$target" \
            $( [ -d "$here/../fuzz/regressions/$target" ] && echo "$here/../fuzz/regressions/$target" ) \
            $( [ -d "build/fuzz/seeds/$group-$target" ] && echo "build/fuzz/seeds/$group-$target" )
    done
    if [ -x "$dir/common_test" ]; then
        add_job "$flavour" "$dir/common_test" "$dir/common_test" $filter
    else
        missing_binary "$dir/common_test"
    fi
    # Stages still being built (KV_UNFINISHED_STAGES): their unit tests only.
    for stage in ${KV_UNFINISHED_STAGES:-}; do
        if [ -x "$dir/$stage/stagetest" ]; then
            add_job "$flavour" "$dir/$stage/stagetest" "$dir/$stage/stagetest" $filter
        else
            missing_binary "$dir/$stage/stagetest"
        fi
        queue_cluster "$dir" "$flavour" "$stage"
    done
    for stage in $stages; do
        stage_filter=$filter
        if [ "$flavour" = asan ] && is_diff_stage "$stage"; then
            stage_filter=$(diff_filter "$stage")
        fi
        venv=$(vlog_env "$stage" "$flavour")
        queue_cluster "$dir" "$flavour" "$stage"
        if [ -x "$dir/$stage/kvtest" ]; then
            # shellcheck disable=SC2086 # venv is words or nothing
            add_job "$flavour" "${venv#env }${venv:+ }$dir/$stage/kvtest" $venv "$dir/$stage/kvtest" $stage_filter
        else
            missing_binary "$dir/$stage/kvtest"
        fi
        # Tables of partitions (stage 09's kv_options.table_partitions): the
        # suites and the crash test again, every table written that way.
        if [ "$flavour" = release ] && [ "$stage" = 09-cache ] && [ -x "$dir/$stage/kvtest" ]; then
            add_deep_job "$flavour" "KV_TEST_TABLE_PARTITIONS=1 $dir/$stage/kvtest" env KV_TEST_TABLE_PARTITIONS=1 "$dir/$stage/kvtest" $filter
            if [ -x "$dir/$stage/crashtest" ]; then
                add_deep_job "$flavour" "KV_TEST_TABLE_PARTITIONS=1 $dir/$stage/crashtest --quick" env KV_TEST_TABLE_PARTITIONS=1 "$dir/$stage/crashtest" --quick
            fi
        fi
        # Every value in the value log: the suites and the crash test again.
        if [ "$flavour" = release ] && is_vlog_stage "$stage" && [ -x "$dir/$stage/kvtest" ]; then
            add_deep_job "$flavour" "KV_TEST_VALUE_THRESHOLD=1 $dir/$stage/kvtest" env KV_TEST_VALUE_THRESHOLD=1 "$dir/$stage/kvtest" $filter
            if [ -x "$dir/$stage/crashtest" ]; then
                add_deep_job "$flavour" "KV_TEST_VALUE_THRESHOLD=1 $dir/$stage/crashtest --quick" env KV_TEST_VALUE_THRESHOLD=1 "$dir/$stage/crashtest" --quick
            fi
        fi
        # The tools (kv, kv serve) are the same code linked with each
        # stage: under ASan+UBSan they run with the stages that exercise
        # the most of them (KV_ASAN_TOOL_STAGES), every stage in release.
        tools_here=1
        if [ "$flavour" = asan ]; then
            case " ${KV_ASAN_TOOL_STAGES:-06-leveled} " in
            *" $stage "*) ;;
            *) tools_here=0 ;;
            esac
        fi
        cli_here=1
        if [ "$flavour" = asan ]; then
            case " ${KV_ASAN_CLI_STAGES:-06-leveled} " in
            *" $stage "*) ;;
            *) cli_here=0 ;;
            esac
        fi
        # Under ASan+UBSan the tools' suites are the deep part's; in
        # release, kv's suite is the gate's on every stage (each stage's
        # tools read its own files), the server's on the stages of
        # KV_GATE_SERVER_STAGES (default "01-log 03-wal 07-txn 09-cache
        # 10-raft": a log with no WAL, a WAL, transactions, the caches,
        # a member of a group; the server is one code) and the deep
        # part's on the others.
        tools_job=add_job
        server_job=add_job
        if [ "$flavour" = asan ]; then
            tools_job=add_deep_job server_job=add_deep_job
        else
            case " ${KV_GATE_SERVER_STAGES:-01-log 03-wal 07-txn 09-cache 10-raft} " in
            *" $stage "*) ;;
            *) server_job=add_deep_job ;;
            esac
        fi
        if [ -f "$here/cli_test.sh" ] && [ "$cli_here" = 1 ]; then
            if [ -x "$dir/$stage/kv" ]; then
                $tools_job "$flavour" "cli_test.sh $dir/$stage/kv" sh "$here/cli_test.sh" "$dir/$stage/kv"
            elif [ "$tools_job" = add_job ]; then
                missing_binary "$dir/$stage/kv"
            elif in_part deep; then
                count_missing "$dir/$stage/kv"
            fi
        fi
        # The Redis-protocol server (`kv DIR serve`) through sockets, and,
        # in the first build only, through redis-cli and redis-benchmark.
        if [ -f "$here/server_test.py" ] && [ -x "$dir/$stage/kv" ] && [ "$tools_here" = 1 ]; then
            $server_job "$flavour" "server_test.py $dir/$stage/kv" python3 "$here/server_test.py" "$dir/$stage/kv"
            $server_job "$flavour" "server_txn_test.py $dir/$stage/kv" python3 "$here/server_txn_test.py" "$dir/$stage/kv"
            if [ "$dir" = "$build" ]; then
                $server_job "$flavour" "server_cli_test.sh $dir/$stage/kv" sh "$here/server_cli_test.sh" "$dir/$stage/kv"
            fi
        fi
        # The whole suite with the I/O backend forced each way (KV_IO:
        # common/io_mount.h), and the crash test on the POSIX calls; forced
        # to io_uring only where the kernel allows it, which the stage's kv
        # finds out (with KV_IO=uring, kv_open fails with the refusal).
        if [ "$flavour" = release ] && is_io_stage "$stage" && [ -x "$dir/$stage/kvtest" ] && in_part deep; then
            add_deep_job "$flavour" "KV_IO=posix $dir/$stage/kvtest" env KV_IO=posix "$dir/$stage/kvtest" $filter
            if [ -x "$dir/$stage/crashtest" ]; then
                add_deep_job "$flavour" "KV_IO=posix $dir/$stage/crashtest --quick" env KV_IO=posix "$dir/$stage/crashtest" --quick
            fi
            if refusal=$(KV_IO=uring "$dir/$stage/kv" "$work/io-probe-$stage" put k v 2>&1 >/dev/null); then
                add_deep_job "$flavour" "KV_IO=uring $dir/$stage/kvtest" env KV_IO=uring "$dir/$stage/kvtest" $filter
            else
                skipped_job "KV_IO=uring $dir/$stage/kvtest" "$(echo "$refusal" | head -n 1)"
            fi
        fi
        if [ -x "$dir/$stage/stagetest" ]; then
            add_job "$flavour" "$dir/$stage/stagetest" "$dir/$stage/stagetest" $filter
        fi
        if [ -x "$dir/$stage/alloctest" ]; then
            # shellcheck disable=SC2086
            add_job "$flavour" "${venv#env }${venv:+ }$dir/$stage/alloctest" $venv "$dir/$stage/alloctest" $filter
        fi
        if [ -x "$dir/$stage/crashtest" ] && ! { [ "$flavour" = asan ] && is_diff_stage "$stage"; }; then
            if [ "$flavour" = asan ]; then
                # Under ASan each failed I/O call costs a reopen at a tenth
                # of the speed: every call still fails, one of its three
                # ways (the release build fails each every way).
                # The deep part's: the release build's crash test is the
                # gate's.
                # shellcheck disable=SC2086
                add_deep_job "$flavour" "${venv#env }${venv:+ }$dir/$stage/crashtest --quick --ioerr-every 3" $venv "$dir/$stage/crashtest" --quick --ioerr-every 3
            else
                add_job "$flavour" "$dir/$stage/crashtest --quick" "$dir/$stage/crashtest" --quick
            fi
            # The transactional workload (tests/crash/bank.h), in release
            # only: a few seconds a stage, five times that under ASan.
            if [ "$flavour" = release ]; then
                add_job "$flavour" "$dir/$stage/crashtest --quick --workload=bank" "$dir/$stage/crashtest" --quick --workload=bank
            fi
        fi
        # Fuzz harnesses on their saved regression inputs and the stage's seeds.
        for replay in "$dir/$stage"/fuzz-*-replay; do
            [ -x "$replay" ] || continue
            target=${replay##*/fuzz-}
            target=${target%-replay}
            inputs=""
            for d in "$here/../fuzz/regressions/$target" "build/fuzz/seeds/$stage-$target"; do
                [ -d "$d" ] && inputs="$inputs $d"
            done
            add_job "$flavour" "$replay" "$replay" $inputs
        done
    done
}

# The queue, in the table's order.
queue_flavour "$build" release
# How the stages build on each other (interfaces, no circles, the files to
# open first), checked on the sources.
if [ -f "$here/structure_test.py" ]; then
    add_job release "structure_test.py" python3 "$here/structure_test.py"
fi
# Every file that reads bytes is a decoder `make fuzz-coverage` measures
# (fuzz/reads_bytes.txt) or says why it decodes none.
if [ -f "$here/fuzz_reads_test.sh" ]; then
    add_job release "fuzz_reads_test.sh" sh "$here/fuzz_reads_test.sh"
fi
# The linearizability checker the cluster tests use (docs/10-raft.md).
if [ -f "$here/cluster/lincheck_test.py" ]; then
    add_job release "cluster/lincheck_test.py" python3 "$here/cluster/lincheck_test.py"
fi
# What `kv serve` tells about itself (docs/metrics.md): a real Prometheus
# scraping every stage's --metrics-port, promtool, INFO and SLOWLOG against
# redis-server, hostile HTTP clients; once, over every stage's kv (and
# under ASan+UBSan over the first of KV_ASAN_TOOL_STAGES's, below).
if [ -f "$here/server_metrics_test.py" ]; then
    kvs=""
    for stage in $stages; do
        [ -x "$build/$stage/kv" ] && kvs="$kvs $build/$stage/kv"
    done
    # shellcheck disable=SC2086
    [ -n "$kvs" ] && add_job release "server_metrics_test.py (every stage)" python3 "$here/server_metrics_test.py" $kvs
    if [ -n "$asan_build" ]; then
        first=$(echo ${KV_ASAN_TOOL_STAGES:-06-leveled} | cut -d' ' -f1)
        [ -x "$asan_build/$first/kv" ] && add_deep_job asan "server_metrics_test.py $asan_build/$first/kv" \
            python3 "$here/server_metrics_test.py" "$asan_build/$first/kv"
    fi
fi
# kvgrade (docs/kvgrade.md), in the first build only: its unit tests; the
# example engines get their verdicts, those that batch their fsyncs too
# (Python, C, Rust; one seed, --quick); the power rung skipped without FUSE,
# and said so; the page's engine is the example's; kvgrade-fs answers its
# commands when a request it polled is withdrawn; stages 01 (durability
# none), 03, 07 and 09 (sync) pass every rung (--quick).
if [ -x "$build/kvgrade/kvgrade_unit" ]; then
    add_job release "$build/kvgrade/kvgrade_unit" "$build/kvgrade/kvgrade_unit"
fi
if [ -f "$here/../kvgrade/tests/kvgrade_test.sh" ] && [ -x "$build/kvgrade/kvgrade" ]; then
    kt=$here/../kvgrade/tests/kvgrade_test.sh
    add_deep_job release "kvgrade_test.sh examples" sh "$kt" "$build" examples
    add_deep_job release "kvgrade_test.sh engines" sh "$kt" "$build" engines
    add_job release "kvgrade_test.sh skip" sh "$kt" "$build" skip
    add_job release "kvgrade_test.sh docs" sh "$kt" "$build" docs
    add_job release "kvgrade_test.sh fs" sh "$kt" "$build" fs
    for kvs in 01-log:none 03-wal:sync 07-txn:sync 09-cache:sync; do
        case " $stages " in
        *" ${kvs%%:*} "*) add_job release "kvgrade_test.sh stage ${kvs%%:*}" sh "$kt" "$build" stage "${kvs%%:*}" "${kvs#*:}" ;;
        esac
    done
fi
# The pages' worked examples run with the release tools and print what the
# pages show; the pages' measured figures are the published ones.
if [ -f "$here/../scripts/docs_examples.py" ] && [ "$build" = build ]; then
    add_job release "docs_examples.py --check" python3 "$here/../scripts/docs_examples.py" --check
    add_job release "docs_figures.sh --check" sh "$here/docs_figures_check.sh"
fi
# Each stage page's lesson reads in a sitting (at most 5,000 words of
# prose and tables) and links its reference pages.
if [ -f "$here/lesson_words_test.py" ]; then
    add_job release "lesson_words_test.py" python3 "$here/lesson_words_test.py"
fi
# The libFuzzer smoke run (`make fuzz-smoke`), when the Makefile asks for it.
# Here a slow unit is one of 5 s (KV_TEST_FUZZ_SLOW_S), not `make
# fuzz-smoke`'s 1 s: this run shares the machine with every other test,
# and on the slow-kernel machine a regression input that runs in 0.3 s
# alone (fuzz/regressions/vlog/kv-check-an-io-error-whose-message-kv-open-
# clears) took 4 s by libFuzzer's clock and 1.7 s at the fastest of its
# replay's three runs, 0.4 s of it processor time.  A runaway is still
# found: a timeout is 10 s, and the planted slow unit of
# fuzz_findings_test.sh is judged at 1 s.
if [ -n "${KV_FUZZ_PAIRS:-}" ]; then
    add_deep_job smoke "fuzz smoke (${KV_FUZZ_SECONDS:-10}s a target)" \
        env KV_FUZZ_SLOW_S="${KV_TEST_FUZZ_SLOW_S:-5}" \
        sh "$here/../scripts/fuzz_smoke.sh" "${KV_FUZZ_SECONDS:-10}" $KV_FUZZ_PAIRS
    # That the smoke run and the replay drivers count a slow unit, a
    # timeout, an out-of-memory and a runaway allocation as findings.
    add_deep_job smoke "fuzz_findings_test.sh" sh "$here/fuzz_findings_test.sh"
fi
# The exercise track's honesty checks (grade/check.sh --quick: the starters
# fail, filled they are the reference, the planted wrong solutions are
# caught), when the Makefile asks for them; queued early, with the smoke
# run, since it compiles as it goes.  The gate checks the stages of
# KV_GATE_GRADE_STAGES (default "05-blocks", the stage with the most
# planted mistakes) and what the grade promises about itself
# (grade/track_test.sh); the deep part the other stages.
if [ -n "${KV_GRADE_CHECK:-}" ]; then
    gate_grade=${KV_GATE_GRADE_STAGES:-05-blocks}
    if [ "$part" = all ]; then
        add_job smoke "grade/check.sh --quick" sh "$here/../grade/check.sh" --quick
    else
        add_job smoke "grade/check.sh --quick $gate_grade" sh "$here/../grade/check.sh" --quick $gate_grade
        deep_grade=""
        for stage in $stages; do
            case " $gate_grade " in *" $stage "*) continue ;; esac
            [ -f "$here/../grade/$stage.exercises" ] && deep_grade="$deep_grade $stage"
        done
        # shellcheck disable=SC2086
        [ -n "$deep_grade" ] && add_deep_job smoke "grade/check.sh --quick (the other stages)" \
            env GRADE_CHECK_NO_TRACK=1 sh "$here/../grade/check.sh" --quick $deep_grade
    fi
fi
# ThreadSanitizer's race suites: the deep part's.
if [ -n "$tsan_build" ] && in_part deep; then
    for stage in $stages; do
        case " ${KV_TSAN_SKIP_STAGES-05-blocks 10-raft} " in
        *" $stage "*) continue ;;
        esac
        stage_filter=$filter
        if is_diff_stage "$stage"; then
            stage_filter=$(diff_filter "$stage")
        fi
        venv=$(vlog_env "$stage" tsan)
        if [ -x "$tsan_build/$stage/racetest" ]; then
            # shellcheck disable=SC2086
            add_deep_job tsan "${venv#env }${venv:+ }$tsan_build/$stage/racetest" $venv "$tsan_build/$stage/racetest" $stage_filter
        else
            count_missing "$tsan_build/$stage/racetest"
        fi
    done
fi
if [ -n "$asan_build" ]; then
    queue_flavour "$asan_build" asan
fi
touch "$work/jobs"

# The order the lanes take them in: with one lane, the table's; with more,
# the smoke run, ASan, TSan, then the rest, and the cluster test in a
# lane of its own.
lanes=${KV_TEST_LANES:-3}
case $lanes in
'' | *[!0-9]*) echo "run.sh: KV_TEST_LANES must be a number, not '$lanes'" >&2; exit 2 ;;
esac
if [ "$lanes" -le 1 ]; then
    lanes=1
    cp "$work/jobs" "$work/queue"
    : >"$work/queue.long"
else
    for f in smoke asan tsan release; do
        awk -F '\t' -v f="$f" '$2 == f' "$work/jobs"
    done >"$work/queue"
    # The long jobs (the cluster test): a lane of their own (above).
    awk -F '\t' '$2 == "long"' "$work/jobs" >"$work/queue.long"
fi

# run_lane L [QUEUE]: takes jobs off QUEUE ($work/queue) until none is
# left; a job is taken by making its directory $work/taken.N (mkdir is
# atomic: one lane wins).
run_lane() {
    lane_id=$1
    queue=${2:-$work/queue}
    log=$work/log.$lane_id
    tab=$(printf '\t')
    ran=0 busy=0
    while IFS=$tab read -r n flavour label cmd; do
        mkdir "$work/taken.$n" 2>/dev/null || continue
        eval "set -- $cmd"
        case $flavour in
        release)
            # glibc's malloc keeps what is freed for the next allocation
            # instead of handing it back to the kernel and faulting it in
            # again (build/01-log/kvtest model: 38,545 page faults, 454
            # with these; its system time 1.3 s, 0.85 s).  Nothing a test
            # checks depends on it; ASan's and TSan's allocators are their
            # own.
            set -- env GLIBC_TUNABLES=glibc.malloc.trim_threshold=134217728:glibc.malloc.mmap_threshold=33554432 "$@" ;;
        asan)
            set -- env ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$@" ;;
        tsan)
            # halt_on_error=0: every report of every test is shown;
            # exitcode=66 then marks the run, and run_binary counts the
            # reports.
            set -- env TSAN_OPTIONS=halt_on_error=0:exitcode=66:second_deadlock_stack=1 "$@" ;;
        esac
        run_binary "$n" "$label" "$@"
        ran=$((ran + 1)) busy=$((busy + seconds))
    done <"$queue"
    echo "lane $lane_id: $ran binaries, $busy s, done $(($(date +%s) - lanes_started)) s after the start" \
        >"$work/lane.$lane_id"
}

lane=1
pids=""
lanes_started=$(date +%s)
while [ "$lane" -le "$lanes" ]; do
    run_lane "$lane" &
    pids="$pids $!"
    lane=$((lane + 1))
done
if [ -s "$work/queue.long" ]; then
    run_lane "$lane" "$work/queue.long" &
    pids="$pids $!"
fi
for pid in $pids; do
    wait "$pid"
done

# Join the rows in the table's order; a job with no result (its lane
# died) counts as a failure.
total_passed=0
total_failed=0
table=""
n=1
while [ "$n" -le "$njobs" ]; do
    if [ -f "$work/sums.$n" ]; then
        read -r p f <"$work/sums.$n"
        total_passed=$((total_passed + p))
        total_failed=$((total_failed + f))
        table="$table$(cat "$work/row.$n")
"
    else
        label=$(awk -F '\t' -v n="$n" '$1 == n { print $3 }' "$work/jobs")
        total_failed=$((total_failed + 1))
        table="$table$(printf '%-40s %7s %7s %7s  %s' "$label" 0 1 - "no result (its lane ended early)")
"
    fi
    n=$((n + 1))
done

echo
printf '%-40s %7s %7s %7s\n' "binary" "passed" "failed" "seconds"
printf '%s' "$table"
cat "$work"/lane.* 2>/dev/null
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
