# shellcheck shell=sh disable=SC2154 # kv, tmp, stage: scripts/demo.sh's
# demo_lsm.sh: the tour of stages 04 to 09, sourced by scripts/demo.sh,
# whose helpers (demo_step, demo_fail, demo_expect, demo_skipped, stat_of)
# and variables (kv, tmp, stage, N) it uses.  Each stage's function shows
# what the stage adds, in databases with small knobs (kv --help lists
# them) so that a thousand keys make tables, levels and a value log one
# can count.

# small_load KNOBS: the N keys in a scattered order (key i*37 mod N) into
# a new database SMALL ($small), opened with KNOBS ($knobs).
small_load() {
    small=$tmp/small
    knobs=$1
    awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "put key%04d value-%d\n", (i * 37) % n, i }' \
        >"$tmp/scattered.txt"
    echo "\$ kv $knobs SMALL < (the $N keys again, in a scattered order: key i*37 mod $N)"
    # shellcheck disable=SC2086 # the knobs are words
    "$kv" $knobs "$small" <"$tmp/scattered.txt" >"$tmp/small.out" 2>&1 ||
        demo_fail "loading SMALL exited $?: $(cat "$tmp/small.out")"
}

# small_stats [GREP]: kv SMALL stats (with the knobs), its lines that name
# the stage, the directory and the durability rule left out, or those GREP
# matches.
small_stats() {
    echo "\$ kv $knobs SMALL stats${1:+ | grep ...}"
    # shellcheck disable=SC2086
    "$kv" $knobs "$small" stats >"$tmp/small.stats" 2>&1 || demo_fail "stats of SMALL exited $?"
    if [ $# -gt 0 ]; then
        grep "$1" "$tmp/small.stats"
    else
        grep -v '^\(stage\|dir\|io\.backend\|durability\|totals\.since\):' "$tmp/small.stats"
    fi
}

# cost KEY: kv SMALL get --cost KEY, its lines at zero left out.
cost() {
    echo "\$ kv SMALL get --cost $1"
    "$kv" "$small" get --cost "$1" 2>&1 | grep -v ': 0$'
}

# small_draw [NAME]: the picture of SMALL (or of the database NAME, in
# $small) in build/demo/STAGE.svg, as many tables drawn as kv_stats counts.
small_draw() {
    svg=${KV_BUILD:-build}/demo/$stage.svg
    mkdir -p "$(dirname "$svg")" || demo_fail "mkdir $(dirname "$svg")"
    echo "\$ kv ${knobs:+$knobs }${1:-SMALL} draw $svg"
    # (with the knobs, the picture's level targets and scores are the small ones)
    # shellcheck disable=SC2086
    out=$("$kv" $knobs "$small" draw "$svg") || demo_fail "draw exited $?"
    printf '%s\n' "$out"
    drawn=$(grep -c 'class="table"' "$svg")
    demo_expect "tables drawn against kv_stats's tables.count" "$(stat_of "$small" tables.count)" "$drawn"
    echo "   $drawn table$([ "$drawn" = 1 ] || echo s) drawn, as kv_stats counts them: open $svg in a browser"
    echo "   (hover over a table for its file, size and keys)."
}

demo_lsm() {
    demo_skipped
    demo_step "1. A memtable of 4 KiB (the default is 4 MiB): every 4 KiB of writes becomes a table"
    small_load "--memtable-bytes 4k"
    ls "$small" >"$tmp/ls.txt"
    head -n 3 "$tmp/ls.txt"
    echo "... ($(wc -l <"$tmp/ls.txt") files: $(grep -c '\.tbl$' "$tmp/ls.txt") tables, each named by the sequence numbers of the"
    echo "   first and last writes it holds, and the log of the memtable's writes)"
    small_stats
    flushes=$(stat_of "$small" flush.count)
    [ "${flushes:-0}" -gt 0 ] || demo_fail "no flush while loading SMALL (flush.count ${flushes:-none})"

    demo_step "2. A table: its entries in key order, each with the sequence number of its write (dump)"
    "$kv" "$small" dump | sed -n '2,9p'

    demo_step "3. A get reads the memtable, then each table whose key range holds the key, newest first"
    cost key0500
    echo "   (get --cost: what that one lookup did, its lines at zero left out.)"

    demo_step "4. flush: the memtable's last entries become a table too; the picture"
    tables=$(stat_of "$small" tables.count)
    echo "\$ kv $knobs SMALL flush"
    # shellcheck disable=SC2086
    "$kv" $knobs "$small" flush || demo_fail "flush exited $?"
    demo_expect "memtable.entries after flush" 0 "$(stat_of "$small" memtable.entries)"
    demo_expect "tables after flush" "$((tables + 1))" "$(stat_of "$small" tables.count)"
    small_draw
}

demo_blocks() {
    demo_skipped "stage 04's memtable and flushes"
    demo_step "1. Tables of blocks: 512 bytes each here, compressed, with an index and a bloom filter"
    small_load "--memtable-bytes 4k --block-bytes 512"
    echo "\$ kv SMALL dump   (the first table, and its first block)"
    "$kv" "$small" dump >"$tmp/small.dump" || demo_fail "dump of SMALL exited $?"
    sed -n '2,8p' "$tmp/small.dump"
    # The first block's index key: a separator, with the largest sequence
    # number (IKEY_MAX_SEQ, stages/04-lsm/keys/internal_key.h), unless no
    # key shorter than the block's last lies between it and the next's first.
    sep=$(sed -n '2,8{/^block 0 /s/.*; index key \("[^"]*"\) seq=\([0-9]*\) put$/\1 \2/p}' "$tmp/small.dump")
    [ -n "$sep" ] || demo_fail "no index key on the dump's line of block 0"
    if [ "${sep#* }" = 72057594037927935 ]; then
        echo "   Block 0's index key ${sep% *} is no entry of the table: a separator, at or"
        echo "   above the block's last key and below the next block's first, which a get"
        echo "   compares its key with to pick the block (docs/05-blocks.md).  Its"
        echo "   seq=${sep#* } is 2^56 - 1, the largest sequence number, which no write"
        echo "   takes: the newest versions of a key sort first, so ${sep% *} with it sorts"
        echo "   before every version of ${sep% *} a table could hold."
    else
        echo "   Block 0's index key is its last key, ${sep% *}: no shorter key lies between"
        echo "   it and the next block's first (a separator, docs/05-blocks.md)."
    fi

    demo_step "2. A get asks each table's filter first, and reads one block of a table it cannot rule out"
    cost key0500
    cost key0500x
    echo "   tables_in_range: the tables whose key range holds the key (stage 04 searched"
    echo "   them all); bloom_skips: those whose filter said no; a key absent reads nothing."

    demo_step "3. The picture, each table's blocks drawn"
    small_draw
}

demo_levels() {
    demo_skipped "stage 05's blocks and filters"
    demo_step "1. Levels: a background thread compacts the tables into levels, each 4 times the one above"
    small_load "--memtable-bytes 4k --block-bytes 512 --l1-bytes 16k --level-ratio 4 --table-bytes 4k"
    small_stats '^levels:\|^level\.[0-9]:\|^compact\.\(count\|write_amplification\):'
    done_=$(awk '/^level\.[0-9]:/ { n += $7 + $8 } END { print n + 0 }' "$tmp/small.stats")
    [ "$done_" -gt 0 ] || demo_fail "no compaction while loading SMALL"
    echo "   Level 1 holds 16 KiB here, each level 4 times the one above.  The columns"
    echo "   after | are totals since the database was created: the loading process"
    echo "   saved them in SMALL/STATS when it closed, and this one read them back."

    demo_step "2. The picture: the levels, and the compaction the engine would pick next"
    small_draw
}

demo_txn() {
    demo_skipped "stage 06's levels"
    demo_step "1. Versions, not values: an EXEC refused after a write of the same value"
    if ! command -v redis-cli >/dev/null 2>&1; then
        echo "   skipped: redis-cli is missing (make deps DEPS=demo installs it)"
        return
    fi
    port=$((20000 + ($$ % 1000) * 4))
    printf '%s\n' "SET acct 100" "WATCH acct" "SET acct 100" "MULTI" "SET acct 90" "EXEC" "GET acct" \
        >"$tmp/watch.txt"
    echo "\$ kv TXN serve --port $port &   (the Redis protocol; docs/server.md)"
    echo "\$ redis-cli -p $port < (these commands, one client; its replies on the right)"
    watch_session "$kv" "$tmp/txn" || return 1
    awk 'NR == FNR { c[FNR] = $0; next }
        { r = $0; if (r == "") r = "(nil)"; note = ""
          if (FNR == 3) note = "   (the same value, written again)"
          if (FNR == 6) note = "   (refused: acct was written since the WATCH)"
          printf "   %-14s %s%s\n", c[FNR], r, note }' "$tmp/watch.txt" "$tmp/watch.out"
    demo_expect "EXEC after a write of the same value" "$(printf 'OK\nOK\nOK\nOK\nQUEUED\n\n100')" \
        "$(cat "$tmp/watch.out")"
    echo "   The commit checks what the WATCH read by its version (sequence number):"
    echo "   any write since, whatever its value, refuses it."
    before=${KV_BUILD:-build}/06-leveled/kv
    if [ -x "$before" ]; then
        watch_session "$before" "$tmp/txn06" || return 1
        demo_expect "stage 06's EXEC" "$(printf 'OK\nOK\nOK\nOK\nQUEUED\nOK\n90')" "$(cat "$tmp/watch.out")"
        echo "   Stage 06's kv, the same commands: EXEC ran and acct is 90; its check"
        echo "   compares values, and 100 is 100."
    fi
}

# watch_session KV DIR: `KV DIR serve` on $port, the commands of
# $tmp/watch.txt from one redis-cli, its replies in $tmp/watch.out.
watch_session() {
    "$1" "$2" serve --port "$port" >"$2.log" 2>&1 &
    server=$!
    waited=0
    until redis-cli -p "$port" ping >/dev/null 2>&1; do
        sleep 0.1
        waited=$((waited + 1))
        [ $waited -lt 100 ] || demo_fail "kv serve did not answer in 10 s: $(cat "$2.log")"
    done
    redis-cli -p "$port" <"$tmp/watch.txt" | tr -d '\r' >"$tmp/watch.out"
    kill "$server" && wait "$server"
    server=
}

demo_vlog() {
    demo_skipped "stage 07's transactions"
    big=$tmp/big
    demo_step "1. Values kept apart: 200 keys with values of 2,000 bytes, written 3 times"
    echo "   Values of at least 512 bytes (--value-threshold) stay in the log that took"
    echo "   them; the tables keep only where each one is.  A memtable of 256 KiB, so"
    echo "   that its logs, once flushed, become value-log files:"
    awk 'BEGIN { v = sprintf("%2000s", ""); gsub(/ /, "v", v)
                 for (r = 1; r <= 3; r++) for (i = 0; i < 200; i++) printf "put big%03d %s-%d\n", i, v, r }' \
        >"$tmp/big.txt"
    echo "\$ kv --memtable-bytes 256k BIG < (the 600 puts)"
    "$kv" --memtable-bytes 256k "$big" <"$tmp/big.txt" >"$tmp/big.out" 2>&1 ||
        demo_fail "loading BIG exited $?: $(cat "$tmp/big.out")"
    echo "   $(du -k "$big" | cut -f 1) KiB on disk for 400 KB of live values: two of every three"
    echo "   were written over.  kv BIG compact compacts the tables, which finds which"
    echo "   values no key points to any more, and collects the files that are at"
    echo "   least half garbage (--value-gc-percent 50):"
    echo "\$ kv BIG compact"
    "$kv" "$big" compact || demo_fail "compact of BIG exited $?"
    "$kv" "$big" stats >"$tmp/big.stats" 2>&1 || demo_fail "stats of BIG exited $?"
    grep '^values\.\(files\|bytes\|live_bytes\|garbage_bytes\|space_amplification\):' "$tmp/big.stats"
    files=$(sed -n 's/^values.files: \([0-9]*\)/\1/p' "$tmp/big.stats")
    [ "${files:-0}" -gt 0 ] || demo_fail "no value-log file in BIG after compact (values.files ${files:-none})"
    got=$("$kv" "$big" get big007) || demo_fail "get big007 from BIG exited $?"
    case $got in
    *vvv-3) [ "${#got}" = 2002 ] || demo_fail "big007 read back ${#got} bytes, not 2002" ;;
    *) demo_fail "big007 did not read back its third value" ;;
    esac
    echo "   kv BIG get big007 reads its third value (2,002 bytes) back from the value log."

    demo_step "2. The picture: the levels, and each value-log file's live values and garbage"
    small=$big knobs=
    small_draw BIG
}

