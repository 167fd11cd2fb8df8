# Stage 02: a hash index in memory over segmented log files (Bitcask).
# snapshot_iter.c is stage 01's sorted-snapshot iterator, no_repair.c its
# kv_repair ("from stage 03 on") and txn_values.c how its transactions find
# a conflict (comparing values), reused unchanged.  The record format is
# behind record_io.h (record_io_log.c) and the write path behind hash_write
# (hash_write.c), so that stage 03 can replace just those two; what
# kv_inspect shows inside a segment is behind record_inspect.h
# (record_inspect_log.c) for the same reason.
SRCS_02-hash := stages/02-hash/hash_index.c stages/02-hash/segment.c \
                stages/02-hash/hint.c stages/02-hash/hash_db.c stages/02-hash/hash_open.c \
                stages/02-hash/hash_recover.c stages/02-hash/merge.c \
                stages/02-hash/hash_iter.c stages/02-hash/hash_snapshot.c stages/02-hash/hash_tools.c \
                stages/02-hash/record_io_log.c stages/02-hash/hash_write.c \
                stages/02-hash/hash_inspect.c stages/02-hash/record_inspect_log.c \
                stages/01-log/snapshot_iter.c stages/01-log/no_repair.c \
                stages/01-log/txn_values.c
INC_02-hash := -Istages/01-log
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
