#!/bin/sh
# bench_vlog_space.sh: `make bench-vlog-space`: stage 08's directory
# against its live bytes (build/08-vlog/vlog_space, bench/vlog_space.c),
# with the run's description (date, commit, filesystem), to
# build/bench/vlog-space/results.md.  --publish also copies it to
# bench/results/vlog-space-results.md and updates docs/08-vlog.md
# (scripts/docs_figures.sh).
#
#   sh scripts/bench_vlog_space.sh BUILD_DIR [--publish]
#
# The databases go to /var/tmp (a disk, as a user's would be).
set -u
build=${1:?usage: sh scripts/bench_vlog_space.sh BUILD_DIR [--publish]}
shift
publish=0
for a in "$@"; do
    case $a in
    --publish) publish=1 ;;
    *) echo "bench_vlog_space.sh: unknown argument $a" >&2; exit 2 ;;
    esac
done
out=build/bench/vlog-space
mkdir -p "$out"
res=$out/results.md
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD -- common include bench stages 2>/dev/null; then
    commit="$commit (with changes not committed)"
fi
{
    echo "## vlog-space: the value log's space against the live data"
    echo
    echo "### The run"
    echo
    echo "    date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "    command: make bench-vlog-space VLOG_SPACE_ARGS=\"$*\""
    echo "    filesystem: $(df -T /var/tmp 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 }') (/var/tmp)"
    echo "    commit: $commit"
    echo "    load average: $(cut -d ' ' -f 1-3 /proc/loadavg) (1, 5, 15 min, before the runs)"
    echo
    echo "### Space over live bytes"
    echo
    echo "The directory's bytes over the keys and values of the newest versions, stage 08 with its default options."
    echo
} >"$res"
db=$(mktemp -d /var/tmp/vlog_space.XXXXXX)
if ! "$build/08-vlog/vlog_space" --dir="$db" >>"$res"; then
    rm -rf "$db"
    echo "bench_vlog_space.sh: the run failed" >&2
    exit 1
fi
rmdir "$db" 2>/dev/null
cat "$res"
if [ "$publish" = 1 ]; then
    cp "$res" bench/results/vlog-space-results.md
    sh scripts/docs_figures.sh docs/08-vlog.md
    echo "bench-vlog-space: published bench/results/vlog-space-results.md and docs/08-vlog.md"
fi
