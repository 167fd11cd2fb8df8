# get_cost_steps.awk: callgrind_annotate's table of functions (their own
# cost, --inclusive=no, events Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw)
# summed into the steps of a get, per operation (scripts/get_cost.sh).
# Variables: w, the workload; ops, its operations.
#
# A function's own cost goes to the first step whose pattern its name
# matches: the names of this project's functions say which step they are,
# LMDB's are mdb_*, LevelDB's and RocksDB's are in their namespaces.  What
# a compiler inlined is counted in the function it was inlined into.

function num(s) { gsub(/,/, "", s); return s == "." ? 0 : s + 0 }

function step_of(f) {
    if (f ~ /bench_|kvbench|kve_|lme_|lve_|rke_|clock_gettime|__vdso|^main$|^pow|__ieee754_pow/) return "the harness (kvbench)"
    if (f ~ /crc32c|Crc32c|crc32/) return "checksum"
    if (f ~ /LZ4|lz4|Snappy|snappy|Uncompress/) return "decompression"
    if (f ~ /bloom|Bloom|FilterBlock|filter_|Filter/) return "filter"
    if (f ~ /histogram|latency_|lsm_count|cost_add|cost_start/) return "statistics (counters, latency)"
    if (f ~ /record_cache|record_lookup|record_sampling|clock_cache|doorkeeper|RowCache/) return "record cache"
    if (f ~ /lru_cache|block_cache|file_cache|LRUCache|ShardedCache|Cache::|HandleTable|BlockCache/) return "block and file caches"
    if (f ~ /hash_index|data_index|DataBlockHash/) return "block's hash index"
    if (f ~ /memn?cmp|mdb_cmp/) return "key compares (memcmp)"
    if (f ~ /mdb_node_search|mdb_page_search|mdb_page_get|mdb_cursor|mdb_get|mdb_node|mdb_page|mdb_internal_/) return "B+tree descent (LMDB)"
    if (f ~ /mdb_txn|mdb_reader|mdb_env|mdb_dbi/) return "read transaction (LMDB)"
    if (f ~ /table_v2_read_view|table_v2_block|table_v2_stored|table_v2_get_in|mapped_block|verified/) return "block fetch (map, checks)"
    if (f ~ /block_|table_v2_scan|table_v2_search|table_v2_block_answer|table_v2_find|table_v2_index|table_v2_fences|ikey_|internal_key|parted_|Block::|BlockIter|IndexBlock|InternalKeyComparator|BytewiseComparator|Comparator/) return "index and block search"
    if (f ~ /version_|level_|table_set|table_get|Version::|FindFile|TableCache|Table::|LevelFileNumIterator/) return "levels and tables"
    if (f ~ /memtable|skiplist|MemTable|SkipList/) return "memtables"
    if (f ~ /malloc|free|memcpy|memmove|memset|_int_|operator new|operator delete|tcache/) return "allocation and copies"
    if (f ~ /pthread|mutex|Mutex|atomic|spin|lock/) return "locks"
    return "the rest of the engine"
}

BEGIN { started = 0; nsteps = 0 }
/^-+$/ { dashes++ }
/file:function/ { started = 1; next }
started && NF > 0 && $0 !~ /^-/ && $0 !~ /=>/ {
    line = $0
    gsub(/\([^)]*%\)/, "", line)
    n = split(line, t, " ")
    if (n < 10) next
    f = t[10]
    for (i = 11; i <= n; i++) f = f " " t[i]
    obj = ""
    if (match(f, / \[[^]]*\]$/)) obj = substr(f, RSTART + 2, RLENGTH - 3)
    sub(/ \[[^]]*\]$/, "", f)
    sub(/^.*:/, "", f)
    # LMDB's own functions are static, named only by address: the B+tree's.
    if (f ~ /^0x[0-9a-f]+$/ && obj ~ /liblmdb/) f = "mdb_internal_" f
    # The frames around the counted loop: their entry was not seen, so
    # callgrind gives them the whole count as their own.
    if (f ~ /^(bench_phase_main|bench_in_child|main|__libc_start|\(below main\))/ || f ~ /events annotated/) next
    s = step_of(f)
    if (!(s in ir)) order[++nsteps] = s
    ir[s] += num(t[1])
    d1[s] += num(t[5]) + num(t[6])
    ll[s] += num(t[8]) + num(t[9])
    own[f] += num(t[1])
    fl[f] += num(t[8]) + num(t[9])
    tir += num(t[1]); td1 += num(t[5]) + num(t[6]); tll += num(t[8]) + num(t[9])
}
END {
    if (ops <= 0) ops = 1
    printf "\n%s: %d operations; per operation %.0f instructions, %.1f first-level data-cache misses, %.1f last-level misses\n", w, ops, tir / ops, td1 / ops, tll / ops
    printf "  %-36s %12s %6s %10s %10s\n", "step", "instructions", "share", "D1 misses", "LL misses"
    # the steps by instructions, most first
    for (i = 1; i <= nsteps; i++) for (j = i + 1; j <= nsteps; j++)
        if (ir[order[j]] > ir[order[i]]) { x = order[i]; order[i] = order[j]; order[j] = x }
    for (i = 1; i <= nsteps; i++) {
        s = order[i]
        printf "  %-36s %12.0f %5.1f%% %10.1f %10.1f\n", s, ir[s] / ops, tir ? 100 * ir[s] / tir : 0, d1[s] / ops, ll[s] / ops
    }
    printf "  functions with the most instructions of their own, per operation:\n"
    nf = 0
    for (f in own) fn[++nf] = f
    for (k = 1; k <= 15 && k <= nf; k++) {
        b = k
        for (j = k + 1; j <= nf; j++) if (own[fn[j]] > own[fn[b]]) b = j
        x = fn[k]; fn[k] = fn[b]; fn[b] = x
        printf "    %8.0f  %6.1f LL  %s\n", own[fn[k]] / ops, fl[fn[k]] / ops, fn[k]
    }
}
