# Stage 02: a hash index in memory over segmented log files (Bitcask).
# snapshot_iter.c is stage 01's sorted-snapshot iterator, no_repair.c its
# kv_repair ("from stage 03 on"), txn_values.c how its transactions find
# a conflict (comparing values) and multi_get_loop.c its kv_multi_get (a
# loop of kv_get), reused unchanged.  The record format is
# behind record_io.h (record_io_log.c) and the write path behind hash_write
# (hash_write.c), so that stage 03 can replace just those two; what
# kv_inspect shows inside a segment is behind record_inspect.h
# (record_inspect_log.c) for the same reason: the three make one part,
# log_records/.
#
# Its parts:
#   index/        the hash table in memory (keys to places in segments)
#   segments/     segment files and their hint files, and the interface a
#                 record format implements (record_io.h: what a segment's
#                 bytes are)
#   engine/       open, recovery, reads, iterators, snapshots, merge; the
#                 interfaces of what kv_inspect shows of a record
#                 (record_inspect.h) and of the write path (hash_write.h)
#   log_records/  those three over stage 01's records (stage 03 swaps this
#                 part for its WAL's)
#   tools/        kv_check, kv_dump, kv_inspect
# and from stage 01: snapshots/, no_repair/, txn_values/, multi_get_loop/.
PARTS_02-hash := 02-hash/index 02-hash/segments 02-hash/engine 02-hash/log_records \
                 02-hash/tools 01-log/snapshots 01-log/no_repair 01-log/txn_values \
                 01-log/multi_get_loop
# Fuzz harnesses (fuzz/<name>_fuzz.c) for the formats this stage reads.
FUZZ_02-hash := segment hint
# Unit tests (build/02-hash/stagetest): stages/02-hash/tests/NAME_test.c
# each hold NAME_suite: the hash table and hint files directly; segments
# (roll-over, recovery, leftovers), merge (space reclaimed, iterators across
# a merge, a failure at every I/O call of a merge) and the write path
# through kv.h and the files on disk.  Stage 01's files this stage links
# (snapshot_iter.c, no_repair.c) have no unit tests of their own: the
# shared suites (tests/) test them through kv.h.
TESTS_02-hash := $(wildcard stages/02-hash/tests/*_test.c)
TEST_HELPERS_02-hash := stages/02-hash/tests/stage_util.c tests/testdb.c
