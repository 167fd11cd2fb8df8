# Stage 04: an LSM tree: a skiplist memtable over the write-ahead log,
# flushed to sorted tables by a background thread, read through merging
# iterators; snapshots are sequence numbers.  New here: internal keys, the
# arena, the skiplist, the memtable, the iterator interface, the merging
# iterator and the user's view, table format v1 (table.h, table_v1_*.c),
# and the engine (lsm_*.c).  Reused unchanged: stage 03's WAL module (its
# format, writer, reader, batch payload, sync markers and group-commit
# queue: WAL_MODULE_SRCS, defined in stages/03-wal/stage.mk).
# The engine (lsm_db.h), which stages 05 and 06 link unchanged: open and
# close, the views, the write path, the background thread, reads,
# iterators, snapshots, stats, the logs and their replay, kv repair.
LSM_ENGINE_SRCS := stages/04-lsm/lsm_open.c stages/04-lsm/lsm_failure.c \
                   stages/04-lsm/lsm_view.c \
                   stages/04-lsm/lsm_write.c stages/04-lsm/lsm_bg.c \
                   stages/04-lsm/lsm_read.c stages/04-lsm/lsm_iter.c \
                   stages/04-lsm/lsm_snapshot.c stages/04-lsm/lsm_stats.c \
                   stages/04-lsm/lsm_totals.c stages/04-lsm/stats_file.c \
                   stages/04-lsm/lsm_files.c stages/04-lsm/lsm_wal.c \
                   stages/04-lsm/lsm_wal_scan.c stages/04-lsm/lsm_replay.c \
                   stages/04-lsm/lsm_repair.c stages/04-lsm/lsm_inspect.c \
                   stages/04-lsm/lsm_admit.c stages/04-lsm/lsm_flush.c \
                   stages/04-lsm/lsm_compact.c stages/04-lsm/lsm_out.c \
                   stages/04-lsm/table_lines.c stages/04-lsm/lsm_sources.c
# Stage 04's table set (table_set.h): one flat list, kv_compact merging it
# into one table.  Stage 05 links it too; stage 06 has its own.
LSM_TABLE_SET_SRCS := stages/04-lsm/flat_set.c stages/04-lsm/flat_set_describe.c
SRCS_04-lsm := stages/04-lsm/internal_key.c stages/04-lsm/drop_rule.c stages/04-lsm/arena.c \
               stages/04-lsm/skiplist.c stages/04-lsm/memtable.c \
               stages/04-lsm/merge_iter.c stages/04-lsm/user_iter.c \
               stages/04-lsm/table_writer.c \
               stages/04-lsm/table_v1_build.c stages/04-lsm/table_v1_open.c \
               stages/04-lsm/table_v1_read.c \
               stages/04-lsm/table_v1_iter.c stages/04-lsm/table_v1_tools.c \
               stages/04-lsm/table_v1_inspect.c \
               $(LSM_ENGINE_SRCS) $(LSM_TABLE_SET_SRCS) \
               stages/04-lsm/lsm_tools.c \
               $(WAL_MODULE_SRCS) stages/01-log/txn_values.c
# kv check and kv dump of one log; kv repair's work on one file
# (lsm_repair.h), and what it can read of a damaged v1 table.
SRCS_04-lsm += stages/04-lsm/lsm_wal_tools.c stages/04-lsm/lsm_repair_log.c \
               stages/04-lsm/lsm_repair_table.c stages/04-lsm/table_salvage.c \
               stages/04-lsm/table_v1_salvage.c
INC_04-lsm := -Istages/03-wal
# Fuzz harnesses (fuzz/<name>_fuzz.c) for the formats this stage reads.
FUZZ_04-lsm := table stats
# Unit tests (build/04-lsm/stagetest): each building block on its own
# (internal keys, the arena, the skiplist with one writer racing readers,
# the memtable, the merging iterator and the user's view, table format v1
# built, read, damaged, failing I/O), and the engine on states a crash
# leaves and on logs written by hand (lsm_recover, lsm_log).  Stage 03's
# WAL module has its tests in stage 03, which links the same files.
TESTS_04-lsm := $(wildcard stages/04-lsm/tests/*_test.c)
# The engine's suites that hold for any table set (every LSM stage runs
# them): not lsm_recover_test.c, which tests the flat set's file names.
LSM_ENGINE_TESTS_04 := $(filter-out %/lsm_recover_test.c,$(wildcard stages/04-lsm/tests/lsm_*_test.c))
TEST_HELPERS_04-lsm := stages/04-lsm/tests/table_test_util.c stages/04-lsm/tests/vec_iter.c \
                       stages/04-lsm/tests/lsm_test_util.c
# The engine's threaded suite, in build/tsan/04-lsm/racetest with the
# shared ones (tests/race/main.c): the references that keep a version's
# tables on disk while versions change (stage 06 runs it on its levels).
$(B)/04-lsm/racetest: $(B)/04-lsm/obj/stages/04-lsm/tests/lsm_version_race.o
