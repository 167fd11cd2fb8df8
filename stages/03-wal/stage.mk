# Stage 03: stage 02's hash index over a write-ahead log (32 KiB blocks,
# checksummed fragments, batches as records), fsync on request with group
# commit, and kv repair.  Its parts:
#   wal/          the WAL module: the format, writer, reader, batch payload,
#                 sync markers and the group-commit queue; it depends on
#                 neither the index nor segments, and stage 04 links it too
#   wal_records/  stage 02's record interface over it (record_io_wal.c),
#                 its write path (hash_write_wal.c: one write through the
#                 queue onto the index) and what kv_inspect shows of a
#                 segment's frames (record_inspect_wal.c): in place of
#                 stage 02's log_records/
#   tools/        kv_check, kv_dump and kv_repair of the WAL
# and everything else of stage 02 (and stage 01's), unchanged.
PARTS_03-wal := 03-wal/wal 03-wal/wal_records 03-wal/tools \
                02-hash/index 02-hash/segments 02-hash/engine 02-hash/tools \
                01-log/snapshots 01-log/txn_values 01-log/multi_get_loop
# Fuzz harnesses (fuzz/<name>_fuzz.c) for the formats this stage reads.
FUZZ_03-wal := wal segment hint
# Unit tests (build/03-wal/stagetest): the WAL's writer and reader on bytes
# in memory (fragments across blocks, the trailer, zero and torn tails,
# damage and resync; the search after damage against a byte-by-byte one,
# holes, each block read once), the group-commit queue on its own,
# durability across power loss whatever earlier opens did, and through
# kv.h what the shared suites cannot see (a failed fsync is final, group
# commit shares fsyncs, a batch is never half applied, strict and tolerant
# recovery, kv_repair);
# and the tests of the stage-02 files this stage links that go through
# the record format (record_io.h, here over the WAL): hint files, segments
# and merge.  Not hash_write_test.c: it tests stage 02's write path and
# record format byte for byte (hash_write.c, record_io_log.c), which this
# stage replaces; and not hash_index_test.c: the hash table alone, linked
# unchanged, so stage 02's stagetest runs it on the same code.
TESTS_03-wal := $(wildcard stages/03-wal/tests/*_test.c) \
                stages/02-hash/tests/hint_test.c stages/02-hash/tests/hash_snapshot_test.c \
                stages/02-hash/tests/segment_test.c stages/02-hash/tests/merge_test.c
TEST_HELPERS_03-wal := stages/03-wal/tests/alloc_fail.c stages/03-wal/tests/slow_io.c \
                       stages/02-hash/tests/stage_util.c tests/testdb.c
