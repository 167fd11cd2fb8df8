# Stage 03: stage 02's hash index over a write-ahead log (32 KiB blocks,
# checksummed fragments, batches as records), fsync on request with group
# commit, and kv repair.  New here: the WAL module (WAL_MODULE_SRCS: the
# format, writer, reader, batch payload, sync markers and the group-commit
# queue; it depends on neither the index nor segments, and stage 04 links
# it too), stage 02's record interface over it (record_io_wal.c), its write
# path (hash_write_wal.c: the queue applied to the index), its tools and
# what kv_inspect shows of a segment's frames (record_inspect_wal.c, behind
# stage 02's record_inspect.h).
# Everything else is stage 02's (and stage 01's iterator), unchanged.
WAL_MODULE_SRCS := stages/03-wal/wal_writer.c stages/03-wal/wal_reader.c \
                   stages/03-wal/wal_resync.c \
                   stages/03-wal/wal_batch.c stages/03-wal/wal_marker.c \
                   stages/03-wal/wal_queue.c
SRCS_03-wal := $(WAL_MODULE_SRCS) \
               stages/03-wal/record_io_wal.c stages/03-wal/hash_write_wal.c \
               stages/03-wal/wal_tools.c stages/03-wal/wal_dump.c \
               stages/03-wal/wal_repair.c stages/03-wal/record_inspect_wal.c \
               stages/02-hash/hash_inspect.c stages/02-hash/hash_index.c stages/02-hash/segment.c \
               stages/02-hash/hint.c stages/02-hash/hash_db.c stages/02-hash/hash_open.c \
               stages/02-hash/hash_recover.c stages/02-hash/merge.c \
               stages/02-hash/hash_iter.c stages/02-hash/hash_snapshot.c stages/02-hash/hash_tools.c \
               stages/01-log/snapshot_iter.c stages/01-log/txn_values.c
INC_03-wal := -Istages/02-hash -Istages/01-log
# Fuzz harnesses (fuzz/<name>_fuzz.c) for the formats this stage reads.
FUZZ_03-wal := wal hint
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
