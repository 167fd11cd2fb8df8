#!/bin/sh
# bench_limiter.sh: `make bench-limiter`: stage 09's readers' get latency
# while a writer fills at full speed, with the background rate limiter off
# and on (build/09-cache/limiter_latency, bench/limiter_latency.c), at three
# limits: half the disk's measured write rate, half the background write
# rate the engine reaches with no limit, and half the rate of a modeled
# disk of MODEL_DISK_MBPS MB/s (default 20; bench/model_disk.h), slower
# than the engine's background writes, with the write-ahead log apart;
# and the second again with flushes at a compaction's priority
# (KV_LIMITER_PRIORITIES=off), whose writer stalls say what the priority
# buys writers.  The run's description
# (date, commit, filesystem) and both tables go to
# build/bench/limiter/results.md; --publish also copies it to
# bench/results/limiter-results.md and updates docs/perf-09-cache.md
# (scripts/docs_figures.sh).
#
#   sh scripts/bench_limiter.sh BUILD_DIR [--publish] [LIMITER_LATENCY_ARGS...]
#
# The databases go to /var/tmp (a disk, as a user's would be).
set -u
build=${1:?usage: sh scripts/bench_limiter.sh BUILD_DIR [--publish] [ARGS...]}
shift
publish=0
args=
for a in "$@"; do
    case $a in
    --publish) publish=1 ;;
    *) args="$args $a" ;;
    esac
done
out=build/bench/limiter
mkdir -p "$out"
res=$out/results.md
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD -- common include bench stages 2>/dev/null; then
    commit="$commit (with changes not committed)"
fi
common="--keys=1000000 --seconds=20 --rounds=3 --readers=4 --memtable=4194304"
{
    echo "## limiter: get latency while a writer fills, the rate limiter off and on"
    echo
    echo "### The run"
    echo
    echo "    date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "    command: make bench-limiter LIMITER_ARGS=\"$*\""
    echo "    filesystem: $(df -T /var/tmp 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 }') (/var/tmp)"
    echo "    commit: $commit"
    echo "    cpus: $(nproc)"
    echo "    load average: $(cut -d ' ' -f 1-3 /proc/loadavg) (1, 5, 15 min, before the runs)"
    echo "    each run: build/09-cache/limiter_latency $common$args"
    echo
} >"$res"
db=$(mktemp -d /var/tmp/limiter_latency.XXXXXX)
status=0
model_mbps=${MODEL_DISK_MBPS:-20}
for from in disk background model priorities; do
    extra="--limit-from=$from"
    envs=
    case $from in
    disk) title="Limit at half the disk's write rate" ;;
    background) title="Limit at half the background rate with no limit" ;;
    model)
        title="Limit at half a modeled disk's write rate"
        extra="--limit-from=disk --disk-mbps=$model_mbps --wal-apart"
        ;;
    priorities)
        # The second section again, flushes asking at a compaction's
        # priority (a switch for this measurement only, record_ctx.h): its
        # writer stalls against the second section's say what the priority
        # buys writers (the second's limit binds; a disk's rarely does).
        title="The same limit as the second section, flushes at a compaction's priority"
        rate=$(grep '^limit ' "$res" | sed -n 2p | awk '{ printf "%.0f", $2 * 1e6 }')
        extra="--rate=${rate:-0}"
        envs="KV_LIMITER_PRIORITIES=off"
        ;;
    esac
    {
        echo "### $title"
        echo
        echo "    ${envs:+$envs }$build/09-cache/limiter_latency $common $extra$args"
        echo
    } >>"$res"
    # shellcheck disable=SC2086 # the arguments are words
    if ! env $envs "$build/09-cache/limiter_latency" $common $extra --db="$db/$from" $args >>"$res"; then
        echo "bench_limiter.sh: the run with the limit from the $from failed" >&2
        status=1
        break
    fi
    echo >>"$res"
done
rm -rf "$db"
cat "$res"
[ "$status" = 0 ] || exit 1
if [ "$publish" = 1 ]; then
    cp "$res" bench/results/limiter-results.md
    sh scripts/docs_figures.sh docs/perf-09-cache.md
    echo "bench-limiter: published bench/results/limiter-results.md and docs/perf-09-cache.md"
fi