demo_cache() {
    demo_skipped "stage 08's value log"
    demo_step "1. Two caches for reads: a key's value (records), and the blocks read"
    small_load "--memtable-bytes 4k --block-bytes 512"
    svg=${KV_BUILD:-build}/demo/$stage.svg
    mkdir -p "$(dirname "$svg")" || demo_fail "mkdir $(dirname "$svg")"
    echo "\$ kv SMALL < (gets of every fifth key, twice; get --cost key0777, twice; stats; draw)"
    { awk 'BEGIN { for (r = 0; r < 2; r++) for (i = 0; i < 1000; i += 5) printf "get key%04d\n", i }'
        echo "get --cost key0777"
        echo "get --cost key0777"
        echo "stats"
        echo "draw $svg"; } | "$kv" "$small" >"$tmp/cache.out" 2>&1 || demo_fail "reading SMALL exited $?"
    awk '/^cost\.time_us:/ { n++; print "   get --cost key0777, the " (n == 1 ? "first" : "second") " time:" }
         /^cost\./ && !/: 0$/ { print }' "$tmp/cache.out"
    grep -q '^cost\.record_cache_hits: 1$' "$tmp/cache.out" || demo_fail "the second get was not a record-cache hit"
    grep -q '^cost\.block_hash_probes: 1$' "$tmp/cache.out" || demo_fail "the first get probed no hash index"
    echo "   The cache's counters, in the same process's stats:"
    grep '^\(session\.\)\{0,1\}\(record_cache\|block_cache\)\.\(hits\|misses\|entries\|usage\|capacity\):' \
        "$tmp/cache.out"
    echo "\$ kv SMALL dump | grep -m 1 '^block '   (the first data block)"
    "$kv" "$small" dump >"$tmp/cache.dump" || demo_fail "dump of SMALL exited $?"
    grep -m 1 '^block ' "$tmp/cache.dump"
    # Its buckets (block_hash_buckets_for: 4 an entry, and one), restart
    # points and entries, as the dump says them.
    hashed=$(awk '/^block / { if (b++) exit
            for (i = 1; i < NF; i++) { if ($(i + 1) == "restart") r = $i; if ($(i + 1) == "buckets;") n = $i }
            next }
        b && /^ *[0-9]+  "/ { e++ } END { print n + 0, r + 0, e + 0 }' "$tmp/cache.dump")
    # shellcheck disable=SC2086 # three numbers, as words
    set -- $hashed
    demo_expect "the first block's buckets, for its $3 entries" $((4 * $3 + 1)) "$1"
    echo "   Each data block ends in a hash index of its keys (stage 05's block_hash.h,"
    echo "   on from stage 09): $1 buckets, 4 for each of its $3 entries and one.  A"
    echo "   bucket names the run of entries (from one of its $2 restart points to the"
    echo "   next) that holds the keys hashed to it, or says no key is here, or that two"
    echo "   runs share it.  A get reads its key's bucket and walks that run alone, with"
    echo "   no binary search over the restart points (but for a shared bucket): the"
    echo "   first get's block_hash_probes above; the second asked no block."
    demo_step "2. The picture, with the memory for reads: the budget, and what each cache holds"
    grep '^draw: ' "$tmp/cache.out" || demo_fail "draw said nothing: $(tail -n 2 "$tmp/cache.out")"
    echo "   Open $svg in a browser."
}
