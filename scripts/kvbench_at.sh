# kvbench_at.sh: sourced by scripts that race a stage as built at earlier
# commits (bench_commits.sh, reads_ab.sh).  Sets `work`, a directory
# removed at exit with the worktrees made in it, and defines
#   kvbench_at STAGE COMMIT NAME   builds STAGE at COMMIT in a worktree of
#                                  its own and links its libkv.a with this
#                                  tree's kvbench into $work/kvbench-NAME
# (a commit is built as committed: the working tree's changes are not in
# it).  Needs `build` (BUILD) and `me` (the caller's name, for messages).
work=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX")
kvbench_at_cleanup() {
    for w in "$work"/wt-*; do
        [ -d "$w" ] && git worktree remove --force "$w" >/dev/null 2>&1
    done
    rm -rf "$work"
}
trap kvbench_at_cleanup EXIT
make --no-print-directory -s "$build/obj/bench/kvbench.o" "$build/obj/bench/bench_sys.o" \
    "$build/obj/bench/bench_hist.o" "$build/obj/bench/engine_kv.o" "$build/obj/tests/stage_caps.o"

kvbench_at() {
    _sha=$(git rev-parse --short "$2")
    _wt=$work/wt-$_sha
    [ -d "$_wt" ] || git worktree add --detach "$_wt" "$_sha" >/dev/null 2>&1
    echo "$me: building $1 at $_sha ($2)"
    make -C "$_wt" --no-print-directory -s "build/$1/libkv.a" >"$work/make-$_sha.log" 2>&1 ||
        { echo "$me: $1 does not build at $_sha: $work/make-$_sha.log" >&2; exit 1; }
    ${CC:-cc} -pthread -o "$work/kvbench-$3" "$build/obj/bench/kvbench.o" "$build/obj/bench/bench_sys.o" \
        "$build/obj/bench/bench_hist.o" "$build/obj/bench/engine_kv.o" "$build/obj/tests/stage_caps.o" \
        "$_wt/build/$1/libkv.a" -pthread -luring -llz4 -lm
}
