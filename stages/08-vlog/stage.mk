# Stage 08: keys apart from values.  Stage 07's engine (transactions
# included), unchanged, with one part replaced: where a table's values are
# kept.  Stages 04 to 07 keep every value in its table entry (stage 04's
# values_in_place/); this stage keeps a value of at least value_threshold
# bytes in the write-ahead log that took it, renamed into a value-log file
# once the tables hold its writes, and its table entry says where; the
# value log counts its garbage as merges drop entries, and empties and
# removes a file once enough of it is garbage (docs/08-vlog.md).  Its
# parts:
#   value_log/         the value store (stage 04's value_store.h): where a
#                      value is, the flush's places, reads and pins, the
#                      garbage collection's jobs, the counts kept across
#                      sessions; value_log/tools/ its kv_stats and
#                      kv_inspect lines, kv check and kv dump of its files
# and stage 07's parts but values_in_place/.
PARTS_08-vlog := 08-vlog/value_log 08-vlog/value_log/tools \
                 07-txn/txn_versions \
                 06-leveled/versions 06-leveled/compaction 06-leveled/manifest \
                 06-leveled/level_set 06-leveled/level_set/tools \
                 05-blocks/blocks 05-blocks/bloom 05-blocks/cache 05-blocks/table_v2 05-blocks/table_v2/entry \
                 05-blocks/table_v2/tools 05-blocks/table_v2/file_entry \
                 04-lsm/keys 04-lsm/memtable 04-lsm/iterators 04-lsm/table 04-lsm/engine 04-lsm/full_speed \
                 04-lsm/logs 04-lsm/stats 04-lsm/tools 03-wal/wal
LIBS_08-vlog := $(LIBS_07-txn)
$(B)/08-vlog/%: LDLIBS += $(LIBS_08-vlog)

# Fuzz harnesses: fuzz/vlog_fuzz.c, the bytes the value log reads: where a
# value is (a table value, and its span and gather), VLOGCOUNTS, a
# value-log file, a value read through the store; the other formats are
# stage 06's.  Its seeds: scripts/fuzz_seeds.sh, from databases this
# stage's kv writes.
FUZZ_08-vlog := vlog

# Unit tests (build/08-vlog/stagetest): where a value is and its span, the
# counts file's bytes, the value log against the engine (large values,
# garbage collection beside writes and snapshots, crashes at each step).
TESTS_08-vlog := $(wildcard stages/08-vlog/tests/*_test.c)
TEST_HELPERS_08-vlog := tests/testdb.c

# The shared harness's binaries (kvtest, crashtest, racetest, alloctest)
# also run with every value in the value log: tests/wrap/value_threshold.c
# wraps kv_open to take value_threshold from KV_TEST_VALUE_THRESHOLD
# (tests/run.sh runs them again with it set to 1).
TEST_WRAP_08-vlog := -Wl,--wrap=kv_open
TEST_WRAP_SRCS_08-vlog := tests/wrap/value_threshold.c
