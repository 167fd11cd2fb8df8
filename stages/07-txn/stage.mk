# Stage 07: transactions by versions.  Stage 06's engine, unchanged, with
# one file replaced: how a commit finds a conflict.  Every stage runs
# kv.h's transactions (common/txn.c: snapshot reads, private writes, one
# checked batch at commit through the write path); stages 01 to 06 find a
# conflict by comparing values (stages/01-log/txn_values.c), this stage by
# the sequence numbers the LSM tree already keeps
# (stages/07-txn/txn_versions.c, docs/07-txn.md).
SRCS_07-txn := $(filter-out stages/01-log/txn_values.c,$(SRCS_06-leveled)) \
               stages/07-txn/txn_versions.c
INC_07-txn := -Istages/06-leveled $(INC_06-leveled)
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
