# Stage 04: an LSM tree: a skiplist memtable over the write-ahead log,
# flushed to sorted tables, read through merging iterators.  So far its
# building blocks only: internal keys, the arena, the skiplist, the
# memtable, the iterator interface, the merging iterator and the user's
# view, and table format v1 (table.h, table_v1_*.c).  Until the engine
# (kv_open and the rest of kv.h) is here, the stage is marked unfinished:
# `make build/04-lsm/stagetest` builds and runs its unit tests, while
# `make`, `make test` and the benchmarks leave it out.
SRCS_04-lsm := stages/04-lsm/internal_key.c stages/04-lsm/arena.c \
               stages/04-lsm/skiplist.c stages/04-lsm/memtable.c \
               stages/04-lsm/merge_iter.c stages/04-lsm/user_iter.c \
               stages/04-lsm/table_v1_build.c stages/04-lsm/table_v1_open.c \
               stages/04-lsm/table_v1_read.c \
               stages/04-lsm/table_v1_iter.c stages/04-lsm/table_v1_tools.c
UNFINISHED_04-lsm := 1
# Unit tests (build/04-lsm/stagetest), each building block on its own:
# internal keys, the arena, the skiplist (one writer racing readers), the
# memtable, the merging iterator and the user's view, table format v1
# (built, read, damaged, failing I/O).
TESTS_04-lsm := $(wildcard stages/04-lsm/tests/*_test.c)
TEST_HELPERS_04-lsm := stages/04-lsm/tests/table_test_util.c stages/04-lsm/tests/vec_iter.c
