# Stage 04: an LSM tree: a skiplist memtable over the write-ahead log,
# flushed to sorted tables by a background thread, read through merging
# iterators; snapshots are sequence numbers.  Its parts:
#   keys/            internal keys: the order every other part sorts by;
#                    the ground floor (it includes nothing of the stage,
#                    and memtable, iterators, tables and the engine
#                    include it)
#   memtable/        the arena, the skiplist, the memtable
#   iterators/       the iterator interface, the merging iterator, the
#                    user's view
#   table/           the table interface (table.h) and what every format
#                    shares: the writer, salvage, kv_inspect's lines
#   table_v1/        table format v1 behind table.h (stage 05 swaps it for
#                    its v2); table_v1/tools/ its check, dump and salvage
#   engine/          the engine (lsm_db.h), which stages 05 to 07 link
#                    unchanged: open and close, the views, the write path,
#                    admission, the background thread, flushes, the merge,
#                    reads, iterators, snapshots, kv_stats and kv_inspect
#                    (what it holds, described); and the interfaces it
#                    reads its tables through (table_set.h, table_job.h),
#                    its values (value_store.h), and the pace its
#                    background writes new tables at (bg_rate.h)
#   full_speed/      stage 04's pace: none, every table written at once
#   values_in_place/ stage 04's value store: every value in its entry
#                    (stage 08 swaps it for its value log)
#   logs/            the logs, their names and their replay at open
#   stats/           the engine's counters, their kv_stats lines, the totals kept
#                    across sessions (DIR/STATS)
#   tools/           kv check and dump of one log, kv repair's
#                    work on one file
#   flat_set/        stage 04's table set: one flat list (stage 06 swaps
#                    it for its levels); flat_set/tools/ its kv check,
#                    kv dump and kv repair
# and stage 03's WAL module (03-wal/wal: the format, writer, reader, batch
# payload, sync markers and group-commit queue), stage 01's txn_values/.
PARTS_04-lsm := 04-lsm/keys 04-lsm/memtable 04-lsm/iterators 04-lsm/table 04-lsm/table_v1 \
                04-lsm/table_v1/tools 04-lsm/engine 04-lsm/full_speed 04-lsm/values_in_place 04-lsm/logs \
                04-lsm/stats 04-lsm/tools 04-lsm/flat_set 04-lsm/flat_set/tools 03-wal/wal 01-log/txn_values
# Fuzz harnesses (fuzz/<name>_fuzz.c) for the formats this stage reads.
FUZZ_04-lsm := table stats identity lsm_wal
# Unit tests (build/04-lsm/stagetest), by what they test:
#   LSM_BLOCK_TESTS_04   the building blocks no table touches (internal
#                        keys, the arena, the skiplist with one writer
#                        racing readers, the memtable, the user's view);
#   LSM_V1_TESTS_04      table format v1's own bytes, built and forged;
#   LSM_TABLE_TESTS_04   any format through table.h: its contract, failing
#                        I/O, salvage, the merging iterator over tables;
#   LSM_ENGINE_TESTS_04  the engine on any table set: states a crash
#                        leaves, logs written by hand, growth, faults at
#                        open, repair, the totals, the write path, the
#                        latency histograms of stalls and value-store jobs;
#   LSM_FLAT_TESTS_04    the flat set's file names at recovery;
#   stats_file           the STATS file's bytes.
# Stage 03's WAL module has its tests in stage 03, which links the same
# files.
lsm_tests_04 = $(patsubst %,stages/04-lsm/tests/%_test.c,$(1))
LSM_BLOCK_TESTS_04 := arena internal_key skiplist memtable user_iter
LSM_V1_TESTS_04 := table table_forged
LSM_TABLE_TESTS_04 := table_contract table_fault table_salvage merge_iter
LSM_ENGINE_TESTS_04 := lsm_grow lsm_log lsm_open_fault lsm_repair lsm_totals lsm_write lsm_latency
LSM_FLAT_TESTS_04 := lsm_recover
TESTS_04-lsm := $(call lsm_tests_04,$(LSM_BLOCK_TESTS_04) $(LSM_V1_TESTS_04) \
                  $(LSM_TABLE_TESTS_04) $(LSM_ENGINE_TESTS_04) $(LSM_FLAT_TESTS_04) stats_file)
TEST_HELPERS_04-lsm := stages/04-lsm/tests/table_test_util.c stages/04-lsm/tests/vec_iter.c \
                       stages/04-lsm/tests/lsm_test_util.c stages/03-wal/tests/slow_io.c
# The engine's threaded suite, in build/tsan/04-lsm/racetest with the
# shared ones (tests/race/main.c): the references that keep a version's
# tables on disk while versions change (stage 06 runs it on its levels).
$(B)/04-lsm/racetest: $(B)/04-lsm/obj/stages/04-lsm/tests/lsm_version_race.o
