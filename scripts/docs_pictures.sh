#!/bin/sh
# docs_pictures.sh: the picture each stage's page shows (`make
# docs-pictures`): a small database made with the CLI's small-scale knobs,
# then `kv DIR draw docs/pictures/STAGE.svg`.  The commands below are the
# ones the pages print next to each picture; run them yourself with any
# other workload to see your own database.
#
#   sh scripts/docs_pictures.sh [BUILD] [STAGE...]
#
# The workload: puts of keys in a scattered order (awk's rand with seed 7,
# so every run writes the same keys in the same order), then a few deletes:
# 60 puts of 30 keys and 5 deletes for stages 01 to 03, whose pictures draw
# every record; 600 puts of 400 keys and 40 deletes from stage 04 on, enough
# for tables and levels.  Stage 10's is of a group of three members,
# one of them paused (scripts/draw_group.py).  Stage 09's picture shows its cache, which a
# database reopened has not filled yet: after the workload, a second
# session reads every key twice, 40 of them ten times more, and draws.  The
# databases go under /tmp/kvpic-STAGE (removed first and after).
set -eu

build=${1:-build}
[ $# -gt 0 ] && shift
stages=${*:-"01-log 02-hash 03-wal 04-lsm 05-blocks 06-leveled 07-txn 08-vlog 09-cache 10-raft"}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/docs/pictures
mkdir -p "$out"

# workload PUTS KEYS DELETES
workload() {
    awk -v puts="$1" -v keys="$2" -v dels="$3" 'BEGIN { srand(7)
        for (i = 0; i < puts; i++) printf "put key%03d value%d\n", int(rand() * keys), i
        for (i = 0; i < dels; i++) printf "del key%03d\n", int(rand() * keys) }'
}

# reads KEYS: gets of every key twice, then of the first 40 ten times more
# (a get of a deleted key prints nothing and goes on).
reads() {
    awk -v keys="$1" 'BEGIN {
        for (r = 0; r < 2; r++) for (i = 0; i < keys; i++) printf "get key%03d\n", i
        for (r = 0; r < 10; r++) for (i = 0; i < 40; i++) printf "get key%03d\n", i }'
}

for stage in $stages; do
    kv=$build/$stage/kv
    [ -x "$kv" ] || { echo "docs_pictures: no $kv (make first)" >&2; exit 2; }
    if [ "$stage" = 10-raft ]; then
        # Its engine is stage 09's: its picture is of a group instead.
        python3 "$here/scripts/draw_group.py" "$kv" "$out/$stage.svg" || exit 1
        continue
    fi
    size="600 400 40"
    case $stage in
    01-log) knobs= size="60 30 5" ;;
    02-hash | 03-wal) knobs="--segment-bytes 512" size="60 30 5" ;;
    04-lsm) knobs="--memtable-bytes 2k" size="300 200 20" ;;
    05-blocks) knobs="--memtable-bytes 2k --block-bytes 256" size="300 200 20" ;;
    08-vlog) knobs="--memtable-bytes 2k --table-bytes 2k --l1-bytes 8k --level-ratio 4 --value-threshold 6" ;;
    09-cache) knobs="--memtable-bytes 2k --table-bytes 2k --l1-bytes 8k --level-ratio 4 --cache-bytes 32k" ;;
    *) knobs="--memtable-bytes 2k --table-bytes 2k --l1-bytes 8k --level-ratio 4" ;;
    esac
    dir=/tmp/kvpic-$stage
    rm -rf "$dir"
    # shellcheck disable=SC2086
    workload $size | "$kv" $knobs "$dir" >/dev/null
    if [ "$stage" = 09-cache ]; then
        # shellcheck disable=SC2086
        { reads 400; echo "draw $out/$stage.svg"; } | "$kv" $knobs "$dir" 2>/dev/null |
            grep '^draw: '
    else
        # shellcheck disable=SC2086
        "$kv" $knobs "$dir" draw "$out/$stage.svg"
    fi
    rm -rf "$dir"
done
