# Stage 07: transactions by versions.  Stage 06's engine, unchanged, with
# one part replaced: how a commit finds a conflict.  Every stage runs
# kv.h's transactions (common/txn.c: snapshot reads, private writes, one
# checked batch at commit through the write path); stages 01 to 06 find a
# conflict by comparing values (stage 01's txn_values/), this stage by the
# sequence numbers the LSM tree already keeps (txn_versions/, which reads
# the engine's memtables and tables through stage 04's lsm_sources.h:
# docs/07-txn.md).
PARTS_07-txn := 07-txn/txn_versions \
                06-leveled/versions 06-leveled/compaction 06-leveled/manifest \
                06-leveled/level_set 06-leveled/level_set/tools \
                05-blocks/blocks 05-blocks/bloom 05-blocks/cache 05-blocks/table_v2 05-blocks/table_v2/entry \
                05-blocks/table_v2/tools 05-blocks/table_v2/file_entry \
                04-lsm/keys 04-lsm/memtable 04-lsm/iterators 04-lsm/table 04-lsm/engine 04-lsm/full_speed \
                04-lsm/values_in_place 04-lsm/logs 04-lsm/stats 04-lsm/tools 03-wal/wal
LIBS_07-txn := $(LIBS_06-leveled)
$(B)/07-txn/%: LDLIBS += $(LIBS_07-txn)

# Fuzz harnesses: the formats are stage 06's (its stagetest runs them);
# the API-sequence fuzzer (fuzz/api_fuzz.c, every stage's) drives
# transactions too.
FUZZ_07-txn :=

# Unit tests (build/07-txn/stagetest): where a commit looks for newer
# versions (the memtables alone, or the tables after a flush), versions
# kept for an old transaction across flushes and compactions.
TESTS_07-txn := $(wildcard stages/07-txn/tests/*_test.c)
TEST_HELPERS_07-txn := tests/testdb.c
